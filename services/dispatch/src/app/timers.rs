//! The response clocks when they run out (durable jobs armed by `deadlines`, due on the injected
//! clock): an assignment not acknowledged in time is escalated to the next nearest suitable
//! unit; a dispatch with no unit en route by its response target raises an SLA breach (timeline
//! entry, event, metric). Every step re-checks its condition under the dispatch's row lock, so a
//! job that fires after the state moved on, or runs twice, changes nothing.

use std::sync::{Arc, LazyLock};

use pingan_platform::ApiError;
use pingan_platform::jobs::{
    Job, JobConfig, JobError, JobFuture, JobHandler, JobOutcome, JobWorker,
};
use pingan_proto::common::v1::Priority;
use pingan_proto::dispatch::v1::{
    AssignmentSource, AssignmentStatus, SlaBreached, TimelineEntryKind, UnitRequirement, UnitStatus,
};
use prometheus::IntCounterVec;

use crate::app::assign::{self, AssignContext};
use crate::app::outbound::{self, Entry};
use crate::app::{Effects, Runtime};
use crate::app::{deadlines, records};
use crate::domain::{self, AssignmentAction};
use pingan_platform::time::{from_timestamp, to_timestamp};

static SLA_BREACHES: LazyLock<Option<IntCounterVec>> = LazyLock::new(|| {
    pingan_platform::metrics::register(IntCounterVec::new(
        prometheus::Opts::new(
            "pingan_dispatch_sla_breaches_total",
            "dispatches whose response target passed with no unit en route",
        ),
        &["priority", "station"],
    ))
});

static ESCALATIONS: LazyLock<Option<IntCounterVec>> = LazyLock::new(|| {
    pingan_platform::metrics::register(IntCounterVec::new(
        prometheus::Opts::new(
            "pingan_dispatch_escalations_total",
            "assignments escalated because they were not acknowledged in time",
        ),
        &["outcome"],
    ))
});

/// Creates the breach series of `station` at zero, for every priority (see `app::metrics`).
pub fn register_station(station: &str) {
    if let Some(counter) = SLA_BREACHES.as_ref() {
        for priority in [Priority::P1, Priority::P2, Priority::P3, Priority::P4] {
            counter.with_label_values(&[
                pingan_catalogue::proto::priority_label(priority as i32),
                station,
            ]);
        }
    }
}

/// Why a timer job could not run now.
fn retry(err: ApiError) -> JobError {
    JobError::Retry(err.to_string())
}

/// The dispatch a timer job is about.
fn dispatch_of(job: &Job) -> Result<&str, JobError> {
    std::str::from_utf8(&job.payload)
        .map_err(|_| JobError::Permanent("payload is not a dispatch id".into()))
}

/// Escalates the assignments of a dispatch whose acknowledgement deadline passed.
struct AckDeadline(Arc<Runtime>);

impl JobHandler for AckDeadline {
    fn kind(&self) -> &str {
        deadlines::ACK_DEADLINE
    }

    fn run<'a>(&'a self, job: &'a Job) -> JobFuture<'a> {
        Box::pin(async move {
            let dispatch_id = dispatch_of(job)?;
            // Escalation searches the live store: it must know every unit first.
            self.0.warm().await.map_err(retry)?;
            escalate(&self.0, dispatch_id).await.map_err(retry)?;
            Ok(JobOutcome::Done)
        })
    }
}

/// Marks a dispatch whose response target passed with no unit en route.
struct ResponseTarget(Arc<Runtime>);

impl JobHandler for ResponseTarget {
    fn kind(&self) -> &str {
        deadlines::RESPONSE_TARGET
    }

    fn run<'a>(&'a self, job: &'a Job) -> JobFuture<'a> {
        Box::pin(async move {
            breach(&self.0, dispatch_of(job)?).await.map_err(retry)?;
            Ok(JobOutcome::Done)
        })
    }
}

/// The worker of dispatch's jobs (the response clocks), on `runtime`'s queue; the host runs the
/// one `Service::build` returns, tests may drive another with [`JobWorker::run_once`].
pub fn worker(runtime: &Arc<Runtime>) -> JobWorker {
    let config = JobConfig {
        poll_interval: runtime.settings.tick_interval,
        ..JobConfig::default()
    };
    JobWorker::new(runtime.jobs.clone(), config)
        .handle(Arc::new(AckDeadline(runtime.clone())))
        .handle(Arc::new(ResponseTarget(runtime.clone())))
}

/// Escalates the overdue assignments of one dispatch: (escalated, reassigned).
async fn escalate(runtime: &Runtime, dispatch_id: &str) -> Result<(u32, u32), ApiError> {
    let context = &runtime.context;
    let now = runtime.now();
    let mut tx = context.db.begin_write().await?;
    let mut effects = Effects::default();
    let Some(mut dispatch) = records::lock_dispatch(&*runtime.store, &mut tx, dispatch_id).await?
    else {
        return Ok((0, 0));
    };
    let overdue: Vec<usize> = dispatch
        .assignments
        .iter()
        .enumerate()
        .filter(|(_, a)| {
            a.status() == AssignmentStatus::Assigned
                && a.ack_due_at
                    .as_ref()
                    .and_then(from_timestamp)
                    .is_some_and(|due| due <= now)
        })
        .map(|(i, _)| i)
        .collect();
    let (mut escalated, mut reassigned) = (0, 0);
    let service = outbound::service_actor();
    for index in overdue {
        let mut old = dispatch.assignments[index].clone();
        domain::apply(&mut old, AssignmentAction::Escalate, now)
            .map_err(|e| ApiError::Internal(e.into()))?;
        if !records::update_assignment(
            &*runtime.store,
            &mut tx,
            &old,
            AssignmentStatus::Assigned as i32,
        )
        .await?
        {
            continue;
        }
        // A unit that does not answer is not offered again automatically until someone
        // sets it AVAILABLE.
        let reason = format!("no acknowledgement for dispatch {}", dispatch.dispatch_id);
        runtime
            .store
            .release(
                &mut tx,
                &old.unit_id,
                &old.assignment_id,
                UnitStatus::Busy,
                &reason,
                now,
            )
            .await?;
        effects.units.push(old.unit_id.clone());
        dispatch.assignments[index] = old.clone();
        dispatch.status = domain::derive_status(&dispatch, &dispatch.assignments) as i32;
        escalated += 1;
        outbound::record_entry(
            runtime,
            &mut tx,
            &mut effects,
            &dispatch,
            Entry {
                kind: TimelineEntryKind::Escalated,
                assignment: Some(&old),
                actor: &service,
                note: "",
                description: format!("{} did not acknowledge in time", old.callsign),
                location: None,
            },
            now,
        )
        .await?;
        if dispatch.status() == pingan_proto::dispatch::v1::DispatchStatus::Closed {
            continue;
        }
        let requirement = old.requirement.clone().unwrap_or_else(|| UnitRequirement {
            kinds: vec![old.unit_kind],
            capabilities: dispatch.required_capabilities.clone(),
            count: 1,
        });
        let single = UnitRequirement {
            count: 1,
            ..requirement
        };
        let how = AssignContext {
            source: AssignmentSource::Escalation,
            escalated_from: &old.assignment_id,
            actor: &service,
            note: "",
        };
        let unfilled = assign::auto_assign(
            runtime,
            &mut tx,
            &mut effects,
            &mut dispatch,
            std::slice::from_ref(&single),
            &how,
            now,
        )
        .await?;
        if unfilled.is_empty() {
            reassigned += 1;
        }
        dispatch.unfilled_requirements.extend(unfilled);
    }
    if escalated == 0 {
        let _ = tx.rollback().await;
        return Ok((0, 0));
    }
    dispatch.status = domain::derive_status(&dispatch, &dispatch.assignments) as i32;
    dispatch.updated_at = Some(to_timestamp(now));
    records::update_dispatch(&*runtime.store, &mut tx, &dispatch).await?;
    context.outbox.commit(tx).await?;
    if let Some(counter) = ESCALATIONS.as_ref() {
        counter
            .with_label_values(&["reassigned"])
            .inc_by(u64::from(reassigned));
        counter
            .with_label_values(&["no_unit"])
            .inc_by(u64::from(escalated - reassigned));
    }
    effects.dispatch = Some(dispatch);
    runtime.after_commit(effects).await;
    Ok((escalated, reassigned))
}

/// Marks one dispatch as having missed its response target; false when it no longer has.
async fn breach(runtime: &Runtime, dispatch_id: &str) -> Result<bool, ApiError> {
    let context = &runtime.context;
    let now = runtime.now();
    let mut tx = context.db.begin_write().await?;
    let mut effects = Effects::default();
    let Some(mut dispatch) = records::lock_dispatch(&*runtime.store, &mut tx, dispatch_id).await?
    else {
        return Ok(false);
    };
    let due = dispatch.response_due_at.as_ref().and_then(from_timestamp);
    let still_due = dispatch.status() != pingan_proto::dispatch::v1::DispatchStatus::Closed
        && !dispatch.sla_breached
        && dispatch.first_en_route_at.is_none()
        && due.is_some_and(|due| due <= now);
    if !still_due {
        let _ = tx.rollback().await;
        return Ok(false);
    }
    dispatch.sla_breached = true;
    dispatch.updated_at = Some(to_timestamp(now));
    records::update_dispatch(&*runtime.store, &mut tx, &dispatch).await?;
    let target = dispatch.response_target.unwrap_or_default();
    let minutes = domain::from_duration(&target)
        .map(|d| d.as_secs() / 60)
        .unwrap_or_default();
    outbound::record_entry(
        runtime,
        &mut tx,
        &mut effects,
        &dispatch,
        Entry {
            kind: TimelineEntryKind::SlaBreached,
            assignment: None,
            actor: &outbound::service_actor(),
            note: "",
            description: format!("response target of {minutes} min missed: no unit en route"),
            location: None,
        },
        now,
    )
    .await?;
    context
        .outbox
        .enqueue(
            &mut tx,
            &dispatch.incident_id,
            &SlaBreached {
                dispatch_id: dispatch.dispatch_id.clone(),
                incident_id: dispatch.incident_id.clone(),
                priority: dispatch.priority,
                station_id: dispatch.station_id.clone(),
                response_target: Some(target),
                due_at: dispatch.response_due_at,
                detected_at: Some(to_timestamp(now)),
            },
        )
        .await?;
    context.outbox.commit(tx).await?;
    if let Some(counter) = SLA_BREACHES.as_ref() {
        counter
            .with_label_values(&[
                pingan_catalogue::proto::priority_label(dispatch.priority),
                &dispatch.station_id,
            ])
            .inc();
    }
    tracing::warn!(dispatch_id = %dispatch.dispatch_id, station_id = %dispatch.station_id, "response target missed");
    effects.dispatch = Some(dispatch);
    runtime.after_commit(effects).await;
    Ok(true)
}
