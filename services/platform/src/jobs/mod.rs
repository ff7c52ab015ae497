//! Durable background jobs: work written in the business transaction (`platform_jobs`), claimed
//! by a [`JobWorker`] under a lease, retried with capped, jittered backoff, dead-lettered after
//! its attempts or at once on a permanent error. A worker that dies mid-job loses nothing: its
//! lease expires and another worker (or the restarted process) runs the job again, so handlers
//! must be idempotent (at least once, like the outbox).
//!
//! Sender: `queue.enqueue_in(&mut tx, NewJob::new(kind, key, payload))` then commit (with
//! [`JobQueue::commit`] to wake the worker at once). Receiver: a [`JobHandler`] per kind,
//! registered on the service's [`JobWorker`].

mod metrics;
mod queue;
mod worker;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use chrono::{DateTime, Utc};

pub use queue::JobQueue;
pub use worker::JobWorker;

/// A job's row id.
pub type JobId = i64;

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobState {
    /// Waiting for its `run_at`.
    Pending,
    /// Claimed by a worker until `leased_until`.
    Running,
    /// Finished.
    Done,
    /// Gave up: a permanent error or its attempts ran out (an operator may retry it).
    Dead,
}

impl JobState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Done => "done",
            Self::Dead => "dead",
        }
    }

    fn parse(text: &str) -> Self {
        match text {
            "running" => Self::Running,
            "done" => Self::Done,
            "dead" => Self::Dead,
            _ => Self::Pending,
        }
    }
}

/// A job as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    /// Row id.
    pub id: JobId,
    /// The owning service.
    pub service: String,
    /// Which handler runs it.
    pub kind: String,
    /// Dedupe key, unique per (service, kind).
    pub key: String,
    /// What the handler needs (the handler's own encoding).
    pub payload: Vec<u8>,
    /// Where it is.
    pub state: JobState,
    /// Claims so far (this run included while running).
    pub attempts: u32,
    /// Not run before this time.
    pub run_at: DateTime<Utc>,
    /// A running job belongs to its worker until then.
    pub leased_until: Option<DateTime<Utc>>,
    /// Who holds (or last held) it.
    pub lease_owner: String,
    /// Last failure.
    pub last_error: String,
    /// Enqueued at.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Done or dead at.
    pub finished_at: Option<DateTime<Utc>>,
}

/// A job to enqueue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJob {
    /// Which handler runs it.
    pub kind: String,
    /// Dedupe key: a second job with the same (kind, key) is not created.
    pub key: String,
    /// What the handler needs.
    pub payload: Vec<u8>,
    /// Not before this time (now when absent).
    pub run_at: Option<DateTime<Utc>>,
}

impl NewJob {
    /// A job of `kind` identified by `key`, due now.
    pub fn new(kind: &str, key: &str, payload: Vec<u8>) -> Self {
        Self {
            kind: kind.to_owned(),
            key: key.to_owned(),
            payload,
            run_at: None,
        }
    }

    /// Due at `at` instead of now.
    pub fn at(mut self, at: DateTime<Utc>) -> Self {
        self.run_at = Some(at);
        self
    }
}

/// What a handler did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobOutcome {
    /// Finished.
    Done,
    /// Nothing to do yet: run again at this time (does not count as a failed attempt).
    RunAgainAt(DateTime<Utc>),
}

/// Why a handler failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobError {
    /// Transient (a dependency is down): retried with backoff until the attempts run out.
    #[error("retry: {0}")]
    Retry(String),
    /// Can never succeed (malformed payload): a dead letter at once.
    #[error("permanent: {0}")]
    Permanent(String),
}

/// The future a handler returns (boxed so that the trait stays object safe).
pub type JobFuture<'a> = Pin<Box<dyn Future<Output = Result<JobOutcome, JobError>> + Send + 'a>>;

/// Runs the jobs of one kind. Must be idempotent: a job may run again after a crash.
pub trait JobHandler: Send + Sync + 'static {
    /// The kind it runs.
    fn kind(&self) -> &str;
    /// Runs one job.
    fn run<'a>(&'a self, job: &'a Job) -> JobFuture<'a>;
    /// Its retry policy, when not the worker's.
    fn retry_policy(&self) -> Option<RetryPolicy> {
        None
    }
}

/// How failures are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts before a job becomes dead.
    pub max_attempts: u32,
    /// Wait before the first retry; doubles each attempt (with jitter).
    pub initial_backoff: Duration,
    /// Longest wait between retries.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 12,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(300),
        }
    }
}

impl RetryPolicy {
    /// The wait after failed attempt `attempts`.
    pub fn backoff(&self, attempts: u32) -> Duration {
        backoff(self.initial_backoff, self.max_backoff, attempts)
    }
}

/// Worker settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobConfig {
    /// How often the worker looks for due jobs when nothing wakes it.
    pub poll_interval: Duration,
    /// How long a worker owns a job it runs (another worker takes it over after); a run is
    /// cut off (and retried) when it takes longer.
    pub lease: Duration,
    /// Jobs claimed per round at most.
    pub batch: u32,
    /// Jobs running at once at most.
    pub concurrency: usize,
    /// On shutdown, how long running jobs may finish before they are abandoned to their lease.
    pub shutdown_grace: Duration,
    /// Retries of handlers without their own policy.
    pub retry: RetryPolicy,
    /// How long a finished job is kept (its key still deduplicates enqueues) before the worker
    /// deletes it; dead jobs are kept until an operator retries or removes them.
    pub done_retention: Duration,
    /// How often the worker deletes finished jobs past their retention.
    pub purge_interval: Duration,
}

impl Default for JobConfig {
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_millis(500),
            lease: Duration::from_secs(30),
            batch: 32,
            concurrency: 8,
            shutdown_grace: Duration::from_secs(10),
            retry: RetryPolicy::default(),
            done_retention: Duration::from_secs(7 * 24 * 3600),
            purge_interval: Duration::from_secs(600),
        }
    }
}

/// The wait before attempt `attempts + 1`: exponential from `initial`, capped at `max`, with
/// jitter in [50 %, 100 %] so that replicas retrying together spread out. The one backoff formula
/// of the platform (the outbox relay uses it too).
pub fn backoff(initial: Duration, max: Duration, attempts: u32) -> Duration {
    backoff_ceiling(initial, max, attempts).mul_f64(rand::random_range(0.5..=1.0))
}

/// [`backoff`] without the jitter: its upper bound.
pub fn backoff_ceiling(initial: Duration, max: Duration, attempts: u32) -> Duration {
    let exponent = attempts.saturating_sub(1).min(30);
    initial.saturating_mul(1_u32 << exponent).min(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        let (initial, max) = (Duration::from_millis(500), Duration::from_secs(300));
        for attempts in 1..40 {
            let wait = backoff(initial, max, attempts);
            let ceiling = backoff_ceiling(initial, max, attempts);
            assert!(
                wait <= ceiling && wait >= ceiling / 2,
                "{attempts}: {wait:?}"
            );
        }
        assert_eq!(backoff_ceiling(initial, max, 1), initial);
        assert_eq!(backoff_ceiling(initial, max, 3), initial * 4);
        assert_eq!(backoff_ceiling(initial, max, 40), max);
    }

    #[test]
    fn states_round_trip() {
        for state in [
            JobState::Pending,
            JobState::Running,
            JobState::Done,
            JobState::Dead,
        ] {
            assert_eq!(JobState::parse(state.as_str()), state);
        }
    }
}
