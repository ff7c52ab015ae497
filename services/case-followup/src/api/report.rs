//! gRPC handlers of `pingan.followup.v1.FollowupAnalysisService` (the command room's follow-up
//! report): decode, validate (every bad field named), authorize, count, map.

use std::sync::Arc;

use pingan_platform::auth::{Jurisdiction, Role};
use pingan_platform::time::from_timestamp;
use pingan_platform::{ApiError, FieldViolations};
use pingan_proto::followup::v1::followup_analysis_service_server::{
    FollowupAnalysisService, FollowupAnalysisServiceServer,
};
use pingan_proto::followup::v1::{FollowUpReportRequest, FollowUpReportResponse};
use tonic::{Request, Response, Status};

use crate::Core;
use crate::app::report::ReportStations;
use crate::domain::report::{self, Span};

/// Roles that read the analysis: the command room and the bureau's units see every station,
/// a station's officers their jurisdiction (as the other reports).
pub const ANALYSTS: &[Role] = &[
    Role::CommandCenter,
    Role::Dispatcher,
    Role::StationOfficer,
    Role::Inspector,
    Role::Service,
    Role::Admin,
];

/// Handlers of the follow-up analysis service.
#[derive(Debug, Clone)]
pub struct FollowupAnalysisApi {
    core: Arc<Core>,
}

impl FollowupAnalysisApi {
    /// Handlers over the service's core.
    pub fn new(core: Arc<Core>) -> Self {
        Self { core }
    }
}

/// The tonic service, ready to mount next to `CaseFollowupService`.
pub fn server(core: Arc<Core>) -> FollowupAnalysisServiceServer<FollowupAnalysisApi> {
    FollowupAnalysisServiceServer::new(FollowupAnalysisApi::new(core))
}

fn span(req: &FollowUpReportRequest) -> Result<Span, ApiError> {
    let mut v = FieldViolations::default();
    let range = req.period.unwrap_or_default();
    let start = range.start.as_ref().and_then(from_timestamp);
    let end = range.end.as_ref().and_then(from_timestamp);
    if start.is_none() {
        v.add("period.start", "must be a valid timestamp");
    }
    if end.is_none() {
        v.add("period.end", "must be a valid timestamp");
    }
    if let (Some(s), Some(e)) = (start, end) {
        if e <= s {
            v.add("period.end", "must be after period.start");
        } else if !report::period_ok((s, e)) {
            v.add(
                "period",
                format!("must span at most {} days", report::MAX_PERIOD_DAYS),
            );
        }
    }
    v.require_max_chars("station_id", &req.station_id, 128);
    v.finish()?;
    match (start, end) {
        (Some(start), Some(end)) => Ok((start, end)),
        _ => Err(ApiError::internal("request checked without violations")),
    }
}

#[tonic::async_trait]
impl FollowupAnalysisService for FollowupAnalysisApi {
    async fn follow_up_report(
        &self,
        request: Request<FollowUpReportRequest>,
    ) -> Result<Response<FollowUpReportResponse>, Status> {
        let caller = self.core.context.auth.caller(&request)?;
        let req = request.into_inner();
        let span = span(&req)?;
        caller.require_any(ANALYSTS)?;
        let stations = if req.station_id.is_empty() {
            match &caller.jurisdiction {
                Jurisdiction::Bureau => ReportStations::All,
                Jurisdiction::Stations(own) => ReportStations::Only(own.clone()),
            }
        } else {
            caller.require_station(&req.station_id)?;
            ReportStations::Only([req.station_id.clone()].into())
        };
        let response = self.core.follow_up_report(&stations, span).await?;
        Ok(Response::new(response))
    }
}
