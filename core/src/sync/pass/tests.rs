use std::collections::BTreeMap;
use std::time::Duration;

use guardian_protocol::wire::{AssignmentWire, OfficerProfile};

use super::*;
use crate::library::{Article, Library, Topic};

fn item(id: &str, kind: Kind, bytes: usize, fixes: usize) -> Item {
    Item {
        id: id.into(),
        kind,
        format: 1,
        patrol_id: Some("p".into()),
        seq: 0,
        payload: vec![7; bytes],
        fixes,
    }
}

fn acked(id: &str, kind: Kind) -> Transition {
    Transition::Acked { id: id.into(), kind }
}

fn transient(retry_after: Option<u64>) -> Outcome {
    Outcome::Transient {
        reason: "HTTP 503".into(),
        retry_after: retry_after.map(Duration::from_secs),
    }
}

#[test]
fn acks_are_held_and_committed_at_the_end_with_the_report() {
    let mut up = Upload::new();
    let chunk = item("c", Kind::TrackChunk, 1_000, 600);
    let check_in = item("i", Kind::CheckIn, 200, 0);
    for (it, status) in [(&check_in, AckStatus::Stored), (&chunk, AckStatus::Duplicate)] {
        let step = up.on_outcome(it, Outcome::Acked(status));
        assert_eq!(
            step,
            Step {
                commit: vec![],
                then: Then::Next
            }
        );
    }
    let done = up.finish();
    assert_eq!(done.commit, [acked("i", Kind::CheckIn), acked("c", Kind::TrackChunk)]);
    assert_eq!(done.failure, None);
    let r = done.report;
    assert_eq!((r.sent, r.acked, r.duplicates, r.rejected), (2, 2, 1, 0));
    assert_eq!((r.bytes_sent, r.track_bytes_sent, r.fixes_sent), (1_200, 1_000, 600));
}

#[test]
fn acks_are_committed_every_ack_flush_records() {
    let mut up = Upload::new();
    let commits: Vec<usize> = (0..(2 * ACK_FLUSH + 3))
        .map(|i| {
            up.on_outcome(
                &item(&i.to_string(), Kind::CheckIn, 1, 0),
                Outcome::Acked(AckStatus::Stored),
            )
            .commit
            .len()
        })
        .filter(|n| *n > 0)
        .collect();
    assert_eq!(commits, [ACK_FLUSH, ACK_FLUSH]);
    assert_eq!(up.finish().commit.len(), 3);
}

#[test]
fn a_permanent_rejection_is_kept_with_its_reason_and_the_pass_goes_on() {
    let mut up = Upload::new();
    up.on_outcome(&item("a", Kind::CheckIn, 1, 0), Outcome::Acked(AckStatus::Stored));
    let step = up.on_outcome(
        &item("b", Kind::CheckOut, 1, 0),
        Outcome::Rejected {
            slug: "bad-record".into(),
            reason: "check-out is earlier than the check-in".into(),
        },
    );
    // The ack before it is committed first, in the same transaction.
    assert_eq!(
        step,
        Step {
            commit: vec![
                acked("a", Kind::CheckIn),
                Transition::Rejected {
                    id: "b".into(),
                    kind: Kind::CheckOut,
                    reason: "bad-record: check-out is earlier than the check-in".into()
                }
            ],
            then: Then::Next,
        }
    );
    let done = up.finish();
    assert_eq!((done.report.rejected, done.failure), (1, None));
}

#[test]
fn a_transient_failure_counts_an_attempt_and_stops_the_pass_part_way() {
    let mut up = Upload::new();
    up.on_outcome(&item("a", Kind::CheckIn, 1, 0), Outcome::Acked(AckStatus::Stored));
    let step = up.on_outcome(&item("b", Kind::TrackChunk, 1, 600), transient(None));
    assert_eq!(
        step,
        Step {
            commit: vec![
                acked("a", Kind::CheckIn),
                Transition::Retry {
                    id: "b".into(),
                    reason: "HTTP 503".into()
                }
            ],
            then: Then::Stop,
        }
    );
    let done = up.finish();
    assert_eq!(done.failure, Some(SyncError::Network("HTTP 503".into())));
    assert_eq!((done.report.acked, done.report.fixes_sent), (1, 0));
    assert!(done.commit.is_empty());
}

#[test]
fn retry_after_is_kept_and_capped() {
    let mut up = Upload::new();
    up.on_outcome(&item("a", Kind::CheckIn, 1, 0), transient(Some(30)));
    assert_eq!(up.finish().retry_after, Some(Duration::from_secs(30)));
    let mut up = Upload::new();
    up.on_outcome(&item("a", Kind::CheckIn, 1, 0), transient(Some(10 * 86_400)));
    assert_eq!(up.finish().retry_after, Some(MAX_RETRY_AFTER));
}

#[test]
fn a_401_refreshes_the_token_once_and_resends_the_same_record() {
    let mut up = Upload::new();
    let it = item("a", Kind::Referral, 10, 0);
    assert_eq!(up.on_outcome(&it, Outcome::Unauthorized).then, Then::RefreshAndResend);
    assert_eq!(up.on_outcome(&it, Outcome::Acked(AckStatus::Stored)).then, Then::Next);
    // Refused again later in the same pass: the officer must sign in.
    let step = up.on_outcome(&item("b", Kind::CheckIn, 1, 0), Outcome::Unauthorized);
    assert_eq!(step.then, Then::Stop);
    assert_eq!(step.commit, [acked("a", Kind::Referral)]);
    assert!(matches!(up.finish().failure, Some(SyncError::Auth(_))));
    assert_eq!(on_unauthorized(false), AuthStep::Refresh);
    assert!(matches!(on_unauthorized(true), AuthStep::Fail(SyncError::Auth(_))));
}

#[test]
fn an_attempt_that_could_not_be_made_stops_without_touching_the_record() {
    let mut up = Upload::new();
    up.on_outcome(&item("a", Kind::CheckIn, 1, 0), Outcome::Acked(AckStatus::Stored));
    let step = up.on_error(SyncError::Auth("no token".into()));
    assert_eq!(
        step,
        Step {
            commit: vec![acked("a", Kind::CheckIn)],
            then: Then::Stop
        }
    );
    let done = up.finish();
    assert_eq!(done.failure, Some(SyncError::Auth("no token".into())));
    assert_eq!(done.report.sent, 1);
}

// ---- pull -----------------------------------------------------------------

fn areas_fc(ids: &[&str]) -> serde_json::Value {
    let features: Vec<serde_json::Value> = ids
        .iter()
        .map(|id| {
            serde_json::json!({
                "type": "Feature",
                "properties": { "id": id, "name": id, "lpa": "Birmingham" },
                "geometry": { "type": "Polygon", "coordinates": [[
                    [-1.90, 52.47], [-1.89, 52.47], [-1.89, 52.48], [-1.90, 52.48], [-1.90, 52.47]
                ]] }
            })
        })
        .collect();
    serde_json::json!({ "type": "FeatureCollection", "features": features })
}

fn reply() -> SyncReply {
    SyncReply {
        cursor: "a1.s1.b0.r0".into(),
        officer: Some(OfficerProfile {
            officer_id: "pc-1".into(),
            display_name: "PC One".into(),
            rank: "constable".into(),
        }),
        areas: Some(areas_fc(&["ramp"])),
        assignments: Some(vec![AssignmentWire {
            id: "as-1".into(),
            area_id: "ramp".into(),
            officer_id: "pc-1".into(),
            start_ms: 1_000,
            end_ms: 2_000,
        }]),
        commands: vec![],
        boundaries: None,
        referral_updates: vec![],
    }
}

fn nothing_known(_: &str) -> bool {
    false
}

#[test]
fn a_good_reply_becomes_a_plan_with_everything_parsed() {
    let plan = plan_pull(reply(), nothing_known).expect("plan");
    assert_eq!(plan.cursor, "a1.s1.b0.r0");
    assert_eq!(plan.officer.map(|o| o.rank), Some(Rank::Constable));
    assert_eq!(plan.areas.map(|a| a.len()), Some(1));
    assert_eq!(plan.assignments.map(|a| a[0].area_id.clone()), Some("ramp".to_string()));
}

#[test]
fn an_assignment_may_name_an_area_the_handset_already_has() {
    let mut r = reply();
    r.areas = None;
    assert!(matches!(
        plan_pull(r.clone(), nothing_known),
        Err(SyncError::BadReply(_))
    ));
    assert!(plan_pull(r, |id| id == "ramp").is_ok());
}

#[test]
fn anything_unusable_refuses_the_whole_reply() {
    let mut bad_rank = reply();
    if let Some(o) = bad_rank.officer.as_mut() {
        o.rank = "admiral".into();
    }
    let mut bad_name = reply();
    if let Some(o) = bad_name.officer.as_mut() {
        o.display_name = "x".repeat(500);
    }
    let mut bad_areas = reply();
    bad_areas.areas = Some(serde_json::json!({ "type": "Point" }));
    let mut backwards = reply();
    if let Some(a) = backwards.assignments.as_mut() {
        a[0].end_ms = 0;
    }
    let mut bad_boundaries = reply();
    bad_boundaries.boundaries = Some(serde_json::json!([1, 2, 3]));
    for (what, r) in [
        ("rank", bad_rank),
        ("name", bad_name),
        ("areas", bad_areas),
        ("assignment window", backwards),
        ("boundaries", bad_boundaries),
    ] {
        assert!(
            matches!(plan_pull(r, nothing_known), Err(SyncError::BadReply(_))),
            "{what}"
        );
    }
}

#[test]
fn a_wipe_command_is_a_wipe() {
    let mut r = reply();
    r.commands = vec![DeviceCommand {
        id: "c1".into(),
        kind: CommandKind::Wipe,
    }];
    let plan = plan_pull(r, nothing_known).expect("plan");
    assert_eq!(plan.commands.iter().map(action).collect::<Vec<_>>(), [Action::Wipe]);
}

// ---- library --------------------------------------------------------------

fn library(version: u64, body: &str) -> Library {
    let article = Article {
        id: "trauma-basics".into(),
        title: "Trauma basics".into(),
        summary: "What trauma is.".into(),
        body_md: body.into(),
        topics: vec!["trauma".into()],
        related: vec![],
        reading_minutes: 1,
        version,
        updated_ms: 0,
    };
    Library {
        version,
        topics: vec![Topic {
            id: "trauma".into(),
            title: "Trauma".into(),
            parent: None,
        }],
        articles: BTreeMap::from([(article.id.clone(), article)]),
    }
}

fn status_of(lib: &Library) -> LibraryStatus {
    LibraryStatus {
        version: lib.version,
        articles: lib.articles.len(),
        topics: lib.topics.len(),
        library_sha256: lib.digest(),
        applied_ms: Some(0),
    }
}

#[test]
fn the_library_step_applies_a_newer_pack_and_skips_a_current_one() {
    let v1 = library(1, "Trauma is an event.");
    let v2 = library(2, "Trauma is an event or series of events.");
    let none = LibraryStatus {
        version: 0,
        articles: 0,
        topics: 0,
        library_sha256: String::new(),
        applied_ms: None,
    };
    assert_eq!(
        library_next(&none, &[]).expect("nothing published"),
        LibraryNext::UpToDate
    );
    let full = Pack::full(&v1, 0).encode(true);
    assert!(matches!(library_next(&none, &full), Ok(LibraryNext::Apply(p)) if p.version == 1));
    let delta = Pack::delta(&v1, &v2, 0).encode(true);
    assert!(matches!(library_next(&status_of(&v1), &delta), Ok(LibraryNext::Apply(p)) if p.version == 2));
    let current = Pack::delta(&v1, &v1, 0).encode(true);
    assert_eq!(
        library_next(&status_of(&v1), &current).expect("current"),
        LibraryNext::UpToDate
    );
}

#[test]
fn a_library_that_disagrees_with_the_force_starts_again_from_the_full_pack() {
    let v1 = library(1, "Trauma is an event.");
    let mut drifted = status_of(&v1);
    drifted.library_sha256 = "0".repeat(64);
    let current = Pack::delta(&v1, &v1, 0).encode(true);
    assert_eq!(
        library_next(&drifted, &current).expect("drifted"),
        LibraryNext::FetchFull
    );
    assert_eq!(
        after_failed_apply(LibraryError::WrongBase { have: 3, pack_base: 1 }).expect("refetch"),
        LibraryNext::FetchFull
    );
    assert!(after_failed_apply(LibraryError::Checksum).is_err());
    assert!(library_next(&drifted, b"GLP1 garbage").is_err());
}

// ---- waiting ----------------------------------------------------------------

#[test]
fn the_wait_after_a_pass_is_periodic_backed_off_or_what_the_server_asked() {
    let s = Duration::from_secs;
    assert_eq!(next_wait(true, Some(s(8)), Some(s(600))), PERIODIC);
    assert_eq!(next_wait(false, Some(s(8)), None), s(8));
    assert_eq!(next_wait(false, Some(s(8)), Some(s(120))), s(120));
    assert_eq!(next_wait(false, Some(s(200)), Some(s(120))), s(200));
    assert_eq!(next_wait(false, None, None), s(300));
    assert_eq!(next_wait(false, Some(s(2)), Some(s(1_000_000))), MAX_RETRY_AFTER);
}
