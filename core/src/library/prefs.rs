//! Bookmarks and recently read, per officer (`library_bookmarks`,
//! `library_recent`, `library_prefs_state`).
//!
//! They follow the officer to another handset: every change writes, in the
//! same transaction, an outbox record (kind `library_prefs`) holding the
//! officer's whole current set with a version, and the force keeps the
//! highest version it has seen. The version is `max(previous + 1, now)`:
//! strictly increasing on one handset and, across handsets, the most recent
//! change wins (last writer wins, by the handsets' clocks). A pending record
//! that a newer one supersedes is removed in the same transaction: it would
//! only be overwritten on the server.
//!
//! The rows leave with the officer: a trigger deletes them when the
//! officer's row goes (sign-out, the force's wipe).

use guardian_protocol::library::{MAX_BOOKMARKS, MAX_RECENT, PREFS_FORMAT, PrefItem, PrefsRecord};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::db::summary;
use super::{LibraryError, PrefsEntry, Result};
use crate::store::outbox::{self, Kind, NewRow};
use crate::store::{Purge, StoreError};

fn officer_state(conn: &Connection, officer_id: &str) -> Result<(u64, i64)> {
    let row: Option<(i64, i64)> = conn
        .prepare_cached("SELECT version, updated_ms FROM library_prefs_state WHERE officer_id = ?1")?
        .query_row([officer_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    Ok(row.map_or((0, 0), |(v, t)| (u64::try_from(v).unwrap_or(0), t)))
}

fn items(conn: &Connection, sql: &str, officer_id: &str) -> Result<Vec<PrefItem>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map([officer_id], |r| {
        Ok(PrefItem {
            article_id: r.get(0)?,
            time_ms: r.get(1)?,
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

const BOOKMARKS: &str =
    "SELECT article_id, added_ms FROM library_bookmarks WHERE officer_id = ?1 ORDER BY added_ms DESC, article_id";
const RECENT: &str =
    "SELECT article_id, read_ms FROM library_recent WHERE officer_id = ?1 ORDER BY read_ms DESC, article_id";

/// The officer's current set, as it would be sent.
pub fn snapshot(conn: &Connection, officer_id: &str) -> Result<(u64, i64, Vec<PrefItem>, Vec<PrefItem>)> {
    let (version, updated_ms) = officer_state(conn, officer_id)?;
    Ok((
        version,
        updated_ms,
        items(conn, BOOKMARKS, officer_id)?,
        items(conn, RECENT, officer_id)?,
    ))
}

fn require_article(conn: &Connection, article_id: &str) -> Result<()> {
    match summary(conn, article_id)? {
        Some(_) => Ok(()),
        None => Err(LibraryError::UnknownArticle(article_id.to_string())),
    }
}

/// Bookmarks (`on`) or un-bookmarks an article. Returns whether anything
/// changed; a change is queued for the force in the same transaction.
pub fn set_bookmark(tx: &Transaction<'_>, officer_id: &str, article_id: &str, on: bool, now_ms: i64) -> Result<bool> {
    let changed = if on {
        require_article(tx, article_id)?;
        let n: i64 = tx.query_row(
            "SELECT count(*) FROM library_bookmarks WHERE officer_id = ?1",
            [officer_id],
            |r| r.get(0),
        )?;
        if usize::try_from(n).unwrap_or(usize::MAX) >= MAX_BOOKMARKS {
            // The oldest bookmark makes room: a cap the officer never meets
            // in practice, but the record must stay bounded.
            tx.execute(
                "DELETE FROM library_bookmarks WHERE officer_id = ?1 AND article_id =
                   (SELECT article_id FROM library_bookmarks WHERE officer_id = ?1 ORDER BY added_ms, article_id LIMIT 1)",
                [officer_id],
            )?;
        }
        tx.execute(
            "INSERT INTO library_bookmarks (officer_id, article_id, added_ms) VALUES (?1, ?2, ?3)
             ON CONFLICT DO NOTHING",
            params![officer_id, article_id, now_ms],
        )? > 0
    } else {
        tx.execute(
            "DELETE FROM library_bookmarks WHERE officer_id = ?1 AND article_id = ?2",
            params![officer_id, article_id],
        )? > 0
    };
    if changed {
        queue(tx, officer_id, now_ms)?;
    }
    Ok(changed)
}

/// Records that the officer opened an article (newest first, at most
/// [`MAX_RECENT`]), and queues the change.
pub fn record_read(tx: &Transaction<'_>, officer_id: &str, article_id: &str, now_ms: i64) -> Result<()> {
    require_article(tx, article_id)?;
    tx.execute(
        "INSERT INTO library_recent (officer_id, article_id, read_ms) VALUES (?1, ?2, ?3)
         ON CONFLICT (officer_id, article_id) DO UPDATE SET read_ms = excluded.read_ms",
        params![officer_id, article_id, now_ms],
    )?;
    tx.execute(
        "DELETE FROM library_recent WHERE officer_id = ?1 AND article_id NOT IN
           (SELECT article_id FROM library_recent WHERE officer_id = ?1 ORDER BY read_ms DESC, article_id LIMIT ?2)",
        params![officer_id, i64::try_from(MAX_RECENT).unwrap_or(30)],
    )?;
    queue(tx, officer_id, now_ms)
}

/// Bumps the officer's version and writes the whole set to the outbox,
/// replacing any pending record it supersedes.
fn queue(tx: &Transaction<'_>, officer_id: &str, now_ms: i64) -> Result<()> {
    let (previous, _) = officer_state(tx, officer_id)?;
    let version = previous.saturating_add(1).max(u64::try_from(now_ms).unwrap_or(0));
    tx.execute(
        "INSERT INTO library_prefs_state (officer_id, version, updated_ms) VALUES (?1, ?2, ?3)
         ON CONFLICT (officer_id) DO UPDATE SET version = excluded.version, updated_ms = excluded.updated_ms",
        params![officer_id, i64::try_from(version).unwrap_or(i64::MAX), now_ms],
    )?;
    let record = PrefsRecord {
        id: uuid::Uuid::now_v7().to_string(),
        format: PREFS_FORMAT,
        officer_id: officer_id.to_string(),
        version,
        updated_ms: now_ms,
        bookmarks: items(tx, BOOKMARKS, officer_id)?,
        recent: items(tx, RECENT, officer_id)?,
    };
    let payload = serde_json::to_vec(&record).map_err(|e| StoreError::Unsendable(e.to_string()))?;
    outbox::supersede_pending(tx, Kind::LibraryPrefs)?;
    outbox::enqueue(
        tx,
        &NewRow {
            id: &record.id,
            kind: Kind::LibraryPrefs,
            format: PREFS_FORMAT,
            patrol_id: None,
            seq: 0,
            payload: &payload,
            fixes: 0,
            now_ms,
        },
    )?;
    Ok(())
}

/// Adopts the force's copy (from another handset) when it is newer than
/// this handset's and nothing of this handset's is still waiting to go.
/// Returns whether the local set changed.
pub fn restore(tx: &Transaction<'_>, officer_id: &str, remote: &PrefsRecord) -> Result<bool> {
    if remote.officer_id != officer_id {
        return Ok(false);
    }
    remote.validate().map_err(LibraryError::InvalidPrefs)?;
    let (local, _) = officer_state(tx, officer_id)?;
    let waiting = outbox::unsent(tx, Kind::LibraryPrefs)?;
    if remote.version <= local || waiting > 0 {
        return Ok(false);
    }
    tx.execute("DELETE FROM library_bookmarks WHERE officer_id = ?1", [officer_id])?;
    tx.execute("DELETE FROM library_recent WHERE officer_id = ?1", [officer_id])?;
    for b in &remote.bookmarks {
        tx.execute(
            "INSERT OR IGNORE INTO library_bookmarks (officer_id, article_id, added_ms) VALUES (?1, ?2, ?3)",
            params![officer_id, b.article_id, b.time_ms],
        )?;
    }
    for r in &remote.recent {
        tx.execute(
            "INSERT OR IGNORE INTO library_recent (officer_id, article_id, read_ms) VALUES (?1, ?2, ?3)",
            params![officer_id, r.article_id, r.time_ms],
        )?;
    }
    tx.execute(
        "INSERT INTO library_prefs_state (officer_id, version, updated_ms) VALUES (?1, ?2, ?3)
         ON CONFLICT (officer_id) DO UPDATE SET version = excluded.version, updated_ms = excluded.updated_ms",
        params![
            officer_id,
            i64::try_from(remote.version).unwrap_or(i64::MAX),
            remote.updated_ms
        ],
    )?;
    Ok(true)
}

fn entries(conn: &Connection, list: Vec<PrefItem>) -> Result<Vec<PrefsEntry>> {
    list.into_iter()
        .map(|item| {
            Ok(PrefsEntry {
                article: summary(conn, &item.article_id)?,
                article_id: item.article_id,
                time_ms: item.time_ms,
            })
        })
        .collect()
}

pub fn bookmarks(conn: &Connection, officer_id: &str) -> Result<Vec<PrefsEntry>> {
    let list = items(conn, BOOKMARKS, officer_id)?;
    entries(conn, list)
}

pub fn recent(conn: &Connection, officer_id: &str) -> Result<Vec<PrefsEntry>> {
    let list = items(conn, RECENT, officer_id)?;
    entries(conn, list)
}

pub fn is_bookmarked(conn: &Connection, officer_id: &str, article_id: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM library_bookmarks WHERE officer_id = ?1 AND article_id = ?2")?
        .query_row(params![officer_id, article_id], |r| r.get::<_, i64>(0))
        .optional()?
        .is_some())
}

/// Bookmarks and recent reads leave with the officer (sign-out or wipe).
/// The officer's row going takes them too (a trigger); this says it here.
pub fn purge(tx: &Transaction<'_>, _scope: Purge) -> Result<(), StoreError> {
    tx.execute_batch("DELETE FROM library_bookmarks; DELETE FROM library_recent; DELETE FROM library_prefs_state;")?;
    Ok(())
}
