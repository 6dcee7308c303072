//! Recovery of a damaged store: keep what can be read of what the officer
//! did and the force has not yet received, move the damaged file aside, and
//! start clean with it, so the next sync sends what was saved.
//!
//! Rows are copied table by table in rowid order. A damaged page ends a scan;
//! the scan then seeks past it (rowid lookups go through the b-tree's
//! interior pages, which a leaf's damage leaves intact), so one bad page
//! costs the rows on it, not the rest of the table. What the force sends
//! anyway (the library's articles, the sync cursor) is not copied: the
//! next pull brings it again.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rusqlite::types::Value;
use rusqlite::{Connection, OpenFlags};

use super::keycheck::{self, Verdict};
use super::{DbKey, Store, StoreError};

/// Tables worth saving, parents first. The outbox and referrals are what
/// the issue is about (unsent work); patrols, fixes and tallies let an open
/// patrol resume; drafts and bookmarks are the officer's own work.
const SALVAGED: &[&str] = &[
    "officer",
    "areas",
    "assignments",
    "patrols",
    "fixes",
    "geofence_events",
    "patrol_tallies",
    "outbox",
    "referrals",
    "referral_drafts",
    "boundaries",
    "library_bookmarks",
    "library_recent",
    "library_prefs_state",
    "audit",
];

/// Gives up on a table after this many unreadable stretches in a row.
const MAX_SKIPS: u32 = 40;

/// What a recovery did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Salvage {
    /// Where the damaged file now is (its `-wal` beside it, if it had one).
    pub damaged_copy: PathBuf,
    /// Rows saved, per table.
    pub rows: BTreeMap<String, u64>,
    /// Tables that could not be read whole (some rows, or all, lost).
    pub damaged_tables: Vec<String>,
    /// Unsent records (outbox rows not yet acknowledged) saved.
    pub unsent_records: u64,
}

/// Moves the damaged store at `path` aside and makes a clean one there with
/// what could be read. Refuses (`WrongKey`, nothing moved) when the key-check
/// value says this is not the store's key, or when there is none and the
/// file cannot be read with the key at all: a wrong key must never cost the
/// officer their data.
pub fn recover(path: &Path, key: &DbKey) -> Result<Salvage, StoreError> {
    match keycheck::verdict(path, key) {
        Verdict::Differs => return Err(StoreError::WrongKey),
        Verdict::Matches => {}
        Verdict::Unknown => {
            if !readable_with(path, key) {
                return Err(StoreError::WrongKey);
            }
        }
    }
    let aside = aside_path(path);
    move_with_companions(path, &aside)?;
    let store = Store::open(path, key.clone())?;
    let mut salvage = Salvage {
        damaged_copy: aside.clone(),
        ..Salvage::default()
    };
    let source = match open_damaged(&aside, key) {
        Ok(c) => Some(c),
        Err(e) => {
            tracing::warn!(error = %e, "the damaged store cannot be opened at all");
            None
        }
    };
    let conn = super::lock(&store.writer);
    // The copy keeps rows whose parents were lost (an outbox row whose
    // patrol sat on a bad page must still be sent), so references are not
    // enforced while it runs.
    conn.execute_batch("PRAGMA foreign_keys = OFF; BEGIN IMMEDIATE;")?;
    let copied = (|| {
        for table in SALVAGED {
            let (rows, whole) = match &source {
                Some(src) => copy_table(src, &conn, table)?,
                None => (0, false),
            };
            salvage.rows.insert((*table).to_string(), rows);
            if !whole {
                salvage.damaged_tables.push((*table).to_string());
            }
        }
        // In flight when the file broke means "maybe sent": send again,
        // the server's idempotency makes that safe.
        conn.execute("UPDATE outbox SET state = 'pending' WHERE state = 'in_flight'", [])?;
        salvage.unsent_records = conn.query_row("SELECT count(*) FROM outbox WHERE state = 'pending'", [], |r| {
            r.get::<_, i64>(0)
        })? as u64;
        Ok::<_, StoreError>(())
    })();
    match copied {
        Ok(()) => conn.execute_batch("COMMIT; PRAGMA foreign_keys = ON;")?,
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK; PRAGMA foreign_keys = ON;");
            return Err(e);
        }
    }
    drop(conn);
    tracing::warn!(
        unsent = salvage.unsent_records,
        damaged_tables = salvage.damaged_tables.len(),
        "damaged store recovered"
    );
    Ok(salvage)
}

/// Deletes damaged copies left beside `path` by [`recover`] (sign-out and
/// wipe: they hold the same officer's data, encrypted).
pub fn remove_damaged_copies(path: &Path) -> Result<usize, StoreError> {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return Ok(0);
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let prefix = format!("{}.damaged-", name.to_string_lossy());
    let mut removed = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_name().to_string_lossy().starts_with(&prefix) {
            std::fs::remove_file(entry.path())?;
            removed += 1;
        }
    }
    Ok(removed)
}

fn aside_path(path: &Path) -> PathBuf {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".damaged-{stamp}"));
    PathBuf::from(name)
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// The WAL goes with the file (it may hold the newest committed rows); the
/// shared-memory index is rebuilt from it, so it is dropped.
fn move_with_companions(from: &Path, to: &Path) -> Result<(), StoreError> {
    std::fs::rename(from, to)?;
    let wal = with_suffix(from, "-wal");
    if wal.exists() {
        std::fs::rename(&wal, with_suffix(to, "-wal"))?;
    }
    let shm = with_suffix(from, "-shm");
    if shm.exists() {
        std::fs::remove_file(&shm)?;
    }
    Ok(())
}

fn open_damaged(path: &Path, key: &DbKey) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.execute_batch("PRAGMA cipher_log_level = NONE;")?;
    key.apply(&conn)?;
    Ok(conn)
}

fn readable_with(path: &Path, key: &DbKey) -> bool {
    open_damaged(path, key)
        .and_then(|c| Ok(c.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get::<_, i64>(0))?))
        .is_ok()
}

fn columns(conn: &Connection, table: &str) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))?;
    let names = stmt.query_map([], |r| r.get(0))?;
    names.collect()
}

/// Copies what can be read of `table`; `true` if all of it was.
fn copy_table(src: &Connection, dst: &Connection, table: &str) -> Result<(u64, bool), StoreError> {
    let wanted = columns(dst, table)?;
    let have = match columns(src, table) {
        Ok(c) if !c.is_empty() => c,
        // The schema page is damaged, or the store predates the table.
        Ok(_) => return Ok((0, true)),
        Err(_) => return Ok((0, false)),
    };
    let cols: Vec<&String> = wanted.iter().filter(|c| have.contains(c)).collect();
    if cols.is_empty() {
        return Ok((0, true));
    }
    let list = cols.iter().map(|c| format!("\"{c}\"")).collect::<Vec<_>>().join(", ");
    let marks = (1..=cols.len()).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", ");
    let read_sql = format!("SELECT rowid, {list} FROM \"{table}\" WHERE rowid > ?1 ORDER BY rowid LIMIT 256");
    let write_sql = format!("INSERT OR IGNORE INTO \"{table}\" ({list}) VALUES ({marks})");
    let mut insert = dst.prepare(&write_sql)?;
    let mut after = i64::MIN;
    let mut copied = 0u64;
    let mut whole = true;
    let mut skips = 0u32;
    let mut jump = 1i64;
    loop {
        let (batch, failed) = read_batch(src, &read_sql, after, cols.len());
        if !batch.is_empty() {
            skips = 0;
            jump = 1;
        }
        for (rowid, values) in &batch {
            after = *rowid;
            // A row that breaks a rule of the clean store (a second open
            // patrol, say) is left out rather than failing all.
            if insert.execute(rusqlite::params_from_iter(values.iter())).unwrap_or(0) > 0 {
                copied += 1;
            }
        }
        if !failed {
            if batch.is_empty() {
                break;
            }
            continue;
        }
        whole = false;
        skips += 1;
        if skips > MAX_SKIPS || after == i64::MAX {
            break;
        }
        // Seek past the unreadable stretch, further each time.
        after = if after == i64::MIN {
            0
        } else {
            after.saturating_add(jump)
        };
        jump = jump.saturating_mul(4);
    }
    Ok((copied, whole))
}

/// The rows read before anything failed, and whether something did.
fn read_batch(src: &Connection, sql: &str, after: i64, width: usize) -> (Vec<(i64, Vec<Value>)>, bool) {
    let mut out = Vec::new();
    let Ok(mut stmt) = src.prepare_cached(sql) else {
        return (out, true);
    };
    let Ok(mut rows) = stmt.query([after]) else {
        return (out, true);
    };
    loop {
        match rows.next() {
            Ok(Some(row)) => {
                let read = row.get::<_, i64>(0).and_then(|rowid| {
                    let values = (1..=width)
                        .map(|i| row.get::<_, Value>(i))
                        .collect::<rusqlite::Result<Vec<_>>>()?;
                    Ok((rowid, values))
                });
                match read {
                    Ok(r) => out.push(r),
                    Err(_) => return (out, true),
                }
            }
            Ok(None) => return (out, false),
            Err(_) => return (out, true),
        }
    }
}
