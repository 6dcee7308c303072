//! [`BackendError`]: what the force's store and every operation on it can
//! fail with, HTTP or not (the CLI, the sim and the tests call the same
//! operations in-process). `http::error` turns it into the small, stable
//! HTTP answer, in one place.

use guardian_core::patrol::AreaError;
use guardian_core::referral::authority::BoundaryError;
use guardian_protocol::referral::ReferralStatus;
use guardian_protocol::rules::FieldError;

use crate::sql::{DbError, StoreFailure};

#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error("database error: {0}")]
    Database(#[from] DbError),
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    #[error("areas rejected: {0}")]
    Areas(#[from] AreaError),
    /// Caller input that breaks a rule; the sentence says which.
    #[error("invalid input: {0}")]
    Invalid(String),
    #[error("unknown officer {0:?}")]
    UnknownOfficer(String),
    #[error("a schedule for {0} already exists")]
    AlreadyScheduled(chrono::NaiveDate),
    #[error("no officers to assign patrols to")]
    NoOfficers,
    /// A practice library source folder that breaks a rule.
    #[error("library rejected: {0}")]
    BadLibrary(String),
    #[error("boundaries rejected: {0}")]
    Boundaries(#[from] BoundaryError),
    #[error("unknown navigator {0:?}")]
    UnknownNavigator(String),
    /// No such referral, or not one of the Navigator's authority: the two
    /// are not told apart, so a Navigator cannot probe other teams' ids.
    #[error("no referral {0:?} for this navigator")]
    UnknownReferral(String),
    /// Referral status only moves forward.
    #[error("a referral cannot go back from {} to {}", from.as_str(), to.as_str())]
    BadTransition { from: ReferralStatus, to: ReferralStatus },
    /// The caller may not do this: not on the force's list, or another
    /// officer's id. `slug` is stable; the reason is for a human.
    #[error("{reason}")]
    Forbidden { slug: &'static str, reason: String },
    /// An upload refused for good: `slug` says why, `fields` which fields
    /// (values are never quoted: they may be a child's details).
    #[error("{reason}")]
    Refused {
        slug: &'static str,
        reason: String,
        fields: Vec<FieldError>,
    },
    /// The id names nothing this caller may see.
    #[error("{reason}")]
    NotFound { slug: &'static str, reason: String },
    /// Stored data that this code could not have written.
    #[error("database content is corrupt: {0}")]
    Corrupt(String),
    #[error("server error: {0}")]
    Server(String),
}

impl BackendError {
    pub(crate) fn forbidden(reason: impl Into<String>) -> Self {
        BackendError::Forbidden {
            slug: "forbidden",
            reason: reason.into(),
        }
    }

    pub(crate) fn refused(slug: &'static str, reason: impl Into<String>) -> Self {
        BackendError::Refused {
            slug,
            reason: reason.into(),
            fields: Vec::new(),
        }
    }

    /// Every field problem at once, as one refusal.
    pub(crate) fn bad_fields(slug: &'static str, fields: Vec<FieldError>) -> Self {
        BackendError::Refused {
            slug,
            reason: guardian_protocol::rules::describe(&fields),
            fields,
        }
    }
}

impl From<rusqlite::Error> for BackendError {
    fn from(e: rusqlite::Error) -> Self {
        BackendError::Database(DbError::Sqlite(e))
    }
}

impl StoreFailure for BackendError {
    fn retryable(&self) -> bool {
        matches!(self, BackendError::Database(e) if e.is_retryable())
    }
}
