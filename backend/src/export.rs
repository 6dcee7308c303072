//! The force's compliance export: every checked-out patrol judged with the
//! core's own `compliance::assess` (the same rules as the handset), against
//! the force's truth — the officer's rank from the officers table, the
//! assignment's window, the stored polygon.
//!
//! No stored row can fail the report: a patrol whose data cannot be judged
//! (its area gone, no rank, a damaged fix, even a panic in judging it) is
//! listed as unreadable, with why, and left out of the three figures; the
//! rest are judged as ever. Cells a spreadsheet would run as a formula are
//! neutralised (OWASP's advice), whatever is stored.

use std::collections::HashMap;

use crate::sql::{Tx, p};
use chrono::{DateTime, SecondsFormat};
use guardian_core::patrol::compliance::{self, ComplianceSummary, PatrolFacts, PatrolReport, TrackPoint, WindowRule};
use guardian_core::patrol::geofence::PreparedArea;
use guardian_core::patrol::{Policies, Rank, Verdict};

use crate::areas::stored_area;
use crate::backend::Backend;
use crate::error::BackendError;
use crate::records::{PatrolRow, Patrols, patrols};

/// `patrol_figures`: a patrol's report as judged just before its fixes
/// were erased (`report` JSON), or why it could not be judged (`why`).
const SCHEMA: &str = "
CREATE TABLE patrol_figures (
    patrol_id TEXT PRIMARY KEY,
    report    TEXT,
    why       TEXT,
    fixes     INTEGER NOT NULL,
    erased_ms INTEGER NOT NULL
);
";

pub(crate) const TABLES: crate::db::Schema = crate::db::Schema {
    name: "patrol_figures",
    stored: crate::db::Stored::Meta("patrol_figures_schema"),
    first: &[SCHEMA],
    fresh: &[SCHEMA],
    upgrades: &[],
};

/// A patrol's stored figures, once its fixes are gone: the report, or why
/// it could not be judged.
pub(crate) fn stored_figures(
    tx: &Tx<'_>,
    patrol_id: &str,
) -> Result<Option<Result<PatrolReport, String>>, BackendError> {
    let row: Option<(Option<String>, Option<String>)> = tx.query_opt(
        "SELECT report, why FROM patrol_figures WHERE patrol_id = ?1",
        p![patrol_id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok(row.map(|(report, why)| match report {
        Some(json) => serde_json::from_str(&json).map_err(|_| "its kept figures are unreadable".to_string()),
        None => Err(why.unwrap_or_else(|| "it was not judged before its fixes were erased".into())),
    }))
}

/// Keeps a patrol's figures (its report as JSON, or why it could not be
/// judged) as its fixes are erased; erased again (fixes that came late),
/// the first figures stay and the count grows.
pub(crate) fn keep_figures(
    tx: &Tx<'_>,
    patrol_id: &str,
    report: Option<&str>,
    why: Option<&str>,
    fixes: u64,
    now_ms: i64,
) -> Result<(), BackendError> {
    tx.execute(
        "INSERT INTO patrol_figures (patrol_id, report, why, fixes, erased_ms) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (patrol_id) DO UPDATE SET fixes = patrol_figures.fixes + excluded.fixes,
           erased_ms = excluded.erased_ms",
        p![patrol_id, report, why, i64::try_from(fixes).unwrap_or(i64::MAX), now_ms],
    )?;
    Ok(())
}

/// One patrol, judged or why it could not be.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportRow {
    pub patrol_id: String,
    pub officer_id: String,
    pub area_id: String,
    pub check_in_ms: i64,
    pub check_out_ms: i64,
    pub report: Result<PatrolReport, String>,
}

pub fn rows(tx: &Tx<'_>) -> Result<Vec<ExportRow>, BackendError> {
    Ok(judge_rows(tx, patrols(tx, Patrols::CheckedOut)?))
}

/// Each patrol judged by the core's rules, or why it could not be (the
/// review pages judge their selection of patrols here too).
pub(crate) fn judge_rows(tx: &Tx<'_>, patrols: Vec<PatrolRow>) -> Vec<ExportRow> {
    let policies = Policies::default();
    let mut areas: HashMap<String, Option<PreparedArea>> = HashMap::new();
    let mut out = Vec::with_capacity(patrols.len());
    for p in patrols {
        let judged = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| judge(tx, &p, &mut areas, &policies)));
        let report = match judged {
            Ok(Ok(report)) => Ok(report),
            Ok(Err(why)) => Err(why),
            Err(_) => Err("judging it failed".to_string()),
        };
        if let Err(why) = &report {
            tracing::error!(
                patrol_id = p.patrol_id.as_str(),
                why = why.as_str(),
                "patrol left out of the figures"
            );
        }
        out.push(ExportRow {
            patrol_id: p.patrol_id,
            officer_id: p.officer_id,
            area_id: p.area_id,
            check_in_ms: p.check_in_ms,
            check_out_ms: p.check_out_ms.unwrap_or_default(),
            report,
        });
    }
    out
}

/// One patrol through the core's rules; why not, when its stored data
/// cannot be judged.
fn judge(
    tx: &Tx<'_>,
    p: &PatrolRow,
    areas: &mut HashMap<String, Option<PreparedArea>>,
    policies: &Policies,
) -> Result<PatrolReport, String> {
    let checkout_ms = p.check_out_ms.ok_or("it has not been checked out")?;
    // Its fixes erased by retention: the figures judged just before stand.
    if let Some(kept) = stored_figures(tx, &p.patrol_id).map_err(|e| e.to_string())? {
        return kept;
    }
    if !areas.contains_key(&p.area_id) {
        let area = stored_area(tx, &p.area_id).map_err(|e| format!("its area cannot be read: {e}"))?;
        areas.insert(p.area_id.clone(), area.map(PreparedArea::new));
    }
    let area = areas
        .get(&p.area_id)
        .and_then(Option::as_ref)
        .ok_or("its area is not stored")?;
    let rank = officer_rank(tx, &p.officer_id)
        .map_err(|e| e.to_string())?
        .or_else(|| Rank::parse(&p.claimed_rank))
        .ok_or("no rank is known for its officer")?;
    let window = window_rule(tx, p, area).map_err(|e| e.to_string())?;
    let track = track(tx, &p.patrol_id).map_err(|e| e.to_string())?;
    let facts = PatrolFacts {
        area,
        rank,
        window: &window,
        checkout_ms: Some(checkout_ms),
        track: &track,
    };
    Ok(compliance::assess(&facts, policies))
}

/// The rank the force holds for the officer: the handset's claim is not
/// what compliance is judged on.
fn officer_rank(tx: &Tx<'_>, officer_id: &str) -> Result<Option<Rank>, BackendError> {
    let rank: Option<String> =
        tx.query_opt("SELECT rank FROM officers WHERE officer_id = ?1", p![officer_id], |r| {
            r.get(0)
        })?;
    Ok(rank.as_deref().and_then(Rank::parse))
}

/// The assignment's window if the check-in named one that exists, else the
/// area's threat windows, else any time — as the handset decides it. Only
/// an assignment of this officer to this area counts: the handset only ever
/// holds its own, and naming someone else's window must not change the
/// judgement.
pub(crate) fn window_rule(tx: &Tx<'_>, p: &PatrolRow, area: &PreparedArea) -> Result<WindowRule, BackendError> {
    if let Some(id) = &p.assignment_id {
        let span: Option<(i64, i64)> = tx.query_opt(
            "SELECT start_ms, end_ms FROM assignments
                 WHERE assignment_id = ?1 AND officer_id = ?2 AND area_id = ?3",
            p![id, &p.officer_id, &p.area_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        return Ok(WindowRule::for_patrol(span, &area.area.windows));
    }
    Ok(WindowRule::for_patrol(None, &area.area.windows))
}

pub(crate) fn track(tx: &Tx<'_>, patrol_id: &str) -> Result<Vec<TrackPoint>, BackendError> {
    let rows = tx.query_all(
        "SELECT time_ms, mono_ns, lat, lon, accuracy_m, verdict FROM fixes WHERE patrol_id = ?1
         ORDER BY seq, idx",
        p![patrol_id],
        |r| {
            Ok((
                TrackPoint {
                    time_ms: r.get(0)?,
                    mono_ns: r.get(1)?,
                    lat: r.get(2)?,
                    lon: r.get(3)?,
                    accuracy_m: r.get(4)?,
                    verdict: Verdict::Accepted,
                },
                r.get::<String>(5)?,
            ))
        },
    )?;
    rows.into_iter()
        .map(|row| {
            let (mut p, v) = row;
            p.verdict = Verdict::parse(&v).ok_or_else(|| BackendError::Corrupt(format!("unknown verdict {v:?}")))?;
            Ok(p)
        })
        .collect()
}

impl Backend {
    pub fn compliance_summary(&self) -> Result<ComplianceSummary, BackendError> {
        let rows = self.read(rows)?;
        Ok(summary(&rows))
    }

    pub fn compliance_csv(&self) -> Result<String, BackendError> {
        let rows = self.read(rows)?;
        Ok(csv(&rows))
    }
}

/// The board's three figures over the patrols that could be judged.
pub fn summary(rows: &[ExportRow]) -> ComplianceSummary {
    let outcomes: Vec<_> = rows
        .iter()
        .filter_map(|r| r.report.as_ref().ok())
        .map(PatrolReport::outcome)
        .collect();
    compliance::summarise(&outcomes)
}

pub const CSV_HEADER: &str = "patrol_id,officer_id,rank,area_id,check_in,check_out,arrival,departure,minutes_in_area,minutes_in_window,minutes_inside,minutes_at_edge,minutes_basis,distance_m,fixes,compliant,reasons";

pub fn csv(rows: &[ExportRow]) -> String {
    let mut out = String::with_capacity(64 + rows.len() * 160);
    out.push_str(CSV_HEADER);
    out.push('\n');
    for r in rows {
        let fields = match &r.report {
            Ok(rep) => {
                let reasons: Vec<String> = rep.reasons.iter().map(ToString::to_string).collect();
                [
                    field(&r.patrol_id),
                    field(&r.officer_id),
                    rep.rank.as_str().to_string(),
                    field(&rep.area_id),
                    rfc3339(Some(r.check_in_ms)),
                    rfc3339(Some(r.check_out_ms)),
                    rfc3339(rep.arrival_ms),
                    rfc3339(rep.departure_ms),
                    format!("{:.2}", rep.minutes_in_area),
                    format!("{:.2}", rep.minutes_in_window),
                    format!("{:.2}", rep.minutes_inside),
                    format!("{:.2}", rep.minutes_at_edge),
                    rep.minutes_basis.as_str().to_string(),
                    format!("{:.1}", rep.distance_m),
                    rep.fixes_total.to_string(),
                    rep.compliant.to_string(),
                    quoted(&neutral(&reasons.join("; "))),
                ]
            }
            Err(why) => [
                field(&r.patrol_id),
                field(&r.officer_id),
                String::new(),
                field(&r.area_id),
                rfc3339(Some(r.check_in_ms)),
                rfc3339(Some(r.check_out_ms)),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                "false".to_string(),
                quoted(&neutral(&format!("unreadable: {why}"))),
            ],
        };
        out.push_str(&fields.join(","));
        out.push('\n');
    }
    out
}

fn rfc3339(ms: Option<i64>) -> String {
    ms.filter(|&m| guardian_protocol::time::plausible_ms(m))
        .and_then(DateTime::from_timestamp_millis)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
        .unwrap_or_default()
}

/// Quoted only when it must be (RFC 4180), and never a formula.
pub(crate) fn field(s: &str) -> String {
    let s = neutral(s);
    if s.contains([',', '"', '\n', '\r']) {
        quoted(&s)
    } else {
        s
    }
}

/// A cell a spreadsheet would evaluate (`=`, `+`, `-`, `@`, tab or carriage
/// return first) gets a leading `'`, so it is shown as text.
fn neutral(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

fn quoted(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_with_separators_are_quoted_and_quotes_doubled() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(quoted(""), "\"\"");
    }

    #[test]
    fn formulas_are_shown_as_text() {
        for cell in ["=HYPERLINK(\"http://x\")", "+1", "-2", "@SUM(A1)", "\tx"] {
            let f = field(cell);
            assert!(f.starts_with('\'') || f.starts_with("\"'"), "{cell:?} -> {f}");
        }
        assert_eq!(field("wm-4471"), "wm-4471");
    }

    #[test]
    fn times_are_rfc3339_utc() {
        assert_eq!(rfc3339(Some(0)), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(None), "");
        assert_eq!(rfc3339(Some(i64::MIN)), "");
    }
}
