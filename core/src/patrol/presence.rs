//! The live geofence: one [`AreaTracker`] per area the officer is in or
//! near, fed every believed fix as it arrives, emitting arrivals and
//! departures. Pure: no clock, no I/O.

use std::collections::HashMap;

use serde::Serialize;

use super::geofence::{AreaIndex, DEFAULT_MARGIN_M, Proximity};
use super::plan::{PlanPolicy, View};
use super::tracker::{AreaTracker, Presence, Sample, TrackerPolicy, Transition};
use guardian_protocol::fix::Fix;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GeofenceKind {
    Arrived,
    Departed,
}

impl GeofenceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            GeofenceKind::Arrived => "arrived",
            GeofenceKind::Departed => "departed",
        }
    }

    fn of(t: &Transition) -> Self {
        match t.to {
            Presence::Inside => GeofenceKind::Arrived,
            Presence::Outside => GeofenceKind::Departed,
        }
    }
}

/// An arrival or departure, dated to the fix where it began.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GeofenceEvent {
    pub area_id: String,
    pub kind: GeofenceKind,
    pub time_ms: i64,
    pub mono_ns: i64,
}

#[derive(Debug, Clone, Default)]
pub struct LiveGeofence {
    trackers: HashMap<usize, AreaTracker>,
    seq: u64,
    near: Vec<Proximity>,
}

impl LiveGeofence {
    pub fn new() -> Self {
        Self::default()
    }

    /// Is the officer confirmed inside this area now?
    pub fn presence(&self, area: usize) -> Presence {
        self.trackers
            .get(&area)
            .map_or(Presence::Outside, AreaTracker::presence)
    }

    /// Where the last fix fed in stands, for the sampling plan: confirmed
    /// inside any area, the nearest edge of the areas near it, how far
    /// outside the nearest area (looking as far as the plan's approach
    /// band when none is near), and whether any change is in its dwell.
    pub fn view(&self, index: &AreaIndex, policy: &PlanPolicy, fix: &Fix, patrol_open: bool) -> View {
        let edge_m = self.near.iter().map(|p| p.boundary_m).fold(f64::INFINITY, f64::min);
        let outside_m = if self.near.is_empty() {
            index
                .nearest_outside_m(fix.lat, fix.lon, policy.approach_m + fix.accuracy_m)
                .map_or(f64::INFINITY, |d| (d - fix.accuracy_m).max(0.0))
        } else {
            self.near
                .iter()
                .map(|p| (p.outside_by_m() - fix.accuracy_m).max(0.0))
                .fold(f64::INFINITY, f64::min)
        };
        View {
            inside: self.trackers.values().any(|t| t.presence() == Presence::Inside),
            edge_m,
            outside_m,
            deciding: self.trackers.values().any(|t| t.run_start().is_some()),
            patrol_open,
        }
    }

    /// Feeds one believed fix; returns the areas whose presence changed.
    pub fn observe(&mut self, index: &AreaIndex, policy: &TrackerPolicy, fix: &Fix) -> Vec<GeofenceEvent> {
        self.seq += 1;
        let seq = self.seq;
        index.near(fix.lat, fix.lon, &mut self.near);
        let mut events = Vec::new();
        let mut emit = |area: usize, t: Transition| {
            if let Some(a) = index.get(area) {
                events.push(GeofenceEvent {
                    area_id: a.area.id.clone(),
                    kind: GeofenceKind::of(&t),
                    time_ms: t.time_ms,
                    mono_ns: t.mono_ns,
                });
            }
        };
        for p in &self.near {
            let sample = Sample {
                time_ms: fix.time_ms,
                mono_ns: fix.mono_ns,
                accuracy_m: fix.accuracy_m,
                inside: p.inside,
                boundary_m: p.boundary_m,
            };
            if let Some(t) = self.trackers.entry(p.area).or_default().observe(policy, seq, &sample) {
                emit(p.area, t);
            }
        }
        // Areas we were in or entering that the index no longer returns:
        // the fix is at least the index margin outside them.
        let far = Sample {
            time_ms: fix.time_ms,
            mono_ns: fix.mono_ns,
            accuracy_m: fix.accuracy_m,
            inside: false,
            boundary_m: DEFAULT_MARGIN_M,
        };
        for (area, tracker) in self.trackers.iter_mut() {
            if !self.near.iter().any(|p| p.area == *area)
                && let Some(t) = tracker.observe(policy, seq, &far)
            {
                emit(*area, t);
            }
        }
        self.trackers.retain(|_, t| !t.is_idle());
        events
    }
}
