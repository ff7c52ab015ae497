//! Scheduling revisits: the first one when a dispatch closes (by the revisit policy), the next
//! ones when an officer asks for another; each announced to the incident timeline.

use chrono::{DateTime, Utc};
use pingan_platform::ApiError;
use pingan_platform::audit::Audit;
use pingan_platform::storage::Tx;
use pingan_proto::common::v1::Actor;
use pingan_proto::dispatch::v1::{DispatchClosed, Disposition};
use pingan_proto::followup::v1::{Revisit, RevisitCompleted, RevisitScheduled, RevisitStatus};

use super::Core;
use super::mediation::contact_party;
use crate::domain::policy::ClosedIncident;
use crate::domain::{from_ts, new_id, ts};
use crate::events::service_actor;

impl Core {
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
        let audit = Audit::new(
            actor,
            "followup.ScheduleRevisit",
            "revisit",
            &revisit.revisit_id,
        )
        .station(&revisit.station_id)
        .detail(format!(
            "incident {} sequence {} rule {}",
            revisit.incident_id, revisit.sequence, revisit.policy_rule_id
        ));
        self.audit(tx, audit).await?;
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
            let chosen = contact_party(&mediation);
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
