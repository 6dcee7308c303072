//! The editors' format: a folder with `topics.txt` and one Markdown file per
//! article, each starting with front matter:
//!
//! ```text
//! ---
//! id: what-is-trauma
//! title: What trauma is
//! summary: One or two sentences shown in lists and search results.
//! topics: [understanding-trauma]
//! related: [aces, trauma-and-behaviour]
//! ---
//! The body, in Markdown.
//! ```
//!
//! Lists may also be written one `- item` per line under the key. Values may
//! be quoted. `topics.txt` has one topic a line, `id  Title`; the parent of
//! `practice/street` is `practice`. Lines starting `#` are comments.
//!
//! Everything is checked (unknown keys, ids, lengths, unknown topics or
//! related articles) and the first problem is reported with its file, so a
//! typo is caught when the pack is built, not on an officer's phone.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::markdown::reading_minutes;
use super::{
    Article, Library, LibraryError, MAX_ARTICLES, MAX_BODY_BYTES, MAX_ID_LEN, MAX_RELATED, MAX_SUMMARY_CHARS,
    MAX_TITLE_CHARS, MAX_TOPICS, MAX_TOPICS_PER_ARTICLE, Result, Topic,
};

pub const TOPICS_FILE: &str = "topics.txt";

fn bad(file: &str, reason: impl Into<String>) -> LibraryError {
    LibraryError::BadSource {
        file: file.to_string(),
        reason: reason.into(),
    }
}

/// Ids are slugs (the protocol's rule: they appear in URLs and file names).
pub use guardian_protocol::rules::is_slug as valid_id;

/// Parses `topics.txt`.
pub fn parse_topics(file: &str, text: &str) -> Result<Vec<Topic>> {
    let mut topics: Vec<Topic> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let at = |reason: String| bad(file, format!("line {}: {reason}", n + 1));
        let (id, title) = line
            .split_once(char::is_whitespace)
            .ok_or_else(|| at("expected `id  Title`".into()))?;
        let title = title.trim();
        if !valid_id(id, true) {
            return Err(at(format!(
                "topic id {id:?} is not lower-case letters, digits, - and /"
            )));
        }
        if title.is_empty() || title.chars().count() > MAX_TITLE_CHARS {
            return Err(at(format!("topic {id:?} has an empty or too long title")));
        }
        let parent = id.rsplit_once('/').map(|(p, _)| p.to_string());
        if let Some(p) = parent.as_ref().filter(|p| !topics.iter().any(|t| &t.id == *p)) {
            return Err(at(format!("topic {id:?} comes before its parent {p:?}")));
        }
        if topics.iter().any(|t| t.id == id) {
            return Err(at(format!("topic {id:?} is listed twice")));
        }
        topics.push(Topic {
            id: id.to_string(),
            title: title.to_string(),
            parent,
        });
    }
    if topics.is_empty() {
        return Err(bad(file, "no topics"));
    }
    if topics.len() > MAX_TOPICS {
        return Err(bad(file, format!("more than {MAX_TOPICS} topics")));
    }
    Ok(topics)
}

/// One article file, before cross-checks.
fn parse_article(file: &str, text: &str) -> Result<Article> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let text = text.replace("\r\n", "\n");
    let rest = text
        .strip_prefix("---\n")
        .ok_or_else(|| bad(file, "must start with a `---` front matter line"))?;
    let (front, body) = match rest.split_once("\n---\n") {
        Some(parts) => parts,
        None => match rest.strip_suffix("\n---") {
            Some(front) => (front, ""),
            None => return Err(bad(file, "the front matter has no closing `---` line")),
        },
    };
    let mut fields: BTreeMap<&str, Value> = BTreeMap::new();
    let mut open_list: Option<&str> = None;
    for (n, line) in front.lines().enumerate() {
        let at = |reason: String| bad(file, format!("front matter line {}: {reason}", n + 2));
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        if let Some(item) = line.trim_start().strip_prefix("- ") {
            let key = open_list.ok_or_else(|| at("a list item with no key above it".into()))?;
            if let Some(Value::List(items)) = fields.get_mut(key) {
                items.push(unquote(item));
            }
            continue;
        }
        let (key, value) = line.split_once(':').ok_or_else(|| at("expected `key: value`".into()))?;
        let key = key.trim();
        if !["id", "title", "summary", "topics", "related"].contains(&key) {
            return Err(at(format!("unknown key {key:?}")));
        }
        if fields.contains_key(key) {
            return Err(at(format!("{key:?} is given twice")));
        }
        let value = value.trim();
        open_list = None;
        let parsed = if value.is_empty() {
            open_list = Some(key);
            Value::List(Vec::new())
        } else if let Some(inner) = value.strip_prefix('[') {
            let inner = inner
                .strip_suffix(']')
                .ok_or_else(|| at(format!("{key:?}: a list must end with `]`")))?;
            Value::List(inner.split(',').map(unquote).filter(|s| !s.is_empty()).collect())
        } else {
            Value::Text(unquote(value))
        };
        fields.insert(key, parsed);
    }
    let text_field = |key: &str| match fields.get(key) {
        Some(Value::Text(s)) => Ok(s.clone()),
        Some(Value::List(_)) => Err(bad(file, format!("{key:?} must be text, not a list"))),
        None => Err(bad(file, format!("{key:?} is missing"))),
    };
    let list_field = |key: &str| -> Vec<String> {
        match fields.get(key) {
            Some(Value::List(items)) => items.clone(),
            Some(Value::Text(s)) => vec![s.clone()],
            None => Vec::new(),
        }
    };
    let id = text_field("id")?;
    let title = text_field("title")?;
    let summary = text_field("summary")?;
    let topics = list_field("topics");
    let related = list_field("related");
    let body_md = body.trim().to_string();
    let article = Article {
        reading_minutes: reading_minutes(&body_md),
        id,
        title,
        summary,
        body_md,
        topics,
        related,
        version: 0,
        updated_ms: 0,
    };
    check_article(&article).map_err(|reason| bad(file, reason))?;
    Ok(article)
}

enum Value {
    Text(String),
    List(Vec<String>),
}

fn unquote(s: &str) -> String {
    let s = s.trim();
    for q in ['"', '\''] {
        if s.len() >= 2 && s.starts_with(q) && s.ends_with(q) {
            return s[1..s.len() - 1].to_string();
        }
    }
    s.to_string()
}

fn bounded(field: &str, s: &str, max_chars: usize) -> Result<(), String> {
    if s.trim().is_empty() {
        return Err(format!("{field} is empty"));
    }
    if s.chars().count() > max_chars {
        return Err(format!("{field} is longer than {max_chars} characters"));
    }
    if s.chars().any(char::is_control) {
        return Err(format!("{field} contains control characters"));
    }
    Ok(())
}

/// The rules one article must keep on its own (a pack is checked with the
/// same rules when the handset reads it).
pub fn check_article(a: &Article) -> Result<(), String> {
    if !valid_id(&a.id, false) {
        return Err(format!(
            "article id {:?} is not 1-{MAX_ID_LEN} of lower-case letters, digits and -",
            a.id
        ));
    }
    bounded("title", &a.title, MAX_TITLE_CHARS)?;
    bounded("summary", &a.summary, MAX_SUMMARY_CHARS)?;
    if a.body_md.len() > MAX_BODY_BYTES {
        return Err(format!("the body is larger than {MAX_BODY_BYTES} bytes"));
    }
    if a.body_md.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err("the body contains control characters".into());
    }
    if a.topics.is_empty() || a.topics.len() > MAX_TOPICS_PER_ARTICLE {
        return Err(format!("an article needs 1-{MAX_TOPICS_PER_ARTICLE} topics"));
    }
    if a.related.len() > MAX_RELATED {
        return Err(format!("at most {MAX_RELATED} related articles"));
    }
    for t in &a.topics {
        if !valid_id(t, true) {
            return Err(format!("topic id {t:?} is not valid"));
        }
    }
    for r in &a.related {
        if !valid_id(r, false) || r == &a.id {
            return Err(format!("related article {r:?} is not a valid id of another article"));
        }
    }
    Ok(())
}

/// The rules between articles and topics: every topic an article names is
/// listed, every related article exists, ids are unique.
pub fn check_library(topics: &[Topic], articles: &BTreeMap<String, Article>) -> Result<(), String> {
    let topic_ids: BTreeSet<&str> = topics.iter().map(|t| t.id.as_str()).collect();
    if topic_ids.len() != topics.len() {
        return Err("a topic is listed twice".into());
    }
    for t in topics {
        if let Some(p) = t.parent.as_ref().filter(|p| !topic_ids.contains(p.as_str())) {
            return Err(format!("topic {:?} has no parent {p:?}", t.id));
        }
    }
    if articles.len() > MAX_ARTICLES {
        return Err(format!("more than {MAX_ARTICLES} articles"));
    }
    for a in articles.values() {
        for t in &a.topics {
            if !topic_ids.contains(t.as_str()) {
                return Err(format!("article {:?} names unknown topic {t:?}", a.id));
            }
        }
        for r in &a.related {
            if !articles.contains_key(r) {
                return Err(format!("article {:?} is related to unknown article {r:?}", a.id));
            }
        }
    }
    Ok(())
}

/// Builds a library (version 0, unstamped) from source files given as
/// (file name, text): `topics.txt` and `*.md`; other names are ignored.
pub fn parse_sources<'a>(files: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Library> {
    let mut topics = None;
    let mut articles: BTreeMap<String, Article> = BTreeMap::new();
    for (name, text) in files {
        if name == TOPICS_FILE {
            topics = Some(parse_topics(name, text)?);
        } else if name.ends_with(".md") && !name.eq_ignore_ascii_case("README.md") {
            let a = parse_article(name, text)?;
            if articles.contains_key(&a.id) {
                return Err(bad(name, format!("article id {:?} is used by another file", a.id)));
            }
            articles.insert(a.id.clone(), a);
        }
    }
    let topics = topics.ok_or_else(|| bad(TOPICS_FILE, "missing"))?;
    if articles.is_empty() {
        return Err(bad("library", "no articles (*.md files)"));
    }
    check_library(&topics, &articles).map_err(|reason| bad("library", reason))?;
    Ok(Library {
        version: 0,
        topics,
        articles,
    })
}

/// Reads a source folder (not recursive) and parses it.
pub fn read_dir(dir: &Path) -> Result<Library> {
    let io = |path: &Path, e: std::io::Error| LibraryError::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| io(dir, e))? {
        let path = entry.map_err(|e| io(dir, e))?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()).map(str::to_string) else {
            continue;
        };
        if !(name == TOPICS_FILE || name.ends_with(".md")) || !path.is_file() {
            continue;
        }
        let text = std::fs::read_to_string(&path).map_err(|e| io(&path, e))?;
        files.push((name, text));
    }
    // Sorted, so the first error reported is the same on every machine.
    files.sort();
    parse_sources(files.iter().map(|(n, t)| (n.as_str(), t.as_str())))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOPICS: &str =
        "# id title\nunderstanding  Understanding trauma\nunderstanding/aces  ACEs\npractice  Practice\n";

    fn md(id: &str, extra: &str) -> String {
        format!(
            "---\nid: {id}\ntitle: \"Title {id}\"\nsummary: Summary of {id}.\ntopics: [understanding]\n{extra}---\nBody of **{id}**.\n"
        )
    }

    #[test]
    fn a_folder_of_sources_parses_with_hierarchy_and_lists() {
        let a = md("a", "related:\n  - b\n");
        let b = md("b", "related: [a]\n");
        let lib = parse_sources([(TOPICS_FILE, TOPICS), ("a.md", a.as_str()), ("b.md", b.as_str())]).expect("parse");
        assert_eq!(lib.topics.len(), 3);
        assert_eq!(lib.topics[1].parent.as_deref(), Some("understanding"));
        let a = &lib.articles["a"];
        assert_eq!(a.title, "Title a");
        assert_eq!(a.related, vec!["b".to_string()]);
        assert_eq!(a.body_md, "Body of **a**.");
        assert_eq!(a.reading_minutes, 1);
    }

    #[test]
    fn source_mistakes_are_reported_with_the_file() {
        let cases = [
            ("x.md", "no front matter".to_string(), "front matter"),
            ("x.md", md("Bad_Id", ""), "article id"),
            ("x.md", md("x", "colour: red\n"), "unknown key"),
            ("x.md", md("x", "related: [nowhere]\n"), "unknown article"),
            (
                "x.md",
                md("x", "").replace("[understanding]", "[missing]"),
                "unknown topic",
            ),
            ("x.md", md("x", "").replace("\n---\nBody", "\nBody"), "closing"),
        ];
        for (file, text, expect) in cases {
            let err = parse_sources([(TOPICS_FILE, TOPICS), (file, text.as_str())]).expect_err(expect);
            let msg = err.to_string();
            assert!(msg.contains(expect), "{expect}: {msg}");
            assert!(matches!(err, LibraryError::BadSource { .. }));
        }
        let err = parse_topics("topics.txt", "child/x  Orphan\n").expect_err("orphan");
        assert!(err.to_string().contains("parent"), "{err}");
    }
}
