use std::collections::BTreeMap;

use super::pack::Pack;
use super::*;
use crate::store::{DbKey, Store};

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path().join("g.db"), DbKey::from_bytes([3; 32]).expect("key")).expect("open");
    (dir, store)
}

fn topics() -> Vec<Topic> {
    vec![
        Topic {
            id: "understanding".into(),
            title: "Understanding trauma".into(),
            parent: None,
        },
        Topic {
            id: "practice".into(),
            title: "Trauma-informed practice".into(),
            parent: None,
        },
        Topic {
            id: "practice/custody".into(),
            title: "In custody".into(),
            parent: Some("practice".into()),
        },
    ]
}

fn article(id: &str, title: &str, body: &str, topics: &[&str]) -> Article {
    Article {
        id: id.into(),
        title: title.into(),
        summary: format!("About {title}."),
        body_md: body.into(),
        topics: topics.iter().map(|t| t.to_string()).collect(),
        related: Vec::new(),
        reading_minutes: markdown::reading_minutes(body),
        version: 0,
        updated_ms: 0,
    }
}

fn library(version: u64, articles: Vec<Article>, previous: Option<&Library>) -> Library {
    let lib = Library {
        version: 0,
        topics: topics(),
        articles: articles.into_iter().map(|a| (a.id.clone(), a)).collect(),
    };
    lib.stamped(previous, version, 1_700_000_000_000 + version as i64)
}

fn v1() -> Library {
    library(
        1,
        vec![
            article(
                "custody-basics",
                "Custody and the traumatised child",
                "A child in a cell may freeze, shout or go silent. Explain each step.",
                &["practice/custody"],
            ),
            article(
                "what-is-trauma",
                "What trauma is",
                "Trauma is the lasting effect of events that overwhelm a person. Behaviour can change.",
                &["understanding"],
            ),
            article(
                "calm-voice",
                "A calm voice",
                "Speak slowly. Custody can come later; for now keep the young person safe.",
                &["practice"],
            ),
        ],
        None,
    )
}

fn apply(store: &Store, pack: &Pack) -> Result<ApplyOutcome> {
    store.write(|tx| db::apply(tx, pack, 1, &mut |_| Ok(())))
}

fn stored(store: &Store) -> LibraryStatus {
    store.read(|tx| db::status(tx)).expect("status")
}

#[test]
fn a_full_pack_round_trips_deflated_and_plain_and_is_stored_verified() {
    let lib = v1();
    let pack = Pack::full(&lib, 5);
    for deflate in [true, false] {
        let bytes = pack.encode(deflate);
        assert_eq!(Pack::decode(&bytes).expect("decode"), pack);
    }
    let (_dir, store) = store();
    let out = apply(&store, &pack).expect("apply");
    assert_eq!((out.from_version, out.version, out.added, out.removed), (0, 1, 3, 0));
    let status = stored(&store);
    assert_eq!((status.version, status.articles, status.topics), (1, 3, 3));
    assert_eq!(status.library_sha256, lib.digest());
    // Applying the same version again is a no-op, not an error.
    let again = apply(&store, &Pack::delta(&lib, &lib, 6)).expect("noop");
    assert!(again.unchanged);
}

#[test]
fn deltas_add_change_and_remove_and_carry_only_what_changed() {
    let old = v1();
    let mut articles: Vec<Article> = old.articles.values().cloned().collect();
    articles.retain(|a| a.id != "calm-voice");
    articles
        .iter_mut()
        .filter(|a| a.id == "what-is-trauma")
        .for_each(|a| a.body_md.push_str(" New paragraph about ACEs."));
    articles.push(article(
        "aces",
        "Adverse childhood experiences",
        "ACEs are events in childhood.",
        &["understanding"],
    ));
    let new = library(2, articles, Some(&old));
    // The untouched article keeps its version and time.
    assert_eq!(new.articles["custody-basics"].version, 1);
    assert_eq!(new.articles["what-is-trauma"].version, 2);

    let delta = Pack::delta(&old, &new, 9);
    let ids: Vec<&str> = delta.upserts.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, ["aces", "what-is-trauma"]);
    assert_eq!(delta.removed, ["calm-voice"]);
    assert_eq!(delta.apply_to(&old).expect("pure apply"), new);

    let (_dir, store) = store();
    apply(&store, &Pack::full(&old, 1)).expect("v1");
    let out = apply(&store, &Pack::decode(&delta.encode(true)).expect("decode")).expect("v2");
    assert_eq!((out.added, out.changed, out.removed, out.articles), (1, 1, 1, 3));
    assert_eq!(stored(&store).library_sha256, new.digest());
    let body = store
        .read(|tx| db::article(tx, "what-is-trauma"))
        .expect("changed article")
        .body_md;
    assert!(body.ends_with("about ACEs."));
    assert!(matches!(
        store.read(|tx| db::article(tx, "calm-voice")),
        Err(LibraryError::UnknownArticle(_))
    ));
    let found = store.read(|tx| db::search(tx, "calm voice", 10)).expect("search");
    assert!(
        found.hits.iter().all(|h| h.id != "calm-voice"),
        "removed from the index too"
    );
    let found = store.read(|tx| db::search(tx, "adverse", 10)).expect("search");
    assert_eq!(found.hits[0].id, "aces");
}

#[test]
fn an_update_that_crashes_half_way_leaves_the_old_library_readable_and_intact() {
    let old = v1();
    let mut articles: Vec<Article> = old.articles.values().cloned().collect();
    for a in &mut articles {
        a.title = format!("{} (revised)", a.title);
    }
    for i in 0..6 {
        articles.push(article(
            &format!("extra-{i}"),
            &format!("Extra {i}"),
            "More words.",
            &["practice"],
        ));
    }
    let new = library(2, articles, Some(&old));
    let delta = Pack::delta(&old, &new, 9);
    let (_dir, store) = store();
    apply(&store, &Pack::full(&old, 1)).expect("v1");
    let before = stored(&store);

    let half = delta.upserts.len() / 2;
    let mut seen_during = None;
    let result = store.write(|tx| {
        db::apply(tx, &delta, 2, &mut |n| {
            if n == half {
                // A reader while the update is half-stored sees the old library.
                seen_during = Some(
                    store
                        .read(|r| db::search(r, "revised", 10))
                        .expect("read during the update")
                        .hits
                        .len(),
                );
                return Err(LibraryError::Io {
                    path: "simulated".into(),
                    reason: "the process died here".into(),
                });
            }
            Ok(())
        })
    });
    assert!(matches!(result, Err(LibraryError::Io { .. })), "{result:?}");
    assert_eq!(seen_during, Some(0));
    assert_eq!(stored(&store), before, "old version intact");
    let a = store.read(|tx| db::article(tx, "what-is-trauma")).expect("old article");
    assert_eq!(a.title, "What trauma is");
    assert_eq!(
        store.read(|tx| db::search(tx, "extra", 10)).expect("search").hits.len(),
        0
    );
    // The same delta applies cleanly afterwards.
    apply(&store, &delta).expect("retry");
    assert_eq!(stored(&store).version, 2);
}

#[test]
fn corrupt_truncated_or_misaddressed_packs_are_refused_and_change_nothing() {
    let old = v1();
    let (_dir, store) = store();
    apply(&store, &Pack::full(&old, 1)).expect("v1");
    let before = stored(&store);
    let mut newer: Vec<Article> = old.articles.values().cloned().collect();
    newer.push(article("new-one", "New one", "Body.", &["practice"]));
    let v2 = library(2, newer.clone(), Some(&old));
    let good = Pack::delta(&old, &v2, 3).encode(true);

    let mut flipped = good.clone();
    let last = flipped.len() - 3;
    flipped[last] ^= 0x55;
    let mut bad_sum = good.clone();
    bad_sum[10] ^= 1;
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("flipped body byte", flipped),
        ("checksum byte", bad_sum),
        ("truncated", good[..good.len() / 2].to_vec()),
        ("header only", good[..20].to_vec()),
        ("empty", Vec::new()),
        ("not a pack", b"{\"format\":1}".to_vec()),
        ("plain JSON body edited", {
            let mut plain = Pack::delta(&old, &v2, 3).encode(false);
            let n = plain.len();
            plain[n - 5] = b'x';
            plain
        }),
    ];
    for (what, bytes) in cases {
        let err = store.write(|tx| apply_pack(tx, &bytes, 5)).expect_err(what);
        assert!(
            matches!(err, LibraryError::Corrupt(_) | LibraryError::Checksum),
            "{what}: {err:?}"
        );
        assert_eq!(stored(&store), before, "{what}");
    }

    // A delta from another base.
    let v3 = library(3, newer, Some(&v2));
    let wrong = Pack::delta(&v2, &v3, 4);
    let err = apply(&store, &wrong).expect_err("wrong base");
    assert!(
        matches!(err, LibraryError::WrongBase { have: 1, pack_base: 2 }),
        "{err:?}"
    );
    // A pack whose content does not add up to the published fingerprint.
    let mut lying = Pack::delta(&old, &v2, 3);
    lying.library_sha256 = old.digest();
    let err = apply(&store, &lying).expect_err("mismatch");
    assert!(matches!(err, LibraryError::Mismatch { version: 2 }), "{err:?}");
    // A newer format.
    let mut future = Pack::delta(&old, &v2, 3);
    future.format = 2;
    let err = Pack::decode(&future.encode(true)).expect_err("format");
    assert!(
        matches!(err, LibraryError::UnsupportedFormat { found: 2, .. }),
        "{err:?}"
    );
    // An article that breaks the rules (a script in the id).
    let mut hostile = Pack::delta(&old, &v2, 3);
    hostile.upserts[0].id = "<script>".into();
    let err = Pack::decode(&hostile.encode(true)).expect_err("invalid");
    assert!(matches!(err, LibraryError::InvalidPack(_)), "{err:?}");
    assert_eq!(stored(&store), before);
}

#[test]
fn a_title_match_outranks_articles_that_only_mention_the_word() {
    let mut articles = vec![article(
        "custody-guide",
        "Custody",
        "What to expect when a young person is brought in.",
        &["practice/custody"],
    )];
    for i in 0..5 {
        articles.push(article(
            &format!("mention-{i}"),
            &format!("Street work {i}"),
            "Before custody, after custody, and custody again: custody is mentioned in this body many times.",
            &["practice"],
        ));
    }
    let (_dir, store) = store();
    apply(&store, &Pack::full(&library(1, articles, None), 1)).expect("apply");
    let found = store.read(|tx| db::search(tx, "custody", 10)).expect("search");
    assert_eq!(found.hits.len(), 6);
    assert_eq!(found.hits[0].id, "custody-guide", "{:?}", found.hits);
    assert_eq!(found.hits[0].title_html, "<mark>Custody</mark>");
    assert!(found.hits[0].score > found.hits[1].score);
    assert!(
        found.hits[1].snippet_html.contains("<mark>custody</mark>"),
        "{:?}",
        found.hits[1]
    );
}

#[test]
fn prefix_stemming_and_british_spellings_find_the_article() {
    let (_dir, store) = store();
    apply(&store, &Pack::full(&v1(), 1)).expect("apply");
    let search = |q: &str| -> Vec<String> {
        store
            .read(|tx| db::search(tx, q, 10))
            .expect(q)
            .hits
            .into_iter()
            .map(|h| h.id)
            .collect()
    };
    assert_eq!(
        search("behavior"),
        ["what-is-trauma"],
        "American spelling finds British text"
    );
    assert_eq!(search("behaviours"), ["what-is-trauma"], "plural, stemmed");
    assert_eq!(search("traumatized"), ["custody-basics"]);
    assert_eq!(search("overwhel"), ["what-is-trauma"], "prefix while typing");
    assert!(search("cust").contains(&"custody-basics".to_string()));
    // A sentence: common words are left out.
    assert_eq!(search("what should I do when a child freezes")[0], "custody-basics");
    // No article has every word: the best partial matches, flagged.
    let partial = store.read(|tx| db::search(tx, "custody zebra", 10)).expect("partial");
    assert!(!partial.matched_all_terms);
    assert!(!partial.hits.is_empty());
}

#[test]
fn hostile_queries_give_a_clear_result_or_a_typed_error_never_an_sqlite_error() {
    let (_dir, store) = store();
    apply(&store, &Pack::full(&v1(), 1)).expect("apply");
    let hostile = [
        "\"",
        "\"\"",
        "\"custody",
        "custody\"",
        "*",
        "custody*",
        "**",
        "NEAR(",
        "NEAR(custody child",
        "NEAR(custody child, 2)",
        "(",
        ")",
        "((custody",
        "custody))",
        "custody AND",
        "OR",
        "NOT custody",
        "title:custody",
        "{title}: custody",
        "-custody",
        "^custody",
        "custody + child",
        "'; DROP TABLE library_articles; --",
        "\u{0}\u{2}\u{3}",
        "😀 custody 😀",
        "",
        "   ",
    ];
    for q in hostile {
        let result = store.read(|tx| db::search(tx, q, 10));
        assert!(result.is_ok(), "{q:?}: {result:?}");
    }
    let found = store.read(|tx| db::search(tx, "NEAR(custody", 10)).expect("near");
    assert!(found.hits.iter().any(|h| h.id == "custody-basics"));
    let empty = store.read(|tx| db::search(tx, "\"*()", 10)).expect("empty");
    assert!(empty.hits.is_empty() && empty.terms.is_empty());

    let huge = "custody ".repeat(1_300);
    let err = store.read(|tx| db::search(tx, &huge, 10)).expect_err("10 KB");
    assert!(matches!(err, LibraryError::QueryTooLong { .. }), "{err:?}");
    let words: String = (0..60).map(|i| format!("w{i} ")).collect();
    let many = store.read(|tx| db::search(tx, &words, 10)).expect("many words");
    assert!(many.truncated);
    // The store is untouched by any of it.
    assert_eq!(stored(&store).articles, 3);
}

#[test]
fn snippets_and_titles_escape_the_articles_text() {
    let (_dir, store) = store();
    let lib = library(
        1,
        vec![article(
            "escaping",
            "Fish & <chips>",
            "Some <script>alert(1)</script> text about chips.",
            &["practice"],
        )],
        None,
    );
    apply(&store, &Pack::full(&lib, 1)).expect("apply");
    let hit = store
        .read(|tx| db::search(tx, "chips", 5))
        .expect("search")
        .hits
        .remove(0);
    assert_eq!(hit.title_html, "Fish &amp; &lt;<mark>chips</mark>&gt;");
    assert!(!hit.snippet_html.contains("<script"), "{}", hit.snippet_html);
    assert!(hit.snippet_html.contains("<mark>chips</mark>"), "{}", hit.snippet_html);
    let view = store.read(|tx| article_view(tx, None, "escaping")).expect("view");
    assert!(!view.html.contains("<script"), "{}", view.html);
}

#[test]
fn topics_nest_and_list_their_articles() {
    let (_dir, store) = store();
    apply(&store, &Pack::full(&v1(), 1)).expect("apply");
    let topics = store.read(|tx| db::topics(tx)).expect("topics");
    let counts: BTreeMap<&str, usize> = topics.iter().map(|t| (t.id.as_str(), t.articles)).collect();
    assert_eq!(counts["practice"], 2, "its own and its sub-topic's");
    assert_eq!(counts["practice/custody"], 1);
    let under = store.read(|tx| db::in_topic(tx, "practice")).expect("in topic");
    assert_eq!(under.len(), 2);
    assert!(matches!(
        store.read(|tx| db::in_topic(tx, "nowhere%")),
        Err(LibraryError::UnknownTopic(_))
    ));
}

fn officer(store: &Store, id: &str) {
    store
        .write(|tx| {
            tx.execute(
                "INSERT INTO officer (singleton, officer_id, display_name, rank) VALUES (1, ?1, 'PC Test', 'constable')
                 ON CONFLICT (singleton) DO UPDATE SET officer_id = excluded.officer_id",
                [id],
            )?;
            Ok::<_, LibraryError>(())
        })
        .expect("officer");
}

fn outbox_prefs(store: &Store) -> Vec<PrefsRecord> {
    store
        .read(|tx| {
            let mut stmt = tx.prepare(
                "SELECT payload, patrol_id FROM outbox WHERE kind = 'library_prefs' AND state = 'pending' ORDER BY created_ms",
            )?;
            let rows = stmt.query_map([], |r| Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, Option<String>>(1)?)))?;
            let mut out = Vec::new();
            for row in rows {
                let (payload, patrol) = row?;
                assert_eq!(patrol, None, "library records belong to no patrol");
                out.push(serde_json::from_slice(&payload).expect("payload"));
            }
            Ok::<_, LibraryError>(out)
        })
        .expect("outbox")
}

#[test]
fn bookmarks_and_recent_reads_are_queued_as_one_current_record_per_officer() {
    let (_dir, store) = store();
    apply(&store, &Pack::full(&v1(), 1)).expect("apply");
    // No officer: reading works, bookmarking is a typed error.
    let err = store
        .write(|tx| set_bookmark(tx, None, "what-is-trauma", true, 10))
        .expect_err("no officer");
    assert!(matches!(err, LibraryError::NoOfficer));
    store
        .write(|tx| open_article(tx, None, "what-is-trauma", 10))
        .expect("read anonymously");
    assert!(outbox_prefs(&store).is_empty());

    officer(&store, "wm-1");
    let me = Some("wm-1");
    assert!(
        store
            .write(|tx| set_bookmark(tx, me, "what-is-trauma", true, 100))
            .expect("bookmark")
    );
    assert!(
        !store
            .write(|tx| set_bookmark(tx, me, "what-is-trauma", true, 101))
            .expect("again")
    );
    store.write(|tx| open_article(tx, me, "calm-voice", 200)).expect("open");
    store
        .write(|tx| open_article(tx, me, "custody-basics", 300))
        .expect("open");
    let err = store
        .write(|tx| set_bookmark(tx, me, "no-such-article", true, 301))
        .expect_err("unknown");
    assert!(matches!(err, LibraryError::UnknownArticle(_)));

    // One pending record: the newest supersedes the rest.
    let queued = outbox_prefs(&store);
    assert_eq!(queued.len(), 1);
    let r = &queued[0];
    assert_eq!(r.officer_id, "wm-1");
    assert_eq!(
        r.bookmarks.iter().map(|b| b.article_id.as_str()).collect::<Vec<_>>(),
        ["what-is-trauma"]
    );
    assert_eq!(
        r.recent.iter().map(|b| b.article_id.as_str()).collect::<Vec<_>>(),
        ["custody-basics", "calm-voice"]
    );
    let view = store.read(|tx| article_view(tx, me, "what-is-trauma")).expect("view");
    assert!(view.bookmarked);

    // Versions only rise, even if the clock goes back.
    store
        .write(|tx| open_article(tx, me, "what-is-trauma", 50))
        .expect("open");
    assert!(outbox_prefs(&store)[0].version > r.version);
}

#[test]
fn the_forces_newer_copy_is_restored_and_an_older_one_ignored() {
    let (_dir, store) = store();
    apply(&store, &Pack::full(&v1(), 1)).expect("apply");
    officer(&store, "wm-1");
    let remote = PrefsRecord {
        id: "r-1".into(),
        format: guardian_protocol::library::PREFS_FORMAT,
        officer_id: "wm-1".into(),
        version: 5_000,
        updated_ms: 5_000,
        bookmarks: vec![guardian_protocol::library::PrefItem {
            article_id: "calm-voice".into(),
            time_ms: 4_000,
        }],
        recent: vec![guardian_protocol::library::PrefItem {
            article_id: "withdrawn-article".into(),
            time_ms: 4_500,
        }],
    };
    assert!(store.write(|tx| prefs::restore(tx, "wm-1", &remote)).expect("restore"));
    let marks = store.read(|tx| bookmarks(tx, Some("wm-1"))).expect("bookmarks");
    assert_eq!(marks[0].article_id, "calm-voice");
    let recent = store.read(|tx| recent(tx, Some("wm-1"))).expect("recent");
    assert_eq!(
        recent[0].article, None,
        "withdrawn from the library: shown as unavailable"
    );
    // Older, someone else's, or invalid: nothing changes.
    let mut older = remote.clone();
    older.version = 10;
    older.bookmarks.clear();
    assert!(!store.write(|tx| prefs::restore(tx, "wm-1", &older)).expect("older"));
    let mut other = remote.clone();
    other.officer_id = "wm-2".into();
    other.version = 9_000;
    assert!(
        !store
            .write(|tx| prefs::restore(tx, "wm-1", &other))
            .expect("other officer")
    );
    let mut bad = remote.clone();
    bad.version = 9_000;
    bad.bookmarks[0].article_id = "<script>".into();
    assert!(matches!(
        store.write(|tx| prefs::restore(tx, "wm-1", &bad)),
        Err(LibraryError::InvalidPrefs(_))
    ));
    assert_eq!(store.read(|tx| bookmarks(tx, Some("wm-1"))).expect("kept").len(), 1);
}

#[test]
fn an_officers_prefs_leave_the_handset_with_the_officer() {
    let (_dir, store) = store();
    apply(&store, &Pack::full(&v1(), 1)).expect("apply");
    officer(&store, "wm-1");
    store
        .write(|tx| set_bookmark(tx, Some("wm-1"), "calm-voice", true, 1))
        .expect("bookmark");
    store
        .write(|tx| {
            tx.execute("DELETE FROM officer", [])?;
            Ok::<_, LibraryError>(())
        })
        .expect("sign out");
    assert!(store.read(|tx| prefs::bookmarks(tx, "wm-1")).expect("gone").is_empty());
    assert_eq!(
        stored(&store).articles,
        3,
        "the library itself stays: it is reference content"
    );
}

#[test]
fn a_v3_outbox_is_rebuilt_with_its_rows_and_takes_records_outside_any_patrol() {
    use crate::store::schema;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("v3.db");
    {
        let conn = rusqlite::Connection::open(&path).expect("open");
        conn.execute_batch(&format!("PRAGMA key = \"x'{}'\";", "03".repeat(32)))
            .expect("key");
        conn.execute_batch(schema::V1).expect("v1");
        for sql in &schema::UPGRADES[..2] {
            conn.execute_batch(sql).expect("upgrade");
        }
        conn.pragma_update(None, "user_version", 3).expect("version");
        conn.execute_batch(
            "INSERT INTO officer (singleton, officer_id, display_name, rank) VALUES (1, 'wm-1', 'PC Test', 'constable');
             INSERT INTO areas (id, name, lpa, geometry, windows, updated_ms) VALUES ('a', 'A', 'Birmingham', '{}', '[]', 1);
             INSERT INTO patrols (id, area_id, officer_id, rank, checkin_time_ms, checkin_mono_ns, checkin_lat, checkin_lon, checkin_accuracy_m)
                 VALUES ('p-1', 'a', 'wm-1', 'constable', 1, 1, 52.0, -1.9, 5.0);
             INSERT INTO outbox (id, kind, format, patrol_id, seq, payload, created_ms, attempts, last_error)
                 VALUES ('r-1', 'check_in', 1, 'p-1', 0, x'7b7d', 1, 2, 'timed out');",
        )
        .expect("v3 rows");
    }
    let store = Store::open(&path, DbKey::from_bytes([3; 32]).expect("key")).expect("migrate");
    let (kind, patrol, attempts, error): (String, Option<String>, i64, Option<String>) = store
        .read(|tx| {
            Ok::<_, LibraryError>(tx.query_row(
                "SELECT kind, patrol_id, attempts, last_error FROM outbox WHERE id = 'r-1'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )?)
        })
        .expect("row kept");
    assert_eq!(
        (kind.as_str(), patrol.as_deref(), attempts, error.as_deref()),
        ("check_in", Some("p-1"), 2, Some("timed out"))
    );
    // A referral and library settings may now be queued with no patrol.
    apply(&store, &Pack::full(&v1(), 1)).expect("library");
    store
        .write(|tx| set_bookmark(tx, Some("wm-1"), "calm-voice", true, 5))
        .expect("bookmark");
    store
        .write(|tx| {
            tx.execute(
                "INSERT INTO outbox (id, kind, format, patrol_id, seq, payload, created_ms) VALUES ('ref-1', 'referral', 1, NULL, 0, x'', 6)",
                [],
            )?;
            Ok::<_, LibraryError>(())
        })
        .expect("referral row");
    let pending = store
        .read(|tx| crate::store::outbox::pending(tx).map_err(|e| LibraryError::Corrupt(e.to_string())))
        .expect("pending");
    let kinds: Vec<&str> = pending.iter().map(|i| i.kind.as_str()).collect();
    assert_eq!(kinds.len(), 3, "{kinds:?}");
    assert!(kinds.contains(&"library_prefs") && kinds.contains(&"referral") && kinds.contains(&"check_in"));
    // The patrol's own order is unchanged by rows outside it.
    let err = store.write(|tx| {
        tx.execute(
            "INSERT INTO outbox (id, kind, format, patrol_id, seq, payload, created_ms) VALUES ('x', 'bogus', 1, NULL, 0, x'', 7)",
            [],
        )?;
        Ok::<_, LibraryError>(())
    });
    assert!(err.is_err(), "the kind CHECK still holds");
}
