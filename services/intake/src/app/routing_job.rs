//! Routing as a durable platform job: every saved call (and every re-route: a placed hold, a
//! bounced transfer) writes an `intake.route` job in the transaction that saves it. The request
//! attempts it inline at once, holding the job's lease, and records the attempt's outcome (and
//! the call's first answer) in the attempt's last transaction; the job worker finishes what a
//! down dependency (retry with backoff) or a crash (the lease runs out) left.

use std::sync::Arc;

use pingan_platform::jobs::{
    Job, JobConfig, JobError, JobFuture, JobHandler, JobOutcome, JobQueue, JobWorker, NewJob,
    RetryPolicy,
};
use pingan_platform::storage::Tx;
use pingan_platform::{ApiError, ServiceContext};
use pingan_proto::intake::v1::ReportCallResponse;

use crate::app::Deps;
use crate::app::router::{Routed, Router};
use crate::app::wire;
use crate::domain::{CallRecord, IncidentRecord};
use crate::settings::IntakeSettings;
use crate::store::Store;

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
fn outcome(result: Result<&Routed, &ApiError>) -> Result<JobOutcome, JobError> {
    match result {
        Ok(Routed::Finished(_)) => Ok(JobOutcome::Done),
        Ok(Routed::Waiting(reason)) => Err(JobError::Retry(reason.clone())),
        Err(err @ ApiError::InvalidArgument(_)) => Err(JobError::Permanent(err.to_string())),
        Err(err) => Err(JobError::Retry(err.to_string())),
    }
}

/// What an attempt held by a request writes in its last transaction, with the routing itself:
/// the outcome of the routing job it holds, and the first answer of the call it routes; and
/// what that request just saved, so the attempt does not read it again.
#[derive(Debug, Clone, Copy, Default)]
pub struct Closing<'a> {
    /// The job this request holds, and its queue.
    pub job: Option<(&'a JobQueue, &'a Job)>,
    /// The call whose first answer the attempt records (the call this request saved).
    pub call: Option<&'a CallRecord>,
    /// The incident as this request saved it (committed); read when absent.
    pub incident: Option<&'a IncidentRecord>,
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Attempt {
    /// Where routing is.
    pub routed: Routed,
    /// True when its last transaction wrote the [`Closing`] (nothing left for the caller).
    pub closed: bool,
    /// The call's answer as recorded, when closed with a call.
    pub answer: Option<ReportCallResponse>,
}

impl Attempt {
    /// An attempt that wrote nothing of its closing (the caller settles and answers).
    pub fn open(routed: Routed) -> Self {
        Self {
            routed,
            closed: false,
            answer: None,
        }
    }
}

impl Closing<'_> {
    /// Writes the end of the attempt in `tx`: the job settled by `routed`, the call's first
    /// answer recorded from `live` (the incident the call belongs to now).
    pub async fn close_in(
        &self,
        store: &dyn Store,
        settings: &IntakeSettings,
        tx: &mut Tx,
        routed: &Routed,
        live: &IncidentRecord,
    ) -> Result<Attempt, ApiError> {
        if let Some((queue, job)) = self.job {
            let settled = queue
                .settle_in(tx, job, &outcome(Ok(routed)), &policy(settings))
                .await?;
            if !settled {
                tracing::info!(key = %job.key, "routing job taken over; its outcome is the taker's");
            }
        }
        let answer = match self.call {
            Some(call) => {
                let current = wire::report_response(live, call);
                let first = store
                    .record_answer_in(tx, &call.call_id, &current.incident_id, current.outcome)
                    .await?;
                Some(wire::as_first_answer(current, first))
            }
            None => None,
        };
        Ok(Attempt {
            routed: routed.clone(),
            closed: true,
            answer,
        })
    }
}

/// Routes now, inline, holding `claimed` (the job this request holds); the attempt's outcome
/// and `call`'s first answer are written with its last step, or here when that failed.
/// `saved`: the incident as this request just committed it, when it did.
pub async fn attempt(
    router: &Router,
    queue: &JobQueue,
    claimed: Option<&Job>,
    incident_id: &str,
    saved: Option<&IncidentRecord>,
    call: Option<&CallRecord>,
) -> Result<Attempt, ApiError> {
    let closing = Closing {
        job: claimed.map(|job| (queue, job)),
        call,
        incident: saved.filter(|i| i.incident_id == incident_id),
    };
    let result = router.attempt(incident_id, &closing).await;
    let closed = matches!(&result, Ok(a) if a.closed);
    if let (false, Some(job)) = (closed, claimed) {
        let policy = policy(router.settings());
        let routed = result.as_ref().map(|a| &a.routed);
        if let Err(err) = queue.settle(job, &outcome(routed), &policy).await {
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
            outcome(self.router.advance(incident_id).await.as_ref())
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
            outcome(Ok(&Routed::Finished("inc-1".into()))),
            Ok(JobOutcome::Done)
        );
        assert_eq!(
            outcome(Ok(&Routed::Waiting("triage unavailable".into()))),
            Err(JobError::Retry("triage unavailable".into()))
        );
        assert!(matches!(
            outcome(Err(&ApiError::Unavailable("db".into()))),
            Err(JobError::Retry(_))
        ));
    }
}
