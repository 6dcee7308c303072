//! The DPO's page: the access log under `/audit`, for the `auditor` role,
//! signed in to as the review pages are (its own session, its cookie scoped
//! to `/audit`). Filters by London date, subject and record; the newest
//! entries first; the chain's state on top; the selection as CSV. Looking
//! is itself logged (a consultation; the CSV a disclosure).

use std::fmt::Write as _;

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{NaiveDate, NaiveTime};
use guardian_protocol::time::london_instant;

use super::super::form::{get, pairs};
use super::super::{ApiFailure, AppState, blocking};
use super::page::{esc, frame, london_time, url_part};
use super::site::AUDIT;
use super::{PageFailure, csv_download, date_param, here, html, reader_on, secure, signin};
use crate::audit::{Entry, Filter, Verified, csv};
use crate::token::Claims;

/// Entries drawn on the page at most; the CSV has them all.
const SHOWN: usize = 500;
/// A subject or record id typed into the filter, at most.
const MAX_ID: usize = 200;

pub(crate) async fn audit_login_form(State(b): State<AppState>, RawQuery(q): RawQuery) -> Response {
    signin::login_form_on(&AUDIT, &b, q.as_deref())
}

pub(crate) async fn audit_login(State(b): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    signin::login_on(&AUDIT, b, headers, body).await
}

pub(crate) async fn audit_login_start(State(b): State<AppState>, RawQuery(q): RawQuery) -> Response {
    signin::start_on(&AUDIT, b, q.as_deref()).await
}

pub(crate) async fn audit_logout(State(b): State<AppState>, headers: HeaderMap) -> Response {
    signin::logout_on(&AUDIT, b, headers).await
}

/// What the filter form asked for, as typed (for the form) and as a filter.
struct Asked {
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    subject: String,
    record: String,
}

impl Asked {
    fn parse(q: Option<&str>) -> Result<Self, ApiFailure> {
        let p = pairs(q)?;
        let id = |k: &str| -> Result<String, ApiFailure> {
            let v = get(&p, k).unwrap_or("").trim();
            if v.len() > MAX_ID || v.chars().any(char::is_control) {
                return Err(ApiFailure::bad_request(format!("{k} is not an id")));
            }
            Ok(v.to_string())
        };
        let (from, to) = (date_param(&p, "from")?, date_param(&p, "to")?);
        if let (Some(f), Some(t)) = (from, to)
            && t < f
        {
            return Err(ApiFailure::bad_request("to is earlier than from"));
        }
        Ok(Self {
            from,
            to,
            subject: id("subject")?,
            record: id("record")?,
        })
    }

    fn filter(&self) -> Result<Filter, ApiFailure> {
        let start = |d: NaiveDate| {
            london_instant(d, NaiveTime::MIN).ok_or_else(|| ApiFailure::bad_request(format!("{d} is out of range")))
        };
        let end = |d: NaiveDate| {
            d.succ_opt()
                .ok_or_else(|| ApiFailure::bad_request(format!("{d} is out of range")))
                .and_then(start)
                .map(|t| t - 1)
        };
        let text = |s: &str| Some(s.to_string()).filter(|s| !s.is_empty());
        Ok(Filter {
            from_ms: self.from.map(start).transpose()?,
            to_ms: self.to.map(end).transpose()?,
            subject: text(&self.subject),
            record: text(&self.record),
        })
    }

    /// The query again, for the CSV link.
    fn query(&self) -> String {
        let d = |x: Option<NaiveDate>| x.map(|d| d.to_string()).unwrap_or_default();
        format!(
            "from={}&to={}&subject={}&record={}",
            d(self.from),
            d(self.to),
            url_part(&self.subject),
            url_part(&self.record)
        )
    }
}

fn failed(who: &Claims) -> impl Fn(ApiFailure) -> PageFailure + '_ {
    move |f| PageFailure::new(f.status, f.reason).on(&AUDIT).with_who(who)
}

pub(crate) async fn audit_page(State(b): State<AppState>, headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    let result: Result<Response, PageFailure> = async {
        let reader = reader_on(&AUDIT, &b, &headers, &here("/audit", q.as_deref())).await?;
        let who = reader.who.clone();
        let asked = Asked::parse(q.as_deref()).map_err(failed(&who))?;
        let filter = asked.filter().map_err(failed(&who))?;
        let caller = reader.caller(&headers, "GET /audit");
        let (entries, verified) = blocking(move || {
            let entries = b.consult_access_log(&caller, &filter)?;
            Ok((entries, b.verify_access_log()?))
        })
        .await
        .map_err(failed(&who))?;
        Ok(html(StatusCode::OK, page(&entries, &verified, &asked, &who)))
    }
    .await;
    secure(result.unwrap_or_else(IntoResponse::into_response), None)
}

pub(crate) async fn audit_csv(State(b): State<AppState>, headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    let result: Result<Response, PageFailure> = async {
        let reader = reader_on(&AUDIT, &b, &headers, &here("/audit", q.as_deref())).await?;
        let who = reader.who.clone();
        let asked = Asked::parse(q.as_deref()).map_err(failed(&who))?;
        let filter = asked.filter().map_err(failed(&who))?;
        let caller = reader.caller(&headers, "GET /audit/entries.csv");
        let entries = blocking(move || Ok(b.export_access_log(&caller, &filter)?))
            .await
            .map_err(failed(&who))?;
        Ok(csv_download(csv(&entries), "access-log.csv"))
    }
    .await;
    secure(result.unwrap_or_else(IntoResponse::into_response), None)
}

fn page(entries: &[Entry], verified: &Verified, asked: &Asked, who: &Claims) -> String {
    let mut m = String::from("<h1>Access log</h1>\n");
    match &verified.fault {
        None => {
            let _ = writeln!(
                m,
                "<p class=\"notice\" role=\"status\">The chain is intact: {} entries checked.</p>",
                verified.entries
            );
        }
        Some(fault) => {
            let _ = writeln!(
                m,
                "<p class=\"notice warn\" role=\"alert\"><strong>The log has been tampered with:</strong> {}.</p>",
                esc(&fault.to_string())
            );
        }
    }
    let d = |x: Option<NaiveDate>| x.map(|d| d.to_string()).unwrap_or_default();
    let _ = writeln!(
        m,
        "<form method=\"get\" action=\"/audit\" class=\"action\">\n<fieldset><legend>Which entries</legend>\n\
         <label for=\"from\">From</label> <input id=\"from\" name=\"from\" type=\"date\" value=\"{}\">\n\
         <label for=\"to\">To</label> <input id=\"to\" name=\"to\" type=\"date\" value=\"{}\">\n\
         <label for=\"subject\">By (subject)</label> <input id=\"subject\" name=\"subject\" value=\"{}\">\n\
         <label for=\"record\">Record id</label> <input id=\"record\" name=\"record\" value=\"{}\">\n\
         <button type=\"submit\">Show</button>\n</fieldset>\n</form>",
        d(asked.from),
        d(asked.to),
        esc(&asked.subject),
        esc(&asked.record)
    );
    let shown = entries.len().min(SHOWN);
    let _ = writeln!(
        m,
        "<p>{} entries match{}. <a href=\"/audit/entries.csv?{}\">Download them as CSV</a> (the download is logged).</p>",
        entries.len(),
        if entries.len() > SHOWN {
            format!("; the newest {SHOWN} are shown")
        } else {
            String::new()
        },
        esc(&asked.query())
    );
    if shown > 0 {
        m.push_str(
            "<div class=\"scroll\" tabindex=\"0\" role=\"region\" aria-label=\"Entries\">\n<table>\n<thead><tr>\
             <th scope=\"col\">#</th><th scope=\"col\">When</th><th scope=\"col\">What was done</th>\
             <th scope=\"col\">By</th><th scope=\"col\">To what</th><th scope=\"col\">How</th>\
             <th scope=\"col\">Why</th></tr></thead>\n<tbody>\n",
        );
        for e in entries.iter().rev().take(SHOWN) {
            let records = if e.records.is_empty() {
                String::new()
            } else {
                format!(": {}", esc(&e.records.join(", ")))
            };
            let scope = if e.scope.is_empty() {
                String::new()
            } else {
                format!(" ({})", esc(&e.scope))
            };
            let via = if e.via.is_empty() {
                String::new()
            } else {
                format!(", device {}", esc(&e.via))
            };
            let _ = writeln!(
                m,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{} ({})</td><td>{}{records}{scope}</td><td>{}{via}</td><td>{}</td></tr>",
                e.seq,
                london_time(e.time_ms),
                esc(&e.action),
                esc(&e.subject),
                esc(&e.role),
                esc(&e.what),
                esc(&e.how),
                e.purpose.as_deref().map_or_else(|| "Not given".to_string(), esc)
            );
        }
        m.push_str("</tbody>\n</table>\n</div>\n");
    }
    frame(&AUDIT, "Access log", Some(who), &m)
}
