//! `guardian-sim torture`: the design's promise — nothing the officer did is
//! lost, nothing is stored twice — tested the hard way and counted.
//!
//! A child process (`torture-worker`) runs the real core on a real store: it
//! walks the real demo track in laps, checks in and out, saves and edits
//! referral drafts, files referrals, bookmarks articles, applies library
//! packs and syncs to a real backend on loopback (in this process). It
//! prints a line for every call that returned success — acknowledged, so it
//! must never be lost — and a marker before each risky phase.
//!
//! - **Kills**: the parent SIGKILLs it at seeded random instants, some aimed
//!   just after a sync pass, a pack apply or opening the store begins, and
//!   some during a schema migration of an old store (a copy of a first-
//!   version file); then restarts it on the same files.
//! - **Power cuts**: a kill keeps the OS page cache, so it cannot test
//!   fsync. Here the child runs under `guardian-faultfs`, which keeps
//!   unsynced writes aside and, at a seeded moment, keeps, drops or tears
//!   each of them and exits: what a phone losing power could leave. After
//!   every cut the store must open, pass `integrity_check` and
//!   `cipher_integrity_check`, and hold everything acknowledged so far.
//!
//! At the end the handset finishes its patrol and syncs everything, and
//! every acknowledged call is looked for on the handset and on the server.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use guardian_backend::Role;
use guardian_core::patrol::{Fix, Officer, Rank};
use guardian_core::referral::{Authority, Consent, Reason, ReferralForm, Subject, Urgency};
use guardian_core::store::DbKey;
use guardian_core::sync::SyncConfig;
use guardian_core::{Config, FixedClock, Guardian};
use serde::Serialize;

use crate::force::{StaticTokens, input};
use crate::{SimError, track};

const OFFICER_ID: &str = "wm-torture";
const AREA: &str = "bham-smallbrook-queensway";

/// A seeded, deterministic generator: the campaign must be reproducible
/// from its seed.
struct Rng(fastrand::Rng);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(fastrand::Rng::with_seed(seed))
    }

    /// In `0..n`; 0 when `n` is 0.
    fn below(&mut self, n: u64) -> u64 {
        self.0.u64(..n.max(1))
    }
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn key_for(seed: u64) -> [u8; 32] {
    let mut rng = fastrand::Rng::with_seed(seed ^ 0x5eed);
    let mut k = [0u8; 32];
    for b in &mut k {
        *b = rng.u8(..) | 1;
    }
    k
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect()
}

// ---- the child ----

pub struct WorkerArgs {
    pub db: PathBuf,
    pub url: String,
    pub token: String,
    pub key_hex: String,
    pub seed: u64,
    /// First fix index to try (the parent's newest acknowledged, plus one).
    pub from: u64,
    /// Run under the fault VFS, cutting the power after this many writes
    /// and syncs.
    pub cut_after: Option<u64>,
    /// Only open the store (a migration), then stop.
    pub open_only: bool,
}

/// The demo walk repeated in laps, each a little after the last: fix `k`.
struct Laps {
    fixes: Vec<Fix>,
    lap_ms: i64,
}

impl Laps {
    fn load() -> Result<Self, SimError> {
        let path = repo().join("sim/data/demo-track-birmingham.gpx");
        let t = track::load(&path).map_err(|e| input("demo track", e))?;
        let fixes: Vec<Fix> = t.fixes.into_iter().filter(|f| f.validate().is_ok()).collect();
        let (Some(first), Some(last)) = (fixes.first(), fixes.last()) else {
            return Err(input("demo track", "no fixes"));
        };
        let lap_ms = last.time_ms - first.time_ms + 60_000;
        Ok(Self { fixes, lap_ms })
    }

    fn at(&self, k: u64) -> Fix {
        let n = self.fixes.len() as u64;
        let lap = (k / n) as i64;
        let mut f = self.fixes[(k % n) as usize];
        f.time_ms += lap * self.lap_ms;
        f.mono_ns += lap * self.lap_ms * 1_000_000;
        f
    }
}

/// One line per acknowledged call, flushed at once: a line printed is a
/// call that returned.
struct Acks(std::io::StdoutLock<'static>);

impl Acks {
    fn say(&mut self, line: &str) {
        let _ = writeln!(self.0, "{line}");
        let _ = self.0.flush();
    }
}

pub fn worker(args: &WorkerArgs) -> Result<(), SimError> {
    if let Some(cut) = args.cut_after {
        guardian_faultfs::install(guardian_faultfs::Config {
            seed: args.seed,
            cut_after_ops: Some(cut),
        })
        .map_err(|e| input("fault VFS", format!("{e:?}")))?;
    }
    let key = unhex(&args.key_hex)
        .and_then(|k| DbKey::from_slice(&k).ok())
        .ok_or_else(|| input("--key", "not a 32-byte hex key"))?;
    let laps = Laps::load()?;
    let mut out = Acks(std::io::stdout().lock());
    let clock = Arc::new(FixedClock::new(laps.at(args.from).time_ms));
    out.say("begin open");
    let g = Guardian::open(Config::new(&args.db), key, clock.clone())?;
    out.say("opened");
    if args.open_only {
        return Ok(());
    }
    g.start_sync(
        &SyncConfig::new(args.url.clone()),
        Arc::new(StaticTokens(args.token.clone())),
    )?;
    if g.officer()?.is_none() {
        g.set_officer(&Officer {
            officer_id: OFFICER_ID.into(),
            display_name: "PC Torture".into(),
            rank: Rank::Constable,
        })?;
        let areas =
            std::fs::read_to_string(repo().join("sim/data/demo-areas.geojson")).map_err(|e| input("areas", e))?;
        g.import_areas_geojson(&areas)?;
    }
    // Carry on after the newest stored fix.
    let newest: Option<i64> = g.store().read(|tx| {
        Ok::<_, guardian_core::store::StoreError>(tx.query_row("SELECT max(time_ms) FROM fixes", [], |r| r.get(0))?)
    })?;
    let mut k = args.from;
    while newest.is_some_and(|t| laps.at(k).time_ms <= t) {
        k += 1;
    }
    let mut rng = Rng::new(args.seed);
    let mut rev = rng.below(1_000_000);
    loop {
        let n = 1 + rng.below(40);
        let batch: Vec<Fix> = (k..k + n).map(|i| laps.at(i)).collect();
        let last = batch[batch.len() - 1];
        clock.set(last.time_ms);
        if g.ingest_batch(&batch).is_ok() {
            out.say(&format!("fix {k} {}", k + n));
        }
        k += n;
        let inside = g.presence().contains_key(AREA);
        let open = g.patrol_status()?.map(|s| s.patrol_id);
        match open {
            None if inside => {
                if let Ok(id) = g.check_in(AREA, &last) {
                    out.say(&format!("checkin {id}"));
                }
            }
            Some(id) if (!inside || rng.below(60) == 0) && g.check_out(&last).is_ok() => {
                out.say(&format!("checkout {id}"));
            }
            _ => {}
        }
        match rng.below(24) {
            0..=2 => {
                rev += 1;
                let drafts = g.referral_drafts()?;
                let existing = (!drafts.is_empty() && rng.below(2) == 0)
                    .then(|| drafts[rng.below(drafts.len() as u64) as usize].id.clone());
                let form = referral_form(&g, &last, rev);
                if let Ok(id) = g.save_referral_draft(existing.as_deref(), &form) {
                    out.say(&format!("draft {id} {rev} {}", last.time_ms));
                }
            }
            3 => {
                rev += 1;
                if let Ok(draft) = g.save_referral_draft(None, &referral_form(&g, &last, rev)) {
                    out.say(&format!("draft {draft} {rev} {}", last.time_ms));
                    if let Ok(receipt) = g.submit_referral(&draft) {
                        out.say(&format!("referral {} {draft}", receipt.id));
                    }
                }
            }
            4 | 5 => {
                let articles = g.library_articles()?;
                if !articles.is_empty() {
                    let a = &articles[rng.below(articles.len() as u64) as usize];
                    let on = rng.below(2) == 0;
                    // Said first: a kill between the commit and the
                    // acknowledgement leaves this state, unacknowledged.
                    out.say(&format!("try bookmark {} {}", a.id, u8::from(on)));
                    if g.library_set_bookmark(&a.id, on).is_ok() {
                        out.say(&format!("bookmark {} {}", a.id, u8::from(on)));
                    }
                }
            }
            6 => {
                let version = g.library_status()?.version + 1;
                let pack = library_pack(version)?;
                out.say("begin pack");
                if g.library_apply_pack(&pack).is_ok() {
                    out.say(&format!("pack {version}"));
                }
            }
            7..=10 => {
                out.say("begin sync");
                let _ = g.sync_now();
                out.say("synced");
            }
            _ => {}
        }
    }
}

fn referral_form(g: &Guardian, at: &Fix, rev: u64) -> ReferralForm {
    let routed = g.route_referral(at.lat, at.lon).authority.is_some();
    ReferralForm {
        subject: Subject {
            name: format!("Torture Person {rev}"),
            date_of_birth: None,
            estimated_age: Some(15),
            address: None,
            school: Some("Torture Academy".into()),
            carer_contact: None,
        },
        reasons: vec![Reason::KnifeCarrying],
        narrative: format!("Stopped on patrol, rev {rev}: carrying a folding knife and scared of a group."),
        consent: Some(Consent::Given),
        safeguarding_concern: false,
        urgency: Some(Urgency::Routine),
        location: Some(*at),
        authority_choice: (!routed).then_some(Authority::Birmingham),
    }
}

fn library_pack(version: u64) -> Result<Vec<u8>, SimError> {
    let now = 1_700_000_000_000 + version as i64 * 1_000;
    let lib = crate::library::load_sources(&crate::library::default_dir(), version, now)?;
    Ok(guardian_core::library::Pack::full(&lib, now).encode(true))
}

// ---- the parent ----

pub struct TortureArgs {
    pub kills: usize,
    pub power_cuts: usize,
    pub seed: u64,
    pub quiet: bool,
}

#[derive(Debug, Default, Serialize)]
pub struct TortureReport {
    pub seed: u64,
    pub kills: usize,
    /// Of the kills: aimed just after a sync pass began, a library pack
    /// apply began, the store was being opened, and during a migration of a
    /// first-version store.
    pub kills_in_sync: usize,
    pub kills_in_pack: usize,
    pub kills_in_open: usize,
    pub kills_in_migration: usize,
    pub power_cuts: usize,
    /// Every call that returned success.
    pub acknowledged: usize,
    pub acknowledged_fixes: usize,
    pub patrols: usize,
    pub referrals: usize,
    /// Acknowledged but found neither on the handset nor on the server.
    pub lost: usize,
    /// Stored twice on the server.
    pub duplicated: usize,
    /// Draft revisions acknowledged but not on the handset (and not
    /// submitted or past their retention).
    pub drafts_lost: usize,
    /// Bookmarks the handset holds neither as last acknowledged nor as a
    /// change begun after that (a kill between its commit and its
    /// acknowledgement may leave either).
    pub bookmarks_wrong: usize,
    /// Stores that failed `integrity_check` or `cipher_integrity_check`,
    /// or would not open, after a kill or a cut.
    pub integrity_failures: usize,
    pub records_pending_at_end: usize,
    pub seconds: f64,
    /// What went wrong, one line each (empty when nothing did).
    pub problems: Vec<String>,
}

/// What the workers acknowledged, gathered from their lines.
#[derive(Default)]
struct Journal {
    calls: usize,
    fixes: BTreeSet<u64>,
    checkins: BTreeSet<String>,
    checkouts: BTreeSet<String>,
    /// Draft id → (last revision, time saved).
    drafts: BTreeMap<String, (u64, i64)>,
    submitted: BTreeSet<String>,
    referrals: BTreeSet<String>,
    /// Article → the last acknowledged state, and a change begun after it
    /// that was not acknowledged (it may have committed before the kill).
    bookmarks: BTreeMap<String, (bool, Option<bool>)>,
    pack: u64,
}

impl Journal {
    fn take(&mut self, line: &str) {
        let w: Vec<&str> = line.split_whitespace().collect();
        let num = |i: usize| w.get(i).and_then(|s| s.parse::<u64>().ok());
        match w.first().copied() {
            Some("fix") => {
                if let (Some(a), Some(b)) = (num(1), num(2)) {
                    self.fixes.extend(a..b);
                    self.calls += 1;
                }
            }
            Some("checkin") if w.len() == 2 => {
                self.checkins.insert(w[1].to_string());
                self.calls += 1;
            }
            Some("checkout") if w.len() == 2 => {
                self.checkouts.insert(w[1].to_string());
                self.calls += 1;
            }
            Some("draft") => {
                if let (Some(id), Some(rev), Some(t)) = (w.get(1), num(2), w.get(3).and_then(|s| s.parse().ok())) {
                    self.drafts.insert(id.to_string(), (rev, t));
                    self.calls += 1;
                }
            }
            Some("referral") if w.len() == 3 => {
                self.referrals.insert(w[1].to_string());
                self.submitted.insert(w[2].to_string());
                self.calls += 1;
            }
            Some("try") if w.len() == 4 && w[1] == "bookmark" => {
                self.bookmarks.entry(w[2].to_string()).or_insert((false, None)).1 = Some(w[3] == "1");
            }
            Some("bookmark") if w.len() == 3 => {
                self.bookmarks.insert(w[1].to_string(), (w[2] == "1", None));
                self.calls += 1;
            }
            Some("pack") => {
                if let Some(v) = num(1) {
                    self.pack = self.pack.max(v);
                    self.calls += 1;
                }
            }
            _ => {}
        }
    }

    fn next_fix(&self) -> u64 {
        self.fixes.last().map_or(0, |k| k + 1)
    }
}

/// A running worker, its lines as they come, and what it wrote to stderr.
struct Running {
    child: Child,
    lines: Receiver<String>,
    stderr: Arc<std::sync::Mutex<String>>,
}

impl Running {
    /// Kills it; the lines it printed, and why it had already stopped if it
    /// had (a worker that fails by itself would otherwise acknowledge
    /// nothing and let a campaign pass vacuously).
    fn kill(mut self) -> (Vec<String>, Option<String>) {
        let died = match self.child.try_wait() {
            Ok(Some(status)) if !status.success() => Some(format!(
                "the worker stopped by itself ({status}): {}",
                self.stderr_tail()
            )),
            _ => None,
        };
        let _ = self.child.kill();
        let _ = self.child.wait();
        (self.lines.iter().collect(), died)
    }

    fn stderr_tail(&self) -> String {
        let text = self.stderr.lock().map(|s| s.clone()).unwrap_or_default();
        text.lines().rev().take(3).collect::<Vec<_>>().join(" | ")
    }

    /// Waits for it to end by itself (a power cut) or gives up.
    fn finish(mut self, within: Duration) -> (Option<i32>, Vec<String>, String) {
        let start = Instant::now();
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => {
                    let tail = self.stderr_tail();
                    return (status.code(), self.lines.iter().collect(), tail);
                }
                Ok(None) if start.elapsed() < within => std::thread::sleep(Duration::from_millis(5)),
                _ => {
                    let tail = self.stderr_tail();
                    return (None, self.kill().0, tail);
                }
            }
        }
    }
}

struct Force {
    dir: tempfile::TempDir,
    url: String,
    token: String,
    backend_db: PathBuf,
    server: Option<guardian_backend::ServerHandle>,
}

fn start_force() -> Result<Force, SimError> {
    let dir = tempfile::tempdir().map_err(|e| input("temporary directory", e))?;
    let backend_db = dir.path().join("force.db");
    let areas = std::fs::read_to_string(repo().join("sim/data/demo-areas.geojson")).map_err(|e| input("areas", e))?;
    let backend = crate::force::backend(&backend_db, &areas, OFFICER_ID, "PC Torture")?;
    let token = backend
        .issue_token(OFFICER_ID, Role::Officer, 7 * 24 * 3600)
        .map_err(|e| input("token", e))?;
    let server =
        guardian_backend::spawn(backend, SocketAddr::from(([127, 0, 0, 1], 0))).map_err(|e| input("serve", e))?;
    Ok(Force {
        url: format!("http://{}", server.addr),
        token,
        backend_db,
        server: Some(server),
        dir,
    })
}

fn spawn_worker(
    force: &Force,
    db: &Path,
    key_hex: &str,
    seed: u64,
    from: u64,
    cut_after: Option<u64>,
    open_only: bool,
) -> Result<Running, SimError> {
    let exe = std::env::current_exe().map_err(|e| input("worker", e))?;
    let mut cmd = Command::new(exe);
    cmd.arg("torture-worker")
        .args(["--db", &db.display().to_string()])
        .args(["--url", &force.url, "--token", &force.token, "--key", key_hex])
        .args(["--seed", &seed.to_string(), "--from", &from.to_string()]);
    if let Some(c) = cut_after {
        cmd.args(["--cut-after", &c.to_string()]);
    }
    if open_only {
        cmd.arg("--open-only");
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| input("worker", e))?;
    let stdout = child.stdout.take().ok_or_else(|| input("worker", "no stdout"))?;
    let stderr = Arc::new(std::sync::Mutex::new(String::new()));
    if let Some(err) = child.stderr.take() {
        let sink = Arc::clone(&stderr);
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                if let Ok(mut s) = sink.lock() {
                    s.push_str(&line);
                    s.push('\n');
                }
            }
        });
    }
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    Ok(Running {
        child,
        lines: rx,
        stderr,
    })
}

/// Collects lines until one equal to `marker`, or the time is up; the lines
/// seen go to the journal.
fn wait_for(run: &Running, marker: &str, within: Duration, journal: &mut Journal) -> bool {
    let until = Instant::now() + within;
    loop {
        let left = until.saturating_duration_since(Instant::now());
        match run.lines.recv_timeout(left) {
            Ok(line) => {
                journal.take(&line);
                if line == marker {
                    return true;
                }
            }
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return false,
        }
    }
}

/// Takes the worker's lines for a while.
fn drain_for(run: &Running, time: Duration, journal: &mut Journal) {
    let until = Instant::now() + time;
    while let Ok(line) = run.lines.recv_timeout(until.saturating_duration_since(Instant::now())) {
        journal.take(&line);
    }
}

fn check_store(db: &Path, key: &[u8; 32]) -> Result<(), String> {
    let conn = rusqlite::Connection::open(db).map_err(|e| e.to_string())?;
    conn.execute_batch(&format!("PRAGMA key = \"x'{}'\";", hex(key)))
        .map_err(|e| e.to_string())?;
    let ok: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(|e| format!("integrity_check: {e}"))?;
    if ok != "ok" {
        return Err(format!("integrity_check: {ok}"));
    }
    drop(conn);
    // The app's open finishes a checkpoint the cut interrupted; only then
    // is the file whole without its log, which is what SQLCipher's page
    // check reads.
    let store = guardian_core::store::Store::open(db, DbKey::from_bytes(*key).map_err(|e| e.to_string())?)
        .map_err(|e| format!("open: {e}"))?;
    drop(store);
    let conn = rusqlite::Connection::open(db).map_err(|e| e.to_string())?;
    conn.execute_batch(&format!("PRAGMA key = \"x'{}'\";", hex(key)))
        .map_err(|e| e.to_string())?;
    let mut stmt = conn
        .prepare("PRAGMA cipher_integrity_check")
        .map_err(|e| e.to_string())?;
    let problems: Vec<String> = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .map_err(|e| e.to_string())?
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    if !problems.is_empty() {
        return Err(format!("cipher_integrity_check: {}", problems.join("; ")));
    }
    Ok(())
}

/// Everything acknowledged so far is on the handset (checked after each
/// power cut, when the server may not have it yet).
fn handset_holds(g: &Guardian, laps: &Laps, journal: &Journal) -> Result<Vec<String>, SimError> {
    let times: BTreeSet<i64> = g.store().read(|tx| {
        let mut stmt = tx.prepare("SELECT time_ms FROM fixes")?;
        let rows = stmt.query_map([], |r| r.get::<_, i64>(0))?;
        Ok::<_, guardian_core::store::StoreError>(rows.collect::<Result<_, _>>()?)
    })?;
    let patrols: BTreeSet<String> = g.store().read(|tx| {
        let mut stmt = tx.prepare("SELECT id FROM patrols")?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        Ok::<_, guardian_core::store::StoreError>(rows.collect::<Result<_, _>>()?)
    })?;
    let mut missing = Vec::new();
    let lost_fixes = journal
        .fixes
        .iter()
        .filter(|k| !times.contains(&laps.at(**k).time_ms))
        .count();
    if lost_fixes > 0 {
        missing.push(format!("{lost_fixes} acknowledged fixes missing"));
    }
    for id in journal.checkins.difference(&patrols) {
        missing.push(format!("patrol {id} missing"));
    }
    Ok(missing)
}

pub fn run(args: &TortureArgs) -> Result<TortureReport, SimError> {
    let start = Instant::now();
    let force = start_force()?;
    let laps = Laps::load()?;
    let key = key_for(args.seed);
    let key_hex = hex(&key);
    let db = force.dir.path().join("handset.db");
    let mut rng = Rng::new(args.seed);
    let mut journal = Journal::default();
    let mut report = TortureReport {
        seed: args.seed,
        ..TortureReport::default()
    };
    let say = |s: &str| {
        if !args.quiet {
            eprintln!("{s}");
        }
    };
    let migration_base = first_version_store(force.dir.path(), &key)?;

    let rounds = args.kills + args.power_cuts;
    // Kills and cuts interleaved, in a seeded order.
    let mut plan: Vec<bool> = (0..rounds).map(|i| i < args.power_cuts).collect();
    for i in (1..plan.len()).rev() {
        plan.swap(i, rng.below(i as u64 + 1) as usize);
    }
    for (round, cut) in plan.into_iter().enumerate() {
        let seed = args.seed.wrapping_mul(1_000_003).wrapping_add(round as u64);
        if cut {
            // Somewhere in the first few thousand writes and syncs.
            let after = 10 + rng.below(2_500);
            let run = spawn_worker(&force, &db, &key_hex, seed, journal.next_fix(), Some(after), false)?;
            let (code, lines, stderr) = run.finish(Duration::from_secs(60));
            for l in &lines {
                journal.take(l);
            }
            report.power_cuts += 1;
            if code != Some(guardian_faultfs::CUT_EXIT_CODE) {
                report
                    .problems
                    .push(format!("round {round}: the cut worker ended with {code:?}: {stderr}"));
            }
            if let Err(e) = check_store(&db, &key) {
                report.integrity_failures += 1;
                report.problems.push(format!("round {round} (cut): {e}"));
                continue;
            }
            let g = Guardian::open(
                Config::new(&db),
                DbKey::from_bytes(key).map_err(|e| input("key", e))?,
                Arc::new(FixedClock::new(0)),
            )?;
            for m in handset_holds(&g, &laps, &journal)? {
                report.problems.push(format!("round {round} (cut): {m}"));
            }
        } else {
            let run = spawn_worker(&force, &db, &key_hex, seed, journal.next_fix(), None, false)?;
            let aim = rng.below(10);
            let (marker, max_delay_ms) = match aim {
                0..=2 => ("begin sync", 40),
                3 => ("begin pack", 25),
                4 => ("begin open", 15),
                _ => ("", 0),
            };
            if marker.is_empty() {
                wait_for(&run, "opened", Duration::from_secs(10), &mut journal);
                let ms = 20 + rng.below(400);
                drain_for(&run, Duration::from_millis(ms), &mut journal);
            } else if wait_for(&run, marker, Duration::from_secs(15), &mut journal) {
                std::thread::sleep(Duration::from_micros(rng.below(max_delay_ms * 1_000)));
                match marker {
                    "begin sync" => report.kills_in_sync += 1,
                    "begin pack" => report.kills_in_pack += 1,
                    _ => report.kills_in_open += 1,
                }
            }
            let (lines, died) = run.kill();
            for l in &lines {
                journal.take(l);
            }
            if let Some(why) = died {
                report.problems.push(format!("round {round}: {why}"));
            }
            report.kills += 1;
            // One kill in ten also hits a migration of a first-version store.
            if rng.below(10) == 0 {
                let copy = force.dir.path().join("old.db");
                std::fs::copy(&migration_base, &copy).map_err(|e| input("old store", e))?;
                let run = spawn_worker(&force, &copy, &key_hex, seed, 0, None, true)?;
                let mut scratch = Journal::default();
                if wait_for(&run, "begin open", Duration::from_secs(10), &mut scratch) {
                    std::thread::sleep(Duration::from_micros(rng.below(8_000)));
                }
                if let (_, Some(why)) = run.kill() {
                    report.problems.push(format!("round {round} (migration): {why}"));
                }
                report.kills_in_migration += 1;
                match Guardian::open(
                    Config::new(&copy),
                    DbKey::from_bytes(key).map_err(|e| input("key", e))?,
                    Arc::new(FixedClock::new(0)),
                ) {
                    Ok(g) => {
                        let officer = g.officer()?.map(|o| o.officer_id);
                        if officer.as_deref() != Some("wm-old") {
                            report
                                .problems
                                .push(format!("round {round}: migration lost the officer"));
                        }
                        drop(g);
                        if let Err(e) = check_store(&copy, &key) {
                            report.integrity_failures += 1;
                            report.problems.push(format!("round {round} (migration): {e}"));
                        }
                    }
                    Err(e) => {
                        report.integrity_failures += 1;
                        report.problems.push(format!("round {round} (migration): {e}"));
                    }
                }
                let _ = std::fs::remove_file(&copy);
            }
        }
        if (round + 1) % 50 == 0 {
            say(&format!(
                "torture: {} of {rounds} rounds, {} calls acknowledged",
                round + 1,
                journal.calls
            ));
        }
    }
    if let Err(e) = check_store(&db, &key) {
        report.integrity_failures += 1;
        report.problems.push(format!("end: {e}"));
    }
    finish_and_verify(&force, &db, key, &laps, &journal, &mut report)?;
    report.seconds = (start.elapsed().as_secs_f64() * 10.0).round() / 10.0;
    let mut force = force;
    if let Some(server) = force.server.take() {
        server.shutdown().map_err(|e| input("backend shutdown", e))?;
    }
    Ok(report)
}

/// The officer picks the phone up: the open patrol is checked out, the
/// outbox drained; then every acknowledged call is looked for.
fn finish_and_verify(
    force: &Force,
    db: &Path,
    key: [u8; 32],
    laps: &Laps,
    journal: &Journal,
    report: &mut TortureReport,
) -> Result<(), SimError> {
    let next = laps.at(journal.next_fix() + 1_000);
    let clock = Arc::new(FixedClock::new(next.time_ms));
    let g = Guardian::open(
        Config::new(db),
        DbKey::from_bytes(key).map_err(|e| input("key", e))?,
        clock,
    )?;
    g.start_sync(
        &SyncConfig::new(force.url.clone()),
        Arc::new(StaticTokens(force.token.clone())),
    )?;
    if g.patrol_status()?.is_some() {
        g.check_out(&next)?;
    }
    for _ in 0..20 {
        let _ = g.sync_now();
        if g.sync_status()?.pending == 0 {
            break;
        }
    }
    let status = g.sync_status()?;
    report.records_pending_at_end = status.pending;
    report.acknowledged = journal.calls;
    report.acknowledged_fixes = journal.fixes.len();
    report.patrols = journal.checkins.len();
    report.referrals = journal.referrals.len();

    let server = rusqlite::Connection::open(&force.backend_db).map_err(|e| input("server store", e))?;
    let q = |sql: &str| -> Result<Vec<String>, SimError> {
        let mut stmt = server.prepare(sql).map_err(|e| input("server store", e))?;
        let rows = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(|e| input("server store", e))?;
        rows.collect::<Result<_, _>>().map_err(|e| input("server store", e))
    };
    let server_patrols: BTreeSet<String> = q("SELECT patrol_id FROM patrols")?.into_iter().collect();
    let closed: BTreeSet<String> = q("SELECT patrol_id FROM patrols WHERE checkout_time_ms IS NOT NULL")?
        .into_iter()
        .collect();
    let server_referrals: BTreeSet<String> = q("SELECT referral_id FROM referrals")?.into_iter().collect();
    let server_times: HashMap<i64, usize> = {
        let mut stmt = server
            .prepare("SELECT time_ms, count(*) FROM fixes GROUP BY patrol_id, time_ms")
            .map_err(|e| input("server store", e))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))
            .map_err(|e| input("server store", e))?;
        let mut m = HashMap::new();
        for row in rows {
            let (t, n) = row.map_err(|e| input("server store", e))?;
            *m.entry(t).or_insert(0) += usize::try_from(n).unwrap_or(0);
        }
        m
    };
    let duplicated_fixes: usize = server_times.values().map(|n| n.saturating_sub(1)).sum();
    let references: Vec<String> = q("SELECT reference FROM referrals")?;
    let distinct: BTreeSet<&String> = references.iter().collect();
    report.duplicated = duplicated_fixes + (references.len() - distinct.len());

    let handset_times: BTreeSet<i64> = g.store().read(|tx| {
        let mut stmt = tx.prepare("SELECT time_ms FROM fixes")?;
        let rows = stmt.query_map([], |r| r.get::<_, i64>(0))?;
        Ok::<_, guardian_core::store::StoreError>(rows.collect::<Result<_, _>>()?)
    })?;
    let lost_fixes = journal
        .fixes
        .iter()
        .map(|k| laps.at(*k).time_ms)
        .filter(|t| !handset_times.contains(t) && !server_times.contains_key(t))
        .count();
    // Every fix the handset holds for a patrol must have reached the force:
    // a track chunk lost from the outbox would otherwise go unseen, since
    // the handset still has the fixes.
    let undelivered: usize = g.store().read(|tx| {
        let mut stmt = tx.prepare("SELECT time_ms FROM fixes WHERE patrol_id IS NOT NULL")?;
        let rows = stmt.query_map([], |r| r.get::<_, i64>(0))?;
        let mut n = 0;
        for t in rows {
            n += usize::from(!server_times.contains_key(&t?));
        }
        Ok::<_, guardian_core::store::StoreError>(n)
    })?;
    if undelivered > 0 {
        report
            .problems
            .push(format!("{undelivered} patrol fixes never reached the force"));
    }
    if report.records_pending_at_end > 0 {
        report.problems.push(format!(
            "{} records still pending at the end",
            report.records_pending_at_end
        ));
    }
    let lost_checkins = journal.checkins.difference(&server_patrols).count();
    let lost_checkouts = journal.checkouts.difference(&closed).count();
    let lost_referrals = journal.referrals.difference(&server_referrals).count();
    report.lost = lost_fixes + lost_checkins + lost_checkouts + lost_referrals;
    for (what, n) in [
        ("fixes", lost_fixes),
        ("check-ins", lost_checkins),
        ("check-outs", lost_checkouts),
        ("referrals", lost_referrals),
    ] {
        if n > 0 {
            report.problems.push(format!("{n} acknowledged {what} lost"));
        }
    }
    if report.duplicated > 0 {
        report
            .problems
            .push(format!("{} stored twice on the server", report.duplicated));
    }

    // Drafts: the last acknowledged revision of each, unless it was
    // submitted or has passed its retention (the core discards those).
    let now = next.time_ms;
    for (id, (rev, saved)) in &journal.drafts {
        if journal.submitted.contains(id) || now - saved >= guardian_core::referral::DRAFT_RETENTION_MS {
            continue;
        }
        let kept = g.referral_draft(id).ok().map(|f| f.narrative);
        let newest = kept.as_deref().and_then(|n| {
            n.split("rev ")
                .nth(1)
                .and_then(|s| s.split(':').next())
                .and_then(|s| s.parse::<u64>().ok())
        });
        if newest.is_none_or(|n| n < *rev) {
            report.drafts_lost += 1;
        }
    }
    if report.drafts_lost > 0 {
        report
            .problems
            .push(format!("{} draft revisions lost", report.drafts_lost));
    }
    let marked: BTreeSet<String> = g.library_bookmarks()?.into_iter().map(|b| b.article_id).collect();
    report.bookmarks_wrong = journal
        .bookmarks
        .iter()
        .filter(|(id, (acked, begun))| {
            let now = marked.contains(*id);
            now != *acked && Some(now) != *begun
        })
        .count();
    if report.bookmarks_wrong > 0 {
        report
            .problems
            .push(format!("{} bookmarks not as last acknowledged", report.bookmarks_wrong));
    }
    let version = g.library_status()?.version;
    if version < journal.pack {
        report.problems.push(format!(
            "library at version {version}, version {} was acknowledged",
            journal.pack
        ));
    }
    Ok(())
}

/// A store as the first released schema left it, with an officer, an area
/// and a few fixes: the campaign kills migrations of copies of it.
fn first_version_store(dir: &Path, key: &[u8; 32]) -> Result<PathBuf, SimError> {
    let path = dir.join("first-version.db");
    let conn = rusqlite::Connection::open(&path).map_err(|e| input("old store", e))?;
    let sql = format!(
        "PRAGMA key = \"x'{}'\";
         {}
         PRAGMA user_version = 1;
         INSERT INTO officer VALUES (1, 'wm-old', 'PC Old', 'constable');",
        hex(key),
        guardian_core::store::schema::V1
    );
    conn.execute_batch(&sql).map_err(|e| input("old store", e))?;
    let tx = conn.unchecked_transaction().map_err(|e| input("old store", e))?;
    for i in 0..2_000i64 {
        tx.execute(
            "INSERT INTO fixes (patrol_id, time_ms, mono_ns, lat, lon, accuracy_m, verdict)
             VALUES (NULL, ?1, ?2, 52.475, -1.895, 5.0, 'accepted')",
            (1_700_000_000_000 + i * 1_000, i * 1_000_000_000),
        )
        .map_err(|e| input("old store", e))?;
    }
    tx.commit().map_err(|e| input("old store", e))?;
    Ok(path)
}

pub fn print_human(r: &TortureReport) {
    println!(
        "Guardian torture (seed {}): {} kills ({} in sync, {} in a pack apply, {} opening, {} in a migration), {} power cuts, {:.0} s",
        r.seed,
        r.kills,
        r.kills_in_sync,
        r.kills_in_pack,
        r.kills_in_open,
        r.kills_in_migration,
        r.power_cuts,
        r.seconds
    );
    println!(
        "  acknowledged  {} calls ({} fixes, {} patrols, {} referrals)",
        r.acknowledged, r.acknowledged_fixes, r.patrols, r.referrals
    );
    println!(
        "  lost {}   duplicated {}   drafts lost {}   bookmarks wrong {}   integrity failures {}   still pending {}",
        r.lost, r.duplicated, r.drafts_lost, r.bookmarks_wrong, r.integrity_failures, r.records_pending_at_end
    );
    for p in &r.problems {
        println!("  PROBLEM: {p}");
    }
}
