//! Was a patrol compliant? Judged, as the force's dashboard judges it, on
//! arrival, departure and quality: at least 30 minutes in the area, led by a
//! warranted officer (not a PCSO), inside the assigned window.
//!
//! Pure: a patrol's facts in, its report out; and many reports in, the three
//! figures the board reports out.

use std::collections::BTreeMap;

use serde::Serialize;

use super::geofence::PreparedArea;
use super::officer::Rank;
use super::session::Policies;
use super::tally::PatrolTally;
use super::window::ThreatWindow;
use guardian_protocol::fix::{RejectReason, Verdict};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CompliancePolicy {
    /// "30 minutes is the minimum" (source, footnote 1).
    pub min_minutes: f64,
    /// "done by a warranted officer and not a PCSO (use of powers)".
    pub require_warranted: bool,
    /// Only minutes inside the assigned window count towards the minimum.
    pub require_window: bool,
    /// Minutes credited while a fix was outside the polygon but unsure
    /// (within the exit margin or its own accuracy) count. The tracker's
    /// hysteresis credits them so that noise cannot end a visit; a force
    /// that wants strict point-in-polygon minutes turns this off. Both are
    /// reported either way.
    pub count_edge: bool,
}

/// Which minutes a verdict was judged on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MinutesBasis {
    /// Minutes inside the polygon plus minutes credited at the edge.
    InsideAndEdge,
    /// Minutes inside the polygon only.
    InsideOnly,
}

impl MinutesBasis {
    pub fn as_str(self) -> &'static str {
        match self {
            MinutesBasis::InsideAndEdge => "inside_and_edge",
            MinutesBasis::InsideOnly => "inside_only",
        }
    }
}

impl Default for CompliancePolicy {
    fn default() -> Self {
        Self {
            min_minutes: 30.0,
            require_warranted: true,
            require_window: true,
            count_edge: true,
        }
    }
}

/// When the patrol should have happened.
#[derive(Debug, Clone, PartialEq)]
pub enum WindowRule {
    /// No assignment and no threat windows: any time counts.
    Any,
    /// An assignment's UTC start and end, milliseconds.
    Between { start_ms: i64, end_ms: i64 },
    /// The area's threat windows (patrols made without an assignment).
    Threat(Vec<ThreatWindow>),
}

impl WindowRule {
    /// A patrol's window: its assignment's span (UTC ms) if it had one,
    /// else the area's threat windows, else any time.
    pub fn for_patrol(assignment: Option<(i64, i64)>, windows: &[ThreatWindow]) -> Self {
        match assignment {
            Some((start_ms, end_ms)) => WindowRule::Between { start_ms, end_ms },
            None if !windows.is_empty() => WindowRule::Threat(windows.to_vec()),
            None => WindowRule::Any,
        }
    }

    pub fn contains(&self, utc_ms: i64) -> bool {
        match self {
            WindowRule::Any => true,
            WindowRule::Between { start_ms, end_ms } => (*start_ms..*end_ms).contains(&utc_ms),
            WindowRule::Threat(ws) => ws.iter().any(|w| w.contains_utc_ms(utc_ms)),
        }
    }
}

/// One stored fix of a patrol, believed or not.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrackPoint {
    pub time_ms: i64,
    pub mono_ns: i64,
    pub lat: f64,
    pub lon: f64,
    pub accuracy_m: f64,
    pub verdict: Verdict,
}

impl TrackPoint {
    pub fn of(fix: &guardian_protocol::fix::Fix, verdict: Verdict) -> Self {
        Self {
            time_ms: fix.time_ms,
            mono_ns: fix.mono_ns,
            lat: fix.lat,
            lon: fix.lon,
            accuracy_m: fix.accuracy_m,
            verdict,
        }
    }

    pub fn fix(&self) -> guardian_protocol::fix::Fix {
        guardian_protocol::fix::Fix::new(self.time_ms, self.mono_ns, self.lat, self.lon, self.accuracy_m)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum NonCompliance {
    /// The track never confirmed an arrival in the area.
    NeverArrived,
    TooShort {
        minutes: f64,
        required: f64,
    },
    /// Long enough in the area, but not enough of it inside the window.
    OutsideWindow {
        minutes_in_window: f64,
        required: f64,
    },
    NotWarranted {
        rank: Rank,
    },
}

impl std::fmt::Display for NonCompliance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NonCompliance::NeverArrived => write!(f, "never arrived in the area"),
            NonCompliance::TooShort { minutes, required } => {
                write!(f, "{minutes:.1} minutes in the area, {required:.0} required")
            }
            NonCompliance::OutsideWindow {
                minutes_in_window,
                required,
            } => write!(
                f,
                "only {minutes_in_window:.1} minutes inside the assigned window, {required:.0} required"
            ),
            NonCompliance::NotWarranted { rank } => {
                write!(f, "led by a {rank}, not a warranted officer")
            }
        }
    }
}

/// Deserialize: the backend keeps a patrol's judged figures once
/// retention has erased its fixes.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct PatrolReport {
    pub area_id: String,
    /// UTC ms of the first confirmed arrival.
    pub arrival_ms: Option<i64>,
    /// UTC ms of the final departure, or check-out if still inside then.
    pub departure_ms: Option<i64>,
    /// The minutes the verdict counts (see `minutes_basis`).
    pub minutes_in_area: f64,
    /// Of those, the minutes inside the window.
    pub minutes_in_window: f64,
    /// Believed fixes inside the polygon on both sides of the interval.
    pub minutes_inside: f64,
    /// Credited while a fix was outside the polygon but unsure.
    pub minutes_at_edge: f64,
    pub minutes_basis: MinutesBasis,
    pub distance_m: f64,
    pub fixes_total: usize,
    pub fixes_accepted: usize,
    pub fixes_rejected: BTreeMap<RejectReason, usize>,
    /// Share of believed fixes that were inside (0–1).
    pub inside_fraction: f64,
    /// Confirmed arrivals plus departures.
    pub inside_transitions: usize,
    pub rank: Rank,
    pub compliant: bool,
    pub reasons: Vec<NonCompliance>,
}

impl PatrolReport {
    pub fn outcome(&self) -> PatrolOutcome {
        PatrolOutcome {
            compliant: self.compliant,
            warranted_led: self.rank.is_warranted(),
            minutes_in_area: self.minutes_in_area,
            minutes_inside: self.minutes_inside,
            minutes_at_edge: self.minutes_at_edge,
            basis: self.minutes_basis,
        }
    }
}

pub struct PatrolFacts<'a> {
    pub area: &'a PreparedArea,
    pub rank: Rank,
    pub window: &'a WindowRule,
    /// UTC ms of check-out, if the patrol is over.
    pub checkout_ms: Option<i64>,
    /// Every stored fix of the patrol, in the order received.
    pub track: &'a [TrackPoint],
}

/// A whole stored track judged: the live tally folded over it.
pub fn assess(facts: &PatrolFacts<'_>, policies: &Policies) -> PatrolReport {
    PatrolTally::of_track(facts.area, facts.window, facts.track, policies).report(
        &facts.area.area.id,
        facts.rank,
        facts.checkout_ms,
        &policies.compliance,
    )
}

/// What the board's figures need from one patrol.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PatrolOutcome {
    pub compliant: bool,
    pub warranted_led: bool,
    pub minutes_in_area: f64,
    pub minutes_inside: f64,
    pub minutes_at_edge: f64,
    pub basis: MinutesBasis,
}

/// The figures the board reported: compliance %, % led by a Constable (a
/// warranted officer), and the average minutes of a patrol.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize)]
pub struct ComplianceSummary {
    pub patrols: usize,
    pub compliant: usize,
    pub compliance_percent: f64,
    pub constable_led_percent: f64,
    /// Average minutes counted, on `minutes_basis`.
    pub average_minutes: f64,
    pub average_minutes_inside: f64,
    pub average_minutes_at_edge: f64,
    /// What the verdicts counted; `None` when there were no patrols (or,
    /// if ever, they were judged on different bases).
    pub minutes_basis: Option<MinutesBasis>,
}

pub fn summarise(outcomes: &[PatrolOutcome]) -> ComplianceSummary {
    let n = outcomes.len();
    let pct = |k: usize| {
        if n == 0 { 0.0 } else { 100.0 * k as f64 / n as f64 }
    };
    let compliant = outcomes.iter().filter(|o| o.compliant).count();
    let led = outcomes.iter().filter(|o| o.warranted_led).count();
    let average = |f: fn(&PatrolOutcome) -> f64| {
        if n == 0 {
            0.0
        } else {
            outcomes.iter().map(f).sum::<f64>() / n as f64
        }
    };
    let basis = outcomes.first().map(|o| o.basis);
    ComplianceSummary {
        patrols: n,
        compliant,
        compliance_percent: pct(compliant),
        constable_led_percent: pct(led),
        average_minutes: average(|o| o.minutes_in_area),
        average_minutes_inside: average(|o| o.minutes_inside),
        average_minutes_at_edge: average(|o| o.minutes_at_edge),
        minutes_basis: basis.filter(|b| outcomes.iter().all(|o| o.basis == *b)),
    }
}

#[cfg(test)]
mod tests;
