//! `guardian-sim bench`: the design's measured figures, from one run on this
//! machine. Each figure is the best of a few rounds, which is the least
//! disturbed by whatever else the machine is doing.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use guardian_core::patrol::{AreaIndex, Fix, parse_areas};
use guardian_core::store::StoreError;
use guardian_core::{Config, FixedClock, Guardian};
use serde::Serialize;

use crate::force::StaticTokens;
use crate::{SimError, fake_keystore_key};

pub mod audit;
pub mod handset;

#[derive(Debug, Serialize)]
pub struct Figures {
    /// Filter + geofence + durable insert through the batch API.
    pub ingest_fixes_per_s: f64,
    /// A plain batched INSERT of the same rows into the same encrypted DB.
    pub raw_sqlite_rows_per_s: f64,
    /// Target ≥ 0.5.
    pub ingest_ratio: f64,
    pub ingest_fixes: usize,
    pub ingest_batch: usize,
    pub ingest_areas: usize,
    /// R-tree + exact test per fix against `geofence_areas` areas. Target ≤ 2,000 ns.
    pub geofence_ns_per_fix: f64,
    /// Every area tested in turn, same answer.
    pub linear_scan_ns_per_fix: f64,
    /// Target ≥ 100×.
    pub geofence_speedup: f64,
    pub geofence_areas: usize,
    /// Open the encrypted DB, migrate, load `cold_open_areas` areas. Median. Target ≤ 20 ms.
    pub cold_open_ms: f64,
    pub cold_open_areas: usize,
    /// Track chunk bytes per 1 Hz walking fix (time, lat, lon, accuracy). Target ≤ 8.
    pub wire_bytes_per_fix: f64,
    /// The same fixes as one JSON object each.
    pub naive_json_bytes_per_fix: f64,
    /// A week offline (150,000 fixes in 250 patrols, 500 check-in/out
    /// events) uploaded from a cold start to the reference backend on
    /// loopback. Target ≤ 3 s.
    pub week_upload_s: f64,
    pub week_upload_fixes: usize,
    pub week_upload_records: usize,
    /// Peak resident memory of a handset process over a simulated 12 h
    /// shift at 1 Hz (four 1 h patrols, a sync every 5 minutes, the
    /// library searched and read every 10). Target ≤ 30 MB.
    pub shift_peak_rss_mb: f64,
    /// Resident memory's growth per hour over the same shift (least
    /// squares over the hours after the first). Target ≈ 0: flat.
    pub shift_rss_growth_mb_per_h: f64,
    /// Resident memory at the end of each hour of the shift.
    pub shift_rss_mb_by_hour: Vec<f64>,
    pub shift_syncs: usize,
    /// The stripped FFI library (`scripts/bindings.sh` builds it), bytes;
    /// `None` when it has not been built. Target ≤ 6 MB.
    pub ffi_library_bytes: Option<u64>,
    /// A short torture campaign (`guardian-sim torture` runs the long one):
    /// kills and power cuts during real work, and what was lost.
    pub torture_kills: usize,
    pub torture_power_cuts: usize,
    pub torture_acknowledged: usize,
    pub torture_lost: usize,
    pub torture_duplicated: usize,
    pub torture_integrity_failures: usize,
    #[serde(flatten)]
    pub search: SearchFigures,
    #[serde(flatten)]
    pub plan: handset::PlanFigures,
    #[serde(flatten)]
    pub handset: handset::HandsetFigures,
    /// A reconnect storm at bench size on SQLite (`guardian-sim load` runs
    /// the full one); absent when guardian-backend is not built beside
    /// this binary.
    #[serde(flatten)]
    pub storm: Option<StormBench>,
    #[serde(flatten)]
    pub audit: audit::AuditFigures,
}

/// `storm_*`: the reconnect storm, against a `guardian-backend` process.
#[derive(Debug, Serialize)]
pub struct StormBench {
    pub storm_store: String,
    pub storm_handsets: usize,
    pub storm_backlog_minutes: u32,
    pub storm_fixes: u64,
    pub storm_drain_s: f64,
    pub storm_server_fixes_per_s: f64,
    pub storm_p50_ms: f64,
    pub storm_p99_ms: f64,
    /// Answers 503 (shed) during the storm.
    pub storm_shed: u64,
    pub storm_duplicates: i64,
    pub storm_lost: i64,
    pub storm_peak_server_rss_mb: Option<f64>,
}

fn storm_bench(quick: bool) -> Result<Option<StormBench>, SimError> {
    let dir = tempfile::tempdir().map_err(|e| crate::force::input("tempdir", e))?;
    let store = dir.path().join("storm.db").to_string_lossy().into_owned();
    let (handsets, minutes) = if quick { (100, 30) } else { (500, 60) };
    if let Err(e) = crate::storm::backend_binary() {
        eprintln!("bench: reconnect storm skipped: {e}");
        return Ok(None);
    }
    let f = crate::storm::run(crate::storm::Target::Serve { store }, handsets, minutes, 2026)?;
    Ok(Some(StormBench {
        storm_store: f.store,
        storm_handsets: f.handsets,
        storm_backlog_minutes: f.backlog_minutes,
        storm_fixes: f.fixes_uploaded,
        storm_drain_s: round3(f.drain_s),
        storm_server_fixes_per_s: f.server_fixes_per_s.round(),
        storm_p50_ms: round3(f.p50_ms),
        storm_p99_ms: round3(f.p99_ms),
        storm_shed: f.answers.get("503").copied().unwrap_or(0),
        storm_duplicates: f.duplicates_stored,
        storm_lost: f.records_lost + f.fixes_lost,
        storm_peak_server_rss_mb: f.peak_server_rss_mb.map(round3),
    }))
}

/// Library full-text search through the handset API.
#[derive(Debug, Serialize)]
pub struct SearchFigures {
    /// 99th percentile of one search (query building, FTS5 bm25 ranking,
    /// highlights and snippets for the hits returned), with another process
    /// keeping one core busy. Target ≤ 3 ms.
    pub search_p99_ms: f64,
    pub search_p50_ms: f64,
    pub search_articles: usize,
    pub search_queries: usize,
    /// What else ran while searching.
    pub search_load: String,
}

pub fn run(quick: bool) -> Result<Figures, SimError> {
    let rounds = if quick { 1 } else { 3 };
    let (ingest_n, batch) = (if quick { 6_000 } else { 30_000 }, 600);
    let (ingest, raw, ingest_areas) = ingest_vs_raw(ingest_n, batch, rounds)?;
    let (geo_ns, linear_ns, geofence_areas) = geofence(quick);
    let (cold_open_ms, cold_open_areas) = cold_open(if quick { 3 } else { 9 })?;
    let (wire, naive) = wire_bytes();
    let (week_upload_s, week_upload_fixes, week_upload_records) = week_upload(if quick { 25 } else { 250 })?;
    let library = bench_library()?;
    let search = search_under_load(&library, quick)?;
    let handset = handset::full_store(&library, if quick { 3 } else { 9 })?;
    let plan = handset::plan(&handset::fixtures_dir())?;
    let shift = shift_in_child(quick)?;
    let torture = crate::torture::run(&crate::torture::TortureArgs {
        kills: if quick { 5 } else { 30 },
        power_cuts: if quick { 5 } else { 30 },
        seed: 2026,
        quiet: true,
    })?;
    let storm = storm_bench(quick)?;
    let audit = audit::cost(quick)?;
    Ok(Figures {
        ingest_fixes_per_s: ingest.round(),
        raw_sqlite_rows_per_s: raw.round(),
        ingest_ratio: round3(ingest / raw),
        ingest_fixes: ingest_n,
        ingest_batch: batch,
        ingest_areas,
        geofence_ns_per_fix: geo_ns.round(),
        linear_scan_ns_per_fix: linear_ns.round(),
        geofence_speedup: (linear_ns / geo_ns).round(),
        geofence_areas,
        cold_open_ms: round3(cold_open_ms),
        cold_open_areas,
        wire_bytes_per_fix: round3(wire),
        naive_json_bytes_per_fix: round3(naive),
        week_upload_s: round3(week_upload_s),
        week_upload_fixes,
        week_upload_records,
        shift_peak_rss_mb: round3(shift.peak_rss_mb),
        shift_rss_growth_mb_per_h: round3(shift.growth_mb_per_h),
        shift_rss_mb_by_hour: shift.rss_mb_by_hour,
        shift_syncs: shift.syncs,
        ffi_library_bytes: ffi_library_bytes(),
        torture_kills: torture.kills,
        torture_power_cuts: torture.power_cuts,
        torture_acknowledged: torture.acknowledged,
        torture_lost: torture.lost,
        torture_duplicated: torture.duplicated + torture.drafts_lost,
        torture_integrity_failures: torture.integrity_failures,
        search,
        storm,
        audit,
        plan,
        handset,
    })
}

/// Searches a generated library of 5,000 articles (the starter library's
/// paragraphs recombined, so word frequencies are real: "trauma" is in most
/// articles) with a fixed mix of queries (single words, two and three
/// words, a prefix being typed, a British spelling, a sentence, words no
/// article has, hostile syntax), 20 hits each, through the handset API.
/// Durable ingestion against a raw batched insert, alone and over more
/// rounds than the full run: the ratio is the design's figure.
#[derive(Debug, Serialize)]
pub struct IngestFigures {
    pub ingest_fixes_per_s: f64,
    pub raw_sqlite_rows_per_s: f64,
    pub ingest_ratio: f64,
    pub ingest_fixes: usize,
    pub rounds: usize,
}

pub fn ingest(quick: bool) -> Result<IngestFigures, SimError> {
    let (n, rounds) = if quick { (6_000, 2) } else { (30_000, 7) };
    let (ingest, raw, _) = ingest_vs_raw(n, 600, rounds)?;
    Ok(IngestFigures {
        ingest_fixes_per_s: ingest.round(),
        raw_sqlite_rows_per_s: raw.round(),
        ingest_ratio: round3(ingest / raw),
        ingest_fixes: n,
        rounds,
    })
}

const SEARCH_ARTICLES: usize = 5_000;

/// The starter library's paragraphs recombined into 5,000 articles, so word
/// frequencies are real ("trauma" is in most articles).
pub fn bench_library() -> Result<guardian_core::library::Library, SimError> {
    let now = 1_700_000_000_000;
    let starter = crate::library::load_sources(&crate::library::default_dir(), 1, now)?;
    Ok(crate::library::generated_library(&starter, SEARCH_ARTICLES, now))
}

pub fn library_search(quick: bool) -> Result<SearchFigures, SimError> {
    search_under_load(&bench_library()?, quick)
}

/// A process that keeps one core busy while it lives: a phone is never a
/// quiet machine. Killed when dropped.
struct Busy(std::process::Child);

impl Busy {
    fn start() -> Result<Self, SimError> {
        let exe = std::env::current_exe().map_err(|e| SimError::Input {
            what: "busy process".into(),
            reason: e.to_string(),
        })?;
        std::process::Command::new(exe)
            .args(["burn", "--seconds", "600"])
            .spawn()
            .map(Busy)
            .map_err(|e| SimError::Input {
                what: "busy process".into(),
                reason: e.to_string(),
            })
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Spins one core for `seconds` (the bench's background load).
pub fn burn(seconds: u64) {
    let until = Instant::now() + Duration::from_secs(seconds);
    let mut x = 0u64;
    while Instant::now() < until {
        for i in 0..100_000u64 {
            x = black_box(x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(i));
        }
    }
}

/// Searches the library with a fixed mix of queries (single words, two and
/// three words, a prefix being typed, a British spelling, a sentence, words
/// no article has, hostile syntax), 20 hits each, through the handset API,
/// while another process keeps one core busy.
fn search_under_load(lib: &guardian_core::library::Library, quick: bool) -> Result<SearchFigures, SimError> {
    const QUERIES: &[&str] = &[
        "custody",
        "trauma",
        "young person",
        "calm voice search",
        "safeg",
        "exploit",
        "behavior",
        "neighbourhood",
        "what should I do when a child is scared in custody",
        "knife weapon street",
        "organization",
        "zebra giraffe",
        "interview solicitor rights",
        "wellbeing shift support",
        "co",
        "\"unbalanced NEAR( * quote",
    ];
    let h = crate::library::handset_with(lib)?;
    let rounds = if quick { 5 } else { 40 };
    // Warm the page cache and statement cache as a phone's would be after
    // the first search.
    for q in QUERIES {
        black_box(h.guardian.library_search(q, 20)?);
    }
    let busy = Busy::start()?;
    let mut times = Vec::with_capacity(rounds * QUERIES.len());
    for _ in 0..rounds {
        for q in QUERIES {
            let start = Instant::now();
            black_box(h.guardian.library_search(q, 20)?);
            times.push(start.elapsed().as_secs_f64() * 1000.0);
        }
    }
    drop(busy);
    times.sort_by(f64::total_cmp);
    let at = |p: f64| times[((times.len() as f64 * p).ceil() as usize).clamp(1, times.len()) - 1];
    Ok(SearchFigures {
        search_p99_ms: round3(at(0.99)),
        search_p50_ms: round3(at(0.50)),
        search_articles: lib.articles.len(),
        search_queries: times.len(),
        search_load: "one core kept busy by another process (guardian-sim burn)".into(),
    })
}

pub fn print_search(f: &SearchFigures) {
    println!(
        "  [{}] library search  {:>10.3} ms p99 ({:.3} ms median) over {} articles, {} searches, one core busy (target ≤ 3 ms)",
        if f.search_p99_ms <= 3.0 { "ok " } else { "MISS" },
        f.search_p99_ms,
        f.search_p50_ms,
        f.search_articles,
        f.search_queries
    );
}

pub(crate) fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// A `side` × `side` grid of 12-sided hotspots ~80 m across, `spacing_m`
/// apart, centred on Birmingham, as GeoJSON.
pub fn grid_areas_geojson(side: usize, spacing_m: f64) -> String {
    let (lat0, lon0): (f64, f64) = (52.4862, -1.8904);
    let m_lat = 1.0 / 111_195.0;
    let m_lon = m_lat / lat0.to_radians().cos();
    let half = side as f64 / 2.0;
    let mut features = Vec::with_capacity(side * side);
    for i in 0..side {
        for j in 0..side {
            let clat = lat0 + (i as f64 - half) * spacing_m * m_lat;
            let clon = lon0 + (j as f64 - half) * spacing_m * m_lon;
            let mut ring: Vec<[f64; 2]> = (0..12)
                .map(|k| {
                    let a = k as f64 * std::f64::consts::TAU / 12.0;
                    let r = 40.0 + ((i * 7 + j * 13 + k) % 5) as f64 * 3.0;
                    [clon + r * a.cos() * m_lon, clat + r * a.sin() * m_lat]
                })
                .collect();
            ring.push(ring[0]);
            features.push(serde_json::json!({
                "type": "Feature",
                "properties": {"id": format!("grid-{i}-{j}"), "name": format!("Grid {i},{j}"), "lpa": "Bench",
                               "windows": [{"days": ["fri", "sat"], "start": "22:00", "end": "02:00"}]},
                "geometry": {"type": "Polygon", "coordinates": [ring]}
            }));
        }
    }
    serde_json::json!({"type": "FeatureCollection", "features": features}).to_string()
}

/// A 1 Hz walk at ~1.4 m/s wandering across the grid, starting at `t0`.
pub(crate) fn walking_track(n: usize, t0_ms: i64, mono0_ns: i64) -> Vec<Fix> {
    // Seeded: the bench must measure the same work every run.
    let mut rng = fastrand::Rng::with_seed(42);
    let (mut lat, mut lon) = (52.4862, -1.8904);
    let mut heading: f64 = 0.3;
    (0..n)
        .map(|i| {
            heading += (rng.f64() - 0.5) * 0.3;
            lat += 1.4 * heading.cos() / 111_195.0;
            lon += 1.4 * heading.sin() / (111_195.0 * 0.6088);
            let i = i as i64;
            Fix::new(
                t0_ms + i * 1000,
                mono0_ns + i * 1_000_000_000,
                lat,
                lon,
                4.0 + rng.f64() * 8.0,
            )
        })
        .collect()
}

fn ingest_vs_raw(n: usize, batch: usize, rounds: usize) -> Result<(f64, f64, usize), SimError> {
    let dir = tempdir()?;
    let t0 = 1_700_000_000_000;
    let clock = Arc::new(FixedClock::new(t0));
    let g = Guardian::open(
        Config::new(dir.path().join("bench.db")),
        fake_keystore_key(),
        clock.clone(),
    )?;
    let areas = g.import_areas_geojson(&grid_areas_geojson(32, 250.0))?;
    let (mut best_ingest, mut best_raw) = (Duration::MAX, Duration::MAX);
    for round in 0..rounds {
        let shift = (round * n) as i64;
        let fixes = walking_track(n, t0 + shift * 1000, 10_000_000_000 + shift * 1_000_000_000);
        clock.set(fixes.last().map_or(t0, |f| f.time_ms));

        let start = Instant::now();
        for chunk in fixes.chunks(batch) {
            g.store().write(|tx| {
                let mut stmt = tx.prepare_cached(
                    "INSERT INTO fixes (patrol_id, time_ms, mono_ns, lat, lon, accuracy_m, altitude_m, speed_mps, bearing_deg, verdict)
                     VALUES (NULL, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'accepted')",
                )?;
                for f in chunk {
                    stmt.execute((f.time_ms, f.mono_ns, f.lat, f.lon, f.accuracy_m, f.altitude_m, f.speed_mps, f.bearing_deg))?;
                }
                Ok::<_, StoreError>(())
            })?;
        }
        best_raw = best_raw.min(start.elapsed());

        // The raw rows moved the clock chain on; ingest a later stretch.
        let fixes = walking_track(
            n,
            t0 + (shift + n as i64 * 10) * 1000,
            10_000_000_000 + (shift + n as i64 * 10) * 1_000_000_000,
        );
        clock.set(fixes.last().map_or(t0, |f| f.time_ms));
        let start = Instant::now();
        for chunk in fixes.chunks(batch) {
            black_box(g.ingest_batch(chunk)?);
        }
        best_ingest = best_ingest.min(start.elapsed());
    }
    Ok((
        n as f64 / best_ingest.as_secs_f64(),
        n as f64 / best_raw.as_secs_f64(),
        areas,
    ))
}

fn geofence(quick: bool) -> (f64, f64, usize) {
    let side = 100;
    let areas = match parse_areas(&grid_areas_geojson(side, 500.0)) {
        Ok(a) => a,
        Err(_) => unreachable!("the generated grid is valid"),
    };
    let n_areas = areas.len();
    let index = AreaIndex::new(areas);
    // Seeded: the bench must measure the same work every run.
    let mut rng = fastrand::Rng::with_seed(7);
    // Points anywhere over the grid's 50 km × 50 km.
    let half_deg_lat = side as f64 / 2.0 * 500.0 / 111_195.0;
    let half_deg_lon = half_deg_lat / 0.6088;
    let mut points = |n: usize| -> Vec<(f64, f64)> {
        (0..n)
            .map(|_| {
                (
                    52.4862 + (rng.f64() * 2.0 - 1.0) * half_deg_lat,
                    -1.8904 + (rng.f64() * 2.0 - 1.0) * half_deg_lon,
                )
            })
            .collect()
    };
    let fast_pts = points(if quick { 20_000 } else { 200_000 });
    let slow_pts = points(if quick { 200 } else { 1_000 });
    let mut out = Vec::new();
    let time = |pts: &[(f64, f64)], f: &mut dyn FnMut(f64, f64)| {
        let mut best = f64::MAX;
        for _ in 0..3 {
            let start = Instant::now();
            for &(lat, lon) in pts {
                f(lat, lon);
            }
            best = best.min(start.elapsed().as_nanos() as f64 / pts.len() as f64);
        }
        best
    };
    let fast = time(&fast_pts, &mut |lat, lon| {
        index.near(lat, lon, &mut out);
        black_box(&out);
    });
    let slow = time(&slow_pts, &mut |lat, lon| {
        index.near_linear(lat, lon, &mut out);
        black_box(&out);
    });
    (fast, slow, n_areas)
}

fn cold_open(runs: usize) -> Result<(f64, usize), SimError> {
    let dir = tempdir()?;
    let path = dir.path().join("cold.db");
    let key = fake_keystore_key();
    let clock = Arc::new(FixedClock::new(1_700_000_000_000));
    let n = {
        let g = Guardian::open(Config::new(&path), key.clone(), clock.clone())?;
        let n = g.import_areas_geojson(&grid_areas_geojson(32, 250.0))?;
        g.store().checkpoint()?;
        n
    };
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        let g = Guardian::open(Config::new(&path), key.clone(), clock.clone())?;
        let elapsed = start.elapsed();
        if g.area_index().len() != n {
            return Err(SimError::Input {
                what: "cold open".into(),
                reason: "areas did not all load".into(),
            });
        }
        times.push(elapsed.as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    Ok((times[times.len() / 2], n))
}

/// One JSON object per fix, the naive upload: the baseline for the wire.
pub fn naive_json_bytes_per_fix(fixes: &[Fix]) -> f64 {
    if fixes.is_empty() {
        return 0.0;
    }
    let total: usize = fixes
        .iter()
        .map(|f| {
            serde_json::json!({"time_ms": f.time_ms, "lat": f.lat, "lon": f.lon, "accuracy_m": f.accuracy_m})
                .to_string()
                .len()
                + 1
        })
        .sum();
    total as f64 / fixes.len() as f64
}

/// An hour's 1 Hz walk, packed exactly as the outbox packs it.
fn wire_bytes() -> (f64, f64) {
    use guardian_core::patrol::Verdict;
    use guardian_core::patrol::db::CHUNK_FIXES;
    use guardian_protocol::codec::{StoredFix, encode};
    let fixes: Vec<Fix> = walking_track(3_600, 1_700_000_000_000, 5_000_000_000)
        .iter()
        .map(Fix::quantised)
        .collect();
    let bytes: usize = fixes
        .chunks(CHUNK_FIXES)
        .map(|c| {
            let stored: Vec<StoredFix> = c
                .iter()
                .map(|f| StoredFix {
                    fix: *f,
                    verdict: Verdict::Accepted,
                })
                .collect();
            encode(&stored).len()
        })
        .sum();
    (bytes as f64 / fixes.len() as f64, naive_json_bytes_per_fix(&fixes))
}

/// `patrols` patrols of 600 fixes made offline, then uploaded from a cold
/// start: (seconds, fixes, records).
fn week_upload(patrols: usize) -> Result<(f64, usize, usize), SimError> {
    use guardian_backend::{Backend, Role};
    use guardian_core::patrol::{Officer, Rank};
    use guardian_core::sync::SyncConfig;
    let fail = |what: &str, e: &dyn std::fmt::Display| SimError::Input {
        what: what.into(),
        reason: e.to_string(),
    };
    let dir = tempdir()?;
    let areas = grid_areas_geojson(32, 250.0);
    let backend_db = dir.path().join("force.db");
    let backend = Backend::open(&backend_db).map_err(|e| fail("backend", &e))?;
    backend
        .load_areas_geojson(&areas)
        .map_err(|e| fail("backend areas", &e))?;
    backend
        .create_officer("bench-officer", "Bench Officer", Rank::Constable)
        .map_err(|e| fail("backend officer", &e))?;
    let token = backend
        .issue_token("bench-officer", Role::Officer, 3600)
        .map_err(|e| fail("token", &e))?;
    let server = guardian_backend::spawn(backend, std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
        .map_err(|e| fail("serve", &e))?;

    let path = dir.path().join("handset.db");
    let key = fake_keystore_key();
    let t0 = 1_700_000_000_000;
    let clock = Arc::new(FixedClock::new(t0));
    let mut fixes_total = 0;
    {
        let g = Guardian::open(Config::new(&path), key.clone(), clock.clone())?;
        g.import_areas_geojson(&areas)?;
        g.set_officer(&Officer {
            officer_id: "bench-officer".into(),
            display_name: "Bench Officer".into(),
            rank: Rank::Constable,
        })?;
        for p in 0..patrols {
            let start = t0 + (p as i64) * 3_600_000;
            let track = walking_track(600, start, 10_000_000_000 + (p as i64) * 3_600_000_000_000);
            clock.set(start);
            g.check_in("grid-16-16", &track[0])?;
            g.ingest_batch(&track[1..])?;
            g.check_out(&track[track.len() - 1])?;
            fixes_total += track.len();
        }
    }
    // Cold start: a fresh process opens the store and finds signal.
    let start = Instant::now();
    let g = Guardian::open(Config::new(&path), key, clock)?;
    g.start_sync(
        &SyncConfig::new(format!("http://{}", server.addr)),
        Arc::new(StaticTokens(token)),
    )?;
    let mut records = 0;
    while g.sync_status()?.pending > 0 {
        records += g.sync_now()?.acked;
    }
    let elapsed = start.elapsed().as_secs_f64();
    server.shutdown().map_err(|e| fail("backend shutdown", &e))?;
    Ok((elapsed, fixes_total, records))
}

/// Runs the shift in a fresh process so its peak memory is the handset's
/// alone, not this benchmark's.
/// What the shift child reports.
#[derive(Debug, Serialize, serde::Deserialize)]
pub struct ShiftFigures {
    pub hours: u32,
    pub fixes: usize,
    pub patrols: usize,
    pub syncs: usize,
    pub sync_failures: usize,
    pub searches: usize,
    pub records_pending: usize,
    pub peak_rss_mb: f64,
    pub rss_mb_by_hour: Vec<f64>,
    pub growth_mb_per_h: f64,
}

/// The release FFI library's size once stripped, if it has been built.
fn ffi_library_bytes() -> Option<u64> {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let lib = target.join("release/libguardian_ffi.so");
    let dir = tempdir().ok()?;
    let stripped = dir.path().join("lib.so");
    let ok = std::process::Command::new("strip")
        .arg("-o")
        .arg(&stripped)
        .arg(&lib)
        .status()
        .ok()?
        .success();
    ok.then(|| std::fs::metadata(&stripped).ok().map(|m| m.len())).flatten()
}

/// The shift figures alone (`bench --only shift`).
pub fn shift_figures(quick: bool) -> Result<ShiftFigures, SimError> {
    shift_in_child(quick)
}

/// The shift in its own process (so its memory is the handset's alone),
/// syncing to a reference backend served from this one.
fn shift_in_child(quick: bool) -> Result<ShiftFigures, SimError> {
    let fail = |e: &dyn std::fmt::Display| SimError::Input {
        what: "shift".into(),
        reason: e.to_string(),
    };
    let force = shift_force()?;
    let exe = std::env::current_exe().map_err(|e| fail(&e))?;
    let hours = if quick { "3" } else { "12" };
    let out = std::process::Command::new(exe)
        .args([
            "shift",
            "--hours",
            hours,
            "--backend",
            &force.url,
            "--token",
            &force.token,
        ])
        .output()
        .map_err(|e| fail(&e))?;
    drop(force);
    if !out.status.success() {
        return Err(fail(&String::from_utf8_lossy(&out.stderr)));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| fail(&e))
}

/// The force for the shift: the shift's grid of areas, its officer, the
/// starter library published.
struct ShiftForce {
    url: String,
    token: String,
    server: Option<guardian_backend::ServerHandle>,
    _dir: tempfile::TempDir,
}

impl Drop for ShiftForce {
    fn drop(&mut self) {
        if let Some(s) = self.server.take() {
            let _ = s.shutdown();
        }
    }
}

fn shift_force() -> Result<ShiftForce, SimError> {
    use guardian_backend::{Backend, Role};
    let fail = |what: &str, e: &dyn std::fmt::Display| SimError::Input {
        what: what.into(),
        reason: e.to_string(),
    };
    let dir = tempdir()?;
    let backend = Backend::open(&dir.path().join("force.db")).map_err(|e| fail("backend", &e))?;
    backend
        .load_areas_geojson(&grid_areas_geojson(8, 250.0))
        .map_err(|e| fail("backend areas", &e))?;
    backend
        .create_officer(SHIFT_OFFICER, "Shift Officer", guardian_core::patrol::Rank::Constable)
        .map_err(|e| fail("backend officer", &e))?;
    let library = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../library");
    backend
        .publish_library_dir(&library, 1_700_000_000_000)
        .map_err(|e| fail("library", &e))?;
    let token = backend
        .issue_token(SHIFT_OFFICER, Role::Officer, 24 * 3600)
        .map_err(|e| fail("token", &e))?;
    let server = guardian_backend::spawn(backend, std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
        .map_err(|e| fail("serve", &e))?;
    Ok(ShiftForce {
        url: format!("http://{}", server.addr),
        token,
        server: Some(server),
        _dir: dir,
    })
}

const SHIFT_OFFICER: &str = "shift-officer";

/// A shift on one handset: `hours` at 1 Hz, a one-hour patrol in every
/// three. With a backend it syncs every 5 minutes and the officer searches
/// and reads the library every 10 (the memory figure's workload); without
/// one it is out of signal throughout. Resident memory is read at the end
/// of every hour.
pub fn shift(hours: u32, backend: Option<(String, String)>) -> Result<ShiftFigures, SimError> {
    use guardian_core::patrol::{Officer, Rank};
    const QUERIES: [&str; 5] = [
        "young person",
        "custody",
        "de-escalation",
        "trauma brain",
        "navigator referral",
    ];
    let dir = tempdir()?;
    let t0 = 1_700_000_000_000;
    let clock = Arc::new(FixedClock::new(t0));
    let g = Guardian::open(
        Config::new(dir.path().join("shift.db")),
        fake_keystore_key(),
        clock.clone(),
    )?;
    g.import_areas_geojson(&grid_areas_geojson(8, 250.0))?;
    g.set_officer(&Officer {
        officer_id: SHIFT_OFFICER.into(),
        display_name: "Shift Officer".into(),
        rank: Rank::Constable,
    })?;
    let online = backend.is_some();
    if let Some((url, token)) = backend {
        g.start_sync(
            &guardian_core::sync::SyncConfig::new(url),
            Arc::new(StaticTokens(token)),
        )?;
    }
    let (mut patrols, mut syncs, mut sync_failures, mut searches) = (0, 0, 0, 0);
    let mut rss_by_hour = Vec::new();
    for h in 0..i64::from(hours) {
        // Each hour starts back at the hotspot; one hour in three is a patrol.
        let track = walking_track(3_600, t0 + h * 3_600_000, 10_000_000_000 + h * 3_600_000_000_000);
        clock.set(track[0].time_ms);
        let on_patrol = h % 3 == 0 && g.check_in("grid-4-4", &track[0]).is_ok();
        patrols += usize::from(on_patrol);
        // The OS hands over fixes in batches of a minute.
        for (m, minute) in track.chunks(60).enumerate() {
            clock.set(minute[0].time_ms);
            g.ingest_batch(minute)?;
            if m % 5 == 0 {
                black_box(g.patrol_status()?);
                if online {
                    syncs += 1;
                    sync_failures += usize::from(g.sync_now().is_err());
                }
            }
            if online && m % 10 == 0 {
                let hits = g.library_search(QUERIES[(m / 10) % QUERIES.len()], 20)?;
                searches += 1;
                if let Some(first) = hits.hits.first() {
                    black_box(g.library_open_article(&first.id)?);
                    g.library_set_bookmark(&first.id, m % 20 == 0)?;
                }
            }
        }
        if on_patrol {
            g.check_out(&track[track.len() - 1])?;
        }
        rss_by_hour.push(round3(current_rss_mb()));
    }
    let growth = growth_per_hour(&rss_by_hour);
    Ok(ShiftFigures {
        hours,
        fixes: hours as usize * 3_600,
        patrols,
        syncs,
        sync_failures,
        searches,
        records_pending: g.sync_status()?.pending,
        peak_rss_mb: peak_rss_mb(),
        rss_mb_by_hour: rss_by_hour,
        growth_mb_per_h: growth,
    })
}

/// Least-squares slope of memory per hour, leaving out the first hour
/// (caches and the library arriving) when there are enough hours.
fn growth_per_hour(samples: &[f64]) -> f64 {
    let xs: Vec<(f64, f64)> = samples
        .iter()
        .enumerate()
        .skip(usize::from(samples.len() > 2))
        .map(|(i, v)| (i as f64, *v))
        .collect();
    let n = xs.len() as f64;
    if n < 2.0 {
        return 0.0;
    }
    let (mx, my) = (
        xs.iter().map(|p| p.0).sum::<f64>() / n,
        xs.iter().map(|p| p.1).sum::<f64>() / n,
    );
    let sxy: f64 = xs.iter().map(|(x, y)| (x - mx) * (y - my)).sum();
    let sxx: f64 = xs.iter().map(|(x, _)| (x - mx).powi(2)).sum();
    sxy / sxx
}

/// VmRSS from /proc: what the process holds resident now.
fn current_rss_mb() -> f64 {
    proc_status_mb("VmRSS:")
}

/// VmHWM from /proc: the most memory the process ever held resident.
fn peak_rss_mb() -> f64 {
    proc_status_mb("VmHWM:")
}

fn proc_status_mb(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(field))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

pub(crate) fn tempdir() -> Result<tempfile::TempDir, SimError> {
    tempfile::tempdir().map_err(|e| SimError::Input {
        what: "temporary directory".into(),
        reason: e.to_string(),
    })
}

pub fn print_human(f: &Figures) {
    let mark = |ok: bool| if ok { "ok " } else { "MISS" };
    println!("Guardian bench (one run, this machine)");
    println!(
        "  [{}] ingest          {:>10.0} fixes/s vs raw SQLite {:>10.0} rows/s: ratio {:.2} (target ≥ 0.5)",
        mark(f.ingest_ratio >= 0.5),
        f.ingest_fixes_per_s,
        f.raw_sqlite_rows_per_s,
        f.ingest_ratio
    );
    println!(
        "  [{}] geofence        {:>10.0} ns/fix vs linear {:>10.0} ns/fix over {} areas: {:.0}× (targets ≤ 2000 ns, ≥ 100×)",
        mark(f.geofence_ns_per_fix <= 2000.0 && f.geofence_speedup >= 100.0),
        f.geofence_ns_per_fix,
        f.linear_scan_ns_per_fix,
        f.geofence_areas,
        f.geofence_speedup
    );
    println!(
        "  [{}] cold open       {:>10.2} ms with {} areas (target ≤ 20 ms)",
        mark(f.cold_open_ms <= 20.0),
        f.cold_open_ms,
        f.cold_open_areas
    );
    println!(
        "  [{}] wire            {:>10.2} bytes per 1 Hz fix vs {:.0} as JSON objects (target ≤ 8)",
        mark(f.wire_bytes_per_fix <= 8.0),
        f.wire_bytes_per_fix,
        f.naive_json_bytes_per_fix
    );
    println!(
        "  [{}] 12 h shift      {:>10.1} MB peak resident memory, syncing every 5 min, library in use (target ≤ 30 MB)",
        mark(f.shift_peak_rss_mb <= 30.0),
        f.shift_peak_rss_mb
    );
    println!(
        "  [{}]   flat per hour {:>10.3} MB/h growth over {} hours ({} syncs) (target ≈ 0: ≤ 0.1 MB/h)",
        mark(f.shift_rss_growth_mb_per_h <= 0.1),
        f.shift_rss_growth_mb_per_h,
        f.shift_rss_mb_by_hour.len(),
        f.shift_syncs
    );
    println!(
        "  [{}] week upload     {:>10.2} s for {} fixes in {} records, cold start, loopback (target ≤ 3 s)",
        mark(f.week_upload_s <= 3.0),
        f.week_upload_s,
        f.week_upload_fixes,
        f.week_upload_records
    );
    match f.ffi_library_bytes {
        Some(b) => println!(
            "  [{}] FFI library     {:>10.2} MB stripped, x86_64 host build (target ≤ 6 MB)",
            mark(b <= 6_000_000),
            b as f64 / 1e6
        ),
        None => println!("  [ -- ] FFI library     not built here: bash scripts/bindings.sh (target ≤ 6 MB)"),
    }
    println!(
        "  [{}] kills, cuts     {:>10} kills, {} power cuts, {} calls acknowledged: {} lost, {} duplicated, {} damaged (target 0; `guardian-sim torture --kills 1000`)",
        mark(f.torture_lost + f.torture_duplicated + f.torture_integrity_failures == 0),
        f.torture_kills,
        f.torture_power_cuts,
        f.torture_acknowledged,
        f.torture_lost,
        f.torture_duplicated,
        f.torture_integrity_failures
    );
    match &f.storm {
        Some(s) => println!(
            "  [{}] reconnect storm {:>10.1} s to drain {} handsets × {} min ({} fixes) on {}: {:.0} fixes/s, p99 {:.0} ms, {} shed, {} lost, {} duplicated (target 0; `guardian-sim load`)",
            mark(s.storm_lost + s.storm_duplicates == 0),
            s.storm_drain_s,
            s.storm_handsets,
            s.storm_backlog_minutes,
            s.storm_fixes,
            s.storm_store,
            s.storm_server_fixes_per_s,
            s.storm_p99_ms,
            s.storm_shed,
            s.storm_lost,
            s.storm_duplicates
        ),
        None => println!("  [ -- ] reconnect storm not run: build guardian-backend beside this binary"),
    }
    let a = &f.audit;
    println!(
        "  [info] access log      {:>10.0} reads/s logged vs {:.0} unlogged ({} sealed referrals a read): {:.1} µs an entry",
        a.audit_logged_reads_per_s, a.audit_unlogged_reads_per_s, a.audit_referrals_per_read, a.audit_cost_us_per_read
    );
    print_search(&f.search);
    let h = &f.handset;
    println!(
        "  [{}] patrol status   {:>10.2} µs median ({:.2} p99) at the end of a 12 h 1 Hz patrol (target ≤ 50 µs)",
        mark(h.status_us_12h <= 50.0),
        h.status_us_12h,
        h.status_p99_us_12h
    );
    println!(
        "  [{}] cold open, full {:>10.2} ms with {} articles and a {}-fix open patrol (target ≤ 30 ms)",
        mark(h.cold_open_full_ms <= 30.0),
        h.cold_open_full_ms,
        h.cold_open_full_articles,
        h.cold_open_full_fixes
    );
    let p = &f.plan;
    println!(
        "  [{}] sampling plan   {:>10.3} of 1 Hz fixes ({:.3} of the recorded) over {} fixture tracks (target ≤ 0.3)",
        mark(p.plan_fix_fraction <= 0.3),
        p.plan_fix_fraction,
        p.plan_fraction_of_recorded,
        p.plan_tracks.len()
    );
    println!(
        "  [{}]   same evidence {:>10.2} min worst error ({:.1}%), arrival within {:.0} s, departure within {:.0} s (targets ≤ max(1 min, 5%), ≤ 30 s)",
        mark(
            (p.plan_minutes_error_max <= 1.0 || p.plan_minutes_error_max_fraction <= 0.05)
                && p.plan_arrival_error_s_max <= 30.0
        ),
        p.plan_minutes_error_max,
        p.plan_minutes_error_max_fraction * 100.0,
        p.plan_arrival_error_s_max,
        p.plan_departure_error_s_max
    );
}
