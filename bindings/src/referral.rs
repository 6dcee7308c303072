//! VRP referrals: the form, drafts, submission and receipts. Conversions
//! and thin calls only; every rule (validation, routing, retention, purging
//! personal data once the force has it) is in `guardian_core::referral`.
//!
//! The form holds a child's details: its records never print them in
//! `Debug`, and nothing here logs.

use chrono::NaiveDate;
use guardian_core::referral as core;
use guardian_protocol::referral::ReferralStatus as CoreStatus;

use crate::error::ReferralError;
use crate::guardian::Guardian;
use crate::types::Fix;

/// The seven local authorities whose VRP Navigator teams take referrals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum Authority {
    Birmingham,
    Coventry,
    Dudley,
    Sandwell,
    Solihull,
    Walsall,
    Wolverhampton,
}

impl From<core::Authority> for Authority {
    fn from(a: core::Authority) -> Self {
        match a {
            core::Authority::Birmingham => Authority::Birmingham,
            core::Authority::Coventry => Authority::Coventry,
            core::Authority::Dudley => Authority::Dudley,
            core::Authority::Sandwell => Authority::Sandwell,
            core::Authority::Solihull => Authority::Solihull,
            core::Authority::Walsall => Authority::Walsall,
            core::Authority::Wolverhampton => Authority::Wolverhampton,
        }
    }
}

impl From<Authority> for core::Authority {
    fn from(a: Authority) -> Self {
        match a {
            Authority::Birmingham => core::Authority::Birmingham,
            Authority::Coventry => core::Authority::Coventry,
            Authority::Dudley => core::Authority::Dudley,
            Authority::Sandwell => core::Authority::Sandwell,
            Authority::Solihull => core::Authority::Solihull,
            Authority::Walsall => core::Authority::Walsall,
            Authority::Wolverhampton => core::Authority::Wolverhampton,
        }
    }
}

/// The authority's name as an officer reads it.
#[uniffi::export]
pub fn authority_name(authority: Authority) -> String {
    core::Authority::from(authority).name().to_string()
}

/// The young person. Dates are "YYYY-MM-DD".
#[derive(Clone, Default, PartialEq, uniffi::Record)]
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

impl std::fmt::Debug for Subject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Subject(<redacted>)")
    }
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Urgency {
    Routine,
    Priority,
    Urgent,
}

impl From<Urgency> for core::Urgency {
    fn from(u: Urgency) -> Self {
        match u {
            Urgency::Routine => core::Urgency::Routine,
            Urgency::Priority => core::Urgency::Priority,
            Urgency::Urgent => core::Urgency::Urgent,
        }
    }
}

impl From<core::Urgency> for Urgency {
    fn from(u: core::Urgency) -> Self {
        match u {
            core::Urgency::Routine => Urgency::Routine,
            core::Urgency::Priority => Urgency::Priority,
            core::Urgency::Urgent => Urgency::Urgent,
        }
    }
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

const DATE_OF_BIRTH: &str = "subject.date_of_birth";

impl TryFrom<ReferralForm> for core::ReferralForm {
    type Error = ReferralError;

    fn try_from(f: ReferralForm) -> Result<Self, ReferralError> {
        let date_of_birth = match f.subject.date_of_birth.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => Some(
                NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| ReferralError::Invalid {
                    fields: vec![FieldError {
                        field: DATE_OF_BIRTH.to_string(),
                        problem: FieldProblem::NotADate,
                        message: format!("{DATE_OF_BIRTH}: is not a date (YYYY-MM-DD)"),
                    }],
                })?,
            ),
        };
        Ok(core::ReferralForm {
            subject: core::Subject {
                name: f.subject.name,
                date_of_birth,
                estimated_age: f.subject.estimated_age,
                address: f.subject.address,
                school: f.subject.school,
                carer_contact: f.subject.carer_contact,
            },
            reasons: f.reasons.into_iter().map(Into::into).collect(),
            narrative: f.narrative,
            consent: f.consent.map(Into::into),
            safeguarding_concern: f.safeguarding_concern,
            urgency: f.urgency.map(Into::into),
            location: f.location.map(Into::into),
            authority_choice: f.authority_choice.map(Into::into),
        })
    }
}

impl From<core::ReferralForm> for ReferralForm {
    fn from(f: core::ReferralForm) -> Self {
        let loc = f.location;
        ReferralForm {
            subject: Subject {
                name: f.subject.name,
                date_of_birth: f.subject.date_of_birth.map(|d| d.format("%Y-%m-%d").to_string()),
                estimated_age: f.subject.estimated_age,
                address: f.subject.address,
                school: f.subject.school,
                carer_contact: f.subject.carer_contact,
            },
            reasons: f.reasons.into_iter().map(Into::into).collect(),
            narrative: f.narrative,
            consent: f.consent.map(Into::into),
            safeguarding_concern: f.safeguarding_concern,
            urgency: f.urgency.map(Into::into),
            location: loc.map(|x| Fix {
                time_ms: x.time_ms,
                mono_ns: x.mono_ns,
                lat: x.lat,
                lon: x.lon,
                accuracy_m: x.accuracy_m,
                altitude_m: x.altitude_m,
                speed_mps: x.speed_mps,
                bearing_deg: x.bearing_deg,
            }),
            authority_choice: f.authority_choice.map(Into::into),
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
        let n = |v: usize| u32::try_from(v).unwrap_or(u32::MAX);
        let problem = match &e.problem {
            core::FieldProblem::Required => FieldProblem::Required,
            core::FieldProblem::TooLong { max } => FieldProblem::TooLong { max: n(*max) },
            core::FieldProblem::TooShort { min } => FieldProblem::TooShort { min: n(*min) },
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
            field: e.field.to_string(),
            problem,
        }
    }
}

/// A draft in the list of drafts: no personal data.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct DraftSummary {
    pub id: String,
    pub created_ms: i64,
    pub updated_ms: i64,
    /// When it will be discarded (drafts are personal data at rest).
    pub expires_ms: i64,
    /// Set once the draft is close to being discarded.
    pub warning: Option<String>,
}

impl From<core::DraftSummary> for DraftSummary {
    fn from(d: core::DraftSummary) -> Self {
        DraftSummary {
            id: d.id,
            created_ms: d.created_ms,
            updated_ms: d.updated_ms,
            expires_ms: d.expires_ms,
            warning: d.warning,
        }
    }
}

/// Where a referral stands with the Navigator team.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ReferralStatus {
    /// On the handset, not yet acknowledged by the force.
    Queued,
    Received,
    Assigned,
    Contacted,
    Closed,
}

impl From<CoreStatus> for ReferralStatus {
    fn from(s: CoreStatus) -> Self {
        match s {
            CoreStatus::Queued => ReferralStatus::Queued,
            CoreStatus::Received => ReferralStatus::Received,
            CoreStatus::Assigned => ReferralStatus::Assigned,
            CoreStatus::Contacted => ReferralStatus::Contacted,
            CoreStatus::Closed => ReferralStatus::Closed,
        }
    }
}

/// What the officer keeps once a referral is submitted: no names.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Receipt {
    pub id: String,
    /// Readable out on the phone, e.g. "VRP-1A2B3C4D".
    pub reference: String,
    pub authority: Authority,
    /// Reason codes, e.g. "knife_carrying".
    pub reasons: Vec<String>,
    pub urgency: String,
    pub created_ms: i64,
    pub status: ReferralStatus,
    pub status_ms: i64,
    pub patrol_id: Option<String>,
    pub area_id: Option<String>,
}

impl From<core::Receipt> for Receipt {
    fn from(r: core::Receipt) -> Self {
        Receipt {
            id: r.id,
            reference: r.reference,
            authority: r.authority.into(),
            reasons: r.reasons,
            urgency: r.urgency,
            created_ms: r.created_ms,
            status: r.status.into(),
            status_ms: r.status_ms,
            patrol_id: r.patrol_id,
            area_id: r.area_id,
        }
    }
}

/// Where a referral made at a place would go, or why the officer must choose.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct RoutePreview {
    pub authority: Option<Authority>,
    pub needs_choice: Option<String>,
}

#[uniffi::export(async_runtime = "tokio")]
impl Guardian {
    /// Where a referral made at (`lat`, `lon`) would go.
    pub fn route_referral(&self, lat: f64, lon: f64) -> RoutePreview {
        let p = self.core().route_referral(lat, lon);
        RoutePreview {
            authority: p.authority.map(Into::into),
            needs_choice: p.needs_choice,
        }
    }

    /// Saves a draft (a new one when `draft_id` is `None`) and returns its
    /// id. Every edit is durable; nothing is validated until submit.
    pub fn save_referral_draft(&self, draft_id: Option<String>, form: ReferralForm) -> Result<String, ReferralError> {
        let form = core::ReferralForm::try_from(form)?;
        Ok(self.core().save_referral_draft(draft_id.as_deref(), &form)?)
    }

    pub fn referral_draft(&self, draft_id: String) -> Result<ReferralForm, ReferralError> {
        Ok(self.core().referral_draft(&draft_id)?.into())
    }

    /// The drafts, newest first; expired ones are discarded first.
    pub fn referral_drafts(&self) -> Result<Vec<DraftSummary>, ReferralError> {
        Ok(self.core().referral_drafts()?.into_iter().map(Into::into).collect())
    }

    pub fn discard_referral_draft(&self, draft_id: String) -> Result<(), ReferralError> {
        Ok(self.core().discard_referral_draft(&draft_id)?)
    }

    /// Validates the whole draft (`ReferralError.Invalid` lists every
    /// problem); if valid, queues it for the force and removes the draft in
    /// one commit. Returns the receipt.
    pub async fn submit_referral(&self, draft_id: String) -> Result<Receipt, ReferralError> {
        self.blocking(move |g| Ok(g.submit_referral(&draft_id)?.into())).await
    }

    /// Receipts of the referrals made on this handset, with their status.
    pub fn referral_receipts(&self) -> Result<Vec<Receipt>, ReferralError> {
        Ok(self.core().referral_receipts()?.into_iter().map(Into::into).collect())
    }
}
