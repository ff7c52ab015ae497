//! Inbound events, each applied in the inbox transaction: `dispatch` (timeline steps, close,
//! missed response target), `followup` (mediations, revisits) and `others` (12345 transfers,
//! complaints filed). What they share is [`Applying`]: the event's time, origin and the locked
//! incident.

mod dispatch;
mod followup;
mod others;

use chrono::{DateTime, Utc};
use pingan_platform::jobs::JobQueue;
use pingan_platform::storage::Tx;
use pingan_platform::time::from_timestamp;
use pingan_platform::{ApiError, ServiceContext};
use pingan_proto::common::v1::Actor;
use pingan_proto::events::v1::EventEnvelope;
use pingan_proto::intake::v1::{IncidentStatus, TimelineEntryKind as Kind};

use crate::app::timeline::{self, Entry};
use crate::app::upgrade;
use crate::domain::{self, IncidentRecord};
use crate::store::Store;
use prost::Message;

/// One event being applied: the time and origin every entry it writes carries.
pub(crate) struct Applying<'a> {
    pub(super) context: &'a ServiceContext,
    pub(super) store: &'a dyn Store,
    pub(super) jobs: &'a JobQueue,
    pub(super) event: &'a EventEnvelope,
    pub(super) now: DateTime<Utc>,
}

impl Applying<'_> {
    pub(super) fn at(&self, at: Option<&prost_types::Timestamp>) -> DateTime<Utc> {
        at.and_then(from_timestamp)
            .or_else(|| self.event.occurred_at.as_ref().and_then(from_timestamp))
            .unwrap_or(self.now)
    }

    pub(super) fn entry(
        &self,
        incident_id: &str,
        kind: Kind,
        at: DateTime<Utc>,
        actor: Option<&Actor>,
        summary: impl Into<String>,
    ) -> Entry {
        let fallback = Actor {
            subject: self.event.source.clone(),
            role: "service".into(),
            display_name: String::new(),
        };
        Entry::new(
            incident_id,
            kind,
            at,
            actor.filter(|a| !a.subject.is_empty()).unwrap_or(&fallback),
            &self.event.source,
            summary,
        )
        .event(&self.event.event_id)
    }

    /// The incident, locked; `None` (and a warning) when intake does not know it.
    pub(super) async fn lock(
        &self,
        tx: &mut Tx,
        incident_id: &str,
    ) -> Result<Option<IncidentRecord>, ApiError> {
        let mut found = if incident_id.is_empty() {
            None
        } else {
            self.store.lock_incident(tx, incident_id).await?
        };
        // An event may come before the start-up step converted this incident's old blob.
        if let Some(incident) = found.as_mut()
            && let Some(converted) =
                upgrade::convert_in(tx, self.store, &incident.incident_id).await?
        {
            incident.classification = converted;
        }
        if found.is_none() {
            tracing::warn!(
                incident_id,
                event_type = %self.event.event_type,
                event_id = %self.event.event_id,
                "event about an unknown incident ignored"
            );
        }
        Ok(found)
    }

    pub(super) async fn save(
        &self,
        tx: &mut Tx,
        incident: &mut IncidentRecord,
    ) -> Result<(), ApiError> {
        incident.updated_at = self.now;
        self.store.save_incident(tx, incident).await?;
        Ok(())
    }

    /// Moves the status forward only; returns the status before.
    pub(super) async fn advance_status(
        &self,
        tx: &mut Tx,
        incident: &mut IncidentRecord,
        to: IncidentStatus,
        actor: Option<&Actor>,
        at: DateTime<Utc>,
        reason: &str,
    ) -> Result<IncidentStatus, ApiError> {
        let from = incident.status();
        if !domain::moves_forward(from, to) {
            return Ok(from);
        }
        let actor = actor.cloned().unwrap_or_else(timeline::intake_actor);
        timeline::change_status(self.context, tx, incident, to, &actor, at, reason).await
    }

    /// Applies the event by its type.
    pub(crate) async fn apply(&self, tx: &mut Tx) -> Result<(), ApiError> {
        let event = self.event;
        match event.event_type.as_str() {
            "pingan.dispatch.v1.DispatchTimelineEvent" => {
                self.dispatch_timeline(tx, decode(event)?).await
            }
            "pingan.dispatch.v1.DispatchClosed" => self.dispatch_closed(tx, decode(event)?).await,
            "pingan.dispatch.v1.SlaBreached" => self.sla_breached(tx, decode(event)?).await,
            "pingan.followup.v1.MediationOpened" => self.mediation_opened(tx, decode(event)?).await,
            "pingan.followup.v1.MediationConcluded" => {
                self.mediation_concluded(tx, decode(event)?).await
            }
            "pingan.followup.v1.RevisitScheduled" => {
                self.revisit_scheduled(tx, decode(event)?).await
            }
            "pingan.followup.v1.RevisitCompleted" => {
                self.revisit_completed(tx, decode(event)?).await
            }
            "pingan.triage.v1.TransferStatusChanged" => {
                self.transfer_changed(tx, decode(event)?).await
            }
            "pingan.audit.v1.ComplaintFiled" => self.complaint_filed(tx, decode(event)?).await,
            other => Err(ApiError::FailedPrecondition(format!(
                "intake does not handle {other}"
            ))),
        }
    }
}

fn decode<M: Message + Default>(event: &EventEnvelope) -> Result<M, ApiError> {
    let bytes = event
        .payload
        .as_ref()
        .map(|any| any.value.as_slice())
        .unwrap_or_default();
    M::decode(bytes).map_err(|err| ApiError::invalid("event.payload", err.to_string()))
}
