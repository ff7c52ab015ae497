//! gRPC handlers of `pingan.followup.v1.CaseFollowupService`: decode → check the fields
//! (`check`) → authorise → call the use case on [`Core`] → map errors (`ApiError` → `Status`).
//! Responses stored for idempotent repeats never carry a clear phone or ID number; clear phones
//! are added afterwards, for roles allowed to see them.

mod check;
mod check_lostfound;
mod clear_reads;
pub mod report;
pub mod service_calls;

use std::sync::Arc;

use pingan_platform::ApiError;
use pingan_platform::auth::{Caller, Jurisdiction, Role};
use pingan_platform::clear_reads::{ClearRead, ClearReadReason};
use pingan_proto::followup::v1::case_followup_service_server::CaseFollowupService;
use pingan_proto::followup::v1::*;
use tonic::{Request, Response, Status};

use crate::Core;
use crate::domain::access::{FIELD_ROLES, READ_ROLES, resolve_station};
use crate::domain::revisit::validate_attempt;
use crate::store::{DueFilter, MatchFilter, Page};

/// Handlers of the case-followup service.
#[derive(Debug, Clone)]
pub struct CaseFollowupApi {
    core: Arc<Core>,
    /// Whether clear readers must give a reason (`--clear-read-reason`).
    clear_read_reason: ClearReadReason,
}

impl CaseFollowupApi {
    /// Handlers over the service's core.
    pub fn new(core: Arc<Core>) -> Self {
        Self {
            core,
            clear_read_reason: ClearReadReason::default(),
        }
    }

    /// The same handlers under the platform's clear-read policy.
    pub fn with_clear_read_reason(mut self, policy: ClearReadReason) -> Self {
        self.clear_read_reason = policy;
        self
    }

    /// The clear read `rpc` may be (see [`clear_reads::start`]).
    fn clear_read(
        &self,
        caller: &Caller,
        rpc: &str,
        resource_type: &str,
        reason: &str,
    ) -> Result<Option<ClearRead>, ApiError> {
        clear_reads::start(self.clear_read_reason, caller, rpc, resource_type, reason)
    }

    /// Audits what `read` showed in clear, after `show` noted it (nothing for a masked read).
    async fn audit_clear_read(
        &self,
        caller: &Caller,
        read: Option<ClearRead>,
        show: impl FnOnce(&mut ClearRead),
    ) -> Result<(), ApiError> {
        let Some(mut read) = read else {
            return Ok(());
        };
        show(&mut read);
        self.core.record_clear_read(caller, &read).await
    }

    fn caller<T>(&self, request: &Request<T>) -> Result<Caller, ApiError> {
        self.core.context.auth.caller(request)
    }
}

/// The next page token when a full page was returned.
pub(crate) fn next_token(returned: usize, page: Page) -> String {
    if i64::try_from(returned).unwrap_or(0) == page.limit {
        (page.offset + page.limit).to_string()
    } else {
        String::new()
    }
}

/// The stations a statistics request covers (empty: the whole bureau).
fn stats_stations(caller: &Caller, requested: &[String]) -> Result<Vec<String>, ApiError> {
    for station in requested {
        caller.require_station(station)?;
    }
    Ok(match (&caller.jurisdiction, requested.is_empty()) {
        (_, false) => requested.to_vec(),
        (Jurisdiction::Bureau, true) => Vec::new(),
        (Jurisdiction::Stations(own), true) => own.iter().cloned().collect(),
    })
}

#[tonic::async_trait]
impl CaseFollowupService for CaseFollowupApi {
    async fn open_mediation(
        &self,
        request: Request<OpenMediationRequest>,
    ) -> Result<Response<OpenMediationResponse>, Status> {
        let caller = self.caller(&request)?;
        let req = request.into_inner();
        let started_at = check::open_mediation(&req, self.core.now())?;
        caller.require_any(FIELD_ROLES)?;
        let station_id = resolve_station(&caller, &req.station_id)?;
        if station_id.is_empty() {
            return Err(ApiError::invalid("station_id", "must not be empty").into());
        }
        let response = self
            .core
            .open_mediation(&caller, &req, station_id, started_at)
            .await?;
        Ok(Response::new(response))
    }

    async fn record_mediation_outcome(
        &self,
        request: Request<RecordMediationOutcomeRequest>,
    ) -> Result<Response<RecordMediationOutcomeResponse>, Status> {
        let caller = self.caller(&request)?;
        let req = request.into_inner();
        let concluded_at = check::record_mediation_outcome(&req, self.core.now())?;
        caller.require_any(FIELD_ROLES)?;
        let response = self
            .core
            .record_mediation_outcome(&caller, &req, concluded_at)
            .await?;
        Ok(Response::new(response))
    }

    async fn list_due_revisits(
        &self,
        request: Request<ListDueRevisitsRequest>,
    ) -> Result<Response<ListDueRevisitsResponse>, Status> {
        let caller = self.caller(&request)?;
        let req = request.into_inner();
        let now = self.core.now();
        let (page, due_before) = check::list_due_revisits(&req, now, &self.core.config)?;
        caller.require_any(READ_ROLES)?;
        let read = self.clear_read(&caller, "ListDueRevisits", "revisit", &req.reason)?;
        let filter = DueFilter {
            station_id: resolve_station(&caller, &req.station_id)?,
            grid_id: req.grid_id,
            officer_id: req.officer_id,
            due_before: if req.overdue_only {
                Some(due_before.map_or(now, |d| d.min(now)))
            } else {
                due_before
            },
        };
        let response = self.core.list_due_revisits(&caller, &filter, page).await?;
        self.audit_clear_read(&caller, read, |read| {
            response
                .revisits
                .iter()
                .for_each(|r| clear_reads::revisit(read, r));
        })
        .await?;
        Ok(Response::new(response))
    }

    async fn record_revisit(
        &self,
        request: Request<RecordRevisitRequest>,
    ) -> Result<Response<RecordRevisitResponse>, Status> {
        let caller = self.caller(&request)?;
        let req = request.into_inner();
        let performed_at = validate_attempt(&req, self.core.now())?;
        caller.require_any(FIELD_ROLES)?;
        let read = self.clear_read(&caller, "RecordRevisit", "revisit", &req.reason)?;
        let response = self
            .core
            .record_revisit(&caller, &req, performed_at)
            .await?;
        self.audit_clear_read(&caller, read, |read| {
            response
                .revisit
                .iter()
                .chain(response.next_revisit.iter())
                .for_each(|r| clear_reads::revisit(read, r));
        })
        .await?;
        Ok(Response::new(response))
    }

    async fn register_found_item(
        &self,
        request: Request<RegisterFoundItemRequest>,
    ) -> Result<Response<RegisterFoundItemResponse>, Status> {
        let caller = self.caller(&request)?;
        let req = request.into_inner();
        let found_at = check_lostfound::register_found_item(&req, self.core.now())?;
        caller.require_any(FIELD_ROLES)?;
        let station = req.custody.as_ref().map(|c| c.station_id.as_str());
        caller.require_station(station.unwrap_or_default())?;
        let read = self.clear_read(&caller, "RegisterFoundItem", "found_item", &req.reason)?;
        let response = self
            .core
            .register_found_item(&caller, &req, found_at)
            .await?;
        self.audit_clear_read(&caller, read, |read| {
            response
                .found_item
                .iter()
                .for_each(|item| clear_reads::found_item(read, item));
        })
        .await?;
        Ok(Response::new(response))
    }

    async fn register_lost_report(
        &self,
        request: Request<RegisterLostReportRequest>,
    ) -> Result<Response<RegisterLostReportResponse>, Status> {
        let caller = self.caller(&request)?;
        let req = request.into_inner();
        check_lostfound::register_lost_report(&req, self.core.now())?;
        caller.require_any(FIELD_ROLES)?;
        caller.require_station(&req.station_id)?;
        let response = self.core.register_lost_report(&caller, &req).await?;
        Ok(Response::new(response))
    }

    async fn list_matches(
        &self,
        request: Request<ListMatchesRequest>,
    ) -> Result<Response<ListMatchesResponse>, Status> {
        let caller = self.caller(&request)?;
        let req = request.into_inner();
        let page = check_lostfound::list_matches(&req, &self.core.config)?;
        caller.require_any(READ_ROLES)?;
        let filter = MatchFilter {
            station_id: resolve_station(&caller, &req.station_id)?,
            found_item_id: req.found_item_id,
            lost_report_id: req.lost_report_id,
            min_score: req.min_score,
        };
        Ok(Response::new(self.core.list_matches(&filter, page).await?))
    }

    async fn mark_owner_contacted(
        &self,
        request: Request<MarkOwnerContactedRequest>,
    ) -> Result<Response<MarkOwnerContactedResponse>, Status> {
        let caller = self.caller(&request)?;
        let req = request.into_inner();
        let contacted_at = check_lostfound::mark_owner_contacted(&req, self.core.now())?;
        caller.require_any(FIELD_ROLES)?;
        let read = self.clear_read(&caller, "MarkOwnerContacted", "found_item", &req.reason)?;
        let response = self
            .core
            .mark_owner_contacted(&caller, &req, contacted_at)
            .await?;
        self.audit_clear_read(&caller, read, |read| {
            response
                .found_item
                .iter()
                .for_each(|item| clear_reads::found_item(read, item));
        })
        .await?;
        Ok(Response::new(response))
    }

    async fn mark_returned(
        &self,
        request: Request<MarkReturnedRequest>,
    ) -> Result<Response<MarkReturnedResponse>, Status> {
        let caller = self.caller(&request)?;
        let req = request.into_inner();
        let returned_at = check_lostfound::mark_returned(&req, self.core.now())?;
        caller.require_any(FIELD_ROLES)?;
        let read = self.clear_read(&caller, "MarkReturned", "found_item", &req.reason)?;
        let response = self.core.mark_returned(&caller, &req, returned_at).await?;
        self.audit_clear_read(&caller, read, |read| {
            response
                .found_item
                .iter()
                .for_each(|item| clear_reads::found_item(read, item));
            response
                .lost_report
                .iter()
                .for_each(|report| clear_reads::lost_report(read, report));
        })
        .await?;
        Ok(Response::new(response))
    }

    async fn followup_stats(
        &self,
        request: Request<FollowupStatsRequest>,
    ) -> Result<Response<FollowupStatsResponse>, Status> {
        let caller = self.caller(&request)?;
        let req = request.into_inner();
        let windows = check::followup_stats(&req)?;
        let mut roles = READ_ROLES.to_vec();
        roles.push(Role::Admin);
        caller.require_any(&roles)?;
        let stations = stats_stations(&caller, &req.station_ids)?;
        let response = self.core.followup_stats(&stations, &windows).await?;
        Ok(Response::new(response))
    }
}
