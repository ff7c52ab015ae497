//! The dispatch lifecycle: open (with automatic assignment of P1/P2), assign, acknowledge, en
//! route, on scene, clear, close. Each change runs in one transaction with its timeline entries,
//! events and audit record; unit reservations are atomic (see `store::reserve`).

use std::time::Duration;

use pingan_platform::ApiError;
use pingan_platform::storage::{StorageError, Tx};
use pingan_proto::common::v1::{Actor, GeoPoint, Priority};
use pingan_proto::dispatch::v1::{
    Assignment, AssignmentSource, AssignmentStatus, Dispatch, DispatchClosed, DispatchStatus,
    Disposition, TimelineEntryKind, UnitRequirement, UnitStatus,
};

use crate::app::assign::{AssignContext, auto_assign, now_plus};
use crate::app::outbound::{self, Audit, Entry};
use crate::app::{Effects, Runtime};
use crate::app::{deadlines, records};
use crate::domain::{self, AssignmentAction};
use pingan_platform::time::to_timestamp;

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
    /// When the incident's first call rang (for the response-time analysis).
    pub rang_at: Option<chrono::DateTime<chrono::Utc>>,
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
        response_due_at: Some(to_timestamp(now_plus(now, target))),
        lookout: request.lookout.clone(),
        opened_by: Some(actor.clone()),
        opened_at: Some(to_timestamp(now)),
        updated_at: Some(to_timestamp(now)),
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
    deadlines::arm_response(runtime, tx, &dispatch).await?;
    crate::app::analysis::record_ring(runtime, tx, &dispatch, request.rang_at).await?;
    let description = format!(
        "dispatch opened: {} {}",
        request.priority.as_str_name(),
        request.category
    );
    outbound::record_entry(
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
            actor: &outbound::service_actor(),
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
    outbound::audit(
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

/// A unit's own step on its assignment, as asked.
#[derive(Debug, Clone)]
pub struct UnitStep<'a> {
    pub unit_id: &'a str,
    pub action: AssignmentAction,
    pub note: &'a str,
    /// Where the unit reports it is.
    pub location: Option<GeoPoint>,
    /// The unit's status once the assignment ends (clear).
    pub next_status: UnitStatus,
    pub actor: &'a Actor,
}

/// A unit's own step on its assignment: acknowledge, en route, on scene, clear.
pub async fn step(
    runtime: &Runtime,
    tx: &mut Tx,
    effects: &mut Effects,
    dispatch: &mut Dispatch,
    request: UnitStep<'_>,
) -> Result<Assignment, ApiError> {
    let UnitStep {
        unit_id,
        action,
        note,
        location,
        next_status,
        actor,
    } = request;
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
    let ts = Some(to_timestamp(now));
    let (kind, what) = match action {
        AssignmentAction::Acknowledge => (TimelineEntryKind::Acknowledged, "acknowledged"),
        AssignmentAction::EnRoute => {
            dispatch.first_en_route_at = dispatch.first_en_route_at.or(ts);
            (TimelineEntryKind::EnRoute, "en route")
        }
        AssignmentAction::OnScene => {
            if dispatch.first_on_scene_at.is_none() {
                crate::app::analysis::first_on_scene(runtime, tx, dispatch, now).await?;
            }
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
    outbound::record_entry(
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
    outbound::audit(
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

/// A close, as asked.
#[derive(Debug, Clone)]
pub struct CloseRequest<'a> {
    pub disposition: Disposition,
    pub narrative: &'a str,
    /// Release units still active instead of refusing.
    pub clear_active_units: bool,
    pub actor: &'a Actor,
}

/// Closes a dispatch (clearing active units when asked).
pub async fn close(
    runtime: &Runtime,
    tx: &mut Tx,
    effects: &mut Effects,
    dispatch: &mut Dispatch,
    request: CloseRequest<'_>,
) -> Result<(), ApiError> {
    let CloseRequest {
        disposition,
        narrative,
        clear_active_units,
        actor,
    } = request;
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
        outbound::record_entry(
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
    dispatch.closed_at = Some(to_timestamp(now));
    dispatch.updated_at = Some(to_timestamp(now));
    dispatch.unfilled_requirements.clear();
    records::update_dispatch(&*runtime.store, tx, dispatch).await?;
    outbound::record_entry(
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
    outbound::audit(
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
