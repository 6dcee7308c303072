//! An officer's practice-library bookmarks and recent reads, synced so they
//! follow the officer to another handset: `POST /v1/library/prefs` and the
//! server's copy in `GET /v1/library/prefs`.
//!
//! Each record is the officer's whole current set with a version; the
//! server keeps the highest version it has seen (last writer wins, by the
//! handsets' clocks).

use serde::{Deserialize, Serialize};

use crate::rules::is_slug;
use crate::time::plausible_ms;

/// Payload format of a `library_prefs` record; the server refuses others.
pub const PREFS_FORMAT: u32 = 1;
pub const MAX_RECENT: usize = 30;
pub const MAX_BOOKMARKS: usize = 500;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrefsRecord {
    /// Made once per change and reused on every attempt (idempotency).
    pub id: String,
    pub format: u32,
    pub officer_id: String,
    pub version: u64,
    pub updated_ms: i64,
    /// Newest first.
    pub bookmarks: Vec<PrefItem>,
    /// Newest first.
    pub recent: Vec<PrefItem>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrefItem {
    pub article_id: String,
    pub time_ms: i64,
}

/// `GET /v1/library/prefs`: the officer's latest, if they ever synced any.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrefsReply {
    pub prefs: Option<PrefsRecord>,
}

impl PrefsRecord {
    /// The rules the server and a restoring handset both apply.
    pub fn validate(&self) -> Result<(), String> {
        if self.format != PREFS_FORMAT {
            return Err(format!("library prefs format {} is not supported", self.format));
        }
        if self.bookmarks.len() > MAX_BOOKMARKS || self.recent.len() > MAX_RECENT {
            return Err(format!(
                "at most {MAX_BOOKMARKS} bookmarks and {MAX_RECENT} recent articles"
            ));
        }
        // Versions are stored as SQL integers (i64) on both sides.
        if self.version == 0 || i64::try_from(self.version).is_err() {
            return Err(format!("version {} is out of range", self.version));
        }
        if !plausible_ms(self.updated_ms) {
            return Err("updated_ms is not a plausible time".into());
        }
        for item in self.bookmarks.iter().chain(&self.recent) {
            if !is_slug(&item.article_id, false) {
                return Err(format!("article id {:?} is not valid", item.article_id));
            }
            if !plausible_ms(item.time_ms) {
                return Err(format!("the time of {:?} is not plausible", item.article_id));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> PrefsRecord {
        PrefsRecord {
            id: "r".into(),
            format: PREFS_FORMAT,
            officer_id: "pc-1".into(),
            version: 3,
            updated_ms: 0,
            bookmarks: vec![PrefItem {
                article_id: "trauma-basics".into(),
                time_ms: 1,
            }],
            recent: Vec::new(),
        }
    }

    #[test]
    fn formats_sizes_and_ids_are_checked() {
        assert_eq!(record().validate(), Ok(()));
        let mut r = record();
        r.format = 2;
        assert!(r.validate().is_err());
        let mut r = record();
        r.bookmarks[0].article_id = "../etc/passwd".into();
        assert!(r.validate().is_err());
        let mut r = record();
        r.recent = vec![r.bookmarks[0].clone(); MAX_RECENT + 1];
        assert!(r.validate().is_err());
        for bad in [
            PrefsRecord { version: 0, ..record() },
            PrefsRecord {
                version: u64::MAX,
                ..record()
            },
            PrefsRecord {
                updated_ms: i64::MIN,
                ..record()
            },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
    }
}
