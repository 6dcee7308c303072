//! Was a patrol compliant? Judged, as the force's dashboard judges it, on
//! arrival, departure and quality: at least 30 minutes in the area, led by a
//! warranted officer (not a PCSO), inside the assigned window.
//!
//! Pure: a patrol's facts in, its report out; and many reports in, the three
//! figures the board reports out.

use std::collections::BTreeMap;

use serde::Serialize;

use super::geofence::PreparedArea;
use super::geometry::haversine_m;
use super::officer::Rank;
use super::tracker::{Presence, Sample, TrackerPolicy, inside_ms, label_track};
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
}

impl Default for CompliancePolicy {
    fn default() -> Self {
        Self {
            min_minutes: 30.0,
            require_warranted: true,
            require_window: true,
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
    pub fn fix(&self) -> guardian_protocol::fix::Fix {
        guardian_protocol::fix::Fix::new(self.time_ms, self.mono_ns, self.lat, self.lon, self.accuracy_m)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
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

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PatrolReport {
    pub area_id: String,
    /// UTC ms of the first confirmed arrival.
    pub arrival_ms: Option<i64>,
    /// UTC ms of the final departure, or check-out if still inside then.
    pub departure_ms: Option<i64>,
    pub minutes_in_area: f64,
    pub minutes_in_window: f64,
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

pub fn assess(facts: &PatrolFacts<'_>, tracker: &TrackerPolicy, policy: &CompliancePolicy) -> PatrolReport {
    let mut rejected = BTreeMap::new();
    let believed: Vec<&TrackPoint> = facts
        .track
        .iter()
        .filter(|p| match p.verdict {
            Verdict::Accepted => true,
            Verdict::Rejected(r) => {
                *rejected.entry(r).or_insert(0) += 1;
                false
            }
        })
        .collect();
    let samples: Vec<Sample> = believed
        .iter()
        .map(|p| {
            let prox = facts.area.locate(0, p.lat, p.lon);
            Sample {
                time_ms: p.time_ms,
                mono_ns: p.mono_ns,
                accuracy_m: p.accuracy_m,
                inside: prox.inside,
                boundary_m: prox.boundary_m,
            }
        })
        .collect();
    let labelled = label_track(tracker, &samples);
    let ms_in_area = inside_ms(tracker, &samples, &labelled.labels, |_| true);
    let ms_in_window = inside_ms(tracker, &samples, &labelled.labels, |t| facts.window.contains(t));
    let minutes_in_area = ms_in_area as f64 / 60_000.0;
    let minutes_in_window = ms_in_window as f64 / 60_000.0;

    let arrival_ms = labelled
        .transitions
        .iter()
        .find(|t| t.to == Presence::Inside)
        .map(|t| t.time_ms);
    let departure_ms = match labelled.transitions.last() {
        Some(t) if t.to == Presence::Outside => Some(t.time_ms),
        Some(_) => facts.checkout_ms,
        None => None,
    };
    let distance_m = believed
        .windows(2)
        .map(|w| haversine_m(w[0].lat, w[0].lon, w[1].lat, w[1].lon))
        .sum();
    let inside_count = labelled.labels.iter().filter(|l| **l == Presence::Inside).count();
    let inside_fraction = if believed.is_empty() {
        0.0
    } else {
        inside_count as f64 / believed.len() as f64
    };

    let mut reasons = Vec::new();
    if arrival_ms.is_none() {
        reasons.push(NonCompliance::NeverArrived);
    } else if minutes_in_area < policy.min_minutes {
        reasons.push(NonCompliance::TooShort {
            minutes: round1(minutes_in_area),
            required: policy.min_minutes,
        });
    } else if policy.require_window && minutes_in_window < policy.min_minutes {
        reasons.push(NonCompliance::OutsideWindow {
            minutes_in_window: round1(minutes_in_window),
            required: policy.min_minutes,
        });
    }
    if policy.require_warranted && !facts.rank.is_warranted() {
        reasons.push(NonCompliance::NotWarranted { rank: facts.rank });
    }
    PatrolReport {
        area_id: facts.area.area.id.clone(),
        arrival_ms,
        departure_ms,
        minutes_in_area,
        minutes_in_window,
        distance_m,
        fixes_total: facts.track.len(),
        fixes_accepted: believed.len(),
        fixes_rejected: rejected,
        inside_fraction,
        inside_transitions: labelled.transitions.len(),
        rank: facts.rank,
        compliant: reasons.is_empty(),
        reasons,
    }
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// What the board's figures need from one patrol.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PatrolOutcome {
    pub compliant: bool,
    pub warranted_led: bool,
    pub minutes_in_area: f64,
}

/// The figures the board reported: compliance %, % led by a Constable (a
/// warranted officer), and the average minutes of a patrol.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize)]
pub struct ComplianceSummary {
    pub patrols: usize,
    pub compliant: usize,
    pub compliance_percent: f64,
    pub constable_led_percent: f64,
    pub average_minutes: f64,
}

pub fn summarise(outcomes: &[PatrolOutcome]) -> ComplianceSummary {
    let n = outcomes.len();
    let pct = |k: usize| {
        if n == 0 { 0.0 } else { 100.0 * k as f64 / n as f64 }
    };
    let compliant = outcomes.iter().filter(|o| o.compliant).count();
    let led = outcomes.iter().filter(|o| o.warranted_led).count();
    let total_minutes: f64 = outcomes.iter().map(|o| o.minutes_in_area).sum();
    ComplianceSummary {
        patrols: n,
        compliant,
        compliance_percent: pct(compliant),
        constable_led_percent: pct(led),
        average_minutes: if n == 0 { 0.0 } else { total_minutes / n as f64 },
    }
}

#[cfg(test)]
mod tests;
