//! The `guardian-backend` command line: admin commands on a database file,
//! a token from the CLI accepted by a server on the same file, and bad input
//! reported on stderr with exit code 2.

mod common;

use std::process::{Command, Output};

use common::*;
use guardian_backend::spawn;

fn cli(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_guardian-backend"))
        .args(args)
        .output()
        .expect("run the CLI")
}

fn stdout(o: &Output) -> String {
    assert!(o.status.success(), "CLI failed: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout.clone()).expect("utf-8")
}

#[test]
fn the_cli_administers_a_database_a_server_then_serves() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = fresh_store(dir.path());
    let db = db.as_str();
    let areas = dir.path().join("areas.geojson");
    std::fs::write(&areas, areas_json()).expect("write areas");

    stdout(&cli(&["load-areas", store_flag(db), db, areas.to_str().expect("path")]));
    stdout(&cli(&[
        "create-officer",
        store_flag(db),
        db,
        "--id",
        "pc-a",
        "--name",
        "PC Able",
        "--rank",
        "pc",
    ]));
    let token = stdout(&cli(&[
        "token",
        store_flag(db),
        db,
        "--sub",
        "pc-a",
        "--role",
        "officer",
    ]));
    let made = stdout(&cli(&[
        "schedule",
        store_flag(db),
        db,
        "--date",
        "2026-07-03",
        "--fraction",
        "1",
        "--seed",
        "5",
    ]));
    let made: serde_json::Value = serde_json::from_str(&made).expect("assignments JSON");
    assert_eq!(made.as_array().map(Vec::len), Some(3));
    let csv = stdout(&cli(&["export", store_flag(db), db]));
    assert_eq!(csv.trim_end(), guardian_backend::CSV_HEADER);
    let summary: serde_json::Value =
        serde_json::from_str(&stdout(&cli(&["export", store_flag(db), db, "--summary"]))).expect("summary JSON");
    assert_eq!(summary["patrols"], 0);

    // The server on the same file accepts the CLI's token.
    let server = spawn(open_store(db), loopback()).expect("spawn");
    let r = reqwest::blocking::Client::new()
        .get(format!("http://{}/v1/sync", server.addr))
        .bearer_auth(token.trim())
        .send()
        .expect("send");
    let reply = ok_json(r);
    assert_eq!(reply["officer"]["rank"], "constable");
    assert_eq!(reply["assignments"].as_array().map(Vec::len), Some(3));
}

#[test]
fn bad_input_is_reported_on_stderr_with_exit_code_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = fresh_store(dir.path());
    let db = db.as_str();
    let bad_areas = dir.path().join("bad.geojson");
    std::fs::write(&bad_areas, "{\"type\": \"FeatureCollection\", \"features\": [{}]}").expect("write");
    let cases: [&[&str]; 10] = [
        &[
            "token",
            "--database-url",
            "mysql://x",
            "--sub",
            "x",
            "--role",
            "officer",
        ],
        &[
            "token",
            "--db",
            "b.db",
            "--database-url",
            "postgres://x",
            "--sub",
            "x",
            "--role",
            "officer",
        ],
        &["token", store_flag(db), db, "--sub", "x", "--role", "superuser"],
        &[
            "token",
            store_flag(db),
            db,
            "--sub",
            "x",
            "--role",
            "officer",
            "--ttl-s",
            "0",
        ],
        &[
            "create-officer",
            store_flag(db),
            db,
            "--id",
            "x",
            "--name",
            "X",
            "--rank",
            "admiral",
        ],
        &["schedule", store_flag(db), db, "--date", "tomorrow", "--seed", "1"],
        &["load-areas", store_flag(db), db, "/nonexistent/areas.geojson"],
        &["load-areas", store_flag(db), db, bad_areas.to_str().expect("path")],
        &["no-such-command"],
        // A CA file that is not there: refused before any connection.
        &[
            "token",
            "--database-url",
            "postgres://x@127.0.0.1:1/db?sslmode=require&sslrootcert=/nonexistent/ca.pem",
            "--sub",
            "x",
            "--role",
            "officer",
        ],
    ];
    for args in cases {
        let o = cli(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(!o.stderr.is_empty(), "{args:?} says why on stderr");
        assert!(o.stdout.is_empty(), "{args:?}");
    }
    let o = cli(cases[9]);
    let said = String::from_utf8_lossy(&o.stderr);
    assert!(said.contains("sslrootcert /nonexistent/ca.pem"), "{said}");
}
