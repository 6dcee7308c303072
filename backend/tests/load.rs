//! A week offline arriving at once (150k fixes in 150 chunks, 500 events):
//! every fix stored exactly once. The time is printed, not asserted (the
//! design's figure is measured by the benchmarks, not by a timed test).

mod common;

use std::time::Instant;

use common::*;

#[test]
fn a_week_of_fixes_arrives_exactly_once() {
    let w = World::new();
    let started = Instant::now();
    let patrols = 250;
    let per_patrol = 600;
    for p in 0..patrols {
        let patrol = format!("p-{p:03}");
        let t = T0 + p as i64 * 3_600_000;
        ok_json(w.record(
            &w.a,
            &check_in(&format!("{patrol}-in"), &patrol, "pc-a", "tgp-a", "constable", t),
        ));
        ok_json(w.chunk(&w.a, &format!("{patrol}-c1"), &patrol, 1, &walk(t, per_patrol)));
        ok_json(w.record(
            &w.a,
            &check_out(&format!("{patrol}-out"), &patrol, 2, t + per_patrol as i64 * 5_000),
        ));
    }
    let elapsed = started.elapsed();
    let s = w.stats();
    assert_eq!(s["fixes"], patrols * per_patrol);
    assert_eq!(s["records"], patrols * 2);
    assert_eq!(s["duplicate_fixes"], 0);
    eprintln!(
        "uploaded {} fixes and {} records in {elapsed:?}",
        patrols * per_patrol,
        patrols * 2
    );
}
