//! The worker: one per service, claims due jobs in batches under a lease, runs them with bounded
//! concurrency and settles each; wakes when its queue is told of new work, else polls.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

use futures::FutureExt;
use futures::StreamExt;
use tokio::task::JoinSet;

use super::metrics;
use super::{Job, JobConfig, JobError, JobHandler, JobOutcome, JobQueue};
use crate::storage::StorageError;

/// Runs one service's jobs.
#[derive(Clone)]
pub struct JobWorker {
    queue: JobQueue,
    config: JobConfig,
    handlers: BTreeMap<String, Arc<dyn JobHandler>>,
}

impl std::fmt::Debug for JobWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobWorker")
            .field("service", &self.queue.service())
            .field("kinds", &self.handlers.keys().collect::<Vec<_>>())
            .field("config", &self.config)
            .finish()
    }
}

impl JobWorker {
    /// A worker for `queue`'s jobs, with no handler yet.
    pub fn new(queue: JobQueue, config: JobConfig) -> Self {
        metrics::register_service(queue.service(), &[]);
        Self {
            queue,
            config,
            handlers: BTreeMap::new(),
        }
    }

    /// Runs the jobs of `handler.kind()` with `handler` (its metric series exist from now).
    pub fn handle(mut self, handler: Arc<dyn JobHandler>) -> Self {
        let kind = handler.kind().to_owned();
        metrics::register_service(self.queue.service(), std::slice::from_ref(&kind));
        self.handlers.insert(kind, handler);
        self
    }

    /// The queue it works.
    pub fn queue(&self) -> &JobQueue {
        &self.queue
    }

    fn kinds(&self) -> String {
        self.handlers.keys().cloned().collect::<Vec<_>>().join(",")
    }

    async fn claim(&self, limit: usize) -> Result<Vec<Job>, StorageError> {
        if self.handlers.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let limit = u32::try_from(limit)
            .unwrap_or(u32::MAX)
            .min(self.config.batch);
        self.queue
            .claim(&self.kinds(), limit, self.config.lease)
            .await
    }

    /// Claims the jobs due now (one batch), runs them and waits for them; returns how many ran.
    pub async fn run_once(&self) -> Result<usize, StorageError> {
        let jobs = self.claim(self.config.batch as usize).await?;
        let count = jobs.len();
        futures::stream::iter(jobs)
            .for_each_concurrent(self.config.concurrency.max(1), |job| self.execute(job))
            .await;
        Ok(count)
    }

    /// Runs jobs until `shutdown` completes, then stops claiming and waits for running jobs up
    /// to the grace period (any still running are left to their lease and run again later).
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send) {
        let wake = self.queue.wake_handle();
        let concurrency = self.config.concurrency.max(1);
        let mut running = JoinSet::new();
        let mut last_backlog: Option<tokio::time::Instant> = None;
        let mut last_purge: Option<tokio::time::Instant> = None;
        tokio::pin!(shutdown);
        loop {
            if last_backlog.is_none_or(|at| at.elapsed() >= self.config.poll_interval) {
                self.publish_backlog().await;
                last_backlog = Some(tokio::time::Instant::now());
            }
            if last_purge.is_none_or(|at| at.elapsed() >= self.config.purge_interval) {
                if let Err(err) = self.purge_finished().await {
                    tracing::warn!(service = %self.queue.service(), error = %err,
                        "finished jobs not purged; tried again later");
                }
                last_purge = Some(tokio::time::Instant::now());
            }
            let free = concurrency.saturating_sub(running.len());
            let mut claimed = 0;
            match self.claim(free).await {
                Ok(jobs) => {
                    claimed = jobs.len();
                    for job in jobs {
                        let worker = self.clone();
                        running.spawn(async move { worker.execute(job).await });
                    }
                }
                Err(err) => {
                    tracing::warn!(service = %self.queue.service(), error = %err, "jobs unavailable");
                }
            }
            // A full claim may have left more due work: look again at once when there is room.
            if claimed > 0
                && claimed == free.min(self.config.batch as usize)
                && running.len() < concurrency
            {
                continue;
            }
            tokio::select! {
                () = &mut shutdown => break,
                () = wake.notified() => {}
                () = tokio::time::sleep(self.config.poll_interval) => {}
                Some(_) = running.join_next(), if !running.is_empty() => {}
            }
        }
        let drained = tokio::time::timeout(self.config.shutdown_grace, async {
            while running.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::warn!(service = %self.queue.service(), left = running.len(),
                "jobs still running at the end of the grace period: left to their lease");
            running.abort_all();
        }
    }

    /// Runs one claimed job and records its outcome.
    async fn execute(&self, job: Job) {
        let Some(handler) = self.handlers.get(&job.kind).cloned() else {
            return; // claims name only the kinds handled here
        };
        let policy = handler.retry_policy().unwrap_or(self.config.retry);
        let run = std::panic::AssertUnwindSafe(handler.run(&job)).catch_unwind();
        let result = match tokio::time::timeout(self.config.lease, run).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(JobError::Retry("handler panicked".to_owned())),
            Err(_) => Err(JobError::Retry(format!(
                "still running after the lease ({:?})",
                self.config.lease
            ))),
        };
        if let Err(err) = &result {
            tracing::debug!(service = %self.queue.service(), kind = %job.kind, key = %job.key,
                attempts = job.attempts, error = %err, "job failed");
        }
        match self.queue.settle(&job, &result, &policy).await {
            Ok(true) => {}
            Ok(false) => tracing::info!(kind = %job.kind, key = %job.key,
                "job was taken over after its lease ran out; outcome not recorded"),
            Err(err) => tracing::warn!(kind = %job.kind, key = %job.key, error = %err,
                "cannot record job outcome; it runs again after its lease"),
        }
        if matches!(result, Ok(JobOutcome::RunAgainAt(_))) {
            tracing::trace!(kind = %job.kind, key = %job.key, "job deferred by its handler");
        }
    }

    /// Deletes the jobs finished longer ago than the retention; returns how many.
    pub async fn purge_finished(&self) -> Result<u64, StorageError> {
        let retention =
            chrono::Duration::from_std(self.config.done_retention).unwrap_or(chrono::Duration::MAX);
        let before = self
            .queue
            .clock()
            .now()
            .checked_sub_signed(retention)
            .unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC);
        let purged = self.queue.purge_done(before).await?;
        if purged > 0 {
            tracing::debug!(service = %self.queue.service(), purged, "finished jobs purged");
        }
        Ok(purged)
    }

    async fn publish_backlog(&self) {
        match self.queue.backlog().await {
            Ok((pending, oldest)) => metrics::set_backlog(self.queue.service(), pending, oldest),
            Err(err) => tracing::debug!(error = %err, "job backlog unavailable"),
        }
    }
}
