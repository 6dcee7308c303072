//! The encrypted SQLite store: one file per handset, SQLCipher with a raw
//! 32-byte key from the platform keystore, one writer connection and a small
//! pool of readers.
//!
//! Every write runs inside [`Store::write`], which commits before it returns:
//! that is what "durable before acknowledged" means in code. Code that must
//! run inside a transaction takes `&Transaction`, never `&Connection`.
//!
//! The schema is made here in one place (`schema`), but each table has one
//! owner that alone writes it: `outbox` and `audit` here; the patrol,
//! referral and library tables in those modules; `sync_state` in sync.
//! Wipe and sign-out ask each owner to [`Purge`] its own.

pub mod audit;
pub mod cipher;
mod key;
pub mod keycheck;
pub mod outbox;
mod recover;
pub mod schema;

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use rusqlite::{Connection, ErrorCode, OpenFlags, Transaction, TransactionBehavior};

pub use key::{DbKey, KeyError};
pub use recover::{Salvage, recover, remove_damaged_copies};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLCipher cannot read the file with this key. The key-check value
    /// beside the file says it is not the key the store was made with (or
    /// there is none yet, and a damaged file cannot be told from it).
    #[error("the database cannot be opened with this key")]
    WrongKey,
    #[error("the database file is not encrypted; refusing to use it")]
    NotEncrypted,
    #[error(
        "the database was written by a newer version of the app (schema {found}, this build knows up to {supported})"
    )]
    TooNew { found: i64, supported: i64 },
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("cannot read the database file: {0}")]
    Io(#[from] std::io::Error),
    #[error("database error: {0}")]
    Sqlite(rusqlite::Error),
    /// The file is damaged (the key is right): [`recover`] saves what can
    /// be read and starts a clean store.
    #[error("stored data is damaged: {0}")]
    Corrupt(String),
    /// The phone's storage is full: nothing was written, nothing stored
    /// before is harmed, and the same call succeeds once space is freed.
    #[error("the phone's storage is full")]
    Full,
    /// Recovery was asked for while the store is open in this process.
    #[error("the store is open; close it before recovering it")]
    InUse,
    /// A row the core made cannot be queued: the record fails the rules the
    /// force's server applies, or it does not serialise. A bug in the core,
    /// never damage: nothing was written and the file is sound, so this
    /// must not lead a shell to its recovery screen.
    #[error("the app could not queue this record (a fault in the app, not the phone's storage): {0}")]
    Unsendable(String),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(ErrorCode::DiskFull) => StoreError::Full,
            // Past the open, the key is known to be right: a page that fails
            // its HMAC or its b-tree checks is damage.
            Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => StoreError::Corrupt(e.to_string()),
            _ => StoreError::Sqlite(e),
        }
    }
}

/// What a purge removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purge {
    /// The signed-in officer's own data, when they sign out of a shared
    /// handset: their patrols, track, records, referrals, drafts, library
    /// settings. What the force sent for everyone (areas, boundaries, the
    /// library) stays.
    Officer,
    /// Everything, on the force's wipe command (a lost or stolen handset).
    Everything,
}

/// How many idle reader connections we keep. Reads are short (a status, a
/// report); more readers than this would only hold memory on the phone.
const MAX_IDLE_READERS: usize = 2;

pub struct Store {
    path: PathBuf,
    key: DbKey,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
    /// A purge whose log could not be emptied yet (a reader held a
    /// snapshot): the next write tries again.
    purge_pending: std::sync::atomic::AtomicBool,
}

/// The stores open in this process, by path, so that recovery never moves
/// a file under a live connection.
static OPEN: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn open_key(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

pub(crate) fn is_open(path: &Path) -> bool {
    let key = open_key(path);
    lock(&OPEN).contains(&key)
}

impl Drop for Store {
    fn drop(&mut self) {
        let key = open_key(&self.path);
        let mut open = lock(&OPEN);
        if let Some(i) = open.iter().position(|p| *p == key) {
            open.swap_remove(i);
        }
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens (creating if absent) the encrypted database at `path`, then
    /// brings its schema up to date. A wrong key fails before anything is
    /// written, so the file is left exactly as it was.
    pub fn open(path: impl AsRef<Path>, key: DbKey) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        recover::finish_interrupted(&path)?;
        refuse_plaintext(&path)?;
        let mut writer = open_connection(&path, &key)?;
        schema::migrate(&mut writer)?;
        // A checkpoint cut short by power loss leaves torn pages in the main
        // file that only the log still covers. Reads are right either way,
        // but the file alone is not whole (SQLCipher's page check, a backup
        // of the file without its log); finishing the checkpoint now makes
        // it whole again. After a clean close the log is empty: no cost. On
        // a full disk it may fail: the store still opens and reads.
        if let Err(e) = writer.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())) {
            tracing::warn!(error = %e, "the checkpoint at open did not finish");
        }
        if let Err(e) = keycheck::ensure(&path, &key) {
            // Only the wrong-key/damage distinction is lost; the store works.
            tracing::warn!(error = %e, "the key-check value could not be written");
        }
        lock(&OPEN).push(open_key(&path));
        Ok(Self {
            path,
            key,
            writer: Mutex::new(writer),
            readers: Mutex::new(Vec::new()),
            purge_pending: std::sync::atomic::AtomicBool::new(false),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` in an immediate transaction on the writer and commits. If `f`
    /// fails, nothing it did is kept.
    pub fn write<T, E>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let mut conn = lock(&self.writer);
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(StoreError::from)?;
        let out = f(&tx)?;
        tx.commit().map_err(StoreError::from)?;
        if self.purge_pending.load(std::sync::atomic::Ordering::Relaxed) {
            self.empty_log(&conn);
        }
        Ok(out)
    }

    /// Runs `f` against a consistent snapshot on a reader connection, so a
    /// long read never waits for the writer (WAL).
    pub fn read<T, E>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let pooled = lock(&self.readers).pop();
        let mut conn = match pooled {
            Some(c) => c,
            None => open_reader(&self.path, &self.key)?,
        };
        let out = {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Deferred)
                .map_err(StoreError::from)?;
            // Dropping the transaction rolls it back: a read commits nothing.
            f(&tx)
        };
        let mut idle = lock(&self.readers);
        if idle.len() < MAX_IDLE_READERS {
            idle.push(conn);
        }
        out
    }

    /// Rebuilds the file so deleted data leaves no pages behind (after a
    /// wipe or a purge).
    pub fn vacuum(&self) -> Result<(), StoreError> {
        let conn = lock(&self.writer);
        conn.execute_batch("VACUUM;")?;
        self.empty_log(&conn);
        Ok(())
    }

    /// Forces the write-ahead log into the main file. Used before the app is
    /// backgrounded and by tests that inspect the file's bytes.
    pub fn checkpoint(&self) -> Result<(), StoreError> {
        let conn = lock(&self.writer);
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }

    /// After a purge: the write-ahead log still holds earlier images of the
    /// pages the purge rewrote (a referral's name, say), and any of its
    /// prefixes opens as an earlier state of the database. Checkpointing
    /// with TRUNCATE copies the current pages home (`secure_delete` has
    /// zeroed the purged cells in them) and empties the log. The purge is
    /// already committed, so this never fails the caller: if a reader holds
    /// a snapshot (or the disk refuses), the next write tries again, and so
    /// does the next open.
    pub fn forget_purged(&self) {
        let conn = lock(&self.writer);
        self.purge_pending.store(true, std::sync::atomic::Ordering::Relaxed);
        self.empty_log(&conn);
    }

    /// Tries briefly to empty the log (the writer's lock held). Waits at
    /// most ~0.1 s for readers, so fix recording is never held up long.
    fn empty_log(&self, conn: &Connection) {
        let emptied = (|| {
            conn.execute_batch("PRAGMA busy_timeout = 20;")?;
            let mut busy = 1;
            for attempt in 0..4u64 {
                busy = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get::<_, i64>(0))?;
                if busy == 0 {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(5 * (attempt + 1)));
            }
            conn.execute_batch("PRAGMA busy_timeout = 5000;")?;
            Ok::<_, rusqlite::Error>(busy == 0)
        })();
        match emptied {
            Ok(true) => self.purge_pending.store(false, std::sync::atomic::Ordering::Relaxed),
            Ok(false) => {
                self.purge_pending.store(true, std::sync::atomic::Ordering::Relaxed);
                tracing::info!("the log could not be emptied yet; the next write tries again");
            }
            Err(e) => {
                let _ = conn.execute_batch("PRAGMA busy_timeout = 5000;");
                self.purge_pending.store(true, std::sync::atomic::Ordering::Relaxed);
                tracing::warn!(error = %e, "the log could not be emptied");
            }
        }
    }
}

/// A poisoned lock only means another thread panicked while holding it; the
/// SQLite connection inside is still consistent (its transaction rolled back
/// when the guard dropped), so we keep going rather than brick the app.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A plaintext SQLite file starts with this header; an encrypted one starts
/// with random salt.
const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

fn refuse_plaintext(path: &Path) -> Result<(), StoreError> {
    let mut header = [0u8; 16];
    match File::open(path) {
        Ok(mut f) => match f.read_exact(&mut header) {
            Ok(()) if &header == SQLITE_HEADER => Err(StoreError::NotEncrypted),
            // Shorter than a header: empty or truncated; SQLCipher decides.
            _ => Ok(()),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(StoreError::Io(e)),
    }
}

/// A reader connection. Readers serve the library's searches: every page
/// read from the file is decrypted and authenticated, so a search that fits
/// in an 8 MB cache is a third faster. The writer keeps SQLite's 2 MB: a
/// shift's ingestion gains nothing from more, and it would hold the memory.
fn open_reader(path: &Path, key: &DbKey) -> Result<Connection, StoreError> {
    let conn = open_connection(path, key)?;
    conn.execute_batch("PRAGMA cache_size = -8000;")?;
    Ok(conn)
}

/// Opens one keyed connection and sets the pragmas every connection needs.
fn open_connection(path: &Path, key: &DbKey) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    let conn = Connection::open_with_flags(path, flags)?;
    // SQLCipher would otherwise print its own diagnostics (e.g. on a wrong
    // key) to stderr, i.e. the platform log; our typed errors say enough.
    conn.execute_batch("PRAGMA cipher_log_level = NONE;")?;
    key.apply(&conn)?;
    // The first read decrypts page 1. With a wrong key it fails here, before
    // any pragma below could write to the file (WAL mode writes the header).
    if let Err(e) = conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get::<_, i64>(0)) {
        return Err(match e.sqlite_error_code() {
            Some(ErrorCode::NotADatabase) => match keycheck::verdict(path, key) {
                keycheck::Verdict::Matches => {
                    StoreError::Corrupt(format!("the file cannot be read with its own key: {e}"))
                }
                keycheck::Verdict::Differs | keycheck::Verdict::Unknown => StoreError::WrongKey,
            },
            _ => StoreError::from(e),
        });
    }
    apply_pragmas(&conn)?;
    Ok(conn)
}

/// Pragmas, chosen once:
/// - `journal_mode=WAL`: readers never block the writer, and a commit is one
///   append to the log instead of a rewrite of pages.
/// - `synchronous=FULL`: a commit is on flash before the call returns, so an
///   acknowledged fix or check-in survives even a power cut (a phone's
///   battery can die mid-patrol). In WAL this is one fsync per commit; batch
///   ingestion amortises it.
/// - `foreign_keys=ON`: the schema's references are enforced, not decorative.
/// - `temp_store=2` (memory): Android has no usable temp directory for SQLite
///   (SQLITE_IOERR_GETTEMPPATH), and temp data here is small.
/// - `busy_timeout`: a reader checkpointing at the same moment as the writer
///   waits briefly instead of failing.
/// - `journal_size_limit`: the WAL file is truncated back to 4 MiB after a
///   checkpoint so a week of offline fixes does not leave a huge file.
/// - `secure_delete`: deleted content is overwritten, so a purged referral
///   leaves no readable remnant in free pages.
fn apply_pragmas(conn: &Connection) -> Result<(), StoreError> {
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Corrupt(format!("journal mode stayed {mode}")));
    }
    conn.execute_batch(
        "PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = ON;
         PRAGMA temp_store = 2;
         PRAGMA busy_timeout = 5000;
         PRAGMA journal_size_limit = 4194304;
         PRAGMA secure_delete = ON;",
    )?;
    Ok(())
}

#[cfg(test)]
mod tests;
