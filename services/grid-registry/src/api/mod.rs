//! gRPC edge of `pingan.grid.v1.GridRegistryService`: each handler decodes, validates (field
//! violations), checks the caller's role, calls one use case of [`crate::app::Registry`] and
//! presents the records it returns; errors become `tonic::Status` in one place (`ok`).

mod convert;
mod grids;
mod inspections;
mod notebook;
mod outreach;
mod people;
mod reads;
pub mod service_calls;
pub(crate) mod service_convert;
mod service_requests;
mod validate;

use pingan_platform::auth::{Caller, Role};
use pingan_platform::clear_reads::{self, ClearRead, ClearReadReason, read_by_person};
use pingan_platform::{ApiError, ServiceContext};
use pingan_proto::grid::v1 as pb;
use pingan_proto::grid::v1::grid_registry_service_server::GridRegistryService;
use tonic::{Request, Response, Status};

use crate::app::Registry;
use crate::domain::access::{Visibility, reads_in_clear};
use convert::Presenter;

pub use service_requests::ServiceRequestApi;

/// Who reads the registry's records: the police who keep or use them. Integrators and devices
/// do not (the grid lookups of geography and the catalogues stay open to any caller).
const REGISTRY_READERS: [Role; 8] = [
    Role::Dispatcher,
    Role::CommandCenter,
    Role::StationOfficer,
    Role::VillageOfficer,
    Role::GridWorker,
    Role::Inspector,
    Role::Service,
    Role::Admin,
];

/// Handlers of the grid-registry service.
#[derive(Debug, Clone)]
pub struct GridRegistryApi {
    context: ServiceContext,
    app: Registry,
    /// Whether clear readers must give a reason (`--clear-read-reason`).
    clear_read_reason: ClearReadReason,
}

/// Roles that manage stations and grids.
const GRID_ADMINS: [Role; 3] = [Role::Admin, Role::CommandCenter, Role::StationOfficer];
/// Roles that keep the community registry and the notebook.
const REGISTRY_KEEPERS: [Role; 5] = [
    Role::Admin,
    Role::StationOfficer,
    Role::VillageOfficer,
    Role::GridWorker,
    Role::Service,
];

impl GridRegistryApi {
    /// Handlers over the service's storage.
    pub fn new(context: ServiceContext) -> Self {
        Self {
            app: Registry::new(context.clone()),
            context,
            clear_read_reason: ClearReadReason::default(),
        }
    }

    /// The same handlers under the platform's clear-read policy.
    pub fn with_clear_read_reason(mut self, policy: ClearReadReason) -> Self {
        self.clear_read_reason = policy;
        self
    }

    /// Loads the spatial index now rather than on the first call.
    pub async fn warm_up(&self) -> Result<usize, ApiError> {
        self.app.warm_up().await
    }

    /// Reloads the spatial index if another replica changed the grids; true when reloaded.
    pub async fn refresh_index(&self) -> Result<bool, ApiError> {
        self.app.refresh_index().await
    }

    fn caller<T>(&self, request: &Request<T>) -> Result<Caller, ApiError> {
        self.context.auth.caller(request)
    }

    /// The caller of a read of the registry's records (grids, needs, visits, premises,
    /// inspections, service requests): PERMISSION_DENIED unless one of [`REGISTRY_READERS`].
    fn reader<T>(&self, request: &Request<T>) -> Result<Caller, ApiError> {
        let caller = self.caller(request)?;
        caller.require_any(&REGISTRY_READERS)?;
        Ok(caller)
    }

    /// The clear read `rpc` of `resource_type` records may be for a person with clear access,
    /// its reason checked against the policy (INVALID_ARGUMENT naming `reason`); None for
    /// callers who see masked numbers only and for the services' own reads.
    fn clear_read(
        &self,
        caller: &Caller,
        rpc: &str,
        resource_type: &str,
        reason: &str,
    ) -> Result<Option<ClearRead>, ApiError> {
        if !(read_by_person(caller) && reads_in_clear(caller)) {
            return Ok(None);
        }
        let reason = clear_reads::reason(self.clear_read_reason, reason)?;
        Ok(Some(ClearRead::new("grid", rpc, resource_type, reason)))
    }

    /// Audits what `read` showed in clear (nothing for a masked read).
    async fn audit_clear_read(
        &self,
        caller: &Caller,
        read: Option<ClearRead>,
    ) -> Result<(), ApiError> {
        match read {
            Some(read) => self.app.record_clear_read(caller, &read).await,
            None => Ok(()),
        }
    }

    fn presenter(&self, caller: &Caller, station_id: &str) -> Presenter<'_> {
        Presenter {
            pii: &self.context.pii,
            visibility: Visibility::of(caller, station_id),
        }
    }
}

type Rpc<T> = Result<Response<T>, Status>;

/// The one place a use case's error becomes a status.
fn ok<T>(result: Result<T, ApiError>) -> Rpc<T> {
    Ok(Response::new(result?))
}

#[tonic::async_trait]
impl GridRegistryService for GridRegistryApi {
    async fn upsert_station(
        &self,
        r: Request<pb::UpsertStationRequest>,
    ) -> Rpc<pb::UpsertStationResponse> {
        ok(self.upsert_station_rpc(r).await)
    }
    async fn upsert_grid(&self, r: Request<pb::UpsertGridRequest>) -> Rpc<pb::UpsertGridResponse> {
        ok(self.upsert_grid_rpc(r).await)
    }
    async fn list_grids(&self, r: Request<pb::ListGridsRequest>) -> Rpc<pb::ListGridsResponse> {
        ok(self.list_grids_rpc(r).await)
    }
    async fn locate_grid(&self, r: Request<pb::LocateGridRequest>) -> Rpc<pb::LocateGridResponse> {
        ok(self.locate_grid_rpc(r).await)
    }
    async fn resolve_address(
        &self,
        r: Request<pb::ResolveAddressRequest>,
    ) -> Rpc<pb::ResolveAddressResponse> {
        ok(self.resolve_address_rpc(r).await)
    }
    async fn assign_officer(
        &self,
        r: Request<pb::AssignOfficerRequest>,
    ) -> Rpc<pb::AssignOfficerResponse> {
        ok(self.assign_officer_rpc(r).await)
    }
    async fn upsert_address(
        &self,
        r: Request<pb::UpsertAddressRequest>,
    ) -> Rpc<pb::UpsertAddressResponse> {
        ok(self.upsert_address_rpc(r).await)
    }
    async fn upsert_resident(
        &self,
        r: Request<pb::UpsertResidentRequest>,
    ) -> Rpc<pb::UpsertResidentResponse> {
        ok(self.upsert_resident_rpc(r).await)
    }
    async fn upsert_house(
        &self,
        r: Request<pb::UpsertHouseRequest>,
    ) -> Rpc<pb::UpsertHouseResponse> {
        ok(self.upsert_house_rpc(r).await)
    }
    async fn upsert_premises(
        &self,
        r: Request<pb::UpsertPremisesRequest>,
    ) -> Rpc<pb::UpsertPremisesResponse> {
        ok(self.upsert_premises_rpc(r).await)
    }
    async fn find_resident_by_id_number(
        &self,
        r: Request<pb::FindResidentByIdNumberRequest>,
    ) -> Rpc<pb::FindResidentByIdNumberResponse> {
        ok(self.find_resident_rpc(r).await)
    }
    async fn record_visit(
        &self,
        r: Request<pb::RecordVisitRequest>,
    ) -> Rpc<pb::RecordVisitResponse> {
        ok(self.record_visit_rpc(r).await)
    }
    async fn record_need(&self, r: Request<pb::RecordNeedRequest>) -> Rpc<pb::RecordNeedResponse> {
        ok(self.record_need_rpc(r).await)
    }
    async fn resolve_need(
        &self,
        r: Request<pb::ResolveNeedRequest>,
    ) -> Rpc<pb::ResolveNeedResponse> {
        ok(self.resolve_need_rpc(r).await)
    }
    async fn list_open_needs(
        &self,
        r: Request<pb::ListOpenNeedsRequest>,
    ) -> Rpc<pb::ListOpenNeedsResponse> {
        ok(self.list_open_needs_rpc(r).await)
    }
    async fn list_welfare_visits_due(
        &self,
        r: Request<pb::ListWelfareVisitsDueRequest>,
    ) -> Rpc<pb::ListWelfareVisitsDueResponse> {
        ok(self.welfare_due_rpc(r).await)
    }
    async fn start_inspection(
        &self,
        r: Request<pb::StartInspectionRequest>,
    ) -> Rpc<pb::StartInspectionResponse> {
        ok(self.start_inspection_rpc(r).await)
    }
    async fn record_inspection_result(
        &self,
        r: Request<pb::RecordInspectionResultRequest>,
    ) -> Rpc<pb::RecordInspectionResultResponse> {
        ok(self.record_inspection_result_rpc(r).await)
    }
    async fn list_due_reinspections(
        &self,
        r: Request<pb::ListDueReinspectionsRequest>,
    ) -> Rpc<pb::ListDueReinspectionsResponse> {
        ok(self.due_reinspections_rpc(r).await)
    }
    async fn record_outreach(
        &self,
        r: Request<pb::RecordOutreachRequest>,
    ) -> Rpc<pb::RecordOutreachResponse> {
        ok(self.record_outreach_rpc(r).await)
    }
    async fn outreach_stats(
        &self,
        r: Request<pb::OutreachStatsRequest>,
    ) -> Rpc<pb::OutreachStatsResponse> {
        ok(self.outreach_stats_rpc(r).await)
    }
    async fn broadcast_to_grid(
        &self,
        r: Request<pb::BroadcastToGridRequest>,
    ) -> Rpc<pb::BroadcastToGridResponse> {
        ok(self.broadcast_rpc(r).await)
    }
    async fn list_premises(
        &self,
        r: Request<pb::ListPremisesRequest>,
    ) -> Rpc<pb::ListPremisesResponse> {
        ok(self.list_premises_rpc(r).await)
    }
    async fn get_inspection(
        &self,
        r: Request<pb::GetInspectionRequest>,
    ) -> Rpc<pb::GetInspectionResponse> {
        ok(self.get_inspection_rpc(r).await)
    }
    async fn list_inspections(
        &self,
        r: Request<pb::ListInspectionsRequest>,
    ) -> Rpc<pb::ListInspectionsResponse> {
        ok(self.list_inspections_rpc(r).await)
    }
    async fn list_inspection_templates(
        &self,
        r: Request<pb::ListInspectionTemplatesRequest>,
    ) -> Rpc<pb::ListInspectionTemplatesResponse> {
        ok(self.list_templates_rpc(r).await)
    }
    async fn list_needs(&self, r: Request<pb::ListNeedsRequest>) -> Rpc<pb::ListNeedsResponse> {
        ok(self.list_needs_rpc(r).await)
    }
    async fn get_need(&self, r: Request<pb::GetNeedRequest>) -> Rpc<pb::GetNeedResponse> {
        ok(self.get_need_rpc(r).await)
    }
    async fn list_visits(&self, r: Request<pb::ListVisitsRequest>) -> Rpc<pb::ListVisitsResponse> {
        ok(self.list_visits_rpc(r).await)
    }
}
