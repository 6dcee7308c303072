//! The access log the Data Protection Act 2018 asks of a law-enforcement
//! controller (Part 3, s.62): every collection, alteration, consultation,
//! disclosure, combination and erasure of personal data, with when, who,
//! what and how. Owns the `access_log` table; nothing here deletes or
//! updates a row, and no route reaches one that could.
//!
//! An entry names records by id, never by their content: the log is read by
//! the DPO, the ICO and whoever audits them, and must not become a second
//! copy of the children's details it accounts for.
//!
//! Tamper-evident, not tamper-proof: each entry carries the SHA-256 of the
//! one before it and of its own fields, and `meta` keeps the newest entry's
//! number and hash, so [`Backend::verify_access_log`] finds a row changed,
//! removed (from the middle or the end) or added by hand. Someone with write
//! access to the database who also recomputes every later hash and the head
//! is not caught by the chain alone: a force that needs that copies the head
//! somewhere the database's administrators cannot write (README says so).

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::backend::{Backend, now_ms};
use crate::db::{meta_blob, set_meta_blob};
use crate::error::BackendError;
use crate::sql::{Tx, p};
use crate::token::Role;

const SCHEMA: &str = "
CREATE TABLE access_log (
    seq       INTEGER PRIMARY KEY,
    time_ms   INTEGER NOT NULL,
    action    TEXT NOT NULL,
    subject   TEXT NOT NULL,
    role      TEXT NOT NULL,
    what      TEXT NOT NULL,
    records   TEXT NOT NULL,
    scope     TEXT NOT NULL,
    how       TEXT NOT NULL,
    via       TEXT NOT NULL,
    purpose   TEXT,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
CREATE INDEX access_log_time ON access_log (time_ms);
CREATE INDEX access_log_subject ON access_log (subject, seq);
";

pub(crate) const TABLES: crate::db::Schema = crate::db::Schema {
    name: "access log",
    stored: crate::db::Stored::Meta("access_log_schema"),
    first: &[SCHEMA],
    fresh: &[SCHEMA],
    upgrades: &[],
};

/// The newest entry's number and hash (`seq:hash`): what a removal from the
/// end, or an entry added after it, is found against.
const KEY_HEAD: &str = "access_log_head";
/// The last entry retention erased (`seq:hash`): the chain's start since.
const KEY_BASE: &str = "access_log_base";

/// What the first entry's `prev_hash` is.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Held while an entry takes its number (PostgreSQL): the chain is one line.
const LOCK_ACCESS_LOG: i64 = 0x6163_6365_7373_6c67;

/// The six kinds of processing s.62 names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Collection,
    Alteration,
    Consultation,
    Disclosure,
    Combination,
    Erasure,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Collection => "collection",
            Action::Alteration => "alteration",
            Action::Consultation => "consultation",
            Action::Disclosure => "disclosure",
            Action::Combination => "combination",
            Action::Erasure => "erasure",
        }
    }
}

/// Who is acting, and how they reached us: taken from the verified token
/// and the request, never from anything the body says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub subject: String,
    pub role: Role,
    /// The route (`GET /review/patrols/{id}`) or the command.
    pub how: String,
    /// The handset's device id, or empty.
    pub via: String,
    /// Why, when the caller said (`x-guardian-purpose`).
    pub purpose: Option<String>,
}

impl Caller {
    /// Someone acting in-process or from the CLI, under `how`.
    pub fn local(subject: &str, role: Role, how: &str) -> Self {
        Self {
            subject: subject.to_string(),
            role,
            how: how.to_string(),
            via: String::new(),
            purpose: None,
        }
    }
}

/// The purpose as the access log keeps it: no control characters, at most
/// [`MAX_PURPOSE_CHARS`], trimmed; nothing when that leaves nothing.
pub(crate) fn clean_purpose(raw: &str) -> Option<String> {
    let kept: String = raw
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_PURPOSE_CHARS)
        .collect();
    let kept = kept.trim();
    (!kept.is_empty()).then(|| kept.to_string())
}

const MAX_PURPOSE_CHARS: usize = 300;

/// One entry, as stored and as exported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub seq: i64,
    pub time_ms: i64,
    pub action: String,
    pub subject: String,
    pub role: String,
    /// The kind of record (`referral`, `patrol`, `evaluation`, …).
    pub what: String,
    /// The records' ids.
    pub records: Vec<String>,
    /// The query that chose them when it was a range (dates, a status):
    /// never free text a caller typed.
    pub scope: String,
    pub how: String,
    pub via: String,
    pub purpose: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

impl Entry {
    /// The hash over every field and the previous entry's hash. Each field
    /// goes in with its length first, so no two entries share an encoding;
    /// an absent purpose is a length no text can have.
    fn computed_hash(&self) -> String {
        let mut h = Sha256::new();
        let mut put = |s: Option<&str>| match s {
            Some(s) => {
                h.update((s.len() as u64).to_be_bytes());
                h.update(s.as_bytes());
            }
            None => h.update(u64::MAX.to_be_bytes()),
        };
        let seq = self.seq.to_string();
        let time = self.time_ms.to_string();
        let records = records_text(&self.records);
        for field in [
            &seq,
            &time,
            &self.action,
            &self.subject,
            &self.role,
            &self.what,
            &records,
            &self.scope,
            &self.how,
            &self.via,
        ] {
            put(Some(field));
        }
        put(self.purpose.as_deref());
        put(Some(&self.prev_hash));
        hex(&h.finalize())
    }
}

fn records_text(records: &[String]) -> String {
    // Ids are checked on their way in (no quotes, no control characters),
    // but JSON keeps the list unambiguous whatever they hold.
    serde_json::to_string(records).unwrap_or_default()
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// What one look at, or change to, personal data was.
#[derive(Debug, Clone, Copy)]
pub struct Access<'a> {
    pub action: Action,
    pub what: &'a str,
    pub records: &'a [String],
    pub scope: &'a str,
}

impl<'a> Access<'a> {
    pub fn on(action: Action, what: &'a str, records: &'a [String], scope: &'a str) -> Self {
        Self {
            action,
            what,
            records,
            scope,
        }
    }
}

/// Appends an entry inside the caller's transaction, so the processing and
/// its record commit together or not at all.
pub(crate) fn append(tx: &Tx<'_>, who: &Caller, access: Access<'_>, time_ms: i64) -> Result<i64, BackendError> {
    tx.serialise(LOCK_ACCESS_LOG)?;
    let (last_seq, prev_hash) = head(tx)?.unwrap_or((0, GENESIS.to_string()));
    let mut entry = Entry {
        seq: last_seq + 1,
        time_ms,
        action: access.action.as_str().to_string(),
        subject: who.subject.clone(),
        role: who.role.as_str().to_string(),
        what: access.what.to_string(),
        records: access.records.to_vec(),
        scope: access.scope.to_string(),
        how: who.how.clone(),
        via: who.via.clone(),
        purpose: who.purpose.as_deref().and_then(clean_purpose),
        prev_hash,
        hash: String::new(),
    };
    entry.hash = entry.computed_hash();
    tx.execute(
        "INSERT INTO access_log (seq, time_ms, action, subject, role, what, records, scope, how, via,
           purpose, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        p![
            entry.seq,
            entry.time_ms,
            entry.action,
            entry.subject,
            entry.role,
            entry.what,
            records_text(&entry.records),
            entry.scope,
            entry.how,
            entry.via,
            entry.purpose,
            entry.prev_hash,
            entry.hash
        ],
    )?;
    set_meta_blob(tx, KEY_HEAD, format!("{}:{}", entry.seq, entry.hash).as_bytes())?;
    Ok(entry.seq)
}

/// The newest entry as `meta` remembers it.
fn head(tx: &Tx<'_>) -> Result<Option<(i64, String)>, BackendError> {
    link(tx, KEY_HEAD)
}

/// The last entry retention erased, where the chain now starts.
fn base(tx: &Tx<'_>) -> Result<Option<(i64, String)>, BackendError> {
    link(tx, KEY_BASE)
}

/// Erases the oldest entries from before `before_ms`, at most `limit`,
/// keeping the chain whole: only a run from its start goes, and the last
/// one's number and hash are remembered as where it now begins. The
/// entries erased.
pub(crate) fn prune(tx: &Tx<'_>, before_ms: i64, limit: usize) -> Result<u64, BackendError> {
    tx.serialise(LOCK_ACCESS_LOG)?;
    let oldest = tx.query_all(
        "SELECT seq, time_ms, hash FROM access_log ORDER BY seq LIMIT ?1",
        p![limit],
        |r| Ok((r.get::<i64>(0)?, r.get::<i64>(1)?, r.get::<String>(2)?)),
    )?;
    let Some((last, _, hash)) = oldest.iter().take_while(|(_, t, _)| *t < before_ms).last() else {
        return Ok(0);
    };
    let n = tx.execute("DELETE FROM access_log WHERE seq <= ?1", p![last])?;
    set_meta_blob(tx, KEY_BASE, format!("{last}:{hash}").as_bytes())?;
    Ok(n)
}

fn link(tx: &Tx<'_>, key: &str) -> Result<Option<(i64, String)>, BackendError> {
    let Some(raw) = meta_blob(tx, key)? else {
        return Ok(None);
    };
    let bad = || BackendError::Corrupt(format!("the access log's {key} is unreadable"));
    let text = String::from_utf8(raw).map_err(|_| bad())?;
    let (seq, hash) = text.split_once(':').ok_or_else(bad)?;
    Ok(Some((seq.parse().map_err(|_| bad())?, hash.to_string())))
}

/// The first thing wrong with the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "fault", rename_all = "lowercase")]
pub enum Fault {
    /// Its fields no longer give its hash.
    Altered { seq: i64 },
    /// Missing between its neighbours, or from the end.
    Removed { seq: i64 },
    /// Present, but not part of the chain the log wrote.
    Inserted { seq: i64 },
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fault::Altered { seq } => write!(f, "entry {seq} was altered: its fields do not give its hash"),
            Fault::Removed { seq } => write!(f, "entry {seq} was removed"),
            Fault::Inserted { seq } => write!(f, "entry {seq} was inserted: the log did not write it"),
        }
    }
}

/// What `audit verify` found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verified {
    pub entries: i64,
    pub fault: Option<Fault>,
}

/// Walks the chain from its start (the genesis, or the last entry
/// retention erased); the first fault ends the walk.
fn verify(entries: &[Entry], base: Option<&(i64, String)>, head: Option<&(i64, String)>) -> Verified {
    let count = i64::try_from(entries.len()).unwrap_or(i64::MAX);
    let done = |fault| Verified { entries: count, fault };
    let (head_seq, head_hash) = head.map_or((0, GENESIS), |(s, h)| (*s, h.as_str()));
    let (base_seq, base_hash) = base.map_or((0, GENESIS), |(s, h)| (*s, h.as_str()));
    let mut expected = base_seq + 1;
    let mut prev = base_hash.to_string();
    for e in entries {
        if e.seq > head_seq {
            return done(Some(Fault::Inserted { seq: e.seq }));
        }
        if e.seq != expected {
            return done(Some(Fault::Removed { seq: expected }));
        }
        if e.prev_hash != prev {
            // Numbers run on but the link does not: an entry was taken out
            // and the later ones renumbered, or this one was put in.
            return done(Some(Fault::Inserted { seq: e.seq }));
        }
        if e.computed_hash() != e.hash {
            return done(Some(Fault::Altered { seq: e.seq }));
        }
        prev = e.hash.clone();
        expected += 1;
    }
    if expected <= head_seq {
        return done(Some(Fault::Removed { seq: expected }));
    }
    if head_seq > 0 && prev != head_hash {
        return done(Some(Fault::Altered { seq: head_seq }));
    }
    done(None)
}

/// What an export selects: each filter narrows it.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    pub subject: Option<String>,
    pub record: Option<String>,
}

const CSV_HEADER: &str = "seq,time_utc,action,subject,role,what,records,scope,how,via,purpose,prev_hash,hash";

/// The entries as CSV for a spreadsheet: ids joined by spaces.
pub fn csv(entries: &[Entry]) -> String {
    use crate::export::field;
    let mut out = format!("{CSV_HEADER}\n");
    for e in entries {
        let time = chrono::DateTime::from_timestamp_millis(e.time_ms)
            .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
            .unwrap_or_default();
        let cells = [
            e.seq.to_string(),
            time,
            e.action.clone(),
            e.subject.clone(),
            e.role.clone(),
            e.what.clone(),
            e.records.join(" "),
            e.scope.clone(),
            e.how.clone(),
            e.via.clone(),
            e.purpose.clone().unwrap_or_default(),
            e.prev_hash.clone(),
            e.hash.clone(),
        ];
        let row: Vec<String> = cells.iter().map(|c| field(c)).collect();
        out.push_str(&row.join(","));
        out.push('\n');
    }
    out
}

fn entries(tx: &Tx<'_>, from_ms: i64, to_ms: i64) -> Result<Vec<Entry>, BackendError> {
    let rows = tx.query_all(
        "SELECT seq, time_ms, action, subject, role, what, records, scope, how, via, purpose, prev_hash, hash
         FROM access_log WHERE time_ms >= ?1 AND time_ms <= ?2 ORDER BY seq",
        p![from_ms, to_ms],
        |r| {
            Ok((
                (
                    r.get::<i64>(0)?,
                    r.get::<i64>(1)?,
                    r.get::<String>(2)?,
                    r.get::<String>(3)?,
                ),
                (
                    r.get::<String>(4)?,
                    r.get::<String>(5)?,
                    r.get::<String>(6)?,
                    r.get::<String>(7)?,
                ),
                (r.get::<String>(8)?, r.get::<String>(9)?, r.get::<Option<String>>(10)?),
                (r.get::<String>(11)?, r.get::<String>(12)?),
            ))
        },
    )?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let ((seq, time_ms, action, subject), (role, what, records, scope), (how, via, purpose), (prev, hash)) =
                row;
            Entry {
                // An unreadable list stays visible as itself, and fails the
                // hash, rather than stopping the walk.
                records: serde_json::from_str(&records).unwrap_or_else(|_| vec![records]),
                seq,
                time_ms,
                action,
                subject,
                role,
                what,
                scope,
                how,
                via,
                purpose,
                prev_hash: prev,
                hash,
            }
        })
        .collect())
}

impl Backend {
    /// Records one look at, or change to, personal data in its own
    /// transaction: for reads, which must not be answered if this fails.
    pub fn log_access(&self, who: &Caller, access: Access<'_>) -> Result<i64, BackendError> {
        let now = now_ms();
        self.write(|tx| append(tx, who, access, now))
    }

    /// Walks the whole log (`guardian-backend audit verify`).
    pub fn verify_access_log(&self) -> Result<Verified, BackendError> {
        self.read(|tx| {
            let all = entries(tx, i64::MIN, i64::MAX)?;
            Ok(verify(&all, base(tx)?.as_ref(), head(tx)?.as_ref()))
        })
    }

    /// The entries `filter` selects, oldest first. Exporting is itself a
    /// disclosure, logged as one by `who` (with the filter as its scope).
    pub fn export_access_log(&self, who: &Caller, filter: &Filter) -> Result<Vec<Entry>, BackendError> {
        self.read_access_log(who, filter, Action::Disclosure)
    }

    /// The same selection looked at on the auditor's page: a consultation.
    pub fn consult_access_log(&self, who: &Caller, filter: &Filter) -> Result<Vec<Entry>, BackendError> {
        self.read_access_log(who, filter, Action::Consultation)
    }

    fn read_access_log(&self, who: &Caller, filter: &Filter, action: Action) -> Result<Vec<Entry>, BackendError> {
        let now = now_ms();
        self.write(|tx| {
            let all = entries(tx, filter.from_ms.unwrap_or(i64::MIN), filter.to_ms.unwrap_or(i64::MAX))?;
            let chosen: Vec<Entry> = all
                .into_iter()
                .filter(|e| filter.subject.as_ref().is_none_or(|s| &e.subject == s))
                .filter(|e| filter.record.as_ref().is_none_or(|r| e.records.contains(r)))
                .collect();
            let scope = [
                filter.from_ms.map(|t| format!("from_ms={t}")),
                filter.to_ms.map(|t| format!("to_ms={t}")),
                filter.subject.as_ref().map(|s| format!("subject={s}")),
                filter.record.as_ref().map(|r| format!("record={r}")),
            ];
            let scope: Vec<String> = scope.into_iter().flatten().collect();
            let access = Access {
                action,
                what: "access-log",
                records: &[],
                scope: &scope.join(" "),
            };
            append(tx, who, access, now)?;
            Ok(chosen)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64) -> Vec<Entry> {
        let mut prev = GENESIS.to_string();
        (1..=n)
            .map(|seq| {
                let mut e = Entry {
                    seq,
                    time_ms: 1_000 * seq,
                    action: "consultation".into(),
                    subject: format!("nav-{seq}"),
                    role: "navigator".into(),
                    what: "referral".into(),
                    records: vec![format!("ref-{seq}")],
                    scope: String::new(),
                    how: "GET /navigator".into(),
                    via: String::new(),
                    purpose: None,
                    prev_hash: prev.clone(),
                    hash: String::new(),
                };
                e.hash = e.computed_hash();
                prev = e.hash.clone();
                e
            })
            .collect()
    }

    fn head_of(entries: &[Entry]) -> Option<(i64, String)> {
        entries.last().map(|e| (e.seq, e.hash.clone()))
    }

    #[test]
    fn an_intact_chain_verifies_and_each_tampering_is_named() {
        let good = chain(5);
        let head = head_of(&good);
        assert_eq!(verify(&good, None, head.as_ref()).fault, None);
        assert_eq!(verify(&[], None, None).fault, None);

        let mut altered = good.clone();
        altered[2].subject = "someone-else".into();
        assert_eq!(
            verify(&altered, None, head.as_ref()).fault,
            Some(Fault::Altered { seq: 3 })
        );

        let mut purpose = good.clone();
        purpose[1].purpose = Some(String::new());
        assert_eq!(
            verify(&purpose, None, head.as_ref()).fault,
            Some(Fault::Altered { seq: 2 })
        );

        let mut middle = good.clone();
        middle.remove(1);
        assert_eq!(
            verify(&middle, None, head.as_ref()).fault,
            Some(Fault::Removed { seq: 2 })
        );

        let end = &good[..4];
        assert_eq!(verify(end, None, head.as_ref()).fault, Some(Fault::Removed { seq: 5 }));

        let mut renumbered = good.clone();
        renumbered.remove(1);
        for e in renumbered.iter_mut().skip(1) {
            e.seq -= 1;
            e.hash = e.computed_hash();
        }
        assert_eq!(
            verify(&renumbered, None, head.as_ref()).fault,
            Some(Fault::Inserted { seq: 2 })
        );

        let mut added = chain(6);
        added[5].subject = "forged".into();
        added[5].hash = added[5].computed_hash();
        assert_eq!(
            verify(&added, None, head.as_ref()).fault,
            Some(Fault::Inserted { seq: 6 })
        );
    }

    #[test]
    fn a_chain_pruned_from_its_start_verifies_from_its_new_base() {
        let good = chain(5);
        let head = head_of(&good);
        let base = Some((good[1].seq, good[1].hash.clone()));
        assert_eq!(verify(&good[2..], base.as_ref(), head.as_ref()).fault, None);
        // Without the base, the missing start is named.
        assert_eq!(
            verify(&good[2..], None, head.as_ref()).fault,
            Some(Fault::Removed { seq: 1 })
        );
        // One more taken from the start than retention recorded.
        assert_eq!(
            verify(&good[3..], base.as_ref(), head.as_ref()).fault,
            Some(Fault::Removed { seq: 3 })
        );
    }

    #[test]
    fn fields_cannot_slide_into_each_other() {
        let mut a = chain(1).remove(0);
        let mut b = a.clone();
        a.what = "referral".into();
        a.scope = "x".into();
        b.what = "referralx".into();
        b.scope = String::new();
        assert_ne!(a.computed_hash(), b.computed_hash());
    }
}
