//! The case-followup service: mediations, revisits and lost-and-found.
//!
//! Layout: `api` (thin handlers: decode, check, authorise, call a use case, map errors) → `app`
//! (use cases, and the owner lookup in grid-registry retried while it is unreachable) →
//! `domain` (rules, no I/O) → `store` (the `Store` trait and its SQL, both backends) → `events`
//! (the DispatchClosed handler). Settings in `config`.

pub mod api;
pub mod app;
pub mod config;
pub mod domain;
pub mod events;
mod metrics;
pub mod store;

use std::sync::Arc;

use pingan_platform::{Migrations, ServiceContext};
use pingan_proto::followup::v1::case_followup_service_server::CaseFollowupServiceServer;

pub use api::CaseFollowupApi;
pub use app::Core;

/// Short name used for configuration, peers, data files and metrics.
pub const SHORT_NAME: &str = "case-followup";

/// Event type of a closed dispatch (the revisit scheduler's input).
pub const DISPATCH_CLOSED: &str = "pingan.dispatch.v1.DispatchClosed";

static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");
static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// This service's schema on both backends.
pub static MIGRATIONS: Migrations = Migrations {
    postgres: &POSTGRES_MIGRATIONS,
    sqlite: &SQLITE_MIGRATIONS,
};

/// The tonic service, ready to mount on a [`pingan_platform::server::ServiceHost`]. Also starts
/// the background owner lookup, which ends when the service is dropped.
pub fn service(context: &ServiceContext) -> CaseFollowupServiceServer<CaseFollowupApi> {
    let core = Arc::new(Core::new(context.clone()));
    app::lookup::spawn_retry_worker(&core);
    CaseFollowupServiceServer::new(CaseFollowupApi::new(core))
}

/// The service's inbox, with a handler for each event type routed to it.
pub fn event_sink(context: &ServiceContext) -> pingan_platform::events::ServiceSink {
    let core = Arc::new(Core::new(context.clone()));
    pingan_platform::events::ServiceSink::new(context.db.clone(), context.clock.clone()).on(
        DISPATCH_CLOSED,
        Arc::new(events::DispatchClosedHandler::new(core)),
    )
}
