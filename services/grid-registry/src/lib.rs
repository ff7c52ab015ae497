//! The grid-registry service: grids, stations, officer assignments, 一标三实 data, the visit notebook, needs, inspections, outreach and grid broadcasts.
//!
//! Layout (docs/architecture.md): `api` (tonic handlers: decode, validate, authorise, present,
//! map errors) → `app` (use cases: transactions with their audit record through the outbox) →
//! `domain` (rules, no I/O) → `store` (sqlx, both backends). Every write and every ID-number
//! lookup commits with its `pingan.audit.v1.AuditRecord` for complaints-audit (`Registry::audited`).

pub mod api;
pub mod app;
pub mod domain;
pub mod metrics;
pub mod notify;
pub mod settings;
pub mod store;

use pingan_platform::config::ClearReadConfig;
use pingan_platform::service::{
    BuildError, GrpcService, Service, ServiceConfig, ServiceParts, SettingsSpec, Worker,
};
use pingan_platform::{Migrations, ServiceContext};
use pingan_proto::grid::v1::grid_registry_service_server::GridRegistryServiceServer;
use pingan_proto::grid::v1::service_request_service_server::ServiceRequestServiceServer;

pub use api::{GridRegistryApi, ServiceRequestApi};
pub use settings::GridRegistrySettings;

/// Short name used for configuration, peers, data files and metrics.
pub const SHORT_NAME: &str = "grid-registry";

/// The demo jurisdiction `pingan dev` loads into an empty registry.
pub const DEMO_JURISDICTION: &str = include_str!("../demo/jurisdiction.json");

static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");
static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// This service's schema on both backends.
pub static MIGRATIONS: Migrations = Migrations {
    postgres: &POSTGRES_MIGRATIONS,
    sqlite: &SQLITE_MIGRATIONS,
};

/// The tonic service, ready to mount on a [`pingan_platform::server::ServiceHost`]. The spatial
/// index loads on the first call, or earlier through [`warm_up_worker`].
pub fn service(context: &ServiceContext) -> GridRegistryServiceServer<GridRegistryApi> {
    GridRegistryServiceServer::new(GridRegistryApi::new(context.clone()))
}

/// Loads the spatial index in the background once the host runs (given up on shutdown).
pub fn warm_up_worker(api: GridRegistryApi) -> Worker {
    Worker::new("grid-registry-warm-up", move |shutdown| async move {
        tokio::select! {
            () = shutdown.signalled() => {}
            result = api.warm_up() => if let Err(err) = result {
                tracing::warn!(error = %err, "grid index not loaded yet; retried on first use");
            }
        }
    })
}

/// Polls the grid version every `every` and reloads the spatial index when another replica
/// sharing the database changed a grid or a station, until shutdown. A failed poll (database
/// down) is logged and tried again next round: the worker never stops on an error.
pub fn index_refresh_worker(api: GridRegistryApi, every: std::time::Duration) -> Worker {
    Worker::new("grid-index-refresh", move |shutdown| async move {
        let mut failing = false;
        while !shutdown.sleep(every).await {
            match api.refresh_index().await {
                Ok(_) if failing => {
                    failing = false;
                    tracing::info!("grid version readable again");
                }
                Ok(_) => {}
                Err(err) if !failing => {
                    failing = true;
                    tracing::warn!(error = %err, "grid version not read; index refresh retried");
                }
                Err(_) => {}
            }
        }
    })
}

/// How often the overdue service request gauge is recounted.
const OVERDUE_GAUGE_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// Recounts the open service requests past their deadline for the gauge, until shutdown.
pub fn overdue_gauge_worker(api: ServiceRequestApi) -> Worker {
    Worker::new(
        "grid-service-requests-overdue",
        move |shutdown| async move {
            loop {
                if let Err(err) = api.refresh_overdue_gauge().await {
                    tracing::warn!(error = %err, "overdue service requests not counted");
                }
                tokio::select! {
                    () = shutdown.signalled() => break,
                    () = tokio::time::sleep(OVERDUE_GAUGE_EVERY) => {}
                }
            }
        },
    )
}

/// The service's inbox, with a handler for each event type routed to it.
pub fn event_sink(context: &ServiceContext) -> pingan_platform::events::ServiceSink {
    pingan_platform::events::ServiceSink::new(context.db.clone(), context.clock.clone())
}

/// grid-registry as the host sees it.
#[derive(Debug, Clone, Copy)]
pub struct GridRegistryService;

/// The entry of grid-registry in the host's table.
pub static SERVICE: GridRegistryService = GridRegistryService;

impl Service for GridRegistryService {
    fn short_name(&self) -> &'static str {
        SHORT_NAME
    }

    fn grpc_name(&self) -> &'static str {
        <GridRegistryServiceServer<GridRegistryApi> as tonic::server::NamedService>::NAME
    }

    fn migrations(&self) -> &'static Migrations {
        &MIGRATIONS
    }

    fn settings(&self) -> Option<SettingsSpec> {
        Some(SettingsSpec::of::<GridRegistrySettings>(SHORT_NAME))
    }

    fn build(
        &self,
        context: &ServiceContext,
        config: &ServiceConfig,
    ) -> Result<ServiceParts, BuildError> {
        let settings = config.get_or_default::<GridRegistrySettings>();
        let clear_reads = config.get_or_default::<ClearReadConfig>();
        let api = GridRegistryApi::new(context.clone())
            .with_clear_read_reason(clear_reads.clear_read_reason);
        metrics::register_metrics();
        let service_requests = api.service_requests();
        Ok(ServiceParts::new(
            GrpcService::new(GridRegistryServiceServer::new(api.clone())),
            event_sink(context),
        )
        .with_grpc(GrpcService::new(ServiceRequestServiceServer::new(
            service_requests.clone(),
        )))
        .with_worker(index_refresh_worker(api.clone(), settings.index_refresh))
        .with_worker(warm_up_worker(api))
        .with_worker(overdue_gauge_worker(service_requests))
        .with_service_calls(api::service_calls::SERVICE_CALLS))
    }
}
