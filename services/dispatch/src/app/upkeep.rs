//! Background work besides the timers, as host workers: once at start, rows stored before the
//! column layout are converted and clocks armed before the durable jobs existed get their jobs;
//! every tick, live positions past their retention are forgotten.

use std::sync::Arc;

use pingan_platform::ApiError;
use pingan_platform::service::Worker;
use pingan_platform::time::from_timestamp;
use pingan_proto::dispatch::v1::AssignmentStatus;

use crate::app::{Runtime, deadlines, records};

/// Armed clocks looked at per start, per kind (they are few: open dispatches, fresh assignments).
const ARMED_LIMIT: i64 = 10_000;

/// The one-off start work: legacy rows to columns, then jobs for clocks armed without one.
pub fn on_start(runtime: Arc<Runtime>) -> Worker {
    Worker::new("dispatch-start", move |shutdown| async move {
        if shutdown.is_signalled() {
            return;
        }
        // Reads accept both layouts meanwhile; a failure is retried at the next start.
        match runtime.store.convert_legacy_rows().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(rows = n, "dispatch rows converted to columns"),
            Err(err) => {
                tracing::warn!(error = %err, "dispatch rows not converted; next start retries")
            }
        }
        match arm_existing(&runtime).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(jobs = n, "dispatch clocks armed as jobs"),
            Err(err) => {
                tracing::warn!(error = %err, "dispatch clocks not armed; next start retries")
            }
        }
    })
}

/// Forgets old positions every `tick_interval`.
pub fn position_sweeper(runtime: Arc<Runtime>) -> Worker {
    let interval = runtime.settings.tick_interval;
    Worker::every("dispatch-positions", interval, move || {
        let runtime = runtime.clone();
        async move {
            forget_old_positions(&runtime).await;
        }
    })
}

/// Forgets live positions older than the retention (PIPL: kept only as long as needed); returns
/// how many.
pub async fn forget_old_positions(runtime: &Runtime) -> u64 {
    let retention = chrono::Duration::from_std(runtime.settings.position_retention)
        .unwrap_or(chrono::Duration::MAX);
    let cutoff = runtime
        .now()
        .checked_sub_signed(retention)
        .unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC);
    runtime
        .positions
        .forget_before(cutoff)
        .await
        .unwrap_or_else(|err| {
            tracing::warn!(error = %err, "old positions not forgotten this round");
            0
        })
}

/// Enqueues the job of every clock still running (the existing ones are left as they are: a
/// job's key is its assignment or dispatch); returns how many clocks it looked at.
pub async fn arm_existing(runtime: &Runtime) -> Result<u64, ApiError> {
    let (_, end_of_time) = crate::store::time_bounds(None, None);
    let mut armed = 0;
    let mut waiting = runtime.store.ack_due(end_of_time, ARMED_LIMIT).await?;
    waiting.sort();
    waiting.dedup();
    for dispatch_id in waiting {
        let Some(dispatch) = records::dispatch(&*runtime.store, &dispatch_id).await? else {
            continue;
        };
        for assignment in &dispatch.assignments {
            let due = assignment.ack_due_at.as_ref().and_then(from_timestamp);
            if let (AssignmentStatus::Assigned, Some(due)) = (assignment.status(), due) {
                let job = deadlines::ack_job(&dispatch_id, &assignment.assignment_id, due);
                runtime.jobs.enqueue(job).await?;
                armed += 1;
            }
        }
    }
    for dispatch_id in runtime.store.sla_due(end_of_time, ARMED_LIMIT).await? {
        let Some(dispatch) = records::dispatch(&*runtime.store, &dispatch_id).await? else {
            continue;
        };
        if let Some(due) = dispatch.response_due_at.as_ref().and_then(from_timestamp) {
            runtime
                .jobs
                .enqueue(deadlines::response_job(&dispatch_id, due))
                .await?;
            armed += 1;
        }
    }
    Ok(armed)
}
