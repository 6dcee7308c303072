//! The outbox table: what the force has not yet acknowledged. Writers take
//! `&Transaction` so a row is always written with the change it reports.

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::Serialize;

use super::codec::{self, StoredFix};
use crate::error::Result;
use crate::patrol::{Fix, Verdict};
use crate::store::StoreError;

/// Fixes per track chunk: ten minutes at 1 Hz. Large enough that HTTP
/// overhead is small per fix, small enough that a lost chunk costs little.
pub const CHUNK_FIXES: usize = 600;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    CheckIn,
    CheckOut,
    TrackChunk,
    /// A VRP referral: personal data until acknowledged, then purged.
    Referral,
    /// An officer's library bookmarks and recent reads (the whole set, versioned).
    LibraryPrefs,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::CheckIn => "check_in",
            Kind::CheckOut => "check_out",
            Kind::TrackChunk => "track_chunk",
            Kind::Referral => "referral",
            Kind::LibraryPrefs => "library_prefs",
        }
    }

    fn parse(s: &str) -> Result<Kind> {
        match s {
            "check_in" => Ok(Kind::CheckIn),
            "check_out" => Ok(Kind::CheckOut),
            "track_chunk" => Ok(Kind::TrackChunk),
            "referral" => Ok(Kind::Referral),
            "library_prefs" => Ok(Kind::LibraryPrefs),
            other => Err(StoreError::Corrupt(format!("unknown outbox kind {other:?}")).into()),
        }
    }
}

/// One record waiting to go.
#[derive(Debug, Clone)]
pub struct Item {
    pub id: String,
    pub kind: Kind,
    pub format: u32,
    /// None for records outside any patrol (a referral, library settings).
    pub patrol_id: Option<String>,
    pub seq: u32,
    pub payload: Vec<u8>,
    pub fixes: usize,
}

pub struct NewRow<'a> {
    pub id: &'a str,
    pub kind: Kind,
    pub format: u32,
    pub patrol_id: Option<&'a str>,
    pub seq: u32,
    pub payload: &'a [u8],
    pub fixes: usize,
    pub now_ms: i64,
}

pub fn enqueue(tx: &Transaction<'_>, row: &NewRow<'_>) -> Result<()> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO outbox (id, kind, format, patrol_id, seq, payload, fixes, created_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    stmt.execute(params![
        row.id,
        row.kind.as_str(),
        row.format,
        row.patrol_id,
        row.seq,
        row.payload,
        row.fixes as i64,
        row.now_ms
    ])?;
    Ok(())
}

/// Packs the patrol's fixes not yet in a chunk into one, in the outbox.
/// Returns how many fixes it carried (0: nothing to pack).
pub fn make_chunk(tx: &Transaction<'_>, patrol_id: &str, seq: u32, now_ms: i64) -> Result<usize> {
    let mut stmt = tx.prepare_cached(
        "SELECT id, time_ms, mono_ns, lat, lon, accuracy_m, altitude_m, speed_mps, bearing_deg, verdict
         FROM fixes WHERE patrol_id = ?1 AND chunk_id IS NULL ORDER BY id",
    )?;
    let rows = stmt.query_map([patrol_id], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            Fix {
                time_ms: r.get(1)?,
                mono_ns: r.get(2)?,
                lat: r.get(3)?,
                lon: r.get(4)?,
                accuracy_m: r.get(5)?,
                altitude_m: r.get(6)?,
                speed_mps: r.get(7)?,
                bearing_deg: r.get(8)?,
            },
            r.get::<_, String>(9)?,
        ))
    })?;
    let mut ids = Vec::new();
    let mut fixes = Vec::new();
    for row in rows {
        let (id, fix, verdict) = row?;
        let verdict =
            Verdict::parse(&verdict).ok_or_else(|| StoreError::Corrupt(format!("unknown verdict {verdict:?}")))?;
        ids.push(id);
        fixes.push(StoredFix { fix, verdict });
    }
    if fixes.is_empty() {
        return Ok(0);
    }
    let chunk_id = uuid::Uuid::now_v7().to_string();
    let payload = codec::encode(&fixes);
    enqueue(
        tx,
        &NewRow {
            id: &chunk_id,
            kind: Kind::TrackChunk,
            format: codec::FORMAT,
            patrol_id: Some(patrol_id),
            seq,
            payload: &payload,
            fixes: fixes.len(),
            now_ms,
        },
    )?;
    let (first, last) = (ids[0], ids[ids.len() - 1]);
    tx.execute(
        "UPDATE fixes SET chunk_id = ?1 WHERE patrol_id = ?2 AND chunk_id IS NULL AND id BETWEEN ?3 AND ?4",
        params![chunk_id, patrol_id, first, last],
    )?;
    Ok(fixes.len())
}

/// Everything waiting, in sending order: the patrol with the newest record
/// first (the officer's live patrol is never stuck behind a week of
/// backlog), and within a patrol in causal order.
pub fn pending(conn: &Connection) -> Result<Vec<Item>> {
    let mut stmt = conn.prepare(
        "SELECT o.id, o.kind, o.format, o.patrol_id, o.seq, o.payload, o.fixes
         FROM outbox o
         JOIN (SELECT COALESCE(patrol_id, id) AS grp, MAX(created_ms) AS newest FROM outbox
               WHERE state IN ('pending', 'in_flight') GROUP BY COALESCE(patrol_id, id)) p
           ON p.grp = COALESCE(o.patrol_id, o.id)
         WHERE o.state IN ('pending', 'in_flight')
         ORDER BY p.newest DESC, p.grp, o.seq",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, u32>(2)?,
            r.get::<_, Option<String>>(3)?,
            r.get::<_, u32>(4)?,
            r.get::<_, Vec<u8>>(5)?,
            r.get::<_, i64>(6)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, kind, format, patrol_id, seq, payload, fixes) = row?;
        out.push(Item {
            id,
            kind: Kind::parse(&kind)?,
            format,
            patrol_id,
            seq,
            payload,
            fixes: usize::try_from(fixes).unwrap_or(0),
        });
    }
    Ok(out)
}

pub fn mark_in_flight(tx: &Transaction<'_>, ids: &[String]) -> Result<()> {
    let mut stmt = tx.prepare_cached("UPDATE outbox SET state = 'in_flight' WHERE id = ?1 AND state = 'pending'")?;
    for id in ids {
        stmt.execute([id])?;
    }
    Ok(())
}

/// After a crash or an interrupted pass: in flight means "maybe sent"; the
/// same id goes again and the server's idempotency makes that safe.
pub fn requeue_in_flight(tx: &Transaction<'_>) -> Result<()> {
    tx.execute("UPDATE outbox SET state = 'pending' WHERE state = 'in_flight'", [])?;
    Ok(())
}

/// The force has it: the payload is no longer needed on the handset.
pub fn mark_acked(tx: &Transaction<'_>, id: &str, now_ms: i64) -> Result<()> {
    let mut stmt = tx.prepare_cached(
        "UPDATE outbox SET state = 'acked', acked_ms = ?2, payload = x'', attempts = attempts + 1, last_error = NULL
         WHERE id = ?1 AND state IN ('pending', 'in_flight')",
    )?;
    stmt.execute(params![id, now_ms])?;
    Ok(())
}

/// Kept, marked and explained; never retried, never dropped.
pub fn mark_rejected(tx: &Transaction<'_>, id: &str, reason: &str) -> Result<()> {
    tx.execute(
        "UPDATE outbox SET state = 'rejected', attempts = attempts + 1, last_error = ?2 WHERE id = ?1",
        params![id, reason],
    )?;
    Ok(())
}

pub fn mark_failed_attempt(tx: &Transaction<'_>, id: &str, reason: &str) -> Result<()> {
    tx.execute(
        "UPDATE outbox SET state = 'pending', attempts = attempts + 1, last_error = ?2 WHERE id = ?1",
        params![id, reason],
    )?;
    Ok(())
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub pending: usize,
    pub pending_bytes: usize,
    pub acked: usize,
    pub rejected: usize,
}

pub fn counts(conn: &Connection) -> Result<Counts> {
    let mut c = Counts::default();
    let mut stmt =
        conn.prepare("SELECT state, count(*), COALESCE(SUM(length(payload)), 0) FROM outbox GROUP BY state")?;
    let rows = stmt.query_map([], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
    })?;
    for row in rows {
        let (state, n, bytes) = row?;
        let n = usize::try_from(n).unwrap_or(0);
        match state.as_str() {
            "pending" | "in_flight" => {
                c.pending += n;
                c.pending_bytes += usize::try_from(bytes).unwrap_or(0);
            }
            "acked" => c.acked += n,
            _ => c.rejected += n,
        }
    }
    Ok(c)
}

/// A record the force refused, as the officer's screen shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejected {
    pub id: String,
    pub kind: Kind,
    pub patrol_id: Option<String>,
    pub reason: String,
}

pub fn rejected(conn: &Connection) -> Result<Vec<Rejected>> {
    let mut stmt = conn.prepare(
        "SELECT id, kind, patrol_id, COALESCE(last_error, '') FROM outbox WHERE state = 'rejected' ORDER BY created_ms",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get(2)?, r.get(3)?))
    })?;
    rows.map(|r| {
        let (id, kind, patrol_id, reason) = r?;
        Ok(Rejected {
            id,
            kind: Kind::parse(&kind)?,
            patrol_id,
            reason,
        })
    })
    .collect()
}

pub fn cursor(conn: &Connection) -> Result<String> {
    Ok(conn
        .query_row("SELECT cursor FROM sync_state", [], |r| r.get(0))
        .optional()?
        .unwrap_or_default())
}

pub fn save_sync_state(
    tx: &Transaction<'_>,
    cursor: Option<&str>,
    success_ms: Option<i64>,
    error: Option<&str>,
) -> Result<()> {
    tx.execute(
        "INSERT INTO sync_state (singleton) VALUES (1) ON CONFLICT(singleton) DO NOTHING",
        [],
    )?;
    if let Some(c) = cursor {
        tx.execute("UPDATE sync_state SET cursor = ?1", [c])?;
    }
    if let Some(t) = success_ms {
        tx.execute("UPDATE sync_state SET last_success_ms = ?1, last_error = NULL", [t])?;
    }
    if let Some(e) = error {
        tx.execute("UPDATE sync_state SET last_error = ?1", [e])?;
    }
    Ok(())
}

pub fn sync_state(conn: &Connection) -> Result<(Option<i64>, Option<String>)> {
    Ok(conn
        .query_row("SELECT last_success_ms, last_error FROM sync_state", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?
        .unwrap_or((None, None)))
}

pub fn audit(tx: &Transaction<'_>, now_ms: i64, event: &str, detail: &str) -> Result<()> {
    tx.execute(
        "INSERT INTO audit (time_ms, event, detail) VALUES (?1, ?2, ?3)",
        params![now_ms, event, detail],
    )?;
    Ok(())
}
