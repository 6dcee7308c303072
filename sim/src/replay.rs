//! `guardian-sim replay`: a real GPX track fed through the core exactly as a
//! handset would feed it, one OS fix at a time, into a fresh encrypted store.
//! The simulated officer checks in when the core confirms arrival in the area
//! and checks out at the last fix.
//!
//! With `--plan`, the track is played a second time as a phone obeying the
//! core's sampling plan would deliver it ([`PlannedPhone`]), and the two are
//! compared: fixes delivered, minutes in the area, arrival and departure.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use guardian_core::patrol::geometry::haversine_m;
use guardian_core::patrol::{Fix, GeofenceKind, Officer, Precision, Rank, SamplingPlan, ThreatWindow, Verdict};
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
    /// Also play the track as a phone obeying the sampling plan.
    pub plan: bool,
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
    /// Of the minutes in the area: inside the polygon…
    pub minutes_inside: f64,
    /// …and credited at the edge while unsure.
    pub minutes_at_edge: f64,
    /// Which of them the verdict counted.
    pub minutes_basis: Option<String>,
    pub inside_transitions: usize,
    pub distance_m: f64,
    pub compliant: bool,
    pub reasons: Vec<String>,
    /// The same track as a phone obeying the sampling plan delivers it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<PlanReplay>,
}

/// The track under the plan, against the same track at full rate.
#[derive(Debug, Serialize)]
pub struct PlanReplay {
    pub fixes_recorded: usize,
    /// What a phone at a fixed 1 Hz would have delivered over the
    /// recording (a pause of more than 5 minutes counts once: the recorder
    /// was off, and a phone would have been too).
    pub fixes_at_1hz: usize,
    pub fixes_delivered: usize,
    pub fraction_of_1hz: f64,
    pub fraction_of_recorded: f64,
    /// Delivered fixes by the reason of the plan they were asked under.
    pub delivered_by_reason: BTreeMap<String, usize>,
    pub arrival: Option<String>,
    pub departure: Option<String>,
    pub minutes_in_area: f64,
    pub minutes_inside: f64,
    pub minutes_at_edge: f64,
    /// Absolute differences against full rate; `None` when either side
    /// has no such time.
    pub minutes_error: f64,
    pub arrival_error_s: Option<f64>,
    pub departure_error_s: Option<f64>,
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
    let full = replay_once(args, &areas_text, &track, args.area_id.clone(), None)?;
    let mut report = full.report;
    if args.plan {
        // The planned phone patrols the area the full track patrolled, so
        // the two are compared on the same area.
        let mut phone = PlannedPhone::default();
        let planned = replay_once(args, &areas_text, &track, report.area_id.clone(), Some(&mut phone))?;
        report.plan = Some(compare(&report, &planned.report, &track.fixes, &phone));
    }
    Ok(report)
}

/// A phone that delivers a recorded fix only when the plan in force would
/// have asked for one: not before the interval has passed since the last
/// fix it delivered, and (as the OS applies a distance filter) not before
/// moving that far. A fix asked for at network precision carries that
/// precision's uncertainty.
#[derive(Debug, Default)]
pub struct PlannedPhone {
    last: Option<Fix>,
    delivered: usize,
    by_reason: BTreeMap<String, usize>,
}

/// What a network-grade fix claims: about 100 m.
const BALANCED_ACCURACY_M: f64 = 100.0;
/// Recorded times jitter: a fix this early still counts as on time.
const EARLY_SLACK_MS: i64 = 500;

impl PlannedPhone {
    /// The fix as the phone would deliver it under `plan`, or `None`.
    pub fn deliver(&mut self, plan: &SamplingPlan, fix: &Fix) -> Option<Fix> {
        if let Some(last) = &self.last {
            let waited = fix.time_ms - last.time_ms;
            if waited < plan.interval_ms - EARLY_SLACK_MS {
                return None;
            }
            if haversine_m(last.lat, last.lon, fix.lat, fix.lon) < plan.distance_filter_m {
                return None;
            }
        }
        let mut out = *fix;
        if plan.precision == Precision::Balanced {
            out.accuracy_m = out.accuracy_m.max(BALANCED_ACCURACY_M);
        }
        self.last = Some(*fix);
        self.delivered += 1;
        *self.by_reason.entry(plan.reason.as_str().to_string()).or_insert(0) += 1;
        Some(out)
    }
}

struct Replayed {
    report: ReplayReport,
}

fn replay_once(
    args: &ReplayArgs,
    areas_text: &str,
    track: &track::Track,
    area_id: Option<String>,
    mut phone: Option<&mut PlannedPhone>,
) -> Result<Replayed, SimError> {
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
    g.import_areas_geojson(areas_text)?;
    let areas = g.areas();
    if let Some(id) = &area_id
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

    let mut target = area_id;
    let mut patrol_id: Option<String> = None;
    let mut checked_in = None;
    let mut last_accepted: Option<Fix> = None;
    let mut counts = Counts::default();
    let mut transitions = 0;
    for recorded in &track.fixes {
        // The handset's clock reads whatever the OS says the time is.
        clock.set(recorded.time_ms);
        let fix = match phone.as_deref_mut() {
            // The shell re-asks the core whenever it could have: on an
            // event, and when an asked-for fix is overdue.
            Some(phone) => match phone.deliver(&g.sampling_plan(), recorded) {
                Some(f) => f,
                None => continue,
            },
            None => *recorded,
        };
        let outcome = match g.ingest_fix(&fix) {
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
                patrol_id = Some(g.check_in(&event.area_id, &fix)?);
                checked_in = Some(fix.time_ms);
            }
        }
        if patrol_id.is_some() && outcome.verdict.is_accepted() {
            last_accepted = Some(fix);
        }
    }

    let area_name = target
        .as_ref()
        .and_then(|id| areas.iter().find(|a| &a.id == id))
        .map(|a| a.name.clone());
    let mut report = ReplayReport {
        track: track.name.clone(),
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
        minutes_inside: 0.0,
        minutes_at_edge: 0.0,
        minutes_basis: None,
        inside_transitions: transitions,
        distance_m: 0.0,
        compliant: false,
        reasons: vec!["never arrived in the area".into()],
        plan: None,
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
        report.minutes_inside = round2(r.minutes_inside);
        report.minutes_at_edge = round2(r.minutes_at_edge);
        report.minutes_basis = Some(r.minutes_basis.as_str().to_string());
        report.distance_m = r.distance_m.round();
        report.compliant = r.compliant;
        report.reasons = r.reasons.iter().map(ToString::to_string).collect();
    }
    Ok(Replayed { report })
}

/// Fixes a phone at a fixed 1 Hz would have delivered over the recording:
/// one per second between recorded fixes, a pause over 5 minutes once.
pub fn fixes_at_1hz(fixes: &[Fix]) -> usize {
    let seconds: i64 = fixes
        .windows(2)
        .map(|w| {
            let dt_s = (w[1].time_ms - w[0].time_ms) / 1_000;
            if (0..=300).contains(&dt_s) { dt_s } else { 1 }
        })
        .sum();
    usize::try_from(seconds).unwrap_or(0) + usize::from(!fixes.is_empty())
}

fn compare(full: &ReplayReport, planned: &ReplayReport, recorded: &[Fix], phone: &PlannedPhone) -> PlanReplay {
    let one_hz = fixes_at_1hz(recorded);
    let ratio = |n: usize, d: usize| if d == 0 { 0.0 } else { round3(n as f64 / d as f64) };
    let seconds_apart = |a: &Option<String>, b: &Option<String>| match (
        a.as_deref().and_then(parse_rfc3339),
        b.as_deref().and_then(parse_rfc3339),
    ) {
        (Some(x), Some(y)) => Some(((x - y).abs() as f64 / 1_000.0).round()),
        _ => None,
    };
    PlanReplay {
        fixes_recorded: recorded.len(),
        fixes_at_1hz: one_hz,
        fixes_delivered: phone.delivered,
        fraction_of_1hz: ratio(phone.delivered, one_hz),
        fraction_of_recorded: ratio(phone.delivered, recorded.len()),
        delivered_by_reason: phone.by_reason.clone(),
        arrival: planned.arrival.clone(),
        departure: planned.departure.clone(),
        minutes_in_area: planned.minutes_in_area,
        minutes_inside: planned.minutes_inside,
        minutes_at_edge: planned.minutes_at_edge,
        minutes_error: round2((planned.minutes_in_area - full.minutes_in_area).abs()),
        arrival_error_s: seconds_apart(&planned.arrival, &full.arrival),
        departure_error_s: seconds_apart(&planned.departure, &full.departure),
    }
}

fn parse_rfc3339(s: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.timestamp_millis())
}

fn round3(x: f64) -> f64 {
    (x * 1_000.0).round() / 1_000.0
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
        "  in area     {:.1} min ({:.1} inside the polygon, {:.1} at the edge; {:.1} in window), {} enter/exit events, walked {:.0} m",
        r.minutes_in_area, r.minutes_inside, r.minutes_at_edge, r.minutes_in_window, r.inside_transitions, r.distance_m
    );
    if r.compliant {
        println!("  verdict     COMPLIANT ({} led)", r.rank);
    } else {
        println!("  verdict     NOT COMPLIANT: {}", r.reasons.join("; "));
    }
    if let Some(p) = &r.plan {
        let secs = |s: Option<f64>| s.map_or_else(|| "—".to_string(), |s| format!("{s:.0} s"));
        println!(
            "  plan        {} of {} recorded fixes delivered ({:.0}%), {:.1}% of a fixed 1 Hz ({} fixes)",
            p.fixes_delivered,
            p.fixes_recorded,
            p.fraction_of_recorded * 100.0,
            p.fraction_of_1hz * 100.0,
            p.fixes_at_1hz
        );
        println!(
            "              {:.1} min in area (off by {:.2}), arrival {} (off by {}), departure {} (off by {})",
            p.minutes_in_area,
            p.minutes_error,
            show(&p.arrival),
            secs(p.arrival_error_s),
            show(&p.departure),
            secs(p.departure_error_s)
        );
        let by: Vec<String> = p.delivered_by_reason.iter().map(|(k, v)| format!("{k} {v}")).collect();
        println!("              asked under: {}", by.join(", "));
    }
}
