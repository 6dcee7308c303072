//! The review's selections: the patrols of a range of days judged, the
//! days' assignments, the area names. Plain, portable SQL (dates are
//! `YYYY-MM-DD` text, compared as text).

use std::collections::HashMap;

use crate::sql::{Tx, p};
use chrono::NaiveDate;

use super::model::AssignmentLine;
use crate::error::BackendError;
use crate::export::{self, ExportRow};
use crate::records::{Patrols, patrols};

/// The longest range the day view judges at once.
pub const MAX_RANGE_DAYS: u64 = 366;

/// A judged patrol with its day.
pub(super) struct Judged {
    pub(super) row: ExportRow,
    pub(super) day: NaiveDate,
    /// The assignment it names, when that is its own officer's for its area.
    pub(super) assignment_id: Option<String>,
}

pub(super) struct AreaName {
    pub(super) name: String,
    pub(super) lpa: String,
}

pub(super) type Draw = crate::schedule::ScheduleRun;

pub(super) fn check_range(from: NaiveDate, to: NaiveDate) -> Result<(), BackendError> {
    if to < from {
        return Err(BackendError::Invalid(format!(
            "the range ends ({to}) before it starts ({from})"
        )));
    }
    let days = (to - from).num_days();
    if days >= MAX_RANGE_DAYS as i64 {
        return Err(BackendError::Invalid(format!(
            "the range spans {} days; at most {MAX_RANGE_DAYS} are judged at once",
            days + 1
        )));
    }
    Ok(())
}
pub(super) fn area_names(tx: &Tx<'_>) -> Result<HashMap<String, AreaName>, BackendError> {
    let rows = tx.query_all("SELECT area_id, name, lpa FROM areas", p![], |r| {
        Ok((
            r.get::<String>(0)?,
            AreaName {
                name: r.get(1)?,
                lpa: r.get(2)?,
            },
        ))
    })?;
    Ok(rows.into_iter().collect())
}

/// The checked-out patrols whose day is in `from..=to`, judged.
pub(super) fn judged_between(tx: &Tx<'_>, from: NaiveDate, to: NaiveDate) -> Result<Vec<Judged>, BackendError> {
    let patrols = patrols(tx, Patrols::CheckedOutOnDays { from, to })?;
    let days: Vec<(NaiveDate, Option<String>)> = patrols
        .iter()
        .map(|p| (p.day(), p.own_assignment().map(str::to_string)))
        .collect();
    Ok(export::judge_rows(tx, patrols)
        .into_iter()
        .zip(days)
        .map(|(row, (day, assignment_id))| Judged {
            row,
            day,
            assignment_id,
        })
        .collect())
}

/// `(date, area) -> assignments` for the drawn days in range.
pub(super) fn assignments_between(
    tx: &Tx<'_>,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<HashMap<(NaiveDate, String), Vec<AssignmentLine>>, BackendError> {
    let rows = tx.query_all(
        "SELECT date, area_id, assignment_id, officer_id, start_ms, end_ms FROM assignments
         WHERE date >= ?1 AND date <= ?2 ORDER BY date, start_ms, assignment_id",
        p![from.to_string(), to.to_string()],
        |r| {
            Ok((
                r.get::<String>(0)?,
                r.get::<String>(1)?,
                AssignmentLine {
                    assignment_id: r.get(2)?,
                    officer_id: r.get(3)?,
                    start_ms: r.get(4)?,
                    end_ms: r.get(5)?,
                },
            ))
        },
    )?;
    let mut out: HashMap<(NaiveDate, String), Vec<AssignmentLine>> = HashMap::new();
    for row in rows {
        let (date, area, line) = row;
        let date = date
            .parse()
            .map_err(|_| BackendError::Corrupt(format!("assignment date {date:?}")))?;
        out.entry((date, area)).or_default().push(line);
    }
    Ok(out)
}

pub(super) fn name_of<'a>(names: &'a HashMap<String, AreaName>, id: &str) -> (&'a str, &'a str) {
    names
        .get(id)
        .map_or(("(area not stored)", ""), |n| (n.name.as_str(), n.lpa.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_range_is_forward_and_at_most_a_year() {
        let d = |s: &str| s.parse::<NaiveDate>().expect("date");
        assert!(check_range(d("2026-07-03"), d("2026-07-03")).is_ok());
        assert!(check_range(d("2026-07-03"), d("2026-07-02")).is_err());
        assert!(check_range(d("2026-01-01"), d("2026-12-31")).is_ok());
        assert!(check_range(d("2026-01-01"), d("2027-01-01")).is_ok());
        assert!(check_range(d("2026-01-01"), d("2027-01-02")).is_err());
    }
}
