//! Referral fixtures shared by the referral suites: one valid referral
//! about an invented child, its personal strings, two Navigator teams.

use std::path::PathBuf;

use guardian_backend::Role;
use guardian_core::referral::authority::{Authority, boundaries_from_ward_files};
use guardian_protocol::referral::{
    AuthoritySource, ConsentState, ConsentWire, LocationWire, ReasonCode, ReasonWire, ReferralRecord, SubjectWire,
    Urgency,
};
use serde_json::json;

use super::{T0, World, ok_json};

pub const NAME: &str = "Jaydon Whitlock-Testcase";
pub const DOB: &str = "2010-04-17";
pub const ADDRESS: &str = "14 Larkspur Close, Erdington";
pub const NARRATIVE: &str = "Seen with a group outside the shops; said he had been asked to carry a parcel.";

pub fn fixtures() -> PathBuf {
    std::env::var_os("GUARDIAN_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/fixtures")))
}

pub fn authorities_json() -> String {
    boundaries_from_ward_files(&fixtures().join("boundaries")).expect("ward files")
}

/// A valid referral by `officer` to `authority`, made at Victoria Square.
pub fn referral(id: &str, officer: &str, authority: &str) -> ReferralRecord {
    ReferralRecord {
        id: id.into(),
        format: 1,
        reference: format!("VRP-{id}"),
        officer_id: officer.into(),
        created_ms: T0,
        authority: authority.into(),
        authority_source: AuthoritySource::Routed,
        reasons: vec![
            ReasonWire {
                code: ReasonCode::KnifeCarrying,
                text: None,
            },
            ReasonWire {
                code: ReasonCode::CriminalExploitation,
                text: None,
            },
        ],
        urgency: Urgency::Priority,
        consent: ConsentWire {
            state: ConsentState::Given,
            reason: None,
        },
        safeguarding_concern: false,
        narrative: NARRATIVE.into(),
        subject: SubjectWire {
            name: NAME.into(),
            date_of_birth: Some(DOB.into()),
            estimated_age: None,
            address: Some(ADDRESS.into()),
            school: Some("Larkspur Academy".into()),
            carer_contact: Some("Mother, 07700 900123".into()),
        },
        location: LocationWire {
            time_ms: T0,
            lat: 52.4797,
            lon: -1.9026,
            accuracy_m: 8.0,
        },
        patrol_id: Some("patrol-1".into()),
        area_id: Some("tgp-a".into()),
    }
}

/// The personal strings of [`referral`]: none may appear where they should not.
pub fn personal() -> [&'static str; 6] {
    [NAME, DOB, ADDRESS, NARRATIVE, "Larkspur Academy", "07700 900123"]
}

pub fn assert_no_personal_data(text: &str) {
    for p in personal() {
        assert!(!text.contains(p), "personal data {p:?} in {text}");
    }
}

/// Navigators `nav-bham` (Birmingham) and `nav-cov` (Coventry) and their
/// tokens, made on the server's file by a second `Backend` (WAL).
pub struct Teams {
    pub bham: String,
    pub cov: String,
}

pub fn teams(w: &World) -> Teams {
    let b = w.open_backend();
    b.create_navigator("nav-bham", "Navigator Birmingham", Authority::Birmingham)
        .expect("navigator");
    // Through the admin API, as a force would.
    ok_json(w.post(
        &w.admin,
        "/v1/admin/navigators",
        &json!({"navigator_id": "nav-cov", "display_name": "Navigator Coventry", "authority": "E08000026"}),
    ));
    Teams {
        bham: b.issue_token("nav-bham", Role::Navigator, 3600).expect("token"),
        cov: b.issue_token("nav-cov", Role::Navigator, 3600).expect("token"),
    }
}

pub fn post_referral(w: &World, token: &str, r: &ReferralRecord) -> reqwest::blocking::Response {
    w.http
        .post(w.url("/v1/referrals"))
        .bearer_auth(token)
        .json(r)
        .send()
        .expect("send")
}

/// Runs the backend's command line.
pub fn backend_cli(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_guardian-backend"))
        .args(args)
        .output()
        .expect("run the CLI")
}

pub fn no_redirects() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// Signs a browser in to the page set under `base` with a pasted token,
/// checks the session cookie is HttpOnly, SameSite=Strict and scoped to
/// `base`, and returns it as a `cookie` header value.
pub fn page_session(w: &World, base: &str, token: &str, next: &str) -> String {
    page_session_saying(w, base, token, next, "")
}

/// As [`page_session`], giving `purpose` on the sign-in form.
pub fn page_session_saying(w: &World, base: &str, token: &str, next: &str, purpose: &str) -> String {
    let r = no_redirects()
        .post(w.url(&format!("{base}/login")))
        .form(&[("token", token), ("next", next), ("purpose", purpose)])
        .send()
        .expect("send");
    assert_eq!(r.status().as_u16(), 303);
    let set = r
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .expect("a cookie")
        .to_string();
    assert!(
        set.contains(&format!("Path={base}")) && set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    set.split(';').next().expect("pair").to_string()
}
