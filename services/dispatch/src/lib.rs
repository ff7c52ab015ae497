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

use std::sync::Arc;

use pingan_platform::jobs::JobWorker;
use pingan_platform::service::{
    BuildError, GrpcService, Service, ServiceConfig, ServiceParts, SettingsSpec, Worker,
};
use pingan_platform::{Migrations, ServiceContext};
use pingan_proto::dispatch::v1::dispatch_analysis_service_server::DispatchAnalysisServiceServer;
use pingan_proto::dispatch::v1::dispatch_service_server::DispatchServiceServer;

pub use api::DispatchApi;
pub use api::analysis::DispatchAnalysisApi;
pub use app::Runtime;
pub use settings::{DispatchArgs, DispatchSettings};

/// Short name used for configuration, peers, data files and metrics.
pub const SHORT_NAME: &str = "dispatch";

static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");
static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// This service's schema on both backends.
pub static MIGRATIONS: Migrations = Migrations {
    postgres: &POSTGRES_MIGRATIONS,
    sqlite: &SQLITE_MIGRATIONS,
};

/// The runtime of one service instance: what its handlers and workers share (build it once
/// and hand it to [`service`] and [`job_worker`]).
pub fn runtime(context: &ServiceContext, settings: DispatchSettings) -> Arc<Runtime> {
    Arc::new(Runtime::new(context.clone(), settings))
}

/// The tonic service over `runtime`, ready to mount on a
/// [`pingan_platform::server::ServiceHost`]; it starts nothing (see [`workers`]).
pub fn service(runtime: &Arc<Runtime>) -> DispatchServiceServer<DispatchApi> {
    DispatchServiceServer::new(DispatchApi::new(runtime.clone()))
}

/// The worker of dispatch's jobs (the response clocks) on `runtime`, for tests that drive it
/// round by round with [`JobWorker::run_once`]; the host runs the one [`workers`] wraps.
pub fn job_worker(runtime: &Arc<Runtime>) -> JobWorker {
    app::timers::worker(runtime)
}

/// The background work of the instance on `runtime`, for the host to run: the job worker, the
/// start work (row conversion, arming old clocks), the position sweeper and, with Redis, the
/// board relay to the other replicas.
pub fn workers(runtime: &Arc<Runtime>) -> Vec<Worker> {
    let jobs = job_worker(runtime);
    let relay = runtime
        .take_board_relay()
        .map(|relay| Worker::new("dispatch-board-relay", move |shutdown| relay.run(shutdown)));
    let mut workers = vec![
        Worker::new("dispatch-jobs", move |shutdown| async move {
            jobs.run(async move { shutdown.signalled().await }).await
        }),
        app::upkeep::on_start(runtime.clone()),
        app::upkeep::position_sweeper(runtime.clone()),
        app::metrics::units_gauge_worker(runtime.clone()),
    ];
    workers.extend(relay);
    workers
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

    fn settings(&self) -> Option<SettingsSpec> {
        Some(SettingsSpec::of::<DispatchArgs>(SHORT_NAME))
    }

    fn build(
        &self,
        context: &ServiceContext,
        config: &ServiceConfig,
    ) -> Result<ServiceParts, BuildError> {
        let settings = DispatchSettings::from_args(&config.get_or_default::<DispatchArgs>());
        let runtime = runtime(context, settings);
        let parts = ServiceParts::new(GrpcService::new(service(&runtime)), event_sink(context))
            .with_service_calls(api::service_calls::SERVICE_CALLS)
            .with_grpc(GrpcService::new(DispatchAnalysisServiceServer::new(
                DispatchAnalysisApi::new(runtime.clone()),
            )));
        Ok(workers(&runtime)
            .into_iter()
            .fold(parts, ServiceParts::with_worker))
    }
}
