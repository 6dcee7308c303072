//! Recovery of a damaged store: keep what can be read of what the officer
//! did and the force has not yet received, move the damaged file aside, and
//! start clean with it, so the next sync sends what was saved.
//!
//! The clean store is built beside the damaged one (`<db>.recovering`) and
//! only swapped in once it is complete and on disk, under a marker file
//! (`<db>.recovering-swap`) that makes the swap resumable: whatever stops a
//! recovery (a full disk, a kill, a power cut), the officer's data is in the
//! original file or in the finished copy, never only in a half-built one.
//! Opening the store finishes an interrupted swap or discards an unfinished
//! build.
//!
//! Rows are copied table by table in rowid order. A damaged page ends a scan;
//! the scan then finds the first rowid past it that can be read (probing
//! further each time, then bisecting back), so one bad page costs the rows
//! on it, not the rest of the table. What the force sends anyway (the
//! library's articles, the sync cursor) is not copied: the next pull brings
//! it again.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rusqlite::config::DbConfig;
use rusqlite::types::Value;
use rusqlite::{Connection, ErrorCode, OpenFlags};

use super::keycheck::{self, Verdict};
use super::{DbKey, Store, StoreError};

/// Tables worth saving, parents first. The outbox and referrals are what
/// the issue is about (unsent work); patrols, fixes and tallies let an open
/// patrol resume; drafts and bookmarks are the officer's own work; the
/// login keeps the officer signed in, so the salvaged outbox goes without
/// asking them again.
pub(super) const SALVAGED: &[&str] = &[
    "officer",
    "login",
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

/// Tables not copied, because the force sends them again on the next pull
/// (the sync cursor starts over, so the whole library and the areas come
/// back). Every table of the schema is in one list or the other: a test
/// holds a new table to that choice.
#[cfg_attr(not(test), allow(dead_code))]
pub(super) const REBUILT: &[&str] = &[
    "sync_state",
    "library_meta",
    "library_topics",
    "library_articles",
    "library_article_topics",
    "library_fts",
];

/// Gives up on a table after this many unreadable stretches.
const MAX_STRETCHES: u32 = 10_000;

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

/// Makes a clean store at `path` with what can be read of the damaged one,
/// which is kept aside. Refuses (`WrongKey`, nothing moved) when the
/// key-check value says this is not the store's key, or when there is none
/// and the file cannot be read with the key at all: a wrong key must never
/// cost the officer their data. Refuses (`InUse`) while the store is open
/// in this process.
pub fn recover(path: &Path, key: &DbKey) -> Result<Salvage, StoreError> {
    finish_interrupted(path)?;
    if super::is_open(path) {
        return Err(StoreError::InUse);
    }
    match keycheck::verdict(path, key) {
        Verdict::Differs => return Err(StoreError::WrongKey),
        Verdict::Matches => {}
        Verdict::Unknown => {
            if !readable_with(path, key) {
                return Err(StoreError::WrongKey);
            }
        }
    }
    let building = with_suffix(path, BUILDING);
    remove_db_files(&building)?;
    let aside = aside_path(path);
    let salvage = match build(path, &building, key, &aside) {
        Ok(s) => s,
        Err(e) => {
            let _ = remove_db_files(&building);
            return Err(e);
        }
    };
    // The clean store is whole and on disk: from here the swap is resumable.
    let name = aside
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    write_durably(&with_suffix(path, SWAP_MARKER), name.as_bytes())?;
    finish_interrupted(path)?;
    tracing::warn!(
        unsent = salvage.unsent_records,
        damaged_tables = salvage.damaged_tables.len(),
        "damaged store recovered"
    );
    Ok(salvage)
}

const BUILDING: &str = ".recovering";
const SWAP_MARKER: &str = ".recovering-swap";

/// Copies what can be read of the store at `path` into a new store at
/// `building`, closed and checkpointed when this returns.
fn build(path: &Path, building: &Path, key: &DbKey, aside: &Path) -> Result<Salvage, StoreError> {
    let mut salvage = Salvage {
        damaged_copy: aside.to_path_buf(),
        ..Salvage::default()
    };
    let source = match open_damaged(path, key) {
        Ok(c) => Some(c),
        Err(e) => {
            tracing::warn!(error = %e, "the damaged store cannot be opened at all");
            None
        }
    };
    let store = Store::open(building, key.clone())?;
    {
        let conn = super::lock(&store.writer);
        // The copy keeps rows whose parents were lost (an outbox row whose
        // patrol sat on a bad page must still be sent), so references are
        // not enforced while it runs.
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
        let finished = copied.and_then(|()| {
            // A failed statement may have ended the transaction already.
            if conn.is_autocommit() {
                return Err(StoreError::Corrupt("the recovery's transaction ended early".into()));
            }
            Ok(conn.execute_batch("COMMIT;")?)
        });
        if let Err(e) = finished {
            let _ = conn.execute_batch("ROLLBACK;");
            return Err(e);
        }
        conn.execute_batch("PRAGMA foreign_keys = ON;")?;
    }
    store.checkpoint()?;
    drop(store);
    if with_suffix(building, "-wal").exists() {
        return Err(StoreError::Corrupt(
            "the recovered store kept a log after closing".into(),
        ));
    }
    Ok(salvage)
}

/// Finishes a recovery's swap that was interrupted (the marker is there:
/// the clean store is complete), or discards a build that never finished
/// (no marker: the original was never touched). Called before every open.
pub(crate) fn finish_interrupted(path: &Path) -> Result<(), StoreError> {
    let marker = with_suffix(path, SWAP_MARKER);
    let building = with_suffix(path, BUILDING);
    match std::fs::read_to_string(&marker) {
        Ok(name) => {
            let aside = path.with_file_name(name.trim());
            if building.exists() {
                // The original's log first, then the file: in this order a
                // cut in between leaves nothing the next attempt misreads.
                let wal = with_suffix(path, "-wal");
                if wal.exists() {
                    std::fs::rename(&wal, with_suffix(&aside, "-wal"))?;
                }
                if path.exists() {
                    std::fs::rename(path, &aside)?;
                }
                std::fs::rename(&building, path)?;
            }
            for stale in [with_suffix(path, "-shm"), with_suffix(&building, "-keycheck")] {
                if stale.exists() {
                    std::fs::remove_file(stale)?;
                }
            }
            sync_dir(path);
            std::fs::remove_file(&marker)?;
            sync_dir(path);
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if building.exists() {
                remove_db_files(&building)?;
            }
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

fn remove_db_files(db: &Path) -> Result<(), StoreError> {
    for f in [
        db.to_path_buf(),
        with_suffix(db, "-wal"),
        with_suffix(db, "-shm"),
        with_suffix(db, "-keycheck"),
    ] {
        match std::fs::remove_file(&f) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

fn write_durably(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    use std::io::Write;
    let mut f = std::fs::File::create(path)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    sync_dir(path);
    Ok(())
}

/// A rename or a new file is durable once its directory is; not every
/// platform lets a directory be opened for that.
fn sync_dir(path: &Path) {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && let Ok(d) = std::fs::File::open(dir)
    {
        let _ = d.sync_all();
    }
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

/// The damaged store, for reading only: it must stay as it was (support may
/// want it), so closing this connection must not checkpoint into it.
fn open_damaged(path: &Path, key: &DbKey) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)?;
    conn.execute_batch("PRAGMA cipher_log_level = NONE;")?;
    key.apply(&conn)?;
    conn.execute_batch("PRAGMA query_only = 1;")?;
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
    let mut insert = dst.prepare(&format!("INSERT OR IGNORE INTO \"{table}\" ({list}) VALUES ({marks})"))?;
    let mut copied = 0u64;
    let mut put = |values: &[Value]| -> Result<(), StoreError> {
        match insert.execute(rusqlite::params_from_iter(values.iter())) {
            Ok(n) => copied += n as u64,
            // A row that breaks a rule of the clean store (a second open
            // patrol, say) is left out; anything else (a full disk) stops
            // the recovery, which then leaves the damaged store as it was.
            Err(e) if e.sqlite_error_code() == Some(ErrorCode::ConstraintViolation) => {}
            Err(e) => return Err(e.into()),
        }
        Ok(())
    };
    let has_rowid = src.prepare(&format!("SELECT rowid FROM \"{table}\" LIMIT 0")).is_ok();
    if !has_rowid {
        // A WITHOUT ROWID table (bookmarks, recent reads: small): one pass,
        // as far as it reads.
        let (rows, failed) = read_rows(src, &format!("SELECT NULL, {list} FROM \"{table}\""), None, cols.len());
        for (_, values) in &rows {
            put(values)?;
        }
        return Ok((copied, !failed));
    }
    let read_sql = format!("SELECT rowid, {list} FROM \"{table}\" WHERE rowid > ?1 ORDER BY rowid LIMIT 256");
    let mut after = i64::MIN;
    let mut whole = true;
    let mut stretches = 0u32;
    loop {
        let (batch, failed) = read_rows(src, &read_sql, Some(after), cols.len());
        for (rowid, values) in &batch {
            after = *rowid;
            put(values)?;
        }
        if !failed {
            if batch.is_empty() {
                break;
            }
            continue;
        }
        whole = false;
        stretches += 1;
        match next_readable(src, &read_sql, after).filter(|_| stretches < MAX_STRETCHES) {
            Some(next) => after = next,
            None => break,
        }
    }
    Ok((copied, whole))
}

/// The smallest `x > after` from which the rows read again (`rowid > x`
/// no longer lands on the damage): probing further each time, then
/// bisecting back, so readable rows just past a bad page are not skipped.
fn next_readable(src: &Connection, sql: &str, after: i64) -> Option<i64> {
    let reads_from = |x: i64| {
        src.prepare_cached(sql)
            .and_then(|mut stmt| stmt.query([x]).and_then(|mut rows| rows.next().map(|_| ())))
            .is_ok()
    };
    let base = if after == i64::MIN { -1 } else { after };
    let (mut lo, mut hi) = (base, None);
    let mut jump = 1i64;
    while jump < 1 << 62 {
        let x = base.checked_add(jump)?;
        if reads_from(x) {
            hi = Some(x);
            break;
        }
        lo = x;
        jump *= 2;
    }
    let mut hi = hi?;
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if reads_from(mid) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Some(hi)
}

/// The rows read before anything failed, and whether something did.
fn read_rows(src: &Connection, sql: &str, after: Option<i64>, width: usize) -> (Vec<(i64, Vec<Value>)>, bool) {
    let mut out = Vec::new();
    let Ok(mut stmt) = src.prepare_cached(sql) else {
        return (out, true);
    };
    let query = match after {
        Some(a) => stmt.query([a]),
        None => stmt.query([]),
    };
    let Ok(mut rows) = query else {
        return (out, true);
    };
    loop {
        match rows.next() {
            Ok(Some(row)) => {
                let read = row.get::<_, Option<i64>>(0).and_then(|rowid| {
                    let values = (1..=width)
                        .map(|i| row.get::<_, Value>(i))
                        .collect::<rusqlite::Result<Vec<_>>>()?;
                    Ok((rowid.unwrap_or(0), values))
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
