//! The columns of each record as bound, in the `$N` order its INSERT and UPDATE share.

use crate::domain::is_active;
use crate::domain::model::*;
use crate::store::rows::{Named, actor_columns, json_list, names, nanos};

type Actor3 = (Option<String>, String, String);

/// The row of a dispatch header.
pub struct DispatchParams {
    pub dispatch: Dispatch,
    pub required_capabilities: String,
    pub response_target_ns: Option<i64>,
    pub lookout_message: Option<String>,
    pub lookout_grid_id: String,
    pub lookout_audiences: String,
    pub opened_by: Actor3,
    pub closed_by: Actor3,
}

impl DispatchParams {
    pub fn new(d: &Dispatch) -> Self {
        Self {
            dispatch: d.clone(),
            required_capabilities: json_list(&d.required_capabilities),
            response_target_ns: d.response_target.map(nanos),
            lookout_message: d.lookout.as_ref().map(|l| l.message.clone()),
            lookout_grid_id: d
                .lookout
                .as_ref()
                .map(|l| l.grid_id.clone())
                .unwrap_or_default(),
            lookout_audiences: names(
                d.lookout
                    .as_ref()
                    .map(|l| l.audiences.as_slice())
                    .unwrap_or_default(),
            ),
            opened_by: actor_columns(d.opened_by.as_ref()),
            closed_by: actor_columns(d.closed_by.as_ref()),
        }
    }
}

/// Binds `$1..$36` of a dispatch row.
macro_rules! bind_dispatch {
    ($query:expr, $p:expr) => {{
        let p = $p;
        let d = &p.dispatch;
        $query
            .bind(&d.dispatch_id)
            .bind(&d.incident_id)
            .bind(&d.station_id)
            .bind(&d.grid_id)
            .bind(d.status as i32)
            .bind(d.priority as i32)
            .bind(d.is_open())
            .bind(d.sla_breached)
            .bind(d.response_due_at)
            .bind(d.first_en_route_at)
            .bind(d.opened_at)
            .bind(d.closed_at)
            .bind(d.updated_at)
            .bind(Vec::<u8>::new())
            .bind(&d.category)
            .bind(d.location.map(|l| l.lat))
            .bind(d.location.map(|l| l.lon))
            .bind(&d.address)
            .bind(&d.summary)
            .bind(&p.required_capabilities)
            .bind(p.response_target_ns)
            .bind(&p.lookout_message)
            .bind(&p.lookout_grid_id)
            .bind(&p.lookout_audiences)
            .bind(&d.lookout_broadcast_id)
            .bind(&d.lookout_error)
            .bind($crate::store::rows::Named::name(&d.disposition))
            .bind(&d.narrative)
            .bind(&p.opened_by.0)
            .bind(&p.opened_by.1)
            .bind(&p.opened_by.2)
            .bind(&p.closed_by.0)
            .bind(&p.closed_by.1)
            .bind(&p.closed_by.2)
            .bind(d.first_on_scene_at)
            .bind($crate::store::rows::Named::name(&d.station_kind))
    }};
}
pub(crate) use bind_dispatch;

/// The row of an assignment.
pub struct AssignmentParams {
    pub a: Assignment,
    pub active: bool,
    pub unit_kind: &'static str,
    pub source: &'static str,
    pub eta_ns: Option<i64>,
    pub assigned_by: Actor3,
    pub requirement_kinds: Option<String>,
    pub requirement_capabilities: String,
    pub requirement_count: i32,
}

impl AssignmentParams {
    pub fn new(a: &Assignment) -> Self {
        Self {
            a: a.clone(),
            active: is_active(a.status),
            unit_kind: a.unit_kind.name(),
            source: a.source.name(),
            eta_ns: a.eta.map(nanos),
            assigned_by: actor_columns(a.assigned_by.as_ref()),
            requirement_kinds: a.requirement.as_ref().map(|r| names(&r.kinds)),
            requirement_capabilities: a
                .requirement
                .as_ref()
                .map(|r| json_list(&r.capabilities))
                .unwrap_or_else(|| "[]".to_owned()),
            requirement_count: a.requirement.as_ref().map_or(0, |r| r.count),
        }
    }
}

/// Binds `$1..$25` of an assignment row.
macro_rules! bind_assignment {
    ($query:expr, $p:expr) => {{
        let p = $p;
        let a = &p.a;
        $query
            .bind(&a.assignment_id)
            .bind(&a.dispatch_id)
            .bind(&a.unit_id)
            .bind(a.status as i32)
            .bind(p.active)
            .bind(a.ack_due_at)
            .bind(a.assigned_at)
            .bind(Vec::<u8>::new())
            .bind(&a.callsign)
            .bind(p.unit_kind)
            .bind(p.source)
            .bind(&a.escalated_from_assignment_id)
            .bind(a.distance_m)
            .bind(p.eta_ns)
            .bind(&p.assigned_by.0)
            .bind(&p.assigned_by.1)
            .bind(&p.assigned_by.2)
            .bind(&a.note)
            .bind(a.acknowledged_at)
            .bind(a.en_route_at)
            .bind(a.on_scene_at)
            .bind(a.ended_at)
            .bind(&p.requirement_kinds)
            .bind(&p.requirement_capabilities)
            .bind(p.requirement_count)
    }};
}
pub(crate) use bind_assignment;

/// The row of a timeline entry.
pub struct EntryParams {
    pub e: TimelineEntry,
    pub kind: &'static str,
    pub actor: Actor3,
    pub dispatch_status: &'static str,
}

impl EntryParams {
    pub fn new(e: &TimelineEntry) -> Self {
        Self {
            e: e.clone(),
            kind: e.kind.name(),
            actor: actor_columns(e.actor.as_ref()),
            dispatch_status: e.dispatch_status.name(),
        }
    }
}

/// Binds `$1..$16` of a timeline row.
macro_rules! bind_entry {
    ($query:expr, $p:expr) => {{
        let p = $p;
        let e = &p.e;
        $query
            .bind(&e.entry_id)
            .bind(&e.dispatch_id)
            .bind(&e.incident_id)
            .bind(e.occurred_at)
            .bind(Vec::<u8>::new())
            .bind(p.kind)
            .bind(&e.unit_id)
            .bind(&e.assignment_id)
            .bind(&p.actor.0)
            .bind(&p.actor.1)
            .bind(&p.actor.2)
            .bind(e.location.map(|l| l.lat))
            .bind(e.location.map(|l| l.lon))
            .bind(&e.note)
            .bind(&e.description)
            .bind(p.dispatch_status)
    }};
}
pub(crate) use bind_entry;

/// The row of a flight.
pub struct FlightParams {
    pub f: Flight,
    pub station_id: String,
    pub duration_ms: i64,
    pub logged_by: Actor3,
}

impl FlightParams {
    pub fn new(f: &Flight, station_id: &str) -> Self {
        Self {
            f: f.clone(),
            station_id: station_id.to_owned(),
            duration_ms: i64::try_from(f.duration.as_millis()).unwrap_or(i64::MAX),
            logged_by: actor_columns(f.logged_by.as_ref()),
        }
    }
}

/// Binds `$1..$17` of a flight row.
macro_rules! bind_flight {
    ($query:expr, $p:expr) => {{
        let p = $p;
        let f = &p.f;
        $query
            .bind(&f.flight_id)
            .bind(&f.unit_id)
            .bind(&p.station_id)
            .bind(&f.dispatch_id)
            .bind(f.started_at)
            .bind(f.ended_at)
            .bind(f.distance_m)
            .bind(p.duration_ms)
            .bind(f.created_at)
            .bind(Vec::<u8>::new())
            .bind(&f.pilot_officer_id)
            .bind(&f.purpose)
            .bind(f.video_recorded)
            .bind(&f.notes)
            .bind(&p.logged_by.0)
            .bind(&p.logged_by.1)
            .bind(&p.logged_by.2)
    }};
}
pub(crate) use bind_flight;
