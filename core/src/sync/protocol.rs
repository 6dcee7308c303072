//! The sync protocol's messages, shared by the core's client and the
//! reference backend so the two cannot drift. `backend/openapi.yaml`
//! documents the same shapes for the force's own systems.
//!
//! Every record carries an id the handset made once (UUIDv7) and reuses on
//! every attempt; the server stores a record at most once per id and answers
//! a repeat as a success, so a retry can never duplicate.

use serde::{Deserialize, Serialize};

pub const API_PREFIX: &str = "/v1";
/// `Content-Type` of a track chunk body (see [`super::codec`]).
pub const TRACK_CONTENT_TYPE: &str = "application/vnd.guardian.track.v1";
/// Headers on a track chunk upload.
pub const HEADER_PATROL_ID: &str = "x-guardian-patrol-id";
pub const HEADER_SEQ: &str = "x-guardian-seq";
pub const HEADER_FORMAT: &str = "x-guardian-format";

/// A JSON record: `POST /v1/records`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordEnvelope {
    pub id: String,
    /// Payload format version; the server refuses formats it does not know.
    pub format: u32,
    pub patrol_id: String,
    /// Position in the patrol's causal order: check-in 0, then the track
    /// chunks, then check-out.
    pub seq: u32,
    #[serde(flatten)]
    pub body: RecordBody,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RecordBody {
    CheckIn(CheckInBody),
    CheckOut(CheckOutBody),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckInBody {
    pub area_id: String,
    pub officer_id: String,
    pub rank: String,
    pub assignment_id: Option<String>,
    pub time_ms: i64,
    pub mono_ns: i64,
    pub lat: f64,
    pub lon: f64,
    pub accuracy_m: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckOutBody {
    pub time_ms: i64,
    pub mono_ns: i64,
    pub lat: f64,
    pub lon: f64,
    pub accuracy_m: f64,
}

/// The server's answer to an upload it accepted (HTTP 200).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ack {
    pub id: String,
    pub status: AckStatus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AckStatus {
    /// Stored now.
    Stored,
    /// Already stored by an earlier attempt: also a success.
    Duplicate,
}

/// The body of every 4xx/5xx: a stable slug and a sentence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    pub error: String,
    pub reason: String,
}

/// `GET /v1/sync?cursor=C`: what changed for this officer since `cursor`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncReply {
    /// Opaque; send it back next time.
    pub cursor: String,
    /// The officer's profile as the force holds it (the role is the force's).
    pub officer: Option<OfficerProfile>,
    /// The full set of areas (a GeoJSON FeatureCollection) when they changed.
    pub areas: Option<serde_json::Value>,
    /// The officer's current assignments when they changed (the full list).
    pub assignments: Option<Vec<AssignmentWire>>,
    pub commands: Vec<DeviceCommand>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfficerProfile {
    pub officer_id: String,
    pub display_name: String,
    pub rank: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssignmentWire {
    pub id: String,
    pub area_id: String,
    pub officer_id: String,
    pub start_ms: i64,
    pub end_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceCommand {
    pub id: String,
    pub kind: CommandKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommandKind {
    /// Erase everything on the handset (lost or stolen device).
    Wipe,
}
