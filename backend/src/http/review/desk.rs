//! The Navigator's desk over HTTP: server-rendered pages under
//! `/navigator`, signed in to as the review pages are (a session of the
//! Navigator pages, its cookie scoped to `/navigator`), with the same
//! headers and no script. Reads are GETs that change nothing but the
//! access log; each action is a same-origin form POST that answers with a
//! redirect back to the referral (post/redirect/get).
//!
//! Who may look: an active Navigator, at their own team's referrals. A
//! referral of another team, or one closed before the Navigator joined, is
//! a 404 exactly as an id that never existed.

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use guardian_protocol::referral::{Authority, Outcome, ReferralStatus, TransferReason, Urgency};

use super::super::form::{get, pairs};
use super::super::{ApiFailure, AppState, blocking, header_str, path_param, read_body};
use super::site::NAVIGATOR;
use super::{PageFailure, date_param, desk_page, here, html, reader_on, secure, signin};
use crate::error::BackendError;
use crate::referral::{DeskAction, InboxQuery};
use crate::token::Claims;

const MAX_FORM_BYTES: usize = 8 * 1024;

pub(crate) async fn navigator_login_form(State(b): State<AppState>, RawQuery(q): RawQuery) -> Response {
    signin::login_form_on(&NAVIGATOR, &b, q.as_deref())
}

pub(crate) async fn navigator_login(State(b): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    signin::login_on(&NAVIGATOR, b, headers, body).await
}

pub(crate) async fn navigator_login_start(State(b): State<AppState>, RawQuery(q): RawQuery) -> Response {
    signin::start_on(&NAVIGATOR, b, q.as_deref()).await
}

pub(crate) async fn navigator_logout(State(b): State<AppState>, headers: HeaderMap) -> Response {
    signin::logout_on(&NAVIGATOR, b, headers).await
}

/// A failure on these pages, said on these pages.
fn failed(who: &Claims) -> impl Fn(ApiFailure) -> PageFailure + '_ {
    move |f| {
        let status = f.status;
        let message = match status {
            StatusCode::NOT_FOUND => "There is no referral with that id on your team's desk.".to_string(),
            StatusCode::FORBIDDEN => "You are not on a Navigator team: ask the force's admin.".to_string(),
            _ => f.reason,
        };
        PageFailure::new(status, message).on(&NAVIGATOR).with_who(who)
    }
}

fn inbox_query(q: Option<&str>) -> Result<InboxQuery, ApiFailure> {
    let p = pairs(q)?;
    let status = match get(&p, "status") {
        None | Some("") | Some("open") => None,
        Some(s) => Some(
            ReferralStatus::parse(s)
                .filter(|s| *s != ReferralStatus::Queued)
                .ok_or_else(|| {
                    ApiFailure::bad_request("status is not open, received, assigned, contacted or closed")
                })?,
        ),
    };
    let urgency = match get(&p, "urgency") {
        None | Some("") | Some("any") => None,
        Some(u) => Some(
            Urgency::parse(u).ok_or_else(|| ApiFailure::bad_request("urgency is not routine, priority or urgent"))?,
        ),
    };
    let page = match get(&p, "page") {
        None | Some("") => 1,
        Some(n) => n
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=100_000).contains(n))
            .ok_or_else(|| ApiFailure::bad_request("page is not a page number"))?,
    };
    let (from, to) = (date_param(&p, "from")?, date_param(&p, "to")?);
    if let (Some(f), Some(t)) = (from, to)
        && t < f
    {
        return Err(ApiFailure::bad_request("to is earlier than from"));
    }
    Ok(InboxQuery {
        status,
        urgency,
        from,
        to,
        page,
    })
}

pub(crate) async fn inbox_page(State(b): State<AppState>, headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    let result: Result<Response, PageFailure> = async {
        let reader = reader_on(&NAVIGATOR, &b, &headers, &here("/navigator", q.as_deref())).await?;
        let who = reader.who.clone();
        let query = inbox_query(q.as_deref()).map_err(failed(&who))?;
        let moved = pairs(q.as_deref())
            .ok()
            .and_then(|p| get(&p, "moved").map(str::to_string));
        let caller = reader.caller(&headers, "GET /navigator");
        let wanted = query.clone();
        let inbox = blocking(move || Ok(b.navigator_inbox(&caller, &wanted)?))
            .await
            .map_err(failed(&who))?;
        Ok(html(
            StatusCode::OK,
            desk_page::inbox(&inbox, &query, &who, moved.as_deref()),
        ))
    }
    .await;
    secure(result.unwrap_or_else(IntoResponse::into_response), None)
}

pub(crate) async fn referral_page(
    State(b): State<AppState>,
    id: Result<Path<String>, axum::extract::rejection::PathRejection>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let raw = match &id {
        Ok(Path(s)) => s.clone(),
        Err(_) => String::new(),
    };
    let result: Result<Response, PageFailure> = async {
        let here = format!("/navigator/referrals/{}", super::page::url_part(&raw));
        let reader = reader_on(&NAVIGATOR, &b, &headers, &here).await?;
        let who = reader.who.clone();
        let id = path_param(id).map_err(failed(&who))?;
        let done = pairs(q.as_deref())
            .ok()
            .and_then(|p| get(&p, "done").map(str::to_string));
        let caller = reader.caller(&headers, "GET /navigator/referrals/{id}");
        let page = blocking(move || Ok(b.navigator_referral(&caller, &id)?))
            .await
            .map_err(failed(&who))?;
        Ok(html(StatusCode::OK, desk_page::referral(&page, &who, done.as_deref())))
    }
    .await;
    secure(result.unwrap_or_else(IntoResponse::into_response), None)
}

pub(crate) async fn team_page(State(b): State<AppState>, headers: HeaderMap) -> Response {
    let result: Result<Response, PageFailure> = async {
        let reader = reader_on(&NAVIGATOR, &b, &headers, "/navigator/team").await?;
        let who = reader.who.clone();
        let caller = reader.caller(&headers, "GET /navigator/team");
        let team = blocking(move || Ok(b.navigator_team(&caller)?))
            .await
            .map_err(failed(&who))?;
        Ok(html(StatusCode::OK, desk_page::team(&team, &who)))
    }
    .await;
    secure(result.unwrap_or_else(IntoResponse::into_response), None)
}

/// The action a form asked for, from its fields.
fn desk_action(form: &[(String, String)], me: &str) -> Result<DeskAction, ApiFailure> {
    let field = |k: &str| get(form, k).map(str::trim).filter(|v| !v.is_empty());
    let missing = |what: &str| ApiFailure::unprocessable("bad-request", format!("choose {what}"));
    match field("action") {
        Some("assign") => Ok(DeskAction::Assign {
            to: field("to").unwrap_or(me).to_string(),
        }),
        Some("contacted") => Ok(DeskAction::Contacted),
        Some("close") => {
            let outcome = field("outcome").ok_or_else(|| missing("an outcome"))?;
            let outcome = Outcome::parse(outcome).ok_or_else(|| missing("one of the outcomes"))?;
            Ok(DeskAction::Close { outcome: Some(outcome) })
        }
        Some("transfer") => {
            let to = field("authority")
                .and_then(Authority::parse)
                .ok_or_else(|| missing("the authority to transfer to"))?;
            let reason = field("reason")
                .and_then(TransferReason::parse)
                .ok_or_else(|| missing("why it goes there"))?;
            Ok(DeskAction::Transfer { to, reason })
        }
        _ => Err(ApiFailure::bad_request("the form names no action")),
    }
}

/// `POST /navigator/referrals/{id}`: one action, then back to the page
/// (or, after a transfer, to the inbox: the referral is no longer ours).
pub(crate) async fn navigator_act_form(
    State(b): State<AppState>,
    id: Result<Path<String>, axum::extract::rejection::PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let raw = match &id {
        Ok(Path(s)) => s.clone(),
        Err(_) => String::new(),
    };
    let result: Result<Response, PageFailure> = async {
        let back = format!("/navigator/referrals/{}", super::page::url_part(&raw));
        let reader = reader_on(&NAVIGATOR, &b, &headers, &back).await?;
        let who = reader.who.clone();
        if !signin::same_origin(&headers)? {
            return Err(PageFailure::new(
                StatusCode::FORBIDDEN,
                "This change came from another site and was refused.",
            )
            .on(&NAVIGATOR)
            .with_who(&who));
        }
        let id = path_param(id).map_err(failed(&who))?;
        let media = header_str(&headers, header::CONTENT_TYPE.as_str())?
            .and_then(|v| v.split(';').next())
            .map(str::trim)
            .unwrap_or("");
        if !media.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
            return Err(failed(&who)(ApiFailure::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "bad-request",
                "Use the page's forms.",
            )));
        }
        let bytes = read_body(&headers, body, MAX_FORM_BYTES).await?;
        let text = std::str::from_utf8(&bytes).map_err(|_| ApiFailure::bad_request("the form is not UTF-8"))?;
        let form = pairs(Some(text))?;
        let action = desk_action(&form, &who.sub).map_err(failed(&who))?;
        let transfer = matches!(action, DeskAction::Transfer { .. });
        let caller = reader.caller(&headers, "POST /navigator/referrals/{id}");
        let update = blocking(move || Ok(b.navigator_act(&caller, &id, &action)?))
            .await
            .map_err(|f| match f.status {
                StatusCode::CONFLICT | StatusCode::UNPROCESSABLE_ENTITY => {
                    PageFailure::new(StatusCode::CONFLICT, f.reason)
                        .on(&NAVIGATOR)
                        .with_who(&who)
                }
                _ => failed(&who)(f),
            })?;
        let to = if transfer {
            format!(
                "/navigator?moved={}",
                super::page::url_part(update.authority.as_deref().unwrap_or(""))
            )
        } else {
            format!("{back}?done={}", update.status.as_str())
        };
        let mut resp = StatusCode::SEE_OTHER.into_response();
        if let Ok(v) = HeaderValue::from_str(&to) {
            resp.headers_mut().insert(header::LOCATION, v);
        }
        Ok(resp)
    }
    .await;
    secure(result.unwrap_or_else(IntoResponse::into_response), None)
}

impl From<BackendError> for PageFailure {
    fn from(e: BackendError) -> Self {
        PageFailure::from(ApiFailure::from(e))
    }
}
