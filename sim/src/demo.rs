//! `guardian-sim demo`: the whole job end to end on one machine. The
//! reference backend runs in-process on a loopback port with a temporary
//! database; a simulated handset signs in with signal, checks in, walks a
//! real recorded track, loses signal part-way, checks out offline, regains
//! signal and syncs. Then both sides report.
//!
//! The walk is a real recording (the MTK logger's, Gothenburg 2008) moved
//! by one rotation and translation onto a Birmingham hotspot
//! (`sim/data/README.md`, Part 3), so its referral routes by the real ward
//! boundaries.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use guardian_backend::{Backend, Role};
use guardian_core::patrol::GeofenceKind;
use guardian_core::referral::{Authority, Consent, Reason, Receipt, ReferralForm, RoutePreview, Subject, Urgency};
use guardian_core::sync::{PassReport, SyncConfig};
use guardian_core::{Config, FixedClock, Guardian};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use crate::force::{StaticTokens, input};
use crate::{SimError, fake_keystore_key, rfc3339, track};

const OFFICER_ID: &str = "wm-20417";
/// The handset loses signal after this share of the patrol's fixes.
const SIGNAL_LOST_AT: f64 = 0.3;

pub struct DemoArgs {
    pub areas: PathBuf,
    pub track: PathBuf,
    pub quiet: bool,
    /// Keep the backend up afterwards (for the review page).
    pub serve: bool,
}

/// The demo's backend, kept up after the demo for the review page: it
/// stops (and its temporary files go) when this is dropped.
pub struct Serving {
    pub server: guardian_backend::ServerHandle,
    /// A supervisor's token to sign in to the review page with.
    pub supervisor_token: String,
    pub day: String,
    _dir: tempfile::TempDir,
}

impl Serving {
    pub fn review_url(&self) -> String {
        format!("http://{}/review?date={}", self.server.addr, self.day)
    }
}

pub fn default_paths() -> (PathBuf, PathBuf) {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    (
        repo.join("sim/data/demo-areas.geojson"),
        repo.join("sim/data/demo-track-birmingham.gpx"),
    )
}

#[derive(Debug, Serialize)]
pub struct DemoReport {
    pub track: String,
    pub area_id: Option<String>,
    pub assignments_scheduled: usize,
    pub fixes_total: usize,
    pub fixes_rejected: usize,
    pub records_queued: usize,
    pub records_sent: usize,
    pub records_acked: usize,
    pub records_rejected: usize,
    pub records_pending: usize,
    pub server_duplicates: i64,
    pub server_replays: i64,
    pub server_fixes: i64,
    pub wire_bytes_per_fix: f64,
    pub naive_json_bytes_per_fix: f64,
    pub patrol_compliant: bool,
    pub patrol_minutes_in_area: f64,
    pub patrol_minutes_inside: f64,
    pub patrol_minutes_at_edge: f64,
    pub patrol_reasons: Vec<String>,
    pub arrival: Option<String>,
    pub departure: Option<String>,
    pub compliance_percent: f64,
    pub constable_led_percent: f64,
    pub average_minutes: f64,
    pub server_patrols: usize,
    pub referral_reference: Option<String>,
    pub referral_authority: Option<String>,
    /// True when routed from the location; false when the officer chose.
    pub referral_routed: bool,
    pub referral_route_note: Option<String>,
    pub referral_status: Option<String>,
    pub server_referrals: i64,
}

/// The officer meets a young person carrying a knife and refers them, with
/// no signal. The form routes from where they stand; outside the seven
/// authorities the officer picks the team, and the form says why.
fn file_referral(g: &Guardian, fix: &guardian_core::patrol::Fix) -> Result<(Receipt, RoutePreview), SimError> {
    let preview = g.route_referral(fix.lat, fix.lon);
    let form = ReferralForm {
        subject: Subject {
            name: "Demo Young Person".into(),
            date_of_birth: None,
            estimated_age: Some(15),
            address: None,
            school: Some("Demo Academy".into()),
            carer_contact: None,
        },
        reasons: vec![Reason::KnifeCarrying, Reason::GangAssociation],
        narrative:
            "Stopped on patrol carrying a folding knife; says he carries it because of a group from another estate."
                .into(),
        consent: Some(Consent::Given),
        safeguarding_concern: false,
        urgency: Some(Urgency::Priority),
        location: Some(*fix),
        authority_choice: preview.authority.is_none().then_some(Authority::Birmingham),
    };
    let draft = g.save_referral_draft(None, &form)?;
    let receipt = g.submit_referral(&draft)?;
    Ok((receipt, preview))
}

pub fn run(args: &DemoArgs) -> Result<(DemoReport, Option<Serving>), SimError> {
    let areas_text = std::fs::read_to_string(&args.areas).map_err(|e| input(&args.areas.display().to_string(), e))?;
    let track = track::load(&args.track).map_err(|e| input(&args.track.display().to_string(), e))?;
    let first_ms = track.fixes.first().map_or(0, |f| f.time_ms);
    let dir = tempfile::tempdir().map_err(|e| input("temporary directory", e))?;

    // The force: areas, an officer, the day's randomised schedule, served.
    let backend_db = dir.path().join("force.db");
    let backend = crate::force::backend(&backend_db, &areas_text, OFFICER_ID, "PC Sam Okafor")?;
    let day = chrono::DateTime::from_timestamp_millis(first_ms)
        .map(|t| t.date_naive())
        .ok_or_else(|| input("track", "no usable first time"))?;
    let scheduled = backend.schedule(day, 0.5, 2023).map_err(|e| input("schedule", e))?;
    let token = backend
        .issue_token(OFFICER_ID, Role::Officer, 12 * 3600)
        .map_err(|e| input("token", e))?;
    let server =
        guardian_backend::spawn(backend, SocketAddr::from(([127, 0, 0, 1], 0))).map_err(|e| input("serve", e))?;
    let admin = Backend::open(&backend_db).map_err(|e| input("backend", e))?;

    // The handset: an encrypted store, signed in at the station with signal.
    let clock = Arc::new(FixedClock::new(first_ms));
    let g = Guardian::open(
        Config::new(dir.path().join("handset.db")),
        fake_keystore_key(),
        clock.clone(),
    )?;
    g.start_sync(
        &SyncConfig::new(format!("http://{}", server.addr)),
        Arc::new(StaticTokens(token)),
    )?;
    let mut passes = vec![g.sync_now()?];

    let bar = if args.quiet {
        ProgressBar::with_draw_target(Some(track.fixes.len() as u64), ProgressDrawTarget::hidden())
    } else {
        ProgressBar::with_draw_target(Some(track.fixes.len() as u64), ProgressDrawTarget::stderr())
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg:<34} [{bar:30}] {pos}/{len} fixes")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message("walking to the area");

    let mut area_id: Option<String> = None;
    let mut patrol: Option<String> = None;
    let mut rejected = 0;
    let mut last_accepted = None;
    let mut patrol_fixes = 0usize;
    let mut signal = true;
    let mut referral: Option<(Receipt, RoutePreview)> = None;
    let lose_after = ((track.fixes.len() as f64) * SIGNAL_LOST_AT) as usize;
    for (i, fix) in track.fixes.iter().enumerate() {
        clock.set(fix.time_ms);
        bar.inc(1);
        let outcome = match g.ingest_fix(fix) {
            Ok(o) => o,
            Err(guardian_core::Error::Fix(_)) => {
                rejected += 1;
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        if !outcome.verdict.is_accepted() {
            rejected += 1;
        }
        for event in &outcome.events {
            if patrol.is_none() && event.kind == GeofenceKind::Arrived {
                patrol = Some(g.check_in(&event.area_id, fix)?);
                area_id = Some(event.area_id.clone());
                bar.set_message(format!("on patrol in {}", event.area_id));
                // Signal at check-in: the force sees the patrol start.
                passes.push(g.sync_now()?);
            }
        }
        if patrol.is_some() {
            patrol_fixes += 1;
            if outcome.verdict.is_accepted() {
                last_accepted = Some(*fix);
            }
        }
        if signal && i >= lose_after && patrol.is_some() {
            signal = false;
            bar.set_message("no signal: queueing on the handset");
        }
        if !signal && referral.is_none() && outcome.verdict.is_accepted() {
            referral = Some(file_referral(&g, fix)?);
        }
        if signal && patrol.is_some() && patrol_fixes.is_multiple_of(300) {
            passes.push(g.sync_now()?);
        }
    }
    bar.finish_and_clear();

    let report = match (patrol.as_ref(), last_accepted) {
        (Some(_), Some(last)) => Some(g.check_out(&last)?),
        _ => None,
    };
    let queued_offline = g.sync_status()?.pending;
    // Signal returns.
    for _ in 0..5 {
        match g.sync_now() {
            Ok(p) => {
                let done = g.sync_status()?.pending == 0;
                passes.push(p);
                if done {
                    break;
                }
            }
            Err(_) => std::thread::sleep(Duration::from_millis(200)),
        }
    }
    let status = g.sync_status()?;
    let receipt_after = match &referral {
        Some((r, _)) => g.referral_receipts()?.into_iter().find(|x| x.id == r.id),
        None => None,
    };
    let stats = admin.stats().map_err(|e| input("backend stats", e))?;
    let summary = admin.compliance_summary().map_err(|e| input("backend summary", e))?;
    let serving = if args.serve {
        Some(Serving {
            supervisor_token: admin
                .issue_token("demo-supervisor", Role::Supervisor, 12 * 3600)
                .map_err(|e| input("token", e))?,
            server,
            day: day.to_string(),
            _dir: dir,
        })
    } else {
        server.shutdown().map_err(|e| input("backend shutdown", e))?;
        None
    };

    let sum = |f: fn(&PassReport) -> usize| passes.iter().map(f).sum::<usize>();
    let (track_bytes, fixes_sent) = (sum(|p| p.track_bytes_sent), sum(|p| p.fixes_sent));
    let naive = crate::bench::naive_json_bytes_per_fix(&track.fixes);
    let report = DemoReport {
        track: track.name,
        area_id,
        assignments_scheduled: scheduled.len(),
        fixes_total: track.fixes.len(),
        fixes_rejected: rejected,
        records_queued: queued_offline,
        records_sent: sum(|p| p.sent),
        records_acked: sum(|p| p.acked),
        records_rejected: status.rejected,
        records_pending: status.pending,
        server_duplicates: stats.duplicate_fixes,
        server_replays: stats.replays,
        server_fixes: stats.fixes,
        wire_bytes_per_fix: if fixes_sent == 0 {
            0.0
        } else {
            round2(track_bytes as f64 / fixes_sent as f64)
        },
        naive_json_bytes_per_fix: round2(naive),
        patrol_compliant: report.as_ref().is_some_and(|r| r.compliant),
        patrol_minutes_in_area: report.as_ref().map_or(0.0, |r| round2(r.minutes_in_area)),
        patrol_minutes_inside: report.as_ref().map_or(0.0, |r| round2(r.minutes_inside)),
        patrol_minutes_at_edge: report.as_ref().map_or(0.0, |r| round2(r.minutes_at_edge)),
        patrol_reasons: report
            .as_ref()
            .map(|r| r.reasons.iter().map(ToString::to_string).collect())
            .unwrap_or_else(|| vec!["never arrived in an area".into()]),
        arrival: report.as_ref().and_then(|r| r.arrival_ms).map(rfc3339),
        departure: report.as_ref().and_then(|r| r.departure_ms).map(rfc3339),
        compliance_percent: round2(summary.compliance_percent),
        constable_led_percent: round2(summary.constable_led_percent),
        average_minutes: round2(summary.average_minutes),
        server_patrols: summary.patrols,
        referral_reference: referral.as_ref().map(|(r, _)| r.reference.clone()),
        referral_authority: referral.as_ref().map(|(r, _)| r.authority.name().to_string()),
        referral_routed: referral.as_ref().is_some_and(|(_, p)| p.authority.is_some()),
        referral_route_note: referral.as_ref().and_then(|(_, p)| p.needs_choice.clone()),
        referral_status: receipt_after.map(|r| r.status.as_str().to_string()),
        server_referrals: stats.referrals,
    };
    Ok((report, serving))
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

pub fn print_human(r: &DemoReport) {
    println!("Guardian demo: one patrol, made partly without signal, reaching the force");
    println!(
        "  schedule    {} areas assigned for the day (randomised, fraction 0.5)",
        r.assignments_scheduled
    );
    println!(
        "  track       {} — {} fixes, {} not believed",
        r.track, r.fixes_total, r.fixes_rejected
    );
    println!(
        "  patrol      {} — arrival {}, departure {}, {:.1} min in the area ({:.1} inside the polygon, {:.1} at its edge)",
        r.area_id.as_deref().unwrap_or("no area"),
        r.arrival.as_deref().unwrap_or("—"),
        r.departure.as_deref().unwrap_or("—"),
        r.patrol_minutes_in_area,
        r.patrol_minutes_inside,
        r.patrol_minutes_at_edge
    );
    if r.patrol_compliant {
        println!("  verdict     COMPLIANT");
    } else {
        println!("  verdict     NOT COMPLIANT: {}", r.patrol_reasons.join("; "));
    }
    println!(
        "  offline     {} records queued on the handset while out of signal",
        r.records_queued
    );
    println!(
        "  sync        {} sent, {} acked, {} rejected, {} still pending",
        r.records_sent, r.records_acked, r.records_rejected, r.records_pending
    );
    println!(
        "  server      {} fixes stored, {} duplicates, {} retries answered as duplicates",
        r.server_fixes, r.server_duplicates, r.server_replays
    );
    println!(
        "  wire        {:.2} bytes per fix (one JSON object per fix: {:.0})",
        r.wire_bytes_per_fix, r.naive_json_bytes_per_fix
    );
    println!(
        "  force       {} patrols: {:.0}% compliant, {:.0}% Constable-led, {:.1} min average",
        r.server_patrols, r.compliance_percent, r.constable_led_percent, r.average_minutes
    );
    if let (Some(reference), Some(authority)) = (&r.referral_reference, &r.referral_authority) {
        println!(
            "  referral    {reference} filed offline, {} to the {authority} VRP Navigators; now {}",
            if r.referral_routed {
                "routed"
            } else {
                "sent by the officer's choice"
            },
            r.referral_status.as_deref().unwrap_or("unknown")
        );
        if let Some(note) = &r.referral_route_note {
            println!("              (the form said: {note})");
        }
    }
}
