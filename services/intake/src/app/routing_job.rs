//! Routing as a durable platform job: every saved call (and every re-route: a placed hold, a
//! bounced transfer) writes an `intake.route` job in its own transaction. The request attempts
//! it inline at once, holding the job's lease; the job worker finishes what a down dependency
//! (retry with backoff) or a crash (the lease runs out) left.

use std::sync::Arc;

use pingan_platform::jobs::{
    Job, JobConfig, JobError, JobFuture, JobHandler, JobOutcome, JobQueue, JobWorker, NewJob,
    RetryPolicy,
};
use pingan_platform::{ApiError, ServiceContext};

use crate::app::Deps;
use crate::app::router::{Routed, Router};
use crate::settings::IntakeSettings;

/// The kind of intake's routing jobs.
pub const ROUTE: &str = "intake.route";

/// Intake's job queue in the service's database.
pub fn queue(context: &ServiceContext) -> JobQueue {
    JobQueue::new(crate::SHORT_NAME, context.db.clone(), context.clock.clone())
}

/// The job that routes `incident_id`, deduplicated by `key` (the incident id for the first
/// routing, longer keys for a re-route).
pub fn job(incident_id: &str, key: &str) -> NewJob {
    NewJob::new(ROUTE, key, incident_id.as_bytes().to_vec())
}

/// How routing is retried: the intake's backoff, and never given up (an emergency call is
/// routed or held for a dispatcher, never dropped).
pub fn policy(settings: &IntakeSettings) -> RetryPolicy {
    RetryPolicy {
        max_attempts: u32::MAX,
        initial_backoff: settings.retry_initial,
        max_backoff: settings.retry_max,
    }
}

/// The job outcome of one routing attempt.
fn outcome(result: &Result<Routed, ApiError>) -> Result<JobOutcome, JobError> {
    match result {
        Ok(Routed::Finished(_)) => Ok(JobOutcome::Done),
        Ok(Routed::Waiting(reason)) => Err(JobError::Retry(reason.clone())),
        Err(err @ ApiError::InvalidArgument(_)) => Err(JobError::Permanent(err.to_string())),
        Err(err) => Err(JobError::Retry(err.to_string())),
    }
}

/// Routes now, inline, and records the attempt on `claimed` (the job this request holds).
pub async fn attempt(
    router: &Router,
    queue: &JobQueue,
    claimed: Option<&Job>,
    incident_id: &str,
) -> Result<Routed, ApiError> {
    let result = router.advance(incident_id).await;
    if let Some(job) = claimed {
        let policy = policy(router.settings());
        if let Err(err) = queue.settle(job, &outcome(&result), &policy).await {
            // The job stays leased: the worker runs it once the lease is over.
            tracing::warn!(incident_id, error = %err, "cannot record the routing attempt");
        }
    }
    result
}

/// Runs the routing jobs.
struct RouteHandler {
    deps: Deps,
    router: Router,
}

impl JobHandler for RouteHandler {
    fn kind(&self) -> &str {
        ROUTE
    }

    fn run<'a>(&'a self, job: &'a Job) -> JobFuture<'a> {
        Box::pin(async move {
            let Ok(incident_id) = std::str::from_utf8(&job.payload) else {
                return Err(JobError::Permanent("payload is not an incident id".into()));
            };
            if let Err(err) = self.deps.ready().await {
                return Err(JobError::Retry(err.to_string()));
            }
            outcome(&self.router.advance(incident_id).await)
        })
    }

    fn retry_policy(&self) -> Option<RetryPolicy> {
        Some(policy(self.router.settings()))
    }
}

/// The worker of intake's jobs on `deps.jobs`.
pub fn worker(deps: &Deps) -> JobWorker {
    let config = JobConfig {
        poll_interval: deps.settings.jobs_poll_interval,
        lease: deps.settings.route_lease,
        retry: policy(&deps.settings),
        ..JobConfig::default()
    };
    let router = Router::new(deps);
    let handler = RouteHandler {
        deps: deps.clone(),
        router,
    };
    JobWorker::new(deps.jobs.clone(), config).handle(Arc::new(handler))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waiting_is_retried_and_finished_is_done() {
        assert_eq!(
            outcome(&Ok(Routed::Finished("inc-1".into()))),
            Ok(JobOutcome::Done)
        );
        assert_eq!(
            outcome(&Ok(Routed::Waiting("triage unavailable".into()))),
            Err(JobError::Retry("triage unavailable".into()))
        );
        assert!(matches!(
            outcome(&Err(ApiError::Unavailable("db".into()))),
            Err(JobError::Retry(_))
        ));
    }
}
