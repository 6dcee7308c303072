//! `guardian-sim load`: the reconnect storm. A mast comes back and every
//! handset that was offline syncs at once: N simulated handsets, each with
//! a backlog of M minutes of 1 Hz patrol track (600-fix chunks made by the
//! protocol's codec, as the core makes them), check-ins and check-outs and
//! a referral every two hours, all released at the same instant. Each
//! uploads with the core's own sync client and retries exactly as the core
//! does (its backoff with jitter, at least the server's Retry-After).
//! Afterwards the server's own counts say whether anything was lost or
//! stored twice.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use guardian_core::patrol::{Fix, Verdict};
use guardian_core::store::outbox::{Item, Kind};
use guardian_core::sync::Login;
use guardian_core::sync::client::Client;
use guardian_core::sync::engine::new_backoff;
use guardian_core::sync::pass::{Outcome, next_wait};
use guardian_protocol::codec::{self, StoredFix};
use guardian_protocol::referral::{
    AuthoritySource, ConsentState, ConsentWire, LocationWire, ReasonCode, ReasonWire, ReferralRecord, SubjectWire,
    Urgency,
};
use guardian_protocol::wire::{AckStatus, CheckInBody, CheckOutBody, RecordBody, RecordEnvelope};
use serde::Serialize;
use serde_json::{Value, json};

use crate::SimError;
use crate::force::{StaticTokens, input};

/// Fixes per track chunk: the core's own chunk size.
const CHUNK_FIXES: usize = guardian_core::patrol::db::CHUNK_FIXES;
/// A patrol in the backlog: an hour, then the next check-in.
const PATROL_MINUTES: u32 = 60;
/// One referral per this many minutes of backlog.
const REFERRAL_EVERY_MINUTES: u32 = 120;
/// Birmingham city centre: where the storm's area is and its officers walk.
const CENTRE: (f64, f64) = (52.4789, -1.8985);
const STORM_AREA: &str = "storm-area";

/// Who the storm runs against.
pub enum Target {
    /// A backend already serving: its URL, an admin token, and its process
    /// id if its memory is to be read.
    External {
        url: String,
        admin_token: String,
        server_pid: Option<u32>,
    },
    /// A `guardian-backend serve` this command starts (the binary beside
    /// this one) on a store it prepares: a SQLite file or a PostgreSQL URL.
    Serve { store: String },
}

#[derive(Debug, Clone, Serialize)]
pub struct StormFigures {
    pub store: String,
    pub handsets: usize,
    pub backlog_minutes: u32,
    pub records_uploaded: u64,
    pub chunks_uploaded: u64,
    pub fixes_uploaded: u64,
    pub referrals_uploaded: u64,
    /// From the release to the last handset's last ack.
    pub drain_s: f64,
    /// Fixes the server stored over the drain.
    pub server_fixes_per_s: f64,
    pub requests: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Answers by HTTP status (`network` for transport failures).
    pub answers: BTreeMap<String, u64>,
    /// Stored twice on the server (fixes and records). Must be 0.
    pub duplicates_stored: i64,
    /// Acknowledged or not, missing on the server at the end. Must be 0.
    pub records_lost: i64,
    pub fixes_lost: i64,
    /// Peak resident memory of the server process (VmHWM), when known.
    pub peak_server_rss_mb: Option<f64>,
    /// Seconds spent making the backlogs and the officers before release.
    pub setup_s: f64,
}

/// One handset's outbox, in the order the core would send it.
struct Handset {
    token: String,
    items: Vec<Item>,
}

#[derive(Default)]
struct Tally {
    latencies_us: Vec<u32>,
    answers: BTreeMap<String, u64>,
    stored: u64,
    duplicate: u64,
    rejected: Vec<String>,
}

pub fn run(target: Target, handsets: usize, backlog_minutes: u32, seed: u64) -> Result<StormFigures, SimError> {
    if handsets == 0 || handsets > 100_000 {
        return Err(input("--handsets", "give between 1 and 100,000 handsets"));
    }
    if backlog_minutes == 0 || backlog_minutes > 7 * 24 * 60 {
        return Err(input("--backlog-minutes", "give between 1 minute and a week (10,080)"));
    }
    raise_descriptor_limit();
    let setup = Instant::now();
    let (url, admin, pid, store, mut child) = match target {
        Target::External {
            url,
            admin_token,
            server_pid,
        } => (url, admin_token, server_pid, "external".to_string(), None),
        Target::Serve { store } => {
            let admin = prepare_store(&store)?;
            let (child, url) = start_server(&store)?;
            let pid = child.0.id();
            let kind = if store.starts_with("postgres") {
                "postgresql"
            } else {
                "sqlite"
            };
            (url, admin, Some(pid), kind.to_string(), Some(child))
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| input("runtime", e))?;
    let result = runtime.block_on(storm(&url, &admin, pid, handsets, backlog_minutes, seed, setup));
    if let Some(c) = child.as_mut() {
        c.stop();
    }
    result.map(|mut f| {
        f.store = store;
        f
    })
}

async fn storm(
    url: &str,
    admin: &str,
    pid: Option<u32>,
    handsets: usize,
    minutes: u32,
    seed: u64,
    setup: Instant,
) -> Result<StormFigures, SimError> {
    let http = reqwest::Client::new();
    let area = storm_area(&http, url, admin).await?;
    // Officers and their tokens, made through the admin API as a force's
    // provisioning would.
    let run_id = format!("{:x}", seed ^ (chrono::Utc::now().timestamp_millis() as u64));
    let officers: Vec<String> = (0..handsets).map(|i| format!("storm-{run_id}-{i:05}")).collect();
    let tokens = provision(&http, url, admin, &officers).await?;
    let before = server_stats(&http, url, admin).await?;
    // Every backlog made before the release, on every core.
    let end_ms = chrono::Utc::now().timestamp_millis();
    let backlogs: Vec<Handset> = std::thread::scope(|s| {
        let per = officers.len().div_ceil(2);
        let parts: Vec<_> = officers
            .chunks(per.max(1))
            .zip(tokens.chunks(per.max(1)))
            .map(|(os, ts)| {
                let area = area.as_str();
                s.spawn(move || {
                    os.iter()
                        .zip(ts)
                        .map(|(o, t)| backlog(o, t, area, minutes, end_ms))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        parts.into_iter().flat_map(|p| p.join().unwrap_or_default()).collect()
    });
    if backlogs.len() != handsets {
        return Err(input("backlog", "a backlog thread failed"));
    }
    let expect_records: u64 = backlogs
        .iter()
        .flat_map(|h| &h.items)
        .filter(|i| matches!(i.kind, Kind::CheckIn | Kind::CheckOut))
        .count() as u64;
    let expect_chunks: u64 = backlogs
        .iter()
        .flat_map(|h| &h.items)
        .filter(|i| i.kind == Kind::TrackChunk)
        .count() as u64;
    let expect_fixes: u64 = backlogs.iter().flat_map(|h| &h.items).map(|i| i.fixes as u64).sum();
    let expect_referrals: u64 = backlogs
        .iter()
        .flat_map(|h| &h.items)
        .filter(|i| i.kind == Kind::Referral)
        .count() as u64;
    let setup_s = setup.elapsed().as_secs_f64();

    let tally = Arc::new(Mutex::new(Tally::default()));
    let release = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for h in backlogs {
        let (url, tally) = (url.to_string(), tally.clone());
        tasks.spawn(async move { drain(&url, h, &tally).await });
    }
    while let Some(done) = tasks.join_next().await {
        done.map_err(|e| input("handset task", e))??;
    }
    let drain_s = release.elapsed().as_secs_f64();
    let after = server_stats(&http, url, admin).await?;
    let delta = |k: &str| after[k].as_i64().unwrap_or(0) - before[k].as_i64().unwrap_or(0);
    let tally = std::mem::take(&mut *tally.lock().unwrap_or_else(|p| p.into_inner()));
    if !tally.rejected.is_empty() {
        eprintln!(
            "storm: {} uploads refused, e.g. {}",
            tally.rejected.len(),
            tally.rejected[0]
        );
    }
    let stored_records = delta("records");
    let stored_fixes = delta("fixes");
    let stored_referrals = delta("referrals");
    let mut lat = tally.latencies_us;
    lat.sort_unstable();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
            .map_or(0.0, |us| f64::from(*us) / 1_000.0)
    };
    Ok(StormFigures {
        store: String::new(),
        handsets,
        backlog_minutes: minutes,
        records_uploaded: expect_records,
        chunks_uploaded: expect_chunks,
        fixes_uploaded: expect_fixes,
        referrals_uploaded: expect_referrals,
        drain_s,
        server_fixes_per_s: stored_fixes as f64 / drain_s.max(1e-9),
        requests: lat.len() as u64,
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
        answers: tally.answers,
        duplicates_stored: after["duplicate_fixes"].as_i64().unwrap_or(0)
            + (stored_records - expect_records as i64).max(0)
            + (stored_referrals - expect_referrals as i64).max(0),
        records_lost: (expect_records as i64 - stored_records).max(0)
            + (expect_referrals as i64 - stored_referrals).max(0),
        fixes_lost: (expect_fixes as i64 - stored_fixes).max(0),
        peak_server_rss_mb: pid.and_then(peak_rss_mb),
        setup_s,
    })
}

/// One handset: passes over its outbox until everything is acknowledged,
/// waiting between failed passes exactly as the core's sync engine does.
async fn drain(url: &str, h: Handset, tally: &Mutex<Tally>) -> Result<(), SimError> {
    // Each handset names itself, as the core's does.
    let device = uuid::Uuid::new_v4().to_string();
    let client = Client::new(
        url,
        None,
        Duration::from_secs(60),
        Some(&device),
        Login::Shell(Arc::new(StaticTokens(h.token.clone()))),
    )
    .map_err(|e| input("sync client", e))?;
    let mut backoff = new_backoff();
    let mut next = 0;
    while next < h.items.len() {
        let mut retry = None;
        while next < h.items.len() {
            let sent = Instant::now();
            let outcome = client.upload(&h.items[next]).await;
            let us = u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX);
            let mut t = tally.lock().unwrap_or_else(|p| p.into_inner());
            t.latencies_us.push(us);
            let answer = match outcome {
                Ok(Outcome::Acked(status)) => {
                    match status {
                        AckStatus::Stored => t.stored += 1,
                        AckStatus::Duplicate => t.duplicate += 1,
                    }
                    next += 1;
                    "200".to_string()
                }
                Ok(Outcome::Rejected { slug, reason }) => {
                    t.rejected.push(format!("{}: {slug}: {reason}", h.items[next].id));
                    next += 1;
                    format!("refused {slug}")
                }
                Ok(Outcome::Transient { reason, retry_after }) => {
                    retry = Some(retry_after);
                    reason
                        .strip_prefix("HTTP ")
                        .map_or_else(|| "network".to_string(), str::to_string)
                }
                Ok(Outcome::Unauthorized) => {
                    retry = Some(None);
                    "401".to_string()
                }
                Err(e) => return Err(input("upload", e)),
            };
            *t.answers.entry(answer).or_default() += 1;
            drop(t);
            if retry.is_some() {
                break;
            }
        }
        if let Some(retry_after) = retry {
            tokio::time::sleep(next_wait(false, backoff.next(), retry_after)).await;
        }
    }
    Ok(())
}

/// `minutes` of 1 Hz walking ending at `end_ms`, as hour-long patrols in
/// the core's outbox order: check-in, chunks, check-out; a referral every
/// two hours.
fn backlog(officer: &str, token: &str, area: &str, minutes: u32, end_ms: i64) -> Handset {
    let start_ms = end_ms - i64::from(minutes) * 60_000;
    let mono0: i64 = 3_600_000_000_000;
    let mut items = Vec::new();
    let mut minute = 0;
    let mut patrol_no = 0;
    while minute < minutes {
        let len = PATROL_MINUTES.min(minutes - minute);
        let patrol = format!("{officer}-p{patrol_no}");
        let t0 = start_ms + i64::from(minute) * 60_000;
        let mono = |t: i64| mono0 + (t - start_ms) * 1_000_000;
        items.push(record_item(
            &patrol,
            0,
            Kind::CheckIn,
            RecordBody::CheckIn(CheckInBody {
                area_id: area.into(),
                officer_id: officer.into(),
                rank: "constable".into(),
                assignment_id: None,
                time_ms: t0,
                mono_ns: mono(t0),
                lat: CENTRE.0,
                lon: CENTRE.1,
                accuracy_m: 5.0,
            }),
        ));
        let fixes: Vec<StoredFix> = (0..i64::from(len) * 60)
            .map(|s| {
                let t = t0 + s * 1_000;
                let phase = s as f64 / 120.0;
                StoredFix {
                    fix: Fix::new(
                        t,
                        mono(t),
                        CENTRE.0 + 0.0004 * phase.sin(),
                        CENTRE.1 + 0.0006 * phase.cos(),
                        6.0,
                    ),
                    verdict: Verdict::Accepted,
                }
            })
            .collect();
        for (i, chunk) in fixes.chunks(CHUNK_FIXES).enumerate() {
            items.push(Item {
                id: format!("{patrol}-c{i}"),
                kind: Kind::TrackChunk,
                format: codec::FORMAT,
                patrol_id: Some(patrol.clone()),
                seq: i as u32 + 1,
                payload: codec::encode(chunk),
                fixes: chunk.len(),
            });
        }
        let t1 = t0 + i64::from(len) * 60_000;
        items.push(record_item(
            &patrol,
            fixes.len().div_ceil(CHUNK_FIXES) as u32 + 1,
            Kind::CheckOut,
            RecordBody::CheckOut(CheckOutBody {
                time_ms: t1,
                mono_ns: mono(t1),
                lat: CENTRE.0,
                lon: CENTRE.1,
                accuracy_m: 5.0,
            }),
        ));
        minute += len;
        patrol_no += 1;
        if minute % REFERRAL_EVERY_MINUTES == 0 {
            items.push(referral_item(officer, &patrol, area, patrol_no, t1 - 60_000));
        }
    }
    Handset {
        token: token.to_string(),
        items,
    }
}

fn record_item(patrol: &str, seq: u32, kind: Kind, body: RecordBody) -> Item {
    let id = format!("{patrol}-{}", if kind == Kind::CheckIn { "in" } else { "out" });
    let env = RecordEnvelope {
        id: id.clone(),
        format: 1,
        patrol_id: patrol.into(),
        seq,
        body,
    };
    Item {
        id,
        kind,
        format: 1,
        patrol_id: Some(patrol.into()),
        seq,
        payload: serde_json::to_vec(&env).unwrap_or_default(),
        fixes: 0,
    }
}

fn referral_item(officer: &str, patrol: &str, area: &str, n: u32, time_ms: i64) -> Item {
    let rec = referral_record(officer, patrol, area, n, time_ms);
    Item {
        id: rec.id.clone(),
        kind: Kind::Referral,
        format: 1,
        patrol_id: None,
        seq: 0,
        payload: serde_json::to_vec(&rec).unwrap_or_default(),
        fixes: 0,
    }
}

/// A valid referral by `officer`, its `n`th, made at the storm's centre.
pub(crate) fn referral_record(officer: &str, patrol: &str, area: &str, n: u32, time_ms: i64) -> ReferralRecord {
    let id = format!("{officer}-r{n}");
    ReferralRecord {
        id: id.clone(),
        format: 1,
        reference: format!("VRP-{id}"),
        officer_id: officer.into(),
        created_ms: time_ms,
        authority: "birmingham".into(),
        authority_source: AuthoritySource::Routed,
        reasons: vec![ReasonWire {
            code: ReasonCode::KnifeCarrying,
            text: None,
        }],
        urgency: Urgency::Routine,
        consent: ConsentWire {
            state: ConsentState::Given,
            reason: None,
        },
        safeguarding_concern: false,
        narrative: "Seen with a group near the station; spoke calmly; agreed to be contacted.".into(),
        subject: SubjectWire {
            name: "Test Person".into(),
            date_of_birth: None,
            estimated_age: Some(15),
            address: None,
            school: None,
            carer_contact: None,
        },
        location: LocationWire {
            time_ms,
            lat: CENTRE.0,
            lon: CENTRE.1,
            accuracy_m: 8.0,
        },
        patrol_id: Some(patrol.into()),
        area_id: Some(area.into()),
    }
}

/// The first current area's id (the storm's own area on a store this
/// command prepared).
async fn storm_area(http: &reqwest::Client, url: &str, admin: &str) -> Result<String, SimError> {
    // An officer of the storm's own reads the areas, as a handset would.
    let probe = format!("storm-probe-{}", std::process::id());
    let token = provision(http, url, admin, std::slice::from_ref(&probe))
        .await?
        .pop()
        .ok_or_else(|| input("backend", "no token"))?;
    let reply: Value = get_json(http, &format!("{url}/v1/sync"), &token).await?;
    let id = reply["areas"]["features"]
        .as_array()
        .and_then(|f| {
            f.iter()
                .find_map(|a| a["properties"]["id"].as_str().or_else(|| a["id"].as_str()))
        })
        .map(str::to_string);
    id.ok_or_else(|| {
        input(
            "backend",
            "it has no areas: load some first (guardian-backend load-areas)",
        )
    })
}

async fn provision(
    http: &reqwest::Client,
    url: &str,
    admin: &str,
    officers: &[String],
) -> Result<Vec<String>, SimError> {
    let mut tokens = Vec::with_capacity(officers.len());
    // 32 at a time: a provisioning script's pace, not part of the storm.
    for batch in officers.chunks(32) {
        let mut set = tokio::task::JoinSet::new();
        for (i, o) in batch.iter().enumerate() {
            let (http, url, admin, o) = (http.clone(), url.to_string(), admin.to_string(), o.clone());
            set.spawn(async move {
                post_json(
                    &http,
                    &format!("{url}/v1/admin/officers"),
                    &admin,
                    &json!({"officer_id": o, "display_name": o, "rank": "pc"}),
                )
                .await?;
                let t = post_json(
                    &http,
                    &format!("{url}/v1/admin/tokens"),
                    &admin,
                    &json!({"sub": o, "role": "officer", "ttl_s": 86_400}),
                )
                .await?;
                let token = t["token"]
                    .as_str()
                    .map(str::to_string)
                    .ok_or_else(|| input("backend", format!("no token in {t}")))?;
                Ok::<_, SimError>((i, token))
            });
        }
        let mut made: Vec<(usize, String)> = Vec::with_capacity(batch.len());
        while let Some(done) = set.join_next().await {
            made.push(done.map_err(|e| input("provisioning task", e))??);
        }
        made.sort_unstable_by_key(|(i, _)| *i);
        tokens.extend(made.into_iter().map(|(_, t)| t));
    }
    Ok(tokens)
}

async fn post_json(http: &reqwest::Client, url: &str, token: &str, body: &Value) -> Result<Value, SimError> {
    // Provisioning is one admin's token: it honours the server's per-officer
    // rate and shedding like any client, waiting as long as it is told.
    for _ in 0..20 {
        let r = http
            .post(url)
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .map_err(|e| input("backend", e))?;
        let status = r.status().as_u16();
        if status == 429 || status == 503 {
            let wait = r
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .unwrap_or(1);
            tokio::time::sleep(Duration::from_secs(wait.clamp(1, 30))).await;
            continue;
        }
        return answer(r).await;
    }
    Err(input("backend", format!("{url}: still refused after 20 tries")))
}

async fn get_json(http: &reqwest::Client, url: &str, token: &str) -> Result<Value, SimError> {
    let r = http
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .map_err(|e| input("backend", e))?;
    answer(r).await
}

async fn answer(r: reqwest::Response) -> Result<Value, SimError> {
    let status = r.status();
    let body = r.text().await.map_err(|e| input("backend", e))?;
    if !status.is_success() {
        return Err(input("backend", format!("HTTP {status}: {body}")));
    }
    serde_json::from_str(&body).map_err(|e| input("backend", e))
}

async fn server_stats(http: &reqwest::Client, url: &str, admin: &str) -> Result<Value, SimError> {
    get_json(http, &format!("{url}/v1/admin/stats"), admin).await
}

/// Makes the store ready for a storm: schema, the storm's area if it has
/// none, and an admin token.
fn prepare_store(store: &str) -> Result<String, SimError> {
    let b = guardian_backend::Backend::open_url(store).map_err(|e| input("store", e))?;
    let s = 0.002;
    let square = json!({
        "type": "FeatureCollection",
        "features": [{
            "type": "Feature",
            "properties": {"id": STORM_AREA, "name": "Storm square", "lpa": "Birmingham"},
            "geometry": {"type": "Polygon", "coordinates": [[
                [CENTRE.1 - s, CENTRE.0 - s], [CENTRE.1 + s, CENTRE.0 - s],
                [CENTRE.1 + s, CENTRE.0 + s], [CENTRE.1 - s, CENTRE.0 + s], [CENTRE.1 - s, CENTRE.0 - s]
            ]]}
        }]
    });
    b.load_areas_geojson(&square.to_string())
        .map_err(|e| input("store areas", e))?;
    b.issue_token("storm-admin", guardian_backend::Role::Admin, 86_400)
        .map_err(|e| input("store", e))
}

/// The server process, stopped (and waited for) when dropped.
struct ServerChild(Child);

impl ServerChild {
    fn stop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for ServerChild {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `guardian-backend` beside this binary, which `Target::Serve` starts.
pub fn backend_binary() -> Result<PathBuf, SimError> {
    let exe = std::env::current_exe().map_err(|e| input("guardian-backend", e))?;
    let bin = exe
        .parent()
        .map(|d| d.join("guardian-backend"))
        .filter(|p| p.exists())
        .ok_or_else(|| {
            input(
                "guardian-backend",
                "not beside this binary: build it too (cargo build --release -p guardian-backend)",
            )
        })?;
    Ok(bin)
}

/// Starts `guardian-backend serve` on a free loopback port; its URL once
/// it answers.
fn start_server(store: &str) -> Result<(ServerChild, String), SimError> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| input("port", e))?
        .port();
    let flag = if store.starts_with("postgres") {
        "--database-url"
    } else {
        "--db"
    };
    let mut child = ServerChild(
        Command::new(backend_binary()?)
            .args(["serve", "--addr", &format!("127.0.0.1:{port}"), flag, store])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| input("guardian-backend", e))?,
    );
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if started.elapsed() > Duration::from_secs(30) {
            return Err(input("guardian-backend", "did not start listening within 30 s"));
        }
        if let Ok(Some(status)) = child.0.try_wait() {
            return Err(input("guardian-backend", format!("exited at start: {status}")));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok((child, format!("http://127.0.0.1:{port}")))
}

fn peak_rss_mb(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(Path::new("/proc").join(pid.to_string()).join("status")).ok()?;
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

/// Thousands of handsets are thousands of sockets here and at the server
/// (which inherits the limit when this command starts it).
fn raise_descriptor_limit() {
    #[cfg(unix)]
    {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit/setrlimit read and write the struct we own.
        unsafe {
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
                lim.rlim_cur = lim.rlim_max;
                libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
            }
        }
    }
}

pub fn print_human(f: &StormFigures) {
    println!(
        "reconnect storm on {} — {} handsets, {} min backlog each",
        f.store, f.handsets, f.backlog_minutes
    );
    println!(
        "  uploaded      {} records, {} chunks ({} fixes), {} referrals",
        f.records_uploaded, f.chunks_uploaded, f.fixes_uploaded, f.referrals_uploaded
    );
    println!(
        "  drained in    {:.1} s ({:.1} s setup before the release)",
        f.drain_s, f.setup_s
    );
    println!("  server        {:.0} fixes/s stored", f.server_fixes_per_s);
    println!(
        "  requests      {} (p50 {:.1} ms, p99 {:.1} ms)",
        f.requests, f.p50_ms, f.p99_ms
    );
    let answers: Vec<String> = f.answers.iter().map(|(k, v)| format!("{k}: {v}")).collect();
    println!("  answers       {}", answers.join(", "));
    println!(
        "  duplicates    {} stored twice (must be 0); lost: {} records, {} fixes (must be 0)",
        f.duplicates_stored, f.records_lost, f.fixes_lost
    );
    match f.peak_server_rss_mb {
        Some(mb) => println!("  server memory {mb:.0} MB peak resident"),
        None => println!("  server memory not known (give --server-pid)"),
    }
}
