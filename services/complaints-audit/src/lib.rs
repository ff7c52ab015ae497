//! The complaints-audit service: complaints against officers, investigations, evidence, findings, and the tamper-evident audit log.
//!
//! Layout: `api` (handlers: decode, validate, authorise, map errors) → `app` (use cases) →
//! `domain` (rules and records, no I/O) → `store` (the `Store` trait, SQL for both backends);
//! `events` (inbox handlers and the events emitted).

pub mod api;
pub mod app;
pub mod domain;
pub mod events;
pub mod settings;
pub mod store;

use std::sync::Arc;

use pingan_platform::{Migrations, ServiceContext};
use pingan_proto::audit::v1::complaints_audit_service_server::ComplaintsAuditServiceServer;

pub use api::ComplaintsAuditApi;
pub use settings::Settings;

/// Short name used for configuration, peers, data files and metrics.
pub const SHORT_NAME: &str = "complaints-audit";

static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");
static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// This service's schema on both backends.
pub static MIGRATIONS: Migrations = Migrations {
    postgres: &POSTGRES_MIGRATIONS,
    sqlite: &SQLITE_MIGRATIONS,
};

/// The tonic service, ready to mount on a [`pingan_platform::server::ServiceHost`]; settings
/// from the environment. Starts the background worker (pending evidence, audit retention),
/// which stops when the service is dropped.
pub fn service(context: &ServiceContext) -> ComplaintsAuditServiceServer<ComplaintsAuditApi> {
    service_with(context, Settings::from_env())
}

/// Like [`service`], with explicit settings.
pub fn service_with(
    context: &ServiceContext,
    settings: Settings,
) -> ComplaintsAuditServiceServer<ComplaintsAuditApi> {
    let interval = settings.worker_interval;
    let core = Arc::new(app::Core::new(context.clone(), settings));
    app::evidence::spawn_worker(Arc::downgrade(&core), interval);
    ComplaintsAuditServiceServer::new(ComplaintsAuditApi::new(core))
}

/// The service's inbox, with a handler for each event type routed to it.
pub fn event_sink(context: &ServiceContext) -> pingan_platform::events::ServiceSink {
    events::sink(Arc::new(app::Core::new(
        context.clone(),
        Settings::from_env(),
    )))
}
