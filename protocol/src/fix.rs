//! A location fix as the phone's OS gives it, and the checks that make it a
//! valid one. Validity is about the numbers themselves; whether a valid fix
//! is believable (accuracy, speed, clock) is the filter's business.

use serde::{Deserialize, Serialize};

/// No location service reports a fix this vague (100 km) as a position.
pub const MAX_ACCURACY_M: f64 = 100_000.0;
/// Twenty years since boot: no phone stays up longer.
pub const MAX_MONO_NS: i64 = 20 * 366 * 86_400 * 1_000_000_000;
/// Faster than any aircraft an officer is on (m/s).
pub const MAX_SPEED_MPS: f64 = 1_000.0;

/// One fix from the OS location service.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Fix {
    /// The fix's wall-clock time, UTC milliseconds (Android `Location.getTime`).
    pub time_ms: i64,
    /// Monotonic time since boot, nanoseconds (`elapsedRealtimeNanos`); does
    /// not jump when the user or the network changes the wall clock.
    pub mono_ns: i64,
    pub lat: f64,
    pub lon: f64,
    /// Horizontal accuracy, metres (68% radius).
    pub accuracy_m: f64,
    pub altitude_m: Option<f64>,
    pub speed_mps: Option<f64>,
    pub bearing_deg: Option<f64>,
}

impl Fix {
    /// A fix with only the fields every OS gives.
    pub fn new(time_ms: i64, mono_ns: i64, lat: f64, lon: f64, accuracy_m: f64) -> Self {
        Self {
            time_ms,
            mono_ns,
            lat,
            lon,
            accuracy_m,
            altitude_m: None,
            speed_mps: None,
            bearing_deg: None,
        }
    }

    /// The fix as the store keeps it: 1e-7° (1.1 cm), 0.1 m accuracy and
    /// altitude, 0.01 m/s, 0.1°, whole milliseconds of monotonic time. Far
    /// finer than GPS can resolve, and exactly what the wire format carries.
    pub fn quantised(&self) -> Fix {
        let q = |x: f64, per_unit: f64| (x * per_unit).round() / per_unit;
        Fix {
            time_ms: self.time_ms,
            mono_ns: self.mono_ns / 1_000_000 * 1_000_000,
            lat: q(self.lat, 1e7),
            lon: q(self.lon, 1e7),
            accuracy_m: q(self.accuracy_m, 10.0),
            altitude_m: self.altitude_m.map(|a| q(a, 10.0)),
            speed_mps: self.speed_mps.map(|v| q(v, 100.0)),
            bearing_deg: self.bearing_deg.map(|b| q(b, 10.0)),
        }
    }

    /// The numbers must describe a place and a time: finite, in range, and
    /// (for the times) inside [`crate::time::plausible_ms`]. Whether a valid
    /// fix is believable is the filter's business.
    pub fn validate(&self) -> Result<(), FixError> {
        if !crate::time::plausible_ms(self.time_ms) {
            return Err(FixError::OutOfRange {
                field: "time",
                value: self.time_ms as f64,
            });
        }
        check_finite("latitude", self.lat)?;
        check_finite("longitude", self.lon)?;
        check_finite("accuracy", self.accuracy_m)?;
        if !(-90.0..=90.0).contains(&self.lat) {
            return Err(FixError::OutOfRange {
                field: "latitude",
                value: self.lat,
            });
        }
        if !(-180.0..=180.0).contains(&self.lon) {
            return Err(FixError::OutOfRange {
                field: "longitude",
                value: self.lon,
            });
        }
        if !(0.0..=MAX_ACCURACY_M).contains(&self.accuracy_m) {
            return Err(FixError::OutOfRange {
                field: "accuracy",
                value: self.accuracy_m,
            });
        }
        if self.mono_ns < 0 {
            return Err(FixError::NegativeMonotonic(self.mono_ns));
        }
        if self.mono_ns > MAX_MONO_NS {
            return Err(FixError::OutOfRange {
                field: "monotonic time",
                value: self.mono_ns as f64,
            });
        }
        if let Some(alt) = self.altitude_m {
            check_finite("altitude", alt)?;
            if !(-1_000.0..=20_000.0).contains(&alt) {
                return Err(FixError::OutOfRange {
                    field: "altitude",
                    value: alt,
                });
            }
        }
        if let Some(speed) = self.speed_mps {
            check_finite("speed", speed)?;
            if !(0.0..=MAX_SPEED_MPS).contains(&speed) {
                return Err(FixError::OutOfRange {
                    field: "speed",
                    value: speed,
                });
            }
        }
        if let Some(bearing) = self.bearing_deg {
            check_finite("bearing", bearing)?;
            if !(0.0..=360.0).contains(&bearing) {
                return Err(FixError::OutOfRange {
                    field: "bearing",
                    value: bearing,
                });
            }
        }
        Ok(())
    }
}

fn check_finite(field: &'static str, value: f64) -> Result<(), FixError> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(FixError::NotFinite { field })
    }
}

/// A fix whose numbers cannot describe a place on Earth. Never stored.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FixError {
    #[error("fix {field} is not a number")]
    NotFinite { field: &'static str },
    #[error("fix {field} {value} is out of range")]
    OutOfRange { field: &'static str, value: f64 },
    #[error("fix monotonic time {0} is negative")]
    NegativeMonotonic(i64),
}

/// Why a valid fix was not believed. Kept with the fix, counted in reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[serde(try_from = "String")]
pub enum RejectReason {
    /// Accuracy radius larger than the policy allows.
    PoorAccuracy,
    /// Reaching it from the last believed fix needs an impossible speed on foot.
    ImpossibleSpeed,
    /// Same time as the previous fix (a logger repeating whole seconds).
    DuplicateTime,
    /// Earlier than the previous fix.
    TimeBackwards,
    /// The wall clock moved by a different amount than the monotonic clock.
    ClockJump,
    /// A wall-clock time no working device could have (e.g. 1901).
    ImplausibleTime,
}

impl RejectReason {
    pub const ALL: [RejectReason; 6] = [
        RejectReason::PoorAccuracy,
        RejectReason::ImpossibleSpeed,
        RejectReason::DuplicateTime,
        RejectReason::TimeBackwards,
        RejectReason::ClockJump,
        RejectReason::ImplausibleTime,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::PoorAccuracy => "poor_accuracy",
            RejectReason::ImpossibleSpeed => "impossible_speed",
            RejectReason::DuplicateTime => "duplicate_time",
            RejectReason::TimeBackwards => "time_backwards",
            RejectReason::ClockJump => "clock_jump",
            RejectReason::ImplausibleTime => "implausible_time",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

crate::rules::names_only!(RejectReason);

/// What the filter decided about a valid fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Accepted,
    Rejected(RejectReason),
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Accepted => "accepted",
            Verdict::Rejected(r) => r.as_str(),
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        if s == "accepted" {
            Some(Verdict::Accepted)
        } else {
            RejectReason::parse(s).map(Verdict::Rejected)
        }
    }

    pub fn is_accepted(self) -> bool {
        self == Verdict::Accepted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok() -> Fix {
        Fix::new(1_700_000_000_000, 5_000_000_000, 52.4785, -1.8985, 8.0)
    }

    #[test]
    fn a_normal_fix_is_valid() {
        assert_eq!(ok().validate(), Ok(()));
    }

    #[test]
    fn non_finite_numbers_are_invalid_and_named() {
        for (field, fix) in [
            ("latitude", Fix { lat: f64::NAN, ..ok() }),
            (
                "longitude",
                Fix {
                    lon: f64::INFINITY,
                    ..ok()
                },
            ),
            (
                "accuracy",
                Fix {
                    accuracy_m: f64::NAN,
                    ..ok()
                },
            ),
            (
                "altitude",
                Fix {
                    altitude_m: Some(f64::NAN),
                    ..ok()
                },
            ),
            (
                "speed",
                Fix {
                    speed_mps: Some(f64::NEG_INFINITY),
                    ..ok()
                },
            ),
            (
                "bearing",
                Fix {
                    bearing_deg: Some(f64::NAN),
                    ..ok()
                },
            ),
        ] {
            assert_eq!(fix.validate(), Err(FixError::NotFinite { field }));
        }
    }

    #[test]
    fn out_of_range_numbers_are_invalid() {
        for fix in [
            Fix { lat: 90.0001, ..ok() },
            Fix { lat: -91.0, ..ok() },
            Fix { lon: 180.5, ..ok() },
            Fix {
                accuracy_m: -1.0,
                ..ok()
            },
            Fix {
                speed_mps: Some(-0.1),
                ..ok()
            },
            Fix {
                bearing_deg: Some(361.0),
                ..ok()
            },
            Fix {
                altitude_m: Some(1e7),
                ..ok()
            },
            Fix {
                accuracy_m: 1e9,
                ..ok()
            },
            Fix {
                speed_mps: Some(5_000.0),
                ..ok()
            },
            Fix {
                time_ms: -8_330_000_000_000_000,
                ..ok()
            },
            Fix {
                time_ms: i64::MAX,
                ..ok()
            },
            Fix {
                mono_ns: i64::MAX,
                ..ok()
            },
        ] {
            assert!(matches!(fix.validate(), Err(FixError::OutOfRange { .. })), "{fix:?}");
        }
        assert_eq!(
            Fix { mono_ns: -1, ..ok() }.validate(),
            Err(FixError::NegativeMonotonic(-1))
        );
    }

    #[test]
    fn verdicts_round_trip_through_their_stored_names() {
        for r in RejectReason::ALL {
            assert_eq!(
                Verdict::parse(Verdict::Rejected(r).as_str()),
                Some(Verdict::Rejected(r))
            );
        }
        assert_eq!(Verdict::parse("accepted"), Some(Verdict::Accepted));
        assert_eq!(Verdict::parse("bogus"), None);
    }
}
