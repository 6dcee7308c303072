//! Words for figures the core already computed, so both shells show them
//! alike. Pure formatting of existing data: no rule is decided here (the
//! minutes, what is still needed and why come from the core's
//! `PatrolStatus`).

use crate::referral::{Receipt, ReferralStatus};
use crate::types::PatrolStatus;

/// The open patrol's figures as the patrol screen and the tracking
/// notification word them.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PatrolStatusText {
    /// "23 min in area". Rounded down: the screen never shows 30 while
    /// 29.6 are counted, which could send an officer away a minute early.
    pub minutes_in_area: String,
    /// "7 min still needed" (rounded up, for the same reason), or `None`
    /// once the minutes are enough.
    pub still_needed: Option<String>,
    /// One line for a notification: both of the above.
    pub headline: String,
}

/// The words for `status`.
#[uniffi::export]
pub fn patrol_status_text(status: PatrolStatus) -> PatrolStatusText {
    let minutes_in_area = format!("{} in area", minutes(status.minutes_in_area.max(0.0).floor()));
    let still_needed = (status.minutes_still_needed > 0.0)
        .then(|| format!("{} still needed", minutes(status.minutes_still_needed.ceil())));
    let headline = match &still_needed {
        Some(needed) => format!("{minutes_in_area} · {needed}"),
        None => minutes_in_area.clone(),
    };
    PatrolStatusText {
        minutes_in_area,
        still_needed,
        headline,
    }
}

/// Where a submitted referral stands, in one line for the officer's list:
/// the team that holds it now and, once closed, how it ended.
#[uniffi::export]
pub fn referral_status_text(receipt: Receipt) -> String {
    let team = receipt.authority.name();
    match (receipt.status, receipt.outcome) {
        (ReferralStatus::Queued, _) => "Waiting for signal: it is sent as soon as there is one".to_string(),
        (ReferralStatus::Received, _) => format!("Received by the {team} Navigator team"),
        (ReferralStatus::Assigned, _) => format!("With a {team} Navigator"),
        (ReferralStatus::Contacted, _) => format!("The {team} Navigator team has made contact"),
        (ReferralStatus::Closed, Some(o)) => format!("Closed by the {team} team: {}", o.words()),
        (ReferralStatus::Closed, None) => format!("Closed by the {team} team"),
    }
}

/// Whole minutes as "7 min", "1 h 05 min".
fn minutes(whole: f64) -> String {
    // A patrol's minutes are far below i64's range; NaN (never sent) reads 0.
    let m = if whole.is_finite() { whole as i64 } else { 0 };
    if m < 60 {
        format!("{m} min")
    } else {
        format!("{} h {:02} min", m / 60, m % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{MinutesBasis, PatrolReport, Rank};

    fn status(in_area: f64, needed: f64) -> PatrolStatus {
        PatrolStatus {
            patrol_id: "p1".into(),
            area_id: "a1".into(),
            area_name: "The Ramp".into(),
            checked_in_ms: 0,
            in_area_now: true,
            minutes_in_area: in_area,
            minutes_still_needed: needed,
            report: PatrolReport {
                area_id: "a1".into(),
                arrival_ms: None,
                departure_ms: None,
                minutes_in_area: in_area,
                minutes_in_window: in_area,
                minutes_inside: in_area,
                minutes_at_edge: 0.0,
                minutes_basis: MinutesBasis::InsideAndEdge,
                distance_m: 0.0,
                fixes_total: 0,
                fixes_accepted: 0,
                fixes_rejected: vec![],
                inside_fraction: 1.0,
                inside_transitions: 0,
                rank: Rank::Constable,
                compliant: needed == 0.0,
                reasons: vec![],
                reason_texts: vec![],
            },
        }
    }

    #[test]
    fn minutes_in_area_round_down_and_minutes_needed_round_up() {
        let t = patrol_status_text(status(29.6, 0.4));
        assert_eq!(t.minutes_in_area, "29 min in area");
        assert_eq!(t.still_needed.as_deref(), Some("1 min still needed"));
        assert_eq!(t.headline, "29 min in area · 1 min still needed");
    }

    #[test]
    fn nothing_is_still_needed_once_enough_and_hours_read_as_hours() {
        let t = patrol_status_text(status(65.2, 0.0));
        assert_eq!(t.minutes_in_area, "1 h 05 min in area");
        assert_eq!(t.still_needed, None);
        assert_eq!(t.headline, "1 h 05 min in area");
    }

    #[test]
    fn a_referral_reads_as_where_it_stands_and_how_it_ended() {
        use crate::referral::{Authority, ReferralOutcome, Urgency};
        let r = |status, outcome| Receipt {
            id: "r1".into(),
            reference: "VRP-1A2B3C4D".into(),
            authority: Authority::Coventry,
            reasons: vec![],
            urgency: Urgency::Routine,
            created_ms: 0,
            status,
            status_ms: 0,
            patrol_id: None,
            area_id: None,
            outcome,
        };
        assert_eq!(
            referral_status_text(r(ReferralStatus::Received, None)),
            "Received by the Coventry Navigator team"
        );
        assert_eq!(
            referral_status_text(r(ReferralStatus::Closed, Some(ReferralOutcome::UnableToContact))),
            "Closed by the Coventry team: Unable to contact"
        );
        assert_eq!(
            referral_status_text(r(ReferralStatus::Closed, None)),
            "Closed by the Coventry team"
        );
        assert!(referral_status_text(r(ReferralStatus::Queued, None)).starts_with("Waiting for signal"));
    }
}
