//! Rows as read, and their conversion to the domain records (columns, or the protobuf `doc` of
//! a row written before migration 0002).

use std::time::Duration;

use chrono::{DateTime, Utc};
use pingan_platform::storage::StorageError;
use pingan_proto::common::v1::Priority;
use pingan_proto::dispatch::v1 as wire;
use pingan_proto::dispatch::v1::{
    AssignmentSource, AssignmentStatus, DispatchStatus, Disposition, TimelineEntryKind, UnitKind,
    UnitStatus,
};
use pingan_proto::grid::v1::{BroadcastAudience, StationKind};
use prost::Message;

use crate::domain::model::*;

/// An enum stored under its protobuf name.
pub trait Named: Sized {
    fn name(&self) -> &'static str;
    fn parse(name: &str) -> Self;
}

macro_rules! named {
    ($($ty:ty),*) => {$(
        impl Named for $ty {
            fn name(&self) -> &'static str {
                self.as_str_name()
            }
            fn parse(name: &str) -> Self {
                Self::from_str_name(name).unwrap_or_default()
            }
        }
    )*};
}

named!(
    UnitKind,
    AssignmentSource,
    Disposition,
    TimelineEntryKind,
    DispatchStatus,
    StationKind,
    BroadcastAudience
);

/// Encodes a list of strings (JSON array text).
pub fn json_list(values: &[String]) -> String {
    serde_json::to_string(values).unwrap_or_else(|_| "[]".to_owned())
}

/// Decodes a list of strings (empty on garbage).
pub fn parse_list(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_default()
}

/// Encodes a list of enums by name.
pub fn names<E: Named>(values: &[E]) -> String {
    let names: Vec<String> = values.iter().map(|v| v.name().to_owned()).collect();
    json_list(&names)
}

/// Decodes a list of enums by name.
pub fn parse_names<E: Named>(text: &str) -> Vec<E> {
    parse_list(text).iter().map(|n| E::parse(n)).collect()
}

/// Nanoseconds of a duration (saturating).
pub fn nanos(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

/// A duration from stored nanoseconds (None when negative).
pub fn from_nanos(ns: i64) -> Option<Duration> {
    u64::try_from(ns).ok().map(Duration::from_nanos)
}

/// An actor's three columns: `(subject, role, name)`, subject NULL for none.
pub fn actor_columns(actor: Option<&Actor>) -> (Option<String>, String, String) {
    match actor {
        Some(a) => (
            Some(a.subject.clone()),
            a.role.clone(),
            a.display_name.clone(),
        ),
        None => (None, String::new(), String::new()),
    }
}

fn actor(subject: Option<String>, role: String, display_name: String) -> Option<Actor> {
    subject.map(|subject| Actor {
        subject,
        role,
        display_name,
    })
}

fn point(lat: Option<f64>, lon: Option<f64>) -> Option<Point> {
    Some(Point {
        lat: lat?,
        lon: lon?,
    })
}

fn legacy<M: Message + Default>(doc: &[u8]) -> Result<M, StorageError> {
    M::decode(doc).map_err(|err| StorageError::Other(Box::new(err)))
}

/// A stored unit.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UnitRow {
    pub unit_id: String,
    pub kind: i32,
    pub callsign: String,
    pub station_id: String,
    pub grid_ids: String,
    pub capabilities: String,
    pub officer_ids: String,
    pub status: i32,
    pub status_reason: String,
    pub status_changed_at: DateTime<Utc>,
    pub current_dispatch_id: Option<String>,
    pub current_assignment_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<UnitRow> for Unit {
    fn from(row: UnitRow) -> Self {
        Self {
            unit_id: row.unit_id,
            kind: UnitKind::try_from(row.kind).unwrap_or_default(),
            callsign: row.callsign,
            station_id: row.station_id,
            grid_ids: parse_list(&row.grid_ids),
            capabilities: parse_list(&row.capabilities),
            officer_ids: parse_list(&row.officer_ids),
            status: UnitStatus::try_from(row.status).unwrap_or_default(),
            status_reason: row.status_reason,
            status_changed_at: row.status_changed_at,
            current_dispatch_id: row.current_dispatch_id,
            current_assignment_id: row.current_assignment_id,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// A stored dispatch header.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DispatchRow {
    pub dispatch_id: String,
    pub incident_id: String,
    pub station_id: String,
    pub grid_id: String,
    pub status: i32,
    pub priority: i32,
    pub sla_breached: bool,
    pub response_due_at: Option<DateTime<Utc>>,
    pub first_en_route_at: Option<DateTime<Utc>>,
    pub opened_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    pub doc: Vec<u8>,
    pub category: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub address: String,
    pub summary: String,
    pub required_capabilities: String,
    pub response_target_ns: Option<i64>,
    pub lookout_message: Option<String>,
    pub lookout_grid_id: String,
    pub lookout_audiences: String,
    pub lookout_broadcast_id: String,
    pub lookout_error: String,
    pub disposition: String,
    pub narrative: String,
    pub opened_by_subject: Option<String>,
    pub opened_by_role: String,
    pub opened_by_name: String,
    pub closed_by_subject: Option<String>,
    pub closed_by_role: String,
    pub closed_by_name: String,
    pub first_on_scene_at: Option<DateTime<Utc>>,
    pub station_kind: String,
}

/// A stored requirement of a dispatch.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RequirementRow {
    pub list_name: String,
    pub kinds: String,
    pub capabilities: String,
    pub unit_count: i32,
}

/// `list_name` of the requirements a dispatch wants.
pub const WANTED: &str = "wanted";
/// `list_name` of the requirements still unfilled.
pub const UNFILLED: &str = "unfilled";

impl DispatchRow {
    /// The dispatch without its assignments; `requirements` are its child rows.
    pub fn into_dispatch(
        self,
        requirements: Vec<RequirementRow>,
    ) -> Result<Dispatch, StorageError> {
        if !self.doc.is_empty() {
            let header: wire::Dispatch = legacy(&self.doc)?;
            return Ok(Dispatch::from(&header));
        }
        let mut wanted = Vec::new();
        let mut unfilled = Vec::new();
        for row in requirements {
            let requirement = Requirement {
                kinds: parse_names(&row.kinds),
                capabilities: parse_list(&row.capabilities),
                count: row.unit_count,
            };
            match row.list_name.as_str() {
                WANTED => wanted.push(requirement),
                _ => unfilled.push(requirement),
            }
        }
        Ok(Dispatch {
            dispatch_id: self.dispatch_id,
            incident_id: self.incident_id,
            status: DispatchStatus::try_from(self.status).unwrap_or_default(),
            priority: Priority::try_from(self.priority).unwrap_or_default(),
            category: self.category,
            location: point(self.lat, self.lon),
            address: self.address,
            summary: self.summary,
            station_id: self.station_id,
            grid_id: self.grid_id,
            required_capabilities: parse_list(&self.required_capabilities),
            unit_requirements: wanted,
            unfilled_requirements: unfilled,
            response_target: self.response_target_ns.and_then(from_nanos),
            response_due_at: self.response_due_at,
            sla_breached: self.sla_breached,
            assignments: Vec::new(),
            lookout: self.lookout_message.map(|message| Lookout {
                grid_id: self.lookout_grid_id,
                audiences: parse_names(&self.lookout_audiences),
                message,
            }),
            lookout_broadcast_id: self.lookout_broadcast_id,
            lookout_error: self.lookout_error,
            disposition: Disposition::parse(&self.disposition),
            narrative: self.narrative,
            opened_by: actor(
                self.opened_by_subject,
                self.opened_by_role,
                self.opened_by_name,
            ),
            closed_by: actor(
                self.closed_by_subject,
                self.closed_by_role,
                self.closed_by_name,
            ),
            opened_at: self.opened_at,
            first_en_route_at: self.first_en_route_at,
            first_on_scene_at: self.first_on_scene_at,
            closed_at: self.closed_at,
            updated_at: self.updated_at,
            station_kind: StationKind::parse(&self.station_kind),
        })
    }
}

/// A stored assignment.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AssignmentRow {
    pub assignment_id: String,
    pub dispatch_id: String,
    pub unit_id: String,
    pub status: i32,
    pub ack_due_at: Option<DateTime<Utc>>,
    pub assigned_at: DateTime<Utc>,
    pub doc: Vec<u8>,
    pub callsign: String,
    pub unit_kind: String,
    pub source: String,
    pub escalated_from: String,
    pub distance_m: f64,
    pub eta_ns: Option<i64>,
    pub assigned_by_subject: Option<String>,
    pub assigned_by_role: String,
    pub assigned_by_name: String,
    pub note: String,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub en_route_at: Option<DateTime<Utc>>,
    pub on_scene_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub requirement_kinds: Option<String>,
    pub requirement_capabilities: String,
    pub requirement_count: i32,
}

impl TryFrom<AssignmentRow> for Assignment {
    type Error = StorageError;
    fn try_from(row: AssignmentRow) -> Result<Self, StorageError> {
        if !row.doc.is_empty() {
            return Ok(Self::from(&legacy::<wire::Assignment>(&row.doc)?));
        }
        Ok(Self {
            assignment_id: row.assignment_id,
            dispatch_id: row.dispatch_id,
            unit_id: row.unit_id,
            callsign: row.callsign,
            unit_kind: UnitKind::parse(&row.unit_kind),
            status: AssignmentStatus::try_from(row.status).unwrap_or_default(),
            source: AssignmentSource::parse(&row.source),
            escalated_from_assignment_id: row.escalated_from,
            distance_m: row.distance_m,
            eta: row.eta_ns.and_then(from_nanos),
            assigned_by: actor(
                row.assigned_by_subject,
                row.assigned_by_role,
                row.assigned_by_name,
            ),
            note: row.note,
            assigned_at: row.assigned_at,
            ack_due_at: row.ack_due_at,
            acknowledged_at: row.acknowledged_at,
            en_route_at: row.en_route_at,
            on_scene_at: row.on_scene_at,
            ended_at: row.ended_at,
            requirement: row.requirement_kinds.map(|kinds| Requirement {
                kinds: parse_names(&kinds),
                capabilities: parse_list(&row.requirement_capabilities),
                count: row.requirement_count,
            }),
        })
    }
}

/// A stored timeline entry.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EntryRow {
    pub entry_id: String,
    pub dispatch_id: String,
    pub incident_id: String,
    pub occurred_at: DateTime<Utc>,
    pub doc: Vec<u8>,
    pub kind: String,
    pub unit_id: String,
    pub assignment_id: String,
    pub actor_subject: Option<String>,
    pub actor_role: String,
    pub actor_name: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub note: String,
    pub description: String,
    pub dispatch_status: String,
}

impl TryFrom<EntryRow> for TimelineEntry {
    type Error = StorageError;
    fn try_from(row: EntryRow) -> Result<Self, StorageError> {
        if !row.doc.is_empty() {
            return Ok(Self::from(&legacy::<wire::TimelineEntry>(&row.doc)?));
        }
        Ok(Self {
            entry_id: row.entry_id,
            dispatch_id: row.dispatch_id,
            incident_id: row.incident_id,
            kind: TimelineEntryKind::parse(&row.kind),
            occurred_at: row.occurred_at,
            unit_id: row.unit_id,
            assignment_id: row.assignment_id,
            actor: actor(row.actor_subject, row.actor_role, row.actor_name),
            location: point(row.lat, row.lon),
            note: row.note,
            description: row.description,
            dispatch_status: DispatchStatus::parse(&row.dispatch_status),
        })
    }
}

/// A stored flight.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FlightRow {
    pub flight_id: String,
    pub unit_id: String,
    pub station_id: String,
    pub dispatch_id: String,
    pub started_at: DateTime<Utc>,
    pub ended_at: DateTime<Utc>,
    pub distance_m: f64,
    pub duration_ms: i64,
    pub created_at: DateTime<Utc>,
    pub doc: Vec<u8>,
    pub pilot_officer_id: String,
    pub purpose: String,
    pub video_recorded: bool,
    pub notes: String,
    pub logged_by_subject: Option<String>,
    pub logged_by_role: String,
    pub logged_by_name: String,
}

impl FlightRow {
    /// The flight and its drone's station.
    pub fn into_flight(self) -> Result<(Flight, String), StorageError> {
        if !self.doc.is_empty() {
            let flight = Flight::from(&legacy::<wire::Flight>(&self.doc)?);
            return Ok((flight, self.station_id));
        }
        let flight = Flight {
            flight_id: self.flight_id,
            unit_id: self.unit_id,
            dispatch_id: self.dispatch_id,
            started_at: self.started_at,
            ended_at: self.ended_at,
            duration: Duration::from_millis(u64::try_from(self.duration_ms).unwrap_or(0)),
            distance_m: self.distance_m,
            pilot_officer_id: self.pilot_officer_id,
            purpose: self.purpose,
            video_recorded: self.video_recorded,
            notes: self.notes,
            logged_by: actor(
                self.logged_by_subject,
                self.logged_by_role,
                self.logged_by_name,
            ),
            created_at: self.created_at,
        };
        Ok((flight, self.station_id))
    }
}
