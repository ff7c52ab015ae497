//! The dispatch lifecycle: open (with automatic assignment of P1/P2), assign, acknowledge, en
//! route, on scene, clear, close. Each change runs in one transaction with its timeline entries,
//! events and audit record; unit reservations are atomic (see `store::reserve`).

use std::time::Duration;

use chrono::{DateTime, Utc};
use pingan_platform::ApiError;
use pingan_platform::storage::{StorageError, Tx};
use pingan_proto::common::v1::{Actor, GeoPoint, Priority};
use pingan_proto::dispatch::v1::{
    Assignment, AssignmentSource, AssignmentStatus, Dispatch, DispatchClosed, DispatchStatus,
    Disposition, TimelineEntryKind, UnitKind, UnitRequirement, UnitStatus,
};

use crate::domain::{self, AssignmentAction, geo, timestamp};
use crate::events::{self, Audit, Entry};
use crate::positions::{Candidate, SearchQuery};
use crate::records;
use crate::runtime::{Effects, Runtime};

/// Candidates fetched per search round of an automatic assignment.
const CANDIDATES_PER_ROUND: usize = 20;

/// Who asked for an assignment and why.
#[derive(Debug, Clone)]
pub struct AssignContext<'a> {
    /// How the unit is chosen.
    pub source: AssignmentSource,
    /// The timed-out assignment, for an escalation.
    pub escalated_from: &'a str,
    /// Who assigns.
    pub actor: &'a Actor,
    /// Note for the unit.
    pub note: &'a str,
}

fn now_plus(now: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    now + chrono::Duration::from_std(d).unwrap_or_default()
}

fn location_of(dispatch: &Dispatch) -> (f64, f64) {
    dispatch
        .location
        .as_ref()
        .map(|l| (l.lat, l.lon))
        .unwrap_or_default()
}

/// Builds an assignment of `unit` to `dispatch`.
#[allow(clippy::too_many_arguments)]
fn new_assignment(
    runtime: &Runtime,
    dispatch: &Dispatch,
    assignment_id: String,
    unit: (&str, &str, i32),
    distance_m: f64,
    requirement: Option<UnitRequirement>,
    how: &AssignContext<'_>,
    now: DateTime<Utc>,
) -> Assignment {
    let (unit_id, callsign, kind) = unit;
    let eta = geo::eta(
        UnitKind::try_from(kind).unwrap_or_default(),
        distance_m,
        &runtime.settings.speeds,
    );
    let mut assignment = Assignment {
        assignment_id,
        dispatch_id: dispatch.dispatch_id.clone(),
        unit_id: unit_id.to_owned(),
        callsign: callsign.to_owned(),
        unit_kind: kind,
        source: how.source as i32,
        escalated_from_assignment_id: how.escalated_from.to_owned(),
        distance_m,
        eta: Some(domain::duration(eta)),
        assigned_by: Some(how.actor.clone()),
        note: how.note.to_owned(),
        assigned_at: Some(timestamp(now)),
        ack_due_at: Some(timestamp(now_plus(now, runtime.settings.ack_timeout))),
        requirement,
        ..Assignment::default()
    };
    assignment.set_status(AssignmentStatus::Assigned);
    assignment
}

/// Finds the nearest suitable available unit for `requirement` (by ETA) and reserves it.
/// Units in `exclude` are skipped; those lost to a concurrent reservation are skipped too.
/// The live store must be warm ([`Runtime::warm`]) before the transaction starts.
pub async fn pick_and_reserve(
    runtime: &Runtime,
    tx: &mut Tx,
    dispatch: &Dispatch,
    requirement: &UnitRequirement,
    exclude: &mut Vec<String>,
    how: &AssignContext<'_>,
    now: DateTime<Utc>,
) -> Result<Option<Assignment>, ApiError> {
    let (lat, lon) = location_of(dispatch);
    loop {
        let query = SearchQuery {
            lat,
            lon,
            radius_m: runtime.settings.auto_radius_m,
            kinds: requirement.kinds.clone(),
            capabilities: requirement.capabilities.clone(),
            only_available: true,
            station_id: None,
            fresh_after: runtime.fresh_after(now),
            exclude: exclude.clone(),
            limit: CANDIDATES_PER_ROUND,
        };
        let mut candidates: Vec<Candidate> = runtime.positions.search(&query).await?;
        if candidates.is_empty() {
            return Ok(None);
        }
        let speeds = &runtime.settings.speeds;
        candidates.sort_by_key(|c| {
            geo::eta(
                UnitKind::try_from(c.meta.kind).unwrap_or_default(),
                c.distance_m,
                speeds,
            )
        });
        for candidate in candidates {
            exclude.push(candidate.meta.unit_id.clone());
            let assignment_id = uuid::Uuid::now_v7().to_string();
            if !runtime
                .store
                .reserve(
                    tx,
                    &candidate.meta.unit_id,
                    &dispatch.dispatch_id,
                    &assignment_id,
                    now,
                )
                .await?
            {
                continue;
            }
            let Some(row) = runtime.store.unit_in(tx, &candidate.meta.unit_id).await? else {
                continue;
            };
            let assignment = new_assignment(
                runtime,
                dispatch,
                assignment_id,
                (&row.unit_id, &row.callsign, row.kind as i32),
                candidate.distance_m,
                Some(requirement.clone()),
                how,
                now,
            );
            records::insert_assignment(&*runtime.store, tx, &assignment).await?;
            return Ok(Some(assignment));
        }
    }
}

/// Fills `requirements` with automatic assignments; unfilled ones are returned.
pub async fn auto_assign(
    runtime: &Runtime,
    tx: &mut Tx,
    effects: &mut Effects,
    dispatch: &mut Dispatch,
    requirements: &[UnitRequirement],
    how: &AssignContext<'_>,
    now: DateTime<Utc>,
) -> Result<Vec<UnitRequirement>, ApiError> {
    let mut exclude: Vec<String> = dispatch
        .assignments
        .iter()
        .map(|a| a.unit_id.clone())
        .collect();
    let mut unfilled = Vec::new();
    for requirement in requirements {
        let mut missing = 0;
        for _ in 0..requirement.count.max(1) {
            match pick_and_reserve(runtime, tx, dispatch, requirement, &mut exclude, how, now)
                .await?
            {
                Some(assignment) => {
                    effects.units.push(assignment.unit_id.clone());
                    dispatch.assignments.push(assignment);
                    dispatch.status = domain::derive_status(dispatch, &dispatch.assignments) as i32;
                    let assignment = dispatch.assignments.last().cloned().unwrap_or_default();
                    let description = format!(
                        "{} assigned ({:.0} m away)",
                        assignment.callsign, assignment.distance_m
                    );
                    events::record_entry(
                        runtime,
                        tx,
                        effects,
                        dispatch,
                        Entry {
                            kind: TimelineEntryKind::Assigned,
                            assignment: Some(&assignment),
                            actor: how.actor,
                            note: how.note,
                            description,
                            location: None,
                        },
                        now,
                    )
                    .await?;
                }
                None => missing += 1,
            }
        }
        if missing > 0 {
            let description = format!(
                "no suitable unit free for {} of {} wanted (kinds {:?}, capabilities {:?})",
                missing,
                requirement.count.max(1),
                requirement
                    .kinds
                    .iter()
                    .map(|k| UnitKind::try_from(*k).unwrap_or_default().as_str_name())
                    .collect::<Vec<_>>(),
                requirement.capabilities
            );
            events::record_entry(
                runtime,
                tx,
                effects,
                dispatch,
                Entry {
                    kind: TimelineEntryKind::NoUnitAvailable,
                    assignment: None,
                    actor: &events::service_actor(),
                    note: "",
                    description,
                    location: None,
                },
                now,
            )
            .await?;
            unfilled.push(UnitRequirement {
                count: missing,
                ..requirement.clone()
            });
        }
    }
    Ok(unfilled)
}

/// A validated OpenDispatch.
#[derive(Debug, Clone)]
pub struct OpenRequest {
    pub incident_id: String,
    pub priority: Priority,
    pub location: GeoPoint,
    pub category: String,
    pub required_capabilities: Vec<String>,
    pub response_target: Option<Duration>,
    pub address: String,
    pub summary: String,
    pub station_id: String,
    pub grid_id: String,
    pub station_kind: pingan_proto::grid::v1::StationKind,
    pub unit_requirements: Vec<UnitRequirement>,
    pub lookout: Option<pingan_proto::dispatch::v1::Lookout>,
}

/// Opens a dispatch; P1/P2 are assigned at once to the nearest suitable free units.
pub async fn open(
    runtime: &Runtime,
    tx: &mut Tx,
    effects: &mut Effects,
    request: &OpenRequest,
    actor: &Actor,
) -> Result<Dispatch, ApiError> {
    let now = runtime.now();
    let target = request.response_target.unwrap_or_else(|| {
        runtime
            .settings
            .response_targets
            .target(request.priority, request.station_kind)
    });
    let requirements = domain::requirements(
        &request.category,
        &request.required_capabilities,
        &request.unit_requirements,
    );
    let mut dispatch = Dispatch {
        dispatch_id: uuid::Uuid::now_v7().to_string(),
        incident_id: request.incident_id.clone(),
        status: DispatchStatus::Pending as i32,
        priority: request.priority as i32,
        category: request.category.clone(),
        location: Some(request.location),
        address: request.address.clone(),
        summary: request.summary.clone(),
        station_id: request.station_id.clone(),
        grid_id: request.grid_id.clone(),
        required_capabilities: request.required_capabilities.clone(),
        unit_requirements: requirements.clone(),
        response_target: Some(domain::duration(target)),
        response_due_at: Some(timestamp(now_plus(now, target))),
        lookout: request.lookout.clone(),
        opened_by: Some(actor.clone()),
        opened_at: Some(timestamp(now)),
        updated_at: Some(timestamp(now)),
        station_kind: request.station_kind as i32,
        ..Dispatch::default()
    };
    match records::insert_dispatch(&*runtime.store, tx, &dispatch).await {
        Err(StorageError::Conflict(_)) => {
            return Err(ApiError::AlreadyExists(format!(
                "incident {} already has an open dispatch",
                request.incident_id
            )));
        }
        other => other?,
    }
    let description = format!(
        "dispatch opened: {} {}",
        request.priority.as_str_name(),
        request.category
    );
    events::record_entry(
        runtime,
        tx,
        effects,
        &dispatch,
        Entry {
            kind: TimelineEntryKind::Opened,
            assignment: None,
            actor,
            note: "",
            description,
            location: None,
        },
        now,
    )
    .await?;
    if matches!(request.priority, Priority::P1 | Priority::P2) {
        let how = AssignContext {
            source: AssignmentSource::Auto,
            escalated_from: "",
            actor: &events::service_actor(),
            note: "",
        };
        dispatch.unfilled_requirements = auto_assign(
            runtime,
            tx,
            effects,
            &mut dispatch,
            &requirements,
            &how,
            now,
        )
        .await?;
    } else {
        dispatch.unfilled_requirements = requirements;
    }
    dispatch.status = domain::derive_status(&dispatch, &dispatch.assignments) as i32;
    records::update_dispatch(&*runtime.store, tx, &dispatch).await?;
    events::audit(
        &runtime.context,
        tx,
        Audit {
            actor,
            action: "dispatch.OpenDispatch",
            resource_type: "dispatch",
            resource_id: &dispatch.dispatch_id,
            station_id: &dispatch.station_id,
            detail: format!(
                "incident {} {} units {}",
                dispatch.incident_id,
                request.priority.as_str_name(),
                dispatch.assignments.len()
            ),
        },
        now,
    )
    .await?;
    effects.dispatch = Some(dispatch.clone());
    Ok(dispatch)
}

/// Loads and locks a dispatch that is still open.
pub async fn open_dispatch_for_update(
    runtime: &Runtime,
    tx: &mut Tx,
    dispatch_id: &str,
) -> Result<Dispatch, ApiError> {
    let dispatch = records::lock_dispatch(&*runtime.store, tx, dispatch_id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("dispatch {dispatch_id}")))?;
    if dispatch.status() == DispatchStatus::Closed {
        return Err(ApiError::FailedPrecondition(format!(
            "dispatch {dispatch_id} is closed"
        )));
    }
    Ok(dispatch)
}

fn drop_filled_requirement(dispatch: &mut Dispatch, kind: i32, capabilities: &[String]) {
    if let Some(index) = dispatch
        .unfilled_requirements
        .iter()
        .position(|r| domain::meets(r, kind, capabilities))
    {
        let requirement = &mut dispatch.unfilled_requirements[index];
        requirement.count = requirement.count.max(1) - 1;
        if requirement.count == 0 {
            dispatch.unfilled_requirements.remove(index);
        }
    }
}

/// A dispatcher assigns a unit (it must be AVAILABLE).
pub async fn assign(
    runtime: &Runtime,
    tx: &mut Tx,
    effects: &mut Effects,
    dispatch: &mut Dispatch,
    unit_id: &str,
    note: &str,
    actor: &Actor,
) -> Result<Assignment, ApiError> {
    let now = runtime.now();
    let unit = runtime
        .store
        .unit_in(tx, unit_id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("unit {unit_id}")))?;
    if dispatch
        .assignments
        .iter()
        .any(|a| a.unit_id == unit_id && domain::is_active(a.status()))
    {
        return Err(ApiError::FailedPrecondition(format!(
            "unit {unit_id} is already assigned to this dispatch"
        )));
    }
    let assignment_id = uuid::Uuid::now_v7().to_string();
    if !runtime
        .store
        .reserve(tx, unit_id, &dispatch.dispatch_id, &assignment_id, now)
        .await?
    {
        return Err(ApiError::FailedPrecondition(format!(
            "unit {unit_id} is not available (status {})",
            unit.status.as_str_name()
        )));
    }
    let distance_m = match runtime.positions.positions(&[unit_id.to_owned()]).await {
        Ok(positions) => positions.get(unit_id).map_or(0.0, |p| {
            let (lat, lon) = location_of(dispatch);
            geo::distance_m(lat, lon, p.lat, p.lon)
        }),
        Err(_) => 0.0,
    };
    let how = AssignContext {
        source: AssignmentSource::Dispatcher,
        escalated_from: "",
        actor,
        note,
    };
    let assignment = new_assignment(
        runtime,
        dispatch,
        assignment_id,
        (&unit.unit_id, &unit.callsign, unit.kind as i32),
        distance_m,
        None,
        &how,
        now,
    );
    records::insert_assignment(&*runtime.store, tx, &assignment).await?;
    drop_filled_requirement(dispatch, unit.kind as i32, &unit.capabilities);
    dispatch.assignments.push(assignment.clone());
    dispatch.status = domain::derive_status(dispatch, &dispatch.assignments) as i32;
    dispatch.updated_at = Some(timestamp(now));
    records::update_dispatch(&*runtime.store, tx, dispatch).await?;
    events::record_entry(
        runtime,
        tx,
        effects,
        dispatch,
        Entry {
            kind: TimelineEntryKind::Assigned,
            assignment: Some(&assignment),
            actor,
            note,
            description: format!("{} assigned by dispatcher", assignment.callsign),
            location: None,
        },
        now,
    )
    .await?;
    events::audit(
        &runtime.context,
        tx,
        Audit {
            actor,
            action: "dispatch.Assign",
            resource_type: "dispatch",
            resource_id: &dispatch.dispatch_id,
            station_id: &dispatch.station_id,
            detail: format!("unit {unit_id}"),
        },
        now,
    )
    .await?;
    effects.units.push(unit_id.to_owned());
    effects.dispatch = Some(dispatch.clone());
    Ok(assignment)
}

/// A unit's own step on its assignment: acknowledge, en route, on scene, clear.
#[allow(clippy::too_many_arguments)]
pub async fn step(
    runtime: &Runtime,
    tx: &mut Tx,
    effects: &mut Effects,
    dispatch: &mut Dispatch,
    unit_id: &str,
    action: AssignmentAction,
    note: &str,
    location: Option<GeoPoint>,
    next_status: UnitStatus,
    actor: &Actor,
) -> Result<Assignment, ApiError> {
    let now = runtime.now();
    let index = dispatch
        .assignments
        .iter()
        .rposition(|a| a.unit_id == unit_id && domain::is_active(a.status()))
        .ok_or_else(|| {
            ApiError::FailedPrecondition(format!(
                "unit {unit_id} has no active assignment on dispatch {}",
                dispatch.dispatch_id
            ))
        })?;
    let mut assignment = dispatch.assignments[index].clone();
    let before = assignment.status;
    domain::apply(&mut assignment, action, now)
        .map_err(|e| ApiError::FailedPrecondition(e.to_string()))?;
    if !records::update_assignment(&*runtime.store, tx, &assignment, before).await? {
        return Err(ApiError::FailedPrecondition(format!(
            "assignment {} changed meanwhile; reload and retry",
            assignment.assignment_id
        )));
    }
    match domain::unit_status_for(assignment.status()) {
        Some(status) => {
            runtime
                .store
                .set_held_status(tx, unit_id, &assignment.assignment_id, status, now)
                .await?;
        }
        None => {
            runtime
                .store
                .release(
                    tx,
                    unit_id,
                    &assignment.assignment_id,
                    next_status,
                    note,
                    now,
                )
                .await?;
        }
    }
    dispatch.assignments[index] = assignment.clone();
    let ts = Some(timestamp(now));
    let (kind, what) = match action {
        AssignmentAction::Acknowledge => (TimelineEntryKind::Acknowledged, "acknowledged"),
        AssignmentAction::EnRoute => {
            dispatch.first_en_route_at = dispatch.first_en_route_at.or(ts);
            (TimelineEntryKind::EnRoute, "en route")
        }
        AssignmentAction::OnScene => {
            dispatch.first_on_scene_at = dispatch.first_on_scene_at.or(ts);
            // Arriving proves the unit moved: the response clock is met.
            dispatch.first_en_route_at = dispatch.first_en_route_at.or(ts);
            (TimelineEntryKind::OnScene, "on scene")
        }
        _ => (TimelineEntryKind::Cleared, "cleared"),
    };
    dispatch.status = domain::derive_status(dispatch, &dispatch.assignments) as i32;
    dispatch.updated_at = ts;
    records::update_dispatch(&*runtime.store, tx, dispatch).await?;
    events::record_entry(
        runtime,
        tx,
        effects,
        dispatch,
        Entry {
            kind,
            assignment: Some(&assignment),
            actor,
            note,
            description: format!("{} {what}", assignment.callsign),
            location,
        },
        now,
    )
    .await?;
    let action_name = match action {
        AssignmentAction::Acknowledge => "dispatch.Acknowledge",
        AssignmentAction::EnRoute => "dispatch.MarkEnRoute",
        AssignmentAction::OnScene => "dispatch.MarkOnScene",
        _ => "dispatch.ClearUnit",
    };
    events::audit(
        &runtime.context,
        tx,
        Audit {
            actor,
            action: action_name,
            resource_type: "dispatch",
            resource_id: &dispatch.dispatch_id,
            station_id: &dispatch.station_id,
            detail: format!("unit {unit_id}"),
        },
        now,
    )
    .await?;
    effects.units.push(unit_id.to_owned());
    effects.dispatch = Some(dispatch.clone());
    Ok(assignment)
}

/// Closes a dispatch (clearing active units when asked).
#[allow(clippy::too_many_arguments)]
pub async fn close(
    runtime: &Runtime,
    tx: &mut Tx,
    effects: &mut Effects,
    dispatch: &mut Dispatch,
    disposition: Disposition,
    narrative: &str,
    clear_active_units: bool,
    actor: &Actor,
) -> Result<(), ApiError> {
    let now = runtime.now();
    let active: Vec<usize> = dispatch
        .assignments
        .iter()
        .enumerate()
        .filter(|(_, a)| domain::is_active(a.status()))
        .map(|(i, _)| i)
        .collect();
    if !active.is_empty() && !clear_active_units {
        return Err(ApiError::FailedPrecondition(format!(
            "dispatch {} still has {} active assignment(s); clear them or set clear_active_units",
            dispatch.dispatch_id,
            active.len()
        )));
    }
    for index in active {
        let mut assignment = dispatch.assignments[index].clone();
        let before = assignment.status;
        domain::apply(&mut assignment, AssignmentAction::Cancel, now)
            .map_err(|e| ApiError::FailedPrecondition(e.to_string()))?;
        if !records::update_assignment(&*runtime.store, tx, &assignment, before).await? {
            return Err(ApiError::FailedPrecondition(format!(
                "assignment {} changed meanwhile; retry",
                assignment.assignment_id
            )));
        }
        runtime
            .store
            .release(
                tx,
                &assignment.unit_id,
                &assignment.assignment_id,
                UnitStatus::Available,
                "",
                now,
            )
            .await?;
        effects.units.push(assignment.unit_id.clone());
        dispatch.assignments[index] = assignment.clone();
        let kind = if assignment.status() == AssignmentStatus::Cleared {
            TimelineEntryKind::Cleared
        } else {
            TimelineEntryKind::AssignmentCancelled
        };
        events::record_entry(
            runtime,
            tx,
            effects,
            dispatch,
            Entry {
                kind,
                assignment: Some(&assignment),
                actor,
                note: "",
                description: format!("{} released with the close", assignment.callsign),
                location: None,
            },
            now,
        )
        .await?;
    }
    dispatch.status = DispatchStatus::Closed as i32;
    dispatch.disposition = disposition as i32;
    dispatch.narrative = narrative.to_owned();
    dispatch.closed_by = Some(actor.clone());
    dispatch.closed_at = Some(timestamp(now));
    dispatch.updated_at = Some(timestamp(now));
    dispatch.unfilled_requirements.clear();
    records::update_dispatch(&*runtime.store, tx, dispatch).await?;
    events::record_entry(
        runtime,
        tx,
        effects,
        dispatch,
        Entry {
            kind: TimelineEntryKind::Closed,
            assignment: None,
            actor,
            note: narrative,
            description: format!("dispatch closed: {}", disposition.as_str_name()),
            location: None,
        },
        now,
    )
    .await?;
    let mut officer_ids: Vec<String> = Vec::new();
    for assignment in dispatch
        .assignments
        .iter()
        .filter(|a| a.on_scene_at.is_some())
    {
        if let Some(unit) = runtime.store.unit_in(tx, &assignment.unit_id).await? {
            for officer in unit.officer_ids {
                if !officer_ids.contains(&officer) {
                    officer_ids.push(officer);
                }
            }
        }
    }
    runtime
        .context
        .outbox
        .enqueue(
            tx,
            &dispatch.incident_id,
            &DispatchClosed {
                dispatch: Some(dispatch.clone()),
                officer_ids,
            },
        )
        .await?;
    events::audit(
        &runtime.context,
        tx,
        Audit {
            actor,
            action: "dispatch.CloseDispatch",
            resource_type: "dispatch",
            resource_id: &dispatch.dispatch_id,
            station_id: &dispatch.station_id,
            detail: disposition.as_str_name().to_owned(),
        },
        now,
    )
    .await?;
    effects.dispatch = Some(dispatch.clone());
    Ok(())
}
