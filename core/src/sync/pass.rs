//! A sync pass's decisions, without I/O: what the server's answers mean for
//! the outbox, when to stop, what a pull may change, which library pack to
//! apply and how long to wait after a failure. The engine does the I/O and
//! asks; these functions take plain values and return plain values.
//!
//! The order of a pass: upload everything pending (in the outbox's causal
//! order), then pull the force's changes, then carry out its commands, then
//! the practice library. An upload failure that may pass (no signal, 5xx,
//! 429) stops the pass there; a permanent rejection is kept, marked and
//! surfaced, and the pass goes on (the server judges each record alone).

use std::time::Duration;

use guardian_protocol::wire::{AckStatus, CommandKind, DeviceCommand, SyncReply};
use serde::Serialize;

use super::SyncError;
use crate::library::pack::Pack;
use crate::library::{ApplyOutcome, LibraryError, LibraryStatus};
use crate::patrol::{Area, Assignment, Officer, Rank, parse_areas};
use crate::referral::Boundaries;
use crate::store::outbox::{Item, Kind};
use guardian_protocol::referral::ReferralUpdate;

/// Acks are committed in groups: a crash loses at most these, and a lost
/// ack only means the record is sent again and answered "duplicate".
pub const ACK_FLUSH: usize = 64;
/// Even with no news, look for the force's changes this often when online.
pub const PERIODIC: Duration = Duration::from_secs(60);
/// The longest a server may ask a handset to wait.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(3_600);

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PassReport {
    pub sent: usize,
    pub acked: usize,
    /// Acked as already stored: an earlier attempt had arrived.
    pub duplicates: usize,
    pub rejected: usize,
    pub bytes_sent: usize,
    pub track_bytes_sent: usize,
    pub fixes_sent: usize,
    pub pulled: bool,
    pub wiped: bool,
    /// The practice library's version applied in this pass, if it changed.
    pub library: Option<ApplyOutcome>,
    /// The officer's library bookmarks/recent reads came from another handset.
    pub library_prefs_restored: bool,
}

/// The server's answer to one upload, as the client classified it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Acked(AckStatus),
    /// Refused for good; its slug and reason.
    Rejected {
        slug: String,
        reason: String,
    },
    /// Network trouble, a timeout, 5xx, 429: try again later, not sooner
    /// than `retry_after` if the server said.
    Transient {
        reason: String,
        retry_after: Option<Duration>,
    },
    /// 401: the token was refused.
    Unauthorized,
}

/// A change to an outbox row, committed by the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    /// The force has it; the kind's owner's ack hook runs in the same
    /// transaction.
    Acked { id: String, kind: Kind },
    /// Kept, marked and explained; never sent again (unless the kind's
    /// owner takes it back: see `AckHooks::on_rejected`).
    Rejected { id: String, kind: Kind, reason: String },
    /// Back to pending with one more attempt counted.
    Retry { id: String, reason: String },
}

/// What the engine does after an upload's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Then {
    Next,
    /// Ask the shell for a fresh token, then send the same record again.
    RefreshAndResend,
    Stop,
}

/// Transitions to commit now, then what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub commit: Vec<Transition>,
    pub then: Then,
}

/// The upload half of a pass.
#[derive(Debug, Default)]
pub struct Upload {
    report: PassReport,
    acks: Vec<Transition>,
    refreshed: bool,
    failure: Option<SyncError>,
    retry_after: Option<Duration>,
}

/// How the upload half ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Uploaded {
    /// The acks not yet committed.
    pub commit: Vec<Transition>,
    pub report: PassReport,
    /// Set when the pass must stop before pulling.
    pub failure: Option<SyncError>,
    /// The longest wait a server asked for.
    pub retry_after: Option<Duration>,
}

impl Upload {
    pub fn new() -> Self {
        Self::default()
    }

    fn flush_then(&mut self, also: Option<Transition>, then: Then) -> Step {
        let mut commit = std::mem::take(&mut self.acks);
        commit.extend(also);
        Step { commit, then }
    }

    /// Decides what `item`'s attempt means.
    pub fn on_outcome(&mut self, item: &Item, outcome: Outcome) -> Step {
        match outcome {
            Outcome::Acked(status) => {
                self.report.sent += 1;
                self.report.acked += 1;
                self.report.bytes_sent += item.payload.len();
                if item.kind == Kind::TrackChunk {
                    self.report.track_bytes_sent += item.payload.len();
                    self.report.fixes_sent += item.fixes;
                }
                if status == AckStatus::Duplicate {
                    self.report.duplicates += 1;
                }
                self.acks.push(Transition::Acked {
                    id: item.id.clone(),
                    kind: item.kind,
                });
                if self.acks.len() >= ACK_FLUSH {
                    self.flush_then(None, Then::Next)
                } else {
                    Step {
                        commit: Vec::new(),
                        then: Then::Next,
                    }
                }
            }
            Outcome::Rejected { slug, reason } => {
                self.report.sent += 1;
                self.report.rejected += 1;
                let reason = format!("{slug}: {reason}");
                self.flush_then(
                    Some(Transition::Rejected {
                        id: item.id.clone(),
                        kind: item.kind,
                        reason,
                    }),
                    Then::Next,
                )
            }
            Outcome::Transient { reason, retry_after } => {
                self.report.sent += 1;
                if let Some(d) = retry_after {
                    let d = d.min(MAX_RETRY_AFTER);
                    self.retry_after = Some(self.retry_after.map_or(d, |old| old.max(d)));
                }
                self.failure = Some(SyncError::Network(reason.clone()));
                self.flush_then(
                    Some(Transition::Retry {
                        id: item.id.clone(),
                        reason,
                    }),
                    Then::Stop,
                )
            }
            Outcome::Unauthorized => match on_unauthorized(self.refreshed) {
                AuthStep::Refresh => {
                    self.refreshed = true;
                    Step {
                        commit: Vec::new(),
                        then: Then::RefreshAndResend,
                    }
                }
                AuthStep::Fail(e) => self.on_error(e),
            },
        }
    }

    /// The attempt could not be made at all (no token from the shell, a
    /// refresh refused): the pass stops, the record stays pending.
    pub fn on_error(&mut self, e: SyncError) -> Step {
        self.failure = Some(e);
        self.flush_then(None, Then::Stop)
    }

    pub fn finish(self) -> Uploaded {
        Uploaded {
            commit: self.acks,
            report: self.report,
            failure: self.failure,
            retry_after: self.retry_after,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum AuthStep {
    Refresh,
    Fail(SyncError),
}

/// A 401: refresh the token once per pass; a second refusal is the
/// officer's to fix (sign in again).
pub fn on_unauthorized(already_refreshed: bool) -> AuthStep {
    if already_refreshed {
        AuthStep::Fail(SyncError::Auth("the backend refused the refreshed token".into()))
    } else {
        AuthStep::Refresh
    }
}

// ---- the pull ---------------------------------------------------------------

/// A pull reply, checked whole: what the handset will apply.
#[derive(Debug, Clone)]
pub struct PullPlan {
    pub cursor: String,
    pub officer: Option<Officer>,
    /// The full set of areas, when they changed.
    pub areas: Option<Vec<Area>>,
    /// The officer's full list, when it changed.
    pub assignments: Option<Vec<Assignment>>,
    /// The boundaries as sent (kept as text) and parsed.
    pub boundaries: Option<(String, Boundaries)>,
    pub referral_updates: Vec<ReferralUpdate>,
    pub commands: Vec<DeviceCommand>,
}

/// Checks a reply with the rules the handset applies to the same data from
/// anywhere else. Anything unusable and the whole reply is refused:
/// nothing of it is applied. `known_area` says whether the handset has an
/// area already (an assignment may name one the reply does not carry).
pub fn plan_pull(reply: SyncReply, known_area: impl Fn(&str) -> bool) -> Result<PullPlan, SyncError> {
    let bad = SyncError::BadReply;
    let officer = match reply.officer {
        Some(o) => {
            let rank = Rank::parse(&o.rank).ok_or_else(|| bad(format!("unknown rank {:?}", o.rank)))?;
            let officer = Officer {
                officer_id: o.officer_id,
                display_name: o.display_name,
                rank,
            };
            officer.check().map_err(|e| bad(e.to_string()))?;
            Some(officer)
        }
        None => None,
    };
    let areas = match &reply.areas {
        Some(fc) => Some(parse_areas(&fc.to_string()).map_err(|e| bad(format!("areas: {e}")))?),
        None => None,
    };
    let known = |id: &str| areas.as_ref().is_some_and(|a| a.iter().any(|x| x.id == id)) || known_area(id);
    let assignments = match reply.assignments {
        Some(list) => Some(
            list.into_iter()
                .map(|a| {
                    let a = Assignment {
                        id: a.id,
                        area_id: a.area_id,
                        officer_id: a.officer_id,
                        start_ms: a.start_ms,
                        end_ms: a.end_ms,
                    };
                    a.check(known).map_err(|e| bad(format!("assignment {:?}: {e}", a.id)))?;
                    Ok(a)
                })
                .collect::<Result<Vec<_>, SyncError>>()?,
        ),
        None => None,
    };
    let boundaries = match &reply.boundaries {
        Some(fc) => {
            let text = fc.to_string();
            let parsed = Boundaries::from_geojson(&text).map_err(|e| bad(format!("boundaries: {e}")))?;
            Some((text, parsed))
        }
        None => None,
    };
    if let Some(u) = reply
        .referral_updates
        .iter()
        .find(|u| !guardian_protocol::time::plausible_ms(u.time_ms))
    {
        return Err(bad(format!(
            "referral {:?}: the update's time is not plausible",
            u.referral_id
        )));
    }
    Ok(PullPlan {
        cursor: reply.cursor,
        officer,
        areas,
        assignments,
        boundaries,
        referral_updates: reply.referral_updates,
        commands: reply.commands,
    })
}

/// What a command from the force makes the handset do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Wipe,
}

pub fn action(command: &DeviceCommand) -> Action {
    match command.kind {
        CommandKind::Wipe => Action::Wipe,
    }
}

// ---- the practice library ---------------------------------------------------

/// What to do with the pack the force sent for the handset's version.
#[derive(Debug, Clone, PartialEq)]
pub enum LibraryNext {
    /// Nothing published yet, or the handset already has the latest.
    UpToDate,
    Apply(Box<Pack>),
    /// The handset's copy and the force's history disagree (the server was
    /// rebuilt, or the handset's version is not one it published): start
    /// again from the full library.
    FetchFull,
}

/// Reads the pack fetched for `local`'s version. A damaged pack is a typed
/// error for the pass, and the library the officer reads stays as it was.
pub fn library_next(local: &LibraryStatus, bytes: &[u8]) -> Result<LibraryNext, LibraryError> {
    if bytes.is_empty() {
        return Ok(LibraryNext::UpToDate);
    }
    let pack = Pack::decode(bytes)?;
    let same_version = pack.is_noop() && pack.version == local.version;
    Ok(match (same_version, pack.library_sha256 == local.library_sha256) {
        (true, true) => LibraryNext::UpToDate,
        (true, false) => LibraryNext::FetchFull,
        (false, _) => LibraryNext::Apply(Box::new(pack)),
    })
}

/// After an apply failed: start again from the full library when the
/// delta did not fit, otherwise the pass fails with the error.
pub fn after_failed_apply(e: LibraryError) -> Result<LibraryNext, LibraryError> {
    match e {
        LibraryError::WrongBase { .. } | LibraryError::Mismatch { .. } => Ok(LibraryNext::FetchFull),
        other => Err(other),
    }
}

// ---- the wait before the next pass ------------------------------------------

/// After a success, the periodic wait (and the backoff starts again); after
/// a failure, the next backoff step, but never sooner than the server
/// asked. `backoff` is the next step of an exponential, jittered backoff.
pub fn next_wait(succeeded: bool, backoff: Option<Duration>, retry_after: Option<Duration>) -> Duration {
    if succeeded {
        return PERIODIC;
    }
    backoff
        .unwrap_or(Duration::from_secs(300))
        .max(retry_after.unwrap_or_default().min(MAX_RETRY_AFTER))
}

#[cfg(test)]
mod tests;
