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
//! `sync-network`, …), and [`handle`] decides, in one match, what it means
//! to a screen (the variant each enum gives it), its slug, and whether it
//! is worth the platform log and at what level: a refused form or a check-in
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

/// What a core error means to a screen, whichever call it interrupted.
/// Each FFI error enum takes the meanings it has a variant for; any other
/// is `Internal` there (a bug, reported).
enum Meaning {
    // The store.
    WrongKey,
    BadKey,
    NotEncrypted,
    TooNew,
    Storage,
    Damaged,
    Full,
    // Patrols.
    NoOfficer,
    InvalidOfficer,
    UnknownArea,
    AlreadyOnPatrol,
    NoActivePatrol,
    PoorFix,
    TooFarFromArea,
    CheckOutBeforeCheckIn,
    UnknownPatrol,
    InvalidAssignment,
    InvalidFix,
    InvalidAreas,
    // Sync.
    NotStarted,
    Config,
    Auth,
    Network,
    Server,
    BadReply,
    Unsynced,
    PatrolOpen,
    // The library.
    UnknownArticle,
    UnknownTopic,
    QueryTooLong,
    BadPack,
    // Referrals.
    InvalidReferral(Vec<FieldError>),
    UnknownDraft,
    UnknownReferral,
    /// A fault in the app: never the officer's to fix.
    Internal,
}

/// A core error sorted once: its stable slug, the level it is logged at
/// (`None`: shown to the officer, not logged), what it means to a screen,
/// and its officer-readable message.
struct Handling {
    slug: &'static str,
    level: Option<tracing::Level>,
    meaning: Meaning,
    message: String,
}

/// The one match over every core error: conversion, slug and log level
/// decided together, so they cannot drift apart (the pattern of Mozilla
/// application-services' `get_error_handling`). No wildcard: a new core
/// variant does not compile until it is sorted here.
fn handle(e: CoreError) -> Handling {
    use Meaning as M;
    use tracing::Level;
    let (error, warn, info) = (Some(Level::ERROR), Some(Level::WARN), Some(Level::INFO));
    let message = e.to_string();
    let (slug, level, meaning) = match e {
        CoreError::Store(s) => return handle_store(s),
        CoreError::Area(_) => ("patrol-invalid-areas", warn, M::InvalidAreas),
        CoreError::Fix(_) => ("patrol-invalid-fix", info, M::InvalidFix),
        CoreError::Patrol(p) => match p {
            CorePatrol::NoOfficer => ("patrol-no-officer", None, M::NoOfficer),
            CorePatrol::InvalidOfficer(_) => ("patrol-invalid-officer", warn, M::InvalidOfficer),
            CorePatrol::UnknownArea { .. } => ("patrol-unknown-area", None, M::UnknownArea),
            CorePatrol::AlreadyOnPatrol { .. } => ("patrol-already-on-patrol", None, M::AlreadyOnPatrol),
            CorePatrol::NoActivePatrol => ("patrol-no-active-patrol", None, M::NoActivePatrol),
            CorePatrol::PoorFix { .. } => ("patrol-poor-fix", None, M::PoorFix),
            CorePatrol::TooFarFromArea { .. } => ("patrol-too-far", None, M::TooFarFromArea),
            CorePatrol::CheckOutBeforeCheckIn => ("patrol-check-out-before-check-in", info, M::CheckOutBeforeCheckIn),
            CorePatrol::UnknownPatrol { .. } => ("patrol-unknown-patrol", None, M::UnknownPatrol),
            CorePatrol::InvalidAssignment(_) => ("patrol-invalid-assignment", warn, M::InvalidAssignment),
        },
        CoreError::Sync(s) => match s {
            CoreSync::NotStarted => ("sync-not-started", warn, M::NotStarted),
            CoreSync::Config(_) => ("sync-config", error, M::Config),
            CoreSync::Auth(_) => ("sync-auth", warn, M::Auth),
            // No signal is a constable's normal; it retries on its own.
            CoreSync::Network(_) => ("sync-network", None, M::Network),
            CoreSync::Server(_) => ("sync-server", warn, M::Server),
            CoreSync::BadReply(_) => ("sync-bad-reply", error, M::BadReply),
            CoreSync::Unsynced { .. } => ("sync-unsynced", None, M::Unsynced),
            CoreSync::PatrolOpen => ("sync-patrol-open", None, M::PatrolOpen),
            CoreSync::OtherOfficer { .. } => ("sync-other-officer", None, M::Unsynced),
        },
        CoreError::Library(l) => match l {
            CoreLibrary::UnknownArticle(_) => ("library-unknown-article", None, M::UnknownArticle),
            CoreLibrary::UnknownTopic(_) => ("library-unknown-topic", None, M::UnknownTopic),
            CoreLibrary::QueryTooLong { .. } => ("library-query-too-long", None, M::QueryTooLong),
            CoreLibrary::NoOfficer => ("library-no-officer", None, M::NoOfficer),
            // A pack or a prefs record from the force that was refused:
            // the library on the handset is unchanged.
            CoreLibrary::Corrupt(_)
            | CoreLibrary::Checksum
            | CoreLibrary::UnsupportedFormat { .. }
            | CoreLibrary::WrongBase { .. }
            | CoreLibrary::Mismatch { .. }
            | CoreLibrary::InvalidPack(_) => ("library-bad-pack", warn, M::BadPack),
            CoreLibrary::InvalidPrefs(_) => ("library-invalid-prefs", warn, M::BadPack),
            // Building a pack from sources is the force's tooling, never a
            // handset's: reaching a shell is a bug.
            CoreLibrary::BadSource { .. } => ("library-bad-source", error, M::Internal),
            CoreLibrary::Io { .. } => ("library-io", error, M::Internal),
            CoreLibrary::Store(s) => return handle_store(s),
        },
        CoreError::Referral(r) => match r {
            CoreReferral::Invalid(fields) => (
                "referral-invalid",
                None,
                M::InvalidReferral(fields.into_iter().map(Into::into).collect()),
            ),
            CoreReferral::UnknownDraft => ("referral-unknown-draft", None, M::UnknownDraft),
            CoreReferral::UnknownReferral => ("referral-unknown-referral", None, M::UnknownReferral),
            CoreReferral::NoOfficer => ("referral-no-officer", None, M::NoOfficer),
            CoreReferral::Boundaries(_) => ("referral-bad-boundaries", error, M::Internal),
        },
    };
    Handling {
        slug,
        level,
        meaning,
        message,
    }
}

fn handle_store(e: CoreStore) -> Handling {
    use Meaning as M;
    use tracing::Level;
    let (error, warn) = (Some(Level::ERROR), Some(Level::WARN));
    let (slug, level, meaning, message) = match &e {
        CoreStore::WrongKey => ("store-wrong-key", warn, M::WrongKey, e.to_string()),
        CoreStore::NotEncrypted => ("store-not-encrypted", error, M::NotEncrypted, e.to_string()),
        CoreStore::TooNew { .. } => ("store-too-new", warn, M::TooNew, e.to_string()),
        CoreStore::Key(_) => ("store-bad-key", error, M::BadKey, e.to_string()),
        CoreStore::Io(io) => (
            "store-io",
            error,
            M::Storage,
            format!("the phone's storage cannot be read: {io}"),
        ),
        CoreStore::Sqlite(sql) => (
            "store-sqlite",
            error,
            M::Storage,
            format!("the phone's storage failed: {sql}"),
        ),
        CoreStore::Corrupt(what) => (
            "store-corrupt",
            error,
            M::Damaged,
            format!("stored data is damaged: {what}"),
        ),
        // The officer's to fix (free space); support cannot.
        CoreStore::Full => (
            "store-full",
            warn,
            M::Full,
            "the phone's storage is full: free some space; nothing already saved is lost".into(),
        ),
        CoreStore::InUse => ("store-in-use", error, M::Storage, e.to_string()),
        // A bug in the core, not the phone's storage: never the recovery
        // screen.
        CoreStore::Unsendable(_) => ("store-unsendable", error, M::Internal, e.to_string()),
    };
    Handling {
        slug,
        level,
        meaning,
        message,
    }
}

impl Handling {
    /// Logs the slug alone at its level, and hands on what the screen needs.
    fn reported(self) -> (Meaning, String) {
        match self.level {
            Some(tracing::Level::ERROR) => tracing::error!(target: "guardian_ffi::error", "{}", self.slug),
            Some(tracing::Level::WARN) => tracing::warn!(target: "guardian_ffi::error", "{}", self.slug),
            Some(_) => tracing::info!(target: "guardian_ffi::error", "{}", self.slug),
            None => {}
        }
        (self.meaning, self.message)
    }
}

impl From<CoreStore> for StoreError {
    fn from(e: CoreStore) -> Self {
        handle_store(e).into()
    }
}

impl From<CoreError> for StoreError {
    fn from(e: CoreError) -> Self {
        handle(e).into()
    }
}

impl From<Handling> for StoreError {
    fn from(h: Handling) -> Self {
        let (meaning, m) = h.reported();
        match meaning {
            Meaning::WrongKey => StoreError::WrongKey(m),
            Meaning::BadKey => StoreError::BadKey(m),
            Meaning::NotEncrypted => StoreError::NotEncrypted(m),
            Meaning::TooNew => StoreError::TooNew(m),
            Meaning::Damaged => StoreError::Corrupt(m),
            Meaning::Full => StoreError::Full(m),
            // Opening and recovering have no internal variant (a frozen
            // surface): a fault there reads as a storage failure.
            _ => StoreError::Storage(m),
        }
    }
}

impl From<CoreError> for PatrolError {
    fn from(e: CoreError) -> Self {
        let (meaning, m) = handle(e).reported();
        match meaning {
            Meaning::NoOfficer => PatrolError::NoOfficer(m),
            Meaning::InvalidOfficer => PatrolError::InvalidOfficer(m),
            Meaning::UnknownArea => PatrolError::UnknownArea(m),
            Meaning::AlreadyOnPatrol => PatrolError::AlreadyOnPatrol(m),
            Meaning::NoActivePatrol => PatrolError::NoActivePatrol(m),
            Meaning::PoorFix => PatrolError::PoorFix(m),
            Meaning::TooFarFromArea => PatrolError::TooFarFromArea(m),
            Meaning::CheckOutBeforeCheckIn => PatrolError::CheckOutBeforeCheckIn(m),
            Meaning::UnknownPatrol => PatrolError::UnknownPatrol(m),
            Meaning::InvalidAssignment => PatrolError::InvalidAssignment(m),
            Meaning::InvalidFix => PatrolError::InvalidFix(m),
            Meaning::InvalidAreas => PatrolError::InvalidAreas(m),
            Meaning::Full => PatrolError::StorageFull(m),
            Meaning::Damaged => PatrolError::StorageDamaged(m),
            Meaning::WrongKey | Meaning::BadKey | Meaning::NotEncrypted | Meaning::TooNew | Meaning::Storage => {
                PatrolError::Storage(m)
            }
            _ => PatrolError::Internal(m),
        }
    }
}

impl From<CoreError> for SyncError {
    fn from(e: CoreError) -> Self {
        let (meaning, m) = handle(e).reported();
        match meaning {
            Meaning::NotStarted => SyncError::NotStarted(m),
            Meaning::Config => SyncError::Config(m),
            Meaning::Auth => SyncError::Auth(m),
            Meaning::Network => SyncError::Network(m),
            Meaning::Server => SyncError::Server(m),
            Meaning::BadReply => SyncError::BadReply(m),
            Meaning::Unsynced => SyncError::Unsynced(m),
            Meaning::PatrolOpen => SyncError::PatrolOpen(m),
            Meaning::Full => SyncError::StorageFull(m),
            Meaning::Damaged => SyncError::StorageDamaged(m),
            Meaning::WrongKey | Meaning::BadKey | Meaning::NotEncrypted | Meaning::TooNew | Meaning::Storage => {
                SyncError::Storage(m)
            }
            _ => SyncError::Internal(m),
        }
    }
}

impl From<CoreError> for ReferralError {
    fn from(e: CoreError) -> Self {
        let (meaning, reason) = handle(e).reported();
        match meaning {
            Meaning::InvalidReferral(fields) => ReferralError::Invalid { fields },
            Meaning::UnknownDraft => ReferralError::UnknownDraft { reason },
            Meaning::UnknownReferral => ReferralError::UnknownReferral { reason },
            Meaning::NoOfficer => ReferralError::NoOfficer { reason },
            Meaning::Full => ReferralError::StorageFull { reason },
            Meaning::Damaged => ReferralError::StorageDamaged { reason },
            Meaning::WrongKey | Meaning::BadKey | Meaning::NotEncrypted | Meaning::TooNew | Meaning::Storage => {
                ReferralError::Storage { reason }
            }
            _ => ReferralError::Internal { reason },
        }
    }
}

impl From<CoreLibrary> for LibraryError {
    fn from(e: CoreLibrary) -> Self {
        CoreError::Library(e).into()
    }
}

impl From<CoreError> for LibraryError {
    fn from(e: CoreError) -> Self {
        let (meaning, m) = handle(e).reported();
        match meaning {
            Meaning::UnknownArticle => LibraryError::UnknownArticle(m),
            Meaning::UnknownTopic => LibraryError::UnknownTopic(m),
            Meaning::QueryTooLong => LibraryError::QueryTooLong(m),
            Meaning::NoOfficer => LibraryError::NoOfficer(m),
            Meaning::BadPack => LibraryError::BadPack(m),
            Meaning::Full => LibraryError::StorageFull(m),
            Meaning::Damaged => LibraryError::StorageDamaged(m),
            Meaning::WrongKey | Meaning::BadKey | Meaning::NotEncrypted | Meaning::TooNew | Meaning::Storage => {
                LibraryError::Storage(m)
            }
            _ => LibraryError::Internal(m),
        }
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
    use guardian_core::patrol::FixError;
    use guardian_core::patrol::area::AreaError;
    use guardian_core::referral::authority::BoundaryError;
    use guardian_core::store::KeyError;

    use super::*;

    /// One of every core error, with the slug it must be logged as. The
    /// match in `handle` has no wildcard, so a new core variant does not
    /// compile until it is sorted; this list is where its slug is agreed.
    fn every_core_error() -> Vec<(CoreError, &'static str)> {
        let s = |e: CoreStore| CoreError::from(e);
        let p = |e: CorePatrol| CoreError::from(e);
        let y = |e: CoreSync| CoreError::from(e);
        let l = |e: CoreLibrary| CoreError::from(e);
        let r = |e: CoreReferral| CoreError::from(e);
        let sqlite = rusqlite::Error::InvalidQuery;
        vec![
            (s(CoreStore::WrongKey), "store-wrong-key"),
            (s(CoreStore::NotEncrypted), "store-not-encrypted"),
            (s(CoreStore::TooNew { found: 9, supported: 6 }), "store-too-new"),
            (s(CoreStore::Key(KeyError::AllZero)), "store-bad-key"),
            (s(CoreStore::Io(std::io::Error::other("x"))), "store-io"),
            (s(CoreStore::Sqlite(sqlite)), "store-sqlite"),
            (s(CoreStore::Corrupt("x".into())), "store-corrupt"),
            (s(CoreStore::Full), "store-full"),
            (s(CoreStore::InUse), "store-in-use"),
            (s(CoreStore::Unsendable("x".into())), "store-unsendable"),
            (
                CoreError::from(AreaError::DuplicateId("a".into())),
                "patrol-invalid-areas",
            ),
            (
                CoreError::from(FixError::NotFinite { field: "lat" }),
                "patrol-invalid-fix",
            ),
            (p(CorePatrol::NoOfficer), "patrol-no-officer"),
            (p(CorePatrol::InvalidOfficer("x".into())), "patrol-invalid-officer"),
            (
                p(CorePatrol::UnknownArea { area_id: "a".into() }),
                "patrol-unknown-area",
            ),
            (
                p(CorePatrol::AlreadyOnPatrol {
                    patrol_id: "p".into(),
                    area_id: "a".into(),
                }),
                "patrol-already-on-patrol",
            ),
            (p(CorePatrol::NoActivePatrol), "patrol-no-active-patrol"),
            (
                p(CorePatrol::PoorFix {
                    accuracy_m: 90.0,
                    max_m: 50.0,
                }),
                "patrol-poor-fix",
            ),
            (
                p(CorePatrol::TooFarFromArea {
                    area_id: "a".into(),
                    distance_m: 300.0,
                    allowed_m: 100.0,
                }),
                "patrol-too-far",
            ),
            (p(CorePatrol::CheckOutBeforeCheckIn), "patrol-check-out-before-check-in"),
            (
                p(CorePatrol::UnknownPatrol { patrol_id: "p".into() }),
                "patrol-unknown-patrol",
            ),
            (
                p(CorePatrol::InvalidAssignment("x".into())),
                "patrol-invalid-assignment",
            ),
            (y(CoreSync::NotStarted), "sync-not-started"),
            (y(CoreSync::Config("x".into())), "sync-config"),
            (y(CoreSync::Auth("x".into())), "sync-auth"),
            (y(CoreSync::Network("x".into())), "sync-network"),
            (y(CoreSync::Server("x".into())), "sync-server"),
            (y(CoreSync::BadReply("x".into())), "sync-bad-reply"),
            (y(CoreSync::Unsynced { count: 3 }), "sync-unsynced"),
            (y(CoreSync::PatrolOpen), "sync-patrol-open"),
            (y(CoreSync::OtherOfficer { count: 2 }), "sync-other-officer"),
            (l(CoreLibrary::Corrupt("x".into())), "library-bad-pack"),
            (l(CoreLibrary::Checksum), "library-bad-pack"),
            (
                l(CoreLibrary::UnsupportedFormat { found: 9, supported: 1 }),
                "library-bad-pack",
            ),
            (l(CoreLibrary::WrongBase { have: 1, pack_base: 2 }), "library-bad-pack"),
            (l(CoreLibrary::Mismatch { version: 3 }), "library-bad-pack"),
            (l(CoreLibrary::InvalidPack("x".into())), "library-bad-pack"),
            (
                l(CoreLibrary::BadSource {
                    file: "f".into(),
                    reason: "r".into(),
                }),
                "library-bad-source",
            ),
            (l(CoreLibrary::UnknownArticle("a".into())), "library-unknown-article"),
            (l(CoreLibrary::UnknownTopic("t".into())), "library-unknown-topic"),
            (
                l(CoreLibrary::QueryTooLong { chars: 900, max: 200 }),
                "library-query-too-long",
            ),
            (l(CoreLibrary::InvalidPrefs("x".into())), "library-invalid-prefs"),
            (l(CoreLibrary::NoOfficer), "library-no-officer"),
            (
                l(CoreLibrary::Io {
                    path: "p".into(),
                    reason: "r".into(),
                }),
                "library-io",
            ),
            // A store failure inside the library is told as the store's.
            (l(CoreLibrary::Store(CoreStore::Full)), "store-full"),
            (r(CoreReferral::Invalid(Vec::new())), "referral-invalid"),
            (r(CoreReferral::UnknownDraft), "referral-unknown-draft"),
            (r(CoreReferral::UnknownReferral), "referral-unknown-referral"),
            (r(CoreReferral::NoOfficer), "referral-no-officer"),
            (
                r(CoreReferral::Boundaries(BoundaryError::NotGeoJson("x".into()))),
                "referral-bad-boundaries",
            ),
        ]
    }

    #[test]
    fn every_core_error_has_its_slug_named_by_its_area() {
        for (e, slug) in every_core_error() {
            let debug = format!("{e:?}");
            let got = handle(e).slug;
            assert_eq!(got, slug, "{debug}");
            let area = slug.split('-').next().unwrap_or_default();
            assert!(
                ["store", "patrol", "sync", "library", "referral"].contains(&area),
                "{slug}"
            );
        }
    }

    #[test]
    fn what_the_officer_fixes_is_shown_not_logged_and_faults_are_logged() {
        assert_eq!(handle(CoreError::from(CorePatrol::NoActivePatrol)).level, None);
        assert_eq!(handle(CoreError::from(CoreSync::Network("x".into()))).level, None);
        for fault in [CoreStore::Corrupt("x".into()), CoreStore::Unsendable("x".into())] {
            assert_eq!(handle_store(fault).level, Some(tracing::Level::ERROR));
        }
    }

    #[test]
    fn each_core_error_lands_in_its_own_variant_with_the_core_message() {
        let e = PatrolError::from(CoreError::from(CorePatrol::NoActivePatrol));
        assert!(matches!(&e, PatrolError::NoActivePatrol(m) if m == "not checked in to any patrol"));
        let e = SyncError::from(CoreError::from(CoreSync::Unsynced { count: 3 }));
        assert!(matches!(&e, SyncError::Unsynced(m) if m.starts_with("3 records")));
        let e = StoreError::from(CoreError::from(CoreStore::WrongKey));
        assert!(matches!(e, StoreError::WrongKey(_)));
        let e = LibraryError::from(CoreLibrary::Checksum);
        assert!(matches!(e, LibraryError::BadPack(_)));
        let e = LibraryError::from(CoreLibrary::Io {
            path: "p".into(),
            reason: "r".into(),
        });
        assert!(matches!(e, LibraryError::Internal(_)));
    }

    /// A record the core could not queue is a fault in the app: every area
    /// tells it as `Internal`, never `StorageDamaged` (the iOS shell opens
    /// its recovery screen on that, which moves the database aside).
    #[test]
    fn an_unsendable_record_reaches_every_shell_call_as_internal_not_damaged() {
        let bug = || CoreError::from(CoreStore::Unsendable("record fails the rules".into()));
        assert!(matches!(PatrolError::from(bug()), PatrolError::Internal(m) if m.contains("a fault in the app")));
        assert!(matches!(SyncError::from(bug()), SyncError::Internal(_)));
        assert!(matches!(ReferralError::from(bug()), ReferralError::Internal { .. }));
        assert!(matches!(LibraryError::from(bug()), LibraryError::Internal(_)));
        assert!(matches!(
            LibraryError::from(CoreLibrary::Store(CoreStore::Unsendable("x".into()))),
            LibraryError::Internal(_)
        ));
        // Damage still is damage.
        let damaged = || CoreError::from(CoreStore::Corrupt("page".into()));
        assert!(matches!(PatrolError::from(damaged()), PatrolError::StorageDamaged(_)));
        assert!(matches!(
            ReferralError::from(damaged()),
            ReferralError::StorageDamaged { .. }
        ));
    }
}
