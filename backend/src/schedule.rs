//! The randomised daily assignment: "randomised by day and time and 50% of
//! the TGPs were patrolled each day" (the source). The areas not drawn on a
//! day are that day's control group, so the draw is recorded, seeded and
//! reproducible.
//!
//! Pure: areas, officers, a date, a fraction and a seed in; the plan out.

use crate::sql::{Tx, p};
use chrono::{NaiveDate, NaiveTime};
use guardian_core::patrol::{Area, ThreatWindow};
use guardian_protocol::time::london_instant;
use guardian_protocol::wire::AssignmentWire;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};

use crate::areas::active_areas;
use crate::backend::{Backend, now_ms};
use crate::db::{self, KEY_ASSIGN_VERSION};
use crate::error::BackendError;
use crate::officers::{OfficerRank, officer_ranks};

/// An area with no threat windows is patrolled in the evening peak.
pub const DEFAULT_WINDOW: (&str, &str) = ("20:00", "22:00");

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub assignments: Vec<AssignmentWire>,
    /// Eligible areas drawn for patrol, by id.
    pub chosen: Vec<String>,
    /// Eligible areas not drawn (the control group), by id.
    pub not_chosen: Vec<String>,
}

pub fn plan(
    date: NaiveDate,
    fraction: f64,
    seed: u64,
    areas: &[Area],
    officers: &[OfficerRank],
) -> Result<Plan, BackendError> {
    if !(0.0..=1.0).contains(&fraction) {
        return Err(BackendError::Invalid(format!(
            "fraction {fraction} is not between 0 and 1"
        )));
    }
    let default = ThreatWindow::daily(DEFAULT_WINDOW.0, DEFAULT_WINDOW.1)
        .map_err(|e| BackendError::Server(format!("default window: {e}")))?;
    // Sorted by id so the draw depends only on the seed, not on load order.
    let mut eligible: Vec<(&Area, Vec<(i64, i64)>)> = areas
        .iter()
        .filter_map(|a| {
            let windows = if a.windows.is_empty() {
                std::slice::from_ref(&default)
            } else {
                a.windows.as_slice()
            };
            let slots: Vec<(i64, i64)> = windows.iter().filter_map(|w| slot_on(w, date)).collect();
            (!slots.is_empty()).then_some((a, slots))
        })
        .collect();
    eligible.sort_by(|a, b| a.0.id.cmp(&b.0.id));

    let n = eligible.len();
    // n is a count of areas, far below 2^52, so the f64 round trip is exact.
    let k = ((fraction * n as f64).round() as usize).min(n);
    // StdRng's algorithm may change between rand versions; the draw itself is
    // recorded in `schedules`, so the evaluation never depends on re-running it.
    let mut rng = StdRng::seed_from_u64(seed);
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut rng);
    let mut picked: Vec<usize> = order[..k].to_vec();
    picked.sort_unstable();
    let mut rest: Vec<usize> = order[k..].to_vec();
    rest.sort_unstable();

    let mut roster: Vec<&OfficerRank> = officers.iter().collect();
    // Warranted officers first: a TGP must be led by one (use of powers).
    roster.sort_by(|a, b| (!a.rank.is_warranted(), &a.officer_id).cmp(&(!b.rank.is_warranted(), &b.officer_id)));
    if k > 0 && roster.is_empty() {
        return Err(BackendError::NoOfficers);
    }

    let mut assignments = Vec::with_capacity(k);
    for (i, &ix) in picked.iter().enumerate() {
        let (area, slots) = &eligible[ix];
        // "Randomised by day and time": an area with several windows that
        // day is patrolled in one of them, drawn.
        let (start_ms, end_ms) = if slots.len() > 1 {
            slots[rng.random_range(0..slots.len())]
        } else {
            slots[0]
        };
        let officer = &roster[i % roster.len()];
        assignments.push(AssignmentWire {
            id: format!("{date}-{:03}", i + 1),
            area_id: area.id.clone(),
            officer_id: officer.officer_id.clone(),
            start_ms,
            end_ms,
        });
    }
    Ok(Plan {
        assignments,
        chosen: picked.iter().map(|&i| eligible[i].0.id.clone()).collect(),
        not_chosen: rest.iter().map(|&i| eligible[i].0.id.clone()).collect(),
    })
}

/// The UTC [start, end) of `w` on `date` (London local), if it runs then
/// (its weekday and its season).
pub fn slot_on(w: &ThreatWindow, date: NaiveDate) -> Option<(i64, i64)> {
    if !w.runs_on_date(date) {
        return None;
    }
    let spec = w.to_spec();
    let start = local_instant(date, &spec.start)?;
    let end_date = if w.crosses_midnight() || spec.end == "24:00" {
        date.succ_opt()?
    } else {
        date
    };
    let end = if spec.end == "24:00" {
        local_instant(end_date, "00:00")?
    } else {
        local_instant(end_date, &spec.end)?
    };
    (end > start).then_some((start, end))
}

/// London wall-clock `hhmm` on `date` as UTC ms (the protocol's rule for
/// the autumn change and the spring gap).
fn local_instant(date: NaiveDate, hhmm: &str) -> Option<i64> {
    london_instant(date, NaiveTime::parse_from_str(hhmm, "%H:%M").ok()?)
}

// ---- the recorded draws (`schedules`, `assignments`) --------------------------

/// One day's recorded draw: the evaluation's treatment (`chosen`) and
/// control (`not_chosen`) areas.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleRun {
    pub date: NaiveDate,
    pub seed: u64,
    pub fraction: f64,
    pub chosen: Vec<String>,
    pub not_chosen: Vec<String>,
}

impl Backend {
    /// Draws `date`'s assignments (see [`plan`]) and records the
    /// draw, including the control group. A date is drawn once: re-drawing
    /// until a result looked better would void the randomised evaluation.
    pub fn schedule(&self, date: NaiveDate, fraction: f64, seed: u64) -> Result<Vec<AssignmentWire>, BackendError> {
        let now = now_ms();
        self.write(|tx| {
            let date_s = date.to_string();
            let exists: Option<i64> =
                tx.query_opt("SELECT 1 FROM schedules WHERE date = ?1", p![&date_s], |r| r.get(0))?;
            if exists.is_some() {
                return Err(BackendError::AlreadyScheduled(date));
            }
            let areas = active_areas(tx)?;
            let officers = officer_ranks(tx)?;
            let plan = plan(date, fraction, seed, &areas, &officers)?;
            let json = |ids: &[String]| serde_json::to_string(ids).unwrap_or_else(|_| "[]".into());
            tx.execute(
                "INSERT INTO schedules (date, seed, fraction, chosen, not_chosen, created_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                // SQLite integers are signed: the seed is stored as its bits.
                p![
                    date_s,
                    seed as i64,
                    fraction,
                    json(&plan.chosen),
                    json(&plan.not_chosen),
                    now
                ],
            )?;
            for a in &plan.assignments {
                tx.execute(
                    "INSERT INTO assignments (assignment_id, date, area_id, officer_id, start_ms, end_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    p![a.id, date_s, a.area_id, a.officer_id, a.start_ms, a.end_ms],
                )?;
            }
            db::bump(tx, KEY_ASSIGN_VERSION)?;
            Ok(plan.assignments)
        })
    }

    /// Every recorded draw, by date.
    pub fn schedule_runs(&self) -> Result<Vec<ScheduleRun>, BackendError> {
        self.read(|tx| runs_between(tx, None, None))
    }
}

/// The draws recorded from `from` to `to` (inclusive; open ends: all).
pub(crate) fn runs_between(
    tx: &Tx<'_>,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> Result<Vec<ScheduleRun>, BackendError> {
    // Open ends as the widest dates a `YYYY-MM-DD` column can hold.
    let from = from.map_or_else(|| "0000-00-00".to_string(), |d| d.to_string());
    let to = to.map_or_else(|| "9999-99-99".to_string(), |d| d.to_string());
    let rows = tx.query_all(
        "SELECT date, seed, fraction, chosen, not_chosen FROM schedules
         WHERE date >= ?1 AND date <= ?2 ORDER BY date",
        p![from, to],
        |r| {
            Ok((
                r.get::<String>(0)?,
                r.get::<i64>(1)?,
                r.get::<f64>(2)?,
                r.get::<String>(3)?,
                r.get::<String>(4)?,
            ))
        },
    )?;
    rows.into_iter()
        .map(|row| {
            let (date, seed, fraction, chosen, not_chosen) = row;
            let corrupt = |what: &str| BackendError::Corrupt(format!("schedule {date}: bad {what}"));
            Ok(ScheduleRun {
                date: date.parse().map_err(|_| corrupt("date"))?,
                // Stored as its bits (SQLite integers are signed).
                seed: seed as u64,
                fraction,
                chosen: serde_json::from_str(&chosen).map_err(|_| corrupt("chosen"))?,
                not_chosen: serde_json::from_str(&not_chosen).map_err(|_| corrupt("not_chosen"))?,
            })
        })
        .collect()
}

/// The officer's assignments, soonest first.
pub(crate) fn assignments_of(tx: &Tx<'_>, officer_id: &str) -> Result<Vec<AssignmentWire>, BackendError> {
    let rows = tx.query_all(
        "SELECT assignment_id, area_id, officer_id, start_ms, end_ms FROM assignments
         WHERE officer_id = ?1 ORDER BY start_ms, assignment_id",
        p![officer_id],
        |r| {
            Ok(AssignmentWire {
                id: r.get(0)?,
                area_id: r.get(1)?,
                officer_id: r.get(2)?,
                start_ms: r.get(3)?,
                end_ms: r.get(4)?,
            })
        },
    )?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use chrono_tz::Europe::London;
    use guardian_core::patrol::Rank;
    use guardian_core::patrol::parse_areas;

    fn areas(n: usize) -> Vec<Area> {
        let features: Vec<String> = (0..n)
            .map(|i| {
                let lon = -1.9 + i as f64 * 0.01;
                format!(
                    r#"{{"type":"Feature","properties":{{"id":"a{i:02}","name":"A{i}","lpa":"Birmingham"}},
                    "geometry":{{"type":"Polygon","coordinates":[[[{lon},52.48],[{},52.48],[{},52.481],[{lon},52.481],[{lon},52.48]]]}}}}"#,
                    lon + 0.001,
                    lon + 0.001
                )
            })
            .collect();
        parse_areas(&format!(
            r#"{{"type":"FeatureCollection","features":[{}]}}"#,
            features.join(",")
        ))
        .expect("areas")
    }

    fn officers() -> Vec<OfficerRank> {
        vec![
            OfficerRank {
                officer_id: "pcso-1".into(),
                rank: Rank::Pcso,
            },
            OfficerRank {
                officer_id: "pc-2".into(),
                rank: Rank::Constable,
            },
            OfficerRank {
                officer_id: "pc-1".into(),
                rank: Rank::Constable,
            },
        ]
    }

    fn date() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 7, 3).expect("date")
    }

    #[test]
    fn same_seed_same_plan_and_half_the_areas_drawn() {
        let a = areas(10);
        let p1 = plan(date(), 0.5, 42, &a, &officers()).expect("plan");
        let p2 = plan(date(), 0.5, 42, &a, &officers()).expect("plan");
        assert_eq!(p1, p2);
        assert_eq!(p1.chosen.len(), 5);
        assert_eq!(p1.not_chosen.len(), 5);
        let other = (0..20)
            .map(|s| plan(date(), 0.5, s, &a, &officers()).expect("plan").chosen)
            .filter(|c| *c != p1.chosen)
            .count();
        assert!(other > 0, "the seed must change the draw");
    }

    #[test]
    fn warranted_officers_are_assigned_first_round_robin() {
        let p = plan(date(), 0.3, 7, &areas(10), &officers()).expect("plan");
        let who: Vec<&str> = p.assignments.iter().map(|a| a.officer_id.as_str()).collect();
        assert_eq!(who, ["pc-1", "pc-2", "pcso-1"]);
    }

    #[test]
    fn default_window_is_the_evening_in_london_time() {
        let p = plan(date(), 1.0, 1, &areas(1), &officers()).expect("plan");
        // 3 July is BST (UTC+1): 20:00 local is 19:00 UTC.
        let start = London.with_ymd_and_hms(2026, 7, 3, 20, 0, 0).single().expect("local");
        assert_eq!(p.assignments[0].start_ms, start.timestamp_millis());
        assert_eq!(p.assignments[0].end_ms - p.assignments[0].start_ms, 2 * 3_600_000);
    }

    #[test]
    fn a_window_past_midnight_ends_the_next_day() {
        let w = ThreatWindow::daily("22:00", "00:00").expect("window");
        let (s, e) = slot_on(&w, date()).expect("runs");
        assert_eq!(e - s, 2 * 3_600_000);
        let w = ThreatWindow::daily("23:00", "01:30").expect("window");
        let (s, e) = slot_on(&w, date()).expect("runs");
        assert_eq!(e - s, 150 * 60_000);
    }

    #[test]
    fn a_fraction_outside_zero_to_one_is_refused() {
        for f in [-0.1, 1.5, f64::NAN] {
            assert!(matches!(
                plan(date(), f, 1, &areas(2), &officers()),
                Err(BackendError::Invalid(_))
            ));
        }
    }

    #[test]
    fn no_officers_is_an_error_only_when_something_is_drawn() {
        assert!(matches!(
            plan(date(), 0.5, 1, &areas(2), &[]),
            Err(BackendError::NoOfficers)
        ));
        assert!(plan(date(), 0.0, 1, &areas(2), &[]).is_ok());
    }
}
