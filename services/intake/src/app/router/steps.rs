//! The routing steps' records: what each answer of a peer changes on the incident and its
//! timeline, one transaction each.

use pingan_platform::ApiError;
use pingan_platform::time::from_timestamp;
use pingan_proto::dispatch::v1::{AssignmentStatus, OpenDispatchResponse};
use pingan_proto::intake::v1::{IncidentStatus, TimelineEntryKind};
use pingan_proto::triage::v1::Classification;

use super::Router;
use crate::app::metrics;
use crate::app::timeline::{self, Entry, intake_actor};
use crate::app::wire::{classification_message, explain, placeholder_call};
use crate::domain;
use crate::events::outbound;

impl Router {
    pub(super) async fn save_classified(
        &self,
        id: &str,
        c: Classification,
    ) -> Result<(), ApiError> {
        let now = self.context.clock.now();
        let incident = self
            .update(id, async |tx, incident| {
                let record = crate::app::classification::from_message(&c);
                self.store.set_classification(tx, id, Some(&record)).await?;
                incident.classification = Some(record);
                incident.kind = c.kind;
                incident.category = c.category.clone();
                incident.priority = c.priority;
                incident.response_target_ms = c
                    .response_target
                    .map(|d| d.seconds.saturating_mul(1000) + i64::from(d.nanos / 1_000_000))
                    .unwrap_or(0);
                incident.classified_at = Some(now);
                let actor = intake_actor();
                let from = timeline::change_status(
                    &self.context,
                    tx,
                    incident,
                    IncidentStatus::Classified,
                    &actor,
                    now,
                    "classified",
                )
                .await?;
                Entry::new(
                    id,
                    TimelineEntryKind::Classified,
                    now,
                    &actor,
                    "triage",
                    explain(&c),
                )
                .status(from, IncidentStatus::Classified)
                .write(self.store.as_ref(), tx)
                .await
            })
            .await?;
        metrics::observe_clock("classified", &incident, now);
        crate::app::analysis::count_classified(&incident.category);
        Ok(())
    }

    pub(super) async fn save_dispatched(
        &self,
        id: &str,
        response: Option<OpenDispatchResponse>,
    ) -> Result<(), ApiError> {
        let now = self.context.clock.now();
        let dispatch = response.and_then(|r| r.dispatch).unwrap_or_default();
        // The step happened when dispatch opened it, before the unit steps dispatch reports.
        let opened_at = dispatch
            .opened_at
            .as_ref()
            .and_then(from_timestamp)
            .map_or(now, |at| at.min(now));
        let active: Vec<_> = dispatch
            .assignments
            .iter()
            .filter(|a| {
                matches!(
                    AssignmentStatus::try_from(a.status),
                    Ok(AssignmentStatus::Assigned
                        | AssignmentStatus::Acknowledged
                        | AssignmentStatus::EnRoute
                        | AssignmentStatus::OnScene)
                )
            })
            .collect();
        let mut assigned_now = false;
        let incident = self
            .update(id, async |tx, incident| {
                if !dispatch.dispatch_id.is_empty() {
                    incident.dispatch_id = dispatch.dispatch_id.clone();
                }
                for assignment in &active {
                    incident.assigned_unit_ids =
                        domain::add_id(&incident.assigned_unit_ids, &assignment.unit_id);
                }
                if !active.is_empty() && incident.unit_assigned_at.is_none() {
                    incident.unit_assigned_at = active
                        .iter()
                        .filter_map(|a| a.assigned_at.as_ref().and_then(from_timestamp))
                        .min()
                        .or(Some(now));
                    assigned_now = true;
                }
                let actor = intake_actor();
                let from = timeline::change_status(
                    &self.context,
                    tx,
                    incident,
                    IncidentStatus::Dispatched,
                    &actor,
                    opened_at,
                    "dispatch opened",
                )
                .await?;
                let units: Vec<&str> = active.iter().map(|a| a.unit_id.as_str()).collect();
                let summary = if units.is_empty() {
                    format!(
                        "dispatch {} opened, waiting for a unit",
                        dispatch.dispatch_id
                    )
                } else {
                    format!(
                        "dispatch {} opened, assigned {}",
                        dispatch.dispatch_id,
                        units.join(", ")
                    )
                };
                Entry::new(
                    id,
                    TimelineEntryKind::DispatchOpened,
                    opened_at,
                    &actor,
                    "dispatch",
                    summary,
                )
                .status(from, IncidentStatus::Dispatched)
                .related(&dispatch.dispatch_id)
                .write(self.store.as_ref(), tx)
                .await
            })
            .await?;
        if assigned_now && let Some(at) = incident.unit_assigned_at {
            metrics::observe_clock("unit_assigned", &incident, at);
        }
        Ok(())
    }

    pub(super) async fn save_diverted(
        &self,
        id: &str,
        transfer: &pingan_proto::triage::v1::Transfer,
    ) -> Result<(), ApiError> {
        let now = self.context.clock.now();
        self.update(id, async |tx, incident| {
            incident.transfer_id = transfer.transfer_id.clone();
            incident.hotline_ticket_id = transfer.hotline_ticket_id.clone();
            let actor = intake_actor();
            let from = timeline::change_status(
                &self.context,
                tx,
                incident,
                IncidentStatus::Diverted,
                &actor,
                now,
                "diverted to 12345",
            )
            .await?;
            let summary = format!(
                "diverted to 12345 ({}), transfer {} ticket {}",
                transfer.department, transfer.transfer_id, transfer.hotline_ticket_id
            );
            Entry::new(
                id,
                TimelineEntryKind::Transfer,
                now,
                &actor,
                "triage",
                summary,
            )
            .status(from, IncidentStatus::Diverted)
            .related(&transfer.transfer_id)
            .write(self.store.as_ref(), tx)
            .await
        })
        .await?;
        Ok(())
    }

    pub(super) async fn save_complaint(&self, id: &str) -> Result<(), ApiError> {
        let now = self.context.clock.now();
        let calls = self.store.calls_of(id).await?;
        let call = calls.first().cloned();
        let phone = match &call {
            Some(call) => self.clear_phone(call)?,
            None => String::new(),
        };
        self.update(id, async |tx, incident| {
            let reason = "complaint about police: handed to complaints-audit";
            incident.close_reason = reason.to_owned();
            let actor = intake_actor();
            let from = timeline::change_status(
                &self.context,
                tx,
                incident,
                IncidentStatus::Closed,
                &actor,
                now,
                reason,
            )
            .await?;
            let call = call.clone().unwrap_or_else(|| placeholder_call(incident));
            let event = outbound::police_complaint(incident, &call, &phone);
            self.context
                .outbox
                .enqueue(tx, &incident.incident_id, &event)
                .await?;
            Entry::new(
                id,
                TimelineEntryKind::Complaint,
                now,
                &actor,
                crate::SHORT_NAME,
                reason,
            )
            .status(from, IncidentStatus::Closed)
            .related(&call.call_id)
            .write(self.store.as_ref(), tx)
            .await
        })
        .await?;
        Ok(())
    }

    pub(super) async fn save_invalid(&self, id: &str) -> Result<(), ApiError> {
        let now = self.context.clock.now();
        self.update(id, async |tx, incident| {
            let classification = classification_message(incident).unwrap_or_default();
            let reason = format!("invalid: {}", explain(&classification));
            incident.close_reason = reason.clone();
            let actor = intake_actor();
            let from = timeline::change_status(
                &self.context,
                tx,
                incident,
                IncidentStatus::Closed,
                &actor,
                now,
                &reason,
            )
            .await?;
            Entry::new(
                id,
                TimelineEntryKind::StatusChanged,
                now,
                &actor,
                crate::SHORT_NAME,
                reason,
            )
            .status(from, IncidentStatus::Closed)
            .write(self.store.as_ref(), tx)
            .await
        })
        .await?;
        Ok(())
    }
}
