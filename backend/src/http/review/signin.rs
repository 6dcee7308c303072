//! Signing a browser in to the review pages, and out again.
//!
//! With the force's provider and a web client configured (`serve
//! --web-client-id`), the sign-in page offers one button: `GET
//! /review/login/start` keeps a sign-in attempt (state, nonce, PKCE
//! verifier) server-side, gives the browser a binding cookie and sends it
//! to the provider; `GET /review/callback` takes the attempt once, has the
//! backend exchange the code and check both tokens, and opens a server-side
//! session. Without a provider (the demo, the tests) a dev token is pasted
//! instead; it too opens a server-side session, so the cookie is never a
//! token and signing out ends the session for good.

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::super::form::{get, pairs};
use super::super::{ApiFailure, AppState, blocking, header_str, read_body};
use super::site::{REVIEW, Site};
use super::{MAX_SESSION_S, PageFailure, forbidden_role, html, page, secure, secure_sign_in};
use crate::audit::clean_purpose;
use crate::backend::now_ms;
use crate::oidc::{AuthError, WebAttempt, WebSignInError};
use crate::session::SIGN_IN_TTL_MS;
use crate::token::Claims;

const MAX_LOGIN_BYTES: usize = 8 * 1024;
/// Ties a sign-in to the browser that began it. `SameSite=Lax`: it must
/// come back on the provider's redirect, a cross-site navigation.
const BINDING_COOKIE: &str = "guardian_signin";

/// How this server signs browsers in: what its sign-in page asks for.
#[derive(Debug, Clone, Default)]
pub(crate) struct Way {
    /// With the force's provider, not a pasted token.
    pub force: bool,
    /// The reader must say why they are looking (`serve --require-purpose`).
    pub purpose: bool,
    /// The provider's origin, which the sign-in form is allowed to lead to.
    pub provider: Option<String>,
}

pub(super) fn way(b: &AppState) -> Way {
    let web = b.identity_provider().filter(|o| o.web_sign_in());
    Way {
        force: web.is_some(),
        purpose: b.purpose_required(),
        provider: web.and_then(crate::Oidc::web_authorization_origin),
    }
}

/// The purpose a sign-in form gave, as kept; refused when the force
/// requires one and there is none.
fn given_purpose(raw: Option<&str>, way: &Way) -> Result<Option<String>, &'static str> {
    match raw.and_then(clean_purpose) {
        None if way.purpose => {
            Err("Say why you are opening these pages: this force records it with every page you open.")
        }
        p => Ok(p),
    }
}

/// A request's cookie by name.
pub(super) fn cookie(headers: &HeaderMap, name: &str) -> Result<Option<String>, ApiFailure> {
    let Some(cookies) = header_str(headers, header::COOKIE.as_str())? else {
        return Ok(None);
    };
    Ok(cookies.split(';').find_map(|kv| {
        let (k, v) = kv.trim().split_once('=')?;
        (k == name && !v.is_empty()).then(|| v.to_string())
    }))
}

/// A POST a browser sent from another site is refused. `Sec-Fetch-Site`
/// decides when the browser sent it (a page cannot forge it); else the
/// `Origin` must be this host's. With `Referrer-Policy: no-referrer` (these
/// pages) Chromium sends `Origin: null` even on a same-origin form, so
/// `null` alone is not proof of anything and is refused. A client that
/// sends neither (curl, a test) is no browser, and no cross-site risk.
pub(super) fn same_origin(headers: &HeaderMap) -> Result<bool, ApiFailure> {
    if let Some(site) = header_str(headers, "sec-fetch-site")? {
        return Ok(site.eq_ignore_ascii_case("same-origin") || site.eq_ignore_ascii_case("none"));
    }
    let host = header_str(headers, header::HOST.as_str())?.unwrap_or("");
    if let Some(origin) = header_str(headers, header::ORIGIN.as_str())? {
        let authority = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"));
        return Ok(authority.is_some_and(|a| !host.is_empty() && a.eq_ignore_ascii_case(host)));
    }
    Ok(true)
}

fn set_cookie(resp: &mut Response, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// The session cookie of `site` (an empty value and no age: cleared).
fn session_cookie(site: &Site, id: &str, max_age_s: i64, secure_flag: bool) -> String {
    format!(
        "{}={id}; Path={}; Max-Age={max_age_s}; HttpOnly; SameSite=Strict{}",
        site.cookie,
        site.base,
        if secure_flag { "; Secure" } else { "" }
    )
}

/// A session for `who`, as the response that sets its cookie and goes on.
async fn open_session(
    site: &'static Site,
    b: &AppState,
    who: Claims,
    purpose: Option<String>,
    expires_ms: i64,
) -> Result<String, PageFailure> {
    let b = b.clone();
    Ok(blocking(move || Ok(b.open_web_session(site.pages, &who, purpose.as_deref(), expires_ms)?)).await?)
}

pub(crate) async fn login_form(State(b): State<AppState>, RawQuery(q): RawQuery) -> Response {
    login_form_on(&REVIEW, &b, q.as_deref())
}

pub(super) fn login_form_on(site: &'static Site, b: &AppState, q: Option<&str>) -> Response {
    let next = pairs(q).ok().and_then(|p| get(&p, "next").map(str::to_string));
    let next = site.safe_next(next.as_deref());
    let way = way(b);
    secure_sign_in(html(StatusCode::OK, page::login(site, None, Some(next), &way)), &way)
}

/// The pasted token's sign-in (dev tokens; or a provider's token, by hand).
pub(crate) async fn login(State(b): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    login_on(&REVIEW, b, headers, body).await
}

pub(super) async fn login_on(site: &'static Site, b: AppState, headers: HeaderMap, body: Body) -> Response {
    let result: Result<Response, PageFailure> = async {
        if !same_origin(&headers)? {
            return Err(PageFailure::new(
                StatusCode::FORBIDDEN,
                "This sign-in came from another site and was refused.",
            )
            .on(site));
        }
        let media = header_str(&headers, header::CONTENT_TYPE.as_str())?
            .and_then(|v| v.split(';').next())
            .map(str::trim)
            .unwrap_or("");
        if !media.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
            return Err(PageFailure::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Sign in with the form: its body is application/x-www-form-urlencoded.",
            )
            .on(site));
        }
        let bytes = read_body(&headers, body, MAX_LOGIN_BYTES).await?;
        let text = std::str::from_utf8(&bytes).map_err(|_| ApiFailure::bad_request("the form is not UTF-8"))?;
        let form = pairs(Some(text))?;
        let next = site.safe_next(get(&form, "next")).to_string();
        let way = way(&b);
        let retry = |message: &str| PageFailure::signed_out(site, message, &next, way.clone());
        let token = get(&form, "token").map(str::trim).unwrap_or("");
        if token.is_empty() {
            return Err(retry("Paste your token to sign in."));
        }
        let purpose = given_purpose(get(&form, "purpose"), &way).map_err(retry)?;
        let claims = b.verify_token(token).await.map_err(|e| match e {
            AuthError::Expired => retry("That token has expired."),
            AuthError::KeysUnavailable | AuthError::KeyPending | AuthError::NoRole | AuthError::AmbiguousRole => {
                PageFailure::from(ApiFailure::from(e))
            }
            _ => retry("That is not a valid token for this force."),
        })?;
        if !site.roles.contains(&claims.role) {
            return Err(forbidden_role(site, claims.role));
        }
        let max_age = (claims.exp - now_ms() / 1000).clamp(1, MAX_SESSION_S);
        let id = open_session(site, &b, claims, purpose, now_ms() + max_age * 1000).await?;
        // Secure when the browser reached us over TLS (a terminating proxy).
        let secure_flag = header_str(&headers, header::ORIGIN.as_str())?.is_some_and(|o| o.starts_with("https://"));
        let mut resp = StatusCode::SEE_OTHER.into_response();
        resp.headers_mut().insert(
            header::LOCATION,
            HeaderValue::from_str(&next).unwrap_or(HeaderValue::from_static("/")),
        );
        set_cookie(&mut resp, &session_cookie(site, &id, max_age, secure_flag));
        Ok(resp)
    }
    .await;
    secure(result.unwrap_or_else(IntoResponse::into_response), None)
}

/// The button's target: off to the force's provider.
pub(crate) async fn start(State(b): State<AppState>, RawQuery(q): RawQuery) -> Response {
    start_on(&REVIEW, b, q.as_deref()).await
}

pub(super) async fn start_on(site: &'static Site, b: AppState, q: Option<&str>) -> Response {
    let result: Result<Response, PageFailure> = async {
        let Some(oidc) = b.identity_provider().filter(|o| o.web_sign_in()) else {
            return Err(PageFailure::new(
                StatusCode::NOT_FOUND,
                "This server has no force sign-in: paste a token on the sign-in page.",
            )
            .on(site));
        };
        let query = pairs(q)?;
        let next = site.safe_next(get(&query, "next")).to_string();
        let way = way(&b);
        let purpose = given_purpose(get(&query, "purpose"), &way)
            .map_err(|message| PageFailure::signed_out(site, message, &next, way.clone()))?;
        let attempt = WebAttempt::new();
        let url = oidc
            .web_authorization_url(&attempt)
            .ok_or_else(|| ApiFailure::from(crate::BackendError::Server("no web client".into())))?;
        let binding = attempt.binding.clone();
        let store = b.clone();
        blocking(move || Ok(store.save_web_sign_in(&attempt, &next, purpose.as_deref())?)).await?;
        let mut resp = StatusCode::SEE_OTHER.into_response();
        if let Ok(v) = HeaderValue::from_str(&url) {
            resp.headers_mut().insert(header::LOCATION, v);
        }
        set_cookie(
            &mut resp,
            &format!(
                "{BINDING_COOKIE}={binding}; Path=/review/callback; Max-Age={}; HttpOnly; SameSite=Lax{}",
                SIGN_IN_TTL_MS / 1000,
                if oidc.web_public_https() { "; Secure" } else { "" }
            ),
        );
        Ok(resp)
    }
    .await;
    secure(result.unwrap_or_else(IntoResponse::into_response), None)
}

/// The provider sends the browser back here with a code (or an error).
pub(crate) async fn callback(State(b): State<AppState>, headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    let way = way(&b);
    let result: Result<Response, PageFailure> = async {
        let Some(oidc) = b.identity_provider().filter(|o| o.web_sign_in()) else {
            return Err(PageFailure::new(
                StatusCode::NOT_FOUND,
                "This server has no force sign-in.",
            ));
        };
        let p = pairs(q.as_deref())?;
        let state = get(&p, "state").unwrap_or("").to_string();
        let binding = cookie(&headers, BINDING_COOKIE)?.unwrap_or_default();
        let store = b.clone();
        let taken = blocking(move || Ok(store.take_web_sign_in(&state, &binding)?)).await?;
        let Some((attempt, next, purpose)) = taken else {
            // Which pages it was for is lost with the attempt.
            return Err(PageFailure::new(
                StatusCode::BAD_REQUEST,
                "This sign-in has expired, was already used or was begun in another browser: sign in again.",
            ));
        };
        if let Some(error) = get(&p, "error") {
            // RFC 6749's error codes are this; anything else is not echoed.
            let error: String = error
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                .take(40)
                .collect();
            return Err(PageFailure::signed_out(
                Site::of(&next),
                &format!("The force's sign-in was not completed ({error})."),
                &next,
                way.clone(),
            ));
        }
        let site = Site::of(&next);
        let again = |message: &str| PageFailure::signed_out(site, message, site.base, way.clone());
        // RFC 9207: a provider that names itself must name ours.
        if let Some(iss) = get(&p, "iss")
            && Some(iss) != oidc.web_issuer()
        {
            return Err(again("That sign-in came from another identity provider."));
        }
        let code = get(&p, "code").filter(|c| !c.is_empty() && c.len() <= 4096);
        let Some(code) = code else {
            return Err(again("The force's provider sent no sign-in code."));
        };
        let who = oidc.finish_web_sign_in(code, &attempt).await.map_err(|e| match e {
            WebSignInError::Unreachable(why) => PageFailure::new(
                StatusCode::BAD_GATEWAY,
                format!("The force's identity provider could not be reached: {why}. Try again shortly."),
            ),
            WebSignInError::Token(
                a @ (AuthError::KeysUnavailable | AuthError::KeyPending | AuthError::NoRole | AuthError::AmbiguousRole),
            ) => PageFailure::from(ApiFailure::from(a)),
            other => {
                tracing::warn!("review sign-in refused: {other}");
                again(&format!("The sign-in was not accepted: {other}. Sign in again."))
            }
        })?;
        if !site.roles.contains(&who.role) {
            return Err(forbidden_role(site, who.role));
        }
        tracing::info!(subject = %who.sub, role = %who.role, pages = site.base, "web session opened");
        let id = open_session(site, &b, who, purpose, now_ms() + MAX_SESSION_S * 1000).await?;
        // A page, not a redirect: after a chain that began at the provider
        // (another site) the browser would withhold the new SameSite=Strict
        // cookie from a redirected request; a navigation this page starts
        // is same-site and carries it.
        let mut resp = html(StatusCode::OK, page::signed_in(site, &next));
        set_cookie(
            &mut resp,
            &session_cookie(site, &id, MAX_SESSION_S, oidc.web_public_https()),
        );
        set_cookie(
            &mut resp,
            &format!("{BINDING_COOKIE}=; Path=/review/callback; Max-Age=0; HttpOnly; SameSite=Lax"),
        );
        Ok(resp)
    }
    .await;
    secure(result.unwrap_or_else(IntoResponse::into_response), None)
}

/// Ends the session on the server, and clears the cookie.
pub(crate) async fn logout(State(b): State<AppState>, headers: HeaderMap) -> Response {
    logout_on(&REVIEW, b, headers).await
}

pub(super) async fn logout_on(site: &'static Site, b: AppState, headers: HeaderMap) -> Response {
    let result: Result<Response, PageFailure> = async {
        if !same_origin(&headers)? {
            return Err(PageFailure::new(
                StatusCode::FORBIDDEN,
                "This sign-out came from another site and was refused.",
            )
            .on(site));
        }
        if let Some(id) = cookie(&headers, site.cookie)? {
            let store = b.clone();
            blocking(move || Ok(store.end_web_session(&id)?)).await?;
        }
        let mut resp = StatusCode::SEE_OTHER.into_response();
        if let Ok(v) = HeaderValue::from_str(&format!("{}/login", site.base)) {
            resp.headers_mut().insert(header::LOCATION, v);
        }
        set_cookie(&mut resp, &session_cookie(site, "", 0, false));
        Ok(resp)
    }
    .await;
    secure(result.unwrap_or_else(IntoResponse::into_response), None)
}
