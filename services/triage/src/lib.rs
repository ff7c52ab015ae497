//! The triage service: classification rules and the 110 ↔ 12345 transfer ledger.
//!
//! Layout: `grpc` (handlers: decode, validate, authorize, map errors) → `domain` (rules, no I/O)
//! → `store` (sqlx, both backends) → `events` (outbox producers and consumers).

pub mod domain;
pub mod grpc;

use pingan_platform::{Migrations, ServiceContext};
use pingan_proto::triage::v1::triage_service_server::TriageServiceServer;

pub use grpc::TriageApi;

/// Short name used for configuration, peers, data files and metrics.
pub const SHORT_NAME: &str = "triage";

static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");
static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// This service's schema on both backends.
pub static MIGRATIONS: Migrations = Migrations {
    postgres: &POSTGRES_MIGRATIONS,
    sqlite: &SQLITE_MIGRATIONS,
};

/// The tonic service, ready to mount on a [`pingan_platform::server::ServiceHost`].
pub fn service(context: &ServiceContext) -> TriageServiceServer<TriageApi> {
    TriageServiceServer::new(TriageApi::new(context.clone()))
}

/// The service's inbox, with a handler for each event type routed to it.
pub fn event_sink(context: &ServiceContext) -> pingan_platform::events::ServiceSink {
    pingan_platform::events::ServiceSink::new(context.db.clone(), context.clock.clone())
}
