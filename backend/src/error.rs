//! Two error types, converted in one place: the rich internal
//! [`BackendError`] that the library API returns, and [`ApiFailure`], the
//! small, stable HTTP answer (a status and an `ApiError` body with a slug)
//! that a handset's client is written against.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use guardian_core::patrol::AreaError;
use guardian_core::referral::authority::BoundaryError;
use guardian_core::sync::protocol::ApiError;
use guardian_core::sync::protocol::ReferralStatus;

#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
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
    /// Stored data that this code could not have written.
    #[error("database content is corrupt: {0}")]
    Corrupt(String),
    #[error("server error: {0}")]
    Server(String),
}

/// An HTTP error answer: status, stable slug and a sentence for a human.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiFailure {
    pub status: StatusCode,
    pub slug: &'static str,
    pub reason: String,
}

impl ApiFailure {
    pub fn new(status: StatusCode, slug: &'static str, reason: impl Into<String>) -> Self {
        Self {
            status,
            slug,
            reason: reason.into(),
        }
    }

    pub fn unauthorized(reason: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", reason)
    }

    pub fn forbidden(reason: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", reason)
    }

    pub fn unprocessable(slug: &'static str, reason: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, slug, reason)
    }

    pub fn bad_request(reason: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad-request", reason)
    }
}

impl From<BackendError> for ApiFailure {
    fn from(e: BackendError) -> Self {
        match e {
            BackendError::Areas(e) => ApiFailure::unprocessable("bad-areas", e.to_string()),
            BackendError::Invalid(reason) => ApiFailure::unprocessable("bad-request", reason),
            BackendError::UnknownOfficer(id) => {
                ApiFailure::unprocessable("unknown-officer", format!("no officer {id:?}"))
            }
            BackendError::AlreadyScheduled(d) => ApiFailure::new(
                StatusCode::CONFLICT,
                "already-scheduled",
                format!("{d} is already scheduled; a randomised schedule is never re-drawn"),
            ),
            BackendError::NoOfficers => ApiFailure::unprocessable("no-officers", "no officers to assign patrols to"),
            BackendError::BadLibrary(reason) => ApiFailure::unprocessable("bad-library", reason),
            BackendError::Boundaries(e) => ApiFailure::unprocessable("bad-boundaries", e.to_string()),
            BackendError::UnknownNavigator(_) => ApiFailure::new(
                StatusCode::FORBIDDEN,
                "unknown-navigator",
                "the token's navigator is not on any Navigator team",
            ),
            BackendError::UnknownReferral(_) => ApiFailure::new(
                StatusCode::NOT_FOUND,
                "unknown-referral",
                "no such referral for this Navigator team",
            ),
            e @ BackendError::BadTransition { .. } => {
                ApiFailure::new(StatusCode::CONFLICT, "bad-transition", e.to_string())
            }
            // The detail of an internal failure goes to the server log, not to
            // the client: it may name paths or stored values.
            other => {
                tracing::error!(error = %other, "request failed");
                ApiFailure::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "the server failed; try again later",
                )
            }
        }
    }
}

impl IntoResponse for ApiFailure {
    fn into_response(self) -> Response {
        let body = ApiError {
            error: self.slug.to_string(),
            reason: self.reason,
        };
        (self.status, axum::Json(body)).into_response()
    }
}
