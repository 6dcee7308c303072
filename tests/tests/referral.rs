//! VRP referrals end to end: made offline on the handset, routed on the real
//! ward boundaries, delivered exactly once, purged once acknowledged, and
//! followed by the Navigator team's status updates.

use std::time::Duration;

use guardian_core::referral::Authority;
use guardian_protocol::referral::ReferralStatus;
use guardian_tests::handset::{Force, Handset, Tokens, referral_form};
use guardian_tests::proxy::{FaultProxy, Plan};

#[test]
fn a_referral_reaches_its_navigator_team_and_its_personal_data_leaves_the_handset() {
    let dir = tempfile::tempdir().expect("tempdir");
    let force = Force::start(dir.path());
    let path = dir.path().join("handset.db");
    let tokens = Tokens::new(force.token(3600), force.token(3600));
    let h = Handset::open(&path, &force.url(), tokens);
    h.provision();
    // Made offline by the Ramp, Birmingham.
    let draft = h
        .guardian
        .save_referral_draft(None, &referral_form("Jordan Zephyrine", 52.4779, -1.8987))
        .expect("draft");
    let receipt = h.guardian.submit_referral(&draft).expect("submit");
    assert_eq!(receipt.authority, Authority::Birmingham);
    assert_eq!(receipt.status, ReferralStatus::Queued);

    let report = h.guardian.sync_now().expect("sync");
    assert_eq!(report.acked, 1);
    let stored = force
        .admin()
        .referrals_for(Authority::Birmingham)
        .expect("navigator view");
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].subject.name, "Jordan Zephyrine");
    assert_eq!(stored[0].reference, receipt.reference);
    assert!(
        force
            .admin()
            .referrals_for(Authority::Coventry)
            .expect("coventry")
            .is_empty()
    );

    // Acknowledged: the receipt stays, the child's details are gone.
    let receipts = h.guardian.referral_receipts().expect("receipts");
    assert_eq!(receipts[0].status, ReferralStatus::Received);
    drop(h);
    assert_no_personal_data(&path, &["Zephyrine", "Tenby Road", "2008-03-02", "07700 900123"]);

    // The Navigator team takes it on; the officer's handset hears.
    let admin = force.admin();
    admin
        .create_navigator("nav-bham-1", "Navigator One", Authority::Birmingham)
        .expect("navigator");
    admin
        .set_referral_status("nav-bham-1", &receipt.id, ReferralStatus::Assigned)
        .expect("assigned");
    let h = Handset::open(&path, &force.url(), Tokens::new(force.token(3600), force.token(3600)));
    h.guardian.sync_now().expect("pull");
    assert_eq!(
        h.guardian.referral_receipts().expect("receipts")[0].status,
        ReferralStatus::Assigned
    );
}

/// Exports the decrypted database to a plaintext copy and searches every
/// byte of it, so nothing in any table can hide the details.
fn assert_no_personal_data(path: &std::path::Path, secrets: &[&str]) {
    let g = guardian_core::Guardian::open(
        guardian_core::Config::new(path),
        guardian_tests::handset::key(),
        std::sync::Arc::new(guardian_core::FixedClock::new(guardian_tests::handset::T0)),
    )
    .expect("open");
    let plain = path.with_extension("plain.db");
    g.store()
        .write(|tx| {
            tx.execute(
                &format!("ATTACH DATABASE '{}' AS plaintext KEY ''", plain.display()),
                [],
            )?;
            tx.query_row("SELECT sqlcipher_export('plaintext')", [], |_| Ok(()))?;
            Ok::<_, guardian_core::store::StoreError>(())
        })
        .ok();
    let bytes = std::fs::read(&plain).expect("plaintext export");
    assert!(
        bytes.windows(15).any(|w| w == b"SQLite format 3"),
        "the export is a readable database"
    );
    for s in secrets {
        assert!(
            !bytes.windows(s.len()).any(|w| w == s.as_bytes()),
            "{s} is still in the database"
        );
    }
}

#[test]
fn referrals_arrive_exactly_once_through_a_hostile_network() {
    for seed in [3u64, 8, 21] {
        let dir = tempfile::tempdir().expect("tempdir");
        let force = Force::start(dir.path());
        let proxy = FaultProxy::start(force.addr(), Plan::Clean, Duration::from_millis(2_000));
        let h = Handset::open(
            &dir.path().join("handset.db"),
            &proxy.url(),
            Tokens::new(force.token(3600), force.token(3600)),
        );
        h.provision();
        proxy.set_plan(Plan::chaos(seed));
        let places = [
            (52.4797, -1.9026, Authority::Birmingham),
            (52.4081, -1.5106, Authority::Coventry),
            (52.5862, -2.1288, Authority::Wolverhampton),
            (52.5860, -1.9829, Authority::Walsall),
        ];
        for (i, (lat, lon, _)) in places.iter().cycle().take(12).enumerate() {
            let d = h
                .guardian
                .save_referral_draft(None, &referral_form(&format!("Young Person {i}"), *lat, *lon))
                .expect("draft");
            h.guardian.submit_referral(&d).expect("submit");
        }
        h.patrol_offline(0, 700);
        h.sync_until_drained(200);
        assert_eq!(force.stats().referrals, 12, "seed {seed}: {:?}", proxy.counts());
        for (_, _, a) in places {
            assert_eq!(
                force.admin().referrals_for(a).expect("view").len(),
                3,
                "seed {seed}: {a}"
            );
        }
        assert!(
            h.guardian
                .referral_receipts()
                .expect("r")
                .iter()
                .all(|r| r.status == ReferralStatus::Received)
        );
    }
}
