//! The supervisors' patrol review over HTTP: server-rendered HTML pages
//! under `/review` and the same data as JSON under `/v1/review`.
//!
//! Server-rendered, with no JavaScript at all: every figure is computed in
//! Rust by the export's code path (`crate::review`) and written into the
//! page, so nothing can be recomputed in a browser; the pages need no build
//! step, work without scripts, and the Content-Security-Policy can forbid
//! scripts outright. The two assets (a stylesheet and an icon) are compiled
//! into the binary.
//!
//! Who may look: a `supervisor` (read-only) or an `admin`; officers and
//! Navigators are refused. A browser signs in by pasting a token into the
//! login form: the token becomes an `HttpOnly`, `SameSite=Strict` cookie
//! scoped to `/review`, so every page is a same-origin GET that changes
//! nothing, and the only two POSTs (sign in, sign out) refuse a request
//! another site sent (`Origin` / `Sec-Fetch-Site`). Tools use the bearer
//! header, on the pages or on the JSON routes. Every review answer carries
//! a strict CSP (`default-src 'none'`, styles and images from this origin
//! only; the optional tile layer's origin is added to `img-src` on the
//! patrol page alone), `no-store`, `nosniff`, no framing and no referrer.
//! Referral data is never read here.

mod audit_page;
mod desk;
mod desk_page;
mod draw;
mod page;
mod signin;
mod site;

pub(crate) use audit_page::{audit_csv, audit_login, audit_login_form, audit_login_start, audit_logout, audit_page};
pub(crate) use desk::{
    inbox_page, navigator_act_form, navigator_login, navigator_login_form, navigator_login_start, navigator_logout,
    referral_page, team_page,
};
pub(crate) use signin::{callback, login, login_form, logout, start as login_start};
use site::{REVIEW, Site};

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;

use super::form::{get, pairs};
use super::{ApiFailure, AppState, Reply, actor, authorize_any, blocking, header_str, json, path_param, reader};
use crate::audit::{Action, Caller};
use crate::backend::now_ms;
use crate::review::{MAX_RANGE_DAYS, evaluation_csv, tile_origin};
use crate::token::{Claims, Role};

/// The roles that may read the review.
pub const REVIEW_ROLES: &[Role] = &[Role::Supervisor, Role::Admin];
/// A browser session lasts at most this long, whatever the token's life.
const MAX_SESSION_S: i64 = 12 * 3600;

const CSS: &str = include_str!("review.css");
const ICON: &str = include_str!("icon.svg");

// ---- security headers -------------------------------------------------------

fn csp(tile_origin: Option<&str>, provider_origin: Option<&str>) -> String {
    let with = |o: Option<&str>| match o {
        Some(o) => format!("'self' {o}"),
        None => "'self'".to_string(),
    };
    format!(
        "default-src 'none'; style-src 'self'; img-src {}; form-action {}; frame-ancestors 'none'; \
         base-uri 'none'",
        with(tile_origin),
        with(provider_origin)
    )
}

/// Every review answer's headers: the CSP and friends, never cached.
fn secure(resp: Response, tile_origin: Option<&str>) -> Response {
    secure_with(resp, &csp(tile_origin, None))
}

/// A sign-in page's headers: its form may lead on to the provider.
fn secure_sign_in(resp: Response, way: &signin::Way) -> Response {
    secure_with(resp, &csp(None, way.provider.as_deref()))
}

/// A policy already set stands: a sign-in page shown by a failing route
/// keeps the one that lets its form reach the provider.
fn secure_with(mut resp: Response, csp: &str) -> Response {
    let h = resp.headers_mut();
    if !h.contains_key(header::CONTENT_SECURITY_POLICY)
        && let Ok(v) = HeaderValue::from_str(csp)
    {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    h.insert("cross-origin-resource-policy", HeaderValue::from_static("same-origin"));
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}

fn html(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response()
}

// ---- who is looking ---------------------------------------------------------

/// Why a page cannot be shown, as a page.
#[derive(Debug)]
pub(crate) struct PageFailure {
    status: StatusCode,
    message: String,
    /// Who is signed in, for the page's header.
    who: Option<Claims>,
    /// Where to come back to after signing in (401 only).
    next: Option<String>,
    /// What the sign-in page asks for (401 only).
    way: signin::Way,
    /// Which pages it is shown on.
    site: &'static Site,
}

impl PageFailure {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            who: None,
            next: None,
            way: signin::Way::default(),
            site: &REVIEW,
        }
    }

    fn on(mut self, site: &'static Site) -> Self {
        self.site = site;
        self
    }

    /// The sign-in page again, with why, coming back to `next`.
    fn signed_out(site: &'static Site, message: &str, next: &str, way: signin::Way) -> Self {
        Self {
            next: Some(next.to_string()),
            way,
            site,
            ..PageFailure::new(StatusCode::UNAUTHORIZED, message)
        }
    }

    fn with_who(mut self, who: &Claims) -> Self {
        self.who = Some(who.clone());
        self
    }
}

impl From<ApiFailure> for PageFailure {
    fn from(f: ApiFailure) -> Self {
        PageFailure::new(f.status, f.reason)
    }
}

impl IntoResponse for PageFailure {
    fn into_response(self) -> Response {
        if self.status == StatusCode::UNAUTHORIZED {
            let body = page::login(self.site, Some(&self.message), self.next.as_deref(), &self.way);
            return secure_sign_in(html(self.status, body), &self.way);
        }
        let body = page::failure(self.site, self.status, &self.message, self.who.as_ref());
        secure(html(self.status, body), None)
    }
}

/// Who is reading one of the pages, and why they said they were.
#[derive(Debug)]
pub(crate) struct Reader {
    pub who: Claims,
    /// From the session (given at sign-in); a tool's bearer request gives
    /// it in the header instead.
    purpose: Option<String>,
}

impl Reader {
    /// The access log's caller for this request.
    fn caller(&self, headers: &HeaderMap, how: &str) -> Caller {
        let mut caller = actor(&self.who, headers, how);
        if self.purpose.is_some() {
            caller.purpose.clone_from(&self.purpose);
        }
        caller
    }
}

/// The page's reader: a bearer header (tools) or a live session
/// (browsers), of a role that may read the review.
async fn page_reader(b: &AppState, headers: &HeaderMap, here: &str) -> Result<Reader, PageFailure> {
    reader_on(&REVIEW, b, headers, here).await
}

/// The reader of one of `site`'s pages, as above. Where the force requires
/// a purpose, a session opened without one (before the rule) must sign in
/// again and give it.
async fn reader_on(site: &'static Site, b: &AppState, headers: &HeaderMap, here: &str) -> Result<Reader, PageFailure> {
    let way = signin::way(b);
    let signed_out = |message: &str| PageFailure::signed_out(site, message, here, way.clone());
    if header_str(headers, header::AUTHORIZATION.as_str())?.is_some() {
        let who = authorize_any(b, headers, site.roles).await.map_err(|f| {
            if f.status == StatusCode::UNAUTHORIZED {
                signed_out(&f.reason)
            } else {
                PageFailure::from(f).on(site)
            }
        })?;
        reader(b, &who, headers, "page").map_err(|f| PageFailure::from(f).on(site))?;
        return Ok(Reader { who, purpose: None });
    }
    let Some(id) = signin::cookie(headers, site.cookie)? else {
        return Err(signed_out(&format!(
            "Sign in as {} to open the {}.",
            site.who_may, site.name
        )));
    };
    let store = b.clone();
    let session = blocking(move || Ok(store.web_session(site.pages, &id)?))
        .await?
        .ok_or_else(|| signed_out("Your session has ended or expired: sign in again."))?;
    if !site.roles.contains(&session.who.role) {
        return Err(forbidden_role(site, session.who.role));
    }
    if way.purpose && session.purpose.is_none() {
        return Err(signed_out(
            "This force records why its pages are opened: sign in again and say why you are looking.",
        ));
    }
    Ok(Reader {
        who: session.who,
        purpose: session.purpose,
    })
}

fn forbidden_role(site: &'static Site, role: Role) -> PageFailure {
    PageFailure::new(
        StatusCode::FORBIDDEN,
        format!(
            "A token with the {role} role cannot open the {}: sign in as {}.",
            site.name, site.who_may
        ),
    )
    .on(site)
}

// ---- query strings and forms --------------------------------------------------

/// A date parameter: exactly `YYYY-MM-DD` (what a date input sends), or
/// empty or absent for none (a form's empty field).
fn date_param(pairs: &[(String, String)], key: &str) -> Result<Option<NaiveDate>, ApiFailure> {
    let shaped = |v: &str| {
        v.len() == 10
            && v.bytes().enumerate().all(|(i, b)| {
                if i == 4 || i == 7 {
                    b == b'-'
                } else {
                    b.is_ascii_digit()
                }
            })
    };
    match get(pairs, key) {
        None | Some("") => Ok(None),
        Some(v) => shaped(v)
            .then(|| NaiveDate::parse_from_str(v, "%Y-%m-%d").ok())
            .flatten()
            .map(Some)
            .ok_or_else(|| ApiFailure::bad_request(format!("{key} is not a date (YYYY-MM-DD)"))),
    }
}

fn today() -> NaiveDate {
    guardian_protocol::time::london_date(now_ms()).unwrap_or_default()
}

/// The day view's range: `date`, or `from`/`to` (one may be left out),
/// else today; at most a year, forwards.
fn day_range(q: Option<&str>) -> Result<(NaiveDate, NaiveDate), ApiFailure> {
    let p = pairs(q)?;
    let (from, to) = match (date_param(&p, "date")?, date_param(&p, "from")?, date_param(&p, "to")?) {
        (Some(d), None, None) => (d, d),
        (Some(_), _, _) => return Err(ApiFailure::bad_request("give date, or from and to, not both")),
        (None, Some(f), Some(t)) => (f, t),
        (None, Some(d), None) | (None, None, Some(d)) => (d, d),
        (None, None, None) => {
            let t = today();
            (t, t)
        }
    };
    if to < from {
        return Err(ApiFailure::bad_request("to is earlier than from"));
    }
    if (to - from).num_days() >= MAX_RANGE_DAYS as i64 {
        return Err(ApiFailure::bad_request(format!(
            "the range is longer than {MAX_RANGE_DAYS} days"
        )));
    }
    Ok((from, to))
}

fn open_range(q: Option<&str>) -> Result<(Option<NaiveDate>, Option<NaiveDate>), ApiFailure> {
    let p = pairs(q)?;
    let (from, to) = (date_param(&p, "from")?, date_param(&p, "to")?);
    if let (Some(f), Some(t)) = (from, to)
        && t < f
    {
        return Err(ApiFailure::bad_request("to is earlier than from"));
    }
    Ok((from, to))
}

/// The path and query a signed-out reader comes back to.
fn here(path: &str, q: Option<&str>) -> String {
    match q {
        Some(q) if !q.is_empty() => format!("{path}?{q}"),
        _ => path.to_string(),
    }
}

// ---- pages --------------------------------------------------------------------

pub(crate) async fn day_page(State(b): State<AppState>, headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    let result: Result<Response, PageFailure> = async {
        let reader = page_reader(&b, &headers, &here("/review", q.as_deref())).await?;
        let who = reader.who.clone();
        let (from, to) = day_range(q.as_deref()).map_err(|f| PageFailure::from(f).with_who(&who))?;
        let actor = reader.caller(&headers, "GET /review");
        let review = blocking(move || Ok(b.logged_review_days(&actor, Action::Consultation, from, to)?))
            .await
            .map_err(|f| PageFailure::from(f).with_who(&who))?;
        Ok(html(StatusCode::OK, page::day(&review, &who, today())))
    }
    .await;
    secure(result.unwrap_or_else(IntoResponse::into_response), None)
}

pub(crate) async fn patrol_page(
    State(b): State<AppState>,
    id: Result<Path<String>, axum::extract::rejection::PathRejection>,
    headers: HeaderMap,
) -> Response {
    let raw = match &id {
        Ok(Path(s)) => s.clone(),
        Err(_) => String::new(),
    };
    let mut origin = None;
    let result: Result<Response, PageFailure> = async {
        let reader = page_reader(&b, &headers, &format!("/review/patrols/{}", page::url_part(&raw))).await?;
        let who = reader.who.clone();
        let id = path_param(id).map_err(|f| PageFailure::from(f).with_who(&who))?;
        let actor = reader.caller(&headers, "GET /review/patrols/{id}");
        let (detail, tiles) = blocking(move || {
            let detail = b.logged_review_patrol(&actor, Action::Consultation, &id)?;
            Ok((detail, b.review_tile_layer()?))
        })
        .await
        .map_err(|f| PageFailure::from(f).with_who(&who))?;
        let detail = detail.ok_or_else(|| {
            PageFailure::new(StatusCode::NOT_FOUND, "There is no patrol with that id.").with_who(&who)
        })?;
        origin = tiles.as_deref().map(|t| tile_origin(t).to_string());
        Ok(html(StatusCode::OK, page::patrol(&detail, &who, tiles.as_deref())))
    }
    .await;
    secure(result.unwrap_or_else(IntoResponse::into_response), origin.as_deref())
}

pub(crate) async fn evaluation_page(State(b): State<AppState>, headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    let result: Result<Response, PageFailure> = async {
        let reader = page_reader(&b, &headers, &here("/review/evaluation", q.as_deref())).await?;
        let who = reader.who.clone();
        let (from, to) = open_range(q.as_deref()).map_err(|f| PageFailure::from(f).with_who(&who))?;
        let eval = blocking(move || Ok(b.review_evaluation(from, to)?))
            .await
            .map_err(|f| PageFailure::from(f).with_who(&who))?;
        Ok(html(StatusCode::OK, page::evaluation(&eval, &who)))
    }
    .await;
    secure(result.unwrap_or_else(IntoResponse::into_response), None)
}

fn csv_download(csv: String, name: &str) -> Response {
    let disposition = format!("attachment; filename=\"{name}\"");
    let mut resp = ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], csv).into_response();
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        resp.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    resp
}

fn evaluation_file_name(from: Option<NaiveDate>, to: Option<NaiveDate>) -> String {
    let d = |x: Option<NaiveDate>, open: &str| x.map_or_else(|| open.to_string(), |d| d.to_string());
    format!("evaluation-{}-to-{}.csv", d(from, "first"), d(to, "last"))
}

pub(crate) async fn evaluation_csv_page(
    State(b): State<AppState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let result: Result<Response, PageFailure> = async {
        let reader = page_reader(&b, &headers, &here("/review/evaluation", q.as_deref())).await?;
        let who = reader.who.clone();
        let (from, to) = open_range(q.as_deref()).map_err(|f| PageFailure::from(f).with_who(&who))?;
        let csv = blocking(move || Ok(evaluation_csv(&b.review_evaluation(from, to)?)))
            .await
            .map_err(|f| PageFailure::from(f).with_who(&who))?;
        Ok(csv_download(csv, &evaluation_file_name(from, to)))
    }
    .await;
    secure(result.unwrap_or_else(IntoResponse::into_response), None)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    let resp = (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        body,
    )
        .into_response();
    secure(resp, None)
}

pub(crate) async fn stylesheet() -> Response {
    asset("text/css; charset=utf-8", CSS)
}

pub(crate) async fn icon() -> Response {
    asset("image/svg+xml", ICON)
}

/// `/review/` is the day view: a typed or pasted trailing slash lands on
/// the page, query kept, instead of a 404.
pub(crate) async fn slash(RawQuery(q): RawQuery) -> Response {
    let to = match q.as_deref().filter(|q| !q.is_empty()) {
        Some(q) => format!("/review?{q}"),
        None => "/review".to_string(),
    };
    let mut resp = StatusCode::PERMANENT_REDIRECT.into_response();
    // A query that cannot be a header value is dropped, never echoed.
    let location = HeaderValue::from_str(&to).unwrap_or(HeaderValue::from_static("/review"));
    resp.headers_mut().insert(header::LOCATION, location);
    resp
}

// ---- JSON ---------------------------------------------------------------------

pub(crate) async fn api_day(State(b): State<AppState>, headers: HeaderMap, RawQuery(q): RawQuery) -> Reply {
    let claims = authorize_any(&b, &headers, REVIEW_ROLES).await?;
    let who = reader(&b, &claims, &headers, "GET /v1/review/days")?;
    let (from, to) = day_range(q.as_deref())?;
    let review = blocking(move || Ok(b.logged_review_days(&who, Action::Disclosure, from, to)?)).await?;
    no_store(json(&review))
}

pub(crate) async fn api_patrol(
    State(b): State<AppState>,
    id: Result<Path<String>, axum::extract::rejection::PathRejection>,
    headers: HeaderMap,
) -> Reply {
    let claims = authorize_any(&b, &headers, REVIEW_ROLES).await?;
    let who = reader(&b, &claims, &headers, "GET /v1/review/patrols/{id}")?;
    let id = path_param(id)?;
    let detail = blocking(move || Ok(b.logged_review_patrol(&who, Action::Disclosure, &id)?)).await?;
    match detail {
        Some(d) => no_store(json(&d)),
        None => Err(ApiFailure::new(
            StatusCode::NOT_FOUND,
            "no-such-patrol",
            "there is no patrol with that id",
        )),
    }
}

pub(crate) async fn api_evaluation(State(b): State<AppState>, headers: HeaderMap, RawQuery(q): RawQuery) -> Reply {
    authorize_any(&b, &headers, REVIEW_ROLES).await?;
    let (from, to) = open_range(q.as_deref())?;
    let eval = blocking(move || Ok(b.review_evaluation(from, to)?)).await?;
    no_store(json(&eval))
}

pub(crate) async fn api_evaluation_csv(State(b): State<AppState>, headers: HeaderMap, RawQuery(q): RawQuery) -> Reply {
    authorize_any(&b, &headers, REVIEW_ROLES).await?;
    let (from, to) = open_range(q.as_deref())?;
    let csv = blocking(move || Ok(evaluation_csv(&b.review_evaluation(from, to)?))).await?;
    no_store(Ok(csv_download(csv, &evaluation_file_name(from, to))))
}

fn no_store(reply: Reply) -> Reply {
    reply.map(|mut r| {
        r.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        r
    })
}

#[cfg(test)]
mod tests {
    use super::signin::same_origin;
    use super::*;
    use crate::session::Pages;
    use site::NAVIGATOR;

    #[test]
    fn a_next_page_stays_on_the_review_pages() {
        let safe_next = |n| REVIEW.safe_next(n);
        assert_eq!(safe_next(Some("/review/patrols/p-1")), "/review/patrols/p-1");
        assert_eq!(
            safe_next(Some("/review?from=2026-07-01&to=2026-07-03")),
            "/review?from=2026-07-01&to=2026-07-03"
        );
        for bad in [
            "https://evil.example/",
            "//evil.example/review",
            "/review//evil",
            "/v1/admin/stats",
            "/review/login",
            "/review\r\nSet-Cookie: x",
            "/review\"><script>",
            "/reviewer",
            "/navigator",
        ] {
            assert_eq!(safe_next(Some(bad)), "/review", "{bad:?}");
        }
        assert_eq!(safe_next(None), "/review");
        assert_eq!(
            NAVIGATOR.safe_next(Some("/navigator/referrals/r-1")),
            "/navigator/referrals/r-1"
        );
        assert_eq!(NAVIGATOR.safe_next(Some("/review")), "/navigator");
        assert_eq!(NAVIGATOR.safe_next(Some("/navigator/login")), "/navigator");
        assert_eq!(Site::of("/navigator?page=2").pages, Pages::Navigator);
        assert_eq!(Site::of("/review").pages, Pages::Review);
    }

    #[test]
    fn a_cross_site_post_is_refused_and_a_same_origin_one_allowed() {
        let h = |pairs: &[(&'static str, &'static str)]| {
            let mut m = HeaderMap::new();
            for (k, v) in pairs {
                m.insert(*k, HeaderValue::from_static(v));
            }
            m
        };
        let host = ("host", "127.0.0.1:8080");
        assert!(same_origin(&h(&[host, ("origin", "http://127.0.0.1:8080")])).expect("ok"));
        assert!(!same_origin(&h(&[host, ("origin", "http://evil.example")])).expect("ok"));
        assert!(!same_origin(&h(&[host, ("origin", "null")])).expect("ok"));
        // Chromium under no-referrer: Origin null, but Sec-Fetch-Site says.
        assert!(same_origin(&h(&[host, ("origin", "null"), ("sec-fetch-site", "same-origin")])).expect("ok"));
        assert!(
            !same_origin(&h(&[
                host,
                ("origin", "http://127.0.0.1:8080"),
                ("sec-fetch-site", "cross-site")
            ]))
            .expect("ok")
        );
        assert!(!same_origin(&h(&[host, ("sec-fetch-site", "same-site")])).expect("ok"));
        assert!(same_origin(&h(&[host])).expect("no browser"));
    }

    #[test]
    fn the_day_range_is_a_date_or_a_forward_range_of_at_most_a_year() {
        let d = |s: &str| s.parse::<NaiveDate>().expect("date");
        assert_eq!(
            day_range(Some("date=2026-07-03")).expect("one"),
            (d("2026-07-03"), d("2026-07-03"))
        );
        assert_eq!(
            day_range(Some("from=2026-07-01&to=2026-07-03")).expect("range"),
            (d("2026-07-01"), d("2026-07-03"))
        );
        assert!(day_range(Some("from=2026-07-03&to=2026-07-01")).is_err());
        assert!(day_range(Some("from=2020-01-01&to=2026-07-01")).is_err());
        assert!(day_range(Some("date=yesterday")).is_err());
        assert!(day_range(Some("date=2026-7-03")).is_err());
        assert!(day_range(Some("date=+2026-07-03")).is_err());
        assert!(day_range(Some("date=2026-02-30")).is_err());
        assert_eq!(
            day_range(Some("date=&from=2026-07-03&to=")).expect("empty fields are none"),
            (d("2026-07-03"), d("2026-07-03"))
        );
        assert!(day_range(Some("date=2026-07-03&from=2026-07-01")).is_err());
    }

    #[test]
    fn the_policy_allows_no_script_and_only_the_tile_origin_beyond_self() {
        let plain = csp(None, None);
        assert!(plain.contains("default-src 'none'"));
        assert!(plain.contains("form-action 'self';"));
        assert!(!plain.contains("script-src"));
        assert!(!plain.contains("unsafe"));
        assert!(csp(Some("https://tiles.example.org"), None).contains("img-src 'self' https://tiles.example.org;"));
        let sign_in = csp(None, Some("https://login.example.org"));
        assert!(
            sign_in.contains("form-action 'self' https://login.example.org;") && sign_in.contains("img-src 'self';")
        );
    }
}
