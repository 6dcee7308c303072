//! The simulator's replay, run as a user runs it: the real binary on the real
//! fixture tracks in `../shared/fixtures` (or `$GUARDIAN_FIXTURES`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn fixtures() -> PathBuf {
    std::env::var_os("GUARDIAN_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("../shared/fixtures"))
}

fn track(name: &str) -> PathBuf {
    let p = fixtures().join("tracks").join(name);
    assert!(p.exists(), "fixture {} is missing (set GUARDIAN_FIXTURES)", p.display());
    p
}

fn areas() -> PathBuf {
    repo().join("sim/data/demo-areas.geojson")
}

fn sim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_guardian-sim"))
        .args(args)
        .output()
        .expect("run guardian-sim")
}

fn replay_json(track_name: &str, extra: &[&str]) -> serde_json::Value {
    replay_file(&track(track_name), extra)
}

fn replay_file(t: &Path, extra: &[&str]) -> serde_json::Value {
    let track_name = t.display().to_string();
    let a = areas();
    let mut args = vec![
        "replay",
        "--json",
        "--areas",
        a.to_str().expect("utf8"),
        "--track",
        t.to_str().expect("utf8"),
    ];
    args.extend_from_slice(extra);
    let out = sim(&args);
    assert!(
        out.status.success(),
        "{track_name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON object")
}

fn rejected(v: &serde_json::Value, reason: &str) -> u64 {
    v["fixes_rejected"][reason].as_u64().unwrap_or(0)
}

#[test]
fn every_fixture_track_replays_with_a_complete_report() {
    for name in [
        "simplify-relative.gpx",
        "cerknicko-jezero.gpx",
        "garmin-activity.gpx",
        "with_accuracy.gpx",
        "korita-zbevnica.gpx",
        "Mojstrovka.gpx",
        "skytraq-miniHomer2_8.gpx",
        "mtk_logger.gpx",
    ] {
        let v = replay_json(name, &[]);
        for key in [
            "area_id",
            "fixes_total",
            "fixes_accepted",
            "fixes_rejected",
            "arrival",
            "departure",
            "minutes_in_area",
            "inside_transitions",
            "distance_m",
            "compliant",
            "reasons",
        ] {
            assert!(v.get(key).is_some(), "{name}: no {key}");
        }
        let rejected_total: u64 = v["fixes_rejected"]
            .as_object()
            .expect("object")
            .values()
            .filter_map(|x| x.as_u64())
            .sum();
        assert_eq!(
            v["fixes_accepted"].as_u64().expect("n") + rejected_total + v["fixes_invalid"].as_u64().expect("n"),
            v["fixes_total"].as_u64().expect("n"),
            "{name}: every fix has a verdict"
        );
        let minutes = v["minutes_in_area"].as_f64().expect("minutes");
        assert!(minutes >= 0.0);
    }
}

#[test]
fn duplicate_timestamps_are_reported_as_rejections() {
    let v = replay_json("skytraq-miniHomer2_8.gpx", &[]);
    // 10 Hz logging with whole-second times: 7,372 repeats of a second.
    assert_eq!(rejected(&v, "duplicate_time"), 7_372);
}

#[test]
fn timestamps_in_1901_are_reported_as_rejections() {
    let v = replay_json("Mojstrovka.gpx", &[]);
    assert_eq!(rejected(&v, "implausible_time"), v["fixes_total"].as_u64().expect("n"));
    assert_eq!(v["fixes_accepted"], 0);
    assert_eq!(v["arrival"], serde_json::Value::Null);
    assert_eq!(v["compliant"], false);
}

#[test]
fn the_two_kilometre_jump_is_reported_as_a_rejection() {
    let v = replay_json("mtk_logger.gpx", &[]);
    assert!(rejected(&v, "impossible_speed") >= 1, "{v}");
    // The walk itself stays believable: nearly every fix is accepted and the
    // distance is the ~7 km walked, not inflated by the spikes.
    assert!(v["fixes_accepted"].as_u64().expect("n") > 800);
    let d = v["distance_m"].as_f64().expect("distance");
    assert!((5_000.0..9_000.0).contains(&d), "{d}");
}

#[test]
fn a_long_enough_patrol_by_a_constable_is_compliant_and_by_a_pcso_is_not() {
    let v = replay_json("garmin-activity.gpx", &["--area-id", "trk-garmin"]);
    assert_eq!(v["area_id"], "trk-garmin");
    assert_eq!(v["compliant"], true, "{v}");
    assert!(v["minutes_in_area"].as_f64().expect("m") >= 30.0);
    assert_eq!(v["inside_transitions"], 2);
    assert!(v["arrival"].as_str().expect("arrival").starts_with("2017-07-29T"));
    let v = replay_json("garmin-activity.gpx", &["--area-id", "trk-garmin", "--rank", "pcso"]);
    assert_eq!(v["compliant"], false);
    assert!(v["reasons"][0].as_str().expect("reason").contains("pcso"), "{v}");
}

#[test]
fn a_window_the_patrol_misses_makes_it_non_compliant() {
    // The Garmin jog ran 15:05–16:18 UTC (16:05–17:18 BST).
    let v = replay_json(
        "garmin-activity.gpx",
        &["--area-id", "trk-garmin", "--window", "22:00-00:00"],
    );
    assert_eq!(v["minutes_in_window"], 0.0);
    assert_eq!(v["compliant"], false);
    let v = replay_json(
        "garmin-activity.gpx",
        &["--area-id", "trk-garmin", "--window", "16:00-18:00"],
    );
    assert_eq!(v["compliant"], true, "{v}");
}

#[test]
fn a_track_that_never_enters_the_area_reports_no_arrival() {
    let v = replay_json("simplify-relative.gpx", &["--area-id", "demo-nowhere"]);
    assert_eq!(v["arrival"], serde_json::Value::Null);
    assert_eq!(v["departure"], serde_json::Value::Null);
    assert_eq!(v["compliant"], false);
    assert_eq!(v["inside_transitions"], 0);
    assert_eq!(v["fixes_total"], 100);
}

#[test]
fn malformed_input_is_a_clear_error_with_exit_code_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad_gpx = dir.path().join("bad.gpx");
    std::fs::write(&bad_gpx, "<gpx><trk><trkseg><trkpt lat=\"x\"").expect("write");
    let bad_areas = dir.path().join("bad.geojson");
    std::fs::write(&bad_areas, r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"id":"a","name":"n","lpa":"l"},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0.5]]]}}]}"#).expect("write");
    let good_track = track("simplify-relative.gpx");
    let good_areas = areas();
    let s = |p: &Path| p.to_str().expect("utf8").to_string();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec![s(&good_areas), s(&bad_gpx)], "not a valid GPX"),
        (vec![s(&bad_areas), s(&good_track)], "not closed"),
        (vec![s(&good_areas), s(&dir.path().join("missing.gpx"))], "missing.gpx"),
    ];
    for (files, expect) in cases {
        let out = sim(&["replay", "--areas", &files[0], "--track", &files[1]]);
        assert_eq!(out.status.code(), Some(2), "{files:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(expect), "{err}");
        assert!(out.stdout.is_empty());
    }
    let out = sim(&[
        "replay",
        "--areas",
        &s(&good_areas),
        "--track",
        &s(&good_track),
        "--area-id",
        "no-such-area",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-area"));
    let out = sim(&[
        "replay",
        "--areas",
        &s(&good_areas),
        "--track",
        &s(&good_track),
        "--window",
        "25:00-26:00",
    ]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn the_readable_report_names_the_verdict() {
    let t = track("simplify-relative.gpx");
    let a = areas();
    let out = sim(&[
        "replay",
        "--areas",
        a.to_str().expect("utf8"),
        "--track",
        t.to_str().expect("utf8"),
    ]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Freiburg"), "{text}");
    assert!(text.contains("NOT COMPLIANT"), "{text}");
    assert!(text.contains("30 required"), "{text}");
}

#[test]
fn bench_prints_every_figure_as_json() {
    let out = sim(&["bench", "--json", "--quick"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    for key in [
        "ingest_fixes_per_s",
        "raw_sqlite_rows_per_s",
        "ingest_ratio",
        "geofence_ns_per_fix",
        "linear_scan_ns_per_fix",
        "geofence_speedup",
        "cold_open_ms",
        "search_p99_ms",
        "status_us_12h",
        "cold_open_full_ms",
        "plan_fix_fraction",
        "plan_minutes_error_max",
    ] {
        let x = v[key].as_f64().unwrap_or(-1.0);
        assert!(x > 0.0, "{key} = {x}");
    }
    assert_eq!(v["geofence_areas"], 10_000);
    assert!(v["plan_arrival_error_s_max"].as_f64().is_some());
    assert_eq!(v["plan_tracks"].as_array().map(Vec::len), Some(6), "{v}");
    assert!(v["search_load"].as_str().is_some_and(|s| s.contains("busy")));
}

#[test]
fn the_demo_brings_an_offline_patrol_to_the_force_exactly_once() {
    let out = sim(&["demo", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    for key in [
        "records_acked",
        "records_rejected",
        "server_duplicates",
        "wire_bytes_per_fix",
        "compliance_percent",
        "constable_led_percent",
        "average_minutes",
    ] {
        assert!(v.get(key).is_some(), "no {key}");
    }
    assert!(
        v["records_queued"].as_u64().expect("n") >= 2,
        "some records waited for signal: {v}"
    );
    assert_eq!(v["records_pending"], 0);
    assert_eq!(v["records_rejected"], 0);
    assert_eq!(v["server_duplicates"], 0);
    assert!(v["records_acked"].as_u64().expect("n") >= 3);
    assert!(v["wire_bytes_per_fix"].as_f64().expect("x") <= 8.0);
    assert_eq!(v["server_patrols"], 1);
    // The force judged the patrol with the handset's rules.
    assert_eq!(
        v["compliance_percent"].as_f64().expect("x") == 100.0,
        v["patrol_compliant"] == true
    );
    assert!(
        (v["average_minutes"].as_f64().expect("x") - v["patrol_minutes_in_area"].as_f64().expect("x")).abs() < 0.01
    );
    // The walk is in Birmingham: it patrols a real hotspot, and the
    // referral made on it routes by the ward boundaries, not by choice.
    assert!(v["area_id"].as_str().expect("area").starts_with("bham-"), "{v}");
    assert_eq!(v["referral_authority"], "Birmingham", "{v}");
    assert_eq!(v["referral_routed"], true, "{v}");
    assert_eq!(v["referral_route_note"], serde_json::Value::Null);
    let split = v["patrol_minutes_inside"].as_f64().expect("x") + v["patrol_minutes_at_edge"].as_f64().expect("x");
    assert!(
        (split - v["patrol_minutes_in_area"].as_f64().expect("x")).abs() < 0.02,
        "{v}"
    );
}

#[test]
fn the_demo_walk_is_the_recorded_one_moved_rigidly_and_still_judged_alike() {
    // The same recording, untouched and moved onto Birmingham: the filter
    // believes the same fixes (a rigid motion keeps every step and speed).
    let original = replay_json("mtk_logger.gpx", &[]);
    let moved = replay_file(&repo().join("sim/data/demo-track-birmingham.gpx"), &[]);
    for key in ["fixes_total", "fixes_accepted", "fixes_rejected"] {
        assert_eq!(original[key], moved[key], "{key}");
    }
    assert_eq!(original["area_id"], "trk-mtk");
    assert_eq!(moved["area_id"], "bham-smallbrook-queensway");
}

#[test]
fn replay_with_the_plan_delivers_a_fraction_of_the_fixes_for_the_same_minutes() {
    for name in ["garmin-activity.gpx", "mtk_logger.gpx", "cerknicko-jezero.gpx"] {
        let v = replay_json(name, &["--plan"]);
        let p = &v["plan"];
        let delivered = p["fixes_delivered"].as_u64().expect("n");
        assert!(
            delivered > 10 && delivered < p["fixes_recorded"].as_u64().expect("n"),
            "{name}: {p}"
        );
        assert!(p["fraction_of_1hz"].as_f64().expect("x") <= 0.3, "{name}: {p}");
        let full = v["minutes_in_area"].as_f64().expect("m");
        assert!(
            p["minutes_error"].as_f64().expect("e") <= (0.05 * full).max(1.0),
            "{name}: {p}"
        );
        assert!(p["arrival_error_s"].as_f64().expect("s") <= 30.0, "{name}: {p}");
    }
    // Without --plan there is no comparison.
    assert!(replay_json("garmin-activity.gpx", &[]).get("plan").is_none());
}

#[test]
fn referral_routing_prints_the_authority_for_a_point() {
    for (lat, lon, expect) in [
        ("52.4797", "-1.9026", serde_json::json!("birmingham")),
        ("52.4081", "-1.5106", serde_json::json!("coventry")),
        ("52.6309", "-1.1398", serde_json::Value::Null),
    ] {
        let out = sim(&["referral", "--lat", lat, "--lon", lon, "--json"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        assert_eq!(v["authority"], expect, "{lat},{lon}");
    }
    let out = sim(&["referral", "--lat", "52.4797", "--lon", "-1.9026"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("Birmingham"));
    let out = sim(&["referral", "--lat", "95", "--lon", "0"]);
    assert_eq!(out.status.code(), Some(2));
}
