//! The handset's id on each request, a revoked handset's last exchange,
//! and the admin routes that list and revoke handsets.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use guardian_protocol::rules::{MAX_ID_LEN, check_id};
use guardian_protocol::wire::{HEADER_DEVICE, SyncReply};

use super::error::ApiFailure;
use super::{AppState, Reply, authorize_any, blocking, form, header_str, json, path_param};
use crate::backend::now_ms;
use crate::devices::{Standing, check_device_id, wipe_command};
use crate::token::{Claims, Role};

/// Who may see and revoke handsets: a lost phone is reported to a
/// supervisor at any hour.
const DEVICE_ROLES: &[Role] = &[Role::Admin, Role::Supervisor];

pub(super) fn revoked() -> ApiFailure {
    ApiFailure::new(
        StatusCode::UNAUTHORIZED,
        "device-revoked",
        "this handset has been revoked by the force",
    )
}

/// The handset named in the request, and where it stands; none named, none.
pub(super) async fn standing(b: &AppState, headers: &HeaderMap) -> Result<Option<(String, Standing)>, ApiFailure> {
    let Some(id) = header_str(headers, HEADER_DEVICE)? else {
        return Ok(None);
    };
    check_device_id(id).map_err(|e| ApiFailure::bad_request(e.to_string()))?;
    let id = id.to_string();
    let b = b.clone();
    blocking(move || {
        let standing = b.device_standing(&id)?;
        Ok(Some((id, standing)))
    })
    .await
}

/// A sync from a named handset: registered to the officer on its first
/// sync (or when another officer signs in on it); a revoked one is sent
/// the wipe and nothing else, and once wiped, nothing at all. `None`: sync
/// as usual.
pub(super) async fn on_sync(
    b: &AppState,
    claims: &Claims,
    device: Option<(String, Standing)>,
    cursor: Option<&str>,
) -> Result<Option<SyncReply>, ApiFailure> {
    match device {
        None => Ok(None),
        Some((_, Standing::Revoked { wiped: true })) => Err(revoked()),
        Some((id, Standing::Revoked { wiped: false })) => Ok(Some(SyncReply {
            cursor: cursor.unwrap_or_default().to_string(),
            officer: None,
            areas: None,
            assignments: None,
            commands: vec![wipe_command(&id)],
            boundaries: None,
            referral_updates: Vec::new(),
        })),
        Some((_, Standing::Active { officer_id })) if officer_id == claims.sub => Ok(None),
        Some((id, Standing::Active { .. } | Standing::Unknown)) => {
            let (b, sub) = (b.clone(), claims.sub.clone());
            blocking(move || Ok(b.register_device(&id, &sub, now_ms())?)).await?;
            Ok(None)
        }
    }
}

/// `GET /v1/admin/devices[?officer=ID]`
pub(super) async fn list(State(b): State<AppState>, headers: HeaderMap, RawQuery(q): RawQuery) -> Reply {
    authorize_any(&b, &headers, DEVICE_ROLES).await?;
    let query = form::pairs(q.as_deref())?;
    let officer = form::get(&query, "officer").map(str::to_string);
    if let Some(o) = &officer {
        check_id("officer", o, MAX_ID_LEN).map_err(|e| ApiFailure::bad_request(e.to_string()))?;
    }
    let devices = blocking(move || Ok(b.devices(officer.as_deref())?)).await?;
    json(&serde_json::json!({ "devices": devices }))
}

/// `POST /v1/admin/devices/{id}/revoke`
pub(super) async fn revoke(
    State(b): State<AppState>,
    id: Result<Path<String>, axum::extract::rejection::PathRejection>,
    headers: HeaderMap,
) -> Reply {
    let who = authorize_any(&b, &headers, DEVICE_ROLES).await?;
    let id = path_param(id)?;
    check_device_id(&id).map_err(|e| ApiFailure::bad_request(e.to_string()))?;
    let by = who.sub.clone();
    let device = blocking(move || Ok(b.revoke_device(&id, &by)?)).await?;
    tracing::info!(device = %device.device_id, by = %who.sub, "handset revoked");
    json(&device)
}
