//! Accountable data on either store: referral bodies sealed at rest (a copy
//! of the database shows no child's name; keys rotate), retention erasing
//! what is due in bounded batches (an interrupted run leaves nothing half
//! erased and the next finishes; the figures stand), and the DPO's subject
//! access search, export and erasure, each in the access log.

mod common;

use std::path::Path;

use common::referral::*;
use common::*;
use guardian_backend::{Action, Backend, BackendError, Caller, Keyring, Retention, Role};
use serde_json::{Value, json};

const DAY_MS: i64 = 24 * 3600 * 1000;

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn keys_file(dir: &Path, name: &str, ids: &[&str]) -> String {
    let path = dir.join(name);
    let lines: Vec<String> = ids
        .iter()
        .map(|id| guardian_backend::new_key_line(id).expect("key"))
        .collect();
    std::fs::write(&path, lines.join("\n")).expect("write keys");
    path.to_str().expect("path").to_string()
}

fn keyed(path: &str) -> impl FnOnce(&mut Backend) {
    let ring = Keyring::from_file(Path::new(path)).expect("keys");
    move |b| b.use_referral_keys(ring)
}

/// Every byte the store keeps: the SQLite file and its WAL, or a pg_dump.
fn store_bytes(store: &str) -> Vec<u8> {
    if store.starts_with("postgres") {
        let pg_dump = std::fs::read_dir("/usr/lib/postgresql")
            .expect("PostgreSQL is installed")
            .filter_map(Result::ok)
            .map(|v| v.path().join("bin/pg_dump"))
            .find(|p| p.exists())
            .expect("pg_dump");
        let out = std::process::Command::new(pg_dump)
            .arg("--dbname")
            .arg(store)
            .output()
            .expect("pg_dump");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        out.stdout
    } else {
        let mut all = std::fs::read(store).expect("the file");
        if let Ok(wal) = std::fs::read(format!("{store}-wal")) {
            all.extend(wal);
        }
        all
    }
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

fn dpo() -> Caller {
    Caller::local("dpo-1", Role::Auditor, "test")
}

fn team_list(w: &World, token: &str) -> Vec<Value> {
    ok_json(w.get(token, "/v1/navigator/referrals"))["referrals"]
        .as_array()
        .expect("referrals")
        .clone()
}

#[test]
fn a_copy_of_the_store_shows_no_childs_name_and_the_key_rotates() {
    let mut w = World::new();
    let keys = keys_file(w.dir.path(), "keys", &["k1"]);
    w.restart_with(keyed(&keys));
    let t = teams(&w);
    for id in ["ref-1", "ref-2"] {
        ok_json(post_referral(&w, &w.a, &referral(id, "pc-a", "birmingham")));
    }
    let listed = team_list(&w, &t.bham);
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0]["subject"]["name"], NAME, "the team reads what it needs");

    let bytes = store_bytes(&w.store);
    assert!(
        contains(&bytes, "VRP-ref-1"),
        "the dump is real: the reference is there"
    );
    for p in personal() {
        assert!(!contains(&bytes, p), "{p:?} is readable in a copy of the store");
    }

    // Without the key the store opens nothing, and says which key it needs.
    let bare = w.open_backend();
    match bare.find_subject(&dpo(), NAME, None, Action::Consultation) {
        Err(BackendError::Invalid(why)) => assert!(why.contains("\"k1\""), "{why}"),
        other => panic!("opened without its key: {other:?}"),
    }

    // Rotation: a new key first, the old one kept until rekey has run.
    let out = backend_cli(&["new-referral-key", "--keys-file", &keys, "--id", "k2"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    w.restart_with(keyed(&keys));
    ok_json(post_referral(&w, &w.a, &referral("ref-3", "pc-a", "birmingham")));
    assert_eq!(team_list(&w, &t.bham).len(), 3, "k1 and k2 bodies both open");
    let out = backend_cli(&[
        "rekey",
        store_flag(&w.store),
        &w.store,
        "--referral-keys-file",
        &keys,
        "--by",
        "ops-1",
    ]);
    let said = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(said.contains("rekey: 2 referral bodies"), "{said}");
    // k1 can go now.
    let text = std::fs::read_to_string(&keys).expect("keys");
    let k2_only: Vec<&str> = text.lines().filter(|l| l.starts_with("k2 ")).collect();
    assert_eq!(k2_only.len(), 1);
    std::fs::write(&keys, k2_only.join("\n")).expect("write");
    w.restart_with(keyed(&keys));
    let listed = team_list(&w, &t.bham);
    assert_eq!(listed.len(), 3);
    assert!(listed.iter().all(|r| r["subject"]["name"] == NAME));

    // A sealed body copied onto another row does not open there.
    raw_sql(
        &w.store,
        "UPDATE referrals SET body = (SELECT body FROM referrals WHERE referral_id = 'ref-2')
         WHERE referral_id = 'ref-1'",
    );
    let mut b = w.open_backend();
    keyed(&keys)(&mut b);
    match b.find_subject(&dpo(), NAME, None, Action::Consultation) {
        Err(BackendError::Corrupt(why)) => assert!(why.contains("ref-1"), "{why}"),
        other => panic!("a moved body opened: {other:?}"),
    }
}

#[test]
fn a_body_stored_in_clear_before_sealing_is_sealed_by_rekey() {
    let w = World::new();
    ok_json(post_referral(&w, &w.a, &referral("ref-1", "pc-a", "birmingham")));
    // As a version 2 store left it: the body in clear, no key id.
    let clear = serde_json::to_string(&referral("ref-1", "pc-a", "birmingham")).expect("JSON");
    raw_sql(
        &w.store,
        &format!("UPDATE referrals SET key_id = '', body = '{clear}' WHERE referral_id = 'ref-1'"),
    );
    let b = w.open_backend();
    let found = b
        .find_subject(&dpo(), NAME, Some(DOB), Action::Consultation)
        .expect("find");
    assert_eq!(found.len(), 1, "a clear body still reads");
    let done = b.rekey(&dpo(), 10).expect("rekey");
    assert_eq!(done.resealed, 1);
    assert_eq!(b.rekey(&dpo(), 10).expect("rekey").resealed, 0, "once");
    let found = b
        .find_subject(&dpo(), NAME, Some(DOB), Action::Consultation)
        .expect("find");
    assert_eq!(found[0].referral.subject.name, NAME);
}

#[test]
fn without_a_key_file_a_force_provider_is_refused_and_bad_key_files_are_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("b.db");
    let db = db.to_str().expect("path");
    let out = backend_cli(&[
        "serve",
        "--db",
        db,
        "--oidc-issuer",
        "https://login.example.invalid/tenant/v2.0",
        "--oidc-audience",
        "api://guardian",
    ]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(said.contains("--referral-keys-file is required"), "{said}");

    let bad = dir.path().join("bad-keys");
    std::fs::write(&bad, "k1 c2hvcnQ=\n").expect("write");
    let out = backend_cli(&["rekey", "--db", db, "--referral-keys-file", bad.to_str().expect("path")]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(said.contains("line 1") && said.contains("32 bytes"), "{said}");
    assert!(!said.contains("c2hvcnQ="), "the key is never printed");
}

#[test]
fn retention_erases_what_is_due_in_batches_and_the_figures_stand() {
    let w = World::new();
    let t = teams(&w);
    let b = w.open_backend();
    let sup = b.issue_token("sup-1", Role::Supervisor, 3600).expect("token");
    for id in ["ref-1", "ref-2", "ref-3"] {
        ok_json(post_referral(&w, &w.a, &referral(id, "pc-a", "birmingham")));
    }
    for id in ["ref-1", "ref-2"] {
        ok_json(w.post(
            &t.bham,
            &format!("/v1/navigator/referrals/{id}/status"),
            &json!({"status": "closed"}),
        ));
    }
    compliant_short_and_open(&w);
    let before = ok_json(w.get(&sup, "/v1/review/patrols/p-good"));
    assert!(!before["fixes"].as_array().expect("fixes").is_empty());
    let csv_before = b.compliance_csv().expect("csv");

    // A year and a month on: both closed referrals, both ended patrols'
    // fixes (the patrols were in July) and, kept one year, the log.
    let later = now_ms() + 400 * DAY_MS;
    let rules = Retention {
        referral_days: 365,
        fix_days: 90,
        access_log_years: 1,
    };
    let who = Caller::local("retention", Role::Admin, "test");
    let first = b.run_retention(&who, &rules, later, 1, Some(1)).expect("run");
    assert_eq!((first.referrals, first.batches, first.finished), (1, 1, false));
    // Stopped after one batch: one referral erased whole, the other whole.
    assert_eq!(team_list(&w, &t.bham).len(), 2, "ref-2 and the open ref-3");
    let verify = b.verify_access_log().expect("verify");
    assert_eq!(verify.fault, None);

    let rest = b.run_retention(&who, &rules, later, 1, None).expect("run");
    assert!(rest.finished);
    assert_eq!(rest.referrals, 1);
    assert_eq!(rest.patrols, 2, "p-good and p-short; p-open had no fixes");
    assert_eq!(rest.fixes, 40 * 12 + 1 + 10 * 12 + 1);
    assert!(rest.access_log_entries >= 4, "{rest:?}");
    let again = b.run_retention(&who, &rules, later, 100, None).expect("run");
    assert_eq!(
        (again.referrals, again.patrols, again.access_log_entries),
        (0, 0, 0),
        "nothing left due"
    );

    // The open referral is whole; the closed ones keep their anonymous part.
    let listed = team_list(&w, &t.bham);
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["id"], "ref-3");
    assert_eq!(listed[0]["subject"]["name"], NAME);
    let mine = ok_json(w.get(&w.a, "/v1/me/referrals"));
    let mine = mine["referrals"].as_array().expect("receipts");
    assert_eq!(mine.len(), 3, "the partnership's figures still add up");
    assert_eq!(mine[0]["status"], "closed");
    assert_eq!(mine[0]["reasons"], json!(["knife_carrying", "criminal_exploitation"]));
    let bytes = store_bytes(&w.store);
    assert!(contains(&bytes, "VRP-ref-1"));

    // The patrol's figures stand, its fixes are gone.
    let after = ok_json(w.get(&sup, "/v1/review/patrols/p-good"));
    assert_eq!(after["report"], before["report"]);
    assert!(after["fixes"].as_array().expect("fixes").is_empty());
    assert_eq!(b.compliance_csv().expect("csv"), csv_before);

    // The chain verifies from its new start, and the erasures are in it
    // (ids only).
    let (code, said) = {
        let out = backend_cli(&["audit", "verify", store_flag(&w.store), &w.store]);
        (out.status.code(), String::from_utf8_lossy(&out.stdout).to_string())
    };
    assert_eq!(code, Some(0), "{said}");
    let log = b
        .export_access_log(&dpo(), &guardian_backend::AccessFilter::default())
        .expect("export");
    let erasures: Vec<(String, Vec<String>)> = log
        .iter()
        .filter(|e| e.action == "erasure")
        .map(|e| (e.what.clone(), e.records.clone()))
        .collect();
    assert!(
        erasures.contains(&("fixes".into(), vec!["p-good".into(), "p-short".into()])) || {
            // One patrol a batch at this batch size.
            erasures.contains(&("fixes".into(), vec!["p-good".into()]))
                && erasures.contains(&("fixes".into(), vec!["p-short".into()]))
        }
    );
    assert!(
        erasures.contains(&("referral".into(), vec!["ref-2".into()])),
        "{erasures:?}"
    );
    assert!(erasures.iter().any(|(what, _)| what == "access-log"));
    // Everything from before the run is gone: the chain now starts at the
    // run's first erasure.
    assert_eq!(
        (log[0].action.as_str(), log[0].time_ms),
        ("erasure", later),
        "{:?}",
        log[0]
    );
    assert!(log[0].seq > 1);

    // The CLI runs the same rules, and says when nothing is due.
    let out = backend_cli(&["retention", store_flag(&w.store), &w.store, "--by", "ops-1"]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(said.contains("0 referrals' details, 0 patrols' fixes"), "{said}");
}

#[test]
fn the_dpo_finds_exports_and_erases_one_young_persons_referrals() {
    let w = World::new();
    let t = teams(&w);
    ok_json(post_referral(&w, &w.a, &referral("ref-1", "pc-a", "birmingham")));
    ok_json(post_referral(&w, &w.b, &referral("ref-2", "pc-b", "birmingham")));
    let mut other = referral("ref-3", "pc-a", "birmingham");
    other.subject.name = "Someone Else-Testcase".into();
    ok_json(post_referral(&w, &w.a, &other));
    let mut no_dob = referral("ref-4", "pc-a", "birmingham");
    no_dob.subject.date_of_birth = None;
    no_dob.subject.estimated_age = Some(15);
    ok_json(post_referral(&w, &w.a, &no_dob));

    let db = w.store.as_str();
    let flag = store_flag(db);
    let spaced = NAME.to_uppercase().replace(' ', "   ");
    let out = backend_cli(&[
        "dpo",
        "find",
        flag,
        db,
        "--name",
        &spaced,
        "--dob",
        DOB,
        "--by",
        "dpo-1",
        "--purpose",
        "SAR-2026-114\n",
    ]);
    let said = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(said.starts_with("3 referrals held"), "{said}");
    assert!(said.contains("ref-1") && said.contains("ref-2") && !said.contains("ref-3"));
    assert!(
        said.lines()
            .any(|l| l.starts_with("ref-4") && l.contains("matched by name"))
    );

    let out = backend_cli(&["dpo", "export", flag, db, "--name", NAME, "--dob", DOB, "--by", "dpo-1"]);
    let export: Vec<Value> = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(export.len(), 3);
    assert_eq!(export[0]["referral"]["subject"]["address"], ADDRESS);
    assert_eq!(export[0]["authority"], "birmingham");

    let out = backend_cli(&[
        "dpo",
        "erase",
        flag,
        db,
        "--referral",
        "ref-1",
        "--referral",
        "ref-2",
        "--by",
        "dpo-1",
    ]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("2 referrals' personal details erased"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = backend_cli(&["dpo", "find", flag, db, "--name", NAME, "--by", "dpo-1"]);
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("1 referrals held"));
    // The team sees what is left; the erased referral's page says so.
    let listed = team_list(&w, &t.bham);
    let ids: Vec<&str> = listed.iter().filter_map(|r| r["id"].as_str()).collect();
    assert_eq!(ids, ["ref-3", "ref-4"]);
    let nav = Caller::local("nav-bham", Role::Navigator, "test");
    let page = w.open_backend().navigator_referral(&nav, "ref-1").expect("page");
    assert!(page.details.is_none() && page.erased_ms.is_some());
    assert_eq!(page.reference, "VRP-ref-1", "the anonymous part stays");

    // Each step is in the log, by the DPO, with ids and never the name.
    let b = w.open_backend();
    let log = b
        .export_access_log(
            &dpo(),
            &guardian_backend::AccessFilter {
                subject: Some("dpo-1".into()),
                ..Default::default()
            },
        )
        .expect("export");
    let steps: Vec<(String, Vec<String>)> = log
        .iter()
        .filter(|e| e.what == "referral")
        .map(|e| (e.action.clone(), e.records.clone()))
        .collect();
    let ids = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        steps,
        [
            ("consultation".to_string(), ids(&["ref-1", "ref-2", "ref-4"])),
            ("disclosure".to_string(), ids(&["ref-1", "ref-2", "ref-4"])),
            ("erasure".to_string(), ids(&["ref-1", "ref-2"])),
            ("consultation".to_string(), ids(&["ref-4"])),
        ]
    );
    assert_eq!(
        log[0].purpose.as_deref(),
        Some("SAR-2026-114"),
        "the request's reference, kept clean"
    );
    let text = serde_json::to_string(&log).expect("JSON");
    assert_no_personal_data(&text);
}

#[test]
fn the_dpo_reads_the_access_log_on_a_page_and_downloads_it() {
    let w = World::new();
    let t = teams(&w);
    ok_json(post_referral(&w, &w.a, &referral("ref-1", "pc-a", "birmingham")));
    ok_json(post_referral(&w, &w.a, &referral("ref-2", "pc-a", "birmingham")));
    team_list(&w, &t.bham);
    let b = w.open_backend();
    let dpo_token = b.issue_token("dpo-1", Role::Auditor, 3600).expect("token");

    // Only an auditor signs in here.
    let refused = no_redirects()
        .post(w.url("/audit/login"))
        .form(&[("token", t.bham.as_str()), ("next", "/audit")])
        .send()
        .expect("send");
    assert_eq!(refused.status().as_u16(), 403);
    let cookie = page_session(&w, "/audit", &dpo_token, "/audit?record=ref-1");
    let get = |path: &str| {
        no_redirects()
            .get(w.url(path))
            .header("cookie", &cookie)
            .send()
            .expect("send")
    };

    let page = get("/audit?record=ref-1").text().expect("text");
    assert!(page.contains("The chain is intact"), "{page}");
    assert!(
        page.contains("2 entries match"),
        "its collection and the team's list: {page}"
    );
    assert!(page.contains("nav-bham (navigator)") && page.contains("pc-a (officer)"));
    assert!(!page.contains(NAME), "ids only");
    assert_eq!(get("/audit?from=2026-12-09&to=2026-12-01").status().as_u16(), 400);
    assert_eq!(get("/audit?subject=%01").status().as_u16(), 400);

    let csv = get("/audit/entries.csv?subject=nav-bham");
    assert_eq!(csv.status().as_u16(), 200);
    assert!(
        csv.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/csv"))
    );
    let text = csv.text().expect("csv");
    assert!(text.starts_with("seq,time_utc,action,subject"), "{text}");
    assert_eq!(text.lines().count(), 2, "one entry by nav-bham: {text}");

    // The looks are in the log themselves.
    let log = b
        .export_access_log(
            &dpo(),
            &guardian_backend::AccessFilter {
                subject: Some("dpo-1".into()),
                ..Default::default()
            },
        )
        .expect("export");
    let looks: Vec<(&str, &str, &str)> = log
        .iter()
        .map(|e| (e.action.as_str(), e.what.as_str(), e.how.as_str()))
        .collect();
    assert_eq!(
        looks,
        [
            ("consultation", "access-log", "GET /audit"),
            ("disclosure", "access-log", "GET /audit/entries.csv"),
        ]
    );

    // Tampering shows on the page.
    raw_sql(&w.store, "UPDATE access_log SET subject = 'someone-else' WHERE seq = 2");
    let page = get("/audit").text().expect("text");
    assert!(
        page.contains("The log has been tampered with") && page.contains("entry 2 was altered"),
        "{page}"
    );
}

/// The access log's entries by `subject`, oldest first: (how, purpose).
fn looks_by(b: &Backend, subject: &str) -> Vec<(String, Option<String>)> {
    b.export_access_log(
        &dpo(),
        &guardian_backend::AccessFilter {
            subject: Some(subject.into()),
            ..Default::default()
        },
    )
    .expect("export")
    .into_iter()
    .map(|e| (e.how, e.purpose))
    .collect()
}

#[test]
fn where_the_force_requires_a_purpose_no_look_goes_without_one() {
    let mut w = World::new();
    let t = teams(&w);
    ok_json(post_referral(&w, &w.a, &referral("ref-1", "pc-a", "birmingham")));
    // A session opened before the force made the purpose mandatory.
    let old_cookie = page_session(&w, "/navigator", &t.bham, "/navigator");
    w.restart_with(|b| b.require_purpose());
    let b = w.open_backend();

    // The API: refused before anything is read, and nothing is logged.
    let before = looks_by(&b, "nav-bham").len();
    assert_error(w.get(&t.bham, "/v1/navigator/referrals"), 400, "purpose-required");
    let list_saying = |purpose: &str| {
        w.http
            .get(w.url("/v1/navigator/referrals"))
            .bearer_auth(&t.bham)
            .header("x-guardian-purpose", purpose)
            .send()
            .expect("send")
    };
    assert_error(list_saying(" \t "), 400, "purpose-required");
    assert_eq!(looks_by(&b, "nav-bham").len(), before, "a refused look is no look");
    let said = list_saying("Morning triage");
    assert_eq!(ok_json(said)["referrals"].as_array().map(Vec::len), Some(1));
    // A change is no consultation: the handset's submissions need no purpose.
    ok_json(post_referral(&w, &w.a, &referral("ref-2", "pc-a", "birmingham")));

    // The old session must sign in again and say why.
    let again = no_redirects()
        .get(w.url("/navigator"))
        .header("cookie", &old_cookie)
        .send()
        .expect("send");
    assert_eq!(again.status().as_u16(), 401);
    let page = again.text().expect("text");
    assert!(page.contains("say why you are looking"), "{page}");
    assert!(
        page.contains("name=\"purpose\"")
            && page.contains("maxlength=\"300\" aria-describedby=\"purpose-hint\" autocomplete=\"off\" required"),
        "the form asks, and requires it: {page}"
    );

    // A sign-in without one is refused and opens nothing.
    let refused = no_redirects()
        .post(w.url("/navigator/login"))
        .form(&[("token", t.bham.as_str()), ("next", "/navigator"), ("purpose", "   ")])
        .send()
        .expect("send");
    assert_eq!(refused.status().as_u16(), 401);
    assert!(refused.headers().get("set-cookie").is_none());
    assert!(
        refused
            .text()
            .expect("text")
            .contains("Say why you are opening these pages")
    );

    let cookie = page_session_saying(&w, "/navigator", &t.bham, "/navigator", "Triage of new referrals");
    let open = |path: &str| {
        no_redirects()
            .get(w.url(path))
            .header("cookie", &cookie)
            .send()
            .expect("send")
    };
    assert_eq!(open("/navigator").status().as_u16(), 200);
    assert_eq!(open("/navigator/referrals/ref-1").status().as_u16(), 200);

    let looks = looks_by(&b, "nav-bham");
    let tail: Vec<(&str, Option<&str>)> = looks[before..]
        .iter()
        .map(|(how, why)| (how.as_str(), why.as_deref()))
        .collect();
    assert_eq!(
        tail,
        [
            ("GET /v1/navigator/referrals", Some("Morning triage")),
            ("GET /navigator", Some("Triage of new referrals")),
            ("GET /navigator/referrals/{id}", Some("Triage of new referrals")),
        ]
    );
}

#[test]
fn a_purpose_given_without_the_rule_is_kept_and_none_is_not_required() {
    let w = World::new();
    let t = teams(&w);
    ok_json(post_referral(&w, &w.a, &referral("ref-1", "pc-a", "birmingham")));
    let page = no_redirects()
        .get(w.url("/navigator/login"))
        .send()
        .expect("send")
        .text()
        .expect("text");
    assert!(
        page.contains("(optional)") && !page.contains("purpose-hint\" autocomplete=\"off\" required"),
        "{page}"
    );
    let with = page_session_saying(&w, "/navigator", &t.bham, "/navigator", "Weekly \u{1b}[31mreview");
    let without = page_session(&w, "/navigator", &t.bham, "/navigator");
    for cookie in [&with, &without] {
        let r = no_redirects()
            .get(w.url("/navigator"))
            .header("cookie", cookie)
            .send()
            .expect("send");
        assert_eq!(r.status().as_u16(), 200);
    }
    let looks = looks_by(&w.open_backend(), "nav-bham");
    let purposes: Vec<Option<&str>> = looks.iter().map(|(_, p)| p.as_deref()).collect();
    assert_eq!(
        purposes,
        [Some("Weekly [31mreview"), None],
        "control characters dropped"
    );
}
