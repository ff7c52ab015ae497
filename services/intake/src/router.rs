//! Routing an incident once its call is saved: locate the grid, classify, link a duplicate,
//! then dispatch, divert to 12345, hand a complaint to complaints-audit or close an invalid
//! call. Every step commits on its own; a dependency that does not answer in time leaves the
//! incident NEW or CLASSIFIED and the attempt [`Routed::Waiting`]: its routing job
//! (`crate::routing_job`) runs the remaining steps again with backoff.

use std::sync::Arc;

use pingan_platform::storage::Tx;
use pingan_platform::{ApiError, ServiceContext};
use pingan_proto::common::v1::{Channel, Priority};
use pingan_proto::dispatch::v1::{AssignmentStatus, OpenDispatchRequest, OpenDispatchResponse};
use pingan_proto::intake::v1::{IncidentStatus, PoliceComplaintCallReceived, TimelineEntryKind};
use pingan_proto::triage::v1::{Classification, ClassifyRequest, DivertTo12345Request};
use prost::Message;

use crate::convert::{decode_classification, explain, placeholder_call, point};
use crate::domain::{self, IncidentRecord, Route};
use crate::locate;
use crate::peers::{self, HopError};
use crate::settings::IntakeSettings;
use crate::store::Store;
use crate::timeline::{self, Entry, intake_actor, timestamp};

mod link;

/// Where one routing attempt left the incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Routed {
    /// Nothing left to route; the id of the incident the call now belongs to (another one when
    /// linked as a duplicate).
    Finished(String),
    /// A dependency did not answer; the reason shown on the incident.
    Waiting(String),
}

/// Moves incidents through their routing steps.
#[derive(Debug, Clone)]
pub struct Router {
    context: ServiceContext,
    store: Store,
    settings: Arc<IntakeSettings>,
}

impl Router {
    /// A router over the service's storage and peers.
    pub fn new(context: ServiceContext, settings: Arc<IntakeSettings>) -> Self {
        Self {
            store: Store::new(context.db.clone()),
            context,
            settings,
        }
    }

    /// The settings in force.
    pub fn settings(&self) -> &IntakeSettings {
        &self.settings
    }

    /// Runs every step the incident still needs (the caller holds its routing job) and says
    /// whether routing is finished or waits for a dependency.
    #[tracing::instrument(skip(self), fields(incident_id = %incident_id))]
    pub async fn advance(&self, incident_id: &str) -> Result<Routed, ApiError> {
        let Some(incident) = self.store.incident_exact(incident_id).await? else {
            return Ok(Routed::Finished(incident_id.to_owned()));
        };
        let id = incident.incident_id.clone();
        if !incident.routing_pending {
            return Ok(Routed::Finished(id));
        }
        let mut locate_failed = None;
        if !incident.grid_located {
            let deadline = self.settings.locate_deadline;
            locate_failed = locate::locate(&self.context, deadline, &incident).await?;
        }

        let incident = self.load(&id).await?;
        if incident.status() == IncidentStatus::New {
            let request = self.classify_request(&incident).await?;
            match peers::classify(&self.context, self.settings.classify_deadline, request).await {
                Ok(classification) => self.save_classified(&id, classification).await?,
                Err(err) => return self.defer(&id, err).await,
            }
        }

        // Linked or decided primary before anything is routed: one routed incident per event.
        let incident = self.load(&id).await?;
        if incident.status() == IncidentStatus::Classified
            && !incident.link_checked
            && let Some(into) = self.link_duplicate(&incident).await?
        {
            return Ok(Routed::Finished(into));
        }

        let incident = self.load(&id).await?;
        if !incident.merged_into.is_empty() {
            return Ok(Routed::Finished(incident.merged_into));
        }
        // Nothing to send a unit to yet: wait for grid-registry, or hold for a dispatcher.
        if locate::must_wait_for_location(&incident) {
            return match locate_failed {
                Some(err) => self.defer(&id, err).await,
                None => locate::hold_for_location(&self.context, &id)
                    .await
                    .map(Routed::Finished),
            };
        }
        if incident.status() == IncidentStatus::Classified && incident.is_decided_primary() {
            let channel_12345 = incident.channel == Channel::Channel12345 as i32;
            match domain::route_for(incident.kind(), channel_12345, incident.police_override) {
                Route::Dispatch => {
                    let request = self.dispatch_request(&incident);
                    let deadline = self.settings.route_deadline;
                    match peers::open_dispatch(&self.context, deadline, request).await {
                        Ok(response) => self.save_dispatched(&id, Some(response)).await?,
                        Err(HopError::AlreadyExists(_)) => self.save_dispatched(&id, None).await?,
                        Err(err) => return self.defer(&id, err).await,
                    }
                }
                Route::Divert => {
                    let request = self.divert_request(&incident).await?;
                    let deadline = self.settings.route_deadline;
                    match peers::divert(&self.context, deadline, request).await {
                        Ok(response) => {
                            let transfer = response.transfer.unwrap_or_default();
                            self.save_diverted(&id, &transfer).await?;
                        }
                        Err(err) => return self.defer(&id, err).await,
                    }
                }
                Route::Complaint => self.save_complaint(&id).await?,
                Route::CloseInvalid => self.save_invalid(&id).await?,
            }
        }

        match locate_failed {
            Some(err) => self.defer(&id, err).await,
            None => {
                self.update(&id, async |_, incident| {
                    incident.routing_pending = false;
                    incident.pending_reason.clear();
                    Ok(())
                })
                .await?;
                Ok(Routed::Finished(id))
            }
        }
    }

    /// Exactly this incident (a linked one is not followed: routing steps act on their own).
    async fn load(&self, id: &str) -> Result<IncidentRecord, ApiError> {
        self.store
            .incident_exact(id)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("incident {id}")))
    }

    /// Read-modify-write of one incident in its own transaction; a linked incident is left as
    /// it is (its calls and routing moved to the incident it was linked into).
    async fn update(
        &self,
        id: &str,
        change: impl AsyncFnOnce(&mut Tx, &mut IncidentRecord) -> Result<(), ApiError>,
    ) -> Result<IncidentRecord, ApiError> {
        let mut tx = self.context.db.begin().await?;
        let Some(mut incident) = Store::lock_exact(&mut tx, id).await? else {
            let _ = tx.rollback().await;
            return Err(ApiError::NotFound(format!("incident {id}")));
        };
        if !incident.merged_into.is_empty() {
            tx.rollback().await?;
            return Ok(incident);
        }
        if let Err(err) = change(&mut tx, &mut incident).await {
            let _ = tx.rollback().await;
            return Err(err);
        }
        incident.updated_at = self.context.clock.now();
        Store::save_incident(&mut tx, &incident).await?;
        self.context.outbox.commit(tx).await?;
        Ok(incident)
    }

    /// Leaves the incident waiting for `err`'s dependency (its routing job retries it).
    async fn defer(&self, id: &str, err: HopError) -> Result<Routed, ApiError> {
        let now = self.context.clock.now();
        if let (HopError::Unavailable { peer, detail }, Some(counter)) =
            (&err, timeline::DEFERRED.as_ref())
        {
            counter.with_label_values(&[peer]).inc();
            tracing::warn!(incident_id = %id, peer, detail = %detail, "routing deferred");
        }
        let reason = err.reason();
        self.update(id, async |tx, incident| {
            incident.routing_attempts = incident.routing_attempts.saturating_add(1);
            if incident.pending_reason != reason {
                Entry::new(
                    &incident.incident_id,
                    TimelineEntryKind::RoutingDeferred,
                    now,
                    &intake_actor(),
                    crate::SHORT_NAME,
                    reason.clone(),
                )
                .write(tx)
                .await?;
                incident.pending_reason = reason.clone();
            }
            Ok(())
        })
        .await?;
        Ok(Routed::Waiting(reason))
    }

    async fn save_classified(&self, id: &str, c: Classification) -> Result<(), ApiError> {
        let now = self.context.clock.now();
        let incident = self
            .update(id, async |tx, incident| {
                incident.classification = Some(c.encode_to_vec());
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
                .write(tx)
                .await
            })
            .await?;
        timeline::observe_clock("classified", &incident, now);
        Ok(())
    }

    async fn save_dispatched(
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
            .and_then(timeline::from_timestamp)
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
                        .filter_map(|a| a.assigned_at.as_ref().and_then(timeline::from_timestamp))
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
                .write(tx)
                .await
            })
            .await?;
        if assigned_now && let Some(at) = incident.unit_assigned_at {
            timeline::observe_clock("unit_assigned", &incident, at);
        }
        Ok(())
    }

    async fn save_diverted(
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
            .write(tx)
            .await
        })
        .await?;
        Ok(())
    }

    async fn save_complaint(&self, id: &str) -> Result<(), ApiError> {
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
            let event = PoliceComplaintCallReceived {
                incident_id: incident.incident_id.clone(),
                call_id: call.call_id.clone(),
                channel: call.channel,
                source_call_id: call.source_call_id.clone(),
                description: call.description.clone(),
                complainant_phone: phone.clone(),
                complainant_phone_masked: call.caller_phone_masked.clone(),
                complainant_name: call.caller_name.clone(),
                location: point(incident),
                address: incident.address.clone(),
                received_at: Some(timestamp(call.received_at)),
                classification: decode_classification(incident),
                grid_id: incident.grid_id.clone(),
                station_id: incident.station_id.clone(),
            };
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
            .write(tx)
            .await
        })
        .await?;
        Ok(())
    }

    async fn save_invalid(&self, id: &str) -> Result<(), ApiError> {
        let now = self.context.clock.now();
        self.update(id, async |tx, incident| {
            let classification = decode_classification(incident).unwrap_or_default();
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
            .write(tx)
            .await
        })
        .await?;
        Ok(())
    }

    async fn classify_request(
        &self,
        incident: &IncidentRecord,
    ) -> Result<ClassifyRequest, ApiError> {
        let calls = self.store.calls_of(&incident.incident_id).await?;
        Ok(ClassifyRequest {
            text: incident.description.clone(),
            channel: incident.channel,
            reported_category: calls
                .first()
                .map(|c| c.reported_category.clone())
                .unwrap_or_default(),
            location: point(incident),
        })
    }

    fn dispatch_request(&self, incident: &IncidentRecord) -> OpenDispatchRequest {
        let classification = decode_classification(incident).unwrap_or_default();
        // Back with the police after a bounce: never below P3.
        let priority = match Priority::try_from(incident.priority) {
            Ok(Priority::P1 | Priority::P2 | Priority::P3) => incident.priority,
            _ => Priority::P3 as i32,
        };
        let lookout = crate::domain::lookout::lookout_for(&classification, &incident.description);
        let summary: String = pingan_platform::pii::scrub(&incident.description)
            .chars()
            .take(120)
            .collect();
        OpenDispatchRequest {
            request_id: format!("intake-open-dispatch-{}", incident.incident_id),
            incident_id: incident.incident_id.clone(),
            priority,
            location: point(incident),
            // The catalogue's vocabulary both ways: dispatch checks the category and the
            // requirements triage derived from it (e.g. a drone for a person in the water).
            category: incident.category.clone(),
            required_capabilities: Vec::new(),
            response_target: classification.response_target,
            address: incident.address.clone(),
            summary,
            station_id: incident.station_id.clone(),
            grid_id: incident.grid_id.clone(),
            // Only while they were derived for this category; else dispatch derives its own.
            unit_requirements: if classification.category == incident.category {
                classification.unit_requirements.clone()
            } else {
                Vec::new()
            },
            lookout,
            station_kind: incident.station_kind,
        }
    }

    async fn divert_request(
        &self,
        incident: &IncidentRecord,
    ) -> Result<DivertTo12345Request, ApiError> {
        let classification = decode_classification(incident).unwrap_or_default();
        let calls = self.store.calls_of(&incident.incident_id).await?;
        let call = calls.first();
        let phone = match call {
            Some(call) => self.clear_phone(call)?,
            None => String::new(),
        };
        Ok(DivertTo12345Request {
            request_id: format!("intake-divert-{}", incident.incident_id),
            incident_id: incident.incident_id.clone(),
            department: classification.department.clone(),
            reason: format!("非警务类: {}", explain(&classification)),
            classification: Some(classification),
            description: incident.description.clone(),
            caller_phone: phone,
            caller_name: call.map(|c| c.caller_name.clone()).unwrap_or_default(),
            location: point(incident),
            address: incident.address.clone(),
            received_at: Some(timestamp(incident.received_at)),
        })
    }

    /// The caller's number in clear, for a peer that calls back (never logged).
    fn clear_phone(&self, call: &crate::domain::CallRecord) -> Result<String, ApiError> {
        match &call.caller_phone_sealed {
            Some(sealed) => self.context.pii.decrypt(sealed).map_err(ApiError::internal),
            None => Ok(String::new()),
        }
    }
}
