//! The backend under a hostile client: one regression test per finding of
//! the API audit (issue 11), each against a real server on loopback.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use guardian_backend::{Limits, spawn_with};
use guardian_protocol::codec;
use guardian_protocol::wire::{ApiError, SyncReply};
use serde_json::{Value, json};

/// Year −262,000, as a hostile officer dated their patrol.
const ANCIENT: i64 = -8_330_000_000_000_000;

// ---- 1. times and numbers --------------------------------------------------

#[test]
fn an_officer_cannot_date_a_patrol_into_the_unreportable_past() {
    let w = World::new();
    let bad = check_in("rec-1", "p-1", "pc-a", "tgp-a", "constable", ANCIENT);
    assert_error(w.record(&w.a, &bad), 422, "bad-record");
    // Nor bring in absurd numbers another way.
    let mut absurd = check_in("rec-2", "p-2", "pc-a", "tgp-a", "constable", T0);
    if let guardian_protocol::wire::RecordBody::CheckIn(b) = &mut absurd.body {
        b.accuracy_m = 1e12;
    }
    assert_error(w.record(&w.a, &absurd), 422, "bad-record");

    ok_json(w.record(&w.a, &check_in("rec-3", "p-3", "pc-a", "tgp-a", "constable", T0)));
    let mut fixes = walk(T0 + 1_000, 20);
    fixes[5].fix.time_ms = ANCIENT;
    assert_error(w.chunk(&w.a, "c-1", "p-3", 1, &fixes), 422, "bad-chunk");
    fixes[5].fix.time_ms = T0 + 26_000;
    fixes[6].fix.mono_ns = i64::MAX;
    assert_error(w.chunk(&w.a, "c-1", "p-3", 1, &fixes), 422, "bad-chunk");

    let mut out = check_out("rec-4", "p-3", 1, T0 + 600_000);
    if let guardian_protocol::wire::RecordBody::CheckOut(b) = &mut out.body {
        b.time_ms = i64::MAX;
    }
    assert_error(w.record(&w.a, &out), 422, "bad-record");
    // The reports answer throughout.
    assert_eq!(w.get(&w.admin, "/v1/admin/compliance.csv").status().as_u16(), 200);
    ok_json(w.get(&w.admin, "/v1/admin/compliance/summary"));
}

#[test]
fn a_stored_row_that_cannot_be_judged_is_listed_never_a_500() {
    let mut w = World::new();
    // One good patrol, then rows written before the rules existed: dated
    // year −262,000, naming a vanished area, with a damaged verdict, and
    // with an id a spreadsheet would run.
    ok_json(w.record(&w.a, &check_in("rec-1", "p-good", "pc-a", "tgp-a", "constable", T0)));
    ok_json(w.chunk(&w.a, "c-1", "p-good", 1, &walk(T0 + 5_000, 400)));
    ok_json(w.record(&w.a, &check_out("rec-2", "p-good", 2, T0 + 2_010_000)));
    w.restart();
    raw_sql(
        &w.store,
        &format!(
            "INSERT INTO patrols (patrol_id, officer_id, area_id, claimed_rank, checkin_record_id, checkin_time_ms,
             checkout_record_id, checkout_time_ms)
         VALUES ('p-ancient', 'pc-a', 'tgp-a', 'constable', 'r-a1', {ANCIENT}, 'r-a2', {ANCIENT}),
                ('p-gone', 'pc-a', 'tgp-zz', 'constable', 'r-g1', {T0}, 'r-g2', {}),
                ('p-damaged', 'pc-b', 'tgp-a', 'constable', 'r-d1', {T0}, 'r-d2', {}),
                ('=HYPERLINK(\"http://x\")', 'pc-b', 'tgp-a', 'constable', 'r-h1', {T0}, 'r-h2', {});
         INSERT INTO fixes (patrol_id, chunk_id, seq, idx, time_ms, mono_ns, lat, lon, accuracy_m, verdict)
         VALUES ('p-ancient', 'c-a', 1, 0, {ANCIENT}, 0, 52.4789, -1.8985, 5.0, 'accepted'),
                ('p-ancient', 'c-a', 1, 1, {ANCIENT} + 60000, 60000000000, 52.4789, -1.8985, 5.0, 'accepted'),
                ('p-damaged', 'c-d', 1, 0, {T0}, 0, 52.4789, -1.8985, 5.0, 'teleported');",
            T0 + 60_000,
            T0 + 60_000,
            T0 + 60_000,
        ),
    );

    let r = w.get(&w.admin, "/v1/admin/compliance.csv");
    assert_eq!(r.status().as_u16(), 200);
    let csv = r.text().expect("csv");
    let line = |id: &str| {
        csv.lines()
            .find(|l| l.starts_with(id))
            .unwrap_or_else(|| panic!("{id} missing:\n{csv}"))
            .to_string()
    };
    assert!(line("p-good,").contains(",true,") || line("p-good,").contains(",false,"));
    assert!(line("p-gone,").contains("unreadable: its area is not stored"), "{csv}");
    assert!(line("p-damaged,").contains("unreadable"), "{csv}");
    // Dated outside any clock: judged (no arrival), never a panic.
    assert!(line("p-ancient,").contains(",false,"), "{csv}");
    // The formula is shown as text.
    assert!(line("\"'=HYPERLINK").starts_with("\"'="), "{csv}");
    assert!(!csv.lines().any(|l| l.starts_with('=')));

    let summary = ok_json(w.get(&w.admin, "/v1/admin/compliance/summary"));
    assert_eq!(summary["patrols"], 3, "the unreadable two are left out: {summary}");

    // And the CLI's export exits cleanly on the same file.
    w.restart();
    let out = Command::new(env!("CARGO_BIN_EXE_guardian-backend"))
        .args(["export", store_flag(&w.store), &w.store])
        .output()
        .expect("run export");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("unreadable"));
}

// ---- 2. stalled connections, dripped bodies, shedding ------------------------

fn hardened(limits: Limits) -> (tempfile::TempDir, guardian_backend::ServerHandle, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    // Always a SQLite file: these tests count the process's descriptors, and
    // the store plays no part in them (a PostgreSQL pool's sockets, opened
    // by tests running beside them, would blur the count).
    let backend = open_store(dir.path().join("hardened.db").to_str().expect("path"));
    backend.load_areas_geojson(&areas_json()).expect("areas");
    backend
        .create_officer("pc-a", "PC Able", guardian_core::patrol::Rank::Constable)
        .expect("officer");
    let token = backend
        .issue_token("pc-a", guardian_backend::Role::Officer, 3600)
        .expect("token");
    let server = spawn_with(backend, loopback(), limits).expect("spawn");
    (dir, server, token)
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, Iterator::count)
}

/// A plain HTTP/1.1 exchange over a new socket; the whole answer.
fn raw(addr: SocketAddr, request: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    s.write_all(request).expect("write");
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

fn healthz(addr: SocketAddr) -> bool {
    raw(addr, b"GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").starts_with("HTTP/1.1 200")
}

#[test]
fn stalled_connections_are_capped_and_cut_off_and_real_requests_still_served() {
    let limits = Limits {
        max_connections: 64,
        header_timeout: Duration::from_secs(1),
        ..Limits::default()
    };
    let (_dir, server, _) = hardened(limits);
    let before = open_fds();
    // Three times the cap, each stopping half-way through its headers.
    let mut stalled: Vec<TcpStream> = (0..192).filter_map(|_| TcpStream::connect(server.addr).ok()).collect();
    for s in &mut stalled {
        let _ = s.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\nx-half");
    }
    std::thread::sleep(Duration::from_millis(300));
    // The server holds at most its cap (ours: the 192 client ends).
    let held = open_fds().saturating_sub(before + stalled.len());
    assert!(held <= 64 + 8, "the server holds {held} descriptors for them");
    // A real request is served once the stallers' time is up.
    let start = Instant::now();
    let mut served = false;
    while start.elapsed() < Duration::from_secs(5) {
        if healthz(server.addr) {
            served = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(served, "a real request was not served within 5 s");
    assert!(start.elapsed() < Duration::from_secs(3), "{:?}", start.elapsed());
    // And every staller was cut off: its read ends.
    for s in stalled.iter_mut().take(10) {
        s.set_read_timeout(Some(Duration::from_secs(3))).expect("timeout");
        let mut buf = [0u8; 512];
        let n = s.read(&mut buf).unwrap_or(0);
        // Closed outright, or told why first: never kept waiting.
        assert!(
            n == 0 || buf.starts_with(b"HTTP/1.1 "),
            "{:?}",
            String::from_utf8_lossy(&buf[..n])
        );
    }
}

#[test]
fn a_body_dripped_byte_by_byte_is_cut_off() {
    let limits = Limits {
        body_timeout: Duration::from_secs(1),
        ..Limits::default()
    };
    let (_dir, server, token) = hardened(limits);
    let mut s = TcpStream::connect(server.addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    let head = format!(
        "POST /v1/records HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {token}\r\ncontent-type: application/json\r\ncontent-length: 200\r\n\r\n"
    );
    s.write_all(head.as_bytes()).expect("head");
    let start = Instant::now();
    let mut answer = Vec::new();
    // One byte every 200 ms would take 40 s; the server must not wait.
    for _ in 0..40 {
        if s.write_all(b" ").is_err() {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
        s.set_nonblocking(true).expect("nonblocking");
        let mut buf = [0u8; 1024];
        if let Ok(n) = s.read(&mut buf)
            && n > 0
        {
            answer.extend_from_slice(&buf[..n]);
            break;
        }
        s.set_nonblocking(false).expect("blocking");
    }
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"timeout\""), "{answer}");
    assert!(start.elapsed() < Duration::from_secs(4), "{:?}", start.elapsed());
}

#[test]
fn beyond_the_requests_in_flight_the_server_sheds_with_retry_after() {
    let limits = Limits {
        max_in_flight: 1,
        body_timeout: Duration::from_secs(3),
        ..Limits::default()
    };
    let (_dir, server, token) = hardened(limits);
    // One request holds the only slot, its body still to come.
    let mut holder = TcpStream::connect(server.addr).expect("connect");
    let head = format!(
        "POST /v1/records HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {token}\r\ncontent-type: application/json\r\ncontent-length: 50\r\n\r\n"
    );
    holder.write_all(head.as_bytes()).expect("head");
    std::thread::sleep(Duration::from_millis(300));
    let shed = raw(
        server.addr,
        b"GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
    );
    assert!(shed.starts_with("HTTP/1.1 503"), "{shed}");
    assert!(shed.to_ascii_lowercase().contains("retry-after: "), "{shed}");
    assert!(shed.contains("\"overloaded\""), "{shed}");
    drop(holder);
    let start = Instant::now();
    while !healthz(server.addr) {
        assert!(start.elapsed() < Duration::from_secs(5), "the slot never came back");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn one_officer_flooding_is_held_to_their_share_with_retry_after() {
    let limits = Limits {
        per_officer_per_s: 5,
        ..Limits::default()
    };
    let (_dir, server, token) = hardened(limits);
    let http = reqwest::blocking::Client::new();
    let sync = || {
        http.get(format!("http://{}/v1/sync", server.addr))
            .bearer_auth(&token)
            .send()
            .expect("send")
    };
    let answers: Vec<reqwest::blocking::Response> = (0..20).map(|_| sync()).collect();
    let limited: Vec<_> = answers.iter().filter(|r| r.status().as_u16() == 429).collect();
    let ok = answers.iter().filter(|r| r.status().as_u16() == 200).count();
    assert_eq!(ok + limited.len(), 20, "nothing but answers and 429s");
    assert!(
        ok >= 5 && !limited.is_empty(),
        "{ok} answered, {} limited",
        limited.len()
    );
    assert!(limited.iter().all(|r| r.headers().get("retry-after").is_some()));
    // The next second brings a new share.
    std::thread::sleep(Duration::from_millis(1_100));
    assert_eq!(sync().status().as_u16(), 200);
    // Health checks carry no token and are never counted.
    assert!(healthz(server.addr));
}

// ---- 3. decompression bombs ----------------------------------------------------

fn vm_hwm_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn bomb() -> Vec<u8> {
    use flate2::Compression;
    use flate2::write::DeflateEncoder;
    let mut body = vec![0xd8, 0x04]; // varint 600: a handset's chunk size
    body.resize(64 * 1024 * 1024, 0);
    let mut out = codec::MAGIC.to_vec();
    let mut enc = DeflateEncoder::new(&mut out, Compression::best());
    enc.write_all(&body).expect("deflate");
    enc.finish().expect("finish");
    out
}

#[test]
fn thirty_parallel_decompression_bombs_leave_memory_bounded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = fresh_store(dir.path());
    let token = {
        let b = open_store(&db);
        b.load_areas_geojson(&areas_json()).expect("areas");
        b.create_officer("pc-a", "PC Able", guardian_core::patrol::Rank::Constable)
            .expect("officer");
        b.issue_token("pc-a", guardian_backend::Role::Officer, 3600)
            .expect("token")
    };
    // A process of its own, so its peak memory is its own.
    let server = server_process(&db, std::process::Stdio::null(), &[]);
    let pid = server.child.id();
    assert!(healthz(server.addr));
    let before = vm_hwm_kb(pid);
    let bomb = bomb();
    assert!(bomb.len() < 300 * 1024, "{} bytes", bomb.len());
    let answers: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..30)
            .map(|i| {
                let (bomb, token, addr) = (&bomb, &token, server.addr);
                scope.spawn(move || {
                    reqwest::blocking::Client::new()
                        .put(format!("http://{addr}/v1/track/bomb-{i}"))
                        .bearer_auth(token)
                        .header("content-type", guardian_protocol::wire::TRACK_CONTENT_TYPE)
                        .header(guardian_protocol::wire::HEADER_PATROL_ID, "p-1")
                        .header(guardian_protocol::wire::HEADER_SEQ, "1")
                        .header(guardian_protocol::wire::HEADER_FORMAT, "1")
                        .body(bomb.clone())
                        .send()
                        .map_or(0, |r| r.status().as_u16())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or(0)).collect()
    });
    assert!(answers.iter().all(|&s| s == 422), "{answers:?}");
    let grew_mb = vm_hwm_kb(pid).saturating_sub(before) as f64 / 1024.0;
    // Each bomb may inflate to what 600 fixes can need (~48 KB) and no
    // more; 30 of them with their bodies stay well under this.
    assert!(grew_mb < 64.0, "peak memory grew {grew_mb:.1} MB");
    assert!(healthz(server.addr));
}

// ---- 4. a cursor from the future -----------------------------------------------

#[test]
fn a_cursor_ahead_of_the_server_gets_everything() {
    let w = World::new();
    let first: SyncReply = serde_json::from_value(ok_json(w.get(&w.a, "/v1/sync"))).expect("reply");
    for restored in ["a99.s99.b99.r99", "a1.s0.b0.r7", &first.cursor.replace(".r", ".r9")] {
        let reply: SyncReply =
            serde_json::from_value(ok_json(w.get(&w.a, &format!("/v1/sync?cursor={restored}")))).expect("reply");
        assert!(reply.areas.is_some(), "{restored}: the areas");
        assert!(reply.assignments.is_some(), "{restored}: the assignments");
        assert_eq!(reply.cursor, first.cursor, "{restored}: the server's own cursor");
    }
    // The server's own cursor still means "nothing new".
    let again: SyncReply =
        serde_json::from_value(ok_json(w.get(&w.a, &format!("/v1/sync?cursor={}", first.cursor)))).expect("reply");
    assert!(again.areas.is_none() && again.assignments.is_none());
}

// ---- 5 & 6. ids, formulas, headers ---------------------------------------------------

#[test]
fn look_alike_and_formula_ids_are_refused_everywhere() {
    let w = World::new();
    for bad in [
        "pc\u{200B}a",
        "pc-a\u{202E}",
        "=cmd|' /C calc'!A0",
        "+1",
        "@sum",
        "pc a",
        "\u{0440}c-a",
    ] {
        let rec = check_in("rec-1", bad, "pc-a", "tgp-a", "constable", T0);
        assert_error(w.record(&w.a, &rec), 422, "bad-record");
        let officer = w.post(
            &w.admin,
            "/v1/admin/officers",
            &json!({"officer_id": bad, "display_name": "PC Look Alike", "rank": "constable"}),
        );
        assert_error(officer, 422, "bad-request");
        let token = w.post(
            &w.admin,
            "/v1/admin/tokens",
            &json!({"sub": bad, "role": "officer", "ttl_s": 60}),
        );
        assert_error(token, 422, "bad-request");
    }
    let name = w.post(
        &w.admin,
        "/v1/admin/officers",
        &json!({"officer_id": "pc-z", "display_name": "PC Able\u{202E}", "rank": "constable"}),
    );
    assert_error(name, 422, "bad-request");
}

#[test]
fn a_retry_with_a_body_that_is_not_valid_is_refused_not_answered_duplicate() {
    let w = World::new();
    let prefs = |officer: &str| {
        json!({"format": 1, "id": "prefs-1", "officer_id": officer, "version": 1, "updated_ms": T0,
               "bookmarks": [], "recent": []})
    };
    let first = w.post(&w.a, "/v1/library/prefs", &prefs("pc-a"));
    assert_eq!(first.status(), 200);
    let body = first.text().expect("body");
    assert!(body.contains("\"stored\""), "{body}");
    let retry = w.post(&w.a, "/v1/library/prefs", &prefs("pc-a*"));
    assert_error(retry, 422, "bad-prefs");
}

#[test]
fn two_authorization_headers_are_refused_and_the_scheme_is_case_insensitive() {
    let w = World::new();
    // Admin then officer: the first must not win.
    let r = w
        .http
        .get(w.url("/v1/admin/stats"))
        .header("authorization", format!("Bearer {}", w.admin))
        .header("authorization", format!("Bearer {}", w.a))
        .send()
        .expect("send");
    assert_error(r, 400, "bad-request");
    for scheme in ["bearer", "BEARER", "Bearer"] {
        let r = w
            .http
            .get(w.url("/v1/me/patrols"))
            .header("authorization", format!("{scheme} {}", w.a))
            .send()
            .expect("send");
        assert_eq!(r.status().as_u16(), 200, "{scheme}");
    }
    let r = w
        .http
        .get(w.url("/v1/me/patrols"))
        .header("authorization", format!("Basic {}", w.a))
        .send()
        .expect("send");
    assert_error(r, 401, "unauthorized");
}

// ---- 7. every error is an ApiError -----------------------------------------------

fn api_error(answer: &str) -> ApiError {
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((answer, ""));
    assert!(
        head.to_ascii_lowercase().contains("content-type: application/json"),
        "no JSON content type: {answer}"
    );
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not an ApiError ({e}): {answer}"))
}

#[test]
fn what_hyper_refuses_itself_still_answers_an_api_error() {
    let w = World::new();
    let addr: SocketAddr = w.base.trim_start_matches("http://").parse().expect("addr");
    let many_headers: String = (0..200).map(|i| format!("x-h{i}: {i}\r\n")).collect();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("bad request line", b"GARBAGE\r\n\r\n".to_vec(), "HTTP/1.1 400"),
        (
            "0xff in the path",
            b"GET /\xff HTTP/1.1\r\nhost: x\r\n\r\n".to_vec(),
            "HTTP/1.1 400",
        ),
        (
            "two content lengths",
            b"POST /v1/records HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\n{}".to_vec(),
            "HTTP/1.1 400",
        ),
        (
            "a negative content length",
            b"POST /v1/records HTTP/1.1\r\nhost: x\r\ncontent-length: -1\r\n\r\n".to_vec(),
            "HTTP/1.1 400",
        ),
        (
            "too many headers",
            format!("GET /healthz HTTP/1.1\r\nhost: x\r\n{many_headers}\r\n").into_bytes(),
            "HTTP/1.1 431",
        ),
    ];
    for (what, request, status) in cases {
        let answer = raw(addr, &request);
        assert!(answer.starts_with(status), "{what}: {answer}");
        let e = api_error(&answer);
        assert!(!e.error.is_empty() && !e.reason.is_empty(), "{what}: {answer}");
    }
}

#[test]
fn a_body_cut_short_is_a_bad_request_and_a_huge_expected_body_is_refused_before_it_is_sent() {
    let w = World::new();
    let addr: SocketAddr = w.base.trim_start_matches("http://").parse().expect("addr");
    // Declares 100 bytes, sends 10, closes its half.
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    let head = format!(
        "POST /v1/records HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {}\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{{\"id\":\"x\"",
        w.a
    );
    s.write_all(head.as_bytes()).expect("write");
    s.shutdown(std::net::Shutdown::Write).expect("half close");
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let answer = String::from_utf8_lossy(&out);
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert_eq!(api_error(&answer).error, "bad-request");

    // Asks to send 1 GB once allowed: refused at once, no "100 Continue".
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    let head = format!(
        "POST /v1/records HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {}\r\ncontent-type: application/json\r\ncontent-length: 1000000000\r\nexpect: 100-continue\r\n\r\n",
        w.a
    );
    s.write_all(head.as_bytes()).expect("write");
    let mut buf = vec![0u8; 4096];
    let n = s.read(&mut buf).expect("an answer without the body");
    let answer = String::from_utf8_lossy(&buf[..n]);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(!answer.contains("100 Continue"), "{answer}");
}

// ---- 8. the document and the server agree ---------------------------------------

#[test]
fn an_empty_area_set_is_refused_not_a_silent_deactivation_of_every_area() {
    let w = World::new();
    let r = w
        .http
        .post(w.url("/v1/admin/areas"))
        .header("content-type", "application/geo+json")
        .bearer_auth(&w.admin)
        .body(json!({"type": "FeatureCollection", "features": []}).to_string())
        .send()
        .expect("send");
    assert_error(r, 422, "bad-areas");
    let reply: SyncReply = serde_json::from_value(ok_json(w.get(&w.a, "/v1/sync"))).expect("reply");
    let features = reply
        .areas
        .as_ref()
        .and_then(|a| a["features"].as_array())
        .map_or(0, Vec::len);
    assert_eq!(features, 3, "every area still current");
}

#[test]
fn an_out_of_range_library_version_is_a_bad_request() {
    let w = World::new();
    for since in ["-1", "x", "99999999999999999999999"] {
        assert_error(w.get(&w.a, &format!("/v1/library?since={since}")), 400, "bad-request");
    }
    let ok = w.get(&w.a, "/v1/library?since=0").status().as_u16();
    assert!(ok == 204 || ok == 200, "{ok}");
}

#[test]
fn a_malformed_command_id_is_a_bad_request() {
    let w = World::new();
    assert_error(
        w.post(&w.a, "/v1/commands/%E2%80%AEx/ack", &Value::Null),
        400,
        "bad-request",
    );
}
