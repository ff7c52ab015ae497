//! Triage's 12345 transfer changes (a bounced diversion is routed again) and complaints-audit's
//! filed complaints.

use pingan_platform::ApiError;
use pingan_platform::storage::Tx;
use pingan_proto::audit::v1::ComplaintFiled;
use pingan_proto::intake::v1::{IncidentStatus, TimelineEntryKind as Kind};
use pingan_proto::triage::v1::{TransferDirection, TransferStatus, TransferStatusChanged};

use super::Applying;
use crate::app::{routing_job, timeline};

impl Applying<'_> {
    pub(super) async fn transfer_changed(
        &self,
        tx: &mut Tx,
        m: TransferStatusChanged,
    ) -> Result<(), ApiError> {
        let incident_id = if m.incident_id.is_empty() {
            self.store
                .incident_by_transfer(tx, &m.transfer_id)
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
            self.jobs
                .enqueue_in(tx, routing_job::job(&incident.incident_id, &key))
                .await?;
        }
        self.entry(&incident.incident_id, Kind::Transfer, at, actor, summary)
            .status(from, incident.status())
            .related(&m.transfer_id)
            .write(self.store, tx)
            .await?;
        self.save(tx, &mut incident).await
    }

    pub(super) async fn complaint_filed(
        &self,
        tx: &mut Tx,
        m: ComplaintFiled,
    ) -> Result<(), ApiError> {
        if m.incident_id.is_empty() {
            return Ok(());
        }
        let summary = format!("complaint {} filed ({})", m.case_number, m.complaint_id);
        let Some(mut incident) = self.lock(tx, &m.incident_id).await? else {
            return Ok(());
        };
        incident.complaint_id = m.complaint_id.clone();
        self.entry(
            &incident.incident_id,
            Kind::Complaint,
            self.at(m.received_at.as_ref()),
            None,
            summary,
        )
        .related(&m.complaint_id)
        .write(self.store, tx)
        .await?;
        self.save(tx, &mut incident).await
    }
}
