//! The handset on a full disk: recording fails with a typed error, nothing
//! already stored is harmed, recording resumes when space returns, and the
//! force receives every fix once — no half-written outbox row is sent.
//! (Its own test binary: it installs the fault VFS for the whole process,
//! so the force's backend in this process runs on it too; the quota counts
//! every file, so it is set only while the handset records offline.)

use guardian_core::Error;
use guardian_core::patrol::Fix;
use guardian_core::store::StoreError;
use guardian_tests::handset::{Force, Handset, INSIDE, fix};

/// The VFS and its quota and error switches are the process's: the tests
/// take turns.
fn exclusive() -> std::sync::MutexGuard<'static, ()> {
    static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    let turn = TURN.lock().unwrap_or_else(|p| p.into_inner());
    INSTALLED.call_once(|| guardian_faultfs::install(guardian_faultfs::Config::default()).expect("install"));
    turn
}

fn stored_fixes(h: &Handset) -> i64 {
    h.guardian
        .store()
        .read(|tx| Ok::<_, StoreError>(tx.query_row("SELECT count(*) FROM fixes", [], |r| r.get(0))?))
        .expect("count")
}

#[test]
fn a_full_disk_stops_recording_with_a_typed_error_and_loses_nothing() {
    let _turn = exclusive();
    let dir = tempfile::tempdir().expect("tempdir");
    let force = Force::start(dir.path());
    let h = Handset::provisioned(&dir.path().join("handset.db"), &force);
    h.guardian.set_online(false).expect("offline");
    let g = &h.guardian;
    h.clock.set(fix(0, INSIDE).time_ms);
    g.check_in("ramp", &fix(0, INSIDE)).expect("check in");

    // The phone's storage fills up mid-patrol.
    guardian_faultfs::set_quota(Some(guardian_faultfs::used_bytes() + 200_000));
    let mut next = 1;
    let mut full_errors = 0;
    let mut stopped = None;
    while next < 20_000 {
        let batch: Vec<Fix> = (next..next + 50).map(|i| fix(i, INSIDE)).collect();
        h.clock.set(batch[49].time_ms);
        match g.ingest_batch(&batch) {
            Ok(_) => next += 50,
            Err(Error::Store(StoreError::Full)) => {
                full_errors += 1;
                stopped.get_or_insert(next);
                if full_errors == 5 {
                    break;
                }
            }
            Err(e) => panic!("a full disk must say so, got {e:?}"),
        }
    }
    let stopped = stopped.expect("the disk filled");
    assert_eq!(
        stored_fixes(&h),
        stopped,
        "every acknowledged fix is stored, none of the refused ones"
    );
    // Other recording fails the same way and changes nothing.
    let referral = g.save_referral_draft(
        None,
        &guardian_tests::handset::referral_form("Kim Full", 52.4779, -1.8987),
    );
    assert!(
        matches!(referral, Err(Error::Store(StoreError::Full))),
        "{:?}",
        referral.map(drop)
    );
    assert!(g.referral_drafts().expect("reads still work").is_empty());
    assert!(g.patrol_status().expect("status").is_some(), "the patrol is still open");

    // Space returns: the same batch goes in, the patrol goes on and ends.
    guardian_faultfs::set_quota(None);
    for first in (next..next + 500).step_by(50) {
        let batch: Vec<Fix> = (first..first + 50).map(|i| fix(i, INSIDE)).collect();
        h.clock.set(batch[49].time_ms);
        g.ingest_batch(&batch).expect("recording resumes");
    }
    let end = next + 500;
    h.clock.set(fix(end, INSIDE).time_ms);
    g.check_out(&fix(end, INSIDE)).expect("check out");
    let ok: String = g
        .store()
        .read(|tx| Ok::<_, StoreError>(tx.query_row("PRAGMA integrity_check", [], |r| r.get(0))?))
        .expect("integrity");
    assert_eq!(ok, "ok");

    // Every fix reaches the force once: no outbox row was half-written.
    g.set_online(true).expect("online");
    h.sync_until_drained(10);
    let stats = force.stats();
    assert_eq!(stats.fixes, stored_fixes(&h), "{stats:?}");
    assert_eq!(stats.duplicate_fixes, 0);
    assert_eq!(stats.patrols, 1);
}

#[test]
fn io_errors_on_read_and_write_are_typed_and_harmless() {
    let _turn = exclusive();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("handset.db");
    let clock = std::sync::Arc::new(guardian_core::FixedClock::new(guardian_tests::handset::T0));
    let g = guardian_core::Guardian::open(guardian_core::Config::new(&path), guardian_tests::handset::key(), clock)
        .expect("open");
    g.import_areas_geojson(&guardian_tests::handset::areas_geojson())
        .expect("areas");
    guardian_faultfs::fail_writes(true);
    let err = g.set_officer(&guardian_core::patrol::Officer {
        officer_id: "wm-io".into(),
        display_name: "PC Io".into(),
        rank: guardian_core::patrol::Rank::Constable,
    });
    guardian_faultfs::fail_writes(false);
    assert!(
        matches!(err, Err(Error::Store(StoreError::Sqlite(_)))),
        "{:?}",
        err.map(drop)
    );
    drop(g);
    guardian_faultfs::fail_reads(true);
    let reopened = guardian_core::Guardian::open(
        guardian_core::Config::new(&path),
        guardian_tests::handset::key(),
        std::sync::Arc::new(guardian_core::FixedClock::new(0)),
    );
    guardian_faultfs::fail_reads(false);
    assert!(
        matches!(reopened, Err(Error::Store(StoreError::Sqlite(_)))),
        "{:?}",
        reopened.map(drop)
    );
    let g = guardian_core::Guardian::open(
        guardian_core::Config::new(&path),
        guardian_tests::handset::key(),
        std::sync::Arc::new(guardian_core::FixedClock::new(0)),
    )
    .expect("opens again once the storage answers");
    assert_eq!(g.areas().len(), 1);
    assert!(g.officer().expect("officer").is_none(), "the failed write left nothing");
}
