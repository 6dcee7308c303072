//! The Navigator's desk: the team's inbox (open first, urgent on top, with
//! filters and pages), one referral with its history, and what a Navigator
//! does to it (assign, contacted, close with an outcome, transfer to
//! another authority's team). Every read here is a consultation and every
//! action an alteration (a transfer a disclosure too) in the access log, in
//! the same transaction.
//!
//! A Navigator sees their own authority's referrals only, and only while
//! they are an active member of its team; one moved from another team sees
//! the new team's open referrals and those closed since they joined, not
//! its closed history. Anything else is [`BackendError::UnknownReferral`],
//! as if it did not exist.

use chrono::{Datelike as _, Duration, NaiveDate, Weekday};
use guardian_protocol::referral::{
    Authority, Outcome, ReasonCode, ReferralRecord, ReferralStatus, ReferralUpdate, TransferReason, Urgency,
};
use guardian_protocol::time::{london, london_instant};
use serde::Serialize;

use super::{LOCK_REFERRAL_EVENTS, Member, require_member};
use crate::audit::{self, Access, Action, Caller};
use crate::backend::{Backend, OverdueRule, now_ms};
use crate::error::BackendError;
use crate::seal::Sealing;
use crate::sql::{DbError, Tx, p};

/// Lines on one inbox page.
pub const PAGE_SIZE: usize = 25;

impl OverdueRule {
    /// When a referral received at `received_ms` becomes overdue if still
    /// unassigned.
    pub fn due_ms(self, urgency: Urgency, received_ms: i64) -> i64 {
        if urgency == Urgency::Urgent {
            return received_ms + self.urgent_hours * 3_600_000;
        }
        let Some(at) = london(received_ms) else {
            return received_ms;
        };
        let mut day = at.date_naive();
        let mut left = self.working_days;
        while left > 0 {
            day += Duration::days(1);
            if !matches!(day.weekday(), Weekday::Sat | Weekday::Sun) {
                left -= 1;
            }
        }
        london_instant(day, at.time()).unwrap_or(received_ms)
    }
}

/// Which referrals the inbox shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InboxQuery {
    /// `None`: every open one (not closed).
    pub status: Option<ReferralStatus>,
    pub urgency: Option<Urgency>,
    /// Received on or after this London date, and on or before `to`.
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// Counted from 1.
    pub page: usize,
}

/// One line of the inbox: enough to choose, nothing of the child's.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InboxLine {
    pub referral_id: String,
    pub reference: String,
    pub urgency: Urgency,
    pub reasons: Vec<ReasonCode>,
    pub status: ReferralStatus,
    pub assignee: Option<String>,
    pub received_ms: i64,
    /// Unassigned past the force's time.
    pub overdue: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Inbox {
    pub authority: Authority,
    pub lines: Vec<InboxLine>,
    /// Lines matching the query, over every page.
    pub total: usize,
    pub page: usize,
    pub pages: usize,
    /// Open referrals of the team that are overdue (whatever the query).
    pub overdue: usize,
}

/// One thing that happened to a referral, for its page.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryLine {
    pub time_ms: i64,
    /// Who did it (a Navigator's name; the server, for a re-route).
    pub by: String,
    pub status: ReferralStatus,
    /// Which team held it after.
    pub authority: String,
    pub outcome: Option<Outcome>,
    /// What happened, in words built from ids and codes.
    pub detail: String,
}

/// A referral's page: the whole record, where it stands and its history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReferralPage {
    pub id: String,
    pub reference: String,
    pub urgency: Urgency,
    /// The whole record; `None` once erased (by retention or the DPO).
    pub details: Option<ReferralRecord>,
    pub erased_ms: Option<i64>,
    pub authority: Authority,
    pub status: ReferralStatus,
    pub assignee: Option<String>,
    pub outcome: Option<Outcome>,
    pub received_ms: i64,
    pub overdue: bool,
    pub history: Vec<HistoryLine>,
    /// The team's active Navigators (id, name), to assign to.
    pub team: Vec<(String, String)>,
}

/// What a Navigator does to a referral.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeskAction {
    /// To a Navigator of the same team (themselves included).
    Assign {
        to: String,
    },
    Contacted,
    /// `None` only from the JSON API that predates outcomes.
    Close {
        outcome: Option<Outcome>,
    },
    /// To another authority's team, restarting at `received` there.
    Transfer {
        to: Authority,
        reason: TransferReason,
    },
}

/// The team's page: who is on it and how the inbox stands.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Team {
    pub authority: Authority,
    /// (id, name) of each active member.
    pub members: Vec<(String, String)>,
    pub open: usize,
    pub unassigned: usize,
    pub overdue: usize,
    /// Open referrals assigned to each member, by id.
    pub assigned: Vec<(String, usize)>,
}

fn urgency_of(s: &str) -> Urgency {
    Urgency::parse(s).unwrap_or(Urgency::Routine)
}

fn status_of(id: &str, s: &str) -> Result<ReferralStatus, BackendError> {
    ReferralStatus::parse(s).ok_or_else(|| BackendError::Corrupt(format!("referral {id}: unknown stored status")))
}

/// The condition that hides another team's referrals and, from a moved
/// Navigator, the closed ones from before they joined (`?1` authority,
/// `?2` joined).
const VISIBLE: &str = "authority = ?1 AND NOT (status = 'closed' AND status_ms < ?2)";

fn day_start(d: NaiveDate) -> i64 {
    london_instant(d, chrono::NaiveTime::MIN).unwrap_or(i64::MIN)
}

fn team_of(tx: &Tx<'_>, authority: Authority) -> Result<Vec<(String, String)>, BackendError> {
    Ok(tx.query_all(
        "SELECT navigator_id, display_name FROM navigators WHERE authority = ?1 AND active = 1
         ORDER BY display_name, navigator_id",
        p![authority.slug()],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?)
}

/// The team's unassigned referrals past due.
fn overdue_count(tx: &Tx<'_>, rule: OverdueRule, authority: Authority, now: i64) -> Result<usize, BackendError> {
    let rows = tx.query_all(
        "SELECT urgency, received_ms FROM referrals WHERE authority = ?1 AND status = 'received'",
        p![authority.slug()],
        |r| Ok((r.get::<String>(0)?, r.get::<i64>(1)?)),
    )?;
    Ok(rows
        .iter()
        .filter(|(u, at)| rule.due_ms(urgency_of(u), *at) <= now)
        .count())
}

impl Backend {
    /// The calling Navigator's inbox (`query.page` from 1; past the last
    /// page, an empty one).
    pub fn navigator_inbox(&self, who: &Caller, query: &InboxQuery) -> Result<Inbox, BackendError> {
        let now = now_ms();
        let rule = self.overdue_rule();
        self.write(|tx| {
            let Member { authority, joined_ms } = require_member(tx, &who.subject)?;
            let status = query.status.map_or("", ReferralStatus::as_str);
            let from = query.from.map_or(i64::MIN, day_start);
            let to = query
                .to
                .and_then(|d| d.succ_opt())
                .map_or(i64::MAX, |d| day_start(d) - 1);
            let filter = format!(
                "{VISIBLE} AND (?3 = '' AND status <> 'closed' OR status = ?3)
                 AND (?4 = '' OR urgency = ?4) AND received_ms >= ?5 AND received_ms <= ?6"
            );
            // '' for "any": a typed parameter on both engines, where a NULL
            // would need PostgreSQL to guess its type.
            let urgency = query.urgency.map_or("", Urgency::as_str);
            let total: i64 = tx.query_one(
                &format!("SELECT count(*) FROM referrals WHERE {filter}"),
                p![authority.slug(), joined_ms, status, urgency, from, to],
                |r| r.get(0),
            )?;
            let total = usize::try_from(total).unwrap_or(0);
            let pages = total.div_ceil(PAGE_SIZE).max(1);
            let page = query.page.max(1);
            let offset = i64::try_from((page - 1) * PAGE_SIZE).unwrap_or(i64::MAX);
            let rows = tx.query_all(
                &format!(
                    "SELECT referral_id, reference, urgency, reasons, status, assignee, received_ms
                     FROM referrals WHERE {filter}
                     ORDER BY CASE WHEN status = 'closed' THEN 1 ELSE 0 END,
                       CASE urgency WHEN 'urgent' THEN 0 WHEN 'priority' THEN 1 ELSE 2 END,
                       received_ms, referral_id
                     LIMIT ?7 OFFSET ?8"
                ),
                p![
                    authority.slug(),
                    joined_ms,
                    status,
                    urgency,
                    from,
                    to,
                    PAGE_SIZE as i64,
                    offset
                ],
                |r| {
                    Ok((
                        (r.get::<String>(0)?, r.get::<String>(1)?, r.get::<String>(2)?),
                        (r.get::<String>(3)?, r.get::<String>(4)?),
                        (r.get::<Option<String>>(5)?, r.get::<i64>(6)?),
                    ))
                },
            )?;
            let lines = rows
                .into_iter()
                .map(
                    |((id, reference, urgency), (reasons, status), (assignee, received_ms))| {
                        let urgency = urgency_of(&urgency);
                        let status = status_of(&id, &status)?;
                        Ok(InboxLine {
                            reasons: serde_json::from_str(&reasons)
                                .map_err(|_| BackendError::Corrupt(format!("referral {id}: bad stored reasons")))?,
                            overdue: status == ReferralStatus::Received && rule.due_ms(urgency, received_ms) <= now,
                            referral_id: id,
                            reference,
                            urgency,
                            status,
                            assignee,
                            received_ms,
                        })
                    },
                )
                .collect::<Result<Vec<_>, BackendError>>()?;
            let ids: Vec<String> = lines.iter().map(|l| l.referral_id.clone()).collect();
            let scope = format!(
                "inbox status={} urgency={} page={page}",
                if status.is_empty() { "open" } else { status },
                if urgency.is_empty() { "any" } else { urgency }
            );
            audit::append(tx, who, Access::on(Action::Consultation, "referral", &ids, &scope), now)?;
            Ok(Inbox {
                authority,
                overdue: overdue_count(tx, rule, authority, now)?,
                lines,
                total,
                page,
                pages,
            })
        })
    }

    /// One referral of the Navigator's team, in full.
    pub fn navigator_referral(&self, who: &Caller, referral_id: &str) -> Result<ReferralPage, BackendError> {
        let now = now_ms();
        let rule = self.overdue_rule();
        self.write(|tx| {
            let page = referral_page(tx, &self.sealing, &who.subject, referral_id, rule, now)?;
            let ids = [referral_id.to_string()];
            audit::append(tx, who, Access::on(Action::Consultation, "referral", &ids, "page"), now)?;
            Ok(page)
        })
    }

    /// The Navigator's team and how its inbox stands.
    pub fn navigator_team(&self, who: &Caller) -> Result<Team, BackendError> {
        let now = now_ms();
        let rule = self.overdue_rule();
        self.read(|tx| {
            let Member { authority, .. } = require_member(tx, &who.subject)?;
            let open = tx.query_all(
                "SELECT status, assignee FROM referrals WHERE authority = ?1 AND status <> 'closed'",
                p![authority.slug()],
                |r| Ok((r.get::<String>(0)?, r.get::<Option<String>>(1)?)),
            )?;
            let members = team_of(tx, authority)?;
            let assigned = members
                .iter()
                .map(|(id, _)| {
                    let n = open.iter().filter(|(_, a)| a.as_deref() == Some(id.as_str())).count();
                    (id.clone(), n)
                })
                .collect();
            Ok(Team {
                authority,
                open: open.len(),
                unassigned: open.iter().filter(|(_, a)| a.is_none()).count(),
                overdue: overdue_count(tx, rule, authority, now)?,
                members,
                assigned,
            })
        })
    }

    /// The JSON API's status change (`assigned` to oneself, `contacted`,
    /// `closed`; steps may be skipped): setting the status it already has
    /// is a retry and changes nothing, and a step back is refused.
    pub fn set_referral_status(
        &self,
        who: &Caller,
        referral_id: &str,
        status: ReferralStatus,
    ) -> Result<ReferralUpdate, BackendError> {
        let action = match status {
            ReferralStatus::Assigned => DeskAction::Assign {
                to: who.subject.clone(),
            },
            ReferralStatus::Contacted => DeskAction::Contacted,
            ReferralStatus::Closed => DeskAction::Close { outcome: None },
            other => {
                return Err(BackendError::Invalid(format!(
                    "a Navigator sets a referral to assigned, contacted or closed, not {}",
                    other.as_str()
                )));
            }
        };
        let now = now_ms();
        self.write(|tx| {
            let member = require_member(tx, &who.subject)?;
            let cur = current(tx, &member, referral_id)?;
            if cur.status == status {
                return Ok(cur.unchanged(referral_id));
            }
            if !cur.status.advances_to(status) {
                return Err(BackendError::BadTransition {
                    from: cur.status,
                    to: status,
                });
            }
            act(tx, who, referral_id, &action, now)
        })
    }

    /// Does `action` to a referral of the Navigator's team: one event for
    /// the history and the officer's sync, one access-log entry. Doing what
    /// is already done (assigning to the assignee, closing a closed one with
    /// its outcome) is a retry and changes nothing; status only moves
    /// forward, except that a transfer restarts it at `received` for the
    /// new team.
    pub fn navigator_act(
        &self,
        who: &Caller,
        referral_id: &str,
        action: &DeskAction,
    ) -> Result<ReferralUpdate, BackendError> {
        let now = now_ms();
        self.write(|tx| act(tx, who, referral_id, action, now))
    }
}

struct Current {
    officer_id: String,
    authority: Authority,
    status: ReferralStatus,
    status_ms: i64,
    assignee: Option<String>,
    outcome: Option<Outcome>,
}

impl Current {
    /// The answer to a retry: where it already stands.
    fn unchanged(&self, referral_id: &str) -> ReferralUpdate {
        ReferralUpdate {
            referral_id: referral_id.to_string(),
            status: self.status,
            time_ms: self.status_ms,
            authority: Some(self.authority.slug().to_string()),
            outcome: self.outcome,
        }
    }
}

/// The referral as the Navigator may see it, or `UnknownReferral`.
fn current(tx: &Tx<'_>, member: &Member, referral_id: &str) -> Result<Current, BackendError> {
    let row = tx.query_opt(
        &format!(
            "SELECT officer_id, status, status_ms, assignee, outcome FROM referrals
             WHERE referral_id = ?3 AND {VISIBLE}"
        ),
        p![member.authority.slug(), member.joined_ms, referral_id],
        |r| {
            Ok((
                r.get::<String>(0)?,
                r.get::<String>(1)?,
                r.get::<i64>(2)?,
                r.get::<Option<String>>(3)?,
                r.get::<Option<String>>(4)?,
            ))
        },
    )?;
    let Some((officer_id, status, status_ms, assignee, outcome)) = row else {
        return Err(BackendError::UnknownReferral(referral_id.to_string()));
    };
    Ok(Current {
        officer_id,
        authority: member.authority,
        status: status_of(referral_id, &status)?,
        status_ms,
        assignee,
        outcome: outcome.as_deref().and_then(Outcome::parse),
    })
}

fn referral_page(
    tx: &Tx<'_>,
    sealing: &Sealing,
    navigator_id: &str,
    referral_id: &str,
    rule: OverdueRule,
    now: i64,
) -> Result<ReferralPage, BackendError> {
    let member = require_member(tx, navigator_id)?;
    let cur = current(tx, &member, referral_id)?;
    let stored = super::stored(tx, sealing, referral_id)?
        .ok_or_else(|| BackendError::UnknownReferral(referral_id.to_string()))?;
    let rows = tx.query_all(
        "SELECT e.time_ms, e.navigator_id, n.display_name, e.status, e.authority, e.outcome, e.detail
         FROM referral_events e LEFT JOIN navigators n ON n.navigator_id = e.navigator_id
         WHERE e.referral_id = ?1 ORDER BY e.seq",
        p![referral_id],
        |r| {
            Ok((
                (r.get::<i64>(0)?, r.get::<String>(1)?, r.get::<Option<String>>(2)?),
                (r.get::<String>(3)?, r.get::<String>(4)?),
                (r.get::<Option<String>>(5)?, r.get::<String>(6)?),
            ))
        },
    )?;
    let history = rows
        .into_iter()
        .map(|((time_ms, by_id, by_name), (status, authority), (outcome, detail))| {
            Ok(HistoryLine {
                time_ms,
                by: by_name.unwrap_or(by_id),
                status: status_of(referral_id, &status)?,
                authority,
                outcome: outcome.as_deref().and_then(Outcome::parse),
                detail,
            })
        })
        .collect::<Result<Vec<_>, BackendError>>()?;
    Ok(ReferralPage {
        overdue: cur.status == ReferralStatus::Received && rule.due_ms(stored.urgency, stored.received_ms) <= now,
        authority: cur.authority,
        status: cur.status,
        assignee: cur.assignee,
        outcome: cur.outcome,
        team: team_of(tx, cur.authority)?,
        id: referral_id.to_string(),
        reference: stored.reference,
        urgency: stored.urgency,
        details: stored.details,
        erased_ms: stored.erased_ms,
        received_ms: stored.received_ms,
        history,
    })
}

/// What an action leaves: status, team, assignee, outcome, and the words.
struct After {
    status: ReferralStatus,
    authority: Authority,
    assignee: Option<String>,
    outcome: Option<Outcome>,
    detail: String,
}

fn act(
    tx: &Tx<'_>,
    who: &Caller,
    referral_id: &str,
    action: &DeskAction,
    now: i64,
) -> Result<ReferralUpdate, BackendError> {
    let member = require_member(tx, &who.subject)?;
    let cur = current(tx, &member, referral_id)?;
    let unchanged = || cur.unchanged(referral_id);
    let forward = |to: ReferralStatus| -> Result<(), BackendError> {
        if cur.status.advances_to(to) {
            Ok(())
        } else {
            Err(BackendError::BadTransition { from: cur.status, to })
        }
    };
    let after = match action {
        DeskAction::Assign { to } => {
            if cur.assignee.as_deref() == Some(to.as_str()) {
                return Ok(unchanged());
            }
            if cur.status == ReferralStatus::Closed {
                return Err(BackendError::BadTransition {
                    from: cur.status,
                    to: ReferralStatus::Assigned,
                });
            }
            let colleague = require_member(tx, to).ok().filter(|m| m.authority == cur.authority);
            if colleague.is_none() {
                return Err(BackendError::Invalid(format!(
                    "{to} is not a Navigator on the {} team",
                    cur.authority
                )));
            }
            After {
                // A reassignment keeps a contacted referral contacted.
                status: if cur.status == ReferralStatus::Received {
                    ReferralStatus::Assigned
                } else {
                    cur.status
                },
                authority: cur.authority,
                assignee: Some(to.clone()),
                outcome: None,
                detail: format!("assigned to {to}"),
            }
        }
        DeskAction::Contacted => {
            if cur.status == ReferralStatus::Contacted {
                return Ok(unchanged());
            }
            forward(ReferralStatus::Contacted)?;
            After {
                status: ReferralStatus::Contacted,
                authority: cur.authority,
                assignee: cur.assignee.clone().or_else(|| Some(who.subject.clone())),
                outcome: None,
                detail: "contact made".into(),
            }
        }
        DeskAction::Close { outcome } => {
            if cur.status == ReferralStatus::Closed && (outcome.is_none() || *outcome == cur.outcome) {
                return Ok(unchanged());
            }
            forward(ReferralStatus::Closed)?;
            After {
                status: ReferralStatus::Closed,
                authority: cur.authority,
                assignee: cur.assignee.clone(),
                outcome: *outcome,
                detail: match outcome {
                    Some(o) => format!("closed: {}", o.words()),
                    None => "closed".into(),
                },
            }
        }
        DeskAction::Transfer { to, reason } => {
            if *to == cur.authority {
                return Err(BackendError::Invalid(format!(
                    "the referral is already the {to} team's"
                )));
            }
            if cur.status == ReferralStatus::Closed {
                return Err(BackendError::BadTransition {
                    from: cur.status,
                    to: ReferralStatus::Received,
                });
            }
            After {
                status: ReferralStatus::Received,
                authority: *to,
                assignee: None,
                outcome: None,
                detail: format!("transferred from {} to {to}: {}", cur.authority, reason.words()),
            }
        }
    };
    let changed = tx.execute(
        "UPDATE referrals SET status = ?2, status_ms = ?3, authority = ?4, assignee = ?5, outcome = ?6
         WHERE referral_id = ?1 AND status = ?7 AND authority = ?8",
        p![
            referral_id,
            after.status.as_str(),
            now,
            after.authority.slug(),
            after.assignee,
            after.outcome.map(Outcome::as_str),
            cur.status.as_str(),
            cur.authority.slug()
        ],
    )?;
    if changed == 0 {
        // Another Navigator's change came first: run again from it.
        return Err(DbError::Conflict.into());
    }
    let event = Event {
        referral_id,
        officer_id: &cur.officer_id,
        by: &who.subject,
        status: after.status,
        authority: after.authority,
        outcome: after.outcome,
        detail: &after.detail,
    };
    record_event(tx, &event, now)?;
    let ids = [referral_id.to_string()];
    let scope = after.detail.clone();
    audit::append(tx, who, Access::on(Action::Alteration, "referral", &ids, &scope), now)?;
    if matches!(action, DeskAction::Transfer { .. }) {
        audit::append(tx, who, Access::on(Action::Disclosure, "referral", &ids, &scope), now)?;
    }
    tracing::info!(
        referral_id,
        authority = after.authority.slug(),
        status = after.status.as_str(),
        "referral status changed"
    );
    Ok(ReferralUpdate {
        referral_id: referral_id.to_string(),
        status: after.status,
        time_ms: now,
        authority: Some(after.authority.slug().to_string()),
        outcome: after.outcome,
    })
}

/// One row of a referral's history (and of its officer's sync feed).
pub(super) struct Event<'a> {
    pub referral_id: &'a str,
    pub officer_id: &'a str,
    /// A Navigator's id, or `server` for a re-route on arrival.
    pub by: &'a str,
    pub status: ReferralStatus,
    pub authority: Authority,
    pub outcome: Option<Outcome>,
    pub detail: &'a str,
}

/// The event's sequence number is what an officer's sync cursor counts:
/// AUTOINCREMENT (an identity on PostgreSQL) never reuses or goes back, and
/// on PostgreSQL the lock makes numbers commit in order, so a cursor never
/// passes one still to come.
pub(super) fn record_event(tx: &Tx<'_>, e: &Event<'_>, now: i64) -> Result<(), BackendError> {
    tx.serialise(LOCK_REFERRAL_EVENTS)?;
    tx.execute(
        "INSERT INTO referral_events (referral_id, officer_id, navigator_id, status, time_ms, authority, outcome,
           detail)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        p![
            e.referral_id,
            e.officer_id,
            e.by,
            e.status.as_str(),
            now,
            e.authority.slug(),
            e.outcome.map(Outcome::as_str),
            e.detail
        ],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(date: &str, time: &str) -> i64 {
        let d = NaiveDate::parse_from_str(date, "%Y-%m-%d").expect("date");
        let t = chrono::NaiveTime::parse_from_str(time, "%H:%M").expect("time");
        london_instant(d, t).expect("instant")
    }

    #[test]
    fn urgent_is_due_in_hours_and_the_rest_in_working_days() {
        let rule = OverdueRule::default();
        // Friday 4 December 2026, 16:00.
        let friday = at("2026-12-04", "16:00");
        assert_eq!(rule.due_ms(Urgency::Urgent, friday), friday + 24 * 3_600_000);
        // Five working days on: the next Friday, same time.
        assert_eq!(rule.due_ms(Urgency::Routine, friday), at("2026-12-11", "16:00"));
        // Received on a Saturday: Mon..Fri are the five.
        assert_eq!(
            rule.due_ms(Urgency::Priority, at("2026-12-05", "10:00")),
            at("2026-12-11", "10:00")
        );
        let one = OverdueRule {
            urgent_hours: 2,
            working_days: 1,
        };
        assert_eq!(one.due_ms(Urgency::Routine, friday), at("2026-12-07", "16:00"));
        assert_eq!(one.due_ms(Urgency::Urgent, friday), friday + 2 * 3_600_000);
    }
}
