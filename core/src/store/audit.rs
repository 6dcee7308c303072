//! The handset's audit trail (`audit`): what was done to the officer's data
//! that a supervisor may need to know happened, e.g. a forced sign-out that
//! discarded unsynced records. Never personal data.

use rusqlite::{Transaction, params};

use super::{Purge, StoreError};

pub fn record(tx: &Transaction<'_>, now_ms: i64, event: &str, detail: &str) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO audit (time_ms, event, detail) VALUES (?1, ?2, ?3)",
        params![now_ms, event, detail],
    )?;
    Ok(())
}

/// The trail outlives a sign-out (it is how a forced one is known) but not
/// the force's wipe.
pub fn purge(tx: &Transaction<'_>, scope: Purge) -> Result<(), StoreError> {
    if scope == Purge::Everything {
        tx.execute("DELETE FROM audit", [])?;
    }
    Ok(())
}
