//! The intake service: calls, incidents (the case master record and its status timeline) and duplicate-call links.
//!
//! Layout: `grpc` (handlers: decode, validate, authorize, map errors) → `domain` (rules, no I/O)
//! → `store` (sqlx, both backends) → `router` (the routing steps over the peers, each with its
//! deadline) and `routing_job` (routing as a platform job: finishes what a down dependency or a
//! crash left) → `events` (the incident timeline fed by the other services).

pub mod convert;
pub mod domain;
pub mod events;
pub mod grpc;
mod listing;
pub mod locate;
pub mod peers;
pub mod placing;
pub mod router;
pub mod routing_job;
pub mod settings;
pub mod store;
pub mod timeline;

use std::sync::{Arc, Weak};

use pingan_platform::jobs::JobWorker;
use pingan_platform::{Migrations, ServiceContext};
use pingan_proto::intake::v1::intake_service_server::IntakeServiceServer;

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
/// routing job worker running while the service is mounted (settings from `PINGAN_INTAKE_*`).
pub fn service(context: &ServiceContext) -> IntakeServiceServer<IntakeApi> {
    service_with(context, IntakeSettings::from_env())
}

/// [`service`] with explicit settings.
pub fn service_with(
    context: &ServiceContext,
    settings: IntakeSettings,
) -> IntakeServiceServer<IntakeApi> {
    let jobs = routing_job::queue(context);
    let api = IntakeApi::new(context.clone(), settings.clone(), jobs.clone());
    let interval = settings.jobs_poll_interval;
    spawn_while_mounted(
        routing_job::worker(context, settings, jobs),
        api.liveness(),
        interval,
    );
    IntakeServiceServer::new(api)
}

/// The worker of intake's jobs (routing), for a host that runs and drains workers itself, and
/// for tests that drive it round by round with [`JobWorker::run_once`].
pub fn job_worker(context: &ServiceContext, settings: IntakeSettings) -> JobWorker {
    routing_job::worker(context, settings, routing_job::queue(context))
}

/// Runs `worker` until the service is unmounted (`alive` can no longer be upgraded).
fn spawn_while_mounted(worker: JobWorker, alive: Weak<()>, interval: std::time::Duration) {
    let Ok(handle) = tokio::runtime::Handle::try_current() else {
        tracing::warn!("no runtime: the intake job worker does not run in this process");
        return;
    };
    handle.spawn(worker.run(async move {
        while alive.upgrade().is_some() {
            tokio::time::sleep(interval).await;
        }
    }));
}

/// The service's inbox, with a handler for each event type routed to it.
pub fn event_sink(context: &ServiceContext) -> pingan_platform::events::ServiceSink {
    let handler = Arc::new(events::IncidentEvents::new(context.clone()));
    events::HANDLED.iter().fold(
        pingan_platform::events::ServiceSink::new(context.db.clone(), context.clock.clone()),
        |sink, event_type| sink.on(event_type, handler.clone()),
    )
}
