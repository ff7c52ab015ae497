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

use std::sync::Arc;

use pingan_platform::jobs::{JobQueue, JobWorker};
use pingan_platform::service::{
    BuildError, GrpcService, Service, ServiceConfig, ServiceParts, SettingsSpec, Worker,
};
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

/// The tonic service, ready to mount on a [`pingan_platform::server::ServiceHost`], with the
/// default settings; the routing job worker is a separate [`job_worker`] the host runs.
pub fn service(context: &ServiceContext) -> IntakeServiceServer<IntakeApi> {
    service_with(context, IntakeSettings::default())
}

/// [`service`] with explicit settings.
pub fn service_with(
    context: &ServiceContext,
    settings: IntakeSettings,
) -> IntakeServiceServer<IntakeApi> {
    api_with(context, settings, routing_job::queue(context))
}

/// The gRPC service enqueuing its routing jobs on `jobs` (the worker's own queue wakes it at once).
fn api_with(
    context: &ServiceContext,
    settings: IntakeSettings,
    jobs: JobQueue,
) -> IntakeServiceServer<IntakeApi> {
    IntakeServiceServer::new(IntakeApi::new(context.clone(), settings, jobs))
}

/// The worker of intake's jobs (routing), for tests that drive it round by round with
/// [`JobWorker::run_once`]; the host runs the one [`Service::build`] returns.
pub fn job_worker(context: &ServiceContext, settings: IntakeSettings) -> JobWorker {
    routing_job::worker(context, settings, routing_job::queue(context))
}

/// The service's inbox, with a handler for each event type routed to it.
pub fn event_sink(context: &ServiceContext) -> pingan_platform::events::ServiceSink {
    let handler = Arc::new(events::IncidentEvents::new(context.clone()));
    events::HANDLED.iter().fold(
        pingan_platform::events::ServiceSink::new(context.db.clone(), context.clock.clone()),
        |sink, event_type| sink.on(event_type, handler.clone()),
    )
}

/// Intake as the host sees it.
#[derive(Debug, Clone, Copy)]
pub struct IntakeService;

/// The entry of intake in the host's table.
pub static SERVICE: IntakeService = IntakeService;

impl Service for IntakeService {
    fn short_name(&self) -> &'static str {
        SHORT_NAME
    }

    fn grpc_name(&self) -> &'static str {
        <IntakeServiceServer<IntakeApi> as tonic::server::NamedService>::NAME
    }

    fn migrations(&self) -> &'static Migrations {
        &MIGRATIONS
    }

    fn settings(&self) -> Option<SettingsSpec> {
        Some(SettingsSpec::of::<IntakeSettings>(SHORT_NAME))
    }

    fn build(
        &self,
        context: &ServiceContext,
        config: &ServiceConfig,
    ) -> Result<ServiceParts, BuildError> {
        let settings = config.get_or_default::<IntakeSettings>();
        let jobs = routing_job::queue(context);
        let grpc = GrpcService::new(api_with(context, settings.clone(), jobs.clone()));
        let worker = routing_job::worker(context, settings, jobs);
        Ok(ServiceParts::new(grpc, event_sink(context))
            .with_worker(Worker::new("intake-jobs", move |shutdown| async move {
                worker.run(async move { shutdown.signalled().await }).await
            })))
    }
}
