//! Inspections of premises against templates (story 8): start, results, due re-inspections.

use pingan_platform::auth::Role;
use pingan_platform::{ApiError, FieldViolations};
use pingan_proto::grid::v1 as pb;
use tonic::Request;

use super::convert::{self, millis};
use super::{GridRegistryApi, next_token, page, require_enum, scope};
use crate::domain::inspection::{ItemInput, ResultError, complete};
use crate::domain::*;
use crate::store::{Inserted, ReinspectionFilter};

/// Roles that run inspections.
const INSPECTORS: [Role; 4] = [
    Role::Admin,
    Role::StationOfficer,
    Role::VillageOfficer,
    Role::Inspector,
];

impl GridRegistryApi {
    pub(super) async fn start_inspection_impl(
        &self,
        request: Request<pb::StartInspectionRequest>,
    ) -> Result<pb::StartInspectionResponse, ApiError> {
        let caller = self.caller(&request)?;
        let r = request.into_inner();
        let mut v = FieldViolations::default();
        v.require_non_empty("premises_id", &r.premises_id);
        let template = self.templates.get(&r.template_id);
        if template.is_none() {
            v.add("template_id", "unknown template");
        }
        v.finish()?;
        let template =
            template.ok_or_else(|| ApiError::invalid("template_id", "unknown template"))?;
        caller.require_any(&INSPECTORS)?;
        let premises = self
            .store()
            .await?
            .premises(&r.premises_id)
            .await?
            .filter(|p| caller.can_see_station(&p.station_id))
            .ok_or_else(|| ApiError::invalid("premises_id", "unknown premises"))?;
        if !r.reinspection_of.is_empty() {
            let original = self
                .store()
                .await?
                .inspection(&r.reinspection_of)
                .await?
                .filter(|o| o.premises_id == premises.premises_id)
                .ok_or_else(|| {
                    ApiError::invalid("reinspection_of", "unknown inspection of these premises")
                })?;
            if original.status != pb::InspectionStatus::RectificationRequired as i32 {
                return Err(ApiError::FailedPrecondition(
                    "only a failed inspection can be re-inspected".into(),
                ));
            }
        }
        let now = self.now();
        let inspection = Inspection {
            inspection_id: uuid::Uuid::now_v7().to_string(),
            request_id: r.request_id,
            premises_id: premises.premises_id.clone(),
            premises_name: premises.name.clone(),
            premises_kind: premises.kind,
            grid_id: premises.grid_id.clone(),
            station_id: premises.station_id.clone(),
            template_id: template.template_id.clone(),
            template_version: template.version.clone(),
            items: template.checklist(),
            status: pb::InspectionStatus::InProgress as i32,
            reinspection_of: r.reinspection_of,
            inspector_officer_ids: if r.inspector_officer_ids.is_empty() {
                vec![caller.subject.clone()]
            } else {
                r.inspector_officer_ids
            },
            campaign: r.campaign,
            started_at: r.started_at.as_ref().map_or(now, millis),
            updated_at: now,
            ..Inspection::default()
        };
        let audit = Self::audit(
            &caller,
            "StartInspection",
            "inspection",
            &inspection.inspection_id,
        )
        .station(&inspection.station_id)
        .detail(format!(
            "premises {} template {}",
            inspection.premises_id, inspection.template_id
        ));
        let inspection = self
            .audited(async |tx| {
                let inserted = self
                    .store()
                    .await?
                    .insert_inspection(tx, &inspection)
                    .await?;
                let audit = matches!(inserted, Inserted::New(_)).then_some(audit);
                Ok((inserted.into_inner(), audit))
            })
            .await?;
        tracing::info!(inspection_id = %inspection.inspection_id, premises_id = %inspection.premises_id, "inspection started");
        Ok(pb::StartInspectionResponse {
            inspection: Some(convert::inspection(&inspection)),
        })
    }

    pub(super) async fn record_inspection_result_impl(
        &self,
        request: Request<pb::RecordInspectionResultRequest>,
    ) -> Result<pb::RecordInspectionResultResponse, ApiError> {
        let caller = self.caller(&request)?;
        let r = request.into_inner();
        let mut v = FieldViolations::default();
        v.require_non_empty("inspection_id", &r.inspection_id);
        for (i, h) in r.hazards.iter().enumerate() {
            v.require_non_empty(&format!("hazards[{i}].description"), &h.description);
            require_enum::<pb::HazardSeverity>(
                &mut v,
                &format!("hazards[{i}].severity"),
                h.severity,
            );
        }
        v.finish()?;
        caller.require_any(&INSPECTORS)?;
        let mut inspection = self
            .store()
            .await?
            .inspection(&r.inspection_id)
            .await?
            .filter(|i| caller.can_see_station(&i.station_id))
            .ok_or_else(|| ApiError::NotFound(format!("inspection {}", r.inspection_id)))?;
        if inspection.status != pb::InspectionStatus::InProgress as i32 {
            if !r.request_id.is_empty() && inspection.result_request_id == r.request_id {
                return Ok(pb::RecordInspectionResultResponse {
                    inspection: Some(convert::inspection(&inspection)),
                });
            }
            return Err(ApiError::FailedPrecondition(
                "inspection is not in progress".into(),
            ));
        }
        let now = self.now();
        let inputs: Vec<ItemInput> = r
            .results
            .into_iter()
            .map(|i| ItemInput {
                item_code: i.item_code,
                result: i.result,
                note: i.note,
                evidence_refs: i.evidence_refs,
            })
            .collect();
        let hazards = r
            .hazards
            .into_iter()
            .map(|h| Hazard {
                hazard_id: uuid::Uuid::now_v7().to_string(),
                item_code: h.item_code,
                description: h.description,
                severity: h.severity,
                required_action: h.required_action,
            })
            .collect();
        let deadline = r.rectification_deadline.as_ref().map(millis);
        let completed_at = r.completed_at.as_ref().map_or(now, millis);
        complete(
            &mut inspection,
            &inputs,
            hazards,
            deadline,
            r.summary,
            completed_at,
        )
        .map_err(|e| {
            let field = match &e {
                ResultError::UnknownItem { index } | ResultError::DuplicateItem { index } => {
                    format!("results[{index}].item_code")
                }
                ResultError::BadResult { index } => format!("results[{index}].result"),
                ResultError::FailWithoutNote { index } => format!("results[{index}].note"),
                ResultError::Missing(_) => "results".to_owned(),
                ResultError::DeadlineRequired => "rectification_deadline".to_owned(),
            };
            ApiError::invalid(&field, e.to_string())
        })?;
        inspection.result_request_id = r.request_id;
        let mut original = None;
        if !inspection.reinspection_of.is_empty()
            && let Some(mut first) = self
                .store()
                .await?
                .inspection(&inspection.reinspection_of)
                .await?
        {
            first.reinspection_id = inspection.inspection_id.clone();
            if inspection.status == pb::InspectionStatus::Passed as i32 {
                first.status = pb::InspectionStatus::Rectified as i32;
            }
            first.updated_at = now;
            original = Some(first);
        }
        let premises = self
            .store()
            .await?
            .premises(&inspection.premises_id)
            .await?
            .map(|mut premises| {
                premises.last_inspected_at = Some(completed_at);
                premises
            });
        let audit = Self::audit(
            &caller,
            "RecordInspectionResult",
            "inspection",
            &inspection.inspection_id,
        )
        .station(&inspection.station_id)
        .detail(format!(
            "premises {}: {}",
            inspection.premises_id,
            pb::InspectionStatus::try_from(inspection.status)
                .map(|status| status.as_str_name())
                .unwrap_or("UNKNOWN")
        ));
        self.audited(async |tx| {
            self.store()
                .await?
                .update_inspection(tx, &inspection, original.as_ref())
                .await?;
            if let Some(premises) = &premises {
                self.store().await?.put_premises(tx, premises).await?;
            }
            Ok(((), Some(audit)))
        })
        .await?;
        tracing::info!(inspection_id = %inspection.inspection_id, status = inspection.status, "inspection results recorded");
        Ok(pb::RecordInspectionResultResponse {
            inspection: Some(convert::inspection(&inspection)),
        })
    }

    pub(super) async fn due_reinspections_impl(
        &self,
        request: Request<pb::ListDueReinspectionsRequest>,
    ) -> Result<pb::ListDueReinspectionsResponse, ApiError> {
        let caller = self.caller(&request)?;
        let r = request.into_inner();
        let mut v = FieldViolations::default();
        let page = page(&mut v, r.page_size, &r.page_token, 50, 500);
        v.finish()?;
        if !r.station_id.is_empty() {
            caller.require_station(&r.station_id)?;
        }
        let now = self.now();
        let due_before = match (r.due_before.as_ref().map(millis), r.only_overdue) {
            (Some(t), true) => Some(t.min(now)),
            (Some(t), false) => Some(t),
            (None, true) => Some(now),
            (None, false) => None,
        };
        let filter = ReinspectionFilter {
            scope: scope(&caller, &r.station_id, &r.grid_id, ""),
            premises_kind: r.premises_kind,
            due_before,
        };
        let found = self.store().await?.due_reinspections(&filter, page).await?;
        Ok(pb::ListDueReinspectionsResponse {
            next_page_token: next_token(page, found.len()),
            inspections: found.iter().map(convert::inspection).collect(),
        })
    }
}
