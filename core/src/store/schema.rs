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

pub const VERSION: i64 = 3;

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

/// Upgrades, in order: entry `i` takes version `i + 1` to `i + 2`.
const UPGRADES: &[&str] = &[V1_TO_V2, V2_TO_V3];

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
