//! gRPC handlers of `pingan.dispatch.v1.DispatchAnalysisService` (the command room's
//! response-time report): decode, validate (every bad field named), authorize, report, map.

use std::sync::Arc;

use chrono::Duration;
use pingan_platform::auth::Role;
use pingan_platform::time::{from_timestamp, to_timestamp};
use pingan_platform::{ApiError, FieldViolations};
use pingan_proto::common::v1::{Priority, TimeRange};
use pingan_proto::dispatch::v1::dispatch_analysis_service_server::DispatchAnalysisService;
use pingan_proto::dispatch::v1::{
    ResponseBreach, ResponseMeasure, ResponseTimeReportRequest, ResponseTimeReportResponse,
    ResponseTimeRow,
};
use tonic::{Request, Response, Status};

use crate::app::Runtime;
use crate::app::analysis::{self, ReportScope};
use crate::domain::analysis::{DEFAULT_TARGET_SECS, Measure};

/// Roles that read the analysis: the command room and the bureau's units see every station,
/// a station's officers their jurisdiction.
pub const ANALYSTS: &[Role] = &[
    Role::CommandCenter,
    Role::Dispatcher,
    Role::StationOfficer,
    Role::Inspector,
    Role::Service,
    Role::Admin,
];

/// Longest period a report covers.
const MAX_PERIOD_DAYS: i64 = 366;
/// Breaches listed when the request names no limit.
const DEFAULT_BREACHES: i32 = 100;

/// Handlers of the dispatch analysis service.
#[derive(Debug, Clone)]
pub struct DispatchAnalysisApi {
    runtime: Arc<Runtime>,
}

impl DispatchAnalysisApi {
    /// Handlers over the service instance's runtime.
    pub fn new(runtime: Arc<Runtime>) -> Self {
        analysis::register_metrics();
        Self { runtime }
    }
}

fn duration(d: Duration) -> prost_types::Duration {
    let nanos = d.subsec_nanos();
    prost_types::Duration {
        seconds: d.num_seconds(),
        nanos,
    }
}

fn measure(m: &Measure) -> ResponseMeasure {
    ResponseMeasure {
        count: m.count,
        p50: m.p50.map(duration),
        p90: m.p90.map(duration),
        within_target: m.within_target,
        share_within_target: m.share_within_target,
    }
}

fn scope(req: &ResponseTimeReportRequest) -> Result<ReportScope, ApiError> {
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
    if let (Some(s), Some(e)) = (start, end)
        && (e <= s || e - s > Duration::days(MAX_PERIOD_DAYS))
    {
        v.add(
            "period",
            format!("must end after it starts and span at most {MAX_PERIOD_DAYS} days"),
        );
    }
    v.require_max_chars("station_id", &req.station_id, 128);
    for (i, p) in req.priorities.iter().enumerate() {
        if matches!(Priority::try_from(*p), Err(_) | Ok(Priority::Unspecified)) {
            v.add(
                &format!("priorities[{i}]"),
                "must be PRIORITY_P1..PRIORITY_P4",
            );
        }
    }
    let target = match &req.target {
        None => Some(Duration::seconds(DEFAULT_TARGET_SECS)),
        Some(t) => crate::domain::from_duration(t)
            .filter(|d| !d.is_zero())
            .and_then(|d| Duration::from_std(d).ok()),
    };
    if target.is_none() {
        v.add("target", "must be positive");
    }
    if !(0..=1000).contains(&req.breach_limit) {
        v.add("breach_limit", "must be between 0 and 1000");
    }
    v.finish()?;
    match (start, end, target) {
        (Some(start), Some(end), Some(target)) => Ok(ReportScope {
            start,
            end,
            station_id: req.station_id.clone(),
            priorities: req.priorities.clone(),
            target,
        }),
        _ => Err(ApiError::internal("request checked without violations")),
    }
}

#[tonic::async_trait]
impl DispatchAnalysisService for DispatchAnalysisApi {
    async fn response_time_report(
        &self,
        request: Request<ResponseTimeReportRequest>,
    ) -> Result<Response<ResponseTimeReportResponse>, Status> {
        let caller = self.runtime.context.auth.caller(&request)?;
        caller.require_any(ANALYSTS)?;
        let req = request.into_inner();
        let scope = scope(&req)?;
        let (rows, breaches) = analysis::report(&self.runtime, &caller, &scope).await?;
        let limit = if req.breach_limit == 0 {
            DEFAULT_BREACHES
        } else {
            req.breach_limit
        };
        Ok(Response::new(ResponseTimeReportResponse {
            period: Some(TimeRange {
                start: Some(to_timestamp(scope.start)),
                end: Some(to_timestamp(scope.end)),
            }),
            target: Some(duration(scope.target)),
            rows: rows
                .iter()
                .map(|r| ResponseTimeRow {
                    station_id: r.station_id.clone(),
                    priority: r.priority,
                    dispatches: r.dispatches,
                    ring_to_assigned: Some(measure(&r.ring_to_assigned)),
                    ring_to_on_scene: Some(measure(&r.ring_to_on_scene)),
                    breaches: r.breaches,
                })
                .collect(),
            total_breaches: breaches.len() as i64,
            breaches: breaches
                .iter()
                .take(usize::try_from(limit).unwrap_or(100))
                .map(|b| ResponseBreach {
                    dispatch_id: b.clocks.dispatch_id.clone(),
                    incident_id: b.clocks.incident_id.clone(),
                    station_id: b.clocks.station_id.clone(),
                    priority: b.clocks.priority,
                    rang_at: Some(to_timestamp(b.clocks.rang_at)),
                    ring_to_assigned: b.ring_to_assigned.map(duration),
                    ring_to_on_scene: b.ring_to_on_scene.map(duration),
                    over_by: Some(duration(b.over_by)),
                })
                .collect(),
        }))
    }
}
