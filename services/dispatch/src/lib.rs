//! The dispatch service: units, live positions, assignments, response clocks, the drone flight log and the command board.
//!
//! Layout: `grpc`, `grpc_units` (handlers: decode, validate, authorize, map errors) → `lifecycle`,
//! `units`, `timers`, `lookout` (use cases, one transaction each) → `domain` (rules, no I/O) →
//! `store` (sqlx, both backends) and `positions` (Redis or in process); `events` (outbox
//! producers), `board` (the live stream).

pub mod board;
pub mod domain;
pub mod events;
pub mod flights;
pub mod grpc;
mod grpc_drones;
mod grpc_positions;
mod grpc_units;
pub mod lifecycle;
pub mod lookout;
mod position_auth;
pub mod positions;
mod records;
pub mod runtime;
pub mod settings;
pub mod store;
pub mod timers;
pub mod units;

use pingan_platform::{Migrations, ServiceContext};
use pingan_proto::dispatch::v1::dispatch_service_server::DispatchServiceServer;

pub use grpc::DispatchApi;
pub use runtime::Runtime;
pub use timers::{TickReport, tick};

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
    pingan_platform::events::ServiceSink::new(context.db.clone(), context.clock.clone())
}
