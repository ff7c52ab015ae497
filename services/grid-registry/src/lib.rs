//! The grid-registry service: grids, stations, officer assignments, 一标三实 data, the visit notebook, needs, inspections, outreach and grid broadcasts.
//!
//! Layout: `grpc` (handlers: decode, validate, authorize, map errors) → `domain` (rules, no I/O)
//! → `store` (sqlx, both backends; writes take the transaction). Every write and every ID-number
//! lookup commits with its `pingan.audit.v1.AuditRecord` for complaints-audit (`GridRegistryApi::audited`).

pub mod domain;
pub mod grpc;
pub mod notify;
pub mod store;

use pingan_platform::{Migrations, ServiceContext};
use pingan_proto::grid::v1::grid_registry_service_server::GridRegistryServiceServer;

pub use grpc::GridRegistryApi;

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
/// index is loaded in the background now (or on the first call if the database is not ready).
pub fn service(context: &ServiceContext) -> GridRegistryServiceServer<GridRegistryApi> {
    let api = GridRegistryApi::new(context.clone());
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        let warm = api.clone();
        runtime.spawn(async move {
            if let Err(err) = warm.warm_up().await {
                tracing::warn!(error = %err, "grid index not loaded yet; retried on first use");
            }
        });
    }
    GridRegistryServiceServer::new(api)
}

/// The service's inbox, with a handler for each event type routed to it.
pub fn event_sink(context: &ServiceContext) -> pingan_platform::events::ServiceSink {
    pingan_platform::events::ServiceSink::new(context.db.clone(), context.clock.clone())
}
