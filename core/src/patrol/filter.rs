//! The fix filter: which valid fixes to believe. GPS lies (multipath in a
//! city centre, a logger repeating whole seconds, a clock reset to 1901), and
//! every minute in an area must be honest, so each fix is judged against the
//! one before it and kept with the verdict either way.
//!
//! Pure: plain values in, a verdict out, no clock read and no I/O.

use super::geometry::haversine_m;
use guardian_protocol::fix::{Fix, RejectReason, Verdict};

/// The filter's thresholds, as one value with defaults.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FilterPolicy {
    /// Fixes with a larger accuracy radius prove nothing at hotspot scale.
    pub max_accuracy_m: f64,
    /// Faster than a sprinting officer; implied speeds above it are spikes.
    pub max_speed_mps: f64,
    /// Wall and monotonic clocks may disagree by this much between fixes
    /// before we call it a clock jump…
    pub max_clock_skew_ms: i64,
    /// …or by this fraction of the elapsed time, whichever is larger (cheap
    /// phone clocks drift).
    pub max_clock_drift: f64,
    /// No working handset reports a fix before this (UTC ms, 2000-01-01):
    /// earlier times are clock faults such as a 1901 epoch underflow, a
    /// 1970 reset or a GPS week-number rollover.
    pub earliest_plausible_ms: i64,
    /// Nor more than this far ahead of the device's own clock.
    pub max_future_ms: i64,
    /// After this many consecutive speed rejections that agree with each
    /// other, the filter trusts them and re-anchors: the old anchor was the
    /// outlier, or the officer really did get in a car.
    pub reanchor_after: u32,
}

impl Default for FilterPolicy {
    fn default() -> Self {
        Self {
            max_accuracy_m: 50.0,
            max_speed_mps: 8.0,
            max_clock_skew_ms: 2_000,
            max_clock_drift: 0.01,
            earliest_plausible_ms: 946_684_800_000,
            max_future_ms: 24 * 3_600_000,
            reanchor_after: 3,
        }
    }
}

/// The little the filter remembers of a fix.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Seen {
    pub time_ms: i64,
    pub mono_ns: i64,
    pub lat: f64,
    pub lon: f64,
    pub accuracy_m: f64,
}

impl From<&Fix> for Seen {
    fn from(f: &Fix) -> Self {
        Self {
            time_ms: f.time_ms,
            mono_ns: f.mono_ns,
            lat: f.lat,
            lon: f.lon,
            accuracy_m: f.accuracy_m,
        }
    }
}

#[derive(Debug, Clone)]
pub struct FixFilter {
    policy: FilterPolicy,
    /// The latest fix in time order, believed or not: the clock checks
    /// compare against it.
    last_seen: Option<Seen>,
    /// The latest believed fix: the speed check compares against it.
    anchor: Option<Seen>,
    speed_streak: u32,
    last_speed_reject: Option<Seen>,
}

impl FixFilter {
    pub fn new(policy: FilterPolicy) -> Self {
        Self::resume(policy, None, None)
    }

    /// Picks up where a previous run stopped (from the stored track).
    pub fn resume(policy: FilterPolicy, last_seen: Option<Seen>, anchor: Option<Seen>) -> Self {
        Self {
            policy,
            last_seen,
            anchor,
            speed_streak: 0,
            last_speed_reject: None,
        }
    }

    pub fn policy(&self) -> &FilterPolicy {
        &self.policy
    }

    /// Judges a fix that has already passed [`Fix::validate`]. `now_ms` is the
    /// device's clock, to catch fixes stamped in the future.
    pub fn assess(&mut self, fix: &Fix, now_ms: i64) -> Verdict {
        let p = self.policy;
        if fix.time_ms < p.earliest_plausible_ms || fix.time_ms > now_ms.saturating_add(p.max_future_ms) {
            return Verdict::Rejected(RejectReason::ImplausibleTime);
        }
        let seen = Seen::from(fix);
        if let Some(last) = self.last_seen {
            if fix.mono_ns == last.mono_ns || fix.time_ms == last.time_ms {
                return Verdict::Rejected(RejectReason::DuplicateTime);
            }
            if fix.mono_ns < last.mono_ns {
                if fix.time_ms > last.time_ms {
                    // The monotonic clock restarts at boot. The wall clock
                    // moved on, so this is a reboot: start a new chain.
                    self.last_seen = Some(seen);
                    self.anchor = None;
                    self.speed_streak = 0;
                } else {
                    return Verdict::Rejected(RejectReason::TimeBackwards);
                }
            } else {
                // The wall clock is checked against the monotonic one; the
                // jumped fix is rejected and the chain continues from it, so
                // a clock corrected once costs one fix, not the rest.
                let d_mono_ms = (fix.mono_ns - last.mono_ns) / 1_000_000;
                let d_wall_ms = fix.time_ms - last.time_ms;
                self.last_seen = Some(seen);
                let allowed = p.max_clock_skew_ms.max((d_mono_ms as f64 * p.max_clock_drift) as i64);
                if d_wall_ms < 0 || (d_wall_ms - d_mono_ms).abs() > allowed {
                    return Verdict::Rejected(RejectReason::ClockJump);
                }
            }
        } else {
            self.last_seen = Some(seen);
        }
        if fix.accuracy_m > p.max_accuracy_m {
            return Verdict::Rejected(RejectReason::PoorAccuracy);
        }
        if let Some(anchor) = self.anchor
            && !plausible_move(&anchor, &seen, p.max_speed_mps)
        {
            let agrees = self
                .last_speed_reject
                .is_some_and(|prev| plausible_move(&prev, &seen, p.max_speed_mps));
            self.speed_streak = if agrees { self.speed_streak + 1 } else { 1 };
            self.last_speed_reject = Some(seen);
            if self.speed_streak < p.reanchor_after {
                return Verdict::Rejected(RejectReason::ImpossibleSpeed);
            }
        }
        self.anchor = Some(seen);
        self.speed_streak = 0;
        self.last_speed_reject = None;
        Verdict::Accepted
    }
}

/// Could someone on foot get from `a` to `b` in the time between them? The
/// two accuracy radii are forgiven, so noise alone is never a "sprint".
fn plausible_move(a: &Seen, b: &Seen, max_speed_mps: f64) -> bool {
    let dt_s = (b.mono_ns - a.mono_ns) as f64 / 1e9;
    if dt_s <= 0.0 {
        return true;
    }
    let slack = a.accuracy_m.hypot(b.accuracy_m);
    let moved = (haversine_m(a.lat, a.lon, b.lat, b.lon) - slack).max(0.0);
    moved / dt_s <= max_speed_mps
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_700_000_000_000;
    const NOW: i64 = T0 + 3_600_000;

    /// A fix `s` seconds into a walk heading north at 1.4 m/s.
    fn walk(s: i64) -> Fix {
        Fix::new(
            T0 + s * 1000,
            10_000_000_000 + s * 1_000_000_000,
            52.48 + (s as f64 * 1.4) / 111_195.0,
            -1.9,
            6.0,
        )
    }

    fn run(filter: &mut FixFilter, fixes: &[Fix]) -> Vec<Verdict> {
        fixes.iter().map(|f| filter.assess(f, NOW)).collect()
    }

    #[test]
    fn a_steady_walk_is_all_accepted() {
        let mut f = FixFilter::new(FilterPolicy::default());
        let fixes: Vec<_> = (0..120).map(walk).collect();
        assert!(run(&mut f, &fixes).iter().all(|v| v.is_accepted()));
    }

    #[test]
    fn poor_accuracy_is_rejected_and_does_not_move_the_anchor() {
        let mut f = FixFilter::new(FilterPolicy::default());
        let bad = Fix {
            accuracy_m: 80.0,
            ..walk(1)
        };
        let v = run(&mut f, &[walk(0), bad, walk(2)]);
        assert_eq!(
            v,
            [
                Verdict::Accepted,
                Verdict::Rejected(RejectReason::PoorAccuracy),
                Verdict::Accepted
            ]
        );
    }

    #[test]
    fn a_two_kilometre_jump_in_one_second_is_rejected_then_the_walk_resumes() {
        let mut f = FixFilter::new(FilterPolicy::default());
        let spike = Fix {
            lat: walk(5).lat + 0.018,
            ..walk(5)
        };
        let mut fixes: Vec<_> = (0..5).map(walk).collect();
        fixes.push(spike);
        fixes.extend((6..10).map(walk));
        let v = run(&mut f, &fixes);
        assert_eq!(v[5], Verdict::Rejected(RejectReason::ImpossibleSpeed));
        assert!(v[6..].iter().all(|v| v.is_accepted()), "{v:?}");
    }

    #[test]
    fn a_consistent_new_position_is_believed_after_a_few_fixes() {
        // The first fix was the outlier: the phone then reports, steadily,
        // somewhere 3 km away. After `reanchor_after` agreeing fixes we follow.
        let mut f = FixFilter::new(FilterPolicy::default());
        let outlier = Fix {
            lat: walk(0).lat - 0.03,
            ..walk(0)
        };
        let mut fixes = vec![outlier];
        fixes.extend((1..6).map(walk));
        let v = run(&mut f, &fixes);
        assert_eq!(v[1], Verdict::Rejected(RejectReason::ImpossibleSpeed));
        assert_eq!(v[2], Verdict::Rejected(RejectReason::ImpossibleSpeed));
        assert!(v[3..].iter().all(|v| v.is_accepted()), "{v:?}");
    }

    #[test]
    fn duplicate_and_backward_times_are_rejected() {
        let mut f = FixFilter::new(FilterPolicy::default());
        let same_second = Fix {
            mono_ns: walk(1).mono_ns + 100_000_000,
            ..walk(1)
        };
        let back = walk(0);
        let v = run(&mut f, &[walk(1), same_second, walk(1), back, walk(2)]);
        assert_eq!(
            v,
            [
                Verdict::Accepted,
                Verdict::Rejected(RejectReason::DuplicateTime),
                Verdict::Rejected(RejectReason::DuplicateTime),
                Verdict::Rejected(RejectReason::TimeBackwards),
                Verdict::Accepted
            ]
        );
    }

    #[test]
    fn a_wall_clock_jump_costs_one_fix() {
        let mut f = FixFilter::new(FilterPolicy::default());
        let hour = 3_600_000;
        let jumped: Vec<_> = (2..5)
            .map(|s| Fix {
                time_ms: walk(s).time_ms + hour,
                ..walk(s)
            })
            .collect();
        let v = run(&mut f, &[walk(0), walk(1), jumped[0], jumped[1], jumped[2]]);
        assert_eq!(v[2], Verdict::Rejected(RejectReason::ClockJump));
        assert!(v[3].is_accepted() && v[4].is_accepted(), "{v:?}");
        // Wall clock set backwards while monotonic time runs on.
        let mut f = FixFilter::new(FilterPolicy::default());
        let back = Fix {
            time_ms: walk(2).time_ms - 60_000,
            ..walk(2)
        };
        assert_eq!(
            run(&mut f, &[walk(0), walk(1), back])[2],
            Verdict::Rejected(RejectReason::ClockJump)
        );
    }

    #[test]
    fn a_reboot_restarts_the_monotonic_chain_without_rejecting() {
        let mut f = FixFilter::new(FilterPolicy::default());
        let after_boot = Fix {
            mono_ns: 2_000_000_000,
            ..walk(90)
        };
        let next = Fix {
            mono_ns: 3_000_000_000,
            ..walk(91)
        };
        let v = run(&mut f, &[walk(0), walk(1), after_boot, next]);
        assert!(v.iter().all(|v| v.is_accepted()), "{v:?}");
    }

    #[test]
    fn implausible_times_are_rejected() {
        let mut f = FixFilter::new(FilterPolicy::default());
        let y1901 = Fix {
            time_ms: -2_177_452_800_000,
            ..walk(0)
        };
        let future = Fix {
            time_ms: NOW + 2 * 86_400_000,
            ..walk(0)
        };
        let v = run(&mut f, &[y1901, future, walk(0)]);
        assert_eq!(
            v,
            [
                Verdict::Rejected(RejectReason::ImplausibleTime),
                Verdict::Rejected(RejectReason::ImplausibleTime),
                Verdict::Accepted
            ]
        );
    }

    #[test]
    fn jitter_within_the_accuracy_radius_is_not_a_sprint() {
        let mut f = FixFilter::new(FilterPolicy::default());
        let a = Fix {
            accuracy_m: 15.0,
            ..walk(0)
        };
        let b = Fix {
            accuracy_m: 15.0,
            lon: a.lon + 0.0003,
            ..walk(1)
        }; // ~20 m sideways
        assert!(run(&mut f, &[a, b]).iter().all(|v| v.is_accepted()));
    }
}
