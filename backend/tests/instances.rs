//! Several backend instances on one store (PostgreSQL in production; the
//! suite runs this on whichever store it is given): handsets spread over
//! two instances, one switching instance in the middle of its sync with
//! its retries racing the originals, and every record and fix stored
//! exactly once. Also: the same uploads give the same compliance figures
//! on this store as on SQLite.

mod common;

use std::collections::HashMap;

use common::*;
use guardian_protocol::wire::{Ack, AckStatus};
use serde_json::Value;

fn ack(r: reqwest::blocking::Response) -> Ack {
    serde_json::from_value(ok_json(r)).expect("ack")
}

/// What one upload was answered, by id.
type Answers = Vec<(String, AckStatus)>;

/// One handset's shift: `patrols` patrols of check-in, three chunks of 120
/// fixes and check-out, each upload sent to `pick(n)` for its n-th upload,
/// and, when `race`, sent at once to both instances (a retry to the other
/// instance racing an original the handset gave up on).
fn shift(worlds: [&World; 2], officer: &str, rank: &str, token: &str, patrols: usize, race: bool) -> Answers {
    let mut answers = Answers::new();
    let mut n = 0_usize;
    let mut send = |id: &str, upload: &(dyn Fn(&World) -> AckStatus + Sync)| {
        n += 1;
        let first = worlds[n % 2];
        if race {
            let second = worlds[(n + 1) % 2];
            let (x, y) = std::thread::scope(|s| {
                let x = s.spawn(|| upload(first));
                let y = s.spawn(|| upload(second));
                (x.join().expect("thread"), y.join().expect("thread"))
            });
            answers.push((id.to_string(), x));
            answers.push((id.to_string(), y));
        } else {
            answers.push((id.to_string(), upload(first)));
        }
    };
    for p in 0..patrols {
        let patrol = format!("{officer}-p{p}");
        let t = T0 + p as i64 * 3_600_000;
        let ci = check_in(&format!("{patrol}-in"), &patrol, officer, "tgp-a", rank, t);
        send(&ci.id, &|w: &World| ack(w.record(token, &ci)).status);
        for c in 0..3_u32 {
            let id = format!("{patrol}-c{c}");
            let fixes = walk(t + i64::from(c) * 120 * 5_000, 120);
            send(&id, &|w: &World| {
                ack(w.chunk(token, &id, &patrol, c + 1, &fixes)).status
            });
        }
        let co = check_out(&format!("{patrol}-out"), &patrol, 2, t + 3 * 120 * 5_000);
        send(&co.id, &|w: &World| ack(w.record(token, &co)).status);
    }
    answers
}

#[test]
fn two_instances_on_one_store_keep_every_upload_exactly_once() {
    let one = World::new();
    let two = one.second_instance();
    // One token key in the store: a token one instance issued, the other
    // accepts.
    assert_eq!(ok_json(two.get(&one.a, "/v1/sync"))["officer"]["officer_id"], "pc-a");

    let patrols = 4;
    let answers: Vec<Answers> = std::thread::scope(|s| {
        let jobs = [
            ("pc-a", "constable", &one.a, false),
            ("pc-b", "constable", &one.b, false),
            // Switching instance mid-sync, every upload raced.
            ("pcso-c", "pcso", &one.c, true),
        ];
        let handles: Vec<_> = jobs
            .into_iter()
            .map(|(officer, rank, token, race)| {
                let worlds = [&one, &two];
                s.spawn(move || shift(worlds, officer, rank, token, patrols, race))
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("thread")).collect()
    });

    let mut stored: HashMap<String, usize> = HashMap::new();
    let mut answered = 0;
    for (id, status) in answers.iter().flatten() {
        answered += 1;
        let n = stored.entry(id.clone()).or_default();
        if *status == AckStatus::Stored {
            *n += 1;
        }
    }
    let uploads_per_handset = patrols * 5;
    assert_eq!(stored.len(), 3 * uploads_per_handset);
    assert_eq!(
        answered,
        4 * uploads_per_handset,
        "the raced handset's uploads were each sent twice"
    );
    let not_once: Vec<_> = stored.iter().filter(|(_, n)| **n != 1).collect();
    assert!(not_once.is_empty(), "each upload stored exactly once: {not_once:?}");

    // Both instances see the same store, and nothing in it twice.
    for w in [&one, &two] {
        let s = w.stats();
        assert_eq!(s["records"], 3 * patrols * 2);
        assert_eq!(s["patrols"], 3 * patrols);
        assert_eq!(s["chunks"], 3 * patrols * 3);
        assert_eq!(s["fixes"], 3 * patrols * 3 * 120);
        assert_eq!(s["duplicate_fixes"], 0);
        assert_eq!(
            s["replays"], uploads_per_handset,
            "one duplicate answer per raced upload"
        );
    }
}

/// A day of uploads both stores are given alike: the board's three cases
/// and a patrol in a windowed area.
fn upload_a_day(w: &World) {
    compliant_short_and_open(w);
    ok_json(w.record(
        &w.b,
        &check_in("b-in2", "p-window", "pc-b", "tgp-b", "constable", T0 + 7_200_000),
    ));
    ok_json(w.chunk(&w.b, "b-c1", "p-window", 1, &walk(T0 + 7_200_000, 30 * 12)));
    ok_json(w.record(&w.b, &check_out("b-out2", "p-window", 2, T0 + 7_200_000 + 30 * 60_000)));
}

#[test]
fn the_same_uploads_give_the_same_compliance_figures_as_on_sqlite() {
    let here = World::new();
    let sqlite = World::on_sqlite();
    upload_a_day(&here);
    upload_a_day(&sqlite);
    let csv = |w: &World| w.get(&w.admin, "/v1/admin/compliance.csv").text().expect("csv");
    let summary = |w: &World| -> Value { ok_json(w.get(&w.admin, "/v1/admin/compliance/summary")) };
    let (a, b) = (csv(&here), csv(&sqlite));
    assert_eq!(a.lines().count(), 4, "header and three checked-out patrols: {a}");
    assert_eq!(a, b);
    let (a, b) = (summary(&here), summary(&sqlite));
    assert_eq!(a["patrols"], 3);
    assert_eq!(a, b);
}

#[test]
fn instances_starting_at_once_share_one_schema_and_one_key_and_a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = fresh_store(dir.path());
    let opened: Vec<guardian_backend::Backend> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4).map(|_| s.spawn(|| open_store(&store))).collect();
        handles.into_iter().map(|h| h.join().expect("thread")).collect()
    });
    opened[0]
        .create_officer("pc-a", "PC Able", guardian_core::patrol::Rank::Constable)
        .expect("officer");
    let token = opened[1]
        .issue_token("pc-a", guardian_backend::Role::Officer, 60)
        .expect("token");
    let server = guardian_backend::spawn(open_store(&store), loopback()).expect("spawn");
    let r = reqwest::blocking::Client::new()
        .get(format!("http://{}/v1/sync", server.addr))
        .bearer_auth(&token)
        .send()
        .expect("send");
    assert_eq!(ok_json(r)["officer"]["officer_id"], "pc-a");
    drop(opened);

    // A store written by a newer backend is refused, not half-read.
    if store.starts_with("postgres") {
        raw_sql(&store, "UPDATE schema_version SET version = version + 1");
    } else {
        raw_sql(&store, "PRAGMA user_version = 3");
    }
    match guardian_backend::Backend::open_url(&store) {
        Err(guardian_backend::BackendError::Corrupt(why)) => assert!(why.contains("newer"), "{why}"),
        other => panic!("a newer schema must be refused: {other:?}"),
    }
}
