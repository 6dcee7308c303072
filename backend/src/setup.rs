//! Opening the force's store: the SQLite file or the PostgreSQL database,
//! the backend's schema, every module's own tables (each module owns and
//! versions its own), and the token key. Above the storage modules, so none
//! of them needs to know the others exist.

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use rand::Rng as _;
use rusqlite::TransactionBehavior;

use crate::backend::{Backend, PgPool, Store};
use crate::db::{self, KEY_SECRET};
use crate::error::BackendError;
use crate::sql::pg::PgManager;
use crate::sql::{DbError, Tx};

/// Connections one instance holds to PostgreSQL at most. Requests beyond
/// it wait for one (the HTTP layer sheds what would wait too long): a
/// server's connection slots are shared by every instance, and a few busy
/// connections outrun many contending ones.
pub const PG_POOL_SIZE: u32 = 16;

impl Backend {
    /// Opens (creating if needed) the backend's SQLite database. The first
    /// open makes the 32-byte token key and stores it in the file.
    pub fn open(db_path: &Path) -> Result<Self, BackendError> {
        let mut conn = db::open(db_path)?;
        let t = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let secret = prepare(&Tx::sqlite(&t))?;
        t.commit()?;
        Ok(Self::new(Store::Sqlite(Mutex::new(conn)), secret))
    }

    /// Opens a PostgreSQL database (`postgres://user@host:port/db`),
    /// creating the schema on first use. Every instance on the same
    /// database shares its token key, so a token one issues all accept.
    pub fn open_postgres(url: &str) -> Result<Self, BackendError> {
        let manager = PgManager::new(url).map_err(|e| BackendError::Invalid(format!("database url: {e}")))?;
        let pool = r2d2::Pool::builder()
            .max_size(PG_POOL_SIZE)
            .min_idle(Some(1))
            .connection_timeout(Duration::from_secs(30))
            .build(manager)
            .map_err(DbError::from)?;
        let store = Store::Postgres(PgPool::new(pool));
        let secret = store.run(true, prepare)?;
        Ok(Self::new(store, secret))
    }

    /// Opens whichever store `url` names: `postgres://` or
    /// `postgresql://` a PostgreSQL database, anything else a file path.
    pub fn open_url(url: &str) -> Result<Self, BackendError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Self::open_postgres(url)
        } else {
            Self::open(Path::new(url))
        }
    }
}

/// Schema and token key, in the opening transaction.
fn prepare(tx: &Tx<'_>) -> Result<Vec<u8>, BackendError> {
    db::migrate(tx)?;
    let secret = match db::meta_blob(tx, KEY_SECRET)? {
        Some(s) if s.len() == 32 => s,
        Some(_) => return Err(BackendError::Corrupt("token key has the wrong length".into())),
        None => {
            let mut s = vec![0u8; 32];
            rand::rng().fill_bytes(&mut s);
            db::set_meta_blob(tx, KEY_SECRET, &s)?;
            s
        }
    };
    crate::library::ensure_schema(tx)?;
    crate::boundaries::ensure_schema(tx)?;
    crate::referral::ensure_schema(tx)?;
    crate::review::ensure_schema(tx)?;
    Ok(secret)
}
