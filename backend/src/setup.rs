//! Opening the force's store: the file, the backend's schema, every
//! module's own tables (each module owns and versions its own), and the
//! token key. Above the storage modules, so none of them needs to know the
//! others exist.

use std::path::Path;

use rand::Rng as _;
use rusqlite::TransactionBehavior;

use crate::backend::Backend;
use crate::db::{self, KEY_SECRET};
use crate::error::BackendError;

impl Backend {
    /// Opens (creating if needed) the backend database. The first open makes
    /// the 32-byte token key and stores it in the file.
    pub fn open(db_path: &Path) -> Result<Self, BackendError> {
        let mut conn = db::open(db_path)?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let secret = match db::meta_blob(&tx, KEY_SECRET)? {
            Some(s) if s.len() == 32 => s,
            Some(_) => return Err(BackendError::Corrupt("token key has the wrong length".into())),
            None => {
                let mut s = vec![0u8; 32];
                rand::rng().fill_bytes(&mut s);
                db::set_meta_blob(&tx, KEY_SECRET, &s)?;
                s
            }
        };
        crate::library::ensure_schema(&tx)?;
        crate::boundaries::ensure_schema(&tx)?;
        crate::referral::ensure_schema(&tx)?;
        crate::review::ensure_schema(&tx)?;
        tx.commit()?;
        Ok(Self::new(conn, secret))
    }
}
