//! What dispatch tells other services, written in the business transaction: each timeline entry
//! (intake's incident timeline), the close (intake, case-followup), SLA breaches, and an audit
//! record of who did what (complaints-audit). Dispatch receives no events.

use chrono::{DateTime, Utc};
use pingan_platform::storage::Tx;
use pingan_platform::{ApiError, ServiceContext};
use pingan_proto::audit::v1::{AuditOutcome, AuditRecord};
use pingan_proto::common::v1::{Actor, GeoPoint};
use pingan_proto::dispatch::v1::{
    Assignment, Dispatch, DispatchTimelineEvent, TimelineEntry, TimelineEntryKind,
};

use crate::app::{Effects, Runtime};
use pingan_platform::time::to_timestamp;

/// The service itself as the actor of automatic steps.
pub fn service_actor() -> Actor {
    Actor {
        subject: crate::SHORT_NAME.to_owned(),
        role: "service".to_owned(),
        display_name: "dispatch".to_owned(),
    }
}

/// A timeline entry about to be written.
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    /// What happened.
    pub kind: TimelineEntryKind,
    /// The assignment concerned, if any.
    pub assignment: Option<&'a Assignment>,
    /// Who did it.
    pub actor: &'a Actor,
    /// Note given with the action.
    pub note: &'a str,
    /// Human-readable description.
    pub description: String,
    /// The unit's position, when known.
    pub location: Option<GeoPoint>,
}

/// Writes a timeline entry of `dispatch` (in its current status) and its event for intake.
pub async fn record_entry(
    runtime: &Runtime,
    tx: &mut Tx,
    effects: &mut Effects,
    dispatch: &Dispatch,
    entry: Entry<'_>,
    at: DateTime<Utc>,
) -> Result<TimelineEntry, ApiError> {
    let timeline_entry = TimelineEntry {
        entry_id: uuid::Uuid::now_v7().to_string(),
        dispatch_id: dispatch.dispatch_id.clone(),
        incident_id: dispatch.incident_id.clone(),
        kind: entry.kind as i32,
        occurred_at: Some(to_timestamp(at)),
        unit_id: entry
            .assignment
            .map(|a| a.unit_id.clone())
            .unwrap_or_default(),
        assignment_id: entry
            .assignment
            .map(|a| a.assignment_id.clone())
            .unwrap_or_default(),
        actor: Some(entry.actor.clone()),
        location: entry.location,
        note: entry.note.to_owned(),
        description: entry.description,
        dispatch_status: dispatch.status,
    };
    crate::app::records::insert_entry(&*runtime.store, tx, &timeline_entry).await?;
    runtime
        .context
        .outbox
        .enqueue(
            tx,
            &dispatch.incident_id,
            &DispatchTimelineEvent {
                entry: Some(timeline_entry.clone()),
                priority: dispatch.priority,
                station_id: dispatch.station_id.clone(),
            },
        )
        .await?;
    effects.entries.push(timeline_entry.clone());
    Ok(timeline_entry)
}

/// An audit record of one action.
#[derive(Debug, Clone)]
pub struct Audit<'a> {
    /// Who acted.
    pub actor: &'a Actor,
    /// `dispatch.<Rpc>` or a verb.
    pub action: &'a str,
    /// `dispatch`, `unit`, `flight`.
    pub resource_type: &'a str,
    /// The record's id.
    pub resource_id: &'a str,
    /// The station it belongs to.
    pub station_id: &'a str,
    /// Short detail (no personal data).
    pub detail: String,
}

/// Sends an audit record to complaints-audit (through the outbox, in `tx`).
pub async fn audit(
    context: &ServiceContext,
    tx: &mut Tx,
    record: Audit<'_>,
    at: DateTime<Utc>,
) -> Result<(), ApiError> {
    let trace_id =
        pingan_platform::trace_context::trace_id_of(&tracing::Span::current()).unwrap_or_default();
    context
        .outbox
        .enqueue(
            tx,
            record.resource_id,
            &AuditRecord {
                actor: Some(record.actor.clone()),
                action: record.action.to_owned(),
                resource_type: record.resource_type.to_owned(),
                resource_id: record.resource_id.to_owned(),
                occurred_at: Some(to_timestamp(at)),
                trace_id,
                source_service: crate::SHORT_NAME.to_owned(),
                outcome: AuditOutcome::Success as i32,
                station_id: record.station_id.to_owned(),
                detail: record.detail,
                client: String::new(),
            },
        )
        .await?;
    Ok(())
}
