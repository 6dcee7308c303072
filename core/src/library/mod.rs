//! The trauma-informed practice library: reference articles an officer reads
//! and searches on the handset with no signal, kept up to date by content
//! packs from the force.
//!
//! - [`source`]: the editors' format (Markdown with front matter and a topics
//!   file), parsed into a [`Library`] snapshot. The backend publishes from it.
//! - [`pack`]: the content-pack format (versioned, sha256-checksummed JSON,
//!   optionally deflated), full or a delta between two versions. Built by the
//!   backend and read by the handset with this same code.
//! - [`markdown`]: Markdown to sanitised HTML (both shells show the same
//!   thing), to plain text for the index, and reading time.
//! - [`search`]: turning what the officer typed into a safe FTS5 query
//!   (every token quoted; British and American spellings meet).
//! - [`db`]: the handset's tables: applying a pack in one transaction,
//!   reading and searching. [`prefs`]: bookmarks and recently read, per
//!   officer, queued for the force in the same transaction.
//!
//! The tables are owned here (`library_*`); nothing else writes them. The
//! library's step in a sync pass (fetch and apply a pack, restore the
//! officer's settings) is sync's, calling these functions.

pub mod db;
pub mod markdown;
pub mod pack;
pub mod prefs;
pub mod search;
pub mod source;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::store::StoreError;

pub use db::{ApplyOutcome, LibraryStatus};
pub use guardian_protocol::library::{PrefsRecord, PrefsReply};
pub use pack::{Pack, PackSummary};
pub use search::{SearchHit, SearchResults};

/// Limits on what a pack or a source may hold: generous for reference
/// articles, small enough that a hostile pack cannot exhaust a phone.
pub const MAX_ID_LEN: usize = 64;
pub const MAX_TITLE_CHARS: usize = 160;
pub const MAX_SUMMARY_CHARS: usize = 400;
pub const MAX_BODY_BYTES: usize = 64 * 1024;
pub const MAX_TOPICS_PER_ARTICLE: usize = 8;
pub const MAX_RELATED: usize = 12;
pub const MAX_ARTICLES: usize = 20_000;
pub const MAX_TOPICS: usize = 200;

#[derive(Debug, thiserror::Error)]
pub enum LibraryError {
    /// The bytes are not a content pack, or were cut short or damaged.
    #[error("the content pack is damaged: {0}")]
    Corrupt(String),
    #[error("the content pack's checksum does not match: it was damaged or cut short")]
    Checksum,
    #[error("content pack format {found} is not supported (this build reads format {supported})")]
    UnsupportedFormat { found: u32, supported: u32 },
    /// A delta made for another version than the one the handset holds.
    #[error("the content pack updates version {pack_base}, but this handset holds version {have}")]
    WrongBase { have: u64, pack_base: u64 },
    /// The library after the update is not the one the force published.
    #[error("after the update the library does not match published version {version}; the update was undone")]
    Mismatch { version: u64 },
    /// A well-formed pack whose content breaks a rule (ids, sizes, topics).
    #[error("the content pack is invalid: {0}")]
    InvalidPack(String),
    /// An editor's source file breaks a rule; the sentence says which.
    #[error("{file}: {reason}")]
    BadSource { file: String, reason: String },
    #[error("no article {0:?} in the library")]
    UnknownArticle(String),
    #[error("no topic {0:?} in the library")]
    UnknownTopic(String),
    #[error("the search is too long ({chars} characters; at most {max})")]
    QueryTooLong { chars: usize, max: usize },
    /// Bookmarks and recent reads from the force that break a rule.
    #[error("the synced library settings are invalid: {0}")]
    InvalidPrefs(String),
    #[error("no officer is signed in on this handset")]
    NoOfficer,
    #[error("cannot read {path}: {reason}")]
    Io { path: String, reason: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for LibraryError {
    fn from(e: rusqlite::Error) -> Self {
        LibraryError::Store(StoreError::from(e))
    }
}

pub type Result<T, E = LibraryError> = std::result::Result<T, E>;

/// A node of the small topic hierarchy. The parent is the id up to its last
/// `/` (`practice/street` sits under `practice`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Topic {
    pub id: String,
    pub title: String,
    pub parent: Option<String>,
}

/// One article as published. `version` is the library version in which it
/// last changed and `updated_ms` when that version was published, so a
/// reader can see how fresh the guidance is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Article {
    pub id: String,
    pub title: String,
    pub summary: String,
    /// CommonMark; rendered by [`markdown::render_html`] on the handset.
    pub body_md: String,
    pub topics: Vec<String>,
    pub related: Vec<String>,
    pub reading_minutes: u32,
    pub version: u64,
    pub updated_ms: i64,
}

impl Article {
    /// Same words, ignoring when they were stamped: a republish of an
    /// unchanged article must not look like a change to every handset.
    pub fn same_content(&self, other: &Article) -> bool {
        self.id == other.id
            && self.title == other.title
            && self.summary == other.summary
            && self.body_md == other.body_md
            && self.topics == other.topics
            && self.related == other.related
    }
}

/// The whole library at one version: what the backend stores per version
/// and what a full pack carries.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Library {
    pub version: u64,
    pub topics: Vec<Topic>,
    pub articles: BTreeMap<String, Article>,
}

impl Library {
    /// Stamps a freshly parsed library as `version`, published at `now_ms`:
    /// articles unchanged since `previous` keep their version and time.
    pub fn stamped(mut self, previous: Option<&Library>, version: u64, now_ms: i64) -> Library {
        self.version = version;
        for (id, a) in self.articles.iter_mut() {
            match previous.and_then(|p| p.articles.get(id)) {
                Some(old) if old.same_content(a) => {
                    a.version = old.version;
                    a.updated_ms = old.updated_ms;
                }
                _ => {
                    a.version = version;
                    a.updated_ms = now_ms;
                }
            }
        }
        self
    }

    /// True when publishing `self` over `previous` would change nothing.
    pub fn same_content(&self, previous: &Library) -> bool {
        self.topics == previous.topics
            && self.articles.len() == previous.articles.len()
            && self
                .articles
                .iter()
                .all(|(id, a)| previous.articles.get(id).is_some_and(|b| a.same_content(b)))
    }

    /// The library's fingerprint (see [`pack::library_digest`]).
    pub fn digest(&self) -> String {
        let articles: Vec<(String, String)> = self
            .articles
            .values()
            .map(|a| (a.id.clone(), pack::article_digest(a)))
            .collect();
        pack::library_digest(&self.topics, &articles)
    }
}

/// An article in a list (search, topic, bookmarks, recent, related).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ArticleSummary {
    pub id: String,
    pub title: String,
    pub summary: String,
    pub topics: Vec<String>,
    pub reading_minutes: u32,
    pub updated_ms: i64,
}

/// An article as the reading screen shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ArticleView {
    pub id: String,
    pub title: String,
    pub summary: String,
    /// Sanitised HTML: no raw HTML, scripts, images or unsafe links.
    pub html: String,
    pub topics: Vec<Topic>,
    /// Related articles still in the library, in the editors' order.
    pub related: Vec<ArticleSummary>,
    pub reading_minutes: u32,
    pub version: u64,
    pub updated_ms: i64,
    /// Whether the signed-in officer bookmarked it (false with no officer).
    pub bookmarked: bool,
}

/// A topic with how many articles it holds, for the browse screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TopicEntry {
    pub id: String,
    pub title: String,
    pub parent: Option<String>,
    pub articles: usize,
}

/// A bookmark or a recent read, with the article if it is still published.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PrefsEntry {
    pub article_id: String,
    pub time_ms: i64,
    /// `None` when a library update withdrew the article.
    pub article: Option<ArticleSummary>,
}

// ---- what the handset API calls ----

/// The reading screen's view of an article, without recording anything.
pub fn article_view(conn: &rusqlite::Connection, officer_id: Option<&str>, id: &str) -> Result<ArticleView> {
    let bookmarked = match officer_id {
        Some(o) => prefs::is_bookmarked(conn, o, id)?,
        None => false,
    };
    db::view(conn, id, bookmarked)
}

/// Opens an article: its view, and (with an officer signed in) a recent
/// read recorded and queued for the officer's other handsets, in `tx`.
pub fn open_article(
    tx: &rusqlite::Transaction<'_>,
    officer_id: Option<&str>,
    id: &str,
    now_ms: i64,
) -> Result<ArticleView> {
    let view = article_view(tx, officer_id, id)?;
    if let Some(o) = officer_id {
        prefs::record_read(tx, o, id, now_ms)?;
    }
    Ok(view)
}

/// Bookmarks or un-bookmarks for the signed-in officer; whether it changed.
pub fn set_bookmark(
    tx: &rusqlite::Transaction<'_>,
    officer_id: Option<&str>,
    id: &str,
    on: bool,
    now_ms: i64,
) -> Result<bool> {
    let officer_id = officer_id.ok_or(LibraryError::NoOfficer)?;
    prefs::set_bookmark(tx, officer_id, id, on, now_ms)
}

/// The signed-in officer's bookmarks, newest first (none with no officer).
pub fn bookmarks(conn: &rusqlite::Connection, officer_id: Option<&str>) -> Result<Vec<PrefsEntry>> {
    officer_id.map_or(Ok(Vec::new()), |o| prefs::bookmarks(conn, o))
}

/// The signed-in officer's recently read articles, newest first.
pub fn recent(conn: &rusqlite::Connection, officer_id: Option<&str>) -> Result<Vec<PrefsEntry>> {
    officer_id.map_or(Ok(Vec::new()), |o| prefs::recent(conn, o))
}

/// Decodes, checks and applies a pack in `tx` (all or nothing).
pub fn apply_pack(tx: &rusqlite::Transaction<'_>, bytes: &[u8], now_ms: i64) -> Result<ApplyOutcome> {
    let pack = Pack::decode(bytes)?;
    db::apply(tx, &pack, now_ms, &mut |_| Ok(()))
}

#[cfg(test)]
mod tests;
