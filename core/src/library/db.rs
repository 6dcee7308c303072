//! The handset's library tables (`library_meta`, `library_topics`,
//! `library_articles`, `library_article_topics`, the FTS5 index
//! `library_fts`): applying a content pack and reading it back.
//!
//! A pack is applied inside one write transaction: the old library stays
//! readable to every reader until the new one is stored *and* verified (its
//! fingerprint recomputed from the stored rows equals the one the force
//! published), and a failure anywhere — a damaged row, the wrong base, a
//! crash — leaves the old library exactly as it was.

use std::collections::BTreeMap;

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::Serialize;

use super::markdown::{plain_text, render_html};
use super::pack::{Pack, article_digest, library_digest};
use super::search::{self, SearchHit, SearchResults};
use super::{Article, ArticleSummary, ArticleView, LibraryError, Result, Topic, TopicEntry};

/// bm25 weights per FTS column: title, summary, body, topic names, alternate
/// spellings. A word in the title counts ten times one in the body, so the
/// article *about* custody comes before one that mentions it.
const RANK: &str = "bm25(10.0, 4.0, 1.0, 3.0, 1.0)";
pub const DEFAULT_LIMIT: usize = 20;
pub const MAX_LIMIT: usize = 100;
/// Words of context either side of a match in a snippet.
const SNIPPET_TOKENS: i64 = 16;

/// What the handset holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LibraryStatus {
    /// 0: no library yet.
    pub version: u64,
    pub articles: usize,
    pub topics: usize,
    pub library_sha256: String,
    pub applied_ms: Option<i64>,
}

/// What applying a pack did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApplyOutcome {
    pub from_version: u64,
    pub version: u64,
    pub added: usize,
    pub changed: usize,
    pub removed: usize,
    pub articles: usize,
    /// The handset already had this version; nothing was written.
    pub unchanged: bool,
}

pub fn status(conn: &Connection) -> Result<LibraryStatus> {
    let meta: Option<(i64, String, i64)> = conn
        .query_row(
            "SELECT version, library_sha256, applied_ms FROM library_meta",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let articles: i64 = conn.query_row("SELECT count(*) FROM library_articles", [], |r| r.get(0))?;
    let topics: i64 = conn.query_row("SELECT count(*) FROM library_topics", [], |r| r.get(0))?;
    Ok(match meta {
        Some((version, sha, applied)) => LibraryStatus {
            version: u64::try_from(version).unwrap_or(0),
            articles: usize::try_from(articles).unwrap_or(0),
            topics: usize::try_from(topics).unwrap_or(0),
            library_sha256: sha,
            applied_ms: Some(applied),
        },
        None => LibraryStatus {
            version: 0,
            articles: 0,
            topics: 0,
            library_sha256: String::new(),
            applied_ms: None,
        },
    })
}

/// Applies a decoded pack. `progress` is called after each stored article
/// with the count so far; an error from it aborts the update like any other
/// (the tests use it to crash the update half-way).
pub fn apply(
    tx: &Transaction<'_>,
    pack: &Pack,
    now_ms: i64,
    progress: &mut dyn FnMut(usize) -> Result<()>,
) -> Result<ApplyOutcome> {
    pack.validate()?;
    let have = status(tx)?.version;
    if pack.is_noop() {
        if pack.version == have {
            return Ok(ApplyOutcome {
                from_version: have,
                version: have,
                added: 0,
                changed: 0,
                removed: 0,
                articles: status(tx)?.articles,
                unchanged: true,
            });
        }
        return Err(LibraryError::WrongBase {
            have,
            pack_base: pack.base_version,
        });
    }
    if !pack.is_full() && pack.base_version != have {
        return Err(LibraryError::WrongBase {
            have,
            pack_base: pack.base_version,
        });
    }
    let mut removed = 0;
    if pack.is_full() {
        removed = status(tx)?.articles;
        tx.execute_batch("DELETE FROM library_fts; DELETE FROM library_article_topics; DELETE FROM library_articles;")?;
    }
    for id in &pack.removed {
        if delete_article(tx, id)? {
            removed += 1;
        }
    }
    tx.execute("DELETE FROM library_topics", [])?;
    for (i, t) in pack.topics.iter().enumerate() {
        tx.execute(
            "INSERT INTO library_topics (id, title, parent, position) VALUES (?1, ?2, ?3, ?4)",
            params![t.id, t.title, t.parent, i64::try_from(i).unwrap_or(i64::MAX)],
        )?;
    }
    let topic_titles: BTreeMap<&str, &str> = pack.topics.iter().map(|t| (t.id.as_str(), t.title.as_str())).collect();
    let (mut added, mut changed) = (0, 0);
    for (i, a) in pack.upserts.iter().enumerate() {
        if delete_article(tx, &a.id)? {
            changed += 1;
        } else {
            added += 1;
        }
        insert_article(tx, a, &topic_titles)?;
        progress(i + 1)?;
    }
    // Verify what is now stored against what the force published.
    let (digest, count) = stored_digest(tx)?;
    if digest != pack.library_sha256 || count != pack.articles_total {
        return Err(LibraryError::Mismatch { version: pack.version });
    }
    tx.execute(
        "INSERT INTO library_meta (singleton, version, library_sha256, applied_ms) VALUES (1, ?1, ?2, ?3)
         ON CONFLICT (singleton) DO UPDATE SET version = excluded.version,
             library_sha256 = excluded.library_sha256, applied_ms = excluded.applied_ms",
        params![i64::try_from(pack.version).unwrap_or(i64::MAX), digest, now_ms],
    )?;
    Ok(ApplyOutcome {
        from_version: have,
        version: pack.version,
        added,
        changed,
        removed,
        articles: count,
        unchanged: false,
    })
}

fn delete_article(tx: &Transaction<'_>, id: &str) -> Result<bool> {
    let doc: Option<i64> = tx
        .prepare_cached("SELECT doc FROM library_articles WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?;
    let Some(doc) = doc else { return Ok(false) };
    tx.prepare_cached("DELETE FROM library_fts WHERE rowid = ?1")?
        .execute([doc])?;
    tx.prepare_cached("DELETE FROM library_article_topics WHERE doc = ?1")?
        .execute([doc])?;
    tx.prepare_cached("DELETE FROM library_articles WHERE doc = ?1")?
        .execute([doc])?;
    Ok(true)
}

fn json_list(items: &[String]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".into())
}

fn insert_article(tx: &Transaction<'_>, a: &Article, topic_titles: &BTreeMap<&str, &str>) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO library_articles (id, title, summary, body_md, topics, related, reading_minutes, version, updated_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        a.id,
        a.title,
        a.summary,
        a.body_md,
        json_list(&a.topics),
        json_list(&a.related),
        a.reading_minutes,
        i64::try_from(a.version).unwrap_or(i64::MAX),
        a.updated_ms
    ])?;
    let doc = tx.last_insert_rowid();
    for t in &a.topics {
        tx.prepare_cached("INSERT OR IGNORE INTO library_article_topics (topic_id, doc) VALUES (?1, ?2)")?
            .execute(params![t, doc])?;
    }
    let body = plain_text(&a.body_md);
    let topics: Vec<&str> = a
        .topics
        .iter()
        .map(|t| topic_titles.get(t.as_str()).copied().unwrap_or(t.as_str()))
        .collect();
    let topics = topics.join(". ");
    let clean = |s: &str| {
        s.chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect::<String>()
    };
    let alt = search::alternates(&format!("{} {} {} {}", a.title, a.summary, body, topics));
    tx.prepare_cached(
        "INSERT INTO library_fts (rowid, title, summary, body, topics, alt) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![doc, clean(&a.title), clean(&a.summary), body, topics, alt])?;
    Ok(())
}

fn parse_list(s: &str) -> Result<Vec<String>> {
    serde_json::from_str(s)
        .map_err(|e| LibraryError::Store(crate::store::StoreError::Corrupt(format!("library list: {e}"))))
}

const ARTICLE_COLUMNS: &str = "id, title, summary, body_md, topics, related, reading_minutes, version, updated_ms";

fn article_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(Article, String, String)> {
    Ok((
        Article {
            id: r.get(0)?,
            title: r.get(1)?,
            summary: r.get(2)?,
            body_md: r.get(3)?,
            topics: Vec::new(),
            related: Vec::new(),
            reading_minutes: r.get(6)?,
            version: u64::try_from(r.get::<_, i64>(7)?).unwrap_or(0),
            updated_ms: r.get(8)?,
        },
        r.get(4)?,
        r.get(5)?,
    ))
}

fn finish((mut a, topics, related): (Article, String, String)) -> Result<Article> {
    a.topics = parse_list(&topics)?;
    a.related = parse_list(&related)?;
    Ok(a)
}

/// The fingerprint of the stored library, recomputed from every stored row.
fn stored_digest(conn: &Connection) -> Result<(String, usize)> {
    let topics = topics_in_order(conn)?;
    let mut stmt = conn.prepare(&format!("SELECT {ARTICLE_COLUMNS} FROM library_articles ORDER BY id"))?;
    let rows = stmt.query_map([], article_from_row)?;
    let mut digests = Vec::new();
    for row in rows {
        let a = finish(row?)?;
        digests.push((a.id.clone(), article_digest(&a)));
    }
    let n = digests.len();
    Ok((library_digest(&topics, &digests), n))
}

fn topics_in_order(conn: &Connection) -> Result<Vec<Topic>> {
    let mut stmt = conn.prepare_cached("SELECT id, title, parent FROM library_topics ORDER BY position")?;
    let rows = stmt.query_map([], |r| {
        Ok(Topic {
            id: r.get(0)?,
            title: r.get(1)?,
            parent: r.get(2)?,
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

pub fn article(conn: &Connection, id: &str) -> Result<Article> {
    let row = conn
        .prepare_cached(&format!("SELECT {ARTICLE_COLUMNS} FROM library_articles WHERE id = ?1"))?
        .query_row([id], article_from_row)
        .optional()?;
    match row {
        Some(row) => finish(row),
        None => Err(LibraryError::UnknownArticle(id.to_string())),
    }
}

pub fn summary(conn: &Connection, id: &str) -> Result<Option<ArticleSummary>> {
    let row = conn
        .prepare_cached(
            "SELECT id, title, summary, topics, reading_minutes, updated_ms FROM library_articles WHERE id = ?1",
        )?
        .query_row([id], summary_from_row)
        .optional()?;
    row.map(finish_summary).transpose()
}

type SummaryRow = (String, String, String, String, u32, i64);

fn summary_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<SummaryRow> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
}

fn finish_summary((id, title, summary, topics, reading_minutes, updated_ms): SummaryRow) -> Result<ArticleSummary> {
    Ok(ArticleSummary {
        id,
        title,
        summary,
        topics: parse_list(&topics)?,
        reading_minutes,
        updated_ms,
    })
}

/// The reading screen's view of an article, rendered.
pub fn view(conn: &Connection, id: &str, bookmarked: bool) -> Result<ArticleView> {
    let a = article(conn, id)?;
    let all_topics = topics_in_order(conn)?;
    let topics = a
        .topics
        .iter()
        .filter_map(|t| all_topics.iter().find(|x| &x.id == t).cloned())
        .collect();
    let mut related = Vec::new();
    for r in &a.related {
        if let Some(s) = summary(conn, r)? {
            related.push(s);
        }
    }
    Ok(ArticleView {
        html: render_html(&a.body_md),
        id: a.id,
        title: a.title,
        summary: a.summary,
        topics,
        related,
        reading_minutes: a.reading_minutes,
        version: a.version,
        updated_ms: a.updated_ms,
        bookmarked,
    })
}

/// Every topic in display order, with how many articles each holds
/// (directly or in its sub-topics).
pub fn topics(conn: &Connection) -> Result<Vec<TopicEntry>> {
    let mut out = Vec::new();
    let mut count = conn.prepare_cached(
        "SELECT count(DISTINCT doc) FROM library_article_topics WHERE topic_id = ?1 OR topic_id LIKE ?2 ESCAPE '\\'",
    )?;
    for t in topics_in_order(conn)? {
        let n: i64 = count.query_row(params![t.id, like_children(&t.id)], |r| r.get(0))?;
        out.push(TopicEntry {
            id: t.id,
            title: t.title,
            parent: t.parent,
            articles: usize::try_from(n).unwrap_or(0),
        });
    }
    Ok(out)
}

/// `id/%` for LIKE, with LIKE's wildcards escaped (ids never hold them, but
/// the caller's text might).
fn like_children(id: &str) -> String {
    format!("{}/%", id.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"))
}

/// The articles under a topic (and its sub-topics), by title.
pub fn in_topic(conn: &Connection, topic_id: &str) -> Result<Vec<ArticleSummary>> {
    let exists: Option<i64> = conn
        .query_row("SELECT 1 FROM library_topics WHERE id = ?1", [topic_id], |r| r.get(0))
        .optional()?;
    if exists.is_none() {
        return Err(LibraryError::UnknownTopic(topic_id.to_string()));
    }
    let mut stmt = conn.prepare_cached(
        "SELECT id, title, summary, topics, reading_minutes, updated_ms FROM library_articles
         WHERE doc IN (SELECT doc FROM library_article_topics WHERE topic_id = ?1 OR topic_id LIKE ?2 ESCAPE '\\')
         ORDER BY title COLLATE NOCASE, id",
    )?;
    let rows = stmt.query_map(params![topic_id, like_children(topic_id)], summary_from_row)?;
    rows.map(|r| finish_summary(r?)).collect()
}

/// Every article, by title: the library's index page.
pub fn all(conn: &Connection) -> Result<Vec<ArticleSummary>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, title, summary, topics, reading_minutes, updated_ms FROM library_articles ORDER BY title COLLATE NOCASE, id",
    )?;
    let rows = stmt.query_map([], summary_from_row)?;
    rows.map(|r| finish_summary(r?)).collect()
}

/// Full-text search (see [`search`] for how the query is made safe).
/// Empty or punctuation-only text is an empty result; over-long text is
/// [`LibraryError::QueryTooLong`]; nothing the officer types reaches SQLite
/// as syntax.
pub fn search(conn: &Connection, text: &str, limit: usize) -> Result<SearchResults> {
    let chars = text.chars().count();
    if chars > search::MAX_QUERY_CHARS {
        return Err(LibraryError::QueryTooLong {
            chars,
            max: search::MAX_QUERY_CHARS,
        });
    }
    let Some(query) = search::build(text) else {
        return Ok(SearchResults::empty());
    };
    let limit = i64::try_from(limit.clamp(1, MAX_LIMIT)).unwrap_or(20);
    let mut matched_all = true;
    // Words found in most articles make bm25 score nearly every row. If the
    // title and summary alone hold a full page of matches, those are the
    // best answers anyway (the title weighs ten times the body) and the body
    // of every article need not be scored. Whether they do is a cheap probe
    // (the first `limit` matches in index order, unranked); then one ranked
    // query builds the highlights and snippets, once, for the final page.
    let headline = format!("{{title summary}} : ({})", query.all);
    let mut top = if at_least(conn, &headline, limit)? {
        ranked(conn, &headline, limit)?
    } else {
        ranked(conn, &query.all, limit)?
    };
    if top.is_empty() && query.terms.len() > 1 {
        matched_all = false;
        top = ranked(conn, &query.any, limit)?;
    }
    let mut meta = conn.prepare_cached(
        "SELECT id, title, summary, topics, reading_minutes, updated_ms FROM library_articles WHERE doc = ?1",
    )?;
    let mut hits = Vec::with_capacity(top.len());
    for m in top {
        let Some(row) = meta.query_row([m.doc], summary_from_row).optional()? else {
            continue;
        };
        let s = finish_summary(row)?;
        // The body's extract if a word matched there, else the summary.
        let extract = if m.body.contains(search::MARK_OPEN) || !m.summary.contains(search::MARK_OPEN) {
            m.body
        } else {
            m.summary
        };
        let (title_html, _) = search::marks_to_html(&m.title);
        let (snippet_html, snippet) = search::marks_to_html(&extract);
        hits.push(SearchHit {
            id: s.id,
            title: s.title,
            title_html,
            summary: s.summary,
            snippet_html,
            snippet,
            topics: s.topics,
            reading_minutes: s.reading_minutes,
            score: -m.rank,
        });
    }
    Ok(SearchResults {
        terms: query.terms.into_iter().map(|t| t.word).collect(),
        hits,
        matched_all_terms: matched_all,
        truncated: query.truncated,
    })
}

/// Does the query match at least `n` articles? Unranked, in index order,
/// stopping at the `n`th: no scoring at all.
fn at_least(conn: &Connection, fts: &str, n: i64) -> Result<bool> {
    let mut stmt = conn
        .prepare_cached("SELECT count(*) FROM (SELECT rowid FROM library_fts WHERE library_fts MATCH ?1 LIMIT ?2)")?;
    let found: i64 = stmt.query_row(params![fts, n], |r| r.get(0))?;
    Ok(found >= n)
}

/// One ranked match with its highlighted title, body extract and summary.
struct Ranked {
    doc: i64,
    rank: f64,
    title: String,
    body: String,
    summary: String,
}

/// The best `limit` matches. `ORDER BY rank` is done by FTS5 itself, so
/// SQLite computes the highlights and snippets only for the rows returned,
/// not for every match.
fn ranked(conn: &Connection, fts: &str, limit: i64) -> Result<Vec<Ranked>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT rowid, rank,
                highlight(library_fts, 0, char(2), char(3)),
                snippet(library_fts, 2, char(2), char(3), '…', {SNIPPET_TOKENS}),
                highlight(library_fts, 1, char(2), char(3))
         FROM library_fts WHERE library_fts MATCH ?1 AND rank MATCH ?2 ORDER BY rank LIMIT ?3"
    ))?;
    let rows = stmt.query_map(params![fts, RANK, limit], |r| {
        Ok(Ranked {
            doc: r.get(0)?,
            rank: r.get(1)?,
            title: r.get(2)?,
            body: r.get(3)?,
            summary: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}
