//! `guardian-sim demo --serve`: after the demo, the review page's address
//! and a supervisor token, a backend that answers on it, and a clean stop
//! on Ctrl-C (SIGINT).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn get(addr: &str, path: &str, token: Option<&str>) -> String {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Connection: close\r\n\r\n"
    )
    .expect("send");
    let mut out = String::new();
    s.read_to_string(&mut out).expect("read");
    out
}

#[test]
fn demo_serve_prints_the_review_page_and_stops_on_ctrl_c() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_guardian-sim"))
        .args(["demo", "--serve"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run guardian-sim");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut url = None;
    let mut token = None;
    while let Some(Ok(line)) = lines.next() {
        if let Some(u) = line.strip_prefix("Supervisors' review page: ") {
            url = Some(u.to_string());
        } else if line.starts_with("Sign in with this supervisor token") {
            token = lines.next().and_then(Result::ok);
        } else if line.starts_with("The backend stays up") {
            break;
        }
    }
    let url = url.expect("the review page's address");
    let token = token.expect("a supervisor token");
    let rest = url.strip_prefix("http://").expect("http URL");
    let (addr, path) = rest.split_at(rest.find('/').expect("a path"));
    assert_eq!(path, "/review?date=2008-01-27", "the demo walk's day");

    let page = get(addr, path, Some(&token));
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(page.contains("Patrols on Sunday 27 January 2008"));
    assert!(
        page.contains("data-figure=\"patrols\" data-value=\"1\""),
        "the demo's one patrol"
    );
    // The demo filed a referral during the patrol: none of it is here.
    for secret in ["Demo Young Person", "Demo Academy", "folding knife", "VRP-"] {
        assert!(!page.contains(secret), "referral data on the review page: {secret}");
    }
    let json = get(addr, "/v1/review/days?date=2008-01-27", Some(&token));
    assert!(json.starts_with("HTTP/1.1 200"), "{json}");
    assert!(!json.contains("Demo Young Person") && !json.contains("VRP-"));
    let signed_out = get(addr, path, None);
    assert!(signed_out.starts_with("HTTP/1.1 401"), "{signed_out}");

    let pid = child.id().to_string();
    let kill = Command::new("kill").args(["-INT", &pid]).status().expect("kill");
    assert!(kill.success());
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "still running after Ctrl-C"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
    let tail: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(tail.iter().any(|l| l == "stopping"), "{tail:?}");
    assert!(TcpStream::connect(addr).is_err(), "the backend is down");
}

#[test]
fn review_seed_walks_the_four_kinds_of_patrol_through_handsets() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("force.db");
    let out = Command::new(env!("CARGO_BIN_EXE_guardian-sim"))
        .args(["review-seed", "--db", db.to_str().expect("path")])
        .output()
        .expect("run guardian-sim");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let patrols = v["patrols"].as_array().expect("patrols");
    let kind = |k: &str| {
        patrols
            .iter()
            .find(|p| p["expect"] == k)
            .unwrap_or_else(|| panic!("{k}"))
    };
    assert_eq!(kind("compliant")["compliant"], true);
    let reasons = |k: &str| kind(k)["reasons"].to_string();
    assert!(reasons("not_warranted").contains("led by a pcso"), "{v}");
    assert!(reasons("too_short").contains("30 required"), "{v}");
    assert!(reasons("outside_window").contains("window"), "{v}");
    assert!(db.exists());
    // A second run never overwrites a force's database.
    let again = Command::new(env!("CARGO_BIN_EXE_guardian-sim"))
        .args(["review-seed", "--db", db.to_str().expect("path")])
        .output()
        .expect("run guardian-sim");
    assert_eq!(again.status.code(), Some(2));
}
