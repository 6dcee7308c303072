//! The backend's schema and its versions, on either store: the SQLite file
//! (pragmas chosen once) or a PostgreSQL database; the small `meta` table
//! (the token key, each module's schema version) and the `counters` table
//! (versions a handset's cursor counts, replays).
//!
//! Plain SQLite: the workspace's rusqlite is built with SQLCipher, and a
//! SQLCipher database opened without a key is an ordinary SQLite file. The
//! force's server disk encryption is its own business.

use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use crate::error::BackendError;
use crate::sql::{Dialect, Tx, p};

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
/// The counters version 1 kept as 8-byte blobs in `meta`.
const V1_COUNTERS: [&str; 4] = [KEY_AREAS_VERSION, KEY_ASSIGN_VERSION, KEY_REPLAYS, "boundaries_version"];

/// Version 2: a counter bumped by one `INSERT … ON CONFLICT DO UPDATE`, so
/// concurrent writers on PostgreSQL never lose a bump (a read then a write
/// of `meta` could).
const COUNTERS: &str = "
CREATE TABLE counters (
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
";

/// Taken by every PostgreSQL instance while it creates or migrates the
/// schema: two starting at once must not both create it (or two token keys).
pub(crate) const LOCK_SCHEMA: i64 = 0x6775_6172_6469_616e;

pub fn open(path: &Path) -> Result<Connection, BackendError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    apply_pragmas(&conn)?;
    Ok(conn)
}

/// - `journal_mode=WAL`: an upload commit is one append to the log.
/// - `synchronous=FULL`: an upload is on disk before it is acknowledged; the
///   handset deletes its copy on our ack, so a lost ack-ed row is lost data.
/// - `foreign_keys=ON`: references are enforced, not decorative.
/// - `busy_timeout`: the CLI may write while a server holds the file.
/// - `temp_store=FILE`: the SQLCipher build keeps temporary tables and sort
///   spills in memory (right on a phone, where they would otherwise land
///   unencrypted on disk); on the server a sort over every stored fix (the
///   duplicate count in the stats) took it past 2 GB after a reconnect
///   storm. Spills go to a temporary file instead.
fn apply_pragmas(conn: &Connection) -> Result<(), BackendError> {
    // First: switching a new file to WAL takes its lock, and two processes
    // (or instances) opening it at once must wait for each other, not fail
    // "database is locked" (found by the instances test).
    conn.busy_timeout(BUSY_WAIT)?;
    let mode = journal_mode_wal(conn)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(BackendError::Corrupt(format!("journal mode stayed {mode}")));
    }
    // secure_delete: what retention or the DPO erases (fixes, a referral's
    // sealed body) is overwritten in the file, not left in a free page.
    conn.execute_batch(
        "PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = ON;
         PRAGMA temp_store = FILE;
         PRAGMA secure_delete = ON;",
    )?;
    Ok(())
}

const BUSY_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Switching a new file to WAL upgrades a shared lock to a write lock, and
/// SQLite answers BUSY at once, without waiting, to the second of two
/// connections doing so together (waiting could deadlock them). Instances
/// starting together on one new file therefore retry it until the first has
/// switched it (seen as "database is locked" in CI, 1 run in several).
fn journal_mode_wal(conn: &Connection) -> Result<String, BackendError> {
    let deadline = std::time::Instant::now() + BUSY_WAIT;
    loop {
        match conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0)) {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            other => return Ok(other?),
        }
    }
}

/// The backend's own tables: version 1 [`SCHEMA`], version 2 added the
/// counters table and moved the counters into it.
pub(crate) const TABLES: Schema = Schema {
    name: "backend",
    stored: Stored::Header,
    first: &[SCHEMA],
    fresh: &[SCHEMA, COUNTERS],
    upgrades: &[counters_out_of_meta],
};

/// Version 1 → 2.
fn counters_out_of_meta(tx: &Tx<'_>) -> Result<(), BackendError> {
    tx.execute_batch(COUNTERS)?;
    for key in V1_COUNTERS {
        let value = meta_counter(tx, key)?;
        if value != 0 {
            tx.execute("INSERT INTO counters (key, value) VALUES (?1, ?2)", p![key, value])?;
        }
        tx.execute("DELETE FROM meta WHERE key = ?1", p![key])?;
    }
    Ok(())
}

/// One set of tables and its history: what a new database gets, and the
/// steps that bring an older one forward. The backend's tables are one; each
/// module that owns tables declares its own (the modules version
/// independently, so adding a column to one touches no other).
///
/// Rules for changing one: never edit `first` or an upgrade that has
/// shipped; add an upgrade and change `fresh` to match. A test builds every
/// earlier version from `first` and the upgrades before it, upgrades it, and
/// checks it equals a fresh database table by table, column by column and
/// index by index, on both stores.
///
/// Hand-rolled rather than a migration crate: the ones kept up
/// (rusqlite_migration, refinery) each own their connection and their
/// transaction, and none runs one list on both engines inside our `Tx`, the
/// opening transaction that also holds [`LOCK_SCHEMA`] and makes the token
/// key. What is here is a version read, a loop and a version write.
pub(crate) struct Schema {
    /// Named in errors.
    pub name: &'static str,
    pub stored: Stored,
    /// The first version that shipped, verbatim: only the upgrade test
    /// reads it (its start).
    #[cfg_attr(not(test), allow(dead_code))]
    pub first: &'static [&'static str],
    /// The current version, made in one go on a new database.
    pub fresh: &'static [&'static str],
    /// `upgrades[i]` takes version `i + 1` to `i + 2`: a function, so a
    /// step can move data as well as shape (`|tx| Ok(tx.execute_batch(…)?)`
    /// for one that only alters).
    pub upgrades: &'static [Upgrade],
}

/// Where a schema's version is kept.
pub(crate) enum Stored {
    /// The backend's own: SQLite's `user_version` (as version 1 did), a
    /// one-row table on PostgreSQL.
    Header,
    /// A module's: an 8-byte counter in `meta` under this key.
    Meta(&'static str),
}

pub(crate) type Upgrade = fn(&Tx<'_>) -> Result<(), BackendError>;

impl Schema {
    /// The version this backend writes.
    pub fn version(&self) -> i64 {
        i64::try_from(self.upgrades.len()).unwrap_or(i64::MAX - 1) + 1
    }

    /// Brings these tables to [`Schema::version`] inside the opening
    /// transaction (IMMEDIATE on SQLite, under [`LOCK_SCHEMA`] on
    /// PostgreSQL: two instances starting at once must not both create
    /// them); refuses a database a newer backend wrote.
    pub(crate) fn bring_up(&self, tx: &Tx<'_>) -> Result<(), BackendError> {
        tx.serialise(LOCK_SCHEMA)?;
        let supported = self.version();
        let found = self.stored_version(tx)?;
        if found > supported {
            return Err(BackendError::Corrupt(format!(
                "the {} tables are at version {found}, newer than this backend's {supported}: \
                 run the guardian-backend that wrote them, or a later one",
                self.name
            )));
        }
        if found == supported {
            return Ok(());
        }
        if found == 0 {
            for sql in self.fresh {
                tx.execute_batch(sql)?;
            }
        } else {
            for step in self.steps_from(found) {
                step(tx)?;
            }
        }
        self.set_stored_version(tx, supported)
    }

    /// The upgrades a database at `version` (1 or later) still needs.
    fn steps_from(&self, version: i64) -> &[Upgrade] {
        let done = usize::try_from(version - 1).unwrap_or(0);
        self.upgrades.get(done..).unwrap_or(&[])
    }

    fn stored_version(&self, tx: &Tx<'_>) -> Result<i64, BackendError> {
        match self.stored {
            Stored::Header => header_version(tx),
            Stored::Meta(key) => meta_counter(tx, key),
        }
    }

    fn set_stored_version(&self, tx: &Tx<'_>, version: i64) -> Result<(), BackendError> {
        match self.stored {
            Stored::Header => set_header_version(tx, version),
            Stored::Meta(key) => set_meta_blob(tx, key, &version.to_le_bytes()),
        }
    }
}

const PG_VERSION_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)";

/// SQLite keeps the version in the file header (`user_version`, as version
/// 1 did); PostgreSQL in a one-row table of its own.
pub(crate) fn header_version(tx: &Tx<'_>) -> Result<i64, BackendError> {
    Ok(match tx.dialect() {
        Dialect::Sqlite => tx.query_one("PRAGMA user_version", p![], |r| r.get(0))?,
        Dialect::Postgres => {
            tx.execute_batch(PG_VERSION_TABLE)?;
            tx.query_one("SELECT coalesce(max(version), 0) FROM schema_version", p![], |r| {
                r.get(0)
            })?
        }
    })
}

pub(crate) fn set_header_version(tx: &Tx<'_>, version: i64) -> Result<(), BackendError> {
    match tx.dialect() {
        // A pragma takes no parameters; the version is our own constant.
        Dialect::Sqlite => tx.execute_batch(&format!("PRAGMA user_version = {version}"))?,
        Dialect::Postgres => {
            tx.execute_batch(PG_VERSION_TABLE)?;
            tx.execute("DELETE FROM schema_version", p![])?;
            tx.execute("INSERT INTO schema_version (version) VALUES (?1)", p![version])?;
        }
    }
    Ok(())
}

pub fn meta_blob(tx: &Tx<'_>, key: &str) -> Result<Option<Vec<u8>>, BackendError> {
    Ok(tx.query_opt("SELECT value FROM meta WHERE key = ?1", p![key], |r| r.get(0))?)
}

pub fn set_meta_blob(tx: &Tx<'_>, key: &str, value: &[u8]) -> Result<(), BackendError> {
    tx.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        p![key, value],
    )?;
    Ok(())
}

/// Removes a `meta` key; whether it was there.
pub fn delete_meta(tx: &Tx<'_>, key: &str) -> Result<bool, BackendError> {
    Ok(tx.execute("DELETE FROM meta WHERE key = ?1", p![key])? > 0)
}

/// An 8-byte little-endian number in `meta` (a module's schema version).
pub(crate) fn meta_counter(tx: &Tx<'_>, key: &str) -> Result<i64, BackendError> {
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

pub fn counter(tx: &Tx<'_>, key: &str) -> Result<i64, BackendError> {
    Ok(tx
        .query_opt("SELECT value FROM counters WHERE key = ?1", p![key], |r| r.get(0))?
        .unwrap_or(0))
}

/// One more, in one statement: the row's lock orders concurrent bumps and
/// holds until commit, so versions are handed out in commit order.
pub fn bump(tx: &Tx<'_>, key: &str) -> Result<i64, BackendError> {
    Ok(tx.query_one(
        "INSERT INTO counters (key, value) VALUES (?1, 1)
         ON CONFLICT (key) DO UPDATE SET value = counters.value + 1
         RETURNING value",
        p![key],
        |r| r.get(0),
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn migrated(path: &Path) -> Result<Connection, BackendError> {
        let mut conn = open(path)?;
        let t = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        TABLES.bring_up(&Tx::sqlite(&t))?;
        t.commit()?;
        Ok(conn)
    }

    #[test]
    fn reopening_keeps_the_schema_and_a_newer_one_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("b.db");
        drop(migrated(&path).expect("create"));
        drop(migrated(&path).expect("reopen"));
        let conn = Connection::open(&path).expect("raw");
        conn.pragma_update(None, "user_version", TABLES.version() + 1)
            .expect("bump");
        drop(conn);
        assert!(matches!(migrated(&path), Err(BackendError::Corrupt(_))));
    }

    #[test]
    fn counters_start_at_zero_and_bump() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut conn = migrated(&dir.path().join("b.db")).expect("open");
        let t = conn.transaction().expect("tx");
        let tx = Tx::sqlite(&t);
        assert_eq!(counter(&tx, KEY_REPLAYS).expect("read"), 0);
        assert_eq!(bump(&tx, KEY_REPLAYS).expect("bump"), 1);
        assert_eq!(bump(&tx, KEY_REPLAYS).expect("bump"), 2);
    }

    #[test]
    fn a_version_1_file_keeps_its_counters_in_the_new_table() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("b.db");
        {
            // Version 1 exactly as it was written: the tables, the counters
            // as 8-byte blobs in meta, user_version 1.
            let conn = open(&path).expect("raw");
            conn.execute_batch(SCHEMA).expect("v1 schema");
            for (key, v) in [(KEY_AREAS_VERSION, 3_i64), (KEY_REPLAYS, 41), (KEY_SECRET, -1)] {
                conn.execute(
                    "INSERT INTO meta (key, value) VALUES (?1, ?2)",
                    rusqlite::params![key, v.to_le_bytes().to_vec()],
                )
                .expect("meta");
            }
            conn.pragma_update(None, "user_version", 1).expect("v1");
        }
        let mut conn = migrated(&path).expect("migrate");
        let t = conn.transaction().expect("tx");
        let tx = Tx::sqlite(&t);
        assert_eq!(header_version(&tx).expect("version"), TABLES.version());
        assert_eq!(counter(&tx, KEY_AREAS_VERSION).expect("areas"), 3);
        assert_eq!(counter(&tx, KEY_REPLAYS).expect("replays"), 41);
        assert_eq!(counter(&tx, KEY_ASSIGN_VERSION).expect("assign"), 0);
        assert_eq!(bump(&tx, KEY_AREAS_VERSION).expect("bump"), 4);
        // Only the counters moved: the token key is where it was.
        assert!(meta_blob(&tx, KEY_SECRET).expect("secret").is_some());
        assert!(meta_blob(&tx, KEY_REPLAYS).expect("gone").is_none());
    }
}
