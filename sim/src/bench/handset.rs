//! The handset's battery and hot-path figures: how few fixes the sampling
//! plan needs for the same evidence, what a patrol-screen poll costs at the
//! end of a 12-hour track, and how long opening a full store takes.

use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use guardian_core::patrol::{Officer, Rank};
use guardian_core::{Config, FixedClock, Guardian};
use serde::Serialize;

use super::{grid_areas_geojson, round3, tempdir, walking_track};
use crate::replay::{self, ReplayArgs};
use crate::{SimError, fake_keystore_key};

/// The plan against full rate over every real fixture track that makes a
/// patrol (the fixtures' own tracks through the demo areas).
#[derive(Debug, Serialize)]
pub struct PlanFigures {
    /// Fixes delivered under the plan / fixes a fixed 1 Hz phone would
    /// deliver, pooled over the tracks. Target ≤ 0.3.
    pub plan_fix_fraction: f64,
    /// The same against the fixes the recorders actually logged (most
    /// fixtures are not 1 Hz: 2–10 s loggers, one 10 Hz).
    pub plan_fraction_of_recorded: f64,
    /// Worst |minutes in area under the plan − at full rate|. Target ≤
    /// max(1 min, 5%).
    pub plan_minutes_error_max: f64,
    /// That worst error as a share of the full-rate minutes.
    pub plan_minutes_error_max_fraction: f64,
    /// Worst arrival time difference, seconds. Target ≤ 30 s.
    pub plan_arrival_error_s_max: f64,
    pub plan_departure_error_s_max: f64,
    pub plan_tracks: Vec<String>,
}

pub fn fixtures_dir() -> PathBuf {
    std::env::var_os("GUARDIAN_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures"))
}

pub fn plan(fixtures: &std::path::Path) -> Result<PlanFigures, SimError> {
    let areas = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/demo-areas.geojson");
    let mut tracks: Vec<PathBuf> = std::fs::read_dir(fixtures.join("tracks"))
        .map_err(|e| SimError::Input {
            what: fixtures.join("tracks").display().to_string(),
            reason: e.to_string(),
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "gpx"))
        .collect();
    tracks.sort();
    let (mut delivered, mut one_hz, mut recorded) = (0usize, 0usize, 0usize);
    let (mut minutes_max, mut minutes_frac, mut arrival_max, mut departure_max) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
    let mut names = Vec::new();
    for track in tracks {
        let r = replay::run(&ReplayArgs {
            areas: areas.clone(),
            track: track.clone(),
            area_id: None,
            rank: Rank::Constable,
            window: None,
            plan: true,
        })?;
        let Some(p) = r.plan else { continue };
        if r.area_id.is_none() {
            // No patrol: the track never arrives anywhere (a 1901 clock,
            // three fixes 500 m apart).
            continue;
        }
        delivered += p.fixes_delivered;
        one_hz += p.fixes_at_1hz;
        recorded += p.fixes_recorded;
        if p.minutes_error >= minutes_max {
            minutes_max = p.minutes_error;
            minutes_frac = if r.minutes_in_area > 0.0 {
                p.minutes_error / r.minutes_in_area
            } else {
                0.0
            };
        }
        arrival_max = arrival_max.max(p.arrival_error_s.unwrap_or(f64::INFINITY));
        departure_max = departure_max.max(p.departure_error_s.unwrap_or(f64::INFINITY));
        names.push(
            track
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        );
    }
    let ratio = |n: usize, d: usize| if d == 0 { 0.0 } else { round3(n as f64 / d as f64) };
    Ok(PlanFigures {
        plan_fix_fraction: ratio(delivered, one_hz),
        plan_fraction_of_recorded: ratio(delivered, recorded),
        plan_minutes_error_max: round3(minutes_max),
        plan_minutes_error_max_fraction: round3(minutes_frac),
        plan_arrival_error_s_max: arrival_max,
        plan_departure_error_s_max: departure_max,
        plan_tracks: names,
    })
}

/// The patrol screen's poll and a cold open, both at the end of a 12-hour
/// 1 Hz shift on patrol, with the 5,000-article library installed.
#[derive(Debug, Serialize)]
pub struct HandsetFigures {
    /// Median `patrol_status` at the end of the track, µs. Target ≤ 50.
    pub status_us_12h: f64,
    pub status_p99_us_12h: f64,
    /// Median open of that store (library, areas, 12 h track, the patrol
    /// resumed with its figures). Target ≤ 30 ms.
    pub cold_open_full_ms: f64,
    pub cold_open_full_fixes: usize,
    pub cold_open_full_articles: usize,
}

pub fn full_store(library: &guardian_core::library::Library, runs: usize) -> Result<HandsetFigures, SimError> {
    let dir = tempdir()?;
    let path = dir.path().join("full.db");
    let key = fake_keystore_key();
    let t0 = 1_700_000_000_000;
    let clock = Arc::new(FixedClock::new(t0));
    let fixes = 12 * 3_600;
    let (status_us, status_p99_us, report) = {
        let g = Guardian::open(Config::new(&path), key.clone(), clock.clone())?;
        g.library_apply_pack(&guardian_core::library::Pack::full(library, t0).encode(true))?;
        g.import_areas_geojson(&grid_areas_geojson(32, 250.0))?;
        g.set_officer(&Officer {
            officer_id: "bench-officer".into(),
            display_name: "Bench Officer".into(),
            rank: Rank::Constable,
        })?;
        let track = walking_track(fixes, t0, 10_000_000_000);
        g.check_in("grid-16-16", &track[0])?;
        for minute in track[1..].chunks(60) {
            clock.set(minute[0].time_ms);
            g.ingest_batch(minute)?;
        }
        let mut times = Vec::with_capacity(2_000);
        for _ in 0..2_000 {
            let start = Instant::now();
            black_box(g.patrol_status()?);
            times.push(start.elapsed().as_secs_f64() * 1e6);
        }
        times.sort_by(f64::total_cmp);
        let report = g.patrol_status()?.map(|s| s.report);
        g.store().checkpoint()?;
        (times[times.len() / 2], times[times.len() * 99 / 100], report)
    };
    let mut opens = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        let g = Guardian::open(Config::new(&path), key.clone(), clock.clone())?;
        let elapsed = start.elapsed();
        // Resumed, with exactly the figures it had.
        if g.patrol_status()?.map(|s| s.report) != report {
            return Err(SimError::Input {
                what: "cold open".into(),
                reason: "the open patrol did not resume with its figures".into(),
            });
        }
        opens.push(elapsed.as_secs_f64() * 1000.0);
    }
    opens.sort_by(f64::total_cmp);
    Ok(HandsetFigures {
        status_us_12h: round3(status_us),
        status_p99_us_12h: round3(status_p99_us),
        cold_open_full_ms: round3(opens[opens.len() / 2]),
        cold_open_full_fixes: fixes,
        cold_open_full_articles: library.articles.len(),
    })
}
