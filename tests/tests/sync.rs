//! Offline work reaching the force exactly once: a real handset core, a real
//! backend on loopback, and a fault-injecting proxy between them.

use std::time::Duration;

use guardian_core::Error;
use guardian_core::sync::SyncError;
use guardian_tests::handset::{Force, Handset, Tokens};
use guardian_tests::proxy::{Fault, FaultProxy, Plan};

const STALL: Duration = Duration::from_millis(2_000);

#[test]
fn a_patrol_made_offline_reaches_the_force_exactly_once_in_causal_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let force = Force::start(dir.path());
    let tokens = Tokens::new(force.token(3600), force.token(3600));
    let h = Handset::open(&dir.path().join("handset.db"), &force.url(), tokens);
    // The first pull brings the officer profile (the role is the force's).
    h.provision();
    assert_eq!(
        h.guardian.officer().expect("officer").map(|o| o.officer_id),
        Some("wm-4471".into())
    );

    let patrol = h.patrol_offline(0, 1_500);
    let before = h.guardian.sync_status().expect("status");
    assert_eq!(before.pending, 1 + 3 + 1, "check-in, three chunks, check-out");

    let report = h.guardian.sync_now().expect("sync");
    assert_eq!((report.acked, report.rejected, report.duplicates), (5, 0, 0));
    assert_eq!(report.fixes_sent, 1_501);
    let per_fix = report.track_bytes_sent as f64 / report.fixes_sent as f64;
    assert!(per_fix <= 8.0, "{per_fix} bytes per fix");

    let stats = force.stats();
    assert_eq!((stats.patrols, stats.fixes, stats.duplicate_fixes), (1, 1_501, 0));
    // Causal order held: the server accepts a chunk or a check-out only after
    // the check-in, so nothing was refused.
    assert_eq!(h.guardian.sync_status().expect("status").rejected, 0);
    // The force judges it with the same rules: 125 minutes, Constable-led.
    let summary = force.admin().compliance_summary().expect("summary");
    assert_eq!((summary.patrols, summary.compliant), (1, 1));
    let local = h.guardian.patrol_report(&patrol).expect("local report");
    assert!((summary.average_minutes - local.minutes_in_area).abs() < 1e-9);
}

#[test]
fn every_record_arrives_exactly_once_through_a_hostile_network() {
    let mut seen = std::collections::BTreeMap::new();
    for seed in 1..=12u64 {
        let dir = tempfile::tempdir().expect("tempdir");
        let force = Force::start(dir.path());
        let proxy = FaultProxy::start(force.addr(), Plan::chaos(seed), STALL);
        let tokens = Tokens::new(force.token(3600), force.token(3600));
        let h = Handset::open(&dir.path().join("handset.db"), &proxy.url(), tokens);
        h.provision();
        let patrols = 3;
        for p in 0..patrols {
            h.patrol_offline(p * 5_000, 2_000);
        }
        h.sync_until_drained(200);
        let stats = force.stats();
        assert_eq!(stats.patrols, patrols, "seed {seed}");
        assert_eq!(stats.fixes, patrols * 2_001, "seed {seed}: {:?}", proxy.counts());
        assert_eq!(stats.duplicate_fixes, 0, "seed {seed}");
        let status = h.guardian.sync_status().expect("status");
        assert_eq!((status.pending, status.rejected), (0, 0), "seed {seed}");
        let counts = proxy.counts();
        assert!(
            counts.iter().any(|(f, n)| *f != Fault::None && *n > 0),
            "seed {seed}: no faults {counts:?}"
        );
        for (f, n) in counts {
            *seen.entry(f).or_insert(0) += n;
        }
    }
    // Across the runs, every kind of fault was injected.
    assert_eq!(seen.len(), 8, "{seen:?}");
}

#[test]
fn the_backend_killed_mid_sync_and_restarted_loses_and_duplicates_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut force = Force::start(dir.path());
    let proxy = FaultProxy::start(force.addr(), Plan::Clean, STALL);
    let tokens = Tokens::new(force.token(3600), force.token(3600));
    let h = Handset::open(&dir.path().join("handset.db"), &proxy.url(), tokens);
    h.provision();
    for p in 0..4 {
        h.patrol_offline(p * 2_000, 1_300);
    }
    // Kill the backend once a few requests have gone through.
    std::thread::scope(|s| {
        let syncing = s.spawn(|| h.guardian.sync_now());
        while proxy.forwarded() < 4 && !syncing.is_finished() {
            std::thread::sleep(Duration::from_millis(1));
        }
        force.kill();
        let _ = syncing.join().expect("sync thread");
    });
    assert!(h.pending() > 0, "the kill interrupted the upload");
    assert!(matches!(h.guardian.sync_now(), Err(Error::Sync(SyncError::Network(_)))));
    force.restart();
    proxy.set_target(force.addr());
    h.sync_until_drained(10);
    let stats = force.stats();
    assert_eq!((stats.patrols, stats.fixes, stats.duplicate_fixes), (4, 4 * 1_301, 0));
}

#[test]
fn a_handset_killed_after_the_server_committed_resends_and_is_answered_duplicate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let force = Force::start(dir.path());
    let proxy = FaultProxy::start(force.addr(), Plan::Clean, STALL);
    let path = dir.path().join("handset.db");
    let tokens = Tokens::new(force.token(3600), force.token(3600));
    let h = Handset::open(&path, &proxy.url(), tokens.clone());
    h.provision();
    h.patrol_offline(0, 700);
    proxy.set_plan(Plan::Always(Fault::LoseResponse));
    // The check-in reaches the server but its reply is lost; the app dies.
    assert!(h.guardian.sync_now().is_err());
    assert_eq!(force.stats().records, 1);
    drop(h);
    let h = Handset::open(&path, &proxy.url(), tokens);
    proxy.set_plan(Plan::Clean);
    let report = h.guardian.sync_now().expect("sync after restart");
    assert_eq!(report.duplicates, 1, "the check-in was answered as already stored");
    let stats = force.stats();
    assert_eq!((stats.patrols, stats.fixes, stats.duplicate_fixes), (1, 701, 0));
}

#[test]
fn an_expired_token_is_refreshed_once_and_a_revoked_one_stops_sync_with_the_outbox_intact() {
    let dir = tempfile::tempdir().expect("tempdir");
    let force = Force::start(dir.path());
    let path = dir.path().join("handset.db");
    // A one-second token: valid at the station, expired by the time the
    // officer finds signal again.
    let tokens = Tokens::new(force.token(1), force.token(3600));
    let h = Handset::open(&path, &force.url(), tokens.clone());
    h.provision();
    h.patrol_offline(0, 100);
    std::thread::sleep(Duration::from_millis(2_100));
    h.guardian.sync_now().expect("sync with refresh");
    assert_eq!(*tokens.refreshes.lock().expect("lock"), 1);
    assert_eq!(h.pending(), 0);

    // The force revokes the handset: neither token nor refresh is accepted.
    h.patrol_offline(1_000, 100);
    drop(h);
    let revoked = Tokens::new("v1.forged.token".into(), "v1.still.forged".into());
    let h = Handset::open(&path, &force.url(), revoked.clone());
    let err = h.guardian.sync_now().expect_err("revoked");
    assert!(matches!(err, Error::Sync(SyncError::Auth(_))), "{err:?}");
    assert_eq!(
        *revoked.refreshes.lock().expect("lock"),
        1,
        "asked to refresh exactly once"
    );
    assert_eq!(h.pending(), 3, "nothing lost");
    assert_eq!(force.stats().patrols, 1);
}

#[test]
fn malformed_server_replies_are_typed_errors_and_the_outbox_stays_intact() {
    let dir = tempfile::tempdir().expect("tempdir");
    let force = Force::start(dir.path());
    let proxy = FaultProxy::start(force.addr(), Plan::Clean, STALL);
    let tokens = Tokens::new(force.token(3600), force.token(3600));
    let h = Handset::open(&dir.path().join("handset.db"), &proxy.url(), tokens);
    h.provision();
    h.patrol_offline(0, 100);
    for fault in [Fault::GarbageBody, Fault::WrongTypes, Fault::HugeBody, Fault::Truncate] {
        proxy.set_plan(Plan::Always(fault));
        let err = h.guardian.sync_now().expect_err("bad reply");
        assert!(matches!(err, Error::Sync(SyncError::Network(_))), "{fault:?}: {err:?}");
        assert_eq!(h.pending(), 3, "{fault:?}");
        let status = h.guardian.sync_status().expect("status");
        assert!(status.last_error.is_some());
    }
    proxy.set_plan(Plan::Clean);
    h.sync_until_drained(3);
    assert_eq!(force.stats().fixes, 101);
}

#[test]
fn a_permanent_rejection_is_kept_and_surfaced_while_other_records_flow() {
    let dir = tempfile::tempdir().expect("tempdir");
    let force = Force::start(dir.path());
    let tokens = Tokens::new(force.token(3600), force.token(3600));
    let h = Handset::open(&dir.path().join("handset.db"), &force.url(), tokens);
    h.provision();
    // The handset knows an area the force has since withdrawn.
    let mut fc: serde_json::Value = serde_json::from_str(&guardian_tests::handset::areas_geojson()).expect("json");
    fc["features"][0]["properties"]["id"] = serde_json::json!("withdrawn");
    h.guardian.import_areas_geojson(&fc.to_string()).expect("local area");
    let g = &h.guardian;
    let f = guardian_tests::handset::fix;
    let inside = guardian_tests::handset::INSIDE;
    g.check_in("withdrawn", &f(0, inside)).expect("in");
    g.check_out(&f(10, inside)).expect("out");
    h.patrol_offline(100, 100);
    let report = g.sync_now().expect("sync");
    assert!(report.rejected >= 1, "{report:?}");
    let status = g.sync_status().expect("status");
    assert_eq!(status.pending, 0, "nothing retried forever");
    assert!(status.rejected >= 1);
    assert!(
        status
            .rejected_records
            .iter()
            .any(|r| r.reason.contains("unknown-area")),
        "{:?}",
        status.rejected_records
    );
    assert_eq!(force.stats().patrols, 1, "the good patrol arrived");
    // Kept: a second pass does not resend or drop it.
    g.sync_now().expect("again");
    assert_eq!(g.sync_status().expect("status").rejected, status.rejected);
}

#[test]
fn going_online_drains_the_outbox_without_being_asked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let force = Force::start(dir.path());
    let tokens = Tokens::new(force.token(3600), force.token(3600));
    let h = Handset::open(&dir.path().join("handset.db"), &force.url(), tokens);
    h.provision();
    h.patrol_offline(0, 200);
    assert_eq!(force.stats().patrols, 0, "offline: nothing sent");
    h.guardian.set_online(true).expect("online");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while h.pending() > 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(h.pending(), 0);
    assert_eq!(force.stats().fixes, 201);
}

#[test]
fn a_handset_restored_from_a_backup_with_a_cursor_from_the_future_gets_everything_again() {
    let dir = tempfile::tempdir().expect("tempdir");
    let force = Force::start(dir.path());
    let tokens = Tokens::new(force.token(3600), force.token(3600));
    let h = Handset::open(&dir.path().join("handset.db"), &force.url(), tokens);
    // A cursor this server never issued (it was restored to an older
    // state, or the phone from another server's backup), and no areas.
    h.guardian
        .store()
        .write(|tx| guardian_core::sync::state::save_cursor(tx, "a99.s99.b99.r99"))
        .expect("restored cursor");
    assert!(h.guardian.areas().is_empty());
    let report = h.guardian.sync_now().expect("sync");
    assert!(report.pulled);
    assert!(!h.guardian.areas().is_empty(), "the areas came again");
    assert!(h.guardian.officer().expect("officer").is_some());
    let cursor = h
        .guardian
        .store()
        .read(|tx| guardian_core::sync::state::cursor(tx))
        .expect("cursor");
    assert!(cursor.starts_with("a1.s"), "the server's own cursor now: {cursor}");
}

#[test]
fn the_force_can_wipe_a_lost_handset() {
    let dir = tempfile::tempdir().expect("tempdir");
    let force = Force::start(dir.path());
    let tokens = Tokens::new(force.token(3600), force.token(3600));
    let h = Handset::open(&dir.path().join("handset.db"), &force.url(), tokens);
    h.provision();
    h.patrol_offline(0, 50);
    h.guardian.sync_now().expect("sync");
    force
        .admin()
        .queue_command("wm-4471", guardian_protocol::wire::CommandKind::Wipe)
        .expect("queue wipe");
    let report = h.guardian.sync_now().expect("sync");
    assert!(report.wiped);
    assert!(h.guardian.officer().expect("officer").is_none());
    assert!(h.guardian.areas().is_empty());
    assert_eq!(h.guardian.sync_status().expect("status").acked, 0);
}

#[test]
fn a_revoked_handset_is_wiped_on_its_next_sync_and_then_shut_out() {
    let dir = tempfile::tempdir().expect("tempdir");
    let force = Force::start(dir.path());
    let tokens = Tokens::new(force.token(3600), force.token(3600));
    let h = Handset::open(&dir.path().join("handset.db"), &force.url(), tokens);
    h.provision();
    h.patrol_offline(0, 50);
    h.guardian.sync_now().expect("sync");
    // The core named its handset on every request; the force lists it.
    let devices = force.admin().devices(Some("wm-4471")).expect("devices");
    assert_eq!(devices.len(), 1, "{devices:?}");
    force
        .admin()
        .revoke_device(&devices[0].device_id, "control-room")
        .expect("revoke");
    let report = h.guardian.sync_now().expect("the wipe sync");
    assert!(report.wiped);
    assert!(h.guardian.officer().expect("officer").is_none());
    // Signed in again on the wiped phone, it is still shut out.
    let refused = h.guardian.sync_now().expect_err("shut out");
    // The core hears a 401, as for a refused token (it does not yet tell
    // the officer the handset itself was revoked).
    assert!(matches!(refused, Error::Sync(SyncError::Auth(_))), "{refused:?}");
    assert!(h.guardian.officer().expect("officer").is_none());
    let wiped = force.admin().devices(None).expect("devices");
    assert!(wiped[0].wiped_ms.is_some(), "{wiped:?}");
}

#[test]
fn killing_the_handset_process_at_random_moments_loses_and_duplicates_nothing() {
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().expect("tempdir");
    let force = Force::start(dir.path());
    let path = dir.path().join("handset.db");
    let token = force.token(3600);
    let mut rng = fastrand::Rng::with_seed(99);
    for round in 0..8u64 {
        let mut child = Command::new(env!("CARGO_BIN_EXE_handset-worker"))
            .args([
                path.to_str().expect("utf8"),
                &force.url(),
                &token,
                &(round + 1).to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn worker");
        std::thread::sleep(Duration::from_millis(300 + rng.u64(..700)));
        child.kill().expect("SIGKILL");
        let _ = child.wait();
    }
    // The officer picks the phone up again: finish the patrol and sync.
    let tokens = Tokens::new(token.clone(), token);
    let h = Handset::open(&path, &force.url(), tokens);
    if let Some(status) = h.guardian.patrol_status().expect("status") {
        let last = status.report.fixes_total;
        assert!(last > 0);
        let t: i64 = h
            .guardian
            .store()
            .read(|tx| {
                Ok::<_, guardian_core::store::StoreError>(
                    tx.query_row("SELECT MAX(time_ms) FROM fixes", [], |r| r.get(0))?,
                )
            })
            .expect("last time");
        let i = (t - guardian_tests::handset::T0) / 5_000 + 1;
        h.clock.set(t + 5_000);
        h.guardian
            .check_out(&guardian_tests::handset::fix(i, guardian_tests::handset::INSIDE))
            .expect("check out");
    }
    h.sync_until_drained(10);
    let (patrols, patrol_fixes): (i64, i64) = h
        .guardian
        .store()
        .read(|tx| {
            Ok::<_, guardian_core::store::StoreError>((
                tx.query_row("SELECT count(*) FROM patrols", [], |r| r.get(0))?,
                tx.query_row("SELECT count(*) FROM fixes WHERE patrol_id IS NOT NULL", [], |r| {
                    r.get(0)
                })?,
            ))
        })
        .expect("local counts");
    assert!(
        patrols >= 1 && patrol_fixes > 100,
        "the worker did real work: {patrols} patrols, {patrol_fixes} fixes"
    );
    let stats = force.stats();
    assert_eq!(stats.patrols, patrols, "every acknowledged patrol arrived");
    assert_eq!(stats.fixes, patrol_fixes, "every acknowledged fix arrived, once");
    assert_eq!(stats.duplicate_fixes, 0);
    assert_eq!(h.guardian.sync_status().expect("status").rejected, 0);
}

#[test]
fn the_forces_schedule_reaches_the_handset_and_both_sides_judge_the_patrol_alike() {
    let dir = tempfile::tempdir().expect("tempdir");
    let force = Force::start(dir.path());
    let date = chrono_date(2023, 7, 14);
    let made = force.admin().schedule(date, 1.0, 7).expect("schedule");
    assert_eq!(made.len(), 1);
    let tokens = Tokens::new(force.token(3600), force.token(3600));
    let h = Handset::open(&dir.path().join("handset.db"), &force.url(), tokens);
    h.provision();
    let today = h.guardian.todays_assignments().expect("today");
    assert_eq!(today.len(), 1);
    assert_eq!(
        (today[0].area_id.as_str(), today[0].start_ms),
        ("ramp", guardian_tests::handset::T0)
    );
    // 125 minutes from 22:00 BST: the window closes at midnight.
    let patrol = h.patrol_offline(0, 1_500);
    let local = h.guardian.patrol_report(&patrol).expect("report");
    assert!(
        (local.minutes_in_window - 120.0).abs() < 0.1,
        "{}",
        local.minutes_in_window
    );
    h.sync_until_drained(3);
    let csv = force.admin().compliance_csv().expect("csv");
    let header: Vec<&str> = csv.lines().next().expect("header").split(',').collect();
    let row: Vec<&str> = csv.lines().nth(1).expect("row").split(',').collect();
    let col = |name: &str| row[header.iter().position(|h| *h == name).expect(name)];
    assert_eq!(col("patrol_id"), patrol);
    let server_window: f64 = col("minutes_in_window").parse().expect("number");
    assert!(
        (server_window - local.minutes_in_window).abs() < 0.01,
        "{server_window} vs {}",
        local.minutes_in_window
    );
    assert_eq!(col("compliant"), if local.compliant { "true" } else { "false" });

    // Everything synced: signing out is allowed and purges the officer's data.
    assert_eq!(h.guardian.sign_out(false).expect("sign out"), 0);
    assert!(h.guardian.officer().expect("officer").is_none());
    assert!(h.guardian.patrol_report(&patrol).is_err());
}

fn chrono_date(y: i32, m: u32, d: u32) -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(y, m, d).expect("date")
}

#[test]
fn a_503_with_retry_after_is_transient_and_its_wait_is_kept_for_the_scheduler() {
    use guardian_core::store::outbox::{Item, Kind};
    use guardian_core::sync::client::Client;
    use guardian_core::sync::pass::{self, Outcome, Then, Upload};
    let dir = tempfile::tempdir().expect("tempdir");
    let force = Force::start(dir.path());
    let proxy = FaultProxy::start(force.addr(), Plan::Always(Fault::Unavailable), STALL);
    let tokens = Tokens::new(force.token(3600), force.token(3600));
    let login = guardian_core::sync::Login::Shell(tokens);
    let client = Client::new(&proxy.url(), None, Duration::from_secs(2), None, login).expect("client");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let item = Item {
        id: "r-1".into(),
        kind: Kind::CheckIn,
        format: 1,
        patrol_id: Some("p-1".into()),
        seq: 0,
        payload: b"{}".to_vec(),
        fixes: 0,
    };
    let outcome = rt.block_on(client.upload(&item)).expect("no auth trouble");
    assert!(
        matches!(outcome, Outcome::Transient { retry_after: Some(d), .. } if d == Duration::from_secs(1)),
        "{outcome:?}"
    );
    let mut up = Upload::new();
    assert_eq!(up.on_outcome(&item, outcome).then, Then::Stop);
    let done = up.finish();
    assert_eq!(done.retry_after, Some(Duration::from_secs(1)));
    // The scheduler waits at least that long, whatever its backoff says.
    let wait = pass::next_wait(false, Some(Duration::from_millis(10)), done.retry_after);
    assert_eq!(wait, Duration::from_secs(1));
}
