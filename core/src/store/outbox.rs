//! The outbox table: every record for the force that it has not yet
//! acknowledged. It is storage, below every domain module: the module that
//! owns a change enqueues its record here in the same transaction as the
//! change (`&Transaction`), with an id made once and reused on every
//! attempt; sync moves rows through their states (pending → in flight →
//! acked or rejected) and nothing else. A rejected row is kept, marked and
//! explained, never dropped.

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::Serialize;

use super::{Purge, StoreError};

type Result<T, E = StoreError> = std::result::Result<T, E>;

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
            other => Err(StoreError::Corrupt(format!("unknown outbox kind {other:?}"))),
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

/// The next sequence number in a patrol's causal order (check-in is 0):
/// after a restart, an open patrol carries on from here.
pub fn next_seq(conn: &Connection, patrol_id: &str) -> Result<u32> {
    Ok(conn.query_row(
        "SELECT COALESCE(MAX(seq) + 1, 1) FROM outbox WHERE patrol_id = ?1",
        [patrol_id],
        |r| r.get(0),
    )?)
}

/// Removes the records of `kind` that no sync pass has picked up yet (a
/// newer record supersedes them). One in flight may be on the wire, and
/// its ack must still find it.
pub fn supersede_pending(tx: &Transaction<'_>, kind: Kind) -> Result<usize> {
    Ok(tx.execute(
        "DELETE FROM outbox WHERE kind = ?1 AND state = 'pending'",
        [kind.as_str()],
    )?)
}

/// How many records of `kind` have not reached the force yet.
pub fn unsent(conn: &Connection, kind: Kind) -> Result<usize> {
    let n: i64 = conn.query_row(
        "SELECT count(*) FROM outbox WHERE kind = ?1 AND state IN ('pending', 'in_flight')",
        [kind.as_str()],
        |r| r.get(0),
    )?;
    Ok(usize::try_from(n).unwrap_or(0))
}

/// Every record goes, sent or not, whichever the scope: the records are the
/// officer's, and a wipe takes everything.
pub fn purge(tx: &Transaction<'_>, _scope: Purge) -> Result<()> {
    tx.execute("DELETE FROM outbox", [])?;
    Ok(())
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

/// A row's payload, whatever its state.
pub fn payload(tx: &Transaction<'_>, id: &str) -> Result<Option<Vec<u8>>> {
    Ok(tx
        .query_row("SELECT payload FROM outbox WHERE id = ?1", [id], |r| r.get(0))
        .optional()?)
}

/// Removes a row its kind's owner has taken back (a refused referral made
/// a draft again): nothing of it is left to send or to purge.
pub fn remove(tx: &Transaction<'_>, id: &str) -> Result<bool> {
    Ok(tx.execute("DELETE FROM outbox WHERE id = ?1", [id])? == 1)
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
