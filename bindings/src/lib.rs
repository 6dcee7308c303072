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
//!
//! Core types that are already plain FFI data cross as themselves, declared
//! here with `#[uniffi::remote]` (a compile-time-checked mirror, no copy);
//! the rest are converted in `types.rs`, `referral.rs` and `library.rs`.

uniffi::setup_scaffolding!();

mod display;
mod error;
mod foreign;
mod guardian;
mod library;
mod log;
mod recovery;
mod referral;
mod types;

pub use display::{PatrolStatusText, patrol_status_text};
pub use error::{LibraryError, PatrolError, ReferralError, StoreError, SyncError};
pub use foreign::{AuthError, EventListener, GuardianEvent, TokenProvider};
pub use guardian::{Guardian, GuardianConfig};
pub use library::*;
pub use log::{LogLevel, LogRecord, LogSink, clear_log_sink, set_log_sink};
pub use recovery::{RecoveryReport, recover_store};
pub use referral::*;
pub use types::*;

/// Test hook: panics with `message`. Harmless to ship: the panic is caught
/// at the boundary and reaches the caller as `InternalException` (Kotlin) /
/// `InternalError` (Python) — which is what the foreign tests check.
#[uniffi::export]
pub fn debug_panic(message: String) {
    panic!("debug_panic: {message}");
}

/// The version of this library, for the shell's "about" screen and logs.
#[uniffi::export]
pub fn core_version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}
