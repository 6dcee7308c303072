//! Content packs: how a library version travels from the force to handsets.
//!
//! On the wire a pack is
//!
//! ```text
//! "GLP1" | compression: 1 byte (0 none, 1 deflate) | sha256 of the JSON: 32 bytes | the JSON, deflated or not
//! ```
//!
//! The checksum covers the JSON itself, so a pack cut short, flipped in
//! transit or mangled by a proxy is refused before a byte of it is used. The
//! JSON ([`Pack`]) is either full (`base_version` 0: the whole library) or a
//! delta from `base_version` to `version`: the articles added or changed,
//! the ids removed, and the full (small) topic list. It also names the
//! fingerprint of the whole library at `version` ([`library_digest`]); the
//! handset recomputes it from what it stored before committing, so a delta
//! applied to the wrong base, or a bug anywhere on the way, is caught and
//! undone rather than leaving a library the force never published.
//!
//! The backend builds packs with this same code, so the two cannot drift.

use std::collections::BTreeSet;
use std::io::{Read, Write};

use flate2::Compression;
use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::source::{check_article, check_library, valid_id};
use super::{Article, Library, LibraryError, MAX_ARTICLES, MAX_TOPICS, Result, Topic};

pub const MAGIC: &[u8; 4] = b"GLP1";
/// The JSON format this build writes and reads.
pub const FORMAT: u32 = 1;
/// `Content-Type` of a pack over HTTP.
pub const CONTENT_TYPE: &str = "application/vnd.guardian.library-pack.v1";
const HEADER_LEN: usize = 4 + 1 + 32;
/// The largest JSON a pack may inflate to: far above a real library (the
/// 5,000-article bench library is ~10 MB), low enough that a deflate bomb
/// cannot take a phone's memory.
pub const MAX_JSON_BYTES: usize = 64 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pack {
    pub format: u32,
    /// 0: a full pack that replaces whatever the handset has.
    pub base_version: u64,
    pub version: u64,
    pub created_ms: i64,
    /// Every topic at `version`, in display order (small; always whole).
    pub topics: Vec<Topic>,
    /// Articles added or changed since `base_version`.
    pub upserts: Vec<Article>,
    /// Ids removed since `base_version`.
    pub removed: Vec<String>,
    /// How many articles the library has at `version`.
    pub articles_total: usize,
    /// [`library_digest`] of the library at `version`.
    pub library_sha256: String,
}

/// What a pack does, for logs and the admin's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackSummary {
    pub base_version: u64,
    pub version: u64,
    pub upserts: usize,
    pub removed: usize,
    pub articles_total: usize,
}

#[derive(Deserialize)]
struct FormatOnly {
    format: u32,
}

impl Pack {
    /// The whole of `lib`, for a handset with nothing (or a base we no
    /// longer have).
    pub fn full(lib: &Library, created_ms: i64) -> Pack {
        Pack {
            format: FORMAT,
            base_version: 0,
            version: lib.version,
            created_ms,
            topics: lib.topics.clone(),
            upserts: lib.articles.values().cloned().collect(),
            removed: Vec::new(),
            articles_total: lib.articles.len(),
            library_sha256: lib.digest(),
        }
    }

    /// What changed from `old` to `new`.
    pub fn delta(old: &Library, new: &Library, created_ms: i64) -> Pack {
        let upserts = new
            .articles
            .values()
            .filter(|a| old.articles.get(&a.id) != Some(*a))
            .cloned()
            .collect();
        let removed = old
            .articles
            .keys()
            .filter(|id| !new.articles.contains_key(*id))
            .cloned()
            .collect();
        Pack {
            format: FORMAT,
            base_version: old.version,
            version: new.version,
            created_ms,
            topics: new.topics.clone(),
            upserts,
            removed,
            articles_total: new.articles.len(),
            library_sha256: new.digest(),
        }
    }

    pub fn is_full(&self) -> bool {
        self.base_version == 0
    }

    /// Nothing to do: the handset is already at `version`.
    pub fn is_noop(&self) -> bool {
        self.base_version == self.version && self.upserts.is_empty() && self.removed.is_empty()
    }

    pub fn summary(&self) -> PackSummary {
        PackSummary {
            base_version: self.base_version,
            version: self.version,
            upserts: self.upserts.len(),
            removed: self.removed.len(),
            articles_total: self.articles_total,
        }
    }

    /// Applies the pack to a library in memory (the backend's and the
    /// tests' view; the handset applies it to its tables in [`super::db`]).
    pub fn apply_to(&self, lib: &Library) -> Result<Library> {
        if !self.is_full() && lib.version != self.base_version {
            return Err(LibraryError::WrongBase {
                have: lib.version,
                pack_base: self.base_version,
            });
        }
        let mut out = if self.is_full() {
            Library::default()
        } else {
            lib.clone()
        };
        for id in &self.removed {
            out.articles.remove(id);
        }
        for a in &self.upserts {
            out.articles.insert(a.id.clone(), a.clone());
        }
        out.topics = self.topics.clone();
        out.version = self.version;
        if out.digest() != self.library_sha256 {
            return Err(LibraryError::Mismatch { version: self.version });
        }
        Ok(out)
    }

    /// The rules a pack keeps on its own; checked before anything is stored.
    pub fn validate(&self) -> Result<()> {
        let invalid = |s: String| Err(LibraryError::InvalidPack(s));
        if self.format != FORMAT {
            return Err(LibraryError::UnsupportedFormat {
                found: self.format,
                supported: FORMAT,
            });
        }
        if self.version == 0 || self.version < self.base_version {
            return invalid(format!(
                "version {} does not follow base version {}",
                self.version, self.base_version
            ));
        }
        if self.version == self.base_version && !self.is_noop() {
            return invalid("a pack that changes articles must make a new version".into());
        }
        if self.topics.is_empty() || self.topics.len() > MAX_TOPICS {
            return invalid(format!("a library has 1-{MAX_TOPICS} topics"));
        }
        if self.upserts.len() > MAX_ARTICLES || self.articles_total > MAX_ARTICLES {
            return invalid(format!("more than {MAX_ARTICLES} articles"));
        }
        let mut seen = BTreeSet::new();
        for a in &self.upserts {
            check_article(a).map_err(|r| LibraryError::InvalidPack(format!("article {:?}: {r}", a.id)))?;
            if a.version == 0 || a.version > self.version {
                return invalid(format!("article {:?} has version {}", a.id, a.version));
            }
            if !seen.insert(a.id.as_str()) {
                return invalid(format!("article {:?} appears twice", a.id));
            }
        }
        for id in &self.removed {
            if !valid_id(id, false) || seen.contains(id.as_str()) {
                return invalid(format!("removed id {id:?} is invalid or also updated"));
            }
        }
        // Topics and the articles in this pack must agree; related articles
        // may be ones the handset already has, which the digest then vouches for.
        let topic_check = check_library(&self.topics, &Default::default());
        topic_check.map_err(LibraryError::InvalidPack)?;
        let topic_ids: BTreeSet<&str> = self.topics.iter().map(|t| t.id.as_str()).collect();
        for a in &self.upserts {
            if let Some(t) = a.topics.iter().find(|t| !topic_ids.contains(t.as_str())) {
                return invalid(format!("article {:?} names unknown topic {t:?}", a.id));
            }
        }
        if self.library_sha256.len() != 64 || !self.library_sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return invalid("library_sha256 is not a sha256".into());
        }
        Ok(())
    }

    /// Serialises with the checksum header; `deflate` for the wire.
    pub fn encode(&self, deflate: bool) -> Vec<u8> {
        // A struct of strings and integers always serialises.
        let json = serde_json::to_vec(self).unwrap_or_default();
        let digest: [u8; 32] = Sha256::digest(&json).into();
        let mut out = Vec::with_capacity(HEADER_LEN + json.len() / if deflate { 3 } else { 1 });
        out.extend_from_slice(MAGIC);
        out.push(u8::from(deflate));
        out.extend_from_slice(&digest);
        if deflate {
            let mut enc = DeflateEncoder::new(out, Compression::default());
            // Writing to a Vec cannot fail.
            let _ = enc.write_all(&json);
            enc.finish().unwrap_or_default()
        } else {
            out.extend_from_slice(&json);
            out
        }
    }

    /// Reads and checks a pack: header, size, checksum, format, then the
    /// pack's own rules. Anything wrong is a typed error.
    pub fn decode(bytes: &[u8]) -> Result<Pack> {
        if bytes.len() < HEADER_LEN {
            return Err(LibraryError::Corrupt(format!(
                "{} bytes is too short for a pack",
                bytes.len()
            )));
        }
        if &bytes[..4] != MAGIC {
            return Err(LibraryError::Corrupt("not a Guardian content pack".into()));
        }
        let body = &bytes[HEADER_LEN..];
        let json = match bytes[4] {
            0 => body.to_vec(),
            1 => {
                let mut out = Vec::new();
                let limit = u64::try_from(MAX_JSON_BYTES).unwrap_or(u64::MAX) + 1;
                DeflateDecoder::new(body)
                    .take(limit)
                    .read_to_end(&mut out)
                    .map_err(|_| LibraryError::Checksum)?;
                out
            }
            other => return Err(LibraryError::Corrupt(format!("unknown compression {other}"))),
        };
        if json.len() > MAX_JSON_BYTES {
            return Err(LibraryError::Corrupt("the pack is too large".into()));
        }
        let digest: [u8; 32] = Sha256::digest(&json).into();
        if digest[..] != bytes[5..HEADER_LEN] {
            return Err(LibraryError::Checksum);
        }
        // The format first: a newer format may not parse as this one.
        let format = serde_json::from_slice::<FormatOnly>(&json)
            .map_err(|e| LibraryError::Corrupt(format!("not a pack: {e}")))?
            .format;
        if format != FORMAT {
            return Err(LibraryError::UnsupportedFormat {
                found: format,
                supported: FORMAT,
            });
        }
        let pack: Pack =
            serde_json::from_slice(&json).map_err(|e| LibraryError::Corrupt(format!("not a pack: {e}")))?;
        pack.validate()?;
        Ok(pack)
    }
}

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    s
}

/// sha256 of an article exactly as published (serde writes a struct's
/// fields in declaration order, so the bytes are the same everywhere).
pub fn article_digest(a: &Article) -> String {
    hex(&Sha256::digest(serde_json::to_vec(a).unwrap_or_default()))
}

/// The fingerprint of a whole library: its topics in order, and each
/// article's id and digest in id order. `articles` must be sorted by id.
pub fn library_digest(topics: &[Topic], articles: &[(String, String)]) -> String {
    let mut h = Sha256::new();
    h.update(b"guardian-library-v1\n");
    for t in topics {
        h.update(format!("t\t{}\t{}\t{}\n", t.id, t.parent.as_deref().unwrap_or(""), t.title).as_bytes());
    }
    for (id, digest) in articles {
        h.update(format!("a\t{id}\t{digest}\n").as_bytes());
    }
    hex(&h.finalize())
}
