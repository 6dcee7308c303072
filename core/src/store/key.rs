//! The database key: 32 random bytes the shell takes from the platform
//! keystore. Passed to SQLCipher as a raw key, so no PBKDF2 runs on open.

use std::fmt;

use rusqlite::Connection;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("the database key must be exactly 32 bytes, got {0}")]
    WrongLength(usize),
    #[error("the database key is all zeros; the keystore did not give a real key")]
    AllZero,
}

#[derive(Clone)]
pub struct DbKey([u8; 32]);

impl DbKey {
    pub fn from_bytes(bytes: [u8; 32]) -> Result<Self, KeyError> {
        if bytes.iter().all(|b| *b == 0) {
            return Err(KeyError::AllZero);
        }
        Ok(Self(bytes))
    }

    pub fn from_slice(bytes: &[u8]) -> Result<Self, KeyError> {
        let arr: [u8; 32] = bytes.try_into().map_err(|_| KeyError::WrongLength(bytes.len()))?;
        Self::from_bytes(arr)
    }

    pub(super) fn bytes(&self) -> &[u8; 32] {
        &self.0
    }

    pub(super) fn apply(&self, conn: &Connection) -> rusqlite::Result<()> {
        // `x'…'` tells SQLCipher the key is raw key material, not a passphrase.
        let mut hex = String::with_capacity(64);
        for b in self.0 {
            hex.push(char::from(HEX[usize::from(b >> 4)]));
            hex.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
        conn.execute_batch(&format!("PRAGMA key = \"x'{hex}'\";"))
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Never print key material, not even in a debug log.
impl fmt::Debug for DbKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DbKey(<redacted>)")
    }
}
