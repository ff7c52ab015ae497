//! Events triage receives: complaints-audit filed a 12345 complaint (record its id on the
//! transfer), and answered one (reply the finding to 12345 through a delivery job); intake holds a
//! 12345 ticket's incident for a location (ask 12345 for a precise address, once a ticket).

use std::sync::Arc;

use pingan_platform::ApiError;
use pingan_platform::events::EventHandler;
use pingan_platform::storage::{StorageError, Tx};
use pingan_proto::audit::v1::{ComplaintAnswered, ComplaintFiled, Finding};
use pingan_proto::events::v1::EventEnvelope;
use pingan_proto::hotline::v1::ReplyKind;
use pingan_proto::intake::v1::IncidentNeedsLocation;
use prost::Message;

use crate::app::bridge::{Bridge, triage_actor};
use crate::app::settle::NEEDS_LOCATION_NOTE;
use crate::domain::transfer::{Direction, Status};
use crate::store::TransferRow;

fn decode<M: Message + Default>(event: &EventEnvelope) -> Result<M, ApiError> {
    let payload = event
        .payload
        .as_ref()
        .map(|p| p.value.as_slice())
        .unwrap_or_default();
    M::decode(payload).map_err(|e| ApiError::invalid("event.payload", e.to_string()))
}

async fn locate(
    bridge: &Bridge,
    tx: &mut Tx,
    transfer_id: &str,
    ticket_id: &str,
) -> Result<Option<TransferRow>, ApiError> {
    let id = if transfer_id.is_empty() {
        match bridge.store.by_ticket("FROM_12345", ticket_id).await? {
            Some(row) => row.transfer_id,
            None => return Ok(None),
        }
    } else {
        transfer_id.to_owned()
    };
    match bridge.store.lock(tx, &id).await {
        Ok(row) => Ok(Some(row)),
        Err(StorageError::NotFound) => Ok(None),
        Err(err) => Err(err.into()),
    }
}

/// `pingan.audit.v1.ComplaintFiled`.
#[derive(Debug)]
pub struct OnComplaintFiled(pub Arc<Bridge>);

#[tonic::async_trait]
impl EventHandler for OnComplaintFiled {
    async fn handle(&self, tx: &mut Tx, event: &EventEnvelope) -> Result<(), ApiError> {
        let filed: ComplaintFiled = decode(event)?;
        if filed.transfer_id.is_empty() && filed.hotline_ticket_id.is_empty() {
            return Ok(()); // not a 12345 complaint
        }
        let Some(mut row) =
            locate(&self.0, tx, &filed.transfer_id, &filed.hotline_ticket_id).await?
        else {
            tracing::warn!(complaint_id = %filed.complaint_id, "complaint filed for an unknown transfer");
            return Ok(());
        };
        if row.complaint_id == filed.complaint_id {
            return Ok(());
        }
        row.complaint_id = filed.complaint_id.clone();
        let note = format!("投诉已受理 {}", filed.case_number);
        if Status::parse(&row.status) == Some(Status::Pending) {
            self.0
                .change_status(tx, &mut row, Status::Accepted, &triage_actor(), &note)
                .await?;
            self.0
                .queue_reply(tx, &row, ReplyKind::Accepted, |r| r.result = note.clone())
                .await?;
        } else {
            row.updated_at = self.0.ctx.clock.now();
            self.0.store.save(tx, &row).await?;
        }
        Ok(())
    }
}

/// `pingan.audit.v1.ComplaintAnswered`.
#[derive(Debug)]
pub struct OnComplaintAnswered(pub Arc<Bridge>);

#[tonic::async_trait]
impl EventHandler for OnComplaintAnswered {
    async fn handle(&self, tx: &mut Tx, event: &EventEnvelope) -> Result<(), ApiError> {
        let answered: ComplaintAnswered = decode(event)?;
        let Some(mut row) = locate(
            &self.0,
            tx,
            &answered.transfer_id,
            &answered.hotline_ticket_id,
        )
        .await?
        else {
            tracing::warn!(complaint_id = %answered.complaint_id, "answer for an unknown transfer");
            return Ok(());
        };
        if Status::parse(&row.status).is_some_and(Status::is_closed) {
            return Ok(());
        }
        if row.complaint_id.is_empty() {
            row.complaint_id = answered.complaint_id.clone();
            row.updated_at = self.0.ctx.clock.now();
            self.0.store.save(tx, &row).await?;
        }
        let finding = Finding::try_from(answered.finding)
            .map(|f| f.as_str_name().trim_start_matches("FINDING_").to_owned())
            .unwrap_or_default();
        let text = answered.reply_text.clone();
        self.0
            .queue_reply(tx, &row, ReplyKind::Finding, |r| {
                r.finding = finding;
                r.result = text;
                r.handled_at = answered.answered_at;
            })
            .await?;
        Ok(())
    }
}

/// `pingan.intake.v1.IncidentNeedsLocation`: 12345 is asked for a precise address once per
/// ticket, whether the hold was in intake's first answer (its delivery told it already) or later.
#[derive(Debug)]
pub struct OnIncidentNeedsLocation(pub Arc<Bridge>);

#[tonic::async_trait]
impl EventHandler for OnIncidentNeedsLocation {
    async fn handle(&self, tx: &mut Tx, event: &EventEnvelope) -> Result<(), ApiError> {
        let held: IncidentNeedsLocation = decode(event)?;
        if held.inbound_transfer_id.is_empty() {
            return Ok(()); // not from 12345
        }
        let Some(mut row) = locate(&self.0, tx, &held.inbound_transfer_id, "").await? else {
            tracing::warn!(incident_id = %held.incident_id, "held incident of an unknown transfer");
            return Ok(());
        };
        let status = Status::parse(&row.status).unwrap_or(Status::Pending);
        // Told already (this event again, or the delivery of intake's answer), or over.
        if row.direction != Direction::From12345.as_str()
            || row.outcome_note == NEEDS_LOCATION_NOTE
            || status.is_closed()
        {
            return Ok(());
        }
        if row.incident_id.is_empty() {
            row.incident_id = held.incident_id.clone();
        }
        row.outcome_note = NEEDS_LOCATION_NOTE.into();
        let note = format!("已立警情 {}，{NEEDS_LOCATION_NOTE}", held.incident_id);
        if status == Status::Pending {
            // Before the delivery applied intake's answer: this is the acceptance too.
            self.0
                .change_status(tx, &mut row, Status::Accepted, &triage_actor(), &note)
                .await?;
        } else {
            row.updated_at = self.0.ctx.clock.now();
            self.0.store.save(tx, &row).await?;
        }
        self.0
            .queue_reply(tx, &row, ReplyKind::Accepted, |r| {
                r.result = format!("公安已接收并立为警情，{NEEDS_LOCATION_NOTE}");
            })
            .await?;
        Ok(())
    }
}
