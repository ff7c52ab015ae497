//! Events: the revisit scheduler fed by `pingan.dispatch.v1.DispatchClosed`, and the outbox
//! producers (follow-up events for the incident timeline, audit records for complaints-audit).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use pingan_platform::events::EventHandler;
use pingan_platform::storage::Tx;
use pingan_platform::{ApiError, trace_context};
use pingan_proto::audit::v1::{AuditOutcome, AuditRecord};
use pingan_proto::common::v1::Actor;
use pingan_proto::dispatch::v1::{DispatchClosed, Disposition};
use pingan_proto::events::v1::EventEnvelope;
use pingan_proto::followup::v1::{
    PartyRole, Revisit, RevisitCompleted, RevisitScheduled, RevisitStatus,
};
use prost::Message;

use crate::Core;
use crate::domain::policy::ClosedIncident;
use crate::domain::{from_ts, new_id, ts};

/// The actor of what the service does by itself.
pub fn service_actor() -> Actor {
    Actor {
        subject: crate::SHORT_NAME.to_owned(),
        role: "service".to_owned(),
        display_name: String::new(),
    }
}

/// What an audit record says.
#[derive(Debug, Clone)]
pub struct AuditEntry<'a> {
    /// Who.
    pub actor: Actor,
    /// What, e.g. "followup.RegisterFoundItem".
    pub action: &'a str,
    /// Type of the record, e.g. "found_item".
    pub resource_type: &'a str,
    /// Id of the record.
    pub resource_id: &'a str,
    /// Station of the record.
    pub station_id: &'a str,
    /// Masked detail only.
    pub detail: String,
}

impl Core {
    /// Enqueues an audit record in `tx` (routed to complaints-audit).
    pub async fn audit(&self, tx: &mut Tx, entry: AuditEntry<'_>) -> Result<(), ApiError> {
        let trace_id = trace_context::current_headers()
            .get("traceparent")
            .and_then(|tp| tp.split('-').nth(1).map(str::to_owned))
            .unwrap_or_default();
        let record = AuditRecord {
            actor: Some(entry.actor),
            action: entry.action.to_owned(),
            resource_type: entry.resource_type.to_owned(),
            resource_id: entry.resource_id.to_owned(),
            occurred_at: Some(ts(self.now())),
            trace_id,
            source_service: crate::SHORT_NAME.to_owned(),
            outcome: AuditOutcome::Success as i32,
            station_id: entry.station_id.to_owned(),
            detail: pingan_platform::pii::scrub(&entry.detail),
            client: String::new(),
        };
        self.context
            .outbox
            .enqueue(tx, entry.resource_id, &record)
            .await?;
        Ok(())
    }

    /// Stores a new revisit once per incident and sequence, and announces it. Returns false when
    /// one was already scheduled (a redelivered close, a repeated request).
    pub async fn schedule_revisit(
        &self,
        tx: &mut Tx,
        revisit: &Revisit,
        contact_phone_enc: Option<Vec<u8>>,
        actor: Actor,
    ) -> Result<bool, ApiError> {
        let key = format!("{}#{}", revisit.incident_id, revisit.sequence);
        if !self
            .store
            .insert_revisit(tx, revisit, &key, contact_phone_enc)
            .await?
        {
            return Ok(false);
        }
        let event = RevisitScheduled {
            revisit_id: revisit.revisit_id.clone(),
            incident_id: revisit.incident_id.clone(),
            reason: revisit.reason,
            due_at: revisit.due_at,
            assigned_officer_id: revisit.assigned_officer_id.clone(),
        };
        self.context
            .outbox
            .enqueue(tx, &revisit.incident_id, &event)
            .await?;
        self.audit(
            tx,
            AuditEntry {
                actor,
                action: "followup.ScheduleRevisit",
                resource_type: "revisit",
                resource_id: &revisit.revisit_id,
                station_id: &revisit.station_id,
                detail: format!(
                    "incident {} sequence {} rule {}",
                    revisit.incident_id, revisit.sequence, revisit.policy_rule_id
                ),
            },
        )
        .await?;
        crate::metrics::revisit_scheduled(revisit.reason);
        tracing::info!(
            revisit_id = %revisit.revisit_id,
            incident_id = %revisit.incident_id,
            sequence = revisit.sequence,
            "revisit scheduled"
        );
        Ok(true)
    }

    /// Announces a concluded revisit to the incident timeline.
    pub async fn revisit_concluded(
        &self,
        tx: &mut Tx,
        revisit: &Revisit,
        another_scheduled: bool,
    ) -> Result<(), ApiError> {
        let last = revisit.attempts.last().cloned().unwrap_or_default();
        let event = RevisitCompleted {
            revisit_id: revisit.revisit_id.clone(),
            incident_id: revisit.incident_id.clone(),
            status: revisit.status,
            issue_resolved: last.issue_resolved,
            satisfaction: last.satisfaction,
            another_revisit_scheduled: another_scheduled,
            completed_at: revisit.completed_at,
            recorded_by: last.recorded_by,
        };
        self.context
            .outbox
            .enqueue(tx, &revisit.incident_id, &event)
            .await?;
        Ok(())
    }

    /// Schedules the first revisit of a closed incident when the policy says so.
    pub async fn on_dispatch_closed(
        &self,
        tx: &mut Tx,
        closed: &DispatchClosed,
        event_time: Option<DateTime<Utc>>,
    ) -> Result<Option<Revisit>, ApiError> {
        let dispatch = closed.dispatch.clone().unwrap_or_default();
        if dispatch.incident_id.is_empty() {
            tracing::warn!(dispatch_id = %dispatch.dispatch_id, "closed dispatch without incident ignored");
            return Ok(None);
        }
        let disposition = Disposition::try_from(dispatch.disposition)
            .map(|d| d.as_str_name().trim_start_matches("DISPOSITION_"))
            .unwrap_or("UNSPECIFIED");
        let text = format!("{} {}", dispatch.summary, dispatch.narrative);
        let Some(decision) = self.policy.decide(&ClosedIncident {
            category: &dispatch.category,
            disposition,
            text: &text,
        }) else {
            tracing::debug!(incident_id = %dispatch.incident_id, "closed incident needs no revisit");
            return Ok(None);
        };
        let now = self.now();
        let closed_at = dispatch
            .closed_at
            .as_ref()
            .and_then(from_ts)
            .or(event_time)
            .unwrap_or(now);
        let officer = closed.officer_ids.first().cloned().unwrap_or_default();
        let mut revisit = Revisit {
            revisit_id: new_id("rv"),
            incident_id: dispatch.incident_id.clone(),
            station_id: dispatch.station_id.clone(),
            grid_id: dispatch.grid_id.clone(),
            assigned_officer_id: officer,
            category: dispatch.category.clone(),
            reason: decision.reason as i32,
            policy_rule_id: decision.rule_id.clone(),
            status: RevisitStatus::Due as i32,
            due_at: Some(ts(closed_at + decision.due_after)),
            sequence: 1,
            created_at: Some(ts(now)),
            updated_at: Some(ts(now)),
            ..Revisit::default()
        };
        let mut phone_enc = None;
        if let Some((mediation, phones)) = self
            .store
            .latest_mediation(tx, &revisit.incident_id)
            .await?
        {
            let chosen = mediation
                .parties
                .iter()
                .position(|p| p.role == PartyRole::Caller as i32)
                .unwrap_or(0);
            if let Some(party) = mediation.parties.get(chosen) {
                revisit.contact_name = party.name.clone();
                revisit.contact_phone_masked = party.phone_masked.clone();
                revisit.resident_id = party.resident_id.clone();
                phone_enc = self.party_phone(phones.as_deref(), chosen)?;
            }
            // Nobody with an officer id was on scene (e.g. a patrol car with no crew
            // registered): the mediator knows the parties and does the revisit.
            if revisit.assigned_officer_id.is_empty() {
                revisit.assigned_officer_id = mediation.mediator_officer_id.clone();
            }
            revisit.mediation_id = mediation.mediation_id;
        }
        let scheduled = self
            .schedule_revisit(tx, &revisit, phone_enc, service_actor())
            .await?;
        Ok(scheduled.then_some(revisit))
    }
}

/// `pingan.dispatch.v1.DispatchClosed` → a revisit, once per incident.
pub struct DispatchClosedHandler {
    core: Arc<Core>,
}

impl DispatchClosedHandler {
    /// The handler over the service's core.
    pub fn new(core: Arc<Core>) -> Self {
        Self { core }
    }
}

#[tonic::async_trait]
impl EventHandler for DispatchClosedHandler {
    async fn handle(&self, tx: &mut Tx, event: &EventEnvelope) -> Result<(), ApiError> {
        let payload = event
            .payload
            .as_ref()
            .map(|p| p.value.as_slice())
            .unwrap_or_default();
        let closed = DispatchClosed::decode(payload).map_err(|err| {
            ApiError::invalid("event.payload", format!("not a DispatchClosed: {err}"))
        })?;
        let event_time = event.occurred_at.as_ref().and_then(from_ts);
        self.core
            .on_dispatch_closed(tx, &closed, event_time)
            .await?;
        Ok(())
    }
}
