//! The referral form and its validation. Pure: plain values in, every field
//! error out at once. Messages name the field and the problem, never the
//! value, so no personal data reaches a log or an error report.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use super::authority::Authority;
use crate::patrol::Fix;

pub const MAX_NAME: usize = 100;
pub const MAX_SHORT_TEXT: usize = 300;
pub const MIN_NARRATIVE: usize = 10;
pub const MAX_NARRATIVE: usize = 4_000;
/// Navigators work with children and young people.
pub const MAX_AGE: i32 = 25;

#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Subject {
    pub name: String,
    pub date_of_birth: Option<NaiveDate>,
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
    pub fn code(&self) -> &'static str {
        match self {
            Reason::KnifeCarrying => "knife_carrying",
            Reason::CriminalExploitation => "criminal_exploitation",
            Reason::GangAssociation => "gang_association",
            Reason::VawgHarmfulSexualBehaviour => "vawg_harmful_sexual_behaviour",
            Reason::ParentInPrison => "parent_in_prison",
            Reason::MissingEpisodes => "missing_episodes",
            Reason::SchoolExclusion => "school_exclusion",
            Reason::MentalHealth => "mental_health",
            Reason::Other(_) => "other",
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
    pub fn state(&self) -> &'static str {
        match self {
            Consent::Given => "given",
            Consent::Refused(_) => "refused",
            Consent::NotSought(_) => "not_sought",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    Routine,
    Priority,
    Urgent,
}

impl Urgency {
    pub fn as_str(self) -> &'static str {
        match self {
            Urgency::Routine => "routine",
            Urgency::Priority => "priority",
            Urgency::Urgent => "urgent",
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct FieldError {
    /// Stable field path, e.g. `subject.date_of_birth`.
    pub field: &'static str,
    pub problem: FieldProblem,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FieldProblem {
    #[error("is required")]
    Required,
    #[error("is too long (at most {max} characters)")]
    TooLong { max: usize },
    #[error("is too short (at least {min} characters)")]
    TooShort { min: usize },
    #[error("contains control characters")]
    ControlCharacters,
    #[error("is in the future")]
    InFuture,
    #[error("must be between {min} and {max}")]
    OutOfRange { min: i32, max: i32 },
    #[error("does not agree with the date of birth")]
    Inconsistent,
    #[error("lists the same reason twice")]
    Duplicate,
    #[error("needs a reason when consent is not given")]
    NeedsReason,
    #[error("without consent, a referral can only proceed as a safeguarding concern")]
    NeedsConsentOrSafeguarding,
    #[error("is not a usable location")]
    BadLocation,
    #[error("{0}")]
    ChooseAuthority(String),
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
/// boundary data yet, with `why` saying which).
pub fn validate(
    form: &ReferralForm,
    today: NaiveDate,
    routed: Option<Authority>,
    why_unrouted: &str,
) -> Result<ValidReferral, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut err = |field: &'static str, problem: FieldProblem| errors.push(FieldError { field, problem });

    let s = &form.subject;
    if let Some(p) = text_problem(&s.name, 1, MAX_NAME, false) {
        err("subject.name", p);
    }
    for (field, value) in [
        ("subject.address", &s.address),
        ("subject.school", &s.school),
        ("subject.carer_contact", &s.carer_contact),
    ] {
        if let Some(p) = value
            .as_deref()
            .and_then(|v| text_problem(v, 0, MAX_SHORT_TEXT, field == "subject.address"))
        {
            err(field, p);
        }
    }
    let dob_age = match s.date_of_birth {
        Some(dob) if dob > today => {
            err("subject.date_of_birth", FieldProblem::InFuture);
            None
        }
        Some(dob) => {
            let age = age_on(dob, today);
            if age > MAX_AGE {
                err(
                    "subject.date_of_birth",
                    FieldProblem::OutOfRange { min: 0, max: MAX_AGE },
                );
            }
            Some(age)
        }
        None => None,
    };
    match (s.estimated_age, dob_age) {
        (Some(a), _) if !(0..=MAX_AGE).contains(&a) => err(
            "subject.estimated_age",
            FieldProblem::OutOfRange { min: 0, max: MAX_AGE },
        ),
        (Some(a), Some(d)) if (a - d).abs() > 1 => err("subject.estimated_age", FieldProblem::Inconsistent),
        (None, None) if s.date_of_birth.is_none() => err("subject.date_of_birth", FieldProblem::Required),
        _ => {}
    }

    if form.reasons.is_empty() {
        err("reasons", FieldProblem::Required);
    }
    let mut seen = std::collections::HashSet::new();
    for r in &form.reasons {
        if !seen.insert(r.code()) {
            err("reasons", FieldProblem::Duplicate);
        }
        if let Reason::Other(text) = r
            && let Some(p) = text_problem(text, 1, MAX_SHORT_TEXT, false)
        {
            err("reasons.other", p);
        }
    }
    if let Some(p) = text_problem(&form.narrative, MIN_NARRATIVE, MAX_NARRATIVE, true) {
        err("narrative", p);
    }
    match &form.consent {
        None => err("consent", FieldProblem::Required),
        Some(Consent::Given) => {}
        Some(Consent::Refused(why) | Consent::NotSought(why)) => {
            if why.trim().is_empty() {
                err("consent.reason", FieldProblem::NeedsReason);
            } else if let Some(p) = text_problem(why, 1, MAX_SHORT_TEXT, true) {
                err("consent.reason", p);
            }
            if !form.safeguarding_concern {
                err("consent", FieldProblem::NeedsConsentOrSafeguarding);
            }
        }
    }
    if form.urgency.is_none() {
        err("urgency", FieldProblem::Required);
    }
    let location_ok = match &form.location {
        None => {
            err("location", FieldProblem::Required);
            false
        }
        Some(f) if f.validate().is_err() => {
            err("location", FieldProblem::BadLocation);
            false
        }
        Some(_) => true,
    };
    let authority = match (routed, form.authority_choice) {
        (Some(a), _) => Some((a, true)),
        (None, Some(a)) => Some((a, false)),
        (None, None) => {
            if location_ok {
                err("authority", FieldProblem::ChooseAuthority(why_unrouted.to_string()));
            }
            None
        }
    };

    match (
        errors.is_empty(),
        &form.location,
        &form.consent,
        form.urgency,
        authority,
    ) {
        (true, Some(location), Some(consent), Some(urgency), Some((authority, routed))) => Ok(ValidReferral {
            form: form.clone(),
            location: *location,
            consent: consent.clone(),
            urgency,
            authority,
            routed,
        }),
        _ => Err(errors),
    }
}

/// Length in characters and control characters; `multiline` allows line
/// breaks and tabs (a narrative, an address).
fn text_problem(value: &str, min: usize, max: usize, multiline: bool) -> Option<FieldProblem> {
    let trimmed = value.trim();
    let n = trimmed.chars().count();
    if n == 0 && min > 0 {
        return Some(FieldProblem::Required);
    }
    if n > max {
        return Some(FieldProblem::TooLong { max });
    }
    if n < min {
        return Some(FieldProblem::TooShort { min });
    }
    if trimmed
        .chars()
        .any(|c| c.is_control() && !(multiline && (c == '\n' || c == '\t' || c == '\r')))
    {
        return Some(FieldProblem::ControlCharacters);
    }
    None
}

fn age_on(dob: NaiveDate, today: NaiveDate) -> i32 {
    let mut age = today.year() - dob.year();
    if (today.month(), today.day()) < (dob.month(), dob.day()) {
        age -= 1;
    }
    age
}

#[cfg(test)]
mod tests;
