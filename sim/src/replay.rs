//! `guardian-sim replay`: a real GPX track fed through the core exactly as a
//! handset would feed it, one OS fix at a time, into a fresh encrypted store.
//! The simulated officer checks in when the core confirms arrival in the area
//! and checks out at the last fix.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use guardian_core::patrol::{Fix, GeofenceKind, Officer, Rank, ThreatWindow, Verdict};
use guardian_core::{Config, FixedClock, Guardian};
use serde::Serialize;

use crate::track::{self, TrackError};
use crate::{SimError, fake_keystore_key, rfc3339};

pub struct ReplayArgs {
    pub areas: PathBuf,
    pub track: PathBuf,
    pub area_id: Option<String>,
    pub rank: Rank,
    /// A daily window "HH:MM-HH:MM" (London time) replacing the area's own.
    pub window: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct ReplayReport {
    pub track: String,
    pub area_id: Option<String>,
    pub area_name: Option<String>,
    pub rank: Rank,
    pub fixes_total: usize,
    pub fixes_accepted: usize,
    pub fixes_rejected: BTreeMap<String, usize>,
    /// Fixes whose numbers were impossible (NaN, out of range): refused, not stored.
    pub fixes_invalid: usize,
    pub points_without_time: usize,
    pub checked_in: Option<String>,
    pub checked_out: Option<String>,
    pub arrival: Option<String>,
    pub departure: Option<String>,
    pub minutes_in_area: f64,
    pub minutes_in_window: f64,
    pub inside_transitions: usize,
    pub distance_m: f64,
    pub compliant: bool,
    pub reasons: Vec<String>,
}

pub fn run(args: &ReplayArgs) -> Result<ReplayReport, SimError> {
    let areas_text = std::fs::read_to_string(&args.areas).map_err(|e| SimError::Input {
        what: args.areas.display().to_string(),
        reason: e.to_string(),
    })?;
    let areas_text = match &args.window {
        Some(w) => with_daily_window(&areas_text, w, args.area_id.as_deref())?,
        None => areas_text,
    };
    let track = track::load(&args.track).map_err(|e| match e {
        TrackError::Io { path, source } => SimError::Input {
            what: path,
            reason: source.to_string(),
        },
        other => SimError::Input {
            what: args.track.display().to_string(),
            reason: other.to_string(),
        },
    })?;

    let dir = tempfile::tempdir().map_err(|e| SimError::Input {
        what: "temporary directory".into(),
        reason: e.to_string(),
    })?;
    let clock = Arc::new(FixedClock::new(track.fixes.first().map_or(0, |f| f.time_ms)));
    let g = Guardian::open(
        Config::new(dir.path().join("handset.db")),
        fake_keystore_key(),
        clock.clone(),
    )?;
    g.import_areas_geojson(&areas_text)?;
    let areas = g.areas();
    if let Some(id) = &args.area_id
        && !areas.iter().any(|a| &a.id == id)
    {
        return Err(SimError::Input {
            what: args.areas.display().to_string(),
            reason: format!("no area with id {id:?}"),
        });
    }
    g.set_officer(&Officer {
        officer_id: "sim-officer".into(),
        display_name: "Simulated officer".into(),
        rank: args.rank,
    })?;

    let mut target = args.area_id.clone();
    let mut patrol_id: Option<String> = None;
    let mut checked_in = None;
    let mut last_accepted: Option<Fix> = None;
    let mut counts = Counts::default();
    let mut transitions = 0;
    for fix in &track.fixes {
        // The handset's clock reads whatever the OS says the time is.
        clock.set(fix.time_ms);
        let outcome = match g.ingest_fix(fix) {
            Ok(o) => o,
            Err(guardian_core::Error::Fix(_)) => {
                counts.invalid += 1;
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        counts.add(outcome.verdict);
        for event in &outcome.events {
            if target.is_none() && event.kind == GeofenceKind::Arrived {
                target = Some(event.area_id.clone());
            }
            if target.as_deref() != Some(event.area_id.as_str()) {
                continue;
            }
            transitions += 1;
            if event.kind == GeofenceKind::Arrived && patrol_id.is_none() {
                patrol_id = Some(g.check_in(&event.area_id, fix)?);
                checked_in = Some(fix.time_ms);
            }
        }
        if patrol_id.is_some() && outcome.verdict.is_accepted() {
            last_accepted = Some(*fix);
        }
    }

    let area_name = target
        .as_ref()
        .and_then(|id| areas.iter().find(|a| &a.id == id))
        .map(|a| a.name.clone());
    let mut report = ReplayReport {
        track: track.name,
        area_id: target,
        area_name,
        rank: args.rank,
        fixes_total: track.fixes.len(),
        fixes_accepted: counts.accepted,
        fixes_rejected: counts.rejected,
        fixes_invalid: counts.invalid,
        points_without_time: track.points_without_time,
        checked_in: checked_in.map(rfc3339),
        checked_out: None,
        arrival: None,
        departure: None,
        minutes_in_area: 0.0,
        minutes_in_window: 0.0,
        inside_transitions: transitions,
        distance_m: 0.0,
        compliant: false,
        reasons: vec!["never arrived in the area".into()],
    };
    if patrol_id.is_some()
        && let Some(last) = last_accepted
    {
        let r = g.check_out(&last)?;
        report.checked_out = Some(rfc3339(last.time_ms));
        report.arrival = r.arrival_ms.map(rfc3339);
        report.departure = r.departure_ms.map(rfc3339);
        report.minutes_in_area = round2(r.minutes_in_area);
        report.minutes_in_window = round2(r.minutes_in_window);
        report.distance_m = r.distance_m.round();
        report.compliant = r.compliant;
        report.reasons = r.reasons.iter().map(ToString::to_string).collect();
    }
    Ok(report)
}

#[derive(Default)]
struct Counts {
    accepted: usize,
    rejected: BTreeMap<String, usize>,
    invalid: usize,
}

impl Counts {
    fn add(&mut self, v: Verdict) {
        match v {
            Verdict::Accepted => self.accepted += 1,
            Verdict::Rejected(r) => *self.rejected.entry(r.as_str().to_string()).or_insert(0) += 1,
        }
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Replaces the windows of the chosen area (or of every area) with one daily
/// window, validated by the core's own parser.
fn with_daily_window(text: &str, window: &str, area_id: Option<&str>) -> Result<String, SimError> {
    let bad = |reason: String| SimError::Input {
        what: format!("--window {window}"),
        reason,
    };
    let (start, end) = window
        .split_once('-')
        .ok_or_else(|| bad("expected HH:MM-HH:MM".into()))?;
    let spec = ThreatWindow::daily(start.trim(), end.trim())
        .map_err(|e| bad(e.to_string()))?
        .to_spec();
    let mut fc: serde_json::Value = serde_json::from_str(text).map_err(|e| SimError::Input {
        what: "areas file".into(),
        reason: e.to_string(),
    })?;
    if let Some(features) = fc.get_mut("features").and_then(|f| f.as_array_mut()) {
        for f in features {
            let matches = area_id.is_none_or(|id| f.pointer("/properties/id").and_then(|v| v.as_str()) == Some(id));
            if let Some(props) = f.get_mut("properties").and_then(|p| p.as_object_mut())
                && matches
            {
                props.insert("windows".into(), serde_json::json!([spec]));
            }
        }
    }
    Ok(fc.to_string())
}

pub fn print_human(r: &ReplayReport) {
    let area = match (&r.area_id, &r.area_name) {
        (Some(id), Some(name)) => format!("{name} ({id})"),
        _ => "no area (the track never arrived in one)".into(),
    };
    println!("Guardian replay: {} — {}", r.track, area);
    let rejected: Vec<String> = r.fixes_rejected.iter().map(|(k, v)| format!("{k} {v}")).collect();
    println!(
        "  fixes       {} total, {} accepted, {} rejected{}{}",
        r.fixes_total,
        r.fixes_accepted,
        r.fixes_rejected.values().sum::<usize>(),
        if rejected.is_empty() {
            String::new()
        } else {
            format!(" ({})", rejected.join(", "))
        },
        if r.fixes_invalid > 0 {
            format!(", {} invalid", r.fixes_invalid)
        } else {
            String::new()
        },
    );
    if r.points_without_time > 0 {
        println!(
            "  skipped     {} points with no time (no phone reports those)",
            r.points_without_time
        );
    }
    let show = |t: &Option<String>| t.clone().unwrap_or_else(|| "—".into());
    println!(
        "  checked in  {}   checked out {}",
        show(&r.checked_in),
        show(&r.checked_out)
    );
    println!("  arrival     {}   departure {}", show(&r.arrival), show(&r.departure));
    println!(
        "  in area     {:.1} min ({:.1} in window), {} enter/exit events, walked {:.0} m",
        r.minutes_in_area, r.minutes_in_window, r.inside_transitions, r.distance_m
    );
    if r.compliant {
        println!("  verdict     COMPLIANT ({} led)", r.rank);
    } else {
        println!("  verdict     NOT COMPLIANT: {}", r.reasons.join("; "));
    }
}
