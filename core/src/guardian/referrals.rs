//! Referral calls on [`GuardianCore`]: thin orchestration of the rules in
//! `crate::referral` with the store, the clock and the outbox.

use std::sync::Arc;

use chrono::TimeZone;
use chrono_tz::Europe::London;

use super::{GuardianCore, lock};
use crate::error::Result;
use crate::referral::{
    self, Boundaries, DRAFT_RETENTION_MS, DRAFT_WARNING_MS, DraftSummary, Receipt, ReferralError, ReferralForm,
    RoutePreview, ValidReferral, db,
};
use crate::sync::outbox;
use crate::sync::protocol::{ConsentWire, LocationWire, ReasonWire, ReferralRecord, ReferralStatus, SubjectWire};

/// The referral record format this build writes.
pub const REFERRAL_FORMAT: u32 = 1;

impl GuardianCore {
    fn boundaries(&self) -> Arc<Boundaries> {
        Arc::clone(&self.boundaries.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// Where a referral made here goes, or why the officer must choose.
    pub fn route_referral(&self, lat: f64, lon: f64) -> RoutePreview {
        let b = self.boundaries();
        match b.route(lat, lon) {
            Some(a) => RoutePreview {
                authority: Some(a),
                needs_choice: None,
            },
            None => RoutePreview {
                authority: None,
                needs_choice: Some(unrouted_reason(&b).to_string()),
            },
        }
    }

    /// Saves a draft (creating it when `id` is None). Every edit is durable:
    /// a draft survives the app being killed.
    pub fn save_referral_draft(&self, id: Option<&str>, form: &ReferralForm) -> Result<String> {
        let officer = self.officer()?.ok_or(ReferralError::NoOfficer)?;
        let id = match id {
            Some(id) => id.to_string(),
            None => uuid::Uuid::now_v7().to_string(),
        };
        let now = self.now_ms();
        self.store
            .write(|tx| db::save_draft(tx, &id, &officer.officer_id, form, now))?;
        Ok(id)
    }

    pub fn referral_draft(&self, id: &str) -> Result<ReferralForm> {
        Ok(self
            .store
            .read(|tx| db::draft(tx, id))?
            .ok_or(ReferralError::UnknownDraft)?)
    }

    /// The drafts, newest first, each with its expiry and a warning once
    /// close to it. Drafts past the retention limit are discarded first.
    pub fn referral_drafts(&self) -> Result<Vec<DraftSummary>> {
        let now = self.now_ms();
        let discarded = self
            .store
            .write(|tx| db::discard_drafts_before(tx, now - DRAFT_RETENTION_MS))?;
        if discarded > 0 {
            tracing::info!(discarded, "expired referral drafts discarded");
        }
        self.store
            .read(|tx| db::drafts(tx, DRAFT_RETENTION_MS, DRAFT_WARNING_MS, now))
    }

    pub fn discard_referral_draft(&self, id: &str) -> Result<()> {
        if !self.store.write(|tx| db::delete_draft(tx, id))? {
            return Err(ReferralError::UnknownDraft.into());
        }
        Ok(())
    }

    /// Validates the whole draft; if it is valid, queues the referral for
    /// the force and removes the draft in one transaction. Returns the
    /// receipt the officer keeps.
    pub fn submit_referral(&self, draft_id: &str) -> Result<Receipt> {
        let officer = self.officer()?.ok_or(ReferralError::NoOfficer)?;
        let form = self.referral_draft(draft_id)?;
        let now = self.now_ms();
        let boundaries = self.boundaries();
        let routed = form.location.and_then(|f| boundaries.route(f.lat, f.lon));
        let valid = referral::form::validate(&form, london_today(now), routed, unrouted_reason(&boundaries))
            .map_err(ReferralError::Invalid)?;
        let id = uuid::Uuid::now_v7().to_string();
        let reference = reference_for(&id);
        let (patrol_id, area_id) = match &lock(&self.live).open {
            Some(open) => (Some(open.id.clone()), Some(open.area_id.clone())),
            None => (None, None),
        };
        let record = to_record(&valid, &id, &reference, &officer.officer_id, now, &patrol_id, &area_id);
        let payload = serde_json::to_vec(&record).map_err(|e| crate::store::StoreError::Corrupt(e.to_string()))?;
        let personal = serde_json::json!({
            "subject": record.subject, "narrative": record.narrative, "consent": record.consent,
        })
        .to_string();
        let reasons: Vec<String> = record.reasons.iter().map(|r| r.code.clone()).collect();
        self.store.write(|tx| {
            db::insert(
                tx,
                &db::NewReferral {
                    id: &id,
                    reference: &reference,
                    officer_id: &officer.officer_id,
                    authority: valid.authority,
                    reasons: &reasons,
                    urgency: valid.urgency.as_str(),
                    created_ms: now,
                    patrol_id: patrol_id.as_deref(),
                    area_id: area_id.as_deref(),
                    personal: &personal,
                },
            )?;
            outbox::enqueue(
                tx,
                &outbox::NewRow {
                    id: &id,
                    kind: outbox::Kind::Referral,
                    format: REFERRAL_FORMAT,
                    patrol_id: None,
                    seq: 0,
                    payload: &payload,
                    fixes: 0,
                    now_ms: now,
                },
            )?;
            db::delete_draft(tx, draft_id)?;
            Ok::<_, crate::Error>(())
        })?;
        tracing::info!(authority = valid.authority.slug(), "referral queued");
        self.nudge_sync();
        Ok(Receipt {
            id,
            reference,
            authority: valid.authority,
            reasons,
            urgency: valid.urgency.as_str().to_string(),
            created_ms: now,
            status: ReferralStatus::Queued,
            status_ms: now,
            patrol_id,
            area_id,
        })
    }

    /// What the officer keeps: reference, time, authority, reasons, status.
    pub fn referral_receipts(&self) -> Result<Vec<Receipt>> {
        self.store.read(|tx| db::receipts(tx))
    }

    /// Boundary data from the force (in a pull), applied in the caller's
    /// transaction after it parsed; the in-memory copy follows on commit.
    pub(crate) fn parse_boundaries(text: &str) -> Result<Boundaries> {
        Ok(Boundaries::from_geojson(text).map_err(ReferralError::Boundaries)?)
    }

    pub(crate) fn set_boundaries(&self, b: Boundaries) {
        *self.boundaries.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(b);
    }
}

fn unrouted_reason(b: &Boundaries) -> &'static str {
    if b.is_empty() {
        "The boundary data has not been downloaded yet: choose the Navigator team."
    } else {
        "This location is outside the seven West Midlands authorities: choose the Navigator team."
    }
}

fn london_today(now_ms: i64) -> chrono::NaiveDate {
    let utc = chrono::DateTime::from_timestamp_millis(now_ms).unwrap_or_default();
    London.from_utc_datetime(&utc.naive_utc()).date_naive()
}

/// A reference an officer can read out on the phone: the random tail of
/// the record id.
fn reference_for(id: &str) -> String {
    let hex: String = id.chars().filter(char::is_ascii_hexdigit).collect();
    let tail = &hex[hex.len().saturating_sub(8)..];
    format!("VRP-{}", tail.to_ascii_uppercase())
}

fn to_record(
    v: &ValidReferral,
    id: &str,
    reference: &str,
    officer_id: &str,
    now: i64,
    patrol_id: &Option<String>,
    area_id: &Option<String>,
) -> ReferralRecord {
    let f = &v.form;
    let trim_opt = |s: &Option<String>| s.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(String::from);
    ReferralRecord {
        id: id.to_string(),
        format: REFERRAL_FORMAT,
        reference: reference.to_string(),
        officer_id: officer_id.to_string(),
        created_ms: now,
        authority: v.authority.slug().to_string(),
        authority_source: if v.routed { "routed" } else { "chosen" }.to_string(),
        reasons: f
            .reasons
            .iter()
            .map(|r| ReasonWire {
                code: r.code().to_string(),
                text: match r {
                    referral::Reason::Other(t) => Some(t.trim().to_string()),
                    _ => None,
                },
            })
            .collect(),
        urgency: v.urgency.as_str().to_string(),
        consent: ConsentWire {
            state: v.consent.state().to_string(),
            reason: match &v.consent {
                referral::Consent::Given => None,
                referral::Consent::Refused(r) | referral::Consent::NotSought(r) => Some(r.trim().to_string()),
            },
        },
        safeguarding_concern: f.safeguarding_concern,
        narrative: f.narrative.trim().to_string(),
        subject: SubjectWire {
            name: f.subject.name.trim().to_string(),
            date_of_birth: f.subject.date_of_birth.map(|d| d.to_string()),
            estimated_age: f.subject.estimated_age.and_then(|a| u8::try_from(a).ok()),
            address: trim_opt(&f.subject.address),
            school: trim_opt(&f.subject.school),
            carer_contact: trim_opt(&f.subject.carer_contact),
        },
        location: LocationWire {
            time_ms: v.location.time_ms,
            lat: v.location.lat,
            lon: v.location.lon,
            accuracy_m: v.location.accuracy_m,
        },
        patrol_id: patrol_id.clone(),
        area_id: area_id.clone(),
    }
}
