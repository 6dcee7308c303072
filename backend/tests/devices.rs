//! A lost handset shut out: registered on its sync, revoked by a
//! supervisor, refused whatever token it carries except for one sync (the
//! wipe) and its ack, then refused for good. On both stores.

mod common;

use std::process::Command;

use guardian_backend::Role;
use guardian_protocol::wire::{HEADER_DEVICE, SyncReply};
use reqwest::blocking::Response;
use serde_json::{Value, json};

use common::{World, assert_error, ok_json, store_flag};

const PHONE: &str = "0192f7c8-5e1a-7cc1-9a0e-3d1f2b4c5d6e";

fn from(w: &World, device: &str, token: &str, path: &str) -> Response {
    w.http
        .get(w.url(path))
        .bearer_auth(token)
        .header(HEADER_DEVICE, device)
        .send()
        .expect("send")
}

fn ack(w: &World, device: Option<&str>, token: &str, id: &str) -> Response {
    let mut req = w.http.post(w.url(&format!("/v1/commands/{id}/ack"))).bearer_auth(token);
    if let Some(d) = device {
        req = req.header(HEADER_DEVICE, d);
    }
    req.send().expect("send")
}

fn revoke(w: &World, token: &str, device: &str) -> Response {
    w.http
        .post(w.url(&format!("/v1/admin/devices/{device}/revoke")))
        .bearer_auth(token)
        .send()
        .expect("send")
}

#[test]
fn a_revoked_handset_gets_one_wipe_sync_and_then_nothing() {
    let w = World::new();
    let sup = w
        .open_backend()
        .issue_token("sgt-1", Role::Supervisor, 600)
        .expect("token");

    // Registered on its first sync, to the officer signed in on it.
    let first: SyncReply = serde_json::from_value(ok_json(from(&w, PHONE, &w.a, "/v1/sync"))).expect("reply");
    assert!(first.areas.is_some() && first.commands.is_empty());
    let listed = ok_json(w.get(&sup, "/v1/admin/devices?officer=pc-a"));
    assert_eq!(listed["devices"][0]["device_id"], PHONE);
    assert_eq!(listed["devices"][0]["officer_id"], "pc-a");
    assert_eq!(listed["devices"][0]["revoked_ms"], Value::Null);

    // Only an admin or supervisor may revoke; an unknown handset is a 404.
    assert_error(revoke(&w, &w.a, PHONE), 403, "forbidden");
    assert_error(revoke(&w, &sup, "never-seen"), 404, "unknown-device");
    assert_error(revoke(&w, &sup, &"0".repeat(41)), 400, "bad-request");
    assert_error(w.get(&sup, "/v1/admin/devices?officer=%C3%97"), 400, "bad-request");
    let revoked = ok_json(revoke(&w, &sup, PHONE));
    assert_eq!(revoked["revoked_by"], "sgt-1");
    let first_time = revoked["revoked_ms"].clone();
    assert!(first_time.is_i64());
    let again = ok_json(revoke(&w, &w.admin, PHONE));
    assert_eq!(
        (&again["revoked_ms"], &again["revoked_by"]),
        (&first_time, &json!("sgt-1"))
    );

    // Every route but the sync is refused, whatever valid token it carries.
    assert_error(from(&w, PHONE, &w.a, "/v1/me/patrols"), 401, "device-revoked");
    assert_error(from(&w, PHONE, &w.b, "/v1/library"), 401, "device-revoked");
    assert_error(from(&w, PHONE, &w.admin, "/v1/admin/stats"), 401, "device-revoked");

    // Its next sync is the wipe and nothing else.
    let wipe: SyncReply = serde_json::from_value(ok_json(from(&w, PHONE, &w.a, "/v1/sync"))).expect("reply");
    assert_eq!(wipe.commands.len(), 1, "{wipe:?}");
    assert!(wipe.areas.is_none() && wipe.assignments.is_none() && wipe.officer.is_none());
    assert!(wipe.boundaries.is_none() && wipe.referral_updates.is_empty());
    let id = wipe.commands[0].id.clone();
    assert_error(ack(&w, Some(PHONE), &w.a, "some-other-command"), 404, "unknown-command");
    assert_eq!(ack(&w, Some(PHONE), &w.a, &id).status(), 200);

    // Wiped: nothing more, the sync and the ack included.
    assert_error(from(&w, PHONE, &w.a, "/v1/sync"), 401, "device-revoked");
    assert_error(ack(&w, Some(PHONE), &w.a, &id), 401, "device-revoked");
    let wiped = ok_json(w.get(&sup, "/v1/admin/devices"));
    assert!(wiped["devices"][0]["wiped_ms"].is_i64(), "{wiped}");

    // The officer is not shut out: another handset of theirs syncs.
    let other = ok_json(from(&w, "0192f7c8-0000-7000-8000-000000000002", &w.a, "/v1/sync"));
    assert!(other["areas"].is_object());
}

#[test]
fn a_shared_handset_moves_to_the_officer_now_signed_in_and_a_bad_device_id_is_a_400() {
    let w = World::new();
    ok_json(from(&w, PHONE, &w.a, "/v1/sync"));
    ok_json(from(&w, PHONE, &w.b, "/v1/sync"));
    let listed = ok_json(w.get(&w.admin, "/v1/admin/devices"));
    assert_eq!(listed["devices"].as_array().map(Vec::len), Some(1));
    assert_eq!(listed["devices"][0]["officer_id"], "pc-b");
    for bad in ["", "has space", &"x".repeat(41)] {
        assert_error(from(&w, bad, &w.a, "/v1/sync"), 400, "bad-request");
    }
}

#[test]
fn the_cli_lists_and_revokes_a_handset() {
    let w = World::new();
    ok_json(from(&w, PHONE, &w.a, "/v1/sync"));
    let cli = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_guardian-backend"))
            .args(args)
            .args([store_flag(&w.store), &w.store])
            .output()
            .expect("run");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice::<Value>(&out.stdout).expect("json")
    };
    let listed = cli(&["devices", "--officer", "pc-a"]);
    assert_eq!(listed[0]["device_id"], PHONE);
    let revoked = cli(&["revoke-device", "--id", PHONE, "--by", "control-room"]);
    assert_eq!(revoked["revoked_by"], "control-room");
    assert_error(from(&w, PHONE, &w.a, "/v1/me/patrols"), 401, "device-revoked");
}
