//! SQL for the tables the patrol module owns: `officer`, `areas`,
//! `assignments`, `patrols`, `patrol_tallies`, `fixes` and `geofence_events`. Nothing else
//! writes them. Writers take `&Transaction` (they must be part of a caller's
//! atomic change); readers take `&Connection` (a `Transaction` derefs to one).

use guardian_protocol::codec::{self, StoredFix};
use guardian_protocol::fix::{Fix, Verdict};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::area::Area;
use super::compliance::TrackPoint;
use super::filter::Seen;
use super::live::LastFix;
use super::officer::{Officer, Rank};
use super::session::Assignment;
use crate::store::outbox::{self, Kind, NewRow};
use crate::store::{Purge, StoreError};

type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Fixes per track chunk: ten minutes at 1 Hz. Large enough that HTTP
/// overhead is small per fix, small enough that a lost chunk costs little.
pub const CHUNK_FIXES: usize = 600;

pub fn upsert_areas(tx: &Transaction<'_>, areas: &[Area], now_ms: i64) -> Result<()> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO areas (id, name, lpa, geometry, windows, updated_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT(id) DO UPDATE SET name = excluded.name, lpa = excluded.lpa,
             geometry = excluded.geometry, windows = excluded.windows, updated_ms = excluded.updated_ms",
    )?;
    for a in areas {
        stmt.execute(params![
            a.id,
            a.name,
            a.lpa,
            a.geometry_json(),
            a.windows_json(),
            now_ms
        ])?;
    }
    Ok(())
}

pub fn load_areas(conn: &Connection) -> Result<Vec<Area>> {
    let mut stmt = conn.prepare("SELECT id, name, lpa, geometry, windows FROM areas ORDER BY id")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, String>(4)?,
        ))
    })?;
    let mut areas = Vec::new();
    for row in rows {
        let (id, name, lpa, geometry, windows) = row?;
        areas.push(
            Area::from_stored(id, name, lpa, &geometry, &windows)
                .map_err(|e| StoreError::Corrupt(format!("stored area: {e}")))?,
        );
    }
    Ok(areas)
}

pub fn set_officer(tx: &Transaction<'_>, o: &Officer) -> Result<()> {
    tx.execute(
        "INSERT INTO officer (singleton, officer_id, display_name, rank) VALUES (1, ?1, ?2, ?3)
         ON CONFLICT(singleton) DO UPDATE SET officer_id = excluded.officer_id,
             display_name = excluded.display_name, rank = excluded.rank",
        params![o.officer_id, o.display_name, o.rank.as_str()],
    )?;
    Ok(())
}

pub fn officer(conn: &Connection) -> Result<Option<Officer>> {
    let row = conn
        .query_row("SELECT officer_id, display_name, rank FROM officer", [], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?))
        })
        .optional()?;
    row.map(|(officer_id, display_name, rank)| {
        let rank = parse_rank(&rank)?;
        Ok(Officer {
            officer_id,
            display_name,
            rank,
        })
    })
    .transpose()
}

fn parse_rank(s: &str) -> Result<Rank> {
    Rank::parse(s).ok_or_else(|| StoreError::Corrupt(format!("unknown rank {s:?}")))
}

pub fn upsert_assignment(tx: &Transaction<'_>, a: &Assignment) -> Result<()> {
    tx.execute(
        "INSERT INTO assignments (id, area_id, officer_id, start_ms, end_ms) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT(id) DO UPDATE SET area_id = excluded.area_id, officer_id = excluded.officer_id,
             start_ms = excluded.start_ms, end_ms = excluded.end_ms",
        params![a.id, a.area_id, a.officer_id, a.start_ms, a.end_ms],
    )?;
    Ok(())
}

/// The officer's assignments overlapping `[from_ms, to_ms)`, soonest first.
pub fn assignments_overlapping(
    conn: &Connection,
    officer_id: &str,
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<Assignment>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, area_id, officer_id, start_ms, end_ms FROM assignments
         WHERE officer_id = ?1 AND start_ms < ?3 AND end_ms > ?2 ORDER BY start_ms, id",
    )?;
    let rows = stmt.query_map(params![officer_id, from_ms, to_ms], |r| {
        Ok(Assignment {
            id: r.get(0)?,
            area_id: r.get(1)?,
            officer_id: r.get(2)?,
            start_ms: r.get(3)?,
            end_ms: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The force's current list for this officer: upserted, and the officer's
/// other assignments removed unless a patrol already refers to them.
pub fn replace_assignments(tx: &Transaction<'_>, officer_id: &str, list: &[Assignment]) -> Result<()> {
    for a in list {
        upsert_assignment(tx, a)?;
    }
    let stale: Vec<String> = {
        let mut stmt = tx.prepare_cached(
            "SELECT id FROM assignments WHERE officer_id = ?1
                 AND id NOT IN (SELECT assignment_id FROM patrols WHERE assignment_id IS NOT NULL)",
        )?;
        let ids = stmt.query_map([officer_id], |r| r.get::<_, String>(0))?;
        ids.filter(|id| !id.as_ref().is_ok_and(|id| list.iter().any(|a| &a.id == id)))
            .collect::<rusqlite::Result<_>>()?
    };
    for id in stale {
        tx.execute("DELETE FROM assignments WHERE id = ?1", [id])?;
    }
    Ok(())
}

pub fn assignment(conn: &Connection, id: &str) -> Result<Option<Assignment>> {
    Ok(conn
        .query_row(
            "SELECT id, area_id, officer_id, start_ms, end_ms FROM assignments WHERE id = ?1",
            [id],
            |r| {
                Ok(Assignment {
                    id: r.get(0)?,
                    area_id: r.get(1)?,
                    officer_id: r.get(2)?,
                    start_ms: r.get(3)?,
                    end_ms: r.get(4)?,
                })
            },
        )
        .optional()?)
}

pub struct NewPatrol<'a> {
    pub id: &'a str,
    pub area_id: &'a str,
    pub officer: &'a Officer,
    pub assignment_id: Option<&'a str>,
    pub fix: &'a Fix,
}

pub fn insert_patrol(tx: &Transaction<'_>, p: &NewPatrol<'_>) -> Result<()> {
    tx.execute(
        "INSERT INTO patrols (id, area_id, officer_id, rank, assignment_id, checkin_time_ms, checkin_mono_ns,
             checkin_lat, checkin_lon, checkin_accuracy_m)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            p.id,
            p.area_id,
            p.officer.officer_id,
            p.officer.rank.as_str(),
            p.assignment_id,
            p.fix.time_ms,
            p.fix.mono_ns,
            p.fix.lat,
            p.fix.lon,
            p.fix.accuracy_m
        ],
    )?;
    Ok(())
}

pub fn close_patrol(tx: &Transaction<'_>, id: &str, fix: &Fix) -> Result<()> {
    tx.execute(
        "UPDATE patrols SET checkout_time_ms = ?2, checkout_mono_ns = ?3, checkout_lat = ?4,
             checkout_lon = ?5, checkout_accuracy_m = ?6
         WHERE id = ?1 AND checkout_time_ms IS NULL",
        params![id, fix.time_ms, fix.mono_ns, fix.lat, fix.lon, fix.accuracy_m],
    )?;
    Ok(())
}

#[derive(Debug, Clone)]
pub struct PatrolRow {
    pub id: String,
    pub area_id: String,
    pub rank: Rank,
    pub assignment_id: Option<String>,
    pub checkin_time_ms: i64,
    pub checkout_time_ms: Option<i64>,
}

const PATROL_COLUMNS: &str = "id, area_id, rank, assignment_id, checkin_time_ms, checkout_time_ms";

fn patrol_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(PatrolRow, String)> {
    Ok((
        PatrolRow {
            id: r.get(0)?,
            area_id: r.get(1)?,
            rank: Rank::Constable,
            assignment_id: r.get(3)?,
            checkin_time_ms: r.get(4)?,
            checkout_time_ms: r.get(5)?,
        },
        r.get(2)?,
    ))
}

fn with_rank((mut row, rank): (PatrolRow, String)) -> Result<PatrolRow> {
    row.rank = parse_rank(&rank)?;
    Ok(row)
}

pub fn patrol(conn: &Connection, id: &str) -> Result<Option<PatrolRow>> {
    let sql = format!("SELECT {PATROL_COLUMNS} FROM patrols WHERE id = ?1");
    conn.query_row(&sql, [id], patrol_from_row)
        .optional()?
        .map(with_rank)
        .transpose()
}

pub fn open_patrol(conn: &Connection) -> Result<Option<PatrolRow>> {
    let sql = format!("SELECT {PATROL_COLUMNS} FROM patrols WHERE checkout_time_ms IS NULL");
    conn.query_row(&sql, [], patrol_from_row)
        .optional()?
        .map(with_rank)
        .transpose()
}

pub fn closed_patrols(conn: &Connection) -> Result<Vec<PatrolRow>> {
    let sql =
        format!("SELECT {PATROL_COLUMNS} FROM patrols WHERE checkout_time_ms IS NOT NULL ORDER BY checkin_time_ms");
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map([], patrol_from_row)?;
    rows.map(|r| with_rank(r?)).collect()
}

pub fn insert_fix(tx: &Transaction<'_>, fix: &Fix, patrol_id: Option<&str>, verdict: Verdict) -> Result<i64> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO fixes (patrol_id, time_ms, mono_ns, lat, lon, accuracy_m, altitude_m, speed_mps, bearing_deg, verdict)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?;
    stmt.execute(params![
        patrol_id,
        fix.time_ms,
        fix.mono_ns,
        fix.lat,
        fix.lon,
        fix.accuracy_m,
        fix.altitude_m,
        fix.speed_mps,
        fix.bearing_deg,
        verdict.as_str()
    ])?;
    Ok(tx.last_insert_rowid())
}

/// The check-in or check-out fix is usually the fix the phone just reported;
/// it joins the patrol's track instead of being stored twice.
/// Returns whether the fix joined the patrol (false: it already belonged).
pub fn adopt_fix(tx: &Transaction<'_>, fix_id: i64, patrol_id: &str) -> Result<bool> {
    let changed = tx.execute(
        "UPDATE fixes SET patrol_id = ?2 WHERE id = ?1 AND patrol_id IS NULL",
        params![fix_id, patrol_id],
    )?;
    Ok(changed == 1)
}

/// An open patrol's place in its causal order after a restart: the next
/// outbox sequence number and how many fixes wait to be chunked (every fix
/// up to row `after` is known to be packed; see [`pack_chunk`]).
pub fn patrol_progress(conn: &Connection, patrol_id: &str, after: i64) -> Result<(u32, usize)> {
    let next = outbox::next_seq(conn, patrol_id)?;
    let unchunked: i64 = conn.query_row(
        "SELECT count(*) FROM fixes WHERE patrol_id = ?1 AND id > ?2 AND chunk_id IS NULL",
        params![patrol_id, after],
        |r| r.get(0),
    )?;
    Ok((next, usize::try_from(unchunked).unwrap_or(0)))
}

pub fn insert_event(
    tx: &Transaction<'_>,
    area_id: &str,
    patrol_id: Option<&str>,
    kind: &str,
    time_ms: i64,
    mono_ns: i64,
) -> Result<()> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO geofence_events (area_id, patrol_id, kind, time_ms, mono_ns) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    stmt.execute(params![area_id, patrol_id, kind, time_ms, mono_ns])?;
    Ok(())
}

fn track_point(r: &rusqlite::Row<'_>) -> rusqlite::Result<(TrackPoint, String)> {
    Ok((
        TrackPoint {
            time_ms: r.get(0)?,
            mono_ns: r.get(1)?,
            lat: r.get(2)?,
            lon: r.get(3)?,
            accuracy_m: r.get(4)?,
            verdict: Verdict::Accepted,
        },
        r.get(5)?,
    ))
}

fn with_verdict((mut p, v): (TrackPoint, String)) -> Result<TrackPoint> {
    p.verdict = Verdict::parse(&v).ok_or_else(|| StoreError::Corrupt(format!("unknown verdict {v:?}")))?;
    Ok(p)
}

pub fn track(conn: &Connection, patrol_id: &str) -> Result<Vec<TrackPoint>> {
    let mut stmt = conn.prepare_cached(
        "SELECT time_ms, mono_ns, lat, lon, accuracy_m, verdict FROM fixes WHERE patrol_id = ?1 ORDER BY id",
    )?;
    let rows = stmt.query_map([patrol_id], track_point)?;
    rows.map(|r| with_verdict(r?)).collect()
}

/// The patrol's fixes stored after row `after`, in the order received.
pub fn track_after(conn: &Connection, patrol_id: &str, after: i64) -> Result<Vec<TrackPoint>> {
    let mut stmt = conn.prepare_cached(
        "SELECT time_ms, mono_ns, lat, lon, accuracy_m, verdict FROM fixes WHERE patrol_id = ?1 AND id > ?2 ORDER BY id",
    )?;
    let rows = stmt.query_map(params![patrol_id, after], track_point)?;
    rows.map(|r| with_verdict(r?)).collect()
}

/// Saves the open patrol's tally as it stood after fix row `upto_fix`.
pub fn save_tally(tx: &Transaction<'_>, patrol_id: &str, upto_fix: i64, tally: &str) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO patrol_tallies (patrol_id, upto_fix, tally) VALUES (?1, ?2, ?3)
         ON CONFLICT (patrol_id) DO UPDATE SET upto_fix = excluded.upto_fix, tally = excluded.tally",
    )?
    .execute(params![patrol_id, upto_fix, tally])?;
    Ok(())
}

/// The patrol's saved tally and the fix row it stood at.
pub fn saved_tally(conn: &Connection, patrol_id: &str) -> Result<Option<(i64, String)>> {
    Ok(conn
        .query_row(
            "SELECT upto_fix, tally FROM patrol_tallies WHERE patrol_id = ?1",
            [patrol_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?)
}

/// A patrol's tally is only needed while it is open.
pub fn drop_tally(tx: &Transaction<'_>, patrol_id: &str) -> Result<()> {
    tx.execute("DELETE FROM patrol_tallies WHERE patrol_id = ?1", [patrol_id])?;
    Ok(())
}

/// The newest believed fixes, oldest first: enough to rebuild the live
/// geofence after a restart.
pub fn recent_accepted(conn: &Connection, limit: u32) -> Result<Vec<TrackPoint>> {
    let mut stmt = conn.prepare(
        "SELECT * FROM (SELECT time_ms, mono_ns, lat, lon, accuracy_m, verdict, id FROM fixes
             WHERE verdict = 'accepted' ORDER BY id DESC LIMIT ?1) ORDER BY id",
    )?;
    let rows = stmt.query_map([limit], track_point)?;
    rows.map(|r| with_verdict(r?)).collect()
}

/// The filter's memory: the newest fix that was in time order, and the
/// newest believed one.
pub fn filter_state(conn: &Connection) -> Result<(Option<Seen>, Option<Seen>)> {
    let seen = |sql: &str| -> Result<Option<Seen>> {
        Ok(conn
            .query_row(sql, [], |r| {
                Ok(Seen {
                    time_ms: r.get(0)?,
                    mono_ns: r.get(1)?,
                    lat: r.get(2)?,
                    lon: r.get(3)?,
                    accuracy_m: r.get(4)?,
                })
            })
            .optional()?)
    };
    let last_seen = seen(
        "SELECT time_ms, mono_ns, lat, lon, accuracy_m FROM fixes
         WHERE verdict NOT IN ('duplicate_time', 'time_backwards', 'implausible_time') ORDER BY id DESC LIMIT 1",
    )?;
    let anchor = seen(
        "SELECT time_ms, mono_ns, lat, lon, accuracy_m FROM fixes WHERE verdict = 'accepted' ORDER BY id DESC LIMIT 1",
    )?;
    Ok((last_seen, anchor))
}

/// The newest stored fix, with its row id.
pub fn last_fix(conn: &Connection) -> Result<Option<LastFix>> {
    conn.query_row(
        "SELECT time_ms, mono_ns, lat, lon, accuracy_m, verdict, id FROM fixes ORDER BY id DESC LIMIT 1",
        [],
        |r| Ok((track_point(r)?, r.get::<_, i64>(6)?)),
    )
    .optional()?
    .map(|(p, row)| with_verdict(p).map(|point| LastFix { row, point }))
    .transpose()
}

/// Packs the patrol's fixes not yet in a chunk into one track chunk record,
/// queued in the same transaction, and marks them as carried. Returns how
/// many fixes it carried (0: nothing to pack, nothing queued).
///
/// `after`: every fix of the patrol up to this row is known to be packed
/// already (each chunk takes all that were waiting), so a 12-hour track is
/// not walked again for the last ten minutes of it. 0 looks at them all.
pub fn pack_chunk(tx: &Transaction<'_>, patrol_id: &str, seq: u32, now_ms: i64, after: i64) -> Result<usize> {
    let mut stmt = tx.prepare_cached(
        "SELECT id, time_ms, mono_ns, lat, lon, accuracy_m, altitude_m, speed_mps, bearing_deg, verdict
         FROM fixes WHERE patrol_id = ?1 AND id > ?2 AND chunk_id IS NULL ORDER BY id",
    )?;
    let rows = stmt.query_map(params![patrol_id, after], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            Fix {
                time_ms: r.get(1)?,
                mono_ns: r.get(2)?,
                lat: r.get(3)?,
                lon: r.get(4)?,
                accuracy_m: r.get(5)?,
                altitude_m: r.get(6)?,
                speed_mps: r.get(7)?,
                bearing_deg: r.get(8)?,
            },
            r.get::<_, String>(9)?,
        ))
    })?;
    let mut ids = Vec::new();
    let mut fixes = Vec::new();
    for row in rows {
        let (id, fix, verdict) = row?;
        let verdict =
            Verdict::parse(&verdict).ok_or_else(|| StoreError::Corrupt(format!("unknown verdict {verdict:?}")))?;
        ids.push(id);
        fixes.push(StoredFix { fix, verdict });
    }
    let (Some(&first), Some(&last)) = (ids.first(), ids.last()) else {
        return Ok(0);
    };
    let chunk_id = uuid::Uuid::now_v7().to_string();
    let payload = codec::encode(&fixes);
    outbox::enqueue(
        tx,
        &NewRow {
            id: &chunk_id,
            kind: Kind::TrackChunk,
            format: codec::FORMAT,
            patrol_id: Some(patrol_id),
            seq,
            payload: &payload,
            fixes: fixes.len(),
            now_ms,
        },
    )?;
    tx.execute(
        "UPDATE fixes SET chunk_id = ?1 WHERE patrol_id = ?2 AND chunk_id IS NULL AND id >= ?3 AND id <= ?4",
        params![chunk_id, patrol_id, first, last],
    )?;
    Ok(fixes.len())
}

/// Removes this module's rows for a sign-out or a wipe. The force's areas
/// stay on a sign-out: the next officer patrols the same streets. Callers
/// purge the outbox first (its rows refer to patrols).
pub fn purge(tx: &Transaction<'_>, scope: Purge) -> Result<()> {
    tx.execute_batch(
        "DELETE FROM geofence_events; DELETE FROM patrol_tallies; DELETE FROM fixes; DELETE FROM patrols;
         DELETE FROM assignments; DELETE FROM officer;",
    )?;
    if scope == Purge::Everything {
        tx.execute("DELETE FROM areas", [])?;
    }
    Ok(())
}
