use proptest::prelude::*;

use super::*;
use crate::patrol::area::parse_areas;
use crate::patrol::tracker::label_track;

const T0: i64 = 1_780_000_000_000;
const LAT: f64 = 52.48;
const LON0: f64 = -1.90;
const M_PER_DEG_LAT: f64 = 111_195.0;

/// A square `side_m` across whose west edge is at `LON0`; points are
/// placed on the east-west line through its middle, `x` metres east of
/// that edge (negative: outside to the west).
struct World {
    area: PreparedArea,
}

impl World {
    fn new(side_m: f64) -> Self {
        let dlon = side_m / (M_PER_DEG_LAT * LAT.to_radians().cos());
        let dlat = side_m / M_PER_DEG_LAT;
        let (s, n) = (LAT - dlat / 2.0, LAT + dlat / 2.0);
        let ring = [[LON0, s], [LON0 + dlon, s], [LON0 + dlon, n], [LON0, n], [LON0, s]];
        let text = serde_json::json!({"type": "FeatureCollection", "features": [{
            "type": "Feature", "properties": {"id": "sq", "name": "Square", "lpa": "Test"},
            "geometry": {"type": "Polygon", "coordinates": [ring]}}]})
        .to_string();
        let area = PreparedArea::new(parse_areas(&text).expect("area").remove(0));
        Self { area }
    }

    fn point(&self, secs: i64, x: f64, accuracy_m: f64) -> TrackPoint {
        let lon = LON0 + x / (M_PER_DEG_LAT * LAT.to_radians().cos());
        TrackPoint {
            time_ms: T0 + secs * 1_000,
            mono_ns: 7_000_000_000_000 + secs * 1_000_000_000,
            lat: LAT,
            lon,
            accuracy_m,
            verdict: Verdict::Accepted,
        }
    }

    fn report(&self, track: &[TrackPoint], policies: &Policies) -> PatrolReport {
        PatrolTally::of_track(&self.area, &WindowRule::Any, track, policies).report(
            "sq",
            Rank::Constable,
            track.last().map(|p| p.time_ms),
            &policies.compliance,
        )
    }
}

/// `n` fixes every `every` seconds from `from`, all at `x`.
fn stay(w: &World, from: i64, n: i64, every: i64, x: f64) -> Vec<TrackPoint> {
    (0..n).map(|k| w.point(from + k * every, x, 5.0)).collect()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[test]
fn steady_inside_at_one_hertz_counts_every_second_and_none_of_it_at_the_edge() {
    let w = World::new(400.0);
    let mut t = stay(&w, 0, 30, 1, -80.0);
    t.extend(stay(&w, 30, 40 * 60, 1, 200.0));
    t.extend(stay(&w, 30 + 40 * 60, 60, 1, -80.0));
    let r = w.report(&t, &Policies::default());
    // From the first inside fix to the last: dwell delays the decision,
    // never the clock.
    assert!(
        close(r.minutes_inside, (40.0 * 60.0 - 1.0) / 60.0),
        "{}",
        r.minutes_inside
    );
    assert_eq!(r.minutes_at_edge, 0.0);
    assert!(close(r.minutes_in_area, r.minutes_inside));
    assert_eq!(r.inside_transitions, 2);
    assert_eq!(r.arrival_ms, Some(t[30].time_ms));
    assert!(r.compliant, "{:?}", r.reasons);
}

#[test]
fn a_sparse_track_deep_inside_counts_when_the_plan_asked_for_it() {
    // A 1 km square: at its middle the plan asks every 3 minutes.
    let w = World::new(1_000.0);
    let mut t = stay(&w, 0, 20, 1, 500.0);
    t.extend(stay(&w, 19 + 170, 12, 170, 500.0));
    let r = w.report(&t, &Policies::default());
    let expected = (19.0 + 12.0 * 170.0) / 60.0;
    assert!(
        close(r.minutes_in_area, expected),
        "{} vs {expected}",
        r.minutes_in_area
    );
    // The old fixed rule (any gap over 120 s unknown) would have counted
    // only the first 19 s.
    assert!(r.minutes_in_area > 30.0);
}

#[test]
fn a_tunnel_near_the_edge_is_not_counted_but_the_trackers_two_minutes_are() {
    let w = World::new(400.0);
    // 20 m inside: dense plan, 1 s asked for; the tracker bridges 2 min.
    let mut t = stay(&w, 0, 60, 1, 20.0);
    t.extend(stay(&w, 59 + 100, 60, 1, 20.0)); // 100 s: counted
    t.extend(stay(&w, 59 + 100 + 59 + 300, 60, 1, 20.0)); // 5 min tunnel: not
    let r = w.report(&t, &Policies::default());
    let expected = (59.0 + 100.0 + 59.0 + 59.0) / 60.0;
    assert!(
        close(r.minutes_in_area, expected),
        "{} vs {expected}",
        r.minutes_in_area
    );
}

#[test]
fn a_phone_that_delivers_late_keeps_its_minutes_up_to_the_grace() {
    // At the middle of a 1 km square the plan asks every 3 minutes.
    let w = World::new(1_000.0);
    let lead = stay(&w, 0, 20, 1, 500.0);
    let mut late = lead.clone();
    late.extend(stay(&w, 19 + 200, 10, 200, 500.0));
    let r = w.report(&late, &Policies::default());
    assert!(
        close(r.minutes_in_area, (19.0 + 200.0 * 10.0) / 60.0),
        "{}",
        r.minutes_in_area
    );
    // 40 s later than asked is more than the 30 s grace: only the lead
    // counts (and the phone, now overdue, is asked for dense fixes).
    let mut too_late = lead;
    too_late.extend(stay(&w, 19 + 220, 10, 220, 500.0));
    let r = w.report(&too_late, &Policies::default());
    assert!(close(r.minutes_in_area, 19.0 / 60.0), "{}", r.minutes_in_area);
}

#[test]
fn walking_the_edge_is_credited_at_the_edge_and_the_force_may_refuse_it() {
    let w = World::new(400.0);
    // Ten minutes well inside, then ten walking 10 m outside the west edge
    // (within the 15 m exit margin: unsure, so the visit does not end),
    // then out for good.
    let mut t = stay(&w, 0, 10 * 60 + 1, 1, 100.0);
    t.extend(stay(&w, 601, 10 * 60, 1, -10.0));
    t.extend(stay(&w, 1201, 120, 1, -150.0));
    let mut policies = Policies::default();
    let r = w.report(&t, &policies);
    assert!(close(r.minutes_inside, 10.0), "{}", r.minutes_inside);
    // Into the first unsure fix, then between unsure fixes, up to the
    // departure's first out fix.
    assert!(close(r.minutes_at_edge, 10.0), "{}", r.minutes_at_edge);
    assert!(close(r.minutes_in_area, 20.0));
    assert_eq!(r.minutes_basis, MinutesBasis::InsideAndEdge);
    assert_eq!(r.inside_transitions, 2);
    assert_eq!(r.departure_ms, Some(t[1201].time_ms));

    policies.compliance.count_edge = false;
    policies.compliance.min_minutes = 15.0;
    let strict = w.report(&t, &policies);
    assert_eq!(strict.minutes_basis, MinutesBasis::InsideOnly);
    assert!(close(strict.minutes_in_area, 10.0));
    assert!(close(strict.minutes_at_edge, 10.0), "still reported");
    assert!(!strict.compliant);
    assert!(matches!(strict.reasons[0], NonCompliance::TooShort { minutes, .. } if minutes == 10.0));
    policies.compliance.count_edge = true;
    assert!(w.report(&t, &policies).compliant);
}

#[test]
fn zig_zagging_across_the_edge_splits_each_interval_by_its_two_fixes() {
    let w = World::new(400.0);
    let mut t = stay(&w, 0, 60, 1, 30.0);
    // Alternately 5 m inside and 8 m outside, one fix a second.
    t.extend((60..660).map(|s| w.point(s, if s % 2 == 0 { 5.0 } else { -8.0 }, 5.0)));
    let r = w.report(&t, &Policies::default());
    assert!(close(r.minutes_inside, 60.0 / 60.0), "{}", r.minutes_inside);
    assert!(close(r.minutes_at_edge, 599.0 / 60.0), "{}", r.minutes_at_edge);
    assert_eq!(r.inside_transitions, 1);
}

#[test]
fn a_departure_in_its_dwell_is_held_back_from_the_settled_minutes() {
    let w = World::new(400.0);
    let policies = Policies::default();
    let mut tally = PatrolTally::new(&policies.plan);
    for p in stay(&w, 0, 120, 1, 100.0) {
        tally.observe(&w.area, &WindowRule::Any, &p, &policies);
    }
    let settled = tally.minutes_settled(&policies.compliance);
    assert!(close(settled, 119.0 / 60.0), "{settled}");
    // 20 s clearly outside: a departure pending (dwell 30 s).
    for p in stay(&w, 120, 20, 1, -100.0) {
        tally.observe(&w.area, &WindowRule::Any, &p, &policies);
    }
    assert!(close(tally.minutes_settled(&policies.compliance), settled));
    // As the track stands (no departure confirmed), those 20 s count…
    let standing = tally.report("sq", Rank::Constable, None, &policies.compliance);
    assert!(
        close(standing.minutes_in_area, 139.0 / 60.0),
        "{}",
        standing.minutes_in_area
    );
    // …and once the departure is confirmed, they never did.
    for p in stay(&w, 140, 20, 1, -100.0) {
        tally.observe(&w.area, &WindowRule::Any, &p, &policies);
    }
    let done = tally.report("sq", Rank::Constable, None, &policies.compliance);
    assert!(close(done.minutes_in_area, settled), "{}", done.minutes_in_area);
    assert_eq!(done.departure_ms, Some(T0 + 120_000));
}

#[test]
fn a_saved_tally_reads_back_only_under_the_same_policies() {
    let w = World::new(400.0);
    let policies = Policies::default();
    let track = stay(&w, 0, 300, 1, 120.0);
    let tally = PatrolTally::of_track(&w.area, &WindowRule::Any, &track, &policies);
    let text = tally.save(&policies);
    assert_eq!(PatrolTally::restore(&text, &policies), Some(tally.clone()));
    let mut other = policies;
    other.plan.late_grace_ms = 10_000;
    assert_eq!(PatrolTally::restore(&text, &other), None);
    // Cut short, one field too many, a field spoiled: re-tally instead.
    assert_eq!(PatrolTally::restore(&text[..text.len() - 2], &policies), None);
    assert_eq!(PatrolTally::restore(&format!("{text},0"), &policies), None);
    assert_eq!(PatrolTally::restore(&text.replacen(",1,", ",x,", 1), &policies), None);
    assert_eq!(PatrolTally::restore("", &policies), None);
    // A tally with a pending run, rejected fixes and an edge split reads
    // back exactly too.
    let mut busy = stay(&w, 0, 100, 1, 60.0);
    busy.extend(stay(&w, 100, 20, 1, -10.0));
    busy.extend(stay(&w, 120, 10, 1, -100.0));
    busy[50].verdict = Verdict::Rejected(RejectReason::PoorAccuracy);
    busy[51].verdict = Verdict::Rejected(RejectReason::ClockJump);
    let tally = PatrolTally::of_track(&w.area, &WindowRule::Any, &busy, &policies);
    assert_eq!(PatrolTally::restore(&tally.save(&policies), &policies), Some(tally));
}

/// The tally kept fix by fix must say exactly what relabelling the whole
/// track says: labels from [`label_track`], time credited between fixes
/// both labelled inside, within what the plan asked at the first.
fn by_relabelling(w: &World, track: &[TrackPoint], policies: &Policies) -> (i64, i64, usize) {
    let believed: Vec<&TrackPoint> = track.iter().filter(|p| p.verdict.is_accepted()).collect();
    let samples: Vec<Sample> = believed
        .iter()
        .map(|p| {
            let prox = w.area.locate(0, p.lat, p.lon);
            Sample {
                time_ms: p.time_ms,
                mono_ns: p.mono_ns,
                accuracy_m: p.accuracy_m,
                inside: prox.inside,
                boundary_m: prox.boundary_m,
            }
        })
        .collect();
    let labels = label_track(&policies.tracker, &samples).labels;
    // The plan at each believed fix, from the tracker as it stood then.
    let mut tracker = AreaTracker::new();
    let mut planner = Planner::new(&policies.plan);
    let mut allowance = Vec::new();
    let mut k = 0;
    for p in track {
        if !p.verdict.is_accepted() {
            planner.observe(&policies.plan, &p.fix(), false, None);
            continue;
        }
        let s = &samples[k];
        tracker.observe(&policies.tracker, k as u64, s);
        let view = View {
            inside: tracker.presence() == Presence::Inside,
            edge_m: s.boundary_m,
            outside_m: if s.inside {
                0.0
            } else {
                (s.boundary_m - s.accuracy_m).max(0.0)
            },
            deciding: tracker.run_start().is_some(),
            patrol_open: true,
        };
        planner.observe(&policies.plan, &p.fix(), true, Some(&view));
        allowance.push(counted_gap_ms(policies, &planner.plan()));
        k += 1;
    }
    let (mut inside, mut edge) = (0, 0);
    for i in 1..samples.len() {
        if labels[i - 1] != Presence::Inside || labels[i] != Presence::Inside {
            continue;
        }
        let gap = (samples[i].mono_ns - samples[i - 1].mono_ns) / 1_000_000;
        if samples[i].mono_ns <= samples[i - 1].mono_ns || gap > allowance[i - 1] {
            continue;
        }
        if samples[i].inside && samples[i - 1].inside {
            inside += gap;
        } else {
            edge += gap;
        }
    }
    (inside, edge, labels.iter().filter(|l| **l == Presence::Inside).count())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Whatever the track does (in, out, along the edge, gaps, vague and
    /// rejected fixes), the tally kept as fixes arrive equals relabelling
    /// the finished track, and never credits more than the track lasted.
    #[test]
    fn the_running_tally_equals_relabelling_the_whole_track(
        steps in proptest::collection::vec(
            (-120.0f64..220.0, prop_oneof![1i64..3, 1i64..40, 60i64..400], 3.0f64..45.0, 0u8..20),
            2..400,
        ),
    ) {
        let w = World::new(400.0);
        let policies = Policies::default();
        let mut secs = 0;
        let track: Vec<TrackPoint> = steps
            .iter()
            .map(|&(x, dt, acc, reject)| {
                secs += dt;
                let mut p = w.point(secs, x, acc);
                if reject == 0 {
                    p.verdict = Verdict::Rejected(RejectReason::ImpossibleSpeed);
                }
                p
            })
            .collect();
        let r = w.report(&track, &policies);
        let (inside_ms, edge_ms, inside_fixes) = by_relabelling(&w, &track, &policies);
        prop_assert!(close(r.minutes_inside, inside_ms as f64 / 60_000.0), "{} vs {}", r.minutes_inside, inside_ms);
        prop_assert!(close(r.minutes_at_edge, edge_ms as f64 / 60_000.0), "{} vs {}", r.minutes_at_edge, edge_ms);
        let believed = track.iter().filter(|p| p.verdict.is_accepted()).count();
        if believed > 0 {
            prop_assert!(close(r.inside_fraction, inside_fixes as f64 / believed as f64));
        }
        let duration_min = (track[track.len() - 1].mono_ns - track[0].mono_ns) as f64 / 60e9;
        prop_assert!(r.minutes_in_area <= duration_min + 1e-9);
    }
}
