//! The schema, as const SQL and a version (`PRAGMA user_version`).
//!
//! A new database is made from [`FRESH`] in one step; an old one is brought
//! forward through [`UPGRADES`] one version at a time. A test migrates the
//! first schema ever shipped ([`V1`]) through every upgrade and checks the
//! result equals a fresh database, so the two paths cannot drift apart.
//!
//! Rules for changing it: never edit `V1` or an existing upgrade; add an
//! upgrade, bump [`VERSION`], and change `FRESH` to match.

use rusqlite::{Connection, TransactionBehavior};

use super::StoreError;

pub const VERSION: i64 = 9;

/// The first schema that shipped. Kept verbatim for the migration test.
pub const V1: &str = "
CREATE TABLE officer (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    officer_id TEXT NOT NULL,
    display_name TEXT NOT NULL,
    rank TEXT NOT NULL
);
CREATE TABLE areas (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    lpa TEXT NOT NULL,
    geometry TEXT NOT NULL,
    windows TEXT NOT NULL,
    updated_ms INTEGER NOT NULL
);
CREATE TABLE assignments (
    id TEXT PRIMARY KEY,
    area_id TEXT NOT NULL REFERENCES areas(id),
    officer_id TEXT NOT NULL,
    start_ms INTEGER NOT NULL,
    end_ms INTEGER NOT NULL CHECK (end_ms > start_ms)
);
CREATE INDEX assignments_by_officer ON assignments(officer_id, start_ms);
CREATE TABLE patrols (
    id TEXT PRIMARY KEY,
    area_id TEXT NOT NULL REFERENCES areas(id),
    officer_id TEXT NOT NULL,
    rank TEXT NOT NULL,
    assignment_id TEXT REFERENCES assignments(id),
    checkin_time_ms INTEGER NOT NULL,
    checkin_mono_ns INTEGER NOT NULL,
    checkin_lat REAL NOT NULL,
    checkin_lon REAL NOT NULL,
    checkin_accuracy_m REAL NOT NULL,
    checkout_time_ms INTEGER,
    checkout_mono_ns INTEGER,
    checkout_lat REAL,
    checkout_lon REAL,
    checkout_accuracy_m REAL
);
CREATE UNIQUE INDEX one_open_patrol ON patrols(checkout_time_ms IS NULL)
    WHERE checkout_time_ms IS NULL;
CREATE TABLE fixes (
    id INTEGER PRIMARY KEY,
    patrol_id TEXT REFERENCES patrols(id),
    time_ms INTEGER NOT NULL,
    mono_ns INTEGER NOT NULL,
    lat REAL NOT NULL,
    lon REAL NOT NULL,
    accuracy_m REAL NOT NULL,
    altitude_m REAL,
    speed_mps REAL,
    bearing_deg REAL,
    verdict TEXT NOT NULL
);
CREATE INDEX fixes_by_patrol ON fixes(patrol_id, id);
";

/// v2: arrivals and departures the geofence decided are kept, so the
/// officer's timeline survives a restart and can be synced as events.
const V1_TO_V2: &str = "
CREATE TABLE geofence_events (
    id INTEGER PRIMARY KEY,
    area_id TEXT NOT NULL REFERENCES areas(id),
    patrol_id TEXT REFERENCES patrols(id),
    kind TEXT NOT NULL CHECK (kind IN ('arrived', 'departed')),
    time_ms INTEGER NOT NULL,
    mono_ns INTEGER NOT NULL
);
CREATE INDEX geofence_events_by_patrol ON geofence_events(patrol_id, id);
";

/// v3: the outbox. Every record for the force is written here in the same
/// transaction as the change it reports; its id is made once and reused on
/// every attempt. Fixes remember which track chunk carried them.
const V2_TO_V3: &str = "
CREATE TABLE outbox (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('check_in', 'check_out', 'track_chunk')),
    format INTEGER NOT NULL,
    patrol_id TEXT NOT NULL REFERENCES patrols(id),
    seq INTEGER NOT NULL,
    payload BLOB NOT NULL,
    fixes INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'in_flight', 'acked', 'rejected')),
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    created_ms INTEGER NOT NULL,
    acked_ms INTEGER,
    UNIQUE (patrol_id, seq)
);
CREATE INDEX outbox_by_state ON outbox(state, patrol_id, seq);
ALTER TABLE fixes ADD COLUMN chunk_id TEXT;
CREATE TABLE sync_state (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    cursor TEXT NOT NULL DEFAULT '',
    last_success_ms INTEGER,
    last_error TEXT
);
CREATE TABLE audit (
    id INTEGER PRIMARY KEY,
    time_ms INTEGER NOT NULL,
    event TEXT NOT NULL,
    detail TEXT NOT NULL
);
";

/// v4: the practice library (articles, topics, the FTS5 index, bookmarks
/// and recent reads per officer, which leave with the officer's row), and
/// an outbox that also carries records outside any patrol: VRP referrals
/// and library settings. SQLite cannot alter a CHECK or a NOT NULL, so the
/// outbox is rebuilt: same columns and rows, `patrol_id` now nullable (still
/// a reference), two more kinds.
const V3_TO_V4: &str = "
CREATE TABLE outbox_new (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('check_in', 'check_out', 'track_chunk', 'referral', 'library_prefs')),
    format INTEGER NOT NULL,
    patrol_id TEXT REFERENCES patrols(id),
    seq INTEGER NOT NULL,
    payload BLOB NOT NULL,
    fixes INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'in_flight', 'acked', 'rejected')),
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    created_ms INTEGER NOT NULL,
    acked_ms INTEGER,
    UNIQUE (patrol_id, seq)
);
INSERT INTO outbox_new (id, kind, format, patrol_id, seq, payload, fixes, state, attempts, last_error, created_ms, acked_ms)
    SELECT id, kind, format, patrol_id, seq, payload, fixes, state, attempts, last_error, created_ms, acked_ms FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_by_state ON outbox(state, patrol_id, seq);
CREATE TABLE library_meta (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    version INTEGER NOT NULL,
    library_sha256 TEXT NOT NULL,
    applied_ms INTEGER NOT NULL
);
CREATE TABLE library_topics (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    parent TEXT,
    position INTEGER NOT NULL
);
CREATE TABLE library_articles (
    doc INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    summary TEXT NOT NULL,
    body_md TEXT NOT NULL,
    topics TEXT NOT NULL,
    related TEXT NOT NULL,
    reading_minutes INTEGER NOT NULL,
    version INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL
);
CREATE TABLE library_article_topics (
    topic_id TEXT NOT NULL,
    doc INTEGER NOT NULL REFERENCES library_articles(doc),
    PRIMARY KEY (topic_id, doc)
) WITHOUT ROWID;
CREATE VIRTUAL TABLE library_fts USING fts5(
    title, summary, body, topics, alt,
    tokenize = 'porter unicode61 remove_diacritics 2',
    prefix = '2 3'
);
CREATE TABLE library_bookmarks (
    officer_id TEXT NOT NULL,
    article_id TEXT NOT NULL,
    added_ms INTEGER NOT NULL,
    PRIMARY KEY (officer_id, article_id)
) WITHOUT ROWID;
CREATE TABLE library_recent (
    officer_id TEXT NOT NULL,
    article_id TEXT NOT NULL,
    read_ms INTEGER NOT NULL,
    PRIMARY KEY (officer_id, article_id)
) WITHOUT ROWID;
CREATE TABLE library_prefs_state (
    officer_id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL
);
CREATE TRIGGER library_prefs_leave_with_the_officer AFTER DELETE ON officer BEGIN
    DELETE FROM library_bookmarks WHERE officer_id = OLD.officer_id;
    DELETE FROM library_recent WHERE officer_id = OLD.officer_id;
    DELETE FROM library_prefs_state WHERE officer_id = OLD.officer_id;
END;
";

/// v5: VRP referrals. Drafts (personal, discarded after a retention limit),
/// referrals (a receipt without names, plus the personal part until the
/// force acknowledges it) and the authorities' boundaries for routing.
const V4_TO_V5: &str = "
CREATE TABLE referral_drafts (
    id TEXT PRIMARY KEY,
    officer_id TEXT NOT NULL,
    form TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL
);
CREATE TABLE referrals (
    id TEXT PRIMARY KEY,
    reference TEXT NOT NULL UNIQUE,
    officer_id TEXT NOT NULL,
    authority TEXT NOT NULL,
    reasons TEXT NOT NULL,
    urgency TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    patrol_id TEXT,
    area_id TEXT,
    status TEXT NOT NULL CHECK (status IN ('queued', 'received', 'assigned', 'contacted', 'closed')),
    status_ms INTEGER NOT NULL,
    personal TEXT
);
CREATE TABLE boundaries (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    geojson TEXT NOT NULL,
    updated_ms INTEGER NOT NULL
);
";

/// v6: the open patrol's running tally, saved with each track chunk, so a
/// restart resumes it from the fixes since instead of the whole shift.
const V5_TO_V6: &str = "
CREATE TABLE patrol_tallies (
    patrol_id TEXT PRIMARY KEY REFERENCES patrols(id),
    upto_fix INTEGER NOT NULL,
    tally TEXT NOT NULL
);
";

/// v7: the handset's id, which the force names when it revokes a lost one.
const V6_TO_V7: &str = "
ALTER TABLE sync_state ADD COLUMN device_id TEXT;
";

/// v8: the force sign-in: who signed in on this handset and their refresh
/// token (the access token lives in memory only).
const V7_TO_V8: &str = "
CREATE TABLE login (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    officer_id TEXT NOT NULL,
    refresh_token TEXT,
    signed_in_ms INTEGER NOT NULL
);
";

/// v9: how a referral ended (the Navigators' outcome code, never their
/// notes), and why the force refused one that came back as a draft.
const V8_TO_V9: &str = "
ALTER TABLE referrals ADD COLUMN outcome TEXT;
ALTER TABLE referral_drafts ADD COLUMN refused TEXT;
";

/// Upgrades, in order: entry `i` takes version `i + 1` to `i + 2`.
pub(crate) const UPGRADES: &[&str] = &[
    V1_TO_V2, V2_TO_V3, V3_TO_V4, V4_TO_V5, V5_TO_V6, V6_TO_V7, V7_TO_V8, V8_TO_V9,
];

/// The current schema, made in one step for a new database.
pub const FRESH: &str = "
CREATE TABLE officer (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    officer_id TEXT NOT NULL,
    display_name TEXT NOT NULL,
    rank TEXT NOT NULL
);
CREATE TABLE areas (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    lpa TEXT NOT NULL,
    geometry TEXT NOT NULL,
    windows TEXT NOT NULL,
    updated_ms INTEGER NOT NULL
);
CREATE TABLE assignments (
    id TEXT PRIMARY KEY,
    area_id TEXT NOT NULL REFERENCES areas(id),
    officer_id TEXT NOT NULL,
    start_ms INTEGER NOT NULL,
    end_ms INTEGER NOT NULL CHECK (end_ms > start_ms)
);
CREATE INDEX assignments_by_officer ON assignments(officer_id, start_ms);
CREATE TABLE patrols (
    id TEXT PRIMARY KEY,
    area_id TEXT NOT NULL REFERENCES areas(id),
    officer_id TEXT NOT NULL,
    rank TEXT NOT NULL,
    assignment_id TEXT REFERENCES assignments(id),
    checkin_time_ms INTEGER NOT NULL,
    checkin_mono_ns INTEGER NOT NULL,
    checkin_lat REAL NOT NULL,
    checkin_lon REAL NOT NULL,
    checkin_accuracy_m REAL NOT NULL,
    checkout_time_ms INTEGER,
    checkout_mono_ns INTEGER,
    checkout_lat REAL,
    checkout_lon REAL,
    checkout_accuracy_m REAL
);
CREATE UNIQUE INDEX one_open_patrol ON patrols(checkout_time_ms IS NULL)
    WHERE checkout_time_ms IS NULL;
CREATE TABLE fixes (
    id INTEGER PRIMARY KEY,
    patrol_id TEXT REFERENCES patrols(id),
    time_ms INTEGER NOT NULL,
    mono_ns INTEGER NOT NULL,
    lat REAL NOT NULL,
    lon REAL NOT NULL,
    accuracy_m REAL NOT NULL,
    altitude_m REAL,
    speed_mps REAL,
    bearing_deg REAL,
    verdict TEXT NOT NULL,
    chunk_id TEXT
);
CREATE INDEX fixes_by_patrol ON fixes(patrol_id, id);
CREATE TABLE geofence_events (
    id INTEGER PRIMARY KEY,
    area_id TEXT NOT NULL REFERENCES areas(id),
    patrol_id TEXT REFERENCES patrols(id),
    kind TEXT NOT NULL CHECK (kind IN ('arrived', 'departed')),
    time_ms INTEGER NOT NULL,
    mono_ns INTEGER NOT NULL
);
CREATE INDEX geofence_events_by_patrol ON geofence_events(patrol_id, id);
CREATE TABLE outbox (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('check_in', 'check_out', 'track_chunk', 'referral', 'library_prefs')),
    format INTEGER NOT NULL,
    patrol_id TEXT REFERENCES patrols(id),
    seq INTEGER NOT NULL,
    payload BLOB NOT NULL,
    fixes INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'in_flight', 'acked', 'rejected')),
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    created_ms INTEGER NOT NULL,
    acked_ms INTEGER,
    UNIQUE (patrol_id, seq)
);
CREATE INDEX outbox_by_state ON outbox(state, patrol_id, seq);
CREATE TABLE sync_state (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    cursor TEXT NOT NULL DEFAULT '',
    last_success_ms INTEGER,
    last_error TEXT,
    device_id TEXT
);
CREATE TABLE login (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    officer_id TEXT NOT NULL,
    refresh_token TEXT,
    signed_in_ms INTEGER NOT NULL
);
CREATE TABLE audit (
    id INTEGER PRIMARY KEY,
    time_ms INTEGER NOT NULL,
    event TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE TABLE library_meta (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    version INTEGER NOT NULL,
    library_sha256 TEXT NOT NULL,
    applied_ms INTEGER NOT NULL
);
CREATE TABLE library_topics (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    parent TEXT,
    position INTEGER NOT NULL
);
CREATE TABLE library_articles (
    doc INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    summary TEXT NOT NULL,
    body_md TEXT NOT NULL,
    topics TEXT NOT NULL,
    related TEXT NOT NULL,
    reading_minutes INTEGER NOT NULL,
    version INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL
);
CREATE TABLE library_article_topics (
    topic_id TEXT NOT NULL,
    doc INTEGER NOT NULL REFERENCES library_articles(doc),
    PRIMARY KEY (topic_id, doc)
) WITHOUT ROWID;
CREATE VIRTUAL TABLE library_fts USING fts5(
    title, summary, body, topics, alt,
    tokenize = 'porter unicode61 remove_diacritics 2',
    prefix = '2 3'
);
CREATE TABLE library_bookmarks (
    officer_id TEXT NOT NULL,
    article_id TEXT NOT NULL,
    added_ms INTEGER NOT NULL,
    PRIMARY KEY (officer_id, article_id)
) WITHOUT ROWID;
CREATE TABLE library_recent (
    officer_id TEXT NOT NULL,
    article_id TEXT NOT NULL,
    read_ms INTEGER NOT NULL,
    PRIMARY KEY (officer_id, article_id)
) WITHOUT ROWID;
CREATE TABLE library_prefs_state (
    officer_id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL
);
CREATE TRIGGER library_prefs_leave_with_the_officer AFTER DELETE ON officer BEGIN
    DELETE FROM library_bookmarks WHERE officer_id = OLD.officer_id;
    DELETE FROM library_recent WHERE officer_id = OLD.officer_id;
    DELETE FROM library_prefs_state WHERE officer_id = OLD.officer_id;
END;
CREATE TABLE referral_drafts (
    id TEXT PRIMARY KEY,
    officer_id TEXT NOT NULL,
    form TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    refused TEXT
);
CREATE TABLE referrals (
    id TEXT PRIMARY KEY,
    reference TEXT NOT NULL UNIQUE,
    officer_id TEXT NOT NULL,
    authority TEXT NOT NULL,
    reasons TEXT NOT NULL,
    urgency TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    patrol_id TEXT,
    area_id TEXT,
    status TEXT NOT NULL CHECK (status IN ('queued', 'received', 'assigned', 'contacted', 'closed')),
    status_ms INTEGER NOT NULL,
    personal TEXT,
    outcome TEXT
);
CREATE TABLE boundaries (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    geojson TEXT NOT NULL,
    updated_ms INTEGER NOT NULL
);
CREATE TABLE patrol_tallies (
    patrol_id TEXT PRIMARY KEY REFERENCES patrols(id),
    upto_fix INTEGER NOT NULL,
    tally TEXT NOT NULL
);
";

pub fn user_version(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
}

/// Brings the database to [`VERSION`] in one transaction: a crash mid-way
/// leaves the old schema, never half of the new one.
pub fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Exclusive)?;
    let found = user_version(&tx)?;
    if found > VERSION {
        return Err(StoreError::TooNew {
            found,
            supported: VERSION,
        });
    }
    if found == 0 {
        let has_tables: i64 = tx.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))?;
        if has_tables != 0 {
            return Err(StoreError::Corrupt(
                "tables exist but the schema version is missing".into(),
            ));
        }
        tx.execute_batch(FRESH)?;
    } else {
        for (i, sql) in UPGRADES.iter().enumerate() {
            let from = i64::try_from(i).unwrap_or(i64::MAX) + 1;
            if found <= from {
                tx.execute_batch(sql)?;
            }
        }
    }
    if found != VERSION {
        tx.pragma_update(None, "user_version", VERSION)?;
    }
    tx.commit()?;
    Ok(())
}
