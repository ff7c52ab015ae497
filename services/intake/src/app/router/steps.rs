//! The routing steps' records: what each answer of a peer changes on the incident and its
//! timeline, applied to the incident locked in the caller's transaction (the caller saves it).

use chrono::{DateTime, Utc};
use pingan_platform::ApiError;
use pingan_platform::storage::Tx;
use pingan_platform::time::from_timestamp;
use pingan_proto::dispatch::v1::{AssignmentStatus, OpenDispatchResponse};
use pingan_proto::intake::v1::{IncidentStatus, TimelineEntryKind};
use pingan_proto::triage::v1::{Classification, Transfer};

use super::Router;
use crate::app::peers::HopError;
use crate::app::timeline::{self, Entry, intake_actor};
use crate::app::wire::{classification_message, explain, placeholder_call};
use crate::domain::{self, CallRecord, IncidentRecord};
use crate::events::outbound;

/// What the route's peer answered, to be written with the end of routing.
pub(super) enum Step {
    /// No route to take now (not a decided, classified primary).
    Nothing,
    /// Dispatch opened it (`None`: it already had).
    Dispatched(Option<Box<OpenDispatchResponse>>),
    /// Triage diverted it to 12345.
    Diverted(Box<Transfer>),
    /// A complaint about the police, for complaints-audit, with its first call and the
    /// caller's number in clear (for the event only).
    Complaint(Option<Box<CallRecord>>, String),
    /// Closed as invalid.
    Invalid,
    /// The peer did not answer.
    Failed(HopError),
}

impl Router {
    /// Triage's classification: the incident becomes CLASSIFIED.
    pub(super) async fn apply_classified(
        &self,
        tx: &mut Tx,
        incident: &mut IncidentRecord,
        c: &Classification,
        now: DateTime<Utc>,
    ) -> Result<(), ApiError> {
        let id = incident.incident_id.clone();
        let record = crate::app::classification::from_message(c);
        match &incident.classification {
            // Read under lock: no lists to replace, so they are only added.
            None => self.store.add_classification(tx, &id, &record).await?,
            Some(_) => {
                self.store
                    .set_classification(tx, &id, Some(&record))
                    .await?
            }
        }
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
            &id,
            TimelineEntryKind::Classified,
            now,
            &actor,
            "triage",
            explain(c),
        )
        .status(from, IncidentStatus::Classified)
        .write(self.store.as_ref(), tx)
        .await
    }

    /// The complaint step's inputs, read before its transaction.
    pub(super) async fn complaint_step(&self, incident: &IncidentRecord) -> Result<Step, ApiError> {
        let call = self
            .store
            .calls_of(&incident.incident_id)
            .await?
            .into_iter()
            .next();
        let phone = match &call {
            Some(call) => self.clear_phone(call)?,
            None => String::new(),
        };
        Ok(Step::Complaint(call.map(Box::new), phone))
    }

    /// Writes `step` on `incident`; true when a unit was assigned for the first time.
    pub(super) async fn apply_step(
        &self,
        tx: &mut Tx,
        incident: &mut IncidentRecord,
        step: Step,
        now: DateTime<Utc>,
    ) -> Result<bool, ApiError> {
        match step {
            Step::Nothing | Step::Failed(_) => Ok(false),
            Step::Dispatched(response) => self.apply_dispatched(tx, incident, response, now).await,
            Step::Diverted(transfer) => {
                self.apply_diverted(tx, incident, &transfer, now).await?;
                Ok(false)
            }
            Step::Complaint(call, phone) => {
                self.apply_complaint(tx, incident, call.as_deref(), &phone, now)
                    .await?;
                Ok(false)
            }
            Step::Invalid => {
                self.apply_invalid(tx, incident, now).await?;
                Ok(false)
            }
        }
    }

    async fn apply_dispatched(
        &self,
        tx: &mut Tx,
        incident: &mut IncidentRecord,
        response: Option<Box<OpenDispatchResponse>>,
        now: DateTime<Utc>,
    ) -> Result<bool, ApiError> {
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
            &incident.incident_id,
            TimelineEntryKind::DispatchOpened,
            opened_at,
            &actor,
            "dispatch",
            summary,
        )
        .status(from, IncidentStatus::Dispatched)
        .related(&dispatch.dispatch_id)
        .write(self.store.as_ref(), tx)
        .await?;
        Ok(assigned_now)
    }

    async fn apply_diverted(
        &self,
        tx: &mut Tx,
        incident: &mut IncidentRecord,
        transfer: &Transfer,
        now: DateTime<Utc>,
    ) -> Result<(), ApiError> {
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
            &incident.incident_id,
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
    }

    async fn apply_complaint(
        &self,
        tx: &mut Tx,
        incident: &mut IncidentRecord,
        call: Option<&CallRecord>,
        phone: &str,
        now: DateTime<Utc>,
    ) -> Result<(), ApiError> {
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
        let call = call.cloned().unwrap_or_else(|| placeholder_call(incident));
        let event = outbound::police_complaint(incident, &call, phone);
        self.context
            .outbox
            .enqueue(tx, &incident.incident_id, &event)
            .await?;
        Entry::new(
            &incident.incident_id,
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
    }

    async fn apply_invalid(
        &self,
        tx: &mut Tx,
        incident: &mut IncidentRecord,
        now: DateTime<Utc>,
    ) -> Result<(), ApiError> {
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
            &incident.incident_id,
            TimelineEntryKind::StatusChanged,
            now,
            &actor,
            crate::SHORT_NAME,
            reason,
        )
        .status(from, IncidentStatus::Closed)
        .write(self.store.as_ref(), tx)
        .await
    }
}
