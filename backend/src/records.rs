//! Check-in and check-out records (`records`, `patrols`): each stored at
//! most once per record id, checked with the protocol's rules, and only by
//! the officer whose patrol it is; and the one reader of stored patrols
//! that the export and the review pages judge.

use crate::sql::{DbError, Row, Tx, p};
use chrono::{Days, NaiveDate, NaiveTime};
use guardian_protocol::time::{london_date, london_instant};
use guardian_protocol::wire::{AckStatus, RECORD_FORMAT, RecordBody, RecordEnvelope};

use crate::backend::{Backend, replay};
use crate::error::BackendError;
use crate::officers::require_officer;

impl Backend {
    /// Stores a check-in or check-out at most once per record id.
    pub(crate) fn submit_record(&self, sub: &str, env: &RecordEnvelope, now: i64) -> Result<AckStatus, BackendError> {
        if env.format != RECORD_FORMAT {
            return Err(BackendError::refused(
                "unsupported-format",
                format!("record format {} is not {RECORD_FORMAT}", env.format),
            ));
        }
        // Every rule before the replay check: a retry is the same valid
        // body, and anything else is refused whatever its id.
        env.validate().map_err(|e| bad_record(e.to_string()))?;
        self.write(|tx| {
            require_officer(tx, sub)?;
            let seen: Option<String> = tx.query_opt(
                "SELECT officer_id FROM records WHERE record_id = ?1",
                p![&env.id],
                |r| r.get(0),
            )?;
            if let Some(owner) = seen {
                return replay(tx, sub, &owner, "record");
            }
            // The record's key first: a concurrent upload of the same record
            // (a retry racing its original on another instance) waits here
            // for the other's commit, and then this transaction runs again
            // and answers "duplicate" — rather than reading the patrol the
            // other stored and calling it a conflict. A refusal below rolls
            // this row back with everything else.
            let kind = env.kind();
            let body = serde_json::to_string(env).map_err(|e| BackendError::Server(format!("record to JSON: {e}")))?;
            let inserted = tx.execute(
                "INSERT INTO records (record_id, officer_id, patrol_id, kind, body, received_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (record_id) DO NOTHING",
                p![env.id, sub, env.patrol_id, kind, body, now],
            )?;
            if inserted == 0 {
                return Err(DbError::Conflict.into());
            }
            match &env.body {
                RecordBody::CheckIn(b) => {
                    if b.officer_id != sub {
                        return Err(BackendError::forbidden(
                            "a check-in must name the officer the token belongs to",
                        ));
                    }
                    let active: Option<bool> =
                        tx.query_opt("SELECT active FROM areas WHERE area_id = ?1", p![&b.area_id], |r| {
                            r.get(0)
                        })?;
                    if active != Some(true) {
                        return Err(BackendError::refused(
                            "unknown-area",
                            format!("no current area {:?}", b.area_id),
                        ));
                    }
                    if patrol_owner(tx, &env.patrol_id)?.is_some() {
                        return Err(BackendError::refused(
                            "conflict",
                            "this patrol already has a check-in with another record id",
                        ));
                    }
                    tx.execute(
                        "INSERT INTO patrols (patrol_id, officer_id, area_id, claimed_rank,
                           assignment_id, checkin_record_id, checkin_time_ms)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                        p![
                            env.patrol_id,
                            sub,
                            b.area_id,
                            b.rank,
                            b.assignment_id,
                            env.id,
                            b.time_ms
                        ],
                    )?;
                }
                RecordBody::CheckOut(b) => {
                    let row: Option<(String, i64, Option<String>)> = tx.query_opt(
                        "SELECT officer_id, checkin_time_ms, checkout_record_id FROM patrols
                             WHERE patrol_id = ?1",
                        p![&env.patrol_id],
                        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                    )?;
                    let Some((owner, checkin_ms, checkout)) = row else {
                        return Err(BackendError::refused(
                            "unknown-patrol",
                            "no check-in has been received for this patrol",
                        ));
                    };
                    if owner != sub {
                        return Err(BackendError::forbidden("this patrol is another officer's"));
                    }
                    if checkout.is_some() {
                        return Err(BackendError::refused(
                            "conflict",
                            "this patrol already has a check-out with another record id",
                        ));
                    }
                    if b.time_ms < checkin_ms {
                        return Err(bad_record("check-out is earlier than the check-in"));
                    }
                    tx.execute(
                        "UPDATE patrols SET checkout_record_id = ?2, checkout_time_ms = ?3
                         WHERE patrol_id = ?1",
                        p![env.patrol_id, env.id, b.time_ms],
                    )?;
                }
            }
            Ok(AckStatus::Stored)
        })
    }
}

fn bad_record(reason: impl Into<String>) -> BackendError {
    BackendError::refused("bad-record", reason)
}

pub(crate) fn patrol_owner(tx: &Tx<'_>, patrol_id: &str) -> Result<Option<String>, BackendError> {
    Ok(tx.query_opt(
        "SELECT officer_id FROM patrols WHERE patrol_id = ?1",
        p![patrol_id],
        |r| r.get(0),
    )?)
}

/// A patrol as stored, read for judging and review.
#[derive(Clone)]
pub(crate) struct PatrolRow {
    pub(crate) patrol_id: String,
    pub(crate) officer_id: String,
    pub(crate) area_id: String,
    pub(crate) claimed_rank: String,
    pub(crate) assignment_id: Option<String>,
    pub(crate) check_in_ms: i64,
    /// `None` until the check-out arrives.
    pub(crate) check_out_ms: Option<i64>,
    /// The date of the assignment it names, when that assignment is its own
    /// officer's for its area.
    assigned_date: Option<NaiveDate>,
}

/// Which patrols [`patrols`] reads.
pub(crate) enum Patrols<'a> {
    /// Every checked-out patrol.
    CheckedOut,
    /// The checked-out patrols whose [day](PatrolRow::day) is in
    /// `from..=to`.
    CheckedOutOnDays { from: NaiveDate, to: NaiveDate },
    /// One patrol, checked out or not.
    One(&'a str),
}

impl PatrolRow {
    /// The day the patrol counts for: its assignment's date (a window that
    /// crosses midnight stays on the day it was drawn for), else the London
    /// date of its check-in.
    pub(crate) fn day(&self) -> NaiveDate {
        self.assigned_date
            .or_else(|| london_date(self.check_in_ms))
            .unwrap_or_default()
    }

    /// The assignment it names, when that is its own officer's for its area.
    pub(crate) fn own_assignment(&self) -> Option<&str> {
        self.assigned_date.and(self.assignment_id.as_deref())
    }
}

/// The patrols `which` selects, in check-in order.
pub(crate) fn patrols(tx: &Tx<'_>, which: Patrols<'_>) -> Result<Vec<PatrolRow>, BackendError> {
    // The join finds the assignment only when it is the officer's own for
    // the area: naming someone else's must not move a patrol's day.
    const SELECT: &str = "SELECT p.patrol_id, p.officer_id, p.area_id, p.claimed_rank, p.assignment_id,
           p.checkin_time_ms, p.checkout_time_ms, a.date
         FROM patrols p
         LEFT JOIN assignments a ON a.assignment_id = p.assignment_id
           AND a.officer_id = p.officer_id AND a.area_id = p.area_id";
    const ORDER: &str = "ORDER BY p.checkin_time_ms, p.patrol_id";
    let rows = match which {
        Patrols::CheckedOut => tx.query_all(
            &format!("{SELECT} WHERE p.checkout_time_ms IS NOT NULL {ORDER}"),
            p![],
            read_patrol,
        )?,
        Patrols::CheckedOutOnDays { from, to } => {
            let start = london_midnight(from)?;
            let end = london_midnight(to.checked_add_days(Days::new(1)).unwrap_or(to))?;
            tx.query_all(
                &format!(
                    "{SELECT} WHERE p.checkout_time_ms IS NOT NULL
                       AND ((a.date IS NOT NULL AND a.date >= ?1 AND a.date <= ?2)
                         OR (a.date IS NULL AND p.checkin_time_ms >= ?3 AND p.checkin_time_ms < ?4))
                     {ORDER}"
                ),
                p![from.to_string(), to.to_string(), start, end],
                read_patrol,
            )?
        }
        Patrols::One(id) => tx.query_all(&format!("{SELECT} WHERE p.patrol_id = ?1"), p![id], read_patrol)?,
    };
    rows.into_iter()
        .map(|(mut row, date)| {
            row.assigned_date = date
                .map(|d| {
                    d.parse::<NaiveDate>()
                        .map_err(|_| BackendError::Corrupt(format!("assignment date {d:?}")))
                })
                .transpose()?;
            Ok(row)
        })
        .collect()
}

fn read_patrol(r: &Row) -> Result<(PatrolRow, Option<String>), DbError> {
    Ok((
        PatrolRow {
            patrol_id: r.get(0)?,
            officer_id: r.get(1)?,
            area_id: r.get(2)?,
            claimed_rank: r.get(3)?,
            assignment_id: r.get(4)?,
            check_in_ms: r.get(5)?,
            check_out_ms: r.get(6)?,
            assigned_date: None,
        },
        r.get(7)?,
    ))
}

/// London midnight at the start of `date`, UTC ms.
fn london_midnight(date: NaiveDate) -> Result<i64, BackendError> {
    london_instant(date, NaiveTime::MIN).ok_or_else(|| BackendError::Invalid(format!("{date} has no London midnight")))
}
