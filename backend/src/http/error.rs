//! [`ApiFailure`]: the small, stable HTTP answer (a status and an
//! `ApiError` body with a slug) a handset's client is written against, made
//! from [`BackendError`] here and nowhere else.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use guardian_protocol::rules::FieldError;
use guardian_protocol::wire::ApiError;

use crate::error::BackendError;
use crate::oidc::AuthError;

/// An HTTP error answer: status, stable slug and a sentence for a human.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiFailure {
    pub status: StatusCode,
    pub slug: &'static str,
    pub reason: String,
    pub fields: Vec<FieldError>,
}

impl ApiFailure {
    pub fn new(status: StatusCode, slug: &'static str, reason: impl Into<String>) -> Self {
        Self {
            status,
            slug,
            reason: reason.into(),
            fields: Vec::new(),
        }
    }

    pub fn unauthorized(reason: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", reason)
    }

    /// 429: this officer's share of requests for this second is spent.
    pub fn rate_limited() -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate-limited",
            "too many requests for this officer; try again shortly",
        )
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
            BackendError::Forbidden { slug, reason } => ApiFailure::new(StatusCode::FORBIDDEN, slug, reason),
            BackendError::Refused { slug, reason, fields } => ApiFailure {
                fields,
                ..ApiFailure::unprocessable(slug, reason)
            },
            BackendError::NotFound { slug, reason } => ApiFailure::new(StatusCode::NOT_FOUND, slug, reason),
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

impl From<AuthError> for ApiFailure {
    fn from(e: AuthError) -> Self {
        let slug = match e {
            AuthError::Malformed => "token-malformed",
            AuthError::BadSignature => "token-signature",
            AuthError::Expired => "token-expired",
            AuthError::NotYetValid => "token-not-yet-valid",
            AuthError::Algorithm => "token-algorithm",
            AuthError::UntrustedIssuer => "token-issuer",
            AuthError::WrongAudience => "token-audience",
            AuthError::UnknownKey => "token-key",
            AuthError::MissingClaim(_) => "token-claims",
            AuthError::KeysUnavailable => {
                return ApiFailure::new(StatusCode::SERVICE_UNAVAILABLE, "keys-unavailable", e.to_string());
            }
            AuthError::KeyPending => {
                return ApiFailure::new(StatusCode::SERVICE_UNAVAILABLE, "key-pending", e.to_string());
            }
            AuthError::NoRole => return ApiFailure::new(StatusCode::FORBIDDEN, "no-role", e.to_string()),
            AuthError::AmbiguousRole => {
                return ApiFailure::new(StatusCode::FORBIDDEN, "ambiguous-role", e.to_string());
            }
        };
        ApiFailure::new(StatusCode::UNAUTHORIZED, slug, e.to_string())
    }
}

impl IntoResponse for ApiFailure {
    fn into_response(self) -> Response {
        let body = ApiError {
            error: self.slug.to_string(),
            reason: self.reason,
            fields: self.fields,
        };
        let mut resp = (self.status, axum::Json(body)).into_response();
        // A new second brings a new share; a provider's keys are
        // fetched again at most every ten seconds.
        let retry = match self.status {
            StatusCode::TOO_MANY_REQUESTS => Some("1"),
            StatusCode::SERVICE_UNAVAILABLE if matches!(self.slug, "keys-unavailable" | "key-pending") => Some("10"),
            _ => None,
        };
        if let Some(after) = retry {
            resp.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static(after),
            );
        }
        resp
    }
}
