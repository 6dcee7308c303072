//! The referral form and its validation. Pure: plain values in, every field
//! error out at once. The rules themselves are the protocol's
//! (`guardian_protocol::referral`), the same functions the force's server
//! applies to the upload; this module adds only what a form has and a
//! record does not (parts still missing, the choice of authority).
//!
//! Nothing is checked while the officer types: a draft saves whatever it
//! holds, a date of birth included, and [`validate`] says at submit what
//! must change. Messages name the field and the problem, never the value,
//! so no personal data reaches a log or an error report.

use guardian_protocol::fix::Fix;
use guardian_protocol::referral::{self as rules, ConsentState, ReasonCode, SubjectFields};
use guardian_protocol::rules::Problems;
use guardian_protocol::time::Today;
use serde::{Deserialize, Serialize};

use super::authority::Authority;

pub use guardian_protocol::referral::{MAX_AGE, Urgency};
pub use guardian_protocol::rules::{FieldError, FieldProblem};

#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Subject {
    pub name: String,
    /// As typed (`YYYY-MM-DD` once valid): a draft keeps what the officer
    /// entered, and submit says if it is not a date.
    pub date_of_birth: Option<String>,
    /// When the date of birth is not known. Any number is accepted into a
    /// draft; validation says whether it makes sense.
    pub estimated_age: Option<i32>,
    pub address: Option<String>,
    pub school: Option<String>,
    pub carer_contact: Option<String>,
}

/// Never print a child's details, even in a debug log.
impl std::fmt::Debug for Subject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Subject(<redacted>)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "code", content = "text", rename_all = "snake_case")]
pub enum Reason {
    KnifeCarrying,
    CriminalExploitation,
    GangAssociation,
    VawgHarmfulSexualBehaviour,
    ParentInPrison,
    MissingEpisodes,
    SchoolExclusion,
    MentalHealth,
    Other(String),
}

impl Reason {
    /// The reason a code names (`text` only for `other`).
    pub fn from_code(code: ReasonCode, text: String) -> Self {
        match code {
            ReasonCode::KnifeCarrying => Reason::KnifeCarrying,
            ReasonCode::CriminalExploitation => Reason::CriminalExploitation,
            ReasonCode::GangAssociation => Reason::GangAssociation,
            ReasonCode::VawgHarmfulSexualBehaviour => Reason::VawgHarmfulSexualBehaviour,
            ReasonCode::ParentInPrison => Reason::ParentInPrison,
            ReasonCode::MissingEpisodes => Reason::MissingEpisodes,
            ReasonCode::SchoolExclusion => Reason::SchoolExclusion,
            ReasonCode::MentalHealth => Reason::MentalHealth,
            ReasonCode::Other => Reason::Other(text),
        }
    }

    pub fn code(&self) -> ReasonCode {
        match self {
            Reason::KnifeCarrying => ReasonCode::KnifeCarrying,
            Reason::CriminalExploitation => ReasonCode::CriminalExploitation,
            Reason::GangAssociation => ReasonCode::GangAssociation,
            Reason::VawgHarmfulSexualBehaviour => ReasonCode::VawgHarmfulSexualBehaviour,
            Reason::ParentInPrison => ReasonCode::ParentInPrison,
            Reason::MissingEpisodes => ReasonCode::MissingEpisodes,
            Reason::SchoolExclusion => ReasonCode::SchoolExclusion,
            Reason::MentalHealth => ReasonCode::MentalHealth,
            Reason::Other(_) => ReasonCode::Other,
        }
    }

    /// The officer's words, for `other` only.
    pub fn text(&self) -> Option<&str> {
        match self {
            Reason::Other(t) => Some(t),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", content = "reason", rename_all = "snake_case")]
pub enum Consent {
    Given,
    Refused(String),
    NotSought(String),
}

impl Consent {
    pub fn state(&self) -> ConsentState {
        match self {
            Consent::Given => ConsentState::Given,
            Consent::Refused(_) => ConsentState::Refused,
            Consent::NotSought(_) => ConsentState::NotSought,
        }
    }

    /// Why, when consent was refused or not sought.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Consent::Given => None,
            Consent::Refused(r) | Consent::NotSought(r) => Some(r),
        }
    }
}

/// The form as the officer fills it in: anything may be missing in a draft.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReferralForm {
    pub subject: Subject,
    pub reasons: Vec<Reason>,
    pub narrative: String,
    pub consent: Option<Consent>,
    /// A safeguarding concern lets a referral proceed without consent.
    pub safeguarding_concern: bool,
    pub urgency: Option<Urgency>,
    /// Where and when: the fix at the time of the encounter.
    pub location: Option<Fix>,
    /// Only used when the location is outside all seven authorities.
    pub authority_choice: Option<Authority>,
}

/// Only what carries no personal data: the narrative, the subject and free
/// text stay out of every debug log.
impl std::fmt::Debug for ReferralForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReferralForm")
            .field("reasons", &self.reasons.iter().map(Reason::code).collect::<Vec<_>>())
            .field("consent", &self.consent.as_ref().map(Consent::state))
            .field("safeguarding_concern", &self.safeguarding_concern)
            .field("urgency", &self.urgency)
            .field("has_location", &self.location.is_some())
            .field("authority_choice", &self.authority_choice)
            .finish_non_exhaustive()
    }
}

/// A referral that passed every rule, with its authority settled.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidReferral {
    pub form: ReferralForm,
    pub location: Fix,
    pub consent: Consent,
    pub urgency: Urgency,
    pub authority: Authority,
    /// True when routed from the location, false when the officer chose.
    pub routed: bool,
}

/// Validates the whole form at once. `today` is the officer's local date;
/// `routed` is where the location routes (None: outside all seven, or no
/// boundary data yet, with `why_unrouted` saying which).
pub fn validate(
    form: &ReferralForm,
    today: chrono::NaiveDate,
    routed: Option<Authority>,
    why_unrouted: &str,
) -> Result<ValidReferral, Vec<FieldError>> {
    let mut p = Problems::new();
    let s = &form.subject;
    rules::check_subject(
        &mut p,
        &SubjectFields {
            name: &s.name,
            date_of_birth: s.date_of_birth.as_deref(),
            estimated_age: s.estimated_age,
            address: s.address.as_deref(),
            school: s.school.as_deref(),
            carer_contact: s.carer_contact.as_deref(),
        },
        Today::exact(today),
    );
    let reasons: Vec<(ReasonCode, Option<&str>)> = form.reasons.iter().map(|r| (r.code(), r.text())).collect();
    rules::check_reasons(&mut p, &reasons);
    rules::check_narrative(&mut p, &form.narrative);
    rules::check_consent(
        &mut p,
        form.consent.as_ref().map(|c| (c.state(), c.reason())),
        form.safeguarding_concern,
    );
    if form.urgency.is_none() {
        p.add("urgency", FieldProblem::Required);
    }
    let location_ok = rules::check_location(&mut p, form.location.as_ref());
    let authority = match (routed, form.authority_choice) {
        (Some(a), _) => Some((a, true)),
        (None, Some(a)) => Some((a, false)),
        (None, None) => {
            if location_ok {
                p.add("authority", FieldProblem::ChooseAuthority(why_unrouted.to_string()));
            }
            None
        }
    };
    match (p.is_empty(), &form.location, &form.consent, form.urgency, authority) {
        (true, Some(location), Some(consent), Some(urgency), Some((authority, routed))) => Ok(ValidReferral {
            form: form.clone(),
            location: *location,
            consent: consent.clone(),
            urgency,
            authority,
            routed,
        }),
        _ => Err(p.into_vec()),
    }
}

#[cfg(test)]
mod tests;
