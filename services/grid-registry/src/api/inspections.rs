//! Inspections of premises against templates (story 8): start, results, due re-inspections.

use pingan_platform::auth::Role;
use pingan_platform::{ApiError, FieldViolations};
use pingan_proto::grid::v1 as pb;
use tonic::Request;

use super::GridRegistryApi;
use super::convert::{self, millis};
use super::validate::{next_token, page, require_enum};
use crate::app::{InspectionResult, StartInspection, scope};
use crate::domain::Hazard;
use crate::domain::inspection::ItemInput;
use crate::store::ReinspectionFilter;

/// Roles that run inspections.
const INSPECTORS: [Role; 4] = [
    Role::Admin,
    Role::StationOfficer,
    Role::VillageOfficer,
    Role::Inspector,
];

impl GridRegistryApi {
    pub(super) async fn start_inspection_rpc(
        &self,
        request: Request<pb::StartInspectionRequest>,
    ) -> Result<pb::StartInspectionResponse, ApiError> {
        let caller = self.caller(&request)?;
        let r = request.into_inner();
        let mut v = FieldViolations::default();
        v.require_non_empty("premises_id", &r.premises_id);
        if self.app.templates().get(&r.template_id).is_none() {
            v.add("template_id", "unknown template");
        }
        v.finish()?;
        caller.require_any(&INSPECTORS)?;
        let start = StartInspection {
            request_id: r.request_id,
            premises_id: r.premises_id,
            template_id: r.template_id,
            reinspection_of: r.reinspection_of,
            inspector_officer_ids: r.inspector_officer_ids,
            campaign: r.campaign,
            started_at: r.started_at.as_ref().map(millis),
        };
        let inspection = self.app.start_inspection(&caller, start).await?;
        Ok(pb::StartInspectionResponse {
            inspection: Some(convert::inspection(&inspection)),
        })
    }

    pub(super) async fn record_inspection_result_rpc(
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
        let result = InspectionResult {
            inspection_id: r.inspection_id,
            request_id: r.request_id,
            results: r
                .results
                .into_iter()
                .map(|i| ItemInput {
                    item_code: i.item_code,
                    result: i.result,
                    note: i.note,
                    evidence_refs: i.evidence_refs,
                })
                .collect(),
            hazards: r
                .hazards
                .into_iter()
                .map(|h| Hazard {
                    hazard_id: uuid::Uuid::now_v7().to_string(),
                    item_code: h.item_code,
                    description: h.description,
                    severity: h.severity,
                    required_action: h.required_action,
                })
                .collect(),
            rectification_deadline: r.rectification_deadline.as_ref().map(millis),
            summary: r.summary,
            completed_at: r.completed_at.as_ref().map(millis),
        };
        let inspection = self.app.record_inspection_result(&caller, result).await?;
        Ok(pb::RecordInspectionResultResponse {
            inspection: Some(convert::inspection(&inspection)),
        })
    }

    pub(super) async fn due_reinspections_rpc(
        &self,
        request: Request<pb::ListDueReinspectionsRequest>,
    ) -> Result<pb::ListDueReinspectionsResponse, ApiError> {
        let caller = self.reader(&request)?;
        let r = request.into_inner();
        let mut v = FieldViolations::default();
        let page = page(&mut v, r.page_size, &r.page_token, 50, 500);
        v.finish()?;
        if !r.station_id.is_empty() {
            caller.require_station(&r.station_id)?;
        }
        let now = self.app.now();
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
        let found = self.app.due_reinspections(&filter, page).await?;
        Ok(pb::ListDueReinspectionsResponse {
            next_page_token: next_token(page, found.len()),
            inspections: found.iter().map(convert::inspection).collect(),
        })
    }
}
