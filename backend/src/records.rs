//! Check-in and check-out records (`records`, `patrols`): each stored at
//! most once per record id, checked with the protocol's rules, and only by
//! the officer whose patrol it is.

use crate::sql::{DbError, Tx, p};
use guardian_protocol::wire::{AckStatus, RECORD_FORMAT, RecordBody, RecordEnvelope};

use crate::backend::{Backend, replay};
use crate::error::BackendError;
use crate::officers::require_officer;

impl Backend {
    /// Stores a check-in or check-out at most once per record id.
    pub(crate) fn submit_record(&self, sub: &str, env: &RecordEnvelope, now: i64) -> Result<AckStatus, BackendError> {
        if env.format != RECORD_FORMAT {
            return Err(BackendError::refused(
                "unsupported-format",
                format!("record format {} is not {RECORD_FORMAT}", env.format),
            ));
        }
        // Every rule before the replay check: a retry is the same valid
        // body, and anything else is refused whatever its id.
        env.validate().map_err(|e| bad_record(e.to_string()))?;
        self.write(|tx| {
            require_officer(tx, sub)?;
            let seen: Option<String> = tx.query_opt(
                "SELECT officer_id FROM records WHERE record_id = ?1",
                p![&env.id],
                |r| r.get(0),
            )?;
            if let Some(owner) = seen {
                return replay(tx, sub, &owner, "record");
            }
            // The record's key first: a concurrent upload of the same record
            // (a retry racing its original on another instance) waits here
            // for the other's commit, and then this transaction runs again
            // and answers "duplicate" — rather than reading the patrol the
            // other stored and calling it a conflict. A refusal below rolls
            // this row back with everything else.
            let kind = env.kind();
            let body = serde_json::to_string(env).map_err(|e| BackendError::Server(format!("record to JSON: {e}")))?;
            let inserted = tx.execute(
                "INSERT INTO records (record_id, officer_id, patrol_id, kind, body, received_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (record_id) DO NOTHING",
                p![env.id, sub, env.patrol_id, kind, body, now],
            )?;
            if inserted == 0 {
                return Err(DbError::Conflict.into());
            }
            match &env.body {
                RecordBody::CheckIn(b) => {
                    if b.officer_id != sub {
                        return Err(BackendError::forbidden(
                            "a check-in must name the officer the token belongs to",
                        ));
                    }
                    let active: Option<bool> =
                        tx.query_opt("SELECT active FROM areas WHERE area_id = ?1", p![&b.area_id], |r| {
                            r.get(0)
                        })?;
                    if active != Some(true) {
                        return Err(BackendError::refused(
                            "unknown-area",
                            format!("no current area {:?}", b.area_id),
                        ));
                    }
                    if patrol_owner(tx, &env.patrol_id)?.is_some() {
                        return Err(BackendError::refused(
                            "conflict",
                            "this patrol already has a check-in with another record id",
                        ));
                    }
                    tx.execute(
                        "INSERT INTO patrols (patrol_id, officer_id, area_id, claimed_rank,
                           assignment_id, checkin_record_id, checkin_time_ms)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                        p![
                            env.patrol_id,
                            sub,
                            b.area_id,
                            b.rank,
                            b.assignment_id,
                            env.id,
                            b.time_ms
                        ],
                    )?;
                }
                RecordBody::CheckOut(b) => {
                    let row: Option<(String, i64, Option<String>)> = tx.query_opt(
                        "SELECT officer_id, checkin_time_ms, checkout_record_id FROM patrols
                             WHERE patrol_id = ?1",
                        p![&env.patrol_id],
                        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                    )?;
                    let Some((owner, checkin_ms, checkout)) = row else {
                        return Err(BackendError::refused(
                            "unknown-patrol",
                            "no check-in has been received for this patrol",
                        ));
                    };
                    if owner != sub {
                        return Err(BackendError::forbidden("this patrol is another officer's"));
                    }
                    if checkout.is_some() {
                        return Err(BackendError::refused(
                            "conflict",
                            "this patrol already has a check-out with another record id",
                        ));
                    }
                    if b.time_ms < checkin_ms {
                        return Err(bad_record("check-out is earlier than the check-in"));
                    }
                    tx.execute(
                        "UPDATE patrols SET checkout_record_id = ?2, checkout_time_ms = ?3
                         WHERE patrol_id = ?1",
                        p![env.patrol_id, env.id, b.time_ms],
                    )?;
                }
            }
            Ok(AckStatus::Stored)
        })
    }
}

fn bad_record(reason: impl Into<String>) -> BackendError {
    BackendError::refused("bad-record", reason)
}

pub(crate) fn patrol_owner(tx: &Tx<'_>, patrol_id: &str) -> Result<Option<String>, BackendError> {
    Ok(tx.query_opt(
        "SELECT officer_id FROM patrols WHERE patrol_id = ?1",
        p![patrol_id],
        |r| r.get(0),
    )?)
}
