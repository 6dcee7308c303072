use std::path::PathBuf;
use std::sync::Arc;

use super::*;
use crate::clock::FixedClock;
use crate::patrol::{Fix, Officer, Rank};
use crate::referral::{
    Authority, Consent, FieldProblem, Reason, ReferralError, ReferralForm, Subject, Urgency,
    authority::boundaries_from_ward_files,
};
use crate::store::{DbKey, StoreError};
use guardian_protocol::referral::{Outcome, ReferralStatus, ReferralUpdate};
use guardian_protocol::wire::SyncReply;

const T0: i64 = 1_689_375_000_000; // Fri 14 July 2023, 23:50 BST

struct Phone {
    _dir: tempfile::TempDir,
    path: PathBuf,
    clock: Arc<FixedClock>,
    g: Guardian,
}

fn key() -> DbKey {
    DbKey::from_bytes([5; 32]).expect("key")
}

fn fixtures() -> PathBuf {
    std::env::var_os("GUARDIAN_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures"))
}

fn pull(g: &Guardian, boundaries: Option<serde_json::Value>, updates: Vec<ReferralUpdate>) {
    g.apply_reply(SyncReply {
        cursor: "c".into(),
        officer: None,
        areas: None,
        assignments: None,
        commands: vec![],
        boundaries,
        referral_updates: updates,
    })
    .expect("pull");
}

fn phone(with_boundaries: bool) -> Phone {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("g.db");
    let clock = Arc::new(FixedClock::new(T0));
    let g = Guardian::open(Config::new(&path), key(), clock.clone()).expect("open");
    g.set_officer(&Officer {
        officer_id: "wm-4471".into(),
        display_name: "PC Test".into(),
        rank: Rank::Constable,
    })
    .expect("officer");
    if with_boundaries {
        let text = boundaries_from_ward_files(&fixtures().join("boundaries")).expect("wards");
        pull(&g, Some(serde_json::from_str(&text).expect("json")), vec![]);
    }
    Phone {
        _dir: dir,
        path,
        clock,
        g,
    }
}

impl Phone {
    fn reopen(self) -> Phone {
        let Phone { _dir, path, clock, g } = self;
        drop(g);
        let g = Guardian::open(Config::new(&path), key(), clock.clone()).expect("reopen");
        Phone { _dir, path, clock, g }
    }

    fn count(&self, sql: &str) -> i64 {
        self.g
            .store()
            .read(|tx| Ok::<_, StoreError>(tx.query_row(sql, [], |r| r.get(0))?))
            .expect("count")
    }
}

fn form_at(lat: f64, lon: f64) -> ReferralForm {
    ReferralForm {
        subject: Subject {
            name: "Jordan Example".into(),
            date_of_birth: Some("2008-03-02".into()),
            estimated_age: None,
            address: Some("12 Example Road".into()),
            school: None,
            carer_contact: None,
        },
        reasons: vec![Reason::KnifeCarrying],
        narrative: "Found carrying a kitchen knife by the Ramp; says he is scared of a group from another area.".into(),
        consent: Some(Consent::Given),
        safeguarding_concern: false,
        urgency: Some(Urgency::Urgent),
        location: Some(Fix::new(T0, 9_000_000_000, lat, lon, 6.0)),
        authority_choice: None,
    }
}

#[test]
fn a_draft_saved_edit_by_edit_survives_the_app_being_killed() {
    let p = phone(true);
    let mut form = ReferralForm::default();
    form.subject.name = "Jordan Example".into();
    let id = p.g.save_referral_draft(None, &form).expect("first edit");
    form.reasons.push(Reason::GangAssociation);
    assert_eq!(p.g.save_referral_draft(Some(&id), &form).expect("second edit"), id);
    let p = p.reopen();
    assert_eq!(p.g.referral_draft(&id).expect("draft"), form);
    assert_eq!(p.g.referral_drafts().expect("list").len(), 1);
}

#[test]
fn an_old_draft_warns_first_then_is_discarded() {
    let p = phone(true);
    let id = p.g.save_referral_draft(None, &form_at(52.48, -1.90)).expect("draft");
    p.clock
        .advance(crate::referral::DRAFT_RETENTION_MS - crate::referral::DRAFT_WARNING_MS + 60_000);
    let list = p.g.referral_drafts().expect("list");
    assert_eq!(list[0].id, id);
    assert!(
        list[0].warning.as_deref().is_some_and(|w| w.contains("discarded")),
        "{list:?}"
    );
    p.clock.advance(crate::referral::DRAFT_WARNING_MS);
    assert!(p.g.referral_drafts().expect("list").is_empty());
    assert!(matches!(
        p.g.referral_draft(&id),
        Err(crate::Error::Referral(ReferralError::UnknownDraft))
    ));
}

#[test]
fn an_invalid_referral_returns_every_field_error_and_queues_nothing() {
    let p = phone(true);
    let mut form = form_at(52.48, -1.90);
    form.subject.date_of_birth = Some("2031-01-01".into());
    form.reasons.clear();
    form.narrative = "x".repeat(10_000);
    let id = p.g.save_referral_draft(None, &form).expect("draft");
    let err = p.g.submit_referral(&id).expect_err("invalid");
    let crate::Error::Referral(ReferralError::Invalid(errors)) = err else {
        panic!("{err:?}")
    };
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["subject.date_of_birth", "reasons", "narrative"]);
    assert_eq!(p.count("SELECT count(*) FROM outbox"), 0);
    assert_eq!(p.count("SELECT count(*) FROM referrals"), 0);
    assert!(p.g.referral_draft(&id).is_ok(), "the draft stays to be fixed");
}

#[test]
fn a_valid_referral_is_routed_queued_once_and_leaves_a_receipt() {
    let p = phone(true);
    let id =
        p.g.save_referral_draft(None, &form_at(52.4081, -1.5106))
            .expect("draft");
    let receipt = p.g.submit_referral(&id).expect("submit");
    assert_eq!(receipt.authority, Authority::Coventry);
    assert_eq!(receipt.status, ReferralStatus::Queued);
    assert!(
        receipt.reference.starts_with("VRP-") && receipt.reference.len() == 12,
        "{}",
        receipt.reference
    );
    assert_eq!(
        receipt.reasons,
        [guardian_protocol::referral::ReasonCode::KnifeCarrying]
    );
    assert_eq!(p.count("SELECT count(*) FROM outbox WHERE kind = 'referral'"), 1);
    assert_eq!(p.count("SELECT count(*) FROM referral_drafts"), 0);
    assert!(matches!(
        p.g.submit_referral(&id),
        Err(crate::Error::Referral(ReferralError::UnknownDraft))
    ));
    assert_eq!(p.g.referral_receipts().expect("receipts"), vec![receipt]);
}

#[test]
fn outside_all_seven_the_officer_chooses_and_is_told_why() {
    let p = phone(true);
    let leicester = form_at(52.6309, -1.1398);
    let preview = p.g.route_referral(52.6309, -1.1398);
    assert_eq!(preview.authority, None);
    assert!(preview.needs_choice.as_deref().is_some_and(|w| w.contains("outside")));
    let id = p.g.save_referral_draft(None, &leicester).expect("draft");
    let err = p.g.submit_referral(&id).expect_err("needs a choice");
    let crate::Error::Referral(ReferralError::Invalid(errors)) = err else {
        panic!("{err:?}")
    };
    assert!(
        matches!(&errors[..], [e] if e.field == "authority" && matches!(e.problem, FieldProblem::ChooseAuthority(_)))
    );
    let mut chosen = leicester;
    chosen.authority_choice = Some(Authority::Walsall);
    p.g.save_referral_draft(Some(&id), &chosen).expect("edit");
    assert_eq!(p.g.submit_referral(&id).expect("submit").authority, Authority::Walsall);
}

#[test]
fn without_boundary_data_the_form_says_so() {
    let p = phone(false);
    let preview = p.g.route_referral(52.48, -1.90);
    assert!(
        preview
            .needs_choice
            .as_deref()
            .is_some_and(|w| w.contains("not been downloaded"))
    );
}

#[test]
fn navigator_updates_move_the_receipt_forward_only_and_are_told_once() {
    #[derive(Default)]
    struct Heard(std::sync::Mutex<Vec<crate::events::Event>>);
    impl crate::events::EventListener for Heard {
        fn on_event(&self, e: crate::events::Event) {
            self.0.lock().unwrap_or_else(|p| p.into_inner()).push(e);
        }
    }
    let p = phone(true);
    let heard = Arc::new(Heard::default());
    p.g.set_listener(Some(heard.clone()));
    let id = p.g.save_referral_draft(None, &form_at(52.48, -1.90)).expect("draft");
    let r = p.g.submit_referral(&id).expect("submit");
    let up = |status| ReferralUpdate {
        referral_id: r.id.clone(),
        status,
        time_ms: T0 + 60_000,
        authority: None,
        outcome: None,
    };
    pull(&p.g, None, vec![up(ReferralStatus::Assigned)]);
    pull(
        &p.g,
        None,
        vec![up(ReferralStatus::Assigned), up(ReferralStatus::Received)],
    );
    let receipts = p.g.referral_receipts().expect("receipts");
    assert_eq!(receipts[0].status, ReferralStatus::Assigned);
    assert_eq!(heard.0.lock().expect("lock").len(), 1, "told once");
    // An update proves the force has it: the personal part is gone.
    assert_eq!(p.count("SELECT count(*) FROM referrals WHERE personal IS NOT NULL"), 0);

    // Transferred to Coventry: it restarts at received there, the handset
    // keeps its furthest status and shows the team that holds it now.
    let moved = ReferralUpdate {
        authority: Some("coventry".into()),
        ..up(ReferralStatus::Received)
    };
    pull(&p.g, None, vec![moved]);
    let receipts = p.g.referral_receipts().expect("receipts");
    assert_eq!(receipts[0].authority, Authority::Coventry);
    assert_eq!(receipts[0].status, ReferralStatus::Assigned);
    assert_eq!(receipts[0].outcome, None);

    // Closed with an outcome: the code is kept, told once however often it
    // arrives.
    let told = heard.0.lock().expect("lock").len();
    let closed = ReferralUpdate {
        outcome: Some(Outcome::Engaged),
        ..up(ReferralStatus::Closed)
    };
    pull(&p.g, None, vec![closed.clone(), closed]);
    let receipts = p.g.referral_receipts().expect("receipts");
    assert_eq!(
        (receipts[0].status, receipts[0].outcome),
        (ReferralStatus::Closed, Some(Outcome::Engaged))
    );
    assert_eq!(heard.0.lock().expect("lock").len(), told + 1);
}
