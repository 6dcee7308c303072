//! The handset's live view of the track between fixes: the filter's memory,
//! the geofence, the newest stored fix and the open patrol with its running
//! minutes. Each fix goes in as a value and comes out as a [`Step`]: the
//! verdict, the arrivals and departures to store and tell, whether the
//! patrol just reached its minimum minutes, and whether a track chunk is
//! due. The caller writes what the step says in one transaction, and keeps
//! a copy of this state to put back if that write fails, so memory never
//! runs ahead of disk.
//!
//! Pure: no clock, no I/O.

use super::compliance::CompliancePolicy;
use super::db::CHUNK_FIXES;
use super::filter::{FixFilter, Seen};
use super::geofence::AreaIndex;
use super::presence::{GeofenceEvent, LiveGeofence};
use super::session::Policies;
use super::tracker::{Presence, TrackerPolicy};
use guardian_protocol::fix::{Fix, Verdict};

/// The open patrol, between check-in and check-out.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenPatrol {
    pub id: String,
    pub area_id: String,
    pub checkin_time_ms: i64,
    /// The next outbox sequence number in this patrol's causal order.
    pub next_seq: u32,
    /// Fixes of this patrol not yet packed into a track chunk.
    pub unchunked: usize,
    /// Running time inside the patrol's area, for the "minutes reached"
    /// event (reports recompute it exactly from the stored track).
    inside_ms: i64,
    last_inside_mono: Option<i64>,
    minutes_reached: bool,
}

impl OpenPatrol {
    /// Just checked in: the check-in record took sequence number 0.
    pub fn new(id: String, area_id: String, checkin_time_ms: i64) -> Self {
        Self {
            id,
            area_id,
            checkin_time_ms,
            next_seq: 1,
            unchunked: 0,
            inside_ms: 0,
            last_inside_mono: None,
            minutes_reached: false,
        }
    }

    /// Picked up again after a restart, with the minutes the stored track
    /// already shows, so "minutes reached" is neither lost nor told twice.
    pub fn resumed(
        id: String,
        area_id: String,
        checkin_time_ms: i64,
        (next_seq, unchunked): (u32, usize),
        minutes_so_far: f64,
        policy: &CompliancePolicy,
    ) -> Self {
        Self {
            next_seq,
            unchunked,
            inside_ms: (minutes_so_far * 60_000.0) as i64,
            minutes_reached: minutes_so_far >= policy.min_minutes,
            ..Self::new(id, area_id, checkin_time_ms)
        }
    }

    /// One more fix in the track; the sequence number of the chunk to pack
    /// now, when enough fixes have gathered.
    fn grew(&mut self) -> Option<u32> {
        self.unchunked += 1;
        if self.unchunked < CHUNK_FIXES {
            return None;
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.unchunked = 0;
        Some(seq)
    }

    /// Counts a believed fix towards the running minutes with the tracker's
    /// own time rule; the minutes, the first time they reach the minimum.
    fn count(&mut self, inside: bool, fix: &Fix, tracker: &TrackerPolicy, policy: &CompliancePolicy) -> Option<f64> {
        if !inside {
            self.last_inside_mono = None;
            return None;
        }
        if let Some(prev) = self.last_inside_mono {
            self.inside_ms += tracker.counted_ms(prev, fix.mono_ns);
        }
        self.last_inside_mono = Some(fix.mono_ns);
        let minutes = self.inside_ms as f64 / 60_000.0;
        if self.minutes_reached || minutes < policy.min_minutes {
            return None;
        }
        self.minutes_reached = true;
        Some(minutes)
    }
}

/// What one fix did, for the caller to store and tell (the fix belongs to
/// the open patrol, if any: [`Live::open`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub verdict: Verdict,
    /// Arrivals and departures the geofence confirmed.
    pub geofence: Vec<GeofenceEvent>,
    /// The open patrol's minutes in its area reached the minimum.
    pub minutes_reached: Option<f64>,
    /// Pack a track chunk with this sequence number now.
    pub chunk_seq: Option<u32>,
}

/// Where the check-in or check-out fix goes in the track.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attach {
    /// It is the fix the phone just reported (stored at this row): it joins
    /// the patrol instead of being stored twice.
    Adopt(i64),
    /// A fix of its own: store it as the next fix.
    Ingest,
}

#[derive(Debug, Clone)]
pub struct Live {
    filter: FixFilter,
    geofence: LiveGeofence,
    /// The newest stored fix: (row id, time, monotonic time).
    last_fix: Option<(i64, i64, i64)>,
    open: Option<OpenPatrol>,
}

impl Live {
    pub fn new(policies: &Policies) -> Self {
        Self {
            filter: FixFilter::new(policies.filter),
            geofence: LiveGeofence::new(),
            last_fix: None,
            open: None,
        }
    }

    /// After a restart: the filter's memory, the newest believed fixes
    /// (replayed to rebuild the geofence), the newest stored fix and the
    /// open patrol, all as the store has them.
    pub fn resume(
        policies: &Policies,
        index: &AreaIndex,
        (last_seen, anchor): (Option<Seen>, Option<Seen>),
        recent: &[Fix],
        last_fix: Option<(i64, i64, i64)>,
        open: Option<OpenPatrol>,
    ) -> Self {
        let mut geofence = LiveGeofence::new();
        for fix in recent {
            geofence.observe(index, &policies.tracker, fix);
        }
        Self {
            filter: FixFilter::resume(policies.filter, last_seen, anchor),
            geofence,
            last_fix,
            open,
        }
    }

    pub fn open(&self) -> Option<&OpenPatrol> {
        self.open.as_ref()
    }

    /// The area's presence as the live geofence holds it.
    pub fn presence(&self, area: usize) -> Presence {
        self.geofence.presence(area)
    }

    /// The areas changed (positions in the index with them): the geofence
    /// starts afresh, and the next few fixes re-decide a pending arrival.
    pub fn areas_changed(&mut self) {
        self.geofence = LiveGeofence::new();
    }

    /// Judges and places one valid fix.
    pub fn observe(&mut self, index: &AreaIndex, policies: &Policies, fix: &Fix, now_ms: i64) -> Step {
        let verdict = self.filter.assess(fix, now_ms);
        let geofence = if verdict.is_accepted() {
            self.geofence.observe(index, &policies.tracker, fix)
        } else {
            Vec::new()
        };
        let mut minutes_reached = None;
        let mut chunk_seq = None;
        if let Some(open) = self.open.as_mut() {
            if verdict.is_accepted() {
                let inside = index
                    .position(&open.area_id)
                    .is_some_and(|p| self.geofence.presence(p) == Presence::Inside);
                minutes_reached = open.count(inside, fix, &policies.tracker, &policies.compliance);
            }
            chunk_seq = open.grew();
        }
        Step {
            verdict,
            geofence,
            minutes_reached,
            chunk_seq,
        }
    }

    /// The fix of `step` was stored at `row`.
    pub fn stored(&mut self, row: i64, fix: &Fix) {
        self.last_fix = Some((row, fix.time_ms, fix.mono_ns));
    }

    pub fn check_in(&mut self, patrol: OpenPatrol) {
        self.open = Some(patrol);
    }

    /// Where a check-in or check-out fix joins the open patrol's track.
    pub fn attach(&self, fix: &Fix) -> Attach {
        match (self.last_fix, &self.open) {
            (Some((row, t, m)), Some(_)) if t == fix.time_ms && m == fix.mono_ns => Attach::Adopt(row),
            _ => Attach::Ingest,
        }
    }

    /// An adopted fix joined the open patrol; the chunk due, if any.
    pub fn adopted(&mut self) -> Option<u32> {
        self.open.as_mut().and_then(OpenPatrol::grew)
    }

    /// Closes the open patrol and hands it back.
    pub fn check_out(&mut self) -> Option<OpenPatrol> {
        self.open.take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::patrol::area::parse_areas;

    /// A 100 m square around (52.4785, -1.8985).
    fn index() -> AreaIndex {
        let (lat, lon) = (52.4785, -1.8985);
        let (dlat, dlon) = (0.00045, 0.00074);
        let ring = [
            [lon - dlon, lat - dlat],
            [lon + dlon, lat - dlat],
            [lon + dlon, lat + dlat],
            [lon - dlon, lat + dlat],
            [lon - dlon, lat - dlat],
        ];
        let text = serde_json::json!({
            "type": "FeatureCollection",
            "features": [{
                "type": "Feature",
                "properties": { "id": "sq", "name": "Square", "lpa": "Birmingham" },
                "geometry": { "type": "Polygon", "coordinates": [ring] }
            }]
        })
        .to_string();
        AreaIndex::new(parse_areas(&text).expect("areas"))
    }

    const T0: i64 = 1_780_000_000_000;

    fn at(i: i64, lat: f64) -> Fix {
        Fix::new(T0 + i * 1_000, 1_000_000_000 + i * 1_000_000_000, lat, -1.8985, 5.0)
    }

    #[test]
    fn minutes_reached_is_told_once_when_the_minimum_is_reached() {
        let policies = Policies::default();
        let index = index();
        let mut live = Live::new(&policies);
        live.check_in(OpenPatrol::new("p".into(), "sq".into(), T0));
        let mut told = Vec::new();
        for i in 0..(31 * 60) {
            let step = live.observe(&index, &policies, &at(i, 52.4785), T0 + i * 1_000);
            assert!(step.verdict.is_accepted());
            if let Some(m) = step.minutes_reached {
                told.push((i, m));
            }
        }
        assert_eq!(told.len(), 1, "{told:?}");
        let (i, minutes) = told[0];
        assert!((30.0..30.1).contains(&minutes), "{minutes}");
        // Arrival needs its dwell before minutes start to run.
        assert!((30 * 60..30 * 60 + 30).contains(&i), "{i}");
    }

    #[test]
    fn a_gap_longer_than_the_tracker_allows_counts_nothing() {
        let policies = Policies::default();
        let index = index();
        let mut live = Live::new(&policies);
        live.check_in(OpenPatrol::new("p".into(), "sq".into(), T0));
        for i in 0..60 {
            live.observe(&index, &policies, &at(i, 52.4785), T0);
        }
        let before = live.open().expect("open").inside_ms;
        // Ten minutes with no fix, then one more inside.
        live.observe(&index, &policies, &at(660, 52.4785), T0);
        assert_eq!(live.open().expect("open").inside_ms, before);
    }

    #[test]
    fn a_chunk_is_due_every_chunk_fixes_fixes_with_the_next_sequence_number() {
        let policies = Policies::default();
        let index = index();
        let mut live = Live::new(&policies);
        live.check_in(OpenPatrol::new("p".into(), "sq".into(), T0));
        let due: Vec<(i64, u32)> = (0..(2 * CHUNK_FIXES as i64 + 5))
            .filter_map(|i| {
                live.observe(&index, &policies, &at(i, 52.4785), T0)
                    .chunk_seq
                    .map(|s| (i, s))
            })
            .collect();
        assert_eq!(due, [(CHUNK_FIXES as i64 - 1, 1), (2 * CHUNK_FIXES as i64 - 1, 2)]);
        assert_eq!(live.open().expect("open").next_seq, 3);
    }

    #[test]
    fn without_a_patrol_nothing_is_counted_or_chunked() {
        let policies = Policies::default();
        let index = index();
        let mut live = Live::new(&policies);
        for i in 0..(CHUNK_FIXES as i64 + 1) {
            let step = live.observe(&index, &policies, &at(i, 52.4785), T0);
            assert_eq!((step.chunk_seq, step.minutes_reached), (None, None));
            assert!(live.open().is_none());
        }
    }

    #[test]
    fn the_check_in_fix_is_adopted_only_if_it_is_the_newest_stored_fix() {
        let policies = Policies::default();
        let mut live = Live::new(&policies);
        let fix = at(0, 52.4785);
        live.stored(7, &fix);
        assert_eq!(live.attach(&fix), Attach::Ingest, "no open patrol");
        live.check_in(OpenPatrol::new("p".into(), "sq".into(), T0));
        assert_eq!(live.attach(&fix), Attach::Adopt(7));
        assert_eq!(live.attach(&at(1, 52.4785)), Attach::Ingest);
    }

    #[test]
    fn a_resumed_patrol_past_the_minimum_does_not_tell_again() {
        let policies = Policies::default();
        let index = index();
        let mut live = Live::new(&policies);
        live.check_in(OpenPatrol::resumed(
            "p".into(),
            "sq".into(),
            T0,
            (4, 10),
            31.0,
            &policies.compliance,
        ));
        for i in 0..120 {
            assert_eq!(
                live.observe(&index, &policies, &at(i, 52.4785), T0).minutes_reached,
                None
            );
        }
        assert_eq!(live.open().expect("open").next_seq, 4);
    }
}
