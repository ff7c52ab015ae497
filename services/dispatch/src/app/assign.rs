//! Assigning units: the automatic pick of the nearest suitable free unit (by ETA) and a
//! dispatcher's choice; each reservation is atomic (see `Store::reserve`).

use std::time::Duration;

use chrono::{DateTime, Utc};
use pingan_platform::ApiError;
use pingan_platform::storage::Tx;
use pingan_proto::common::v1::Actor;
use pingan_proto::dispatch::v1::{
    Assignment, AssignmentSource, AssignmentStatus, Dispatch, TimelineEntryKind, UnitKind,
    UnitRequirement,
};

use crate::app::outbound::{self, Audit, Entry};
use crate::app::{Effects, Runtime};
use crate::app::{deadlines, records};
use crate::domain::{self, geo};
use crate::positions::{Candidate, SearchQuery};
use pingan_platform::time::to_timestamp;

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

pub(crate) fn now_plus(now: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    now + chrono::Duration::from_std(d).unwrap_or_default()
}

fn location_of(dispatch: &Dispatch) -> (f64, f64) {
    dispatch
        .location
        .as_ref()
        .map(|l| (l.lat, l.lon))
        .unwrap_or_default()
}

/// The unit an assignment sends, and why.
struct Pick<'a> {
    assignment_id: String,
    /// `(unit_id, callsign, UnitKind number)`.
    unit: (&'a str, &'a str, i32),
    distance_m: f64,
    requirement: Option<UnitRequirement>,
}

/// Builds an assignment of the picked unit to `dispatch`.
fn new_assignment(
    runtime: &Runtime,
    dispatch: &Dispatch,
    pick: Pick<'_>,
    how: &AssignContext<'_>,
    now: DateTime<Utc>,
) -> Assignment {
    let Pick {
        assignment_id,
        unit: (unit_id, callsign, kind),
        distance_m,
        requirement,
    } = pick;
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
        assigned_at: Some(to_timestamp(now)),
        ack_due_at: Some(to_timestamp(now_plus(now, runtime.settings.ack_timeout))),
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
            stations: None,
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
            let pick = Pick {
                assignment_id,
                unit: (&row.unit_id, &row.callsign, row.kind as i32),
                distance_m: candidate.distance_m,
                requirement: Some(requirement.clone()),
            };
            let assignment = new_assignment(runtime, dispatch, pick, how, now);
            records::insert_assignment(&*runtime.store, tx, &assignment).await?;
            deadlines::arm_ack(runtime, tx, &assignment).await?;
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
                    outbound::record_entry(
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
            outbound::record_entry(
                runtime,
                tx,
                effects,
                dispatch,
                Entry {
                    kind: TimelineEntryKind::NoUnitAvailable,
                    assignment: None,
                    actor: &outbound::service_actor(),
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
    let pick = Pick {
        assignment_id,
        unit: (&unit.unit_id, &unit.callsign, unit.kind as i32),
        distance_m,
        requirement: None,
    };
    let assignment = new_assignment(runtime, dispatch, pick, &how, now);
    records::insert_assignment(&*runtime.store, tx, &assignment).await?;
    deadlines::arm_ack(runtime, tx, &assignment).await?;
    drop_filled_requirement(dispatch, unit.kind as i32, &unit.capabilities);
    dispatch.assignments.push(assignment.clone());
    dispatch.status = domain::derive_status(dispatch, &dispatch.assignments) as i32;
    dispatch.updated_at = Some(to_timestamp(now));
    records::update_dispatch(&*runtime.store, tx, dispatch).await?;
    outbound::record_entry(
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
    outbound::audit(
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
