//! One patrol in full: its area, window, recorded check-in and check-out,
//! every fix, and its report.

use crate::sql::{Tx, p};
use guardian_core::patrol::compliance::WindowRule;
use guardian_core::patrol::geofence::PreparedArea;
use guardian_protocol::wire::{RecordBody, RecordEnvelope};

use super::model::*;
use crate::areas::stored_area;
use crate::error::BackendError;
use crate::export;
use crate::records::{Patrols, patrols};

pub(super) fn patrol_detail(tx: &Tx<'_>, patrol_id: &str) -> Result<Option<PatrolDetail>, BackendError> {
    let Some(p) = patrols(tx, Patrols::One(patrol_id))?.into_iter().next() else {
        return Ok(None);
    };
    let area = stored_area(tx, &p.area_id).ok().flatten();
    let window = match &area {
        Some(a) => {
            let prepared = PreparedArea::new(a.clone());
            Some(match export::window_rule(tx, &p, &prepared)? {
                WindowRule::Between { start_ms, end_ms } => WindowText::Assignment {
                    assignment_id: p.assignment_id.clone().unwrap_or_default(),
                    start_ms,
                    end_ms,
                },
                WindowRule::Threat(ws) => WindowText::ThreatWindows {
                    windows: ws.iter().map(|w| describe_window(&w.to_spec())).collect(),
                },
                WindowRule::Any => WindowText::Any,
            })
        }
        None => None,
    };
    let outline = area.map(|a| AreaOutline {
        polygons: a
            .shape
            .0
            .iter()
            .map(|poly| {
                std::iter::once(poly.exterior())
                    .chain(poly.interiors())
                    .map(|ring| ring.coords().map(|c| [c.x, c.y]).collect())
                    .collect()
            })
            .collect(),
        area_id: a.id,
        name: a.name,
        lpa: a.lpa,
    });
    let (check_in, check_out) = recorded_points(tx, patrol_id)?;
    let fixes = export::track(tx, patrol_id)?
        .into_iter()
        .map(|t| FixPoint {
            time_ms: t.time_ms,
            lat: t.lat,
            lon: t.lon,
            accuracy_m: t.accuracy_m,
            verdict: t.verdict.as_str().to_string(),
        })
        .collect();
    let (report, not_judged) = if p.check_out_ms.is_some() {
        match export::judge_rows(tx, vec![p.clone()])
            .into_iter()
            .next()
            .map(|r| r.report)
        {
            Some(Ok(rep)) => (Some(rep), None),
            Some(Err(why)) => (None, Some(format!("it cannot be judged: {why}"))),
            None => (None, Some("it cannot be judged".to_string())),
        }
    } else {
        (
            None,
            Some("it has not been checked out yet; it is judged once it is".to_string()),
        )
    };
    Ok(Some(PatrolDetail {
        patrol_id: p.patrol_id.clone(),
        officer_id: p.officer_id.clone(),
        area_id: p.area_id.clone(),
        day: p.day(),
        check_in_ms: p.check_in_ms,
        check_out_ms: p.check_out_ms,
        area: outline,
        window,
        check_in,
        check_out,
        reasons: report
            .as_ref()
            .map(|r| r.reasons.iter().map(ToString::to_string).collect())
            .unwrap_or_default(),
        report,
        not_judged,
        fixes,
    }))
}

/// "Fri, Sat 23:00–02:00 (from 06-01 to 09-30)".
pub(super) fn describe_window(w: &guardian_core::patrol::WindowSpec) -> String {
    let days = if w.days.len() == 7 {
        "every day".to_string()
    } else {
        w.days
            .iter()
            .map(|d| {
                let mut c = d.chars();
                c.next()
                    .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                    .unwrap_or_default()
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let season = match (&w.from, &w.to) {
        (Some(f), Some(t)) => format!(" (from {f} to {t})"),
        _ => String::new(),
    };
    format!("{days} {}–{}{season}", w.start, w.end)
}

/// Where the handset stood at check-in and check-out, from the records as
/// received.
pub(super) fn recorded_points(
    tx: &Tx<'_>,
    patrol_id: &str,
) -> Result<(Option<RecordedPoint>, Option<RecordedPoint>), BackendError> {
    let bodies = tx.query_all("SELECT body FROM records WHERE patrol_id = ?1", p![patrol_id], |r| {
        r.get::<String>(0)
    })?;
    let (mut check_in, mut check_out) = (None, None);
    for body in bodies {
        let env: RecordEnvelope =
            serde_json::from_str(&body).map_err(|e| BackendError::Corrupt(format!("stored record: {e}")))?;
        let (slot, time_ms, lat, lon, accuracy_m) = match &env.body {
            RecordBody::CheckIn(b) => (&mut check_in, b.time_ms, b.lat, b.lon, b.accuracy_m),
            RecordBody::CheckOut(b) => (&mut check_out, b.time_ms, b.lat, b.lon, b.accuracy_m),
        };
        *slot = Some(RecordedPoint {
            time_ms,
            lat,
            lon,
            accuracy_m,
        });
    }
    Ok((check_in, check_out))
}
