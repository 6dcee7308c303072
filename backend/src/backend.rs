//! [`Backend`]: the force's store, used by the HTTP handlers and in-process
//! by the CLI, the sim and the tests. The operations on it are split by
//! concern, each module owning its tables: `officers`, `areas`, `schedule`,
//! `records` (check-in/out), `chunks` (the track), `sync` (the reply a
//! handset pulls), `commands`, `devices`, `stats`, `export`, `referral`, `boundaries`
//! and `library`. They all return [`BackendError`]; only `http` speaks HTTP.
//!
//! Two stores behind one interface ([`crate::sql::Tx`]): SQLite (one
//! connection behind a mutex: SQLite has one writer anyway, and every
//! operation is one short transaction; writes take the lock `IMMEDIATE`, so
//! a check and the write it guards cannot be split by another process on
//! the same file) or PostgreSQL (a pool of connections; concurrent writers
//! are kept exactly-once by keys and `ON CONFLICT`, and a transaction a
//! constraint or a serialisation check turned away runs again, to give the
//! answer the winner's commit implies).

use std::sync::{Arc, Mutex, MutexGuard};

use guardian_protocol::rules::{MAX_ID_LEN, check_id};
use guardian_protocol::wire::AckStatus;
use rusqlite::{Connection, TransactionBehavior};

use crate::db::{self, KEY_REPLAYS};
use crate::error::BackendError;
use crate::oidc::{AuthError, Oidc};
use crate::rate::OfficerRate;
use crate::seal::{Keyring, Sealing};
use crate::sql::pg::PgManager;
use crate::sql::{DbError, StoreFailure, Tx};
use crate::token::{self, Claims, Role, TokenError};

/// A year: dev tokens are not meant to live longer.
pub const MAX_TTL_S: i64 = 366 * 24 * 3600;

/// How often a PostgreSQL transaction is run again after losing a race.
const PG_ATTEMPTS: usize = 5;

/// When an unassigned referral is overdue on the Navigator's desk: the
/// force's to set (`serve --overdue-urgent-hours`, `--overdue-working-days`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverdueRule {
    /// An urgent referral, in hours.
    pub urgent_hours: i64,
    /// Any other, in working days (Monday to Friday; bank holidays are not
    /// known here and count as working days).
    pub working_days: u32,
}

impl Default for OverdueRule {
    fn default() -> Self {
        Self {
            urgent_hours: 24,
            working_days: 5,
        }
    }
}

pub struct Backend {
    store: Store,
    overdue: OverdueRule,
    /// Whether every look at personal data must say why (`serve
    /// --require-purpose`).
    purpose_required: bool,
    secret: Vec<u8>,
    /// Whose tokens are trusted: this store's dev tokens, or the force's
    /// identity provider. Never both.
    identity: Identity,
    /// Requests admitted per officer per second (the HTTP server sets it).
    rate: OfficerRate,
    /// The keys referral bodies are sealed under.
    pub(crate) sealing: Sealing,
}

enum Identity {
    DevTokens,
    Provider(Arc<Oidc>),
}

pub(crate) enum Store {
    Sqlite(Mutex<Connection>),
    Postgres(PgPool),
}

/// The pool, closed off any async thread: closing a `postgres` connection
/// blocks on its own runtime, which panics on a thread driving another
/// (where a server drops its last handle on the store).
pub(crate) struct PgPool(Option<r2d2::Pool<PgManager>>);

impl PgPool {
    pub(crate) fn new(pool: r2d2::Pool<PgManager>) -> Self {
        Self(Some(pool))
    }
}

impl Drop for PgPool {
    fn drop(&mut self) {
        if let Some(pool) = self.0.take() {
            // If the thread cannot start, the pool is leaked rather than
            // dropped here: a panic in a destructor would abort.
            match std::thread::Builder::new().spawn(move || drop(pool)) {
                Ok(t) => {
                    let _ = t.join();
                }
                Err(e) => tracing::warn!("could not close the database pool: {e}"),
            }
        }
    }
}

impl Backend {
    /// The store over an open, migrated store and its token key (`setup`
    /// makes both).
    pub(crate) fn new(store: Store, secret: Vec<u8>) -> Self {
        Self {
            store,
            overdue: OverdueRule::default(),
            purpose_required: false,
            secret,
            identity: Identity::DevTokens,
            rate: OfficerRate::new(u32::MAX),
            sealing: Sealing::Dev,
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

fn lock(conn: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    // A panic inside an operation dropped its transaction, which rolled
    // back: the connection is consistent, so poisoning carries no risk.
    conn.lock().unwrap_or_else(|p| p.into_inner())
}

impl Store {
    /// Runs `f` in one transaction and commits what it did if it succeeds.
    pub(crate) fn run<T, E: StoreFailure>(
        &self,
        write: bool,
        mut f: impl FnMut(&Tx<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        match self {
            Store::Sqlite(conn) => {
                let mut conn = lock(conn);
                let behavior = if write {
                    TransactionBehavior::Immediate
                } else {
                    TransactionBehavior::Deferred
                };
                let t = conn.transaction_with_behavior(behavior).map_err(DbError::from)?;
                let out = f(&Tx::sqlite(&t))?;
                if write {
                    t.commit().map_err(DbError::from)?;
                }
                Ok(out)
            }
            Store::Postgres(PgPool(pool)) => {
                let pool = pool.as_ref().ok_or_else(|| E::from(DbError::NoRow))?;
                let mut attempt = 1;
                loop {
                    let mut conn = pool.get().map_err(DbError::from)?;
                    let tx = Tx::postgres(conn.begin()?);
                    let result = f(&tx).and_then(|out| match tx.into_pg() {
                        Some(pg) => pg.commit().map(|()| out).map_err(E::from),
                        None => Ok(out),
                    });
                    match result {
                        Err(e) if e.retryable() && attempt < PG_ATTEMPTS => attempt += 1,
                        other => return other,
                    }
                }
            }
        }
    }
}

impl Backend {
    pub(crate) fn write<T, E: StoreFailure>(&self, f: impl FnMut(&Tx<'_>) -> Result<T, E>) -> Result<T, E> {
        self.store.run(true, f)
    }

    pub(crate) fn read<T, E: StoreFailure>(&self, f: impl FnMut(&Tx<'_>) -> Result<T, E>) -> Result<T, E> {
        self.store.run(false, f)
    }

    pub fn issue_token(&self, sub: &str, role: Role, ttl_s: i64) -> Result<String, BackendError> {
        if self.identity_provider().is_some() {
            return Err(BackendError::Forbidden {
                slug: "dev-tokens-off",
                reason: "this server trusts the force's identity provider; it issues no tokens of its own".into(),
            });
        }
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

    /// Seals new referral bodies under the force's keys (and opens what
    /// they sealed) instead of the store's own dev key.
    pub fn use_referral_keys(&mut self, keys: Keyring) {
        self.sealing = Sealing::File(keys);
    }

    /// Whether referral bodies are sealed under a key kept in the store
    /// itself (no key file given): the server says so at start.
    pub fn referral_key_in_store(&self) -> bool {
        self.sealing.is_dev()
    }

    pub fn set_overdue_rule(&mut self, rule: OverdueRule) {
        self.overdue = rule;
    }

    pub fn overdue_rule(&self) -> OverdueRule {
        self.overdue
    }

    /// From now on a consultation of personal data (a page, a list, an
    /// export) is refused unless the reader says why: the force's choice
    /// under s.62(3), where the law asks for the justification.
    pub fn require_purpose(&mut self) {
        self.purpose_required = true;
    }

    pub fn purpose_required(&self) -> bool {
        self.purpose_required
    }

    pub(crate) fn set_officer_rate(&mut self, per_s: u32) {
        self.rate = OfficerRate::new(per_s);
    }

    /// Counts a request by `sub`; false once their share is spent.
    pub(crate) fn admit(&self, sub: &str) -> bool {
        self.rate.admit(sub)
    }

    /// From now on only the force's identity provider is trusted; this
    /// store's dev tokens stop working.
    pub fn trust_identity_provider(&mut self, oidc: Oidc) {
        self.identity = Identity::Provider(Arc::new(oidc));
    }

    /// The identity provider, when one is trusted.
    pub fn identity_provider(&self) -> Option<&Oidc> {
        match &self.identity {
            Identity::Provider(o) => Some(o),
            Identity::DevTokens => None,
        }
    }

    /// Who a bearer token is from, by whichever identity this server
    /// trusts.
    pub(crate) async fn verify_token(&self, token: &str) -> Result<Claims, AuthError> {
        match &self.identity {
            Identity::DevTokens => token::verify(&self.secret, token, now_ms() / 1000).map_err(|e| match e {
                TokenError::Expired => AuthError::Expired,
                TokenError::BadSignature => AuthError::BadSignature,
                TokenError::Malformed => AuthError::Malformed,
            }),
            Identity::Provider(oidc) => oidc.verify(token).await,
        }
    }
}

/// A retry of something stored earlier: a success, unless someone else's.
pub(crate) fn replay(tx: &Tx<'_>, sub: &str, owner: &str, what: &str) -> Result<AckStatus, BackendError> {
    if owner != sub {
        return Err(BackendError::forbidden(format!(
            "this {what} id belongs to another officer"
        )));
    }
    db::bump(tx, KEY_REPLAYS)?;
    Ok(AckStatus::Duplicate)
}
