//! Deliveries to 12345 and intake as platform jobs. Each call the bridge owes the other side is a
//! job written in the transaction that changes the ledger (kind per action, key per transfer,
//! payload the sealed request); the job worker retries it with the platform's lease and backoff
//! while the receiver is down, and it becomes a dead letter after the policy's attempts, or at
//! once when refused for good (INVALID_ARGUMENT, ...): a retry would be refused the same way.
//! The receivers' idempotency keys (transfer id for CreateTicket, the reply's request id for
//! ReplyTicket, a request id per transfer for ReportCall) make a run repeated after a crash
//! harmless: each transfer is delivered once.

use std::sync::Arc;
use std::time::Duration;

use pingan_platform::jobs::{
    Job, JobConfig, JobError, JobFuture, JobHandler, JobOutcome, JobQueue, JobWorker, NewJob,
    RetryPolicy,
};
use pingan_platform::storage::Tx;
use pingan_platform::{ApiError, ServiceContext};
use pingan_proto::hotline::v1::{CreateTicketRequest, ReplyTicketRequest};
use pingan_proto::intake::v1::ReportCallRequest;
use pingan_proto::intake::v1::intake_service_client::IntakeServiceClient;
use prost::Message;

use crate::app::bridge::Bridge;
use crate::app::settle::Outcome;
use crate::config::TriageConfig;
use crate::domain::transfer::{Action, transfer_of_job_key};
use crate::hotline::GatewayError;
use crate::metrics::{self, DEAD_LETTERS, DELIVERY_FAILURES};

/// Why an attempt failed, and whether trying again can ever help.
#[derive(Debug)]
pub(crate) struct Failure {
    /// What happened (no personal data: receivers name fields, not values).
    pub reason: String,
    /// `Some(code)` when the receiver refused for good: the delivery is dead-lettered.
    pub permanent: Option<&'static str>,
}

impl Failure {
    fn transient(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
            permanent: None,
        }
    }

    fn permanent(code: &'static str, reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
            permanent: Some(code),
        }
    }

    fn from_status(who: &str, status: &tonic::Status) -> Self {
        let reason = format!("{who} {:?}: {}", status.code(), status.message());
        match permanent_code(status.code()) {
            Some(code) => Self::permanent(code, reason),
            None => Self::transient(reason),
        }
    }
}

/// The codes a retry cannot change (the request itself is refused); `None` for the ones worth
/// retrying (down, slow, overloaded, misconfigured credentials an operator will fix).
pub fn permanent_code(code: tonic::Code) -> Option<&'static str> {
    use tonic::Code;
    Some(match code {
        Code::InvalidArgument => "invalid_argument",
        Code::FailedPrecondition => "failed_precondition",
        Code::OutOfRange => "out_of_range",
        Code::AlreadyExists => "already_exists",
        Code::NotFound => "not_found",
        _ => return None,
    })
}

/// Where a delivery action goes, for the metrics and the dead letters.
pub fn destination(action: &str) -> &'static str {
    match Action::parse(action) {
        Some(Action::ReportCall) => "intake",
        Some(Action::CreateTicket | Action::ReplyTicket) => "12345",
        None => "unknown",
    }
}

fn gateway_failure(err: GatewayError) -> Failure {
    let reason = err.to_string();
    match err.code.and_then(permanent_code) {
        Some(code) => Failure::permanent(code, reason),
        None => Failure::transient(reason),
    }
}

/// Triage's job queue in the service's database.
pub fn queue(context: &ServiceContext) -> JobQueue {
    JobQueue::new(crate::SHORT_NAME, context.db.clone(), context.clock.clone())
}

/// How deliveries are retried: triage's backoff, then a dead letter after its attempts.
pub fn policy(config: &TriageConfig) -> RetryPolicy {
    RetryPolicy {
        max_attempts: config.retry_attempts.max(1),
        initial_backoff: config.retry_initial,
        max_backoff: config.retry_max,
    }
}

/// How long one run owns its job: the call and the ledger change after it.
fn lease(config: &TriageConfig) -> Duration {
    config.call_timeout.saturating_mul(2)
}

impl Bridge {
    /// Writes in `tx` the delivery of `payload` (the request of `action`, idempotent on
    /// `request_id`) that `transfer_id` owes; the job worker sends it.
    pub(crate) async fn queue(
        &self,
        tx: &mut Tx,
        transfer_id: &str,
        action: Action,
        request_id: &str,
        payload: &[u8],
    ) -> Result<(), ApiError> {
        let job = self
            .delivery_job(tx, transfer_id, action, request_id, payload)
            .await?;
        self.jobs.enqueue_in(tx, job).await?;
        Ok(())
    }

    /// Like [`Bridge::queue`] for the one delivery of a transfer, claimed by the caller who
    /// attempts it after the commit ([`Bridge::attempt`]); the worker takes it over after a
    /// failure, or after the lease when the process dies first. `None` when it exists already.
    pub(crate) async fn queue_claimed(
        &self,
        tx: &mut Tx,
        transfer_id: &str,
        action: Action,
        payload: &[u8],
    ) -> Result<Option<Job>, ApiError> {
        let job = self
            .delivery_job(tx, transfer_id, action, transfer_id, payload)
            .await?;
        Ok(self
            .jobs
            .enqueue_claimed_in(tx, job, lease(&self.config))
            .await?)
    }

    async fn delivery_job(
        &self,
        tx: &mut Tx,
        transfer_id: &str,
        action: Action,
        request_id: &str,
        payload: &[u8],
    ) -> Result<NewJob, ApiError> {
        let key = action.job_key(transfer_id, request_id);
        self.store
            .add_delivery_job(
                tx,
                action.job_kind(),
                &key,
                transfer_id,
                self.ctx.clock.now(),
            )
            .await?;
        Ok(NewJob::new(action.job_kind(), &key, self.seal(payload)?))
    }

    /// Attempts a delivery the caller holds (from [`Bridge::queue_claimed`]) now, and records
    /// the attempt on its job.
    pub(crate) async fn attempt(&self, job: &Job) {
        let result = self.run_delivery(job).await;
        if let Err(err) = self.jobs.settle(job, &result, &policy(&self.config)).await {
            // The job stays leased: the worker runs it again once the lease is over.
            tracing::warn!(key = %job.key, error = %err, "cannot record the delivery attempt");
        }
    }

    /// One run of a delivery job: the call, then what its answer means for the ledger.
    pub(crate) async fn run_delivery(&self, job: &Job) -> Result<JobOutcome, JobError> {
        let Some(action) = Action::from_job_kind(&job.kind) else {
            return Err(JobError::Permanent(format!(
                "unknown delivery kind {}",
                job.kind
            )));
        };
        let transfer_id = transfer_of_job_key(&job.key);
        let result = match self.call(action, &job.payload).await {
            Ok(outcome) => self
                .apply(transfer_id, outcome)
                .await
                .map_err(|e| Failure::transient(e.to_string())),
            Err(failure) => Err(failure),
        };
        let Err(failure) = result else {
            return Ok(JobOutcome::Done);
        };
        metrics::inc(&DELIVERY_FAILURES, &[action.as_str()]);
        let destination = destination(action.as_str());
        if let Some(code) = failure.permanent {
            tracing::warn!(transfer_id, action = action.as_str(), attempts = job.attempts,
                error = %failure.reason, "delivery refused for good: dead-lettered");
            // Settled before the job is marked dead: a crash in between meets the same refusal.
            self.settle_refusal(transfer_id, action, &failure.reason)
                .await
                .map_err(|e| JobError::Retry(e.to_string()))?;
            metrics::inc(&DEAD_LETTERS, &[destination, code]);
            return Err(JobError::Permanent(failure.reason));
        }
        if job.attempts >= policy(&self.config).max_attempts {
            metrics::inc(&DEAD_LETTERS, &[destination, "attempts_exhausted"]);
            tracing::warn!(transfer_id, action = action.as_str(), attempts = job.attempts,
                error = %failure.reason, "delivery failed on its last attempt: dead-lettered");
        } else {
            tracing::info!(transfer_id, action = action.as_str(), attempts = job.attempts,
                error = %failure.reason, "delivery failed, will retry");
        }
        Err(JobError::Retry(failure.reason))
    }

    async fn call(&self, action: Action, sealed: &[u8]) -> Result<Outcome, Failure> {
        // Our own payload that cannot be read will never be readable: no point retrying it.
        let corrupt = |e: &dyn std::fmt::Display| Failure::permanent("corrupt", e.to_string());
        let payload = self.unseal(sealed).map_err(|e| corrupt(&e))?;
        let timeout = self.config.call_timeout;
        let late = || Failure::transient("12345 did not answer in time");
        match action {
            Action::CreateTicket => {
                let request =
                    CreateTicketRequest::decode(payload.as_slice()).map_err(|e| corrupt(&e))?;
                let response = tokio::time::timeout(timeout, self.gateway.create_ticket(request))
                    .await
                    .map_err(|_| late())?
                    .map_err(gateway_failure)?;
                Ok(Outcome::Ticket(response))
            }
            Action::ReplyTicket => {
                let request =
                    ReplyTicketRequest::decode(payload.as_slice()).map_err(|e| corrupt(&e))?;
                tokio::time::timeout(timeout, self.gateway.reply_ticket(request.clone()))
                    .await
                    .map_err(|_| late())?
                    .map_err(gateway_failure)?;
                Ok(Outcome::Replied(request))
            }
            Action::ReportCall => {
                let request =
                    ReportCallRequest::decode(payload.as_slice()).map_err(|e| corrupt(&e))?;
                let channel = self
                    .ctx
                    .peers
                    .channel("intake")
                    .map_err(|e| Failure::transient(e.to_string()))?;
                let mut call = tonic::Request::new(request);
                call.set_timeout(timeout);
                let response = IntakeServiceClient::new(channel)
                    .report_call(call)
                    .await
                    .map_err(|s| Failure::from_status("intake", &s))?;
                Ok(Outcome::Reported(response.into_inner()))
            }
        }
    }
}

/// Runs the delivery jobs of one action.
struct DeliveryHandler {
    bridge: Arc<Bridge>,
    action: Action,
}

impl JobHandler for DeliveryHandler {
    fn kind(&self) -> &str {
        self.action.job_kind()
    }

    fn run<'a>(&'a self, job: &'a Job) -> JobFuture<'a> {
        Box::pin(self.bridge.run_delivery(job))
    }

    fn retry_policy(&self) -> Option<RetryPolicy> {
        Some(policy(&self.bridge.config))
    }
}

/// The worker of triage's delivery jobs, on the bridge's queue (so that enqueuing wakes it).
pub fn worker(bridge: &Arc<Bridge>) -> JobWorker {
    let config = JobConfig {
        poll_interval: bridge.config.delivery_poll.max(Duration::from_millis(10)),
        lease: lease(&bridge.config),
        retry: policy(&bridge.config),
        ..JobConfig::default()
    };
    [
        Action::CreateTicket,
        Action::ReplyTicket,
        Action::ReportCall,
    ]
    .into_iter()
    .fold(
        JobWorker::new(bridge.jobs.clone(), config),
        |worker, action| {
            worker.handle(Arc::new(DeliveryHandler {
                bridge: bridge.clone(),
                action,
            }))
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_permanent_and_outages_are_not() {
        for code in [
            tonic::Code::InvalidArgument,
            tonic::Code::FailedPrecondition,
            tonic::Code::OutOfRange,
            tonic::Code::AlreadyExists,
            tonic::Code::NotFound,
        ] {
            assert!(permanent_code(code).is_some(), "{code:?}");
        }
        for code in [
            tonic::Code::Unavailable,
            tonic::Code::DeadlineExceeded,
            tonic::Code::ResourceExhausted,
            tonic::Code::Internal,
            tonic::Code::Unauthenticated,
            tonic::Code::PermissionDenied,
        ] {
            assert!(permanent_code(code).is_none(), "{code:?}");
        }
        let refused = gateway_failure(GatewayError {
            message: "InvalidArgument: ticket_id".into(),
            code: Some(tonic::Code::InvalidArgument),
        });
        assert_eq!(refused.permanent, Some("invalid_argument"));
        let down = gateway_failure(GatewayError::unavailable("simulated 12345 outage"));
        assert_eq!(down.permanent, None);
        let status = tonic::Status::failed_precondition("closed");
        let failure = Failure::from_status("intake", &status);
        assert_eq!(failure.permanent, Some("failed_precondition"));
        assert!(failure.reason.starts_with("intake FailedPrecondition"));
        assert_eq!(destination("REPORT_CALL"), "intake");
        assert_eq!(destination("REPLY_TICKET"), "12345");
    }

    #[test]
    fn the_policy_is_triage_s_backoff_with_a_last_attempt() {
        let config = TriageConfig {
            retry_attempts: 0,
            ..TriageConfig::default()
        };
        let policy = policy(&config);
        assert_eq!(policy.max_attempts, 1, "at least one attempt");
        assert_eq!(policy.initial_backoff, config.retry_initial);
        assert_eq!(policy.max_backoff, config.retry_max);
    }
}
