//! The two-way 110 ↔ 12345 bridge: diversions out, outcomes, and the ledger queries (tickets in:
//! `inbound`). Every call owed to the other side is a delivery job written in the same
//! transaction as the ledger change (`delivery`); a transfer's own delivery is attempted at once.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use pingan_platform::audit::Audit;
use pingan_platform::storage::Tx;
use pingan_platform::time;
use pingan_platform::{ApiError, ServiceContext, StorageError};
use pingan_proto::common::v1::{Actor, Channel};
use pingan_proto::hotline::v1::{CreateTicketRequest, ReplyKind, ReplyTicketRequest};
use pingan_proto::triage::v1 as pb;
use prost::Message;

use crate::api::convert;
use crate::config::TriageConfig;
use crate::domain::transfer::{Action, Direction, Route, Status};
use crate::hotline::HotlineGateway;
use crate::metrics::{self, BOUNCES, DIVERSIONS};
use crate::rules_state::RulesState;
use crate::store::{NewHistory, Store, TransferRow};
use pingan_platform::jobs::JobQueue;

/// The actor of changes triage makes itself.
pub fn triage_actor() -> Actor {
    Actor {
        subject: "triage".into(),
        role: "service".into(),
        display_name: "triage".into(),
    }
}

/// The actor of changes 12345 reports.
pub fn hotline_actor() -> Actor {
    Actor {
        subject: "12345".into(),
        role: "hotline_integrator".into(),
        display_name: "12345 政务服务便民热线".into(),
    }
}

/// The bridge and everything it needs.
#[derive(Debug)]
pub struct Bridge {
    pub(crate) ctx: ServiceContext,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) rules: RulesState,
    pub(crate) gateway: Arc<dyn HotlineGateway>,
    pub(crate) config: TriageConfig,
    /// The delivery jobs (the worker's queue: enqueuing wakes it).
    pub(crate) jobs: JobQueue,
}

/// A status change reported for a transfer, with what comes with it.
#[derive(Debug, Clone, Copy)]
pub struct Change<'a> {
    /// The new status.
    pub to: Status,
    /// Who reports it.
    pub actor: &'a Actor,
    /// The department now in charge, when named.
    pub department: &'a str,
    /// What happened.
    pub note: &'a str,
    /// A new deadline, when given.
    pub deadline: Option<&'a prost_types::Timestamp>,
}

impl<'a> Change<'a> {
    /// `actor` moves the transfer to `to`.
    pub fn new(to: Status, actor: &'a Actor) -> Self {
        Self {
            to,
            actor,
            department: "",
            note: "",
            deadline: None,
        }
    }

    /// With a note.
    pub fn note(mut self, note: &'a str) -> Self {
        self.note = note;
        self
    }
}

/// What became of an inbound ticket.
#[derive(Debug)]
pub struct Received {
    /// The inbound transfer.
    pub transfer: pb::Transfer,
    /// Its disposition now.
    pub disposition: pb::InboundDisposition,
    /// Reason given to 12345 when returned.
    pub return_reason: String,
}

fn storage(err: StorageError) -> ApiError {
    err.into()
}

impl Bridge {
    /// Seals bytes for storage (deliveries carry phone numbers).
    pub(crate) fn seal(&self, bytes: &[u8]) -> Result<Vec<u8>, ApiError> {
        self.ctx
            .pii
            .encrypt(&hex::encode(bytes))
            .map_err(ApiError::internal)
    }

    /// Opens what [`Bridge::seal`] sealed.
    pub(crate) fn unseal(&self, sealed: &[u8]) -> Result<Vec<u8>, ApiError> {
        let text = self.ctx.pii.decrypt(sealed).map_err(ApiError::internal)?;
        hex::decode(text).map_err(ApiError::internal)
    }

    pub(crate) fn sealed_phone(&self, phone: &str) -> Result<Option<Vec<u8>>, ApiError> {
        if phone.trim().is_empty() {
            return Ok(None);
        }
        self.ctx
            .pii
            .encrypt(phone.trim())
            .map(Some)
            .map_err(ApiError::internal)
    }

    pub(crate) fn phone(&self, row: &TransferRow) -> Option<String> {
        row.caller_phone_sealed
            .as_ref()
            .and_then(|sealed| self.ctx.pii.decrypt(sealed).ok())
    }

    /// Changes a transfer's status in `tx`: the row, its history and the event for the others.
    pub(crate) async fn change_status(
        &self,
        tx: &mut Tx,
        row: &mut TransferRow,
        to: Status,
        actor: &Actor,
        note: &str,
    ) -> Result<(), ApiError> {
        let now = self.ctx.clock.now();
        let from = row.status.clone();
        row.status = to.as_str().to_owned();
        row.updated_at = now;
        self.store.save(tx, row).await.map_err(storage)?;
        let entry = NewHistory {
            transfer_id: &row.transfer_id,
            from: &from,
            to: to.as_str(),
            at: now,
            actor,
            note,
        };
        self.store.add_history(tx, entry).await.map_err(storage)?;
        metrics::count_transfer(&row.direction, to);
        let event = pb::TransferStatusChanged {
            transfer_id: row.transfer_id.clone(),
            direction: Direction::parse(&row.direction)
                .map(|d| d.to_proto() as i32)
                .unwrap_or_default(),
            from_status: Status::parse(&from)
                .map(|s| s.to_proto() as i32)
                .unwrap_or_default(),
            to_status: to.to_proto() as i32,
            incident_id: row.incident_id.clone(),
            hotline_ticket_id: row.hotline_ticket_id.clone().unwrap_or_default(),
            note: note.to_owned(),
            actor: Some(actor.clone()),
            at: Some(time::to_timestamp(now)),
        };
        self.ctx
            .outbox
            .enqueue(tx, &row.transfer_id, &event)
            .await
            .map_err(storage)?;
        Ok(())
    }

    /// Records `audit` for complaints-audit in `tx` (the business transaction).
    pub(crate) async fn audit(&self, tx: &mut Tx, audit: Audit) -> Result<(), ApiError> {
        pingan_platform::audit::record(&self.ctx, tx, crate::SHORT_NAME, &audit).await
    }

    /// Queues a reply to 12345 about an inbound (or bounced-back) ticket.
    pub(crate) async fn queue_reply(
        &self,
        tx: &mut Tx,
        row: &TransferRow,
        kind: ReplyKind,
        fill: impl FnOnce(&mut ReplyTicketRequest),
    ) -> Result<(), ApiError> {
        let delivery_id = uuid::Uuid::now_v7().to_string();
        let mut reply = ReplyTicketRequest {
            request_id: delivery_id.clone(),
            ticket_id: row.hotline_ticket_id.clone().unwrap_or_default(),
            transfer_id: row.transfer_id.clone(),
            kind: kind as i32,
            incident_id: row.incident_id.clone(),
            complaint_id: row.complaint_id.clone(),
            handled_by: "平安 110 指挥中心".into(),
            handled_at: Some(time::to_timestamp(self.ctx.clock.now())),
            ..Default::default()
        };
        fill(&mut reply);
        self.queue(
            tx,
            &row.transfer_id,
            Action::ReplyTicket,
            &delivery_id,
            &reply.encode_to_vec(),
        )
        .await
    }

    /// The transfer as the API shows it.
    pub async fn transfer(
        &self,
        row: &TransferRow,
        clear_phone: bool,
    ) -> Result<pb::Transfer, ApiError> {
        let history = self
            .store
            .history(&row.transfer_id)
            .await
            .map_err(storage)?;
        let delivery = self.latest_delivery(&row.transfer_id).await?;
        let phone = if clear_phone { self.phone(row) } else { None };
        Ok(convert::transfer(
            row,
            &history,
            delivery.as_ref(),
            phone,
            self.ctx.clock.now(),
        ))
    }

    /// A transfer by id, or NOT_FOUND.
    pub async fn get(&self, transfer_id: &str) -> Result<TransferRow, ApiError> {
        self.store
            .get(transfer_id)
            .await
            .map_err(storage)?
            .ok_or_else(|| ApiError::NotFound(format!("transfer {transfer_id}")))
    }

    /// A transfer by id or, when empty, by 12345 ticket id.
    pub async fn find(&self, transfer_id: &str, ticket_id: &str) -> Result<TransferRow, ApiError> {
        if !transfer_id.is_empty() {
            return self.get(transfer_id).await;
        }
        self.store
            .by_ticket("", ticket_id)
            .await
            .map_err(storage)?
            .ok_or_else(|| ApiError::NotFound(format!("transfer of ticket {ticket_id}")))
    }

    /// DivertTo12345: records the transfer and its CreateTicket delivery, then tries at once
    /// (a replayed request leaves it to the job worker).
    pub async fn divert(
        &self,
        actor: &Actor,
        request: &pb::DivertTo12345Request,
    ) -> Result<TransferRow, ApiError> {
        let mut claimed = None;
        let response = self
            .ctx
            .requests
            .run("DivertTo12345", &request.request_id, request, async |tx| {
                let now = self.ctx.clock.now();
                let transfer_id = uuid::Uuid::now_v7().to_string();
                let classification = request.classification.clone().unwrap_or_default();
                let department = if request.department.trim().is_empty() {
                    classification.department.clone()
                } else {
                    request.department.trim().to_owned()
                };
                let received_at = request
                    .received_at
                    .as_ref()
                    .and_then(time::from_timestamp)
                    .unwrap_or(now);
                let reason = if request.reason.trim().is_empty() {
                    format!(
                        "非警务类（{}），转 12345 办理",
                        classification.category_name
                    )
                } else {
                    request.reason.clone()
                };
                let mut row = TransferRow {
                    transfer_id: transfer_id.clone(),
                    direction: Direction::To12345.as_str().into(),
                    status: String::new(),
                    hotline_ticket_id: None,
                    incident_id: request.incident_id.clone(),
                    complaint_id: String::new(),
                    origin_transfer_id: String::new(),
                    route: Route::Divert.as_str().into(),
                    classification: Some(convert::classification_record(&classification)),
                    legacy_classification: None,
                    category: classification.category.clone(),
                    department: department.clone(),
                    description: request.description.clone(),
                    caller_phone_sealed: self.sealed_phone(&request.caller_phone)?,
                    caller_phone_masked: pingan_platform::pii::mask_phone(&request.caller_phone),
                    caller_name: request.caller_name.clone(),
                    lat: request.location.map(|l| l.lat),
                    lon: request.location.map(|l| l.lon),
                    address: request.address.clone(),
                    reason: reason.clone(),
                    first_received_on: Channel::Channel110.as_str_name().into(),
                    first_received_at: received_at,
                    deadline: None,
                    outcome_note: String::new(),
                    created_at: now,
                    updated_at: now,
                };
                self.store.insert(tx, &row).await.map_err(storage)?;
                self.change_status(tx, &mut row, Status::Pending, actor, &reason)
                    .await?;
                let create = CreateTicketRequest {
                    request_id: transfer_id.clone(),
                    incident_id: request.incident_id.clone(),
                    category: classification.category.clone(),
                    category_name: classification.category_name.clone(),
                    department,
                    description: request.description.clone(),
                    caller_phone: request.caller_phone.clone(),
                    caller_name: request.caller_name.clone(),
                    location: request.location,
                    address: request.address.clone(),
                    received_at: Some(time::to_timestamp(received_at)),
                    reason,
                };
                let detail = format!(
                    "incident {} diverted to 12345 ({}), caller {}",
                    request.incident_id, create.department, row.caller_phone_masked
                );
                claimed = self
                    .queue_claimed(
                        tx,
                        &transfer_id,
                        Action::CreateTicket,
                        &create.encode_to_vec(),
                    )
                    .await?;
                self.audit(
                    tx,
                    Audit::new(
                        actor.clone(),
                        "triage.DivertTo12345",
                        "transfer",
                        &transfer_id,
                    )
                    .detail(detail),
                )
                .await?;
                metrics::inc(&DIVERSIONS, &["to_12345", Route::Divert.as_str()]);
                Ok(pb::DivertTo12345Response {
                    transfer: Some(pb::Transfer {
                        transfer_id,
                        ..Default::default()
                    }),
                })
            })
            .await?;
        let transfer_id = response.transfer.unwrap_or_default().transfer_id;
        if let Some(job) = claimed {
            self.attempt(&job).await;
        }
        self.get(&transfer_id).await
    }

    /// RecordTransferOutcome: what 12345 (or an operator) reports about a transfer.
    pub async fn record_outcome(
        &self,
        actor: &Actor,
        request: &pb::RecordTransferOutcomeRequest,
        to: Status,
    ) -> Result<TransferRow, ApiError> {
        let target = self
            .find(&request.transfer_id, &request.hotline_ticket_id)
            .await?;
        // The reply it may owe 12345 goes out with the job worker.
        self.ctx
            .requests
            .run(
                "RecordTransferOutcome",
                &request.request_id,
                request,
                async |tx| {
                    let mut row = self
                        .store
                        .lock(tx, &target.transfer_id)
                        .await
                        .map_err(storage)?;
                    let change = Change {
                        to,
                        actor,
                        department: &request.department,
                        note: &request.note,
                        deadline: request.deadline.as_ref(),
                    };
                    self.apply_outcome(tx, &mut row, change).await?;
                    self.audit(
                        tx,
                        Audit::new(
                            actor.clone(),
                            "triage.RecordTransferOutcome",
                            "transfer",
                            &row.transfer_id,
                        )
                        .detail(format!(
                            "outcome {}: {}",
                            to.as_str(),
                            request.note
                        )),
                    )
                    .await?;
                    Ok(pb::RecordTransferOutcomeResponse {
                        transfer: Some(pb::Transfer {
                            transfer_id: row.transfer_id.clone(),
                            ..Default::default()
                        }),
                    })
                },
            )
            .await?;
        self.get(&target.transfer_id).await
    }

    /// Applies an outcome to a locked transfer.
    pub(crate) async fn apply_outcome(
        &self,
        tx: &mut Tx,
        row: &mut TransferRow,
        change: Change<'_>,
    ) -> Result<(), ApiError> {
        let Change {
            to,
            actor,
            department,
            note,
            deadline,
        } = change;
        let from = Status::parse(&row.status).unwrap_or(Status::Pending);
        if !from.can_become(to) {
            return Err(ApiError::FailedPrecondition(format!(
                "transfer {} is {} and cannot become {}",
                row.transfer_id,
                from.as_str(),
                to.as_str()
            )));
        }
        if from == to && to.is_closed() {
            return Ok(());
        }
        if !department.trim().is_empty() {
            row.department = department.trim().to_owned();
        }
        if let Some(deadline) = deadline.and_then(time::from_timestamp) {
            row.deadline = Some(deadline);
        }
        if !note.trim().is_empty() {
            row.outcome_note = note.trim().to_owned();
        }
        self.change_status(tx, row, to, actor, note).await?;
        let outbound = row.direction == Direction::To12345.as_str();
        if to == Status::Bounced && outbound && from != Status::Bounced {
            metrics::inc(&BOUNCES, &["to_12345"]);
        }
        if to == Status::Handled && !outbound && from != Status::Handled {
            let result = note.to_owned();
            self.queue_reply(tx, row, ReplyKind::Handled, |r| r.result = result)
                .await?;
        }
        Ok(())
    }
}

/// A time for the API, now when unset.
pub fn or_now(t: Option<&prost_types::Timestamp>, now: DateTime<Utc>) -> DateTime<Utc> {
    t.and_then(time::from_timestamp).unwrap_or(now)
}
