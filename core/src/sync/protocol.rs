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
    /// The seven local authorities' boundaries (a FeatureCollection, `id` =
    /// authority slug) when they changed, for routing referrals offline.
    #[serde(default)]
    pub boundaries: Option<serde_json::Value>,
    /// Navigator-side status changes to this officer's referrals since the cursor.
    #[serde(default)]
    pub referral_updates: Vec<ReferralUpdate>,
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

// ---- referrals (VRP Navigators) ----

/// A referral to the VRP Navigators: `POST /v1/referrals`. The most
/// sensitive record the handset holds: it is purged from the handset once
/// the force acknowledges it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReferralRecord {
    pub id: String,
    pub format: u32,
    /// Shown to the officer and quoted by the Navigator team.
    pub reference: String,
    pub officer_id: String,
    pub created_ms: i64,
    /// Authority slug, one of the seven (`birmingham`, `coventry`, …).
    pub authority: String,
    /// `routed` from the location, or `chosen` by the officer when the
    /// location is outside all seven.
    pub authority_source: String,
    pub reasons: Vec<ReasonWire>,
    /// `routine` | `priority` | `urgent`.
    pub urgency: String,
    pub consent: ConsentWire,
    pub safeguarding_concern: bool,
    pub narrative: String,
    pub subject: SubjectWire,
    pub location: LocationWire,
    pub patrol_id: Option<String>,
    pub area_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReasonWire {
    /// `knife_carrying`, `criminal_exploitation`, `gang_association`,
    /// `vawg_harmful_sexual_behaviour`, `parent_in_prison`,
    /// `missing_episodes`, `school_exclusion`, `mental_health`, `other`.
    pub code: String,
    /// Only for `other`.
    pub text: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentWire {
    /// `given` | `refused` | `not_sought`.
    pub state: String,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubjectWire {
    pub name: String,
    /// `YYYY-MM-DD`.
    pub date_of_birth: Option<String>,
    pub estimated_age: Option<u8>,
    pub address: Option<String>,
    pub school: Option<String>,
    pub carer_contact: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LocationWire {
    pub time_ms: i64,
    pub lat: f64,
    pub lon: f64,
    pub accuracy_m: f64,
}

/// Where a referral stands with the Navigator team.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReferralStatus {
    /// Queued on the handset, not yet acknowledged by the force.
    Queued,
    /// The force has it (acknowledged upload).
    Received,
    Assigned,
    Contacted,
    Closed,
}

impl ReferralStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ReferralStatus::Queued => "queued",
            ReferralStatus::Received => "received",
            ReferralStatus::Assigned => "assigned",
            ReferralStatus::Contacted => "contacted",
            ReferralStatus::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            ReferralStatus::Queued,
            ReferralStatus::Received,
            ReferralStatus::Assigned,
            ReferralStatus::Contacted,
            ReferralStatus::Closed,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
    }
}

/// A Navigator-side status change, delivered to the referring officer's
/// handset in the sync reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReferralUpdate {
    pub referral_id: String,
    pub status: ReferralStatus,
    pub time_ms: i64,
}

/// A referral as the officer may see it after it left the handset: no
/// personal data. `GET /v1/me/referrals`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReferralReceiptWire {
    pub id: String,
    pub reference: String,
    pub authority: String,
    pub reasons: Vec<String>,
    pub created_ms: i64,
    pub status: ReferralStatus,
}
