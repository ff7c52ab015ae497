//! Conversions between the domain records and the `pingan.dispatch.v1` wire messages (numbers
//! outside an enum become its UNSPECIFIED value; the edge refuses them before they get here).

use chrono::{DateTime, Utc};
use pingan_proto::common::v1 as common;
use pingan_proto::dispatch::v1 as wire;

use super::model::*;
use super::{duration, from_duration};
use pingan_platform::time::{from_timestamp, to_timestamp};

fn at(value: Option<&prost_types::Timestamp>) -> Option<DateTime<Utc>> {
    value.and_then(from_timestamp)
}

fn ts(value: Option<DateTime<Utc>>) -> Option<prost_types::Timestamp> {
    value.map(to_timestamp)
}

fn enum_of<E: TryFrom<i32> + Default>(value: i32) -> E {
    E::try_from(value).unwrap_or_default()
}

impl From<&common::Actor> for Actor {
    fn from(a: &common::Actor) -> Self {
        Self {
            subject: a.subject.clone(),
            role: a.role.clone(),
            display_name: a.display_name.clone(),
        }
    }
}

impl From<&Actor> for common::Actor {
    fn from(a: &Actor) -> Self {
        Self {
            subject: a.subject.clone(),
            role: a.role.clone(),
            display_name: a.display_name.clone(),
        }
    }
}

impl From<common::GeoPoint> for Point {
    fn from(p: common::GeoPoint) -> Self {
        Self {
            lat: p.lat,
            lon: p.lon,
        }
    }
}

impl From<Point> for common::GeoPoint {
    fn from(p: Point) -> Self {
        Self {
            lat: p.lat,
            lon: p.lon,
        }
    }
}

impl From<&wire::UnitRequirement> for Requirement {
    fn from(r: &wire::UnitRequirement) -> Self {
        Self {
            kinds: r.kinds.iter().map(|k| enum_of(*k)).collect(),
            capabilities: r.capabilities.clone(),
            count: r.count,
        }
    }
}

impl From<&Requirement> for wire::UnitRequirement {
    fn from(r: &Requirement) -> Self {
        Self {
            kinds: r.kinds.iter().map(|k| *k as i32).collect(),
            capabilities: r.capabilities.clone(),
            count: r.count,
        }
    }
}

impl From<&wire::Lookout> for Lookout {
    fn from(l: &wire::Lookout) -> Self {
        Self {
            grid_id: l.grid_id.clone(),
            audiences: l.audiences.iter().map(|a| enum_of(*a)).collect(),
            message: l.message.clone(),
        }
    }
}

impl From<&Lookout> for wire::Lookout {
    fn from(l: &Lookout) -> Self {
        Self {
            grid_id: l.grid_id.clone(),
            audiences: l.audiences.iter().map(|a| *a as i32).collect(),
            message: l.message.clone(),
        }
    }
}

impl From<&wire::Assignment> for Assignment {
    fn from(a: &wire::Assignment) -> Self {
        Self {
            assignment_id: a.assignment_id.clone(),
            dispatch_id: a.dispatch_id.clone(),
            unit_id: a.unit_id.clone(),
            callsign: a.callsign.clone(),
            unit_kind: enum_of(a.unit_kind),
            status: enum_of(a.status),
            source: enum_of(a.source),
            escalated_from_assignment_id: a.escalated_from_assignment_id.clone(),
            distance_m: a.distance_m,
            eta: a.eta.as_ref().and_then(from_duration),
            assigned_by: a.assigned_by.as_ref().map(Actor::from),
            note: a.note.clone(),
            assigned_at: at(a.assigned_at.as_ref()).unwrap_or_default(),
            ack_due_at: at(a.ack_due_at.as_ref()),
            acknowledged_at: at(a.acknowledged_at.as_ref()),
            en_route_at: at(a.en_route_at.as_ref()),
            on_scene_at: at(a.on_scene_at.as_ref()),
            ended_at: at(a.ended_at.as_ref()),
            requirement: a.requirement.as_ref().map(Requirement::from),
        }
    }
}

impl From<&Assignment> for wire::Assignment {
    fn from(a: &Assignment) -> Self {
        Self {
            assignment_id: a.assignment_id.clone(),
            dispatch_id: a.dispatch_id.clone(),
            unit_id: a.unit_id.clone(),
            callsign: a.callsign.clone(),
            unit_kind: a.unit_kind as i32,
            status: a.status as i32,
            source: a.source as i32,
            escalated_from_assignment_id: a.escalated_from_assignment_id.clone(),
            distance_m: a.distance_m,
            eta: a.eta.map(duration),
            assigned_by: a.assigned_by.as_ref().map(common::Actor::from),
            note: a.note.clone(),
            assigned_at: Some(to_timestamp(a.assigned_at)),
            ack_due_at: ts(a.ack_due_at),
            acknowledged_at: ts(a.acknowledged_at),
            en_route_at: ts(a.en_route_at),
            on_scene_at: ts(a.on_scene_at),
            ended_at: ts(a.ended_at),
            requirement: a.requirement.as_ref().map(wire::UnitRequirement::from),
        }
    }
}

fn requirements_of(list: &[wire::UnitRequirement]) -> Vec<Requirement> {
    list.iter().map(Requirement::from).collect()
}

fn wire_requirements(list: &[Requirement]) -> Vec<wire::UnitRequirement> {
    list.iter().map(wire::UnitRequirement::from).collect()
}

impl From<&wire::Dispatch> for Dispatch {
    fn from(d: &wire::Dispatch) -> Self {
        let opened_at = at(d.opened_at.as_ref()).unwrap_or_default();
        Self {
            dispatch_id: d.dispatch_id.clone(),
            incident_id: d.incident_id.clone(),
            status: enum_of(d.status),
            priority: enum_of(d.priority),
            category: d.category.clone(),
            location: d.location.map(Point::from),
            address: d.address.clone(),
            summary: d.summary.clone(),
            station_id: d.station_id.clone(),
            grid_id: d.grid_id.clone(),
            required_capabilities: d.required_capabilities.clone(),
            unit_requirements: requirements_of(&d.unit_requirements),
            unfilled_requirements: requirements_of(&d.unfilled_requirements),
            response_target: d.response_target.as_ref().and_then(from_duration),
            response_due_at: at(d.response_due_at.as_ref()),
            sla_breached: d.sla_breached,
            assignments: d.assignments.iter().map(Assignment::from).collect(),
            lookout: d.lookout.as_ref().map(Lookout::from),
            lookout_broadcast_id: d.lookout_broadcast_id.clone(),
            lookout_error: d.lookout_error.clone(),
            disposition: enum_of(d.disposition),
            narrative: d.narrative.clone(),
            opened_by: d.opened_by.as_ref().map(Actor::from),
            closed_by: d.closed_by.as_ref().map(Actor::from),
            opened_at,
            first_en_route_at: at(d.first_en_route_at.as_ref()),
            first_on_scene_at: at(d.first_on_scene_at.as_ref()),
            closed_at: at(d.closed_at.as_ref()),
            updated_at: at(d.updated_at.as_ref()).unwrap_or(opened_at),
            station_kind: enum_of(d.station_kind),
        }
    }
}

impl From<&Dispatch> for wire::Dispatch {
    fn from(d: &Dispatch) -> Self {
        Self {
            dispatch_id: d.dispatch_id.clone(),
            incident_id: d.incident_id.clone(),
            status: d.status as i32,
            priority: d.priority as i32,
            category: d.category.clone(),
            location: d.location.map(common::GeoPoint::from),
            address: d.address.clone(),
            summary: d.summary.clone(),
            station_id: d.station_id.clone(),
            grid_id: d.grid_id.clone(),
            required_capabilities: d.required_capabilities.clone(),
            unit_requirements: wire_requirements(&d.unit_requirements),
            unfilled_requirements: wire_requirements(&d.unfilled_requirements),
            response_target: d.response_target.map(duration),
            response_due_at: ts(d.response_due_at),
            sla_breached: d.sla_breached,
            assignments: d.assignments.iter().map(wire::Assignment::from).collect(),
            lookout: d.lookout.as_ref().map(wire::Lookout::from),
            lookout_broadcast_id: d.lookout_broadcast_id.clone(),
            disposition: d.disposition as i32,
            narrative: d.narrative.clone(),
            opened_by: d.opened_by.as_ref().map(common::Actor::from),
            closed_by: d.closed_by.as_ref().map(common::Actor::from),
            opened_at: Some(to_timestamp(d.opened_at)),
            first_en_route_at: ts(d.first_en_route_at),
            first_on_scene_at: ts(d.first_on_scene_at),
            closed_at: ts(d.closed_at),
            updated_at: Some(to_timestamp(d.updated_at)),
            lookout_error: d.lookout_error.clone(),
            station_kind: d.station_kind as i32,
        }
    }
}

impl From<&wire::TimelineEntry> for TimelineEntry {
    fn from(e: &wire::TimelineEntry) -> Self {
        Self {
            entry_id: e.entry_id.clone(),
            dispatch_id: e.dispatch_id.clone(),
            incident_id: e.incident_id.clone(),
            kind: enum_of(e.kind),
            occurred_at: at(e.occurred_at.as_ref()).unwrap_or_default(),
            unit_id: e.unit_id.clone(),
            assignment_id: e.assignment_id.clone(),
            actor: e.actor.as_ref().map(Actor::from),
            location: e.location.map(Point::from),
            note: e.note.clone(),
            description: e.description.clone(),
            dispatch_status: enum_of(e.dispatch_status),
        }
    }
}

impl From<&TimelineEntry> for wire::TimelineEntry {
    fn from(e: &TimelineEntry) -> Self {
        Self {
            entry_id: e.entry_id.clone(),
            dispatch_id: e.dispatch_id.clone(),
            incident_id: e.incident_id.clone(),
            kind: e.kind as i32,
            occurred_at: Some(to_timestamp(e.occurred_at)),
            unit_id: e.unit_id.clone(),
            assignment_id: e.assignment_id.clone(),
            actor: e.actor.as_ref().map(common::Actor::from),
            location: e.location.map(common::GeoPoint::from),
            note: e.note.clone(),
            description: e.description.clone(),
            dispatch_status: e.dispatch_status as i32,
        }
    }
}

impl From<&wire::Flight> for Flight {
    fn from(f: &wire::Flight) -> Self {
        Self {
            flight_id: f.flight_id.clone(),
            unit_id: f.unit_id.clone(),
            dispatch_id: f.dispatch_id.clone(),
            started_at: at(f.started_at.as_ref()).unwrap_or_default(),
            ended_at: at(f.ended_at.as_ref()).unwrap_or_default(),
            duration: f
                .duration
                .as_ref()
                .and_then(from_duration)
                .unwrap_or_default(),
            distance_m: f.distance_m,
            pilot_officer_id: f.pilot_officer_id.clone(),
            purpose: f.purpose.clone(),
            video_recorded: f.video_recorded,
            notes: f.notes.clone(),
            logged_by: f.logged_by.as_ref().map(Actor::from),
            created_at: at(f.created_at.as_ref()).unwrap_or_default(),
        }
    }
}

impl From<&Flight> for wire::Flight {
    fn from(f: &Flight) -> Self {
        Self {
            flight_id: f.flight_id.clone(),
            unit_id: f.unit_id.clone(),
            dispatch_id: f.dispatch_id.clone(),
            started_at: Some(to_timestamp(f.started_at)),
            ended_at: Some(to_timestamp(f.ended_at)),
            duration: Some(duration(f.duration)),
            distance_m: f.distance_m,
            pilot_officer_id: f.pilot_officer_id.clone(),
            purpose: f.purpose.clone(),
            video_recorded: f.video_recorded,
            notes: f.notes.clone(),
            logged_by: f.logged_by.as_ref().map(common::Actor::from),
            created_at: Some(to_timestamp(f.created_at)),
        }
    }
}
