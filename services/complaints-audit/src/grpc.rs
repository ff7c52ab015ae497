//! gRPC handlers of `pingan.audit.v1.ComplaintsAuditService`: decode → validate → authorize →
//! domain → map errors. Every mutation is idempotent on its request_id.

use std::sync::Arc;

use pingan_platform::ApiError;
use pingan_platform::auth::Role;
use pingan_proto::audit::v1::complaints_audit_service_server::ComplaintsAuditService;
use pingan_proto::audit::v1::{
    AddEvidenceRequest, AddEvidenceResponse, AssignInvestigatorRequest, AssignInvestigatorResponse,
    ComplaintSource, FileComplaintRequest, FileComplaintResponse, GetComplaintRequest,
    GetComplaintResponse, InvestigationStage, ListComplaintsRequest, ListComplaintsResponse,
    ListEarlyWarningsRequest, ListEarlyWarningsResponse, QueryAuditRequest, QueryAuditResponse,
    RecordAuditRequest, RecordAuditResponse, RecordFindingRequest, RecordFindingResponse,
    VerifyAuditChainRequest, VerifyAuditChainResponse,
};
use tonic::{Request, Response, Status};

use crate::complaints::{self, NewComplaint};
use crate::convert::{audit_entry, from_ts};
use crate::core::{AUDIT_READERS, COMPLAINT_ROLES, Core, FILERS, MASKED_READERS, actor};
use crate::store::Conn;
use crate::store::complaints as store;
use crate::{audit_log, evidence, queries, validate};

/// Handlers of the complaints-audit service.
#[derive(Debug, Clone)]
pub struct ComplaintsAuditApi {
    core: Arc<Core>,
}

impl ComplaintsAuditApi {
    /// Handlers over the service's shared state.
    pub fn new(core: Arc<Core>) -> Self {
        Self { core }
    }
}

#[tonic::async_trait]
impl ComplaintsAuditService for ComplaintsAuditApi {
    async fn file_complaint(
        &self,
        request: Request<FileComplaintRequest>,
    ) -> Result<Response<FileComplaintResponse>, Status> {
        let caller = self.core.context.auth.caller(&request)?;
        let req = request.into_inner();
        validate::file_complaint(&req).finish()?;
        caller.require_any(&FILERS)?;
        if !req.station_id.is_empty() {
            caller.require_station(&req.station_id)?;
        }
        let core = &self.core;
        let complainant = req.complainant.clone().unwrap_or_default();
        let new = NewComplaint {
            source: ComplaintSource::try_from(req.source).unwrap_or_default(),
            hotline_ticket_id: req.hotline_ticket_id.trim().to_owned(),
            transfer_id: req.transfer_id.trim().to_owned(),
            name: complainant.name,
            phone: complainant.phone,
            id_number: complainant.id_number,
            address: complainant.address,
            confidential: complainant.confidential,
            accused: req.accused.clone(),
            incident_id: req.incident_id.trim().to_owned(),
            allegation: req.allegation.clone(),
            tags: req.allegation_tags.clone(),
            occurred_at: from_ts(req.occurred_at.as_ref()),
            station_id: req.station_id.trim().to_owned(),
            received_at: from_ts(req.received_at.as_ref()).unwrap_or_else(|| core.now()),
        };
        let timeline = if new.incident_id.is_empty() {
            None
        } else {
            Some(evidence::fetch_timeline(core, &new.incident_id, "").await)
        };
        let filed_by = actor(&caller);
        let response = core
            .context
            .requests
            .run("FileComplaint", &req.request_id, &req, async |tx| {
                let row = complaints::file(core, tx, new, &filed_by, timeline).await?;
                let complaint = queries::view(core, Conn::Tx(tx), &caller, &row, true).await?;
                Ok(FileComplaintResponse {
                    complaint: Some(complaint),
                })
            })
            .await?;
        Ok(Response::new(response))
    }

    async fn assign_investigator(
        &self,
        request: Request<AssignInvestigatorRequest>,
    ) -> Result<Response<AssignInvestigatorResponse>, Status> {
        let caller = self.core.context.auth.caller(&request)?;
        let req = request.into_inner();
        validate::assign(&req).finish()?;
        caller.require_any(&[Role::Inspector, Role::Admin])?;
        let core = &self.core;
        let stage = InvestigationStage::try_from(req.stage).unwrap_or_default();
        let incident = req.incident_id.trim();
        let timeline = if incident.is_empty() {
            None
        } else {
            let current = store::get(Conn::Db(&core.context.db), &req.complaint_id)
                .await
                .map_err(ApiError::from)?;
            match current {
                Some(row) if row.incident_id.is_empty() => {
                    Some(evidence::fetch_timeline(core, incident, "").await)
                }
                _ => None,
            }
        };
        let by = actor(&caller);
        let response = core
            .context
            .requests
            .run("AssignInvestigator", &req.request_id, &req, async |tx| {
                let row = complaints::assign(core, tx, &caller, &by, &req, stage, timeline).await?;
                let complaint = queries::view(core, Conn::Tx(tx), &caller, &row, false).await?;
                Ok(AssignInvestigatorResponse {
                    complaint: Some(complaint),
                })
            })
            .await?;
        Ok(Response::new(response))
    }

    async fn add_evidence(
        &self,
        request: Request<AddEvidenceRequest>,
    ) -> Result<Response<AddEvidenceResponse>, Status> {
        let caller = self.core.context.auth.caller(&request)?;
        let req = request.into_inner();
        validate::add_evidence(&req).finish()?;
        caller.require_any(&COMPLAINT_ROLES)?;
        let core = &self.core;
        let timeline = if validate::wants_timeline_fetch(&req) {
            let row = store::get(Conn::Db(&core.context.db), &req.complaint_id)
                .await
                .map_err(ApiError::from)?
                .filter(|row| crate::core::can_see(&caller, &row.station_id))
                .ok_or_else(|| ApiError::NotFound(format!("complaint {}", req.complaint_id)))?;
            let dispatch_id = req.source_ref.trim();
            if row.incident_id.is_empty() && dispatch_id.is_empty() {
                Err(ApiError::FailedPrecondition(
                    "complaint has no linked incident: give the dispatch id as source_ref".into(),
                ))?;
            }
            Some(evidence::fetch_timeline(core, &row.incident_id, dispatch_id).await)
        } else {
            None
        };
        let by = actor(&caller);
        let response = core
            .context
            .requests
            .run("AddEvidence", &req.request_id, &req, async |tx| {
                let row = complaints::add_evidence(core, tx, &caller, &by, &req, timeline).await?;
                Ok(AddEvidenceResponse {
                    evidence: Some(crate::convert::evidence(&row, true)),
                })
            })
            .await?;
        Ok(Response::new(response))
    }

    async fn record_finding(
        &self,
        request: Request<RecordFindingRequest>,
    ) -> Result<Response<RecordFindingResponse>, Status> {
        let caller = self.core.context.auth.caller(&request)?;
        let req = request.into_inner();
        validate::record_finding(&req).finish()?;
        caller.require_any(&COMPLAINT_ROLES)?;
        let core = &self.core;
        let by = actor(&caller);
        let response = core
            .context
            .requests
            .run("RecordFinding", &req.request_id, &req, async |tx| {
                let row = complaints::record_finding(core, tx, &caller, &by, &req).await?;
                let complaint = queries::view(core, Conn::Tx(tx), &caller, &row, false).await?;
                Ok(RecordFindingResponse {
                    complaint: Some(complaint),
                })
            })
            .await?;
        Ok(Response::new(response))
    }

    async fn get_complaint(
        &self,
        request: Request<GetComplaintRequest>,
    ) -> Result<Response<GetComplaintResponse>, Status> {
        let caller = self.core.context.auth.caller(&request)?;
        let req = request.into_inner();
        if req.complaint_id.trim().is_empty() && req.case_number.trim().is_empty() {
            Err(ApiError::invalid(
                "complaint_id",
                "give complaint_id or case_number",
            ))?;
        }
        caller.require_any(&MASKED_READERS)?;
        let complaint = queries::get(
            &self.core,
            &caller,
            req.complaint_id.trim(),
            req.case_number.trim(),
        )
        .await?;
        Ok(Response::new(GetComplaintResponse {
            complaint: Some(complaint),
        }))
    }

    async fn list_complaints(
        &self,
        request: Request<ListComplaintsRequest>,
    ) -> Result<Response<ListComplaintsResponse>, Status> {
        let caller = self.core.context.auth.caller(&request)?;
        caller.require_any(&MASKED_READERS)?;
        let req = request.into_inner();
        Ok(Response::new(
            queries::list(&self.core, &caller, &req).await?,
        ))
    }

    async fn list_early_warnings(
        &self,
        request: Request<ListEarlyWarningsRequest>,
    ) -> Result<Response<ListEarlyWarningsResponse>, Status> {
        let caller = self.core.context.auth.caller(&request)?;
        caller.require_any(&[
            Role::Inspector,
            Role::LegalUnit,
            Role::CommandCenter,
            Role::Admin,
        ])?;
        let req = request.into_inner();
        Ok(Response::new(
            queries::early_warnings_page(&self.core, &caller, &req).await?,
        ))
    }

    async fn record_audit(
        &self,
        request: Request<RecordAuditRequest>,
    ) -> Result<Response<RecordAuditResponse>, Status> {
        let caller = self.core.context.auth.caller(&request)?;
        let req = request.into_inner();
        let mut violations = pingan_platform::FieldViolations::default();
        violations.require_non_empty("request_id", &req.request_id);
        audit_log::validate_record(req.record.as_ref(), &mut violations);
        violations.finish()?;
        caller.require_any(&[Role::Service, Role::Admin])?;
        let core = &self.core;
        let record = req.record.clone().unwrap_or_default();
        let response = core
            .context
            .requests
            .run("RecordAudit", &req.request_id, &req, async |tx| {
                let entry =
                    audit_log::new_entry(&req.request_id, &record, &caller.subject, core.now());
                let row = audit_log::append(core, tx, entry).await?;
                Ok(RecordAuditResponse {
                    entry: Some(audit_entry(&row)),
                })
            })
            .await?;
        Ok(Response::new(response))
    }

    async fn query_audit(
        &self,
        request: Request<QueryAuditRequest>,
    ) -> Result<Response<QueryAuditResponse>, Status> {
        let caller = self.core.context.auth.caller(&request)?;
        let req = request.into_inner();
        let filter = audit_log::filter(&req)?;
        caller.require_any(&AUDIT_READERS)?;
        if crate::core::visible_stations(&caller).is_some() {
            if req.station_id.is_empty() {
                Err(ApiError::PermissionDenied(
                    "a caller limited to stations must name one in station_id".into(),
                ))?;
            }
            caller.require_station(&req.station_id)?;
        }
        Ok(Response::new(audit_log::query(&self.core, filter).await?))
    }

    async fn verify_audit_chain(
        &self,
        request: Request<VerifyAuditChainRequest>,
    ) -> Result<Response<VerifyAuditChainResponse>, Status> {
        let caller = self.core.context.auth.caller(&request)?;
        let req = request.into_inner();
        let mut violations = pingan_platform::FieldViolations::default();
        if req.from_sequence < 0 {
            violations.add("from_sequence", "must not be negative");
        }
        if req.to_sequence < 0 {
            violations.add("to_sequence", "must not be negative");
        }
        if req.to_sequence > 0 && req.from_sequence > req.to_sequence {
            violations.add("from_sequence", "must not be after to_sequence");
        }
        violations.finish()?;
        caller.require_any(&AUDIT_READERS)?;
        Ok(Response::new(
            audit_log::verify(&self.core, req.from_sequence, req.to_sequence).await?,
        ))
    }
}
