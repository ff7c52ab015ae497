//! OpenMediation, RecordMediationOutcome.

use pingan_platform::pii::mask_phone;
use pingan_platform::{ApiError, FieldViolations};
use pingan_proto::followup::v1::{
    Mediation, MediationConcluded, MediationNextStep, MediationOpened, MediationStatus,
    OpenMediationRequest, OpenMediationResponse, PartyRole, RecordMediationOutcomeRequest,
    RecordMediationOutcomeResponse,
};
use tonic::Request;

use super::{CaseFollowupApi, FIELD_ROLES, check_phone, resolve_station, sees_phones};
use crate::domain::{MAX_SHORT_CHARS, MAX_TEXT_CHARS, check_enum, new_id, time_or, ts};
use crate::events::AuditEntry;

impl CaseFollowupApi {
    pub(super) async fn open_mediation_checked(
        &self,
        request: Request<OpenMediationRequest>,
    ) -> Result<OpenMediationResponse, ApiError> {
        let caller = self.core.context.auth.caller(&request)?;
        let req = request.into_inner();
        let now = self.core.now();
        let mut v = FieldViolations::default();
        v.require_non_empty("incident_id", &req.incident_id);
        v.require_max_chars("incident_id", &req.incident_id, MAX_SHORT_CHARS);
        if req.parties.len() < 2 {
            v.add("parties", "must name at least two parties");
        }
        for (i, party) in req.parties.iter().enumerate() {
            v.require_non_empty(&format!("parties[{i}].name"), &party.name);
            v.require_max_chars(&format!("parties[{i}].name"), &party.name, MAX_SHORT_CHARS);
            check_enum::<PartyRole>(&mut v, &format!("parties[{i}].role"), party.role);
            if !party.phone.is_empty() {
                check_phone(&mut v, &format!("parties[{i}].phone"), &party.phone);
            }
            v.require_max_chars(
                &format!("parties[{i}].position"),
                &party.position,
                MAX_TEXT_CHARS,
            );
        }
        for (i, member) in req.committee_members.iter().enumerate() {
            v.require_non_empty(&format!("committee_members[{i}].name"), &member.name);
        }
        v.require_non_empty("summary", &req.summary);
        v.require_max_chars("summary", &req.summary, MAX_TEXT_CHARS);
        v.require_non_empty("mediator_officer_id", &req.mediator_officer_id);
        v.require_max_chars("place", &req.place, MAX_SHORT_CHARS);
        let started_at = time_or(&mut v, "started_at", req.started_at.as_ref(), now);
        v.finish()?;
        caller.require_any(FIELD_ROLES)?;
        let station_id = resolve_station(&caller, &req.station_id)?;
        if station_id.is_empty() {
            return Err(ApiError::invalid("station_id", "must not be empty"));
        }

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
            Some(self.core.seal(&phones.join("\n"))?)
        };
        let core = &self.core;
        let actor = caller.actor();
        let mut response = core
            .context
            .requests
            .run("OpenMediation", &req.request_id, &req, async |tx| {
                core.store
                    .insert_mediation(tx, &mediation, phones_enc.clone())
                    .await?;
                let event = MediationOpened {
                    mediation_id: mediation.mediation_id.clone(),
                    incident_id: mediation.incident_id.clone(),
                    mediator_officer_id: mediation.mediator_officer_id.clone(),
                    started_at: mediation.started_at,
                };
                core.context
                    .outbox
                    .enqueue(tx, &mediation.incident_id, &event)
                    .await?;
                // A revisit scheduled before the mediation learns whom to call.
                let chosen = mediation
                    .parties
                    .iter()
                    .position(|p| p.role == PartyRole::Caller as i32)
                    .unwrap_or(0);
                for (mut revisit, _) in core
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
                    revisit.updated_at = Some(ts(now));
                    let phone = core.party_phone(phones_enc.as_deref(), chosen)?;
                    core.store.update_revisit(tx, &revisit, phone).await?;
                }
                core.audit(
                    tx,
                    AuditEntry {
                        actor: actor.clone(),
                        action: "followup.OpenMediation",
                        resource_type: "mediation",
                        resource_id: &mediation.mediation_id,
                        station_id: &mediation.station_id,
                        detail: format!("incident {}", mediation.incident_id),
                    },
                )
                .await?;
                Ok(OpenMediationResponse {
                    mediation: Some(mediation.clone()),
                })
            })
            .await?;
        if sees_phones(&caller)
            && let Some(stored) = response.mediation.as_mut()
        {
            for (party, given) in stored.parties.iter_mut().zip(&req.parties) {
                party.phone = given.phone.clone();
            }
        }
        Ok(response)
    }

    pub(super) async fn record_mediation_outcome_checked(
        &self,
        request: Request<RecordMediationOutcomeRequest>,
    ) -> Result<RecordMediationOutcomeResponse, ApiError> {
        let caller = self.core.context.auth.caller(&request)?;
        let req = request.into_inner();
        let now = self.core.now();
        let mut v = FieldViolations::default();
        v.require_non_empty("mediation_id", &req.mediation_id);
        check_enum::<MediationNextStep>(&mut v, "next_step", req.next_step);
        if req.resolved {
            v.require_non_empty("agreement_text", &req.agreement_text);
        }
        v.require_max_chars("agreement_text", &req.agreement_text, MAX_TEXT_CHARS);
        v.require_max_chars("next_step_detail", &req.next_step_detail, MAX_TEXT_CHARS);
        v.require_max_chars("notes", &req.notes, MAX_TEXT_CHARS);
        let concluded_at = time_or(&mut v, "concluded_at", req.concluded_at.as_ref(), now);
        v.finish()?;
        caller.require_any(FIELD_ROLES)?;

        let core = &self.core;
        let actor = caller.actor();
        let response = core
            .context
            .requests
            .run(
                "RecordMediationOutcome",
                &req.request_id,
                &req,
                async |tx| {
                    let (mut mediation, _) = core
                        .store
                        .mediation_for_update(tx, &req.mediation_id)
                        .await?
                        .filter(|(m, _)| caller.can_see_station(&m.station_id))
                        .ok_or_else(|| {
                            ApiError::NotFound(format!("mediation {}", req.mediation_id))
                        })?;
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
                    core.store.update_mediation(tx, &mediation).await?;
                    let event = MediationConcluded {
                        mediation_id: mediation.mediation_id.clone(),
                        incident_id: mediation.incident_id.clone(),
                        status: mediation.status,
                        next_step: mediation.next_step,
                        concluded_at: mediation.concluded_at,
                    };
                    core.context
                        .outbox
                        .enqueue(tx, &mediation.incident_id, &event)
                        .await?;
                    core.audit(
                        tx,
                        AuditEntry {
                            actor: actor.clone(),
                            action: "followup.RecordMediationOutcome",
                            resource_type: "mediation",
                            resource_id: &mediation.mediation_id,
                            station_id: &mediation.station_id,
                            detail: format!("resolved {}", req.resolved),
                        },
                    )
                    .await?;
                    Ok(RecordMediationOutcomeResponse {
                        mediation: Some(mediation),
                    })
                },
            )
            .await?;
        Ok(response)
    }
}
