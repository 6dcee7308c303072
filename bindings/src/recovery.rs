//! Recovery of a damaged store, for a shell that got `StoreError.Corrupt`
//! (or a `StorageDamaged` from any call): close the `Guardian`, call
//! [`recover_store`], tell the officer what was kept, open again and sync.

use guardian_core::store::DbKey;

use crate::error::StoreError;
use crate::guardian::GuardianConfig;

/// What a recovery kept.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct RecoveryReport {
    /// Where the damaged file was moved (kept, encrypted, until sign-out or
    /// wipe, for the force's support).
    pub damaged_copy: String,
    /// Records the force has not yet received that were saved; the next
    /// sync sends them.
    pub unsent_records: u64,
    /// Referrals (receipts, and the unsent ones' details) saved.
    pub referrals: u64,
    /// Referral drafts saved.
    pub drafts: u64,
    /// Tables that could not be read whole: something in them was lost.
    pub damaged_tables: Vec<String>,
}

/// Moves the damaged store aside and starts a clean one with what could be
/// read of it. Refuses with `WrongKey` (moving nothing) when the key is not
/// the store's: a wrong key must never cost the officer their data.
#[uniffi::export]
pub fn recover_store(config: GuardianConfig, key: Vec<u8>) -> Result<RecoveryReport, StoreError> {
    let key = DbKey::from_slice(&key).map_err(guardian_core::store::StoreError::from)?;
    let salvage = guardian_core::store::recover(std::path::Path::new(&config.db_path), &key)?;
    let rows = |t: &str| salvage.rows.get(t).copied().unwrap_or(0);
    Ok(RecoveryReport {
        damaged_copy: salvage.damaged_copy.display().to_string(),
        unsent_records: salvage.unsent_records,
        referrals: rows("referrals"),
        drafts: rows("referral_drafts"),
        damaged_tables: salvage.damaged_tables,
    })
}
