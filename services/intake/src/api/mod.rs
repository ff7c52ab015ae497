//! gRPC handlers of `pingan.intake.v1.IntakeService`: decode, validate, authorize, call a use
//! case of `app`, map its messages (`convert`, `listing`). Errors are typed `ApiError`s until
//! here and become a `Status` in one place, the `?` of each handler.

pub mod analysis;
mod convert;
pub mod exchange;
mod listing;
pub mod service_calls;

use pingan_platform::FieldViolations;
use pingan_platform::auth::Role;
use pingan_platform::clear_reads::{self, ClearRead, ClearReadReason};
use pingan_proto::intake::v1::intake_service_server::IntakeService;
use pingan_proto::intake::v1::{
    GetIncidentRequest, GetIncidentResponse, GetIncidentTimelineRequest,
    GetIncidentTimelineResponse, ListIncidentsRequest, ListIncidentsResponse,
    LocateIncidentRequest, LocateIncidentResponse, ReportCallRequest, ReportCallResponse,
};
use tonic::{Request, Response, Status};

use crate::app::Deps;
use crate::app::placing::{self, Placing};
use crate::app::reading::{IncidentView, Reading};
use crate::app::reporting::Reporting;
use crate::domain::validate;

/// Roles that report calls.
const REPORTERS: &[Role] = &[
    Role::Dispatcher,
    Role::CommandCenter,
    Role::CallIntegrator,
    Role::HotlineIntegrator,
    Role::StationOfficer,
    Role::Service,
    Role::Admin,
];
/// Roles that read incidents.
const READERS: &[Role] = &[
    Role::Dispatcher,
    Role::CommandCenter,
    Role::StationOfficer,
    Role::VillageOfficer,
    Role::Inspector,
    Role::LegalUnit,
    Role::CallIntegrator,
    Role::HotlineIntegrator,
    Role::Service,
    Role::Admin,
];
/// Roles that see the caller's number in clear (the call takers).
const PHONE_READERS: &[Role] = &[Role::Dispatcher, Role::CallIntegrator];

/// Handlers of the intake service.
#[derive(Debug, Clone)]
pub struct IntakeApi {
    deps: Deps,
    /// Whether call takers must give a reason to read callers' numbers (`--clear-read-reason`).
    clear_read_reason: ClearReadReason,
    reporting: Reporting,
    reading: Reading,
    placing: Placing,
}

impl IntakeApi {
    /// Handlers over the use cases' dependencies.
    pub fn new(deps: Deps) -> Self {
        Self {
            reporting: Reporting::new(&deps),
            reading: Reading::new(&deps),
            placing: Placing::new(&deps),
            deps,
            clear_read_reason: ClearReadReason::default(),
        }
    }

    /// The same handlers under the platform's clear-read policy.
    pub fn with_clear_read_reason(mut self, policy: ClearReadReason) -> Self {
        self.clear_read_reason = policy;
        self
    }
}

/// An incident message; the callers' numbers in clear only when `reveal`.
fn incident_message(
    deps: &Deps,
    view: &IncidentView,
    reveal: bool,
) -> pingan_proto::intake::v1::Incident {
    let keys = reveal.then_some(&deps.context.pii);
    convert::incident(&view.incident, &view.calls, view.linked.clone(), keys)
}

#[tonic::async_trait]
impl IntakeService for IntakeApi {
    #[tracing::instrument(skip_all, fields(channel = request.get_ref().channel, incident_id))]
    async fn report_call(
        &self,
        request: Request<ReportCallRequest>,
    ) -> Result<Response<ReportCallResponse>, Status> {
        let caller = self.deps.context.auth.caller(&request)?;
        caller.require_any(REPORTERS)?;
        self.deps.ready().await?;
        let req = request.into_inner();
        validate::report_call(&req, self.deps.context.clock.now())?;
        Ok(Response::new(self.reporting.report(&caller, &req).await?))
    }

    async fn get_incident(
        &self,
        request: Request<GetIncidentRequest>,
    ) -> Result<Response<GetIncidentResponse>, Status> {
        let caller = self.deps.context.auth.caller(&request)?;
        caller.require_any(READERS)?;
        self.deps.ready().await?;
        let req = request.into_inner();
        let mut v = FieldViolations::default();
        v.require_non_empty("incident_id", &req.incident_id);
        v.finish()?;
        let reveal = caller.has_any(PHONE_READERS);
        let reason = if reveal {
            clear_reads::reason(self.clear_read_reason, &req.reason)?
        } else {
            None
        };
        let view = self.reading.incident(&caller, &req.incident_id).await?;
        let mut incident = incident_message(&self.deps, &view, reveal);
        if reveal {
            let mut read = ClearRead::new("intake", "GetIncident", "incident", reason);
            let phones: Vec<(&'static str, &str)> = incident
                .calls
                .iter()
                .map(|c| ("calls.caller_phone", c.caller_phone.as_str()))
                .collect();
            read.show(&view.incident.station_id, &incident.incident_id, &phones);
            self.reading.record_clear_read(&caller, &read).await?;
        }
        exchange::attach_links(&self.deps, std::slice::from_mut(&mut incident)).await?;
        Ok(Response::new(GetIncidentResponse {
            incident: Some(incident),
        }))
    }

    async fn list_incidents(
        &self,
        request: Request<ListIncidentsRequest>,
    ) -> Result<Response<ListIncidentsResponse>, Status> {
        let caller = self.deps.context.auth.caller(&request)?;
        caller.require_any(READERS)?;
        self.deps.ready().await?;
        let req = request.into_inner();
        let Some((filter, page_size)) = listing::query(&caller, &req)? else {
            return Ok(Response::new(ListIncidentsResponse::default()));
        };
        let page = self.reading.list(filter, page_size).await?;
        let next_page_token = match (page.more, page.incidents.last()) {
            (true, Some(last)) => listing::page_token(&last.incident),
            _ => String::new(),
        };
        let mut incidents: Vec<_> = page
            .incidents
            .iter()
            .map(|view| incident_message(&self.deps, view, false))
            .collect();
        exchange::attach_links(&self.deps, &mut incidents).await?;
        Ok(Response::new(ListIncidentsResponse {
            incidents,
            next_page_token,
        }))
    }

    async fn get_incident_timeline(
        &self,
        request: Request<GetIncidentTimelineRequest>,
    ) -> Result<Response<GetIncidentTimelineResponse>, Status> {
        let caller = self.deps.context.auth.caller(&request)?;
        caller.require_any(READERS)?;
        self.deps.ready().await?;
        let req = request.into_inner();
        let mut v = FieldViolations::default();
        v.require_non_empty("incident_id", &req.incident_id);
        v.finish()?;
        let (incident_id, entries) = self.reading.timeline(&caller, &req.incident_id).await?;
        Ok(Response::new(GetIncidentTimelineResponse {
            incident_id,
            entries: entries.iter().map(convert::entry).collect(),
        }))
    }

    #[tracing::instrument(skip_all, fields(incident_id = %request.get_ref().incident_id))]
    async fn locate_incident(
        &self,
        request: Request<LocateIncidentRequest>,
    ) -> Result<Response<LocateIncidentResponse>, Status> {
        let caller = self.deps.context.auth.caller(&request)?;
        caller.require_any(placing::PLACERS)?;
        self.deps.ready().await?;
        let req = request.into_inner();
        placing::validate(&req)?;
        Ok(Response::new(self.placing.place(&caller, &req).await?))
    }
}
