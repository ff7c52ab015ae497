//! The owner lookup as a durable platform job: registering a found ID card whose owner the
//! registry could not give at once writes a `followup.owner_lookup` job in the item's own
//! transaction; the job worker retries it with backoff and makes it a dead letter after the
//! policy's attempts (the item then stays PENDING; operators can retry the dead job).

use std::sync::Arc;
use std::time::Duration;

use pingan_platform::jobs::{
    Job, JobConfig, JobError, JobFuture, JobHandler, JobOutcome, JobQueue, JobWorker, NewJob,
    RetryPolicy,
};
use pingan_platform::storage::Tx;
use pingan_platform::{ServiceContext, StorageError};

use super::Core;
use crate::config::FollowupConfig;

/// The kind of the owner lookup jobs.
pub const OWNER_LOOKUP: &str = "followup.owner_lookup";

/// case-followup's job queue in the service's database.
pub fn queue(context: &ServiceContext) -> JobQueue {
    JobQueue::new(crate::SHORT_NAME, context.db.clone(), context.clock.clone())
}

/// How lookups are retried.
pub fn policy(config: &FollowupConfig) -> RetryPolicy {
    RetryPolicy {
        max_attempts: config.lookup_attempts,
        initial_backoff: config.lookup_retry_initial,
        max_backoff: config.lookup_retry_max,
    }
}

impl Core {
    /// Enqueues in `tx` the lookup of `found_item_id`, first run after one backoff (the request
    /// made the first attempt); one job per item.
    pub async fn enqueue_lookup(
        &self,
        tx: &mut Tx,
        found_item_id: &str,
    ) -> Result<(), StorageError> {
        let wait = policy(&self.config).backoff(1);
        let at = self.now() + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX);
        let job = NewJob::new(
            OWNER_LOOKUP,
            found_item_id,
            found_item_id.as_bytes().to_vec(),
        );
        self.jobs.enqueue_in(tx, job.at(at)).await?;
        Ok(())
    }
}

impl Core {
    /// Enqueues, due now, the lookup of every item still PENDING without a job (items stored
    /// before lookups were jobs); items with a job keep it. How many items are pending.
    pub async fn enqueue_pending_lookups(&self) -> Result<usize, StorageError> {
        let mut tx = self.context.db.begin_write().await?;
        let pending = self.store.pending_lookups(&mut tx).await?;
        for id in &pending {
            let job = NewJob::new(OWNER_LOOKUP, id, id.as_bytes().to_vec());
            self.jobs.enqueue_in(&mut tx, job).await?;
        }
        self.jobs.commit(tx).await?;
        Ok(pending.len())
    }
}

/// Runs the owner lookup jobs.
struct LookupHandler {
    core: Arc<Core>,
}

impl JobHandler for LookupHandler {
    fn kind(&self) -> &str {
        OWNER_LOOKUP
    }

    fn run<'a>(&'a self, job: &'a Job) -> JobFuture<'a> {
        Box::pin(async move {
            let Ok(found_item_id) = std::str::from_utf8(&job.payload) else {
                return Err(JobError::Permanent("payload is not a found item id".into()));
            };
            match self.core.lookup_owner(found_item_id).await {
                Ok(true) => Ok(JobOutcome::Done),
                Ok(false) => Err(JobError::Retry("grid-registry unavailable".into())),
                Err(err) => Err(JobError::Retry(err.to_string())),
            }
        })
    }

    fn retry_policy(&self) -> Option<RetryPolicy> {
        Some(policy(&self.core.config))
    }
}

/// The worker of case-followup's jobs (on `core.jobs`, so that enqueues wake it).
pub fn worker(core: Arc<Core>) -> JobWorker {
    let config = JobConfig {
        poll_interval: core.config.lookup_poll,
        // A run is one registry call and one write: cut off well after the call's deadline.
        lease: core
            .config
            .lookup_timeout
            .saturating_mul(4)
            .max(Duration::from_secs(30)),
        batch: core.config.lookup_batch.max(1),
        retry: policy(&core.config),
        ..JobConfig::default()
    };
    JobWorker::new(core.jobs.clone(), config).handle(Arc::new(LookupHandler { core }))
}
