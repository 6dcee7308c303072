//! The supervisors' patrol review, read side: a day (or a range of days) of
//! patrols judged, the board's three figures overall, per area and per
//! local authority, the day's randomised schedule with what became of each
//! area, one patrol in full, and the evaluation's per-area table.
//!
//! Every figure comes from the export's path: the patrols selected here are
//! judged by `export::judge_rows` (the core's `compliance::assess`) and
//! summed by `export::summary` (the core's `summarise`), so the pages, the
//! CSV and `guardian-backend export --summary` cannot disagree. Nothing
//! here reads a referral table: the review holds no referral data.
//!
//! A patrol's day is [`crate::records::PatrolRow::day`]: its assignment's
//! date when it names an assignment of its own officer and area, else the
//! London date of its check-in.

mod day;
mod detail;
mod evaluation;
mod model;
mod select;
mod tiles;

use chrono::NaiveDate;

use crate::audit::{self, Access, Action, Caller};
use crate::backend::{Backend, now_ms};
use crate::error::BackendError;
use crate::export::ExportRow;
use crate::sql::Tx;

pub use evaluation::{EVALUATION_CSV_HEADER, evaluation_csv};
pub use model::*;
pub use select::MAX_RANGE_DAYS;
pub use tiles::tile_origin;

impl Backend {
    /// The day view for `from` to `to` (London dates, inclusive).
    pub fn review_days(&self, from: NaiveDate, to: NaiveDate) -> Result<DayReview, BackendError> {
        select::check_range(from, to)?;
        self.read(|tx| days_in(tx, from, to))
    }

    /// The day view, and its look in the access log (every patrol it
    /// lists) in the same transaction: no log, no answer.
    pub(crate) fn logged_review_days(
        &self,
        who: &Caller,
        action: Action,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<DayReview, BackendError> {
        select::check_range(from, to)?;
        let now = now_ms();
        self.write(|tx| {
            let review = days_in(tx, from, to)?;
            let ids: Vec<String> = review.patrols.iter().map(|p| p.patrol_id.clone()).collect();
            let scope = format!("days {from} to {to}");
            audit::append(tx, who, Access::on(action, "patrol", &ids, &scope), now)?;
            Ok(review)
        })
    }

    /// One patrol in full, its look logged as above.
    pub(crate) fn logged_review_patrol(
        &self,
        who: &Caller,
        action: Action,
        patrol_id: &str,
    ) -> Result<Option<PatrolDetail>, BackendError> {
        let now = now_ms();
        self.write(|tx| {
            let detail = detail::patrol_detail(tx, patrol_id)?;
            if let Some(d) = &detail {
                let ids = [d.patrol_id.clone()];
                audit::append(tx, who, Access::on(action, "patrol", &ids, "track"), now)?;
            }
            Ok(detail)
        })
    }

    /// The patrols of `from` to `to`, judged: what `export --from --to`
    /// prints and the day view sums.
    pub fn compliance_rows_between(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<ExportRow>, BackendError> {
        select::check_range(from, to)?;
        self.read(|tx| {
            Ok(select::judged_between(tx, from, to)?
                .into_iter()
                .map(|j| j.row)
                .collect())
        })
    }

    /// One patrol in full; `None` when there is no such patrol.
    pub fn review_patrol(&self, patrol_id: &str) -> Result<Option<PatrolDetail>, BackendError> {
        self.read(|tx| detail::patrol_detail(tx, patrol_id))
    }

    /// The evaluation table over the drawn days from `from` to `to` (either
    /// end open).
    pub fn review_evaluation(
        &self,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> Result<Evaluation, BackendError> {
        if let (Some(f), Some(t)) = (from, to)
            && t < f
        {
            return Err(BackendError::Invalid(format!(
                "the range ends ({t}) before it starts ({f})"
            )));
        }
        self.read(|tx| {
            let names = select::area_names(tx)?;
            let draws = crate::schedule::runs_between(tx, from, to)?;
            let (Some(first), Some(last)) = (draws.first(), draws.last()) else {
                return Ok(Evaluation {
                    from,
                    to,
                    days_drawn: 0,
                    areas: Vec::new(),
                    unreadable: 0,
                });
            };
            let judged = select::judged_between(tx, first.date, last.date)?;
            Ok(evaluation::evaluation(from, to, &names, &draws, judged))
        })
    }
}

/// This module's tables and their versions (see [`crate::db::Schema`]).
fn days_in(tx: &Tx<'_>, from: NaiveDate, to: NaiveDate) -> Result<DayReview, BackendError> {
    let names = select::area_names(tx)?;
    let judged = select::judged_between(tx, from, to)?;
    let draws = crate::schedule::runs_between(tx, Some(from), Some(to))?;
    let assignments = select::assignments_between(tx, from, to)?;
    Ok(day::day_review(from, to, &names, judged, &draws, &assignments))
}

pub(crate) const TABLES: crate::db::Schema = crate::db::Schema {
    name: "review",
    stored: crate::db::Stored::Meta("review_schema"),
    first: &[tiles::SCHEMA],
    fresh: &[tiles::SCHEMA],
    upgrades: &[],
};
