//! VRP referrals: the form, drafts, submission and receipts. Conversions
//! and thin calls only; every rule (validation, routing, retention, purging
//! personal data once the force has it) is in `guardian_core::referral` and
//! the protocol. A draft takes whatever the officer typed, the date of
//! birth included: it is checked at submit, with the rest.
//!
//! The form holds a child's details: its records never print them in
//! `Debug`, and nothing here logs.

use guardian_core::referral as core;

pub use guardian_core::protocol::referral::Outcome as ReferralOutcome;
pub use guardian_core::protocol::referral::{ReasonCode, ReferralStatus};
pub use guardian_core::referral::{Authority, DraftSummary, Receipt, RoutePreview, Subject, Urgency};

use crate::error::ReferralError;
use crate::guardian::Guardian;
use crate::types::{Fix, count};

/// The seven local authorities whose VRP Navigator teams take referrals.
#[uniffi::remote(Enum)]
pub enum Authority {
    Birmingham,
    Coventry,
    Dudley,
    Sandwell,
    Solihull,
    Walsall,
    Wolverhampton,
}

/// The authority's name as an officer reads it.
#[uniffi::export]
pub fn authority_name(authority: Authority) -> String {
    authority.name().to_string()
}

/// The young person. The date of birth is "YYYY-MM-DD" once valid; a
/// draft keeps whatever was typed.
#[uniffi::remote(Record)]
pub struct Subject {
    pub name: String,
    #[uniffi(default = None)]
    pub date_of_birth: Option<String>,
    #[uniffi(default = None)]
    pub estimated_age: Option<i32>,
    #[uniffi(default = None)]
    pub address: Option<String>,
    #[uniffi(default = None)]
    pub school: Option<String>,
    #[uniffi(default = None)]
    pub carer_contact: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum ReferralReason {
    KnifeCarrying,
    CriminalExploitation,
    GangAssociation,
    VawgHarmfulSexualBehaviour,
    ParentInPrison,
    MissingEpisodes,
    SchoolExclusion,
    MentalHealth,
    Other { text: String },
}

impl From<ReferralReason> for core::Reason {
    fn from(r: ReferralReason) -> Self {
        match r {
            ReferralReason::KnifeCarrying => core::Reason::KnifeCarrying,
            ReferralReason::CriminalExploitation => core::Reason::CriminalExploitation,
            ReferralReason::GangAssociation => core::Reason::GangAssociation,
            ReferralReason::VawgHarmfulSexualBehaviour => core::Reason::VawgHarmfulSexualBehaviour,
            ReferralReason::ParentInPrison => core::Reason::ParentInPrison,
            ReferralReason::MissingEpisodes => core::Reason::MissingEpisodes,
            ReferralReason::SchoolExclusion => core::Reason::SchoolExclusion,
            ReferralReason::MentalHealth => core::Reason::MentalHealth,
            ReferralReason::Other { text } => core::Reason::Other(text),
        }
    }
}

impl From<core::Reason> for ReferralReason {
    fn from(r: core::Reason) -> Self {
        match r {
            core::Reason::KnifeCarrying => ReferralReason::KnifeCarrying,
            core::Reason::CriminalExploitation => ReferralReason::CriminalExploitation,
            core::Reason::GangAssociation => ReferralReason::GangAssociation,
            core::Reason::VawgHarmfulSexualBehaviour => ReferralReason::VawgHarmfulSexualBehaviour,
            core::Reason::ParentInPrison => ReferralReason::ParentInPrison,
            core::Reason::MissingEpisodes => ReferralReason::MissingEpisodes,
            core::Reason::SchoolExclusion => ReferralReason::SchoolExclusion,
            core::Reason::MentalHealth => ReferralReason::MentalHealth,
            core::Reason::Other(text) => ReferralReason::Other { text },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum Consent {
    Given,
    Refused { reason: String },
    NotSought { reason: String },
}

impl From<Consent> for core::Consent {
    fn from(c: Consent) -> Self {
        match c {
            Consent::Given => core::Consent::Given,
            Consent::Refused { reason } => core::Consent::Refused(reason),
            Consent::NotSought { reason } => core::Consent::NotSought(reason),
        }
    }
}

impl From<core::Consent> for Consent {
    fn from(c: core::Consent) -> Self {
        match c {
            core::Consent::Given => Consent::Given,
            core::Consent::Refused(reason) => Consent::Refused { reason },
            core::Consent::NotSought(reason) => Consent::NotSought { reason },
        }
    }
}

#[uniffi::remote(Enum)]
pub enum Urgency {
    Routine,
    Priority,
    Urgent,
}

/// A referral as the officer fills it in; any part may still be missing
/// while it is a draft.
#[derive(Clone, Default, PartialEq, uniffi::Record)]
pub struct ReferralForm {
    pub subject: Subject,
    pub reasons: Vec<ReferralReason>,
    pub narrative: String,
    #[uniffi(default = None)]
    pub consent: Option<Consent>,
    #[uniffi(default = false)]
    pub safeguarding_concern: bool,
    #[uniffi(default = None)]
    pub urgency: Option<Urgency>,
    /// Where the young person was met: routes the referral.
    #[uniffi(default = None)]
    pub location: Option<Fix>,
    /// The officer's choice when the location cannot be routed.
    #[uniffi(default = None)]
    pub authority_choice: Option<Authority>,
}

impl std::fmt::Debug for ReferralForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReferralForm").finish_non_exhaustive()
    }
}

impl From<ReferralForm> for core::ReferralForm {
    fn from(f: ReferralForm) -> Self {
        core::ReferralForm {
            subject: f.subject,
            reasons: f.reasons.into_iter().map(Into::into).collect(),
            narrative: f.narrative,
            consent: f.consent.map(Into::into),
            safeguarding_concern: f.safeguarding_concern,
            urgency: f.urgency,
            location: f.location,
            authority_choice: f.authority_choice,
        }
    }
}

impl From<core::ReferralForm> for ReferralForm {
    fn from(f: core::ReferralForm) -> Self {
        ReferralForm {
            subject: f.subject,
            reasons: f.reasons.into_iter().map(Into::into).collect(),
            narrative: f.narrative,
            consent: f.consent.map(Into::into),
            safeguarding_concern: f.safeguarding_concern,
            urgency: f.urgency,
            location: f.location,
            authority_choice: f.authority_choice,
        }
    }
}

/// What is wrong with one field.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum FieldProblem {
    Required,
    TooLong {
        max: u32,
    },
    TooShort {
        min: u32,
    },
    ControlCharacters,
    InFuture,
    OutOfRange {
        min: i32,
        max: i32,
    },
    Inconsistent,
    Duplicate,
    NeedsReason,
    NeedsConsentOrSafeguarding,
    BadLocation,
    ChooseAuthority {
        why: String,
    },
    /// The date text is not "YYYY-MM-DD".
    NotADate,
    TooMany {
        max: u32,
    },
    /// Not one of the allowed values.
    Unknown,
    /// A value where none belongs (text on a reason that takes none).
    Unexpected,
    /// Not an id (letters, digits and . _ : - only).
    NotAnId,
    /// A time no clock could give.
    ImplausibleTime,
}

/// One problem with the form: which field (e.g. "subject.name"), what kind,
/// and a sentence to show beside it.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct FieldError {
    pub field: String,
    pub problem: FieldProblem,
    pub message: String,
}

impl From<core::FieldError> for FieldError {
    fn from(e: core::FieldError) -> Self {
        let problem = match &e.problem {
            core::FieldProblem::Required => FieldProblem::Required,
            core::FieldProblem::TooLong { max } => FieldProblem::TooLong { max: count(*max) },
            core::FieldProblem::TooShort { min } => FieldProblem::TooShort { min: count(*min) },
            core::FieldProblem::TooMany { max } => FieldProblem::TooMany { max: count(*max) },
            core::FieldProblem::NotADate => FieldProblem::NotADate,
            core::FieldProblem::Unknown => FieldProblem::Unknown,
            core::FieldProblem::Unexpected => FieldProblem::Unexpected,
            core::FieldProblem::NotAnId => FieldProblem::NotAnId,
            core::FieldProblem::ImplausibleTime => FieldProblem::ImplausibleTime,
            core::FieldProblem::ControlCharacters => FieldProblem::ControlCharacters,
            core::FieldProblem::InFuture => FieldProblem::InFuture,
            core::FieldProblem::OutOfRange { min, max } => FieldProblem::OutOfRange { min: *min, max: *max },
            core::FieldProblem::Inconsistent => FieldProblem::Inconsistent,
            core::FieldProblem::Duplicate => FieldProblem::Duplicate,
            core::FieldProblem::NeedsReason => FieldProblem::NeedsReason,
            core::FieldProblem::NeedsConsentOrSafeguarding => FieldProblem::NeedsConsentOrSafeguarding,
            core::FieldProblem::BadLocation => FieldProblem::BadLocation,
            core::FieldProblem::ChooseAuthority(why) => FieldProblem::ChooseAuthority { why: why.clone() },
        };
        FieldError {
            message: e.to_string(),
            field: e.field,
            problem,
        }
    }
}

/// A draft in the list of drafts: no personal data.
#[uniffi::remote(Record)]
pub struct DraftSummary {
    pub id: String,
    pub created_ms: i64,
    pub updated_ms: i64,
    /// When it will be discarded (drafts are personal data at rest).
    pub expires_ms: i64,
    /// Set once the draft is close to being discarded.
    pub warning: Option<String>,
    /// Why the force refused it, when it came back from the force.
    pub refused: Option<String>,
}

/// Where a referral stands with the Navigator team; it only moves forward.
#[uniffi::remote(Enum)]
pub enum ReferralStatus {
    /// On the handset, not yet acknowledged by the force.
    Queued,
    Received,
    Assigned,
    Contacted,
    Closed,
}

/// Why the officer referred, as a code (a receipt keeps no free text).
#[uniffi::remote(Enum)]
pub enum ReasonCode {
    KnifeCarrying,
    CriminalExploitation,
    GangAssociation,
    VawgHarmfulSexualBehaviour,
    ParentInPrison,
    MissingEpisodes,
    SchoolExclusion,
    MentalHealth,
    Other,
}

/// What the officer keeps once a referral is submitted: no names.
#[uniffi::remote(Record)]
pub struct Receipt {
    pub id: String,
    /// Readable out on the phone, e.g. "VRP-1A2B3C4D".
    pub reference: String,
    pub authority: Authority,
    pub reasons: Vec<ReasonCode>,
    pub urgency: Urgency,
    pub created_ms: i64,
    pub status: ReferralStatus,
    pub status_ms: i64,
    pub patrol_id: Option<String>,
    pub area_id: Option<String>,
    /// How it ended, once the team closed it with an outcome: a code,
    /// never the Navigators' notes.
    pub outcome: Option<ReferralOutcome>,
}

/// How a referral ended, as the Navigator team recorded it on closing.
#[uniffi::remote(Enum)]
pub enum ReferralOutcome {
    Engaged,
    Declined,
    UnableToContact,
    NotEligible,
}

/// Where a referral made at a place would go, or why the officer must choose.
#[uniffi::remote(Record)]
pub struct RoutePreview {
    pub authority: Option<Authority>,
    pub needs_choice: Option<String>,
}

#[uniffi::export]
impl Guardian {
    /// Where a referral made at (`lat`, `lon`) would go.
    pub fn route_referral(&self, lat: f64, lon: f64) -> RoutePreview {
        self.core().route_referral(lat, lon)
    }

    /// Saves a draft (a new one when `draft_id` is `None`) and returns its
    /// id. Every edit is durable; nothing is validated until submit.
    pub fn save_referral_draft(&self, draft_id: Option<String>, form: ReferralForm) -> Result<String, ReferralError> {
        Ok(self.core().save_referral_draft(draft_id.as_deref(), &form.into())?)
    }

    pub fn referral_draft(&self, draft_id: String) -> Result<ReferralForm, ReferralError> {
        Ok(self.core().referral_draft(&draft_id)?.into())
    }

    /// The drafts, newest first; expired ones are discarded first.
    pub fn referral_drafts(&self) -> Result<Vec<DraftSummary>, ReferralError> {
        Ok(self.core().referral_drafts()?)
    }

    pub fn discard_referral_draft(&self, draft_id: String) -> Result<(), ReferralError> {
        Ok(self.core().discard_referral_draft(&draft_id)?)
    }

    /// Validates the whole draft (`ReferralError.Invalid` lists every
    /// problem); if valid, queues it for the force and removes the draft in
    /// one commit. Returns the receipt.
    pub async fn submit_referral(&self, draft_id: String) -> Result<Receipt, ReferralError> {
        self.blocking(move |g| Ok(g.submit_referral(&draft_id)?)).await
    }

    /// Receipts of the referrals made on this handset, with their status.
    pub fn referral_receipts(&self) -> Result<Vec<Receipt>, ReferralError> {
        Ok(self.core().referral_receipts()?)
    }
}
