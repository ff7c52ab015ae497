//! Dispatch's events: its timeline steps, the close of a dispatch, a missed response target.

use pingan_platform::ApiError;
use pingan_platform::storage::Tx;
use pingan_platform::time::from_timestamp;
use pingan_proto::dispatch::v1::{
    DispatchClosed, DispatchTimelineEvent, Disposition, SlaBreached,
    TimelineEntryKind as DispatchKind,
};
use pingan_proto::intake::v1::{IncidentStatus, TimelineEntryKind as Kind};

use super::Applying;
use crate::app::metrics;
use crate::domain;

impl Applying<'_> {
    pub(super) async fn dispatch_timeline(
        &self,
        tx: &mut Tx,
        m: DispatchTimelineEvent,
    ) -> Result<(), ApiError> {
        let entry = m.entry.unwrap_or_default();
        let kind = DispatchKind::try_from(entry.kind).unwrap_or(DispatchKind::Unspecified);
        // The echo of a dispatch intake opened itself: nothing to lock, read or write.
        if kind == DispatchKind::Opened
            && self
                .store
                .records_dispatch(tx, &entry.incident_id, &entry.dispatch_id)
                .await?
        {
            return Ok(());
        }
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
            .write(self.store, tx)
            .await?;
        self.save(tx, &mut incident).await?;
        if first && let Some(step) = clock {
            metrics::observe_clock(step, &incident, at);
        }
        Ok(())
    }

    pub(super) async fn dispatch_closed(
        &self,
        tx: &mut Tx,
        m: DispatchClosed,
    ) -> Result<(), ApiError> {
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
        .write(self.store, tx)
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
            .write(self.store, tx)
            .await?;
        }
        self.save(tx, &mut incident).await
    }

    pub(super) async fn sla_breached(&self, tx: &mut Tx, m: SlaBreached) -> Result<(), ApiError> {
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
            .write(self.store, tx)
            .await?;
        self.save(tx, &mut incident).await
    }
}
