//! [`Backend`]: the force's store and every operation on it, used by the
//! HTTP handlers and in-process by the CLI, the sim and the tests.
//!
//! One connection behind a mutex: SQLite has one writer anyway, and every
//! operation is one short transaction. Writes take the lock `IMMEDIATE`, so
//! a check ("was this record id seen?") and the write it guards cannot be
//! split by another process on the same file.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use chrono::NaiveDate;
use guardian_core::patrol::compliance::ComplianceSummary;
use guardian_core::patrol::{Area, Fix, Rank, parse_areas};
use guardian_core::sync::codec::StoredFix;
use guardian_core::sync::protocol::{
    AckStatus, AssignmentWire, CommandKind, DeviceCommand, OfficerProfile, RecordBody, RecordEnvelope, SyncReply,
};
use rand::Rng as _;
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use serde::{Deserialize, Serialize};

use crate::db::{self, KEY_AREAS_VERSION, KEY_ASSIGN_VERSION, KEY_REPLAYS, KEY_SECRET};
use crate::error::{ApiFailure, BackendError};
use crate::export;
use crate::schedule::{self, OfficerRank};
use crate::token::{self, Claims, Role, TokenError};

/// Ids are client-made UUIDs or short force codes.
pub const MAX_ID_LEN: usize = 64;
pub const MAX_NAME_LEN: usize = 200;
/// The only record payload format this backend knows.
pub const RECORD_FORMAT: u32 = 1;
/// A year: dev tokens are not meant to live longer.
pub const MAX_TTL_S: i64 = 366 * 24 * 3600;

/// Counts for the end-to-end tests and the operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    pub records: i64,
    pub patrols: i64,
    pub chunks: i64,
    pub fixes: i64,
    /// Stored fixes whose (patrol, monotonic time, wall time) occurs more
    /// than once: a client that uploaded the same fixes twice. Must be 0.
    pub duplicate_fixes: i64,
    /// Uploads answered `duplicate` (a retry of something already stored).
    pub replays: i64,
    /// Referrals stored (each once, whatever the retries).
    #[serde(default)]
    pub referrals: i64,
}

/// One day's recorded draw: the evaluation's treatment (`chosen`) and
/// control (`not_chosen`) areas.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleRun {
    pub date: NaiveDate,
    pub seed: u64,
    pub fraction: f64,
    pub chosen: Vec<String>,
    pub not_chosen: Vec<String>,
}

/// One of an officer's own patrols: `GET /v1/me/patrols`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatrolSummary {
    pub patrol_id: String,
    pub area_id: String,
    pub assignment_id: Option<String>,
    pub check_in_ms: i64,
    pub check_out_ms: Option<i64>,
    pub fixes: i64,
}

pub struct Backend {
    conn: Mutex<Connection>,
    secret: Vec<u8>,
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the token key.
        f.debug_struct("Backend").finish_non_exhaustive()
    }
}

pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Non-empty, at most `max` characters, no control characters.
pub(crate) fn check_id(field: &str, value: &str, max: usize) -> Result<(), String> {
    if value.trim().is_empty() {
        return Err(format!("{field} is empty"));
    }
    if value.chars().count() > max {
        return Err(format!("{field} is longer than {max} characters"));
    }
    if value.chars().any(char::is_control) {
        return Err(format!("{field} contains control characters"));
    }
    Ok(())
}

fn bad_record(reason: impl Into<String>) -> ApiFailure {
    ApiFailure::unprocessable("bad-record", reason)
}

impl From<rusqlite::Error> for ApiFailure {
    fn from(e: rusqlite::Error) -> Self {
        BackendError::from(e).into()
    }
}

impl Backend {
    /// Opens (creating if needed) the backend database. The first open makes
    /// the 32-byte token key and stores it in the file.
    pub fn open(db_path: &Path) -> Result<Self, BackendError> {
        let mut conn = db::open(db_path)?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let secret = match db::meta_blob(&tx, KEY_SECRET)? {
            Some(s) if s.len() == 32 => s,
            Some(_) => return Err(BackendError::Corrupt("token key has the wrong length".into())),
            None => {
                let mut s = vec![0u8; 32];
                rand::rng().fill_bytes(&mut s);
                db::set_meta_blob(&tx, KEY_SECRET, &s)?;
                s
            }
        };
        crate::library::ensure_schema(&tx)?;
        crate::boundaries::ensure_schema(&tx)?;
        crate::referral::ensure_schema(&tx)?;
        tx.commit()?;
        Ok(Self {
            conn: Mutex::new(conn),
            secret,
        })
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic inside an operation dropped its transaction, which rolled
        // back: the connection is consistent, so poisoning carries no risk.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn write<T, E: From<rusqlite::Error>>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    pub(crate) fn read<T, E: From<rusqlite::Error>>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        f(&tx)
    }

    // ---- admin: the library API -------------------------------------------

    /// Replaces the set of areas (all or nothing) and bumps its version so
    /// every handset fetches it on its next sync.
    pub fn load_areas_geojson(&self, text: &str) -> Result<usize, BackendError> {
        let areas = parse_areas(text)?;
        let now = now_ms();
        self.write(|tx| {
            tx.execute("UPDATE areas SET active = 0", [])?;
            let mut stmt = tx.prepare(
                "INSERT INTO areas (area_id, name, lpa, geometry, windows, active)
                 VALUES (?1, ?2, ?3, ?4, ?5, 1)
                 ON CONFLICT (area_id) DO UPDATE SET name = excluded.name, lpa = excluded.lpa,
                   geometry = excluded.geometry, windows = excluded.windows, active = 1",
            )?;
            for a in &areas {
                stmt.execute(params![a.id, a.name, a.lpa, a.geometry_json(), a.windows_json()])?;
            }
            let version = db::bump(tx, KEY_AREAS_VERSION)?;
            tx.execute(
                "INSERT INTO area_sets (version, geojson, loaded_ms) VALUES (?1, ?2, ?3)",
                params![version, text, now],
            )?;
            Ok::<_, BackendError>(())
        })?;
        Ok(areas.len())
    }

    /// Creates the officer, or updates their name and rank (the force's
    /// record is the truth compliance uses).
    pub fn create_officer(&self, officer_id: &str, display_name: &str, rank: Rank) -> Result<(), BackendError> {
        check_id("officer_id", officer_id, MAX_ID_LEN).map_err(BackendError::Invalid)?;
        check_id("display_name", display_name, MAX_NAME_LEN).map_err(BackendError::Invalid)?;
        self.write(|tx| {
            tx.execute(
                "INSERT INTO officers (officer_id, display_name, rank) VALUES (?1, ?2, ?3)
                 ON CONFLICT (officer_id) DO UPDATE SET display_name = excluded.display_name,
                   rank = excluded.rank",
                params![officer_id, display_name, rank.as_str()],
            )?;
            Ok(())
        })
    }

    pub fn issue_token(&self, sub: &str, role: Role, ttl_s: i64) -> Result<String, BackendError> {
        check_id("sub", sub, MAX_ID_LEN).map_err(BackendError::Invalid)?;
        if !(1..=MAX_TTL_S).contains(&ttl_s) {
            return Err(BackendError::Invalid(format!(
                "ttl_s {ttl_s} is not between 1 and {MAX_TTL_S}"
            )));
        }
        let claims = Claims {
            sub: sub.to_string(),
            role,
            exp: now_ms() / 1000 + ttl_s,
        };
        Ok(token::sign(&self.secret, &claims))
    }

    pub(crate) fn verify_token(&self, token: &str) -> Result<Claims, TokenError> {
        token::verify(&self.secret, token, now_ms() / 1000)
    }

    /// Draws `date`'s assignments (see [`schedule::plan`]) and records the
    /// draw, including the control group. A date is drawn once: re-drawing
    /// until a result looked better would void the randomised evaluation.
    pub fn schedule(&self, date: NaiveDate, fraction: f64, seed: u64) -> Result<Vec<AssignmentWire>, BackendError> {
        let now = now_ms();
        self.write(|tx| {
            let date_s = date.to_string();
            let exists: Option<i64> = tx
                .query_row("SELECT 1 FROM schedules WHERE date = ?1", [&date_s], |r| r.get(0))
                .optional()?;
            if exists.is_some() {
                return Err(BackendError::AlreadyScheduled(date));
            }
            let areas = active_areas(tx)?;
            let officers = officer_ranks(tx)?;
            let plan = schedule::plan(date, fraction, seed, &areas, &officers)?;
            let json = |ids: &[String]| serde_json::to_string(ids).unwrap_or_else(|_| "[]".into());
            tx.execute(
                "INSERT INTO schedules (date, seed, fraction, chosen, not_chosen, created_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                // SQLite integers are signed: the seed is stored as its bits.
                params![
                    date_s,
                    seed as i64,
                    fraction,
                    json(&plan.chosen),
                    json(&plan.not_chosen),
                    now
                ],
            )?;
            let mut stmt = tx.prepare(
                "INSERT INTO assignments (assignment_id, date, area_id, officer_id, start_ms, end_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            for a in &plan.assignments {
                stmt.execute(params![a.id, date_s, a.area_id, a.officer_id, a.start_ms, a.end_ms])?;
            }
            db::bump(tx, KEY_ASSIGN_VERSION)?;
            Ok(plan.assignments)
        })
    }

    /// Every recorded draw, by date.
    pub fn schedule_runs(&self) -> Result<Vec<ScheduleRun>, BackendError> {
        self.read(|tx| {
            let mut stmt =
                tx.prepare("SELECT date, seed, fraction, chosen, not_chosen FROM schedules ORDER BY date")?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, f64>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                ))
            })?;
            rows.map(|row| {
                let (date, seed, fraction, chosen, not_chosen) = row?;
                let corrupt = |what: &str| BackendError::Corrupt(format!("schedule {date}: bad {what}"));
                Ok(ScheduleRun {
                    date: date.parse().map_err(|_| corrupt("date"))?,
                    // Stored as its bits (SQLite integers are signed).
                    seed: seed as u64,
                    fraction,
                    chosen: serde_json::from_str(&chosen).map_err(|_| corrupt("chosen"))?,
                    not_chosen: serde_json::from_str(&not_chosen).map_err(|_| corrupt("not_chosen"))?,
                })
            })
            .collect()
        })
    }

    /// Queues a command for the officer's handsets; it stays pending until a
    /// handset acknowledges it.
    pub fn queue_command(&self, officer_id: &str, kind: CommandKind) -> Result<String, BackendError> {
        let id = uuid::Uuid::now_v7().to_string();
        let now = now_ms();
        self.write(|tx| {
            if officer(tx, officer_id)?.is_none() {
                return Err(BackendError::UnknownOfficer(officer_id.to_string()));
            }
            tx.execute(
                "INSERT INTO commands (command_id, officer_id, kind, created_ms) VALUES (?1, ?2, ?3, ?4)",
                params![id, officer_id, command_kind_str(kind), now],
            )?;
            Ok(())
        })?;
        Ok(id)
    }

    pub fn compliance_summary(&self) -> Result<ComplianceSummary, BackendError> {
        let rows = self.read(export::rows)?;
        Ok(export::summary(&rows))
    }

    pub fn compliance_csv(&self) -> Result<String, BackendError> {
        let rows = self.read(export::rows)?;
        Ok(export::csv(&rows))
    }

    pub fn stats(&self) -> Result<Stats, BackendError> {
        self.read(|tx| {
            let count = |sql: &str| tx.query_row(sql, [], |r| r.get::<_, i64>(0));
            Ok(Stats {
                records: count("SELECT count(*) FROM records")?,
                patrols: count("SELECT count(*) FROM patrols")?,
                chunks: count("SELECT count(*) FROM chunks")?,
                fixes: count("SELECT count(*) FROM fixes")?,
                duplicate_fixes: count(
                    "SELECT coalesce(sum(n), 0) FROM (SELECT count(*) AS n FROM fixes
                     GROUP BY patrol_id, mono_ns, time_ms HAVING n > 1)",
                )?,
                replays: db::counter(tx, KEY_REPLAYS)?,
                referrals: count("SELECT count(*) FROM referrals")?,
            })
        })
    }

    // ---- officer: what the HTTP handlers call -----------------------------

    /// Stores a check-in or check-out at most once per record id.
    pub(crate) fn submit_record(&self, sub: &str, env: &RecordEnvelope, now: i64) -> Result<AckStatus, ApiFailure> {
        if env.format != RECORD_FORMAT {
            return Err(ApiFailure::unprocessable(
                "unsupported-format",
                format!("record format {} is not {RECORD_FORMAT}", env.format),
            ));
        }
        check_id("id", &env.id, MAX_ID_LEN).map_err(bad_record)?;
        self.write(|tx| {
            require_officer(tx, sub)?;
            let seen: Option<String> = tx
                .query_row("SELECT officer_id FROM records WHERE record_id = ?1", [&env.id], |r| {
                    r.get(0)
                })
                .optional()?;
            if let Some(owner) = seen {
                return replay(tx, sub, &owner, "record");
            }
            validate_record(env)?;
            match &env.body {
                RecordBody::CheckIn(b) => {
                    if b.officer_id != sub {
                        return Err(ApiFailure::forbidden(
                            "a check-in must name the officer the token belongs to",
                        ));
                    }
                    let active: Option<bool> = tx
                        .query_row("SELECT active FROM areas WHERE area_id = ?1", [&b.area_id], |r| {
                            r.get(0)
                        })
                        .optional()?;
                    if active != Some(true) {
                        return Err(ApiFailure::unprocessable(
                            "unknown-area",
                            format!("no current area {:?}", b.area_id),
                        ));
                    }
                    if patrol_owner(tx, &env.patrol_id)?.is_some() {
                        return Err(ApiFailure::unprocessable(
                            "conflict",
                            "this patrol already has a check-in with another record id",
                        ));
                    }
                    tx.execute(
                        "INSERT INTO patrols (patrol_id, officer_id, area_id, claimed_rank,
                           assignment_id, checkin_record_id, checkin_time_ms)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                        params![
                            env.patrol_id,
                            sub,
                            b.area_id,
                            b.rank,
                            b.assignment_id,
                            env.id,
                            b.time_ms
                        ],
                    )?;
                }
                RecordBody::CheckOut(b) => {
                    let row: Option<(String, i64, Option<String>)> = tx
                        .query_row(
                            "SELECT officer_id, checkin_time_ms, checkout_record_id FROM patrols
                             WHERE patrol_id = ?1",
                            [&env.patrol_id],
                            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                        )
                        .optional()?;
                    let Some((owner, checkin_ms, checkout)) = row else {
                        return Err(ApiFailure::unprocessable(
                            "unknown-patrol",
                            "no check-in has been received for this patrol",
                        ));
                    };
                    if owner != sub {
                        return Err(ApiFailure::forbidden("this patrol is another officer's"));
                    }
                    if checkout.is_some() {
                        return Err(ApiFailure::unprocessable(
                            "conflict",
                            "this patrol already has a check-out with another record id",
                        ));
                    }
                    if b.time_ms < checkin_ms {
                        return Err(bad_record("check-out is earlier than the check-in"));
                    }
                    tx.execute(
                        "UPDATE patrols SET checkout_record_id = ?2, checkout_time_ms = ?3
                         WHERE patrol_id = ?1",
                        params![env.patrol_id, env.id, b.time_ms],
                    )?;
                }
            }
            let kind = match env.body {
                RecordBody::CheckIn(_) => "check_in",
                RecordBody::CheckOut(_) => "check_out",
            };
            let body = serde_json::to_string(env).map_err(|e| BackendError::Server(format!("record to JSON: {e}")))?;
            tx.execute(
                "INSERT INTO records (record_id, officer_id, patrol_id, kind, body, received_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![env.id, sub, env.patrol_id, kind, body, now],
            )?;
            Ok(AckStatus::Stored)
        })
    }

    /// The cheap half of a chunk upload, before its body is decoded: a
    /// retry of a stored chunk is answered without decoding it again.
    pub(crate) fn chunk_replay(&self, sub: &str, chunk_id: &str) -> Result<Option<AckStatus>, ApiFailure> {
        self.write(|tx| {
            require_officer(tx, sub)?;
            match chunk_owner(tx, chunk_id)? {
                Some(owner) => replay(tx, sub, &owner, "chunk").map(Some),
                None => Ok(None),
            }
        })
    }

    /// Stores a decoded track chunk (every fix, with its filter verdict) at
    /// most once per chunk id.
    pub(crate) fn submit_chunk(&self, sub: &str, chunk: &ChunkUpload<'_>, now: i64) -> Result<AckStatus, ApiFailure> {
        self.write(|tx| {
            require_officer(tx, sub)?;
            // Checked again under the write lock: a concurrent retry may have
            // stored it since `chunk_replay`.
            if let Some(owner) = chunk_owner(tx, chunk.chunk_id)? {
                return replay(tx, sub, &owner, "chunk");
            }
            match patrol_owner(tx, chunk.patrol_id)? {
                None => {
                    return Err(ApiFailure::unprocessable(
                        "unknown-patrol",
                        "no check-in has been received for this patrol",
                    ));
                }
                Some(owner) if owner != sub => {
                    return Err(ApiFailure::forbidden("this patrol is another officer's"));
                }
                Some(_) => {}
            }
            tx.execute(
                "INSERT INTO chunks (chunk_id, officer_id, patrol_id, seq, fixes, bytes, received_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    chunk.chunk_id,
                    sub,
                    chunk.patrol_id,
                    chunk.seq,
                    chunk.fixes.len() as i64,
                    chunk.bytes as i64,
                    now
                ],
            )?;
            let mut stmt = tx.prepare_cached(
                "INSERT INTO fixes (patrol_id, chunk_id, seq, idx, time_ms, mono_ns, lat, lon,
                   accuracy_m, verdict) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?;
            for (idx, s) in chunk.fixes.iter().enumerate() {
                stmt.execute(params![
                    chunk.patrol_id,
                    chunk.chunk_id,
                    chunk.seq,
                    idx as i64,
                    s.fix.time_ms,
                    s.fix.mono_ns,
                    s.fix.lat,
                    s.fix.lon,
                    s.fix.accuracy_m,
                    s.verdict.as_str()
                ])?;
            }
            Ok(AckStatus::Stored)
        })
    }

    pub(crate) fn sync(&self, sub: &str, cursor: Option<&str>) -> Result<SyncReply, ApiFailure> {
        let since = cursor.and_then(Cursor::parse);
        self.read(|tx| {
            let profile = require_officer(tx, sub)?;
            let (boundaries_version, boundaries) = crate::boundaries::since(tx, since.map(|c| c.boundaries))?;
            let (referral_seq, referral_updates) =
                crate::referral::updates_since(tx, sub, since.map_or(0, |c| c.referrals))?;
            let now = Cursor {
                areas: db::counter(tx, KEY_AREAS_VERSION)?,
                assignments: db::counter(tx, KEY_ASSIGN_VERSION)?,
                boundaries: boundaries_version,
                referrals: referral_seq,
            };
            let areas = if since.is_none_or(|c| now.areas > c.areas) {
                let text: Option<String> = tx
                    .query_row("SELECT geojson FROM area_sets ORDER BY version DESC LIMIT 1", [], |r| {
                        r.get(0)
                    })
                    .optional()?;
                match text {
                    Some(t) => Some(
                        serde_json::from_str(&t)
                            .map_err(|e| BackendError::Corrupt(format!("stored areas are not JSON: {e}")))?,
                    ),
                    None => None,
                }
            } else {
                None
            };
            let assignments = if since.is_none_or(|c| now.assignments > c.assignments) {
                let mut stmt = tx.prepare_cached(
                    "SELECT assignment_id, area_id, officer_id, start_ms, end_ms FROM assignments
                     WHERE officer_id = ?1 ORDER BY start_ms, assignment_id",
                )?;
                let rows = stmt.query_map([sub], |r| {
                    Ok(AssignmentWire {
                        id: r.get(0)?,
                        area_id: r.get(1)?,
                        officer_id: r.get(2)?,
                        start_ms: r.get(3)?,
                        end_ms: r.get(4)?,
                    })
                })?;
                Some(rows.collect::<Result<Vec<_>, _>>()?)
            } else {
                None
            };
            let mut stmt = tx.prepare_cached(
                "SELECT command_id, kind FROM commands WHERE officer_id = ?1 AND acked_ms IS NULL
                 ORDER BY created_ms, command_id",
            )?;
            let commands = stmt
                .query_map([sub], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
                .map(|row| {
                    let (id, kind) = row?;
                    let kind = parse_command_kind(&kind)
                        .ok_or_else(|| BackendError::Corrupt(format!("unknown command kind {kind:?}")))?;
                    Ok(DeviceCommand { id, kind })
                })
                .collect::<Result<Vec<_>, ApiFailure>>()?;
            Ok(SyncReply {
                cursor: now.to_string(),
                officer: Some(profile),
                areas,
                assignments,
                commands,
                boundaries,
                referral_updates,
            })
        })
    }

    /// Marks the officer's own command done. Acking twice is a success (a
    /// retried ack); another officer's command looks like no command at all.
    pub(crate) fn ack_command(&self, sub: &str, command_id: &str, now: i64) -> Result<(), ApiFailure> {
        self.write(|tx| {
            require_officer(tx, sub)?;
            let n = tx.execute(
                "UPDATE commands SET acked_ms = coalesce(acked_ms, ?3)
                 WHERE command_id = ?1 AND officer_id = ?2",
                params![command_id, sub, now],
            )?;
            if n == 0 {
                return Err(ApiFailure::new(
                    axum::http::StatusCode::NOT_FOUND,
                    "unknown-command",
                    "no such command for this officer",
                ));
            }
            Ok(())
        })
    }

    pub(crate) fn my_patrols(&self, sub: &str) -> Result<Vec<PatrolSummary>, ApiFailure> {
        self.read(|tx| {
            require_officer(tx, sub)?;
            let mut stmt = tx.prepare_cached(
                "SELECT p.patrol_id, p.area_id, p.assignment_id, p.checkin_time_ms,
                   p.checkout_time_ms, (SELECT count(*) FROM fixes f WHERE f.patrol_id = p.patrol_id)
                 FROM patrols p WHERE p.officer_id = ?1 ORDER BY p.checkin_time_ms, p.patrol_id",
            )?;
            let rows = stmt.query_map([sub], |r| {
                Ok(PatrolSummary {
                    patrol_id: r.get(0)?,
                    area_id: r.get(1)?,
                    assignment_id: r.get(2)?,
                    check_in_ms: r.get(3)?,
                    check_out_ms: r.get(4)?,
                    fixes: r.get(5)?,
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }
}

/// A track chunk after decoding, ready to store.
pub(crate) struct ChunkUpload<'a> {
    pub chunk_id: &'a str,
    pub patrol_id: &'a str,
    pub seq: u32,
    pub bytes: usize,
    pub fixes: &'a [StoredFix],
}

/// What a handset last saw: the areas, assignments and boundaries versions
/// and the last referral change sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cursor {
    pub areas: i64,
    pub assignments: i64,
    pub boundaries: i64,
    pub referrals: i64,
}

impl Cursor {
    /// `a{areas}.s{assignments}.b{boundaries}.r{referral seq}`. A cursor
    /// from before boundaries and referrals (`a{areas}.s{assignments}`) is
    /// still good: it has seen none of either (0), so the handset gets the
    /// boundaries and every status change, and no repeat of areas or
    /// assignments. Anything else (including a cursor from a newer server)
    /// means "send everything". Only letters, digits and dots: the handset
    /// URL-encodes it and this server reads the query raw.
    pub fn parse(s: &str) -> Option<Cursor> {
        let mut parts = s.split('.');
        let mut field = |prefix: char| -> Option<Option<i64>> {
            match parts.next() {
                None => Some(None),
                Some(p) => p.strip_prefix(prefix)?.parse().ok().map(Some),
            }
        };
        let areas = field('a')??;
        let assignments = field('s')??;
        let (boundaries, referrals) = match (field('b')?, field('r')?) {
            (None, None) => (0, 0),
            (Some(b), Some(r)) => (b, r),
            _ => return None,
        };
        if parts.next().is_some() {
            return None;
        }
        Some(Cursor {
            areas,
            assignments,
            boundaries,
            referrals,
        })
    }
}

impl std::fmt::Display for Cursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "a{}.s{}.b{}.r{}",
            self.areas, self.assignments, self.boundaries, self.referrals
        )
    }
}

fn validate_record(env: &RecordEnvelope) -> Result<(), ApiFailure> {
    check_id("patrol_id", &env.patrol_id, MAX_ID_LEN).map_err(bad_record)?;
    let (time_ms, mono_ns, lat, lon, accuracy_m) = match &env.body {
        RecordBody::CheckIn(b) => {
            check_id("area_id", &b.area_id, MAX_ID_LEN).map_err(bad_record)?;
            check_id("officer_id", &b.officer_id, MAX_ID_LEN).map_err(bad_record)?;
            if let Some(a) = &b.assignment_id {
                check_id("assignment_id", a, MAX_ID_LEN).map_err(bad_record)?;
            }
            if Rank::parse(&b.rank).is_none() {
                return Err(bad_record(format!("unknown rank {:?}", b.rank)));
            }
            (b.time_ms, b.mono_ns, b.lat, b.lon, b.accuracy_m)
        }
        RecordBody::CheckOut(b) => (b.time_ms, b.mono_ns, b.lat, b.lon, b.accuracy_m),
    };
    // The handset's own rules for a fix that can describe a place on Earth.
    Fix::new(time_ms, mono_ns, lat, lon, accuracy_m)
        .validate()
        .map_err(|e| bad_record(e.to_string()))
}

/// A retry of something stored earlier: a success, unless someone else's.
pub(crate) fn replay(tx: &Transaction<'_>, sub: &str, owner: &str, what: &str) -> Result<AckStatus, ApiFailure> {
    if owner != sub {
        return Err(ApiFailure::forbidden(format!(
            "this {what} id belongs to another officer"
        )));
    }
    db::bump(tx, KEY_REPLAYS)?;
    Ok(AckStatus::Duplicate)
}

pub(crate) fn require_officer(tx: &Transaction<'_>, sub: &str) -> Result<OfficerProfile, ApiFailure> {
    officer(tx, sub)?.ok_or_else(|| {
        ApiFailure::new(
            axum::http::StatusCode::FORBIDDEN,
            "unknown-officer",
            "the token's officer is not on the force's list",
        )
    })
}

fn officer(tx: &Transaction<'_>, id: &str) -> Result<Option<OfficerProfile>, BackendError> {
    Ok(tx
        .query_row(
            "SELECT officer_id, display_name, rank FROM officers WHERE officer_id = ?1",
            [id],
            |r| {
                Ok(OfficerProfile {
                    officer_id: r.get(0)?,
                    display_name: r.get(1)?,
                    rank: r.get(2)?,
                })
            },
        )
        .optional()?)
}

fn patrol_owner(tx: &Transaction<'_>, patrol_id: &str) -> Result<Option<String>, BackendError> {
    Ok(tx
        .query_row(
            "SELECT officer_id FROM patrols WHERE patrol_id = ?1",
            [patrol_id],
            |r| r.get(0),
        )
        .optional()?)
}

fn chunk_owner(tx: &Transaction<'_>, chunk_id: &str) -> Result<Option<String>, BackendError> {
    Ok(tx
        .query_row("SELECT officer_id FROM chunks WHERE chunk_id = ?1", [chunk_id], |r| {
            r.get(0)
        })
        .optional()?)
}

fn active_areas(tx: &Transaction<'_>) -> Result<Vec<Area>, BackendError> {
    let mut stmt =
        tx.prepare("SELECT area_id, name, lpa, geometry, windows FROM areas WHERE active = 1 ORDER BY area_id")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, String>(4)?,
        ))
    })?;
    rows.map(|row| {
        let (id, name, lpa, geometry, windows) = row?;
        Ok(Area::from_stored(id, name, lpa, &geometry, &windows)?)
    })
    .collect()
}

pub(crate) fn stored_area(tx: &Transaction<'_>, area_id: &str) -> Result<Option<Area>, BackendError> {
    let row: Option<(String, String, String, String)> = tx
        .query_row(
            "SELECT name, lpa, geometry, windows FROM areas WHERE area_id = ?1",
            [area_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    match row {
        None => Ok(None),
        Some((name, lpa, geometry, windows)) => Ok(Some(Area::from_stored(
            area_id.to_string(),
            name,
            lpa,
            &geometry,
            &windows,
        )?)),
    }
}

fn officer_ranks(tx: &Transaction<'_>) -> Result<Vec<OfficerRank>, BackendError> {
    let mut stmt = tx.prepare("SELECT officer_id, rank FROM officers ORDER BY officer_id")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    rows.map(|row| {
        let (officer_id, rank) = row?;
        let rank = Rank::parse(&rank).ok_or_else(|| BackendError::Corrupt(format!("unknown stored rank {rank:?}")))?;
        Ok(OfficerRank { officer_id, rank })
    })
    .collect()
}

pub(crate) fn command_kind_str(kind: CommandKind) -> &'static str {
    match kind {
        CommandKind::Wipe => "wipe",
    }
}

pub(crate) fn parse_command_kind(s: &str) -> Option<CommandKind> {
    match s {
        "wipe" => Some(CommandKind::Wipe),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_garbage_means_everything() {
        let c = Cursor {
            areas: 3,
            assignments: 12,
            boundaries: 2,
            referrals: 40,
        };
        assert_eq!(c.to_string(), "a3.s12.b2.r40");
        assert_eq!(Cursor::parse(&c.to_string()), Some(c));
        for bad in [
            "",
            "a1",
            "a1.x2",
            "x1.s2",
            "a.s",
            "a1.s2.s3",
            "a-1.s",
            "a1.s2.b3",
            "a1.s2.r3.b4",
            "a1.s2.b3.r4.x5",
            "a1.s2.b.r4",
            "a1.s2.",
        ] {
            assert_eq!(Cursor::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_cursor_from_before_referrals_has_seen_none_of_them() {
        assert_eq!(
            Cursor::parse("a3.s12"),
            Some(Cursor {
                areas: 3,
                assignments: 12,
                boundaries: 0,
                referrals: 0,
            })
        );
    }

    #[test]
    fn ids_must_be_short_printable_and_present() {
        assert!(check_id("id", "abc", 64).is_ok());
        assert!(check_id("id", "", 64).is_err());
        assert!(check_id("id", "  ", 64).is_err());
        assert!(check_id("id", &"x".repeat(65), 64).is_err());
        assert!(check_id("id", "a\nb", 64).is_err());
    }
}
