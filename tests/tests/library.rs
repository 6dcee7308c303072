//! The practice library end to end: the force publishes the starter
//! library, a handset pulls it during a sync pass (then only the delta when
//! it changes), an officer's bookmarks and recent reads travel through the
//! outbox to the real backend and follow them to a second handset, and a
//! damaged download is refused with the old library left readable.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};

use guardian_core::Error;
use guardian_core::library::{LibraryError, Pack};
use guardian_tests::handset::{Force, Handset, T0, Tokens};

fn starter_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../library")
}

/// A copy of the starter folder that a test may edit.
fn editable_copy(into: &Path) -> PathBuf {
    let dir = into.join("library-src");
    std::fs::create_dir_all(&dir).expect("mkdir");
    for entry in std::fs::read_dir(starter_dir()).expect("library dir") {
        let path = entry.expect("entry").path();
        if path.is_file() {
            std::fs::copy(&path, dir.join(path.file_name().expect("name"))).expect("copy");
        }
    }
    dir
}

fn bookmark_ids(h: &Handset) -> Vec<String> {
    h.guardian
        .library_bookmarks()
        .expect("bookmarks")
        .into_iter()
        .map(|b| b.article_id)
        .collect()
}

#[test]
fn the_library_arrives_with_sync_updates_by_delta_and_prefs_follow_the_officer() {
    let dir = tempfile::tempdir().expect("tempdir");
    let force = Force::start(dir.path());
    let src = editable_copy(dir.path());
    let v1 = force.admin().publish_library_dir(&src, T0).expect("publish v1");
    assert_eq!(v1.version, 1);

    let tokens = Tokens::new(force.token(3600), force.token(3600));
    let a = Handset::open(&dir.path().join("handset-a.db"), &force.url(), tokens.clone());
    assert_eq!(a.guardian.library_status().expect("status").version, 0);
    a.provision();
    let status = a.guardian.library_status().expect("status");
    assert_eq!((status.version, status.articles), (1, v1.articles));
    let found = a.guardian.library_search("custody", 5).expect("search");
    assert!(
        found.hits[0].title.to_lowercase().contains("custody"),
        "{:?}",
        found.hits[0]
    );

    // The officer bookmarks one article and reads another, offline.
    assert!(
        a.guardian
            .library_set_bookmark("aces-explained", true)
            .expect("bookmark")
    );
    let view = a.guardian.library_open_article("what-is-trauma").expect("open");
    assert!(view.html.contains("<h2>"), "rendered");
    assert_eq!(a.pending(), 1, "one current library_prefs record");
    let report = a.guardian.sync_now().expect("sync");
    assert_eq!((report.acked, report.rejected), (1, 0));
    assert_eq!(report.library, None, "no new library version");
    assert_eq!(a.pending(), 0);

    // The same officer on another handset gets the library and their prefs.
    let b = Handset::open(&dir.path().join("handset-b.db"), &force.url(), tokens.clone());
    b.provision();
    assert_eq!(b.guardian.library_status().expect("status").version, 1);
    assert_eq!(bookmark_ids(&b), ["aces-explained"]);
    let recent: Vec<String> = b
        .guardian
        .library_recent()
        .expect("recent")
        .into_iter()
        .map(|r| r.article_id)
        .collect();
    assert_eq!(recent, ["what-is-trauma"]);

    // A change on B reaches A on its next pass (the newest change wins).
    b.clock.set(T0 + 60_000);
    b.guardian
        .library_set_bookmark("aces-explained", false)
        .expect("unbookmark");
    b.guardian
        .library_set_bookmark("principle-safety", true)
        .expect("bookmark");
    b.sync_until_drained(3);
    a.clock.set(T0 + 120_000);
    let report = a.guardian.sync_now().expect("sync");
    assert!(report.library_prefs_restored);
    assert_eq!(bookmark_ids(&a), ["principle-safety"]);

    // The force edits one article, withdraws one and adds one: A fetches
    // only the delta.
    let safety = src.join("principle-safety.md");
    let mut text = std::fs::read_to_string(&safety).expect("read");
    text.push_str("\nNever stand between a frightened person and their only way out.\n");
    std::fs::write(&safety, text).expect("write");
    // Withdrawing an article means no other article may list it as related.
    std::fs::remove_file(src.join("street-groups.md")).expect("remove");
    let first = src.join("street-first-contact.md");
    let text = std::fs::read_to_string(&first).expect("read");
    std::fs::write(&first, text.replace(", street-groups]", "]")).expect("write");
    std::fs::write(
        src.join("night-time-economy.md"),
        "---\nid: night-time-economy\ntitle: The night-time economy\nsummary: Busy streets after dark.\ntopics: [practice/street]\n---\nDoorstaff, taxi ranks and crowds at closing time.\n",
    )
    .expect("write");
    let v2 = force
        .admin()
        .publish_library_dir(&src, T0 + 3_600_000)
        .expect("publish v2");
    assert_eq!((v2.version, v2.added, v2.changed, v2.removed), (2, 1, 2, 1));
    let report = a.guardian.sync_now().expect("sync");
    let applied = report.library.expect("v2 applied");
    assert_eq!(
        (
            applied.from_version,
            applied.version,
            applied.added,
            applied.changed,
            applied.removed
        ),
        (1, 2, 1, 2, 1)
    );
    assert!(
        a.guardian
            .library_article("principle-safety")
            .expect("article")
            .html
            .contains("only way out")
    );
    assert!(matches!(
        a.guardian.library_article("street-groups"),
        Err(Error::Library(LibraryError::UnknownArticle(_)))
    ));
    let hits = a.guardian.library_search("taxi ranks", 5).expect("search").hits;
    assert_eq!(hits[0].id, "night-time-economy");
    // The bookmark on an article that still exists is untouched.
    assert_eq!(bookmark_ids(&a), ["principle-safety"]);
}

/// A server that speaks just enough of the protocol for a pass to reach
/// the library step, and then sends a damaged content pack.
fn hostile_library_server(pack: Vec<u8>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let (content_type, reply): (&str, Vec<u8>) = if request_line.contains("/v1/sync") {
                (
                    "application/json",
                    br#"{"cursor":"x","officer":null,"areas":null,"assignments":null,"commands":[]}"#.to_vec(),
                )
            } else if request_line.contains("/v1/library/prefs") {
                ("application/json", br#"{"prefs":null}"#.to_vec())
            } else {
                (guardian_core::library::pack::CONTENT_TYPE, pack.clone())
            };
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                reply.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&reply);
        }
    });
    format!("http://{addr}")
}

#[test]
fn a_damaged_or_cut_short_library_download_is_a_typed_error_and_the_old_library_stays() {
    let dir = tempfile::tempdir().expect("tempdir");
    let force = Force::start(dir.path());
    let src = editable_copy(dir.path());
    force.admin().publish_library_dir(&src, T0).expect("publish v1");
    let path = dir.path().join("handset.db");
    let tokens = Tokens::new(force.token(3600), force.token(3600));
    {
        let h = Handset::open(&path, &force.url(), tokens.clone());
        h.provision();
        assert_eq!(h.guardian.library_status().expect("status").version, 1);
    }
    // Version 2 exists, but what reaches the handset is damaged.
    std::fs::write(
        src.join("extra.md"),
        "---\nid: extra\ntitle: Extra\nsummary: Added.\ntopics: [wellbeing]\n---\nText.\n",
    )
    .expect("write");
    force.admin().publish_library_dir(&src, T0 + 1).expect("publish v2");
    let good = force.admin().library_pack(1, T0 + 2).expect("pack").expect("published");
    let mut flipped = good.clone();
    let n = flipped.len();
    flipped[n - 10] ^= 0x20;
    let cases = [
        ("flipped", flipped),
        ("cut short", good[..good.len() * 2 / 3].to_vec()),
        ("not a pack", b"<html>captive portal</html>".to_vec()),
    ];
    for (what, bytes) in cases {
        let h = Handset::open(&path, &hostile_library_server(bytes), tokens.clone());
        let before = h.guardian.library_status().expect("status");
        let err = h.guardian.sync_now().expect_err(what);
        assert!(
            matches!(err, Error::Library(LibraryError::Checksum | LibraryError::Corrupt(_))),
            "{what}: {err:?}"
        );
        assert_eq!(h.guardian.library_status().expect("status"), before, "{what}");
        let status = h.guardian.sync_status().expect("sync status");
        assert!(
            status.last_error.is_some_and(|e| e.contains("pack")),
            "{what}: surfaced"
        );
        assert!(
            !h.guardian
                .library_search("custody", 5)
                .expect("still searchable")
                .hits
                .is_empty()
        );
    }
    // Back on the real network the update goes through.
    let h = Handset::open(&path, &force.url(), tokens);
    let report = h.guardian.sync_now().expect("sync");
    assert_eq!(report.library.map(|l| l.version), Some(2));
    assert!(Pack::decode(&good).is_ok());
}
