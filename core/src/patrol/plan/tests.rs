use super::*;

const T0: i64 = 1_780_000_000_000;

fn view(inside: bool, edge_m: f64, outside_m: f64) -> View {
    View {
        inside,
        edge_m,
        outside_m,
        deciding: false,
        patrol_open: true,
    }
}

fn at(secs: i64, lat: f64) -> Fix {
    Fix::new(
        T0 + secs * 1_000,
        5_000_000_000_000 + secs * 1_000_000_000,
        lat,
        -1.9,
        5.0,
    )
}

#[test]
fn near_an_edge_deciding_or_after_a_gap_the_plan_is_dense() {
    let p = PlanPolicy::default();
    for (v, recovering, reason) in [
        (view(true, 30.0, 0.0), false, PlanReason::NearEdge),
        (view(false, 20.0, 20.0), false, PlanReason::NearEdge),
        (
            View {
                deciding: true,
                ..view(true, 300.0, 0.0)
            },
            false,
            PlanReason::Deciding,
        ),
        (view(true, 300.0, 0.0), true, PlanReason::AfterGap),
    ] {
        let plan = p.decide(&v, Some(1.0), recovering);
        assert_eq!(plan.reason, reason, "{v:?}");
        assert_eq!(plan.interval_ms, 1_000);
        assert_eq!(plan.precision, Precision::High);
        assert_eq!(plan.distance_filter_m, 0.0);
    }
}

#[test]
fn inside_the_interval_grows_with_the_distance_to_the_edge_and_never_filters() {
    let p = PlanPolicy::default();
    let interval = |edge_m: f64| {
        let plan = p.decide(&view(true, edge_m, 0.0), Some(0.5), false);
        assert_eq!(plan.reason, PlanReason::SteadyInside);
        assert_eq!(plan.distance_filter_m, 0.0, "standing still must still be heard");
        plan.interval_ms
    };
    // (edge - 45 m band) at a brisk 2 m/s, stepped down, within 5 s..180 s.
    assert_eq!(interval(50.0), 5_000);
    assert_eq!(interval(100.0), 20_000);
    assert_eq!(interval(200.0), 60_000);
    assert_eq!(interval(300.0), 120_000);
    assert_eq!(interval(2_000.0), 180_000);
    // Never so sparse that a brisk walk reaches the band between fixes.
    for edge_m in [46.0, 60.0, 77.0, 150.0, 333.0, 405.0, 999.0] {
        let ms = interval(edge_m).max(p.steady_min_ms);
        if ms > p.steady_min_ms {
            assert!(ms as f64 / 1_000.0 * p.walk_mps <= edge_m - p.edge_band_m, "{edge_m}");
        }
    }
}

#[test]
fn moving_fast_near_an_area_is_dense_and_far_off_shortens_the_interval() {
    let p = PlanPolicy::default();
    assert_eq!(
        p.decide(&view(true, 300.0, 0.0), Some(4.0), false).reason,
        PlanReason::Fast
    );
    assert_eq!(
        p.decide(&view(false, f64::INFINITY, 150.0), Some(6.0), false).reason,
        PlanReason::Fast
    );
    let far = View {
        patrol_open: false,
        ..view(false, f64::INFINITY, 2_000.0)
    };
    let walking = p.decide(&far, Some(1.2), false);
    assert_eq!(walking.reason, PlanReason::FarAway);
    assert_eq!(walking.interval_ms, 60_000);
    assert_eq!(walking.precision, Precision::Balanced);
    assert_eq!(walking.distance_filter_m, 50.0);
    // In a car at 15 m/s, 1.7 km from the approach band: under two minutes
    // away, so ask every minute at most… and at 500 m out, every 10 s.
    let driving = p.decide(&far, Some(15.0), false);
    assert!(driving.interval_ms <= 60_000);
    let close = View {
        outside_m: 500.0,
        ..far
    };
    assert_eq!(p.decide(&close, Some(15.0), false).interval_ms, 10_000);
}

#[test]
fn outside_the_plan_approaches_travels_or_idles_by_distance_and_patrol() {
    let p = PlanPolicy::default();
    let approaching = p.decide(&view(false, 120.0, 120.0), None, false);
    assert_eq!(approaching.reason, PlanReason::Approaching);
    assert_eq!(approaching.interval_ms, 5_000);
    assert_eq!(approaching.precision, Precision::High);
    let travelling = p.decide(&view(false, f64::INFINITY, 1_000.0), None, false);
    assert_eq!(travelling.reason, PlanReason::Travelling);
    assert_eq!(travelling.interval_ms, 15_000);
    assert_eq!(travelling.precision, Precision::High);
    let idle = p.decide(
        &View {
            patrol_open: false,
            ..view(false, f64::INFINITY, f64::INFINITY)
        },
        None,
        false,
    );
    assert_eq!(idle.reason, PlanReason::FarAway);
    assert_eq!(idle.interval_ms, 60_000);
}

#[test]
fn the_allowance_is_what_was_asked_plus_the_grace_for_a_late_phone() {
    let p = PlanPolicy::default();
    let dense = p.decide(&view(true, 10.0, 0.0), None, false);
    assert_eq!(p.allowance_ms(&dense), 31_000);
    let steady = p.decide(&view(true, 300.0, 0.0), None, false);
    assert_eq!(p.allowance_ms(&steady), 150_000);
}

#[test]
fn a_gap_the_plan_did_not_ask_for_turns_it_dense_until_the_track_recovers() {
    let p = PlanPolicy::default();
    let mut planner = Planner::new(&p);
    assert_eq!(planner.plan().reason, PlanReason::NoFixYet);
    let deep = view(true, 300.0, 0.0);
    let changed = planner.observe(&p, &at(0, 52.48), true, Some(&deep));
    assert_eq!(changed.map(|c| c.reason), Some(PlanReason::SteadyInside));
    // The phone obeys (two minutes), a little late: still steady, no change.
    assert_eq!(planner.observe(&p, &at(140, 52.48), true, Some(&deep)), None);
    // Then silence for ten minutes (a tunnel): dense on the next fix, and
    // for the recovery time after it, whatever the view says.
    let plan = planner
        .observe(&p, &at(740, 52.48), true, Some(&deep))
        .expect("changed");
    assert_eq!(plan.reason, PlanReason::AfterGap);
    assert_eq!(planner.observe(&p, &at(750, 52.48), true, Some(&deep)), None);
    assert_eq!(planner.plan().reason, PlanReason::AfterGap);
    let back = planner
        .observe(&p, &at(761, 52.48), true, Some(&deep))
        .expect("changed");
    assert_eq!(back.reason, PlanReason::SteadyInside);
}

#[test]
fn an_overdue_fix_turns_the_plan_dense_but_silence_under_a_distance_filter_does_not() {
    let p = PlanPolicy::default();
    let mut planner = Planner::new(&p);
    planner.observe(&p, &at(0, 52.48), true, Some(&view(true, 100.0, 0.0)));
    let asked = planner.plan();
    assert_eq!(asked.interval_ms, 20_000);
    // The plan tells the shell the moment it must ask again: the same
    // moment the core's answer changes.
    assert_eq!(asked.overdue_after_ms, Some(50_001));
    assert_eq!(planner.at(&p, T0 + 50_000), asked);
    assert_eq!(planner.at(&p, T0 + 50_001).reason, PlanReason::AfterGap);

    let mut idle = Planner::new(&p);
    let far = View {
        patrol_open: false,
        ..view(false, f64::INFINITY, f64::INFINITY)
    };
    idle.observe(&p, &at(0, 52.48), true, Some(&far));
    assert!(!idle.plan().expects_fixes());
    assert_eq!(idle.plan().overdue_after_ms, None);
    // An hour without moving 50 m: no fix is owed.
    assert_eq!(idle.at(&p, T0 + 3_600_000).reason, PlanReason::FarAway);
    let next = idle.observe(&p, &at(3_600, 52.48), true, Some(&far));
    assert_eq!(next, None, "not a gap under a distance filter");
}

#[test]
fn a_reboot_is_a_gap_and_speed_comes_from_believed_fixes_only() {
    let p = PlanPolicy::default();
    let mut planner = Planner::new(&p);
    let deep = view(true, 300.0, 0.0);
    planner.observe(&p, &at(0, 52.48), true, Some(&deep));
    let mut rebooted = at(30, 52.48);
    rebooted.mono_ns = 1_000_000_000;
    assert_eq!(
        planner.observe(&p, &rebooted, true, Some(&deep)).map(|c| c.reason),
        Some(PlanReason::AfterGap)
    );
    // A spike the filter rejected says nothing of speed: 2 km in 1 s.
    let mut planner = Planner::new(&p);
    planner.observe(&p, &at(0, 52.48), true, Some(&deep));
    planner.observe(&p, &at(1, 52.50), false, None);
    planner.observe(&p, &at(2, 52.48), true, Some(&deep));
    assert_eq!(planner.plan().reason, PlanReason::SteadyInside);
    // A believed 2 km in 60 s is a vehicle: dense.
    planner.observe(&p, &at(62, 52.498), true, Some(&deep));
    assert_eq!(planner.plan().reason, PlanReason::Fast);
}

#[test]
fn a_vague_fix_still_moves_a_sparse_plan_when_the_officer_comes_close() {
    let p = PlanPolicy::default();
    let mut planner = Planner::new(&p);
    let far = View {
        patrol_open: false,
        ..view(false, f64::INFINITY, f64::INFINITY)
    };
    planner.observe(&p, &at(0, 52.48), true, Some(&far));
    assert_eq!(planner.plan().precision, Precision::Balanced);
    // A 100 m network fix (not believed) 250 m out: approaching, full
    // precision, so the next fixes can be believed.
    let coarse = View {
        outside_m: 150.0,
        ..far
    };
    let plan = planner
        .observe(&p, &at(60, 52.48), false, Some(&coarse))
        .expect("changed");
    assert_eq!(plan.reason, PlanReason::Approaching);
    assert_eq!(plan.precision, Precision::High);
}
