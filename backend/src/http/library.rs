//! The practice library's routes: handsets fetch content packs and sync
//! their officers' bookmarks and recent reads; admins publish a source
//! folder. A child of `http`, sharing its plumbing like `referral`.

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use guardian_protocol::library::PrefsRecord;
use guardian_protocol::wire::Ack;

use super::{AppState, MAX_JSON_BYTES, Reply, authorize, blocking, json, json_body, parse_json};
use crate::backend::now_ms;
use crate::officers::require_officer;
use crate::token::Role;

/// A library source folder sent whole: far above the starter library's
/// ~60 KB, far below anything that would strain the server.
pub const MAX_LIBRARY_BYTES: usize = 16 * 1024 * 1024;

/// `GET /v1/library?since=V`: a content pack from V (absent or unreadable:
/// from nothing). 204 when nothing has been published.
pub(super) async fn get_library(State(b): State<AppState>, headers: HeaderMap, RawQuery(q): RawQuery) -> Reply {
    let claims = authorize(&b, &headers, Role::Officer).await?;
    // Absent: from nothing. Present, it must be a version (0 to 2^63 - 1).
    let since = match q
        .as_deref()
        .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("since=")))
    {
        None => 0,
        Some(v) => v
            .parse::<i64>()
            .ok()
            .and_then(|v| u64::try_from(v).ok())
            .ok_or_else(|| super::ApiFailure::bad_request("since is not a library version"))?,
    };
    let pack = blocking(move || {
        b.read(|tx| require_officer(tx, &claims.sub).map(|_| ()))?;
        Ok(b.library_pack(since, now_ms())?)
    })
    .await?;
    Ok(match pack {
        Some(bytes) => (
            [(header::CONTENT_TYPE, guardian_core::library::pack::CONTENT_TYPE)],
            bytes,
        )
            .into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    })
}

pub(super) async fn get_library_prefs(State(b): State<AppState>, headers: HeaderMap) -> Reply {
    let claims = authorize(&b, &headers, Role::Officer).await?;
    let reply = blocking(move || Ok(b.library_prefs(&claims.sub)?)).await?;
    json(&reply)
}

pub(super) async fn post_library_prefs(State(b): State<AppState>, headers: HeaderMap, body: Body) -> Reply {
    let claims = authorize(&b, &headers, Role::Officer).await?;
    let bytes = json_body(&headers, body, MAX_JSON_BYTES).await?;
    let record: PrefsRecord = parse_json(&bytes)?;
    let ack = blocking(move || {
        let status = b.submit_library_prefs(&claims.sub, &record, now_ms())?;
        Ok(Ack { id: record.id, status })
    })
    .await?;
    json(&ack)
}

pub(super) async fn admin_library(State(b): State<AppState>, headers: HeaderMap, body: Body) -> Reply {
    authorize(&b, &headers, Role::Admin).await?;
    let req: crate::library::LibrarySources = parse_json(&json_body(&headers, body, MAX_LIBRARY_BYTES).await?)?;
    let published = blocking(move || Ok(b.publish_library_files(&req.files, now_ms())?)).await?;
    json(&published)
}
