//! Plain data the shells see. Where a core type is already plain data of
//! FFI types, it crosses as itself: `#[uniffi::remote]` mirrors its shape
//! (checked at compile time against the real type), so there is no copy
//! and no conversion to drift. Only where the shells need another shape (a
//! `usize` widened to `u32`, a map as a list) is there a record and a
//! conversion here. No rules: every value is copied, renamed or widened.
//!
//! Times are UTC milliseconds since the epoch (`i64`), monotonic times
//! nanoseconds since boot; counts are `u32`.

use std::collections::BTreeMap;

use guardian_core::patrol as core;

pub use guardian_core::patrol::{
    Assignment, Fix, GeofenceEvent, GeofenceKind, MinutesBasis, NonCompliance, Officer, PlanReason, Precision, Rank,
    RejectReason, SamplingPlan,
};

pub(crate) fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// One location fix, as the OS gives it.
#[uniffi::remote(Record)]
pub struct Fix {
    /// Wall-clock time of the fix, UTC ms (Android `Location.getTime`).
    pub time_ms: i64,
    /// Monotonic time since boot, ns (`elapsedRealtimeNanos`).
    pub mono_ns: i64,
    pub lat: f64,
    pub lon: f64,
    /// Horizontal accuracy, metres (68% radius).
    pub accuracy_m: f64,
    #[uniffi(default = None)]
    pub altitude_m: Option<f64>,
    #[uniffi(default = None)]
    pub speed_mps: Option<f64>,
    #[uniffi(default = None)]
    pub bearing_deg: Option<f64>,
}

#[uniffi::remote(Enum)]
pub enum Rank {
    Constable,
    Sergeant,
    Inspector,
    ChiefInspector,
    Superintendent,
    ChiefSuperintendent,
    SpecialConstable,
    /// Police Community Support Officer: no warrant.
    Pcso,
}

#[uniffi::remote(Record)]
pub struct Officer {
    pub officer_id: String,
    pub display_name: String,
    pub rank: Rank,
}

/// A patrol the force assigned: this officer, this area, this time (UTC).
#[uniffi::remote(Record)]
pub struct Assignment {
    pub id: String,
    pub area_id: String,
    pub officer_id: String,
    pub start_ms: i64,
    pub end_ms: i64,
}

/// A threat window as written in the area data (Europe/London wall clock).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ThreatWindow {
    /// "mon" … "sun".
    pub days: Vec<String>,
    /// "HH:MM"; an end at or before the start means the next day.
    pub start: String,
    pub end: String,
    /// Season limits "MM-DD", both or neither.
    pub season_from: Option<String>,
    pub season_to: Option<String>,
}

/// A TGP area, with its outline for a map.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct AreaInfo {
    pub id: String,
    pub name: String,
    /// Local policing area, e.g. "Birmingham".
    pub lpa: String,
    pub area_m2: f64,
    /// A GeoJSON MultiPolygon geometry object (WGS84, [lon, lat]).
    pub geometry_geojson: String,
    pub windows: Vec<ThreatWindow>,
}

impl From<core::area::AreaInfo> for AreaInfo {
    fn from(a: core::area::AreaInfo) -> Self {
        AreaInfo {
            id: a.id,
            name: a.name,
            lpa: a.lpa,
            area_m2: a.area_m2,
            geometry_geojson: a.geometry_geojson,
            // `from`/`to` are keywords in the shells' languages.
            windows: a
                .windows
                .into_iter()
                .map(|s| ThreatWindow {
                    days: s.days,
                    start: s.start,
                    end: s.end,
                    season_from: s.from,
                    season_to: s.to,
                })
                .collect(),
        }
    }
}

/// Why a valid fix was not believed (it is kept, and counted in reports).
#[uniffi::remote(Enum)]
pub enum RejectReason {
    PoorAccuracy,
    ImpossibleSpeed,
    DuplicateTime,
    TimeBackwards,
    ClockJump,
    ImplausibleTime,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct RejectCount {
    pub reason: RejectReason,
    pub count: u32,
}

fn reject_counts(m: BTreeMap<core::RejectReason, usize>) -> Vec<RejectCount> {
    m.into_iter()
        .map(|(reason, n)| RejectCount {
            reason,
            count: count(n),
        })
        .collect()
}

#[uniffi::remote(Enum)]
pub enum GeofenceKind {
    Arrived,
    Departed,
}

/// The geofence confirmed an arrival in or a departure from an area,
/// dated to the first fix of the new presence.
#[uniffi::remote(Record)]
pub struct GeofenceEvent {
    pub area_id: String,
    pub kind: GeofenceKind,
    pub time_ms: i64,
    pub mono_ns: i64,
}

/// What happened to one fix: stored either way; believed unless `rejected`.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct FixOutcome {
    pub accepted: bool,
    pub rejected: Option<RejectReason>,
    pub events: Vec<GeofenceEvent>,
}

impl From<guardian_core::FixOutcome> for FixOutcome {
    fn from(o: guardian_core::FixOutcome) -> Self {
        let rejected = match o.verdict {
            core::Verdict::Accepted => None,
            core::Verdict::Rejected(r) => Some(r),
        };
        FixOutcome {
            accepted: rejected.is_none(),
            rejected,
            events: o.events,
        }
    }
}

/// A fix in a batch whose numbers were impossible: not stored.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct InvalidFix {
    /// Position in the batch.
    pub index: u32,
    pub message: String,
}

/// What happened to a batch, committed in one transaction.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct BatchOutcome {
    pub stored: u32,
    pub accepted: u32,
    pub rejected: Vec<RejectCount>,
    pub invalid: Vec<InvalidFix>,
    pub events: Vec<GeofenceEvent>,
}

impl From<guardian_core::BatchOutcome> for BatchOutcome {
    fn from(o: guardian_core::BatchOutcome) -> Self {
        BatchOutcome {
            stored: count(o.stored),
            accepted: count(o.accepted),
            rejected: reject_counts(o.rejected),
            invalid: o
                .invalid
                .into_iter()
                .map(|(i, e)| InvalidFix {
                    index: count(i),
                    message: e.to_string(),
                })
                .collect(),
            events: o.events,
        }
    }
}

/// How precise a fix the OS should spend energy on.
#[uniffi::remote(Enum)]
pub enum Precision {
    /// Satellite fixes (Android `PRIORITY_HIGH_ACCURACY`, iOS `kCLLocationAccuracyBest`).
    High,
    /// Network-grade, ~100 m (Android `PRIORITY_BALANCED_POWER_ACCURACY`,
    /// iOS `kCLLocationAccuracyHundredMeters`).
    Balanced,
}

/// Why the sampling plan is what it is (for a debug screen and logs).
#[uniffi::remote(Enum)]
pub enum PlanReason {
    NoFixYet,
    AfterGap,
    Deciding,
    NearEdge,
    Fast,
    SteadyInside,
    Approaching,
    Travelling,
    FarAway,
}

/// What the shell asks the OS for now. Obey it; ask again on
/// `PlanChanged` and when an asked-for fix is overdue.
#[uniffi::remote(Record)]
pub struct SamplingPlan {
    /// Ask for a fix this often.
    pub interval_ms: i64,
    pub precision: Precision,
    /// Deliver a fix only after moving this far (0: every interval).
    pub distance_filter_m: f64,
    pub reason: PlanReason,
    /// No fix this long after the last: ask for the plan again. None while
    /// a distance filter makes silence expected.
    pub overdue_after_ms: Option<i64>,
}

/// Which minutes a verdict was judged on.
#[uniffi::remote(Enum)]
pub enum MinutesBasis {
    /// Inside the polygon plus credited at the edge.
    InsideAndEdge,
    /// Inside the polygon only.
    InsideOnly,
}

/// Why a patrol does not comply.
#[uniffi::remote(Enum)]
pub enum NonCompliance {
    NeverArrived,
    TooShort { minutes: f64, required: f64 },
    OutsideWindow { minutes_in_window: f64, required: f64 },
    NotWarranted { rank: Rank },
}

/// A patrol judged as the force's dashboard judges it.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct PatrolReport {
    pub area_id: String,
    pub arrival_ms: Option<i64>,
    pub departure_ms: Option<i64>,
    /// The minutes the verdict counts (see `minutes_basis`).
    pub minutes_in_area: f64,
    pub minutes_in_window: f64,
    /// Believed fixes inside the polygon on both sides of the interval.
    pub minutes_inside: f64,
    /// Credited while a fix was outside the polygon but unsure.
    pub minutes_at_edge: f64,
    pub minutes_basis: MinutesBasis,
    pub distance_m: f64,
    pub fixes_total: u32,
    pub fixes_accepted: u32,
    pub fixes_rejected: Vec<RejectCount>,
    /// Share of believed fixes that were inside (0–1).
    pub inside_fraction: f64,
    pub inside_transitions: u32,
    pub rank: Rank,
    pub compliant: bool,
    pub reasons: Vec<NonCompliance>,
    /// `reasons`, as sentences for the officer.
    pub reason_texts: Vec<String>,
}

impl From<core::PatrolReport> for PatrolReport {
    fn from(r: core::PatrolReport) -> Self {
        PatrolReport {
            reason_texts: r.reasons.iter().map(ToString::to_string).collect(),
            reasons: r.reasons,
            area_id: r.area_id,
            arrival_ms: r.arrival_ms,
            departure_ms: r.departure_ms,
            minutes_in_area: r.minutes_in_area,
            minutes_in_window: r.minutes_in_window,
            minutes_inside: r.minutes_inside,
            minutes_at_edge: r.minutes_at_edge,
            minutes_basis: r.minutes_basis,
            distance_m: r.distance_m,
            fixes_total: count(r.fixes_total),
            fixes_accepted: count(r.fixes_accepted),
            fixes_rejected: reject_counts(r.fixes_rejected),
            inside_fraction: r.inside_fraction,
            inside_transitions: count(r.inside_transitions),
            rank: r.rank,
            compliant: r.compliant,
        }
    }
}

/// The open patrol, as the patrol screen shows it.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct PatrolStatus {
    pub patrol_id: String,
    pub area_id: String,
    pub area_name: String,
    pub checked_in_ms: i64,
    pub in_area_now: bool,
    pub minutes_in_area: f64,
    /// Minutes still needed inside the window for a compliant patrol.
    pub minutes_still_needed: f64,
    pub report: PatrolReport,
}

impl From<guardian_core::PatrolStatus> for PatrolStatus {
    fn from(s: guardian_core::PatrolStatus) -> Self {
        PatrolStatus {
            patrol_id: s.patrol_id,
            area_id: s.area_id,
            area_name: s.area_name,
            checked_in_ms: s.checked_in_ms,
            in_area_now: s.in_area_now,
            minutes_in_area: s.minutes_in_area,
            minutes_still_needed: s.minutes_still_needed,
            report: s.report.into(),
        }
    }
}

/// The board's three figures over the finished patrols on this handset.
#[derive(Debug, Clone, Copy, PartialEq, uniffi::Record)]
pub struct ComplianceSummary {
    pub patrols: u32,
    pub compliant: u32,
    pub compliance_percent: f64,
    pub constable_led_percent: f64,
    pub average_minutes: f64,
    pub average_minutes_inside: f64,
    pub average_minutes_at_edge: f64,
    /// What the verdicts counted; `None` with no patrols.
    pub minutes_basis: Option<MinutesBasis>,
}

impl From<core::ComplianceSummary> for ComplianceSummary {
    fn from(s: core::ComplianceSummary) -> Self {
        ComplianceSummary {
            patrols: count(s.patrols),
            compliant: count(s.compliant),
            compliance_percent: s.compliance_percent,
            constable_led_percent: s.constable_led_percent,
            average_minutes: s.average_minutes,
            average_minutes_inside: s.average_minutes_inside,
            average_minutes_at_edge: s.average_minutes_at_edge,
            minutes_basis: s.minutes_basis,
        }
    }
}

// ---- sync ----

/// What one sync pass did.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PassReport {
    pub sent: u32,
    pub acked: u32,
    /// Acked as already stored: an earlier attempt had arrived.
    pub duplicates: u32,
    pub rejected: u32,
    pub bytes_sent: u64,
    pub track_bytes_sent: u64,
    pub fixes_sent: u32,
    pub pulled: bool,
    /// The force erased this handset during the pass.
    pub wiped: bool,
    /// The practice library update applied in this pass, if it changed.
    pub library: Option<crate::library::ApplyOutcome>,
    /// The officer's bookmarks and recent reads came from another handset.
    pub library_prefs_restored: bool,
}

impl From<guardian_core::sync::PassReport> for PassReport {
    fn from(r: guardian_core::sync::PassReport) -> Self {
        PassReport {
            sent: count(r.sent),
            acked: count(r.acked),
            duplicates: count(r.duplicates),
            rejected: count(r.rejected),
            bytes_sent: r.bytes_sent as u64,
            track_bytes_sent: r.track_bytes_sent as u64,
            fixes_sent: count(r.fixes_sent),
            pulled: r.pulled,
            wiped: r.wiped,
            library: r.library.map(Into::into),
            library_prefs_restored: r.library_prefs_restored,
        }
    }
}

/// A record the force refused for good: kept on the handset and shown.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct RejectedRecord {
    pub id: String,
    /// "check_in", "check_out", "track_chunk", "referral", "library_prefs".
    pub kind: String,
    pub patrol_id: Option<String>,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct SyncStatus {
    pub running: bool,
    pub online: bool,
    pub pending: u32,
    pub pending_bytes: u64,
    pub acked: u32,
    pub rejected: u32,
    pub last_success_ms: Option<i64>,
    pub last_error: Option<String>,
    pub rejected_records: Vec<RejectedRecord>,
}

impl From<guardian_core::sync::SyncStatus> for SyncStatus {
    fn from(s: guardian_core::sync::SyncStatus) -> Self {
        SyncStatus {
            running: s.running,
            online: s.online,
            pending: count(s.pending),
            pending_bytes: s.pending_bytes as u64,
            acked: count(s.acked),
            rejected: count(s.rejected),
            last_success_ms: s.last_success_ms,
            last_error: s.last_error,
            rejected_records: s
                .rejected_records
                .into_iter()
                .map(|r| RejectedRecord {
                    id: r.id,
                    kind: r.kind.as_str().to_string(),
                    patrol_id: r.patrol_id,
                    reason: r.reason,
                })
                .collect(),
        }
    }
}

// Referral records are in `referral.rs`, library records in `library.rs`.
