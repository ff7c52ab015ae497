//! The dispatch service: units, live positions, assignments, response clocks, the drone flight log and the command board.
//!
//! Layout: `api` (handlers: decode, validate, authorize, map errors) → `app` (use cases, one
//! transaction each; events out through the outbox) → `domain` (records and rules, no I/O) →
//! `store` (trait + SQL for both backends) and `positions` (Redis or in process); `events` (the
//! inbox).

pub mod api;
pub mod app;
pub mod domain;
pub mod events;
pub mod positions;
pub mod settings;
pub mod store;

use pingan_platform::service::{BuildError, GrpcService, Service, ServiceConfig, ServiceParts};
use pingan_platform::{Migrations, ServiceContext};
use pingan_proto::dispatch::v1::dispatch_service_server::DispatchServiceServer;

pub use api::DispatchApi;
pub use app::Runtime;
pub use app::timers::{TickReport, tick};

/// Short name used for configuration, peers, data files and metrics.
pub const SHORT_NAME: &str = "dispatch";

static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");
static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// This service's schema on both backends.
pub static MIGRATIONS: Migrations = Migrations {
    postgres: &POSTGRES_MIGRATIONS,
    sqlite: &SQLITE_MIGRATIONS,
};

/// The tonic service, ready to mount on a [`pingan_platform::server::ServiceHost`]. Starts the
/// background clock ticker of this database (once per process).
pub fn service(context: &ServiceContext) -> DispatchServiceServer<DispatchApi> {
    DispatchServiceServer::new(DispatchApi::new(context.clone()))
}

/// The shared runtime of `context`'s database: what tests use to drive the clocks by hand
/// (`pingan_dispatch::tick(&runtime(&context))` after moving a manual clock).
pub fn runtime(context: &ServiceContext) -> std::sync::Arc<Runtime> {
    Runtime::for_context(context)
}

/// The service's inbox, with a handler for each event type routed to it (none: dispatch only
/// sends events).
pub fn event_sink(context: &ServiceContext) -> pingan_platform::events::ServiceSink {
    events::sink(context)
}

/// dispatch as the host sees it.
#[derive(Debug, Clone, Copy)]
pub struct DispatchService;

/// The entry of dispatch in the host's table.
pub static SERVICE: DispatchService = DispatchService;

impl Service for DispatchService {
    fn short_name(&self) -> &'static str {
        SHORT_NAME
    }

    fn grpc_name(&self) -> &'static str {
        <DispatchServiceServer<DispatchApi> as tonic::server::NamedService>::NAME
    }

    fn migrations(&self) -> &'static Migrations {
        &MIGRATIONS
    }

    fn uses_redis(&self) -> bool {
        true
    }

    fn build(
        &self,
        context: &ServiceContext,
        _config: &ServiceConfig,
    ) -> Result<ServiceParts, BuildError> {
        // Settings and the clock ticker still come from `Runtime::for_context` (env, own task).
        Ok(ServiceParts::new(
            GrpcService::new(service(context)),
            event_sink(context),
        ))
    }
}
