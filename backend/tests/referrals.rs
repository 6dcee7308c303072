//! VRP Navigator referrals on a real server over loopback: the authorities'
//! boundaries reaching handsets, referrals stored once and routed to their
//! authority's team, receipts without personal data, who may see and move
//! what, and status changes reaching the referring officer once per cursor.

mod common;

use std::process::{Command, Output};

use common::referral::*;
use common::*;
use guardian_backend::{Caller, NavigatorReferrals, Role};
use guardian_core::referral::authority::{Authority, Boundaries};
use guardian_protocol::referral::{
    self as rules, AuthoritySource, ConsentState, ConsentWire, ReasonCode, ReasonWire, ReferralRecord, ReferralStatus,
    Urgency,
};
use serde_json::{Value, json};

fn sync(w: &World, token: &str, cursor: Option<&str>) -> Value {
    let path = match cursor {
        Some(c) => format!("/v1/sync?cursor={c}"),
        None => "/v1/sync".to_string(),
    };
    ok_json(w.get(token, &path))
}

fn set_status(w: &World, token: &str, id: &str, status: &str) -> reqwest::blocking::Response {
    w.post(
        token,
        &format!("/v1/navigator/referrals/{id}/status"),
        &json!({ "status": status }),
    )
}

// ---- boundaries -------------------------------------------------------------

#[test]
fn boundaries_reach_a_handset_once_per_version() {
    let w = World::new();
    let first = sync(&w, &w.a, None);
    assert!(first["boundaries"].is_null(), "none loaded yet");
    let c0 = first["cursor"].as_str().expect("cursor").to_string();

    let loaded = ok_json(
        w.http
            .post(w.url("/v1/admin/boundaries"))
            .bearer_auth(&w.admin)
            .header("content-type", "application/geo+json")
            .body(authorities_json())
            .send()
            .expect("send"),
    );
    assert_eq!(loaded["version"], 1);

    let got = sync(&w, &w.a, Some(&c0));
    let fc = &got["boundaries"];
    assert_eq!(fc["features"].as_array().expect("features").len(), 7);
    let routed = Boundaries::from_geojson(&fc.to_string()).expect("usable by the handset");
    assert_eq!(routed.route(52.4797, -1.9026), Some(Authority::Birmingham));
    assert_eq!(routed.route(52.4081, -1.5106), Some(Authority::Coventry));
    let c1 = got["cursor"].as_str().expect("cursor").to_string();
    assert!(c1.contains(".b1."), "{c1}");

    assert!(sync(&w, &w.a, Some(&c1))["boundaries"].is_null(), "not sent twice");
    assert!(
        sync(&w, &w.b, None)["boundaries"].is_object(),
        "a new handset gets them"
    );
    // A cursor from before boundaries existed has seen none.
    assert!(sync(&w, &w.a, Some("a1.s0"))["boundaries"].is_object());

    // A new version is sent again, to the handset that had the old one.
    let b = w.open_backend();
    assert_eq!(b.load_boundaries_geojson(&authorities_json()).expect("reload"), 2);
    assert!(sync(&w, &w.a, Some(&c1))["boundaries"].is_object());
}

#[test]
fn bad_boundaries_change_nothing() {
    let w = World::new();
    let post = |body: String| {
        w.http
            .post(w.url("/v1/admin/boundaries"))
            .bearer_auth(&w.admin)
            .header("content-type", "application/geo+json")
            .body(body)
            .send()
            .expect("send")
    };
    let leicester = json!({"type": "FeatureCollection", "features": [{"type": "Feature",
        "properties": {"id": "leicester"},
        "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}}]});
    assert_error(post(leicester.to_string()), 422, "bad-boundaries");
    assert_error(post("not json".into()), 422, "bad-boundaries");
    assert_error(
        post(json!({"type": "FeatureCollection", "features": []}).to_string()),
        422,
        "bad-request",
    );
    // One bad feature among good ones: nothing is stored.
    let mut mixed: Value = serde_json::from_str(&authorities_json()).expect("json");
    mixed["features"][3]["properties"]["id"] = json!("leicester");
    assert_error(post(mixed.to_string()), 422, "bad-boundaries");
    assert_error(w.post(&w.a, "/v1/admin/boundaries", &json!({})), 403, "forbidden");

    let b = w.open_backend();
    assert_eq!(b.boundaries_version().expect("version"), 0);
    assert!(sync(&w, &w.a, None)["boundaries"].is_null());
}

// ---- referrals --------------------------------------------------------------

#[test]
fn a_referral_is_stored_once_and_a_retry_is_a_duplicate() {
    let w = World::new();
    let r = referral("ref-1", "pc-a", "birmingham");
    let ack = ok_json(post_referral(&w, &w.a, &r));
    assert_eq!(ack, json!({"id": "ref-1", "status": "stored"}));
    // A retry, even with a changed body, changes nothing.
    let mut changed = r.clone();
    changed.narrative = "something else entirely".into();
    let ack = ok_json(post_referral(&w, &w.a, &changed));
    assert_eq!(ack, json!({"id": "ref-1", "status": "duplicate"}));

    // Another officer cannot claim or overwrite the id.
    assert_error(
        post_referral(&w, &w.b, &referral("ref-1", "pc-b", "birmingham")),
        403,
        "forbidden",
    );

    let stats = w.stats();
    assert_eq!(stats["referrals"], 1);
    assert_eq!(stats["replays"], 1);
    let b = w.open_backend();
    assert_eq!(b.referral_count().expect("count"), 1);
    let stored = b.referrals_for(Authority::Birmingham).expect("list");
    assert_eq!(stored, vec![r], "stored as first sent");
}

#[test]
fn a_referral_for_someone_else_or_in_another_format_is_refused() {
    let w = World::new();
    assert_error(
        post_referral(&w, &w.a, &referral("ref-1", "pc-b", "birmingham")),
        403,
        "forbidden",
    );
    let mut r = referral("ref-2", "pc-a", "birmingham");
    r.format = 2;
    assert_error(post_referral(&w, &w.a, &r), 422, "unsupported-format");
    // An officer the force does not list.
    let b = w.open_backend();
    let stranger = b.issue_token("pc-z", Role::Officer, 3600).expect("token");
    assert_error(
        post_referral(&w, &stranger, &referral("ref-3", "pc-z", "birmingham")),
        403,
        "unknown-officer",
    );
    assert_eq!(b.referral_count().expect("count"), 0);
}

#[test]
fn the_authority_is_stored_as_its_slug_whatever_form_was_sent() {
    let w = World::new();
    ok_json(post_referral(&w, &w.a, &referral("ref-1", "pc-a", "E08000026")));
    ok_json(post_referral(&w, &w.a, &referral("ref-2", "pc-a", "Coventry")));
    let b = w.open_backend();
    let stored = b.referrals_for(Authority::Coventry).expect("list");
    assert_eq!(stored.len(), 2);
    assert!(stored.iter().all(|r| r.authority == "coventry"));
    assert!(b.referrals_for(Authority::Birmingham).expect("list").is_empty());
}

#[test]
fn every_broken_rule_is_a_bad_referral_that_never_quotes_the_subject() {
    let w = World::new();
    let long_name = format!("{NAME} ").repeat(10);
    type Break = Box<dyn Fn(&mut ReferralRecord)>;
    let cases: Vec<(&str, Break)> = vec![
        ("unknown authority", Box::new(|r| r.authority = "leicester".into())),
        ("no reasons", Box::new(|r| r.reasons.clear())),
        ("empty reference", Box::new(|r| r.reference = " ".into())),
        ("empty name", Box::new(|r| r.subject.name = "".into())),
        ("long name", Box::new(move |r| r.subject.name = long_name.clone())),
        ("control in name", Box::new(|r| r.subject.name = format!("{NAME}\u{7}"))),
        (
            "long narrative",
            Box::new(|r| r.narrative = format!("{NARRATIVE} ").repeat(60)),
        ),
        (
            "long address",
            Box::new(|r| r.subject.address = Some(format!("{ADDRESS} ").repeat(30))),
        ),
        (
            "long other text",
            Box::new(|r| {
                r.reasons.push(ReasonWire {
                    code: ReasonCode::Other,
                    text: Some(format!("{NAME} ").repeat(30)),
                })
            }),
        ),
        (
            "dob in the future",
            Box::new(|r| r.subject.date_of_birth = Some("2999-01-01".into())),
        ),
        (
            "dob not a date",
            Box::new(|r| r.subject.date_of_birth = Some(format!("{NAME} {DOB}"))),
        ),
        ("absurd age", Box::new(|r| r.subject.estimated_age = Some(200))),
        ("latitude", Box::new(|r| r.location.lat = 91.0)),
        ("longitude", Box::new(|r| r.location.lon = -181.0)),
        ("accuracy", Box::new(|r| r.location.accuracy_m = -1.0)),
        ("long patrol id", Box::new(|r| r.patrol_id = Some("p".repeat(65)))),
    ];
    for (i, (what, break_it)) in cases.iter().enumerate() {
        let mut r = referral(&format!("ref-{i}"), "pc-a", "birmingham");
        break_it(&mut r);
        let resp = post_referral(&w, &w.a, &r);
        let status = resp.status().as_u16();
        let body = resp.text().expect("body");
        assert_eq!(status, 422, "{what}: {body}");
        let v: Value = serde_json::from_str(&body).expect("ApiError");
        assert_eq!(v["error"], "bad-referral", "{what}: {body}");
        assert_no_personal_data(&body);
        assert!(!body.contains("Jaydon"), "{what}: {body}");
    }

    // Codes the protocol does not have: named by their field, like any
    // broken rule.
    type Patch = fn(&mut Value);
    let codes: [(&str, &str, Patch); 4] = [
        ("authority source", "authority_source", |v| {
            v["authority_source"] = json!("guessed")
        }),
        ("unknown reason", "reasons.code", |v| {
            v["reasons"][1]["code"] = json!("being_young")
        }),
        ("urgency", "urgency", |v| v["urgency"] = json!("whenever")),
        ("consent state", "consent.state", |v| {
            v["consent"]["state"] = json!("maybe")
        }),
    ];
    for (what, field, patch) in codes {
        let mut v = serde_json::to_value(referral("ref-c", "pc-a", "birmingham")).expect("json");
        patch(&mut v);
        let resp = w.post(&w.a, "/v1/referrals", &v);
        let status = resp.status().as_u16();
        let body = resp.text().expect("body");
        assert_eq!(status, 422, "{what}: {body}");
        let e: Value = serde_json::from_str(&body).expect("ApiError");
        assert_eq!(e["error"], "bad-referral", "{what}: {body}");
        assert_eq!(e["fields"][0]["field"], field, "{what}: {body}");
        assert_no_personal_data(&body);
    }

    // Bodies serde cannot read: the reason says where, never what.
    let mut v = serde_json::to_value(referral("ref-x", "pc-a", "birmingham")).expect("json");
    v["subject"]["estimated_age"] = json!(NAME);
    let resp = w.post(&w.a, "/v1/referrals", &v);
    let body = resp.text().expect("body");
    assert!(body.contains("bad-request"), "{body}");
    assert!(!body.contains("Jaydon"), "{body}");
    v["subject"]["estimated_age"] = json!(300);
    v["subject"]["name"] = json!(NAME);
    let body = w.post(&w.a, "/v1/referrals", &v).text().expect("body");
    assert!(body.contains("bad-request") && !body.contains("300"), "{body}");

    let b = w.open_backend();
    assert_eq!(b.referral_count().expect("count"), 0, "nothing stored");
}

#[test]
fn the_limits_themselves_are_accepted() {
    let w = World::new();
    let mut r = referral("ref-1", "pc-a", "walsall");
    r.subject.name = "n".repeat(100);
    r.narrative = format!("{}\n", "x".repeat(3998));
    r.subject.address = Some("a".repeat(rules::ADDRESS.max));
    r.consent = ConsentWire {
        state: ConsentState::NotSought,
        reason: Some("Safeguarding concern: immediate risk".into()),
    };
    r.safeguarding_concern = true;
    r.authority_source = AuthoritySource::Chosen;
    r.subject.date_of_birth = None;
    r.subject.estimated_age = Some(15);
    r.patrol_id = None;
    r.area_id = None;
    r.reasons = vec![ReasonWire {
        code: ReasonCode::Other,
        text: Some("o".repeat(rules::OTHER_REASON.max)),
    }];
    assert_eq!(ok_json(post_referral(&w, &w.a, &r))["status"], "stored");
}

// ---- receipts and who sees what -------------------------------------------

#[test]
fn an_officer_sees_only_their_own_receipts_and_no_personal_data() {
    let w = World::new();
    ok_json(post_referral(&w, &w.a, &referral("ref-a1", "pc-a", "birmingham")));
    ok_json(post_referral(&w, &w.a, &referral("ref-a2", "pc-a", "dudley")));
    ok_json(post_referral(&w, &w.b, &referral("ref-b1", "pc-b", "sandwell")));

    let resp = w.get(&w.a, "/v1/me/referrals");
    assert_eq!(resp.status().as_u16(), 200);
    let text = resp.text().expect("body");
    assert_no_personal_data(&text);
    let v: Value = serde_json::from_str(&text).expect("json");
    let mine = v["referrals"].as_array().expect("referrals");
    let ids: Vec<&str> = mine.iter().filter_map(|r| r["id"].as_str()).collect();
    assert_eq!(ids, ["ref-a1", "ref-a2"]);
    assert_eq!(
        mine[0],
        json!({
            "id": "ref-a1",
            "reference": "VRP-ref-a1",
            "authority": "birmingham",
            "reasons": ["knife_carrying", "criminal_exploitation"],
            "created_ms": T0,
            "status": "received",
        })
    );
    let theirs = ok_json(w.get(&w.b, "/v1/me/referrals"));
    assert_eq!(theirs["referrals"].as_array().expect("referrals").len(), 1);
    assert_eq!(theirs["referrals"][0]["id"], "ref-b1");
    assert_eq!(ok_json(w.get(&w.c, "/v1/me/referrals"))["referrals"], json!([]));
}

#[test]
fn a_navigator_sees_only_their_own_authority_with_the_personal_data_they_need() {
    let w = World::new();
    let t = teams(&w);
    ok_json(post_referral(&w, &w.a, &referral("ref-1", "pc-a", "birmingham")));
    ok_json(post_referral(&w, &w.b, &referral("ref-2", "pc-b", "coventry")));
    ok_json(post_referral(&w, &w.a, &referral("ref-3", "pc-a", "birmingham")));

    let bham = ok_json(w.get(&t.bham, "/v1/navigator/referrals"));
    assert_eq!(bham["authority"], "birmingham");
    let list = bham["referrals"].as_array().expect("referrals");
    let ids: Vec<&str> = list.iter().filter_map(|r| r["id"].as_str()).collect();
    assert_eq!(ids, ["ref-1", "ref-3"]);
    assert_eq!(list[0]["subject"]["name"], NAME);
    assert_eq!(list[0]["narrative"], NARRATIVE);
    assert_eq!(list[0]["status"], "received");
    // The typed reply reads back whole, as the sim reads it.
    let typed: NavigatorReferrals = serde_json::from_value(bham.clone()).expect("typed");
    assert_eq!(typed.referrals[0].referral, referral("ref-1", "pc-a", "birmingham"));
    assert_eq!(typed.referrals[0].status, ReferralStatus::Received);

    let cov = ok_json(w.get(&t.cov, "/v1/navigator/referrals"));
    assert_eq!(cov["authority"], "coventry");
    let ids: Vec<&str> = cov["referrals"]
        .as_array()
        .expect("referrals")
        .iter()
        .filter_map(|r| r["id"].as_str())
        .collect();
    assert_eq!(ids, ["ref-2"]);

    // Coventry cannot move Birmingham's referral, nor learn that it exists.
    assert_error(set_status(&w, &t.cov, "ref-1", "assigned"), 404, "unknown-referral");
    assert_error(set_status(&w, &t.cov, "no-such", "assigned"), 404, "unknown-referral");
    let still = ok_json(w.get(&t.bham, "/v1/navigator/referrals"));
    assert_eq!(still["referrals"][0]["status"], "received");
}

#[test]
fn each_role_is_refused_on_the_others_routes() {
    let w = World::new();
    let t = teams(&w);
    ok_json(post_referral(&w, &w.a, &referral("ref-1", "pc-a", "birmingham")));

    // Officers on Navigator routes.
    assert_error(w.get(&w.a, "/v1/navigator/referrals"), 403, "forbidden");
    assert_error(set_status(&w, &w.a, "ref-1", "assigned"), 403, "forbidden");
    // Navigators on officer routes.
    assert_error(
        post_referral(&w, &t.bham, &referral("ref-2", "nav-bham", "birmingham")),
        403,
        "forbidden",
    );
    assert_error(w.get(&t.bham, "/v1/me/referrals"), 403, "forbidden");
    assert_error(w.get(&t.bham, "/v1/sync"), 403, "forbidden");
    assert_error(w.get(&t.bham, "/v1/admin/stats"), 403, "forbidden");
    assert_error(
        w.post(
            &t.bham,
            "/v1/admin/navigators",
            &json!({"navigator_id": "x", "display_name": "x", "authority": "dudley"}),
        ),
        403,
        "forbidden",
    );
    // Admins are not a Navigator team.
    assert_error(w.get(&w.admin, "/v1/navigator/referrals"), 403, "forbidden");
    // A navigator token for someone on no team.
    let b = w.open_backend();
    let nobody = b.issue_token("nav-none", Role::Navigator, 3600).expect("token");
    assert_error(w.get(&nobody, "/v1/navigator/referrals"), 403, "unknown-navigator");
    assert_error(set_status(&w, &nobody, "ref-1", "assigned"), 403, "unknown-navigator");
    // No token at all.
    let resp = w.http.get(w.url("/v1/navigator/referrals")).send().expect("send");
    assert_error(resp, 401, "unauthorized");
    // A Navigator's unknown authority is refused when the team is made.
    assert_error(
        w.post(
            &w.admin,
            "/v1/admin/navigators",
            &json!({"navigator_id": "x", "display_name": "x", "authority": "leicester"}),
        ),
        422,
        "bad-request",
    );
}

// ---- status -----------------------------------------------------------------

#[test]
fn status_only_moves_forward() {
    let w = World::new();
    let t = teams(&w);
    ok_json(post_referral(&w, &w.a, &referral("ref-1", "pc-a", "birmingham")));

    let assigned = ok_json(set_status(&w, &t.bham, "ref-1", "assigned"));
    assert_eq!(assigned["referral_id"], "ref-1");
    assert_eq!(assigned["status"], "assigned");
    let when = assigned["time_ms"].as_i64().expect("time");
    assert!(when > T0, "the time it happened, by the server's clock");
    // A retry of the same change is answered with the first one.
    assert_eq!(ok_json(set_status(&w, &t.bham, "ref-1", "assigned")), assigned);

    ok_json(set_status(&w, &t.bham, "ref-1", "contacted"));
    assert_error(set_status(&w, &t.bham, "ref-1", "assigned"), 409, "bad-transition");
    assert_error(set_status(&w, &t.bham, "ref-1", "received"), 422, "bad-request");
    assert_error(set_status(&w, &t.bham, "ref-1", "queued"), 422, "bad-request");
    assert_error(set_status(&w, &t.bham, "ref-1", "done"), 422, "bad-request");
    ok_json(set_status(&w, &t.bham, "ref-1", "closed"));
    assert_error(set_status(&w, &t.bham, "ref-1", "contacted"), 409, "bad-transition");

    let receipt = ok_json(w.get(&w.a, "/v1/me/referrals"));
    assert_eq!(receipt["referrals"][0]["status"], "closed");

    // Steps may be skipped forward: a referral can be closed straight away.
    ok_json(post_referral(&w, &w.a, &referral("ref-2", "pc-a", "birmingham")));
    assert_eq!(ok_json(set_status(&w, &t.bham, "ref-2", "closed"))["status"], "closed");
}

#[test]
fn status_changes_reach_the_referring_officer_once_per_cursor() {
    let w = World::new();
    let t = teams(&w);
    ok_json(post_referral(&w, &w.a, &referral("ref-1", "pc-a", "birmingham")));
    ok_json(post_referral(&w, &w.b, &referral("ref-2", "pc-b", "birmingham")));

    let s0 = sync(&w, &w.a, None);
    assert_eq!(s0["referral_updates"], json!([]), "receipt is the ack, not an update");
    let c0 = s0["cursor"].as_str().expect("cursor").to_string();

    let assigned = ok_json(set_status(&w, &t.bham, "ref-1", "assigned"));
    ok_json(set_status(&w, &t.bham, "ref-2", "assigned"));
    let s1 = sync(&w, &w.a, Some(&c0));
    assert_eq!(
        s1["referral_updates"],
        json!([{"referral_id": "ref-1", "status": "assigned", "time_ms": assigned["time_ms"], "authority": "birmingham"}]),
        "only the officer's own"
    );
    let c1 = s1["cursor"].as_str().expect("cursor").to_string();
    assert_eq!(
        sync(&w, &w.a, Some(&c1))["referral_updates"],
        json!([]),
        "delivered once"
    );

    ok_json(set_status(&w, &t.bham, "ref-1", "contacted"));
    // Library API, as the sim uses it.
    let b = w.open_backend();
    let closed = b
        .set_referral_status(
            &Caller::local("nav-bham", Role::Navigator, "test"),
            "ref-1",
            ReferralStatus::Closed,
        )
        .expect("close");
    let s2 = sync(&w, &w.a, Some(&c1));
    let statuses: Vec<&str> = s2["referral_updates"]
        .as_array()
        .expect("updates")
        .iter()
        .filter_map(|u| u["status"].as_str())
        .collect();
    assert_eq!(statuses, ["contacted", "closed"], "in the order they happened");
    assert_eq!(s2["referral_updates"][1]["time_ms"], closed.time_ms);
    let c2 = s2["cursor"].as_str().expect("cursor").to_string();
    assert_eq!(sync(&w, &w.a, Some(&c2))["referral_updates"], json!([]));

    // A handset that lost its cursor, or has one from before referrals,
    // gets every change again (the handset applies them idempotently).
    assert_eq!(
        sync(&w, &w.a, None)["referral_updates"].as_array().map(Vec::len),
        Some(3)
    );
    assert_eq!(
        sync(&w, &w.a, Some("a1.s0"))["referral_updates"]
            .as_array()
            .map(Vec::len),
        Some(3)
    );
    // Officer B only ever sees B's.
    assert_eq!(
        sync(&w, &w.b, None)["referral_updates"].as_array().map(Vec::len),
        Some(1)
    );

    // Another team's Navigator through the library API: as if no referral.
    b.create_navigator("nav-dud", "Navigator Dudley", Authority::Dudley)
        .expect("navigator");
    assert!(
        b.set_referral_status(
            &Caller::local("nav-dud", Role::Navigator, "test"),
            "ref-1",
            ReferralStatus::Closed
        )
        .is_err()
    );
}

// ---- the command line -------------------------------------------------------

fn cli(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_guardian-backend"))
        .args(args)
        .output()
        .expect("run the CLI")
}

#[test]
fn the_cli_loads_boundaries_and_makes_navigators() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = fresh_store(dir.path());
    let db_s = db.as_str();
    let wards = fixtures().join("boundaries");
    let out = cli(&["load-boundaries", store_flag(db_s), db_s, wards.to_str().expect("path")]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = cli(&[
        "create-navigator",
        store_flag(db_s),
        db_s,
        "--id",
        "nav-1",
        "--name",
        "Navigator One",
        "--authority",
        "wolverhampton",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let bad = cli(&[
        "create-navigator",
        store_flag(db_s),
        db_s,
        "--id",
        "nav-2",
        "--name",
        "Navigator Two",
        "--authority",
        "leicester",
    ]);
    assert_eq!(bad.status.code(), Some(2));
    let missing = cli(&[
        "load-boundaries",
        store_flag(db_s),
        db_s,
        dir.path().to_str().expect("path"),
    ]);
    assert_eq!(missing.status.code(), Some(2), "no ward files there");

    let b = open_store(&db);
    assert_eq!(
        b.boundaries_version().expect("version"),
        1,
        "the failed load changed nothing"
    );
    let token = b.issue_token("nav-1", Role::Navigator, 3600).expect("token");
    let server = guardian_backend::spawn(b, loopback()).expect("spawn");
    let resp = reqwest::blocking::Client::new()
        .get(format!("http://{}/v1/navigator/referrals", server.addr))
        .bearer_auth(token)
        .send()
        .expect("send");
    let v = ok_json(resp);
    assert_eq!(v["authority"], "wolverhampton");
}

// ---- the access log (s.62) --------------------------------------------------

fn audit(db: &str, args: &[&str]) -> Output {
    let mut all = vec!["audit", args[0], store_flag(db), db];
    all.extend_from_slice(&args[1..]);
    cli(&all)
}

fn verify_says(db: &str) -> (Option<i32>, String) {
    let out = audit(db, &["verify"]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

#[test]
fn every_look_at_a_referral_or_a_track_is_logged_and_tampering_is_named() {
    let w = World::new();
    let t = teams(&w);
    let b = w.open_backend();
    let sup = b.issue_token("sup-1", Role::Supervisor, 3600).expect("token");

    // Collection, disclosure (the team's list), alteration, and a track read.
    ok_json(post_referral(&w, &w.a, &referral("ref-1", "pc-a", "birmingham")));
    ok_json(post_referral(&w, &w.a, &referral("ref-1", "pc-a", "birmingham")));
    let listed = w
        .http
        .get(w.url("/v1/navigator/referrals"))
        .bearer_auth(&t.bham)
        .header("x-guardian-purpose", "Morning triage")
        .header(guardian_protocol::wire::HEADER_DEVICE, "dev-nav-7")
        .send()
        .expect("send");
    ok_json(listed);
    ok_json(w.get(&t.cov, "/v1/navigator/referrals"));
    ok_json(set_status(&w, &t.bham, "ref-1", "assigned"));
    assert_error(set_status(&w, &t.cov, "ref-1", "closed"), 404, "unknown-referral");
    ok_json(w.record(&w.a, &check_in("r-in", "patrol-1", "pc-a", "tgp-a", "constable", T0)));
    ok_json(w.get(&sup, "/v1/review/patrols/patrol-1"));

    let db = w.store.as_str();
    let out = audit(db, &["export", "--json", "--by", "dpo-1"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert_no_personal_data(&text);
    let log: Vec<Value> = serde_json::from_str(&text).expect("JSON");
    let line = |e: &Value| {
        format!(
            "{} {} {} {} {}",
            e["action"].as_str().unwrap_or("?"),
            e["subject"].as_str().unwrap_or("?"),
            e["what"].as_str().unwrap_or("?"),
            e["records"],
            e["how"].as_str().unwrap_or("?")
        )
    };
    let lines: Vec<String> = log.iter().map(line).collect();
    assert_eq!(
        lines,
        [
            r#"collection pc-a referral ["ref-1"] POST /v1/referrals"#,
            r#"disclosure nav-bham referral ["ref-1"] GET /v1/navigator/referrals"#,
            r#"disclosure nav-cov referral [] GET /v1/navigator/referrals"#,
            r#"alteration nav-bham referral ["ref-1"] POST /v1/navigator/referrals/{id}/status"#,
            r#"disclosure sup-1 patrol ["patrol-1"] GET /v1/review/patrols/{id}"#,
        ],
        "the retry collected nothing new; the refused change altered nothing"
    );
    assert_eq!(log[1]["purpose"], "Morning triage");
    assert_eq!(log[1]["via"], "dev-nav-7");
    assert_eq!(log[1]["role"], "navigator");
    assert!(log[0]["purpose"].is_null());
    assert_eq!(log[0]["prev_hash"], guardian_backend::GENESIS);
    assert_eq!(log[1]["prev_hash"], log[0]["hash"]);

    // The export itself was a disclosure, and the filters narrow.
    let out = audit(db, &["export", "--csv", "--record", "ref-1", "--by", "dpo-1"]);
    let csv = String::from_utf8_lossy(&out.stdout).to_string();
    let rows: Vec<&str> = csv.lines().collect();
    assert!(rows[0].starts_with("seq,time_utc,action,subject"), "{csv}");
    assert_eq!(rows.len(), 1 + 3, "{csv}");
    let out = audit(db, &["export", "--json", "--subject", "dpo-1", "--by", "dpo-1"]);
    let mine: Vec<Value> = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(mine.len(), 2, "the two exports before this one");
    assert!(
        mine.iter()
            .all(|e| e["action"] == "disclosure" && e["what"] == "access-log")
    );
    let out = audit(db, &["export", "--json", "--from", "2001-01-01", "--to", "2001-01-02"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "[]");
    assert_eq!(audit(db, &["export"]).status.code(), Some(2), "--json or --csv");

    // Tampering by hand, on either store, is named.
    let (code, said) = verify_says(db);
    assert_eq!(code, Some(0), "{said}");
    assert!(said.contains("9 entries, the chain is intact"), "{said}");

    raw_sql(db, "UPDATE access_log SET subject = 'someone-else' WHERE seq = 2");
    let (code, said) = verify_says(db);
    assert_eq!(code, Some(1), "{said}");
    assert!(said.contains("entry 2 was altered"), "{said}");
    raw_sql(db, "UPDATE access_log SET subject = 'nav-bham' WHERE seq = 2");
    assert_eq!(verify_says(db).0, Some(0), "put back as it was");

    raw_sql(
        db,
        "INSERT INTO access_log (seq, time_ms, action, subject, role, what, records, scope, how, via,
           purpose, prev_hash, hash)
         SELECT 10, time_ms, action, 'ghost', role, what, records, scope, how, via, purpose, hash, hash
         FROM access_log WHERE seq = 9",
    );
    let (code, said) = verify_says(db);
    assert_eq!(code, Some(1), "{said}");
    assert!(said.contains("entry 10 was inserted"), "{said}");
    raw_sql(db, "DELETE FROM access_log WHERE seq = 10");

    raw_sql(db, "DELETE FROM access_log WHERE seq = 3");
    let (code, said) = verify_says(db);
    assert_eq!(code, Some(1), "{said}");
    assert!(said.contains("entry 3 was removed"), "{said}");
}

/// The binary's own log, over a referral's life on a real server process:
/// one JSON object per line, the referral's events there by id, and none of
/// the child's details anywhere in it (debug level, so every event counts).
#[test]
fn the_server_logs_json_lines_and_no_personal_data() {
    let dir = tempfile::tempdir().expect("tempdir");
    let w = World::new();
    let t = teams(&w);
    let log_path = dir.path().join("stderr.log");
    let log_file = std::fs::File::create(&log_path).expect("log file");
    let server = server_process(&w.store, log_file.into(), &[("RUST_LOG", "debug")]);
    let url = |path: &str| format!("http://{}{path}", server.addr);
    let http = &w.http;
    let rec = referral("ref-log", "pc-a", "birmingham");
    for _ in 0..2 {
        let r = http
            .post(url("/v1/referrals"))
            .bearer_auth(&w.a)
            .json(&rec)
            .send()
            .expect("send");
        ok_json(r);
    }
    let mut broken = serde_json::to_value(&rec).expect("json");
    broken["subject"]["date_of_birth"] = json!("17/04/2010");
    let r = http
        .post(url("/v1/referrals"))
        .bearer_auth(&w.a)
        .json(&broken)
        .send()
        .expect("send");
    assert_eq!(r.status().as_u16(), 422);
    ok_json(
        http.get(url("/v1/navigator/referrals"))
            .bearer_auth(&t.bham)
            .send()
            .expect("send"),
    );
    for status in ["assigned", "contacted", "closed"] {
        let r = http
            .post(url("/v1/navigator/referrals/ref-log/status"))
            .bearer_auth(&t.bham)
            .json(&json!({ "status": status }))
            .send()
            .expect("send");
        ok_json(r);
    }
    ok_json(http.get(url("/v1/sync")).bearer_auth(&w.a).send().expect("send"));
    ok_json(
        http.get(url("/v1/me/referrals"))
            .bearer_auth(&w.a)
            .send()
            .expect("send"),
    );
    drop(server);

    let log = std::fs::read_to_string(&log_path).expect("read log");
    assert_no_personal_data(&log);
    let events: Vec<Value> = log
        .lines()
        .filter(|l| !l.starts_with("guardian-backend:"))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}")))
        .collect();
    let said = |message: &str| {
        events
            .iter()
            .filter(|e| e["fields"]["message"] == message && e["fields"]["referral_id"] == "ref-log")
            .count()
    };
    assert_eq!(said("referral received"), 1, "{log}");
    assert_eq!(said("referral status changed"), 3, "{log}");
    assert!(
        events
            .iter()
            .all(|e| e["level"].is_string() && e["timestamp"].is_string())
    );
}

// ---- the Navigator's desk ---------------------------------------------------

fn page(w: &World, token: &str, path: &str) -> (u16, String) {
    let r = w.http.get(w.url(path)).bearer_auth(token).send().expect("send");
    (r.status().as_u16(), r.text().expect("body"))
}

/// Signs a browser in to the desk with a pasted token: its session cookie.
fn desk_session(w: &World, token: &str) -> String {
    page_session(w, "/navigator", token, "/navigator")
}

fn act(w: &World, cookie: &str, id: &str, form: &[(&str, &str)]) -> reqwest::blocking::Response {
    no_redirects()
        .post(w.url(&format!("/navigator/referrals/{id}")))
        .header("cookie", cookie)
        .form(form)
        .send()
        .expect("send")
}

fn with_urgency(id: &str, authority: &str, urgency: Urgency) -> ReferralRecord {
    ReferralRecord {
        urgency,
        reference: format!("REF-{id}"),
        ..referral(id, "pc-a", authority)
    }
}

#[test]
fn the_inbox_puts_open_and_urgent_first_filters_pages_and_flags_the_overdue() {
    let w = World::new();
    let t = teams(&w);
    ok_json(post_referral(
        &w,
        &w.a,
        &with_urgency("r-1", "birmingham", Urgency::Routine),
    ));
    ok_json(post_referral(
        &w,
        &w.a,
        &with_urgency("r-2", "birmingham", Urgency::Urgent),
    ));
    ok_json(post_referral(
        &w,
        &w.a,
        &with_urgency("r-3", "birmingham", Urgency::Priority),
    ));
    ok_json(post_referral(
        &w,
        &w.a,
        &with_urgency("r-4", "birmingham", Urgency::Urgent),
    ));
    ok_json(set_status(&w, &t.bham, "r-4", "closed"));

    let (code, html) = page(&w, &t.bham, "/navigator");
    assert_eq!(code, 200, "{html}");
    let at = |r: &str| html.find(&format!(">REF-{r}<")).unwrap_or(usize::MAX);
    assert!(
        at("r-2") < at("r-3") && at("r-3") < at("r-1"),
        "urgent, priority, routine"
    );
    assert_eq!(at("r-4"), usize::MAX, "closed ones only when asked for");
    assert!(html.contains("0 overdue"), "{html}");
    assert_no_personal_data(&html);

    let (_, closed) = page(&w, &t.bham, "/navigator?status=closed");
    assert!(closed.contains(">REF-r-4<") && !closed.contains(">REF-r-1<"));
    let (_, urgent) = page(&w, &t.bham, "/navigator?urgency=urgent");
    assert!(urgent.contains(">REF-r-2<") && !urgent.contains(">REF-r-3<"));
    let (code, _) = page(&w, &t.bham, "/navigator?urgency=whenever");
    assert_eq!(code, 400);
    let (_, cov) = page(&w, &t.cov, "/navigator");
    assert!(!cov.contains("REF-r-"), "another team's inbox is empty");

    // Two days unassigned: the urgent one is overdue, the others not yet.
    raw_sql(
        &w.store,
        "UPDATE referrals SET received_ms = received_ms - 172800000 WHERE referral_id = 'r-2'",
    );
    let (_, html) = page(&w, &t.bham, "/navigator");
    assert!(
        html.contains("1 overdue") && html.contains("Overdue</strong>"),
        "{html}"
    );
    let (_, team) = page(&w, &t.bham, "/navigator/team");
    assert!(team.contains("<strong class=\"overdue\">1</strong>"), "{team}");

    for i in 0..26 {
        let r = ReferralRecord {
            officer_id: "pc-b".into(),
            ..with_urgency(&format!("p-{i:02}"), "birmingham", Urgency::Routine)
        };
        ok_json(post_referral(&w, &w.b, &r));
    }
    let (_, first) = page(&w, &t.bham, "/navigator");
    assert!(
        first.contains("Page 1 of 2") && first.contains("Next page"),
        "29 open, 25 a page"
    );
    let (_, second) = page(&w, &t.bham, "/navigator?page=2");
    assert_eq!(second.matches("<tr><th scope=\"row\">").count(), 4, "{second}");
}

#[test]
fn a_navigator_works_a_referral_on_the_desk_and_the_officer_hears_the_outcome() {
    let w = World::new();
    let t = teams(&w);
    let b = w.open_backend();
    b.create_navigator("nav-bham-2", "Navigator Two", Authority::Birmingham)
        .expect("colleague");
    ok_json(post_referral(&w, &w.a, &referral("ref-1", "pc-a", "birmingham")));
    ok_json(post_referral(&w, &w.a, &referral("ref-2", "pc-a", "birmingham")));
    let c0 = sync(&w, &w.a, None)["cursor"].as_str().expect("cursor").to_string();

    let cookie = desk_session(&w, &t.bham);
    let view = |id: &str| {
        let r = w
            .http
            .get(w.url(&format!("/navigator/referrals/{id}")))
            .header("cookie", &cookie)
            .send()
            .expect("send");
        (r.status().as_u16(), r.text().expect("body"))
    };
    let (code, html) = view("ref-1");
    assert_eq!(code, 200);
    assert!(
        html.contains(NAME) && html.contains(NARRATIVE),
        "the team needs the details"
    );
    assert!(!html.contains("52.4797"), "no map or coordinates of a child's location");

    // Assign to a colleague, contact, close with an outcome.
    let r = act(&w, &cookie, "ref-1", &[("action", "assign"), ("to", "nav-bham-2")]);
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(r.headers()["location"], "/navigator/referrals/ref-1?done=assigned");
    assert_eq!(
        act(&w, &cookie, "ref-1", &[("action", "assign"), ("to", "nav-cov")])
            .status()
            .as_u16(),
        409
    );
    assert_eq!(
        act(&w, &cookie, "ref-1", &[("action", "contacted")]).status().as_u16(),
        303
    );
    assert_eq!(
        act(&w, &cookie, "ref-1", &[("action", "close")]).status().as_u16(),
        422,
        "no outcome chosen"
    );
    let r = act(&w, &cookie, "ref-1", &[("action", "close"), ("outcome", "engaged")]);
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(
        act(&w, &cookie, "ref-1", &[("action", "contacted")]).status().as_u16(),
        409,
        "never back"
    );
    let (_, html) = view("ref-1");
    for line in ["assigned to nav-bham-2", "contact made", "closed: Engaged with support"] {
        assert!(html.contains(line), "{line} in the history");
    }
    let cross = no_redirects()
        .post(w.url("/navigator/referrals/ref-2"))
        .header("cookie", &cookie)
        .header("sec-fetch-site", "cross-site")
        .form(&[("action", "contacted")])
        .send()
        .expect("send");
    assert_eq!(cross.status().as_u16(), 403, "a form from another site changes nothing");

    // A misrouted one moves to Coventry, restarts there, and the officer is told.
    let r = act(
        &w,
        &cookie,
        "ref-2",
        &[
            ("action", "transfer"),
            ("authority", "coventry"),
            ("reason", "lives_there"),
        ],
    );
    assert_eq!(r.headers()["location"], "/navigator?moved=coventry");
    assert_eq!(view("ref-2").0, 404, "no longer Birmingham's");
    let (_, cov) = page(&w, &t.cov, "/navigator/referrals/ref-2");
    assert!(cov.contains("transferred from Birmingham to Coventry"), "{cov}");
    let mine = ok_json(w.get(&w.a, "/v1/me/referrals"));
    let moved = mine["referrals"]
        .as_array()
        .expect("list")
        .iter()
        .find(|r| r["id"] == "ref-2")
        .cloned();
    assert_eq!(moved.expect("receipt")["authority"], "coventry");

    let updates = sync(&w, &w.a, Some(&c0))["referral_updates"].clone();
    let closed = updates
        .as_array()
        .expect("updates")
        .iter()
        .find(|u| u["status"] == "closed")
        .cloned();
    assert_eq!(closed.expect("closed")["outcome"], "engaged");
    let transfer = updates
        .as_array()
        .expect("updates")
        .iter()
        .find(|u| u["referral_id"] == "ref-2")
        .cloned();
    assert_eq!(transfer.expect("transfer")["authority"], "coventry");
    assert!(!updates.to_string().contains(NAME), "never the details");

    // Every look and every change is in the access log.
    let log = b.verify_access_log().expect("verify");
    assert_eq!(log.fault, None);
    let dpo = b.issue_token("dpo-1", Role::Auditor, 600).expect("token");
    let entries = ok_json(w.get(&dpo, "/v1/audit/entries?record=ref-2"));
    let kinds: Vec<String> = entries["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| {
            format!(
                "{} {}",
                e["action"].as_str().unwrap_or("?"),
                e["subject"].as_str().unwrap_or("?")
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "collection pc-a",
            "alteration nav-bham",
            "disclosure nav-bham",
            "consultation nav-cov"
        ],
        "{entries}"
    );
    assert_error(w.get(&t.bham, "/v1/audit/entries"), 403, "forbidden");
}

#[test]
fn a_removed_navigator_is_signed_out_and_a_moved_one_sees_no_closed_history() {
    let w = World::new();
    let t = teams(&w);
    ok_json(post_referral(&w, &w.a, &referral("old-1", "pc-a", "birmingham")));
    ok_json(set_status(&w, &t.bham, "old-1", "closed"));
    ok_json(post_referral(&w, &w.a, &referral("new-1", "pc-a", "birmingham")));
    let cookie = desk_session(&w, &t.bham);

    ok_json(w.post(&w.admin, "/v1/admin/navigators/nav-bham/remove", &json!({})));
    let r = w
        .http
        .get(w.url("/navigator"))
        .header("cookie", &cookie)
        .send()
        .expect("send");
    assert_eq!(r.status().as_u16(), 401, "signed out on the next request");
    assert!(r.text().expect("body").contains("Sign in to the Navigator"));
    assert_error(w.get(&t.bham, "/v1/navigator/referrals"), 403, "unknown-navigator");
    assert_error(
        w.post(&w.admin, "/v1/admin/navigators/nav-bham/remove", &json!({})),
        404,
        "unknown-navigator",
    );

    // Coventry's Navigator moves to Birmingham: its open referral, not its closed past.
    std::thread::sleep(std::time::Duration::from_millis(5));
    w.open_backend()
        .create_navigator("nav-cov", "Navigator Coventry", Authority::Birmingham)
        .expect("move");
    let (_, open) = page(&w, &t.cov, "/navigator?status=closed");
    assert!(!open.contains("VRP-old-1"), "{open}");
    assert_eq!(page(&w, &t.cov, "/navigator/referrals/old-1").0, 404);
    assert_eq!(page(&w, &t.cov, "/navigator/referrals/new-1").0, 200);
}

#[test]
fn the_server_routes_by_its_own_boundaries_and_says_so() {
    let w = World::new();
    let t = teams(&w);
    w.open_backend()
        .load_boundaries_from_ward_files(&fixtures().join("boundaries"))
        .expect("boundaries");
    // Made at Victoria Square, Birmingham, but sent to Coventry.
    ok_json(post_referral(&w, &w.a, &referral("ref-x", "pc-a", "coventry")));
    let mine = ok_json(w.get(&w.a, "/v1/me/referrals"));
    assert_eq!(mine["referrals"][0]["authority"], "birmingham");
    let (code, html) = page(&w, &t.bham, "/navigator/referrals/ref-x");
    assert_eq!(code, 200);
    assert!(
        html.contains("routed to Birmingham by the server&#x27;s boundaries")
            || html.contains("routed to Birmingham by the server"),
        "{html}"
    );
    assert_eq!(page(&w, &t.cov, "/navigator/referrals/ref-x").0, 404);
    let updates = sync(&w, &w.a, None)["referral_updates"].clone();
    assert_eq!(
        updates[0]["authority"], "birmingham",
        "the officer is told where it went"
    );
}
