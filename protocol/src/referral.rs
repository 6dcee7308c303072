//! VRP Navigator referrals on the wire: the record, its codes, the seven
//! authorities, the forward-only status, and the rules a referral must pass.
//!
//! The rules are written once, as functions over plain field values. The
//! handset's form validation calls them on what the officer typed; the
//! server calls them (through [`ReferralRecord::validate`]) on the upload.
//! The same invalid value therefore gets the same field name and problem on
//! both sides, and a referral the handset accepted is never refused for a
//! rule the handset did not know.
//!
//! A referral is about a child or young person: problems name fields,
//! never values.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::fix::Fix;
use crate::rules::{FieldError, FieldProblem, MAX_ID_LEN, Problems, Text, id_problem};
use crate::time::{Today, age_on, plausible_ms};

/// The referral record format this build writes and the server reads.
pub const REFERRAL_FORMAT: u32 = 1;

/// The young person's name.
pub const NAME: Text = Text::line(1, 100);
/// An address (line breaks allowed).
pub const ADDRESS: Text = Text::lines(0, 300);
pub const SCHOOL: Text = Text::line(0, 300);
pub const CARER_CONTACT: Text = Text::line(0, 300);
/// The text of an "other" reason.
pub const OTHER_REASON: Text = Text::line(1, 300);
/// Why consent was refused or not sought.
pub const CONSENT_REASON: Text = Text::lines(1, 300);
pub const NARRATIVE: Text = Text::lines(10, 4_000);
/// Navigators work with children and young people.
pub const MAX_AGE: i32 = 25;

// ---- codes --------------------------------------------------------------------

/// Why the officer is referring. The wire name is the snake_case code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[serde(try_from = "String")]
pub enum ReasonCode {
    KnifeCarrying,
    CriminalExploitation,
    GangAssociation,
    VawgHarmfulSexualBehaviour,
    ParentInPrison,
    MissingEpisodes,
    SchoolExclusion,
    MentalHealth,
    /// With the officer's own words.
    Other,
}

impl ReasonCode {
    pub const ALL: [ReasonCode; 9] = [
        ReasonCode::KnifeCarrying,
        ReasonCode::CriminalExploitation,
        ReasonCode::GangAssociation,
        ReasonCode::VawgHarmfulSexualBehaviour,
        ReasonCode::ParentInPrison,
        ReasonCode::MissingEpisodes,
        ReasonCode::SchoolExclusion,
        ReasonCode::MentalHealth,
        ReasonCode::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReasonCode::KnifeCarrying => "knife_carrying",
            ReasonCode::CriminalExploitation => "criminal_exploitation",
            ReasonCode::GangAssociation => "gang_association",
            ReasonCode::VawgHarmfulSexualBehaviour => "vawg_harmful_sexual_behaviour",
            ReasonCode::ParentInPrison => "parent_in_prison",
            ReasonCode::MissingEpisodes => "missing_episodes",
            ReasonCode::SchoolExclusion => "school_exclusion",
            ReasonCode::MentalHealth => "mental_health",
            ReasonCode::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[serde(try_from = "String")]
pub enum Urgency {
    Routine,
    Priority,
    Urgent,
}

impl Urgency {
    pub const ALL: [Urgency; 3] = [Urgency::Routine, Urgency::Priority, Urgency::Urgent];

    pub fn as_str(self) -> &'static str {
        match self {
            Urgency::Routine => "routine",
            Urgency::Priority => "priority",
            Urgency::Urgent => "urgent",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|u| u.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[serde(try_from = "String")]
pub enum ConsentState {
    Given,
    Refused,
    NotSought,
}

impl ConsentState {
    pub const ALL: [ConsentState; 3] = [ConsentState::Given, ConsentState::Refused, ConsentState::NotSought];

    pub fn as_str(self) -> &'static str {
        match self {
            ConsentState::Given => "given",
            ConsentState::Refused => "refused",
            ConsentState::NotSought => "not_sought",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// How the authority was settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[serde(try_from = "String")]
pub enum AuthoritySource {
    /// From the location, against the synced boundaries.
    Routed,
    /// By the officer, when the location is outside all seven.
    Chosen,
}

impl AuthoritySource {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "routed" => Some(AuthoritySource::Routed),
            "chosen" => Some(AuthoritySource::Chosen),
            _ => None,
        }
    }
}

crate::rules::names_only!(
    ReasonCode,
    Urgency,
    ConsentState,
    AuthoritySource,
    Authority,
    ReferralStatus
);

/// The seven local authorities whose VRP Navigator teams take referrals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[serde(try_from = "String")]
pub enum Authority {
    Birmingham,
    Coventry,
    Dudley,
    Sandwell,
    Solihull,
    Walsall,
    Wolverhampton,
}

impl Authority {
    pub const ALL: [Authority; 7] = [
        Authority::Birmingham,
        Authority::Coventry,
        Authority::Dudley,
        Authority::Sandwell,
        Authority::Solihull,
        Authority::Walsall,
        Authority::Wolverhampton,
    ];

    pub fn slug(self) -> &'static str {
        match self {
            Authority::Birmingham => "birmingham",
            Authority::Coventry => "coventry",
            Authority::Dudley => "dudley",
            Authority::Sandwell => "sandwell",
            Authority::Solihull => "solihull",
            Authority::Walsall => "walsall",
            Authority::Wolverhampton => "wolverhampton",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Authority::Birmingham => "Birmingham",
            Authority::Coventry => "Coventry",
            Authority::Dudley => "Dudley",
            Authority::Sandwell => "Sandwell",
            Authority::Solihull => "Solihull",
            Authority::Walsall => "Walsall",
            Authority::Wolverhampton => "Wolverhampton",
        }
    }

    /// The ONS code of the metropolitan district.
    pub fn ons_code(self) -> &'static str {
        match self {
            Authority::Birmingham => "E08000025",
            Authority::Coventry => "E08000026",
            Authority::Dudley => "E08000027",
            Authority::Sandwell => "E08000028",
            Authority::Solihull => "E08000029",
            Authority::Walsall => "E08000030",
            Authority::Wolverhampton => "E08000031",
        }
    }

    /// By slug or ONS code, any case: force systems use either.
    pub fn parse(s: &str) -> Option<Authority> {
        let s = s.trim();
        Self::ALL
            .into_iter()
            .find(|a| a.slug().eq_ignore_ascii_case(s) || a.ons_code().eq_ignore_ascii_case(s))
    }
}

impl std::fmt::Display for Authority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Where a referral stands with the Navigator team. It only moves forward
/// (in the order of the variants); steps may be skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[serde(try_from = "String")]
pub enum ReferralStatus {
    /// Queued on the handset, not yet acknowledged by the force.
    Queued,
    /// The force has it (acknowledged upload).
    Received,
    Assigned,
    Contacted,
    Closed,
}

impl ReferralStatus {
    pub const ALL: [ReferralStatus; 5] = [
        ReferralStatus::Queued,
        ReferralStatus::Received,
        ReferralStatus::Assigned,
        ReferralStatus::Contacted,
        ReferralStatus::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReferralStatus::Queued => "queued",
            ReferralStatus::Received => "received",
            ReferralStatus::Assigned => "assigned",
            ReferralStatus::Contacted => "contacted",
            ReferralStatus::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    fn step(self) -> usize {
        Self::ALL.iter().position(|s| *s == self).unwrap_or(0)
    }

    /// Would moving from `self` to `to` go forward? Equal is not forward:
    /// an update that arrives twice changes nothing the second time.
    pub fn advances_to(self, to: ReferralStatus) -> bool {
        to.step() > self.step()
    }

    /// What a Navigator may set: the steps after the force has it.
    pub fn set_by_navigator(self) -> bool {
        matches!(
            self,
            ReferralStatus::Assigned | ReferralStatus::Contacted | ReferralStatus::Closed
        )
    }
}

// ---- the record -------------------------------------------------------------

/// A referral to the VRP Navigators: `POST /v1/referrals`. The most
/// sensitive record the handset holds: it is purged from the handset once
/// the force acknowledges it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReferralRecord {
    pub id: String,
    pub format: u32,
    /// Shown to the officer and quoted by the Navigator team.
    pub reference: String,
    pub officer_id: String,
    pub created_ms: i64,
    /// Authority slug (the server also reads an ONS code).
    pub authority: String,
    pub authority_source: AuthoritySource,
    pub reasons: Vec<ReasonWire>,
    pub urgency: Urgency,
    pub consent: ConsentWire,
    pub safeguarding_concern: bool,
    pub narrative: String,
    pub subject: SubjectWire,
    pub location: LocationWire,
    pub patrol_id: Option<String>,
    pub area_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReasonWire {
    pub code: ReasonCode,
    /// Only for `other`.
    pub text: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentWire {
    pub state: ConsentState,
    /// Why, when consent was refused or not sought.
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubjectWire {
    pub name: String,
    /// `YYYY-MM-DD`.
    pub date_of_birth: Option<String>,
    pub estimated_age: Option<u8>,
    pub address: Option<String>,
    pub school: Option<String>,
    pub carer_contact: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LocationWire {
    pub time_ms: i64,
    pub lat: f64,
    pub lon: f64,
    pub accuracy_m: f64,
}

/// How a referral ended, as the Navigator team records it on closing: the
/// code the referring officer's handset shows (never the team's notes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The young person took up the offer of support.
    Engaged,
    Declined,
    UnableToContact,
    /// Outside the programme (age, area, already supported elsewhere).
    NotEligible,
}

impl Outcome {
    pub const ALL: [Outcome; 4] = [
        Outcome::Engaged,
        Outcome::Declined,
        Outcome::UnableToContact,
        Outcome::NotEligible,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Engaged => "engaged",
            Outcome::Declined => "declined",
            Outcome::UnableToContact => "unable_to_contact",
            Outcome::NotEligible => "not_eligible",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == s)
    }

    /// For people: the page and the handset say this.
    pub fn words(self) -> &'static str {
        match self {
            Outcome::Engaged => "Engaged with support",
            Outcome::Declined => "Declined support",
            Outcome::UnableToContact => "Unable to contact",
            Outcome::NotEligible => "Not eligible",
        }
    }
}

/// Why a Navigator team passed a referral to another authority's: codes,
/// so the reason is never free text about a child.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransferReason {
    /// Where it happened is the other authority's.
    WrongArea,
    /// The young person lives in the other authority.
    LivesThere,
    /// The other team already works with them.
    KnownThere,
}

impl TransferReason {
    pub const ALL: [TransferReason; 3] = [
        TransferReason::WrongArea,
        TransferReason::LivesThere,
        TransferReason::KnownThere,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TransferReason::WrongArea => "wrong_area",
            TransferReason::LivesThere => "lives_there",
            TransferReason::KnownThere => "known_there",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == s)
    }

    pub fn words(self) -> &'static str {
        match self {
            TransferReason::WrongArea => "It happened in the other authority's area",
            TransferReason::LivesThere => "The young person lives in the other authority",
            TransferReason::KnownThere => "The other team already works with them",
        }
    }
}

/// A Navigator-side status change, delivered to the referring officer's
/// handset in the sync reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReferralUpdate {
    pub referral_id: String,
    pub status: ReferralStatus,
    pub time_ms: i64,
    /// The team that holds it now (slug): another after a transfer, or
    /// after the server routed it by its own boundaries. Absent from
    /// servers before the Navigator's desk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authority: Option<String>,
    /// How it ended, once closed with one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
}

/// A referral as the officer may see it after it left the handset: no
/// personal data. `GET /v1/me/referrals`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReferralReceiptWire {
    pub id: String,
    pub reference: String,
    pub authority: String,
    pub reasons: Vec<ReasonCode>,
    pub created_ms: i64,
    pub status: ReferralStatus,
}

// ---- the rules, one function per part of the form --------------------------

/// The young person as entered: name, how old, where to find them.
#[derive(Debug, Clone, Copy)]
pub struct SubjectFields<'a> {
    pub name: &'a str,
    /// As typed: parsed here, so a draft may hold anything.
    pub date_of_birth: Option<&'a str>,
    pub estimated_age: Option<i32>,
    pub address: Option<&'a str>,
    pub school: Option<&'a str>,
    pub carer_contact: Option<&'a str>,
}

pub fn check_subject(p: &mut Problems, s: &SubjectFields<'_>, today: Today) {
    p.check("subject.name", NAME.problem(s.name));
    for (field, rule, value) in [
        ("subject.address", ADDRESS, s.address),
        ("subject.school", SCHOOL, s.school),
        ("subject.carer_contact", CARER_CONTACT, s.carer_contact),
    ] {
        p.check(field, value.and_then(|v| rule.problem(v)));
    }
    // The ages the date of birth allows, youngest and oldest, across the
    // days "today" may be.
    let dob_ages = match s.date_of_birth.map(str::trim).filter(|d| !d.is_empty()) {
        None => None,
        Some(text) => match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            Err(_) => {
                p.add("subject.date_of_birth", FieldProblem::NotADate);
                None
            }
            Ok(dob) if dob > today.latest => {
                p.add("subject.date_of_birth", FieldProblem::InFuture);
                None
            }
            Ok(dob) => {
                let ages = (age_on(dob, today.earliest), age_on(dob, today.latest));
                if ages.0 > MAX_AGE {
                    p.add(
                        "subject.date_of_birth",
                        FieldProblem::OutOfRange { min: 0, max: MAX_AGE },
                    );
                }
                Some(ages)
            }
        },
    };
    let dob_given = s.date_of_birth.is_some_and(|d| !d.trim().is_empty());
    match (s.estimated_age, dob_ages) {
        (Some(a), _) if !(0..=MAX_AGE).contains(&a) => p.add(
            "subject.estimated_age",
            FieldProblem::OutOfRange { min: 0, max: MAX_AGE },
        ),
        (Some(a), Some((young, old))) if a < young - 1 || a > old + 1 => {
            p.add("subject.estimated_age", FieldProblem::Inconsistent)
        }
        (None, _) if !dob_given => p.add("subject.date_of_birth", FieldProblem::Required),
        _ => {}
    }
}

/// The reasons, each with the officer's words for `other`.
pub fn check_reasons(p: &mut Problems, reasons: &[(ReasonCode, Option<&str>)]) {
    if reasons.is_empty() {
        p.add("reasons", FieldProblem::Required);
        return;
    }
    if reasons.len() > ReasonCode::ALL.len() {
        p.add(
            "reasons",
            FieldProblem::TooMany {
                max: ReasonCode::ALL.len(),
            },
        );
        return;
    }
    let mut seen = std::collections::HashSet::new();
    for (code, text) in reasons {
        if !seen.insert(*code) {
            p.add("reasons", FieldProblem::Duplicate);
        }
        match (code, text) {
            (ReasonCode::Other, text) => p.check("reasons.other", OTHER_REASON.problem(text.unwrap_or(""))),
            (_, Some(_)) => p.add("reasons.text", FieldProblem::Unexpected),
            (_, None) => {}
        }
    }
}

/// Consent, and its reason when not given: without consent, only a
/// safeguarding concern lets a referral proceed.
pub fn check_consent(p: &mut Problems, consent: Option<(ConsentState, Option<&str>)>, safeguarding: bool) {
    match consent {
        None => p.add("consent", FieldProblem::Required),
        Some((ConsentState::Given, None)) => {}
        Some((ConsentState::Given, Some(_))) => p.add("consent.reason", FieldProblem::Unexpected),
        Some((_, why)) => {
            match why.map(str::trim).filter(|w| !w.is_empty()) {
                None => p.add("consent.reason", FieldProblem::NeedsReason),
                Some(w) => p.check("consent.reason", CONSENT_REASON.problem(w)),
            }
            if !safeguarding {
                p.add("consent", FieldProblem::NeedsConsentOrSafeguarding);
            }
        }
    }
}

pub fn check_narrative(p: &mut Problems, narrative: &str) {
    p.check("narrative", NARRATIVE.problem(narrative));
}

/// Where and when the young person was met. Returns whether it is usable.
pub fn check_location(p: &mut Problems, location: Option<&Fix>) -> bool {
    match location {
        None => {
            p.add("location", FieldProblem::Required);
            false
        }
        Some(f) if f.validate().is_err() => {
            p.add("location", FieldProblem::BadLocation);
            false
        }
        Some(_) => true,
    }
}

impl ReferralRecord {
    /// Every rule of a referral the server stores and routes (the format is
    /// the caller's to check first). Returns the authority it goes to, or
    /// every problem at once.
    pub fn validate(&self, today: Today) -> Result<Authority, Vec<FieldError>> {
        let mut p = Problems::new();
        for (field, value) in [
            ("id", self.id.as_str()),
            ("reference", &self.reference),
            ("officer_id", &self.officer_id),
        ] {
            p.check(field, id_problem(value, MAX_ID_LEN));
        }
        for (field, value) in [("patrol_id", &self.patrol_id), ("area_id", &self.area_id)] {
            p.check(field, value.as_deref().and_then(|v| id_problem(v, MAX_ID_LEN)));
        }
        if !plausible_ms(self.created_ms) {
            p.add("created_ms", FieldProblem::ImplausibleTime);
        }
        let authority = Authority::parse(&self.authority);
        if authority.is_none() {
            p.add("authority", FieldProblem::Unknown);
        }
        let s = &self.subject;
        check_subject(
            &mut p,
            &SubjectFields {
                name: &s.name,
                date_of_birth: s.date_of_birth.as_deref(),
                estimated_age: s.estimated_age.map(i32::from),
                address: s.address.as_deref(),
                school: s.school.as_deref(),
                carer_contact: s.carer_contact.as_deref(),
            },
            today,
        );
        let reasons: Vec<(ReasonCode, Option<&str>)> =
            self.reasons.iter().map(|r| (r.code, r.text.as_deref())).collect();
        check_reasons(&mut p, &reasons);
        check_narrative(&mut p, &self.narrative);
        check_consent(
            &mut p,
            Some((self.consent.state, self.consent.reason.as_deref())),
            self.safeguarding_concern,
        );
        let l = &self.location;
        check_location(&mut p, Some(&Fix::new(l.time_ms, 0, l.lat, l.lon, l.accuracy_m)));
        match (p.is_empty(), authority) {
            (true, Some(a)) => Ok(a),
            _ => Err(p.into_vec()),
        }
    }
}

/// For an upload that is JSON but not a referral: the coded fields whose
/// value is not one of the codes (a newer handset, a force system's typo),
/// so the answer can name them. Empty when the fault is elsewhere.
pub fn unknown_codes(upload: &serde_json::Value) -> Vec<FieldError> {
    fn known<T: serde::de::DeserializeOwned>(v: Option<&serde_json::Value>) -> bool {
        v.is_none_or(|v| serde_json::from_value::<T>(v.clone()).is_ok())
    }
    let mut p = Problems::new();
    if !known::<AuthoritySource>(upload.get("authority_source")) {
        p.add("authority_source", FieldProblem::Unknown);
    }
    if let Some(reasons) = upload.get("reasons").and_then(serde_json::Value::as_array)
        && reasons.iter().any(|r| !known::<ReasonCode>(r.get("code")))
    {
        p.add("reasons.code", FieldProblem::Unknown);
    }
    if !known::<Urgency>(upload.get("urgency")) {
        p.add("urgency", FieldProblem::Unknown);
    }
    if !known::<ConsentState>(upload.get("consent").and_then(|c| c.get("state"))) {
        p.add("consent.state", FieldProblem::Unknown);
    }
    p.into_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> Today {
        Today::exact(NaiveDate::from_ymd_opt(2026, 7, 1).expect("date"))
    }

    pub(crate) fn record() -> ReferralRecord {
        ReferralRecord {
            id: "0190a0b0-0000-7000-8000-000000000001".into(),
            format: REFERRAL_FORMAT,
            reference: "VRP-00000001".into(),
            officer_id: "pc-1".into(),
            created_ms: 1_782_900_000_000,
            authority: "birmingham".into(),
            authority_source: AuthoritySource::Routed,
            reasons: vec![ReasonWire {
                code: ReasonCode::KnifeCarrying,
                text: None,
            }],
            urgency: Urgency::Priority,
            consent: ConsentWire {
                state: ConsentState::Given,
                reason: None,
            },
            safeguarding_concern: false,
            narrative: "Seen carrying a blade near the Ramp; spoke with him.".into(),
            subject: SubjectWire {
                name: "A Young Person".into(),
                date_of_birth: Some("2010-05-17".into()),
                estimated_age: None,
                address: None,
                school: None,
                carer_contact: None,
            },
            location: LocationWire {
                time_ms: 1_782_900_000_000,
                lat: 52.4797,
                lon: -1.9026,
                accuracy_m: 6.0,
            },
            patrol_id: None,
            area_id: None,
        }
    }

    fn fields(r: &ReferralRecord) -> Vec<String> {
        match r.validate(today()) {
            Ok(_) => Vec::new(),
            Err(e) => e.into_iter().map(|e| e.field).collect(),
        }
    }

    #[test]
    fn a_good_record_routes_to_its_authority_by_slug_or_ons_code() {
        assert_eq!(record().validate(today()), Ok(Authority::Birmingham));
        let mut r = record();
        r.authority = "E08000026".into();
        assert_eq!(r.validate(today()), Ok(Authority::Coventry));
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let mut r = record();
        r.subject.name = "x".repeat(101);
        r.subject.school = Some("bell\u{7}".into());
        r.narrative = "short".into();
        r.authority = "leicester".into();
        assert_eq!(fields(&r), ["authority", "subject.name", "subject.school", "narrative"]);
    }

    #[test]
    fn dates_of_birth_must_be_dates_in_the_past_of_someone_young() {
        for (dob, problem) in [
            ("31/02/20", FieldProblem::NotADate),
            ("2026-02-30", FieldProblem::NotADate),
            ("2026-07-02", FieldProblem::InFuture),
            ("1990-01-01", FieldProblem::OutOfRange { min: 0, max: MAX_AGE }),
        ] {
            let mut r = record();
            r.subject.date_of_birth = Some(dob.into());
            assert_eq!(
                r.validate(today()),
                Err(vec![FieldError::new("subject.date_of_birth", problem)]),
                "{dob}"
            );
        }
        let mut r = record();
        r.subject.date_of_birth = None;
        assert_eq!(fields(&r), ["subject.date_of_birth"]);
        r.subject.estimated_age = Some(15);
        assert_eq!(fields(&r), Vec::<String>::new());
        r.subject.estimated_age = Some(30);
        assert_eq!(fields(&r), ["subject.estimated_age"]);
    }

    #[test]
    fn the_server_allows_a_day_either_side_for_the_handsets_clock() {
        let mut r = record();
        // Born "tomorrow" by the server's clock: today by a handset's clock
        // that is a little ahead.
        r.subject.date_of_birth = Some("2026-07-02".into());
        assert!(r.validate(today()).is_err());
        let server = Today::around(today().latest);
        assert_eq!(r.validate(server), Ok(Authority::Birmingham));
        // Turns 26 tomorrow: still 25 on the handset's today.
        r.subject.date_of_birth = Some("2000-07-02".into());
        assert_eq!(r.validate(today()), Ok(Authority::Birmingham));
        assert_eq!(r.validate(server), Ok(Authority::Birmingham));
    }

    #[test]
    fn estimated_age_must_agree_with_the_date_of_birth() {
        let mut r = record();
        r.subject.estimated_age = Some(16);
        assert_eq!(fields(&r), Vec::<String>::new());
        r.subject.estimated_age = Some(19);
        assert_eq!(fields(&r), ["subject.estimated_age"]);
    }

    #[test]
    fn reasons_must_be_present_distinct_and_other_needs_words() {
        let mut r = record();
        r.reasons.clear();
        assert_eq!(fields(&r), ["reasons"]);
        r.reasons = vec![
            ReasonWire {
                code: ReasonCode::MentalHealth,
                text: None,
            };
            2
        ];
        assert_eq!(fields(&r), ["reasons"]);
        r.reasons = vec![ReasonWire {
            code: ReasonCode::Other,
            text: None,
        }];
        assert_eq!(fields(&r), ["reasons.other"]);
        r.reasons = vec![ReasonWire {
            code: ReasonCode::MentalHealth,
            text: Some("free text".into()),
        }];
        assert_eq!(fields(&r), ["reasons.text"]);
        r.reasons = vec![
            ReasonWire {
                code: ReasonCode::Other,
                text: Some("x".into()),
            };
            1_000
        ];
        assert_eq!(
            r.validate(today()),
            Err(vec![FieldError::new("reasons", FieldProblem::TooMany { max: 9 })])
        );
    }

    #[test]
    fn without_consent_only_a_safeguarding_concern_proceeds() {
        let mut r = record();
        r.consent = ConsentWire {
            state: ConsentState::Refused,
            reason: None,
        };
        assert_eq!(fields(&r), ["consent.reason", "consent"]);
        r.consent.reason = Some("Refused to give details".into());
        assert_eq!(fields(&r), ["consent"]);
        r.safeguarding_concern = true;
        assert_eq!(fields(&r), Vec::<String>::new());
    }

    #[test]
    fn times_no_clock_could_give_are_refused() {
        let mut r = record();
        r.created_ms = -8_330_000_000_000_000;
        r.location.time_ms = i64::MAX;
        assert_eq!(fields(&r), ["created_ms", "location"]);
    }

    #[test]
    fn a_location_off_the_earth_is_refused_without_quoting_it() {
        let mut r = record();
        r.location.lat = 91.0;
        let errors = r.validate(today()).expect_err("bad location");
        assert_eq!(errors, vec![FieldError::new("location", FieldProblem::BadLocation)]);
        assert!(!errors[0].to_string().contains("91"));
    }

    #[test]
    fn codes_are_read_by_name_never_by_index() {
        let mut json = serde_json::to_value(record()).expect("json");
        json["urgency"] = 0.into();
        assert!(serde_json::from_value::<ReferralRecord>(json).is_err());
        let mut json = serde_json::to_value(record()).expect("json");
        json["reasons"][0]["code"] = 1.into();
        assert!(serde_json::from_value::<ReferralRecord>(json).is_err());
        assert_eq!(
            serde_json::from_value::<Authority>("E08000026".into()).expect("ONS code"),
            Authority::Coventry
        );
    }

    #[test]
    fn unknown_codes_do_not_parse() {
        let mut json = serde_json::to_value(record()).expect("json");
        json["urgency"] = "whenever".into();
        assert!(serde_json::from_value::<ReferralRecord>(json).is_err());
        let mut json = serde_json::to_value(record()).expect("json");
        json["reasons"][0]["code"] = "shoplifting".into();
        assert!(serde_json::from_value::<ReferralRecord>(json).is_err());
    }

    #[test]
    fn unknown_codes_are_named_by_field() {
        let good = serde_json::to_value(record()).expect("json");
        assert!(unknown_codes(&good).is_empty());
        let mut bad = good.clone();
        bad["urgency"] = "whenever".into();
        bad["reasons"][0]["code"] = "being_young".into();
        bad["consent"]["state"] = "maybe".into();
        bad["authority_source"] = "guessed".into();
        let fields: Vec<String> = unknown_codes(&bad).into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["authority_source", "reasons.code", "urgency", "consent.state"]);
        // A fault elsewhere (a name that is a number) is not a code's.
        let mut other = good;
        other["subject"]["name"] = 7.into();
        assert!(unknown_codes(&other).is_empty());
    }

    #[test]
    fn the_wire_names_are_the_codes_the_server_always_took() {
        let json = serde_json::to_value(record()).expect("json");
        assert_eq!(json["reasons"][0]["code"], "knife_carrying");
        assert_eq!(json["urgency"], "priority");
        assert_eq!(json["consent"]["state"], "given");
        assert_eq!(json["authority_source"], "routed");
        for c in ReasonCode::ALL {
            assert_eq!(serde_json::to_value(c).expect("json"), c.as_str());
            assert_eq!(ReasonCode::parse(c.as_str()), Some(c));
        }
    }

    #[test]
    fn status_moves_one_way() {
        for (i, a) in ReferralStatus::ALL.into_iter().enumerate() {
            for (j, b) in ReferralStatus::ALL.into_iter().enumerate() {
                assert_eq!(a.advances_to(b), j > i, "{a:?} -> {b:?}");
            }
            assert_eq!(ReferralStatus::parse(a.as_str()), Some(a));
        }
        assert!(!ReferralStatus::Received.set_by_navigator());
        assert!(ReferralStatus::Closed.set_by_navigator());
    }

    #[test]
    fn authorities_parse_from_slug_and_ons_code() {
        for a in Authority::ALL {
            assert_eq!(Authority::parse(a.slug()), Some(a));
            assert_eq!(Authority::parse(a.ons_code()), Some(a));
            assert_eq!(Authority::parse(&a.slug().to_uppercase()), Some(a));
        }
        assert_eq!(Authority::parse("leicester"), None);
    }
}
