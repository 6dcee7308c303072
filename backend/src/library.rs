//! The force's side of the practice library: published versions (each the
//! whole library, stored as a checksummed full content pack), the packs and
//! deltas handsets fetch, and each officer's synced bookmarks and recent
//! reads.
//!
//! Packs and deltas are built with `guardian_core::library::pack`, the code
//! the handset reads them with. A delta is computed on request from the two
//! stored versions; a handset asking from a version this server never
//! published (or from 0) gets the full pack, which replaces what it has.
//!
//! The tables are this module's own, created on first open and versioned
//! by a `meta` counter, so they sit beside the backend's schema without
//! changing it.

use std::path::Path;

use crate::sql::{Tx, p};
use guardian_core::library::{Library, LibraryError, Pack, Topic, source};
use guardian_protocol::library::{PrefsRecord, PrefsReply};
use guardian_protocol::rules::{MAX_ID_LEN, check_id};
use guardian_protocol::wire::AckStatus;
use serde::{Deserialize, Serialize};

use crate::backend::{Backend, replay};
use crate::error::BackendError;
use crate::officers::require_officer;

const SCHEMA: &str = "
CREATE TABLE library_versions (
    version        INTEGER PRIMARY KEY,
    published_ms   INTEGER NOT NULL,
    articles       INTEGER NOT NULL,
    library_sha256 TEXT NOT NULL,
    topics         TEXT NOT NULL,
    pack           BLOB NOT NULL
);
CREATE TABLE library_prefs (
    officer_id  TEXT PRIMARY KEY,
    record_id   TEXT NOT NULL,
    version     INTEGER NOT NULL,
    body        TEXT NOT NULL,
    received_ms INTEGER NOT NULL
);
CREATE TABLE library_prefs_records (
    record_id   TEXT PRIMARY KEY,
    officer_id  TEXT NOT NULL,
    received_ms INTEGER NOT NULL
);
";

/// This module's tables and their versions (see [`crate::db::Schema`]).
pub(crate) const TABLES: crate::db::Schema = crate::db::Schema {
    name: "library",
    stored: crate::db::Stored::Meta("library_schema"),
    first: &[SCHEMA],
    fresh: &[SCHEMA],
    upgrades: &[],
};

/// What publishing did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Published {
    /// The current version (unchanged if the content was the same).
    pub version: u64,
    /// False when the folder matched the current version: nothing published.
    pub published: bool,
    pub added: usize,
    pub changed: usize,
    pub removed: usize,
    pub articles: usize,
    pub library_sha256: String,
}

/// `POST /v1/admin/library`: the source folder's files.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LibrarySources {
    pub files: Vec<SourceFile>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SourceFile {
    pub name: String,
    pub text: String,
}

fn bad_library(e: LibraryError) -> BackendError {
    BackendError::BadLibrary(e.to_string())
}

/// A stored version back into a library, checksum and fingerprint checked:
/// the server never serves bytes it cannot vouch for.
fn stored_library(bytes: &[u8]) -> Result<Library, BackendError> {
    let pack = Pack::decode(bytes).map_err(|e| BackendError::Corrupt(format!("stored library pack: {e}")))?;
    pack.apply_to(&Library::default())
        .map_err(|e| BackendError::Corrupt(format!("stored library pack: {e}")))
}

fn latest(tx: &Tx<'_>) -> Result<Option<(u64, Vec<u8>)>, BackendError> {
    let row: Option<(i64, Vec<u8>)> = tx.query_opt(
        "SELECT version, pack FROM library_versions ORDER BY version DESC LIMIT 1",
        p![],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok(row.map(|(v, p)| (u64::try_from(v).unwrap_or(0), p)))
}

fn as_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl Backend {
    /// Publishes a folder of Markdown (see `guardian_core::library::source`)
    /// as the next version, unless it is the same as the current one.
    pub fn publish_library_dir(&self, dir: &Path, now_ms: i64) -> Result<Published, BackendError> {
        let parsed = source::read_dir(dir).map_err(bad_library)?;
        self.publish_library(parsed, now_ms)
    }

    /// The same from files given as (name, text), for the admin API.
    pub fn publish_library_files(&self, files: &[SourceFile], now_ms: i64) -> Result<Published, BackendError> {
        let parsed =
            source::parse_sources(files.iter().map(|f| (f.name.as_str(), f.text.as_str()))).map_err(bad_library)?;
        self.publish_library(parsed, now_ms)
    }

    /// Stores `parsed` as a new version; all or nothing.
    pub fn publish_library(&self, parsed: Library, now_ms: i64) -> Result<Published, BackendError> {
        self.write(|tx| {
            let previous = match latest(tx)? {
                Some((_, bytes)) => Some(stored_library(&bytes)?),
                None => None,
            };
            if let Some(prev) = previous.as_ref().filter(|p| parsed.same_content(p)) {
                return Ok(Published {
                    version: prev.version,
                    published: false,
                    added: 0,
                    changed: 0,
                    removed: 0,
                    articles: prev.articles.len(),
                    library_sha256: prev.digest(),
                });
            }
            let version = previous.as_ref().map_or(1, |p| p.version + 1);
            let lib = parsed.clone().stamped(previous.as_ref(), version, now_ms);
            let old = previous.unwrap_or_default();
            let added = lib.articles.keys().filter(|id| !old.articles.contains_key(*id)).count();
            let changed = lib
                .articles
                .values()
                .filter(|a| old.articles.get(&a.id).is_some_and(|o| o != *a))
                .count();
            let removed = old.articles.keys().filter(|id| !lib.articles.contains_key(*id)).count();
            let pack = Pack::full(&lib, now_ms);
            let topics =
                serde_json::to_string(&lib.topics).map_err(|e| BackendError::Server(format!("topics JSON: {e}")))?;
            tx.execute(
                "INSERT INTO library_versions (version, published_ms, articles, library_sha256, topics, pack)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                p![
                    as_i64(version),
                    now_ms,
                    as_i64(lib.articles.len() as u64),
                    pack.library_sha256,
                    topics,
                    pack.encode(true)
                ],
            )?;
            tracing::info!(version, added, changed, removed, "practice library published");
            Ok(Published {
                version,
                published: true,
                added,
                changed,
                removed,
                articles: lib.articles.len(),
                library_sha256: pack.library_sha256,
            })
        })
    }

    /// The latest published version (0: none).
    pub fn library_version(&self) -> Result<u64, BackendError> {
        self.read(|tx| Ok(latest_version(tx)?.map_or(0, |(v, ..)| v)))
    }

    /// The pack taking a handset from `since` to the latest version: a
    /// no-op when it is current, a delta from a version we published, else
    /// the full library. `None`: nothing published yet.
    pub fn library_pack(&self, since: u64, now_ms: i64) -> Result<Option<Vec<u8>>, BackendError> {
        self.read(|tx| {
            let Some((current, sha, articles, topics)) = latest_version(tx)? else {
                return Ok(None);
            };
            if since == current {
                let topics: Vec<Topic> =
                    serde_json::from_str(&topics).map_err(|e| BackendError::Corrupt(format!("stored topics: {e}")))?;
                let noop = Pack {
                    format: guardian_core::library::pack::FORMAT,
                    base_version: current,
                    version: current,
                    created_ms: now_ms,
                    topics,
                    upserts: Vec::new(),
                    removed: Vec::new(),
                    articles_total: articles,
                    library_sha256: sha,
                };
                return Ok(Some(noop.encode(false)));
            }
            let pack_of = |v: u64| -> Result<Option<Vec<u8>>, BackendError> {
                Ok(tx.query_opt(
                    "SELECT pack FROM library_versions WHERE version = ?1",
                    p![as_i64(v)],
                    |r| r.get(0),
                )?)
            };
            let full = pack_of(current)?.ok_or_else(|| BackendError::Corrupt("latest library vanished".into()))?;
            let base = if since == 0 || since > current {
                None
            } else {
                pack_of(since)?
            };
            match base {
                None => Ok(Some(full)),
                Some(old) => {
                    let (old, new) = (stored_library(&old)?, stored_library(&full)?);
                    Ok(Some(Pack::delta(&old, &new, now_ms).encode(true)))
                }
            }
        })
    }

    /// Stores an officer's library settings. Idempotent by record id; the
    /// highest version is kept, so an older record arriving late is
    /// acknowledged and changes nothing.
    pub(crate) fn submit_library_prefs(
        &self,
        sub: &str,
        record: &PrefsRecord,
        now_ms: i64,
    ) -> Result<AckStatus, BackendError> {
        check_id("id", &record.id, MAX_ID_LEN).map_err(|e| BackendError::refused("bad-prefs", e.to_string()))?;
        // Checked before the replay lookup too: a retry of a stored id with
        // a body that is not valid is refused, not answered "duplicate"
        // (found by the API fuzzing's stateful phase).
        check_id("officer_id", &record.officer_id, MAX_ID_LEN)
            .map_err(|e| BackendError::refused("bad-prefs", e.to_string()))?;
        record.validate().map_err(|r| BackendError::refused("bad-prefs", r))?;
        self.write(|tx| {
            require_officer(tx, sub)?;
            let owner: Option<String> = tx
                .query_opt(
                    "SELECT officer_id FROM library_prefs_records WHERE record_id = ?1",
                    p![&record.id],
                    |r| r.get(0),
                )?;
            if let Some(owner) = owner {
                return replay(tx, sub, &owner, "library settings record");
            }
            if record.officer_id != sub {
                return Err(BackendError::forbidden("library settings can only be sent by their officer"));
            }
            tx.execute(
                "INSERT INTO library_prefs_records (record_id, officer_id, received_ms) VALUES (?1, ?2, ?3)",
                p![record.id, sub, now_ms],
            )?;
            let body = serde_json::to_string(record)
                .map_err(|e| BackendError::Server(format!("prefs JSON: {e}")))?;
            tx.execute(
                "INSERT INTO library_prefs (officer_id, record_id, version, body, received_ms) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (officer_id) DO UPDATE SET record_id = excluded.record_id, version = excluded.version,
                     body = excluded.body, received_ms = excluded.received_ms
                 WHERE excluded.version > library_prefs.version",
                p![sub, record.id, as_i64(record.version), body, now_ms],
            )?;
            Ok(AckStatus::Stored)
        })
    }

    /// The officer's latest library settings, for another handset.
    pub(crate) fn library_prefs(&self, sub: &str) -> Result<PrefsReply, BackendError> {
        self.read(|tx| {
            require_officer(tx, sub)?;
            let body: Option<String> =
                tx.query_opt("SELECT body FROM library_prefs WHERE officer_id = ?1", p![sub], |r| {
                    r.get(0)
                })?;
            let prefs = match body {
                Some(b) => Some(
                    serde_json::from_str(&b)
                        .map_err(|e| BackendError::Corrupt(format!("stored library prefs: {e}")))?,
                ),
                None => None,
            };
            Ok(PrefsReply { prefs })
        })
    }
}

type VersionRow = (u64, String, usize, String);

fn latest_version(tx: &Tx<'_>) -> Result<Option<VersionRow>, BackendError> {
    let row: Option<(i64, String, i64, String)> = tx.query_opt(
        "SELECT version, library_sha256, articles, topics FROM library_versions ORDER BY version DESC LIMIT 1",
        p![],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    )?;
    Ok(row.map(|(v, sha, n, topics)| {
        (
            u64::try_from(v).unwrap_or(0),
            sha,
            usize::try_from(n).unwrap_or(0),
            topics,
        )
    }))
}
