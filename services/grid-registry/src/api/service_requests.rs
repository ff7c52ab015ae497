//! gRPC edge of `pingan.grid.v1.ServiceRequestService` (非警务服务事项): decode, validate (field
//! violations), authorise (police roles change requests, only in their stations; reads are
//! scoped to the caller's jurisdiction like ListNeeds), call the use case, present.

use pingan_platform::auth::{Caller, Role};
use pingan_platform::clear_reads::ClearRead;
use pingan_platform::{ApiError, FieldViolations};
use pingan_proto::grid::v1 as pb;
use pingan_proto::grid::v1::service_request_service_server::ServiceRequestService;
use prost_types::Timestamp;
use tonic::{Request, Response, Status};

use super::service_convert::{event, present, report_row, type_spec};
use super::validate::{
    check_phone, optional_enum, paged, period, probe, require_enum, strict_page,
};
use super::{GridRegistryApi, Rpc, ok};
use crate::app::scope;
use crate::domain::Millis;
use crate::domain::service_request::ServiceRequest;
use crate::store::ServiceRequestFilter;

/// Roles that serve applicants: police of the station (and administrators, services).
const SERVICE_DESK: [Role; 4] = [
    Role::Admin,
    Role::StationOfficer,
    Role::VillageOfficer,
    Role::Service,
];

const PAGE_DEFAULT: i64 = 50;
const PAGE_MAX: i64 = 500;
/// How far ahead of the server's clock a given time may be (device clocks drift).
const SKEW_MS: i64 = 3_600_000;

/// Handlers of the service request service (sharing the registry's use cases).
#[derive(Debug, Clone)]
pub struct ServiceRequestApi {
    grid: GridRegistryApi,
}

impl GridRegistryApi {
    /// The service request handlers over the same use cases.
    pub fn service_requests(&self) -> ServiceRequestApi {
        ServiceRequestApi { grid: self.clone() }
    }
}

/// An optional time not in the future: `now` when absent.
fn when(v: &mut FieldViolations, field: &str, t: Option<&Timestamp>, now: Millis) -> Millis {
    let Some(t) = t else {
        return now;
    };
    match pingan_platform::time::from_timestamp(t) {
        Some(at) if at.timestamp_millis() <= now + SKEW_MS => at.timestamp_millis(),
        Some(_) => {
            v.add(field, "must not be in the future");
            now
        }
        None => {
            v.add(field, "is not a valid time");
            now
        }
    }
}

/// Notes a request shown with the applicant's phone in clear.
fn show_applicant(read: &mut ClearRead, shown: &pb::ServiceRequest) {
    read.show(
        &shown.station_id,
        &shown.service_request_id,
        &[("applicant_phone", &shown.applicant_phone)],
    );
}

/// The fields every step names.
fn step_fields(v: &mut FieldViolations, request_id: &str, service_request_id: &str) {
    v.require_non_empty("request_id", request_id);
    v.require_max_chars("request_id", request_id, 128);
    v.require_non_empty("service_request_id", service_request_id);
}

impl ServiceRequestApi {
    /// Recounts the overdue requests for the gauge.
    pub async fn refresh_overdue_gauge(&self) -> Result<(), ApiError> {
        self.grid.app.refresh_overdue_gauge().await
    }

    fn caller<T>(&self, r: &Request<T>) -> Result<Caller, ApiError> {
        self.grid.caller(r)
    }

    fn reader<T>(&self, r: &Request<T>) -> Result<Caller, ApiError> {
        self.grid.reader(r)
    }

    /// The clear read `rpc` of service requests may be (see [`GridRegistryApi`]).
    fn clear_read(
        &self,
        caller: &Caller,
        rpc: &str,
        reason: &str,
    ) -> Result<Option<ClearRead>, ApiError> {
        self.grid.clear_read(caller, rpc, "service_request", reason)
    }

    /// A request as read, the phone in clear for the roles allowed.
    fn read(&self, caller: &Caller, r: &ServiceRequest) -> pb::ServiceRequest {
        let mut out = present(r, self.grid.app.now());
        out.applicant_phone = self
            .grid
            .presenter(caller, &r.station_id)
            .phone(&r.applicant_phone);
        out
    }

    async fn open(
        &self,
        request: Request<pb::OpenServiceRequestRequest>,
    ) -> Result<pb::OpenServiceRequestResponse, ApiError> {
        let caller = self.caller(&request)?;
        let r = request.into_inner();
        let mut v = FieldViolations::default();
        v.require_non_empty("request_id", &r.request_id);
        v.require_max_chars("request_id", &r.request_id, 128);
        v.require_non_empty("station_id", &r.station_id);
        require_enum::<pb::ServiceRequestType>(&mut v, "type", r.r#type);
        require_enum::<pb::ServiceRequestChannel>(&mut v, "channel", r.channel);
        if r.resident_id.is_empty() {
            v.require_non_empty("applicant_name", &r.applicant_name);
            v.require_non_empty("applicant_phone", &r.applicant_phone);
        }
        v.require_max_chars("applicant_name", &r.applicant_name, 100);
        check_phone(&mut v, "applicant_phone", &r.applicant_phone);
        v.require_max_chars("description", &r.description, 2000);
        let requested_at = when(
            &mut v,
            "requested_at",
            r.requested_at.as_ref(),
            self.grid.app.now(),
        );
        v.finish()?;
        caller.require_any(&SERVICE_DESK)?;
        self.grid
            .app
            .open_service_request(&caller, &r, requested_at)
            .await
    }

    async fn complete(
        &self,
        request: Request<pb::CompleteChecklistItemRequest>,
    ) -> Result<pb::CompleteChecklistItemResponse, ApiError> {
        let caller = self.caller(&request)?;
        let r = request.into_inner();
        let mut v = FieldViolations::default();
        step_fields(&mut v, &r.request_id, &r.service_request_id);
        v.require_non_empty("item_key", &r.item_key);
        v.require_max_chars("note", &r.note, 2000);
        v.finish()?;
        caller.require_any(&SERVICE_DESK)?;
        self.grid.app.complete_checklist_item(&caller, &r).await
    }

    async fn submit(
        &self,
        request: Request<pb::SubmitServiceRequestRequest>,
    ) -> Result<pb::SubmitServiceRequestResponse, ApiError> {
        let caller = self.caller(&request)?;
        let r = request.into_inner();
        let mut v = FieldViolations::default();
        step_fields(&mut v, &r.request_id, &r.service_request_id);
        v.require_max_chars("note", &r.note, 2000);
        let now = self.grid.app.now();
        let at = when(&mut v, "submitted_at", r.submitted_at.as_ref(), now);
        v.finish()?;
        caller.require_any(&SERVICE_DESK)?;
        self.grid.app.submit_service_request(&caller, &r, at).await
    }

    async fn close(
        &self,
        request: Request<pb::CloseServiceRequestRequest>,
    ) -> Result<pb::CloseServiceRequestResponse, ApiError> {
        let caller = self.caller(&request)?;
        let r = request.into_inner();
        let mut v = FieldViolations::default();
        step_fields(&mut v, &r.request_id, &r.service_request_id);
        require_enum::<pb::ServiceRequestOutcome>(&mut v, "outcome", r.outcome);
        if r.outcome == pb::ServiceRequestOutcome::Rejected as i32 {
            v.require_non_empty("note", &r.note);
        }
        v.require_max_chars("note", &r.note, 2000);
        let now = self.grid.app.now();
        let at = when(&mut v, "closed_at", r.closed_at.as_ref(), now);
        v.finish()?;
        caller.require_any(&SERVICE_DESK)?;
        self.grid.app.close_service_request(&caller, &r, at).await
    }

    async fn get(
        &self,
        request: Request<pb::GetServiceRequestRequest>,
    ) -> Result<pb::GetServiceRequestResponse, ApiError> {
        let caller = self.reader(&request)?;
        let r = request.into_inner();
        let mut v = FieldViolations::default();
        v.require_non_empty("service_request_id", &r.service_request_id);
        v.finish()?;
        let mut read = self.clear_read(&caller, "GetServiceRequest", &r.reason)?;
        let view = self
            .grid
            .app
            .service_request_view(&caller, &r.service_request_id)
            .await?;
        let shown = self.read(&caller, &view.request);
        if let Some(read) = read.as_mut() {
            show_applicant(read, &shown);
        }
        self.grid.audit_clear_read(&caller, read).await?;
        Ok(pb::GetServiceRequestResponse {
            service_request: Some(shown),
            history: view.history.iter().map(event).collect(),
        })
    }

    async fn list(
        &self,
        request: Request<pb::ListServiceRequestsRequest>,
    ) -> Result<pb::ListServiceRequestsResponse, ApiError> {
        let caller = self.reader(&request)?;
        let r = request.into_inner();
        let mut v = FieldViolations::default();
        let page = strict_page(&mut v, r.page_size, &r.page_token, PAGE_DEFAULT, PAGE_MAX);
        optional_enum::<pb::ServiceRequestType>(&mut v, "type", r.r#type);
        optional_enum::<pb::ServiceRequestStatus>(&mut v, "status", r.status);
        let (from, until) = period(&mut v, "period", r.period.as_ref());
        v.finish()?;
        if !r.station_id.is_empty() {
            caller.require_station(&r.station_id)?;
        }
        let mut read = self.clear_read(&caller, "ListServiceRequests", &r.reason)?;
        let filter = ServiceRequestFilter {
            scope: scope(&caller, &r.station_id, &r.grid_id, &r.officer_id),
            kind: r.r#type,
            status: r.status,
            overdue_at: r.overdue_only.then(|| self.grid.app.now()),
            from,
            until,
        };
        let found = self
            .grid
            .app
            .list_service_requests(&filter, probe(page))
            .await?;
        let (found, next_page_token) = paged(page, found);
        let service_requests: Vec<pb::ServiceRequest> =
            found.iter().map(|s| self.read(&caller, s)).collect();
        if let Some(read) = read.as_mut() {
            for shown in &service_requests {
                show_applicant(read, shown);
            }
        }
        self.grid.audit_clear_read(&caller, read).await?;
        Ok(pb::ListServiceRequestsResponse {
            service_requests,
            next_page_token,
        })
    }

    async fn report(
        &self,
        request: Request<pb::ServiceRequestReportRequest>,
    ) -> Result<pb::ServiceRequestReportResponse, ApiError> {
        let caller = self.reader(&request)?;
        let r = request.into_inner();
        let mut v = FieldViolations::default();
        optional_enum::<pb::ServiceRequestType>(&mut v, "type", r.r#type);
        let (from, until) = period(&mut v, "period", r.period.as_ref());
        v.finish()?;
        if !r.station_id.is_empty() {
            caller.require_station(&r.station_id)?;
        }
        let filter = ServiceRequestFilter {
            scope: scope(&caller, &r.station_id, "", ""),
            kind: r.r#type,
            from,
            until,
            ..ServiceRequestFilter::default()
        };
        let now = self.grid.app.now();
        let (rows, total) = self.grid.app.service_request_report(&filter, now).await?;
        Ok(pb::ServiceRequestReportResponse {
            rows: rows.iter().map(report_row).collect(),
            total: Some(report_row(&total)),
            as_of: super::convert::ts(now),
        })
    }
}

#[tonic::async_trait]
impl ServiceRequestService for ServiceRequestApi {
    async fn list_service_request_types(
        &self,
        r: Request<pb::ListServiceRequestTypesRequest>,
    ) -> Rpc<pb::ListServiceRequestTypesResponse> {
        self.caller(&r).map_err(Status::from)?;
        Ok(Response::new(pb::ListServiceRequestTypesResponse {
            types: self
                .grid
                .app
                .service_catalogue()
                .all()
                .map(type_spec)
                .collect(),
        }))
    }
    async fn open_service_request(
        &self,
        r: Request<pb::OpenServiceRequestRequest>,
    ) -> Rpc<pb::OpenServiceRequestResponse> {
        ok(self.open(r).await)
    }
    async fn complete_checklist_item(
        &self,
        r: Request<pb::CompleteChecklistItemRequest>,
    ) -> Rpc<pb::CompleteChecklistItemResponse> {
        ok(self.complete(r).await)
    }
    async fn submit_service_request(
        &self,
        r: Request<pb::SubmitServiceRequestRequest>,
    ) -> Rpc<pb::SubmitServiceRequestResponse> {
        ok(self.submit(r).await)
    }
    async fn close_service_request(
        &self,
        r: Request<pb::CloseServiceRequestRequest>,
    ) -> Rpc<pb::CloseServiceRequestResponse> {
        ok(self.close(r).await)
    }
    async fn get_service_request(
        &self,
        r: Request<pb::GetServiceRequestRequest>,
    ) -> Rpc<pb::GetServiceRequestResponse> {
        ok(self.get(r).await)
    }
    async fn list_service_requests(
        &self,
        r: Request<pb::ListServiceRequestsRequest>,
    ) -> Rpc<pb::ListServiceRequestsResponse> {
        ok(self.list(r).await)
    }
    async fn service_request_report(
        &self,
        r: Request<pb::ServiceRequestReportRequest>,
    ) -> Rpc<pb::ServiceRequestReportResponse> {
        ok(self.report(r).await)
    }
}
