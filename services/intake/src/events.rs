//! Events from dispatch, case-followup, triage and complaints-audit, written onto the incident
//! timeline and moving its status and clocks. Each runs in the inbox transaction, so a
//! redelivered event has no second effect.

use chrono::{DateTime, Utc};
use pingan_platform::events::EventHandler;
use pingan_platform::storage::Tx;
use pingan_platform::{ApiError, ServiceContext};
use pingan_proto::audit::v1::ComplaintFiled;
use pingan_proto::common::v1::Actor;
use pingan_proto::dispatch::v1::{
    DispatchClosed, DispatchTimelineEvent, Disposition, SlaBreached,
    TimelineEntryKind as DispatchKind,
};
use pingan_proto::events::v1::EventEnvelope;
use pingan_proto::followup::v1::{
    MediationConcluded, MediationOpened, RevisitCompleted, RevisitScheduled,
};
use pingan_proto::intake::v1::{IncidentStatus, TimelineEntryKind as Kind};
use pingan_proto::triage::v1::{TransferDirection, TransferStatus, TransferStatusChanged};
use prost::Message;

use crate::domain::{self, IncidentRecord};
use crate::store::Store;
use crate::timeline::{self, Entry, from_timestamp};

/// Every event type intake handles.
pub const HANDLED: [&str; 9] = [
    "pingan.dispatch.v1.DispatchTimelineEvent",
    "pingan.dispatch.v1.DispatchClosed",
    "pingan.dispatch.v1.SlaBreached",
    "pingan.followup.v1.MediationOpened",
    "pingan.followup.v1.MediationConcluded",
    "pingan.followup.v1.RevisitScheduled",
    "pingan.followup.v1.RevisitCompleted",
    "pingan.triage.v1.TransferStatusChanged",
    "pingan.audit.v1.ComplaintFiled",
];

/// Applies incident events.
#[derive(Debug, Clone)]
pub struct IncidentEvents {
    context: ServiceContext,
}

impl IncidentEvents {
    /// The handler over the service's storage.
    pub fn new(context: ServiceContext) -> Self {
        Self { context }
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

/// One event being applied: the time and origin every entry it writes carries.
struct Applying<'a> {
    context: &'a ServiceContext,
    event: &'a EventEnvelope,
    now: DateTime<Utc>,
}

impl Applying<'_> {
    fn at(&self, at: Option<&prost_types::Timestamp>) -> DateTime<Utc> {
        at.and_then(from_timestamp)
            .or_else(|| self.event.occurred_at.as_ref().and_then(from_timestamp))
            .unwrap_or(self.now)
    }

    fn entry(
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
    async fn lock(
        &self,
        tx: &mut Tx,
        incident_id: &str,
    ) -> Result<Option<IncidentRecord>, ApiError> {
        let found = if incident_id.is_empty() {
            None
        } else {
            Store::lock_incident(tx, incident_id).await?
        };
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

    async fn save(&self, tx: &mut Tx, incident: &mut IncidentRecord) -> Result<(), ApiError> {
        incident.updated_at = self.now;
        Store::save_incident(tx, incident).await?;
        Ok(())
    }

    /// Moves the status forward only; returns the status before.
    async fn advance_status(
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

    async fn dispatch_timeline(
        &self,
        tx: &mut Tx,
        m: DispatchTimelineEvent,
    ) -> Result<(), ApiError> {
        let entry = m.entry.unwrap_or_default();
        let Some(mut incident) = self.lock(tx, &entry.incident_id).await? else {
            return Ok(());
        };
        let id = incident.incident_id.clone();
        let at = self.at(entry.occurred_at.as_ref());
        let actor = entry.actor.as_ref();
        let text = if entry.description.is_empty() {
            entry.note.clone()
        } else {
            entry.description.clone()
        };
        if incident.priority == 0 {
            incident.priority = m.priority;
        }
        let kind = DispatchKind::try_from(entry.kind).unwrap_or(DispatchKind::Unspecified);
        let (intake_kind, clock) = match kind {
            DispatchKind::Opened => {
                if incident.dispatch_id == entry.dispatch_id {
                    // Intake wrote this step itself when OpenDispatch answered.
                    return self.save(tx, &mut incident).await;
                }
                incident.dispatch_id = entry.dispatch_id.clone();
                (Kind::DispatchOpened, None)
            }
            DispatchKind::Assigned | DispatchKind::Escalated => {
                incident.assigned_unit_ids =
                    domain::add_id(&incident.assigned_unit_ids, &entry.unit_id);
                (Kind::UnitAssigned, Some("unit_assigned"))
            }
            DispatchKind::Acknowledged => (Kind::UnitAcknowledged, None),
            DispatchKind::EnRoute => (Kind::UnitEnRoute, Some("en_route")),
            DispatchKind::OnScene => (Kind::UnitOnScene, Some("on_scene")),
            DispatchKind::Cleared | DispatchKind::AssignmentCancelled => (Kind::UnitCleared, None),
            // SlaBreached and DispatchClosed events carry these steps.
            DispatchKind::SlaBreached => return self.save(tx, &mut incident).await,
            DispatchKind::Closed => (Kind::DispatchClosed, None),
            DispatchKind::LookoutBroadcast
            | DispatchKind::NoUnitAvailable
            | DispatchKind::Unspecified => (Kind::Note, None),
        };
        let slot = match clock {
            Some("unit_assigned") => Some(&mut incident.unit_assigned_at),
            Some("en_route") => Some(&mut incident.en_route_at),
            Some("on_scene") => Some(&mut incident.on_scene_at),
            _ => None,
        };
        let mut first = false;
        if let Some(slot) = slot
            && slot.is_none()
        {
            *slot = Some(at);
            first = true;
        }
        let target = match kind {
            DispatchKind::Opened | DispatchKind::Assigned | DispatchKind::Escalated => {
                Some(IncidentStatus::Dispatched)
            }
            DispatchKind::OnScene => Some(IncidentStatus::OnScene),
            _ => None,
        };
        let from = incident.status();
        if let Some(to) = target {
            self.advance_status(tx, &mut incident, to, actor, at, &text)
                .await?;
        }
        let to = incident.status();
        self.entry(&id, intake_kind, at, actor, text)
            .status(from, to)
            .unit(&entry.unit_id)
            .related(&entry.dispatch_id)
            .write(tx)
            .await?;
        self.save(tx, &mut incident).await?;
        if first && let Some(step) = clock {
            timeline::observe_clock(step, &incident, at);
        }
        Ok(())
    }

    async fn dispatch_closed(&self, tx: &mut Tx, m: DispatchClosed) -> Result<(), ApiError> {
        let dispatch = m.dispatch.unwrap_or_default();
        let Some(mut incident) = self.lock(tx, &dispatch.incident_id).await? else {
            return Ok(());
        };
        let at = self.at(dispatch.closed_at.as_ref());
        for (slot, value) in [
            (&mut incident.en_route_at, &dispatch.first_en_route_at),
            (&mut incident.on_scene_at, &dispatch.first_on_scene_at),
        ] {
            if slot.is_none() {
                *slot = value.as_ref().and_then(from_timestamp);
            }
        }
        let disposition = Disposition::try_from(dispatch.disposition)
            .map(|d| {
                d.as_str_name()
                    .trim_start_matches("DISPOSITION_")
                    .to_lowercase()
            })
            .unwrap_or_default();
        let reason = format!("dispatch {} closed: {disposition}", dispatch.dispatch_id);
        incident.close_reason = disposition.clone();
        let actor = dispatch.closed_by.as_ref();
        let from = self
            .advance_status(
                tx,
                &mut incident,
                IncidentStatus::Closed,
                actor,
                at,
                &reason,
            )
            .await?;
        self.entry(
            &incident.incident_id,
            Kind::StatusChanged,
            at,
            actor,
            reason,
        )
        .status(from, incident.status())
        .related(&dispatch.dispatch_id)
        .write(tx)
        .await?;
        // The last revisit was reported before this close arrived: followed up now.
        if let Some(done_at) = incident.followed_up_at
            && incident.status() == IncidentStatus::Closed
        {
            let closed = incident.status();
            let reason = "revisit done (reported before the close)";
            self.advance_status(
                tx,
                &mut incident,
                IncidentStatus::FollowedUp,
                None,
                done_at.max(at),
                reason,
            )
            .await?;
            self.entry(
                &incident.incident_id,
                Kind::StatusChanged,
                done_at.max(at),
                None,
                reason.to_owned(),
            )
            .status(closed, incident.status())
            .write(tx)
            .await?;
        }
        self.save(tx, &mut incident).await
    }

    async fn sla_breached(&self, tx: &mut Tx, m: SlaBreached) -> Result<(), ApiError> {
        let Some(mut incident) = self.lock(tx, &m.incident_id).await? else {
            return Ok(());
        };
        incident.response_target_breached = true;
        let at = self.at(m.detected_at.as_ref());
        let target = m.response_target.map(|d| d.seconds).unwrap_or_default();
        let summary = format!(
            "response target of {target} s missed on dispatch {}",
            m.dispatch_id
        );
        self.entry(&incident.incident_id, Kind::SlaBreach, at, None, summary)
            .related(&m.dispatch_id)
            .write(tx)
            .await?;
        self.save(tx, &mut incident).await
    }

    async fn simple(
        &self,
        tx: &mut Tx,
        incident_id: &str,
        kind: Kind,
        at: Option<&prost_types::Timestamp>,
        related: &str,
        summary: String,
    ) -> Result<Option<IncidentRecord>, ApiError> {
        let Some(mut incident) = self.lock(tx, incident_id).await? else {
            return Ok(None);
        };
        self.entry(&incident.incident_id, kind, self.at(at), None, summary)
            .related(related)
            .write(tx)
            .await?;
        self.save(tx, &mut incident).await?;
        Ok(Some(incident))
    }

    async fn revisit_completed(&self, tx: &mut Tx, m: RevisitCompleted) -> Result<(), ApiError> {
        let Some(mut incident) = self.lock(tx, &m.incident_id).await? else {
            return Ok(());
        };
        let at = self.at(m.completed_at.as_ref());
        let actor = m.recorded_by.as_ref();
        let status = pingan_proto::followup::v1::RevisitStatus::try_from(m.status)
            .map(|s| {
                s.as_str_name()
                    .trim_start_matches("REVISIT_STATUS_")
                    .to_lowercase()
            })
            .unwrap_or_default();
        let summary = format!(
            "revisit {} {status}: resolved {}, satisfaction {}",
            m.revisit_id, m.issue_resolved, m.satisfaction
        );
        let from = incident.status();
        if !m.another_revisit_scheduled && from == IncidentStatus::Closed {
            self.advance_status(
                tx,
                &mut incident,
                IncidentStatus::FollowedUp,
                actor,
                at,
                "revisit done",
            )
            .await?;
        } else if !m.another_revisit_scheduled && incident.followed_up_at.is_none() {
            // Events from two services carry no common order: the close may still be on its way.
            incident.followed_up_at = Some(at);
        }
        self.entry(&incident.incident_id, Kind::Revisit, at, actor, summary)
            .status(from, incident.status())
            .related(&m.revisit_id)
            .write(tx)
            .await?;
        self.save(tx, &mut incident).await
    }

    async fn transfer_changed(
        &self,
        tx: &mut Tx,
        m: TransferStatusChanged,
    ) -> Result<(), ApiError> {
        let incident_id = if m.incident_id.is_empty() {
            Store::incident_by_transfer(tx, &m.transfer_id)
                .await?
                .unwrap_or_default()
        } else {
            m.incident_id.clone()
        };
        let Some(mut incident) = self.lock(tx, &incident_id).await? else {
            return Ok(());
        };
        let at = self.at(m.at.as_ref());
        let actor = m.actor.as_ref();
        if incident.transfer_id.is_empty() {
            incident.transfer_id = m.transfer_id.clone();
        }
        if !m.hotline_ticket_id.is_empty() {
            incident.hotline_ticket_id = m.hotline_ticket_id.clone();
        }
        let to_status =
            TransferStatus::try_from(m.to_status).unwrap_or(TransferStatus::Unspecified);
        let outbound = m.direction == TransferDirection::To12345 as i32;
        let name = to_status
            .as_str_name()
            .trim_start_matches("TRANSFER_STATUS_")
            .to_lowercase();
        let summary = format!("12345 transfer {} {name}: {}", m.transfer_id, m.note);
        let from = incident.status();
        if outbound && to_status == TransferStatus::Handled {
            incident.close_reason = "handled by 12345".into();
            self.advance_status(
                tx,
                &mut incident,
                IncidentStatus::Closed,
                actor,
                at,
                "handled by 12345",
            )
            .await?;
        } else if outbound
            && to_status == TransferStatus::Bounced
            && from == IncidentStatus::Diverted
        {
            // 12345 sent it back: it stays with the police and is dispatched.
            let actor = actor.cloned().unwrap_or_else(timeline::intake_actor);
            timeline::change_status(
                self.context,
                tx,
                &mut incident,
                IncidentStatus::Classified,
                &actor,
                at,
                "bounced by 12345",
            )
            .await?;
            incident.police_override = true;
            incident.routing_pending = true;
            // Routed again by its job: once per transfer that bounced.
            let key = format!("{}/bounced/{}", incident.incident_id, m.transfer_id);
            crate::routing_job::queue(self.context)
                .enqueue_in(tx, crate::routing_job::job(&incident.incident_id, &key))
                .await?;
        }
        self.entry(&incident.incident_id, Kind::Transfer, at, actor, summary)
            .status(from, incident.status())
            .related(&m.transfer_id)
            .write(tx)
            .await?;
        self.save(tx, &mut incident).await
    }
}

#[tonic::async_trait]
impl EventHandler for IncidentEvents {
    async fn handle(&self, tx: &mut Tx, event: &EventEnvelope) -> Result<(), ApiError> {
        let a = Applying {
            context: &self.context,
            event,
            now: self.context.clock.now(),
        };
        match event.event_type.as_str() {
            "pingan.dispatch.v1.DispatchTimelineEvent" => {
                a.dispatch_timeline(tx, decode(event)?).await
            }
            "pingan.dispatch.v1.DispatchClosed" => a.dispatch_closed(tx, decode(event)?).await,
            "pingan.dispatch.v1.SlaBreached" => a.sla_breached(tx, decode(event)?).await,
            "pingan.followup.v1.MediationOpened" => {
                let m: MediationOpened = decode(event)?;
                let summary = format!(
                    "mediation {} opened by {}",
                    m.mediation_id, m.mediator_officer_id
                );
                a.simple(
                    tx,
                    &m.incident_id,
                    Kind::Mediation,
                    m.started_at.as_ref(),
                    &m.mediation_id,
                    summary,
                )
                .await
                .map(|_| ())
            }
            "pingan.followup.v1.MediationConcluded" => {
                let m: MediationConcluded = decode(event)?;
                let status = pingan_proto::followup::v1::MediationStatus::try_from(m.status)
                    .map(|s| {
                        s.as_str_name()
                            .trim_start_matches("MEDIATION_STATUS_")
                            .to_lowercase()
                    })
                    .unwrap_or_default();
                let summary = format!("mediation {} concluded: {status}", m.mediation_id);
                a.simple(
                    tx,
                    &m.incident_id,
                    Kind::Mediation,
                    m.concluded_at.as_ref(),
                    &m.mediation_id,
                    summary,
                )
                .await
                .map(|_| ())
            }
            "pingan.followup.v1.RevisitScheduled" => {
                let m: RevisitScheduled = decode(event)?;
                let due = m
                    .due_at
                    .as_ref()
                    .and_then(from_timestamp)
                    .map(|d| d.to_rfc3339())
                    .unwrap_or_default();
                let summary = format!(
                    "revisit {} scheduled for {due} ({})",
                    m.revisit_id, m.assigned_officer_id
                );
                a.simple(
                    tx,
                    &m.incident_id,
                    Kind::Revisit,
                    None,
                    &m.revisit_id,
                    summary,
                )
                .await
                .map(|_| ())
            }
            "pingan.followup.v1.RevisitCompleted" => a.revisit_completed(tx, decode(event)?).await,
            "pingan.triage.v1.TransferStatusChanged" => {
                a.transfer_changed(tx, decode(event)?).await
            }
            "pingan.audit.v1.ComplaintFiled" => {
                let m: ComplaintFiled = decode(event)?;
                if m.incident_id.is_empty() {
                    return Ok(());
                }
                let summary = format!("complaint {} filed ({})", m.case_number, m.complaint_id);
                let Some(mut incident) = a.lock(tx, &m.incident_id).await? else {
                    return Ok(());
                };
                incident.complaint_id = m.complaint_id.clone();
                a.entry(
                    &incident.incident_id,
                    Kind::Complaint,
                    a.at(m.received_at.as_ref()),
                    None,
                    summary,
                )
                .related(&m.complaint_id)
                .write(tx)
                .await?;
                a.save(tx, &mut incident).await
            }
            other => Err(ApiError::FailedPrecondition(format!(
                "intake does not handle {other}"
            ))),
        }
    }
}
