//! The `sync_state` table: the force's cursor (what this handset has seen of
//! the force's changes), when a pass last succeeded, and why the last one
//! failed. Owned here; and what a sync status screen reads.

use rusqlite::{Connection, OptionalExtension, Transaction};
use serde::Serialize;

use crate::store::outbox::{self, Rejected};
use crate::store::{Purge, StoreError};

type Result<T, E = StoreError> = std::result::Result<T, E>;

pub fn cursor(conn: &Connection) -> Result<String> {
    Ok(conn
        .query_row("SELECT cursor FROM sync_state", [], |r| r.get(0))
        .optional()?
        .unwrap_or_default())
}

fn ensure_row(tx: &Transaction<'_>) -> Result<()> {
    tx.execute(
        "INSERT INTO sync_state (singleton) VALUES (1) ON CONFLICT(singleton) DO NOTHING",
        [],
    )?;
    Ok(())
}

/// This handset's id (a UUID made on first use), sent with every request
/// so the force can shut a lost handset out.
pub fn device_id(tx: &Transaction<'_>) -> Result<String> {
    ensure_row(tx)?;
    let held: Option<String> = tx.query_row("SELECT device_id FROM sync_state", [], |r| r.get(0))?;
    if let Some(id) = held {
        return Ok(id);
    }
    let id = uuid::Uuid::now_v7().to_string();
    tx.execute("UPDATE sync_state SET device_id = ?1", [&id])?;
    Ok(id)
}

/// Saved in the same transaction as the pull it came with.
pub fn save_cursor(tx: &Transaction<'_>, cursor: &str) -> Result<()> {
    ensure_row(tx)?;
    tx.execute("UPDATE sync_state SET cursor = ?1", [cursor])?;
    Ok(())
}

/// How a pass ended: a success clears the last error.
pub fn save_outcome(tx: &Transaction<'_>, now_ms: i64, error: Option<&str>) -> Result<()> {
    ensure_row(tx)?;
    match error {
        None => tx.execute(
            "UPDATE sync_state SET last_success_ms = ?1, last_error = NULL",
            [now_ms],
        )?,
        Some(e) => tx.execute("UPDATE sync_state SET last_error = ?1", [e])?,
    };
    Ok(())
}

fn last(conn: &Connection) -> Result<(Option<i64>, Option<String>)> {
    Ok(conn
        .query_row("SELECT last_success_ms, last_error FROM sync_state", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?
        .unwrap_or((None, None)))
}

/// Both forget the cursor: it counts what the force sent the signed-out
/// officer (their assignments, their referrals' updates), and the next
/// officer's first pull must bring everything of theirs. A sign-out keeps
/// the sync history; a wipe does not.
pub fn purge(tx: &Transaction<'_>, scope: Purge) -> Result<()> {
    match scope {
        Purge::Officer => tx.execute("UPDATE sync_state SET cursor = ''", [])?,
        // The handset's id outlives a wipe: a revoked handset, wiped,
        // stays revoked.
        Purge::Everything => tx.execute(
            "UPDATE sync_state SET cursor = '', last_success_ms = NULL, last_error = NULL",
            [],
        )?,
    };
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SyncStatus {
    pub running: bool,
    pub online: bool,
    pub pending: usize,
    pub pending_bytes: usize,
    pub acked: usize,
    pub rejected: usize,
    pub last_success_ms: Option<i64>,
    pub last_error: Option<String>,
    pub rejected_records: Vec<Rejected>,
}

pub fn status(conn: &Connection, running: bool, online: bool) -> Result<SyncStatus> {
    let counts = outbox::counts(conn)?;
    let (last_success_ms, last_error) = last(conn)?;
    Ok(SyncStatus {
        running,
        online,
        pending: counts.pending,
        pending_bytes: counts.pending_bytes,
        acked: counts.acked,
        rejected: counts.rejected,
        last_success_ms,
        last_error,
        rejected_records: outbox::rejected(conn)?,
    })
}
