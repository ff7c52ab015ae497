//! gRPC handlers of `pingan.followup.v1.CaseFollowupService`: decode → validate → authorize →
//! domain → map errors. Responses stored for idempotent repeats never carry a clear phone or ID
//! number; clear phones are added afterwards, for roles allowed to see them.

mod lostfound;
mod mediation;
mod revisits;
mod stats;

use std::sync::Arc;

use pingan_platform::auth::{Caller, Jurisdiction, Role};
use pingan_platform::{ApiError, FieldViolations};
use pingan_proto::followup::v1::case_followup_service_server::CaseFollowupService;
use pingan_proto::followup::v1::*;
use tonic::{Request, Response, Status};

use crate::Core;

/// Roles that do follow-up work (mediate, revisit, register and return items).
pub(crate) const FIELD_ROLES: &[Role] = &[
    Role::StationOfficer,
    Role::VillageOfficer,
    Role::Dispatcher,
    Role::CommandCenter,
];
/// Roles that may read follow-up records (phones masked unless also a field role).
pub(crate) const READ_ROLES: &[Role] = &[
    Role::StationOfficer,
    Role::VillageOfficer,
    Role::Dispatcher,
    Role::CommandCenter,
    Role::GridWorker,
    Role::Inspector,
];
/// Default and largest page sizes.
const DEFAULT_PAGE: i64 = 50;
const MAX_PAGE: i64 = 500;

/// Handlers of the case-followup service.
#[derive(Debug, Clone)]
pub struct CaseFollowupApi {
    core: Arc<Core>,
}

impl CaseFollowupApi {
    /// Handlers over the service's core.
    pub fn new(core: Arc<Core>) -> Self {
        Self { core }
    }
}

/// True when the caller may see phone numbers in clear.
pub(crate) fn sees_phones(caller: &Caller) -> bool {
    caller.has_any(FIELD_ROLES)
}

/// The station a listing is restricted to: the requested one (checked), any for bureau-wide
/// callers, or the caller's only station.
pub(crate) fn resolve_station(caller: &Caller, requested: &str) -> Result<String, ApiError> {
    if !requested.is_empty() {
        caller.require_station(requested)?;
        return Ok(requested.to_owned());
    }
    match &caller.jurisdiction {
        Jurisdiction::Bureau => Ok(String::new()),
        Jurisdiction::Stations(stations) if stations.len() == 1 => {
            Ok(stations.iter().next().cloned().unwrap_or_default())
        }
        Jurisdiction::Stations(_) => Err(ApiError::invalid(
            "station_id",
            "must be set: the caller acts for several stations (or none)",
        )),
    }
}

/// Page size and offset from a request's `page_size` and `page_token`.
pub(crate) fn page(
    violations: &mut FieldViolations,
    page_size: i32,
    page_token: &str,
) -> (i64, i64) {
    let size = match i64::from(page_size) {
        0 => DEFAULT_PAGE,
        n if n < 0 => {
            violations.add("page_size", "must not be negative");
            DEFAULT_PAGE
        }
        n => n.min(MAX_PAGE),
    };
    let offset = if page_token.is_empty() {
        0
    } else {
        match page_token.parse::<i64>() {
            Ok(n) if n >= 0 => n,
            _ => {
                violations.add("page_token", "is not a token from a previous response");
                0
            }
        }
    };
    (size, offset)
}

/// The next page token when a full page was returned.
pub(crate) fn next_token(returned: usize, size: i64, offset: i64) -> String {
    if i64::try_from(returned).unwrap_or(0) == size {
        (offset + size).to_string()
    } else {
        String::new()
    }
}

/// Checks a phone number given in clear (digits, optional +, spaces and dashes; 5..20 digits).
pub(crate) fn check_phone(violations: &mut FieldViolations, field: &str, phone: &str) {
    let digits = phone.chars().filter(char::is_ascii_digit).count();
    let allowed = phone
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | ' ' | '(' | ')'));
    if !allowed || !(5..=20).contains(&digits) {
        violations.add(field, "must be a phone number");
    }
}

#[tonic::async_trait]
impl CaseFollowupService for CaseFollowupApi {
    async fn open_mediation(
        &self,
        request: Request<OpenMediationRequest>,
    ) -> Result<Response<OpenMediationResponse>, Status> {
        Ok(Response::new(self.open_mediation_checked(request).await?))
    }

    async fn record_mediation_outcome(
        &self,
        request: Request<RecordMediationOutcomeRequest>,
    ) -> Result<Response<RecordMediationOutcomeResponse>, Status> {
        Ok(Response::new(
            self.record_mediation_outcome_checked(request).await?,
        ))
    }

    async fn list_due_revisits(
        &self,
        request: Request<ListDueRevisitsRequest>,
    ) -> Result<Response<ListDueRevisitsResponse>, Status> {
        Ok(Response::new(
            self.list_due_revisits_checked(request).await?,
        ))
    }

    async fn record_revisit(
        &self,
        request: Request<RecordRevisitRequest>,
    ) -> Result<Response<RecordRevisitResponse>, Status> {
        Ok(Response::new(self.record_revisit_checked(request).await?))
    }

    async fn register_found_item(
        &self,
        request: Request<RegisterFoundItemRequest>,
    ) -> Result<Response<RegisterFoundItemResponse>, Status> {
        Ok(Response::new(
            self.register_found_item_checked(request).await?,
        ))
    }

    async fn register_lost_report(
        &self,
        request: Request<RegisterLostReportRequest>,
    ) -> Result<Response<RegisterLostReportResponse>, Status> {
        Ok(Response::new(
            self.register_lost_report_checked(request).await?,
        ))
    }

    async fn list_matches(
        &self,
        request: Request<ListMatchesRequest>,
    ) -> Result<Response<ListMatchesResponse>, Status> {
        Ok(Response::new(self.list_matches_checked(request).await?))
    }

    async fn mark_owner_contacted(
        &self,
        request: Request<MarkOwnerContactedRequest>,
    ) -> Result<Response<MarkOwnerContactedResponse>, Status> {
        Ok(Response::new(
            self.mark_owner_contacted_checked(request).await?,
        ))
    }

    async fn mark_returned(
        &self,
        request: Request<MarkReturnedRequest>,
    ) -> Result<Response<MarkReturnedResponse>, Status> {
        Ok(Response::new(self.mark_returned_checked(request).await?))
    }

    async fn followup_stats(
        &self,
        request: Request<FollowupStatsRequest>,
    ) -> Result<Response<FollowupStatsResponse>, Status> {
        Ok(Response::new(self.followup_stats_checked(request).await?))
    }
}
