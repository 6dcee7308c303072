//! The errors the shells see: one small, stable enum per area, each variant
//! a case the screen may handle on its own, each message readable by an
//! officer. They are made from the core's rich [`guardian_core::Error`]
//! here and nowhere else.
//!
//! They are "flat" UniFFI errors: the foreign side gets a sealed exception
//! per variant (`PatrolException.NoActivePatrol` in Kotlin,
//! `PatrolError.NoActivePatrol` in Python and Swift) whose message is the
//! text below. Variants are only ever added, never renamed.
//!
//! A panic in the core is not one of these: UniFFI catches it and raises
//! `InternalException` (Kotlin) / `InternalError` (Python) instead.
//!
//! Every core error also has a stable slug (`store-wrong-key`,
//! `sync-network`, …), and [`policy`] decides, in one match, which are
//! worth the platform log and at what level: a refused form or a check-in
//! too far away is the officer's to fix and is only shown; a damaged store
//! or a server sending nonsense is for the force's support to see. The log
//! line is the slug alone: messages can name an area or a field, never
//! needed there.

use guardian_core::Error as CoreError;
use guardian_core::library::LibraryError as CoreLibrary;
use guardian_core::patrol::PatrolError as CorePatrol;
use guardian_core::referral::ReferralError as CoreReferral;
use guardian_core::store::StoreError as CoreStore;
use guardian_core::sync::SyncError as CoreSync;

use crate::referral::FieldError;

/// Opening the encrypted store.
#[derive(Debug, thiserror::Error, uniffi::Error)]
#[uniffi(flat_error)]
pub enum StoreError {
    /// The file cannot be read with this key: the shell should not retry
    /// with the same key. (A damaged file is `Corrupt`, told apart by the
    /// key-check value; a store made before that existed cannot tell.)
    #[error("{0}")]
    WrongKey(String),
    /// The keystore gave something that is not a 32-byte key.
    #[error("{0}")]
    BadKey(String),
    #[error("{0}")]
    NotEncrypted(String),
    /// Written by a newer app version: the app needs an update.
    #[error("{0}")]
    TooNew(String),
    /// The phone's storage failed (unreadable, I/O error).
    #[error("{0}")]
    Storage(String),
    /// The file is damaged (the key is right): `recover_store` keeps what
    /// can be read, moves the file aside and starts clean.
    #[error("{0}")]
    Corrupt(String),
    /// The phone's storage is full: nothing was written; free space and
    /// try again.
    #[error("{0}")]
    Full(String),
}

/// Areas, the officer, assignments, the track, check-in/out and reports.
#[derive(Debug, thiserror::Error, uniffi::Error)]
#[uniffi(flat_error)]
pub enum PatrolError {
    #[error("{0}")]
    NoOfficer(String),
    #[error("{0}")]
    InvalidOfficer(String),
    #[error("{0}")]
    UnknownArea(String),
    #[error("{0}")]
    AlreadyOnPatrol(String),
    #[error("{0}")]
    NoActivePatrol(String),
    /// The location is too vague to check in or out.
    #[error("{0}")]
    PoorFix(String),
    #[error("{0}")]
    TooFarFromArea(String),
    #[error("{0}")]
    CheckOutBeforeCheckIn(String),
    #[error("{0}")]
    UnknownPatrol(String),
    #[error("{0}")]
    InvalidAssignment(String),
    /// The fix's numbers cannot describe a place (NaN, out of range).
    #[error("{0}")]
    InvalidFix(String),
    /// An areas file was refused as a whole; nothing changed.
    #[error("{0}")]
    InvalidAreas(String),
    #[error("{0}")]
    Storage(String),
    /// Should not happen; reported rather than hidden.
    #[error("{0}")]
    Internal(String),
    /// The phone's storage is full: this was not recorded, nothing stored
    /// before is harmed; the same call succeeds once space is freed.
    #[error("{0}")]
    StorageFull(String),
    /// The store is damaged: `recover_store` after closing it.
    #[error("{0}")]
    StorageDamaged(String),
}

/// Sync with the force, and signing out.
#[derive(Debug, thiserror::Error, uniffi::Error)]
#[uniffi(flat_error)]
pub enum SyncError {
    #[error("{0}")]
    NotStarted(String),
    #[error("{0}")]
    Config(String),
    /// The force refused the login: the shell should sign the officer in again.
    #[error("{0}")]
    Auth(String),
    /// No signal or the server is unreachable: nothing is lost, it retries.
    #[error("{0}")]
    Network(String),
    #[error("{0}")]
    Server(String),
    #[error("{0}")]
    BadReply(String),
    /// Sign-out refused: records have not reached the force yet.
    #[error("{0}")]
    Unsynced(String),
    /// Sign-out refused: a patrol is still open.
    #[error("{0}")]
    PatrolOpen(String),
    #[error("{0}")]
    Storage(String),
    #[error("{0}")]
    Internal(String),
    #[error("{0}")]
    StorageFull(String),
    #[error("{0}")]
    StorageDamaged(String),
}

/// Referral drafts and submission. Not flat: `Invalid` carries every
/// problem with the form at once, so a screen can mark each field. The other
/// variants carry the officer-readable text in `reason`.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum ReferralError {
    #[error("the referral has {} problem(s) to fix", fields.len())]
    Invalid { fields: Vec<FieldError> },
    #[error("{reason}")]
    UnknownDraft { reason: String },
    #[error("{reason}")]
    UnknownReferral { reason: String },
    #[error("{reason}")]
    NoOfficer { reason: String },
    #[error("{reason}")]
    Storage { reason: String },
    #[error("{reason}")]
    Internal { reason: String },
    /// Full storage: the draft or referral was not saved; nothing earlier
    /// is harmed.
    #[error("{reason}")]
    StorageFull { reason: String },
    #[error("{reason}")]
    StorageDamaged { reason: String },
}

/// The practice library.
#[derive(Debug, thiserror::Error, uniffi::Error)]
#[uniffi(flat_error)]
pub enum LibraryError {
    #[error("{0}")]
    UnknownArticle(String),
    #[error("{0}")]
    UnknownTopic(String),
    #[error("{0}")]
    QueryTooLong(String),
    #[error("{0}")]
    NoOfficer(String),
    /// A content pack was refused (damaged, wrong version, invalid); the
    /// library on the handset is unchanged.
    #[error("{0}")]
    BadPack(String),
    #[error("{0}")]
    Storage(String),
    #[error("{0}")]
    Internal(String),
    #[error("{0}")]
    StorageFull(String),
    #[error("{0}")]
    StorageDamaged(String),
}

/// A core error's stable slug, and the level it is logged at (`None`: shown
/// to the officer, not logged).
pub(crate) fn policy(e: &CoreError) -> (&'static str, Option<tracing::Level>) {
    use tracing::Level;
    let (error, warn, info) = (Some(Level::ERROR), Some(Level::WARN), Some(Level::INFO));
    match e {
        CoreError::Store(s) => store_policy(s),
        CoreError::Area(_) => ("patrol-invalid-areas", warn),
        CoreError::Fix(_) => ("patrol-invalid-fix", info),
        CoreError::Patrol(p) => match p {
            CorePatrol::NoOfficer => ("patrol-no-officer", None),
            CorePatrol::InvalidOfficer(_) => ("patrol-invalid-officer", warn),
            CorePatrol::UnknownArea { .. } => ("patrol-unknown-area", None),
            CorePatrol::AlreadyOnPatrol { .. } => ("patrol-already-on-patrol", None),
            CorePatrol::NoActivePatrol => ("patrol-no-active-patrol", None),
            CorePatrol::PoorFix { .. } => ("patrol-poor-fix", None),
            CorePatrol::TooFarFromArea { .. } => ("patrol-too-far", None),
            CorePatrol::CheckOutBeforeCheckIn => ("patrol-check-out-before-check-in", info),
            CorePatrol::UnknownPatrol { .. } => ("patrol-unknown-patrol", None),
            CorePatrol::InvalidAssignment(_) => ("patrol-invalid-assignment", warn),
        },
        CoreError::Sync(s) => match s {
            CoreSync::NotStarted => ("sync-not-started", warn),
            CoreSync::Config(_) => ("sync-config", error),
            CoreSync::Auth(_) => ("sync-auth", warn),
            // No signal is a constable's normal; it retries on its own.
            CoreSync::Network(_) => ("sync-network", None),
            CoreSync::Server(_) => ("sync-server", warn),
            CoreSync::BadReply(_) => ("sync-bad-reply", error),
            CoreSync::Unsynced { .. } => ("sync-unsynced", None),
            CoreSync::PatrolOpen => ("sync-patrol-open", None),
        },
        CoreError::Library(l) => match l {
            CoreLibrary::UnknownArticle(_) => ("library-unknown-article", None),
            CoreLibrary::UnknownTopic(_) => ("library-unknown-topic", None),
            CoreLibrary::QueryTooLong { .. } => ("library-query-too-long", None),
            CoreLibrary::NoOfficer => ("library-no-officer", None),
            CoreLibrary::Store(_) => ("library-store", error),
            _ => ("library-bad-pack", warn),
        },
        CoreError::Referral(r) => match r {
            CoreReferral::Invalid(_) => ("referral-invalid", None),
            CoreReferral::UnknownDraft => ("referral-unknown-draft", None),
            CoreReferral::UnknownReferral => ("referral-unknown-referral", None),
            CoreReferral::NoOfficer => ("referral-no-officer", None),
            CoreReferral::Boundaries(_) => ("referral-bad-boundaries", error),
        },
    }
}

fn store_policy(e: &CoreStore) -> (&'static str, Option<tracing::Level>) {
    use tracing::Level;
    match e {
        CoreStore::WrongKey => ("store-wrong-key", Some(Level::WARN)),
        CoreStore::NotEncrypted => ("store-not-encrypted", Some(Level::ERROR)),
        CoreStore::TooNew { .. } => ("store-too-new", Some(Level::WARN)),
        CoreStore::Key(_) => ("store-bad-key", Some(Level::ERROR)),
        CoreStore::Io(_) => ("store-io", Some(Level::ERROR)),
        CoreStore::Sqlite(_) => ("store-sqlite", Some(Level::ERROR)),
        CoreStore::Corrupt(_) => ("store-corrupt", Some(Level::ERROR)),
        // The officer's to fix (free space); support cannot.
        CoreStore::Full => ("store-full", Some(Level::WARN)),
        CoreStore::InUse => ("store-in-use", Some(Level::ERROR)),
    }
}

/// Logs `e` by [`policy`]: its slug only.
fn reported(e: &CoreError) {
    log(policy(e));
}

fn log((slug, level): (&'static str, Option<tracing::Level>)) {
    match level {
        Some(tracing::Level::ERROR) => tracing::error!(target: "guardian_ffi::error", "{slug}"),
        Some(tracing::Level::WARN) => tracing::warn!(target: "guardian_ffi::error", "{slug}"),
        Some(_) => tracing::info!(target: "guardian_ffi::error", "{slug}"),
        None => {}
    }
}

/// What a store failure says, whichever call it interrupted.
fn store_message(e: &CoreStore) -> String {
    match e {
        CoreStore::WrongKey | CoreStore::NotEncrypted | CoreStore::TooNew { .. } | CoreStore::Key(_) => e.to_string(),
        CoreStore::Io(io) => format!("the phone's storage cannot be read: {io}"),
        CoreStore::Sqlite(sql) => format!("the phone's storage failed: {sql}"),
        CoreStore::Corrupt(what) => format!("stored data is damaged: {what}"),
        CoreStore::Full => "the phone's storage is full: free some space; nothing already saved is lost".into(),
        CoreStore::InUse => e.to_string(),
    }
}

/// How a store failure is told to a screen, whichever call it interrupted.
enum StoreFailure {
    Full,
    Damaged,
    Other,
}

fn store_failure(e: &CoreStore) -> StoreFailure {
    match e {
        CoreStore::Full => StoreFailure::Full,
        CoreStore::Corrupt(_) => StoreFailure::Damaged,
        _ => StoreFailure::Other,
    }
}

impl From<CoreStore> for StoreError {
    fn from(e: CoreStore) -> Self {
        log(store_policy(&e));
        let message = store_message(&e);
        match e {
            CoreStore::WrongKey => StoreError::WrongKey(message),
            CoreStore::Key(_) => StoreError::BadKey(message),
            CoreStore::NotEncrypted => StoreError::NotEncrypted(message),
            CoreStore::TooNew { .. } => StoreError::TooNew(message),
            CoreStore::Corrupt(_) => StoreError::Corrupt(message),
            CoreStore::Full => StoreError::Full(message),
            CoreStore::Io(_) | CoreStore::Sqlite(_) | CoreStore::InUse => StoreError::Storage(message),
        }
    }
}

impl From<CoreError> for StoreError {
    fn from(e: CoreError) -> Self {
        match e {
            CoreError::Store(s) => s.into(),
            other => {
                reported(&other);
                StoreError::Storage(other.to_string())
            }
        }
    }
}

impl From<CoreError> for PatrolError {
    fn from(e: CoreError) -> Self {
        reported(&e);
        let message = match &e {
            CoreError::Store(s) => store_message(s),
            other => other.to_string(),
        };
        match e {
            CoreError::Patrol(p) => match p {
                CorePatrol::NoOfficer => PatrolError::NoOfficer(message),
                CorePatrol::InvalidOfficer(_) => PatrolError::InvalidOfficer(message),
                CorePatrol::UnknownArea { .. } => PatrolError::UnknownArea(message),
                CorePatrol::AlreadyOnPatrol { .. } => PatrolError::AlreadyOnPatrol(message),
                CorePatrol::NoActivePatrol => PatrolError::NoActivePatrol(message),
                CorePatrol::PoorFix { .. } => PatrolError::PoorFix(message),
                CorePatrol::TooFarFromArea { .. } => PatrolError::TooFarFromArea(message),
                CorePatrol::CheckOutBeforeCheckIn => PatrolError::CheckOutBeforeCheckIn(message),
                CorePatrol::UnknownPatrol { .. } => PatrolError::UnknownPatrol(message),
                CorePatrol::InvalidAssignment(_) => PatrolError::InvalidAssignment(message),
            },
            CoreError::Fix(_) => PatrolError::InvalidFix(message),
            CoreError::Area(_) => PatrolError::InvalidAreas(message),
            CoreError::Store(s) => match store_failure(&s) {
                StoreFailure::Full => PatrolError::StorageFull(message),
                StoreFailure::Damaged => PatrolError::StorageDamaged(message),
                StoreFailure::Other => PatrolError::Storage(message),
            },
            CoreError::Sync(_) | CoreError::Library(_) | CoreError::Referral(_) => PatrolError::Internal(message),
        }
    }
}

impl From<CoreError> for SyncError {
    fn from(e: CoreError) -> Self {
        reported(&e);
        let message = match &e {
            CoreError::Store(s) => store_message(s),
            other => other.to_string(),
        };
        match e {
            CoreError::Sync(s) => match s {
                CoreSync::NotStarted => SyncError::NotStarted(message),
                CoreSync::Config(_) => SyncError::Config(message),
                CoreSync::Auth(_) => SyncError::Auth(message),
                CoreSync::Network(_) => SyncError::Network(message),
                CoreSync::Server(_) => SyncError::Server(message),
                CoreSync::BadReply(_) => SyncError::BadReply(message),
                CoreSync::Unsynced { .. } => SyncError::Unsynced(message),
                CoreSync::PatrolOpen => SyncError::PatrolOpen(message),
            },
            CoreError::Store(s) => match store_failure(&s) {
                StoreFailure::Full => SyncError::StorageFull(message),
                StoreFailure::Damaged => SyncError::StorageDamaged(message),
                StoreFailure::Other => SyncError::Storage(message),
            },
            CoreError::Area(_)
            | CoreError::Fix(_)
            | CoreError::Patrol(_)
            | CoreError::Library(_)
            | CoreError::Referral(_) => SyncError::Internal(message),
        }
    }
}

impl From<CoreError> for ReferralError {
    fn from(e: CoreError) -> Self {
        reported(&e);
        let reason = match &e {
            CoreError::Store(s) => store_message(s),
            other => other.to_string(),
        };
        match e {
            CoreError::Referral(r) => match r {
                CoreReferral::Invalid(fields) => ReferralError::Invalid {
                    fields: fields.into_iter().map(Into::into).collect(),
                },
                CoreReferral::UnknownDraft => ReferralError::UnknownDraft { reason },
                CoreReferral::UnknownReferral => ReferralError::UnknownReferral { reason },
                CoreReferral::NoOfficer => ReferralError::NoOfficer { reason },
                CoreReferral::Boundaries(_) => ReferralError::Internal { reason },
            },
            CoreError::Store(s) => match store_failure(&s) {
                StoreFailure::Full => ReferralError::StorageFull { reason },
                StoreFailure::Damaged => ReferralError::StorageDamaged { reason },
                StoreFailure::Other => ReferralError::Storage { reason },
            },
            CoreError::Area(_)
            | CoreError::Fix(_)
            | CoreError::Patrol(_)
            | CoreError::Sync(_)
            | CoreError::Library(_) => ReferralError::Internal { reason },
        }
    }
}

impl From<CoreError> for LibraryError {
    fn from(e: CoreError) -> Self {
        reported(&e);
        match e {
            CoreError::Library(l) => l.into(),
            CoreError::Store(s) => library_store(&s),
            other => LibraryError::Internal(other.to_string()),
        }
    }
}

impl From<CoreLibrary> for LibraryError {
    fn from(e: CoreLibrary) -> Self {
        let message = match &e {
            CoreLibrary::Store(s) => store_message(s),
            other => other.to_string(),
        };
        match e {
            CoreLibrary::UnknownArticle(_) => LibraryError::UnknownArticle(message),
            CoreLibrary::UnknownTopic(_) => LibraryError::UnknownTopic(message),
            CoreLibrary::QueryTooLong { .. } => LibraryError::QueryTooLong(message),
            CoreLibrary::NoOfficer => LibraryError::NoOfficer(message),
            CoreLibrary::Corrupt(_)
            | CoreLibrary::Checksum
            | CoreLibrary::UnsupportedFormat { .. }
            | CoreLibrary::WrongBase { .. }
            | CoreLibrary::Mismatch { .. }
            | CoreLibrary::InvalidPack(_)
            | CoreLibrary::InvalidPrefs(_) => LibraryError::BadPack(message),
            CoreLibrary::Store(s) => library_store(&s),
            CoreLibrary::BadSource { .. } | CoreLibrary::Io { .. } => LibraryError::Internal(message),
        }
    }
}

fn library_store(s: &CoreStore) -> LibraryError {
    let message = store_message(s);
    match store_failure(s) {
        StoreFailure::Full => LibraryError::StorageFull(message),
        StoreFailure::Damaged => LibraryError::StorageDamaged(message),
        StoreFailure::Other => LibraryError::Storage(message),
    }
}

/// A blocking task that died. Its panic is carried on so that UniFFI reports
/// it the way it reports any panic; a cancelled task (the runtime shutting
/// down) is an internal error.
pub(crate) fn join_failed<E: From<Internal>>(e: tokio::task::JoinError) -> E {
    match e.try_into_panic() {
        Ok(payload) => std::panic::resume_unwind(payload),
        Err(e) => E::from(Internal(format!("the task was cancelled: {e}"))),
    }
}

/// An internal failure outside the core (a cancelled task).
pub(crate) struct Internal(pub String);

impl From<Internal> for PatrolError {
    fn from(e: Internal) -> Self {
        PatrolError::Internal(e.0)
    }
}

impl From<Internal> for SyncError {
    fn from(e: Internal) -> Self {
        SyncError::Internal(e.0)
    }
}

impl From<Internal> for ReferralError {
    fn from(e: Internal) -> Self {
        ReferralError::Internal { reason: e.0 }
    }
}

impl From<Internal> for LibraryError {
    fn from(e: Internal) -> Self {
        LibraryError::Internal(e.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_stable_and_name_their_area() {
        for (e, slug) in [
            (CoreError::from(CoreStore::WrongKey), "store-wrong-key"),
            (CoreError::from(CorePatrol::NoActivePatrol), "patrol-no-active-patrol"),
            (CoreError::from(CoreSync::Network("x".into())), "sync-network"),
            (CoreError::from(CoreReferral::UnknownDraft), "referral-unknown-draft"),
            (CoreError::from(CoreLibrary::Checksum), "library-bad-pack"),
        ] {
            assert_eq!(policy(&e).0, slug);
        }
        // What the officer fixes is shown, not logged; a damaged store is.
        assert_eq!(policy(&CoreError::from(CorePatrol::NoActivePatrol)).1, None);
        assert_eq!(
            policy(&CoreError::from(CoreStore::Corrupt("x".into()))).1,
            Some(tracing::Level::ERROR)
        );
    }

    #[test]
    fn each_core_error_lands_in_its_own_variant_with_the_core_message() {
        let e = PatrolError::from(CoreError::from(CorePatrol::NoActivePatrol));
        assert!(matches!(&e, PatrolError::NoActivePatrol(m) if m == "not checked in to any patrol"));
        let e = SyncError::from(CoreError::from(CoreSync::Unsynced { count: 3 }));
        assert!(matches!(&e, SyncError::Unsynced(m) if m.starts_with("3 records")));
        let e = StoreError::from(CoreError::from(CoreStore::WrongKey));
        assert!(matches!(e, StoreError::WrongKey(_)));
    }
}
