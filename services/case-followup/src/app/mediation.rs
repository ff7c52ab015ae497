//! Mediations: opening one (and giving revisits already due their contact) and recording its
//! outcome.

use chrono::{DateTime, Utc};
use pingan_platform::ApiError;
use pingan_platform::audit::Audit;
use pingan_platform::auth::Caller;
use pingan_platform::pii::mask_phone;
use pingan_platform::storage::Tx;
use pingan_proto::followup::v1::{
    Mediation, MediationConcluded, MediationOpened, MediationStatus, OpenMediationRequest,
    OpenMediationResponse, PartyRole, RecordMediationOutcomeRequest,
    RecordMediationOutcomeResponse,
};

use super::Core;
use crate::domain::{new_id, ts};

/// The party a revisit calls: the caller of the incident, else the first party.
pub(crate) fn contact_party(mediation: &Mediation) -> usize {
    mediation
        .parties
        .iter()
        .position(|p| p.role == PartyRole::Caller as i32)
        .unwrap_or(0)
}

impl Core {
    /// OpenMediation (validated): stores the mediation with its party phones only encrypted.
    pub async fn open_mediation(
        &self,
        caller: &Caller,
        req: &OpenMediationRequest,
        station_id: String,
        started_at: DateTime<Utc>,
    ) -> Result<OpenMediationResponse, ApiError> {
        let now = self.now();
        let mut mediation = Mediation {
            mediation_id: new_id("med"),
            incident_id: req.incident_id.clone(),
            station_id,
            grid_id: req.grid_id.clone(),
            category: if req.category.is_empty() {
                "DISPUTE".to_owned()
            } else {
                req.category.to_uppercase()
            },
            parties: req.parties.clone(),
            summary: req.summary.clone(),
            mediator_officer_id: req.mediator_officer_id.clone(),
            committee_members: req.committee_members.clone(),
            place: req.place.clone(),
            status: MediationStatus::Open as i32,
            started_at: Some(ts(started_at)),
            opened_by: Some(caller.actor()),
            created_at: Some(ts(now)),
            updated_at: Some(ts(now)),
            ..Mediation::default()
        };
        for party in &mut mediation.parties {
            party.phone_masked = mask_phone(&party.phone);
            party.phone.clear();
        }
        let phones: Vec<&str> = req.parties.iter().map(|p| p.phone.as_str()).collect();
        let phones_enc = if phones.iter().all(|p| p.is_empty()) {
            None
        } else {
            Some(self.seal(&phones.join("\n"))?)
        };
        let actor = caller.actor();
        let mut response = self
            .context
            .requests
            .run("OpenMediation", &req.request_id, req, async |tx| {
                self.store
                    .insert_mediation(tx, &mediation, phones_enc.clone())
                    .await?;
                let event = MediationOpened {
                    mediation_id: mediation.mediation_id.clone(),
                    incident_id: mediation.incident_id.clone(),
                    mediator_officer_id: mediation.mediator_officer_id.clone(),
                    started_at: mediation.started_at,
                };
                self.context
                    .outbox
                    .enqueue(tx, &mediation.incident_id, &event)
                    .await?;
                self.give_revisits_a_contact(tx, &mediation, phones_enc.as_deref())
                    .await?;
                let audit = Audit::new(
                    actor.clone(),
                    "followup.OpenMediation",
                    "mediation",
                    &mediation.mediation_id,
                )
                .station(&mediation.station_id)
                .detail(format!("incident {}", mediation.incident_id));
                self.audit(tx, audit).await?;
                crate::metrics::mediation("opened");
                Ok(OpenMediationResponse {
                    mediation: Some(mediation.clone()),
                })
            })
            .await?;
        // Phones are added after the stored response (which keeps them masked only).
        if crate::domain::access::sees_phones(caller)
            && let Some(stored) = response.mediation.as_mut()
        {
            for (party, given) in stored.parties.iter_mut().zip(&req.parties) {
                party.phone = given.phone.clone();
            }
        }
        Ok(response)
    }

    /// A revisit scheduled before the mediation learns whom to call.
    async fn give_revisits_a_contact(
        &self,
        tx: &mut Tx,
        mediation: &Mediation,
        phones_enc: Option<&[u8]>,
    ) -> Result<(), ApiError> {
        let chosen = contact_party(mediation);
        for (mut revisit, _) in self
            .store
            .open_revisits_of_incident(tx, &mediation.incident_id)
            .await?
        {
            if !revisit.contact_name.is_empty() {
                continue;
            }
            if let Some(party) = mediation.parties.get(chosen) {
                revisit.contact_name = party.name.clone();
                revisit.contact_phone_masked = party.phone_masked.clone();
                revisit.resident_id = party.resident_id.clone();
            }
            revisit.mediation_id = mediation.mediation_id.clone();
            revisit.updated_at = mediation.updated_at;
            let phone = self.party_phone(phones_enc, chosen)?;
            self.store.update_revisit(tx, &revisit, phone).await?;
        }
        Ok(())
    }

    /// RecordMediationOutcome (validated): concludes an open mediation.
    pub async fn record_mediation_outcome(
        &self,
        caller: &Caller,
        req: &RecordMediationOutcomeRequest,
        concluded_at: DateTime<Utc>,
    ) -> Result<RecordMediationOutcomeResponse, ApiError> {
        let now = self.now();
        let actor = caller.actor();
        self.context
            .requests
            .run("RecordMediationOutcome", &req.request_id, req, async |tx| {
                let (mut mediation, _) = self
                    .store
                    .mediation_for_update(tx, &req.mediation_id)
                    .await?
                    .filter(|(m, _)| caller.can_see_station(&m.station_id))
                    .ok_or_else(|| ApiError::NotFound(format!("mediation {}", req.mediation_id)))?;
                if mediation.status != MediationStatus::Open as i32 {
                    return Err(ApiError::FailedPrecondition(format!(
                        "mediation {} is already concluded",
                        mediation.mediation_id
                    )));
                }
                mediation.status = if req.resolved {
                    MediationStatus::Resolved as i32
                } else {
                    MediationStatus::Unresolved as i32
                };
                mediation.agreement_text = req.agreement_text.clone();
                mediation.agreement_signed = req.agreement_signed;
                mediation.next_step = req.next_step;
                mediation.next_step_detail = req.next_step_detail.clone();
                mediation.outcome_notes = req.notes.clone();
                mediation.concluded_at = Some(ts(concluded_at));
                mediation.concluded_by = Some(actor.clone());
                mediation.updated_at = Some(ts(now));
                self.store.update_mediation(tx, &mediation).await?;
                crate::metrics::mediation(if req.resolved { "agreed" } else { "failed" });
                let event = MediationConcluded {
                    mediation_id: mediation.mediation_id.clone(),
                    incident_id: mediation.incident_id.clone(),
                    status: mediation.status,
                    next_step: mediation.next_step,
                    concluded_at: mediation.concluded_at,
                };
                self.context
                    .outbox
                    .enqueue(tx, &mediation.incident_id, &event)
                    .await?;
                let audit = Audit::new(
                    actor.clone(),
                    "followup.RecordMediationOutcome",
                    "mediation",
                    &mediation.mediation_id,
                )
                .station(&mediation.station_id)
                .detail(format!("resolved {}", req.resolved));
                self.audit(tx, audit).await?;
                Ok(RecordMediationOutcomeResponse {
                    mediation: Some(mediation),
                })
            })
            .await
    }
}
