//! The intake service: calls, incidents (the case master record and its status timeline) and duplicate-call links.
//!
//! Layout: `grpc` (handlers: decode, validate, authorize, map errors) → `domain` (rules, no I/O)
//! → `store` (sqlx, both backends) → `router` (the routing steps over the peers, each with its
//! deadline) and `completer` (finishes what a down dependency left) → `events` (the incident
//! timeline fed by the other services).

pub mod completer;
pub mod convert;
pub mod domain;
pub mod events;
pub mod grpc;
mod listing;
pub mod locate;
pub mod peers;
pub mod placing;
pub mod router;
pub mod settings;
pub mod store;
pub mod timeline;

use std::sync::Arc;

use pingan_platform::{Migrations, ServiceContext};
use pingan_proto::intake::v1::intake_service_server::IntakeServiceServer;

pub use completer::Completer;
pub use grpc::IntakeApi;
pub use settings::IntakeSettings;

/// Short name used for configuration, peers, data files and metrics.
pub const SHORT_NAME: &str = "intake";

static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");
static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// This service's schema on both backends.
pub static MIGRATIONS: Migrations = Migrations {
    postgres: &POSTGRES_MIGRATIONS,
    sqlite: &SQLITE_MIGRATIONS,
};

/// The tonic service, ready to mount on a [`pingan_platform::server::ServiceHost`], with its
/// background completer running while the service is mounted (settings from `PINGAN_INTAKE_*`).
pub fn service(context: &ServiceContext) -> IntakeServiceServer<IntakeApi> {
    service_with(context, IntakeSettings::from_env())
}

/// [`service`] with explicit settings.
pub fn service_with(
    context: &ServiceContext,
    settings: IntakeSettings,
) -> IntakeServiceServer<IntakeApi> {
    let api = IntakeApi::new(context.clone(), settings.clone());
    let interval = settings.completer_interval;
    Completer::new(context, settings).spawn(api.liveness(), interval);
    IntakeServiceServer::new(api)
}

/// The service's inbox, with a handler for each event type routed to it.
pub fn event_sink(context: &ServiceContext) -> pingan_platform::events::ServiceSink {
    let handler = Arc::new(events::IncidentEvents::new(context.clone()));
    events::HANDLED.iter().fold(
        pingan_platform::events::ServiceSink::new(context.db.clone(), context.clock.clone()),
        |sink, event_type| sink.on(event_type, handler.clone()),
    )
}
