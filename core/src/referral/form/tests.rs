use chrono::NaiveDate;
use guardian_protocol::referral::{NAME, NARRATIVE};

use super::*;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2023, 7, 14).expect("date")
}

fn good() -> ReferralForm {
    ReferralForm {
        subject: Subject {
            name: "Jordan Example".into(),
            date_of_birth: Some("2008-03-02".into()),
            estimated_age: None,
            address: Some("12 Example Road\nBirmingham".into()),
            school: Some("Example Academy".into()),
            carer_contact: None,
        },
        reasons: vec![Reason::KnifeCarrying, Reason::GangAssociation],
        narrative: "Stopped near the Ramp at 23:10, carrying a blade, said he carries it for protection.".into(),
        consent: Some(Consent::Given),
        safeguarding_concern: false,
        urgency: Some(Urgency::Priority),
        location: Some(Fix::new(1_689_375_000_000, 9_000_000_000, 52.4785, -1.8985, 8.0)),
        authority_choice: None,
    }
}

fn fields(form: &ReferralForm, routed: Option<Authority>) -> Vec<(String, FieldProblem)> {
    match validate(form, today(), routed, "outside all seven") {
        Ok(_) => vec![],
        Err(e) => e.into_iter().map(|e| (e.field, e.problem)).collect(),
    }
}

#[test]
fn a_complete_form_is_valid_and_routed() {
    let v = validate(&good(), today(), Some(Authority::Birmingham), "").expect("valid");
    assert_eq!(
        (v.authority, v.routed, v.urgency),
        (Authority::Birmingham, true, Urgency::Priority)
    );
}

#[test]
fn an_empty_form_reports_every_missing_field_at_once() {
    let problems = fields(&ReferralForm::default(), Some(Authority::Birmingham));
    let names: Vec<&str> = problems.iter().map(|(f, _)| f.as_str()).collect();
    for f in [
        "subject.name",
        "subject.date_of_birth",
        "reasons",
        "narrative",
        "consent",
        "urgency",
        "location",
    ] {
        assert!(names.contains(&f), "{f} missing from {names:?}");
    }
}

#[test]
fn hostile_text_is_a_field_error() {
    let mut f = good();
    f.subject.name = "J".repeat(NAME.max + 1);
    f.narrative = "x".repeat(NARRATIVE.max + 1);
    f.subject.school = Some("Ex\u{0000}ample".into());
    f.subject.carer_contact = Some("mum\u{001b}[31m".into());
    let p = fields(&f, Some(Authority::Birmingham));
    assert!(p.contains(&("subject.name".to_string(), FieldProblem::TooLong { max: NAME.max })));
    assert!(p.contains(&("narrative".to_string(), FieldProblem::TooLong { max: NARRATIVE.max })));
    assert!(p.contains(&("subject.school".to_string(), FieldProblem::ControlCharacters)));
    assert!(p.contains(&("subject.carer_contact".to_string(), FieldProblem::ControlCharacters)));
    // A newline in a name is a control character; in an address it is fine.
    let mut f = good();
    f.subject.name = "Jordan\nExample".into();
    assert_eq!(
        fields(&f, Some(Authority::Birmingham)),
        vec![("subject.name".to_string(), FieldProblem::ControlCharacters)]
    );
    let mut f = good();
    f.narrative = "too short".into();
    assert_eq!(
        fields(&f, Some(Authority::Birmingham)),
        vec![("narrative".to_string(), FieldProblem::TooShort { min: NARRATIVE.min })]
    );
}

#[test]
fn dates_of_birth_and_ages_must_make_sense() {
    let mut f = good();
    f.subject.date_of_birth = Some("2024-01-01".into());
    assert_eq!(
        fields(&f, Some(Authority::Birmingham)),
        vec![("subject.date_of_birth".to_string(), FieldProblem::InFuture)]
    );
    let mut f = good();
    f.subject.date_of_birth = Some("1950-01-01".into());
    assert_eq!(
        fields(&f, Some(Authority::Birmingham)),
        vec![(
            "subject.date_of_birth".to_string(),
            FieldProblem::OutOfRange { min: 0, max: MAX_AGE }
        )]
    );
    for age in [-3, 140] {
        let mut f = good();
        f.subject.date_of_birth = None;
        f.subject.estimated_age = Some(age);
        assert_eq!(
            fields(&f, Some(Authority::Birmingham)),
            vec![(
                "subject.estimated_age".to_string(),
                FieldProblem::OutOfRange { min: 0, max: MAX_AGE }
            )]
        );
    }
    let mut f = good();
    f.subject.estimated_age = Some(9); // born 2008: 15 on the day
    assert_eq!(
        fields(&f, Some(Authority::Birmingham)),
        vec![("subject.estimated_age".to_string(), FieldProblem::Inconsistent)]
    );
    let mut f = good();
    f.subject.date_of_birth = None;
    f.subject.estimated_age = Some(15);
    assert!(fields(&f, Some(Authority::Birmingham)).is_empty());
}

#[test]
fn reasons_must_be_given_once_each_and_other_needs_words() {
    let mut f = good();
    f.reasons = vec![Reason::MentalHealth, Reason::MentalHealth, Reason::Other("  ".into())];
    let p = fields(&f, Some(Authority::Birmingham));
    assert!(p.contains(&("reasons".to_string(), FieldProblem::Duplicate)));
    assert!(p.contains(&("reasons.other".to_string(), FieldProblem::Required)));
}

#[test]
fn without_consent_only_a_safeguarding_concern_proceeds_and_says_why() {
    let mut f = good();
    f.consent = Some(Consent::Refused(String::new()));
    let p = fields(&f, Some(Authority::Birmingham));
    assert!(p.contains(&("consent.reason".to_string(), FieldProblem::NeedsReason)));
    assert!(p.contains(&("consent".to_string(), FieldProblem::NeedsConsentOrSafeguarding)));
    f.consent = Some(Consent::NotSought("he ran off before I could ask".into()));
    f.safeguarding_concern = true;
    assert!(fields(&f, Some(Authority::Birmingham)).is_empty());
}

#[test]
fn outside_all_seven_the_officer_must_choose_and_is_told_why() {
    let f = good();
    let p = fields(&f, None);
    assert_eq!(
        p,
        vec![(
            "authority".to_string(),
            FieldProblem::ChooseAuthority("outside all seven".into())
        )]
    );
    let mut f = good();
    f.authority_choice = Some(Authority::Walsall);
    let v = validate(&f, today(), None, "outside").expect("valid");
    assert_eq!((v.authority, v.routed), (Authority::Walsall, false));
    // Routed wins over a stale choice.
    let v = validate(&f, today(), Some(Authority::Coventry), "").expect("valid");
    assert_eq!((v.authority, v.routed), (Authority::Coventry, true));
}

#[test]
fn a_date_of_birth_that_is_not_a_date_saves_in_a_draft_and_is_named_at_submit() {
    let mut f = good();
    f.subject.date_of_birth = Some("31/02/20".into());
    let json = serde_json::to_string(&f).expect("draft json");
    let back: ReferralForm = serde_json::from_str(&json).expect("draft back");
    assert_eq!(back, f);
    assert_eq!(
        fields(&f, Some(Authority::Birmingham)),
        vec![("subject.date_of_birth".to_string(), FieldProblem::NotADate)]
    );
}

#[test]
fn a_draft_saved_with_a_typed_date_still_reads() {
    // Drafts written before the date of birth was kept as text.
    let old = r#"{"subject":{"name":"J","date_of_birth":"2008-03-02","estimated_age":null,"address":null,
        "school":null,"carer_contact":null},"reasons":[{"code":"knife_carrying"}],"narrative":"",
        "consent":null,"safeguarding_concern":false,"urgency":"routine","location":null,"authority_choice":null}"#;
    let f: ReferralForm = serde_json::from_str(old).expect("old draft");
    assert_eq!(f.subject.date_of_birth.as_deref(), Some("2008-03-02"));
    assert_eq!(f.urgency, Some(Urgency::Routine));
}

#[test]
fn an_impossible_location_is_a_field_error() {
    let mut f = good();
    f.location = Some(Fix {
        lat: f64::NAN,
        ..f.location.expect("fix")
    });
    assert_eq!(
        fields(&f, Some(Authority::Birmingham)),
        vec![("location".to_string(), FieldProblem::BadLocation)]
    );
}

#[test]
fn errors_and_debug_output_never_carry_the_childs_details() {
    let mut f = good();
    f.subject.date_of_birth = Some("2030-01-01".into());
    f.narrative = "short".into();
    let errors = validate(&f, today(), None, "outside").expect_err("invalid");
    let text = format!(
        "{errors:?} {}",
        errors.iter().map(ToString::to_string).collect::<Vec<_>>().join(" ")
    );
    let debug = format!("{f:?}");
    for secret in ["Jordan", "Example Road", "2030", "Example Academy"] {
        assert!(!text.contains(secret), "{secret} in errors: {text}");
        assert!(!debug.contains(secret), "{secret} in debug: {debug}");
    }
}
