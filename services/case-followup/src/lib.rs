//! The case-followup service: mediations, revisits and lost-and-found.
//!
//! Layout: `grpc` (handlers: decode, validate, authorize, map errors) → `domain` (rules, no I/O)
//! → `store` (sqlx, both backends) → `events` (outbox producers and consumers).

pub mod grpc;

use pingan_platform::{Migrations, ServiceContext};
use pingan_proto::followup::v1::case_followup_service_server::CaseFollowupServiceServer;

pub use grpc::CaseFollowupApi;

/// Short name used for configuration, peers, data files and metrics.
pub const SHORT_NAME: &str = "case-followup";

static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");
static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// This service's schema on both backends.
pub static MIGRATIONS: Migrations = Migrations {
    postgres: &POSTGRES_MIGRATIONS,
    sqlite: &SQLITE_MIGRATIONS,
};

/// The tonic service, ready to mount on a [`pingan_platform::server::ServiceHost`].
pub fn service(context: &ServiceContext) -> CaseFollowupServiceServer<CaseFollowupApi> {
    CaseFollowupServiceServer::new(CaseFollowupApi::new(context.clone()))
}

/// The service's inbox, with a handler for each event type routed to it.
pub fn event_sink(context: &ServiceContext) -> pingan_platform::events::ServiceSink {
    pingan_platform::events::ServiceSink::new(context.db.clone(), context.clock.clone())
}
