//! [`Backend`]: the force's store, used by the HTTP handlers and in-process
//! by the CLI, the sim and the tests. The operations on it are split by
//! concern, each module owning its tables: `officers`, `areas`, `schedule`,
//! `records` (check-in/out), `chunks` (the track), `sync` (the reply a
//! handset pulls), `commands`, `stats`, `export`, `referral`, `boundaries`
//! and `library`. They all return [`BackendError`]; only `http` speaks HTTP.
//!
//! One connection behind a mutex: SQLite has one writer anyway, and every
//! operation is one short transaction. Writes take the lock `IMMEDIATE`, so
//! a check ("was this record id seen?") and the write it guards cannot be
//! split by another process on the same file.

use std::sync::{Mutex, MutexGuard};

use guardian_protocol::rules::{MAX_ID_LEN, check_id};
use guardian_protocol::wire::AckStatus;
use rusqlite::{Connection, Transaction, TransactionBehavior};

use crate::db::{self, KEY_REPLAYS};
use crate::error::BackendError;
use crate::token::{self, Claims, Role, TokenError};

/// A year: dev tokens are not meant to live longer.
pub const MAX_TTL_S: i64 = 366 * 24 * 3600;

pub struct Backend {
    conn: Mutex<Connection>,
    secret: Vec<u8>,
}

impl Backend {
    /// The store over an open, migrated connection and its token key
    /// (`setup` makes both).
    pub(crate) fn new(conn: Connection, secret: Vec<u8>) -> Self {
        Self {
            conn: Mutex::new(conn),
            secret,
        }
    }
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the token key.
        f.debug_struct("Backend").finish_non_exhaustive()
    }
}

pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl Backend {
    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic inside an operation dropped its transaction, which rolled
        // back: the connection is consistent, so poisoning carries no risk.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn write<T, E: From<rusqlite::Error>>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    pub(crate) fn read<T, E: From<rusqlite::Error>>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        f(&tx)
    }

    pub fn issue_token(&self, sub: &str, role: Role, ttl_s: i64) -> Result<String, BackendError> {
        check_id("sub", sub, MAX_ID_LEN).map_err(|e| BackendError::Invalid(e.to_string()))?;
        if !(1..=MAX_TTL_S).contains(&ttl_s) {
            return Err(BackendError::Invalid(format!(
                "ttl_s {ttl_s} is not between 1 and {MAX_TTL_S}"
            )));
        }
        let claims = Claims {
            sub: sub.to_string(),
            role,
            exp: now_ms() / 1000 + ttl_s,
        };
        Ok(token::sign(&self.secret, &claims))
    }

    pub(crate) fn verify_token(&self, token: &str) -> Result<Claims, TokenError> {
        token::verify(&self.secret, token, now_ms() / 1000)
    }
}

/// A retry of something stored earlier: a success, unless someone else's.
pub(crate) fn replay(tx: &Transaction<'_>, sub: &str, owner: &str, what: &str) -> Result<AckStatus, BackendError> {
    if owner != sub {
        return Err(BackendError::forbidden(format!(
            "this {what} id belongs to another officer"
        )));
    }
    db::bump(tx, KEY_REPLAYS)?;
    Ok(AckStatus::Duplicate)
}
