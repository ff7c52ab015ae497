//! The incident exchange document, version 1 (schemas/incident-exchange/v1.schema.json): its
//! types as serde reads and writes them, and [`parse`], which refuses a bad document naming the
//! JSON path of its first bad field. The parts follow NENA EIDO's components (incident, call,
//! location, agency, emergency resource, notes); docs/exchange.md maps every field.

mod link;
mod validate;

pub use link::LinkRecord;

use chrono::{DateTime, Utc};
use pingan_proto::common::v1::{Channel as ChannelMsg, Priority as PriorityMsg};
use pingan_proto::intake::v1::IncidentStatus;
use serde::{Deserialize, Serialize};

/// The schema version this code writes and reads.
pub const SCHEMA_VERSION: &str = "1.0";
/// The schema's `$id`.
pub const SCHEMA_ID: &str = "https://pingan.example/schemas/incident-exchange/v1.schema.json";
/// The largest document accepted, in bytes.
pub const MAX_DOCUMENT_BYTES: usize = 1 << 20;

/// A whole exported incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncidentDocument {
    /// The schema's `$id`, optional.
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    pub schema_version: String,
    pub document_id: String,
    pub exported_at: DateTime<Utc>,
    pub issuing_bureau: Bureau,
    pub exported_by: Actor,
    /// `masked`: callers' numbers only masked; `clear`: the exporter could read them in clear.
    pub phone_numbers: PhoneNumbers,
    pub incident: Incident,
    pub calls: Vec<Call>,
    pub locations: Vec<Location>,
    pub agencies: Vec<Agency>,
    pub units: Vec<Unit>,
    pub timeline: Vec<TimelineEntry>,
    pub transfers: Vec<Transfer>,
    pub notes: Vec<Note>,
}

/// The exporting system.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bureau {
    pub bureau_id: String,
    pub system: String,
}

/// Who did something (a person, a unit's device or a service).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Actor {
    pub subject: String,
    pub role: String,
}

/// Whether callers' numbers are in clear.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PhoneNumbers {
    Masked,
    Clear,
}

/// The incident (EIDO incidentComponent).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Incident {
    pub incident_id: String,
    pub status: Status,
    pub channel: Channel,
    pub description: String,
    pub received_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub classification: Option<Classification>,
    /// The `location_id` of the incident's location in `locations`.
    pub location_ref: String,
    pub grid_id: String,
    pub station_id: String,
    pub dispatch_id: String,
    pub hotline_ticket_id: String,
    pub complaint_id: String,
    pub linked_incident_ids: Vec<String>,
    pub clocks: Clocks,
    pub close_reason: String,
    pub pending_reason: String,
    /// Set when the incident was itself handed over from another bureau (EIDO linkComponent).
    pub source_link: Option<SourceLink>,
}

/// Incident statuses (intake's `IncidentStatus` without its prefix).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    New,
    Classified,
    Diverted,
    Dispatched,
    OnScene,
    Closed,
    FollowedUp,
}

impl Status {
    /// From the stored status; `None` for an unknown number.
    pub fn from_proto(status: IncidentStatus) -> Option<Self> {
        Some(match status {
            IncidentStatus::New => Self::New,
            IncidentStatus::Classified => Self::Classified,
            IncidentStatus::Diverted => Self::Diverted,
            IncidentStatus::Dispatched => Self::Dispatched,
            IncidentStatus::OnScene => Self::OnScene,
            IncidentStatus::Closed => Self::Closed,
            IncidentStatus::FollowedUp => Self::FollowedUp,
            IncidentStatus::Unspecified => return None,
        })
    }

    /// As intake's enum.
    pub fn to_proto(self) -> IncidentStatus {
        match self {
            Self::New => IncidentStatus::New,
            Self::Classified => IncidentStatus::Classified,
            Self::Diverted => IncidentStatus::Diverted,
            Self::Dispatched => IncidentStatus::Dispatched,
            Self::OnScene => IncidentStatus::OnScene,
            Self::Closed => IncidentStatus::Closed,
            Self::FollowedUp => IncidentStatus::FollowedUp,
        }
    }

    /// Closed at the source: nothing left to respond to.
    pub fn is_closed(self) -> bool {
        matches!(self, Self::Closed | Self::FollowedUp)
    }
}

/// Channels (the common `Channel` without its prefix).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Channel {
    #[serde(rename = "110")]
    Emergency110,
    #[serde(rename = "12345")]
    Hotline12345,
    #[serde(rename = "WALK_IN")]
    WalkIn,
    #[serde(rename = "ONLINE")]
    Online,
    #[serde(rename = "PATROL")]
    Patrol,
}

impl Channel {
    /// From the stored channel; `None` when unspecified.
    pub fn from_proto(channel: ChannelMsg) -> Option<Self> {
        Some(match channel {
            ChannelMsg::Channel110 => Self::Emergency110,
            ChannelMsg::Channel12345 => Self::Hotline12345,
            ChannelMsg::WalkIn => Self::WalkIn,
            ChannelMsg::Online => Self::Online,
            ChannelMsg::Patrol => Self::Patrol,
            ChannelMsg::Unspecified => return None,
        })
    }

    /// As the common enum.
    pub fn to_proto(self) -> ChannelMsg {
        match self {
            Self::Emergency110 => ChannelMsg::Channel110,
            Self::Hotline12345 => ChannelMsg::Channel12345,
            Self::WalkIn => ChannelMsg::WalkIn,
            Self::Online => ChannelMsg::Online,
            Self::Patrol => ChannelMsg::Patrol,
        }
    }
}

/// Triage's classification (the catalogue's vocabulary).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Classification {
    /// Catalogue spelling: POLICE, JOINT, NON_POLICE, COMPLAINT_ABOUT_POLICE, INVALID.
    pub kind: String,
    /// Catalogue category code, e.g. RESCUE.
    pub category: String,
    pub category_name: String,
    /// `null` when triage set none.
    pub priority: Option<Priority>,
    /// Response target in seconds; `null` when triage set none.
    pub response_target_seconds: Option<i64>,
    pub department: String,
    pub needs_confirmation: bool,
    pub rules_version: String,
    pub catalogue_version: String,
    pub matched_rules: Vec<MatchedRule>,
}

/// Priorities P1..P4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Priority {
    P1,
    P2,
    P3,
    P4,
}

impl Priority {
    /// From the common enum; `None` when unspecified.
    pub fn from_proto(priority: PriorityMsg) -> Option<Self> {
        Some(match priority {
            PriorityMsg::P1 => Self::P1,
            PriorityMsg::P2 => Self::P2,
            PriorityMsg::P3 => Self::P3,
            PriorityMsg::P4 => Self::P4,
            PriorityMsg::Unspecified => return None,
        })
    }

    /// As the common enum.
    pub fn to_proto(self) -> PriorityMsg {
        match self {
            Self::P1 => PriorityMsg::P1,
            Self::P2 => PriorityMsg::P2,
            Self::P3 => PriorityMsg::P3,
            Self::P4 => PriorityMsg::P4,
        }
    }
}

/// A classification rule that matched, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatchedRule {
    pub rule_id: String,
    pub category: String,
    pub matched_words: Vec<String>,
    pub explanation: String,
}

/// The command-room clocks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Clocks {
    pub classified_at: Option<DateTime<Utc>>,
    pub unit_assigned_at: Option<DateTime<Utc>>,
    pub en_route_at: Option<DateTime<Utc>>,
    pub on_scene_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub followed_up_at: Option<DateTime<Utc>>,
    pub response_target_breached: bool,
}

/// Where an incident came from when it was handed over.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceLink {
    pub bureau_id: String,
    pub incident_id: String,
    pub document_id: String,
}

/// One call (EIDO callComponent, with its caller as personComponent).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Call {
    pub call_id: String,
    pub channel: Channel,
    pub source_call_id: String,
    pub received_at: DateTime<Utc>,
    pub caller: Caller,
    pub description: String,
    pub reported_category: String,
    pub duplicate: bool,
    pub distance_from_incident_m: f64,
    /// The `location_id` of where the caller said the event is; `null` when unknown.
    pub location_ref: Option<String>,
}

/// The caller.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Caller {
    /// Masked, e.g. "138****5678"; empty when no number was given.
    pub phone_masked: String,
    /// In clear, only in a document whose `phone_numbers` is `clear`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    pub name: String,
}

/// A place (EIDO locationComponent).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Location {
    pub location_id: String,
    pub role: LocationRole,
    pub point: Option<Point>,
    pub address: String,
    pub grid_id: String,
    pub station_id: String,
}

/// What a location is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LocationRole {
    Incident,
    Caller,
}

/// WGS-84 degrees.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Point {
    pub lat: f64,
    pub lon: f64,
}

/// An organisation involved (EIDO agencyComponent).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Agency {
    pub agency_id: String,
    pub role: AgencyRole,
    pub name: String,
}

/// What an agency does for the incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AgencyRole {
    /// The bureau that owns the incident.
    Owning,
    /// The station responsible for the place.
    Responsible,
    /// The 12345 department a transfer went to or came from.
    #[serde(rename = "HOTLINE_12345")]
    Hotline12345,
}

/// A unit assigned to the incident (EIDO emergencyResourceComponent).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Unit {
    pub unit_id: String,
    pub callsign: String,
    /// Dispatch's unit kind without its prefix (OFFICER, PATROL_CAR, DRONE, AUXILIARY); empty
    /// when dispatch did not say.
    pub unit_kind: String,
    pub dispatch_id: String,
    pub assignment_id: String,
    /// Dispatch's assignment status without its prefix (ASSIGNED, ACKNOWLEDGED, EN_ROUTE, ...).
    pub status: String,
    pub assigned_at: Option<DateTime<Utc>>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub en_route_at: Option<DateTime<Utc>>,
    pub on_scene_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub distance_m: f64,
}

/// One step of the incident's life.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimelineEntry {
    pub entry_id: String,
    pub at: DateTime<Utc>,
    /// Intake's timeline entry kind without its prefix (CALL_RECEIVED, UNIT_ON_SCENE, ...).
    pub kind: String,
    pub source: String,
    pub summary: String,
    pub actor: Actor,
    pub from_status: Option<Status>,
    pub to_status: Option<Status>,
    pub unit_id: String,
    pub related_id: String,
}

/// A 12345 transfer of the incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transfer {
    pub transfer_id: String,
    /// TO_12345 or FROM_12345.
    pub direction: String,
    /// PENDING, SENT, ACCEPTED, HANDLED, BOUNCED.
    pub status: String,
    pub hotline_ticket_id: String,
    pub department: String,
    pub reason: String,
    pub outcome_note: String,
    pub deadline: Option<DateTime<Utc>>,
    pub overdue: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A free-text note (EIDO notesComponent).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Note {
    pub note_id: String,
    pub at: DateTime<Utc>,
    pub author: Actor,
    pub text: String,
}

/// Why a document was refused: the JSON path of the first bad field and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path} {message}")]
pub struct DocumentError {
    /// e.g. `document.calls[0].received_at` (rooted at the request's `document` field).
    pub path: String,
    pub message: String,
}

impl DocumentError {
    fn at(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// The document in `text`, checked against the rules of version 1; the first bad field named.
pub fn parse(text: &str) -> Result<IncidentDocument, DocumentError> {
    if text.len() > MAX_DOCUMENT_BYTES {
        return Err(DocumentError::at(
            "document",
            format!("must be at most {MAX_DOCUMENT_BYTES} bytes"),
        ));
    }
    if text.trim().is_empty() {
        return Err(DocumentError::at("document", "must not be empty"));
    }
    // The version first, so a document of another version is named as such, not by its fields.
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|err| DocumentError::at("document", format!("is not JSON: {err}")))?;
    match value.get("schema_version") {
        Some(serde_json::Value::String(v)) if v == SCHEMA_VERSION => {}
        Some(serde_json::Value::String(v)) => {
            return Err(DocumentError::at(
                "document.schema_version",
                format!("{v:?} is not supported (expected {SCHEMA_VERSION:?})"),
            ));
        }
        Some(_) => {
            return Err(DocumentError::at(
                "document.schema_version",
                "must be a string",
            ));
        }
        None if value.is_object() => {
            return Err(DocumentError::at("document.schema_version", "is required"));
        }
        None => return Err(DocumentError::at("document", "must be a JSON object")),
    }
    let document: IncidentDocument =
        serde_path_to_error::deserialize(value).map_err(|err| structural(&err))?;
    validate::check(&document)?;
    Ok(document)
}

/// A serde error as a path and message; an unknown or missing field is named itself.
fn structural(err: &serde_path_to_error::Error<serde_json::Error>) -> DocumentError {
    let mut path = String::from("document");
    for segment in err.path().iter() {
        match segment {
            serde_path_to_error::Segment::Seq { index } => path.push_str(&format!("[{index}]")),
            serde_path_to_error::Segment::Map { key }
            | serde_path_to_error::Segment::Enum { variant: key } => {
                path.push('.');
                path.push_str(key);
            }
            serde_path_to_error::Segment::Unknown => {}
        }
    }
    let message = err.inner().to_string();
    // serde_path_to_error's path ends at an unknown field, but at the object of a missing one.
    if message.starts_with("unknown field `") {
        return DocumentError::at(path, "is not a field of this object");
    }
    if let Some(rest) = message.strip_prefix("missing field `")
        && let Some((field, _)) = rest.split_once('`')
    {
        return DocumentError::at(format!("{path}.{field}"), "is required");
    }
    // Drop serde_json's "at line L column C": the path says where.
    let message = match message.rsplit_once(" at line ") {
        Some((head, _)) => head.to_owned(),
        None => message,
    };
    DocumentError::at(path, format!("is invalid: {message}"))
}

#[cfg(test)]
mod tests;
