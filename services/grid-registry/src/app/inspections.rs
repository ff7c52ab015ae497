//! Inspections of premises against templates (story 8): start, results, due re-inspections.

use pingan_platform::ApiError;
use pingan_platform::auth::Caller;
use pingan_proto::grid::v1 as pb;

use super::Registry;
use crate::domain::inspection::{ItemInput, ResultError, complete};
use crate::domain::*;
use crate::store::{Inserted, Page, ReinspectionFilter};

/// An inspection to start.
#[derive(Debug, Clone, Default)]
pub struct StartInspection {
    pub request_id: String,
    pub premises_id: String,
    pub template_id: String,
    pub reinspection_of: String,
    /// Empty: the caller.
    pub inspector_officer_ids: Vec<String>,
    pub campaign: String,
    pub started_at: Option<Millis>,
}

/// The results of an inspection in progress.
#[derive(Debug, Clone, Default)]
pub struct InspectionResult {
    pub inspection_id: String,
    pub request_id: String,
    pub results: Vec<ItemInput>,
    /// Hazards found (their ids are given here).
    pub hazards: Vec<Hazard>,
    pub rectification_deadline: Option<Millis>,
    pub summary: String,
    pub completed_at: Option<Millis>,
}

/// The field of a request that a result error is about.
fn result_field(e: &ResultError) -> String {
    match e {
        ResultError::UnknownItem { index } | ResultError::DuplicateItem { index } => {
            format!("results[{index}].item_code")
        }
        ResultError::BadResult { index } => format!("results[{index}].result"),
        ResultError::FailWithoutNote { index } => format!("results[{index}].note"),
        ResultError::Missing(_) => "results".to_owned(),
        ResultError::DeadlineRequired => "rectification_deadline".to_owned(),
    }
}

impl Registry {
    /// Starts an inspection of premises in the caller's reach against a template; a
    /// re-inspection only of a failed inspection of the same premises.
    pub async fn start_inspection(
        &self,
        caller: &Caller,
        start: StartInspection,
    ) -> Result<Inspection, ApiError> {
        let template = self
            .templates
            .get(&start.template_id)
            .ok_or_else(|| ApiError::invalid("template_id", "unknown template"))?;
        let store = self.store().await?;
        let premises = store
            .premises(&start.premises_id)
            .await?
            .filter(|p| caller.can_see_station(&p.station_id))
            .ok_or_else(|| ApiError::invalid("premises_id", "unknown premises"))?;
        if !start.reinspection_of.is_empty() {
            let original = store
                .inspection(&start.reinspection_of)
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
            request_id: start.request_id,
            premises_id: premises.premises_id.clone(),
            premises_name: premises.name.clone(),
            premises_kind: premises.kind,
            grid_id: premises.grid_id.clone(),
            station_id: premises.station_id.clone(),
            template_id: template.template_id.clone(),
            template_version: template.version.clone(),
            items: template.checklist(),
            status: pb::InspectionStatus::InProgress as i32,
            reinspection_of: start.reinspection_of,
            inspector_officer_ids: if start.inspector_officer_ids.is_empty() {
                vec![caller.subject.clone()]
            } else {
                start.inspector_officer_ids
            },
            campaign: start.campaign,
            started_at: start.started_at.unwrap_or(now),
            updated_at: now,
            ..Inspection::default()
        };
        let audit = Self::audit(
            caller,
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
        Ok(inspection)
    }

    /// Completes an inspection in progress; a passing re-inspection marks the original
    /// rectified, and the premises remember when they were last inspected. A repeat of the
    /// request that completed it answers the completed inspection.
    pub async fn record_inspection_result(
        &self,
        caller: &Caller,
        result: InspectionResult,
    ) -> Result<Inspection, ApiError> {
        let store = self.store().await?;
        let mut inspection = store
            .inspection(&result.inspection_id)
            .await?
            .filter(|i| caller.can_see_station(&i.station_id))
            .ok_or_else(|| ApiError::NotFound(format!("inspection {}", result.inspection_id)))?;
        if inspection.status != pb::InspectionStatus::InProgress as i32 {
            if !result.request_id.is_empty() && inspection.result_request_id == result.request_id {
                return Ok(inspection);
            }
            return Err(ApiError::FailedPrecondition(
                "inspection is not in progress".into(),
            ));
        }
        let now = self.now();
        let completed_at = result.completed_at.unwrap_or(now);
        complete(
            &mut inspection,
            &result.results,
            result.hazards,
            result.rectification_deadline,
            result.summary,
            completed_at,
        )
        .map_err(|e| ApiError::invalid(&result_field(&e), e.to_string()))?;
        inspection.result_request_id = result.request_id;
        let mut original = None;
        if !inspection.reinspection_of.is_empty()
            && let Some(mut first) = store.inspection(&inspection.reinspection_of).await?
        {
            first.reinspection_id = inspection.inspection_id.clone();
            if inspection.status == pb::InspectionStatus::Passed as i32 {
                first.status = pb::InspectionStatus::Rectified as i32;
            }
            first.updated_at = now;
            original = Some(first);
        }
        let premises = store
            .premises(&inspection.premises_id)
            .await?
            .map(|mut premises| {
                premises.last_inspected_at = Some(completed_at);
                premises
            });
        let audit = Self::audit(
            caller,
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
        Ok(inspection)
    }

    /// Failed inspections without a re-inspection, earliest deadline first.
    pub async fn due_reinspections(
        &self,
        filter: &ReinspectionFilter,
        page: Page,
    ) -> Result<Vec<Inspection>, ApiError> {
        Ok(self.store().await?.due_reinspections(filter, page).await?)
    }
}
