//! Kept no longer than the force decides: `guardian-backend retention run`
//! (and `serve`, on a schedule) erases what is due, a bounded batch to a
//! transaction, each batch logged as an erasure (ids only). A run stopped
//! anywhere leaves every record either whole or erased, never half; the
//! next run picks up what is still due.
//!
//! - A closed referral loses its personal part (the sealed body) so many
//!   days after closure; its anonymous part (authority, reason codes,
//!   urgency, outcome, dates) stays, so the partnership's figures still add
//!   up.
//! - A patrol loses its fixes so many days after it ended; its judged
//!   figures (minutes, verdict, arrival, departure) are kept first (see
//!   `export::keep_figures`), and the export and the review pages read
//!   them from there, so compliance history and the evaluation stand.
//! - Access-log entries go after so many years, oldest first; the chain's
//!   new start is remembered so `audit verify` still checks the rest.

use serde::Serialize;

use crate::audit::{self, Access, Action, Caller};
use crate::backend::Backend;
use crate::error::BackendError;
use crate::records::{Patrols, patrols};
use crate::sql::{Tx, p};

const DAY_MS: i64 = 24 * 3600 * 1000;

/// How long each kind of record is kept: the force's to set (`serve` and
/// `retention run` take `--keep-referral-days`, `--keep-fix-days`,
/// `--keep-access-log-years`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// A referral's personal details, counted from its closure.
    pub referral_days: u32,
    /// A patrol's fixes, counted from its check-out (its check-in if it
    /// never checked out).
    pub fix_days: u32,
    /// Access-log entries.
    pub access_log_years: u32,
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            referral_days: 365,
            fix_days: 90,
            access_log_years: 6,
        }
    }
}

/// What a run erased.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RetentionRun {
    pub referrals: u64,
    pub patrols: u64,
    pub fixes: u64,
    pub access_log_entries: u64,
    pub batches: u64,
    /// Nothing due was left (false when `max_batches` stopped it).
    pub finished: bool,
}

/// Patrols per batch: each carries up to a shift of fixes (36,000 at 1 Hz
/// for 10 hours), so far fewer than referrals or log entries.
fn patrol_batch(batch: usize) -> usize {
    (batch / 100).max(1)
}

impl Backend {
    /// Erases what `rules` say is due at `now_ms`, `batch` records to a
    /// transaction, at most `max_batches` transactions (`None`: until
    /// nothing is due).
    pub fn run_retention(
        &self,
        who: &Caller,
        rules: &Retention,
        now_ms: i64,
        batch: usize,
        max_batches: Option<u64>,
    ) -> Result<RetentionRun, BackendError> {
        let batch = batch.max(1);
        let mut run = RetentionRun::default();
        let more = |run: &RetentionRun| max_batches.is_none_or(|m| run.batches < m);
        let referral_before = now_ms - i64::from(rules.referral_days) * DAY_MS;
        while more(&run) {
            let n = self.write(|tx| {
                let due = crate::referral::due_for_erasure(tx, referral_before, batch)?;
                let erased = crate::referral::erase_details(tx, &due, now_ms)?;
                if !erased.is_empty() {
                    let access = Access::on(Action::Erasure, "referral", &erased, "retention");
                    audit::append(tx, who, access, now_ms)?;
                }
                Ok::<_, BackendError>(erased.len())
            })?;
            if n == 0 {
                break;
            }
            run.referrals += n as u64;
            run.batches += 1;
        }
        let fixes_before = now_ms - i64::from(rules.fix_days) * DAY_MS;
        while more(&run) {
            let (n, fixes) =
                self.write(|tx| self.erase_patrol_batch(tx, who, fixes_before, patrol_batch(batch), now_ms))?;
            if n == 0 {
                break;
            }
            run.patrols += n as u64;
            run.fixes += fixes;
            run.batches += 1;
        }
        // A year of 365.25 days.
        let log_before = now_ms - i64::from(rules.access_log_years) * 36_525 * DAY_MS / 100;
        while more(&run) {
            let n = self.write(|tx| {
                let n = audit::prune(tx, log_before, batch)?;
                if n > 0 {
                    let scope = format!("{n} entries from before {log_before} ms");
                    audit::append(tx, who, Access::on(Action::Erasure, "access-log", &[], &scope), now_ms)?;
                }
                Ok::<_, BackendError>(n)
            })?;
            if n == 0 {
                break;
            }
            run.access_log_entries += n;
            run.batches += 1;
        }
        run.finished = more(&run) || self.read(|tx| self.nothing_due(tx, referral_before, fixes_before, log_before))?;
        Ok(run)
    }

    /// Up to `limit` ended patrols with fixes due: each judged, its figures
    /// kept, its fixes deleted. The patrols and fixes erased.
    fn erase_patrol_batch(
        &self,
        tx: &Tx<'_>,
        who: &Caller,
        before_ms: i64,
        limit: usize,
        now_ms: i64,
    ) -> Result<(usize, u64), BackendError> {
        let due: Vec<String> = tx.query_all(
            "SELECT p.patrol_id FROM patrols p
             WHERE coalesce(p.checkout_time_ms, p.checkin_time_ms) < ?1
               AND EXISTS (SELECT 1 FROM fixes f WHERE f.patrol_id = p.patrol_id)
             ORDER BY p.checkin_time_ms, p.patrol_id LIMIT ?2",
            p![before_ms, limit],
            |r| r.get(0),
        )?;
        let mut fixes = 0u64;
        for id in &due {
            let row = patrols(tx, Patrols::One(id))?;
            let judged = match row.first() {
                Some(p) if p.check_out_ms.is_some() => crate::export::judge_rows(tx, row.clone())
                    .into_iter()
                    .next()
                    .map_or_else(|| Err("it cannot be judged".to_string()), |r| r.report),
                _ => Err("it was never checked out".to_string()),
            };
            let (report, why) = match judged {
                Ok(rep) => (
                    Some(
                        serde_json::to_string(&rep)
                            .map_err(|e| BackendError::Server(format!("report to JSON: {e}")))?,
                    ),
                    None,
                ),
                Err(why) => (None, Some(why)),
            };
            let n = crate::chunks::erase_fixes(tx, id)?;
            crate::export::keep_figures(tx, id, report.as_deref(), why.as_deref(), n, now_ms)?;
            fixes += n;
        }
        if !due.is_empty() {
            audit::append(tx, who, Access::on(Action::Erasure, "fixes", &due, "retention"), now_ms)?;
        }
        Ok((due.len(), fixes))
    }

    fn nothing_due(
        &self,
        tx: &Tx<'_>,
        referral_before: i64,
        fixes_before: i64,
        log_before: i64,
    ) -> Result<bool, BackendError> {
        let referrals = crate::referral::due_for_erasure(tx, referral_before, 1)?;
        let fixes: i64 = tx.query_one(
            "SELECT count(*) FROM patrols p WHERE coalesce(p.checkout_time_ms, p.checkin_time_ms) < ?1
               AND EXISTS (SELECT 1 FROM fixes f WHERE f.patrol_id = p.patrol_id)",
            p![fixes_before],
            |r| r.get(0),
        )?;
        let log: i64 = tx.query_one(
            "SELECT count(*) FROM access_log WHERE time_ms < ?1",
            p![log_before],
            |r| r.get(0),
        )?;
        Ok(referrals.is_empty() && fixes == 0 && log == 0)
    }
}
