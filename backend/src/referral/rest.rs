//! Referrals at rest: sealing them again under a new key (`rekey`), erasing
//! their personal part (retention, the DPO), and finding everything held
//! about one young person (a subject access request).

use guardian_protocol::referral::{Authority, Outcome, ReferralRecord, ReferralStatus};
use serde::Serialize;

use super::{STORED_COLUMNS, read_stored, stored_row};
use crate::audit::{self, Access, Action, Caller};
use crate::backend::{Backend, now_ms};
use crate::error::BackendError;
use crate::seal::forget_dev_key;
use crate::sql::{Tx, p};

/// What `rekey` did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Rekeyed {
    /// Bodies sealed again under the current key (or sealed for the first
    /// time: those stored in clear before version 3).
    pub resealed: u64,
    /// The store's own dev key dropped, nothing being sealed under it.
    pub dev_key_dropped: bool,
}

/// One referral held about the person a DPO searched for.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SubjectReferral {
    pub referral: ReferralRecord,
    pub authority: Authority,
    pub status: ReferralStatus,
    pub status_ms: i64,
    pub received_ms: i64,
    pub outcome: Option<Outcome>,
    /// The referral gives no date of birth (an estimated age): matched by
    /// name alone, for the DPO to judge.
    pub matched_by_name_only: bool,
}

/// A name as a search compares it: case and spacing ignored.
fn folded(name: &str) -> String {
    name.split_whitespace()
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Empties the personal part of each referral in `ids` not erased yet
/// (body, key) and stamps it: the anonymous columns stay. The ids erased.
pub(crate) fn erase_details(tx: &Tx<'_>, ids: &[String], now: i64) -> Result<Vec<String>, BackendError> {
    let mut erased = Vec::with_capacity(ids.len());
    for id in ids {
        let n = tx.execute(
            "UPDATE referrals SET body = '', key_id = '', erased_ms = ?2
             WHERE referral_id = ?1 AND erased_ms IS NULL",
            p![id, now],
        )?;
        if n > 0 {
            erased.push(id.clone());
        }
    }
    Ok(erased)
}

/// Up to `limit` referrals closed before `before_ms` whose personal part
/// is still held, oldest first.
pub(crate) fn due_for_erasure(tx: &Tx<'_>, before_ms: i64, limit: usize) -> Result<Vec<String>, BackendError> {
    Ok(tx.query_all(
        "SELECT referral_id FROM referrals
         WHERE status = 'closed' AND status_ms < ?1 AND erased_ms IS NULL
         ORDER BY status_ms, referral_id LIMIT ?2",
        p![before_ms, limit],
        |r| r.get(0),
    )?)
}

impl Backend {
    /// Seals every body not under the current key again under it, `batch`
    /// to a transaction (each logged), so a rekey stopped half-way leaves
    /// every row under one key or the other and the next run goes on.
    pub fn rekey(&self, who: &Caller, batch: usize) -> Result<Rekeyed, BackendError> {
        let batch = batch.max(1);
        let mut done = Rekeyed::default();
        let mut after = String::new();
        loop {
            let now = now_ms();
            let (n, last) = self.write(|tx| {
                let rows = tx.query_all(
                    "SELECT referral_id, key_id, body FROM referrals
                     WHERE erased_ms IS NULL AND referral_id > ?1 ORDER BY referral_id LIMIT ?2",
                    p![&after, batch],
                    |r| Ok((r.get::<String>(0)?, r.get::<String>(1)?, r.get::<String>(2)?)),
                )?;
                let last = rows.last().map(|(id, _, _)| id.clone());
                let mut ids = Vec::new();
                for (id, key_id, body) in rows {
                    if !self.sealing.is_stale(&key_id) {
                        continue;
                    }
                    let plain = self.sealing.open(tx, &id, &key_id, &body)?;
                    let (new_key, sealed) = self.sealing.seal(tx, &id, &plain)?;
                    tx.execute(
                        "UPDATE referrals SET key_id = ?2, body = ?3 WHERE referral_id = ?1",
                        p![&id, new_key, sealed],
                    )?;
                    ids.push(id);
                }
                if !ids.is_empty() {
                    audit::append(
                        tx,
                        who,
                        Access::on(Action::Alteration, "referral-seal", &ids, "rekey"),
                        now,
                    )?;
                }
                Ok::<_, BackendError>((ids.len(), last))
            })?;
            done.resealed += n as u64;
            match last {
                Some(id) => after = id,
                None => break,
            }
        }
        if !self.sealing.is_dev() {
            done.dev_key_dropped = self.write(forget_dev_key)?;
        }
        Ok(done)
    }

    /// Every referral held about a young person, by name (case and spacing
    /// ignored) and date of birth (`YYYY-MM-DD`; a referral with none is
    /// matched by name and flagged). Logged as `action` (a consultation
    /// for a search, a disclosure for an export) with the ids found and
    /// never the name searched for.
    pub fn find_subject(
        &self,
        who: &Caller,
        name: &str,
        date_of_birth: Option<&str>,
        action: Action,
    ) -> Result<Vec<SubjectReferral>, BackendError> {
        let wanted = folded(name);
        if wanted.is_empty() {
            return Err(BackendError::Invalid("a subject access search needs a name".into()));
        }
        let now = now_ms();
        self.write(|tx| {
            let rows = tx.query_all(
                &format!(
                    "SELECT {STORED_COLUMNS}, authority, outcome FROM referrals
                     WHERE erased_ms IS NULL ORDER BY received_ms, referral_id"
                ),
                p![],
                |r| Ok((stored_row(r)?, r.get::<String>(9)?, r.get::<Option<String>>(10)?)),
            )?;
            let mut found = Vec::new();
            for (row, authority, outcome) in rows {
                let (id, s) = read_stored(tx, &self.sealing, row)?;
                let Some(referral) = s.details else { continue };
                if folded(&referral.subject.name) != wanted {
                    continue;
                }
                let dob = referral.subject.date_of_birth.as_deref();
                if let (Some(want), Some(have)) = (date_of_birth, dob)
                    && want != have
                {
                    continue;
                }
                let authority = Authority::parse(&authority)
                    .ok_or_else(|| BackendError::Corrupt(format!("referral {id}: unknown authority")))?;
                found.push(SubjectReferral {
                    matched_by_name_only: date_of_birth.is_some() && dob.is_none(),
                    referral,
                    authority,
                    status: s.status,
                    status_ms: s.status_ms,
                    received_ms: s.received_ms,
                    outcome: outcome.as_deref().and_then(Outcome::parse),
                });
            }
            let ids: Vec<String> = found.iter().map(|f| f.referral.id.clone()).collect();
            audit::append(tx, who, Access::on(action, "referral", &ids, "subject access"), now)?;
            Ok(found)
        })
    }

    /// Erases the personal part of the referrals `ids` (the DPO's erasure),
    /// logged as one erasure. The ids erased (those not already).
    pub fn erase_referrals(&self, who: &Caller, ids: &[String]) -> Result<Vec<String>, BackendError> {
        let now = now_ms();
        self.write(|tx| {
            let erased = erase_details(tx, ids, now)?;
            audit::append(
                tx,
                who,
                Access::on(Action::Erasure, "referral", &erased, "on request"),
                now,
            )?;
            Ok(erased)
        })
    }
}
