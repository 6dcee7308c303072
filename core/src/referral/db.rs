//! SQL for the tables the referral module owns: drafts, referrals (the
//! receipt plus, until acknowledged, the personal part) and the boundary
//! data used for routing. Nothing else writes them.

use guardian_protocol::referral::{Outcome, ReasonCode, ReferralRecord, ReferralStatus, Urgency};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::authority::Authority;
use super::form::ReferralForm;
use super::{DraftSummary, Receipt};
use crate::store::{Purge, StoreError};

type Result<T, E = StoreError> = std::result::Result<T, E>;

fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

pub fn save_draft(tx: &Transaction<'_>, id: &str, officer_id: &str, form: &ReferralForm, now: i64) -> Result<()> {
    let json = serde_json::to_string(form).map_err(corrupt)?;
    tx.execute(
        "INSERT INTO referral_drafts (id, officer_id, form, created_ms, updated_ms) VALUES (?1, ?2, ?3, ?4, ?4)
         ON CONFLICT(id) DO UPDATE SET form = excluded.form, updated_ms = excluded.updated_ms",
        params![id, officer_id, json, now],
    )?;
    Ok(())
}

pub fn draft(conn: &Connection, id: &str) -> Result<Option<ReferralForm>> {
    let json: Option<String> = conn
        .query_row("SELECT form FROM referral_drafts WHERE id = ?1", [id], |r| r.get(0))
        .optional()?;
    json.map(|j| serde_json::from_str(&j).map_err(|_| corrupt("a referral draft is unreadable")))
        .transpose()
}

pub fn delete_draft(tx: &Transaction<'_>, id: &str) -> Result<bool> {
    Ok(tx.execute("DELETE FROM referral_drafts WHERE id = ?1", [id])? == 1)
}

/// Discards drafts last touched before `cutoff_ms`; returns how many.
pub fn discard_drafts_before(tx: &Transaction<'_>, cutoff_ms: i64) -> Result<usize> {
    Ok(tx.execute("DELETE FROM referral_drafts WHERE updated_ms < ?1", [cutoff_ms])?)
}

pub fn drafts(conn: &Connection, retention_ms: i64, warning_ms: i64, now: i64) -> Result<Vec<DraftSummary>> {
    let mut stmt =
        conn.prepare("SELECT id, created_ms, updated_ms, refused FROM referral_drafts ORDER BY updated_ms DESC")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, Option<String>>(3)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, created_ms, updated_ms, refused) = row?;
        let expires_ms = updated_ms + retention_ms;
        let warning = (expires_ms - now <= warning_ms).then(|| {
            let hours = ((expires_ms - now).max(0) as f64 / 3_600_000.0).ceil();
            format!("This draft will be discarded in {hours:.0} hour(s) unless it is submitted or edited.")
        });
        out.push(DraftSummary {
            id,
            created_ms,
            updated_ms,
            expires_ms,
            warning,
            refused,
        });
    }
    Ok(out)
}

pub struct NewReferral<'a> {
    pub id: &'a str,
    pub reference: &'a str,
    pub officer_id: &'a str,
    pub authority: Authority,
    pub reasons: &'a [ReasonCode],
    pub urgency: Urgency,
    pub created_ms: i64,
    pub patrol_id: Option<&'a str>,
    pub area_id: Option<&'a str>,
    /// The personal part, kept only until the force acknowledges it.
    pub personal: &'a str,
}

pub fn insert(tx: &Transaction<'_>, r: &NewReferral<'_>) -> Result<()> {
    let reasons = serde_json::to_string(r.reasons).map_err(corrupt)?;
    tx.execute(
        "INSERT INTO referrals (id, reference, officer_id, authority, reasons, urgency, created_ms, patrol_id, area_id,
             status, status_ms, personal)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'queued', ?7, ?10)",
        params![
            r.id,
            r.reference,
            r.officer_id,
            r.authority.slug(),
            reasons,
            r.urgency.as_str(),
            r.created_ms,
            r.patrol_id,
            r.area_id,
            r.personal
        ],
    )?;
    Ok(())
}

/// The force has the referral (its upload was acknowledged): the personal
/// part leaves the handset in the ack's own transaction.
pub fn on_acked(tx: &Transaction<'_>, id: &str, now: i64) -> Result<()> {
    tx.execute(
        "UPDATE referrals SET personal = NULL,
             status = CASE WHEN status = 'queued' THEN 'received' ELSE status END,
             status_ms = CASE WHEN status = 'queued' THEN ?2 ELSE status_ms END
         WHERE id = ?1",
        params![id, now],
    )?;
    Ok(())
}

/// The force refused the referral for good: it becomes a draft again under
/// its own id (the officer corrects and submits it anew, or it expires as
/// drafts do), and its receipt and its outbox row go, with the personal
/// part they held. The reason goes to the handset's audit (the force's
/// reasons name fields, never their values).
pub fn on_rejected(tx: &Transaction<'_>, id: &str, reason: &str, now: i64) -> Result<()> {
    let Some(payload) = crate::store::outbox::payload(tx, id)? else {
        return Ok(());
    };
    let rec: ReferralRecord =
        serde_json::from_slice(&payload).map_err(|_| corrupt("a queued referral is unreadable"))?;
    save_draft(tx, id, &rec.officer_id, &super::record::to_form(&rec), now)?;
    // The officer sees why beside the draft until it is sent again.
    tx.execute(
        "UPDATE referral_drafts SET refused = ?2 WHERE id = ?1",
        params![id, refusal_words(reason)],
    )?;
    tx.execute("DELETE FROM referrals WHERE id = ?1", [id])?;
    crate::store::outbox::remove(tx, id)?;
    crate::store::audit::record(
        tx,
        now,
        "referral_returned",
        &format!(
            "referral {} refused by the force ({reason}); back in the drafts",
            rec.reference
        ),
    )?;
    Ok(())
}

/// The force's reason as the officer reads it: its sentence, without the
/// slug the sync engine put in front (`officer-mismatch: …`).
fn refusal_words(reason: &str) -> String {
    let sentence = match reason.split_once(": ") {
        Some((slug, rest)) if !slug.contains(' ') && !rest.trim().is_empty() => rest.trim(),
        _ => reason.trim(),
    };
    format!("Returned by the force: {}.", sentence.trim_end_matches('.'))
}

/// How a referral ended, as the Navigators recorded it. Returns whether it
/// changed (updates may arrive again).
pub fn set_outcome(tx: &Transaction<'_>, id: &str, outcome: Outcome) -> Result<bool> {
    let changed = tx.execute(
        "UPDATE referrals SET outcome = ?2 WHERE id = ?1 AND outcome IS NOT ?2",
        params![id, outcome.as_str()],
    )?;
    Ok(changed > 0)
}

/// A Navigator-side update. Returns whether it changed anything (updates
/// may arrive again; statuses only move forward).
pub fn update_status(tx: &Transaction<'_>, id: &str, status: ReferralStatus, time_ms: i64) -> Result<bool> {
    let current: Option<String> = tx
        .query_row("SELECT status FROM referrals WHERE id = ?1", [id], |r| r.get(0))
        .optional()?;
    let Some(current) = current.and_then(|c| ReferralStatus::parse(&c)) else {
        return Ok(false);
    };
    if !current.advances_to(status) {
        return Ok(false);
    }
    // An update from the Navigators proves the force has the referral.
    tx.execute(
        "UPDATE referrals SET status = ?2, status_ms = ?3, personal = NULL WHERE id = ?1",
        params![id, status.as_str(), time_ms],
    )?;
    Ok(true)
}

/// The team that holds a referral now, as the force says (a transfer, or
/// the server's own routing). Returns whether it changed.
pub fn set_authority(tx: &Transaction<'_>, id: &str, authority: &str) -> Result<bool> {
    let changed = tx.execute(
        "UPDATE referrals SET authority = ?2 WHERE id = ?1 AND authority <> ?2",
        params![id, authority],
    )?;
    Ok(changed > 0)
}

pub fn receipts(conn: &Connection) -> Result<Vec<Receipt>> {
    let mut stmt = conn.prepare(
        "SELECT id, reference, authority, reasons, urgency, created_ms, status, status_ms, patrol_id, area_id,
                outcome
         FROM referrals ORDER BY created_ms DESC",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, i64>(5)?,
            r.get::<_, String>(6)?,
            r.get::<_, i64>(7)?,
            r.get::<_, Option<String>>(8)?,
            r.get::<_, Option<String>>(9)?,
            r.get::<_, Option<String>>(10)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, reference, authority, reasons, urgency, created_ms, status, status_ms, patrol_id, area_id, outcome) =
            row?;
        out.push(Receipt {
            id,
            reference,
            authority: Authority::parse(&authority).ok_or_else(|| corrupt("unknown authority"))?,
            reasons: serde_json::from_str(&reasons).map_err(corrupt)?,
            urgency: serde_json::from_value(serde_json::Value::String(urgency)).map_err(corrupt)?,
            created_ms,
            status: ReferralStatus::parse(&status).ok_or_else(|| corrupt("unknown referral status"))?,
            status_ms,
            patrol_id,
            area_id,
            // A code this build does not know reads as none, not as a fault.
            outcome: outcome.as_deref().and_then(Outcome::parse),
        });
    }
    Ok(out)
}

pub fn save_boundaries(tx: &Transaction<'_>, geojson: &str, now: i64) -> Result<()> {
    tx.execute(
        "INSERT INTO boundaries (singleton, geojson, updated_ms) VALUES (1, ?1, ?2)
         ON CONFLICT(singleton) DO UPDATE SET geojson = excluded.geojson, updated_ms = excluded.updated_ms",
        params![geojson, now],
    )?;
    Ok(())
}

pub fn boundaries(conn: &Connection) -> Result<Option<String>> {
    Ok(conn
        .query_row("SELECT geojson FROM boundaries WHERE singleton = 1", [], |r| r.get(0))
        .optional()?)
}

/// A sign-out takes the officer's drafts and referrals (receipts included);
/// the force's boundaries stay unless the handset is wiped.
pub fn purge(tx: &Transaction<'_>, scope: Purge) -> Result<()> {
    tx.execute_batch("DELETE FROM referral_drafts; DELETE FROM referrals;")?;
    if scope == Purge::Everything {
        tx.execute("DELETE FROM boundaries", [])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::refusal_words;

    #[test]
    fn the_forces_refusal_reads_as_a_sentence_without_its_slug() {
        assert_eq!(
            refusal_words("officer-mismatch: the record's officer is not the token's"),
            "Returned by the force: the record's officer is not the token's."
        );
        assert_eq!(
            refusal_words("bad-request: subject.name: is required."),
            "Returned by the force: subject.name: is required."
        );
        assert_eq!(refusal_words("no slug here"), "Returned by the force: no slug here.");
        assert_eq!(refusal_words("gone: "), "Returned by the force: gone:.");
    }
}
