//! The `login` table: who signed in on this handset and their refresh
//! token. Owned here. The store is SQLCipher, so the token is encrypted at
//! rest with everything else; the access token is never written down.

use rusqlite::{OptionalExtension, Transaction};

use crate::store::{Purge, StoreError};

type Result<T, E = StoreError> = std::result::Result<T, E>;

#[derive(Clone, PartialEq, Eq)]
pub struct Login {
    pub officer_id: String,
    pub refresh_token: Option<String>,
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Login")
            .field("officer_id", &self.officer_id)
            .field("refresh_token", &self.refresh_token.as_ref().map(|_| ".."))
            .finish()
    }
}

pub fn load(tx: &Transaction<'_>) -> Result<Option<Login>> {
    Ok(tx
        .query_row("SELECT officer_id, refresh_token FROM login", [], |r| {
            Ok(Login {
                officer_id: r.get(0)?,
                refresh_token: r.get(1)?,
            })
        })
        .optional()?)
}

/// A completed sign-in: this officer, this refresh token (or none, if the
/// provider gives none: then the next expiry asks for a sign-in again).
pub fn save(tx: &Transaction<'_>, officer_id: &str, refresh_token: Option<&str>, now_ms: i64) -> Result<()> {
    tx.execute(
        "INSERT INTO login (singleton, officer_id, refresh_token, signed_in_ms) VALUES (1, ?1, ?2, ?3)
         ON CONFLICT(singleton) DO UPDATE SET officer_id = ?1, refresh_token = ?2, signed_in_ms = ?3",
        rusqlite::params![officer_id, refresh_token, now_ms],
    )?;
    Ok(())
}

/// Replaces the token a refresh used by the one it returned, only if the
/// used one is still current: the old one is gone in the same statement
/// that keeps the new. False if another sign-in replaced it meanwhile.
pub fn rotate(tx: &Transaction<'_>, used: &str, next: &str) -> Result<bool> {
    let n = tx.execute(
        "UPDATE login SET refresh_token = ?2 WHERE refresh_token = ?1",
        [used, next],
    )?;
    Ok(n == 1)
}

/// The provider refused the token for good: forget it, keep who it was
/// (only the same officer may sign in again while records wait).
pub fn drop_token(tx: &Transaction<'_>, used: &str) -> Result<()> {
    tx.execute("UPDATE login SET refresh_token = NULL WHERE refresh_token = ?1", [used])?;
    Ok(())
}

/// Sign-out and wipe both end the login.
pub fn purge(tx: &Transaction<'_>, _scope: Purge) -> Result<()> {
    tx.execute("DELETE FROM login", [])?;
    Ok(())
}
