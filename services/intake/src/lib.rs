//! The intake service: calls, incidents (the case master record and its status timeline) and duplicate-call links.
//!
//! Layout (docs/architecture.md): `api` (handlers: decode, validate, authorize, call a use case,
//! map errors) → `app` (use cases: reporting, reading, placing, and routing over the peers, run
//! inline and as the platform job `intake.route`) → `domain` (records and rules, no I/O) →
//! `store` (the `Store` trait, SQL for both backends) → `events` (the incident timeline fed by
//! the other services, and the events intake sends).

pub mod api;
pub mod app;
pub mod domain;
pub mod events;
pub mod settings;
pub mod store;

use std::sync::Arc;

use pingan_platform::jobs::JobWorker;
use pingan_platform::service::{
    BuildError, GrpcService, Service, ServiceConfig, ServiceParts, SettingsSpec, Worker,
};
use pingan_platform::{Migrations, ServiceContext};
use pingan_proto::intake::v1::incident_analysis_service_server::IncidentAnalysisServiceServer;
use pingan_proto::intake::v1::intake_service_server::IntakeServiceServer;

pub use api::IntakeApi;
pub use api::analysis::IncidentAnalysisApi;
use app::{Deps, routing_job};
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
    IntakeServiceServer::new(IntakeApi::new(deps(context, settings)))
}

/// The use cases' dependencies, with intake's job queue (the worker's own queue wakes it at once
/// when they share it).
fn deps(context: &ServiceContext, settings: IntakeSettings) -> Deps {
    Deps::new(context, settings, routing_job::queue(context))
}

/// The worker of intake's jobs (routing), for tests that drive it round by round with
/// [`JobWorker::run_once`]; the host runs the one [`Service::build`] returns.
pub fn job_worker(context: &ServiceContext, settings: IntakeSettings) -> JobWorker {
    routing_job::worker(&deps(context, settings))
}

/// The service's inbox, with a handler for each event type routed to it.
pub fn event_sink(context: &ServiceContext) -> pingan_platform::events::ServiceSink {
    sink(&deps(context, IntakeSettings::default()))
}

fn sink(deps: &Deps) -> pingan_platform::events::ServiceSink {
    let handler = Arc::new(events::IncidentEvents::new(deps));
    events::HANDLED.iter().fold(
        pingan_platform::events::ServiceSink::new(
            deps.context.db.clone(),
            deps.context.clock.clone(),
        ),
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
        let deps = deps(context, config.get_or_default::<IntakeSettings>());
        let clear_read_reason = config
            .get_or_default::<pingan_platform::config::ClearReadConfig>()
            .clear_read_reason;
        let grpc = GrpcService::new(IntakeServiceServer::new(
            IntakeApi::new(deps.clone()).with_clear_read_reason(clear_read_reason),
        ));
        app::analysis::register_metrics();
        app::metrics::register_at_start();
        let analysis = GrpcService::new(IncidentAnalysisServiceServer::new(
            IncidentAnalysisApi::new(deps.clone()),
        ));
        let worker = routing_job::worker(&deps);
        let sink = sink(&deps);
        let exchange = GrpcService::new(api::exchange::server(deps.clone(), clear_read_reason));
        Ok(ServiceParts::new(grpc, sink)
            .with_service_calls(api::service_calls::SERVICE_CALLS)
            .with_grpc(analysis)
            .with_grpc(exchange)
            .with_worker(Worker::new(
            "intake-jobs",
            move |shutdown| async move {
                // The old layout's rows are converted at start, not on the first request.
                if let Err(err) = deps.ready().await {
                    tracing::warn!(error = %err, "old rows not converted; the next request retries");
                }
                worker.run(async move { shutdown.signalled().await }).await
            },
        )))
    }
}
