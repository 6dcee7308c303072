//! Referrals to the VRP Navigator teams: stored once per id, routed to the
//! authority's team, moved forward by a Navigator, and seen by the referring
//! officer only as a receipt. Owns the `navigators`, `referrals` and
//! `referral_events` tables.
//!
//! A referral is about a child or young person: the most sensitive data the
//! force holds. Nothing personal (subject, narrative, consent reason,
//! location) is ever written to a log or quoted in an error reason: logs and
//! errors carry ids, the authority, reason codes and statuses only.

mod desk;
mod rest;

pub use desk::{DeskAction, HistoryLine, Inbox, InboxLine, InboxQuery, PAGE_SIZE, ReferralPage, Team};
pub use rest::{Rekeyed, SubjectReferral};
pub(crate) use rest::{due_for_erasure, erase_details};

use crate::seal::Sealing;
use crate::sql::{DbError, Tx, p};

/// Held while a referral event takes its sequence number (PostgreSQL).
pub(crate) const LOCK_REFERRAL_EVENTS: i64 = 0x7265_6665_7272_616c;
use guardian_protocol::referral::{
    Authority, Outcome, REFERRAL_FORMAT, ReasonCode, ReferralReceiptWire, ReferralRecord, ReferralStatus,
    ReferralUpdate, Urgency,
};
use guardian_protocol::rules::{DISPLAY_NAME, MAX_ID_LEN, check_id};
use guardian_protocol::time::{Today, london_date};
use guardian_protocol::wire::AckStatus;
use serde::{Deserialize, Serialize};

use crate::audit::{self, Access, Action, Caller};
use crate::backend::{Backend, now_ms, replay};
use crate::error::BackendError;
use crate::officers::require_officer;

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

/// Version 2, the Navigator's desk. A Navigator's `joined_ms` (when they
/// joined their team: closed referrals from before it stay hidden from
/// them) and `active` (0 once removed: their name stays on the history).
/// A referral's urgency (the inbox sorts without reading bodies), assignee
/// and outcome. An event's `authority` (the team holding the referral after
/// it, so a transfer reaches the officer), `outcome` and `detail` (who was
/// assigned, why a transfer: ids and codes only, never free text).
const DESK: &str = "
ALTER TABLE navigators ADD COLUMN joined_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE navigators ADD COLUMN active INTEGER NOT NULL DEFAULT 1;
ALTER TABLE referrals ADD COLUMN urgency TEXT NOT NULL DEFAULT 'routine';
ALTER TABLE referrals ADD COLUMN assignee TEXT;
ALTER TABLE referrals ADD COLUMN outcome TEXT;
ALTER TABLE referral_events ADD COLUMN authority TEXT NOT NULL DEFAULT '';
ALTER TABLE referral_events ADD COLUMN outcome TEXT;
ALTER TABLE referral_events ADD COLUMN detail TEXT NOT NULL DEFAULT '';
CREATE INDEX referrals_inbox ON referrals (authority, status, received_ms);
CREATE INDEX referral_events_referral ON referral_events (referral_id, seq);
";

/// Version 3, accountable data. `body` is sealed (see [`crate::seal`]):
/// `key_id` names the key (`''`: a body from before, still in clear until
/// `rekey`). `erased_ms`: when retention or the DPO erased the personal
/// part (the body emptied); the columns beside it are the anonymous part
/// the partnership's figures count.
const SEALED: &str = "
ALTER TABLE referrals ADD COLUMN key_id TEXT NOT NULL DEFAULT '';
ALTER TABLE referrals ADD COLUMN erased_ms INTEGER;
CREATE INDEX referrals_key ON referrals (key_id);
CREATE INDEX referrals_closed ON referrals (status, status_ms);
";

/// This module's tables and their versions (see [`crate::db::Schema`]).
pub(crate) const TABLES: crate::db::Schema = crate::db::Schema {
    name: "referrals",
    stored: crate::db::Stored::Meta("referrals_schema"),
    first: &[SCHEMA],
    fresh: &[SCHEMA, DESK, SEALED],
    upgrades: &[desk_columns, sealed_columns],
};

/// Version 1 → 2: the new columns, each referral's urgency read once from
/// its body, and each event's team from its referral's.
fn desk_columns(tx: &Tx<'_>) -> Result<(), BackendError> {
    tx.execute_batch(DESK)?;
    let bodies = tx.query_all("SELECT referral_id, body FROM referrals", p![], |r| {
        Ok((r.get::<String>(0)?, r.get::<String>(1)?))
    })?;
    for (id, body) in bodies {
        let rec: ReferralRecord = serde_json::from_str(&body)
            .map_err(|_| BackendError::Corrupt(format!("referral {id}: bad stored body")))?;
        tx.execute(
            "UPDATE referrals SET urgency = ?2 WHERE referral_id = ?1",
            p![id, rec.urgency.as_str()],
        )?;
    }
    tx.execute(
        "UPDATE referral_events SET authority =
           (SELECT r.authority FROM referrals r WHERE r.referral_id = referral_events.referral_id)",
        p![],
    )?;
    Ok(())
}

/// Version 2 → 3: the columns only. The bodies stay in clear until a
/// `rekey` (which `serve` runs at start) seals them: the keys are not
/// known here.
fn sealed_columns(tx: &Tx<'_>) -> Result<(), BackendError> {
    tx.execute_batch(SEALED)?;
    Ok(())
}

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

impl Backend {
    /// Creates a Navigator on `authority`'s team, or updates their name and
    /// team. A Navigator sees and updates that authority's referrals only.
    pub fn create_navigator(
        &self,
        navigator_id: &str,
        display_name: &str,
        authority: Authority,
    ) -> Result<(), BackendError> {
        check_id("navigator_id", navigator_id, MAX_ID_LEN).map_err(|e| BackendError::Invalid(e.to_string()))?;
        DISPLAY_NAME
            .check("display_name", display_name)
            .map_err(|e| BackendError::Invalid(e.to_string()))?;
        let now = now_ms();
        self.write(|tx| {
            // Joining a team (first, again after removal, or a move) starts
            // the clock that hides the team's older closed referrals.
            tx.execute(
                "INSERT INTO navigators (navigator_id, display_name, authority, joined_ms, active)
                 VALUES (?1, ?2, ?3, ?4, 1)
                 ON CONFLICT (navigator_id) DO UPDATE SET display_name = excluded.display_name,
                   authority = excluded.authority,
                   joined_ms = CASE WHEN navigators.authority = excluded.authority AND navigators.active = 1
                     THEN navigators.joined_ms ELSE excluded.joined_ms END,
                   active = 1",
                p![navigator_id, display_name, authority.slug(), now],
            )?;
            Ok(())
        })
    }

    /// Takes a Navigator off their team: from now on their tokens and
    /// sessions open nothing (every request checks membership), and the
    /// referrals assigned to them go back to the team unassigned-but-kept
    /// (the assignee stays on the history). False when there was no such
    /// active Navigator.
    pub fn remove_navigator(&self, navigator_id: &str) -> Result<bool, BackendError> {
        let removed = self.write(|tx| {
            Ok::<_, BackendError>(
                tx.execute(
                    "UPDATE navigators SET active = 0 WHERE navigator_id = ?1 AND active = 1",
                    p![navigator_id],
                )? > 0,
            )
        })?;
        if removed {
            self.end_web_sessions_of(navigator_id)?;
        }
        Ok(removed)
    }

    /// Every referral routed to `authority`, oldest first, as uploaded.
    pub fn referrals_for(&self, authority: Authority) -> Result<Vec<ReferralRecord>, BackendError> {
        Ok(self
            .read(|tx| navigator_view(tx, &self.sealing, authority, i64::MIN))?
            .into_iter()
            .map(|n| n.referral)
            .collect())
    }

    pub fn referral_count(&self) -> Result<i64, BackendError> {
        self.read(|tx| Ok(tx.query_one("SELECT count(*) FROM referrals", p![], |r| r.get(0))?))
    }

    // ---- what the HTTP handlers call --------------------------------------

    /// Stores a referral at most once per id, routed to its authority, with
    /// the status `received` (the ack is the receipt).
    pub fn submit_referral(&self, who: &Caller, rec: &ReferralRecord, now: i64) -> Result<AckStatus, BackendError> {
        let sub = who.subject.as_str();
        if rec.format != REFERRAL_FORMAT {
            return Err(BackendError::refused(
                "unsupported-format",
                format!("referral format {} is not {REFERRAL_FORMAT}", rec.format),
            ));
        }
        check_id("id", &rec.id, MAX_ID_LEN).map_err(|e| BackendError::bad_fields("bad-referral", vec![e]))?;
        if rec.officer_id != sub {
            return Err(BackendError::forbidden(
                "the referral's officer_id is not the token's officer",
            ));
        }
        // The handset judges "today" by its own clock: a day either side,
        // so a phone a little off never has a referral refused for ever.
        let today = london_date(now)
            .map(Today::around)
            .ok_or_else(|| BackendError::Server("the server clock is out of range".into()))?;
        self.write(|tx| {
            require_officer(tx, sub)?;
            let owner: Option<(String, i64)> = tx.query_opt(
                "SELECT officer_id, received_ms FROM referrals WHERE referral_id = ?1",
                p![&rec.id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            if let Some((owner, received_ms)) = owner {
                // A retry: the same body, so it passes the rules as they
                // stood the day it first arrived (an age can change since);
                // anything else under its id is refused.
                let then = london_date(received_ms).map_or(today, Today::around);
                rec.validate(then)
                    .map_err(|fields| BackendError::bad_fields("bad-referral", fields))?;
                return replay(tx, sub, &owner, "referral");
            }
            let chosen = rec
                .validate(today)
                .map_err(|fields| BackendError::bad_fields("bad-referral", fields))?;
            // The server routes too, by its own boundaries: where it and the
            // handset disagree (old boundaries on the phone, an officer's
            // pick) the server's answer wins and the history says so.
            let authority = crate::boundaries::route(tx, rec.location.lat, rec.location.lon)?.unwrap_or(chosen);
            let mut stored = rec.clone();
            // Stored under the slug whatever form (ONS code, case) was sent,
            // so the team's query finds it.
            stored.authority = authority.slug().to_string();
            let codes: Vec<ReasonCode> = rec.reasons.iter().map(|r| r.code).collect();
            let codes_json =
                serde_json::to_string(&codes).map_err(|e| BackendError::Server(format!("reasons to JSON: {e}")))?;
            let body =
                serde_json::to_string(&stored).map_err(|e| BackendError::Server(format!("referral to JSON: {e}")))?;
            let (key_id, body) = self.sealing.seal(tx, &rec.id, &body)?;
            let inserted = tx.execute(
                "INSERT INTO referrals (referral_id, officer_id, authority, reference, reasons,
                   created_ms, body, status, status_ms, received_ms, urgency, key_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, ?10, ?11)
                 ON CONFLICT (referral_id) DO NOTHING",
                p![
                    rec.id,
                    sub,
                    authority.slug(),
                    rec.reference,
                    codes_json,
                    rec.created_ms,
                    body,
                    ReferralStatus::Received.as_str(),
                    now,
                    rec.urgency.as_str(),
                    key_id
                ],
            )?;
            if inserted == 0 {
                // Stored by a concurrent upload since the read above: run
                // again, and answer as the retry it is.
                return Err(DbError::Conflict.into());
            }
            let ids = [rec.id.clone()];
            audit::append(
                tx,
                who,
                Access::on(Action::Collection, "referral", &ids, authority.slug()),
                now,
            )?;
            if authority != chosen {
                let detail = format!("routed to {authority} by the server's boundaries (the handset chose {chosen})");
                let event = desk::Event {
                    referral_id: &rec.id,
                    officer_id: sub,
                    by: "server",
                    status: ReferralStatus::Received,
                    authority,
                    outcome: None,
                    detail: &detail,
                };
                desk::record_event(tx, &event, now)?;
                tracing::warn!(
                    referral_id = rec.id.as_str(),
                    handset = chosen.slug(),
                    server = authority.slug(),
                    "referral re-routed by the server's boundaries"
                );
            }
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
    pub(crate) fn my_referrals(&self, sub: &str) -> Result<Vec<ReferralReceiptWire>, BackendError> {
        self.read(|tx| {
            require_officer(tx, sub)?;
            let rows = tx.query_all(
                "SELECT referral_id, reference, authority, reasons, created_ms, status FROM referrals
                 WHERE officer_id = ?1 ORDER BY created_ms, referral_id",
                p![sub],
                |r| {
                    Ok((
                        r.get::<String>(0)?,
                        r.get::<String>(1)?,
                        r.get::<String>(2)?,
                        r.get::<String>(3)?,
                        r.get::<i64>(4)?,
                        r.get::<String>(5)?,
                    ))
                },
            )?;
            rows.into_iter()
                .map(|row| {
                    let (id, reference, authority, reasons, created_ms, status) = row;
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

    /// The calling Navigator's authority and every referral routed to it,
    /// read and logged (a disclosure: they leave the server) together.
    pub fn navigator_referrals(&self, who: &Caller) -> Result<(Authority, Vec<NavigatorReferral>), BackendError> {
        let now = now_ms();
        self.write(|tx| {
            let Member { authority, joined_ms } = require_member(tx, &who.subject)?;
            let view = navigator_view(tx, &self.sealing, authority, joined_ms)?;
            let ids: Vec<String> = view.iter().map(|n| n.referral.id.clone()).collect();
            audit::append(
                tx,
                who,
                Access::on(Action::Disclosure, "referral", &ids, authority.slug()),
                now,
            )?;
            Ok((authority, view))
        })
    }
}

/// An active Navigator's team, and since when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Member {
    pub authority: Authority,
    pub joined_ms: i64,
}

/// The Navigator's membership, or `UnknownNavigator` (never one, or removed).
pub(crate) fn require_member(tx: &Tx<'_>, navigator_id: &str) -> Result<Member, BackendError> {
    let row: Option<(String, i64)> = tx.query_opt(
        "SELECT authority, joined_ms FROM navigators WHERE navigator_id = ?1 AND active = 1",
        p![navigator_id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let (slug, joined_ms) = row.ok_or_else(|| BackendError::UnknownNavigator(navigator_id.to_string()))?;
    let authority = Authority::parse(&slug)
        .ok_or_else(|| BackendError::Corrupt(format!("navigator {navigator_id}: unknown authority")))?;
    Ok(Member { authority, joined_ms })
}

/// A referral's row as stored: the anonymous part, and the record opened
/// from its sealed body unless erased.
pub(crate) struct Stored {
    pub reference: String,
    pub urgency: Urgency,
    pub status: ReferralStatus,
    pub status_ms: i64,
    pub received_ms: i64,
    pub details: Option<ReferralRecord>,
    pub erased_ms: Option<i64>,
}

const STORED_COLUMNS: &str = "referral_id, reference, urgency, status, status_ms, received_ms, key_id, body, erased_ms";

fn read_stored(tx: &Tx<'_>, sealing: &Sealing, row: StoredRow) -> Result<(String, Stored), BackendError> {
    let ((id, reference, urgency), (status, status_ms, received_ms), (key_id, body, erased_ms)) = row;
    let corrupt = |what: &str| BackendError::Corrupt(format!("referral {id}: bad stored {what}"));
    let details = match erased_ms {
        Some(_) => None,
        None => {
            let plain = sealing.open(tx, &id, &key_id, &body)?;
            Some(serde_json::from_str(&plain).map_err(|_| corrupt("body"))?)
        }
    };
    let stored = Stored {
        reference,
        urgency: Urgency::parse(&urgency).ok_or_else(|| corrupt("urgency"))?,
        status: ReferralStatus::parse(&status).ok_or_else(|| corrupt("status"))?,
        status_ms,
        received_ms,
        details,
        erased_ms,
    };
    Ok((id, stored))
}

type StoredRow = (
    (String, String, String),
    (String, i64, i64),
    (String, String, Option<i64>),
);

fn stored_row(r: &crate::sql::Row) -> Result<StoredRow, DbError> {
    Ok((
        (r.get(0)?, r.get(1)?, r.get(2)?),
        (r.get(3)?, r.get(4)?, r.get(5)?),
        (r.get(6)?, r.get(7)?, r.get(8)?),
    ))
}

/// One referral as stored, or `None`.
pub(crate) fn stored(tx: &Tx<'_>, sealing: &Sealing, referral_id: &str) -> Result<Option<Stored>, BackendError> {
    let row = tx.query_opt(
        &format!("SELECT {STORED_COLUMNS} FROM referrals WHERE referral_id = ?1"),
        p![referral_id],
        stored_row,
    )?;
    row.map(|row| read_stored(tx, sealing, row).map(|(_, s)| s)).transpose()
}

/// Every referral the team holds that `joined_ms` lets a member see
/// (`i64::MIN`: all of them), erased ones left out: the API is for making
/// contact, and nothing is left of them to contact.
fn navigator_view(
    tx: &Tx<'_>,
    sealing: &Sealing,
    authority: Authority,
    joined_ms: i64,
) -> Result<Vec<NavigatorReferral>, BackendError> {
    let rows = tx.query_all(
        &format!(
            "SELECT {STORED_COLUMNS} FROM referrals
             WHERE authority = ?1 AND erased_ms IS NULL AND NOT (status = 'closed' AND status_ms < ?2)
             ORDER BY received_ms, referral_id"
        ),
        p![authority.slug(), joined_ms],
        stored_row,
    )?;
    rows.into_iter()
        .filter_map(|row| match read_stored(tx, sealing, row) {
            Ok((_, s)) => s.details.map(|referral| {
                Ok(NavigatorReferral {
                    referral,
                    status: s.status,
                    status_ms: s.status_ms,
                    received_ms: s.received_ms,
                })
            }),
            Err(e) => Some(Err(e)),
        })
        .collect()
}

/// The latest change sequence number, and the officer's referral status
/// changes after `seen` in the order they happened.
/// The latest change sequence number (0: none yet).
pub(crate) fn latest_seq(tx: &Tx<'_>) -> Result<i64, BackendError> {
    Ok(tx.query_one("SELECT coalesce(max(seq), 0) FROM referral_events", p![], |r| r.get(0))?)
}

pub(crate) fn updates_since(
    tx: &Tx<'_>,
    officer_id: &str,
    seen: i64,
) -> Result<(i64, Vec<ReferralUpdate>), BackendError> {
    let latest = latest_seq(tx)?;
    let rows = tx.query_all(
        "SELECT referral_id, status, time_ms, authority, outcome FROM referral_events
         WHERE officer_id = ?1 AND seq > ?2 ORDER BY seq",
        p![officer_id, seen],
        |r| {
            Ok((
                (r.get::<String>(0)?, r.get::<String>(1)?, r.get::<i64>(2)?),
                (r.get::<String>(3)?, r.get::<Option<String>>(4)?),
            ))
        },
    )?;
    let updates = rows
        .into_iter()
        .map(|((referral_id, status, time_ms), (authority, outcome))| {
            let status = ReferralStatus::parse(&status)
                .ok_or_else(|| BackendError::Corrupt(format!("referral {referral_id}: unknown event status")))?;
            Ok(ReferralUpdate {
                referral_id,
                status,
                time_ms,
                authority: Some(authority).filter(|a| !a.is_empty()),
                outcome: outcome.as_deref().and_then(Outcome::parse),
            })
        })
        .collect::<Result<Vec<_>, BackendError>>()?;
    Ok((latest, updates))
}
