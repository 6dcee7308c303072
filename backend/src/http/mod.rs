//! The HTTP API (axum). Every route is in [`ROUTES`], the one table that the
//! router is built from and that the OpenAPI test compares with
//! `openapi.yaml`. Every error answer is an `ApiError` JSON with a stable
//! slug, including those axum would otherwise write as plain text (unknown
//! route, wrong method, oversize body).
//!
//! Handlers do HTTP only: auth, headers, body limits, decoding. The database
//! work runs on the blocking pool so a slow fsync never stalls the reactor.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter, on};
use chrono::NaiveDate;
use guardian_core::patrol::Rank;
use guardian_protocol::codec;
use guardian_protocol::rules::{MAX_ID_LEN, check_id};
use guardian_protocol::wire::{
    Ack, CommandKind, HEADER_DEVICE, HEADER_FORMAT, HEADER_PATROL_ID, HEADER_SEQ, RecordEnvelope, TRACK_CONTENT_TYPE,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::audit::{Access, Action, Caller, clean_purpose};
use crate::backend::{Backend, now_ms};
use crate::chunks::ChunkUpload;
use crate::devices::Standing;
use crate::error::BackendError;
use crate::token::{Claims, Role};
use error::ApiFailure;
pub use serve::Limits;

mod devices;
pub mod error;
mod form;
mod library;
mod referral;
mod review;
pub mod serve;
pub use referral::{MAX_REFERRAL_BYTES, MyReferrals, NavigatorReferrals, NewNavigator, StatusChange};

/// A track chunk is at most this big on the wire: the codec's largest
/// chunk (10,000 fixes) fits; a handset's (600) takes a few kilobytes.
pub const MAX_CHUNK_BYTES: usize = 1024 * 1024;
/// JSON bodies: records, admin requests. Area sets are bigger.
pub const MAX_JSON_BYTES: usize = 64 * 1024;
pub const MAX_AREAS_BYTES: usize = 32 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Get,
    Post,
    Put,
}

impl Verb {
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Get => "get",
            Verb::Post => "post",
            Verb::Put => "put",
        }
    }

    fn filter(self) -> MethodFilter {
        match self {
            Verb::Get => MethodFilter::GET,
            Verb::Post => MethodFilter::POST,
            Verb::Put => MethodFilter::PUT,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Healthz,
    PostRecord,
    PutTrack,
    Sync,
    AckCommand,
    MyPatrols,
    AdminAreas,
    AdminOfficers,
    AdminTokens,
    AdminSchedule,
    AdminCommands,
    AdminDevices,
    AdminDeviceRevoke,
    AdminComplianceCsv,
    AdminComplianceSummary,
    AdminStats,
    PostReferral,
    MyReferrals,
    NavigatorReferrals,
    NavigatorReferralStatus,
    AdminBoundaries,
    AdminNavigators,
    Library,
    GetLibraryPrefs,
    PostLibraryPrefs,
    AdminLibrary,
    ReviewDay,
    ReviewPatrol,
    ReviewEvaluation,
    ReviewEvaluationCsv,
    ReviewDayPage,
    ReviewPatrolPage,
    ReviewEvaluationPage,
    ReviewEvaluationCsvPage,
    ReviewLoginForm,
    ReviewLogin,
    ReviewLoginStart,
    ReviewCallback,
    NavigatorInbox,
    NavigatorReferralPage,
    NavigatorAct,
    NavigatorTeam,
    NavigatorLoginForm,
    NavigatorLogin,
    NavigatorLoginStart,
    NavigatorLogout,
    AdminRemoveNavigator,
    AuditExport,
    AuditPage,
    AuditCsv,
    AuditLoginForm,
    AuditLogin,
    AuditLoginStart,
    AuditLogout,
    ReviewLogout,
    ReviewStylesheet,
    ReviewIcon,
    ReviewSlash,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub verb: Verb,
    pub path: &'static str,
    pub endpoint: Endpoint,
}

const fn route(verb: Verb, path: &'static str, endpoint: Endpoint) -> Route {
    Route { verb, path, endpoint }
}

/// Every route the server serves. The router is built from this table and
/// nothing else.
pub const ROUTES: &[Route] = &[
    route(Verb::Get, "/healthz", Endpoint::Healthz),
    route(Verb::Post, "/v1/records", Endpoint::PostRecord),
    route(Verb::Put, "/v1/track/{chunk_id}", Endpoint::PutTrack),
    route(Verb::Get, "/v1/sync", Endpoint::Sync),
    route(Verb::Post, "/v1/commands/{id}/ack", Endpoint::AckCommand),
    route(Verb::Get, "/v1/me/patrols", Endpoint::MyPatrols),
    route(Verb::Post, "/v1/admin/areas", Endpoint::AdminAreas),
    route(Verb::Post, "/v1/admin/officers", Endpoint::AdminOfficers),
    route(Verb::Post, "/v1/admin/tokens", Endpoint::AdminTokens),
    route(Verb::Post, "/v1/admin/schedule", Endpoint::AdminSchedule),
    route(Verb::Post, "/v1/admin/commands", Endpoint::AdminCommands),
    route(Verb::Get, "/v1/admin/devices", Endpoint::AdminDevices),
    route(Verb::Post, "/v1/admin/devices/{id}/revoke", Endpoint::AdminDeviceRevoke),
    route(Verb::Get, "/v1/admin/compliance.csv", Endpoint::AdminComplianceCsv),
    route(
        Verb::Get,
        "/v1/admin/compliance/summary",
        Endpoint::AdminComplianceSummary,
    ),
    route(Verb::Get, "/v1/admin/stats", Endpoint::AdminStats),
    route(Verb::Post, "/v1/referrals", Endpoint::PostReferral),
    route(Verb::Get, "/v1/me/referrals", Endpoint::MyReferrals),
    route(Verb::Get, "/v1/navigator/referrals", Endpoint::NavigatorReferrals),
    route(
        Verb::Post,
        "/v1/navigator/referrals/{id}/status",
        Endpoint::NavigatorReferralStatus,
    ),
    route(Verb::Post, "/v1/admin/boundaries", Endpoint::AdminBoundaries),
    route(Verb::Post, "/v1/admin/navigators", Endpoint::AdminNavigators),
    route(Verb::Get, "/v1/library", Endpoint::Library),
    route(Verb::Get, "/v1/library/prefs", Endpoint::GetLibraryPrefs),
    route(Verb::Post, "/v1/library/prefs", Endpoint::PostLibraryPrefs),
    route(Verb::Post, "/v1/admin/library", Endpoint::AdminLibrary),
    route(Verb::Get, "/v1/review/days", Endpoint::ReviewDay),
    route(Verb::Get, "/v1/review/patrols/{id}", Endpoint::ReviewPatrol),
    route(Verb::Get, "/v1/review/evaluation", Endpoint::ReviewEvaluation),
    route(Verb::Get, "/v1/review/evaluation.csv", Endpoint::ReviewEvaluationCsv),
    route(Verb::Get, "/review", Endpoint::ReviewDayPage),
    route(Verb::Get, "/review/patrols/{id}", Endpoint::ReviewPatrolPage),
    route(Verb::Get, "/review/evaluation", Endpoint::ReviewEvaluationPage),
    route(Verb::Get, "/review/evaluation.csv", Endpoint::ReviewEvaluationCsvPage),
    route(Verb::Get, "/review/login", Endpoint::ReviewLoginForm),
    route(Verb::Post, "/review/login", Endpoint::ReviewLogin),
    route(Verb::Get, "/review/login/start", Endpoint::ReviewLoginStart),
    route(Verb::Get, "/review/callback", Endpoint::ReviewCallback),
    route(Verb::Get, "/navigator", Endpoint::NavigatorInbox),
    route(Verb::Get, "/navigator/referrals/{id}", Endpoint::NavigatorReferralPage),
    route(Verb::Post, "/navigator/referrals/{id}", Endpoint::NavigatorAct),
    route(Verb::Get, "/navigator/team", Endpoint::NavigatorTeam),
    route(Verb::Get, "/navigator/login", Endpoint::NavigatorLoginForm),
    route(Verb::Post, "/navigator/login", Endpoint::NavigatorLogin),
    route(Verb::Get, "/navigator/login/start", Endpoint::NavigatorLoginStart),
    route(Verb::Post, "/navigator/logout", Endpoint::NavigatorLogout),
    route(
        Verb::Post,
        "/v1/admin/navigators/{id}/remove",
        Endpoint::AdminRemoveNavigator,
    ),
    route(Verb::Get, "/v1/audit/entries", Endpoint::AuditExport),
    route(Verb::Get, "/audit", Endpoint::AuditPage),
    route(Verb::Get, "/audit/entries.csv", Endpoint::AuditCsv),
    route(Verb::Get, "/audit/login", Endpoint::AuditLoginForm),
    route(Verb::Post, "/audit/login", Endpoint::AuditLogin),
    route(Verb::Get, "/audit/login/start", Endpoint::AuditLoginStart),
    route(Verb::Post, "/audit/logout", Endpoint::AuditLogout),
    route(Verb::Post, "/review/logout", Endpoint::ReviewLogout),
    route(Verb::Get, "/review/review.css", Endpoint::ReviewStylesheet),
    route(Verb::Get, "/review/icon.svg", Endpoint::ReviewIcon),
    route(Verb::Get, "/review/", Endpoint::ReviewSlash),
];

type AppState = Arc<Backend>;

fn method_router(r: &Route) -> MethodRouter<AppState> {
    let f = r.verb.filter();
    match r.endpoint {
        Endpoint::Healthz => on(f, healthz),
        Endpoint::PostRecord => on(f, post_record),
        Endpoint::PutTrack => on(f, put_track),
        Endpoint::Sync => on(f, get_sync),
        Endpoint::AckCommand => on(f, ack_command),
        Endpoint::MyPatrols => on(f, my_patrols),
        Endpoint::AdminAreas => on(f, admin_areas),
        Endpoint::AdminOfficers => on(f, admin_officers),
        Endpoint::AdminTokens => on(f, admin_tokens),
        Endpoint::AdminSchedule => on(f, admin_schedule),
        Endpoint::AdminCommands => on(f, admin_commands),
        Endpoint::AdminDevices => on(f, devices::list),
        Endpoint::AdminDeviceRevoke => on(f, devices::revoke),
        Endpoint::AdminComplianceCsv => on(f, admin_compliance_csv),
        Endpoint::AdminComplianceSummary => on(f, admin_compliance_summary),
        Endpoint::AdminStats => on(f, admin_stats),
        Endpoint::PostReferral => on(f, referral::post_referral),
        Endpoint::MyReferrals => on(f, referral::my_referrals),
        Endpoint::NavigatorReferrals => on(f, referral::navigator_referrals),
        Endpoint::NavigatorReferralStatus => on(f, referral::navigator_status),
        Endpoint::AdminBoundaries => on(f, referral::admin_boundaries),
        Endpoint::AdminNavigators => on(f, referral::admin_navigators),
        Endpoint::Library => on(f, library::get_library),
        Endpoint::GetLibraryPrefs => on(f, library::get_library_prefs),
        Endpoint::PostLibraryPrefs => on(f, library::post_library_prefs),
        Endpoint::AdminLibrary => on(f, library::admin_library),
        Endpoint::ReviewDay => on(f, review::api_day),
        Endpoint::ReviewPatrol => on(f, review::api_patrol),
        Endpoint::ReviewEvaluation => on(f, review::api_evaluation),
        Endpoint::ReviewEvaluationCsv => on(f, review::api_evaluation_csv),
        Endpoint::ReviewDayPage => on(f, review::day_page),
        Endpoint::ReviewPatrolPage => on(f, review::patrol_page),
        Endpoint::ReviewEvaluationPage => on(f, review::evaluation_page),
        Endpoint::ReviewEvaluationCsvPage => on(f, review::evaluation_csv_page),
        Endpoint::ReviewLoginForm => on(f, review::login_form),
        Endpoint::ReviewLogin => on(f, review::login),
        Endpoint::ReviewLoginStart => on(f, review::login_start),
        Endpoint::ReviewCallback => on(f, review::callback),
        Endpoint::NavigatorInbox => on(f, review::inbox_page),
        Endpoint::NavigatorReferralPage => on(f, review::referral_page),
        Endpoint::NavigatorAct => on(f, review::navigator_act_form),
        Endpoint::NavigatorTeam => on(f, review::team_page),
        Endpoint::NavigatorLoginForm => on(f, review::navigator_login_form),
        Endpoint::NavigatorLogin => on(f, review::navigator_login),
        Endpoint::NavigatorLoginStart => on(f, review::navigator_login_start),
        Endpoint::NavigatorLogout => on(f, review::navigator_logout),
        Endpoint::AdminRemoveNavigator => on(f, referral::admin_remove_navigator),
        Endpoint::AuditExport => on(f, referral::audit_entries),
        Endpoint::AuditPage => on(f, review::audit_page),
        Endpoint::AuditCsv => on(f, review::audit_csv),
        Endpoint::AuditLoginForm => on(f, review::audit_login_form),
        Endpoint::AuditLogin => on(f, review::audit_login),
        Endpoint::AuditLoginStart => on(f, review::audit_login_start),
        Endpoint::AuditLogout => on(f, review::audit_logout),
        Endpoint::ReviewLogout => on(f, review::logout),
        Endpoint::ReviewStylesheet => on(f, review::stylesheet),
        Endpoint::ReviewIcon => on(f, review::icon),
        Endpoint::ReviewSlash => on(f, review::slash),
    }
}

pub fn router(backend: Arc<Backend>) -> Router {
    let mut r: Router<AppState> = Router::new();
    for route in ROUTES {
        r = r.route(route.path, method_router(route));
    }
    r.fallback(|| async { ApiFailure::new(StatusCode::NOT_FOUND, "not-found", "no such route") })
        .method_not_allowed_fallback(|| async {
            ApiFailure::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "this route does not take that method",
            )
        })
        .with_state(backend)
}

// ---- plumbing ---------------------------------------------------------------

type Reply = Result<Response, ApiFailure>;

async fn authorize(backend: &AppState, headers: &HeaderMap, role: Role) -> Result<Claims, ApiFailure> {
    authorize_any(backend, headers, &[role]).await
}

/// A bearer token of one of `roles`: 401 without a valid one, 403 for
/// another role, 401 `device-revoked` from a revoked handset.
async fn authorize_any(backend: &AppState, headers: &HeaderMap, roles: &[Role]) -> Result<Claims, ApiFailure> {
    match caller(backend, headers, roles).await? {
        (_, Some((_, Standing::Revoked { .. }))) => Err(devices::revoked()),
        (claims, _) => Ok(claims),
    }
}

/// Who is asking (as [`authorize_any`]), and from which handset, revoked
/// or not: the sync and the command ack answer a revoked one themselves.
async fn caller(
    backend: &AppState,
    headers: &HeaderMap,
    roles: &[Role],
) -> Result<(Claims, Option<(String, Standing)>), ApiFailure> {
    // Two Authorization headers are ambiguous: a proxy and this server
    // might each read a different one.
    let value = header_str(headers, header::AUTHORIZATION.as_str())?
        .ok_or_else(|| ApiFailure::unauthorized("no bearer token"))?;
    // The scheme is case-insensitive (RFC 9110 §11.1).
    let token = value
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t)
        .ok_or_else(|| ApiFailure::unauthorized("the Authorization header is not a bearer token"))?;
    let claims = backend.verify_token(token.trim()).await.map_err(ApiFailure::from)?;
    if !backend.admit(&claims.sub) {
        return Err(ApiFailure::rate_limited());
    }
    // A revoked handset is refused before its role is looked at.
    let device = devices::standing(backend, headers).await?;
    if !roles.contains(&claims.role) {
        let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
        return Err(ApiFailure::forbidden(format!(
            "this route needs the {} role",
            names.join(" or ")
        )));
    }
    Ok((claims, device))
}

/// Who is acting, for the access log: the verified token's subject and
/// role, the route, the handset that named itself (its id was checked with
/// the token) and the purpose the caller gave, if any.
fn actor(claims: &Claims, headers: &HeaderMap, how: &str) -> Caller {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    Caller {
        subject: claims.sub.clone(),
        role: claims.role,
        how: how.to_string(),
        via: text(HEADER_DEVICE).unwrap_or_default().to_string(),
        purpose: text(HEADER_PURPOSE).and_then(clean_purpose),
    }
}

/// The caller of a route that consults personal data: refused before
/// anything is read when the force requires a purpose and none was given.
fn reader(b: &Backend, claims: &Claims, headers: &HeaderMap, how: &str) -> Result<Caller, ApiFailure> {
    let who = actor(claims, headers, how);
    if b.purpose_required() && who.purpose.is_none() {
        return Err(purpose_required());
    }
    Ok(who)
}

/// 400 `purpose-required`.
pub(crate) fn purpose_required() -> ApiFailure {
    ApiFailure::new(
        StatusCode::BAD_REQUEST,
        "purpose-required",
        format!("this force records why personal data is consulted: say why in the {HEADER_PURPOSE} header"),
    )
}

/// Why the caller is looking (free text, kept in the access log only).
pub const HEADER_PURPOSE: &str = "x-guardian-purpose";

/// Runs database work off the reactor.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiFailure> + Send + 'static,
) -> Result<T, ApiFailure> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiFailure::from(BackendError::Server(format!("worker failed: {e}"))))?
}

/// The whole body, at most `limit` bytes: 413 when it grows over it, 408
/// when it does not arrive in time, 400 when it is cut off. A client that
/// waits for `100 Continue` before sending a body declared over the limit
/// is answered 413 at once, without the body ever being asked for (one
/// that sends at once is read up to the limit first: closing on it
/// mid-send would leave it a broken pipe, not an answer).
async fn read_body(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, ApiFailure> {
    let too_large = || {
        ApiFailure::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too-large",
            format!("the body is larger than {limit} bytes"),
        )
    };
    let declared = header_str(headers, header::CONTENT_LENGTH.as_str())?.and_then(|v| v.parse::<u64>().ok());
    let waits = header_str(headers, header::EXPECT.as_str())?.is_some_and(|v| v.eq_ignore_ascii_case("100-continue"));
    if waits && declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
        while let Some(s) = source {
            if s.is::<http_body_util::LengthLimitError>() {
                return too_large();
            }
            if s.is::<serve::BodyTimedOut>() {
                return ApiFailure::new(
                    StatusCode::REQUEST_TIMEOUT,
                    "timeout",
                    "the request body did not arrive in time",
                );
            }
            source = s.source();
        }
        ApiFailure::bad_request("the body was cut off")
    })
}

/// A JSON body: `Content-Type` must say so (415 otherwise), as the track
/// route checks its own type.
async fn json_body(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, ApiFailure> {
    let media = header_str(headers, header::CONTENT_TYPE.as_str())?
        .and_then(|v| v.split(';').next())
        .map(str::trim)
        .unwrap_or("");
    let json = media.eq_ignore_ascii_case("application/json") || media.to_ascii_lowercase().ends_with("+json");
    if !json {
        return Err(ApiFailure::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "the body must be application/json",
        ));
    }
    read_body(headers, body, limit).await
}

fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiFailure> {
    serde_json::from_slice(bytes)
        .map_err(|e| ApiFailure::bad_request(format!("the body is not the expected JSON: {e}")))
}

fn json<T: Serialize>(value: &T) -> Reply {
    Ok(axum::Json(value).into_response())
}

fn path_param(p: Result<Path<String>, axum::extract::rejection::PathRejection>) -> Result<String, ApiFailure> {
    let Path(s) = p.map_err(|_| ApiFailure::bad_request("bad path parameter"))?;
    check_id("path id", &s, MAX_ID_LEN).map_err(|e| ApiFailure::bad_request(e.to_string()))?;
    Ok(s)
}

/// The header's one value, if present. Repeated, it is ambiguous (a proxy
/// and this server might each read a different copy): refused.
fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Result<Option<&'a str>, ApiFailure> {
    let mut values = headers.get_all(name).iter();
    match (values.next(), values.next()) {
        (None, _) => Ok(None),
        (Some(v), None) => v
            .to_str()
            .map(|v| Some(v.trim()))
            .map_err(|_| ApiFailure::bad_request(format!("{name} is not readable text"))),
        (Some(_), Some(_)) => Err(ApiFailure::bad_request(format!("{name} is given more than once"))),
    }
}

// ---- handlers -------------------------------------------------------------

async fn healthz() -> Reply {
    json(&serde_json::json!({ "ok": true }))
}

async fn post_record(State(b): State<AppState>, headers: HeaderMap, body: Body) -> Reply {
    let claims = authorize(&b, &headers, Role::Officer).await?;
    let bytes = json_body(&headers, body, MAX_JSON_BYTES).await?;
    let env: RecordEnvelope = parse_json(&bytes)?;
    let ack = blocking(move || {
        let status = b.submit_record(&claims.sub, &env, now_ms())?;
        Ok(Ack { id: env.id, status })
    })
    .await?;
    json(&ack)
}

async fn put_track(
    State(b): State<AppState>,
    chunk_id: Result<Path<String>, axum::extract::rejection::PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> Reply {
    let claims = authorize(&b, &headers, Role::Officer).await?;
    let chunk_id = path_param(chunk_id)?;
    // The media type only: parameters (`; charset=…`) mean nothing here.
    let content_type = header_str(&headers, header::CONTENT_TYPE.as_str())?
        .and_then(|v| v.split(';').next())
        .map(str::trim)
        .unwrap_or("");
    if !content_type.eq_ignore_ascii_case(TRACK_CONTENT_TYPE) {
        return Err(ApiFailure::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            format!("a track chunk is {TRACK_CONTENT_TYPE}"),
        ));
    }
    let format = header_str(&headers, HEADER_FORMAT)?;
    if format != Some(codec::FORMAT.to_string().as_str()) {
        return Err(ApiFailure::unprocessable(
            "unsupported-format",
            format!("{HEADER_FORMAT} must be {}", codec::FORMAT),
        ));
    }
    let patrol_id = header_str(&headers, HEADER_PATROL_ID)?
        .ok_or_else(|| ApiFailure::bad_request(format!("{HEADER_PATROL_ID} is missing")))?
        .to_string();
    check_id(HEADER_PATROL_ID, &patrol_id, MAX_ID_LEN).map_err(|e| ApiFailure::bad_request(e.to_string()))?;
    let seq: u32 = header_str(&headers, HEADER_SEQ)?
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| ApiFailure::bad_request(format!("{HEADER_SEQ} is missing or not a number")))?;
    let bytes = read_body(&headers, body, MAX_CHUNK_BYTES).await?;

    let sub = claims.sub;
    blocking(move || {
        // Decoded and checked before anything else, a retry included: the
        // codec's limits keep that cheap, and a body that is not a track
        // is refused whatever its id.
        let fixes = codec::decode(&bytes).map_err(|e| ApiFailure::unprocessable("bad-chunk", e.to_string()))?;
        for (i, s) in fixes.iter().enumerate() {
            s.fix
                .validate()
                .map_err(|e| ApiFailure::unprocessable("bad-chunk", format!("fix {i}: {e}")))?;
        }
        if let Some(status) = b.chunk_replay(&sub, &chunk_id)? {
            return Ok(Ack { id: chunk_id, status });
        }
        let upload = ChunkUpload {
            chunk_id: &chunk_id,
            patrol_id: &patrol_id,
            seq,
            bytes: bytes.len(),
            fixes: &fixes,
        };
        let status = b.submit_chunk(&sub, &upload, now_ms())?;
        Ok(Ack { id: chunk_id, status })
    })
    .await
    .and_then(|ack| json(&ack))
}

async fn get_sync(State(b): State<AppState>, headers: HeaderMap, RawQuery(q): RawQuery) -> Reply {
    let (claims, device) = caller(&b, &headers, &[Role::Officer]).await?;
    let query = form::pairs(q.as_deref())?;
    let cursor = form::get(&query, "cursor").map(str::to_string);
    if let Some(reply) = devices::on_sync(&b, &claims, device, cursor.as_deref()).await? {
        return json(&reply);
    }
    let reply = blocking(move || Ok(b.sync(&claims.sub, cursor.as_deref())?)).await?;
    json(&reply)
}

async fn ack_command(
    State(b): State<AppState>,
    id: Result<Path<String>, axum::extract::rejection::PathRejection>,
    headers: HeaderMap,
) -> Reply {
    let (claims, device) = caller(&b, &headers, &[Role::Officer]).await?;
    let id = path_param(id)?;
    let id2 = id.clone();
    match device {
        Some((device, Standing::Revoked { wiped: false })) => {
            blocking(move || Ok(b.ack_device_wipe(&device, &id2, now_ms())?)).await?;
        }
        Some((_, Standing::Revoked { wiped: true })) => return Err(devices::revoked()),
        _ => blocking(move || Ok(b.ack_command(&claims.sub, &id2, now_ms())?)).await?,
    }
    json(&serde_json::json!({ "id": id, "acked": true }))
}

#[derive(Serialize, Deserialize)]
pub struct MyPatrols {
    pub patrols: Vec<crate::stats::PatrolSummary>,
}

async fn my_patrols(State(b): State<AppState>, headers: HeaderMap) -> Reply {
    let claims = authorize(&b, &headers, Role::Officer).await?;
    let patrols = blocking(move || Ok(b.my_patrols(&claims.sub)?)).await?;
    json(&MyPatrols { patrols })
}

async fn admin_areas(State(b): State<AppState>, headers: HeaderMap, body: Body) -> Reply {
    authorize(&b, &headers, Role::Admin).await?;
    let bytes = json_body(&headers, body, MAX_AREAS_BYTES).await?;
    let text = String::from_utf8(bytes.to_vec()).map_err(|_| ApiFailure::bad_request("the body is not UTF-8"))?;
    let n = blocking(move || Ok(b.load_areas_geojson(&text)?)).await?;
    json(&serde_json::json!({ "areas": n }))
}

#[derive(Debug, Serialize, Deserialize)]
pub struct NewOfficer {
    pub officer_id: String,
    pub display_name: String,
    pub rank: String,
}

async fn admin_officers(State(b): State<AppState>, headers: HeaderMap, body: Body) -> Reply {
    authorize(&b, &headers, Role::Admin).await?;
    let req: NewOfficer = parse_json(&json_body(&headers, body, MAX_JSON_BYTES).await?)?;
    let rank = Rank::parse(&req.rank)
        .ok_or_else(|| ApiFailure::unprocessable("bad-request", format!("unknown rank {:?}", req.rank)))?;
    let id = req.officer_id.clone();
    blocking(move || Ok(b.create_officer(&req.officer_id, &req.display_name, rank)?)).await?;
    json(&serde_json::json!({ "officer_id": id, "rank": rank.as_str() }))
}

#[derive(Debug, Serialize, Deserialize)]
pub struct NewToken {
    pub sub: String,
    pub role: String,
    pub ttl_s: i64,
}

async fn admin_tokens(State(b): State<AppState>, headers: HeaderMap, body: Body) -> Reply {
    authorize(&b, &headers, Role::Admin).await?;
    let req: NewToken = parse_json(&json_body(&headers, body, MAX_JSON_BYTES).await?)?;
    let role = Role::parse(&req.role)
        .ok_or_else(|| ApiFailure::unprocessable("bad-request", format!("unknown role {:?}", req.role)))?;
    let token = b.issue_token(&req.sub, role, req.ttl_s)?;
    json(&serde_json::json!({ "token": token }))
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ScheduleRequest {
    pub date: String,
    pub fraction: f64,
    pub seed: u64,
}

async fn admin_schedule(State(b): State<AppState>, headers: HeaderMap, body: Body) -> Reply {
    authorize(&b, &headers, Role::Admin).await?;
    let req: ScheduleRequest = parse_json(&json_body(&headers, body, MAX_JSON_BYTES).await?)?;
    let date = NaiveDate::parse_from_str(&req.date, "%Y-%m-%d")
        .map_err(|_| ApiFailure::unprocessable("bad-request", format!("date {:?} is not YYYY-MM-DD", req.date)))?;
    let made = blocking(move || Ok(b.schedule(date, req.fraction, req.seed)?)).await?;
    json(&made)
}

#[derive(Debug, Serialize, Deserialize)]
pub struct NewCommand {
    pub officer_id: String,
    pub kind: CommandKind,
}

async fn admin_commands(State(b): State<AppState>, headers: HeaderMap, body: Body) -> Reply {
    authorize(&b, &headers, Role::Admin).await?;
    let req: NewCommand = parse_json(&json_body(&headers, body, MAX_JSON_BYTES).await?)?;
    let id = blocking(move || Ok(b.queue_command(&req.officer_id, req.kind)?)).await?;
    json(&serde_json::json!({ "id": id }))
}

async fn admin_compliance_csv(State(b): State<AppState>, headers: HeaderMap) -> Reply {
    let claims = authorize_any(&b, &headers, review::REVIEW_ROLES).await?;
    let who = reader(&b, &claims, &headers, "GET /v1/admin/compliance.csv")?;
    let csv = blocking(move || {
        let csv = b.compliance_csv()?;
        b.log_access(
            &who,
            Access::on(Action::Disclosure, "compliance-export", &[], "all patrols"),
        )?;
        Ok(csv)
    })
    .await?;
    Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], csv).into_response())
}

async fn admin_compliance_summary(State(b): State<AppState>, headers: HeaderMap) -> Reply {
    authorize_any(&b, &headers, review::REVIEW_ROLES).await?;
    let summary = blocking(move || Ok(b.compliance_summary()?)).await?;
    json(&summary)
}

async fn admin_stats(State(b): State<AppState>, headers: HeaderMap) -> Reply {
    authorize(&b, &headers, Role::Admin).await?;
    let stats = blocking(move || Ok(b.stats()?)).await?;
    json(&stats)
}

// ---- running it -------------------------------------------------------------

/// A server running on its own thread and runtime. Dropping it (or
/// [`ServerHandle::shutdown`]) stops it and waits for it to finish.
pub struct ServerHandle {
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<std::io::Result<()>>>,
}

impl ServerHandle {
    pub fn shutdown(mut self) -> Result<(), BackendError> {
        self.stop_and_join()
    }

    fn stop_and_join(&mut self) -> Result<(), BackendError> {
        if let Some(stop) = self.stop.take() {
            // The server may already have stopped on its own; nothing to say.
            let _ = stop.send(());
        }
        match self.thread.take() {
            Some(t) => t
                .join()
                .map_err(|_| BackendError::Server("the server thread panicked".into()))?
                .map_err(BackendError::Io),
            None => Ok(()),
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        if let Err(e) = self.stop_and_join() {
            tracing::error!(error = %e, "server stopped with an error");
        }
    }
}

/// Threads running database work at once. The store takes one writer
/// (SQLite) or a pool's worth (PostgreSQL) anyway; more threads would only
/// hold more request bodies and allocator arenas while they wait (tokio's
/// default, 512, let a reconnect storm take the server past 2 GB). Requests
/// beyond them wait in the queue, which the in-flight limit bounds.
const BLOCKING_THREADS: usize = 32;

/// Binds `addr` (port 0 picks one), then serves on a new thread with its
/// own tokio runtime, with the default [`Limits`]. Returns once the socket
/// is listening.
pub fn spawn(backend: Backend, addr: SocketAddr) -> Result<ServerHandle, BackendError> {
    spawn_with(backend, addr, Limits::default())
}

/// [`spawn`] with these limits.
pub fn spawn_with(mut backend: Backend, addr: SocketAddr, limits: Limits) -> Result<ServerHandle, BackendError> {
    let listener = std::net::TcpListener::bind(addr)?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(BLOCKING_THREADS)
        .thread_name("guardian-backend")
        .enable_all()
        .build()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    backend.set_officer_rate(limits.per_officer_per_s);
    let app = router(Arc::new(backend));
    let thread = std::thread::Builder::new()
        .name("guardian-backend-server".into())
        .spawn(move || {
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener)?;
                serve::serve(listener, app, limits, async move {
                    // A dropped sender also means stop.
                    let _ = stopped.await;
                })
                .await
            })
        })?;
    Ok(ServerHandle {
        addr,
        stop: Some(stop),
        thread: Some(thread),
    })
}

/// Serves on the current thread until `shutdown` completes (the CLI: Ctrl-C).
pub fn serve_until(
    backend: Backend,
    addr: SocketAddr,
    limits: Limits,
    on_listening: impl FnOnce(SocketAddr),
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), BackendError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .max_blocking_threads(BLOCKING_THREADS)
        .enable_all()
        .build()?;
    let mut backend = backend;
    backend.set_officer_rate(limits.per_officer_per_s);
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        on_listening(listener.local_addr()?);
        serve::serve(listener, router(Arc::new(backend)), limits, shutdown).await?;
        Ok(())
    })
}
