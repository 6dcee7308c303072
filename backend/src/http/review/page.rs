//! The review pages as HTML, written out from the values `crate::review`
//! computed: no figure is worked out here, only formatted. Every text that
//! came from storage goes through [`esc`]; the pages carry no script and no
//! inline style (the Content-Security-Policy forbids both).
//!
//! Accessibility: real tables with captions and header cells, a skip link,
//! labelled forms, and every state said in words (a mark and a word beside
//! each colour).

use std::fmt::Write as _;

use axum::http::StatusCode;
use chrono::NaiveDate;
use guardian_core::patrol::compliance::{CompliancePolicy, ComplianceSummary, MinutesBasis};

use super::draw;
use super::signin::Way;
use super::site::{REVIEW, Site};
use crate::review::{DayReview, Evaluation, Group, GroupFigures, Outcome, PatrolDetail, PatrolLine, WindowText};
use crate::token::Claims;

/// Text made safe for HTML content and quoted attributes (the library's
/// own escaping: one rule for every page we render).
pub(super) fn esc(s: &str) -> String {
    guardian_core::library::markdown::escape_html(s)
}

/// One path segment or query value, percent-encoded (ids are plain ASCII,
/// but a link must never be able to carry anything else).
pub(crate) fn url_part(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// London wall-clock time of a UTC instant: "2026-07-03 22:14".
pub(super) fn london_time(ms: i64) -> String {
    guardian_protocol::time::london(ms).map_or_else(
        || "(time out of range)".to_string(),
        |t| t.format("%Y-%m-%d %H:%M").to_string(),
    )
}

/// Only the clock when the day is known from the context: "22:14".
fn london_clock(ms: i64) -> String {
    guardian_protocol::time::london(ms).map_or_else(|| "?".to_string(), |t| t.format("%H:%M").to_string())
}

fn long_date(d: NaiveDate) -> String {
    d.format("%A %-d %B %Y").to_string()
}

fn one(x: f64) -> String {
    format!("{x:.1}")
}

fn basis_words(b: Option<MinutesBasis>) -> &'static str {
    match b {
        Some(MinutesBasis::InsideAndEdge) => "inside the area or credited at its edge",
        Some(MinutesBasis::InsideOnly) => "inside the area only",
        None => "no patrols",
    }
}

/// The frame every page of `site` shares.
pub(super) fn frame(site: &Site, title: &str, who: Option<&Claims>, main: &str) -> String {
    let mut s = String::with_capacity(main.len() + 1500);
    s.push_str("<!doctype html>\n<html lang=\"en-GB\">\n<head>\n<meta charset=\"utf-8\">\n");
    s.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    s.push_str("<meta name=\"referrer\" content=\"no-referrer\">\n");
    let _ = writeln!(s, "<title>{} · Guardian {}</title>", esc(title), site.name);
    s.push_str("<link rel=\"stylesheet\" href=\"/review/review.css\">\n");
    s.push_str("<link rel=\"icon\" href=\"/review/icon.svg\" type=\"image/svg+xml\">\n</head>\n<body>\n");
    s.push_str("<a class=\"skip\" href=\"#main\">Skip to the content</a>\n<header class=\"top\">\n");
    let _ = writeln!(
        s,
        "<p class=\"brand\"><img src=\"/review/icon.svg\" alt=\"\" width=\"24\" height=\"24\"> Guardian {}</p>",
        site.name
    );
    if let Some(w) = who {
        let _ = write!(s, "<nav aria-label=\"{} pages\"><ul>", site.name);
        for (href, label) in site.nav {
            let _ = write!(s, "<li><a href=\"{href}\">{label}</a></li>");
        }
        s.push_str("</ul></nav>\n");
        let _ = writeln!(
            s,
            "<form class=\"who\" method=\"post\" action=\"{}/logout\"><p>Signed in as <strong>{}</strong> ({})</p>\
             <button type=\"submit\">Sign out</button></form>",
            site.base,
            esc(&w.sub),
            w.role
        );
    }
    s.push_str("</header>\n<main id=\"main\">\n");
    s.push_str(main);
    let _ = write!(
        s,
        "</main>\n<footer><p>{}</p></footer>\n</body>\n</html>\n",
        site.footer
    );
    s
}

pub(super) fn login(site: &Site, message: Option<&str>, next: Option<&str>, way: &Way) -> String {
    let next = esc(next.unwrap_or(site.base));
    let base = site.base;
    let mut m = String::new();
    let _ = writeln!(m, "<h1>Sign in to the {}</h1>", site.name);
    if let Some(msg) = message {
        let _ = writeln!(m, "<p class=\"notice\" role=\"alert\">{}</p>", esc(msg));
    }
    if way.force {
        let _ = writeln!(
            m,
            "<p>Sign in with your force account as {}.</p>\n\
             <form method=\"get\" action=\"{base}/login/start\" class=\"login\">",
            site.who_may
        );
    } else {
        let _ = writeln!(
            m,
            "<p>Paste a token issued by the force to {} \
             (<code>guardian-backend token --role {}</code>).</p>\n\
             <form method=\"post\" action=\"{base}/login\" class=\"login\">\n\
             <label for=\"token\">Token</label>\n\
             <input id=\"token\" name=\"token\" type=\"password\" autocomplete=\"off\" required>",
            site.who_may, site.token_role
        );
    }
    // Why they are looking goes into every access-log entry this session
    // makes (s.62(3)); a force may make it mandatory.
    let (label, required) = if way.purpose {
        ("Why are you opening these pages?", " required")
    } else {
        ("Why are you opening these pages? (optional)", "")
    };
    let _ = writeln!(
        m,
        "<label for=\"purpose\">{label}</label>\n\
         <p class=\"small\" id=\"purpose-hint\">For example: \"Triage of new referrals\". \
         It is recorded in the force's access log with every page you open.</p>\n\
         <input id=\"purpose\" name=\"purpose\" type=\"text\" maxlength=\"300\" \
         aria-describedby=\"purpose-hint\" autocomplete=\"off\"{required}>"
    );
    let _ = writeln!(m, "<input type=\"hidden\" name=\"next\" value=\"{next}\">");
    if way.force {
        m.push_str("<button type=\"submit\">Sign in with the force</button>\n</form>\n");
    } else {
        m.push_str("<button type=\"submit\">Sign in</button>\n</form>\n");
    }
    frame(site, "Sign in", None, &m)
}

/// After the provider's redirect: a same-site navigation on to `next`
/// (a meta refresh, no script), with a link for a browser that refuses it.
pub(super) fn signed_in(site: &Site, next: &str) -> String {
    let next = esc(next);
    let main = format!(
        "<h1>Signed in</h1>\n<p><a href=\"{next}\">Continue to the {}</a></p>\n",
        site.name
    );
    frame(site, "Signed in", None, &main).replacen(
        "<meta charset=\"utf-8\">\n",
        &format!("<meta charset=\"utf-8\">\n<meta http-equiv=\"refresh\" content=\"0;url={next}\">\n"),
        1,
    )
}

pub(super) fn failure(site: &Site, status: StatusCode, message: &str, who: Option<&Claims>) -> String {
    let title = status.canonical_reason().unwrap_or("Error");
    let mut m = String::new();
    let _ = writeln!(m, "<h1>{} ({})</h1>", esc(title), status.as_u16());
    let _ = writeln!(m, "<p class=\"notice\" role=\"alert\">{}</p>", esc(message));
    if who.is_some() {
        let _ = writeln!(m, "<p><a href=\"{}\">Back to the {}</a></p>", site.base, site.name);
    } else {
        let _ = writeln!(
            m,
            "<p><a href=\"{}/login\">Sign in with another token</a></p>",
            site.base
        );
    }
    frame(site, title, who, &m)
}

/// A figure with its exact value for machines (`data-value`) and a rounded
/// one for people.
fn figure(name: &str, label: &str, value: f64, shown: &str) -> String {
    format!(
        "<div class=\"figure\"><dt>{label}</dt><dd data-figure=\"{name}\" data-value=\"{value}\">{shown}</dd></div>"
    )
}

fn board_figures(s: &ComplianceSummary, id: &str) -> String {
    let mut m = String::new();
    let _ = write!(m, "<dl class=\"figures\" id=\"{id}\">");
    m.push_str(&figure(
        "compliance_percent",
        "Compliant",
        s.compliance_percent,
        &format!("{}%", one(s.compliance_percent)),
    ));
    m.push_str(&figure(
        "constable_led_percent",
        "Constable-led",
        s.constable_led_percent,
        &format!("{}%", one(s.constable_led_percent)),
    ));
    m.push_str(&figure(
        "average_minutes",
        "Average minutes",
        s.average_minutes,
        &one(s.average_minutes),
    ));
    m.push_str(&figure(
        "patrols",
        "Patrols judged",
        s.patrols as f64,
        &s.patrols.to_string(),
    ));
    m.push_str("</dl>\n");
    let _ = writeln!(
        m,
        "<p class=\"small\">{} of {} patrols compliant; minutes counted {}.</p>",
        s.compliant,
        s.patrols,
        basis_words(s.minutes_basis)
    );
    m
}

fn group_table(caption: &str, first: &str, rows: &[GroupFigures], with_lpa: bool) -> String {
    let mut m = String::new();
    let _ = write!(
        m,
        "<div class=\"scroll\" role=\"region\" aria-label=\"{c}\" tabindex=\"0\"><table>\n<caption>{c}</caption>\n<thead><tr><th scope=\"col\">{first}</th>",
        c = esc(caption)
    );
    if with_lpa {
        m.push_str("<th scope=\"col\">Local authority</th>");
    }
    m.push_str(
        "<th scope=\"col\" class=\"num\">Patrols</th><th scope=\"col\" class=\"num\">Compliant</th>\
         <th scope=\"col\" class=\"num\">Constable-led</th><th scope=\"col\" class=\"num\">Average minutes</th></tr></thead>\n<tbody>\n",
    );
    if rows.is_empty() {
        let cols = if with_lpa { 6 } else { 5 };
        let _ = writeln!(m, "<tr><td colspan=\"{cols}\">No patrols judged.</td></tr>");
    }
    for r in rows {
        let _ = write!(
            m,
            "<tr data-key=\"{}\"><th scope=\"row\">{}</th>",
            esc(&r.key),
            esc(&r.name)
        );
        if with_lpa {
            let _ = write!(m, "<td>{}</td>", esc(&r.lpa));
        }
        let s = &r.summary;
        let _ = writeln!(
            m,
            "<td class=\"num\">{}</td><td class=\"num\" data-value=\"{}\">{}%</td><td class=\"num\" data-value=\"{}\">{}%</td>\
             <td class=\"num\" data-value=\"{}\">{}</td></tr>",
            s.patrols,
            s.compliance_percent,
            one(s.compliance_percent),
            s.constable_led_percent,
            one(s.constable_led_percent),
            s.average_minutes,
            one(s.average_minutes)
        );
    }
    m.push_str("</tbody></table></div>\n");
    m
}

fn outcome_cell(o: Outcome) -> &'static str {
    match o {
        Outcome::CompliantPatrol => "<td class=\"ok\"><span aria-hidden=\"true\">✔ </span>Compliant patrol</td>",
        Outcome::NotCompliant => "<td class=\"bad\"><span aria-hidden=\"true\">✘ </span>Patrolled, none compliant</td>",
        Outcome::NoPatrol => "<td class=\"none\"><span aria-hidden=\"true\">– </span>No patrol</td>",
    }
}

fn verdict_cell(p: &PatrolLine) -> String {
    if p.unreadable.is_some() {
        "<td class=\"none\"><span aria-hidden=\"true\">? </span>Not judged</td>".to_string()
    } else if p.compliant {
        "<td class=\"ok\"><span aria-hidden=\"true\">✔ </span>Compliant</td>".to_string()
    } else {
        "<td class=\"bad\"><span aria-hidden=\"true\">✘ </span>Not compliant</td>".to_string()
    }
}

fn range_form(action: &str, from: Option<NaiveDate>, to: Option<NaiveDate>, note: &str) -> String {
    let d = |x: Option<NaiveDate>| x.map(|d| d.to_string()).unwrap_or_default();
    format!(
        "<form class=\"range\" method=\"get\" action=\"{action}\">\n<p class=\"small\">{note}</p>\n\
         <label for=\"from\">From</label> <input id=\"from\" name=\"from\" type=\"date\" value=\"{}\">\n\
         <label for=\"to\">To</label> <input id=\"to\" name=\"to\" type=\"date\" value=\"{}\">\n\
         <button type=\"submit\">Show</button>\n</form>\n",
        d(from),
        d(to)
    )
}

pub(super) fn day(r: &DayReview, who: &Claims, today: NaiveDate) -> String {
    let one_day = r.from == r.to;
    let title = if one_day {
        format!("Patrols on {}", long_date(r.from))
    } else {
        format!("Patrols from {} to {}", long_date(r.from), long_date(r.to))
    };
    let mut m = String::new();
    let _ = writeln!(m, "<h1>{}</h1>", esc(&title));
    if one_day {
        let prev = r.from.pred_opt().map(|d| d.to_string()).unwrap_or_default();
        let next = r.from.succ_opt().map(|d| d.to_string()).unwrap_or_default();
        let _ = writeln!(
            m,
            "<p class=\"pager\"><a href=\"/review?date={prev}\" rel=\"prev\">← Day before</a> \
             <a href=\"/review?date={today}\">Today</a> <a href=\"/review?date={next}\" rel=\"next\">Day after →</a></p>"
        );
    }
    m.push_str(&range_form(
        "/review",
        Some(r.from),
        Some(r.to),
        "A day, or a range of days (at most a year), London time.",
    ));

    m.push_str("<section aria-labelledby=\"board\">\n<h2 id=\"board\">The board's figures</h2>\n");
    m.push_str(&board_figures(&r.overall, "overall"));
    if r.unreadable > 0 {
        let _ = writeln!(
            m,
            "<p class=\"notice\">{} patrol(s) could not be judged from the stored data and are left out of the figures (listed below).</p>",
            r.unreadable
        );
    }
    m.push_str(&group_table("By area", "Area", &r.by_area, true));
    m.push_str(&group_table(
        "By local authority",
        "Local authority",
        &r.by_authority,
        false,
    ));
    m.push_str("</section>\n");

    m.push_str("<section aria-labelledby=\"schedule\">\n<h2 id=\"schedule\">The randomised schedule</h2>\n");
    if r.schedules.is_empty() {
        m.push_str("<p>No schedule was drawn for these days.</p>\n");
    }
    for d in &r.schedules {
        let assigned = d.areas.iter().filter(|a| a.group == Group::Assigned).count();
        let covered = d
            .areas
            .iter()
            .filter(|a| a.group == Group::Assigned && a.outcome == Outcome::CompliantPatrol)
            .count();
        let _ = writeln!(
            m,
            "<h3>{}</h3>\n<p>{assigned} area(s) assigned, {} in the control group; \
             {covered} of the assigned got a compliant patrol. Draw seed {}, fraction {}.</p>",
            esc(&long_date(d.date)),
            d.areas.len() - assigned,
            d.seed,
            d.fraction
        );
        let caption = format!("Schedule for {}", d.date);
        let _ = write!(
            m,
            "<div class=\"scroll\" role=\"region\" aria-label=\"{c}\" tabindex=\"0\"><table class=\"schedule\" data-date=\"{date}\">\n\
             <caption>{c}</caption>\n<thead><tr><th scope=\"col\">Area</th><th scope=\"col\">Local authority</th>\
             <th scope=\"col\">Group</th><th scope=\"col\">Assignments (London time)</th>\
             <th scope=\"col\" class=\"num\">Patrols</th><th scope=\"col\">Outcome</th></tr></thead>\n<tbody>\n",
            c = esc(&caption),
            date = d.date
        );
        for a in &d.areas {
            let group = match a.group {
                Group::Assigned => "Assigned",
                Group::Control => "Control",
            };
            let assignments = if a.assignments.is_empty() {
                "—".to_string()
            } else {
                a.assignments
                    .iter()
                    .map(|x| {
                        format!(
                            "{} {}–{}",
                            esc(&x.officer_id),
                            london_clock(x.start_ms),
                            london_clock(x.end_ms)
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("<br>")
            };
            let outcome = if a.group == Group::Control && a.patrols == 0 {
                "<td class=\"none\">Not assigned (control)</td>"
            } else {
                outcome_cell(a.outcome)
            };
            let _ = writeln!(
                m,
                "<tr data-area=\"{}\" data-group=\"{}\"><th scope=\"row\">{}</th><td>{}</td><td>{group}</td><td>{assignments}</td>\
                 <td class=\"num\">{}</td>{outcome}</tr>",
                esc(&a.area_id),
                group.to_ascii_lowercase(),
                esc(&a.name),
                esc(&a.lpa),
                a.patrols
            );
        }
        m.push_str("</tbody></table></div>\n");
    }
    m.push_str("</section>\n");

    m.push_str("<section aria-labelledby=\"patrols\">\n<h2 id=\"patrols\">Patrols</h2>\n");
    m.push_str(
        "<div class=\"scroll\" role=\"region\" aria-label=\"Table of patrols\" tabindex=\"0\"><table id=\"patrol-list\">\n\
         <caption>Every checked-out patrol, by check-in time</caption>\n<thead><tr>\
         <th scope=\"col\">Patrol</th><th scope=\"col\">Area</th><th scope=\"col\">Officer</th><th scope=\"col\">Rank</th>\
         <th scope=\"col\">Checked in–out (London)</th><th scope=\"col\" class=\"num\">Minutes</th>\
         <th scope=\"col\">Verdict</th><th scope=\"col\">Why not</th></tr></thead>\n<tbody>\n",
    );
    if r.patrols.is_empty() {
        m.push_str("<tr><td colspan=\"8\">No checked-out patrols.</td></tr>\n");
    }
    for p in &r.patrols {
        let why = match &p.unreadable {
            Some(u) => esc(u),
            None => esc(&p.reasons.join("; ")),
        };
        let _ = writeln!(
            m,
            "<tr data-patrol=\"{id}\"><th scope=\"row\"><a href=\"/review/patrols/{link}\">{id}</a></th><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}–{}</td><td class=\"num\">{}</td>{}<td>{why}</td></tr>",
            esc(&p.area_name),
            esc(&p.officer_id),
            esc(p.rank.as_deref().unwrap_or("—")),
            london_time(p.check_in_ms),
            london_clock(p.check_out_ms),
            p.minutes_in_area.map_or_else(|| "—".to_string(), one),
            verdict_cell(p),
            id = esc(&p.patrol_id),
            link = url_part(&p.patrol_id),
        );
    }
    m.push_str("</tbody></table></div>\n</section>\n");
    frame(&REVIEW, &title, Some(who), &m)
}

fn window_words(w: &Option<WindowText>) -> String {
    match w {
        Some(WindowText::Assignment {
            assignment_id,
            start_ms,
            end_ms,
        }) => format!(
            "assignment {}: {} to {}",
            esc(assignment_id),
            london_time(*start_ms),
            london_clock(*end_ms)
        ),
        Some(WindowText::ThreatWindows { windows }) => {
            format!("no assignment; the area's threat windows: {}", esc(&windows.join("; ")))
        }
        Some(WindowText::Any) => "no assignment and no threat window: any time counts".to_string(),
        None => "unknown (the area is not stored)".to_string(),
    }
}

pub(super) fn patrol(d: &PatrolDetail, who: &Claims, tiles: Option<&str>) -> String {
    let area_name = d.area.as_ref().map_or(d.area_id.as_str(), |a| a.name.as_str());
    let title = format!("Patrol {} in {}", d.patrol_id, area_name);
    let required = CompliancePolicy::default().min_minutes;
    let mut m = String::new();
    let _ = writeln!(m, "<h1>{}</h1>", esc(&title));
    let _ = writeln!(
        m,
        "<p class=\"pager\"><a href=\"/review?date={}\">← Patrols on {}</a></p>",
        d.day,
        esc(&long_date(d.day))
    );

    m.push_str("<section aria-labelledby=\"verdict\" id=\"verdict-box\">\n");
    match (&d.report, &d.not_judged) {
        (Some(r), _) if r.compliant => {
            m.push_str("<h2 id=\"verdict\" class=\"ok\" data-compliant=\"true\"><span aria-hidden=\"true\">✔ </span>Compliant</h2>\n<p>Long enough in the area, inside the window, led by a warranted officer.</p>\n");
        }
        (Some(_), _) => {
            m.push_str("<h2 id=\"verdict\" class=\"bad\" data-compliant=\"false\"><span aria-hidden=\"true\">✘ </span>Not compliant</h2>\n<ul id=\"reasons\">\n");
            for reason in &d.reasons {
                let _ = writeln!(m, "<li>{}</li>", esc(reason));
            }
            m.push_str("</ul>\n");
        }
        (None, why) => {
            let _ = writeln!(
                m,
                "<h2 id=\"verdict\" class=\"none\"><span aria-hidden=\"true\">? </span>Not judged</h2>\n<p>{}</p>",
                esc(why.as_deref().unwrap_or("it has not been judged"))
            );
        }
    }
    m.push_str("</section>\n");

    m.push_str("<section aria-labelledby=\"facts\">\n<h2 id=\"facts\">The patrol</h2>\n<dl class=\"facts\">\n");
    let mut fact = |k: &str, v: String| {
        let _ = writeln!(m, "<div><dt>{k}</dt><dd>{v}</dd></div>");
    };
    fact("Officer", esc(&d.officer_id));
    fact(
        "Rank (force record)",
        d.report.as_ref().map_or_else(
            || "—".to_string(),
            |r| {
                let warranted = if r.rank.is_warranted() {
                    "warranted"
                } else {
                    "not warranted"
                };
                format!("{} ({warranted})", esc(&r.rank.to_string()))
            },
        ),
    );
    fact(
        "Area",
        d.area.as_ref().map_or_else(
            || format!("{} (not stored)", esc(&d.area_id)),
            |a| format!("{} ({}), {}", esc(&a.name), esc(&a.area_id), esc(&a.lpa)),
        ),
    );
    fact("Window", window_words(&d.window));
    fact("Checked in", london_time(d.check_in_ms));
    fact(
        "Checked out",
        d.check_out_ms.map_or_else(|| "not yet".to_string(), london_time),
    );
    if let Some(r) = &d.report {
        fact(
            "Arrived (decided from the track)",
            r.arrival_ms.map_or_else(|| "never".to_string(), london_time),
        );
        fact("Departed", r.departure_ms.map_or_else(|| "—".to_string(), london_time));
        fact(
            "Minutes in the area",
            format!(
                "<span id=\"minutes\">{}</span> ({}; {} inside, {} at the edge; {} inside the window)",
                one(r.minutes_in_area),
                basis_words(Some(r.minutes_basis)),
                one(r.minutes_inside),
                one(r.minutes_at_edge),
                one(r.minutes_in_window)
            ),
        );
        fact("Distance walked", format!("{:.0} m", r.distance_m));
        let rejected: Vec<String> = r
            .fixes_rejected
            .iter()
            .map(|(k, n)| format!("{n} {}", k.as_str().replace('_', " ")))
            .collect();
        fact(
            "Fixes",
            format!(
                "{} stored, {} believed{}",
                r.fixes_total,
                r.fixes_accepted,
                if rejected.is_empty() {
                    String::new()
                } else {
                    format!("; not believed: {}", esc(&rejected.join(", ")))
                }
            ),
        );
    }
    m.push_str("</dl>\n");
    if let Some(r) = &d.report {
        m.push_str(&draw::minutes_bar(r.minutes_in_area, required));
    }
    m.push_str("</section>\n");

    m.push_str("<section aria-labelledby=\"map-h\">\n<h2 id=\"map-h\">Track over the area</h2>\n");
    m.push_str(&draw::map(d, tiles));
    m.push_str(
        "<ul class=\"legend\">\
         <li><span class=\"key key-area\" aria-hidden=\"true\"></span> the area (shaded; holes left clear)</li>\
         <li><span class=\"key key-track\" aria-hidden=\"true\"></span> solid line: fixes the core believed</li>\
         <li><span class=\"key key-rejected\" aria-hidden=\"true\"></span> hollow squares: fixes it did not believe</li>\
         <li><b>IN</b> / <b>OUT</b>: where the officer checked in and out</li>\
         <li><b>A</b> / <b>D</b>: arrival and departure, decided from the track</li></ul>\n",
    );
    let rejected: Vec<_> = d.fixes.iter().filter(|f| f.verdict != "accepted").collect();
    if !rejected.is_empty() {
        let _ = write!(
            m,
            "<details><summary>{} fix(es) the core did not believe</summary>\n\
             <div class=\"scroll\" role=\"region\" aria-label=\"Fixes not believed\" tabindex=\"0\"><table>\n\
             <caption>Fixes not believed</caption><thead><tr><th scope=\"col\">Time (London)</th>\
             <th scope=\"col\" class=\"num\">Accuracy (m)</th><th scope=\"col\">Why</th></tr></thead><tbody>\n",
            rejected.len()
        );
        for f in rejected.iter().take(500) {
            let _ = writeln!(
                m,
                "<tr><td>{}</td><td class=\"num\">{:.0}</td><td>{}</td></tr>",
                london_time(f.time_ms),
                f.accuracy_m,
                esc(&f.verdict.replace('_', " "))
            );
        }
        m.push_str("</tbody></table></div></details>\n");
    }
    m.push_str("</section>\n");
    frame(&REVIEW, &title, Some(who), &m)
}

pub(super) fn evaluation(e: &Evaluation, who: &Claims) -> String {
    let title = "Evaluation: assigned and control days per area";
    let mut m = String::new();
    let _ = writeln!(m, "<h1>{title}</h1>");
    m.push_str(&range_form(
        "/review/evaluation",
        e.from,
        e.to,
        "Every drawn day in the range (either end may be left empty).",
    ));
    let q = match (e.from, e.to) {
        (None, None) => String::new(),
        (f, t) => {
            let mut parts = Vec::new();
            if let Some(f) = f {
                parts.push(format!("from={f}"));
            }
            if let Some(t) = t {
                parts.push(format!("to={t}"));
            }
            format!("?{}", parts.join("&amp;"))
        }
    };
    let _ = writeln!(
        m,
        "<p>{} drawn day(s). <a href=\"/review/evaluation.csv{q}\" download>Download this table as CSV</a></p>",
        e.days_drawn
    );
    if e.unreadable > 0 {
        let _ = writeln!(
            m,
            "<p class=\"notice\">{} patrol(s) could not be judged and are left out.</p>",
            e.unreadable
        );
    }
    m.push_str(
        "<div class=\"scroll\" role=\"region\" aria-label=\"Evaluation\" tabindex=\"0\"><table id=\"evaluation\">\n\
         <caption>Per area: days assigned and control, patrol minutes delivered</caption>\n<thead><tr>\
         <th scope=\"col\">Area</th><th scope=\"col\">Local authority</th>\
         <th scope=\"col\" class=\"num\">Days drawn</th><th scope=\"col\" class=\"num\">Days assigned</th>\
         <th scope=\"col\" class=\"num\">Days control</th>\
         <th scope=\"col\" class=\"num\">Assigned days with a compliant patrol</th>\
         <th scope=\"col\" class=\"num\">Patrols on assigned days</th>\
         <th scope=\"col\" class=\"num\">Minutes on assigned days</th>\
         <th scope=\"col\" class=\"num\">Patrols on control days</th>\
         <th scope=\"col\" class=\"num\">Minutes on control days</th></tr></thead>\n<tbody>\n",
    );
    if e.areas.is_empty() {
        m.push_str("<tr><td colspan=\"10\">No schedule drawn in this range.</td></tr>\n");
    }
    for r in &e.areas {
        let _ = writeln!(
            m,
            "<tr data-area=\"{}\"><th scope=\"row\">{}</th><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            esc(&r.area_id),
            esc(&r.name),
            esc(&r.lpa),
            r.days_drawn,
            r.days_assigned,
            r.days_control,
            r.assigned_days_with_compliant_patrol,
            r.patrols_on_assigned_days,
            one(r.minutes_on_assigned_days),
            r.patrols_on_control_days,
            one(r.minutes_on_control_days)
        );
    }
    m.push_str("</tbody></table></div>\n");
    frame(&REVIEW, title, Some(who), &m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_text_cannot_open_a_tag_or_leave_an_attribute() {
        assert_eq!(
            esc("<b a=\"x\">'&'</b>"),
            "&lt;b a=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/b&gt;"
        );
    }

    #[test]
    fn a_path_part_keeps_only_unreserved_characters() {
        assert_eq!(url_part("p-1.a_b~"), "p-1.a_b~");
        assert_eq!(url_part("a/b?c"), "a%2Fb%3Fc");
        assert_eq!(url_part("x:y"), "x%3Ay");
    }

    #[test]
    fn the_login_page_keeps_next_inside_its_attribute() {
        for force in [false, true] {
            let way = Way {
                force,
                purpose: force,
                provider: None,
            };
            let html = login(&REVIEW, Some("<expired>"), Some("/review?date=\"x"), &way);
            assert_eq!(
                html.contains("autocomplete=\"off\" required>\n<input type=\"hidden\""),
                force
            );
            assert!(html.contains("value=\"/review?date=&quot;x\""));
            assert!(html.contains("&lt;expired&gt;"));
            assert!(!html.contains("<script"));
            assert_eq!(html.contains("action=\"/review/login/start\""), force);
            assert_eq!(
                html.contains("name=\"token\""),
                !force,
                "no token field beside the force's sign-in"
            );
        }
        let next = signed_in(&REVIEW, "/review?date=\"x");
        assert!(next.contains("<meta http-equiv=\"refresh\" content=\"0;url=/review?date=&quot;x\">"));
    }
}
