//! gRPC handlers of `pingan.dispatch.v1.DispatchService`: decode → validate → authorize → a use
//! case of `app` → map errors. The trait impl is here; the handlers are in `dispatches`,
//! `units`, `positions` and `drones`.

use std::sync::Arc;

use pingan_platform::auth::{Caller, Role};
use pingan_platform::{ApiError, FieldViolations, ServiceContext};
use pingan_proto::dispatch::v1::dispatch_service_server::DispatchService;
use pingan_proto::dispatch::v1::*;
use tonic::{Request, Response, Status, Streaming};

pub mod analysis;
mod dispatches;
mod drones;
mod position_auth;
mod positions;
pub mod service_calls;
pub(crate) mod units;

use crate::app::Runtime;
use crate::app::board::BoardStream;
use crate::domain::{self, AssignmentAction};

/// Who may open, assign and close dispatches.
pub(crate) const COMMAND: &[Role] = &[
    Role::Dispatcher,
    Role::CommandCenter,
    Role::Admin,
    Role::Service,
];
/// Who may report a unit's own steps.
pub(crate) const UNIT_STEP: &[Role] = &[
    Role::Dispatcher,
    Role::CommandCenter,
    Role::StationOfficer,
    Role::VillageOfficer,
    Role::Admin,
    Role::Service,
];
/// Who may read dispatches, units and the board.
pub(crate) const READ: &[Role] = &[
    Role::Dispatcher,
    Role::CommandCenter,
    Role::StationOfficer,
    Role::VillageOfficer,
    Role::Inspector,
    Role::LegalUnit,
    Role::Admin,
    Role::Service,
];

/// Handlers of the dispatch service.
#[derive(Debug, Clone)]
pub struct DispatchApi {
    pub(crate) runtime: Arc<Runtime>,
}

impl DispatchApi {
    /// Handlers over the service instance's runtime (shared with its workers).
    pub fn new(runtime: Arc<Runtime>) -> Self {
        Self { runtime }
    }

    pub(crate) fn context(&self) -> &ServiceContext {
        &self.runtime.context
    }
}

/// PERMISSION_DENIED unless the caller sees the dispatch's station or `unit_station`.
pub(crate) fn require_dispatch_visible(
    caller: &Caller,
    dispatch: &Dispatch,
    unit_station: Option<&str>,
) -> Result<(), ApiError> {
    if caller.can_see_station(&dispatch.station_id)
        || unit_station.is_some_and(|s| caller.can_see_station(s))
    {
        Ok(())
    } else {
        Err(ApiError::PermissionDenied(format!(
            "dispatch {} is outside the caller's jurisdiction",
            dispatch.dispatch_id
        )))
    }
}

/// Capabilities checked against the catalogue and normalised; each unknown one is named as
/// `field[i]`.
pub(crate) fn catalogue_capabilities(
    violations: &mut FieldViolations,
    field: &str,
    values: &[String],
) -> Vec<String> {
    domain::catalogue_capabilities(values).unwrap_or_else(|unknown| {
        for (i, reason) in unknown {
            violations.add(&format!("{field}[{i}]"), reason);
        }
        Vec::new()
    })
}

pub(super) fn require_ids(dispatch_id: &str, unit_id: Option<&str>) -> Result<(), ApiError> {
    let mut violations = FieldViolations::default();
    violations.require_non_empty("dispatch_id", dispatch_id);
    if let Some(unit_id) = unit_id {
        violations.require_non_empty("unit_id", unit_id);
    }
    violations.finish()
}

#[tonic::async_trait]
impl DispatchService for DispatchApi {
    async fn register_unit(
        &self,
        request: Request<RegisterUnitRequest>,
    ) -> Result<Response<RegisterUnitResponse>, Status> {
        Ok(Response::new(self.register_unit_checked(request).await?))
    }

    async fn set_unit_status(
        &self,
        request: Request<SetUnitStatusRequest>,
    ) -> Result<Response<SetUnitStatusResponse>, Status> {
        Ok(Response::new(self.set_unit_status_checked(request).await?))
    }

    async fn list_units(
        &self,
        request: Request<ListUnitsRequest>,
    ) -> Result<Response<ListUnitsResponse>, Status> {
        Ok(Response::new(self.list_units_checked(request).await?))
    }

    async fn report_positions(
        &self,
        request: Request<Streaming<ReportPositionsRequest>>,
    ) -> Result<Response<ReportPositionsResponse>, Status> {
        Ok(Response::new(self.report_positions_checked(request).await?))
    }

    async fn update_position(
        &self,
        request: Request<UpdatePositionRequest>,
    ) -> Result<Response<UpdatePositionResponse>, Status> {
        Ok(Response::new(self.update_position_checked(request).await?))
    }

    async fn find_nearest_units(
        &self,
        request: Request<FindNearestUnitsRequest>,
    ) -> Result<Response<FindNearestUnitsResponse>, Status> {
        Ok(Response::new(self.find_nearest_checked(request).await?))
    }

    async fn open_dispatch(
        &self,
        request: Request<OpenDispatchRequest>,
    ) -> Result<Response<OpenDispatchResponse>, Status> {
        Ok(Response::new(self.open_checked(request).await?))
    }

    async fn assign(
        &self,
        request: Request<AssignRequest>,
    ) -> Result<Response<AssignResponse>, Status> {
        Ok(Response::new(self.assign_checked(request).await?))
    }

    async fn acknowledge(
        &self,
        request: Request<AcknowledgeRequest>,
    ) -> Result<Response<AcknowledgeResponse>, Status> {
        let caller = self.context().auth.caller(&request)?;
        let req = request.into_inner();
        let ids = (
            req.request_id.as_str(),
            req.dispatch_id.as_str(),
            req.unit_id.as_str(),
            req.note.as_str(),
        );
        let (assignment, dispatch) = self
            .unit_step(
                &caller,
                "Acknowledge",
                &req,
                ids,
                dispatches::Step {
                    action: AssignmentAction::Acknowledge,
                    location: None,
                    next_status: UnitStatus::Available,
                },
            )
            .await?;
        Ok(Response::new(AcknowledgeResponse {
            assignment: Some(assignment),
            dispatch: Some(dispatch),
        }))
    }

    async fn mark_en_route(
        &self,
        request: Request<MarkEnRouteRequest>,
    ) -> Result<Response<MarkEnRouteResponse>, Status> {
        let caller = self.context().auth.caller(&request)?;
        let req = request.into_inner();
        let ids = (
            req.request_id.as_str(),
            req.dispatch_id.as_str(),
            req.unit_id.as_str(),
            req.note.as_str(),
        );
        let (assignment, dispatch) = self
            .unit_step(
                &caller,
                "MarkEnRoute",
                &req,
                ids,
                dispatches::Step {
                    action: AssignmentAction::EnRoute,
                    location: req.location,
                    next_status: UnitStatus::Available,
                },
            )
            .await?;
        Ok(Response::new(MarkEnRouteResponse {
            assignment: Some(assignment),
            dispatch: Some(dispatch),
        }))
    }

    async fn mark_on_scene(
        &self,
        request: Request<MarkOnSceneRequest>,
    ) -> Result<Response<MarkOnSceneResponse>, Status> {
        let caller = self.context().auth.caller(&request)?;
        let req = request.into_inner();
        let ids = (
            req.request_id.as_str(),
            req.dispatch_id.as_str(),
            req.unit_id.as_str(),
            req.note.as_str(),
        );
        let (assignment, dispatch) = self
            .unit_step(
                &caller,
                "MarkOnScene",
                &req,
                ids,
                dispatches::Step {
                    action: AssignmentAction::OnScene,
                    location: req.location,
                    next_status: UnitStatus::Available,
                },
            )
            .await?;
        Ok(Response::new(MarkOnSceneResponse {
            assignment: Some(assignment),
            dispatch: Some(dispatch),
        }))
    }

    async fn clear_unit(
        &self,
        request: Request<ClearUnitRequest>,
    ) -> Result<Response<ClearUnitResponse>, Status> {
        let caller = self.context().auth.caller(&request)?;
        let req = request.into_inner();
        let next = match UnitStatus::try_from(req.next_status).unwrap_or_default() {
            UnitStatus::Unspecified | UnitStatus::Available => UnitStatus::Available,
            UnitStatus::Busy => UnitStatus::Busy,
            _ => Err(ApiError::invalid(
                "next_status",
                "must be AVAILABLE or BUSY",
            ))?,
        };
        let ids = (
            req.request_id.as_str(),
            req.dispatch_id.as_str(),
            req.unit_id.as_str(),
            req.note.as_str(),
        );
        let (assignment, dispatch) = self
            .unit_step(
                &caller,
                "ClearUnit",
                &req,
                ids,
                dispatches::Step {
                    action: AssignmentAction::Clear,
                    location: None,
                    next_status: next,
                },
            )
            .await?;
        Ok(Response::new(ClearUnitResponse {
            assignment: Some(assignment),
            dispatch: Some(dispatch),
        }))
    }

    async fn close_dispatch(
        &self,
        request: Request<CloseDispatchRequest>,
    ) -> Result<Response<CloseDispatchResponse>, Status> {
        Ok(Response::new(self.close_checked(request).await?))
    }

    async fn watch_board(
        &self,
        request: Request<WatchBoardRequest>,
    ) -> Result<Response<BoardStream>, Status> {
        Ok(Response::new(self.watch_board_checked(request).await?))
    }

    async fn get_dispatch(
        &self,
        request: Request<GetDispatchRequest>,
    ) -> Result<Response<GetDispatchResponse>, Status> {
        Ok(Response::new(self.get_checked(request).await?))
    }

    async fn list_dispatches(
        &self,
        request: Request<ListDispatchesRequest>,
    ) -> Result<Response<ListDispatchesResponse>, Status> {
        Ok(Response::new(self.list_checked(request).await?))
    }

    async fn get_dispatch_timeline(
        &self,
        request: Request<GetDispatchTimelineRequest>,
    ) -> Result<Response<GetDispatchTimelineResponse>, Status> {
        Ok(Response::new(self.timeline_checked(request).await?))
    }

    async fn log_flight(
        &self,
        request: Request<LogFlightRequest>,
    ) -> Result<Response<LogFlightResponse>, Status> {
        Ok(Response::new(self.log_flight_checked(request).await?))
    }

    async fn drone_stats(
        &self,
        request: Request<DroneStatsRequest>,
    ) -> Result<Response<DroneStatsResponse>, Status> {
        Ok(Response::new(self.drone_stats_checked(request).await?))
    }
}
