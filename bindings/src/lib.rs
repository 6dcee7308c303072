//! `guardian-ffi`: the UniFFI surface of Guardian's core, for the Kotlin
//! (Android) and Swift (iOS) shells, and Python for tests.
//!
//! Thin wrappers and type conversions only: every rule lives in
//! `guardian-core`. The shell holds one [`Guardian`], opened with a
//! [`GuardianConfig`] and the 32-byte key from the platform keystore, and
//! implements three foreign traits: [`TokenProvider`] (the force login),
//! [`EventListener`] (what the core tells it unasked) and [`LogSink`]
//! (logcat / os_log). Errors are one small enum per area
//! ([`StoreError`], [`PatrolError`], [`SyncError`], [`ReferralError`],
//! [`LibraryError`]), made from the core's
//! rich error in `error.rs` alone. A panic reaches the shell as
//! `InternalException` / `InternalError`, never as a crash: the release
//! profile keeps `panic = "unwind"` for that.

uniffi::setup_scaffolding!();

mod error;
mod foreign;
mod guardian;
mod library;
mod log;
mod referral;
mod types;

pub use error::{LibraryError, PatrolError, ReferralError, StoreError, SyncError};
pub use foreign::{AuthError, EventListener, GuardianEvent, TokenProvider};
pub use guardian::{Guardian, GuardianConfig};
pub use library::*;
pub use log::{LogLevel, LogRecord, LogSink, clear_log_sink, set_log_sink};
pub use referral::*;
pub use types::*;

/// Test hook: panics with `message`. Harmless to ship: the panic is caught
/// at the boundary and reaches the caller as `InternalException` (Kotlin) /
/// `InternalError` (Python) — which is what the foreign tests check.
#[uniffi::export]
pub fn debug_panic(message: String) {
    panic!("debug_panic: {message}");
}

/// Test hook: panics with `message` on the blocking pool inside an async
/// call, the way a bug in a long core call would. Reaches the caller as the
/// same exception as [`debug_panic`].
#[uniffi::export(async_runtime = "tokio")]
pub async fn debug_panic_async(message: String) -> Result<(), PatrolError> {
    tokio::task::spawn_blocking(move || -> Result<(), PatrolError> { panic!("debug_panic_async: {message}") })
        .await
        .unwrap_or_else(|e| Err(error::join_failed(e)))
}

/// The version of this library, for the shell's "about" screen and logs.
#[uniffi::export]
pub fn core_version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}
