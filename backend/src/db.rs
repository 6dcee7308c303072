//! The backend's SQLite file: schema as const SQL with a version, pragmas
//! chosen once, and the small `meta` table of versions and the token key.
//!
//! Plain SQLite: the workspace's rusqlite is built with SQLCipher, and a
//! SQLCipher database opened without a key is an ordinary SQLite file. The
//! force's server disk encryption is its own business.

use std::path::Path;

use rusqlite::{Connection, OpenFlags, OptionalExtension, Transaction, params};

use crate::error::BackendError;

pub const VERSION: i64 = 1;

/// Every table the backend owns. `areas` keeps every area ever loaded
/// (`active` = in the current set) so that an old patrol can still be judged
/// against the polygon it was patrolled in after the set changes.
const SCHEMA: &str = "
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
CREATE TABLE area_sets (
    version   INTEGER PRIMARY KEY,
    geojson   TEXT NOT NULL,
    loaded_ms INTEGER NOT NULL
);
CREATE TABLE areas (
    area_id  TEXT PRIMARY KEY,
    name     TEXT NOT NULL,
    lpa      TEXT NOT NULL,
    geometry TEXT NOT NULL,
    windows  TEXT NOT NULL,
    active   INTEGER NOT NULL
);
CREATE TABLE officers (
    officer_id   TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    rank         TEXT NOT NULL
);
CREATE TABLE schedules (
    date       TEXT PRIMARY KEY,
    seed       INTEGER NOT NULL,
    fraction   REAL NOT NULL,
    chosen     TEXT NOT NULL,
    not_chosen TEXT NOT NULL,
    created_ms INTEGER NOT NULL
);
CREATE TABLE assignments (
    assignment_id TEXT PRIMARY KEY,
    date          TEXT NOT NULL REFERENCES schedules(date),
    area_id       TEXT NOT NULL,
    officer_id    TEXT NOT NULL,
    start_ms      INTEGER NOT NULL,
    end_ms        INTEGER NOT NULL
);
CREATE INDEX assignments_officer ON assignments (officer_id, start_ms);
CREATE TABLE records (
    record_id   TEXT PRIMARY KEY,
    officer_id  TEXT NOT NULL,
    patrol_id   TEXT NOT NULL,
    kind        TEXT NOT NULL,
    body        TEXT NOT NULL,
    received_ms INTEGER NOT NULL
);
CREATE TABLE patrols (
    patrol_id          TEXT PRIMARY KEY,
    officer_id         TEXT NOT NULL,
    area_id            TEXT NOT NULL,
    claimed_rank       TEXT NOT NULL,
    assignment_id      TEXT,
    checkin_record_id  TEXT NOT NULL,
    checkin_time_ms    INTEGER NOT NULL,
    checkout_record_id TEXT,
    checkout_time_ms   INTEGER
);
CREATE INDEX patrols_officer ON patrols (officer_id, checkin_time_ms);
CREATE TABLE chunks (
    chunk_id    TEXT PRIMARY KEY,
    officer_id  TEXT NOT NULL,
    patrol_id   TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    fixes       INTEGER NOT NULL,
    bytes       INTEGER NOT NULL,
    received_ms INTEGER NOT NULL
);
CREATE TABLE fixes (
    patrol_id  TEXT NOT NULL,
    chunk_id   TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    idx        INTEGER NOT NULL,
    time_ms    INTEGER NOT NULL,
    mono_ns    INTEGER NOT NULL,
    lat        REAL NOT NULL,
    lon        REAL NOT NULL,
    accuracy_m REAL NOT NULL,
    verdict    TEXT NOT NULL,
    PRIMARY KEY (chunk_id, idx)
) WITHOUT ROWID;
CREATE INDEX fixes_patrol ON fixes (patrol_id, seq, idx);
CREATE TABLE commands (
    command_id TEXT PRIMARY KEY,
    officer_id TEXT NOT NULL,
    kind       TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    acked_ms   INTEGER
);
CREATE INDEX commands_officer ON commands (officer_id, created_ms);
";

pub const KEY_SECRET: &str = "token_secret";
pub const KEY_AREAS_VERSION: &str = "areas_version";
pub const KEY_ASSIGN_VERSION: &str = "assignments_version";
pub const KEY_REPLAYS: &str = "replays";

pub fn open(path: &Path) -> Result<Connection, BackendError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let mut conn = Connection::open_with_flags(path, flags)?;
    apply_pragmas(&conn)?;
    migrate(&mut conn)?;
    Ok(conn)
}

/// - `journal_mode=WAL`: an upload commit is one append to the log.
/// - `synchronous=FULL`: an upload is on disk before it is acknowledged; the
///   handset deletes its copy on our ack, so a lost ack-ed row is lost data.
/// - `foreign_keys=ON`: references are enforced, not decorative.
/// - `busy_timeout`: the CLI may write while a server holds the file.
fn apply_pragmas(conn: &Connection) -> Result<(), BackendError> {
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(BackendError::Corrupt(format!("journal mode stayed {mode}")));
    }
    conn.execute_batch(
        "PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = ON;
         PRAGMA busy_timeout = 5000;",
    )?;
    Ok(())
}

fn migrate(conn: &mut Connection) -> Result<(), BackendError> {
    // IMMEDIATE: two processes opening a new file at once must not both
    // create the schema (or both make a token key).
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    match version {
        0 => {
            tx.execute_batch(SCHEMA)?;
            tx.pragma_update(None, "user_version", VERSION)?;
        }
        VERSION => {}
        v => {
            return Err(BackendError::Corrupt(format!(
                "database schema version {v} is newer than this backend ({VERSION})"
            )));
        }
    }
    tx.commit()?;
    Ok(())
}

pub fn meta_blob(tx: &Transaction<'_>, key: &str) -> Result<Option<Vec<u8>>, BackendError> {
    Ok(tx
        .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()?)
}

pub fn set_meta_blob(tx: &Transaction<'_>, key: &str, value: &[u8]) -> Result<(), BackendError> {
    tx.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}

/// Creates a module's own tables on first open, versioned by a `meta`
/// counter beside the backend's schema; refuses a newer version.
pub fn ensure_module_schema(
    tx: &Transaction<'_>,
    key: &str,
    version: i64,
    sql: &str,
    module: &str,
) -> Result<(), BackendError> {
    match counter(tx, key)? {
        0 => {
            tx.execute_batch(sql)?;
            set_meta_blob(tx, key, &version.to_le_bytes())
        }
        v if v == version => Ok(()),
        v => Err(BackendError::Corrupt(format!(
            "{module} schema version {v} is newer than this backend ({version})"
        ))),
    }
}

pub fn counter(tx: &Transaction<'_>, key: &str) -> Result<i64, BackendError> {
    match meta_blob(tx, key)? {
        None => Ok(0),
        Some(b) => {
            let arr: [u8; 8] = b
                .as_slice()
                .try_into()
                .map_err(|_| BackendError::Corrupt(format!("meta {key} is not a counter")))?;
            Ok(i64::from_le_bytes(arr))
        }
    }
}

pub fn bump(tx: &Transaction<'_>, key: &str) -> Result<i64, BackendError> {
    let next = counter(tx, key)? + 1;
    set_meta_blob(tx, key, &next.to_le_bytes())?;
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reopening_keeps_the_schema_and_a_newer_one_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("b.db");
        drop(open(&path).expect("create"));
        drop(open(&path).expect("reopen"));
        let conn = Connection::open(&path).expect("raw");
        conn.pragma_update(None, "user_version", VERSION + 1).expect("bump");
        drop(conn);
        assert!(matches!(open(&path), Err(BackendError::Corrupt(_))));
    }

    #[test]
    fn counters_start_at_zero_and_bump() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut conn = open(&dir.path().join("b.db")).expect("open");
        let tx = conn.transaction().expect("tx");
        assert_eq!(counter(&tx, KEY_REPLAYS).expect("read"), 0);
        assert_eq!(bump(&tx, KEY_REPLAYS).expect("bump"), 1);
        assert_eq!(bump(&tx, KEY_REPLAYS).expect("bump"), 2);
    }
}
