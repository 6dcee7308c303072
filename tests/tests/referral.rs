//! VRP referrals end to end: made offline on the handset, routed on the real
//! ward boundaries, delivered exactly once, purged once acknowledged, and
//! followed by the Navigator team's status updates.

use std::time::Duration;

use guardian_backend::{Caller, Role};
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
        .set_referral_status(
            &Caller::local("nav-bham-1", Role::Navigator, "test"),
            &receipt.id,
            ReferralStatus::Assigned,
        )
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

/// The handset's form and the force's server check a referral with the same
/// rules (`guardian_protocol::referral`): each mistake, made once on the
/// form and once in an upload, gets the same fields and problems from both.
#[test]
fn the_handset_and_the_force_name_the_same_fields_for_the_same_mistakes() {
    use guardian_core::referral::{Consent, Reason, ReferralForm, ValidReferral, form, record};
    use guardian_protocol::rules::FieldError;
    use guardian_tests::handset::OFFICER;

    let dir = tempfile::tempdir().expect("tempdir");
    let force = Force::start(dir.path());
    let token = force.token(3600);
    let http = reqwest::blocking::Client::new();
    let now = chrono::Utc::now().timestamp_millis();
    let today = guardian_protocol::time::london_date(now).expect("today");

    type Mistake = fn(&mut ReferralForm);
    let mistakes: Vec<(&str, Mistake)> = vec![
        ("long name", |f| f.subject.name = "n".repeat(101)),
        ("control in name", |f| f.subject.name = "Jordan\u{7}".into()),
        ("long school", |f| f.subject.school = Some("s".repeat(301))),
        ("long address", |f| f.subject.address = Some("a\n".repeat(160))),
        ("control in carer contact", |f| {
            f.subject.carer_contact = Some("mum\u{1b}[31m".into())
        }),
        ("date that is no date", |f| {
            f.subject.date_of_birth = Some("31/02/20".into())
        }),
        ("born in the future", |f| {
            f.subject.date_of_birth = Some("2999-01-01".into())
        }),
        ("too old", |f| f.subject.date_of_birth = Some("1990-01-01".into())),
        ("age out of range", |f| {
            f.subject.date_of_birth = None;
            f.subject.estimated_age = Some(40)
        }),
        ("age against date of birth", |f| f.subject.estimated_age = Some(9)),
        ("no age at all", |f| f.subject.date_of_birth = None),
        ("short narrative", |f| f.narrative = "too short".into()),
        ("long narrative", |f| f.narrative = "x".repeat(4_001)),
        ("no reasons", |f| f.reasons.clear()),
        ("a reason twice", |f| f.reasons.push(Reason::KnifeCarrying)),
        ("other without words", |f| f.reasons.push(Reason::Other(" ".into()))),
        ("long other", |f| f.reasons.push(Reason::Other("o".repeat(301)))),
        ("no consent, no reason, no safeguarding", |f| {
            f.consent = Some(Consent::Refused(String::new()))
        }),
        ("no consent, long reason", |f| {
            f.consent = Some(Consent::NotSought("r\n".repeat(151)));
            f.safeguarding_concern = true
        }),
        ("off the earth", |f| {
            if let Some(l) = f.location.as_mut() {
                l.lat = 91.0;
            }
        }),
    ];
    let sorted = |mut v: Vec<FieldError>| {
        v.sort_by(|a, b| (&a.field, format!("{:?}", a.problem)).cmp(&(&b.field, format!("{:?}", b.problem))));
        v
    };
    for (i, (what, mistake)) in mistakes.into_iter().enumerate() {
        let mut f = referral_form("Jordan Example", 52.4797, -1.9026);
        mistake(&mut f);
        let handset =
            form::validate(&f, today, Some(Authority::Birmingham), "outside").expect_err("the handset refuses it");

        // The same values, sent as the record a handset would build.
        let location = f.location.expect("a location");
        let valid = ValidReferral {
            form: f.clone(),
            location,
            consent: f.consent.clone().unwrap_or(Consent::Given),
            urgency: f.urgency.expect("urgency"),
            authority: Authority::Birmingham,
            routed: true,
        };
        let id = format!("0190a0b0-0000-7000-8000-{i:012}");
        let rec = record::to_record(
            &valid,
            &record::Made {
                id: &id,
                officer_id: OFFICER,
                now_ms: now,
                patrol_id: None,
                area_id: None,
            },
        );
        let resp = http
            .post(format!("{}/v1/referrals", force.url()))
            .bearer_auth(&token)
            .json(&rec)
            .send()
            .expect("post");
        assert_eq!(resp.status().as_u16(), 422, "{what}");
        let body: guardian_protocol::wire::ApiError = resp.json().expect("ApiError");
        assert_eq!(body.error, "bad-referral", "{what}");
        assert_eq!(sorted(body.fields), sorted(handset), "{what}");
    }
    assert_eq!(force.stats().referrals, 0, "nothing was stored");
}

/// A referral the force refuses for good (here: sent under another
/// officer's token, so its officer is not the token's) comes back to the
/// drafts as it was, to correct and send anew; no receipt, nothing stuck in
/// the outbox, and sign-out is not blocked by it.
#[test]
fn a_referral_refused_for_good_becomes_a_draft_again() {
    let dir = tempfile::tempdir().expect("tempdir");
    let force = Force::start(dir.path());
    let path = dir.path().join("handset.db");
    // A short-lived first token: once it lapses the core refreshes, and the
    // refresh hands it the other officer's.
    let tokens = Tokens::new(force.token(2), force.token(3600));
    let h = Handset::open(&path, &force.url(), tokens.clone());
    h.provision();
    let form = referral_form("Jordan Zephyrine", 52.4779, -1.8987);
    let draft = h.guardian.save_referral_draft(None, &form).expect("draft");
    let receipt = h.guardian.submit_referral(&draft).expect("submit");
    assert!(h.guardian.referral_drafts().expect("drafts").is_empty());

    let admin = force.admin();
    admin
        .create_officer("wm-7777", "PC Other", guardian_core::patrol::Rank::Constable)
        .expect("officer");
    let other = admin.issue_token("wm-7777", Role::Officer, 3600).expect("token");
    *tokens.token.lock().expect("lock") = other.clone();
    *tokens.fresh.lock().expect("lock") = other;
    std::thread::sleep(Duration::from_millis(3_100));
    let report = h.guardian.sync_now().expect("sync");
    assert_eq!((report.acked, report.rejected), (0, 1), "{report:?}");
    assert_eq!(admin.referral_count().expect("count"), 0);

    let drafts = h.guardian.referral_drafts().expect("drafts");
    assert_eq!(drafts.len(), 1);
    assert_eq!(drafts[0].id, receipt.id, "back under its own id");
    let why = drafts[0]
        .refused
        .as_deref()
        .expect("the force's reason, beside the draft");
    assert!(
        why.starts_with("Returned by the force: ") && !why.contains("Jordan"),
        "{why}"
    );
    let back = h.guardian.referral_draft(&receipt.id).expect("the form");
    assert_eq!(back.subject, form.subject);
    assert_eq!(back.reasons, form.reasons);
    assert_eq!(back.narrative.trim(), form.narrative.trim());
    assert_eq!(back.consent, form.consent);
    assert_eq!(
        back.location.map(|f| (f.lat, f.lon)),
        form.location.map(|f| (f.lat, f.lon))
    );
    assert!(h.guardian.referral_receipts().expect("receipts").is_empty());
    let status = h.guardian.sync_status().expect("status");
    assert_eq!((status.pending, status.rejected), (0, 0), "{status:?}");

    // Sent again (the pull above made the token's officer the handset's),
    // it arrives once, as a new referral.
    let officer = h.guardian.officer().expect("officer").expect("signed in");
    assert_eq!(officer.officer_id, "wm-7777");
    let again = h.guardian.submit_referral(&receipt.id).expect("resubmit");
    assert_ne!(again.id, receipt.id, "a new referral, a new id");
    assert_eq!(h.guardian.sync_now().expect("sync").acked, 1);
    assert_eq!(admin.referral_count().expect("count"), 1);
    assert!(h.guardian.referral_drafts().expect("drafts").is_empty());
}
