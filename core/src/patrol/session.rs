//! The patrol lifecycle's rules: who may check in where, and the typed
//! errors for every illegal move. The orchestration (store, clock) is in
//! [`crate::Guardian`]; the decisions here are plain functions.

use guardian_protocol::rules::{MAX_ID_LEN, id_problem};
use guardian_protocol::time::plausible_ms;
use serde::{Deserialize, Serialize};

use super::compliance::CompliancePolicy;
use super::filter::FilterPolicy;
use super::geofence::Proximity;
use super::plan::PlanPolicy;
use super::tracker::TrackerPolicy;

/// Where a check-in is allowed: inside the area, or close enough that the
/// fix's own uncertainty could put the officer inside.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CheckInPolicy {
    /// Always allowed this far outside (pavement on the far side of a road).
    pub tolerance_m: f64,
    /// The fix's accuracy radius is added, up to this much.
    pub accuracy_credit_cap_m: f64,
    /// A fix vaguer than this cannot place anyone anywhere.
    pub max_fix_accuracy_m: f64,
    /// An assignment may be started this early.
    pub early_start_ms: i64,
}

impl Default for CheckInPolicy {
    fn default() -> Self {
        Self {
            tolerance_m: 25.0,
            accuracy_credit_cap_m: 50.0,
            max_fix_accuracy_m: 100.0,
            early_start_ms: 15 * 60_000,
        }
    }
}

impl CheckInPolicy {
    pub fn allowed_m(&self, accuracy_m: f64) -> f64 {
        self.tolerance_m + accuracy_m.min(self.accuracy_credit_cap_m)
    }

    /// Decides a check-in from where the fix stands relative to the area.
    pub fn judge(&self, area_id: &str, accuracy_m: f64, p: &Proximity) -> Result<(), PatrolError> {
        if accuracy_m > self.max_fix_accuracy_m {
            return Err(PatrolError::PoorFix {
                accuracy_m,
                max_m: self.max_fix_accuracy_m,
            });
        }
        let distance_m = p.outside_by_m();
        let allowed_m = self.allowed_m(accuracy_m);
        if distance_m > allowed_m {
            return Err(PatrolError::TooFarFromArea {
                area_id: area_id.to_string(),
                distance_m: distance_m.round(),
                allowed_m: allowed_m.round(),
            });
        }
        Ok(())
    }
}

/// Every policy the core applies, as one value with the source's defaults.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Policies {
    pub filter: FilterPolicy,
    pub tracker: TrackerPolicy,
    pub plan: PlanPolicy,
    pub check_in: CheckInPolicy,
    pub compliance: CompliancePolicy,
}

/// A patrol the force assigned: this officer, this area, this time (UTC).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignment {
    pub id: String,
    pub area_id: String,
    pub officer_id: String,
    pub start_ms: i64,
    pub end_ms: i64,
}

impl Assignment {
    /// What an assignment must be, whether the shell adds it (demo builds)
    /// or the force sends it: a real id, a window that ends after it
    /// starts, and an area the handset knows.
    pub fn check(&self, known_area: impl Fn(&str) -> bool) -> Result<(), PatrolError> {
        if let Some(p) = id_problem(&self.id, MAX_ID_LEN) {
            return Err(PatrolError::InvalidAssignment(format!("id {p}")));
        }
        if !plausible_ms(self.start_ms) || !plausible_ms(self.end_ms) {
            return Err(PatrolError::InvalidAssignment("its times are not plausible".into()));
        }
        if self.end_ms <= self.start_ms {
            return Err(PatrolError::InvalidAssignment("ends before it starts".into()));
        }
        if !known_area(&self.area_id) {
            return Err(PatrolError::UnknownArea {
                area_id: self.area_id.clone(),
            });
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PatrolError {
    #[error("no officer is signed in on this handset")]
    NoOfficer,
    #[error("officer profile is invalid: {0}")]
    InvalidOfficer(String),
    #[error("unknown area {area_id:?}")]
    UnknownArea { area_id: String },
    #[error("already checked in to {area_id} (patrol {patrol_id}); check out first")]
    AlreadyOnPatrol { patrol_id: String, area_id: String },
    #[error("not checked in to any patrol")]
    NoActivePatrol,
    #[error("location too vague to check in or out ({accuracy_m:.0} m, at most {max_m:.0} m)")]
    PoorFix { accuracy_m: f64, max_m: f64 },
    #[error("{distance_m:.0} m from area {area_id}; check-in is allowed within {allowed_m:.0} m")]
    TooFarFromArea {
        area_id: String,
        distance_m: f64,
        allowed_m: f64,
    },
    #[error("check-out is earlier than check-in")]
    CheckOutBeforeCheckIn,
    #[error("unknown patrol {patrol_id:?}")]
    UnknownPatrol { patrol_id: String },
    #[error("assignment is invalid: {0}")]
    InvalidAssignment(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(inside: bool, boundary_m: f64) -> Proximity {
        Proximity {
            area: 0,
            inside,
            boundary_m,
        }
    }

    #[test]
    fn inside_is_always_allowed() {
        assert_eq!(CheckInPolicy::default().judge("a", 30.0, &at(true, 500.0)), Ok(()));
    }

    #[test]
    fn the_tolerance_grows_with_accuracy_up_to_a_cap() {
        let p = CheckInPolicy::default();
        assert_eq!(p.judge("a", 5.0, &at(false, 29.0)), Ok(()));
        assert!(p.judge("a", 5.0, &at(false, 31.0)).is_err());
        assert_eq!(p.judge("a", 40.0, &at(false, 64.0)), Ok(()));
        // 90 m accuracy gives only 50 m of credit.
        assert_eq!(
            p.judge("a", 90.0, &at(false, 80.0)),
            Err(PatrolError::TooFarFromArea {
                area_id: "a".into(),
                distance_m: 80.0,
                allowed_m: 75.0
            })
        );
    }

    fn assignment() -> Assignment {
        Assignment {
            id: "as-1".into(),
            area_id: "ramp".into(),
            officer_id: "pc-1".into(),
            start_ms: 1_000,
            end_ms: 2_000,
        }
    }

    #[test]
    fn an_assignment_needs_an_id_a_window_and_a_known_area() {
        let known = |id: &str| id == "ramp";
        assert_eq!(assignment().check(known), Ok(()));
        for bad in [
            Assignment {
                id: String::new(),
                ..assignment()
            },
            Assignment {
                id: "x".repeat(65),
                ..assignment()
            },
            Assignment {
                end_ms: 1_000,
                ..assignment()
            },
            Assignment {
                start_ms: i64::MIN,
                ..assignment()
            },
        ] {
            assert!(
                matches!(bad.check(known), Err(PatrolError::InvalidAssignment(_))),
                "{bad:?}"
            );
        }
        let elsewhere = Assignment {
            area_id: "nowhere".into(),
            ..assignment()
        };
        assert!(matches!(elsewhere.check(known), Err(PatrolError::UnknownArea { .. })));
    }

    #[test]
    fn a_vague_fix_cannot_check_in_even_inside() {
        assert!(matches!(
            CheckInPolicy::default().judge("a", 150.0, &at(true, 10.0)),
            Err(PatrolError::PoorFix { .. })
        ));
    }
}
