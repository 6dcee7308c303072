//! `guardian-sim review-seed`: a force backend holding a day of patrols a
//! supervisor would want to look at, made the real way — handsets (the
//! core, each with its own encrypted store) walk the demo's recorded walk,
//! check in on arrival, check out, and sync to the backend served on
//! loopback. The review page's browser tests open what this leaves behind.
//!
//! The walk is the MTK logger's real recording in Gothenburg, in its own
//! track area `trk-mtk` (the demo moves it onto a Birmingham hotspot, where
//! only 9 of its minutes fall inside the smaller area). Four officers on
//! the walk's day, the area's threat window set to 12:00–19:00 for this
//! scenario:
//!
//! - a constable walks it all: compliant;
//! - a PCSO walks it all: not led by a warranted officer;
//! - a constable checks out 15 minutes after arriving: too short;
//! - a constable walks it nine hours earlier: outside the window.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use guardian_backend::{Backend, Role};
use guardian_core::patrol::{Fix, GeofenceKind, Rank};
use guardian_core::sync::SyncConfig;
use guardian_core::{Config, FixedClock, Guardian};
use serde::Serialize;

use crate::force::{StaticTokens, input};
use crate::{SimError, fake_keystore_key, track};

pub const AREA: &str = "trk-mtk";

/// The fixture recording the scenario walks (`GUARDIAN_FIXTURES`, else the
/// shared fixtures beside the checkout).
pub fn default_track() -> PathBuf {
    std::env::var_os("GUARDIAN_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures"))
        .join("tracks/mtk_logger.gpx")
}

/// One officer's patrol in the scenario.
struct Walker {
    officer: &'static str,
    name: &'static str,
    rank: Rank,
    /// Check out this many minutes after checking in (else at the end).
    stay_minutes: Option<i64>,
    /// Moves every fix's wall-clock time (the monotonic clock is untouched).
    shift_ms: i64,
    expect: &'static str,
}

const WALKERS: [Walker; 4] = [
    Walker {
        officer: "pc-compliant",
        name: "PC Ada Compliant",
        rank: Rank::Constable,
        stay_minutes: None,
        shift_ms: 0,
        expect: "compliant",
    },
    Walker {
        officer: "pcso-led",
        name: "PCSO Ben Led",
        rank: Rank::Pcso,
        stay_minutes: None,
        shift_ms: 0,
        expect: "not_warranted",
    },
    Walker {
        officer: "pc-short",
        name: "PC Cal Short",
        rank: Rank::Constable,
        stay_minutes: Some(15),
        shift_ms: 0,
        expect: "too_short",
    },
    Walker {
        officer: "pc-early",
        name: "PC Dee Early",
        rank: Rank::Constable,
        stay_minutes: None,
        shift_ms: -9 * 3_600_000,
        expect: "outside_window",
    },
];

#[derive(Debug, Serialize)]
pub struct SeededPatrol {
    pub patrol_id: String,
    pub officer_id: String,
    pub rank: String,
    /// What the scenario meant it to be.
    pub expect: String,
    pub compliant: bool,
    pub reasons: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct Seeded {
    pub db: PathBuf,
    pub day: String,
    /// The draw's seed (the first from 2023 that assigns the area).
    pub draw_seed: u64,
    pub area_id: String,
    pub patrols: Vec<SeededPatrol>,
}

/// The demo areas, with the scenario area's windows set to 12:00–19:00.
fn scenario_areas(path: &Path) -> Result<String, SimError> {
    let text = std::fs::read_to_string(path).map_err(|e| input(&path.display().to_string(), e))?;
    let mut v: serde_json::Value = serde_json::from_str(&text).map_err(|e| input("areas", e))?;
    let features = v
        .get_mut("features")
        .and_then(|f| f.as_array_mut())
        .ok_or_else(|| input("areas", "no features"))?;
    let area = features
        .iter_mut()
        .find(|f| f["properties"]["id"] == AREA)
        .ok_or_else(|| input("areas", format!("no area {AREA}")))?;
    area["properties"]["windows"] = serde_json::json!([
        {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "start": "12:00", "end": "19:00"}
    ]);
    Ok(v.to_string())
}

/// A backend at `db` with the scenario's areas and officers.
fn force(db: &Path, areas_text: &str) -> Result<Backend, SimError> {
    let backend = Backend::open(db).map_err(|e| input("backend", e))?;
    backend
        .load_areas_geojson(areas_text)
        .map_err(|e| input("backend areas", e))?;
    for w in &WALKERS {
        backend
            .create_officer(w.officer, w.name, w.rank)
            .map_err(|e| input("backend officer", e))?;
    }
    Ok(backend)
}

/// Builds the scenario into a new backend database at `db`.
pub fn run(db: &Path, areas: &Path, track_path: &Path) -> Result<Seeded, SimError> {
    if db.exists() {
        return Err(input(&db.display().to_string(), "already exists; give a new file"));
    }
    let track = track::load(track_path).map_err(|e| input(&track_path.display().to_string(), e))?;
    let first_ms = track.fixes.first().map_or(0, |f| f.time_ms);
    let day = chrono::DateTime::from_timestamp_millis(first_ms)
        .map(|t| t.date_naive())
        .ok_or_else(|| input("track", "no usable first time"))?;

    let areas_text = scenario_areas(areas)?;
    let dir = tempfile::tempdir().map_err(|e| input("temporary directory", e))?;
    // The draw is random by its seed: take the first seed from 2023 that
    // assigns the scenario's area, so the page shows an assigned area
    // patrolled (the control group still holds the others).
    let mut chosen = None;
    for seed in 2023..2123 {
        let trial = force(&dir.path().join(format!("draw-{seed}.db")), &areas_text)?;
        let drawn = trial.schedule(day, 0.5, seed).map_err(|e| input("schedule", e))?;
        if drawn.iter().any(|a| a.area_id == AREA) {
            chosen = Some(seed);
            break;
        }
    }
    let seed = chosen.ok_or_else(|| input("schedule", format!("no seed from 2023 draws {AREA}")))?;
    let backend = force(db, &areas_text)?;
    let mut tokens = Vec::new();
    for w in &WALKERS {
        tokens.push(
            backend
                .issue_token(w.officer, Role::Officer, 3600)
                .map_err(|e| input("token", e))?,
        );
    }
    backend.schedule(day, 0.5, seed).map_err(|e| input("schedule", e))?;
    let server =
        guardian_backend::spawn(backend, SocketAddr::from(([127, 0, 0, 1], 0))).map_err(|e| input("serve", e))?;
    let url = format!("http://{}", server.addr);

    let mut patrols = Vec::new();
    for (w, token) in WALKERS.iter().zip(tokens) {
        patrols.push(walk(&url, dir.path(), w, token, &track.fixes)?);
    }
    server.shutdown().map_err(|e| input("backend shutdown", e))?;
    Ok(Seeded {
        db: db.to_path_buf(),
        day: day.to_string(),
        draw_seed: seed,
        area_id: AREA.to_string(),
        patrols,
    })
}

/// One handset: sign in with signal, walk, check in on arriving in the
/// scenario area, check out, sync everything.
fn walk(url: &str, dir: &Path, w: &Walker, token: String, fixes: &[Fix]) -> Result<SeededPatrol, SimError> {
    let first = fixes.first().map_or(0, |f| f.time_ms + w.shift_ms);
    let clock = Arc::new(FixedClock::new(first));
    let g = Guardian::open(
        Config::new(dir.join(format!("{}.db", w.officer))),
        fake_keystore_key(),
        clock.clone(),
    )?;
    g.start_sync(&SyncConfig::new(url.to_string()), Arc::new(StaticTokens(token)))?;
    g.sync_now()?;
    let mut checked_in: Option<i64> = None;
    let mut patrol_id: Option<String> = None;
    let mut last_accepted: Option<Fix> = None;
    for f in fixes {
        let mut fix = *f;
        fix.time_ms += w.shift_ms;
        clock.set(fix.time_ms);
        let outcome = match g.ingest_fix(&fix) {
            Ok(o) => o,
            Err(guardian_core::Error::Fix(_)) => continue,
            Err(e) => return Err(e.into()),
        };
        if checked_in.is_none()
            && outcome
                .events
                .iter()
                .any(|e| e.kind == GeofenceKind::Arrived && e.area_id == AREA)
        {
            patrol_id = Some(g.check_in(AREA, &fix)?);
            checked_in = Some(fix.time_ms);
        }
        if checked_in.is_some() && outcome.verdict.is_accepted() {
            last_accepted = Some(fix);
        }
        if let (Some(t0), Some(stay)) = (checked_in, w.stay_minutes)
            && fix.time_ms - t0 >= stay * 60_000
            && last_accepted.is_some()
        {
            break;
        }
    }
    let last = last_accepted.ok_or_else(|| input(w.officer, "the walk never arrived in the area"))?;
    let report = g.check_out(&last)?;
    let patrol_id = patrol_id.ok_or_else(|| input(w.officer, "no patrol recorded"))?;
    for _ in 0..10 {
        g.sync_now()?;
        if g.sync_status()?.pending == 0 {
            break;
        }
    }
    if g.sync_status()?.pending != 0 {
        return Err(input(w.officer, "the handset could not sync everything"));
    }
    Ok(SeededPatrol {
        patrol_id,
        officer_id: w.officer.to_string(),
        rank: w.rank.as_str().to_string(),
        expect: w.expect.to_string(),
        compliant: report.compliant,
        reasons: report.reasons.iter().map(ToString::to_string).collect(),
    })
}
