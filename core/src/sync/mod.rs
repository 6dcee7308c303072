//! Sync: drain the outbox to the force and apply the force's changes.
//!
//! - [`pass`]: what a pass decides, as pure functions and a small state
//!   machine (events in, instructions out): each upload's outcome becomes
//!   outbox transitions and "go on", "refresh the token and resend" or
//!   "stop"; a pull reply becomes a checked [`pass::PullPlan`] or an error
//!   that changes nothing; a library pack becomes "up to date", "apply" or
//!   "fetch the full library"; a failed pass becomes the wait before the
//!   next. Tested without sockets, clocks or SQLite.
//! - [`engine`]: the I/O around it: one scheduler task on the core's
//!   runtime, the HTTP calls, the transactions. It reaches the rest of the
//!   core only through [`Host`].
//! - [`client`]: HTTP (rustls only), every answer classified.
//! - [`state`]: the `sync_state` table (cursor, last success, last error).
//!
//! Principles: a record is written to the outbox in the same transaction as
//! the change it reports, with an id made once and reused on every attempt;
//! only the server's ack clears it; a permanent rejection is kept, marked
//! and surfaced; transient failures back off exponentially with jitter.

pub mod client;
pub mod engine;
pub mod pass;
pub mod signin;
pub mod state;

use rusqlite::Transaction;

use crate::events::Event;
use crate::library::LibraryError;
use crate::store::outbox::Kind;
use crate::store::{Store, StoreError};

pub use engine::{Runtime, SyncConfig, SyncEngine};
pub use pass::{PassReport, PullPlan};
pub use signin::{ForceLogin, SignInConfig};
pub use state::SyncStatus;

/// The shell's access to the force's login: a bearer token, and a fresh one
/// when the backend refuses the old. Implemented by the platform shell.
pub trait TokenProvider: Send + Sync {
    fn token(&self) -> Result<String, String>;
    fn refresh(&self) -> Result<String, String>;
}

/// Where the bearer token comes from: the core's own sign-in with the
/// force's provider, or a shell's [`TokenProvider`] (the demo's and the
/// tests' dev tokens).
#[derive(Clone)]
pub enum Login {
    Force(std::sync::Arc<ForceLogin>),
    Shell(std::sync::Arc<dyn TokenProvider>),
}

impl Login {
    pub async fn token(&self) -> Result<String, SyncError> {
        match self {
            Login::Force(f) => f.token().await,
            Login::Shell(s) => s.token().map_err(SyncError::Auth),
        }
    }

    pub async fn refresh(&self) -> Result<String, SyncError> {
        match self {
            Login::Force(f) => f.refresh().await,
            Login::Shell(s) => s.refresh().map_err(SyncError::Auth),
        }
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SyncError {
    #[error("sync has not been started")]
    NotStarted,
    #[error("sync configuration is invalid: {0}")]
    Config(String),
    #[error("not signed in with the force: {0}")]
    Auth(String),
    #[error("cannot reach the force's server: {0}")]
    Network(String),
    #[error("the force's server failed: {0}")]
    Server(String),
    #[error("the force's server sent a reply that cannot be used: {0}")]
    BadReply(String),
    #[error("{count} records have not reached the force yet; sync before signing out")]
    Unsynced { count: usize },
    #[error("a patrol is still open; check out before signing out")]
    PatrolOpen,
    #[error(
        "{count} records of the officer signed in before have not reached the force yet; they must sign in and sync first"
    )]
    OtherOfficer { count: usize },
}

/// Everything a pass can fail with: the protocol, the phone's storage, or
/// a library pack the force sent.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Sync(#[from] SyncError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Library(#[from] LibraryError),
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::Store(e.into())
    }
}

/// What the owner of a record kind does, in the ack's own transaction, when
/// the force acknowledges one of its records.
pub type AckHook = fn(&Transaction<'_>, &str, i64) -> Result<(), StoreError>;

/// What the owner of a record kind does, in the same transaction, when the
/// force refuses one of its records for good (id, the force's reason,
/// now). It purges what it takes back.
pub type RejectHook = fn(&Transaction<'_>, &str, &str, i64) -> Result<(), StoreError>;

/// The hooks, one per kind at most, registered by each kind's owner, each
/// saying whether it purges personal data (then the ack's transaction is
/// followed by [`Store::forget_purged`]).
#[derive(Debug, Clone, Default)]
pub struct AckHooks(Vec<(Kind, AckHook, bool)>, Vec<(Kind, RejectHook)>);

impl AckHooks {
    pub fn on(self, kind: Kind, hook: AckHook) -> Self {
        self.with(kind, hook, false)
    }

    /// A hook that purges personal data: no earlier state of the file may
    /// keep it once the ack is committed.
    pub fn on_purging(self, kind: Kind, hook: AckHook) -> Self {
        self.with(kind, hook, true)
    }

    fn with(mut self, kind: Kind, hook: AckHook, purges: bool) -> Self {
        self.0.retain(|(k, _, _)| *k != kind);
        self.0.push((kind, hook, purges));
        self
    }

    /// A hook for a refusal of `kind` (one per kind).
    pub fn on_rejected(mut self, kind: Kind, hook: RejectHook) -> Self {
        self.1.retain(|(k, _)| *k != kind);
        self.1.push((kind, hook));
        self
    }

    /// Runs the refusal hook of `kind`; whether there was one (it purged).
    pub fn run_rejected(
        &self,
        tx: &Transaction<'_>,
        kind: Kind,
        id: &str,
        reason: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        match self.1.iter().find(|(k, _)| *k == kind) {
            Some((_, hook)) => hook(tx, id, reason, now_ms).map(|()| true),
            None => Ok(false),
        }
    }

    pub fn run(&self, tx: &Transaction<'_>, kind: Kind, id: &str, now_ms: i64) -> Result<(), StoreError> {
        match self.0.iter().find(|(k, _, _)| *k == kind) {
            Some((_, hook, _)) => hook(tx, id, now_ms),
            None => Ok(()),
        }
    }

    pub fn purges(&self, kind: Kind) -> bool {
        self.0.iter().any(|(k, _, p)| *k == kind && *p)
    }
}

/// What the engine needs of the rest of the core. The core's façade
/// implements it; sync never names the façade.
pub trait Host: Send + Sync + 'static {
    fn store(&self) -> &Store;
    fn now_ms(&self) -> i64;
    fn ack_hooks(&self) -> &AckHooks;
    /// Is this area on the handset (an assignment may only name one)?
    fn knows_area(&self, area_id: &str) -> bool;
    /// Applies a checked pull in one transaction, its cursor saved with it
    /// ([`state::save_cursor`]), then brings memory in line and tells the
    /// shell what changed.
    fn apply_pull(&self, plan: PullPlan) -> Result<(), StoreError>;
    /// The force's wipe command: everything on the handset goes.
    fn wipe(&self) -> Result<(), StoreError>;
    /// The signed-in officer, whose library settings a pass restores.
    fn officer_id(&self) -> Result<Option<String>, StoreError>;
    fn emit(&self, events: Vec<Event>);
}
