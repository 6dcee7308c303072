use proptest::prelude::*;

use super::*;

/// A 1-D world: the boundary is at x = 0, inside is x < 0. One fix a second.
fn sample(i: i64, x: f64, accuracy_m: f64) -> Sample {
    Sample {
        time_ms: 1_700_000_000_000 + i * 1000,
        mono_ns: 50_000_000_000 + i * 1_000_000_000,
        accuracy_m,
        inside: x < 0.0,
        boundary_m: x.abs(),
    }
}

fn walk(xs: &[f64]) -> Vec<Sample> {
    xs.iter().enumerate().map(|(i, &x)| sample(i as i64, x, 8.0)).collect()
}

#[test]
fn arrival_is_confirmed_after_the_dwell_and_dated_to_the_first_inside_fix() {
    let mut xs = vec![40.0; 10];
    xs.extend(vec![-20.0; 60]);
    let l = label_track(&TrackerPolicy::default(), &walk(&xs));
    assert_eq!(l.transitions.len(), 1);
    let t = l.transitions[0];
    assert_eq!(t.to, Presence::Inside);
    assert_eq!(t.since_seq, 10);
    assert!(l.labels[..10].iter().all(|p| *p == Presence::Outside));
    assert!(l.labels[10..].iter().all(|p| *p == Presence::Inside));
}

#[test]
fn a_brief_visit_shorter_than_the_dwell_is_not_an_arrival() {
    let mut xs = vec![40.0; 10];
    xs.extend(vec![-5.0; 10]); // 10 s inside, dwell is 15 s
    xs.extend(vec![40.0; 30]);
    let l = label_track(&TrackerPolicy::default(), &walk(&xs));
    assert!(l.transitions.is_empty());
    assert!(l.labels.iter().all(|p| *p == Presence::Outside));
}

#[test]
fn departure_needs_out_evidence_beyond_margin_and_accuracy() {
    let policy = TrackerPolicy::default();
    // Inside, then standing 12 m outside (within the 15 m margin): unsure.
    let mut xs = vec![-20.0; 30];
    xs.extend(vec![12.0; 120]);
    let l = label_track(&policy, &walk(&xs));
    assert_eq!(l.transitions.len(), 1, "only the arrival");
    // 25 m outside with 40 m accuracy is still unsure (credit capped at 30).
    let mut s = walk(&vec![-20.0; 30]);
    s.extend((30..150).map(|i| sample(i, 25.0, 40.0)));
    assert_eq!(label_track(&policy, &s).transitions.len(), 1);
    // 35 m outside with 40 m accuracy is out.
    let mut s = walk(&vec![-20.0; 30]);
    s.extend((30..150).map(|i| sample(i, 35.0, 40.0)));
    let l = label_track(&policy, &s);
    assert_eq!(l.transitions.len(), 2);
    assert_eq!(l.transitions[1].to, Presence::Outside);
    assert_eq!(l.transitions[1].since_seq, 30);
}

#[test]
fn a_gap_breaks_a_pending_arrival() {
    let policy = TrackerPolicy::default();
    let s = vec![
        sample(0, -5.0, 5.0),
        sample(10, -5.0, 5.0),
        sample(300, -5.0, 5.0),
        sample(301, 40.0, 5.0),
    ];
    let l = label_track(&policy, &s);
    // 0 → 10 s is not yet 15 s; 10 → 300 s is a gap, so no run spans it.
    assert!(l.transitions.is_empty());
}

proptest! {
    /// Standing still anywhere, with position jitter smaller than half the
    /// unsure band, an officer is confirmed in or out at most once.
    #[test]
    fn bounded_jitter_never_flaps(
        true_x in -60.0f64..60.0,
        accuracy in 3.0f64..45.0,
        jitter in proptest::collection::vec(-1.0f64..1.0, 50..400),
        gaps in proptest::collection::vec(1i64..20, 400),
    ) {
        let policy = TrackerPolicy::default();
        let band = policy.exit_margin_m.max(accuracy.min(policy.accuracy_credit_cap_m));
        let bound = band / 2.0 - 0.01;
        let mut t = 0;
        let samples: Vec<Sample> = jitter
            .iter()
            .zip(&gaps)
            .map(|(j, g)| {
                t += g;
                sample(t, true_x + j * bound, accuracy)
            })
            .collect();
        let l = label_track(&policy, &samples);
        prop_assert!(l.transitions.len() <= 1, "{} transitions", l.transitions.len());
    }

    /// Whatever the track does, transitions alternate, starting with an
    /// arrival. (Time inside: `tally` tests.)
    #[test]
    fn transitions_alternate_starting_with_an_arrival(
        steps in proptest::collection::vec((-80.0f64..80.0, 1i64..300, 2.0f64..60.0), 2..300),
    ) {
        let policy = TrackerPolicy::default();
        let mut t = 0;
        let samples: Vec<Sample> = steps
            .iter()
            .map(|&(x, dt, acc)| {
                t += dt;
                sample(t, x, acc)
            })
            .collect();
        let l = label_track(&policy, &samples);
        for (k, tr) in l.transitions.iter().enumerate() {
            let expected = if k % 2 == 0 { Presence::Inside } else { Presence::Outside };
            prop_assert_eq!(tr.to, expected);
        }
    }
}
