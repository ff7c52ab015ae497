//! Inbound 12345 tickets: police business becomes an intake incident, a complaint about police
//! goes to complaints-audit, anything else is returned; a diversion pushed back stays with the
//! police (first-receiver rule). Idempotent on the 12345 ticket id.

use pingan_platform::jobs::Job;
use pingan_platform::storage::Tx;
use pingan_platform::time;
use pingan_platform::{ApiError, FieldViolations, StorageError, phone, report};
use pingan_proto::common::v1::{Actor, Channel};
use pingan_proto::hotline::v1::ReplyKind;
use pingan_proto::intake::v1::ReportCallRequest;
use pingan_proto::triage::v1 as pb;
use prost::Message;

use crate::api::convert;
use crate::app::bridge::{Bridge, Received, hotline_actor, triage_actor};
use crate::domain::Kind;
use crate::domain::transfer::{Action, Direction, Route, Status, disposition};
use crate::metrics::{self, BOUNCES, DIVERSIONS};
use crate::store::TransferRow;

fn storage(err: StorageError) -> ApiError {
    err.into()
}

/// Refuses, naming every field, what intake would refuse of a ticket (the rules are shared in
/// the platform): a ticket accepted here must never become a delivery intake turns down.
pub fn check_ticket(
    v: &mut FieldViolations,
    request: &pb::ReceiveHotlineTicketRequest,
    now: chrono::DateTime<chrono::Utc>,
) {
    v.require_non_empty("hotline_ticket_id", &request.hotline_ticket_id);
    v.require_max_chars(
        "hotline_ticket_id",
        &request.hotline_ticket_id,
        report::MAX_SOURCE_ID_CHARS,
    );
    phone::check_optional_phone(v, "caller_phone", &request.caller_phone);
    v.require_max_chars("caller_name", &request.caller_name, report::MAX_NAME_CHARS);
    report::check_point(v, "location", request.location.as_ref());
    v.require_max_chars("address", &request.address, report::MAX_ADDRESS_CHARS);
    report::check_description(v, "description", &request.description);
    report::check_received_at(v, "received_at", request.received_at.as_ref(), now);
}

/// Police business becomes an incident, which needs a place: a point or an address to locate.
fn check_place(request: &pb::ReceiveHotlineTicketRequest) -> Result<(), ApiError> {
    let mut v = FieldViolations::default();
    report::check_place(&mut v, request.location.as_ref(), &request.address);
    v.finish()
}

impl Bridge {
    /// ReceiveHotlineTicket: idempotent on the ticket id whatever the request id.
    pub async fn receive(
        &self,
        actor: &Actor,
        request: &pb::ReceiveHotlineTicketRequest,
    ) -> Result<Received, ApiError> {
        let ticket = request.hotline_ticket_id.trim().to_owned();
        let existing = self
            .store
            .by_ticket(Direction::From12345.as_str(), &ticket)
            .await
            .map_err(storage)?;
        // The ReportCall this request holds, attempted once it is committed.
        let mut claimed = None;
        let transfer_id = match existing {
            Some(row) => row.transfer_id,
            None => {
                let result = self
                    .ctx
                    .requests
                    .run(
                        "ReceiveHotlineTicket",
                        &request.request_id,
                        request,
                        async |tx| {
                            let (transfer_id, job) =
                                self.record_inbound(tx, actor, request, &ticket).await?;
                            claimed = job;
                            Ok(pb::ReceiveHotlineTicketResponse {
                                transfer: Some(pb::Transfer {
                                    transfer_id,
                                    ..Default::default()
                                }),
                                ..Default::default()
                            })
                        },
                    )
                    .await;
                match result {
                    Ok(response) => response.transfer.unwrap_or_default().transfer_id,
                    // The same ticket raced in under another request id: it was recorded once
                    // (by the other request, which holds its delivery; this one rolled back).
                    Err(ApiError::AlreadyExists(_)) | Err(ApiError::Unavailable(_)) => {
                        claimed = None;
                        self.store
                            .by_ticket(Direction::From12345.as_str(), &ticket)
                            .await
                            .map_err(storage)?
                            .map(|row| row.transfer_id)
                            .ok_or_else(|| {
                                ApiError::Unavailable("ticket being recorded; retry".into())
                            })?
                    }
                    Err(err) => return Err(err),
                }
            }
        };
        if let Some(job) = claimed {
            self.attempt(&job).await;
        }
        let row = self.get(&transfer_id).await?;
        let route = Route::parse(&row.route).unwrap_or(Route::Incident);
        let status = Status::parse(&row.status).unwrap_or(Status::Pending);
        let disposition = disposition(route, status);
        let return_reason = if disposition == pb::InboundDisposition::Returned {
            row.reason.clone()
        } else {
            String::new()
        };
        Ok(Received {
            transfer: self.transfer(&row, true).await?,
            disposition,
            return_reason,
        })
    }

    async fn record_inbound(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        request: &pb::ReceiveHotlineTicketRequest,
        ticket: &str,
    ) -> Result<(String, Option<Job>), ApiError> {
        let now = self.ctx.clock.now();
        let transfer_id = uuid::Uuid::now_v7().to_string();
        let received_at = request
            .received_at
            .as_ref()
            .and_then(time::from_timestamp)
            .unwrap_or(now);
        let deadline = request
            .deadline
            .as_ref()
            .and_then(time::from_timestamp)
            .unwrap_or_else(|| {
                now + chrono::Duration::from_std(self.config.inbound_time_limit)
                    .unwrap_or(chrono::Duration::hours(24))
            });
        // A request 12345 pushes back after our diversion stays with the police (first receiver).
        let origin = if request.origin_transfer_id.trim().is_empty() {
            None
        } else {
            match self.store.lock(tx, request.origin_transfer_id.trim()).await {
                Ok(row) if row.direction == Direction::To12345.as_str() => Some(row),
                Ok(_) | Err(StorageError::NotFound) => None,
                Err(err) => return Err(storage(err)),
            }
        };
        let classification = self.rules.classify(
            &request.description,
            Channel::Channel12345.as_str_name(),
            &request.reported_category,
        );
        // Police business becomes an incident (unless it is our own diversion coming back).
        if origin.is_none() && matches!(classification.kind, Kind::Police | Kind::Joint) {
            check_place(request)?;
        }
        metrics::inc(
            &metrics::CLASSIFICATIONS,
            &[
                classification.kind.as_str(),
                if classification.needs_confirmation {
                    "true"
                } else {
                    "false"
                },
            ],
        );
        let route = match (&origin, classification.kind) {
            (Some(_), _) => Route::BounceBack,
            (None, Kind::Police | Kind::Joint) => Route::Incident,
            (None, Kind::ComplaintAboutPolice) => Route::Complaint,
            (None, Kind::NonPolice | Kind::Invalid) => Route::Return,
        };
        let reason = match route {
            Route::Return => format!(
                "不属于公安职责（{}），建议转{}",
                classification.category_name,
                if classification.department.is_empty() {
                    "相关职能部门".to_owned()
                } else {
                    classification.department.clone()
                }
            ),
            Route::BounceBack => "12345 退回的转办件，按首接负责由公安处置".into(),
            _ => String::new(),
        };
        let mut row = TransferRow {
            transfer_id: transfer_id.clone(),
            direction: Direction::From12345.as_str().into(),
            status: String::new(),
            hotline_ticket_id: Some(ticket.to_owned()),
            incident_id: origin
                .as_ref()
                .map(|o| o.incident_id.clone())
                .unwrap_or_default(),
            complaint_id: String::new(),
            origin_transfer_id: origin
                .as_ref()
                .map(|o| o.transfer_id.clone())
                .unwrap_or_default(),
            route: route.as_str().into(),
            classification: Some(convert::classification_record(&convert::classification(
                &classification,
            ))),
            legacy_classification: None,
            category: classification.category.clone(),
            department: request.department.clone(),
            description: request.description.clone(),
            caller_phone_sealed: self.sealed_phone(&request.caller_phone)?,
            caller_phone_masked: pingan_platform::pii::mask_phone(&request.caller_phone),
            caller_name: request.caller_name.clone(),
            lat: request.location.map(|l| l.lat),
            lon: request.location.map(|l| l.lon),
            address: request.address.clone(),
            reason: reason.clone(),
            first_received_on: if origin.is_some() {
                Channel::Channel110.as_str_name().into()
            } else {
                Channel::Channel12345.as_str_name().into()
            },
            first_received_at: origin
                .as_ref()
                .map(|o| o.first_received_at)
                .unwrap_or(received_at),
            deadline: Some(deadline),
            outcome_note: String::new(),
            created_at: now,
            updated_at: now,
        };
        match self.store.insert(tx, &row).await {
            Err(StorageError::Conflict(what)) => return Err(ApiError::AlreadyExists(what)),
            other => other.map_err(storage)?,
        }
        self.change_status(tx, &mut row, Status::Pending, actor, "12345 转来")
            .await?;
        if let Some(mut origin) = origin
            && !Status::parse(&origin.status).is_some_and(Status::is_closed)
        {
            origin.outcome_note = "12345 退回，留公安处置".into();
            self.change_status(tx, &mut origin, Status::Bounced, &hotline_actor(), &reason)
                .await?;
            metrics::inc(&BOUNCES, &["to_12345"]);
        }
        let mut claimed = None;
        match route {
            Route::Incident | Route::BounceBack if row.incident_id.is_empty() => {
                let report = ReportCallRequest {
                    request_id: format!("triage-inbound-{transfer_id}"),
                    channel: if route == Route::BounceBack {
                        Channel::Channel110 as i32
                    } else {
                        Channel::Channel12345 as i32
                    },
                    source_call_id: ticket.to_owned(),
                    caller_phone: request.caller_phone.clone(),
                    caller_name: request.caller_name.clone(),
                    location: request.location,
                    address: request.address.clone(),
                    description: request.description.clone(),
                    reported_category: classification.category.clone(),
                    received_at: Some(time::to_timestamp(row.first_received_at)),
                    inbound_transfer_id: transfer_id.clone(),
                };
                claimed = self
                    .queue_claimed(
                        tx,
                        &transfer_id,
                        Action::ReportCall,
                        &report.encode_to_vec(),
                    )
                    .await?;
                metrics::inc(&DIVERSIONS, &["from_12345", route.as_str()]);
            }
            Route::Incident | Route::BounceBack => {
                // The incident already exists (our diversion): it is back with the police.
                self.change_status(
                    tx,
                    &mut row,
                    Status::Accepted,
                    &triage_actor(),
                    "事件已回到公安",
                )
                .await?;
                self.queue_reply(tx, &row, ReplyKind::Accepted, |r| {
                    r.result = "公安已接收，按首接负责处置".into();
                })
                .await?;
                metrics::inc(&DIVERSIONS, &["from_12345", route.as_str()]);
            }
            Route::Complaint => {
                let event = pb::HotlineComplaintReceived {
                    transfer_id: transfer_id.clone(),
                    hotline_ticket_id: ticket.to_owned(),
                    description: request.description.clone(),
                    complainant_phone: request.caller_phone.clone(),
                    complainant_name: request.caller_name.clone(),
                    location: request.location,
                    address: request.address.clone(),
                    received_at: Some(time::to_timestamp(received_at)),
                    deadline: Some(time::to_timestamp(deadline)),
                    classification: Some(convert::classification(&classification)),
                };
                self.ctx
                    .outbox
                    .enqueue(tx, &transfer_id, &event)
                    .await
                    .map_err(storage)?;
                metrics::inc(&DIVERSIONS, &["from_12345", route.as_str()]);
            }
            Route::Return => {
                row.outcome_note = reason.clone();
                self.change_status(tx, &mut row, Status::Bounced, &triage_actor(), &reason)
                    .await?;
                self.queue_reply(tx, &row, ReplyKind::Returned, |r| {
                    r.return_reason = reason.clone();
                })
                .await?;
                metrics::inc(&BOUNCES, &["from_12345"]);
            }
            Route::Divert => {}
        }
        self.audit(
            tx,
            pingan_platform::audit::Audit::new(
                actor.clone(),
                "triage.ReceiveHotlineTicket",
                "transfer",
                &transfer_id,
            )
            .detail(format!(
                "12345 ticket {ticket} received, route {}, caller {}",
                route.as_str(),
                row.caller_phone_masked
            )),
        )
        .await?;
        Ok((transfer_id, claimed))
    }
}
