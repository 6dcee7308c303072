//! `guardian-sim library …` run as a user runs it: the real binary against a
//! store loaded with the starter pack built from `library/` at run time.

use std::process::{Command, Output};

fn sim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_guardian-sim"))
        .args(args)
        .output()
        .expect("run guardian-sim")
}

fn ok(out: &Output) -> String {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout.clone()).expect("utf-8")
}

fn search_json(query: &str) -> serde_json::Value {
    serde_json::from_str(&ok(&sim(&["library", "search", query, "--json"]))).expect("one JSON object")
}

#[test]
fn search_finds_the_starter_articles_with_highlighted_snippets() {
    let v = search_json("custody");
    let hits = v["hits"].as_array().expect("hits");
    assert!(!hits.is_empty());
    assert!(
        hits[0]["title"]
            .as_str()
            .expect("title")
            .to_lowercase()
            .contains("custody"),
        "a title match first: {}",
        hits[0]
    );
    assert!(
        hits.iter()
            .any(|h| h["snippet_html"].as_str().is_some_and(|s| s.contains("<mark>"))),
        "{v}"
    );
    // British and American spellings meet; a sentence works.
    let us = search_json("behavior");
    assert!(us["hits"].as_array().is_some_and(|h| !h.is_empty()), "{us}");
    let sentence = search_json("what if a child tells me about abuse");
    assert_eq!(sentence["hits"][0]["id"], "children-disclosure", "{sentence}");
    let human = ok(&sim(&["library", "search", "navigators"]));
    assert!(human.contains("vrp-navigators"), "{human}");
}

#[test]
fn hostile_searches_never_fail_and_absurd_ones_fail_clearly() {
    for q in ["\"", "NEAR(", "((custody", "*", "custody\" OR \"x", ""] {
        let v = search_json(q);
        assert!(v["hits"].is_array(), "{q:?}: {v}");
    }
    let huge = "trauma ".repeat(1_500);
    let out = sim(&["library", "search", &huge]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("too long"));
}

#[test]
fn show_prints_an_article_and_its_related_reading() {
    let text = ok(&sim(&["library", "show", "what-is-trauma"]));
    assert!(text.starts_with("What trauma is\n"), "{text}");
    assert!(text.contains("Related:"), "{text}");
    let v: serde_json::Value =
        serde_json::from_str(&ok(&sim(&["library", "show", "aces-explained", "--json"]))).expect("json");
    assert!(v["html"].as_str().is_some_and(|h| h.contains("<ol>")), "{v}");
    assert!(v["reading_minutes"].as_u64().is_some_and(|m| m >= 1));
    let out = sim(&["library", "show", "no-such-article"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-article"));
}

#[test]
fn the_starter_library_builds_into_a_pack_the_core_accepts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out_path = dir.path().join("starter.pack");
    let text = ok(&sim(&[
        "library",
        "build-pack",
        "--out",
        out_path.to_str().expect("utf8"),
    ]));
    assert!(text.contains("version 1"), "{text}");
    let pack = guardian_core::library::Pack::decode(&std::fs::read(&out_path).expect("read")).expect("decode");
    assert!(pack.articles_total >= 25, "at least 25 starter articles");
    let topics: Vec<&str> = pack.topics.iter().map(|t| t.id.as_str()).collect();
    for t in [
        "understanding/aces",
        "practice/street",
        "practice/custody",
        "referral/vrp",
        "wellbeing",
    ] {
        assert!(topics.contains(&t), "{t}");
    }
    let topics = ok(&sim(&["library", "topics"]));
    assert!(topics.contains("VRP Navigators"), "{topics}");
}

#[test]
fn bench_only_search_reports_the_p99() {
    let out = ok(&sim(&["bench", "--only", "search", "--quick", "--json"]));
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["search_articles"], 5_000);
    assert!(v["search_p99_ms"].as_f64().is_some_and(|p| p > 0.0), "{v}");
    let out = sim(&["bench", "--only", "nonsense"]);
    assert_eq!(out.status.code(), Some(2));
}
