//! The courier: delivers what the bridge owes 12345 and intake (the deliveries table is its
//! outbox), retrying a transient failure with capped backoff — none lost — while the receivers'
//! idempotency keys (transfer id for CreateTicket, delivery id for ReplyTicket, a request id per
//! transfer for ReportCall) make a retried call harmless — none doubled. A permanent refusal
//! (INVALID_ARGUMENT, FAILED_PRECONDITION, ...) is dead-lettered at once with its reason: a
//! retry would be refused the same way forever. It also runs the background chores: 12345's own
//! reports, the rules file watcher and the overdue gauge.

use std::sync::Arc;
use std::time::{Duration, Instant};

use pingan_platform::service::{Shutdown, Worker};
use pingan_proto::hotline::v1::{
    CreateTicketRequest, CreateTicketResponse, ReplyKind, ReplyTicketRequest,
};
use pingan_proto::intake::v1::intake_service_client::IntakeServiceClient;
use pingan_proto::intake::v1::{ReportCallRequest, ReportCallResponse};
use prost::Message;

use crate::bridge::{Bridge, hotline_actor, triage_actor};
use crate::convert;
use crate::domain::transfer::{Action, Direction, Status, retry_after};
use crate::hotline::GatewayError;
use crate::metrics::{self, BOUNCES, DEAD_LETTERS, DELIVERY_FAILURES, OVERDUE};
use crate::store::DeliveryRow;

/// What 12345 is told when intake cannot locate a ticket's address.
pub const NEEDS_LOCATION_NOTE: &str =
    "地址无法定位到标准地址，请补充详细地址或坐标（待指挥中心人工定位）";

// One short-lived value per delivery: boxing the larger answers would only add an allocation.
#[allow(clippy::large_enum_variant)]
enum Outcome {
    Ticket(CreateTicketResponse),
    Replied(ReplyTicketRequest),
    Reported(ReportCallResponse),
}

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

/// Where a delivery action goes, for the metrics.
fn destination(action: &str) -> &'static str {
    match Action::parse(action) {
        Some(Action::ReportCall) => "intake",
        Some(Action::CreateTicket | Action::ReplyTicket) => "12345",
        None => "unknown",
    }
}

impl Bridge {
    /// Attempts the pending delivery of one transfer now (best effort; the courier retries).
    pub async fn deliver_pending_of(&self, transfer_id: &str) {
        match self.store.latest_delivery(transfer_id).await {
            Ok(Some(delivery)) if delivery.status == "PENDING" => {
                let (id, attempts) = (delivery.delivery_id.clone(), delivery.attempts);
                if !self.deliver(delivery).await {
                    // The background courier may have leased it first: the caller is owed the
                    // result of that attempt, not a PENDING snapshot taken while it runs.
                    self.await_attempt(&id, attempts).await;
                }
            }
            Ok(_) => {}
            Err(err) => tracing::warn!(transfer_id, error = %err, "cannot read deliveries"),
        }
    }

    /// Waits (real time, at most the lease of one attempt) until the delivery is done or one
    /// more attempt of it has failed.
    async fn await_attempt(&self, delivery_id: &str, attempts: i32) {
        let give_up = Instant::now() + self.config.call_timeout * 2;
        while Instant::now() < give_up {
            match self.store.delivery(delivery_id).await {
                Ok(Some(d)) if d.status == "PENDING" && d.attempts <= attempts => {}
                _ => return,
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Attempts every delivery due now; returns how many succeeded.
    pub async fn deliver_due(&self) -> usize {
        let due = match self.store.due(self.ctx.clock.now(), 32).await {
            Ok(due) => due,
            Err(err) => {
                tracing::warn!(error = %err, "deliveries unavailable");
                return 0;
            }
        };
        let mut delivered = 0;
        for delivery in due {
            if self.deliver(delivery).await {
                delivered += 1;
            }
        }
        delivered
    }

    async fn deliver(&self, delivery: DeliveryRow) -> bool {
        let now = self.ctx.clock.now();
        let lease = chrono::Duration::from_std(self.config.call_timeout * 2)
            .unwrap_or(chrono::Duration::seconds(30));
        match self
            .store
            .lease(&delivery.delivery_id, now + lease, now)
            .await
        {
            Ok(true) => {}
            Ok(false) => return false,
            Err(err) => {
                tracing::warn!(error = %err, "cannot lease delivery");
                return false;
            }
        }
        let attempt = self.call(&delivery).await;
        let result = match attempt {
            Ok(outcome) => self
                .apply(&delivery, outcome)
                .await
                .map_err(Failure::transient),
            Err(failure) => Err(failure),
        };
        match result {
            Ok(()) => true,
            Err(failure) => {
                metrics::inc(&DELIVERY_FAILURES, &[&delivery.action]);
                let attempts = delivery.attempts.saturating_add(1);
                if let Some(code) = failure.permanent {
                    self.dead_letter(&delivery, attempts, code, &failure.reason)
                        .await;
                    return false;
                }
                let wait = retry_after(
                    u32::try_from(attempts).unwrap_or(u32::MAX),
                    self.config.retry_initial,
                    self.config.retry_max,
                );
                let now = self.ctx.clock.now();
                let next =
                    now + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::seconds(60));
                tracing::info!(
                    transfer_id = %delivery.transfer_id,
                    action = %delivery.action,
                    attempts,
                    error = %failure.reason,
                    "delivery failed, will retry"
                );
                if let Err(err) = self
                    .store
                    .fail(&delivery.delivery_id, attempts, next, &failure.reason, now)
                    .await
                {
                    tracing::warn!(error = %err, "cannot record the failed delivery");
                }
                false
            }
        }
    }

    /// Dead-letters a delivery refused for good, and settles what it meant: a ticket intake
    /// cannot take is returned to 12345 with the reason; a diversion 12345 refuses stays with
    /// the police. A reply 12345 refuses is only dead-lettered (nobody left to tell).
    async fn dead_letter(
        &self,
        delivery: &DeliveryRow,
        attempts: i32,
        code: &'static str,
        reason: &str,
    ) {
        let destination = destination(&delivery.action);
        metrics::inc(&DEAD_LETTERS, &[destination, code]);
        tracing::warn!(
            transfer_id = %delivery.transfer_id,
            action = %delivery.action,
            attempts,
            error = %reason,
            "delivery refused for good: dead-lettered"
        );
        let now = self.ctx.clock.now();
        let work = async {
            let mut tx = self.ctx.db.begin().await?;
            self.store
                .dead(&mut tx, &delivery.delivery_id, attempts, reason, now)
                .await?;
            let mut row = self.store.lock(&mut tx, &delivery.transfer_id).await?;
            let status = Status::parse(&row.status).unwrap_or(Status::Pending);
            match Action::parse(&delivery.action) {
                Some(Action::ReportCall) if status == Status::Pending => {
                    let note = format!("公安无法立案，退回 12345：{reason}");
                    row.outcome_note = note.clone();
                    row.reason = note.clone();
                    self.change_status(&mut tx, &mut row, Status::Bounced, &triage_actor(), &note)
                        .await?;
                    self.queue_reply(&mut tx, &row, ReplyKind::Returned, |r| {
                        r.return_reason = note.clone();
                    })
                    .await?;
                    metrics::inc(&BOUNCES, &["from_12345"]);
                }
                Some(Action::CreateTicket) if !status.is_closed() => {
                    let note = format!("12345 拒收转办，留公安处置：{reason}");
                    self.apply_outcome(
                        &mut tx,
                        &mut row,
                        Status::Bounced,
                        &hotline_actor(),
                        "",
                        &note,
                        None,
                    )
                    .await?;
                }
                _ => {}
            }
            self.ctx.outbox.commit(tx).await?;
            Ok::<(), pingan_platform::ApiError>(())
        };
        if let Err(err) = work.await {
            // The lease runs out and the courier meets the same refusal again: nothing is lost.
            tracing::warn!(transfer_id = %delivery.transfer_id, error = %err, "cannot dead-letter the delivery");
        }
    }

    /// Dead letters, newest first (of one transfer when `transfer_id` is not empty).
    pub async fn dead_letters(
        &self,
        transfer_id: &str,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<crate::store::DeadLetterRow>, pingan_platform::ApiError> {
        Ok(self.store.dead_letters(transfer_id, limit, offset).await?)
    }

    async fn call(&self, delivery: &DeliveryRow) -> Result<Outcome, Failure> {
        // Our own payload that cannot be read will never be readable: no point retrying it.
        let corrupt = |e: &dyn std::fmt::Display| Failure::permanent("corrupt", e.to_string());
        let payload = self.unseal(&delivery.payload).map_err(|e| corrupt(&e))?;
        let timeout = self.config.call_timeout;
        let late = || Failure::transient("12345 did not answer in time");
        match Action::parse(&delivery.action) {
            Some(Action::CreateTicket) => {
                let request =
                    CreateTicketRequest::decode(payload.as_slice()).map_err(|e| corrupt(&e))?;
                let response = tokio::time::timeout(timeout, self.gateway.create_ticket(request))
                    .await
                    .map_err(|_| late())?
                    .map_err(gateway_failure)?;
                Ok(Outcome::Ticket(response))
            }
            Some(Action::ReplyTicket) => {
                let request =
                    ReplyTicketRequest::decode(payload.as_slice()).map_err(|e| corrupt(&e))?;
                tokio::time::timeout(timeout, self.gateway.reply_ticket(request.clone()))
                    .await
                    .map_err(|_| late())?
                    .map_err(gateway_failure)?;
                Ok(Outcome::Replied(request))
            }
            Some(Action::ReportCall) => {
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
            None => Err(Failure::permanent(
                "unknown_action",
                format!("unknown delivery action {}", delivery.action),
            )),
        }
    }

    async fn apply(&self, delivery: &DeliveryRow, outcome: Outcome) -> Result<(), String> {
        let work = async {
            let mut tx = self.ctx.db.begin().await?;
            let mut row = self.store.lock(&mut tx, &delivery.transfer_id).await?;
            let status = Status::parse(&row.status).unwrap_or(Status::Pending);
            match outcome {
                Outcome::Ticket(ticket) => {
                    if row.hotline_ticket_id.is_none() {
                        row.hotline_ticket_id = Some(ticket.ticket_id.clone());
                    }
                    if let Some(deadline) =
                        ticket.deadline.as_ref().and_then(convert::from_timestamp)
                    {
                        row.deadline = Some(deadline);
                    }
                    if !ticket.department.is_empty() {
                        row.department = ticket.department.clone();
                    }
                    if status == Status::Pending {
                        let note = format!("12345 工单 {}", ticket.ticket_id);
                        self.change_status(
                            &mut tx,
                            &mut row,
                            Status::Sent,
                            &hotline_actor(),
                            &note,
                        )
                        .await?;
                    } else {
                        row.updated_at = self.ctx.clock.now();
                        self.store.save(&mut tx, &row).await?;
                    }
                }
                Outcome::Replied(reply) => {
                    let done = matches!(
                        ReplyKind::try_from(reply.kind),
                        Ok(ReplyKind::Finding | ReplyKind::Handled)
                    );
                    if done && !status.is_closed() {
                        let note = if reply.result.is_empty() {
                            "已答复 12345".to_owned()
                        } else {
                            reply.result.clone()
                        };
                        row.outcome_note = note.clone();
                        self.change_status(
                            &mut tx,
                            &mut row,
                            Status::Handled,
                            &triage_actor(),
                            &note,
                        )
                        .await?;
                    }
                }
                Outcome::Reported(report) => {
                    if row.incident_id.is_empty() {
                        row.incident_id = report.incident_id.clone();
                    }
                    if status == Status::Pending {
                        // Intake could not place it: 12345 is asked for a precise address.
                        let (note, result) = if report.needs_location {
                            row.outcome_note = NEEDS_LOCATION_NOTE.into();
                            (
                                format!("已立警情 {}，{NEEDS_LOCATION_NOTE}", report.incident_id),
                                format!("公安已接收并立为警情，{NEEDS_LOCATION_NOTE}"),
                            )
                        } else {
                            (
                                format!("已立警情 {}", report.incident_id),
                                "公安已接收并立为警情处置".to_owned(),
                            )
                        };
                        self.change_status(
                            &mut tx,
                            &mut row,
                            Status::Accepted,
                            &triage_actor(),
                            &note,
                        )
                        .await?;
                        self.queue_reply(&mut tx, &row, ReplyKind::Accepted, |r| {
                            r.result = result;
                        })
                        .await?;
                    }
                }
            }
            self.store
                .complete(&mut tx, &delivery.delivery_id, self.ctx.clock.now())
                .await?;
            self.ctx.outbox.commit(tx).await?;
            Ok::<(), pingan_platform::ApiError>(())
        };
        work.await.map_err(|e| e.to_string())
    }

    /// Applies what 12345 reported on its own (the simulator's bounces).
    pub async fn apply_reports(&self) {
        for report in self.gateway.take_reports() {
            let result = async {
                let mut tx = self.ctx.db.begin().await?;
                let mut row = self.store.lock(&mut tx, &report.transfer_id).await?;
                if row.hotline_ticket_id.is_none() {
                    row.hotline_ticket_id = Some(report.ticket_id.clone());
                }
                self.apply_outcome(
                    &mut tx,
                    &mut row,
                    Status::Bounced,
                    &hotline_actor(),
                    "",
                    &report.reason,
                    None,
                )
                .await?;
                self.ctx.outbox.commit(tx).await?;
                Ok::<(), pingan_platform::ApiError>(())
            }
            .await;
            if let Err(err) = result {
                tracing::warn!(transfer_id = %report.transfer_id, error = %err, "cannot apply a 12345 bounce");
            }
        }
    }

    async fn refresh_overdue(&self) {
        let Some(gauge) = OVERDUE.as_ref() else {
            return;
        };
        match self.store.count_overdue(self.ctx.clock.now()).await {
            Ok(counts) => {
                for direction in [Direction::To12345, Direction::From12345] {
                    let n = counts
                        .iter()
                        .find(|(d, _)| d == direction.as_str())
                        .map(|(_, n)| *n)
                        .unwrap_or(0);
                    gauge
                        .with_label_values(&[&direction.as_str().to_ascii_lowercase()])
                        .set(n);
                }
            }
            Err(err) => tracing::debug!(error = %err, "overdue count unavailable"),
        }
    }
}

/// A dead letter as the API shows it.
pub fn dead_letter(row: &crate::store::DeadLetterRow) -> pingan_proto::triage::v1::DeadLetter {
    pingan_proto::triage::v1::DeadLetter {
        delivery_id: row.delivery_id.clone(),
        transfer_id: row.transfer_id.clone(),
        action: row.action.clone(),
        destination: destination(&row.action).to_owned(),
        reason: row.last_error.clone(),
        attempts: row.attempts,
        dead_at: Some(convert::timestamp(row.updated_at)),
    }
}

fn gateway_failure(err: GatewayError) -> Failure {
    let reason = err.to_string();
    match err.code.and_then(permanent_code) {
        Some(code) => Failure::permanent(code, reason),
        None => Failure::transient(reason),
    }
}

/// The courier and the chores (12345 reports, rules reload, overdue transfers) as a host worker:
/// a round every `delivery_poll`; on shutdown the round in hand is finished.
pub fn worker(bridge: Arc<Bridge>) -> Worker {
    let poll = bridge.config.delivery_poll.max(Duration::from_millis(10));
    let rules_poll = bridge.config.rules_poll;
    Worker::new("triage-courier", move |shutdown: Shutdown| async move {
        let mut last_rules_check = Instant::now();
        while !shutdown.sleep(poll).await {
            bridge.deliver_due().await;
            bridge.apply_reports().await;
            if last_rules_check.elapsed() >= rules_poll {
                last_rules_check = Instant::now();
                match bridge.rules.reload_if_changed(bridge.ctx.clock.now()) {
                    Ok(Some(reloaded)) => tracing::info!(
                        version = %reloaded.version,
                        previous = %reloaded.previous,
                        "rules file changed: reloaded"
                    ),
                    Ok(None) => {}
                    Err(err) => {
                        tracing::warn!(error = %err, "rules file changed but is invalid: previous rules stay")
                    }
                }
            }
            bridge.refresh_overdue().await;
        }
    })
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
}
