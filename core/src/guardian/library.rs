//! Practice library calls: reading, searching, bookmarks and recent reads
//! for the signed-in officer. Every rule and table is `crate::library`'s.

use super::GuardianCore;
use crate::error::Result;
use crate::library::{
    self, ApplyOutcome, ArticleSummary, ArticleView, LibraryStatus, PrefsEntry, SearchResults, TopicEntry, db,
};

impl GuardianCore {
    /// The library version and size on this handset (version 0: none yet).
    pub fn library_status(&self) -> Result<LibraryStatus> {
        Ok(self.store.read(|tx| db::status(tx))?)
    }

    /// Applies a content pack (the starter pack shipped with the app, or one
    /// fetched by hand). All or nothing: a bad pack leaves the old library.
    pub fn library_apply_pack(&self, bytes: &[u8]) -> Result<ApplyOutcome> {
        let now = self.now_ms();
        Ok(self.store.write(|tx| library::apply_pack(tx, bytes, now))?)
    }

    /// Full-text search; at most `limit` hits (1–100).
    pub fn library_search(&self, query: &str, limit: usize) -> Result<SearchResults> {
        Ok(self.store.read(|tx| db::search(tx, query, limit))?)
    }

    pub fn library_topics(&self) -> Result<Vec<TopicEntry>> {
        Ok(self.store.read(|tx| db::topics(tx))?)
    }

    /// The articles under a topic and its sub-topics, by title.
    pub fn library_topic_articles(&self, topic_id: &str) -> Result<Vec<ArticleSummary>> {
        Ok(self.store.read(|tx| db::in_topic(tx, topic_id))?)
    }

    pub fn library_articles(&self) -> Result<Vec<ArticleSummary>> {
        Ok(self.store.read(|tx| db::all(tx))?)
    }

    /// An article as the reading screen shows it, recording nothing.
    pub fn library_article(&self, id: &str) -> Result<ArticleView> {
        Ok(self.store.read(|tx| {
            let officer = self.officer_id(tx)?;
            library::article_view(tx, officer.as_deref(), id)
        })?)
    }

    /// Opens an article: its view, and a recent read for the signed-in
    /// officer, queued for their other handsets in the same commit.
    pub fn library_open_article(&self, id: &str) -> Result<ArticleView> {
        let now = self.now_ms();
        let view = self.store.write(|tx| {
            let officer = self.officer_id(tx)?;
            library::open_article(tx, officer.as_deref(), id, now)
        })?;
        self.nudge_sync();
        Ok(view)
    }

    /// Bookmarks (`on`) or un-bookmarks an article for the signed-in
    /// officer; returns whether anything changed.
    pub fn library_set_bookmark(&self, id: &str, on: bool) -> Result<bool> {
        let now = self.now_ms();
        let changed = self.store.write(|tx| {
            let officer = self.officer_id(tx)?;
            library::set_bookmark(tx, officer.as_deref(), id, on, now)
        })?;
        if changed {
            self.nudge_sync();
        }
        Ok(changed)
    }

    pub fn library_bookmarks(&self) -> Result<Vec<PrefsEntry>> {
        Ok(self.store.read(|tx| {
            let officer = self.officer_id(tx)?;
            library::bookmarks(tx, officer.as_deref())
        })?)
    }

    pub fn library_recent(&self) -> Result<Vec<PrefsEntry>> {
        Ok(self.store.read(|tx| {
            let officer = self.officer_id(tx)?;
            library::recent(tx, officer.as_deref())
        })?)
    }
}
