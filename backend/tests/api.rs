//! The sync protocol over real HTTP: idempotent uploads, validation slugs,
//! who may see and write what, sync cursors, device commands, scheduling
//! and a restart on the same database.

mod common;

use common::*;
use guardian_backend::{Backend, Role};
use guardian_core::patrol::Rank;
use guardian_protocol::wire::{
    Ack, AckStatus, HEADER_FORMAT, HEADER_PATROL_ID, HEADER_SEQ, RecordBody, SyncReply, TRACK_CONTENT_TYPE,
};
use serde_json::{Value, json};

fn ack(r: reqwest::blocking::Response) -> Ack {
    serde_json::from_value(ok_json(r)).expect("ack")
}

fn sync(w: &World, token: &str, cursor: Option<&str>) -> SyncReply {
    let path = match cursor {
        Some(c) => format!("/v1/sync?cursor={c}"),
        None => "/v1/sync".to_string(),
    };
    serde_json::from_value(ok_json(w.get(token, &path))).expect("sync reply")
}

#[test]
fn healthz_needs_no_token() {
    let w = World::new();
    let r = w.http.get(w.url("/healthz")).send().expect("send");
    assert_eq!(r.status().as_u16(), 200);
}

#[test]
fn a_record_sent_twice_is_stored_once_and_the_retry_is_a_duplicate() {
    let w = World::new();
    let env = check_in("rec-1", "p-1", "pc-a", "tgp-a", "constable", T0);
    let first = ack(w.record(&w.a, &env));
    assert_eq!((first.id.as_str(), first.status), ("rec-1", AckStatus::Stored));
    let again = ack(w.record(&w.a, &env));
    assert_eq!(again.status, AckStatus::Duplicate);

    // Same id, different body: still a duplicate, and nothing changes.
    let mut changed = env.clone();
    if let RecordBody::CheckIn(b) = &mut changed.body {
        b.area_id = "tgp-b".into();
    }
    assert_eq!(ack(w.record(&w.a, &changed)).status, AckStatus::Duplicate);
    let mine = ok_json(w.get(&w.a, "/v1/me/patrols"));
    assert_eq!(mine["patrols"][0]["area_id"], "tgp-a");

    let s = w.stats();
    assert_eq!(
        (s["records"].as_i64(), s["patrols"].as_i64(), s["replays"].as_i64()),
        (Some(1), Some(1), Some(2))
    );
}

#[test]
fn a_chunk_sent_twice_is_stored_once_and_no_fix_is_duplicated() {
    let w = World::new();
    ack(w.record(&w.a, &check_in("rec-1", "p-1", "pc-a", "tgp-a", "constable", T0)));
    let fixes = walk(T0, 100);
    assert_eq!(
        ack(w.chunk(&w.a, "chunk-1", "p-1", 1, &fixes)).status,
        AckStatus::Stored
    );
    assert_eq!(
        ack(w.chunk(&w.a, "chunk-1", "p-1", 1, &fixes)).status,
        AckStatus::Duplicate
    );
    ack(w.chunk(&w.a, "chunk-2", "p-1", 2, &walk(T0 + 500_000, 50)));
    let s = w.stats();
    assert_eq!(s["chunks"], 2);
    assert_eq!(s["fixes"], 150);
    assert_eq!(s["duplicate_fixes"], 0);
    assert_eq!(s["replays"], 1);
    let mine = ok_json(w.get(&w.a, "/v1/me/patrols"));
    assert_eq!(mine["patrols"][0]["fixes"], 150);
}

#[test]
fn concurrent_retries_of_one_upload_store_it_exactly_once() {
    let w = World::new();
    ack(w.record(&w.a, &check_in("rec-1", "p-1", "pc-a", "tgp-a", "constable", T0)));
    let fixes = walk(T0, 200);
    let env = check_out("rec-2", "p-1", 2, T0 + 1_000_000);
    let statuses: Vec<AckStatus> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let (w, fixes, env) = (&w, &fixes, &env);
                s.spawn(move || {
                    if i % 2 == 0 {
                        ack(w.chunk(&w.a, "c-1", "p-1", 1, fixes)).status
                    } else {
                        ack(w.record(&w.a, env)).status
                    }
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("thread")).collect()
    });
    let stored = statuses.iter().filter(|s| **s == AckStatus::Stored).count();
    assert_eq!(stored, 2, "one chunk and one check-out stored: {statuses:?}");
    let s = w.stats();
    assert_eq!(
        (s["fixes"].as_i64(), s["records"].as_i64(), s["replays"].as_i64()),
        (Some(200), Some(2), Some(6))
    );
    assert_eq!(s["duplicate_fixes"], 0);
}

#[test]
fn bad_records_are_refused_with_their_slugs() {
    let w = World::new();
    let good = check_in("rec-1", "p-1", "pc-a", "tgp-a", "constable", T0);

    let mut e = good.clone();
    e.format = 2;
    assert_error(w.record(&w.a, &e), 422, "unsupported-format");

    for id in [String::new(), "x".repeat(65)] {
        let mut e = good.clone();
        e.id = id;
        assert_error(w.record(&w.a, &e), 422, "bad-record");
    }
    let mut e = good.clone();
    e.patrol_id = "p\u{7}".into();
    assert_error(w.record(&w.a, &e), 422, "bad-record");

    type Edit = fn(&mut guardian_protocol::wire::CheckInBody);
    let edits: [(Edit, &str); 5] = [
        (|b| b.lat = 91.0, "bad-record"),
        (|b| b.lon = -181.0, "bad-record"),
        (|b| b.accuracy_m = -1.0, "bad-record"),
        (|b| b.rank = "admiral".into(), "bad-record"),
        (|b| b.area_id = "nowhere".into(), "unknown-area"),
    ];
    for (edit, slug) in edits {
        let mut e = good.clone();
        if let RecordBody::CheckIn(b) = &mut e.body {
            edit(b);
        }
        assert_error(w.record(&w.a, &e), 422, slug);
    }

    // Not JSON at all, or not a record.
    let r = w
        .http
        .post(w.url("/v1/records"))
        .bearer_auth(&w.a)
        .header("content-type", "application/json")
        .body("{nope")
        .send()
        .expect("send");
    assert_error(r, 400, "bad-request");
    // A JSON route takes JSON only, as the track route takes its own type.
    for content_type in [None, Some("text/plain"), Some("application/x-www-form-urlencoded")] {
        let mut req = w.http.post(w.url("/v1/records")).bearer_auth(&w.a).body("{}");
        if let Some(t) = content_type {
            req = req.header("content-type", t);
        }
        assert_error(req.send().expect("send"), 415, "unsupported-media-type");
    }
    assert_error(w.post(&w.a, "/v1/records", &json!({"id": "x"})), 400, "bad-request");

    // Check-out rules.
    assert_error(
        w.record(&w.a, &check_out("rec-9", "p-none", 1, T0)),
        422,
        "unknown-patrol",
    );
    ack(w.record(&w.a, &good));
    assert_error(w.record(&w.a, &check_out("rec-2", "p-1", 1, T0 - 1)), 422, "bad-record");
    assert_error(
        w.record(&w.a, &check_in("rec-3", "p-1", "pc-a", "tgp-a", "constable", T0)),
        422,
        "conflict",
    );
    ack(w.record(&w.a, &check_out("rec-4", "p-1", 1, T0 + 60_000)));
    assert_error(
        w.record(&w.a, &check_out("rec-5", "p-1", 2, T0 + 70_000)),
        422,
        "conflict",
    );

    // Nothing refused was stored.
    let s = w.stats();
    assert_eq!((s["records"].as_i64(), s["patrols"].as_i64()), (Some(2), Some(1)));
}

#[test]
fn bad_chunks_are_refused_with_their_slugs() {
    let w = World::new();
    let fixes = walk(T0, 10);
    assert_error(w.chunk(&w.a, "c-1", "p-none", 1, &fixes), 422, "unknown-patrol");
    ack(w.record(&w.a, &check_in("rec-1", "p-1", "pc-a", "tgp-a", "constable", T0)));

    let r = w
        .chunk_request(&w.a, "c-2", "p-1", 1, b"GTC1 not deflate".to_vec())
        .send()
        .expect("send");
    assert_error(r, 422, "bad-chunk");
    let r = w
        .chunk_request(&w.a, "c-2", "p-1", 1, b"nonsense".to_vec())
        .send()
        .expect("send");
    assert_error(r, 422, "bad-chunk");

    let body = guardian_protocol::codec::encode(&fixes);
    type Case<'a> = (&'a [(&'a str, &'a str)], u16, &'a str);
    let cases: [Case<'_>; 6] = [
        (
            &[("content-type", "application/octet-stream")],
            415,
            "unsupported-media-type",
        ),
        (&[("content-type", "")], 415, "unsupported-media-type"),
        (&[("x-guardian-format", "2")], 422, "unsupported-format"),
        (&[("x-guardian-seq", "minus one")], 400, "bad-request"),
        (&[("x-guardian-patrol-id", "")], 400, "bad-request"),
        (&[("x-guardian-patrol-id", &"p".repeat(65))], 400, "bad-request"),
    ];
    for (overrides, status, slug) in cases {
        let r = w
            .chunk_request_with(&w.a, "c-3", "p-1", 1, body.clone(), overrides)
            .send()
            .expect("send");
        assert_error(r, status, slug);
    }
    // A repeated header is ambiguous, so refused (not read as absent).
    for name in ["content-type", HEADER_PATROL_ID, HEADER_SEQ, HEADER_FORMAT] {
        let value = if name == "content-type" {
            TRACK_CONTENT_TYPE
        } else {
            "1"
        };
        let r = w
            .chunk_request(&w.a, "c-3", "p-1", 1, body.clone())
            .header(name, value)
            .send()
            .expect("send");
        assert_error(r, 400, "bad-request");
    }
    let r = w
        .chunk_request(&w.a, "c-3", "p-1", 1, vec![0u8; guardian_backend::MAX_CHUNK_BYTES + 1])
        .send()
        .expect("send");
    assert_error(r, 413, "too-large");

    // An impossible fix inside a well-formed chunk.
    let mut bad = fixes.clone();
    bad[3].fix.lat = 95.0;
    assert_error(w.chunk(&w.a, "c-4", "p-1", 1, &bad), 422, "bad-chunk");

    let s = w.stats();
    assert_eq!((s["chunks"].as_i64(), s["fixes"].as_i64()), (Some(0), Some(0)));
}

#[test]
fn an_officer_cannot_see_or_write_another_officers_patrols() {
    let w = World::new();
    ack(w.record(&w.a, &check_in("rec-a1", "p-a", "pc-a", "tgp-a", "constable", T0)));

    // B cannot check in as A, check out A's patrol, add to its track, or
    // claim A's record or chunk ids.
    assert_error(
        w.record(&w.b, &check_in("rec-b1", "p-b", "pc-a", "tgp-a", "constable", T0)),
        403,
        "forbidden",
    );
    assert_error(
        w.record(&w.b, &check_out("rec-b2", "p-a", 1, T0 + 1_000)),
        403,
        "forbidden",
    );
    assert_error(w.chunk(&w.b, "c-b", "p-a", 1, &walk(T0, 5)), 403, "forbidden");
    assert_error(
        w.record(&w.b, &check_in("rec-a1", "p-b", "pc-b", "tgp-a", "constable", T0)),
        403,
        "forbidden",
    );
    ack(w.chunk(&w.a, "c-a", "p-a", 1, &walk(T0, 5)));
    assert_error(w.chunk(&w.b, "c-a", "p-a", 1, &walk(T0, 5)), 403, "forbidden");

    ack(w.record(&w.b, &check_in("rec-b3", "p-b", "pc-b", "tgp-a", "constable", T0)));
    let ids = |token: &str| -> Vec<String> {
        ok_json(w.get(token, "/v1/me/patrols"))["patrols"]
            .as_array()
            .expect("array")
            .iter()
            .map(|p| p["patrol_id"].as_str().expect("id").to_string())
            .collect()
    };
    assert_eq!(ids(&w.a), ["p-a"]);
    assert_eq!(ids(&w.b), ["p-b"]);
    assert_eq!(ids(&w.c), Vec::<String>::new());
}

#[test]
fn tokens_and_roles_are_enforced_on_every_route() {
    let w = World::new();
    let admin_routes: [(&str, &str); 8] = [
        ("POST", "/v1/admin/areas"),
        ("POST", "/v1/admin/officers"),
        ("POST", "/v1/admin/tokens"),
        ("POST", "/v1/admin/schedule"),
        ("POST", "/v1/admin/commands"),
        ("GET", "/v1/admin/compliance.csv"),
        ("GET", "/v1/admin/compliance/summary"),
        ("GET", "/v1/admin/stats"),
    ];
    for (method, path) in admin_routes {
        let req = |token: Option<&str>| {
            let m = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
            let b = w.http.request(m, w.url(path)).json(&json!({}));
            match token {
                Some(t) => b.bearer_auth(t),
                None => b,
            }
        };
        assert_error(req(Some(&w.a)).send().expect("send"), 403, "forbidden");
        assert_error(req(None).send().expect("send"), 401, "unauthorized");
    }

    // An admin token is not an officer's; nor is a navigator's.
    assert_error(w.get(&w.admin, "/v1/sync"), 403, "forbidden");
    let nav = ok_json(w.post(
        &w.admin,
        "/v1/admin/tokens",
        &json!({"sub": "nav-1", "role": "navigator", "ttl_s": 60}),
    ));
    let nav = nav["token"].as_str().expect("token");
    assert_error(w.get(nav, "/v1/me/patrols"), 403, "forbidden");

    // Forged: A's claims with the role changed, A's signature kept.
    let parts: Vec<&str> = w.a.split('.').collect();
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut claims: Value = serde_json::from_slice(&b64.decode(parts[1]).expect("b64")).expect("claims");
    claims["role"] = json!("admin");
    let forged = format!("v1.{}.{}", b64.encode(claims.to_string()), parts[2]);
    assert_error(w.get(&forged, "/v1/admin/stats"), 401, "token-signature");
    assert_error(w.get("not-a-token", "/v1/sync"), 401, "token-malformed");
    let r = w
        .http
        .get(w.url("/v1/sync"))
        .header("authorization", format!("Basic {}", w.a))
        .send()
        .expect("send");
    assert_error(r, 401, "unauthorized");

    // A token from another backend's key.
    let other_dir = tempfile::tempdir().expect("tempdir");
    let other = open_store(&fresh_store(other_dir.path()));
    let foreign = other.issue_token("pc-a", Role::Officer, 60).expect("token");
    assert_error(w.get(&foreign, "/v1/sync"), 401, "token-signature");

    // Expired.
    let short = ok_json(w.post(
        &w.admin,
        "/v1/admin/tokens",
        &json!({"sub": "pc-a", "role": "officer", "ttl_s": 1}),
    ));
    let short = short["token"].as_str().expect("token").to_string();
    std::thread::sleep(std::time::Duration::from_millis(2_100));
    assert_error(w.get(&short, "/v1/sync"), 401, "token-expired");

    // A good token for someone the force does not list.
    let ghost = ok_json(w.post(
        &w.admin,
        "/v1/admin/tokens",
        &json!({"sub": "pc-ghost", "role": "officer", "ttl_s": 60}),
    ));
    let ghost = ghost["token"].as_str().expect("token");
    assert_error(w.get(ghost, "/v1/sync"), 403, "unknown-officer");
    assert_error(
        w.record(ghost, &check_in("rec-g", "p-g", "pc-ghost", "tgp-a", "constable", T0)),
        403,
        "unknown-officer",
    );
    assert_error(w.get(ghost, "/v1/me/patrols"), 403, "unknown-officer");
}

#[test]
fn sync_sends_areas_and_assignments_only_when_they_changed() {
    let w = World::new();
    let first = sync(&w, &w.a, None);
    let me = first.officer.clone().expect("profile");
    assert_eq!(
        (me.officer_id.as_str(), me.display_name.as_str(), me.rank.as_str()),
        ("pc-a", "PC Able", "constable")
    );
    let areas = first.areas.clone().expect("areas on first sync");
    assert_eq!(areas["features"].as_array().map(Vec::len), Some(3));
    assert_eq!(first.assignments, Some(vec![]));
    assert!(first.commands.is_empty());

    let second = sync(&w, &w.a, Some(&first.cursor));
    assert_eq!((second.areas.is_none(), second.assignments.is_none()), (true, true));
    assert_eq!(second.cursor, first.cursor);
    assert!(second.officer.is_some(), "the profile is always sent");

    // A schedule changes assignments, not areas.
    let made = ok_json(w.post(
        &w.admin,
        "/v1/admin/schedule",
        &json!({"date": "2026-07-03", "fraction": 1.0, "seed": 9}),
    ));
    let made = made.as_array().expect("assignments").clone();
    assert_eq!(made.len(), 3, "all three areas run on a Friday");
    let third = sync(&w, &w.a, Some(&second.cursor));
    assert!(third.areas.is_none());
    let mine = third.assignments.clone().expect("assignments changed");
    assert!(!mine.is_empty() && mine.iter().all(|a| a.officer_id == "pc-a"));
    assert!(
        mine.windows(2)
            .all(|p| (p[0].start_ms, &p[0].id) <= (p[1].start_ms, &p[1].id))
    );

    // New areas are sent in full.
    let more = areas_json().replace("tgp-c", "tgp-d");
    let r = w
        .http
        .post(w.url("/v1/admin/areas"))
        .bearer_auth(&w.admin)
        .header("content-type", "application/geo+json")
        .body(more)
        .send()
        .expect("send");
    assert_eq!(ok_json(r)["areas"], 3);
    let fourth = sync(&w, &w.a, Some(&third.cursor));
    let ids: Vec<&str> = fourth.areas.as_ref().expect("areas")["features"]
        .as_array()
        .expect("features")
        .iter()
        .map(|f| f["properties"]["id"].as_str().expect("id"))
        .collect();
    assert_eq!(ids, ["tgp-a", "tgp-b", "tgp-d"]);
    assert!(fourth.assignments.is_none());

    // A cursor the server does not understand means "send everything".
    let fresh = sync(&w, &w.a, Some("garbage"));
    assert!(fresh.areas.is_some() && fresh.assignments.is_some());

    // Bad area sets change nothing.
    let r = w
        .http
        .post(w.url("/v1/admin/areas"))
        .bearer_auth(&w.admin)
        .header("content-type", "application/geo+json")
        .body("{\"type\":\"nope\"}")
        .send()
        .expect("send");
    assert_error(r, 422, "bad-areas");
    assert!(sync(&w, &w.a, Some(&fourth.cursor)).areas.is_none());
    // A check-in to an area no longer in the set is refused.
    assert_error(
        w.record(&w.a, &check_in("rec-1", "p-1", "pc-a", "tgp-c", "constable", T0)),
        422,
        "unknown-area",
    );
}

#[test]
fn a_wipe_command_is_queued_for_its_officer_until_acknowledged() {
    let w = World::new();
    let queued = ok_json(w.post(
        &w.admin,
        "/v1/admin/commands",
        &json!({"officer_id": "pc-a", "kind": "wipe"}),
    ));
    let id = queued["id"].as_str().expect("id").to_string();
    assert_error(
        w.post(
            &w.admin,
            "/v1/admin/commands",
            &json!({"officer_id": "pc-nobody", "kind": "wipe"}),
        ),
        422,
        "unknown-officer",
    );
    assert_error(
        w.post(
            &w.admin,
            "/v1/admin/commands",
            &json!({"officer_id": "pc-a", "kind": "explode"}),
        ),
        400,
        "bad-request",
    );

    let reply = sync(&w, &w.a, None);
    assert_eq!(reply.commands.len(), 1);
    assert_eq!(reply.commands[0].id, id);
    assert!(sync(&w, &w.b, None).commands.is_empty());

    let ack_path = format!("/v1/commands/{id}/ack");
    assert_error(w.post(&w.b, &ack_path, &json!({})), 404, "unknown-command");
    assert_eq!(sync(&w, &w.a, None).commands.len(), 1, "B's attempt changed nothing");
    ok_json(w.post(&w.a, &ack_path, &json!({})));
    assert!(sync(&w, &w.a, None).commands.is_empty());
    // A retried ack is a success.
    ok_json(w.post(&w.a, &ack_path, &json!({})));
    assert_error(
        w.post(&w.a, "/v1/commands/nope/ack", &json!({})),
        404,
        "unknown-command",
    );
}

fn many_areas(n: usize) -> String {
    let features: Vec<Value> = (0..n)
        .map(|i| {
            feature(
                &format!("area-{i:02}"),
                52.40 + (i / 10) as f64 * 0.01,
                -1.95 + (i % 10) as f64 * 0.01,
                Value::Null,
            )
        })
        .collect();
    json!({"type": "FeatureCollection", "features": features}).to_string()
}

fn scheduled(seed: u64) -> (Vec<guardian_protocol::wire::AssignmentWire>, Backend) {
    let dir = tempfile::tempdir().expect("tempdir");
    let b = open_store(&fresh_store(dir.path()));
    b.load_areas_geojson(&many_areas(20)).expect("areas");
    b.create_officer("pc-1", "One", Rank::Constable).expect("officer");
    b.create_officer("pcso-2", "Two", Rank::Pcso).expect("officer");
    let date = chrono::NaiveDate::from_ymd_opt(2026, 11, 26).expect("date");
    (b.schedule(date, 0.5, seed).expect("schedule"), b)
}

#[test]
fn the_same_seed_gives_the_same_schedule_of_half_the_areas() {
    let (first, _) = scheduled(2023);
    let (second, _) = scheduled(2023);
    assert_eq!(first, second);
    assert_eq!(first.len(), 10);
    let (other, _) = scheduled(2024);
    assert_ne!(
        first.iter().map(|a| &a.area_id).collect::<Vec<_>>(),
        other.iter().map(|a| &a.area_id).collect::<Vec<_>>()
    );
    // Round-robin, the warranted officer first.
    assert_eq!(first[0].officer_id, "pc-1");
    assert_eq!(first[1].officer_id, "pcso-2");
}

#[test]
fn the_draw_and_its_control_group_are_recorded() {
    let (made, backend) = scheduled(7);
    let runs = backend.schedule_runs().expect("runs");
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    assert_eq!(
        (run.date.to_string().as_str(), run.seed, run.fraction),
        ("2026-11-26", 7, 0.5)
    );
    let mut assigned: Vec<String> = made.iter().map(|a| a.area_id.clone()).collect();
    assigned.sort();
    assert_eq!(run.chosen, assigned);
    assert_eq!(run.not_chosen.len(), 10);
    assert!(run.chosen.iter().all(|a| !run.not_chosen.contains(a)));
    // A seed above i64::MAX survives the round trip.
    let date = chrono::NaiveDate::from_ymd_opt(2026, 11, 27).expect("date");
    backend.schedule(date, 0.5, u64::MAX).expect("schedule");
    assert_eq!(backend.schedule_runs().expect("runs")[1].seed, u64::MAX);
}

#[test]
fn a_day_is_drawn_once_over_http() {
    let w = World::new();
    let req = json!({"date": "2026-07-03", "fraction": 0.5, "seed": 1});
    let made = ok_json(w.post(&w.admin, "/v1/admin/schedule", &req));
    // Three areas run on a Friday; round(1.5) = 2.
    assert_eq!(made.as_array().map(Vec::len), Some(2));
    assert_error(w.post(&w.admin, "/v1/admin/schedule", &req), 409, "already-scheduled");
    assert_error(
        w.post(
            &w.admin,
            "/v1/admin/schedule",
            &json!({"date": "03/07/2026", "fraction": 0.5, "seed": 1}),
        ),
        422,
        "bad-request",
    );
    assert_error(
        w.post(
            &w.admin,
            "/v1/admin/schedule",
            &json!({"date": "2026-07-04", "fraction": 2.0, "seed": 1}),
        ),
        422,
        "bad-request",
    );
}

#[test]
fn everything_survives_a_restart_on_the_same_database() {
    let mut w = World::new();
    let env = check_in("rec-1", "p-1", "pc-a", "tgp-a", "constable", T0);
    ack(w.record(&w.a, &env));
    ack(w.chunk(&w.a, "c-1", "p-1", 1, &walk(T0, 20)));
    ok_json(w.post(
        &w.admin,
        "/v1/admin/commands",
        &json!({"officer_id": "pc-a", "kind": "wipe"}),
    ));
    let before = w.stats();
    let cursor = sync(&w, &w.a, None).cursor;

    w.restart();

    // The token key persisted, so old tokens still work.
    assert_eq!(w.stats(), before);
    assert_eq!(ack(w.record(&w.a, &env)).status, AckStatus::Duplicate);
    assert_eq!(
        ack(w.chunk(&w.a, "c-1", "p-1", 1, &walk(T0, 20))).status,
        AckStatus::Duplicate
    );
    let after = sync(&w, &w.a, Some(&cursor));
    assert!(after.areas.is_none() && after.assignments.is_none());
    assert_eq!(after.commands.len(), 1);
    assert_eq!(ok_json(w.get(&w.a, "/v1/me/patrols"))["patrols"][0]["fixes"], 20);
}

#[test]
fn unknown_routes_and_methods_get_api_errors() {
    let w = World::new();
    assert_error(w.get(&w.a, "/v1/nothing"), 404, "not-found");
    let r = w
        .http
        .delete(w.url("/v1/records"))
        .bearer_auth(&w.a)
        .send()
        .expect("send");
    assert_error(r, 405, "method-not-allowed");
}
