//! VRP Navigator referrals made on the street: the form and its rules,
//! drafts that survive the app being killed, routing to one of the seven
//! authorities, and the care the data needs — personal fields leave the
//! handset once the force acknowledges them; a receipt without names stays.
//!
//! This module owns `referral_drafts`, `referrals` and `boundaries` (`db`).
//! What happens when the force acknowledges a referral is its own business
//! too ([`db::on_acked`]): sync only says that it did.

pub mod authority;
pub(crate) mod db;
pub mod form;
pub mod record;

pub use authority::{Authority, Boundaries, BoundaryError};
pub use form::{Consent, FieldError, FieldProblem, Reason, ReferralForm, Subject, Urgency, ValidReferral};
pub use guardian_protocol::referral::ReferralStatus;

use serde::Serialize;

/// Drafts are personal data at rest: they are discarded after this long…
pub const DRAFT_RETENTION_MS: i64 = 72 * 3_600_000;
/// …and the officer is warned this long before.
pub const DRAFT_WARNING_MS: i64 = 12 * 3_600_000;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ReferralError {
    /// Every problem with the form, together, so a screen can show them all.
    #[error("the referral has {} problem(s) to fix: {}", .0.len(), list(.0))]
    Invalid(Vec<FieldError>),
    #[error("no such draft")]
    UnknownDraft,
    #[error("no such referral")]
    UnknownReferral,
    #[error("no officer is signed in on this handset")]
    NoOfficer,
    #[error("the boundary data from the force cannot be used: {0}")]
    Boundaries(#[from] BoundaryError),
}

/// Field names and problems only: never a value.
fn list(errors: &[FieldError]) -> String {
    guardian_protocol::rules::describe(errors)
}

/// A draft as the list of drafts shows it: no personal data.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DraftSummary {
    pub id: String,
    pub created_ms: i64,
    pub updated_ms: i64,
    /// When it will be discarded.
    pub expires_ms: i64,
    /// Set once the draft is within the warning period.
    pub warning: Option<String>,
    /// Why the force refused it, when it came back from the force.
    pub refused: Option<String>,
}

/// What stays on the handset after a referral leaves it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Receipt {
    pub id: String,
    pub reference: String,
    pub authority: Authority,
    pub reasons: Vec<guardian_protocol::referral::ReasonCode>,
    pub urgency: Urgency,
    pub created_ms: i64,
    pub status: ReferralStatus,
    pub status_ms: i64,
    pub patrol_id: Option<String>,
    pub area_id: Option<String>,
    /// How it ended, once the team closed it with an outcome.
    pub outcome: Option<guardian_protocol::referral::Outcome>,
}

/// Where a referral made here would go, and why the officer must choose
/// when it cannot be routed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RoutePreview {
    pub authority: Option<Authority>,
    pub needs_choice: Option<String>,
}
