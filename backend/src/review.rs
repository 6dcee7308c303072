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
//! A patrol's day is its assignment's date when it names an assignment of
//! its own officer and area (a window that crosses midnight stays on the
//! day it was drawn for), else the London date of its check-in.
//!
//! Plain, portable SQL (dates are `YYYY-MM-DD` text, compared as text), and
//! plain structs out: the HTTP layer renders them as HTML or JSON.

use std::collections::{BTreeMap, HashMap};

use crate::sql::{Tx, p};
use chrono::{Days, NaiveDate, NaiveTime};
use guardian_core::patrol::compliance::{ComplianceSummary, PatrolReport, WindowRule};
use guardian_core::patrol::geofence::PreparedArea;
use guardian_protocol::time::{london_date, london_instant};
use guardian_protocol::wire::{RecordBody, RecordEnvelope};
use serde::Serialize;

use crate::areas::stored_area;
use crate::backend::Backend;
use crate::error::BackendError;
use crate::export::{self, ExportRow, PatrolRow};

/// The longest range the day view judges at once.
pub const MAX_RANGE_DAYS: u64 = 366;

/// The board's figures for one group of patrols.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupFigures {
    /// An area id, or a local authority's name.
    pub key: String,
    /// The area's name (per area); the authority again (per authority).
    pub name: String,
    pub lpa: String,
    pub summary: ComplianceSummary,
}

/// One patrol as a line of the day view.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PatrolLine {
    pub patrol_id: String,
    pub officer_id: String,
    pub area_id: String,
    pub area_name: String,
    pub lpa: String,
    pub day: NaiveDate,
    /// The assignment it was judged against, if it named one of its own.
    pub assignment_id: Option<String>,
    pub check_in_ms: i64,
    pub check_out_ms: i64,
    /// The force's record of the rank; `None` when it could not be judged.
    pub rank: Option<String>,
    pub compliant: bool,
    pub minutes_in_area: Option<f64>,
    pub minutes_inside: Option<f64>,
    pub minutes_at_edge: Option<f64>,
    pub minutes_in_window: Option<f64>,
    /// Why not compliant, in words (empty when compliant).
    pub reasons: Vec<String>,
    /// Why it could not be judged (it is then left out of the figures).
    pub unreadable: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Group {
    /// Drawn for patrol that day.
    Assigned,
    /// Not drawn: the evaluation's control group that day.
    Control,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// At least one compliant patrol that day.
    CompliantPatrol,
    /// Patrolled, but no patrol was compliant.
    NotCompliant,
    NoPatrol,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AssignmentLine {
    pub assignment_id: String,
    pub officer_id: String,
    pub start_ms: i64,
    pub end_ms: i64,
}

/// An eligible area on a drawn day, and what became of it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScheduledArea {
    pub area_id: String,
    pub name: String,
    pub lpa: String,
    pub group: Group,
    pub assignments: Vec<AssignmentLine>,
    pub patrols: usize,
    pub compliant_patrols: usize,
    pub outcome: Outcome,
}

/// One day's recorded draw.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DaySchedule {
    pub date: NaiveDate,
    pub seed: u64,
    pub fraction: f64,
    pub areas: Vec<ScheduledArea>,
}

/// The day view: `from` to `to` inclusive (one day when equal).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DayReview {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub overall: ComplianceSummary,
    pub by_area: Vec<GroupFigures>,
    pub by_authority: Vec<GroupFigures>,
    /// Every drawn day in the range, by date.
    pub schedules: Vec<DaySchedule>,
    pub patrols: Vec<PatrolLine>,
    /// Patrols that could not be judged (listed, left out of the figures).
    pub unreadable: usize,
}

/// A point the handset recorded at check-in or check-out.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RecordedPoint {
    pub time_ms: i64,
    pub lat: f64,
    pub lon: f64,
    pub accuracy_m: f64,
}

/// One stored fix, with the handset filter's verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FixPoint {
    pub time_ms: i64,
    pub lat: f64,
    pub lon: f64,
    pub accuracy_m: f64,
    /// `accepted`, or why the filter did not believe it.
    pub verdict: String,
}

/// An area's outline: polygons of rings of `[lon, lat]`, each polygon's
/// outer ring first, then its holes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AreaOutline {
    pub area_id: String,
    pub name: String,
    pub lpa: String,
    pub polygons: Vec<Vec<Vec<[f64; 2]>>>,
}

/// The window a patrol was judged against.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WindowText {
    /// Its assignment's span.
    Assignment {
        assignment_id: String,
        start_ms: i64,
        end_ms: i64,
    },
    /// The area's threat windows (no assignment), as written.
    ThreatWindows { windows: Vec<String> },
    /// No assignment and no threat windows: any time counts.
    Any,
}

/// One patrol in full: what the patrol view draws.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PatrolDetail {
    pub patrol_id: String,
    pub officer_id: String,
    pub area_id: String,
    pub day: NaiveDate,
    pub check_in_ms: i64,
    pub check_out_ms: Option<i64>,
    /// `None` when the area is not stored.
    pub area: Option<AreaOutline>,
    pub window: Option<WindowText>,
    pub check_in: Option<RecordedPoint>,
    pub check_out: Option<RecordedPoint>,
    /// The core's judgement (checked-out patrols only).
    pub report: Option<PatrolReport>,
    /// The reasons in words (empty when compliant or not judged).
    pub reasons: Vec<String>,
    /// Why it was not judged: still open, or its data cannot be.
    pub not_judged: Option<String>,
    /// Every stored fix, in the order the judge reads them.
    pub fixes: Vec<FixPoint>,
}

/// One area's line of the evaluation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvaluationRow {
    pub area_id: String,
    pub name: String,
    pub lpa: String,
    /// Drawn days on which the area was eligible.
    pub days_drawn: usize,
    pub days_assigned: usize,
    pub days_control: usize,
    pub assigned_days_with_compliant_patrol: usize,
    pub patrols_on_assigned_days: usize,
    pub compliant_patrols_on_assigned_days: usize,
    /// Minutes counted by the verdicts (on their basis).
    pub minutes_on_assigned_days: f64,
    pub minutes_inside_on_assigned_days: f64,
    pub minutes_in_window_on_assigned_days: f64,
    /// Patrols in the area on its control days (the control was patrolled).
    pub patrols_on_control_days: usize,
    pub minutes_on_control_days: f64,
}

/// The evaluation's starting table: per area, days assigned vs control and
/// the patrol minutes delivered.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    /// The range asked for; `None` = from the first or to the last draw.
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub days_drawn: usize,
    pub areas: Vec<EvaluationRow>,
    /// Patrols on drawn days that could not be judged (left out).
    pub unreadable: usize,
}

pub const EVALUATION_CSV_HEADER: &str = "area_id,name,lpa,days_drawn,days_assigned,days_control,assigned_days_with_compliant_patrol,patrols_on_assigned_days,compliant_patrols_on_assigned_days,minutes_on_assigned_days,minutes_inside_on_assigned_days,minutes_in_window_on_assigned_days,patrols_on_control_days,minutes_on_control_days";

/// A judged patrol with its day.
struct Judged {
    row: ExportRow,
    day: NaiveDate,
    /// The assignment it names, when that is its own officer's for its area.
    assignment_id: Option<String>,
}

struct AreaName {
    name: String,
    lpa: String,
}

type Draw = crate::schedule::ScheduleRun;

impl Backend {
    /// The day view for `from` to `to` (London dates, inclusive).
    pub fn review_days(&self, from: NaiveDate, to: NaiveDate) -> Result<DayReview, BackendError> {
        check_range(from, to)?;
        self.read(|tx| {
            let names = area_names(tx)?;
            let judged = judged_between(tx, from, to)?;
            let draws = crate::schedule::runs_between(tx, Some(from), Some(to))?;
            let assignments = assignments_between(tx, from, to)?;
            Ok(day_review(from, to, &names, judged, &draws, &assignments))
        })
    }

    /// The patrols of `from` to `to`, judged: what `export --from --to`
    /// prints and the day view sums.
    pub fn compliance_rows_between(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<ExportRow>, BackendError> {
        check_range(from, to)?;
        self.read(|tx| Ok(judged_between(tx, from, to)?.into_iter().map(|j| j.row).collect()))
    }

    /// One patrol in full; `None` when there is no such patrol.
    pub fn review_patrol(&self, patrol_id: &str) -> Result<Option<PatrolDetail>, BackendError> {
        self.read(|tx| patrol_detail(tx, patrol_id))
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
            let names = area_names(tx)?;
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
            let judged = judged_between(tx, first.date, last.date)?;
            Ok(evaluation(from, to, &names, &draws, judged))
        })
    }

    /// The tile layer the patrol view draws under the track, if the force
    /// set one (off by default: tiles come from outside and would tell the
    /// tile server where a patrol was).
    pub fn review_tile_layer(&self) -> Result<Option<String>, BackendError> {
        self.read(|tx| {
            Ok(tx.query_opt(
                "SELECT value FROM review_settings WHERE key = 'tile_layer'",
                p![],
                |r| r.get(0),
            )?)
        })
    }

    /// Sets (or with `None` removes) the tile layer: an `https://` URL
    /// template with `{z}`, `{x}` and `{y}`.
    pub fn set_review_tile_layer(&self, template: Option<&str>) -> Result<(), BackendError> {
        if let Some(t) = template {
            check_tile_template(t)?;
        }
        self.write(|tx| {
            match template {
                Some(t) => tx.execute(
                    "INSERT INTO review_settings (key, value) VALUES ('tile_layer', ?1)
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    p![t],
                )?,
                None => tx.execute("DELETE FROM review_settings WHERE key = 'tile_layer'", p![])?,
            };
            Ok(())
        })
    }
}

const SCHEMA: &str = "
CREATE TABLE review_settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
";

/// This module's tables and their versions (see [`crate::db::Schema`]).
pub(crate) const TABLES: crate::db::Schema = crate::db::Schema {
    name: "review",
    stored: crate::db::Stored::Meta("review_schema"),
    first: &[SCHEMA],
    fresh: &[SCHEMA],
    upgrades: &[],
};

/// A tile URL template the page may load: `https://host[:port]/…` with
/// `{z}`, `{x}` and `{y}`, and nothing that could break out of an
/// attribute or a Content-Security-Policy.
pub fn check_tile_template(t: &str) -> Result<(), BackendError> {
    let bad = |why: &str| BackendError::Invalid(format!("tile layer {why}"));
    if t.len() > 300 {
        return Err(bad("is longer than 300 characters"));
    }
    let rest = t
        .strip_prefix("https://")
        .ok_or_else(|| bad("must start with https://"))?;
    let host = rest.split('/').next().unwrap_or("");
    if host.is_empty()
        || !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'))
    {
        return Err(bad("has no plain host name"));
    }
    if !t
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-._~:/?&={}%@".contains(c))
    {
        return Err(bad("has characters a URL template does not need"));
    }
    for p in ["{z}", "{x}", "{y}"] {
        if !t.contains(p) {
            return Err(bad(&format!("has no {p}")));
        }
    }
    Ok(())
}

/// The origin (`https://host[:port]`) of a checked tile template.
pub fn tile_origin(t: &str) -> &str {
    let after = t.find("://").map_or(0, |i| i + 3);
    match t[after..].find('/') {
        Some(i) => &t[..after + i],
        None => t,
    }
}

fn check_range(from: NaiveDate, to: NaiveDate) -> Result<(), BackendError> {
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

/// London midnight at the start of `date`, UTC ms.
fn london_midnight(date: NaiveDate) -> Result<i64, BackendError> {
    london_instant(date, NaiveTime::MIN).ok_or_else(|| BackendError::Invalid(format!("{date} has no London midnight")))
}

fn area_names(tx: &Tx<'_>) -> Result<HashMap<String, AreaName>, BackendError> {
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
fn judged_between(tx: &Tx<'_>, from: NaiveDate, to: NaiveDate) -> Result<Vec<Judged>, BackendError> {
    let start = london_midnight(from)?;
    let end = london_midnight(to.checked_add_days(Days::new(1)).unwrap_or(to))?;
    let rows = tx.query_all(
        "SELECT p.patrol_id, p.officer_id, p.area_id, p.claimed_rank, p.assignment_id,
           p.checkin_time_ms, p.checkout_time_ms, a.date
         FROM patrols p
         LEFT JOIN assignments a ON a.assignment_id = p.assignment_id
           AND a.officer_id = p.officer_id AND a.area_id = p.area_id
         WHERE p.checkout_time_ms IS NOT NULL
           AND ((a.date IS NOT NULL AND a.date >= ?1 AND a.date <= ?2)
             OR (a.date IS NULL AND p.checkin_time_ms >= ?3 AND p.checkin_time_ms < ?4))
         ORDER BY p.checkin_time_ms, p.patrol_id",
        p![from.to_string(), to.to_string(), start, end],
        |r| Ok((PatrolRow::read(r)?, r.get::<Option<String>>(7)?)),
    )?;
    let mut patrols = Vec::new();
    let mut days = Vec::new();
    for row in rows {
        let (p, assigned_date) = row;
        let (day, assignment) = match assigned_date {
            Some(d) => (
                d.parse::<NaiveDate>()
                    .map_err(|_| BackendError::Corrupt(format!("assignment date {d:?}")))?,
                p.assignment_id.clone(),
            ),
            None => (london_date(p.check_in_ms).unwrap_or(from), None),
        };
        days.push((day, assignment));
        patrols.push(p);
    }
    let rows = export::judge_rows(tx, patrols);
    Ok(rows
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
fn assignments_between(
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

fn name_of<'a>(names: &'a HashMap<String, AreaName>, id: &str) -> (&'a str, &'a str) {
    names
        .get(id)
        .map_or(("(area not stored)", ""), |n| (n.name.as_str(), n.lpa.as_str()))
}

fn day_review(
    from: NaiveDate,
    to: NaiveDate,
    names: &HashMap<String, AreaName>,
    judged: Vec<Judged>,
    draws: &[Draw],
    assignments: &HashMap<(NaiveDate, String), Vec<AssignmentLine>>,
) -> DayReview {
    let rows: Vec<ExportRow> = judged.iter().map(|j| j.row.clone()).collect();
    let overall = export::summary(&rows);

    let mut per_area: BTreeMap<String, Vec<ExportRow>> = BTreeMap::new();
    let mut per_lpa: BTreeMap<String, Vec<ExportRow>> = BTreeMap::new();
    for r in &rows {
        per_area.entry(r.area_id.clone()).or_default().push(r.clone());
        let (_, lpa) = name_of(names, &r.area_id);
        per_lpa.entry(lpa.to_string()).or_default().push(r.clone());
    }
    let by_area = per_area
        .into_iter()
        .map(|(id, rows)| {
            let (name, lpa) = name_of(names, &id);
            GroupFigures {
                name: name.to_string(),
                lpa: lpa.to_string(),
                summary: export::summary(&rows),
                key: id,
            }
        })
        .collect();
    let by_authority = per_lpa
        .into_iter()
        .map(|(lpa, rows)| GroupFigures {
            key: lpa.clone(),
            name: lpa.clone(),
            lpa,
            summary: export::summary(&rows),
        })
        .collect();

    // (day, area) -> (patrols, compliant)
    let mut done: HashMap<(NaiveDate, &str), (usize, usize)> = HashMap::new();
    for j in &judged {
        let e = done.entry((j.day, j.row.area_id.as_str())).or_default();
        e.0 += 1;
        if j.row.report.as_ref().is_ok_and(|r| r.compliant) {
            e.1 += 1;
        }
    }
    let schedules = draws
        .iter()
        .map(|d| {
            let groups = d
                .chosen
                .iter()
                .map(|a| (a, Group::Assigned))
                .chain(d.not_chosen.iter().map(|a| (a, Group::Control)));
            let areas = groups
                .map(|(id, group)| {
                    let (name, lpa) = name_of(names, id);
                    let (patrols, compliant) = done.get(&(d.date, id.as_str())).copied().unwrap_or((0, 0));
                    ScheduledArea {
                        area_id: id.clone(),
                        name: name.to_string(),
                        lpa: lpa.to_string(),
                        group,
                        assignments: assignments.get(&(d.date, id.clone())).cloned().unwrap_or_default(),
                        patrols,
                        compliant_patrols: compliant,
                        outcome: outcome(patrols, compliant),
                    }
                })
                .collect();
            DaySchedule {
                date: d.date,
                seed: d.seed,
                fraction: d.fraction,
                areas,
            }
        })
        .collect();

    let unreadable = judged.iter().filter(|j| j.row.report.is_err()).count();
    let patrols = judged
        .into_iter()
        .map(|j| {
            let (name, lpa) = name_of(names, &j.row.area_id);
            let (name, lpa) = (name.to_string(), lpa.to_string());
            let r = j.row;
            let (rep, why) = match r.report {
                Ok(rep) => (Some(rep), None),
                Err(why) => (None, Some(why)),
            };
            PatrolLine {
                area_name: name,
                lpa,
                day: j.day,
                assignment_id: j.assignment_id,
                check_in_ms: r.check_in_ms,
                check_out_ms: r.check_out_ms,
                rank: rep.as_ref().map(|x| x.rank.as_str().to_string()),
                compliant: rep.as_ref().is_some_and(|x| x.compliant),
                minutes_in_area: rep.as_ref().map(|x| x.minutes_in_area),
                minutes_inside: rep.as_ref().map(|x| x.minutes_inside),
                minutes_at_edge: rep.as_ref().map(|x| x.minutes_at_edge),
                minutes_in_window: rep.as_ref().map(|x| x.minutes_in_window),
                reasons: rep
                    .as_ref()
                    .map(|x| x.reasons.iter().map(ToString::to_string).collect())
                    .unwrap_or_default(),
                unreadable: why,
                patrol_id: r.patrol_id,
                officer_id: r.officer_id,
                area_id: r.area_id,
            }
        })
        .collect();
    DayReview {
        from,
        to,
        overall,
        by_area,
        by_authority,
        schedules,
        patrols,
        unreadable,
    }
}

fn outcome(patrols: usize, compliant: usize) -> Outcome {
    match (patrols, compliant) {
        (0, _) => Outcome::NoPatrol,
        (_, 0) => Outcome::NotCompliant,
        _ => Outcome::CompliantPatrol,
    }
}

fn evaluation(
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    names: &HashMap<String, AreaName>,
    draws: &[Draw],
    judged: Vec<Judged>,
) -> Evaluation {
    let mut per_day: HashMap<(NaiveDate, &str), Vec<&PatrolReport>> = HashMap::new();
    let mut unreadable = 0;
    for j in &judged {
        match &j.row.report {
            Ok(rep) => per_day.entry((j.day, j.row.area_id.as_str())).or_default().push(rep),
            Err(_) => unreadable += 1,
        }
    }
    let mut rows: BTreeMap<&str, EvaluationRow> = BTreeMap::new();
    let empty = |id: &str| {
        let (name, lpa) = name_of(names, id);
        EvaluationRow {
            area_id: id.to_string(),
            name: name.to_string(),
            lpa: lpa.to_string(),
            days_drawn: 0,
            days_assigned: 0,
            days_control: 0,
            assigned_days_with_compliant_patrol: 0,
            patrols_on_assigned_days: 0,
            compliant_patrols_on_assigned_days: 0,
            minutes_on_assigned_days: 0.0,
            minutes_inside_on_assigned_days: 0.0,
            minutes_in_window_on_assigned_days: 0.0,
            patrols_on_control_days: 0,
            minutes_on_control_days: 0.0,
        }
    };
    for d in draws {
        for (id, assigned) in d
            .chosen
            .iter()
            .map(|a| (a, true))
            .chain(d.not_chosen.iter().map(|a| (a, false)))
        {
            let row = rows.entry(id.as_str()).or_insert_with(|| empty(id));
            row.days_drawn += 1;
            let reports = per_day.get(&(d.date, id.as_str())).map_or(&[][..], Vec::as_slice);
            if assigned {
                row.days_assigned += 1;
                let compliant = reports.iter().filter(|r| r.compliant).count();
                if compliant > 0 {
                    row.assigned_days_with_compliant_patrol += 1;
                }
                row.patrols_on_assigned_days += reports.len();
                row.compliant_patrols_on_assigned_days += compliant;
                for r in reports {
                    row.minutes_on_assigned_days += r.minutes_in_area;
                    row.minutes_inside_on_assigned_days += r.minutes_inside;
                    row.minutes_in_window_on_assigned_days += r.minutes_in_window;
                }
            } else {
                row.days_control += 1;
                row.patrols_on_control_days += reports.len();
                row.minutes_on_control_days += reports.iter().map(|r| r.minutes_in_area).sum::<f64>();
            }
        }
    }
    Evaluation {
        from,
        to,
        days_drawn: draws.len(),
        areas: rows.into_values().collect(),
        unreadable,
    }
}

/// The evaluation as CSV (minutes to two decimals; names made safe for a
/// spreadsheet, as the compliance CSV's are).
pub fn evaluation_csv(e: &Evaluation) -> String {
    let mut out = String::with_capacity(256 + e.areas.len() * 128);
    out.push_str(EVALUATION_CSV_HEADER);
    out.push('\n');
    for r in &e.areas {
        let fields = [
            export::field(&r.area_id),
            export::field(&r.name),
            export::field(&r.lpa),
            r.days_drawn.to_string(),
            r.days_assigned.to_string(),
            r.days_control.to_string(),
            r.assigned_days_with_compliant_patrol.to_string(),
            r.patrols_on_assigned_days.to_string(),
            r.compliant_patrols_on_assigned_days.to_string(),
            format!("{:.2}", r.minutes_on_assigned_days),
            format!("{:.2}", r.minutes_inside_on_assigned_days),
            format!("{:.2}", r.minutes_in_window_on_assigned_days),
            r.patrols_on_control_days.to_string(),
            format!("{:.2}", r.minutes_on_control_days),
        ];
        out.push_str(&fields.join(","));
        out.push('\n');
    }
    out
}

struct StoredPatrol {
    row: PatrolRow,
    checked_out: bool,
    assigned_date: Option<String>,
}

fn patrol_detail(tx: &Tx<'_>, patrol_id: &str) -> Result<Option<PatrolDetail>, BackendError> {
    let stored: Option<StoredPatrol> = tx.query_opt(
        "SELECT p.patrol_id, p.officer_id, p.area_id, p.claimed_rank, p.assignment_id,
               p.checkin_time_ms, p.checkout_time_ms, a.date
             FROM patrols p
             LEFT JOIN assignments a ON a.assignment_id = p.assignment_id
               AND a.officer_id = p.officer_id AND a.area_id = p.area_id
             WHERE p.patrol_id = ?1",
        p![patrol_id],
        |r| {
            let out: Option<i64> = r.get(6)?;
            Ok(StoredPatrol {
                row: PatrolRow {
                    patrol_id: r.get(0)?,
                    officer_id: r.get(1)?,
                    area_id: r.get(2)?,
                    claimed_rank: r.get(3)?,
                    assignment_id: r.get(4)?,
                    check_in_ms: r.get(5)?,
                    check_out_ms: out.unwrap_or_default(),
                },
                checked_out: out.is_some(),
                assigned_date: r.get(7)?,
            })
        },
    )?;
    let Some(s) = stored else {
        return Ok(None);
    };
    let p = &s.row;
    let day = match &s.assigned_date {
        Some(d) => d
            .parse()
            .map_err(|_| BackendError::Corrupt(format!("assignment date {d:?}")))?,
        None => london_date(p.check_in_ms).unwrap_or_default(),
    };
    let area = stored_area(tx, &p.area_id).ok().flatten();
    let window = match &area {
        Some(a) => {
            let prepared = PreparedArea::new(a.clone());
            Some(match export::window_rule(tx, p, &prepared)? {
                WindowRule::Between { start_ms, end_ms } => WindowText::Assignment {
                    assignment_id: p.assignment_id.clone().unwrap_or_default(),
                    start_ms,
                    end_ms,
                },
                WindowRule::Threat(ws) => WindowText::ThreatWindows {
                    windows: ws.iter().map(|w| describe_window(&w.to_spec())).collect(),
                },
                WindowRule::Any => WindowText::Any,
            })
        }
        None => None,
    };
    let outline = area.map(|a| AreaOutline {
        polygons: a
            .shape
            .0
            .iter()
            .map(|poly| {
                std::iter::once(poly.exterior())
                    .chain(poly.interiors())
                    .map(|ring| ring.coords().map(|c| [c.x, c.y]).collect())
                    .collect()
            })
            .collect(),
        area_id: a.id,
        name: a.name,
        lpa: a.lpa,
    });
    let (check_in, check_out) = recorded_points(tx, patrol_id)?;
    let fixes = export::track(tx, patrol_id)?
        .into_iter()
        .map(|t| FixPoint {
            time_ms: t.time_ms,
            lat: t.lat,
            lon: t.lon,
            accuracy_m: t.accuracy_m,
            verdict: t.verdict.as_str().to_string(),
        })
        .collect();
    let (report, not_judged) = if s.checked_out {
        let judged = export::judge_rows(
            tx,
            vec![PatrolRow {
                patrol_id: p.patrol_id.clone(),
                officer_id: p.officer_id.clone(),
                area_id: p.area_id.clone(),
                claimed_rank: p.claimed_rank.clone(),
                assignment_id: p.assignment_id.clone(),
                check_in_ms: p.check_in_ms,
                check_out_ms: p.check_out_ms,
            }],
        );
        match judged.into_iter().next().map(|r| r.report) {
            Some(Ok(rep)) => (Some(rep), None),
            Some(Err(why)) => (None, Some(format!("it cannot be judged: {why}"))),
            None => (None, Some("it cannot be judged".to_string())),
        }
    } else {
        (
            None,
            Some("it has not been checked out yet; it is judged once it is".to_string()),
        )
    };
    Ok(Some(PatrolDetail {
        patrol_id: p.patrol_id.clone(),
        officer_id: p.officer_id.clone(),
        area_id: p.area_id.clone(),
        day,
        check_in_ms: p.check_in_ms,
        check_out_ms: s.checked_out.then_some(p.check_out_ms),
        area: outline,
        window,
        check_in,
        check_out,
        reasons: report
            .as_ref()
            .map(|r| r.reasons.iter().map(ToString::to_string).collect())
            .unwrap_or_default(),
        report,
        not_judged,
        fixes,
    }))
}

/// "Fri, Sat 23:00–02:00 (from 06-01 to 09-30)".
fn describe_window(w: &guardian_core::patrol::WindowSpec) -> String {
    let days = if w.days.len() == 7 {
        "every day".to_string()
    } else {
        w.days
            .iter()
            .map(|d| {
                let mut c = d.chars();
                c.next()
                    .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                    .unwrap_or_default()
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let season = match (&w.from, &w.to) {
        (Some(f), Some(t)) => format!(" (from {f} to {t})"),
        _ => String::new(),
    };
    format!("{days} {}–{}{season}", w.start, w.end)
}

/// Where the handset stood at check-in and check-out, from the records as
/// received.
fn recorded_points(
    tx: &Tx<'_>,
    patrol_id: &str,
) -> Result<(Option<RecordedPoint>, Option<RecordedPoint>), BackendError> {
    let bodies = tx.query_all("SELECT body FROM records WHERE patrol_id = ?1", p![patrol_id], |r| {
        r.get::<String>(0)
    })?;
    let (mut check_in, mut check_out) = (None, None);
    for body in bodies {
        let env: RecordEnvelope =
            serde_json::from_str(&body).map_err(|e| BackendError::Corrupt(format!("stored record: {e}")))?;
        match env.body {
            RecordBody::CheckIn(b) => {
                check_in = Some(RecordedPoint {
                    time_ms: b.time_ms,
                    lat: b.lat,
                    lon: b.lon,
                    accuracy_m: b.accuracy_m,
                });
            }
            RecordBody::CheckOut(b) => {
                check_out = Some(RecordedPoint {
                    time_ms: b.time_ms,
                    lat: b.lat,
                    lon: b.lon,
                    accuracy_m: b.accuracy_m,
                });
            }
        }
    }
    Ok((check_in, check_out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tile_template_must_be_https_with_its_three_placeholders() {
        assert!(check_tile_template("https://tiles.example.org/{z}/{x}/{y}.png").is_ok());
        assert!(check_tile_template("https://t.example:8443/a/{z}/{x}/{y}?k=1").is_ok());
        for bad in [
            "http://tiles.example.org/{z}/{x}/{y}.png",
            "https://tiles.example.org/{z}/{x}.png",
            "https://tiles.example.org/{z}/{x}/{y}.png\" onload=\"x",
            "https://tiles.example.org/{z}/{x}/{y}.png; script-src *",
            "https:///{z}/{x}/{y}",
            "javascript:alert(1)//{z}{x}{y}",
        ] {
            assert!(check_tile_template(bad).is_err(), "{bad}");
        }
        assert_eq!(
            tile_origin("https://t.example:8443/a/{z}/{x}/{y}"),
            "https://t.example:8443"
        );
    }

    #[test]
    fn a_range_is_forward_and_at_most_a_year() {
        let d = |s: &str| s.parse::<NaiveDate>().expect("date");
        assert!(check_range(d("2026-07-03"), d("2026-07-03")).is_ok());
        assert!(check_range(d("2026-07-03"), d("2026-07-02")).is_err());
        assert!(check_range(d("2026-01-01"), d("2026-12-31")).is_ok());
        assert!(check_range(d("2026-01-01"), d("2027-01-01")).is_ok());
        assert!(check_range(d("2026-01-01"), d("2027-01-02")).is_err());
    }

    #[test]
    fn an_area_patrolled_compliantly_once_counts_as_compliant() {
        assert_eq!(outcome(0, 0), Outcome::NoPatrol);
        assert_eq!(outcome(2, 0), Outcome::NotCompliant);
        assert_eq!(outcome(2, 1), Outcome::CompliantPatrol);
    }
}
