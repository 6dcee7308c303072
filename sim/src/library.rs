//! `guardian-sim library …`: the practice library as a handset sees it. The
//! starter content in `library/` is built into a content pack at run time
//! and applied to a fresh encrypted store, exactly as the app would apply
//! the pack it ships with; then the command searches or shows an article.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Subcommand;
use guardian_core::library::markdown::plain_text;
use guardian_core::library::{ArticleView, Library, Pack, SearchResults, source};
use guardian_core::{Config, FixedClock, Guardian};
use serde::Serialize;

use crate::{SimError, fake_keystore_key};

#[derive(Subcommand)]
pub enum LibraryCommand {
    /// Search the library (FTS5, stemming, prefix, British/American spellings).
    Search {
        /// What the officer typed.
        query: String,
        /// At most this many results.
        #[arg(long, default_value_t = 10)]
        limit: usize,
        /// The library source folder (default: the repository's `library/`).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Show one article as the reading screen would.
    Show {
        id: String,
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Print the sanitised HTML the shells show instead of plain text.
        #[arg(long)]
        html: bool,
        #[arg(long)]
        json: bool,
    },
    /// List the topics and how many articles each holds.
    Topics {
        #[arg(long)]
        dir: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Build a full content pack (version 1 unless --version) from the folder.
    BuildPack {
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Where to write the pack.
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 1)]
        version: u64,
        /// Write the JSON uncompressed (still checksummed).
        #[arg(long)]
        plain: bool,
    },
}

/// `GUARDIAN_LIBRARY`, else the repository's `library/` folder.
pub fn default_dir() -> PathBuf {
    std::env::var_os("GUARDIAN_LIBRARY")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../library"))
}

fn input(what: &str, e: impl std::fmt::Display) -> SimError {
    SimError::Input {
        what: what.into(),
        reason: e.to_string(),
    }
}

/// Parses the source folder into a library stamped as `version`.
pub fn load_sources(dir: &Path, version: u64, now_ms: i64) -> Result<Library, SimError> {
    let lib = source::read_dir(dir).map_err(|e| input(&format!("library {}", dir.display()), e))?;
    Ok(lib.stamped(None, version, now_ms))
}

/// A handset store in a temporary folder with the library applied.
/// The store closes (fields drop in order) before its folder is removed.
pub struct LoadedHandset {
    pub guardian: Guardian,
    _dir: tempfile::TempDir,
}

pub fn handset_with(lib: &Library) -> Result<LoadedHandset, SimError> {
    let dir = tempfile::tempdir().map_err(|e| input("temporary directory", e))?;
    let now = chrono::Utc::now().timestamp_millis();
    let guardian = Guardian::open(
        Config::new(dir.path().join("handset.db")),
        fake_keystore_key(),
        Arc::new(FixedClock::new(now)),
    )?;
    guardian.library_apply_pack(&Pack::full(lib, now).encode(true))?;
    Ok(LoadedHandset { guardian, _dir: dir })
}

fn starter(dir: Option<PathBuf>) -> Result<LoadedHandset, SimError> {
    let now = chrono::Utc::now().timestamp_millis();
    handset_with(&load_sources(&dir.unwrap_or_else(default_dir), 1, now)?)
}

fn print_json<T: Serialize>(value: &T) {
    println!("{}", serde_json::to_string_pretty(value).unwrap_or_default());
}

pub fn run(command: LibraryCommand) -> Result<(), SimError> {
    match command {
        LibraryCommand::Search {
            query,
            limit,
            dir,
            json,
        } => {
            let h = starter(dir)?;
            let results = h.guardian.library_search(&query, limit)?;
            if json {
                print_json(&results);
            } else {
                print_results(&query, &results);
            }
        }
        LibraryCommand::Show { id, dir, html, json } => {
            let h = starter(dir)?;
            let view = h.guardian.library_article(&id)?;
            if json {
                print_json(&view);
            } else {
                let md = h
                    .guardian
                    .store()
                    .read(|tx| guardian_core::library::db::article(tx, &id))
                    .map_err(guardian_core::Error::from)?
                    .body_md;
                print_article(&view, if html { view.html.clone() } else { plain_text(&md) });
            }
        }
        LibraryCommand::Topics { dir, json } => {
            let h = starter(dir)?;
            let topics = h.guardian.library_topics()?;
            if json {
                print_json(&topics);
            } else {
                for t in topics {
                    let depth = t.id.matches('/').count();
                    println!("{}{} ({}) [{}]", "  ".repeat(depth), t.title, t.articles, t.id);
                }
            }
        }
        LibraryCommand::BuildPack {
            dir,
            out,
            version,
            plain,
        } => {
            if version == 0 {
                return Err(input("--version", "versions start at 1"));
            }
            let now = chrono::Utc::now().timestamp_millis();
            let lib = load_sources(&dir.unwrap_or_else(default_dir), version, now)?;
            let pack = Pack::full(&lib, now);
            let bytes = pack.encode(!plain);
            std::fs::write(&out, &bytes).map_err(|e| input(&format!("writing {}", out.display()), e))?;
            println!(
                "wrote {}: version {}, {} articles, {} topics, {} bytes, library sha256 {}",
                out.display(),
                pack.version,
                pack.articles_total,
                pack.topics.len(),
                bytes.len(),
                pack.library_sha256
            );
        }
    }
    Ok(())
}

fn print_results(query: &str, r: &SearchResults) {
    if r.terms.is_empty() {
        println!("Nothing to search for in {query:?}: type a word or two.");
        return;
    }
    if r.hits.is_empty() {
        println!("No articles match {}.", r.terms.join(" "));
        return;
    }
    if !r.matched_all_terms {
        println!("No article has every word; showing articles with some of them.");
    }
    for (i, h) in r.hits.iter().enumerate() {
        println!("{:>2}. {} [{}] ({} min)", i + 1, h.title, h.id, h.reading_minutes);
        println!("    {}", h.snippet.replace('\n', " "));
    }
}

fn print_article(v: &ArticleView, body: String) {
    println!("{}", v.title);
    println!("{}", "=".repeat(v.title.chars().count()));
    println!("{}", v.summary);
    let topics: Vec<&str> = v.topics.iter().map(|t| t.title.as_str()).collect();
    println!(
        "[{}] {} min read, version {}, updated {}",
        topics.join(", "),
        v.reading_minutes,
        v.version,
        crate::rfc3339(v.updated_ms)
    );
    println!();
    println!("{body}");
    if !v.related.is_empty() {
        println!();
        println!("Related:");
        for r in &v.related {
            println!("  - {} [{}]", r.title, r.id);
        }
    }
}

/// The bench's library: `n` articles made by recombining the starter
/// library's own paragraphs, titles and summaries, so word frequencies are
/// those of real guidance (a domain word like "trauma" is in most articles,
/// "solicitor" in few) rather than a toy vocabulary's. Deterministic, so
/// every run measures the same work.
pub fn generated_library(starter: &Library, n: usize, now_ms: i64) -> Library {
    let sources: Vec<&guardian_core::library::Article> = starter.articles.values().collect();
    let paragraphs: Vec<&str> = sources
        .iter()
        .flat_map(|a| a.body_md.split("\n\n"))
        .filter(|p| !p.trim().is_empty())
        .collect();
    let mut rng = fastrand::Rng::with_seed(0x9e37_79b9_7f4a_7c15);
    let mut next = |m: usize| rng.usize(..m.max(1));
    let mut articles = std::collections::BTreeMap::new();
    for i in 0..n {
        let like = sources[next(sources.len())];
        let body: Vec<&str> = (0..6).map(|_| paragraphs[next(paragraphs.len())]).collect();
        let body = body.join("\n\n");
        let id = format!("gen-{i:05}");
        articles.insert(
            id.clone(),
            guardian_core::library::Article {
                id,
                title: format!("{} ({})", like.title, i + 1),
                summary: sources[next(sources.len())].summary.clone(),
                reading_minutes: guardian_core::library::markdown::reading_minutes(&body),
                body_md: body,
                topics: like.topics.clone(),
                related: Vec::new(),
                version: 0,
                updated_ms: 0,
            },
        );
    }
    Library {
        version: 0,
        topics: starter.topics.clone(),
        articles,
    }
    .stamped(None, 1, now_ms)
}
