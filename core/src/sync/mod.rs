//! Sync: the outbox, the wire format and protocol, the HTTP client and the
//! engine that drains the outbox and pulls the force's changes.
//!
//! Principles: a record is written to the outbox in the same transaction as
//! the change it reports, with an id made once and reused on every attempt;
//! only the server's ack clears it; a permanent rejection is kept, marked and
//! surfaced; transient failures back off exponentially with jitter.

pub mod client;
pub mod codec;
pub mod engine;
pub mod outbox;
pub mod protocol;

pub use engine::{PassReport, SyncConfig, SyncStatus};

/// The shell's access to the force's login: a bearer token, and a fresh one
/// when the backend refuses the old. Implemented by the platform shell.
pub trait TokenProvider: Send + Sync {
    fn token(&self) -> Result<String, String>;
    fn refresh(&self) -> Result<String, String>;
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
}
