//! Events routed to complaints-audit: audit records from every service, complaints from 12345
//! (via triage), and triage's acknowledgement that 12345 has the answer; `outbound` builds the
//! events this service emits.

pub mod outbound;

use std::sync::Arc;

use pingan_platform::ApiError;
use pingan_platform::events::{EventHandler, ServiceSink};
use pingan_platform::storage::Tx;
use pingan_proto::audit::v1::{Accused, AuditRecord, ComplaintSource};
use pingan_proto::common::v1::Actor;
use pingan_proto::events::v1::EventEnvelope;
use pingan_proto::intake::v1::PoliceComplaintCallReceived;
use pingan_proto::triage::v1::{HotlineComplaintReceived, TransferStatus, TransferStatusChanged};
use prost::{Message, Name};

use pingan_platform::phone::{Phone, PhoneKind};

use crate::app::Core;
use crate::app::audit_log;
use crate::app::complaints::{self, NewComplaint};
use crate::domain::audit::to_micros;
use pingan_platform::time::from_timestamp;

fn decode<M: Message + Default>(event: &EventEnvelope) -> Result<M, ApiError> {
    let payload = event
        .payload
        .as_ref()
        .map(|p| p.value.as_slice())
        .unwrap_or_default();
    M::decode(payload).map_err(|err| {
        ApiError::invalid(
            "event.payload",
            format!("cannot decode {}: {err}", event.event_type),
        )
    })
}

fn occurred_at(core: &Core, event: &EventEnvelope) -> chrono::DateTime<chrono::Utc> {
    event
        .occurred_at
        .as_ref()
        .and_then(from_timestamp)
        .unwrap_or_else(|| core.now())
}

/// The complainant's number when it is a clear one we accept (a masked one cannot be sealed).
fn clear_phone(text: &str) -> String {
    match Phone::parse(text) {
        Ok(phone) if phone.kind() != PhoneKind::Masked => phone.as_str().to_owned(),
        _ => String::new(),
    }
}

/// `pingan.audit.v1.AuditRecord` → one entry of the chain (entry id = event id).
struct AuditRecordHandler(Arc<Core>);

#[tonic::async_trait]
impl EventHandler for AuditRecordHandler {
    async fn handle(&self, tx: &mut Tx, event: &EventEnvelope) -> Result<(), ApiError> {
        let record: AuditRecord = decode(event)?;
        let at = occurred_at(&self.0, event);
        audit_log::append_record(&self.0, tx, &event.event_id, &record, &event.source, at).await?;
        Ok(())
    }

    fn writes_batches(&self) -> bool {
        true
    }

    /// Every decodable record appended with a few statements (the chain head locked once);
    /// an undecodable one is refused alone, before anything is written.
    async fn handle_batch(
        &self,
        tx: &mut Tx,
        events: &[&EventEnvelope],
    ) -> Result<Vec<Result<(), ApiError>>, ApiError> {
        let mut results: Vec<Option<Result<(), ApiError>>> = Vec::with_capacity(events.len());
        let mut records = Vec::with_capacity(events.len());
        for event in events {
            match decode::<AuditRecord>(event) {
                Ok(record) => {
                    let at = occurred_at(&self.0, event);
                    records.push((event.event_id.as_str(), record, event.source.as_str(), at));
                    results.push(None);
                }
                Err(err) => results.push(Some(Err(err))),
            }
        }
        let mut appended = audit_log::append_records(&self.0, tx, records)
            .await?
            .into_iter();
        Ok(results
            .into_iter()
            .map(|result| {
                result.unwrap_or_else(|| match appended.next() {
                    Some(outcome) => outcome.map(|_| ()),
                    None => Err(ApiError::internal(
                        "an audit record of the batch has no outcome",
                    )),
                })
            })
            .collect())
    }
}

/// `pingan.triage.v1.HotlineComplaintReceived` → a HOTLINE_12345 complaint (once per ticket).
struct HotlineComplaintHandler(Arc<Core>);

#[tonic::async_trait]
impl EventHandler for HotlineComplaintHandler {
    async fn handle(&self, tx: &mut Tx, event: &EventEnvelope) -> Result<(), ApiError> {
        let ticket: HotlineComplaintReceived = decode(event)?;
        if ticket.hotline_ticket_id.trim().is_empty() {
            // Retrying cannot fix it: recorded and dropped.
            tracing::error!(event_id = %event.event_id, "12345 complaint without ticket id ignored");
            return Ok(());
        }
        let allegation = if ticket.description.trim().is_empty() {
            "(no description given to 12345)".to_owned()
        } else {
            ticket.description.clone()
        };
        let phone = clear_phone(&ticket.complainant_phone);
        let new = NewComplaint {
            source: ComplaintSource::Hotline12345,
            hotline_ticket_id: ticket.hotline_ticket_id.trim().to_owned(),
            transfer_id: ticket.transfer_id.trim().to_owned(),
            name: ticket.complainant_name.clone(),
            phone,
            address: ticket.address.clone(),
            accused: vec![Accused {
                description: "not identified yet: as described in the 12345 ticket".to_owned(),
                ..Accused::default()
            }],
            allegation,
            tags: vec!["HOTLINE_12345".to_owned()],
            received_at: ticket
                .received_at
                .as_ref()
                .and_then(from_timestamp)
                .unwrap_or_else(|| occurred_at(&self.0, event)),
            ..NewComplaint::default()
        };
        let by = Actor {
            subject: if event.source.is_empty() {
                "triage".to_owned()
            } else {
                event.source.clone()
            },
            role: "service".to_owned(),
            display_name: String::new(),
        };
        complaints::file(&self.0, tx, new, &by, None).await?;
        Ok(())
    }
}

/// `pingan.intake.v1.PoliceComplaintCallReceived` → a CALL_110 complaint (once per incident).
struct PoliceComplaintCallHandler(Arc<Core>);

#[tonic::async_trait]
impl EventHandler for PoliceComplaintCallHandler {
    async fn handle(&self, tx: &mut Tx, event: &EventEnvelope) -> Result<(), ApiError> {
        let call: PoliceComplaintCallReceived = decode(event)?;
        let incident_id = call.incident_id.trim().to_owned();
        if incident_id.is_empty() {
            // Retrying cannot fix it: recorded and dropped.
            tracing::error!(event_id = %event.event_id, "110 complaint call without incident id ignored");
            return Ok(());
        }
        let allegation = if call.description.trim().is_empty() {
            "(no description given on the 110 call)".to_owned()
        } else {
            call.description.clone()
        };
        let phone = clear_phone(&call.complainant_phone);
        let new = NewComplaint {
            source: ComplaintSource::Call110,
            name: call.complainant_name.clone(),
            phone,
            address: call.address.clone(),
            accused: vec![Accused {
                station_id: call.station_id.trim().to_owned(),
                description: "not identified yet: as described on the 110 call".to_owned(),
                ..Accused::default()
            }],
            // The call's own incident (closed at intake) links the complaint to the call; the
            // incident complained about is set when the investigator is assigned.
            incident_id,
            allegation,
            tags: vec!["CALL_110".to_owned()],
            station_id: call.station_id.trim().to_owned(),
            received_at: call
                .received_at
                .as_ref()
                .and_then(from_timestamp)
                .unwrap_or_else(|| occurred_at(&self.0, event)),
            ..NewComplaint::default()
        };
        let by = Actor {
            subject: if event.source.is_empty() {
                "intake".to_owned()
            } else {
                event.source.clone()
            },
            role: "service".to_owned(),
            display_name: String::new(),
        };
        complaints::file(&self.0, tx, new, &by, None).await?;
        Ok(())
    }
}

/// `pingan.triage.v1.TransferStatusChanged` to HANDLED → the answer reached 12345.
struct TransferStatusHandler(Arc<Core>);

#[tonic::async_trait]
impl EventHandler for TransferStatusHandler {
    async fn handle(&self, tx: &mut Tx, event: &EventEnvelope) -> Result<(), ApiError> {
        let change: TransferStatusChanged = decode(event)?;
        if change.to_status != TransferStatus::Handled as i32 || change.transfer_id.is_empty() {
            return Ok(());
        }
        let at = change
            .at
            .as_ref()
            .and_then(from_timestamp)
            .unwrap_or_else(|| occurred_at(&self.0, event));
        if complaints::mark_replied(&self.0, tx, &change.transfer_id, to_micros(at)).await? {
            tracing::info!(transfer_id = %change.transfer_id, "12345 acknowledged the answer to a complaint");
        }
        Ok(())
    }
}

/// The inbox of complaints-audit with its handlers.
pub fn sink(core: Arc<Core>) -> ServiceSink {
    ServiceSink::new(core.context.db.clone(), core.context.clock.clone())
        .on(
            &AuditRecord::full_name(),
            Arc::new(AuditRecordHandler(core.clone())),
        )
        .on(
            &HotlineComplaintReceived::full_name(),
            Arc::new(HotlineComplaintHandler(core.clone())),
        )
        .on(
            &PoliceComplaintCallReceived::full_name(),
            Arc::new(PoliceComplaintCallHandler(core.clone())),
        )
        .on(
            &TransferStatusChanged::full_name(),
            Arc::new(TransferStatusHandler(core)),
        )
}
