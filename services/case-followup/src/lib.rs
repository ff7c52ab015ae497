//! The case-followup service: mediations, revisits and lost-and-found.
//!
//! Layout: `api` (thin handlers: decode, check, authorise, call a use case, map errors) → `app`
//! (use cases, and the owner lookup in grid-registry, a platform job while it is unreachable) →
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

use pingan_platform::service::{
    BuildError, GrpcService, Service, ServiceConfig, ServiceParts, SettingsSpec, Worker,
};
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

/// The tonic service, ready to mount on a [`pingan_platform::server::ServiceHost`]; the
/// background work is a separate [`jobs_worker`] the host runs.
pub fn service(context: &ServiceContext) -> CaseFollowupServiceServer<CaseFollowupApi> {
    CaseFollowupServiceServer::new(CaseFollowupApi::new(Arc::new(Core::new(context.clone()))))
}

/// The background work of case-followup: converts rows of the old encoding (migration 0002) once,
/// then runs its jobs (owner lookups) until shutdown.
pub fn jobs_worker(core: Arc<Core>) -> Worker {
    Worker::new("case-followup-jobs", move |shutdown| async move {
        if let Err(err) = core.store.convert_legacy_rows().await {
            tracing::error!(error = %err, "converting old case follow-up rows failed");
        }
        if let Err(err) = core.enqueue_pending_lookups().await {
            tracing::error!(error = %err, "enqueuing pending owner lookups failed");
        }
        app::lookup_job::worker(core)
            .run(async move { shutdown.signalled().await })
            .await
    })
}

/// The service's inbox, with a handler for each event type routed to it.
pub fn event_sink(context: &ServiceContext) -> pingan_platform::events::ServiceSink {
    let core = Arc::new(Core::new(context.clone()));
    pingan_platform::events::ServiceSink::new(context.db.clone(), context.clock.clone()).on(
        DISPATCH_CLOSED,
        Arc::new(events::DispatchClosedHandler::new(core)),
    )
}

/// case-followup as the host sees it.
#[derive(Debug, Clone, Copy)]
pub struct CaseFollowupService;

/// The entry of case-followup in the host's table.
pub static SERVICE: CaseFollowupService = CaseFollowupService;

impl Service for CaseFollowupService {
    fn short_name(&self) -> &'static str {
        SHORT_NAME
    }

    fn grpc_name(&self) -> &'static str {
        <CaseFollowupServiceServer<CaseFollowupApi> as tonic::server::NamedService>::NAME
    }

    fn migrations(&self) -> &'static Migrations {
        &MIGRATIONS
    }

    fn settings(&self) -> Option<SettingsSpec> {
        Some(SettingsSpec::of::<config::FollowupConfig>(SHORT_NAME))
    }

    fn build(
        &self,
        context: &ServiceContext,
        config: &ServiceConfig,
    ) -> Result<ServiceParts, BuildError> {
        let settings = config.get_or_default::<config::FollowupConfig>();
        let clear_reads = config.get_or_default::<pingan_platform::config::ClearReadConfig>();
        let core = Arc::new(Core::with_config(context.clone(), settings));
        // The dashboards' series exist from the start, not from the first revisit.
        metrics::register_at_start();
        Ok(ServiceParts::new(
            GrpcService::new(CaseFollowupServiceServer::new(
                CaseFollowupApi::new(core.clone())
                    .with_clear_read_reason(clear_reads.clear_read_reason),
            )),
            event_sink(context),
        )
        .with_grpc(GrpcService::new(api::report::server(core.clone())))
        .with_worker(jobs_worker(core))
        .with_service_calls(api::service_calls::SERVICE_CALLS))
    }
}
