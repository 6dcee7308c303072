//! The sync API's messages, shared by the core's client and the reference
//! backend so the two cannot drift. `backend/openapi.yaml` documents the
//! same shapes for the force's own systems.
//!
//! Every record carries an id the handset made once (UUIDv7) and reuses on
//! every attempt; the server stores a record at most once per id and answers
//! a repeat as a success, so a retry can never duplicate.

use serde::{Deserialize, Serialize};

use crate::fix::{Fix, FixError};
use crate::rank::Rank;
use crate::referral::ReferralUpdate;
use crate::rules::{FieldError, FieldProblem, MAX_ID_LEN, check_id};

/// Payload format of check-in and check-out records; the server refuses
/// formats it does not know.
pub const RECORD_FORMAT: u32 = 1;

pub const API_PREFIX: &str = "/v1";
/// `Content-Type` of a track chunk body (see [`super::codec`]).
pub const TRACK_CONTENT_TYPE: &str = "application/vnd.guardian.track.v1";
/// The handset's id, on every request it makes: a revoked handset is
/// refused whatever token it carries (and told to wipe).
pub const HEADER_DEVICE: &str = "x-guardian-device";

/// Headers on a track chunk upload.
pub const HEADER_PATROL_ID: &str = "x-guardian-patrol-id";
pub const HEADER_SEQ: &str = "x-guardian-seq";
pub const HEADER_FORMAT: &str = "x-guardian-format";

/// A JSON record: `POST /v1/records`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "serde_json::Value")]
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

/// The envelope as serde reads it; [`RecordEnvelope`] reads through this
/// once `kind` is known to be one of the two names (serde alone would also
/// take a variant's index there).
#[derive(Deserialize)]
struct EnvelopeWire {
    id: String,
    format: u32,
    patrol_id: String,
    seq: u32,
    #[serde(flatten)]
    body: RecordBody,
}

impl TryFrom<serde_json::Value> for RecordEnvelope {
    type Error = String;

    fn try_from(v: serde_json::Value) -> Result<Self, String> {
        match v.get("kind").and_then(serde_json::Value::as_str) {
            Some("check_in" | "check_out") => {}
            _ => return Err("kind must be check_in or check_out".into()),
        }
        let w: EnvelopeWire = serde_json::from_value(v).map_err(|e| e.to_string())?;
        Ok(RecordEnvelope {
            id: w.id,
            format: w.format,
            patrol_id: w.patrol_id,
            seq: w.seq,
            body: w.body,
        })
    }
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

/// Why a record cannot be stored: a field breaks a rule, or its fix cannot
/// describe a place on Earth.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RecordError {
    #[error(transparent)]
    Field(#[from] FieldError),
    #[error(transparent)]
    Fix(#[from] FixError),
}

impl RecordEnvelope {
    /// The rules a check-in or check-out must pass, on the handset before
    /// it is queued and on the server before it is stored. The format is
    /// the caller's to check first (an unknown one is a different answer).
    pub fn validate(&self) -> Result<(), RecordError> {
        check_id("id", &self.id, MAX_ID_LEN)?;
        check_id("patrol_id", &self.patrol_id, MAX_ID_LEN)?;
        let fix = match &self.body {
            RecordBody::CheckIn(b) => {
                check_id("area_id", &b.area_id, MAX_ID_LEN)?;
                check_id("officer_id", &b.officer_id, MAX_ID_LEN)?;
                if let Some(a) = &b.assignment_id {
                    check_id("assignment_id", a, MAX_ID_LEN)?;
                }
                if Rank::parse(&b.rank).is_none() {
                    return Err(FieldError::new("rank", FieldProblem::Unknown).into());
                }
                Fix::new(b.time_ms, b.mono_ns, b.lat, b.lon, b.accuracy_m)
            }
            RecordBody::CheckOut(b) => Fix::new(b.time_ms, b.mono_ns, b.lat, b.lon, b.accuracy_m),
        };
        fix.validate()?;
        Ok(())
    }

    /// The fix the record was made at.
    pub fn fix(&self) -> Fix {
        match &self.body {
            RecordBody::CheckIn(b) => Fix::new(b.time_ms, b.mono_ns, b.lat, b.lon, b.accuracy_m),
            RecordBody::CheckOut(b) => Fix::new(b.time_ms, b.mono_ns, b.lat, b.lon, b.accuracy_m),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self.body {
            RecordBody::CheckIn(_) => "check_in",
            RecordBody::CheckOut(_) => "check_out",
        }
    }
}

/// The server's answer to an upload it accepted (HTTP 200).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ack {
    pub id: String,
    pub status: AckStatus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[serde(try_from = "String")]
pub enum AckStatus {
    /// Stored now.
    Stored,
    /// Already stored by an earlier attempt: also a success.
    Duplicate,
}

impl AckStatus {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "stored" => Some(AckStatus::Stored),
            "duplicate" => Some(AckStatus::Duplicate),
            _ => None,
        }
    }
}

crate::rules::names_only!(AckStatus, CommandKind);

/// The body of every 4xx/5xx: a stable slug and a sentence, and for a
/// record that breaks field rules, every field and its problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    pub error: String,
    pub reason: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldError>,
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
#[serde(try_from = "String")]
pub enum CommandKind {
    /// Erase everything on the handset (lost or stolen device).
    Wipe,
}

impl CommandKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CommandKind::Wipe => "wipe",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "wipe" => Some(CommandKind::Wipe),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_in() -> RecordEnvelope {
        RecordEnvelope {
            id: "r1".into(),
            format: RECORD_FORMAT,
            patrol_id: "p1".into(),
            seq: 0,
            body: RecordBody::CheckIn(CheckInBody {
                area_id: "a1".into(),
                officer_id: "o1".into(),
                rank: "constable".into(),
                assignment_id: None,
                time_ms: 1_780_000_000_000,
                mono_ns: 5_000_000_000,
                lat: 52.4785,
                lon: -1.8985,
                accuracy_m: 8.0,
            }),
        }
    }

    #[test]
    fn a_good_check_in_passes_and_each_bad_field_is_named() {
        assert_eq!(check_in().validate(), Ok(()));
        let with = |f: fn(&mut CheckInBody)| {
            let mut r = check_in();
            if let RecordBody::CheckIn(b) = &mut r.body {
                f(b);
            }
            r.validate()
        };
        let field = |r: Result<(), RecordError>| match r {
            Err(RecordError::Field(e)) => e.field,
            other => format!("{other:?}"),
        };
        assert_eq!(field(with(|b| b.area_id = String::new())), "area_id");
        assert_eq!(field(with(|b| b.officer_id = "x".repeat(65))), "officer_id");
        assert_eq!(
            field(with(|b| b.assignment_id = Some("a\u{7}".into()))),
            "assignment_id"
        );
        assert_eq!(field(with(|b| b.rank = "admiral".into())), "rank");
        assert!(matches!(with(|b| b.lat = f64::NAN), Err(RecordError::Fix(_))));
        let mut r = check_in();
        r.patrol_id = " ".into();
        assert_eq!(field(r.validate()), "patrol_id");
    }

    #[test]
    fn a_record_reads_back_and_its_kind_only_by_name() {
        let r = check_in();
        let json = serde_json::to_value(&r).expect("json");
        assert_eq!(json["kind"], "check_in");
        assert_eq!(serde_json::from_value::<RecordEnvelope>(json.clone()).expect("back"), r);
        for kind in [
            serde_json::json!(0),
            serde_json::json!("Check_In"),
            serde_json::Value::Null,
        ] {
            let mut bad = json.clone();
            bad["kind"] = kind;
            assert!(serde_json::from_value::<RecordEnvelope>(bad).is_err());
        }
    }

    #[test]
    fn command_kinds_round_trip_through_their_names() {
        assert_eq!(CommandKind::parse(CommandKind::Wipe.as_str()), Some(CommandKind::Wipe));
        assert_eq!(CommandKind::parse("format"), None);
    }

    #[test]
    fn an_error_body_without_fields_reads_as_before() {
        let e: ApiError = serde_json::from_str(r#"{"error":"bad-record","reason":"r"}"#).expect("json");
        assert!(e.fields.is_empty());
        assert!(!serde_json::to_string(&e).expect("json").contains("fields"));
    }
}
