use std::path::PathBuf;
use std::sync::Arc;

use super::*;
use crate::clock::FixedClock;
use crate::patrol::{Assignment, Fix, FixError, NonCompliance, Officer, PatrolError, Rank, RejectReason, Verdict};
use crate::store::DbKey;
use crate::store::StoreError;

const T0: i64 = 1_689_368_400_000; // Fri 14 July 2023 21:00 UTC, 22:00 BST

/// A ~200 m square by New Street with the Ramp's window, and one far away.
fn areas_json() -> String {
    let sq = |id: &str, lat: f64, lon: f64| {
        serde_json::json!({"type": "Feature",
            "properties": {"id": id, "name": format!("Area {id}"), "lpa": "Birmingham",
                           "windows": [{"days": ["mon","tue","wed","thu","fri","sat","sun"], "start": "22:00", "end": "00:00"}]},
            "geometry": {"type": "Polygon", "coordinates": [[[lon, lat], [lon + 0.00295, lat], [lon + 0.00295, lat + 0.0018], [lon, lat + 0.0018], [lon, lat]]]}})
    };
    serde_json::json!({"type": "FeatureCollection", "features": [sq("ramp", 52.4776, -1.9000), sq("far", 52.50, -1.85)]})
        .to_string()
}

const INSIDE: (f64, f64) = (52.4785, -1.89852);
const OUTSIDE: (f64, f64) = (52.4766, -1.89852); // ~110 m south

struct Handset {
    _dir: tempfile::TempDir,
    path: PathBuf,
    clock: Arc<FixedClock>,
    g: Guardian,
}

fn key() -> DbKey {
    DbKey::from_bytes([42; 32]).expect("key")
}

fn handset(rank: Rank) -> Handset {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("guardian.db");
    let clock = Arc::new(FixedClock::new(T0));
    let g = Guardian::open(Config::new(&path), key(), clock.clone()).expect("open");
    g.import_areas_geojson(&areas_json()).expect("areas");
    g.set_officer(&Officer {
        officer_id: "wm-4471".into(),
        display_name: "PC Test".into(),
        rank,
    })
    .expect("officer");
    Handset {
        _dir: dir,
        path,
        clock,
        g,
    }
}

impl Handset {
    fn reopen(self) -> Handset {
        let Handset { _dir, path, clock, g } = self;
        drop(g);
        let g = Guardian::open(Config::new(&path), key(), clock.clone()).expect("reopen");
        Handset { _dir, path, clock, g }
    }

    fn fixes(&self) -> i64 {
        self.g
            .store()
            .read(|tx| Ok::<_, StoreError>(tx.query_row("SELECT count(*) FROM fixes", [], |r| r.get(0))?))
            .expect("count")
    }
}

/// Fix number `i` (one per 5 s) at a place, with a small wiggle.
fn fix(i: i64, (lat, lon): (f64, f64)) -> Fix {
    let w = ((i * 37) % 11) as f64 * 0.00001;
    Fix::new(
        T0 + i * 5_000,
        9_000_000_000_000 + i * 5_000_000_000,
        lat + w,
        lon - w,
        6.0,
    )
}

/// Walks from `a` (at fix `from`) to `b` (at fix `to`) in a straight line.
fn walk(from: i64, to: i64, a: (f64, f64), b: (f64, f64)) -> Vec<Fix> {
    (from..to)
        .map(|i| {
            let t = (i - from) as f64 / (to - from) as f64;
            fix(i, (a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t))
        })
        .collect()
}

const SOUTH_EDGE: f64 = 52.4776;

#[test]
fn a_full_patrol_is_checked_in_tracked_checked_out_and_judged() {
    let h = handset(Rank::Constable);
    let approach =
        h.g.ingest_batch(&(0..10).map(|i| fix(i, OUTSIDE)).collect::<Vec<_>>())
            .expect("wait");
    assert!(approach.events.is_empty());
    // Walk in at ~1.4 m/s (210 m over 30 fixes 5 s apart).
    let walk_in = walk(10, 40, OUTSIDE, INSIDE);
    let first_inside = walk_in.iter().find(|f| f.lat > SOUTH_EDGE).expect("crosses").time_ms;
    let out = h.g.ingest_batch(&walk_in).expect("enter");
    assert_eq!(out.accepted, 30);
    assert_eq!(out.events.len(), 1, "{:?}", out.events);
    assert_eq!(out.events[0].kind, crate::patrol::GeofenceKind::Arrived);
    assert_eq!(
        out.events[0].time_ms, first_inside,
        "arrival dated to the first fix inside"
    );

    let id = h.g.check_in("ramp", &fix(40, INSIDE)).expect("check in");
    // 40 minutes of patrol at one fix per 5 s.
    let patrol: Vec<Fix> = (41..520).map(|i| fix(i, INSIDE)).collect();
    assert_eq!(h.g.ingest_batch(&patrol).expect("patrol").accepted, patrol.len());
    let status = h.g.patrol_status().expect("status").expect("open");
    assert_eq!(status.patrol_id, id);
    assert!(status.in_area_now);
    assert!(status.minutes_in_area > 39.0, "{}", status.minutes_in_area);
    assert_eq!(status.minutes_still_needed, 0.0);

    let walk_out = walk(520, 550, INSIDE, OUTSIDE);
    // Departure is dated to the first fix clearly outside (beyond the 15 m margin).
    let departed = *walk_out
        .iter()
        .find(|f| f.lat < SOUTH_EDGE - 15.5 / 111_195.0)
        .expect("leaves");
    let left = h.g.ingest_batch(&walk_out).expect("leave");
    assert_eq!(left.events.len(), 1);
    assert_eq!(left.events[0].time_ms, departed.time_ms);
    let report = h.g.check_out(&fix(550, OUTSIDE)).expect("check out");
    assert!(report.compliant, "{:?}", report.reasons);
    assert_eq!(report.arrival_ms, Some(fix(40, INSIDE).time_ms));
    assert_eq!(report.departure_ms, Some(departed.time_ms));
    let expected = (departed.time_ms - 5_000 - fix(40, INSIDE).time_ms) as f64 / 60_000.0;
    assert!(
        (report.minutes_in_area - expected).abs() < 1e-6,
        "{} vs {expected}",
        report.minutes_in_area
    );
    assert!(h.g.patrol_status().expect("status").is_none());
    // The check-in fix was adopted into the track, not stored twice.
    assert_eq!(h.fixes(), 551);
    assert_eq!(report.fixes_total, 551 - 40);
    assert!(report.distance_m > 200.0, "{}", report.distance_m);
    let summary = h.g.compliance_summary().expect("summary");
    assert_eq!(
        (
            summary.patrols,
            summary.compliance_percent,
            summary.constable_led_percent
        ),
        (1, 100.0, 100.0)
    );
}

#[test]
fn illegal_transitions_are_typed_errors_that_change_nothing() {
    let h = handset(Rank::Constable);
    let err = h.g.check_out(&fix(0, INSIDE)).expect_err("no patrol");
    assert!(
        matches!(err, crate::Error::Patrol(PatrolError::NoActivePatrol)),
        "{err:?}"
    );
    let err = h.g.check_in("nowhere", &fix(0, INSIDE)).expect_err("unknown area");
    assert!(
        matches!(err, crate::Error::Patrol(PatrolError::UnknownArea { .. })),
        "{err:?}"
    );
    let err = h.g.check_in("ramp", &fix(0, OUTSIDE)).expect_err("too far");
    match err {
        crate::Error::Patrol(PatrolError::TooFarFromArea {
            distance_m, allowed_m, ..
        }) => {
            assert!((distance_m - 100.0).abs() < 15.0, "{distance_m}");
            assert_eq!(allowed_m, 31.0);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(h.fixes(), 0, "refused check-ins store nothing");

    let id = h.g.check_in("ramp", &fix(1, INSIDE)).expect("check in");
    let err = h.g.check_in("ramp", &fix(2, INSIDE)).expect_err("twice");
    assert!(
        matches!(err, crate::Error::Patrol(PatrolError::AlreadyOnPatrol { ref patrol_id, .. }) if *patrol_id == id)
    );
    let earlier = Fix {
        time_ms: fix(0, INSIDE).time_ms - 60_000,
        ..fix(3, INSIDE)
    };
    let err = h.g.check_out(&earlier).expect_err("before check-in");
    assert!(
        matches!(err, crate::Error::Patrol(PatrolError::CheckOutBeforeCheckIn)),
        "{err:?}"
    );
    assert_eq!(h.fixes(), 1);
    assert!(h.g.patrol_status().expect("status").is_some(), "patrol still open");
}

#[test]
fn a_pcso_can_patrol_but_the_patrol_is_not_compliant() {
    let h = handset(Rank::Pcso);
    h.g.check_in("ramp", &fix(0, INSIDE)).expect("check in");
    h.g.ingest_batch(&(1..450).map(|i| fix(i, INSIDE)).collect::<Vec<_>>())
        .expect("patrol");
    let r = h.g.check_out(&fix(450, INSIDE)).expect("out");
    assert_eq!(r.reasons, vec![NonCompliance::NotWarranted { rank: Rank::Pcso }]);
    assert_eq!(
        r.departure_ms,
        Some(fix(450, INSIDE).time_ms),
        "still inside at check-out"
    );
}

#[test]
fn no_officer_no_check_in() {
    let dir = tempfile::tempdir().expect("tempdir");
    let g = Guardian::open(
        Config::new(dir.path().join("g.db")),
        key(),
        Arc::new(FixedClock::new(T0)),
    )
    .expect("open");
    g.import_areas_geojson(&areas_json()).expect("areas");
    let err = g.check_in("ramp", &fix(0, INSIDE)).expect_err("no officer");
    assert!(matches!(err, crate::Error::Patrol(PatrolError::NoOfficer)));
}

#[test]
fn an_open_patrol_and_its_track_survive_the_app_being_killed() {
    let h = handset(Rank::Constable);
    let id = h.g.check_in("ramp", &fix(0, INSIDE)).expect("in");
    h.g.ingest_batch(&(1..100).map(|i| fix(i, INSIDE)).collect::<Vec<_>>())
        .expect("track");
    let h = h.reopen();
    let status = h.g.patrol_status().expect("status").expect("still open");
    assert_eq!(status.patrol_id, id);
    assert!(status.in_area_now, "live geofence rebuilt from the stored track");
    // The filter remembers too: a replayed fix is a duplicate.
    assert_eq!(
        h.g.ingest_fix(&fix(99, INSIDE)).expect("dup").verdict,
        Verdict::Rejected(RejectReason::DuplicateTime)
    );
    h.g.ingest_batch(&(100..400).map(|i| fix(i, INSIDE)).collect::<Vec<_>>())
        .expect("more");
    let r = h.g.check_out(&fix(400, INSIDE)).expect("out");
    assert!(r.compliant, "{:?}", r.reasons);
    assert!((r.minutes_in_area - 400.0 * 5.0 / 60.0).abs() < 0.01);
}

#[test]
fn invalid_fixes_are_refused_and_never_stored() {
    let h = handset(Rank::Constable);
    let nan = Fix {
        lat: f64::NAN,
        ..fix(0, INSIDE)
    };
    assert!(matches!(
        h.g.ingest_fix(&nan),
        Err(crate::Error::Fix(FixError::NotFinite { .. }))
    ));
    assert!(matches!(h.g.check_in("ramp", &nan), Err(crate::Error::Fix(_))));
    assert_eq!(h.fixes(), 0);
    let batch = vec![
        fix(0, INSIDE),
        Fix {
            accuracy_m: -3.0,
            ..fix(1, INSIDE)
        },
        fix(2, INSIDE),
        Fix {
            lon: 200.0,
            ..fix(3, INSIDE)
        },
    ];
    let out = h.g.ingest_batch(&batch).expect("batch");
    assert_eq!(out.stored, 2);
    assert_eq!(out.invalid.iter().map(|(i, _)| *i).collect::<Vec<_>>(), vec![1, 3]);
    assert_eq!(h.fixes(), 2);
}

#[test]
fn rejected_fixes_are_kept_with_their_reason() {
    let h = handset(Rank::Constable);
    let vague = Fix {
        accuracy_m: 300.0,
        ..fix(1, INSIDE)
    };
    let out =
        h.g.ingest_batch(&[fix(0, INSIDE), vague, fix(1, INSIDE)])
            .expect("batch");
    assert_eq!(out.accepted, 1);
    assert_eq!(out.rejected.get(&RejectReason::PoorAccuracy), Some(&1));
    assert_eq!(out.rejected.get(&RejectReason::DuplicateTime), Some(&1));
    let verdicts: Vec<String> =
        h.g.store()
            .read(|tx| {
                let mut s = tx.prepare("SELECT verdict FROM fixes ORDER BY id")?;
                let v = s.query_map([], |r| r.get(0))?.collect::<Result<Vec<String>, _>>()?;
                Ok::<_, StoreError>(v)
            })
            .expect("verdicts");
    assert_eq!(verdicts, ["accepted", "poor_accuracy", "duplicate_time"]);
}

#[test]
fn a_bad_area_file_imports_nothing() {
    let h = handset(Rank::Constable);
    let before = h.g.areas().len();
    let mut fc: serde_json::Value = serde_json::from_str(&areas_json()).expect("json");
    fc["features"][0]["properties"]["id"] = serde_json::json!("new-one");
    fc["features"][1]["geometry"]["coordinates"][0][0] = serde_json::json!([-1.85, 95.0]);
    let err =
        h.g.import_areas_geojson(&fc.to_string())
            .expect_err("bad second feature");
    assert!(
        matches!(err, crate::Error::Area(crate::patrol::AreaError::Feature { ref feature, .. }) if feature == "far"),
        "{err:?}"
    );
    assert_eq!(h.g.areas().len(), before);
    let h = h.reopen();
    assert!(h.g.areas().iter().all(|a| a.id != "new-one"));
}

#[test]
fn todays_assignments_follow_london_days_and_link_to_the_patrol() {
    let h = handset(Rank::Constable);
    let hour = 3_600_000;
    let mk = |id: &str, start: i64, end: i64| Assignment {
        id: id.into(),
        area_id: "ramp".into(),
        officer_id: "wm-4471".into(),
        start_ms: start,
        end_ms: end,
    };
    h.g.add_assignment(&mk("tonight", T0, T0 + 2 * hour)).expect("a");
    h.g.add_assignment(&mk("tomorrow", T0 + 24 * hour, T0 + 26 * hour))
        .expect("b");
    h.g.add_assignment(&Assignment {
        officer_id: "someone-else".into(),
        ..mk("theirs", T0, T0 + hour)
    })
    .expect("c");
    let today: Vec<String> =
        h.g.todays_assignments()
            .expect("today")
            .into_iter()
            .map(|a| a.id)
            .collect();
    assert_eq!(today, ["tonight"]);
    assert!(matches!(
        h.g.add_assignment(&mk("bad", T0, T0)),
        Err(crate::Error::Patrol(PatrolError::InvalidAssignment(_)))
    ));
    assert!(matches!(
        h.g.add_assignment(&Assignment {
            area_id: "nowhere".into(),
            ..mk("x", T0, T0 + 1)
        }),
        Err(crate::Error::Patrol(PatrolError::UnknownArea { .. }))
    ));

    // A patrol in the assignment: only the 20 minutes before it ends count.
    h.clock.set(T0 + 2 * hour - 20 * 60_000);
    let base = T0 + 2 * hour - 20 * 60_000;
    let f = |i: i64| Fix {
        time_ms: base + i * 5_000,
        ..fix(i, INSIDE)
    };
    h.g.check_in("ramp", &f(0)).expect("in");
    h.g.ingest_batch(&(1..480).map(f).collect::<Vec<_>>()).expect("track");
    let r = h.g.check_out(&f(480)).expect("out");
    assert!((r.minutes_in_area - 40.0).abs() < 0.01, "{}", r.minutes_in_area);
    assert!((r.minutes_in_window - 20.0).abs() < 0.1, "{}", r.minutes_in_window);
    assert!(
        matches!(r.reasons[..], [NonCompliance::OutsideWindow { .. }]),
        "{:?}",
        r.reasons
    );
}

#[test]
fn geofence_events_are_stored_with_the_fix_that_caused_them() {
    let h = handset(Rank::Constable);
    h.g.ingest_batch(&(0..10).map(|i| fix(i, INSIDE)).collect::<Vec<_>>())
        .expect("in");
    h.g.ingest_batch(&(10..30).map(|i| fix(i, OUTSIDE)).collect::<Vec<_>>())
        .expect("out");
    let kinds: Vec<(String, String)> =
        h.g.store()
            .read(|tx| {
                let mut s = tx.prepare("SELECT area_id, kind FROM geofence_events ORDER BY id")?;
                let v = s
                    .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok::<_, StoreError>(v)
            })
            .expect("events");
    assert_eq!(
        kinds,
        [("ramp".into(), "arrived".into()), ("ramp".into(), "departed".into())]
    );
}

fn outbox_rows(h: &Handset) -> Vec<(String, u32, usize, Vec<u8>)> {
    h.g.store()
        .read(|tx| {
            let mut s = tx.prepare("SELECT kind, seq, fixes, payload FROM outbox ORDER BY seq")?;
            let v = s
                .query_map([], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)? as usize, r.get(3)?))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok::<_, StoreError>(v)
        })
        .expect("outbox")
}

#[test]
fn a_patrol_reaches_the_outbox_in_causal_order_with_its_whole_track() {
    use guardian_protocol::codec;
    use guardian_protocol::wire::{RecordBody, RecordEnvelope};
    let h = handset(Rank::Constable);
    let id = h.g.check_in("ramp", &fix(0, INSIDE)).expect("in");
    // 1,300 more fixes: two full chunks of 600 and a remainder at check-out.
    h.g.ingest_batch(&(1..1300).map(|i| fix(i, INSIDE)).collect::<Vec<_>>())
        .expect("track");
    h.g.check_out(&fix(1300, INSIDE)).expect("out");
    let rows = outbox_rows(&h);
    let kinds: Vec<(&str, u32, usize)> = rows.iter().map(|(k, s, f, _)| (k.as_str(), *s, *f)).collect();
    assert_eq!(
        kinds,
        [
            ("check_in", 0, 0),
            ("track_chunk", 1, 600),
            ("track_chunk", 2, 600),
            ("track_chunk", 3, 101),
            ("check_out", 4, 0)
        ]
    );
    let checkin: RecordEnvelope = serde_json::from_slice(&rows[0].3).expect("json");
    assert_eq!(checkin.patrol_id, id);
    assert!(matches!(checkin.body, RecordBody::CheckIn(ref b) if b.area_id == "ramp" && b.officer_id == "wm-4471"));
    // The chunks carry exactly the stored track, in order.
    let sent: Vec<Fix> = rows[1..4]
        .iter()
        .flat_map(|r| codec::decode(&r.3).expect("decode"))
        .map(|s| s.fix)
        .collect();
    let stored: Vec<(i64, i64, f64, f64)> = h
        .g
        .store()
        .read(|tx| {
            let mut s = tx.prepare("SELECT time_ms, mono_ns, lat, lon FROM fixes WHERE patrol_id = ?1 ORDER BY id")?;
            let v = s
                .query_map([&id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
                .collect::<Result<Vec<_>, _>>()?;
            Ok::<_, StoreError>(v)
        })
        .expect("stored");
    assert_eq!(sent.len(), 1301);
    assert_eq!(
        sent.iter()
            .map(|f| (f.time_ms, f.mono_ns, f.lat, f.lon))
            .collect::<Vec<_>>(),
        stored
    );
}

#[test]
fn a_patrol_interrupted_by_a_kill_continues_its_sequence() {
    let h = handset(Rank::Constable);
    h.g.check_in("ramp", &fix(0, INSIDE)).expect("in");
    h.g.ingest_batch(&(1..700).map(|i| fix(i, INSIDE)).collect::<Vec<_>>())
        .expect("track");
    let h = h.reopen();
    h.g.ingest_batch(&(700..1250).map(|i| fix(i, INSIDE)).collect::<Vec<_>>())
        .expect("more");
    h.g.check_out(&fix(1250, INSIDE)).expect("out");
    let seqs: Vec<(String, u32, usize)> = outbox_rows(&h).into_iter().map(|(k, s, f, _)| (k, s, f)).collect();
    let total: usize = seqs.iter().map(|r| r.2).sum();
    assert_eq!(total, 1251, "every fix in exactly one chunk: {seqs:?}");
    assert_eq!(
        seqs.iter().map(|r| r.1).collect::<Vec<_>>(),
        (0..seqs.len() as u32).collect::<Vec<_>>()
    );
    assert_eq!(seqs.last().map(|r| r.0.as_str()), Some("check_out"));
}

#[test]
fn a_refused_check_in_queues_nothing_and_fixes_outside_a_patrol_never_leave() {
    let h = handset(Rank::Constable);
    h.g.ingest_batch(&(0..700).map(|i| fix(i, OUTSIDE)).collect::<Vec<_>>())
        .expect("walk");
    assert!(h.g.check_in("ramp", &fix(700, OUTSIDE)).is_err());
    assert!(outbox_rows(&h).is_empty());
}

#[test]
fn sign_out_is_refused_while_records_are_unsynced_and_forcing_it_is_recorded() {
    let h = handset(Rank::Constable);
    h.g.check_in("ramp", &fix(0, INSIDE)).expect("in");
    assert!(matches!(
        h.g.sign_out(false),
        Err(crate::Error::Sync(crate::sync::SyncError::PatrolOpen))
    ));
    h.g.check_out(&fix(10, INSIDE)).expect("out");
    let err = h.g.sign_out(false).expect_err("unsynced");
    assert!(
        matches!(err, crate::Error::Sync(crate::sync::SyncError::Unsynced { count: 3 })),
        "{err:?}"
    );
    assert!(h.g.officer().expect("officer").is_some(), "nothing purged");
    assert_eq!(h.g.sign_out(true).expect("forced"), 3);
    assert!(h.g.officer().expect("officer").is_none());
    assert_eq!(h.fixes(), 0);
    let audit: Vec<String> =
        h.g.store()
            .read(|tx| {
                let mut s = tx.prepare("SELECT event FROM audit")?;
                let v = s.query_map([], |r| r.get(0))?.collect::<Result<Vec<String>, _>>()?;
                Ok::<_, StoreError>(v)
            })
            .expect("audit");
    assert_eq!(audit, ["forced_sign_out"]);
    assert!(!h.g.areas().is_empty(), "areas are not personal data and stay");
}

#[test]
fn after_a_sign_out_the_next_officers_first_pull_brings_everything() {
    use guardian_protocol::wire::SyncReply;
    let h = handset(Rank::Constable);
    let reply = SyncReply {
        cursor: "a1.s7.b1.r40".into(),
        officer: None,
        areas: None,
        assignments: None,
        commands: vec![],
        boundaries: None,
        referral_updates: vec![],
    };
    h.g.apply_reply(reply).expect("pull");
    let cursor = |h: &Handset| h.g.store().read(|tx| crate::sync::state::cursor(tx)).expect("cursor");
    assert_eq!(cursor(&h), "a1.s7.b1.r40");
    h.g.sign_out(false).expect("sign out");
    // The cursor counted the signed-out officer's assignments and referral
    // updates: the next officer's pull must not start after them.
    assert_eq!(cursor(&h), "");
}

#[test]
fn the_newest_patrol_goes_first_so_live_work_is_not_stuck_behind_a_backlog() {
    let h = handset(Rank::Constable);
    let old = h.g.check_in("ramp", &fix(0, INSIDE)).expect("in");
    h.g.check_out(&fix(5, INSIDE)).expect("out");
    h.clock.advance(7 * 24 * 3_600_000);
    let new = h.g.check_in("ramp", &fix(1_000, INSIDE)).expect("in");
    let order: Vec<(Option<String>, u32)> =
        h.g.store()
            .read(|tx| crate::store::outbox::pending(tx))
            .expect("pending")
            .into_iter()
            .map(|i| (i.patrol_id, i.seq))
            .collect();
    assert_eq!(order[0], (Some(new), 0), "the live patrol's check-in first");
    let old = Some(old);
    assert_eq!(&order[1..], &[(old.clone(), 0), (old.clone(), 1), (old, 2)]);
}

#[test]
fn sync_refuses_plain_http_to_anything_but_loopback() {
    struct NoTokens;
    impl crate::sync::TokenProvider for NoTokens {
        fn token(&self) -> Result<String, String> {
            Err("none".into())
        }
        fn refresh(&self) -> Result<String, String> {
            Err("none".into())
        }
    }
    let h = handset(Rank::Constable);
    for url in ["http://force.example.org", "ftp://127.0.0.1", "not a url"] {
        let err =
            h.g.start_sync(&crate::sync::SyncConfig::new(url), Arc::new(NoTokens))
                .expect_err(url);
        assert!(
            matches!(err, crate::Error::Sync(crate::sync::SyncError::Config(_))),
            "{url}: {err:?}"
        );
    }
    for url in [
        "http://127.0.0.1:9",
        "http://[::1]:9",
        "http://localhost:9",
        "https://force.example.org",
    ] {
        h.g.start_sync(&crate::sync::SyncConfig::new(url), Arc::new(NoTokens))
            .expect(url);
    }
    // A pinned CA that is not a certificate is refused.
    let mut config = crate::sync::SyncConfig::new("https://force.example.org");
    config.pinned_ca_pem = Some(b"-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n".to_vec());
    assert!(h.g.start_sync(&config, Arc::new(NoTokens)).is_err());
    // Without a token the pass fails with an auth error and queues stay.
    h.g.check_in("ramp", &fix(0, INSIDE)).expect("in");
    h.g.start_sync(&crate::sync::SyncConfig::new("http://127.0.0.1:9"), Arc::new(NoTokens))
        .expect("start");
    let err = h.g.sync_now().expect_err("no token");
    assert!(
        matches!(err, crate::Error::Sync(crate::sync::SyncError::Auth(_))),
        "{err:?}"
    );
    assert_eq!(h.g.sync_status().expect("status").pending, 1);
}

#[test]
fn a_pull_with_anything_unusable_in_it_changes_nothing() {
    use guardian_protocol::wire::{AssignmentWire, OfficerProfile, SyncReply};
    let h = handset(Rank::Constable);
    let reply = |officer_rank: &str, areas: Option<serde_json::Value>, assignment_area: &str| SyncReply {
        cursor: "c1".into(),
        officer: Some(OfficerProfile {
            officer_id: "wm-4471".into(),
            display_name: "Promoted".into(),
            rank: officer_rank.into(),
        }),
        areas,
        assignments: Some(vec![AssignmentWire {
            id: "a1".into(),
            area_id: assignment_area.into(),
            officer_id: "wm-4471".into(),
            start_ms: T0,
            end_ms: T0 + 3_600_000,
        }]),
        commands: vec![],
        boundaries: None,
        referral_updates: vec![],
    };
    let bad_areas = serde_json::json!({"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"id": "x"}, "geometry": null}]});
    for r in [
        reply("admiral", None, "ramp"),
        reply("sergeant", Some(bad_areas), "ramp"),
        reply("sergeant", None, "nowhere"),
    ] {
        let err = h.g.apply_reply(r).expect_err("bad reply");
        assert!(
            matches!(err, crate::Error::Sync(crate::sync::SyncError::BadReply(_))),
            "{err:?}"
        );
        let officer = h.g.officer().expect("officer").expect("still there");
        assert_eq!(
            (officer.display_name.as_str(), officer.rank),
            ("PC Test", Rank::Constable)
        );
        assert!(h.g.todays_assignments().expect("today").is_empty());
    }
    h.g.apply_reply(reply("sergeant", None, "ramp")).expect("good reply");
    assert_eq!(h.g.officer().expect("officer").map(|o| o.rank), Some(Rank::Sergeant));
    assert_eq!(h.g.todays_assignments().expect("today").len(), 1);
}

#[derive(Default)]
struct Recorder(Mutex<Vec<crate::events::Event>>);

impl crate::events::EventListener for Recorder {
    fn on_event(&self, event: crate::events::Event) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).push(event);
    }
}

#[test]
fn the_listener_hears_arrival_minutes_reached_once_and_departure_after_each_commit() {
    use crate::events::Event;
    let h = handset(Rank::Constable);
    let rec = Arc::new(Recorder::default());
    h.g.set_listener(Some(rec.clone()));
    h.g.check_in("ramp", &fix(0, INSIDE)).expect("in");
    h.g.ingest_batch(&(1..300).map(|i| fix(i, INSIDE)).collect::<Vec<_>>())
        .expect("first half");
    let h = {
        // A restart mid-patrol must not lose or repeat the minutes event.
        let h = h.reopen();
        h.g.set_listener(Some(rec.clone()));
        h
    };
    h.g.ingest_batch(&(300..500).map(|i| fix(i, INSIDE)).collect::<Vec<_>>())
        .expect("second half");
    h.g.ingest_batch(&(500..530).map(|i| fix(i, OUTSIDE)).collect::<Vec<_>>())
        .expect("leave");
    let events = rec.0.lock().expect("lock").clone();
    let events: Vec<Event> = events
        .into_iter()
        .filter(|e| !matches!(e, Event::PlanChanged { .. }))
        .collect();
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| match e {
            Event::Arrived { .. } => "arrived",
            Event::Departed { .. } => "departed",
            Event::MinutesReached { .. } => "minutes",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, ["arrived", "minutes", "departed"]);
    if let Event::MinutesReached { minutes, .. } = &events[1] {
        assert!((30.0..30.2).contains(minutes), "{minutes}");
    }
    // A failed write tells nothing.
    let before = rec.0.lock().expect("lock").len();
    assert!(h.g.check_in("nowhere", &fix(600, INSIDE)).is_err());
    assert_eq!(rec.0.lock().expect("lock").len(), before);
}

#[test]
fn the_live_status_is_the_report_of_the_stored_track_across_chunks_and_restarts() {
    let mut h = handset(Rank::Constable);
    let id = h.g.check_in("ramp", &fix(0, INSIDE)).expect("in");
    // In, out and back, with a gap now and then: 1,600 fixes, so the tally
    // is saved with two chunks and a restart resumes from the second.
    let place = |k: i64| match k % 97 {
        0..=60 => INSIDE,
        61..=80 => OUTSIDE,
        _ => INSIDE,
    };
    let mut next = 1;
    for round in 0..4 {
        let batch: Vec<Fix> = (next..next + 400)
            .filter(|k| k % 151 != 0)
            .map(|k| fix(k + (k / 300) * 60, place(k)))
            .collect();
        next += 400;
        h.g.ingest_batch(&batch).expect("batch");
        let status = h.g.patrol_status().expect("status").expect("open");
        assert_eq!(status.report, h.g.patrol_report(&id).expect("report"), "round {round}");
        assert!(
            status.report.inside_transitions > round,
            "{}",
            status.report.inside_transitions
        );
        if round == 1 {
            h = h.reopen();
            let resumed = h.g.patrol_status().expect("status").expect("open");
            assert_eq!(resumed.report, status.report, "resumed from the saved tally");
        }
        if round == 2 {
            // A saved tally that cannot be read is re-tallied from the track.
            h.g.store()
                .write(|tx| {
                    tx.execute("UPDATE patrol_tallies SET tally = 'not json'", [])?;
                    Ok::<_, StoreError>(())
                })
                .expect("spoil");
            h = h.reopen();
            let resumed = h.g.patrol_status().expect("status").expect("open");
            assert_eq!(resumed.report, status.report, "re-tallied from the track");
        }
    }
    let report = h.g.check_out(&fix(2_000, OUTSIDE)).expect("out");
    assert_eq!(report, h.g.patrol_report(&id).expect("report"));
    let left: i64 =
        h.g.store()
            .read(|tx| Ok::<_, StoreError>(tx.query_row("SELECT count(*) FROM patrol_tallies", [], |r| r.get(0))?))
            .expect("count");
    assert_eq!(left, 0, "a closed patrol keeps no tally");
}

#[test]
fn the_shell_hears_the_plan_change_and_an_overdue_fix_turns_it_dense() {
    use crate::events::Event;
    use crate::patrol::{PlanReason, Precision};
    let h = handset(Rank::Constable);
    let rec = Arc::new(Recorder::default());
    h.g.set_listener(Some(rec.clone()));
    assert_eq!(h.g.sampling_plan().reason, PlanReason::NoFixYet);
    // Two kilometres south, no patrol: coarse and sparse.
    let far = (INSIDE.0 - 0.018, INSIDE.1);
    h.g.ingest_batch(&(0..6).map(|i| fix(i, far)).collect::<Vec<_>>())
        .expect("far");
    let plan = h.g.sampling_plan();
    assert_eq!(
        (plan.reason, plan.precision),
        (PlanReason::FarAway, Precision::Balanced)
    );
    // Walking in from the south: approaching, then at the edge, then
    // deciding the arrival.
    h.g.ingest_batch(&walk(6, 40, OUTSIDE, INSIDE)).expect("walk in");
    let plans: Vec<_> = rec
        .0
        .lock()
        .expect("lock")
        .iter()
        .filter_map(|e| match e {
            Event::PlanChanged { plan } => Some(*plan),
            _ => None,
        })
        .collect();
    let reasons: Vec<PlanReason> = plans.iter().map(|p| p.reason).collect();
    assert_eq!(reasons[0], PlanReason::FarAway, "{reasons:?}");
    assert!(reasons.contains(&PlanReason::Approaching), "{reasons:?}");
    assert!(reasons.contains(&PlanReason::NearEdge), "{reasons:?}");
    for pair in plans.windows(2) {
        assert!(pair[1].differs_for_the_os(&pair[0]), "only changes are told: {pair:?}");
    }
    let now = h.g.sampling_plan();
    assert_eq!(Some(&now), plans.last());
    assert!(now.expects_fixes());
    // The plan says when its fix is overdue, and at that moment the core's
    // answer turns dense: the shell's timer needs nothing of its own.
    let overdue = now
        .overdue_after_ms
        .expect("a plan without a distance filter is owed fixes");
    let last = fix(39, INSIDE).time_ms;
    h.clock.set(last + overdue - 1);
    assert_eq!(h.g.sampling_plan(), now);
    h.clock.set(last + overdue);
    assert_eq!(h.g.sampling_plan().reason, PlanReason::AfterGap);
}
