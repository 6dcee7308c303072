//! The evaluation's per-area table over the drawn days: assigned days
//! against control days, and its CSV.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use guardian_core::patrol::compliance::PatrolReport;

use super::model::{Evaluation, EvaluationRow};
use super::select::{AreaName, Draw, Judged, name_of};
use crate::export;

pub const EVALUATION_CSV_HEADER: &str = "area_id,name,lpa,days_drawn,days_assigned,days_control,assigned_days_with_compliant_patrol,patrols_on_assigned_days,compliant_patrols_on_assigned_days,minutes_on_assigned_days,minutes_inside_on_assigned_days,minutes_in_window_on_assigned_days,patrols_on_control_days,minutes_on_control_days";

pub(super) fn evaluation(
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    names: &HashMap<String, AreaName>,
    draws: &[Draw],
    judged: Vec<Judged>,
) -> Evaluation {
    let mut per_day: HashMap<(NaiveDate, &str), Vec<&PatrolReport>> = HashMap::new();
    let mut unreadable = 0;
    for j in &judged {
        match &j.row.report {
            Ok(rep) => per_day.entry((j.day, j.row.area_id.as_str())).or_default().push(rep),
            Err(_) => unreadable += 1,
        }
    }
    let mut rows: BTreeMap<&str, EvaluationRow> = BTreeMap::new();
    let empty = |id: &str| {
        let (name, lpa) = name_of(names, id);
        EvaluationRow {
            area_id: id.to_string(),
            name: name.to_string(),
            lpa: lpa.to_string(),
            days_drawn: 0,
            days_assigned: 0,
            days_control: 0,
            assigned_days_with_compliant_patrol: 0,
            patrols_on_assigned_days: 0,
            compliant_patrols_on_assigned_days: 0,
            minutes_on_assigned_days: 0.0,
            minutes_inside_on_assigned_days: 0.0,
            minutes_in_window_on_assigned_days: 0.0,
            patrols_on_control_days: 0,
            minutes_on_control_days: 0.0,
        }
    };
    for d in draws {
        for (id, assigned) in d
            .chosen
            .iter()
            .map(|a| (a, true))
            .chain(d.not_chosen.iter().map(|a| (a, false)))
        {
            let row = rows.entry(id.as_str()).or_insert_with(|| empty(id));
            row.days_drawn += 1;
            let reports = per_day.get(&(d.date, id.as_str())).map_or(&[][..], Vec::as_slice);
            if assigned {
                row.days_assigned += 1;
                let compliant = reports.iter().filter(|r| r.compliant).count();
                if compliant > 0 {
                    row.assigned_days_with_compliant_patrol += 1;
                }
                row.patrols_on_assigned_days += reports.len();
                row.compliant_patrols_on_assigned_days += compliant;
                for r in reports {
                    row.minutes_on_assigned_days += r.minutes_in_area;
                    row.minutes_inside_on_assigned_days += r.minutes_inside;
                    row.minutes_in_window_on_assigned_days += r.minutes_in_window;
                }
            } else {
                row.days_control += 1;
                row.patrols_on_control_days += reports.len();
                row.minutes_on_control_days += reports.iter().map(|r| r.minutes_in_area).sum::<f64>();
            }
        }
    }
    Evaluation {
        from,
        to,
        days_drawn: draws.len(),
        areas: rows.into_values().collect(),
        unreadable,
    }
}

/// The evaluation as CSV (minutes to two decimals; names made safe for a
/// spreadsheet, as the compliance CSV's are).
pub fn evaluation_csv(e: &Evaluation) -> String {
    let mut out = String::with_capacity(256 + e.areas.len() * 128);
    out.push_str(EVALUATION_CSV_HEADER);
    out.push('\n');
    for r in &e.areas {
        let fields = [
            export::field(&r.area_id),
            export::field(&r.name),
            export::field(&r.lpa),
            r.days_drawn.to_string(),
            r.days_assigned.to_string(),
            r.days_control.to_string(),
            r.assigned_days_with_compliant_patrol.to_string(),
            r.patrols_on_assigned_days.to_string(),
            r.compliant_patrols_on_assigned_days.to_string(),
            format!("{:.2}", r.minutes_on_assigned_days),
            format!("{:.2}", r.minutes_inside_on_assigned_days),
            format!("{:.2}", r.minutes_in_window_on_assigned_days),
            r.patrols_on_control_days.to_string(),
            format!("{:.2}", r.minutes_on_control_days),
        ];
        out.push_str(&fields.join(","));
        out.push('\n');
    }
    out
}
