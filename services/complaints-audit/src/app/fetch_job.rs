//! The dispatch timeline fetch as a durable platform job: a PENDING timeline item writes a
//! `complaints-audit.fetch-timeline` job in the transaction that stores it; the job worker
//! fetches it again with the platform's backoff until it is attached, and dead-letters the job
//! after the configured attempts (the item then stays PENDING with the reason).

use std::sync::Arc;
use std::time::Duration;

use pingan_platform::ApiError;
use pingan_platform::jobs::{
    Job, JobConfig, JobError, JobFuture, JobHandler, JobOutcome, JobQueue, JobWorker, NewJob,
    RetryPolicy, backoff_ceiling,
};
use pingan_platform::storage::Tx;
use pingan_platform::{ServiceContext, StorageError};

use super::access::system_actor;
use super::evidence::fetch_timeline;
use super::{Core, audit_own, own_action};
use crate::domain::evidence::fill;
use crate::domain::records::EvidenceRow;
use crate::settings::Settings;

/// The kind of the timeline fetch jobs.
pub const FETCH: &str = "complaints-audit.fetch-timeline";

/// The service's job queue in its database.
pub fn queue(context: &ServiceContext) -> JobQueue {
    JobQueue::new(crate::SHORT_NAME, context.db.clone(), context.clock.clone())
}

/// How fetches are retried: from the worker interval, doubling up to the longest wait, dead
/// after the configured attempts.
pub fn policy(settings: &Settings) -> RetryPolicy {
    RetryPolicy {
        max_attempts: settings.fetch_max_attempts.max(1),
        initial_backoff: settings.worker_interval,
        max_backoff: settings.max_fetch_backoff.max(settings.worker_interval),
    }
}

/// Writes the fetch job of the PENDING item `row` in `tx` (the transaction storing it): due at
/// once when no fetch was tried yet, else after the first backoff.
pub async fn enqueue(core: &Core, tx: &mut Tx, row: &EvidenceRow) -> Result<(), StorageError> {
    let policy = policy(&core.settings);
    let wait = if row.fetch_attempts > 0 {
        backoff_ceiling(policy.initial_backoff, policy.max_backoff, 1)
    } else {
        Duration::ZERO
    };
    let at = core.now() + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::zero());
    let job = NewJob::new(FETCH, &row.evidence_id, row.evidence_id.as_bytes().to_vec()).at(at);
    core.jobs.enqueue_in(tx, job).await?;
    Ok(())
}

/// Gives every PENDING item a fetch job, due now unless it has one (items stored before the
/// fetch ran as a job had none); idempotent. The number of pending items.
pub async fn enqueue_pending(core: &Core) -> Result<usize, StorageError> {
    let mut tx = core.context.db.begin_write().await?;
    let ids = core.store.pending_evidence_ids(&mut tx).await?;
    for id in &ids {
        let job = NewJob::new(FETCH, id, id.as_bytes().to_vec());
        core.jobs.enqueue_in(&mut tx, job).await?;
    }
    core.jobs.commit(tx).await?;
    Ok(ids.len())
}

fn retry(err: impl std::fmt::Display) -> JobError {
    JobError::Retry(err.to_string())
}

/// One fetch of the pending item `evidence_id`; `last` when the job has no attempt left.
pub async fn fetch_once(
    core: &Core,
    evidence_id: &str,
    last: bool,
) -> Result<JobOutcome, JobError> {
    let Some(mut row) = core
        .store
        .evidence_by_id(evidence_id)
        .await
        .map_err(retry)?
    else {
        return Err(JobError::Permanent(format!("no evidence {evidence_id}")));
    };
    if !row.is_pending() {
        return Ok(JobOutcome::Done); // attached by an earlier run
    }
    match fetch_timeline(core, &row.fetch_incident_id, &row.fetch_dispatch_id).await {
        Ok(timeline) => {
            fill(&mut row, timeline, core.now());
            attach(core, &row).await.map_err(retry)?;
            Ok(JobOutcome::Done)
        }
        Err(reason) => {
            let reason = if last {
                format!("{reason}; no more attempts")
            } else {
                reason
            };
            tracing::warn!(evidence_id, reason = %reason, "dispatch timeline still pending");
            core.store
                .record_fetch_failure(evidence_id, &reason)
                .await
                .map_err(retry)?;
            Err(JobError::Retry(reason))
        }
    }
}

/// Stores the fetched content of the pending item `row` with its audit record.
async fn attach(core: &Core, row: &EvidenceRow) -> Result<(), ApiError> {
    let mut tx = core.context.db.begin_write().await?;
    if !core.store.complete_evidence(&mut tx, row).await? {
        tx.rollback().await?;
        return Ok(());
    }
    let detail = format!(
        "dispatch timeline of incident {} attached as {}",
        row.fetch_incident_id, row.evidence_id
    );
    let audit = own_action(
        &system_actor(),
        "AttachDispatchTimeline",
        &row.complaint_id,
        "",
    )
    .detail(detail);
    audit_own(core, &mut tx, audit).await?;
    tx.commit().await?;
    tracing::info!(evidence_id = %row.evidence_id, complaint_id = %row.complaint_id,
        "pending dispatch timeline attached");
    Ok(())
}

/// Runs the fetch jobs.
struct FetchHandler {
    core: Arc<Core>,
}

impl JobHandler for FetchHandler {
    fn kind(&self) -> &str {
        FETCH
    }

    fn run<'a>(&'a self, job: &'a Job) -> JobFuture<'a> {
        Box::pin(async move {
            let Ok(evidence_id) = std::str::from_utf8(&job.payload) else {
                return Err(JobError::Permanent("payload is not an evidence id".into()));
            };
            let last = job.attempts >= policy(&self.core.settings).max_attempts;
            fetch_once(&self.core, evidence_id, last).await
        })
    }

    fn retry_policy(&self) -> Option<RetryPolicy> {
        Some(policy(&self.core.settings))
    }
}

/// The worker of the service's jobs, on the queue of `core` (whose enqueues wake it).
pub fn worker(core: Arc<Core>) -> JobWorker {
    let settings = &core.settings;
    let config = JobConfig {
        poll_interval: settings.worker_interval,
        // A run is one dispatch call and one short transaction.
        lease: (settings.dispatch_timeout * 4).max(Duration::from_secs(30)),
        retry: policy(settings),
        ..JobConfig::default()
    };
    JobWorker::new(core.jobs.clone(), config).handle(Arc::new(FetchHandler { core }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_follows_the_settings() {
        let settings = Settings {
            worker_interval: Duration::from_secs(1),
            max_fetch_backoff: Duration::from_secs(10),
            fetch_max_attempts: 0,
            ..Settings::default()
        };
        let policy = policy(&settings);
        assert_eq!(policy.max_attempts, 1);
        assert_eq!(policy.initial_backoff, Duration::from_secs(1));
        assert_eq!(
            backoff_ceiling(policy.initial_backoff, policy.max_backoff, 6),
            Duration::from_secs(10)
        );
    }
}
