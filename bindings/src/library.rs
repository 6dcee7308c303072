//! The trauma-informed practice library: browse, search, read, bookmark.
//! Conversions and thin calls only; the rules are in
//! `guardian_core::library`. Content arrives by sync (or a pack shipped with
//! the app, applied with [`Guardian::library_apply_pack`]).

use guardian_core::library as core;

use crate::error::LibraryError;
use crate::guardian::Guardian;

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

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

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ArticleSummary {
    pub id: String,
    pub title: String,
    pub summary: String,
    pub topics: Vec<String>,
    pub reading_minutes: u32,
    pub updated_ms: i64,
}

impl From<core::ArticleSummary> for ArticleSummary {
    fn from(a: core::ArticleSummary) -> Self {
        ArticleSummary {
            id: a.id,
            title: a.title,
            summary: a.summary,
            topics: a.topics,
            reading_minutes: a.reading_minutes,
            updated_ms: a.updated_ms,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Topic {
    pub id: String,
    pub title: String,
    pub parent: Option<String>,
}

/// An article as the reading screen shows it.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
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

impl From<core::ArticleView> for ArticleView {
    fn from(v: core::ArticleView) -> Self {
        ArticleView {
            id: v.id,
            title: v.title,
            summary: v.summary,
            html: v.html,
            topics: v
                .topics
                .into_iter()
                .map(|t| Topic {
                    id: t.id,
                    title: t.title,
                    parent: t.parent,
                })
                .collect(),
            related: v.related.into_iter().map(Into::into).collect(),
            reading_minutes: v.reading_minutes,
            version: v.version,
            updated_ms: v.updated_ms,
            bookmarked: v.bookmarked,
        }
    }
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
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PrefsEntry {
    pub article_id: String,
    pub time_ms: i64,
    /// `None` when a library update withdrew the article.
    pub article: Option<ArticleSummary>,
}

impl From<core::PrefsEntry> for PrefsEntry {
    fn from(p: core::PrefsEntry) -> Self {
        PrefsEntry {
            article_id: p.article_id,
            time_ms: p.time_ms,
            article: p.article.map(Into::into),
        }
    }
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
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

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct SearchResults {
    /// The words searched for, after dropping punctuation and common words.
    pub terms: Vec<String>,
    pub hits: Vec<SearchHit>,
    /// False when no article had every word and the hits have any of them.
    pub matched_all_terms: bool,
    /// Some words were ignored.
    pub truncated: bool,
}

impl From<core::SearchResults> for SearchResults {
    fn from(r: core::SearchResults) -> Self {
        SearchResults {
            terms: r.terms,
            hits: r
                .hits
                .into_iter()
                .map(|h| SearchHit {
                    id: h.id,
                    title: h.title,
                    title_html: h.title_html,
                    summary: h.summary,
                    snippet_html: h.snippet_html,
                    snippet: h.snippet,
                    topics: h.topics,
                    reading_minutes: h.reading_minutes,
                    score: h.score,
                })
                .collect(),
            matched_all_terms: r.matched_all_terms,
            truncated: r.truncated,
        }
    }
}

fn all<T, U: From<T>>(v: Vec<T>) -> Vec<U> {
    v.into_iter().map(Into::into).collect()
}

#[uniffi::export(async_runtime = "tokio")]
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
        Ok(self.core().library_search(&query, limit)?.into())
    }

    pub fn library_topics(&self) -> Result<Vec<TopicEntry>, LibraryError> {
        Ok(all(self.core().library_topics()?))
    }

    /// The articles under a topic and its sub-topics, by title.
    pub fn library_topic_articles(&self, topic_id: String) -> Result<Vec<ArticleSummary>, LibraryError> {
        Ok(all(self.core().library_topic_articles(&topic_id)?))
    }

    pub fn library_articles(&self) -> Result<Vec<ArticleSummary>, LibraryError> {
        Ok(all(self.core().library_articles()?))
    }

    /// An article's view, recording nothing.
    pub fn library_article(&self, article_id: String) -> Result<ArticleView, LibraryError> {
        Ok(self.core().library_article(&article_id)?.into())
    }

    /// Opens an article: its view, and a recent read for the officer.
    pub fn library_open_article(&self, article_id: String) -> Result<ArticleView, LibraryError> {
        Ok(self.core().library_open_article(&article_id)?.into())
    }

    /// Bookmarks or un-bookmarks an article; returns whether anything changed.
    pub fn library_set_bookmark(&self, article_id: String, bookmarked: bool) -> Result<bool, LibraryError> {
        Ok(self.core().library_set_bookmark(&article_id, bookmarked)?)
    }

    pub fn library_bookmarks(&self) -> Result<Vec<PrefsEntry>, LibraryError> {
        Ok(all(self.core().library_bookmarks()?))
    }

    pub fn library_recent(&self) -> Result<Vec<PrefsEntry>, LibraryError> {
        Ok(all(self.core().library_recent()?))
    }
}
