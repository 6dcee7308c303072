//! The sampling plan: how often, how precisely and with what distance
//! filter the shell should ask the OS for fixes now. GPS is the largest
//! drain on a constable's phone over a 10–12 hour shift, and neither fixed
//! rates (wasteful) nor the OS's own geofences (200 m and coarser, late at
//! hotspot scale) fit a 150 m area. The core knows where the areas are,
//! whether a patrol is open and how far the officer is from an edge, so it
//! decides. The shell obeys the plan and asks again when it changes (an
//! event) or when a fix it asked for is overdue.
//!
//! The policy, from the state after each fix:
//!
//! - **No fix yet, or after a gap** the plan did not ask for: dense. Where
//!   the officer went is unknown, and the tracker needs fixes in quick
//!   succession to decide anything.
//! - **Deciding** (an arrival or departure is in its dwell) or **near an
//!   edge** (within the band where a fix can be unsure: the exit margin
//!   plus the accuracy the tracker credits): dense, 1 s. Arrival times are
//!   dated to the first fix of a run, so they are only as good as the rate
//!   here.
//! - **Fast** (running, or in a vehicle) within reach of an area: dense;
//!   the edge comes up quickly.
//! - **Inside, away from every edge, steady**: sparse, and the sparser the
//!   further from the edge: the interval is the time it would take to walk
//!   briskly from here to the edge band, so the officer cannot reach an edge
//!   between two asked-for fixes. No distance filter: a constable standing
//!   still must still be heard, because silence is not evidence.
//! - **Approaching** (outside, within reach of an area): every few seconds,
//!   full precision, a small distance filter (standing still outside an
//!   area proves nothing).
//! - **Travelling** with a patrol open, further out: every 15 s or so.
//! - **No patrol, far from every area**: coarse (network-grade precision is
//!   enough to know one is far), a large distance filter, and at most once
//!   a minute, less when moving fast towards an area: the interval is the
//!   time to reach the approach band at the current speed.
//!
//! Every area on the handset counts as one the officer may patrol: patrols
//! may be made without an assignment, and arrivals anywhere are reported.
//!
//! The tracker's gap rule agrees with the plan: time between two fixes
//! that were both inside counts if the second came within what the plan
//! asked for at the first, plus a grace for a phone that delivers late
//! ([`PlanPolicy::allowance_ms`]), or within the two minutes the tracker
//! has always bridged, whichever is longer (`tally::counted_gap_ms`). So a
//! sparse plan deep inside is counted in full, and a silence the plan did
//! not ask for (a tunnel, a phone that stopped delivering) is not. The
//! plan at a fix depends only on the fixes before it, so a report replays
//! it exactly from the stored track.
//!
//! Pure: plain values in and out, no clock.

use serde::{Deserialize, Serialize};

use super::geometry::haversine_m;
use super::saved::{Reader, Writer};
use guardian_protocol::fix::Fix;

/// How precise a fix the OS should spend energy on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Precision {
    /// Satellite fixes (Android `PRIORITY_HIGH_ACCURACY`, iOS
    /// `kCLLocationAccuracyBest`).
    High,
    /// Network-grade, ~100 m (Android `PRIORITY_BALANCED_POWER_ACCURACY`,
    /// iOS `kCLLocationAccuracyHundredMeters`).
    Balanced,
}

/// Why the plan is what it is: for the shell's debug screen and the logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
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

impl PlanReason {
    pub fn as_str(self) -> &'static str {
        match self {
            PlanReason::NoFixYet => "no_fix_yet",
            PlanReason::AfterGap => "after_gap",
            PlanReason::Deciding => "deciding",
            PlanReason::NearEdge => "near_edge",
            PlanReason::Fast => "fast",
            PlanReason::SteadyInside => "steady_inside",
            PlanReason::Approaching => "approaching",
            PlanReason::Travelling => "travelling",
            PlanReason::FarAway => "far_away",
        }
    }

    pub const ALL: [PlanReason; 9] = [
        PlanReason::NoFixYet,
        PlanReason::AfterGap,
        PlanReason::Deciding,
        PlanReason::NearEdge,
        PlanReason::Fast,
        PlanReason::SteadyInside,
        PlanReason::Approaching,
        PlanReason::Travelling,
        PlanReason::FarAway,
    ];

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// What the shell asks the OS for now.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SamplingPlan {
    /// Ask for a fix this often.
    pub interval_ms: i64,
    pub precision: Precision,
    /// Deliver a fix only after moving this far (0: every interval).
    pub distance_filter_m: f64,
    pub reason: PlanReason,
    /// If no fix has come this long after the last, the shell asks the core
    /// for its plan again (the phone is in a tunnel, or the OS stopped
    /// delivering), and the core answers with a denser one. None when
    /// silence is expected: a distance filter holds fixes back.
    #[serde(default)]
    pub overdue_after_ms: Option<i64>,
}

impl SamplingPlan {
    /// Is a fix that has not come by now overdue? With a distance filter,
    /// silence only means the officer has not moved far.
    pub fn expects_fixes(&self) -> bool {
        self.distance_filter_m <= 0.0
    }

    /// Does the shell need to change what it asks the OS for? (The reason
    /// alone changes nothing on the phone.)
    pub fn differs_for_the_os(&self, other: &SamplingPlan) -> bool {
        self.interval_ms != other.interval_ms
            || self.precision != other.precision
            || self.distance_filter_m != other.distance_filter_m
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlanPolicy {
    pub dense_interval_ms: i64,
    pub approach_interval_ms: i64,
    pub approach_filter_m: f64,
    pub travel_interval_ms: i64,
    pub travel_filter_m: f64,
    pub far_interval_ms: i64,
    pub far_filter_m: f64,
    /// Steady inside: no denser than this…
    pub steady_min_ms: i64,
    /// …and no sparser than this, however far the edge.
    pub steady_max_ms: i64,
    /// Within this of an edge, a fix can be unsure (the tracker's exit
    /// margin, 15 m, plus the accuracy it credits, 30 m).
    pub edge_band_m: f64,
    /// Outside and within this of an area: approaching.
    pub approach_m: f64,
    /// A brisk walk: how fast an officer on foot could head for the edge.
    pub walk_mps: f64,
    /// Faster than a jog: the edge comes up too quickly to plan sparsely.
    pub fast_mps: f64,
    /// Dense for this long after a gap, so the tracker can re-decide.
    pub recover_ms: i64,
    /// A phone delivers a fix this late and still counts as having obeyed
    /// (OS batching, a slow first fix after a sparse interval).
    pub late_grace_ms: i64,
}

impl Default for PlanPolicy {
    fn default() -> Self {
        Self {
            dense_interval_ms: 1_000,
            approach_interval_ms: 5_000,
            approach_filter_m: 5.0,
            travel_interval_ms: 15_000,
            travel_filter_m: 10.0,
            far_interval_ms: 60_000,
            far_filter_m: 50.0,
            steady_min_ms: 5_000,
            steady_max_ms: 180_000,
            edge_band_m: 45.0,
            approach_m: 300.0,
            walk_mps: 2.0,
            fast_mps: 3.0,
            recover_ms: 20_000,
            late_grace_ms: 30_000,
        }
    }
}

/// Intervals come in steps, so a walk that drifts a few metres does not
/// change the plan at every fix.
const STEPS_MS: [i64; 10] = [
    1_000, 2_000, 5_000, 10_000, 15_000, 20_000, 30_000, 60_000, 120_000, 180_000,
];

/// The largest step no longer than `ms`, within `[lo, hi]`.
fn step_within(ms: f64, lo: i64, hi: i64) -> i64 {
    let fits = STEPS_MS
        .iter()
        .copied()
        .filter(|s| (*s as f64) <= ms)
        .max()
        .unwrap_or(lo);
    fits.clamp(lo, hi)
}

/// Where a fix stands, as the plan needs it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct View {
    /// Confirmed inside an area.
    pub inside: bool,
    /// Metres to the nearest edge of any area near (`INFINITY`: none).
    pub edge_m: f64,
    /// Metres outside the nearest area (0 inside one; `INFINITY`: none
    /// within reach). Already reduced by the fix's uncertainty.
    pub outside_m: f64,
    /// An arrival or departure is in its dwell.
    pub deciding: bool,
    pub patrol_open: bool,
}

impl PlanPolicy {
    /// The time between two fixes that can count towards minutes in an
    /// area, when `plan` was in force at the first.
    pub fn allowance_ms(&self, plan: &SamplingPlan) -> i64 {
        plan.interval_ms.saturating_add(self.late_grace_ms)
    }

    /// Every plan is made here, so each says when its fix is overdue.
    fn plan(&self, interval_ms: i64, precision: Precision, distance_filter_m: f64, reason: PlanReason) -> SamplingPlan {
        let mut plan = SamplingPlan {
            interval_ms,
            precision,
            distance_filter_m,
            reason,
            overdue_after_ms: None,
        };
        if plan.expects_fixes() {
            // The first moment past the allowance, as `Planner::at` judges.
            plan.overdue_after_ms = Some(self.allowance_ms(&plan).saturating_add(1));
        }
        plan
    }

    fn dense(&self, reason: PlanReason) -> SamplingPlan {
        self.plan(self.dense_interval_ms, Precision::High, 0.0, reason)
    }

    /// The plan for a fix's situation. `speed_mps` is over ground, if known;
    /// `recovering` is true just after a gap.
    pub fn decide(&self, view: &View, speed_mps: Option<f64>, recovering: bool) -> SamplingPlan {
        if recovering {
            return self.dense(PlanReason::AfterGap);
        }
        if view.deciding {
            return self.dense(PlanReason::Deciding);
        }
        if view.edge_m <= self.edge_band_m {
            return self.dense(PlanReason::NearEdge);
        }
        let speed = speed_mps.filter(|s| s.is_finite() && *s > 0.0).unwrap_or(0.0);
        let fast = speed > self.fast_mps;
        let pace = speed.max(self.walk_mps);
        if view.inside {
            if fast {
                return self.dense(PlanReason::Fast);
            }
            let to_band_ms = (view.edge_m - self.edge_band_m) / pace * 1_000.0;
            return self.plan(
                step_within(to_band_ms, self.steady_min_ms, self.steady_max_ms),
                Precision::High,
                0.0,
                PlanReason::SteadyInside,
            );
        }
        if view.outside_m <= self.approach_m {
            if fast {
                return self.dense(PlanReason::Fast);
            }
            return self.plan(
                self.approach_interval_ms,
                Precision::High,
                self.approach_filter_m,
                PlanReason::Approaching,
            );
        }
        // Further out: the next fix must come before the officer could be
        // in the approach band at this speed.
        let to_band_ms = (view.outside_m - self.approach_m) / pace * 1_000.0;
        if view.patrol_open {
            return self.plan(
                step_within(to_band_ms, self.approach_interval_ms, self.travel_interval_ms),
                Precision::High,
                self.travel_filter_m,
                PlanReason::Travelling,
            );
        }
        self.plan(
            step_within(to_band_ms, self.approach_interval_ms, self.far_interval_ms),
            Precision::Balanced,
            self.far_filter_m,
            PlanReason::FarAway,
        )
    }
}

/// The little the planner remembers of a fix.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Mark {
    mono_ns: i64,
    time_ms: i64,
    lat: f64,
    lon: f64,
}

impl Mark {
    fn save(self, w: &mut Writer) {
        w.int(self.mono_ns);
        w.int(self.time_ms);
        w.float(self.lat);
        w.float(self.lon);
    }

    fn load(r: &mut Reader<'_>) -> Option<Self> {
        Some(Self {
            mono_ns: r.int()?,
            time_ms: r.int()?,
            lat: r.float()?,
            lon: r.float()?,
        })
    }
}

/// The plan as it follows the track: fed every fix the phone delivered.
#[derive(Debug, Clone, PartialEq)]
pub struct Planner {
    plan: SamplingPlan,
    /// The last fix delivered, believed or not: was it on time?
    last_delivered: Option<Mark>,
    /// The last believed fix: speed over ground.
    last_believed: Option<Mark>,
    /// Dense until this monotonic time, after a gap.
    recover_until_ns: Option<i64>,
}

impl Planner {
    pub fn new(policy: &PlanPolicy) -> Self {
        Self {
            plan: policy.dense(PlanReason::NoFixYet),
            last_delivered: None,
            last_believed: None,
            recover_until_ns: None,
        }
    }

    /// The plan in force since the last fix.
    pub fn plan(&self) -> SamplingPlan {
        self.plan
    }

    pub fn save(&self, w: &mut Writer) {
        w.int(self.plan.interval_ms);
        w.flag(self.plan.precision == Precision::High);
        w.float(self.plan.distance_filter_m);
        w.word(self.plan.reason.as_str());
        w.opt(self.last_delivered, |w, m| m.save(w));
        w.opt(self.last_believed, |w, m| m.save(w));
        w.opt(self.recover_until_ns, Writer::int);
    }

    /// `policy` is the one the planner was saved under (the saved tally is
    /// refused under any other), so the overdue time is made again from it.
    pub fn load(r: &mut Reader<'_>, policy: &PlanPolicy) -> Option<Self> {
        let interval_ms = r.int()?;
        let precision = if r.flag()? {
            Precision::High
        } else {
            Precision::Balanced
        };
        let plan = policy.plan(interval_ms, precision, r.float()?, PlanReason::parse(r.word()?)?);
        Some(Self {
            plan,
            last_delivered: r.opt(Mark::load)?,
            last_believed: r.opt(Mark::load)?,
            recover_until_ns: r.opt(Reader::int)?,
        })
    }

    /// The plan now, with no fix since the last: dense once a fix the plan
    /// asked for is overdue (the phone is in a tunnel, or the OS stopped
    /// delivering). `now_ms` is wall time.
    pub fn at(&self, policy: &PlanPolicy, now_ms: i64) -> SamplingPlan {
        match self.last_delivered {
            Some(last)
                if self.plan.expects_fixes()
                    && now_ms.saturating_sub(last.time_ms) > policy.allowance_ms(&self.plan) =>
            {
                policy.dense(PlanReason::AfterGap)
            }
            _ => self.plan,
        }
    }

    /// One delivered fix. `view` is where it stands, if it says anything
    /// about that (believed, or too vague to believe but still telling how
    /// far away the officer is); `believed` feeds the speed. The new plan,
    /// if the shell must change what it asks for.
    pub fn observe(
        &mut self,
        policy: &PlanPolicy,
        fix: &Fix,
        believed: bool,
        view: Option<&View>,
    ) -> Option<SamplingPlan> {
        let mark = Mark {
            mono_ns: fix.mono_ns,
            time_ms: fix.time_ms,
            lat: fix.lat,
            lon: fix.lon,
        };
        let late = self.last_delivered.is_some_and(|last| {
            let gap_ns = fix.mono_ns.saturating_sub(last.mono_ns);
            // A reboot restarts the monotonic clock: that is a gap too.
            gap_ns < 0 || (self.plan.expects_fixes() && gap_ns / 1_000_000 > policy.allowance_ms(&self.plan))
        });
        self.last_delivered = Some(mark);
        if late {
            self.recover_until_ns = Some(fix.mono_ns.saturating_add(policy.recover_ms.saturating_mul(1_000_000)));
        }
        let speed = if believed {
            let speed = fix
                .speed_mps
                .filter(|s| s.is_finite() && *s >= 0.0)
                .or_else(|| self.last_believed.and_then(|prev| implied_speed(&prev, &mark)));
            self.last_believed = Some(mark);
            speed
        } else {
            None
        };
        let recovering = self.recover_until_ns.is_some_and(|until| fix.mono_ns < until);
        if !recovering {
            self.recover_until_ns = None;
        }
        let Some(view) = view else {
            if recovering && self.plan.reason != PlanReason::AfterGap {
                return self.replace(policy.dense(PlanReason::AfterGap));
            }
            return None;
        };
        self.replace(policy.decide(view, speed, recovering))
    }

    fn replace(&mut self, next: SamplingPlan) -> Option<SamplingPlan> {
        let changed = next.differs_for_the_os(&self.plan);
        self.plan = next;
        changed.then_some(next)
    }
}

/// Metres per second between two fixes at least a second apart.
fn implied_speed(a: &Mark, b: &Mark) -> Option<f64> {
    let dt_s = (b.mono_ns - a.mono_ns) as f64 / 1e9;
    (dt_s >= 1.0).then(|| haversine_m(a.lat, a.lon, b.lat, b.lon) / dt_s)
}

#[cfg(test)]
mod tests;
