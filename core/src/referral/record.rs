//! A valid form made into the record the force receives, and the part of
//! it that is personal (kept on the handset only until the force has it).

use guardian_protocol::fix::Fix;
use guardian_protocol::referral::{
    AuthoritySource, ConsentState, ConsentWire, LocationWire, REFERRAL_FORMAT, ReasonWire, ReferralRecord, SubjectWire,
};

use super::ValidReferral;
use super::authority::Authority;
use super::form::{Consent, Reason, ReferralForm, Subject};

/// Who made the referral, when, and on which patrol.
#[derive(Debug, Clone)]
pub struct Made<'a> {
    pub id: &'a str,
    pub officer_id: &'a str,
    pub now_ms: i64,
    pub patrol_id: Option<&'a str>,
    pub area_id: Option<&'a str>,
}

/// A reference an officer can read out on the phone: the random tail of
/// the record id.
pub fn reference_for(id: &str) -> String {
    let hex: String = id.chars().filter(char::is_ascii_hexdigit).collect();
    let tail = &hex[hex.len().saturating_sub(8)..];
    format!("VRP-{}", tail.to_ascii_uppercase())
}

/// The record as uploaded: free text trimmed, empty optional text absent.
pub fn to_record(v: &ValidReferral, made: &Made<'_>) -> ReferralRecord {
    let f = &v.form;
    let trim_opt = |s: &Option<String>| s.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(String::from);
    ReferralRecord {
        id: made.id.to_string(),
        format: REFERRAL_FORMAT,
        reference: reference_for(made.id),
        officer_id: made.officer_id.to_string(),
        created_ms: made.now_ms,
        authority: v.authority.slug().to_string(),
        authority_source: if v.routed {
            AuthoritySource::Routed
        } else {
            AuthoritySource::Chosen
        },
        reasons: f
            .reasons
            .iter()
            .map(|r| ReasonWire {
                code: r.code(),
                text: r.text().map(|t| t.trim().to_string()),
            })
            .collect(),
        urgency: v.urgency,
        consent: ConsentWire {
            state: v.consent.state(),
            reason: v.consent.reason().map(|r| r.trim().to_string()),
        },
        safeguarding_concern: f.safeguarding_concern,
        narrative: f.narrative.trim().to_string(),
        subject: SubjectWire {
            name: f.subject.name.trim().to_string(),
            date_of_birth: f
                .subject
                .date_of_birth
                .as_deref()
                .map(str::trim)
                .filter(|d| !d.is_empty())
                .map(String::from),
            estimated_age: f.subject.estimated_age.and_then(|a| u8::try_from(a).ok()),
            address: trim_opt(&f.subject.address),
            school: trim_opt(&f.subject.school),
            carer_contact: trim_opt(&f.subject.carer_contact),
        },
        location: LocationWire {
            time_ms: v.location.time_ms,
            lat: v.location.lat,
            lon: v.location.lon,
            accuracy_m: v.location.accuracy_m,
        },
        patrol_id: made.patrol_id.map(String::from),
        area_id: made.area_id.map(String::from),
    }
}

/// A record the force refused for good, made a form again so the officer
/// can correct it and submit it anew (the inverse of [`to_record`]).
pub fn to_form(r: &ReferralRecord) -> ReferralForm {
    let s = &r.subject;
    ReferralForm {
        subject: Subject {
            name: s.name.clone(),
            date_of_birth: s.date_of_birth.clone(),
            estimated_age: s.estimated_age.map(i32::from),
            address: s.address.clone(),
            school: s.school.clone(),
            carer_contact: s.carer_contact.clone(),
        },
        reasons: r
            .reasons
            .iter()
            .map(|w| Reason::from_code(w.code, w.text.clone().unwrap_or_default()))
            .collect(),
        narrative: r.narrative.clone(),
        consent: Some(match r.consent.state {
            ConsentState::Given => Consent::Given,
            ConsentState::Refused => Consent::Refused(r.consent.reason.clone().unwrap_or_default()),
            ConsentState::NotSought => Consent::NotSought(r.consent.reason.clone().unwrap_or_default()),
        }),
        safeguarding_concern: r.safeguarding_concern,
        urgency: Some(r.urgency),
        location: Some(Fix::new(
            r.location.time_ms,
            0,
            r.location.lat,
            r.location.lon,
            r.location.accuracy_m,
        )),
        authority_choice: match r.authority_source {
            AuthoritySource::Chosen => Authority::parse(&r.authority),
            AuthoritySource::Routed => None,
        },
    }
}

/// The personal part of a record: what is purged once the force has it.
pub fn personal_json(r: &ReferralRecord) -> String {
    serde_json::json!({ "subject": r.subject, "narrative": r.narrative, "consent": r.consent }).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reference_is_the_ids_random_tail() {
        assert_eq!(reference_for("0190a0b0-0000-7000-8000-00000000beef"), "VRP-0000BEEF");
        assert_eq!(reference_for(""), "VRP-");
    }
}
