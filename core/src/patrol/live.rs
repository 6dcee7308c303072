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

use super::compliance::{CompliancePolicy, PatrolReport, TrackPoint, WindowRule};
use super::db::CHUNK_FIXES;
use super::filter::{FixFilter, Seen};
use super::geofence::AreaIndex;
use super::officer::Rank;
use super::plan::{PlanPolicy, Planner, SamplingPlan, View};
use super::presence::{GeofenceEvent, LiveGeofence};
use super::session::Policies;
use super::tally::PatrolTally;
use super::tracker::Presence;
use guardian_protocol::fix::{Fix, RejectReason, Verdict};

/// The open patrol, between check-in and check-out.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenPatrol {
    pub id: String,
    pub area_id: String,
    pub checkin_time_ms: i64,
    pub rank: Rank,
    /// When its minutes count.
    pub window: WindowRule,
    /// The next outbox sequence number in this patrol's causal order.
    pub next_seq: u32,
    /// Fixes of this patrol not yet packed into a track chunk.
    pub unchunked: usize,
    /// Every fix of the patrol up to this row is in a chunk.
    pub packed_upto: i64,
    /// Its figures, kept as fixes arrive: a report of the stored track
    /// folds the same code, so the two agree.
    tally: PatrolTally,
    minutes_reached: bool,
}

/// Where an open patrol's track stands in the outbox after a restart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Progress {
    /// The next outbox sequence number in the patrol's causal order.
    pub next_seq: u32,
    /// Fixes waiting to be packed into a chunk.
    pub unchunked: usize,
    /// Every fix up to this row is in a chunk.
    pub packed_upto: i64,
}

/// Who is patrolling where, and when it counts.
#[derive(Debug, Clone, PartialEq)]
pub struct PatrolStart {
    pub id: String,
    pub area_id: String,
    pub checkin_time_ms: i64,
    pub rank: Rank,
    pub window: WindowRule,
}

impl OpenPatrol {
    /// Just checked in: the check-in record took sequence number 0.
    pub fn new(start: PatrolStart, plan: &PlanPolicy) -> Self {
        Self {
            id: start.id,
            area_id: start.area_id,
            checkin_time_ms: start.checkin_time_ms,
            rank: start.rank,
            window: start.window,
            next_seq: 1,
            unchunked: 0,
            packed_upto: 0,
            tally: PatrolTally::new(plan),
            minutes_reached: false,
        }
    }

    /// Picked up again after a restart, with its tally of the stored track,
    /// so "minutes reached" is neither lost nor told twice.
    pub fn resumed(start: PatrolStart, progress: Progress, tally: PatrolTally, policy: &CompliancePolicy) -> Self {
        Self {
            next_seq: progress.next_seq,
            unchunked: progress.unchunked,
            packed_upto: progress.packed_upto,
            minutes_reached: tally.minutes_settled(policy) >= policy.min_minutes,
            tally,
            ..Self::new(start, &PlanPolicy::default())
        }
    }

    pub fn tally(&self) -> &PatrolTally {
        &self.tally
    }

    /// The tally rebuilt from the stored track (the area or the window
    /// changed under the patrol).
    pub fn retally(&mut self, tally: PatrolTally) {
        self.tally = tally;
    }

    /// The report as the patrol stands, without reading the track.
    pub fn report(&self, policy: &CompliancePolicy) -> PatrolReport {
        self.tally.report(&self.area_id, self.rank, None, policy)
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

    /// Tallies one fix of the track; the minutes, the first time they
    /// reach the minimum. Only settled minutes are told: a departure still
    /// in its dwell could take back the last few.
    fn count(&mut self, index: &AreaIndex, point: &TrackPoint, policies: &Policies) -> Option<f64> {
        let area = index.position(&self.area_id).and_then(|p| index.get(p))?;
        self.tally.observe(area, &self.window, point, policies);
        let minutes = self.tally.minutes_settled(&policies.compliance);
        if self.minutes_reached || minutes < policies.compliance.min_minutes {
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
    /// The sampling plan changed: the shell asks the OS for this now.
    pub plan: Option<SamplingPlan>,
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

/// The newest stored fix and the verdict it got.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LastFix {
    pub row: i64,
    pub point: TrackPoint,
}

#[derive(Debug, Clone)]
pub struct Live {
    filter: FixFilter,
    geofence: LiveGeofence,
    planner: Planner,
    last_fix: Option<LastFix>,
    open: Option<OpenPatrol>,
}

impl Live {
    pub fn new(policies: &Policies) -> Self {
        Self {
            filter: FixFilter::new(policies.filter),
            geofence: LiveGeofence::new(),
            planner: Planner::new(&policies.plan),
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
        last_fix: Option<LastFix>,
        open: Option<OpenPatrol>,
    ) -> Self {
        let mut geofence = LiveGeofence::new();
        let mut planner = Planner::new(&policies.plan);
        for fix in recent {
            geofence.observe(index, &policies.tracker, fix);
            let view = geofence.view(index, &policies.plan, fix, open.is_some());
            planner.observe(&policies.plan, fix, true, Some(&view));
        }
        Self {
            filter: FixFilter::resume(policies.filter, last_seen, anchor),
            geofence,
            planner,
            last_fix,
            open,
        }
    }

    /// What the shell should ask the OS for now (`now_ms`: wall time).
    pub fn plan(&self, policy: &PlanPolicy, now_ms: i64) -> SamplingPlan {
        self.planner.at(policy, now_ms)
    }

    pub fn open_mut(&mut self) -> Option<&mut OpenPatrol> {
        self.open.as_mut()
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
        let patrol_open = self.open.is_some();
        let view = match verdict {
            Verdict::Accepted => Some(self.geofence.view(index, &policies.plan, fix, patrol_open)),
            // Too vague to believe, but it still says how far away the
            // officer is: a coarse fix in a sparse plan must be able to
            // bring the plan back to full precision.
            Verdict::Rejected(RejectReason::PoorAccuracy) => Some(coarse_view(index, &policies.plan, fix, patrol_open)),
            Verdict::Rejected(_) => None,
        };
        let plan = self
            .planner
            .observe(&policies.plan, fix, verdict.is_accepted(), view.as_ref());
        let point = TrackPoint::of(fix, verdict);
        let mut minutes_reached = None;
        let mut chunk_seq = None;
        if let Some(open) = self.open.as_mut() {
            minutes_reached = open.count(index, &point, policies);
            chunk_seq = open.grew();
        }
        Step {
            verdict,
            geofence,
            minutes_reached,
            chunk_seq,
            plan,
        }
    }

    /// The fix of `step` was stored at `row`.
    pub fn stored(&mut self, row: i64, fix: &Fix, verdict: Verdict) {
        self.last_fix = Some(LastFix {
            row,
            point: TrackPoint::of(fix, verdict),
        });
    }

    pub fn check_in(&mut self, patrol: OpenPatrol) {
        self.open = Some(patrol);
    }

    /// Where a check-in or check-out fix joins the open patrol's track.
    pub fn attach(&self, fix: &Fix) -> Attach {
        match (self.last_fix, &self.open) {
            (Some(last), Some(_)) if last.point.time_ms == fix.time_ms && last.point.mono_ns == fix.mono_ns => {
                Attach::Adopt(last.row)
            }
            _ => Attach::Ingest,
        }
    }

    /// The newest stored fix joined the open patrol: it is tallied; the
    /// chunk due, if any.
    pub fn adopted(&mut self, index: &AreaIndex, policies: &Policies) -> Option<u32> {
        let point = self.last_fix?.point;
        let open = self.open.as_mut()?;
        open.count(index, &point, policies);
        open.grew()
    }

    /// Closes the open patrol and hands it back.
    pub fn check_out(&mut self) -> Option<OpenPatrol> {
        self.open.take()
    }
}

/// Where a fix too vague to believe puts the officer, erring close: how
/// far outside the nearest area it could be.
fn coarse_view(index: &AreaIndex, policy: &PlanPolicy, fix: &Fix, patrol_open: bool) -> View {
    let outside_m = index
        .nearest_outside_m(fix.lat, fix.lon, policy.approach_m + fix.accuracy_m)
        .map_or(f64::INFINITY, |d| (d - fix.accuracy_m).max(0.0));
    View {
        inside: false,
        edge_m: f64::INFINITY,
        outside_m,
        deciding: false,
        patrol_open,
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

    fn patrol() -> OpenPatrol {
        OpenPatrol::new(start(), &PlanPolicy::default())
    }

    fn start() -> PatrolStart {
        PatrolStart {
            id: "p".into(),
            area_id: "sq".into(),
            checkin_time_ms: T0,
            rank: Rank::Constable,
            window: WindowRule::Any,
        }
    }

    fn at(i: i64, lat: f64) -> Fix {
        Fix::new(T0 + i * 1_000, 1_000_000_000 + i * 1_000_000_000, lat, -1.8985, 5.0)
    }

    #[test]
    fn minutes_reached_is_told_once_when_the_minimum_is_reached() {
        let policies = Policies::default();
        let index = index();
        let mut live = Live::new(&policies);
        live.check_in(patrol());
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
        live.check_in(patrol());
        for i in 0..60 {
            live.observe(&index, &policies, &at(i, 52.4785), T0);
        }
        let minutes = |live: &Live| live.open().expect("open").report(&policies.compliance).minutes_in_area;
        let before = minutes(&live);
        assert!(before > 0.5, "{before}");
        // Ten minutes with no fix, then one more inside.
        live.observe(&index, &policies, &at(660, 52.4785), T0);
        assert_eq!(minutes(&live), before);
    }

    #[test]
    fn a_chunk_is_due_every_chunk_fixes_fixes_with_the_next_sequence_number() {
        let policies = Policies::default();
        let index = index();
        let mut live = Live::new(&policies);
        live.check_in(patrol());
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
        live.stored(7, &fix, Verdict::Accepted);
        assert_eq!(live.attach(&fix), Attach::Ingest, "no open patrol");
        live.check_in(patrol());
        assert_eq!(live.attach(&fix), Attach::Adopt(7));
        assert_eq!(live.attach(&at(1, 52.4785)), Attach::Ingest);
    }

    #[test]
    fn a_resumed_patrol_past_the_minimum_does_not_tell_again() {
        let policies = Policies::default();
        let index = index();
        let mut live = Live::new(&policies);
        let area = index.get(0).expect("area");
        let track: Vec<TrackPoint> = (0..(32 * 60))
            .map(|i| TrackPoint::of(&at(i, 52.4785), Verdict::Accepted))
            .collect();
        let tally = PatrolTally::of_track(area, &WindowRule::Any, &track, &policies);
        let progress = Progress {
            next_seq: 4,
            unchunked: 10,
            packed_upto: 0,
        };
        live.check_in(OpenPatrol::resumed(start(), progress, tally, &policies.compliance));
        for i in 0..120 {
            assert_eq!(
                live.observe(&index, &policies, &at(i, 52.4785), T0).minutes_reached,
                None
            );
        }
        assert_eq!(live.open().expect("open").next_seq, 4);
    }
}
