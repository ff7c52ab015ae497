//! The records dispatch keeps, in its own terms (times as UTC instants, durations as std
//! durations, enums typed); `domain::proto` converts them to and from the wire messages.

use std::time::Duration;

use chrono::{DateTime, Utc};
use pingan_proto::common::v1::Priority;
use pingan_proto::dispatch::v1::{
    AssignmentSource, AssignmentStatus, DispatchStatus, Disposition, TimelineEntryKind, UnitKind,
    UnitStatus,
};
use pingan_proto::grid::v1::{BroadcastAudience, StationKind};

/// Who did something.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Actor {
    pub subject: String,
    pub role: String,
    pub display_name: String,
}

/// A point on the map, degrees.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Point {
    pub lat: f64,
    pub lon: f64,
}

/// Units a dispatch wants: `count` of any of `kinds` (empty: any) having every capability.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Requirement {
    pub kinds: Vec<UnitKind>,
    pub capabilities: Vec<String>,
    pub count: i32,
}

/// A lookout to broadcast to a grid's audience.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lookout {
    pub grid_id: String,
    pub audiences: Vec<BroadcastAudience>,
    pub message: String,
}

/// One unit sent to a dispatch.
#[derive(Debug, Clone, PartialEq)]
pub struct Assignment {
    pub assignment_id: String,
    pub dispatch_id: String,
    pub unit_id: String,
    pub callsign: String,
    pub unit_kind: UnitKind,
    pub status: AssignmentStatus,
    pub source: AssignmentSource,
    pub escalated_from_assignment_id: String,
    pub distance_m: f64,
    pub eta: Option<Duration>,
    pub assigned_by: Option<Actor>,
    pub note: String,
    pub assigned_at: DateTime<Utc>,
    pub ack_due_at: Option<DateTime<Utc>>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub en_route_at: Option<DateTime<Utc>>,
    pub on_scene_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub requirement: Option<Requirement>,
}

/// A dispatch with its assignments.
#[derive(Debug, Clone, PartialEq)]
pub struct Dispatch {
    pub dispatch_id: String,
    pub incident_id: String,
    pub status: DispatchStatus,
    pub priority: Priority,
    pub category: String,
    pub location: Option<Point>,
    pub address: String,
    pub summary: String,
    pub station_id: String,
    pub grid_id: String,
    pub required_capabilities: Vec<String>,
    pub unit_requirements: Vec<Requirement>,
    pub unfilled_requirements: Vec<Requirement>,
    pub response_target: Option<Duration>,
    pub response_due_at: Option<DateTime<Utc>>,
    pub sla_breached: bool,
    pub assignments: Vec<Assignment>,
    pub lookout: Option<Lookout>,
    pub lookout_broadcast_id: String,
    pub lookout_error: String,
    pub disposition: Disposition,
    pub narrative: String,
    pub opened_by: Option<Actor>,
    pub closed_by: Option<Actor>,
    pub opened_at: DateTime<Utc>,
    pub first_en_route_at: Option<DateTime<Utc>>,
    pub first_on_scene_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    pub station_kind: StationKind,
}

impl Dispatch {
    /// True until the dispatch is closed.
    pub fn is_open(&self) -> bool {
        self.status != DispatchStatus::Closed
    }
}

/// One line of a dispatch's timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineEntry {
    pub entry_id: String,
    pub dispatch_id: String,
    pub incident_id: String,
    pub kind: TimelineEntryKind,
    pub occurred_at: DateTime<Utc>,
    pub unit_id: String,
    pub assignment_id: String,
    pub actor: Option<Actor>,
    pub location: Option<Point>,
    pub note: String,
    pub description: String,
    pub dispatch_status: DispatchStatus,
}

/// One drone flight of the flight log.
#[derive(Debug, Clone, PartialEq)]
pub struct Flight {
    pub flight_id: String,
    pub unit_id: String,
    pub dispatch_id: String,
    pub started_at: DateTime<Utc>,
    pub ended_at: DateTime<Utc>,
    pub duration: Duration,
    pub distance_m: f64,
    pub pilot_officer_id: String,
    pub purpose: String,
    pub video_recorded: bool,
    pub notes: String,
    pub logged_by: Option<Actor>,
    pub created_at: DateTime<Utc>,
}

/// A registered unit (its live position is kept apart, see `positions`).
#[derive(Debug, Clone, PartialEq)]
pub struct Unit {
    pub unit_id: String,
    pub kind: UnitKind,
    pub callsign: String,
    pub station_id: String,
    pub grid_ids: Vec<String>,
    pub capabilities: Vec<String>,
    pub officer_ids: Vec<String>,
    pub status: UnitStatus,
    pub status_reason: String,
    pub status_changed_at: DateTime<Utc>,
    /// The active assignment holding the unit (set by the reservation, cleared on release).
    pub current_dispatch_id: Option<String>,
    pub current_assignment_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A unit's registration as written.
#[derive(Debug, Clone, PartialEq)]
pub struct NewUnit {
    pub unit_id: String,
    pub kind: UnitKind,
    pub callsign: String,
    pub station_id: String,
    pub grid_ids: Vec<String>,
    pub capabilities: Vec<String>,
    pub officer_ids: Vec<String>,
    pub initial_status: UnitStatus,
}
