//! A damaged store is told apart from a wrong key, and recovered: what the
//! officer did and the force has not yet received is read back out, the
//! damaged file is moved aside, and the next sync delivers what was saved —
//! once, whatever the damage.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use guardian_core::store::{DbKey, StoreError};
use guardian_core::{Config, Error, FixedClock, Guardian};
use guardian_tests::handset::{Force, Handset, T0, Tokens, key, referral_form};

const PAGE: usize = 4096;

/// A handset whose work has not reached the force: two patrols and three
/// referrals, made offline. Returns the file (closed, log checkpointed into
/// it) and how many records wait in its outbox.
fn offline_handset(dir: &Path, force: &Force) -> (PathBuf, usize) {
    let path = dir.join("handset.db");
    let h = Handset::provisioned(&path, force);
    h.guardian.set_online(false).expect("offline");
    h.patrol_offline(0, 400);
    h.patrol_offline(1_000, 300);
    for name in ["Jordan Zephyrine", "Alex Quillfeather", "Sam Brightwater"] {
        let draft = h
            .guardian
            .save_referral_draft(None, &referral_form(name, 52.4779, -1.8987))
            .expect("draft");
        h.guardian.submit_referral(&draft).expect("submit");
    }
    h.guardian
        .save_referral_draft(None, &referral_form("Robin Unsent", 52.4779, -1.8987))
        .expect("a draft kept as a draft");
    let pending = h.pending();
    h.guardian.stop_sync();
    drop(h);
    (path, pending)
}

fn open(path: &Path, key: DbKey) -> Result<Guardian, Error> {
    Guardian::open(Config::new(path), key, Arc::new(FixedClock::new(T0)))
}

fn wrong_key() -> DbKey {
    DbKey::from_bytes([9; 32]).expect("key")
}

/// Flips 16 bytes at `offset` of a copy of `original`.
fn damaged_copy(original: &Path, dir: &Path, offset: usize) -> PathBuf {
    let path = dir.join(format!("damaged-{offset}.db"));
    let mut bytes = std::fs::read(original).expect("read");
    for b in bytes.iter_mut().skip(offset).take(16) {
        *b ^= 0xA5;
    }
    std::fs::write(&path, bytes).expect("write");
    std::fs::copy(
        guardian_core::store::keycheck::path_for(original),
        guardian_core::store::keycheck::path_for(&path),
    )
    .expect("key check copied with the file");
    path
}

/// Everything a screen would read after opening; each must answer or say
/// the store is damaged, never anything else and never panic.
fn read_everything(g: &Guardian) -> Vec<Result<(), Error>> {
    vec![
        g.sync_status().map(drop),
        g.referral_receipts().map(drop),
        g.referral_drafts().map(drop),
        g.compliance_summary().map(drop),
        g.todays_assignments().map(drop),
        g.officer().map(drop),
    ]
}

#[test]
fn a_damaged_file_is_not_a_wrong_key_at_any_offset_and_recovery_delivers_what_was_saved() {
    let dir = tempfile::tempdir().expect("tempdir");
    let force = Force::start(dir.path());
    let (original, pending) = offline_handset(dir.path(), &force);
    assert!(pending >= 8, "two patrols and three referrals wait: {pending}");
    let size = std::fs::metadata(&original).expect("size").len() as usize;
    let pages = size / PAGE;
    assert!(pages >= 10, "a realistic file: {pages} pages");

    // Across page 1 (salt, header, schema, IV, HMAC), then every other
    // page at its start, middle or end in turn.
    let mut offsets: Vec<usize> = (0..PAGE).step_by(512).collect();
    offsets.extend([PAGE - 80, PAGE - 64, PAGE - 16]);
    for p in 1..pages {
        offsets.push(p * PAGE + [0, PAGE / 2, PAGE - 40][p % 3]);
    }

    let mut opened_whole = 0;
    let mut refused_as_corrupt = 0;
    let mut recovered_outbox_whole = 0;
    for (n, &offset) in offsets.iter().enumerate() {
        let path = damaged_copy(&original, dir.path(), offset);
        // A wrong key is a wrong key, damaged file or not; nothing moves.
        match open(&path, wrong_key()) {
            Err(Error::Store(StoreError::WrongKey)) => {}
            other => panic!("offset {offset}: wrong key answered {:?}", other.map(|_| ())),
        }
        assert!(
            matches!(
                guardian_core::store::recover(&path, &wrong_key()),
                Err(StoreError::WrongKey)
            ),
            "offset {offset}: recovery refuses a wrong key"
        );
        assert!(path.exists(), "offset {offset}: a wrong key moved nothing aside");

        // The right key: it opens (the damage is where opening does not
        // look) or says Corrupt — never WrongKey.
        match open(&path, key()) {
            Ok(g) => {
                opened_whole += 1;
                for r in read_everything(&g) {
                    match r {
                        Ok(()) | Err(Error::Store(StoreError::Corrupt(_))) => {}
                        Err(e) => panic!("offset {offset}: a read failed with {e:?}"),
                    }
                }
            }
            Err(Error::Store(StoreError::Corrupt(_))) => refused_as_corrupt += 1,
            Err(e) => panic!("offset {offset}: the right key answered {e:?}"),
        }

        // Recovery, then a sync: what was saved reaches the force once.
        // Every tenth damaged file is synced (a sync per file would make
        // this test minutes long); all are recovered and reopened.
        let salvage = guardian_core::store::recover(&path, &key()).expect("recover");
        assert!(
            salvage.damaged_copy.exists(),
            "offset {offset}: the damaged file is kept aside"
        );
        let g = open(&path, key()).expect("a recovered store opens");
        let status = g.sync_status().expect("status");
        assert_eq!(status.pending as u64, salvage.unsent_records, "offset {offset}");
        if !salvage.damaged_tables.iter().any(|t| t == "outbox") {
            recovered_outbox_whole += 1;
            assert_eq!(
                status.pending, pending,
                "offset {offset}: the outbox was readable, all of it is kept"
            );
        }
        drop(g);
        if n % 10 == 0 {
            let h = Handset::open(&path, &force.url(), Tokens::new(force.token(3600), force.token(3600)));
            h.sync_until_drained(20);
            h.guardian.stop_sync();
        }
        std::fs::remove_file(&salvage.damaged_copy).ok();
    }
    let stats = force.stats();
    assert_eq!(stats.duplicate_fixes, 0, "nothing stored twice");
    // The referrals all went with the first recovered copy (offset 0 damages
    // page 1: nothing readable, nothing sent) or a later one, each once.
    assert_eq!(stats.referrals, 3, "{stats:?}");
    eprintln!(
        "{} damaged files: {opened_whole} opened, {refused_as_corrupt} refused as corrupt; \
         outbox recovered whole from {recovered_outbox_whole}",
        offsets.len()
    );
    assert!(refused_as_corrupt >= 11, "page-1 damage is reported as damage");
    assert!(
        recovered_outbox_whole > offsets.len() / 2,
        "most damage spares the outbox"
    );
}

#[test]
fn a_store_made_before_the_key_check_still_tells_a_wrong_key_and_gains_the_check_on_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("old.db");
    drop(open(&path, key()).expect("create"));
    let check = guardian_core::store::keycheck::path_for(&path);
    std::fs::remove_file(&check).expect("as if made by an older build");
    // No check value: a wrong key cannot be told from damage, so it is the
    // answer that changes nothing; recovery refuses too.
    assert!(matches!(
        open(&path, wrong_key()),
        Err(Error::Store(StoreError::WrongKey))
    ));
    assert!(matches!(
        guardian_core::store::recover(&path, &wrong_key()),
        Err(StoreError::WrongKey)
    ));
    assert!(path.exists() && !check.exists());
    // The next good open writes it.
    drop(open(&path, key()).expect("right key"));
    assert!(check.exists());
    let mut bytes = std::fs::read(&path).expect("read");
    for b in bytes.iter_mut().take(64) {
        *b ^= 0xFF;
    }
    std::fs::write(&path, bytes).expect("damage page 1");
    assert!(matches!(open(&path, key()), Err(Error::Store(StoreError::Corrupt(_)))));
    assert!(matches!(
        open(&path, wrong_key()),
        Err(Error::Store(StoreError::WrongKey))
    ));
}

#[test]
fn sign_out_removes_damaged_copies_left_by_a_recovery() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("h.db");
    drop(open(&path, key()).expect("create"));
    let mut bytes = std::fs::read(&path).expect("read");
    bytes[100] ^= 0xFF;
    std::fs::write(&path, bytes).expect("damage");
    let salvage = guardian_core::store::recover(&path, &key()).expect("recover");
    assert!(salvage.damaged_copy.exists());
    let g = open(&path, key()).expect("open");
    g.sign_out(false).expect("nothing unsynced");
    assert!(
        !salvage.damaged_copy.exists(),
        "the encrypted copy goes with the officer's data"
    );
}

#[test]
fn recovering_an_undamaged_store_keeps_every_table_whole() {
    let dir = tempfile::tempdir().expect("tempdir");
    let force = Force::start(dir.path());
    let (original, pending) = offline_handset(dir.path(), &force);
    let salvage = guardian_core::store::recover(&original, &key()).expect("recover");
    assert!(salvage.damaged_tables.is_empty(), "{:?}", salvage.damaged_tables);
    assert_eq!(salvage.unsent_records as usize, pending);
    assert!(salvage.rows["fixes"] >= 700, "{:?}", salvage.rows);
    let g = open(&original, key()).expect("open");
    assert_eq!(g.sync_status().expect("status").pending, pending);
    assert_eq!(g.referral_drafts().expect("drafts").len(), 1);
}

#[test]
fn recovery_is_refused_while_the_store_is_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("h.db");
    let g = open(&path, key()).expect("open");
    assert!(matches!(
        guardian_core::store::recover(&path, &key()),
        Err(StoreError::InUse)
    ));
    drop(g);
    guardian_core::store::recover(&path, &key()).expect("closed: allowed");
}

#[test]
fn a_recovery_cut_short_is_finished_or_undone_at_the_next_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("h.db");
    drop(open(&path, key()).expect("create"));
    let mut bytes = std::fs::read(&path).expect("read");
    bytes[100] ^= 0xFF;
    std::fs::write(&path, &bytes).expect("damage");
    let suffixed = |s: &str| {
        let mut p = path.as_os_str().to_owned();
        p.push(s);
        PathBuf::from(p)
    };

    // Cut while the clean copy was being built (no swap marker): the copy
    // is discarded and the original is as it was.
    std::fs::write(suffixed(".recovering"), b"half a store").expect("partial build");
    assert!(matches!(open(&path, key()), Err(Error::Store(StoreError::Corrupt(_)))));
    assert!(!suffixed(".recovering").exists());
    assert_eq!(std::fs::read(&path).expect("read"), bytes);

    // Cut after the copy was complete (marker written), before the swap:
    // the next open finishes it.
    let other = dir.path().join("clean.db");
    {
        let g = open(&other, key()).expect("clean");
        g.set_officer(&guardian_core::patrol::Officer {
            officer_id: "wm-kept".into(),
            display_name: "PC Kept".into(),
            rank: guardian_core::patrol::Rank::Constable,
        })
        .expect("officer");
    }
    std::fs::rename(&other, suffixed(".recovering")).expect("as if built");
    std::fs::write(suffixed(".recovering-swap"), b"h.db.damaged-1").expect("marker");
    let g = open(&path, key()).expect("the swap is finished at open");
    assert_eq!(
        g.officer().expect("officer").map(|o| o.officer_id).as_deref(),
        Some("wm-kept")
    );
    assert_eq!(std::fs::read(dir.path().join("h.db.damaged-1")).expect("aside"), bytes);
    assert!(!suffixed(".recovering-swap").exists() && !suffixed(".recovering").exists());
}
