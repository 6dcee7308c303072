//! The Navigator's desk as HTML: the inbox, a referral, the team. Every
//! stored text goes through [`esc`]; no script, no inline style, and no map
//! of where a child was (the place is the authority and the patrol area).

use std::fmt::Write as _;

use guardian_protocol::referral::{
    Authority, Outcome, ReasonCode, ReferralRecord, ReferralStatus, TransferReason, Urgency,
};

use super::page::{esc, frame, london_time, url_part};
use super::site::NAVIGATOR;
use crate::backend::now_ms;
use crate::referral::{Inbox, InboxQuery, ReferralPage, Team};
use crate::token::Claims;

fn words(code: &str) -> String {
    let s = code.replace('_', " ");
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

fn reasons(codes: &[ReasonCode]) -> String {
    let names: Vec<String> = codes.iter().map(|c| words(c.as_str())).collect();
    esc(&names.join(", "))
}

/// "3 h", "2 days": how long ago, for triage.
fn age(ms: i64, now: i64) -> String {
    let mins = (now - ms).max(0) / 60_000;
    match mins {
        m if m < 60 => format!("{m} min"),
        m if m < 48 * 60 => format!("{} h", m / 60),
        m => format!("{} days", m / (24 * 60)),
    }
}

fn status_cell(s: ReferralStatus, overdue: bool) -> String {
    let mut out = format!("<span class=\"status\">{}</span>", words(s.as_str()));
    if overdue {
        out.push_str(" <strong class=\"overdue\">Overdue</strong>");
    }
    out
}

fn option(value: &str, label: &str, chosen: bool) -> String {
    format!(
        "<option value=\"{value}\"{}>{label}</option>",
        if chosen { " selected" } else { "" }
    )
}

fn filters(q: &InboxQuery) -> String {
    let mut m = String::from("<form method=\"get\" action=\"/navigator\" class=\"range\">\n");
    m.push_str("<label for=\"status\">Status</label> <select id=\"status\" name=\"status\">");
    m.push_str(&option("open", "Open", q.status.is_none()));
    for s in [
        ReferralStatus::Received,
        ReferralStatus::Assigned,
        ReferralStatus::Contacted,
        ReferralStatus::Closed,
    ] {
        m.push_str(&option(s.as_str(), &words(s.as_str()), q.status == Some(s)));
    }
    m.push_str("</select>\n<label for=\"urgency\">Urgency</label> <select id=\"urgency\" name=\"urgency\">");
    m.push_str(&option("any", "Any", q.urgency.is_none()));
    for u in Urgency::ALL {
        m.push_str(&option(u.as_str(), &words(u.as_str()), q.urgency == Some(u)));
    }
    m.push_str("</select>\n");
    let date = |d: Option<chrono::NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
    let _ = writeln!(
        m,
        "<label for=\"from\">Received from</label> <input id=\"from\" name=\"from\" type=\"date\" value=\"{}\">\n\
         <label for=\"to\">to</label> <input id=\"to\" name=\"to\" type=\"date\" value=\"{}\">\n\
         <button type=\"submit\">Show</button>\n</form>",
        date(q.from),
        date(q.to)
    );
    m
}

/// The same query on another page.
fn page_link(q: &InboxQuery, page: usize, label: &str) -> String {
    let mut parts = vec![format!("status={}", q.status.map_or("open", ReferralStatus::as_str))];
    if let Some(u) = q.urgency {
        parts.push(format!("urgency={}", u.as_str()));
    }
    if let Some(f) = q.from {
        parts.push(format!("from={f}"));
    }
    if let Some(t) = q.to {
        parts.push(format!("to={t}"));
    }
    parts.push(format!("page={page}"));
    format!("<a href=\"/navigator?{}\">{label}</a>", parts.join("&amp;"))
}

pub(super) fn inbox(inbox: &Inbox, q: &InboxQuery, who: &Claims, moved: Option<&str>) -> String {
    let now = now_ms();
    let mut m = String::new();
    let _ = writeln!(m, "<h1>{} referrals</h1>", inbox.authority);
    if let Some(a) = moved.and_then(Authority::parse) {
        let _ = writeln!(
            m,
            "<p class=\"notice\" role=\"status\">The referral was transferred to the {a} team; the officer is told.</p>"
        );
    }
    let _ = writeln!(
        m,
        "<p>{} matching · <strong>{} overdue</strong> across the team's open referrals.</p>",
        inbox.total, inbox.overdue
    );
    m.push_str(&filters(q));
    if inbox.lines.is_empty() {
        m.push_str("<p>No referrals match.</p>\n");
    } else {
        m.push_str(
            "<div class=\"scroll\" role=\"region\" aria-label=\"Referrals\" tabindex=\"0\"><table>\n\
             <caption>Open first, urgent on top, oldest first</caption>\n<thead><tr>\
             <th scope=\"col\">Reference</th><th scope=\"col\">Urgency</th><th scope=\"col\">Reasons</th>\
             <th scope=\"col\">Status</th><th scope=\"col\">Assigned to</th><th scope=\"col\">Received</th>\
             <th scope=\"col\">Age</th></tr></thead>\n<tbody>\n",
        );
        for l in &inbox.lines {
            let _ = writeln!(
                m,
                "<tr><th scope=\"row\"><a href=\"/navigator/referrals/{}\">{}</a></th><td>{}</td><td>{}</td>\
                 <td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                url_part(&l.referral_id),
                esc(&l.reference),
                words(l.urgency.as_str()),
                reasons(&l.reasons),
                status_cell(l.status, l.overdue),
                l.assignee.as_deref().map_or_else(|| "Nobody yet".to_string(), esc),
                london_time(l.received_ms),
                age(l.received_ms, now)
            );
        }
        m.push_str("</tbody>\n</table></div>\n");
    }
    let _ = write!(m, "<p class=\"pages\">Page {} of {}", inbox.page, inbox.pages);
    if inbox.page > 1 {
        let _ = write!(m, " · {}", page_link(q, inbox.page - 1, "Previous page"));
    }
    if inbox.page < inbox.pages {
        let _ = write!(m, " · {}", page_link(q, inbox.page + 1, "Next page"));
    }
    m.push_str("</p>\n");
    frame(&NAVIGATOR, "Inbox", Some(who), &m)
}

fn row(m: &mut String, label: &str, value: &str) {
    let _ = writeln!(m, "<div class=\"figure\"><dt>{label}</dt><dd>{value}</dd></div>");
}

pub(super) fn referral(p: &ReferralPage, who: &Claims, done: Option<&str>) -> String {
    let mut m = String::new();
    let _ = writeln!(m, "<h1>Referral {}</h1>", esc(&p.reference));
    if let Some(d) = done.and_then(ReferralStatus::parse) {
        let _ = writeln!(
            m,
            "<p class=\"notice\" role=\"status\">Saved: the referral is {}.</p>",
            words(d.as_str()).to_lowercase()
        );
    }
    m.push_str("<h2>Where it stands</h2>\n<dl class=\"figures\">\n");
    row(&mut m, "Status", &status_cell(p.status, p.overdue));
    row(&mut m, "Urgency", &words(p.urgency.as_str()));
    row(
        &mut m,
        "Assigned to",
        &p.assignee.as_deref().map_or_else(|| "Nobody yet".to_string(), esc),
    );
    if let Some(o) = p.outcome {
        row(&mut m, "Outcome", o.words());
    }
    row(&mut m, "Team", &p.authority.to_string());
    row(&mut m, "Received", &london_time(p.received_ms));
    m.push_str("</dl>\n");
    match (&p.details, p.erased_ms) {
        (Some(r), _) => details(&mut m, r, p),
        (None, at) => {
            let when = at.map(|t| format!(" on {}", london_time(t))).unwrap_or_default();
            let _ = writeln!(
                m,
                "<p class=\"notice\">The young person's details were erased{when}, as the force's retention \
                 rules or its data protection officer decided. What is left is the referral's reasons, \
                 urgency, outcome and dates.</p>"
            );
        }
    }
    if p.status != ReferralStatus::Closed && p.details.is_some() {
        actions(&mut m, p);
    }
    history(&mut m, p);
    frame(&NAVIGATOR, &format!("Referral {}", p.reference), Some(who), &m)
}

/// The personal part: who, why, consent and the officer's account.
fn details(m: &mut String, r: &ReferralRecord, p: &ReferralPage) {
    let s = &r.subject;
    m.push_str("<h2>The young person</h2>\n<dl class=\"figures\">\n");
    row(m, "Name", &esc(&s.name));
    let dob = match (&s.date_of_birth, s.estimated_age) {
        (Some(d), _) => esc(d),
        (None, Some(a)) => format!("Not known (about {a})"),
        (None, None) => "Not known".into(),
    };
    row(m, "Date of birth", &dob);
    for (label, v) in [
        ("Address", &s.address),
        ("School", &s.school),
        ("Carer contact", &s.carer_contact),
    ] {
        row(m, label, &v.as_deref().map_or_else(|| "Not given".to_string(), esc));
    }
    m.push_str("</dl>\n<h2>Why</h2>\n<ul>\n");
    for reason in &r.reasons {
        let text = reason
            .text
            .as_deref()
            .map(|t| format!(": {}", esc(t)))
            .unwrap_or_default();
        let _ = writeln!(m, "<li>{}{text}</li>", words(reason.code.as_str()));
    }
    let consent = words(r.consent.state.as_str());
    let consent_reason = r
        .consent
        .reason
        .as_deref()
        .map(|t| format!(" ({})", esc(t)))
        .unwrap_or_default();
    let _ = writeln!(
        m,
        "</ul>\n<p>Consent: {consent}{consent_reason}.{}</p>",
        if r.safeguarding_concern {
            " <strong>The officer raised a safeguarding concern.</strong>"
        } else {
            ""
        }
    );
    let _ = writeln!(
        m,
        "<h2>The officer's account</h2>\n<p class=\"narrative\">{}</p>\n<p>By officer {} on {}, in {}{}.</p>",
        esc(&r.narrative),
        esc(&r.officer_id),
        london_time(r.location.time_ms),
        p.authority,
        r.area_id
            .as_deref()
            .map(|a| format!(" (patrol area {})", esc(a)))
            .unwrap_or_default()
    );
}

fn history(m: &mut String, p: &ReferralPage) {
    m.push_str("<h2>History</h2>\n");
    if p.history.is_empty() {
        m.push_str("<p>Received; nothing done yet.</p>\n");
    } else {
        m.push_str("<ol class=\"history\">\n");
        for h in &p.history {
            let _ = writeln!(
                m,
                "<li>{} · {} · {}</li>",
                london_time(h.time_ms),
                esc(&h.by),
                esc(&h.detail)
            );
        }
        m.push_str("</ol>\n");
    }
}

fn form_open(m: &mut String, id: &str, action: &str, legend: &str) {
    let _ = writeln!(
        m,
        "<form method=\"post\" action=\"/navigator/referrals/{}\" class=\"action\">\n<fieldset><legend>{legend}</legend>\n\
         <input type=\"hidden\" name=\"action\" value=\"{action}\">",
        url_part(id)
    );
}

fn actions(m: &mut String, p: &ReferralPage) {
    let id = &p.id;
    m.push_str("<h2>Actions</h2>\n");
    form_open(m, id, "assign", "Assign");
    m.push_str("<label for=\"to\">To</label> <select id=\"to\" name=\"to\">");
    for (nid, name) in &p.team {
        m.push_str(&option(
            &esc(nid),
            &esc(name),
            p.assignee.as_deref() == Some(nid.as_str()),
        ));
    }
    m.push_str("</select>\n<button type=\"submit\">Assign</button>\n</fieldset></form>\n");
    if p.status != ReferralStatus::Contacted {
        form_open(m, id, "contacted", "Contact made");
        m.push_str("<button type=\"submit\">Mark contacted</button>\n</fieldset></form>\n");
    }
    form_open(m, id, "close", "Close with an outcome");
    m.push_str("<label for=\"outcome\">Outcome</label> <select id=\"outcome\" name=\"outcome\" required>");
    m.push_str("<option value=\"\">Choose…</option>");
    for o in Outcome::ALL {
        m.push_str(&option(o.as_str(), o.words(), false));
    }
    m.push_str("</select>\n<button type=\"submit\">Close</button>\n</fieldset></form>\n");
    form_open(m, id, "transfer", "Transfer to another team");
    m.push_str("<label for=\"authority\">Authority</label> <select id=\"authority\" name=\"authority\" required>");
    m.push_str("<option value=\"\">Choose…</option>");
    for a in Authority::ALL.into_iter().filter(|a| *a != p.authority) {
        m.push_str(&option(a.slug(), a.name(), false));
    }
    m.push_str("</select>\n<label for=\"reason\">Why</label> <select id=\"reason\" name=\"reason\" required>");
    m.push_str("<option value=\"\">Choose…</option>");
    for r in TransferReason::ALL {
        m.push_str(&option(r.as_str(), r.words(), false));
    }
    m.push_str("</select>\n<button type=\"submit\">Transfer</button>\n</fieldset></form>\n");
}

pub(super) fn team(t: &Team, who: &Claims) -> String {
    let mut m = String::new();
    let _ = writeln!(m, "<h1>The {} team</h1>", t.authority);
    m.push_str("<dl class=\"figures\">\n");
    row(&mut m, "Open referrals", &t.open.to_string());
    row(&mut m, "Not yet assigned", &t.unassigned.to_string());
    row(
        &mut m,
        "Overdue",
        &format!("<strong class=\"overdue\">{}</strong>", t.overdue),
    );
    m.push_str(
        "</dl>\n<div class=\"scroll\" role=\"region\" aria-label=\"Navigators\" tabindex=\"0\"><table>\n<caption>Navigators on the team</caption>\n<thead><tr><th scope=\"col\">Navigator</th>\
         <th scope=\"col\">Open referrals assigned</th></tr></thead>\n<tbody>\n",
    );
    for (id, name) in &t.members {
        let n = t.assigned.iter().find(|(a, _)| a == id).map_or(0, |(_, n)| *n);
        let _ = writeln!(
            m,
            "<tr><th scope=\"row\">{} ({})</th><td>{n}</td></tr>",
            esc(name),
            esc(id)
        );
    }
    m.push_str("</tbody>\n</table></div>\n<p>The force's admin adds, moves and removes Navigators.</p>\n");
    frame(&NAVIGATOR, "Team", Some(who), &m)
}
