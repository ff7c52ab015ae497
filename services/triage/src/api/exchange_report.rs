//! gRPC handlers of `pingan.triage.v1.TriageAnalysisService` (the command room's 12345 exchange
//! report): decode, validate (every bad field named), authorize, count, map.

use pingan_platform::auth::Role;
use pingan_platform::time::{from_timestamp, to_timestamp};
use pingan_platform::{ApiError, FieldViolations, ServiceContext};
use pingan_proto::common::v1::TimeRange;
use pingan_proto::triage::v1::triage_analysis_service_server::{
    TriageAnalysisService, TriageAnalysisServiceServer,
};
use pingan_proto::triage::v1::{
    ExchangeCounts, ExchangeGroupBy, ExchangeReportRequest, ExchangeReportResponse, ExchangeRow,
};
use tonic::{Request, Response, Status};

use crate::app::exchange_report::{self, Counts, ExchangeScope, GroupBy, Row};

/// Roles that read the exchange report: those that read the ledger (ListTransfers) for the
/// command room. The ledger has no station, so a station's officers are not among them.
pub const EXCHANGE_ANALYSTS: &[Role] = &[
    Role::CommandCenter,
    Role::Dispatcher,
    Role::Inspector,
    Role::Service,
    Role::Admin,
];

/// Handlers of the triage analysis service.
#[derive(Debug, Clone)]
pub struct TriageAnalysisApi {
    context: ServiceContext,
}

impl TriageAnalysisApi {
    /// Handlers over the service's context (its database and clock).
    pub fn new(context: ServiceContext) -> Self {
        Self { context }
    }
}

/// The tonic service, ready to mount next to `TriageService`.
pub fn server(context: ServiceContext) -> TriageAnalysisServiceServer<TriageAnalysisApi> {
    TriageAnalysisServiceServer::new(TriageAnalysisApi::new(context))
}

fn scope(req: &ExchangeReportRequest) -> Result<ExchangeScope, ApiError> {
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
        } else if !exchange_report::period_ok(s, e) {
            v.add(
                "period",
                format!(
                    "must span at most {} days",
                    exchange_report::MAX_PERIOD_DAYS
                ),
            );
        }
    }
    let group_by = match ExchangeGroupBy::try_from(req.group_by) {
        Ok(ExchangeGroupBy::Unspecified | ExchangeGroupBy::Department) => Some(GroupBy::Department),
        Ok(ExchangeGroupBy::Category) => Some(GroupBy::Category),
        Err(_) => {
            v.add(
                "group_by",
                "must be EXCHANGE_GROUP_BY_DEPARTMENT or EXCHANGE_GROUP_BY_CATEGORY",
            );
            None
        }
    };
    v.require_max_chars("department", &req.department, 200);
    let category = if req.category.is_empty() {
        String::new()
    } else {
        match pingan_catalogue::catalogue().and_then(|c| c.category(&req.category).map(|c| c.code))
        {
            Ok(code) => code.as_str().to_owned(),
            Err(_) => {
                v.add("category", "must be a category code of the catalogue");
                String::new()
            }
        }
    };
    v.finish()?;
    match (start, end, group_by) {
        (Some(start), Some(end), Some(group_by)) => Ok(ExchangeScope {
            start,
            end,
            group_by,
            department: req.department.trim().to_owned(),
            category,
        }),
        _ => Err(ApiError::internal("request checked without violations")),
    }
}

fn counts(c: &Counts) -> ExchangeCounts {
    ExchangeCounts {
        diverted: c.diverted,
        accepted: c.accepted,
        handled: c.handled,
        bounced: c.bounced,
        awaiting: c.awaiting,
        overdue: c.overdue,
        received: c.received,
        received_incidents: c.received_incidents,
        received_complaints: c.received_complaints,
        returned: c.returned,
        pushed_back: c.pushed_back,
        received_overdue: c.received_overdue,
    }
}

/// The Chinese name of a category code (the code itself when the catalogue has none).
fn category_name(code: &str) -> String {
    pingan_catalogue::catalogue()
        .ok()
        .and_then(|c| c.category(code).ok().map(|c| c.name.clone()))
        .unwrap_or_else(|| code.to_owned())
}

fn row(r: &Row, group_by: GroupBy) -> ExchangeRow {
    let label = match group_by {
        GroupBy::Category if !r.key.is_empty() => category_name(&r.key),
        _ => r.key.clone(),
    };
    ExchangeRow {
        key: r.key.clone(),
        label,
        current: Some(counts(&r.current)),
        previous: Some(counts(&r.previous)),
        change: Some(counts(&r.current.minus(&r.previous))),
    }
}

fn range(
    (start, end): (chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>),
) -> TimeRange {
    TimeRange {
        start: Some(to_timestamp(start)),
        end: Some(to_timestamp(end)),
    }
}

#[tonic::async_trait]
impl TriageAnalysisService for TriageAnalysisApi {
    async fn exchange_report(
        &self,
        request: Request<ExchangeReportRequest>,
    ) -> Result<Response<ExchangeReportResponse>, Status> {
        let caller = self.context.auth.caller(&request)?;
        let req = request.into_inner();
        let scope = scope(&req)?;
        caller.require_any(EXCHANGE_ANALYSTS)?;
        let as_of = self.context.clock.now();
        let report = exchange_report::report(&self.context.db, &scope, as_of).await?;
        Ok(Response::new(ExchangeReportResponse {
            period: Some(range((scope.start, scope.end))),
            previous_period: Some(range(scope.previous())),
            group_by: match scope.group_by {
                GroupBy::Department => ExchangeGroupBy::Department,
                GroupBy::Category => ExchangeGroupBy::Category,
            } as i32,
            as_of: Some(to_timestamp(as_of)),
            rows: report.rows.iter().map(|r| row(r, scope.group_by)).collect(),
            total: Some(row(&report.total, scope.group_by)),
        }))
    }
}
