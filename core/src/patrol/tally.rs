//! A patrol's figures kept as its fixes arrive, so the patrol screen's poll
//! costs the same at minute one and hour twelve, and a report is a fold of
//! the same code over the stored track: live and reported minutes cannot
//! disagree.
//!
//! The tracker dates a confirmed change back to the first fix of its run,
//! so the fixes of a run still in its dwell have no final label yet. Their
//! time is held aside and credited (or not) when the run is confirmed or
//! abandoned, exactly as relabelling the whole track would.
//!
//! Time between two consecutive believed fixes counts when both end up
//! inside and the second came within what the sampling plan asked for at
//! the first, or within the tracker's own gap, whichever is longer
//! ([`counted_gap_ms`]). It is split by where the fixes
//! were: *inside* when both were inside the polygon, *at the edge* when
//! either was outside it but unsure (credited by the tracker's hysteresis
//! so that noise cannot end a visit). The force chooses which counts
//! ([`CompliancePolicy::count_edge`]); both are always reported.
//!
//! Pure: plain values in and out.

use std::collections::BTreeMap;

use super::compliance::{CompliancePolicy, MinutesBasis, NonCompliance, PatrolReport, TrackPoint, WindowRule};
use super::geofence::PreparedArea;
use super::geometry::haversine_m;
use super::officer::Rank;
use super::plan::{PlanPolicy, Planner, SamplingPlan, View};
use super::saved::{Reader, Writer, fingerprint};
use super::session::Policies;
use super::tracker::{AreaTracker, Presence, Sample, TrackerPolicy};
use guardian_protocol::fix::{RejectReason, Verdict};

/// The saved form's first field; bump it when the fields change, and an
/// older save is simply re-tallied from the track.
const SAVED_FORMAT: i64 = 1;

/// Credited time, milliseconds, by where it was spent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Credit {
    pub inside_ms: i64,
    pub edge_ms: i64,
    pub window_inside_ms: i64,
    pub window_edge_ms: i64,
}

impl Credit {
    fn save(&self, w: &mut Writer) {
        for v in [self.inside_ms, self.edge_ms, self.window_inside_ms, self.window_edge_ms] {
            w.int(v);
        }
    }

    fn load(r: &mut Reader<'_>) -> Option<Self> {
        Some(Self {
            inside_ms: r.int()?,
            edge_ms: r.int()?,
            window_inside_ms: r.int()?,
            window_edge_ms: r.int()?,
        })
    }

    fn add(&mut self, other: &Credit) {
        self.inside_ms += other.inside_ms;
        self.edge_ms += other.edge_ms;
        self.window_inside_ms += other.window_inside_ms;
        self.window_edge_ms += other.window_edge_ms;
    }
}

/// The last believed fix, as the next interval needs it.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Prev {
    time_ms: i64,
    mono_ns: i64,
    lat: f64,
    lon: f64,
    inside: bool,
    /// What the plan in force at this fix allows before the next.
    allowance_ms: i64,
}

/// A change of presence still in its dwell, and the time it holds aside.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Pending {
    since_seq: u64,
    /// The interval into the run's first fix: counts only if the fixes on
    /// both sides of it end up inside.
    into: Credit,
    /// Intervals between the run's fixes.
    within: Credit,
    fixes: usize,
}

/// One patrol's figures so far.
#[derive(Debug, Clone, PartialEq)]
pub struct PatrolTally {
    tracker: AreaTracker,
    planner: Planner,
    seq: u64,
    prev: Option<Prev>,
    credited: Credit,
    pending: Option<Pending>,
    /// Believed fixes whose final label is inside.
    inside_fixes: usize,
    arrival_ms: Option<i64>,
    /// The latest confirmed change: (to, dated time).
    last_change: Option<(Presence, i64)>,
    transitions: usize,
    distance_m: f64,
    fixes_total: usize,
    fixes_accepted: usize,
    rejected: BTreeMap<RejectReason, usize>,
}

impl PatrolTally {
    pub fn new(plan: &PlanPolicy) -> Self {
        Self {
            tracker: AreaTracker::new(),
            planner: Planner::new(plan),
            seq: 0,
            prev: None,
            credited: Credit::default(),
            pending: None,
            inside_fixes: 0,
            arrival_ms: None,
            last_change: None,
            transitions: 0,
            distance_m: 0.0,
            fixes_total: 0,
            fixes_accepted: 0,
            rejected: BTreeMap::new(),
        }
    }

    /// A report of a whole stored track: the tally folded over it.
    pub fn of_track(area: &PreparedArea, window: &WindowRule, track: &[TrackPoint], policies: &Policies) -> Self {
        let mut tally = Self::new(&policies.plan);
        for p in track {
            tally.observe(area, window, p, policies);
        }
        tally
    }

    /// The tally as text to save, stamped with the policies it was kept
    /// under (a tally is only meaningful under its own rules).
    pub fn save(&self, policies: &Policies) -> String {
        let mut w = Writer::new();
        w.int(SAVED_FORMAT);
        w.uint(fingerprint(format!("{policies:?}").as_bytes()));
        self.tracker.save(&mut w);
        self.planner.save(&mut w);
        w.uint(self.seq);
        w.opt(self.prev, |w, p| {
            w.int(p.time_ms);
            w.int(p.mono_ns);
            w.float(p.lat);
            w.float(p.lon);
            w.flag(p.inside);
            w.int(p.allowance_ms);
        });
        self.credited.save(&mut w);
        w.opt(self.pending, |w, p| {
            w.uint(p.since_seq);
            p.into.save(w);
            p.within.save(w);
            w.count(p.fixes);
        });
        w.count(self.inside_fixes);
        w.opt(self.arrival_ms, Writer::int);
        w.opt(self.last_change, |w, (to, t)| {
            w.flag(to == Presence::Inside);
            w.int(t);
        });
        w.count(self.transitions);
        w.float(self.distance_m);
        w.count(self.fixes_total);
        w.count(self.fixes_accepted);
        w.count(self.rejected.len());
        for (reason, n) in &self.rejected {
            w.word(reason.as_str());
            w.count(*n);
        }
        w.finish()
    }

    /// A saved tally, if it was kept under these policies and reads whole.
    pub fn restore(text: &str, policies: &Policies) -> Option<Self> {
        let mut r = Reader::new(text);
        if r.int()? != SAVED_FORMAT || r.uint()? != fingerprint(format!("{policies:?}").as_bytes()) {
            return None;
        }
        let tracker = AreaTracker::load(&mut r)?;
        let planner = Planner::load(&mut r, &policies.plan)?;
        let seq = r.uint()?;
        let prev = r.opt(|r| {
            Some(Prev {
                time_ms: r.int()?,
                mono_ns: r.int()?,
                lat: r.float()?,
                lon: r.float()?,
                inside: r.flag()?,
                allowance_ms: r.int()?,
            })
        })?;
        let credited = Credit::load(&mut r)?;
        let pending = r.opt(|r| {
            Some(Pending {
                since_seq: r.uint()?,
                into: Credit::load(r)?,
                within: Credit::load(r)?,
                fixes: r.count()?,
            })
        })?;
        let inside_fixes = r.count()?;
        let arrival_ms = r.opt(Reader::int)?;
        let last_change = r.opt(|r| {
            let to = if r.flag()? { Presence::Inside } else { Presence::Outside };
            Some((to, r.int()?))
        })?;
        let transitions = r.count()?;
        let distance_m = r.float()?;
        let fixes_total = r.count()?;
        let fixes_accepted = r.count()?;
        let mut rejected = BTreeMap::new();
        for _ in 0..r.count()? {
            let reason = RejectReason::parse(r.word()?)?;
            rejected.insert(reason, r.count()?);
        }
        r.done().then_some(Self {
            tracker,
            planner,
            seq,
            prev,
            credited,
            pending,
            inside_fixes,
            arrival_ms,
            last_change,
            transitions,
            distance_m,
            fixes_total,
            fixes_accepted,
            rejected,
        })
    }

    /// One stored fix of the patrol, in the order received.
    pub fn observe(&mut self, area: &PreparedArea, window: &WindowRule, p: &TrackPoint, policies: &Policies) {
        self.fixes_total += 1;
        if let Verdict::Rejected(r) = p.verdict {
            *self.rejected.entry(r).or_insert(0) += 1;
            self.planner.observe(&policies.plan, &p.fix(), false, None);
            return;
        }
        self.fixes_accepted += 1;
        let prox = area.locate(0, p.lat, p.lon);
        let sample = Sample {
            time_ms: p.time_ms,
            mono_ns: p.mono_ns,
            accuracy_m: p.accuracy_m,
            inside: prox.inside,
            boundary_m: prox.boundary_m,
        };
        let interval = self.prev.map(|prev| {
            self.distance_m += haversine_m(prev.lat, prev.lon, p.lat, p.lon);
            credit(&prev, &sample, window)
        });
        self.place(&policies.tracker, &sample, interval.unwrap_or_default());

        let view = View {
            inside: self.tracker.presence() == Presence::Inside,
            edge_m: sample.boundary_m,
            outside_m: if sample.inside {
                0.0
            } else {
                (sample.boundary_m - sample.accuracy_m).max(0.0)
            },
            deciding: self.tracker.run_start().is_some(),
            patrol_open: true,
        };
        self.planner.observe(&policies.plan, &p.fix(), true, Some(&view));
        self.prev = Some(Prev {
            time_ms: p.time_ms,
            mono_ns: p.mono_ns,
            lat: p.lat,
            lon: p.lon,
            inside: sample.inside,
            allowance_ms: counted_gap_ms(policies, &self.planner.plan()),
        });
    }

    /// The tracker's verdict on one believed fix, and where the interval
    /// into it goes: credited now, held with a run in its dwell, or dropped.
    fn place(&mut self, policy: &TrackerPolicy, sample: &Sample, interval: Credit) {
        let seq = self.seq;
        self.seq += 1;
        let presence = self.tracker.presence();
        let change = self.tracker.observe(policy, seq, sample);
        let run_after = self.tracker.run_start();

        // A run that is no longer the one pending was abandoned: its fixes
        // keep the presence they had.
        let continues = |since: u64| run_after == Some(since) || change.is_some_and(|c| c.since_seq == since);
        if let Some(p) = self.pending
            && !continues(p.since_seq)
        {
            self.settle(presence, presence);
        }
        let started_here = run_after == Some(seq) || change.is_some_and(|c| c.since_seq == seq);
        if started_here {
            self.pending = Some(Pending {
                since_seq: seq,
                into: interval,
                within: Credit::default(),
                fixes: 1,
            });
        } else if let Some(p) = self.pending.as_mut() {
            p.within.add(&interval);
            p.fixes += 1;
        } else {
            if presence == Presence::Inside {
                self.credited.add(&interval);
                self.inside_fixes += 1;
            }
            return;
        }
        if let Some(c) = change {
            self.settle(presence, c.to);
            self.transitions += 1;
            if c.to == Presence::Inside && self.arrival_ms.is_none() {
                self.arrival_ms = Some(c.time_ms);
            }
            self.last_change = Some((c.to, c.time_ms));
        }
    }

    /// The pending run ends with its fixes labelled `label`; the fix before
    /// it was labelled `before`.
    fn settle(&mut self, before: Presence, label: Presence) {
        let Some(p) = self.pending.take() else {
            return;
        };
        if label == Presence::Inside {
            self.credited.add(&p.within);
            if before == Presence::Inside {
                self.credited.add(&p.into);
            }
            self.inside_fixes += p.fixes;
        }
    }

    /// The patrol's report as it stands. `checkout_ms` is the check-out's
    /// time once the patrol is over.
    pub fn report(
        &self,
        area_id: &str,
        rank: Rank,
        checkout_ms: Option<i64>,
        policy: &CompliancePolicy,
    ) -> PatrolReport {
        let minutes = |ms: i64| ms as f64 / 60_000.0;
        let c = &self.standing();
        let (minutes_inside, minutes_at_edge) = (minutes(c.inside_ms), minutes(c.edge_ms));
        let basis = if policy.count_edge {
            MinutesBasis::InsideAndEdge
        } else {
            MinutesBasis::InsideOnly
        };
        let (minutes_in_area, minutes_in_window) = match basis {
            MinutesBasis::InsideAndEdge => (
                minutes(c.inside_ms + c.edge_ms),
                minutes(c.window_inside_ms + c.window_edge_ms),
            ),
            MinutesBasis::InsideOnly => (minutes(c.inside_ms), minutes(c.window_inside_ms)),
        };
        let departure_ms = match self.last_change {
            Some((Presence::Outside, t)) => Some(t),
            Some((Presence::Inside, _)) => checkout_ms,
            None => None,
        };
        let mut reasons = Vec::new();
        if self.arrival_ms.is_none() {
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
        if policy.require_warranted && !rank.is_warranted() {
            reasons.push(NonCompliance::NotWarranted { rank });
        }
        PatrolReport {
            area_id: area_id.to_string(),
            arrival_ms: self.arrival_ms,
            departure_ms,
            minutes_in_area,
            minutes_in_window,
            minutes_inside,
            minutes_at_edge,
            minutes_basis: basis,
            distance_m: self.distance_m,
            fixes_total: self.fixes_total,
            fixes_accepted: self.fixes_accepted,
            fixes_rejected: self.rejected.clone(),
            inside_fraction: if self.fixes_accepted == 0 {
                0.0
            } else {
                self.final_inside_fixes() as f64 / self.fixes_accepted as f64
            },
            inside_transitions: self.transitions,
            rank,
            compliant: reasons.is_empty(),
            reasons,
        }
    }

    /// Believed fixes labelled inside, a pending run's fixes taken as they
    /// stand now (as a relabelled track would show them at this moment).
    fn final_inside_fixes(&self) -> usize {
        match self.pending {
            Some(p) if self.tracker.presence() == Presence::Inside => self.inside_fixes + p.fixes,
            _ => self.inside_fixes,
        }
    }

    /// Credited time as the track stands: a run still in its dwell taken
    /// with the presence it has now, as a report of the track so far
    /// labels it.
    fn standing(&self) -> Credit {
        let mut c = self.credited;
        if let Some(p) = self.pending
            && self.tracker.presence() == Presence::Inside
        {
            c.add(&p.within);
            c.add(&p.into);
        }
        c
    }

    /// Minutes in the area that no later fix can take back: a run still
    /// in its dwell left out.
    pub fn minutes_settled(&self, policy: &CompliancePolicy) -> f64 {
        counted_minutes(&self.credited, policy)
    }
}

/// The longest gap after a fix that can still count towards minutes in
/// the area: what the plan asked for there plus the grace for a late phone,
/// and never less than a gap the tracker bridges anyway (two minutes of
/// silence do not break a run of evidence, so they do not break a visit's
/// minutes either). A sparse plan deep inside extends it; nothing shortens
/// it below what the tracker has always counted.
pub fn counted_gap_ms(policies: &Policies, plan: &SamplingPlan) -> i64 {
    policies.tracker.max_gap_ms.max(policies.plan.allowance_ms(plan))
}

fn counted_minutes(c: &Credit, policy: &CompliancePolicy) -> f64 {
    let ms = if policy.count_edge {
        c.inside_ms + c.edge_ms
    } else {
        c.inside_ms
    };
    ms as f64 / 60_000.0
}

/// The interval from `prev` to `s`, credited as if both end up inside:
/// nothing if the clock did not move forward or the plan did not ask for a
/// gap this long.
fn credit(prev: &Prev, s: &Sample, window: &WindowRule) -> Credit {
    let gap_ns = s.mono_ns.saturating_sub(prev.mono_ns);
    let gap_ms = gap_ns / 1_000_000;
    if gap_ns <= 0 || gap_ms > prev.allowance_ms {
        return Credit::default();
    }
    let at_edge = !(prev.inside && s.inside);
    let in_window = window.contains(prev.time_ms);
    let mut c = Credit::default();
    match (at_edge, in_window) {
        (false, true) => {
            c.inside_ms = gap_ms;
            c.window_inside_ms = gap_ms;
        }
        (false, false) => c.inside_ms = gap_ms,
        (true, true) => {
            c.edge_ms = gap_ms;
            c.window_edge_ms = gap_ms;
        }
        (true, false) => c.edge_ms = gap_ms,
    }
    c
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests;
