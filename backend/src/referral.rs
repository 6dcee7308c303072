//! Referrals to the VRP Navigator teams: stored once per id, routed to the
//! authority's team, moved forward by a Navigator, and seen by the referring
//! officer only as a receipt. Owns the `navigators`, `referrals` and
//! `referral_events` tables.
//!
//! A referral is about a child or young person: the most sensitive data the
//! force holds. Nothing personal (subject, narrative, consent reason,
//! location) is ever written to a log or quoted in an error reason: logs and
//! errors carry ids, the authority, reason codes and statuses only.

use chrono::NaiveDate;
use guardian_core::referral::authority::Authority;
use guardian_core::sync::protocol::{AckStatus, ReferralReceiptWire, ReferralRecord, ReferralStatus, ReferralUpdate};
use rusqlite::{OptionalExtension, Transaction, params};
use serde::{Deserialize, Serialize};

use crate::backend::{Backend, MAX_ID_LEN, MAX_NAME_LEN, RECORD_FORMAT, check_id, now_ms, replay, require_officer};
use crate::error::{ApiFailure, BackendError};

const SCHEMA_KEY: &str = "referrals_schema";
const SCHEMA_VERSION: i64 = 1;
/// `referrals.body` is the record as uploaded (authority as its slug): the
/// Navigator team's copy. The other columns are what receipts, routing and
/// status need without reading it. `referral_events` is every Navigator-side
/// status change; its `seq` is the change sequence officers' cursors count.
const SCHEMA: &str = "
CREATE TABLE navigators (
    navigator_id TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    authority    TEXT NOT NULL
);
CREATE TABLE referrals (
    referral_id TEXT PRIMARY KEY,
    officer_id  TEXT NOT NULL,
    authority   TEXT NOT NULL,
    reference   TEXT NOT NULL,
    reasons     TEXT NOT NULL,
    created_ms  INTEGER NOT NULL,
    body        TEXT NOT NULL,
    status      TEXT NOT NULL,
    status_ms   INTEGER NOT NULL,
    received_ms INTEGER NOT NULL
);
CREATE INDEX referrals_officer ON referrals (officer_id, created_ms);
CREATE INDEX referrals_authority ON referrals (authority, received_ms);
CREATE TABLE referral_events (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    referral_id  TEXT NOT NULL REFERENCES referrals (referral_id),
    officer_id   TEXT NOT NULL,
    navigator_id TEXT NOT NULL,
    status       TEXT NOT NULL,
    time_ms      INTEGER NOT NULL
);
CREATE INDEX referral_events_officer ON referral_events (officer_id, seq);
";

/// Creates the referral tables on first open (module-owned, versioned by a
/// `meta` counter, beside the backend's schema).
pub(crate) fn ensure_schema(tx: &Transaction<'_>) -> Result<(), BackendError> {
    crate::db::ensure_module_schema(tx, SCHEMA_KEY, SCHEMA_VERSION, SCHEMA, "referrals")
}

/// The subject's name.
pub const MAX_SUBJECT_NAME_LEN: usize = 100;
pub const MAX_NARRATIVE_LEN: usize = 4000;
/// Every other free-text field (reference, address, school, carer contact,
/// consent reason, "other" reason text).
pub const MAX_TEXT_LEN: usize = 500;
/// More reasons than there are codes is not a form the handset can make.
const MAX_REASONS: usize = 32;

pub const REASON_CODES: [&str; 9] = [
    "knife_carrying",
    "criminal_exploitation",
    "gang_association",
    "vawg_harmful_sexual_behaviour",
    "parent_in_prison",
    "missing_episodes",
    "school_exclusion",
    "mental_health",
    "other",
];
pub const URGENCIES: [&str; 3] = ["routine", "priority", "urgent"];
pub const CONSENT_STATES: [&str; 3] = ["given", "refused", "not_sought"];
pub const AUTHORITY_SOURCES: [&str; 2] = ["routed", "chosen"];

/// A referral as its authority's Navigator team sees it: the whole record,
/// personal data included (they need it to make contact), and where it
/// stands. `GET /v1/navigator/referrals`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NavigatorReferral {
    #[serde(flatten)]
    pub referral: ReferralRecord,
    pub status: ReferralStatus,
    /// When the status last changed (the receipt time while `received`).
    pub status_ms: i64,
    pub received_ms: i64,
}

fn bad_referral(reason: impl Into<String>) -> ApiFailure {
    ApiFailure::unprocessable("bad-referral", reason)
}

/// Order along the one way a referral moves.
fn rank(s: ReferralStatus) -> u8 {
    match s {
        ReferralStatus::Queued => 0,
        ReferralStatus::Received => 1,
        ReferralStatus::Assigned => 2,
        ReferralStatus::Contacted => 3,
        ReferralStatus::Closed => 4,
    }
}

impl Backend {
    /// Creates a Navigator on `authority`'s team, or updates their name and
    /// team. A Navigator sees and updates that authority's referrals only.
    pub fn create_navigator(
        &self,
        navigator_id: &str,
        display_name: &str,
        authority: Authority,
    ) -> Result<(), BackendError> {
        check_id("navigator_id", navigator_id, MAX_ID_LEN).map_err(BackendError::Invalid)?;
        check_id("display_name", display_name, MAX_NAME_LEN).map_err(BackendError::Invalid)?;
        self.write(|tx| {
            tx.execute(
                "INSERT INTO navigators (navigator_id, display_name, authority) VALUES (?1, ?2, ?3)
                 ON CONFLICT (navigator_id) DO UPDATE SET display_name = excluded.display_name,
                   authority = excluded.authority",
                params![navigator_id, display_name, authority.slug()],
            )?;
            Ok(())
        })
    }

    /// Moves a referral of the Navigator's own authority forward (assigned,
    /// contacted, closed; steps may be skipped) and records when, for the
    /// referring officer's next sync. Setting the status it already has is
    /// a retry and changes nothing. Another authority's referral is
    /// [`BackendError::UnknownReferral`], as if it did not exist.
    pub fn set_referral_status(
        &self,
        navigator_id: &str,
        referral_id: &str,
        status: ReferralStatus,
    ) -> Result<ReferralUpdate, BackendError> {
        if !matches!(
            status,
            ReferralStatus::Assigned | ReferralStatus::Contacted | ReferralStatus::Closed
        ) {
            return Err(BackendError::Invalid(format!(
                "a Navigator sets a referral to assigned, contacted or closed, not {}",
                status.as_str()
            )));
        }
        let now = now_ms();
        self.write(|tx| {
            let authority = require_navigator(tx, navigator_id)?;
            let row: Option<(String, String, i64)> = tx
                .query_row(
                    "SELECT officer_id, status, status_ms FROM referrals
                     WHERE referral_id = ?1 AND authority = ?2",
                    params![referral_id, authority.slug()],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?;
            let Some((officer_id, current, current_ms)) = row else {
                return Err(BackendError::UnknownReferral(referral_id.to_string()));
            };
            let current = ReferralStatus::parse(&current)
                .ok_or_else(|| BackendError::Corrupt(format!("referral {referral_id}: unknown stored status")))?;
            if current == status {
                return Ok(ReferralUpdate {
                    referral_id: referral_id.to_string(),
                    status,
                    time_ms: current_ms,
                });
            }
            if rank(status) < rank(current) {
                return Err(BackendError::BadTransition {
                    from: current,
                    to: status,
                });
            }
            tx.execute(
                "UPDATE referrals SET status = ?2, status_ms = ?3 WHERE referral_id = ?1",
                params![referral_id, status.as_str(), now],
            )?;
            // The event's sequence number is what an officer's sync cursor
            // counts: AUTOINCREMENT never reuses or goes back.
            tx.execute(
                "INSERT INTO referral_events (referral_id, officer_id, navigator_id, status, time_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![referral_id, officer_id, navigator_id, status.as_str(), now],
            )?;
            tracing::info!(
                referral_id,
                authority = authority.slug(),
                status = status.as_str(),
                "referral status changed"
            );
            Ok(ReferralUpdate {
                referral_id: referral_id.to_string(),
                status,
                time_ms: now,
            })
        })
    }

    /// Every referral routed to `authority`, oldest first, as uploaded.
    pub fn referrals_for(&self, authority: Authority) -> Result<Vec<ReferralRecord>, BackendError> {
        Ok(self
            .read(|tx| navigator_view(tx, authority))?
            .into_iter()
            .map(|n| n.referral)
            .collect())
    }

    pub fn referral_count(&self) -> Result<i64, BackendError> {
        self.read(|tx| Ok(tx.query_row("SELECT count(*) FROM referrals", [], |r| r.get(0))?))
    }

    // ---- what the HTTP handlers call --------------------------------------

    /// Stores a referral at most once per id, routed to its authority, with
    /// the status `received` (the ack is the receipt).
    pub(crate) fn submit_referral(&self, sub: &str, rec: &ReferralRecord, now: i64) -> Result<AckStatus, ApiFailure> {
        if rec.format != RECORD_FORMAT {
            return Err(ApiFailure::unprocessable(
                "unsupported-format",
                format!("referral format {} is not {RECORD_FORMAT}", rec.format),
            ));
        }
        check_id("id", &rec.id, MAX_ID_LEN).map_err(bad_referral)?;
        if rec.officer_id != sub {
            return Err(ApiFailure::forbidden(
                "the referral's officer_id is not the token's officer",
            ));
        }
        let today = chrono::DateTime::from_timestamp_millis(now)
            .map(|t| t.date_naive())
            .ok_or_else(|| BackendError::Server("the server clock is out of range".into()))?;
        self.write(|tx| {
            require_officer(tx, sub)?;
            let owner: Option<String> = tx
                .query_row(
                    "SELECT officer_id FROM referrals WHERE referral_id = ?1",
                    [&rec.id],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(owner) = owner {
                // A retry: answered from what is stored, whatever the body.
                return replay(tx, sub, &owner, "referral");
            }
            let authority = validate(rec, today)?;
            let mut stored = rec.clone();
            // Stored under the slug whatever form (ONS code, case) was sent,
            // so the team's query finds it.
            stored.authority = authority.slug().to_string();
            let codes: Vec<&str> = rec.reasons.iter().map(|r| r.code.as_str()).collect();
            let codes_json =
                serde_json::to_string(&codes).map_err(|e| BackendError::Server(format!("reasons to JSON: {e}")))?;
            let body =
                serde_json::to_string(&stored).map_err(|e| BackendError::Server(format!("referral to JSON: {e}")))?;
            tx.execute(
                "INSERT INTO referrals (referral_id, officer_id, authority, reference, reasons,
                   created_ms, body, status, status_ms, received_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)",
                params![
                    rec.id,
                    sub,
                    authority.slug(),
                    rec.reference,
                    codes_json,
                    rec.created_ms,
                    body,
                    ReferralStatus::Received.as_str(),
                    now
                ],
            )?;
            tracing::info!(
                referral_id = rec.id.as_str(),
                authority = authority.slug(),
                reasons = ?codes,
                "referral received"
            );
            Ok(AckStatus::Stored)
        })
    }

    /// The officer's own referrals, as receipts: no personal data.
    pub(crate) fn my_referrals(&self, sub: &str) -> Result<Vec<ReferralReceiptWire>, ApiFailure> {
        self.read(|tx| {
            require_officer(tx, sub)?;
            let mut stmt = tx.prepare_cached(
                "SELECT referral_id, reference, authority, reasons, created_ms, status FROM referrals
                 WHERE officer_id = ?1 ORDER BY created_ms, referral_id",
            )?;
            let rows = stmt.query_map([sub], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, i64>(4)?,
                    r.get::<_, String>(5)?,
                ))
            })?;
            rows.map(|row| {
                let (id, reference, authority, reasons, created_ms, status) = row?;
                let corrupt = |what: &str| BackendError::Corrupt(format!("referral {id}: bad stored {what}"));
                Ok(ReferralReceiptWire {
                    reasons: serde_json::from_str(&reasons).map_err(|_| corrupt("reasons"))?,
                    status: ReferralStatus::parse(&status).ok_or_else(|| corrupt("status"))?,
                    id,
                    reference,
                    authority,
                    created_ms,
                })
            })
            .collect()
        })
    }

    /// The calling Navigator's authority and every referral routed to it.
    pub(crate) fn navigator_referrals(&self, sub: &str) -> Result<(Authority, Vec<NavigatorReferral>), ApiFailure> {
        self.read(|tx| {
            let authority = require_navigator(tx, sub)?;
            Ok((authority, navigator_view(tx, authority)?))
        })
    }
}

fn require_navigator(tx: &Transaction<'_>, navigator_id: &str) -> Result<Authority, BackendError> {
    let slug: Option<String> = tx
        .query_row(
            "SELECT authority FROM navigators WHERE navigator_id = ?1",
            [navigator_id],
            |r| r.get(0),
        )
        .optional()?;
    let slug = slug.ok_or_else(|| BackendError::UnknownNavigator(navigator_id.to_string()))?;
    Authority::parse(&slug).ok_or_else(|| BackendError::Corrupt(format!("navigator {navigator_id}: unknown authority")))
}

fn navigator_view(tx: &Transaction<'_>, authority: Authority) -> Result<Vec<NavigatorReferral>, BackendError> {
    let mut stmt = tx.prepare_cached(
        "SELECT referral_id, body, status, status_ms, received_ms FROM referrals
         WHERE authority = ?1 ORDER BY received_ms, referral_id",
    )?;
    let rows = stmt.query_map([authority.slug()], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, i64>(3)?,
            r.get::<_, i64>(4)?,
        ))
    })?;
    rows.map(|row| {
        let (id, body, status, status_ms, received_ms) = row?;
        let corrupt = |what: &str| BackendError::Corrupt(format!("referral {id}: bad stored {what}"));
        Ok(NavigatorReferral {
            referral: serde_json::from_str(&body).map_err(|_| corrupt("body"))?,
            status: ReferralStatus::parse(&status).ok_or_else(|| corrupt("status"))?,
            status_ms,
            received_ms,
        })
    })
    .collect()
}

/// The latest change sequence number, and the officer's referral status
/// changes after `seen` in the order they happened.
pub(crate) fn updates_since(
    tx: &Transaction<'_>,
    officer_id: &str,
    seen: i64,
) -> Result<(i64, Vec<ReferralUpdate>), BackendError> {
    let latest: i64 = tx.query_row("SELECT coalesce(max(seq), 0) FROM referral_events", [], |r| r.get(0))?;
    let mut stmt = tx.prepare_cached(
        "SELECT referral_id, status, time_ms FROM referral_events
         WHERE officer_id = ?1 AND seq > ?2 ORDER BY seq",
    )?;
    let rows = stmt.query_map(params![officer_id, seen], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?))
    })?;
    let updates = rows
        .map(|row| {
            let (referral_id, status, time_ms) = row?;
            let status = ReferralStatus::parse(&status)
                .ok_or_else(|| BackendError::Corrupt(format!("referral {referral_id}: unknown event status")))?;
            Ok(ReferralUpdate {
                referral_id,
                status,
                time_ms,
            })
        })
        .collect::<Result<Vec<_>, BackendError>>()?;
    Ok((latest, updates))
}

/// Free text: present if `required`, at most `max` characters, no control
/// characters but line breaks and tabs. The reason names the field, never
/// the value.
fn check_text(field: &str, value: &str, max: usize, required: bool) -> Result<(), String> {
    if required && value.trim().is_empty() {
        return Err(format!("{field} is empty"));
    }
    if value.chars().count() > max {
        return Err(format!("{field} is longer than {max} characters"));
    }
    if value
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(format!("{field} contains control characters"));
    }
    Ok(())
}

fn check_opt_text(field: &str, value: &Option<String>, max: usize) -> Result<(), String> {
    value.as_deref().map_or(Ok(()), |v| check_text(field, v, max, false))
}

/// The server's rules for a referral it can store and route; the authority
/// it goes to. No stricter than the handset's form (a referral the handset
/// accepted must not be refused forever), but it refuses what the form
/// cannot produce. Reasons name fields only: the values may be personal.
fn validate(rec: &ReferralRecord, today: NaiveDate) -> Result<Authority, ApiFailure> {
    check_text("reference", &rec.reference, MAX_TEXT_LEN, true).map_err(bad_referral)?;
    // `created_ms` and `location.time_ms` are the handset's clocks, taken as
    // given: a child's referral is not refused forever over a wrong clock.
    let authority = Authority::parse(&rec.authority)
        .ok_or_else(|| bad_referral("authority is not one of the seven local authorities"))?;
    if !AUTHORITY_SOURCES.contains(&rec.authority_source.as_str()) {
        return Err(bad_referral("authority_source is not routed or chosen"));
    }
    if rec.reasons.is_empty() {
        return Err(bad_referral("reasons is empty"));
    }
    if rec.reasons.len() > MAX_REASONS {
        return Err(bad_referral(format!("more than {MAX_REASONS} reasons")));
    }
    for (i, r) in rec.reasons.iter().enumerate() {
        if !REASON_CODES.contains(&r.code.as_str()) {
            return Err(bad_referral(format!("reasons[{i}].code is not a known reason")));
        }
        check_opt_text(&format!("reasons[{i}].text"), &r.text, MAX_TEXT_LEN).map_err(bad_referral)?;
    }
    if !URGENCIES.contains(&rec.urgency.as_str()) {
        return Err(bad_referral("urgency is not routine, priority or urgent"));
    }
    if !CONSENT_STATES.contains(&rec.consent.state.as_str()) {
        return Err(bad_referral("consent.state is not given, refused or not_sought"));
    }
    check_opt_text("consent.reason", &rec.consent.reason, MAX_TEXT_LEN).map_err(bad_referral)?;
    check_text("narrative", &rec.narrative, MAX_NARRATIVE_LEN, false).map_err(bad_referral)?;

    let s = &rec.subject;
    check_text("subject.name", &s.name, MAX_SUBJECT_NAME_LEN, true).map_err(bad_referral)?;
    if let Some(dob) = &s.date_of_birth {
        let date = NaiveDate::parse_from_str(dob, "%Y-%m-%d")
            .map_err(|_| bad_referral("subject.date_of_birth is not YYYY-MM-DD"))?;
        // A day's grace: the handset judges "today" in London time, which
        // is a day ahead of UTC for an hour after midnight in summer.
        let latest = today.checked_add_days(chrono::Days::new(1)).unwrap_or(today);
        if date > latest {
            return Err(bad_referral("subject.date_of_birth is in the future"));
        }
        if date < NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(NaiveDate::MIN) {
            return Err(bad_referral("subject.date_of_birth is before 1900"));
        }
    }
    if s.estimated_age.is_some_and(|a| a > 120) {
        return Err(bad_referral("subject.estimated_age is over 120"));
    }
    check_opt_text("subject.address", &s.address, MAX_TEXT_LEN).map_err(bad_referral)?;
    check_opt_text("subject.school", &s.school, MAX_TEXT_LEN).map_err(bad_referral)?;
    check_opt_text("subject.carer_contact", &s.carer_contact, MAX_TEXT_LEN).map_err(bad_referral)?;

    // Where the referral was made is personal too: the reasons below give
    // the rule, never the coordinate.
    let l = &rec.location;
    if !(l.lat.is_finite() && (-90.0..=90.0).contains(&l.lat)) {
        return Err(bad_referral("location.lat is not a latitude"));
    }
    if !(l.lon.is_finite() && (-180.0..=180.0).contains(&l.lon)) {
        return Err(bad_referral("location.lon is not a longitude"));
    }
    if !(l.accuracy_m.is_finite() && l.accuracy_m >= 0.0) {
        return Err(bad_referral("location.accuracy_m is not a distance"));
    }
    if let Some(p) = &rec.patrol_id {
        check_id("patrol_id", p, MAX_ID_LEN).map_err(bad_referral)?;
    }
    if let Some(a) = &rec.area_id {
        check_id("area_id", a, MAX_ID_LEN).map_err(bad_referral)?;
    }
    Ok(authority)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_moves_one_way() {
        let order = [
            ReferralStatus::Queued,
            ReferralStatus::Received,
            ReferralStatus::Assigned,
            ReferralStatus::Contacted,
            ReferralStatus::Closed,
        ];
        for w in order.windows(2) {
            assert!(rank(w[0]) < rank(w[1]));
        }
    }

    #[test]
    fn free_text_allows_line_breaks_but_not_other_controls() {
        assert!(check_text("narrative", "line one\nline two\tend", 100, true).is_ok());
        assert!(check_text("narrative", "nul\u{0}", 100, true).is_err());
        assert!(check_text("narrative", " ", 100, true).is_err());
        assert!(check_text("narrative", "", 100, false).is_ok());
        assert!(check_text("narrative", &"é".repeat(101), 100, false).is_err());
    }

    #[test]
    fn a_reason_names_the_field_not_the_value() {
        let e = check_text("subject.name", &"Jane Doe ".repeat(20), 100, true).expect_err("too long");
        assert!(!e.contains("Jane"), "{e}");
    }
}
