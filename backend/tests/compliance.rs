//! The force's compliance export over patrols uploaded through HTTP, judged
//! with the core's own rules.

mod common;

use common::*;
use serde_json::json;

#[test]
fn a_compliant_and_a_non_compliant_patrol_give_the_boards_figures() {
    let w = World::new();
    compliant_short_and_open(&w);

    let summary = ok_json(w.get(&w.admin, "/v1/admin/compliance/summary"));
    assert_eq!(summary["patrols"], 2);
    assert_eq!(summary["compliant"], 1);
    assert_eq!(summary["compliance_percent"], 50.0);
    assert_eq!(summary["constable_led_percent"], 50.0);
    let avg = summary["average_minutes"].as_f64().expect("average");
    assert!((20.0..=25.5).contains(&avg), "average {avg}");
    // The split is reported beside what the verdicts counted.
    assert_eq!(summary["minutes_basis"], "inside_and_edge");
    let split = summary["average_minutes_inside"].as_f64().expect("inside")
        + summary["average_minutes_at_edge"].as_f64().expect("edge");
    assert!((split - avg).abs() < 1e-9, "{split} vs {avg}");

    let r = w.get(&w.admin, "/v1/admin/compliance.csv");
    assert_eq!(r.status().as_u16(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .expect("ct")
            .starts_with("text/csv"),
        "content type"
    );
    let csv = r.text().expect("csv");
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some(guardian_backend::CSV_HEADER));
    let rows: Vec<Vec<String>> = lines.map(split_csv).collect();
    assert_eq!(rows.len(), 2);
    let col = |name: &str| {
        guardian_backend::CSV_HEADER
            .split(',')
            .position(|c| c == name)
            .expect("column")
    };
    let good = rows.iter().find(|r| r[0] == "p-good").expect("good row");
    assert_eq!(good[col("officer_id")], "pc-a");
    assert_eq!(good[col("rank")], "constable");
    assert_eq!(good[col("area_id")], "tgp-a");
    assert_eq!(good[col("check_in")], "2026-07-03T19:00:00.000Z");
    assert_eq!(good[col("check_out")], "2026-07-03T19:40:00.000Z");
    assert!(good[col("arrival")].starts_with("2026-07-03T19:00"));
    let minutes: f64 = good[col("minutes_in_area")].parse().expect("minutes");
    assert!((39.0..=40.5).contains(&minutes), "{minutes}");
    let inside: f64 = good[col("minutes_inside")].parse().expect("inside");
    let edge: f64 = good[col("minutes_at_edge")].parse().expect("edge");
    assert!(
        (inside + edge - minutes).abs() <= 0.011,
        "{inside} + {edge} vs {minutes}"
    );
    assert_eq!(good[col("minutes_basis")], "inside_and_edge");
    assert!(good[col("distance_m")].parse::<f64>().expect("distance") > 100.0);
    assert_eq!(good[col("fixes")], "481");
    assert_eq!(good[col("compliant")], "true");
    assert_eq!(good[col("reasons")], "");

    let short = rows.iter().find(|r| r[0] == "p-short").expect("short row");
    // The force's record says PCSO, whatever the handset claimed.
    assert_eq!(short[col("rank")], "pcso");
    assert_eq!(short[col("compliant")], "false");
    let reasons = &short[col("reasons")];
    assert!(
        reasons.contains("required") && reasons.contains("pcso") && reasons.contains("; "),
        "{reasons}"
    );

    // The library gives the same figures.
    let stats = w.stats();
    assert_eq!(stats["duplicate_fixes"], 0);
    assert_eq!(stats["fixes"], 481 + 121);
}

#[test]
fn an_assignments_window_is_the_window_the_patrol_is_judged_in() {
    let w = World::new();
    // Friday 2026-07-03: all three areas run; pc-a is given tgp-a, 20:00–22:00 London.
    let made = ok_json(w.post(
        &w.admin,
        "/v1/admin/schedule",
        &json!({"date": "2026-07-03", "fraction": 1.0, "seed": 3}),
    ));
    let mine = made
        .as_array()
        .expect("array")
        .iter()
        .find(|a| a["area_id"] == "tgp-a")
        .expect("tgp-a assigned")
        .clone();
    assert_eq!(mine["officer_id"], "pc-a");
    let start = mine["start_ms"].as_i64().expect("start");
    assert_eq!(start, T0, "20:00 BST is 19:00 UTC");

    // 40 minutes in the area, but starting 25 minutes before the window.
    let early = T0 - 25 * 60_000;
    let mut env = check_in("in", "p-1", "pc-a", "tgp-a", "constable", early);
    if let guardian_protocol::wire::RecordBody::CheckIn(b) = &mut env.body {
        b.assignment_id = Some(mine["id"].as_str().expect("id").to_string());
    }
    ok_json(w.record(&w.a, &env));
    ok_json(w.chunk(&w.a, "c-1", "p-1", 1, &walk(early, 40 * 12 + 1)));
    ok_json(w.record(&w.a, &check_out("out", "p-1", 2, early + 40 * 60_000)));

    let csv = w.get(&w.admin, "/v1/admin/compliance.csv").text().expect("csv");
    let row = split_csv(csv.lines().nth(1).expect("row"));
    let col = |name: &str| {
        guardian_backend::CSV_HEADER
            .split(',')
            .position(|c| c == name)
            .expect("column")
    };
    assert_eq!(row[col("compliant")], "false");
    let in_window: f64 = row[col("minutes_in_window")].parse().expect("minutes");
    assert!((14.0..=15.5).contains(&in_window), "{in_window}");
    assert!(row[col("reasons")].contains("window"), "{}", row[col("reasons")]);
}

#[test]
fn another_officers_assignment_does_not_set_the_window() {
    let w = World::new();
    let made = ok_json(w.post(
        &w.admin,
        "/v1/admin/schedule",
        &json!({"date": "2026-07-03", "fraction": 1.0, "seed": 3}),
    ));
    let theirs = made
        .as_array()
        .expect("array")
        .iter()
        .find(|a| a["officer_id"] == "pc-b")
        .expect("pc-b has one")
        .clone();
    // PC Able names PC Baker's assignment for a patrol of tgp-a (no threat
    // windows): judged as unassigned, any time counts.
    let early = T0 - 25 * 60_000;
    let mut env = check_in("in", "p-1", "pc-a", "tgp-a", "constable", early);
    if let guardian_protocol::wire::RecordBody::CheckIn(b) = &mut env.body {
        b.assignment_id = Some(theirs["id"].as_str().expect("id").to_string());
    }
    ok_json(w.record(&w.a, &env));
    ok_json(w.chunk(&w.a, "c-1", "p-1", 1, &walk(early, 40 * 12 + 1)));
    ok_json(w.record(&w.a, &check_out("out", "p-1", 2, early + 40 * 60_000)));
    let summary = ok_json(w.get(&w.admin, "/v1/admin/compliance/summary"));
    assert_eq!(summary["compliant"], 1);
}

/// Splits one RFC 4180 line (no embedded newlines in these tests).
fn split_csv(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', true) => quoted = false,
            ('"', false) if field.is_empty() => quoted = true,
            (',', false) => out.push(std::mem::take(&mut field)),
            (c, _) => field.push(c),
        }
    }
    out.push(field);
    out
}
