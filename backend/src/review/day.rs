//! The day view: a range of days' patrols summed overall, per area and per
//! local authority, and each drawn area's outcome.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;

use super::model::*;
use super::select::{AreaName, Draw, Judged, name_of};
use crate::export::{self, ExportRow};

pub(super) fn day_review(
    from: NaiveDate,
    to: NaiveDate,
    names: &HashMap<String, AreaName>,
    judged: Vec<Judged>,
    draws: &[Draw],
    assignments: &HashMap<(NaiveDate, String), Vec<AssignmentLine>>,
) -> DayReview {
    let rows: Vec<ExportRow> = judged.iter().map(|j| j.row.clone()).collect();
    let overall = export::summary(&rows);

    let mut per_area: BTreeMap<String, Vec<ExportRow>> = BTreeMap::new();
    let mut per_lpa: BTreeMap<String, Vec<ExportRow>> = BTreeMap::new();
    for r in &rows {
        per_area.entry(r.area_id.clone()).or_default().push(r.clone());
        let (_, lpa) = name_of(names, &r.area_id);
        per_lpa.entry(lpa.to_string()).or_default().push(r.clone());
    }
    let by_area = per_area
        .into_iter()
        .map(|(id, rows)| {
            let (name, lpa) = name_of(names, &id);
            GroupFigures {
                name: name.to_string(),
                lpa: lpa.to_string(),
                summary: export::summary(&rows),
                key: id,
            }
        })
        .collect();
    let by_authority = per_lpa
        .into_iter()
        .map(|(lpa, rows)| GroupFigures {
            key: lpa.clone(),
            name: lpa.clone(),
            lpa,
            summary: export::summary(&rows),
        })
        .collect();

    // (day, area) -> (patrols, compliant)
    let mut done: HashMap<(NaiveDate, &str), (usize, usize)> = HashMap::new();
    for j in &judged {
        let e = done.entry((j.day, j.row.area_id.as_str())).or_default();
        e.0 += 1;
        if j.row.report.as_ref().is_ok_and(|r| r.compliant) {
            e.1 += 1;
        }
    }
    let schedules = draws
        .iter()
        .map(|d| {
            let groups = d
                .chosen
                .iter()
                .map(|a| (a, Group::Assigned))
                .chain(d.not_chosen.iter().map(|a| (a, Group::Control)));
            let areas = groups
                .map(|(id, group)| {
                    let (name, lpa) = name_of(names, id);
                    let (patrols, compliant) = done.get(&(d.date, id.as_str())).copied().unwrap_or((0, 0));
                    ScheduledArea {
                        area_id: id.clone(),
                        name: name.to_string(),
                        lpa: lpa.to_string(),
                        group,
                        assignments: assignments.get(&(d.date, id.clone())).cloned().unwrap_or_default(),
                        patrols,
                        compliant_patrols: compliant,
                        outcome: outcome(patrols, compliant),
                    }
                })
                .collect();
            DaySchedule {
                date: d.date,
                seed: d.seed,
                fraction: d.fraction,
                areas,
            }
        })
        .collect();

    let unreadable = judged.iter().filter(|j| j.row.report.is_err()).count();
    let patrols = judged
        .into_iter()
        .map(|j| {
            let (name, lpa) = name_of(names, &j.row.area_id);
            let (name, lpa) = (name.to_string(), lpa.to_string());
            let r = j.row;
            let (rep, why) = match r.report {
                Ok(rep) => (Some(rep), None),
                Err(why) => (None, Some(why)),
            };
            PatrolLine {
                area_name: name,
                lpa,
                day: j.day,
                assignment_id: j.assignment_id,
                check_in_ms: r.check_in_ms,
                check_out_ms: r.check_out_ms,
                rank: rep.as_ref().map(|x| x.rank.as_str().to_string()),
                compliant: rep.as_ref().is_some_and(|x| x.compliant),
                minutes_in_area: rep.as_ref().map(|x| x.minutes_in_area),
                minutes_inside: rep.as_ref().map(|x| x.minutes_inside),
                minutes_at_edge: rep.as_ref().map(|x| x.minutes_at_edge),
                minutes_in_window: rep.as_ref().map(|x| x.minutes_in_window),
                reasons: rep
                    .as_ref()
                    .map(|x| x.reasons.iter().map(ToString::to_string).collect())
                    .unwrap_or_default(),
                unreadable: why,
                patrol_id: r.patrol_id,
                officer_id: r.officer_id,
                area_id: r.area_id,
            }
        })
        .collect();
    DayReview {
        from,
        to,
        overall,
        by_area,
        by_authority,
        schedules,
        patrols,
        unreadable,
    }
}

pub(super) fn outcome(patrols: usize, compliant: usize) -> Outcome {
    match (patrols, compliant) {
        (0, _) => Outcome::NoPatrol,
        (_, 0) => Outcome::NotCompliant,
        _ => Outcome::CompliantPatrol,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_area_patrolled_compliantly_once_counts_as_compliant() {
        assert_eq!(outcome(0, 0), Outcome::NoPatrol);
        assert_eq!(outcome(2, 0), Outcome::NotCompliant);
        assert_eq!(outcome(2, 1), Outcome::CompliantPatrol);
    }
}
