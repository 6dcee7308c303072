//! What the review hands the HTTP layer: plain structs, rendered there as
//! HTML or JSON.

use chrono::NaiveDate;
use guardian_core::patrol::compliance::{ComplianceSummary, PatrolReport};
use serde::Serialize;

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
