//! The practice library on the force's side: publishing from a folder of
//! Markdown (API and CLI), serving full packs, deltas and no-ops that the
//! core's own reader accepts, and officers' synced bookmarks.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use guardian_core::library::{Library, Pack};
use serde_json::{Value, json};

fn starter_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../library")
}

/// The starter folder as the admin API's `files`.
fn starter_files() -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = std::fs::read_dir(starter_dir())
        .expect("library dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "md") || p.ends_with("topics.txt"))
        .map(|p| {
            (
                p.file_name().expect("name").to_string_lossy().into_owned(),
                std::fs::read_to_string(&p).expect("read"),
            )
        })
        .collect();
    files.sort();
    files
}

fn body(files: &[(String, String)]) -> Value {
    json!({"files": files.iter().map(|(n, t)| json!({"name": n, "text": t})).collect::<Vec<_>>()})
}

fn pack(w: &World, token: &str, since: Option<u64>) -> Pack {
    let path = match since {
        Some(v) => format!("/v1/library?since={v}"),
        None => "/v1/library".to_string(),
    };
    let r = w.get(token, &path);
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(
        r.headers().get("content-type").and_then(|v| v.to_str().ok()),
        Some(guardian_core::library::pack::CONTENT_TYPE)
    );
    Pack::decode(&r.bytes().expect("bytes")).expect("a pack the core accepts")
}

#[test]
fn publishing_serves_full_packs_deltas_and_no_ops_the_handset_accepts() {
    let w = World::new();
    // Nothing published yet: no content, not an error.
    assert_eq!(w.get(&w.a, "/v1/library").status().as_u16(), 204);

    let mut files = starter_files();
    let v1 = ok_json(w.post(&w.admin, "/v1/admin/library", &body(&files)));
    assert_eq!(
        (v1["version"].as_u64(), v1["published"].as_bool()),
        (Some(1), Some(true))
    );
    assert!(v1["articles"].as_u64().expect("count") >= 25);
    // The same folder again publishes nothing.
    let same = ok_json(w.post(&w.admin, "/v1/admin/library", &body(&files)));
    assert_eq!(
        (same["version"].as_u64(), same["published"].as_bool()),
        (Some(1), Some(false))
    );

    let full = pack(&w, &w.a, None);
    assert!(full.is_full());
    let lib1 = full.apply_to(&Library::default()).expect("full pack applies");
    assert_eq!(lib1.articles.len() as u64, v1["articles"].as_u64().expect("count"));
    assert!(pack(&w, &w.a, Some(1)).is_noop());

    // Change one article, remove another, add a third.
    let edited = files
        .iter_mut()
        .find(|(n, _)| n == "principle-safety.md")
        .expect("safety article");
    edited.1.push_str("\nA new closing line.\n");
    // Withdrawing an article means no other article may list it as related.
    files.retain(|(n, _)| n != "street-groups.md");
    for (_, text) in files.iter_mut() {
        *text = text.replace(", street-groups]", "]");
    }
    files.push((
        "new-article.md".into(),
        "---\nid: new-article\ntitle: New article\nsummary: Added in version two.\ntopics: [wellbeing]\n---\nBody.\n"
            .into(),
    ));
    let v2 = ok_json(w.post(&w.admin, "/v1/admin/library", &body(&files)));
    assert_eq!(
        (
            v2["version"].as_u64(),
            v2["added"].as_u64(),
            v2["changed"].as_u64(),
            v2["removed"].as_u64()
        ),
        (Some(2), Some(1), Some(2), Some(1)),
        "{v2}"
    );
    let delta = pack(&w, &w.a, Some(1));
    assert_eq!((delta.base_version, delta.version), (1, 2));
    let mut ids: Vec<&str> = delta.upserts.iter().map(|a| a.id.as_str()).collect();
    ids.sort();
    assert_eq!(ids, ["new-article", "principle-safety", "street-first-contact"]);
    assert_eq!(delta.removed, ["street-groups"]);
    let lib2 = delta.apply_to(&lib1).expect("delta applies");
    assert_eq!(
        lib2,
        pack(&w, &w.a, Some(0)).apply_to(&Library::default()).expect("full v2")
    );
    // Unchanged articles keep the version they were published in.
    assert_eq!(lib2.articles["what-is-trauma"].version, 1);
    assert_eq!(lib2.articles["principle-safety"].version, 2);
    // A version this server never published: the full library.
    assert!(pack(&w, &w.a, Some(99)).is_full());
    assert!(pack(&w, &w.a, None).is_full());
}

#[test]
fn a_bad_folder_is_refused_with_a_reason_and_publishes_nothing() {
    let w = World::new();
    let mut files = starter_files();
    files.push((
        "broken.md".into(),
        "---\nid: broken\ntitle: Broken\nsummary: Names a topic that does not exist.\ntopics: [nowhere]\n---\nx\n"
            .into(),
    ));
    assert_error(w.post(&w.admin, "/v1/admin/library", &body(&files)), 422, "bad-library");
    assert_eq!(w.get(&w.a, "/v1/library").status().as_u16(), 204);
    assert_error(
        w.post(&w.admin, "/v1/admin/library", &json!({"files": "nope"})),
        400,
        "bad-request",
    );
}

#[test]
fn library_routes_check_the_role() {
    let w = World::new();
    assert_error(
        // A small body: the server answers a refused role before reading it.
        w.post(&w.a, "/v1/admin/library", &json!({"files": []})),
        403,
        "forbidden",
    );
    assert_error(w.get(&w.admin, "/v1/library"), 403, "forbidden");
    assert_error(w.get(&w.admin, "/v1/library/prefs"), 403, "forbidden");
    let r = w.http.get(w.url("/v1/library")).send().expect("send");
    assert_eq!(r.status().as_u16(), 401);
}

fn prefs(id: &str, officer: &str, version: u64, bookmarks: &[&str]) -> Value {
    json!({
        "id": id, "format": 1, "officer_id": officer, "version": version, "updated_ms": version,
        "bookmarks": bookmarks.iter().map(|b| json!({"article_id": b, "time_ms": 1})).collect::<Vec<_>>(),
        "recent": [{"article_id": "what-is-trauma", "time_ms": 2}],
    })
}

#[test]
fn library_prefs_are_idempotent_keep_the_newest_and_stay_with_their_officer() {
    let w = World::new();
    assert_eq!(ok_json(w.get(&w.a, "/v1/library/prefs"))["prefs"], Value::Null);

    let first = ok_json(w.post(
        &w.a,
        "/v1/library/prefs",
        &prefs("p-1", "pc-a", 10, &["aces-explained"]),
    ));
    assert_eq!(
        (first["id"].as_str(), first["status"].as_str()),
        (Some("p-1"), Some("stored"))
    );
    let again = ok_json(w.post(
        &w.a,
        "/v1/library/prefs",
        &prefs("p-1", "pc-a", 10, &["aces-explained"]),
    ));
    assert_eq!(again["status"], "duplicate");
    // A newer version replaces; an older one arriving late is acked and ignored.
    ok_json(w.post(
        &w.a,
        "/v1/library/prefs",
        &prefs("p-3", "pc-a", 30, &["principle-trust"]),
    ));
    let late = ok_json(w.post(&w.a, "/v1/library/prefs", &prefs("p-2", "pc-a", 20, &[])));
    assert_eq!(late["status"], "stored");
    let kept = ok_json(w.get(&w.a, "/v1/library/prefs"));
    assert_eq!(kept["prefs"]["version"], 30);
    assert_eq!(kept["prefs"]["bookmarks"][0]["article_id"], "principle-trust");

    // Another officer sees only their own, and cannot write anyone else's.
    assert_eq!(ok_json(w.get(&w.b, "/v1/library/prefs"))["prefs"], Value::Null);
    assert_error(
        w.post(&w.b, "/v1/library/prefs", &prefs("p-9", "pc-a", 99, &[])),
        403,
        "forbidden",
    );
    assert_error(
        w.post(&w.b, "/v1/library/prefs", &prefs("p-3", "pc-b", 99, &[])),
        403,
        "forbidden",
    );
    // Rules: an id that is not an article id, an unknown format.
    assert_error(
        w.post(&w.a, "/v1/library/prefs", &prefs("p-4", "pc-a", 40, &["<script>"])),
        422,
        "bad-prefs",
    );
    let mut future = prefs("p-5", "pc-a", 50, &[]);
    future["format"] = json!(2);
    assert_error(w.post(&w.a, "/v1/library/prefs", &future), 422, "bad-prefs");
    assert_eq!(ok_json(w.get(&w.a, "/v1/library/prefs"))["prefs"]["version"], 30);
}

#[test]
fn the_cli_publishes_a_folder_and_reports_an_unchanged_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = fresh_store(dir.path());
    let run = |folder: &Path| {
        Command::new(env!("CARGO_BIN_EXE_guardian-backend"))
            .args(["publish-library", store_flag(&db), &db, folder.to_str().expect("path")])
            .output()
            .expect("run the CLI")
    };
    let out = run(&starter_dir());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("published library version 1"));
    let out = run(&starter_dir());
    assert!(String::from_utf8_lossy(&out.stdout).contains("unchanged at version 1"));

    let bad = dir.path().join("bad");
    std::fs::create_dir(&bad).expect("mkdir");
    std::fs::write(bad.join("topics.txt"), "x  X\n").expect("write");
    std::fs::write(bad.join("a.md"), "no front matter\n").expect("write");
    let out = run(&bad);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("a.md"), "names the file");
    let backend = open_store(&db);
    assert_eq!(backend.library_version().expect("version"), 1);
}
