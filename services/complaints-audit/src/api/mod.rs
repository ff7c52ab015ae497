//! gRPC handlers of `pingan.audit.v1.ComplaintsAuditService`: decode → validate → authorise →
//! use case → map. Every mutation is idempotent on its request_id; errors reach the client
//! through `platform::ApiError`, mapped to a status in one place.

pub mod convert;
pub mod queries;
pub mod service_calls;
pub mod validate;

use std::sync::Arc;

use pingan_platform::auth::Caller;
use pingan_platform::{ApiError, FieldViolations};
use pingan_proto::audit::v1::complaints_audit_service_server::ComplaintsAuditService;
use pingan_proto::audit::v1::{
    AddEvidenceRequest, AddEvidenceResponse, AssignInvestigatorRequest, AssignInvestigatorResponse,
    Complaint, ComplaintSource, EarlyWarning, FileComplaintRequest, FileComplaintResponse,
    GetAuditCheckpointRequest, GetAuditCheckpointResponse, GetComplaintRequest,
    GetComplaintResponse, InvestigationStage, ListComplaintsRequest, ListComplaintsResponse,
    ListEarlyWarningsRequest, ListEarlyWarningsResponse, QueryAuditRequest, QueryAuditResponse,
    RecordAuditRequest, RecordAuditResponse, RecordFindingRequest, RecordFindingResponse,
    VerifyAuditChainRequest, VerifyAuditChainResponse,
};
use tonic::{Request, Response, Status};

use crate::app::access::{
    ASSIGNERS, AUDIT_READERS, AUDIT_WRITERS, CHECKPOINT_READERS, COMPLAINT_ROLES, FILERS,
    MASKED_READERS, WARNING_READERS, actor, sees_pii, visible_stations,
};
use crate::app::complaints::NewComplaint;
use crate::app::queries::ComplaintDetail;
use crate::app::{
    Core, anchor, audit_log, clear_reads, complaints, evidence, investigation, queries as reads,
};
use convert::{View, audit_entry};
use pingan_platform::time::from_timestamp;

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

    /// A complaint as `caller` may see it.
    fn show(&self, caller: &Caller, detail: &ComplaintDetail, with_content: bool) -> Complaint {
        let view = View {
            clear_pii: sees_pii(caller),
            with_content,
        };
        convert::complaint(detail, self.core.now(), &self.core.context.pii, view)
    }
}

/// The complaint a FileComplaint request describes (validated before).
fn new_complaint(core: &Core, req: &FileComplaintRequest) -> NewComplaint {
    let complainant = req.complainant.clone().unwrap_or_default();
    NewComplaint {
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
        occurred_at: req.occurred_at.as_ref().and_then(from_timestamp),
        station_id: req.station_id.trim().to_owned(),
        received_at: req
            .received_at
            .as_ref()
            .and_then(from_timestamp)
            .unwrap_or_else(|| core.now()),
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
        let new = new_complaint(core, &req);
        let timeline = evidence::timeline_for_new(core, &new.incident_id).await;
        let filed_by = actor(&caller);
        let response = core
            .context
            .requests
            .run("FileComplaint", &req.request_id, &req, async |tx| {
                let row = complaints::file(core, tx, new, &filed_by, timeline).await?;
                let detail = reads::detail_in(core, tx, row, true).await?;
                Ok(FileComplaintResponse {
                    complaint: Some(self.show(&caller, &detail, true)),
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
        caller.require_any(&ASSIGNERS)?;
        let core = &self.core;
        let stage = InvestigationStage::try_from(req.stage).unwrap_or_default();
        let timeline =
            evidence::timeline_for_assign(core, &req.complaint_id, req.incident_id.trim()).await?;
        let by = actor(&caller);
        let response = core
            .context
            .requests
            .run("AssignInvestigator", &req.request_id, &req, async |tx| {
                let row =
                    investigation::assign(core, tx, &caller, &by, &req, stage, timeline).await?;
                let detail = reads::detail_in(core, tx, row, false).await?;
                Ok(AssignInvestigatorResponse {
                    complaint: Some(self.show(&caller, &detail, false)),
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
            let dispatch_id = req.source_ref.trim();
            Some(
                evidence::timeline_on_request(core, &caller, &req.complaint_id, dispatch_id)
                    .await?,
            )
        } else {
            None
        };
        let by = actor(&caller);
        let response = core
            .context
            .requests
            .run("AddEvidence", &req.request_id, &req, async |tx| {
                let row =
                    investigation::add_evidence(core, tx, &caller, &by, &req, timeline).await?;
                Ok(AddEvidenceResponse {
                    evidence: Some(convert::evidence(&row, true)),
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
                let row = investigation::record_finding(core, tx, &caller, &by, &req).await?;
                let detail = reads::detail_in(core, tx, row, false).await?;
                Ok(RecordFindingResponse {
                    complaint: Some(self.show(&caller, &detail, false)),
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
        let (id, case_number) = (req.complaint_id.trim(), req.case_number.trim());
        if id.is_empty() && case_number.is_empty() {
            Err(ApiError::invalid(
                "complaint_id",
                "give complaint_id or case_number",
            ))?;
        }
        caller.require_any(&MASKED_READERS)?;
        let reason = clear_reads::reason(&caller, &req.reason)?;
        let detail = reads::get(&self.core, &caller, id, case_number).await?;
        let complaint = self.show(&caller, &detail, true);
        if let Some(reason) = reason {
            let shown = std::slice::from_ref(&complaint);
            clear_reads::record(&self.core, &caller, "GetComplaint", &reason, shown).await?;
        }
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
        let reason = clear_reads::reason(&caller, &request.get_ref().reason)?;
        let filter = queries::list_filter(request.get_ref(), &caller)?;
        let (page, next_page_token) = reads::list(&self.core, &caller, filter).await?;
        let complaints: Vec<Complaint> =
            page.iter().map(|d| self.show(&caller, d, false)).collect();
        if let Some(reason) = reason {
            clear_reads::record(&self.core, &caller, "ListComplaints", &reason, &complaints)
                .await?;
        }
        Ok(Response::new(ListComplaintsResponse {
            complaints,
            next_page_token,
        }))
    }

    async fn list_early_warnings(
        &self,
        request: Request<ListEarlyWarningsRequest>,
    ) -> Result<Response<ListEarlyWarningsResponse>, Status> {
        let caller = self.core.context.auth.caller(&request)?;
        caller.require_any(&WARNING_READERS)?;
        let query = queries::warning_query(request.get_ref())?;
        let page = reads::early_warnings_page(&self.core, &caller, &query).await?;
        let count = |n: usize| i32::try_from(n).unwrap_or(i32::MAX);
        let threshold = i32::try_from(page.threshold).unwrap_or(i32::MAX);
        Ok(Response::new(ListEarlyWarningsResponse {
            warnings: page
                .warnings
                .into_iter()
                .map(|w| EarlyWarning {
                    complaint_count: count(w.complaint_ids.len()),
                    substantiated_count: count(w.substantiated),
                    open_count: count(w.open),
                    officer_id: w.officer_id,
                    station_id: w.station_id,
                    complaint_ids: w.complaint_ids,
                    threshold,
                })
                .collect(),
            next_page_token: page.next_page_token,
        }))
    }

    async fn record_audit(
        &self,
        request: Request<RecordAuditRequest>,
    ) -> Result<Response<RecordAuditResponse>, Status> {
        let caller = self.core.context.auth.caller(&request)?;
        let req = request.into_inner();
        let mut violations = FieldViolations::default();
        violations.require_non_empty("request_id", &req.request_id);
        validate::audit_record(req.record.as_ref(), &mut violations);
        violations.finish()?;
        caller.require_any(&AUDIT_WRITERS)?;
        let core = &self.core;
        let record = req.record.clone().unwrap_or_default();
        let response = core
            .context
            .requests
            .run("RecordAudit", &req.request_id, &req, async |tx| {
                let (id, now) = (&req.request_id, core.now());
                let row =
                    audit_log::append_record(core, tx, id, &record, &caller.subject, now).await?;
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
        let filter = validate::audit_filter(&req)?;
        caller.require_any(&AUDIT_READERS)?;
        if visible_stations(&caller).is_some() {
            if req.station_id.is_empty() {
                Err(ApiError::PermissionDenied(
                    "a caller limited to stations must name one in station_id".into(),
                ))?;
            }
            caller.require_station(&req.station_id)?;
        }
        let (rows, next_page_token) = audit_log::query(&self.core, filter).await?;
        Ok(Response::new(QueryAuditResponse {
            entries: rows.iter().map(audit_entry).collect(),
            next_page_token,
        }))
    }

    async fn verify_audit_chain(
        &self,
        request: Request<VerifyAuditChainRequest>,
    ) -> Result<Response<VerifyAuditChainResponse>, Status> {
        let caller = self.core.context.auth.caller(&request)?;
        let req = request.into_inner();
        validate::verify_range(&req).finish()?;
        caller.require_any(&AUDIT_READERS)?;
        let presented = match &req.witnessed_checkpoint {
            Some(proto) => Some(anchor::from_proto(
                &self.core,
                "witnessed_checkpoint",
                proto,
            )?),
            None => None,
        };
        Ok(Response::new(
            audit_log::verify(&self.core, req.from_sequence, req.to_sequence, presented).await?,
        ))
    }

    async fn get_audit_checkpoint(
        &self,
        request: Request<GetAuditCheckpointRequest>,
    ) -> Result<Response<GetAuditCheckpointResponse>, Status> {
        let caller = self.core.context.auth.caller(&request)?;
        let req = request.into_inner();
        caller.require_any(&CHECKPOINT_READERS)?;
        if self.core.anchor.signer().is_none() {
            Err(ApiError::FailedPrecondition(
                "no audit checkpoint key is configured (--audit-checkpoint-key)".into(),
            ))?;
        }
        if let Some(proto) = &req.witnessed_checkpoint {
            let presented = anchor::from_proto(&self.core, "witnessed_checkpoint", proto)?;
            self.core.anchor.remember_presented(&presented);
        }
        let newest = anchor::newest_for_witnesses(&self.core).await?;
        Ok(Response::new(GetAuditCheckpointResponse {
            checkpoint: newest.as_ref().map(anchor::to_proto),
        }))
    }
}
