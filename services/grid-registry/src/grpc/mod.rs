//! gRPC handlers of `pingan.grid.v1.GridRegistryService`: decode, validate (field violations),
//! authorize (role and station), call the domain and the store, map errors. Upserts are
//! idempotent by their record ids; creations carry their request id in a unique column.

mod convert;
mod grids;
mod inspections;
mod notebook;
mod outreach;
mod people;

use std::sync::{Arc, RwLock};

use pingan_platform::audit::Audit;
use pingan_platform::auth::{Caller, Jurisdiction, Role};
use pingan_platform::storage::Tx;
use pingan_platform::{ApiError, FieldViolations, ServiceContext};
use pingan_proto::grid::v1 as pb;
use pingan_proto::grid::v1::grid_registry_service_server::GridRegistryService;
use tokio::sync::OnceCell;
use tonic::{Request, Response, Status};

use crate::domain::access::Visibility;
use crate::domain::inspection::Templates;
use crate::domain::{ActorRef, Grid, GridIndex, GridShape, LatLon, Millis};
use crate::notify::{LogNotifier, Notifier};
use crate::store::{Page, Scope, SqlStore, Store};
use convert::Presenter;

/// Handlers of the grid-registry service.
#[derive(Debug, Clone)]
pub struct GridRegistryApi {
    context: ServiceContext,
    store: Arc<dyn Store>,
    index: Arc<OnceCell<RwLock<GridIndex>>>,
    upgraded: Arc<OnceCell<()>>,
    templates: Arc<Templates>,
    notifier: Arc<dyn Notifier>,
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
    /// Handlers over the service's storage; inspection templates are the ones shipped.
    pub fn new(context: ServiceContext) -> Self {
        // The shipped templates are checked by a unit test; a broken build still serves the rest.
        let templates = Templates::builtin().unwrap_or_else(|err| {
            tracing::error!(error = %err, "inspection templates unreadable");
            Templates::empty()
        });
        let store: Arc<dyn Store> = Arc::new(SqlStore::new(context.db.clone()));
        Self {
            context,
            store,
            index: Arc::new(OnceCell::new()),
            upgraded: Arc::new(OnceCell::new()),
            templates: Arc::new(templates),
            notifier: Arc::new(LogNotifier),
        }
    }

    /// Loads the spatial index now rather than on the first call.
    pub async fn warm_up(&self) -> Result<usize, ApiError> {
        self.with_index(|index| index.len()).await
    }

    /// The store, once rows of the 0001 JSON schema are converted (see `store::upgrade_legacy`).
    async fn store(&self) -> Result<&dyn Store, ApiError> {
        self.upgraded
            .get_or_try_init(|| async {
                crate::store::upgrade_legacy(&self.context.db)
                    .await
                    .map(|_| ())
            })
            .await?;
        Ok(self.store.as_ref())
    }

    fn caller<T>(&self, request: &Request<T>) -> Result<Caller, ApiError> {
        self.context.auth.caller(request)
    }

    /// Runs `write` in one transaction with the audit record it returns (None: nothing to
    /// audit, e.g. a repeated request), enqueued for complaints-audit, and commits both.
    /// Writes read first (the record, its request id), so the transaction takes the write lock.
    async fn audited<T>(
        &self,
        write: impl AsyncFnOnce(&mut Tx) -> Result<(T, Option<Audit>), ApiError>,
    ) -> Result<T, ApiError> {
        let mut tx = self.context.db.begin_write().await?;
        let (value, audit) = write(&mut tx).await?;
        if let Some(audit) = audit {
            pingan_platform::audit::record(&self.context, &mut tx, crate::SHORT_NAME, &audit)
                .await?;
        }
        self.context.outbox.commit(tx).await?;
        Ok(value)
    }

    /// The audit record of `caller`'s `rpc` on a record.
    fn audit(caller: &Caller, rpc: &str, resource_type: &str, resource_id: &str) -> Audit {
        Audit::new(
            caller.actor(),
            format!("grid.{rpc}"),
            resource_type,
            resource_id,
        )
    }

    fn now(&self) -> Millis {
        self.context.clock.now().timestamp_millis()
    }

    fn actor(caller: &Caller) -> ActorRef {
        let actor = caller.actor();
        ActorRef {
            subject: actor.subject,
            role: actor.role,
        }
    }

    fn presenter(&self, caller: &Caller, station_id: &str) -> Presenter<'_> {
        Presenter {
            pii: &self.context.pii,
            visibility: Visibility::of(caller, station_id),
        }
    }

    /// Runs `f` on the index, loading it from the database on first use.
    async fn with_index<R>(&self, f: impl FnOnce(&GridIndex) -> R) -> Result<R, ApiError> {
        let lock = self
            .index
            .get_or_try_init(|| async {
                let grids = self.store().await?.all_grids().await?;
                let shapes = grids
                    .into_iter()
                    .filter_map(|g| GridShape::new(&g.polygon).ok().map(|s| (g.grid_id, s)));
                let index = GridIndex::build(shapes);
                tracing::info!(grids = index.len(), "grid index loaded");
                Ok::<_, ApiError>(RwLock::new(index))
            })
            .await?;
        let index = lock
            .read()
            .map_err(|_| ApiError::internal("grid index lock poisoned"))?;
        Ok(f(&index))
    }

    async fn update_index(&self, grid_id: &str, shape: GridShape) -> Result<(), ApiError> {
        self.with_index(|_| ()).await?;
        if let Some(lock) = self.index.get() {
            let mut index = lock
                .write()
                .map_err(|_| ApiError::internal("grid index lock poisoned"))?;
            index.upsert(grid_id, shape);
        }
        Ok(())
    }

    /// The grid, if the caller may see its station; NOT_FOUND otherwise.
    async fn grid_for(&self, caller: &Caller, grid_id: &str) -> Result<Grid, ApiError> {
        let grid = self
            .store()
            .await?
            .grid(grid_id)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("grid {grid_id}")))?;
        caller.require_station(&grid.station_id)?;
        Ok(grid)
    }

    /// The grid named, or the one containing `location`; `field` names the grid id field.
    async fn resolve_grid(
        &self,
        caller: &Caller,
        grid_id: &str,
        location: Option<LatLon>,
        field: &str,
    ) -> Result<Grid, ApiError> {
        if !grid_id.trim().is_empty() {
            return self.grid_for(caller, grid_id).await.map_err(|e| match e {
                ApiError::NotFound(_) => ApiError::invalid(field, "unknown grid"),
                other => other,
            });
        }
        let located = match location {
            Some(point) => {
                self.with_index(|i| i.locate(point).map(str::to_owned))
                    .await?
            }
            None => None,
        };
        match located {
            Some(id) => self.grid_for(caller, &id).await,
            None => Err(ApiError::invalid(
                field,
                "required (or a location inside a known grid)",
            )),
        }
    }
}

/// Scope of a listing: the caller's jurisdiction plus the request's filters.
fn scope(caller: &Caller, station_id: &str, grid_id: &str, officer_id: &str) -> Scope {
    Scope {
        stations: match &caller.jurisdiction {
            Jurisdiction::Bureau => None,
            Jurisdiction::Stations(set) => Some(set.iter().cloned().collect()),
        },
        station_id: station_id.to_owned(),
        grid_id: grid_id.to_owned(),
        officer_id: officer_id.to_owned(),
    }
}

/// Offset paging: `page_token` is the offset of the next row.
fn page(violations: &mut FieldViolations, size: i32, token: &str, default: i64, max: i64) -> Page {
    let limit = match i64::from(size) {
        0 => default,
        n if n < 0 => {
            violations.add("page_size", "must not be negative");
            default
        }
        n => n.min(max),
    };
    let offset = if token.is_empty() {
        0
    } else {
        token.parse::<i64>().unwrap_or_else(|_| {
            violations.add("page_token", "is not a token from a previous response");
            0
        })
    };
    Page {
        offset: offset.max(0),
        limit,
    }
}

/// The next page token when the page came back full.
fn next_token(page: Page, returned: usize) -> String {
    if i64::try_from(returned).unwrap_or(0) >= page.limit {
        (page.offset + page.limit).to_string()
    } else {
        String::new()
    }
}

/// A location field: absent is allowed, present must be in range.
fn optional_point(
    violations: &mut FieldViolations,
    field: &str,
    p: Option<&pingan_proto::common::v1::GeoPoint>,
) -> Option<LatLon> {
    let p = p?;
    violations.require_coordinates(field, p.lat, p.lon);
    Some(convert::latlon(p))
}

/// A required enum value that must be known and not UNSPECIFIED.
fn require_enum<E: TryFrom<i32>>(violations: &mut FieldViolations, field: &str, value: i32) {
    if value == 0 || E::try_from(value).is_err() {
        violations.add(field, "must be set to a known value");
    }
}

type Rpc<T> = Result<Response<T>, Status>;

fn ok<T>(value: T) -> Rpc<T> {
    Ok(Response::new(value))
}

#[tonic::async_trait]
impl GridRegistryService for GridRegistryApi {
    async fn upsert_station(
        &self,
        r: Request<pb::UpsertStationRequest>,
    ) -> Rpc<pb::UpsertStationResponse> {
        ok(self.upsert_station_impl(r).await?)
    }
    async fn upsert_grid(&self, r: Request<pb::UpsertGridRequest>) -> Rpc<pb::UpsertGridResponse> {
        ok(self.upsert_grid_impl(r).await?)
    }
    async fn list_grids(&self, r: Request<pb::ListGridsRequest>) -> Rpc<pb::ListGridsResponse> {
        ok(self.list_grids_impl(r).await?)
    }
    async fn locate_grid(&self, r: Request<pb::LocateGridRequest>) -> Rpc<pb::LocateGridResponse> {
        ok(self.locate_grid_impl(r).await?)
    }
    async fn resolve_address(
        &self,
        r: Request<pb::ResolveAddressRequest>,
    ) -> Rpc<pb::ResolveAddressResponse> {
        ok(self.resolve_address_impl(r).await?)
    }
    async fn assign_officer(
        &self,
        r: Request<pb::AssignOfficerRequest>,
    ) -> Rpc<pb::AssignOfficerResponse> {
        ok(self.assign_officer_impl(r).await?)
    }
    async fn upsert_address(
        &self,
        r: Request<pb::UpsertAddressRequest>,
    ) -> Rpc<pb::UpsertAddressResponse> {
        ok(self.upsert_address_impl(r).await?)
    }
    async fn upsert_resident(
        &self,
        r: Request<pb::UpsertResidentRequest>,
    ) -> Rpc<pb::UpsertResidentResponse> {
        ok(self.upsert_resident_impl(r).await?)
    }
    async fn upsert_house(
        &self,
        r: Request<pb::UpsertHouseRequest>,
    ) -> Rpc<pb::UpsertHouseResponse> {
        ok(self.upsert_house_impl(r).await?)
    }
    async fn upsert_premises(
        &self,
        r: Request<pb::UpsertPremisesRequest>,
    ) -> Rpc<pb::UpsertPremisesResponse> {
        ok(self.upsert_premises_impl(r).await?)
    }
    async fn find_resident_by_id_number(
        &self,
        r: Request<pb::FindResidentByIdNumberRequest>,
    ) -> Rpc<pb::FindResidentByIdNumberResponse> {
        ok(self.find_resident_impl(r).await?)
    }
    async fn record_visit(
        &self,
        r: Request<pb::RecordVisitRequest>,
    ) -> Rpc<pb::RecordVisitResponse> {
        ok(self.record_visit_impl(r).await?)
    }
    async fn record_need(&self, r: Request<pb::RecordNeedRequest>) -> Rpc<pb::RecordNeedResponse> {
        ok(self.record_need_impl(r).await?)
    }
    async fn resolve_need(
        &self,
        r: Request<pb::ResolveNeedRequest>,
    ) -> Rpc<pb::ResolveNeedResponse> {
        ok(self.resolve_need_impl(r).await?)
    }
    async fn list_open_needs(
        &self,
        r: Request<pb::ListOpenNeedsRequest>,
    ) -> Rpc<pb::ListOpenNeedsResponse> {
        ok(self.list_open_needs_impl(r).await?)
    }
    async fn list_welfare_visits_due(
        &self,
        r: Request<pb::ListWelfareVisitsDueRequest>,
    ) -> Rpc<pb::ListWelfareVisitsDueResponse> {
        ok(self.welfare_due_impl(r).await?)
    }
    async fn start_inspection(
        &self,
        r: Request<pb::StartInspectionRequest>,
    ) -> Rpc<pb::StartInspectionResponse> {
        ok(self.start_inspection_impl(r).await?)
    }
    async fn record_inspection_result(
        &self,
        r: Request<pb::RecordInspectionResultRequest>,
    ) -> Rpc<pb::RecordInspectionResultResponse> {
        ok(self.record_inspection_result_impl(r).await?)
    }
    async fn list_due_reinspections(
        &self,
        r: Request<pb::ListDueReinspectionsRequest>,
    ) -> Rpc<pb::ListDueReinspectionsResponse> {
        ok(self.due_reinspections_impl(r).await?)
    }
    async fn record_outreach(
        &self,
        r: Request<pb::RecordOutreachRequest>,
    ) -> Rpc<pb::RecordOutreachResponse> {
        ok(self.record_outreach_impl(r).await?)
    }
    async fn outreach_stats(
        &self,
        r: Request<pb::OutreachStatsRequest>,
    ) -> Rpc<pb::OutreachStatsResponse> {
        ok(self.outreach_stats_impl(r).await?)
    }
    async fn broadcast_to_grid(
        &self,
        r: Request<pb::BroadcastToGridRequest>,
    ) -> Rpc<pb::BroadcastToGridResponse> {
        ok(self.broadcast_impl(r).await?)
    }
}
