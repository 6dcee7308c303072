//! No personal data in the server's logs: every tracing event and span
//! field during a referral's whole life on the server (upload, retry,
//! refusals, receipts, the Navigator's view and updates, sync) is captured,
//! and the subject's name, date of birth, address and the narrative never
//! appear. One test in its own binary: the capturing subscriber is global.

mod common;

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use common::*;
use guardian_backend::Role;
use guardian_protocol::referral::Authority;
use guardian_protocol::referral::{
    AuthoritySource, ConsentState, ConsentWire, LocationWire, ReasonCode, ReasonWire, ReferralRecord, SubjectWire,
    Urgency,
};
use serde_json::json;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

const NAME: &str = "Tamsin Okonkwo-Logcheck";
const DOB: &str = "2011-09-02";
const ADDRESS: &str = "3 Heronsgate Walk, Tile Cross";
const NARRATIVE: &str = "Disclosed she was being sent to run errands for older boys in another town.";

/// Writes every field of every event and span into one string.
struct Capture(Arc<Mutex<String>>);

struct Fields<'a>(&'a mut String);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, " {}={:?}", field.name(), value);
    }
}

impl Capture {
    fn take(&self, f: impl FnOnce(&mut Fields<'_>)) {
        let mut out = self.0.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut Fields(&mut out));
        out.push('\n');
    }
}

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &Attributes<'_>) -> Id {
        self.take(|v| span.record(v));
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, values: &Record<'_>) {
        self.take(|v| values.record(v));
    }
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        self.take(|v| {
            let _ = write!(v.0, "{}:", event.metadata().target());
            event.record(v);
        });
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

fn referral(id: &str) -> ReferralRecord {
    ReferralRecord {
        id: id.into(),
        format: 1,
        reference: format!("VRP-{id}"),
        officer_id: "pc-a".into(),
        created_ms: T0,
        authority: "birmingham".into(),
        authority_source: AuthoritySource::Routed,
        reasons: vec![ReasonWire {
            code: ReasonCode::GangAssociation,
            text: None,
        }],
        urgency: Urgency::Urgent,
        consent: ConsentWire {
            state: ConsentState::Refused,
            reason: Some("Did not want her mother told".into()),
        },
        safeguarding_concern: true,
        narrative: NARRATIVE.into(),
        subject: SubjectWire {
            name: NAME.into(),
            date_of_birth: Some(DOB.into()),
            estimated_age: None,
            address: Some(ADDRESS.into()),
            school: None,
            carer_contact: None,
        },
        location: LocationWire {
            time_ms: T0,
            lat: 52.4797,
            lon: -1.9026,
            accuracy_m: 8.0,
        },
        patrol_id: None,
        area_id: None,
    }
}

#[test]
fn a_referrals_life_on_the_server_leaves_no_personal_data_in_the_logs() {
    let log = Arc::new(Mutex::new(String::new()));
    tracing::subscriber::set_global_default(Capture(log.clone())).expect("the only subscriber");

    let w = World::new();
    let b = w.open_backend();
    b.create_navigator("nav-bham", "Navigator Birmingham", Authority::Birmingham)
        .expect("navigator");
    let nav = b.issue_token("nav-bham", Role::Navigator, 3600).expect("token");
    let post = |r: &ReferralRecord| {
        w.http
            .post(w.url("/v1/referrals"))
            .bearer_auth(&w.a)
            .json(r)
            .send()
            .expect("send")
    };

    assert_eq!(ok_json(post(&referral("ref-1")))["status"], "stored");
    assert_eq!(ok_json(post(&referral("ref-1")))["status"], "duplicate");
    let mut bad = referral("ref-2");
    bad.subject.date_of_birth = Some("2999-01-01".into());
    assert_error(post(&bad), 422, "bad-referral");
    let mut bad = referral("ref-3");
    bad.subject.name = format!("{NAME} ").repeat(10);
    assert_error(post(&bad), 422, "bad-referral");
    let mut wrong = serde_json::to_value(referral("ref-4")).expect("json");
    wrong["subject"]["estimated_age"] = json!(NAME);
    assert_error(w.post(&w.a, "/v1/referrals", &wrong), 400, "bad-request");

    ok_json(w.get(&w.a, "/v1/me/referrals"));
    ok_json(w.get(&nav, "/v1/navigator/referrals"));
    for status in ["assigned", "contacted", "closed"] {
        ok_json(w.post(
            &nav,
            "/v1/navigator/referrals/ref-1/status",
            &json!({ "status": status }),
        ));
    }
    assert_error(
        w.post(
            &nav,
            "/v1/navigator/referrals/ref-1/status",
            &json!({ "status": "assigned" }),
        ),
        409,
        "bad-transition",
    );
    ok_json(w.get(&w.a, "/v1/sync"));
    drop(w);

    let text = log.lock().unwrap_or_else(|p| p.into_inner()).clone();
    assert!(text.contains("ref-1"), "the capture works and ids are logged:\n{text}");
    for personal in [
        NAME,
        "Tamsin",
        "Okonkwo",
        DOB,
        ADDRESS,
        "Heronsgate",
        NARRATIVE,
        "errands",
        "mother",
    ] {
        assert!(!text.contains(personal), "{personal:?} in the logs:\n{text}");
    }
}
