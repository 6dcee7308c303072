//! The trauma-informed practice library: browse, search, read, bookmark.
//! Conversions and thin calls only; the rules are in
//! `guardian_core::library`. Content arrives by sync (or a pack shipped with
//! the app, applied with [`Guardian::library_apply_pack`]).

use guardian_core::library as core;

pub use guardian_core::library::{ArticleSummary, ArticleView, PrefsEntry, SearchHit, SearchResults, Topic};

use crate::error::LibraryError;
use crate::guardian::Guardian;
use crate::types::count;

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct LibraryStatus {
    /// 0: no library on the handset yet.
    pub version: u64,
    pub articles: u32,
    pub topics: u32,
    pub library_sha256: String,
    pub applied_ms: Option<i64>,
}

impl From<core::LibraryStatus> for LibraryStatus {
    fn from(s: core::LibraryStatus) -> Self {
        LibraryStatus {
            version: s.version,
            articles: count(s.articles),
            topics: count(s.topics),
            library_sha256: s.library_sha256,
            applied_ms: s.applied_ms,
        }
    }
}

/// What applying a content pack did.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ApplyOutcome {
    pub from_version: u64,
    pub version: u64,
    pub added: u32,
    pub changed: u32,
    pub removed: u32,
    pub articles: u32,
    /// The handset already had this version; nothing was written.
    pub unchanged: bool,
}

impl From<core::ApplyOutcome> for ApplyOutcome {
    fn from(o: core::ApplyOutcome) -> Self {
        ApplyOutcome {
            from_version: o.from_version,
            version: o.version,
            added: count(o.added),
            changed: count(o.changed),
            removed: count(o.removed),
            articles: count(o.articles),
            unchanged: o.unchanged,
        }
    }
}

#[uniffi::remote(Record)]
pub struct ArticleSummary {
    pub id: String,
    pub title: String,
    pub summary: String,
    pub topics: Vec<String>,
    pub reading_minutes: u32,
    pub updated_ms: i64,
}

#[uniffi::remote(Record)]
pub struct Topic {
    pub id: String,
    pub title: String,
    pub parent: Option<String>,
}

/// An article as the reading screen shows it.
#[uniffi::remote(Record)]
pub struct ArticleView {
    pub id: String,
    pub title: String,
    pub summary: String,
    /// Sanitised HTML, the same for both shells.
    pub html: String,
    pub topics: Vec<Topic>,
    pub related: Vec<ArticleSummary>,
    pub reading_minutes: u32,
    pub version: u64,
    pub updated_ms: i64,
    pub bookmarked: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct TopicEntry {
    pub id: String,
    pub title: String,
    pub parent: Option<String>,
    pub articles: u32,
}

impl From<core::TopicEntry> for TopicEntry {
    fn from(t: core::TopicEntry) -> Self {
        TopicEntry {
            id: t.id,
            title: t.title,
            parent: t.parent,
            articles: count(t.articles),
        }
    }
}

/// A bookmark or a recent read.
#[uniffi::remote(Record)]
pub struct PrefsEntry {
    pub article_id: String,
    pub time_ms: i64,
    /// `None` when a library update withdrew the article.
    pub article: Option<ArticleSummary>,
}

#[uniffi::remote(Record)]
pub struct SearchHit {
    pub id: String,
    pub title: String,
    /// The title with matches in `<mark>`; everything else escaped.
    pub title_html: String,
    pub summary: String,
    pub snippet_html: String,
    pub snippet: String,
    pub topics: Vec<String>,
    pub reading_minutes: u32,
    /// Higher is better.
    pub score: f64,
}

#[uniffi::remote(Record)]
pub struct SearchResults {
    /// The words searched for, after dropping punctuation and common words.
    pub terms: Vec<String>,
    pub hits: Vec<SearchHit>,
    /// False when no article had every word and the hits have any of them.
    pub matched_all_terms: bool,
    /// Some words were ignored.
    pub truncated: bool,
}

fn all<T, U: From<T>>(v: Vec<T>) -> Vec<U> {
    v.into_iter().map(Into::into).collect()
}

#[uniffi::export]
impl Guardian {
    pub fn library_status(&self) -> Result<LibraryStatus, LibraryError> {
        Ok(self.core().library_status()?.into())
    }

    /// Applies a content pack (e.g. the starter pack shipped with the app).
    /// All or nothing: a bad pack leaves the old library.
    pub async fn library_apply_pack(&self, pack: Vec<u8>) -> Result<ApplyOutcome, LibraryError> {
        self.blocking(move |g| Ok(g.library_apply_pack(&pack)?.into())).await
    }

    /// Full-text search, offline; at most `limit` hits (1–100).
    pub fn library_search(&self, query: String, limit: u32) -> Result<SearchResults, LibraryError> {
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        Ok(self.core().library_search(&query, limit)?)
    }

    pub fn library_topics(&self) -> Result<Vec<TopicEntry>, LibraryError> {
        Ok(all(self.core().library_topics()?))
    }

    /// The articles under a topic and its sub-topics, by title.
    pub fn library_topic_articles(&self, topic_id: String) -> Result<Vec<ArticleSummary>, LibraryError> {
        Ok(self.core().library_topic_articles(&topic_id)?)
    }

    pub fn library_articles(&self) -> Result<Vec<ArticleSummary>, LibraryError> {
        Ok(self.core().library_articles()?)
    }

    /// An article's view, recording nothing.
    pub fn library_article(&self, article_id: String) -> Result<ArticleView, LibraryError> {
        Ok(self.core().library_article(&article_id)?)
    }

    /// Opens an article: its view, and a recent read for the officer.
    pub fn library_open_article(&self, article_id: String) -> Result<ArticleView, LibraryError> {
        Ok(self.core().library_open_article(&article_id)?)
    }

    /// Bookmarks or un-bookmarks an article; returns whether anything changed.
    pub fn library_set_bookmark(&self, article_id: String, bookmarked: bool) -> Result<bool, LibraryError> {
        Ok(self.core().library_set_bookmark(&article_id, bookmarked)?)
    }

    pub fn library_bookmarks(&self) -> Result<Vec<PrefsEntry>, LibraryError> {
        Ok(self.core().library_bookmarks()?)
    }

    pub fn library_recent(&self) -> Result<Vec<PrefsEntry>, LibraryError> {
        Ok(self.core().library_recent()?)
    }
}
