//! The referral routes: officers upload referrals and read their receipts,
//! Navigators read and move their authority's referrals, admins load the
//! authorities' boundaries and the Navigator teams. A child of `http` so it
//! shares its plumbing (auth, body limits, the blocking pool).

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use guardian_protocol::referral::{Authority, ReferralReceiptWire, ReferralRecord, ReferralStatus, unknown_codes};
use guardian_protocol::wire::Ack;
use serde::{Deserialize, Serialize};

use super::error::ApiFailure;
use super::{
    AppState, MAX_AREAS_BYTES, MAX_JSON_BYTES, Reply, actor, authorize, blocking, json, json_body, parse_json,
    path_param, reader,
};
use crate::backend::now_ms;
use crate::error::BackendError;
use crate::referral::NavigatorReferral;
use crate::token::Role;

/// A referral body: the longest fields at their limits (4,000-character
/// narrative, 300-character texts, every reason with text) fit well inside.
pub const MAX_REFERRAL_BYTES: usize = 128 * 1024;

/// `GET /v1/me/referrals`.
#[derive(Debug, Serialize, Deserialize)]
pub struct MyReferrals {
    pub referrals: Vec<ReferralReceiptWire>,
}

/// `GET /v1/navigator/referrals`.
#[derive(Debug, Serialize, Deserialize)]
pub struct NavigatorReferrals {
    /// The Navigator's own authority (slug).
    pub authority: String,
    pub referrals: Vec<NavigatorReferral>,
}

/// `POST /v1/navigator/referrals/{id}/status`.
#[derive(Debug, Serialize, Deserialize)]
pub struct StatusChange {
    pub status: String,
}

/// `POST /v1/admin/navigators`.
#[derive(Debug, Serialize, Deserialize)]
pub struct NewNavigator {
    pub navigator_id: String,
    pub display_name: String,
    /// Slug or ONS code of one of the seven.
    pub authority: String,
}

/// Decodes a referral without quoting it: serde's messages can echo a
/// value ("invalid type: string \"…\""), and a value here may be a child's
/// name. An unknown code is named by its field (422, like any broken rule);
/// anything else that is not a referral says the kind of fault and where.
fn parse_referral(bytes: &[u8]) -> Result<ReferralRecord, ApiFailure> {
    serde_json::from_slice(bytes).map_err(|e| {
        let kind = match e.classify() {
            serde_json::error::Category::Io => "unreadable",
            serde_json::error::Category::Syntax => "not JSON",
            serde_json::error::Category::Data => {
                let fields = serde_json::from_slice::<serde_json::Value>(bytes)
                    .map(|v| unknown_codes(&v))
                    .unwrap_or_default();
                if !fields.is_empty() {
                    return ApiFailure::from(BackendError::bad_fields("bad-referral", fields));
                }
                "not a referral (a field is missing or of the wrong type)"
            }
            serde_json::error::Category::Eof => "cut off",
        };
        ApiFailure::bad_request(format!(
            "the body is {kind} at line {}, column {}",
            e.line(),
            e.column()
        ))
    })
}

pub(super) async fn post_referral(State(b): State<AppState>, headers: HeaderMap, body: Body) -> Reply {
    let claims = authorize(&b, &headers, Role::Officer).await?;
    let who = actor(&claims, &headers, "POST /v1/referrals");
    let bytes = json_body(&headers, body, MAX_REFERRAL_BYTES).await?;
    let rec = parse_referral(&bytes)?;
    let ack = blocking(move || {
        let status = b.submit_referral(&who, &rec, now_ms())?;
        Ok(Ack { id: rec.id, status })
    })
    .await?;
    json(&ack)
}

pub(super) async fn my_referrals(State(b): State<AppState>, headers: HeaderMap) -> Reply {
    let claims = authorize(&b, &headers, Role::Officer).await?;
    let referrals = blocking(move || Ok(b.my_referrals(&claims.sub)?)).await?;
    json(&MyReferrals { referrals })
}

pub(super) async fn navigator_referrals(State(b): State<AppState>, headers: HeaderMap) -> Reply {
    let claims = authorize(&b, &headers, Role::Navigator).await?;
    let who = reader(&b, &claims, &headers, "GET /v1/navigator/referrals")?;
    let (authority, referrals) = blocking(move || Ok(b.navigator_referrals(&who)?)).await?;
    json(&NavigatorReferrals {
        authority: authority.slug().to_string(),
        referrals,
    })
}

pub(super) async fn navigator_status(
    State(b): State<AppState>,
    id: Result<Path<String>, axum::extract::rejection::PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> Reply {
    let claims = authorize(&b, &headers, Role::Navigator).await?;
    let id = path_param(id)?;
    let req: StatusChange = parse_json(&json_body(&headers, body, MAX_JSON_BYTES).await?)?;
    let status = ReferralStatus::parse(req.status.trim())
        .ok_or_else(|| ApiFailure::unprocessable("bad-request", "status is not assigned, contacted or closed"))?;
    let who = actor(&claims, &headers, "POST /v1/navigator/referrals/{id}/status");
    let update = blocking(move || Ok(b.set_referral_status(&who, &id, status)?)).await?;
    json(&update)
}

pub(super) async fn admin_boundaries(State(b): State<AppState>, headers: HeaderMap, body: Body) -> Reply {
    authorize(&b, &headers, Role::Admin).await?;
    let bytes = json_body(&headers, body, MAX_AREAS_BYTES).await?;
    let text = String::from_utf8(bytes.to_vec()).map_err(|_| ApiFailure::bad_request("the body is not UTF-8"))?;
    let version = blocking(move || Ok(b.load_boundaries_geojson(&text)?)).await?;
    json(&serde_json::json!({ "version": version }))
}

pub(super) async fn admin_navigators(State(b): State<AppState>, headers: HeaderMap, body: Body) -> Reply {
    authorize(&b, &headers, Role::Admin).await?;
    let req: NewNavigator = parse_json(&json_body(&headers, body, MAX_JSON_BYTES).await?)?;
    let authority = Authority::parse(&req.authority).ok_or_else(|| {
        ApiFailure::unprocessable("bad-request", "authority is not one of the seven local authorities")
    })?;
    let id = req.navigator_id.clone();
    blocking(move || Ok(b.create_navigator(&req.navigator_id, &req.display_name, authority)?)).await?;
    json(&serde_json::json!({ "navigator_id": id, "authority": authority.slug() }))
}

pub(super) async fn admin_remove_navigator(
    State(b): State<AppState>,
    id: Result<Path<String>, axum::extract::rejection::PathRejection>,
    headers: HeaderMap,
) -> Reply {
    authorize(&b, &headers, Role::Admin).await?;
    let id = path_param(id)?;
    let who = id.clone();
    let removed = blocking(move || Ok(b.remove_navigator(&who)?)).await?;
    if !removed {
        return Err(ApiFailure::new(
            axum::http::StatusCode::NOT_FOUND,
            "unknown-navigator",
            "there is no active Navigator with that id",
        ));
    }
    json(&serde_json::json!({ "navigator_id": id, "removed": true }))
}

/// `GET /v1/audit/entries`: the access log for the auditor (`from_ms`,
/// `to_ms`, `subject`, `record` narrow it), itself logged as a disclosure.
pub(super) async fn audit_entries(
    State(b): State<AppState>,
    headers: HeaderMap,
    axum::extract::RawQuery(q): axum::extract::RawQuery,
) -> Reply {
    let claims = authorize(&b, &headers, Role::Auditor).await?;
    let who = reader(&b, &claims, &headers, "GET /v1/audit/entries")?;
    let p = super::form::pairs(q.as_deref())?;
    let text = |k: &str| super::form::get(&p, k).filter(|v| !v.is_empty()).map(str::to_string);
    let ms = |k: &str| {
        text(k)
            .map(|v| {
                v.parse::<i64>()
                    .map_err(|_| ApiFailure::bad_request(format!("{k} is not a time in ms")))
            })
            .transpose()
    };
    let filter = crate::audit::Filter {
        from_ms: ms("from_ms")?,
        to_ms: ms("to_ms")?,
        subject: text("subject"),
        record: text("record"),
    };
    let entries = blocking(move || Ok(b.export_access_log(&who, &filter)?)).await?;
    json(&serde_json::json!({ "entries": entries }))
}
