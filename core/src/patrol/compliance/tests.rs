use super::*;
use crate::patrol::area::parse_areas;

const T0: i64 = 1_689_368_400_000; // Fri 14 July 2023 21:00 UTC (22:00 BST)

/// A 200 m × 200 m square centred near New Street.
fn area() -> PreparedArea {
    let (lat, lon, dlat, dlon) = (52.4776, -1.9000, 0.0018, 0.00295);
    let text = serde_json::json!({"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"id": "sq", "name": "Square", "lpa": "Birmingham"},
        "geometry": {"type": "Polygon", "coordinates": [[[lon, lat], [lon + dlon, lat], [lon + dlon, lat + dlat], [lon, lat + dlat], [lon, lat]]]}}]})
    .to_string();
    PreparedArea::new(parse_areas(&text).expect("area").remove(0))
}

const INSIDE: (f64, f64) = (52.4785, -1.89852);
const OUTSIDE: (f64, f64) = (52.4766, -1.89852); // ~110 m south of the square

fn point(i: i64, (lat, lon): (f64, f64)) -> TrackPoint {
    // Small deterministic wiggle so it is a walk, not a statue.
    let w = ((i * 37) % 11) as f64 * 0.00001;
    TrackPoint {
        time_ms: T0 + i * 10_000,
        mono_ns: 1_000_000_000_000 + i * 10_000_000_000,
        lat: lat + w,
        lon: lon - w,
        accuracy_m: 6.0,
        verdict: Verdict::Accepted,
    }
}

/// Five fixes outside, `minutes` inside (fixes every 10 s), five outside.
fn patrol_track(minutes: i64) -> Vec<TrackPoint> {
    let inside_fixes = minutes * 6 + 1;
    let mut t = Vec::new();
    let mut i = 0;
    for _ in 0..5 {
        t.push(point(i, OUTSIDE));
        i += 1;
    }
    for _ in 0..inside_fixes {
        t.push(point(i, INSIDE));
        i += 1;
    }
    for _ in 0..5 {
        t.push(point(i, OUTSIDE));
        i += 1;
    }
    t
}

fn report(track: &[TrackPoint], rank: Rank, window: &WindowRule) -> PatrolReport {
    let area = area();
    let facts = PatrolFacts {
        area: &area,
        rank,
        window,
        checkout_ms: track.last().map(|p| p.time_ms),
        track,
    };
    assess(&facts, &Policies::default())
}

#[test]
fn a_constable_for_forty_minutes_is_compliant_with_exact_times() {
    let track = patrol_track(40);
    let r = report(&track, Rank::Constable, &WindowRule::Any);
    assert!(r.compliant, "{:?}", r.reasons);
    assert_eq!(r.minutes_in_area, 40.0);
    assert_eq!(r.arrival_ms, Some(track[5].time_ms));
    assert_eq!(r.departure_ms, Some(track[track.len() - 5].time_ms));
    assert_eq!(r.inside_transitions, 2);
    assert_eq!(r.fixes_total, track.len());
    assert!((r.inside_fraction - 241.0 / 251.0).abs() < 1e-9);
    assert!(r.distance_m > 2.0 * 180.0, "walked in and out: {}", r.distance_m);
}

#[test]
fn twenty_nine_minutes_is_too_short() {
    let r = report(&patrol_track(29), Rank::Constable, &WindowRule::Any);
    assert!(!r.compliant);
    assert_eq!(
        r.reasons,
        vec![NonCompliance::TooShort {
            minutes: 29.0,
            required: 30.0
        }]
    );
}

#[test]
fn a_pcso_led_patrol_is_not_compliant_however_long() {
    let r = report(&patrol_track(60), Rank::Pcso, &WindowRule::Any);
    assert_eq!(r.reasons, vec![NonCompliance::NotWarranted { rank: Rank::Pcso }]);
    let r = report(&patrol_track(60), Rank::SpecialConstable, &WindowRule::Any);
    assert!(r.compliant);
}

#[test]
fn a_track_that_never_enters_never_arrives() {
    let track: Vec<_> = (0..200).map(|i| point(i, OUTSIDE)).collect();
    let r = report(&track, Rank::Constable, &WindowRule::Any);
    assert_eq!(r.arrival_ms, None);
    assert_eq!(r.departure_ms, None);
    assert_eq!(r.minutes_in_area, 0.0);
    assert_eq!(r.reasons, vec![NonCompliance::NeverArrived]);
}

#[test]
fn only_minutes_inside_the_window_count() {
    let track = patrol_track(40);
    // The window closes 20 minutes after arrival.
    let window = WindowRule::Between {
        start_ms: T0 - 3_600_000,
        end_ms: track[5].time_ms + 20 * 60_000,
    };
    let r = report(&track, Rank::Constable, &window);
    assert_eq!(r.minutes_in_area, 40.0);
    assert_eq!(r.minutes_in_window, 20.0);
    assert_eq!(
        r.reasons,
        vec![NonCompliance::OutsideWindow {
            minutes_in_window: 20.0,
            required: 30.0
        }]
    );
    // The Ramp's 22:00–00:00 threat window holds the whole patrol (T0 is 22:00 BST).
    let ramp = WindowRule::Threat(vec![ThreatWindow::daily("22:00", "00:00").expect("window")]);
    assert!(report(&track, Rank::Constable, &ramp).compliant);
}

#[test]
fn rejected_fixes_are_counted_by_reason_and_ignored() {
    let mut track = patrol_track(35);
    // A spike outside mid-patrol, rejected by the filter, must not cause a departure.
    track[100] = TrackPoint {
        lat: 52.49,
        verdict: Verdict::Rejected(RejectReason::ImpossibleSpeed),
        ..track[100]
    };
    track[101].verdict = Verdict::Rejected(RejectReason::PoorAccuracy);
    track[102].verdict = Verdict::Rejected(RejectReason::PoorAccuracy);
    let r = report(&track, Rank::Constable, &WindowRule::Any);
    assert_eq!(r.fixes_rejected.get(&RejectReason::PoorAccuracy), Some(&2));
    assert_eq!(r.fixes_rejected.get(&RejectReason::ImpossibleSpeed), Some(&1));
    assert_eq!(r.fixes_accepted, track.len() - 3);
    assert_eq!(r.inside_transitions, 2);
    assert_eq!(r.minutes_in_area, 35.0);
}

/// The board's July figures: 73% compliant, 75% Constable-led, 50 minutes on
/// average. 100 patrols built so those are the true figures, each run
/// through the full assessment.
#[test]
fn the_boards_three_figures_come_out_of_a_known_set_of_patrols() {
    let mut plan = Vec::new();
    plan.extend(std::iter::repeat_n((Rank::Constable, 50), 73));
    plan.extend(std::iter::repeat_n((Rank::Sergeant, 20), 2));
    plan.extend(std::iter::repeat_n((Rank::Pcso, 50), 15));
    plan.extend(std::iter::repeat_n((Rank::Pcso, 56), 10));
    let outcomes: Vec<PatrolOutcome> = plan
        .iter()
        .map(|&(rank, minutes)| report(&patrol_track(minutes), rank, &WindowRule::Any).outcome())
        .collect();
    let s = summarise(&outcomes);
    assert_eq!(s.patrols, 100);
    assert_eq!(s.compliant, 73);
    assert_eq!(s.compliance_percent, 73.0);
    assert_eq!(s.constable_led_percent, 75.0);
    assert!((s.average_minutes - 50.0).abs() < 1e-9, "{}", s.average_minutes);
}

#[test]
fn an_empty_set_of_patrols_summarises_to_zeros() {
    let s = summarise(&[]);
    assert_eq!((s.patrols, s.compliance_percent, s.average_minutes), (0, 0.0, 0.0));
}
