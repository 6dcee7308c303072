//! Referral calls: thin orchestration of the rules in `crate::referral`
//! with the store, the clock and the outbox.

use std::sync::Arc;

use guardian_protocol::referral::{ReasonCode, ReferralStatus};
use guardian_protocol::time::{Today, london_date};

use super::{GuardianCore, lock, read, replace};
use crate::error::Result;
use crate::referral::record::{self, Made};
use crate::referral::{
    self, Boundaries, DRAFT_RETENTION_MS, DRAFT_WARNING_MS, DraftSummary, Receipt, ReferralError, ReferralForm,
    RoutePreview, db,
};
use crate::store::StoreError;
use crate::store::outbox::{self, Kind, NewRow};

impl GuardianCore {
    fn boundaries(&self) -> Arc<Boundaries> {
        read(&self.boundaries)
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
            self.store.forget_purged();
        }
        Ok(self
            .store
            .read(|tx| db::drafts(tx, DRAFT_RETENTION_MS, DRAFT_WARNING_MS, now))?)
    }

    pub fn discard_referral_draft(&self, id: &str) -> Result<()> {
        if !self.store.write(|tx| db::delete_draft(tx, id))? {
            return Err(ReferralError::UnknownDraft.into());
        }
        self.store.forget_purged();
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
        let today = london_date(now).unwrap_or_default();
        let valid = referral::form::validate(&form, today, routed, unrouted_reason(&boundaries))
            .map_err(ReferralError::Invalid)?;
        let id = uuid::Uuid::now_v7().to_string();
        let (patrol_id, area_id) = match lock(&self.live).open() {
            Some(open) => (Some(open.id.clone()), Some(open.area_id.clone())),
            None => (None, None),
        };
        let made = Made {
            id: &id,
            officer_id: &officer.officer_id,
            now_ms: now,
            patrol_id: patrol_id.as_deref(),
            area_id: area_id.as_deref(),
        };
        let rec = record::to_record(&valid, &made);
        // The server's own rules, applied before anything is queued: what
        // the handset sends, the force will store.
        rec.validate(Today::exact(today)).map_err(ReferralError::Invalid)?;
        let payload = serde_json::to_vec(&rec).map_err(|e| StoreError::Unsendable(e.to_string()))?;
        let reasons: Vec<ReasonCode> = rec.reasons.iter().map(|r| r.code).collect();
        self.store.write(|tx| {
            db::insert(
                tx,
                &db::NewReferral {
                    id: &id,
                    reference: &rec.reference,
                    officer_id: &officer.officer_id,
                    authority: valid.authority,
                    reasons: &reasons,
                    urgency: valid.urgency,
                    created_ms: now,
                    patrol_id: patrol_id.as_deref(),
                    area_id: area_id.as_deref(),
                    personal: &record::personal_json(&rec),
                },
            )?;
            outbox::enqueue(
                tx,
                &NewRow {
                    id: &id,
                    kind: Kind::Referral,
                    format: rec.format,
                    patrol_id: None,
                    seq: 0,
                    payload: &payload,
                    fixes: 0,
                    now_ms: now,
                },
            )?;
            db::delete_draft(tx, draft_id)?;
            Ok::<_, StoreError>(())
        })?;
        tracing::info!(authority = valid.authority.slug(), "referral queued");
        self.nudge_sync();
        Ok(Receipt {
            id,
            reference: rec.reference,
            authority: valid.authority,
            reasons,
            urgency: valid.urgency,
            created_ms: now,
            status: ReferralStatus::Queued,
            status_ms: now,
            patrol_id,
            area_id,
            outcome: None,
        })
    }

    /// What the officer keeps: reference, time, authority, reasons, status.
    pub fn referral_receipts(&self) -> Result<Vec<Receipt>> {
        Ok(self.store.read(|tx| db::receipts(tx))?)
    }

    /// The in-memory copy of the boundaries follows the store's on commit.
    pub(super) fn set_boundaries(&self, b: Boundaries) {
        replace(&self.boundaries, Arc::new(b));
    }
}

fn unrouted_reason(b: &Boundaries) -> &'static str {
    if b.is_empty() {
        "The boundary data has not been downloaded yet: choose the Navigator team."
    } else {
        "This location is outside the seven West Midlands authorities: choose the Navigator team."
    }
}
