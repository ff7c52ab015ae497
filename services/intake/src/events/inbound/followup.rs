//! Case-followup's events: mediations and revisits; the last revisit follows the incident up.

use pingan_platform::ApiError;
use pingan_platform::storage::Tx;
use pingan_platform::time::from_timestamp;
use pingan_proto::followup::v1::{
    MediationConcluded, MediationOpened, RevisitCompleted, RevisitScheduled,
};
use pingan_proto::intake::v1::{IncidentStatus, TimelineEntryKind as Kind};

use super::Applying;
use crate::domain::IncidentRecord;

impl Applying<'_> {
    pub(super) async fn simple(
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
            .write(self.store, tx)
            .await?;
        self.save(tx, &mut incident).await?;
        Ok(Some(incident))
    }

    pub(super) async fn revisit_completed(
        &self,
        tx: &mut Tx,
        m: RevisitCompleted,
    ) -> Result<(), ApiError> {
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
            .write(self.store, tx)
            .await?;
        self.save(tx, &mut incident).await
    }

    pub(super) async fn mediation_opened(
        &self,
        tx: &mut Tx,
        m: MediationOpened,
    ) -> Result<(), ApiError> {
        let summary = format!(
            "mediation {} opened by {}",
            m.mediation_id, m.mediator_officer_id
        );
        self.simple(
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

    pub(super) async fn mediation_concluded(
        &self,
        tx: &mut Tx,
        m: MediationConcluded,
    ) -> Result<(), ApiError> {
        let status = pingan_proto::followup::v1::MediationStatus::try_from(m.status)
            .map(|s| {
                s.as_str_name()
                    .trim_start_matches("MEDIATION_STATUS_")
                    .to_lowercase()
            })
            .unwrap_or_default();
        let summary = format!("mediation {} concluded: {status}", m.mediation_id);
        self.simple(
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

    pub(super) async fn revisit_scheduled(
        &self,
        tx: &mut Tx,
        m: RevisitScheduled,
    ) -> Result<(), ApiError> {
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
        self.simple(
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
}
