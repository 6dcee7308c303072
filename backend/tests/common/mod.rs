//! A real backend on loopback (port 0) and a blocking HTTP client: what the
//! handset's core will talk to, exercised the same way.

#![allow(dead_code)] // each test binary uses a different part of this

pub mod referral;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};

use guardian_backend::{Backend, Role, ServerHandle, spawn};
use guardian_core::patrol::{Fix, Rank, Verdict};
use guardian_protocol::codec::{self, StoredFix};
use guardian_protocol::wire::{
    CheckInBody, CheckOutBody, HEADER_FORMAT, HEADER_PATROL_ID, HEADER_SEQ, RecordBody, RecordEnvelope,
    TRACK_CONTENT_TYPE,
};
use reqwest::blocking::{Client, RequestBuilder, Response};
use serde_json::{Value, json};

/// Monotonic clock at T0: hours of uptime, so earlier fixes stay positive.
pub const MONO0: i64 = 10_000_000_000_000;

/// 2026-07-03 19:00:00 UTC (20:00 in London).
pub const T0: i64 = 1_783_105_200_000;

/// A ~200 m square in Birmingham city centre.
pub const SQUARE: (f64, f64, f64, f64) = (52.4780, -1.9000, 52.4798, -1.8970);
pub const CENTRE: (f64, f64) = (52.4789, -1.8985);

pub fn feature(id: &str, south: f64, west: f64, windows: Value) -> Value {
    let (n, e) = (south + 0.0018, west + 0.0030);
    json!({
        "type": "Feature",
        "properties": {"id": id, "name": format!("Area {id}"), "lpa": "Birmingham", "windows": windows},
        "geometry": {"type": "Polygon", "coordinates": [[[west, south], [e, south], [e, n], [west, n], [west, south]]]}
    })
}

/// `tgp-a` (no windows, the square above), `tgp-b` (Fri/Sat 22:00–00:00)
/// and `tgp-c`, side by side.
pub fn areas_json() -> String {
    json!({
        "type": "FeatureCollection",
        "features": [
            feature("tgp-a", SQUARE.0, SQUARE.1, Value::Null),
            feature("tgp-b", SQUARE.0, SQUARE.1 + 0.01, json!([{"days": ["fri", "sat"], "start": "22:00", "end": "00:00"}])),
            feature("tgp-c", SQUARE.0, SQUARE.1 + 0.02, json!([{"days": ["mon","tue","wed","thu","fri","sat","sun"], "start": "18:00", "end": "20:00"}])),
        ]
    })
    .to_string()
}

/// Where a test's backend keeps its data: a SQLite file in `dir`, or, when
/// `GUARDIAN_TEST_DATABASE_URL` names a PostgreSQL server (scripts/pg.sh
/// starts one), a fresh database on it. The whole suite runs against
/// either; CI runs it against both.
pub fn fresh_store(dir: &Path) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    match std::env::var("GUARDIAN_TEST_DATABASE_URL") {
        Ok(server) if !server.is_empty() => {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos());
            let name = format!(
                "t_{}_{}_{nanos}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            );
            guardian_backend::create_postgres_database(&server, &name).expect("create a test database")
        }
        _ => dir
            .join(format!("backend-{}.db", NEXT.fetch_add(1, Ordering::Relaxed)))
            .to_str()
            .expect("a UTF-8 temp path")
            .to_string(),
    }
}

/// Opens the store `fresh_store` named (again: every open sees the same data).
pub fn open_store(store: &str) -> Backend {
    Backend::open_url(store).expect("open the store")
}

/// The CLI's flag for `store`.
pub fn store_flag(store: &str) -> &'static str {
    if store.starts_with("postgres") {
        "--database-url"
    } else {
        "--db"
    }
}

/// Runs raw SQL on the store behind the backend's back (rows older code
/// might have written).
pub fn raw_sql(store: &str, sql: &str) {
    if store.starts_with("postgres") {
        let mut c = guardian_backend::connect_postgres(store).expect("connect");
        c.batch_execute(sql).expect("raw sql");
    } else {
        let c = rusqlite::Connection::open(store).expect("raw db");
        c.execute_batch(sql).expect("raw sql");
    }
}

pub struct World {
    pub dir: tempfile::TempDir,
    /// The store (see [`fresh_store`]).
    pub store: String,
    pub server: Option<ServerHandle>,
    pub base: String,
    pub http: Client,
    pub admin: String,
    /// Constable `pc-a`.
    pub a: String,
    /// Constable `pc-b`.
    pub b: String,
    /// PCSO `pcso-c`.
    pub c: String,
}

impl World {
    /// Another handle on the server's store, for admin calls in-process.
    pub fn open_backend(&self) -> Backend {
        open_store(&self.store)
    }

    pub fn new() -> World {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = fresh_store(dir.path());
        World::on(dir, store)
    }

    /// A world on a SQLite file whatever the suite runs against (to hold
    /// the other store's answers up against).
    pub fn on_sqlite() -> World {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = dir.path().join("sqlite.db").to_str().expect("path").to_string();
        World::on(dir, store)
    }

    /// Another backend instance on this world's store, on its own port,
    /// with the same tokens: what a second replica behind a balancer is.
    pub fn second_instance(&self) -> World {
        let server = spawn(self.open_backend(), loopback()).expect("spawn");
        World {
            dir: tempfile::tempdir().expect("tempdir"),
            store: self.store.clone(),
            base: format!("http://{}", server.addr),
            server: Some(server),
            http: Client::new(),
            admin: self.admin.clone(),
            a: self.a.clone(),
            b: self.b.clone(),
            c: self.c.clone(),
        }
    }

    fn on(dir: tempfile::TempDir, store: String) -> World {
        let backend = open_store(&store);
        backend.load_areas_geojson(&areas_json()).expect("areas");
        backend
            .create_officer("pc-a", "PC Able", Rank::Constable)
            .expect("officer");
        backend
            .create_officer("pc-b", "PC Baker", Rank::Constable)
            .expect("officer");
        backend
            .create_officer("pcso-c", "PCSO Charlie", Rank::Pcso)
            .expect("officer");
        let token = |sub: &str, role| backend.issue_token(sub, role, 3600).expect("token");
        let (admin, a, b, c) = (
            token("admin-1", Role::Admin),
            token("pc-a", Role::Officer),
            token("pc-b", Role::Officer),
            token("pcso-c", Role::Officer),
        );
        let server = spawn(backend, loopback()).expect("spawn");
        let base = format!("http://{}", server.addr);
        World {
            dir,
            store,
            server: Some(server),
            base,
            http: Client::new(),
            admin,
            a,
            b,
            c,
        }
    }

    /// Stops the server and starts a new one on the same database file.
    pub fn restart(&mut self) {
        if let Some(s) = self.server.take() {
            s.shutdown().expect("shutdown");
        }
        let backend = self.open_backend();
        let server = spawn(backend, loopback()).expect("spawn");
        self.base = format!("http://{}", server.addr);
        self.server = Some(server);
    }

    /// Restarts the server on a backend `configure` has set up (the keys
    /// `serve` would give it).
    pub fn restart_with(&mut self, configure: impl FnOnce(&mut Backend)) {
        if let Some(s) = self.server.take() {
            s.shutdown().expect("shutdown");
        }
        let mut backend = self.open_backend();
        configure(&mut backend);
        let server = spawn(backend, loopback()).expect("spawn");
        self.base = format!("http://{}", server.addr);
        self.server = Some(server);
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn get(&self, token: &str, path: &str) -> Response {
        self.http.get(self.url(path)).bearer_auth(token).send().expect("send")
    }

    pub fn post(&self, token: &str, path: &str, body: &Value) -> Response {
        self.http
            .post(self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .expect("send")
    }

    pub fn record(&self, token: &str, env: &RecordEnvelope) -> Response {
        self.http
            .post(self.url("/v1/records"))
            .bearer_auth(token)
            .json(env)
            .send()
            .expect("send")
    }

    /// A chunk upload with the usual headers, `overrides` replacing any of
    /// them by name (an empty value drops the header).
    pub fn chunk_request_with(
        &self,
        token: &str,
        chunk_id: &str,
        patrol_id: &str,
        seq: u32,
        body: Vec<u8>,
        overrides: &[(&str, &str)],
    ) -> RequestBuilder {
        let seq = seq.to_string();
        let defaults = [
            ("content-type", TRACK_CONTENT_TYPE),
            (HEADER_PATROL_ID, patrol_id),
            (HEADER_SEQ, seq.as_str()),
            (HEADER_FORMAT, "1"),
        ];
        let mut req = self
            .http
            .put(self.url(&format!("/v1/track/{chunk_id}")))
            .bearer_auth(token)
            .body(body);
        for (name, value) in defaults {
            let value = overrides.iter().find(|(n, _)| *n == name).map_or(value, |(_, v)| *v);
            if !value.is_empty() {
                req = req.header(name, value);
            }
        }
        req
    }

    pub fn chunk_request(
        &self,
        token: &str,
        chunk_id: &str,
        patrol_id: &str,
        seq: u32,
        body: Vec<u8>,
    ) -> RequestBuilder {
        self.chunk_request_with(token, chunk_id, patrol_id, seq, body, &[])
    }

    pub fn chunk(&self, token: &str, chunk_id: &str, patrol_id: &str, seq: u32, fixes: &[StoredFix]) -> Response {
        self.chunk_request(token, chunk_id, patrol_id, seq, codec::encode(fixes))
            .send()
            .expect("send")
    }

    pub fn stats(&self) -> Value {
        ok_json(self.get(&self.admin, "/v1/admin/stats"))
    }
}

pub fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().expect("addr")
}

pub fn check_in(id: &str, patrol: &str, officer: &str, area: &str, rank: &str, time_ms: i64) -> RecordEnvelope {
    RecordEnvelope {
        id: id.into(),
        format: 1,
        patrol_id: patrol.into(),
        seq: 0,
        body: RecordBody::CheckIn(CheckInBody {
            area_id: area.into(),
            officer_id: officer.into(),
            rank: rank.into(),
            assignment_id: None,
            time_ms,
            mono_ns: MONO0,
            lat: CENTRE.0,
            lon: CENTRE.1,
            accuracy_m: 5.0,
        }),
    }
}

pub fn check_out(id: &str, patrol: &str, seq: u32, time_ms: i64) -> RecordEnvelope {
    RecordEnvelope {
        id: id.into(),
        format: 1,
        patrol_id: patrol.into(),
        seq,
        body: RecordBody::CheckOut(CheckOutBody {
            time_ms,
            mono_ns: MONO0 + (time_ms - T0) * 1_000_000,
            lat: CENTRE.0,
            lon: CENTRE.1,
            accuracy_m: 5.0,
        }),
    }
}

/// `n` fixes 5 s apart from `start_ms`, walking a small loop inside `tgp-a`.
pub fn walk(start_ms: i64, n: usize) -> Vec<StoredFix> {
    (0..n)
        .map(|i| {
            let t = start_ms + i as i64 * 5_000;
            let phase = i as f64 / 20.0;
            let fix = Fix::new(
                t,
                MONO0 + (t - T0) * 1_000_000,
                CENTRE.0 + 0.0003 * phase.sin(),
                CENTRE.1 + 0.0005 * phase.cos(),
                5.0,
            );
            StoredFix {
                fix,
                verdict: Verdict::Accepted,
            }
        })
        .collect()
}

/// The board's three cases: PC Able 40 minutes walking inside `tgp-a` (no
/// windows: any time counts; two chunks, the second uploaded first — the
/// track is ordered by seq), PCSO Charlie claiming to be a constable for a
/// too-short 10 minutes, and PC Baker's patrol still open (not judged).
pub fn compliant_short_and_open(w: &World) {
    ok_json(w.record(&w.a, &check_in("a-in", "p-good", "pc-a", "tgp-a", "constable", T0)));
    let fixes = walk(T0, 40 * 12 + 1);
    ok_json(w.chunk(&w.a, "a-c2", "p-good", 2, &fixes[300..]));
    ok_json(w.chunk(&w.a, "a-c1", "p-good", 1, &fixes[..300]));
    ok_json(w.record(&w.a, &check_out("a-out", "p-good", 3, T0 + 40 * 60_000)));
    ok_json(w.record(&w.c, &check_in("c-in", "p-short", "pcso-c", "tgp-a", "constable", T0)));
    ok_json(w.chunk(&w.c, "c-c1", "p-short", 1, &walk(T0, 10 * 12 + 1)));
    ok_json(w.record(&w.c, &check_out("c-out", "p-short", 2, T0 + 10 * 60_000)));
    ok_json(w.record(&w.b, &check_in("b-in", "p-open", "pc-b", "tgp-a", "constable", T0)));
}

/// Asserts a 200 and returns the JSON body.
pub fn ok_json(r: Response) -> Value {
    let status = r.status();
    let body = r.text().expect("body");
    assert_eq!(status.as_u16(), 200, "expected 200, got {status}: {body}");
    serde_json::from_str(&body).expect("json body")
}

/// Asserts an `ApiError` with this status and slug.
pub fn assert_error(r: Response, status: u16, slug: &str) {
    let got = r.status().as_u16();
    let body = r.text().expect("body");
    assert_eq!(got, status, "status for {slug}: {body}");
    let v: Value = serde_json::from_str(&body).unwrap_or_else(|_| panic!("not ApiError JSON: {body}"));
    assert_eq!(v["error"], slug, "{body}");
    assert!(v["reason"].as_str().is_some_and(|r| !r.is_empty()), "{body}");
}

/// `guardian-backend serve` as a process of its own on a free loopback
/// port, its stderr sent to `stderr`, with `env` set; killed when dropped.
pub struct Proc {
    pub child: std::process::Child,
    pub addr: SocketAddr,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn server_process(db: &str, stderr: std::process::Stdio, env: &[(&str, &str)]) -> Proc {
    use std::time::{Duration, Instant};
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_guardian-backend"))
        .args(["serve", "--addr", &addr.to_string(), store_flag(db), db])
        .envs(env.iter().copied())
        .stderr(stderr)
        .spawn()
        .expect("spawn server");
    let start = Instant::now();
    while std::net::TcpStream::connect(addr).is_err() {
        assert!(start.elapsed() < Duration::from_secs(10), "server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Proc { child, addr }
}
