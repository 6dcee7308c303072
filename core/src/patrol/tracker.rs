//! Arrival and departure, decided from believed fixes with hysteresis and
//! dwell so that a constable standing on the boundary does not flap in and
//! out, and so that GPS noise can neither invent nor erase minutes.
//!
//! - A fix inside the polygon is evidence of being in.
//! - A fix outside by more than both the exit margin and its own accuracy
//!   radius (capped) is evidence of being out.
//! - Anything between is unsure and changes nothing.
//!
//! A change of presence needs a dwell: evidence sustained for a minimum time
//! and number of fixes. Once confirmed, the change is dated back to the first
//! fix of the run, so dwell delays the decision but never the clock.
//!
//! Pure: plain values in and out.

use serde::{Deserialize, Serialize};

use super::saved::{Reader, Writer};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrackerPolicy {
    pub enter_dwell_ms: i64,
    pub enter_min_fixes: u32,
    pub exit_dwell_ms: i64,
    pub exit_min_fixes: u32,
    /// Out-evidence needs a fix at least this far outside…
    pub exit_margin_m: f64,
    /// …and further out than its accuracy radius, capped at this.
    pub accuracy_credit_cap_m: f64,
    /// A gap between fixes longer than this breaks a run: evidence for a
    /// change must be continuous. (Whether a gap counts as time in the area
    /// is the sampling plan's to say: [`super::plan::PlanPolicy::allowance_ms`].)
    pub max_gap_ms: i64,
}

impl Default for TrackerPolicy {
    fn default() -> Self {
        Self {
            enter_dwell_ms: 15_000,
            enter_min_fixes: 2,
            exit_dwell_ms: 30_000,
            exit_min_fixes: 2,
            exit_margin_m: 15.0,
            accuracy_credit_cap_m: 30.0,
            max_gap_ms: 120_000,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Presence {
    Outside,
    Inside,
}

/// One believed fix as seen from one area.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    pub time_ms: i64,
    pub mono_ns: i64,
    pub accuracy_m: f64,
    pub inside: bool,
    /// Distance to the area's edge, metres (`f64::INFINITY` when far away).
    pub boundary_m: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Evidence {
    In,
    Out,
    Unsure,
}

impl TrackerPolicy {
    fn evidence(&self, s: &Sample) -> Evidence {
        if s.inside {
            Evidence::In
        } else if s.boundary_m > self.exit_margin_m.max(s.accuracy_m.min(self.accuracy_credit_cap_m)) {
            Evidence::Out
        } else {
            Evidence::Unsure
        }
    }
}

/// A confirmed change of presence, dated to the first fix of its run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    pub to: Presence,
    pub time_ms: i64,
    pub mono_ns: i64,
    /// Caller's sequence number of the run's first fix.
    pub since_seq: u64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Run {
    time_ms: i64,
    mono_ns: i64,
    seq: u64,
    fixes: u32,
}

/// Presence in one area.
#[derive(Debug, Clone, PartialEq)]
pub struct AreaTracker {
    presence: Presence,
    run: Option<Run>,
    last_mono_ns: Option<i64>,
}

impl Default for AreaTracker {
    fn default() -> Self {
        Self::new()
    }
}

impl AreaTracker {
    pub fn new() -> Self {
        Self {
            presence: Presence::Outside,
            run: None,
            last_mono_ns: None,
        }
    }

    pub fn presence(&self) -> Presence {
        self.presence
    }

    /// The caller's sequence number of the first fix of a change still in
    /// its dwell: from that fix on, presence may yet be relabelled.
    pub fn run_start(&self) -> Option<u64> {
        self.run.map(|r| r.seq)
    }

    pub fn save(&self, w: &mut Writer) {
        w.flag(self.presence == Presence::Inside);
        w.opt(self.run, |w, r| {
            w.int(r.time_ms);
            w.int(r.mono_ns);
            w.uint(r.seq);
            w.int(i64::from(r.fixes));
        });
        w.opt(self.last_mono_ns, Writer::int);
    }

    pub fn load(r: &mut Reader<'_>) -> Option<Self> {
        let presence = if r.flag()? { Presence::Inside } else { Presence::Outside };
        let run = r.opt(|r| {
            Some(Run {
                time_ms: r.int()?,
                mono_ns: r.int()?,
                seq: r.uint()?,
                fixes: u32::try_from(r.int()?).ok()?,
            })
        })?;
        Some(Self {
            presence,
            run,
            last_mono_ns: r.opt(Reader::int)?,
        })
    }

    /// Nothing pending and outside: the tracker can be forgotten.
    pub fn is_idle(&self) -> bool {
        self.presence == Presence::Outside && self.run.is_none()
    }

    pub fn observe(&mut self, policy: &TrackerPolicy, seq: u64, s: &Sample) -> Option<Transition> {
        if let Some(last) = self.last_mono_ns {
            let gap = s.mono_ns - last;
            if gap < 0 || gap > policy.max_gap_ms * 1_000_000 {
                self.run = None;
            }
        }
        self.last_mono_ns = Some(s.mono_ns);
        let ev = policy.evidence(s);
        let (toward, dwell_ms, min_fixes) = match (self.presence, ev) {
            (Presence::Outside, Evidence::In) => (Presence::Inside, policy.enter_dwell_ms, policy.enter_min_fixes),
            (Presence::Inside, Evidence::Out) => (Presence::Outside, policy.exit_dwell_ms, policy.exit_min_fixes),
            // Leaving is only confirmed by out-evidence; an unsure fix
            // neither confirms nor cancels it.
            (Presence::Inside, Evidence::Unsure) => return None,
            // Entering needs unbroken in-evidence.
            _ => {
                self.run = None;
                return None;
            }
        };
        let run = self.run.get_or_insert(Run {
            time_ms: s.time_ms,
            mono_ns: s.mono_ns,
            seq,
            fixes: 0,
        });
        run.fixes += 1;
        let dwelt_ms = (s.mono_ns - run.mono_ns) / 1_000_000;
        if run.fixes >= min_fixes && dwelt_ms >= dwell_ms {
            let t = Transition {
                to: toward,
                time_ms: run.time_ms,
                mono_ns: run.mono_ns,
                since_seq: run.seq,
            };
            self.presence = toward;
            self.run = None;
            return Some(t);
        }
        None
    }
}

/// The whole story of one area over a track: each fix's presence (with
/// confirmed runs relabelled back to their start) and the transitions.
#[derive(Debug, Clone, PartialEq)]
pub struct Labelled {
    pub labels: Vec<Presence>,
    pub transitions: Vec<Transition>,
}

pub fn label_track(policy: &TrackerPolicy, samples: &[Sample]) -> Labelled {
    let mut tracker = AreaTracker::new();
    let mut labels = Vec::with_capacity(samples.len());
    let mut transitions = Vec::new();
    for (i, s) in samples.iter().enumerate() {
        if let Some(t) = tracker.observe(policy, i as u64, s) {
            let from = usize::try_from(t.since_seq).unwrap_or(i);
            for label in &mut labels[from..] {
                *label = t.to;
            }
            transitions.push(t);
        }
        labels.push(tracker.presence());
    }
    Labelled { labels, transitions }
}

#[cfg(test)]
mod tests;
