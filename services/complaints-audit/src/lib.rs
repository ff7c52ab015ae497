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
use std::time::Duration;

use pingan_platform::jobs::JobWorker;
use pingan_platform::service::{
    BuildError, GrpcService, Service, ServiceConfig, ServiceParts, SettingsSpec, Worker,
};
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

/// The tonic service, ready to mount on a [`pingan_platform::server::ServiceHost`], with the
/// default settings; the background work is in the [`workers`] the host runs.
pub fn service(context: &ServiceContext) -> ComplaintsAuditServiceServer<ComplaintsAuditApi> {
    service_with(context, Settings::default())
}

/// Like [`service`], with explicit settings.
pub fn service_with(
    context: &ServiceContext,
    settings: Settings,
) -> ComplaintsAuditServiceServer<ComplaintsAuditApi> {
    ComplaintsAuditServiceServer::new(ComplaintsAuditApi::new(Arc::new(app::Core::new(
        context.clone(),
        settings,
    ))))
}

/// The worker of the service's jobs (timeline fetches), for tests that drive it round by round
/// with [`JobWorker::run_once`]; the host runs the one [`Service::build`] returns.
pub fn job_worker(core: Arc<app::Core>) -> JobWorker {
    app::fetch_job::worker(core)
}

/// Retention runs hourly: pruning is cheap and the limit is counted in days.
const RETENTION_INTERVAL: Duration = Duration::from_secs(3600);

/// The background work while the host runs: on start the data steps (encoded findings into
/// columns, a job for timelines pending from before the fetch jobs), then the job worker; and
/// audit retention hourly; and, with a checkpoint key, the chain head signed and published at
/// the checkpoint interval.
pub fn workers(core: Arc<app::Core>) -> Vec<Worker> {
    let jobs = job_worker(core.clone());
    let start = core.clone();
    let core_for_metrics = core.clone();
    let fetches = Worker::new("complaints-audit-jobs", move |shutdown| async move {
        // The data steps of migrations 0002 and 0003; both idempotent, retried on every start.
        if let Err(err) = store::upgrade_legacy(&start.context.db).await {
            tracing::warn!(error = %err, "encoded findings not converted; next start tries again");
        }
        if let Err(err) = app::fetch_job::enqueue_pending(&start).await {
            tracing::warn!(error = %err, "pending timelines not queued; next start tries again");
        }
        jobs.run(async move { shutdown.signalled().await }).await;
    });
    let interval = core.settings.checkpoint_interval;
    let anchor = core.clone();
    let checkpoints = Worker::every("complaints-audit-checkpoints", interval, move || {
        let core = anchor.clone();
        async move {
            if let Err(err) = app::anchor::publish(&core).await {
                tracing::error!(error = %err, "audit checkpoint not published");
            }
        }
    });
    let signing = core.anchor.signer().is_some();
    let retention = Worker::every(
        "complaints-audit-retention",
        RETENTION_INTERVAL,
        move || {
            let core = core.clone();
            async move {
                if let Err(err) = app::audit_log::apply_retention(&core).await {
                    tracing::warn!(error = %err, "audit retention failed");
                }
            }
        },
    );
    let backlog = app::metrics::backlog_worker(core_for_metrics);
    if signing {
        vec![fetches, retention, backlog, checkpoints]
    } else {
        vec![fetches, retention, backlog]
    }
}

/// The service's inbox with the default settings, with a handler for each event type routed to it.
pub fn event_sink(context: &ServiceContext) -> pingan_platform::events::ServiceSink {
    events::sink(Arc::new(app::Core::new(
        context.clone(),
        Settings::default(),
    )))
}

/// complaints-audit as the host sees it.
#[derive(Debug, Clone, Copy)]
pub struct ComplaintsAuditService;

/// The entry of complaints-audit in the host's table.
pub static SERVICE: ComplaintsAuditService = ComplaintsAuditService;

impl Service for ComplaintsAuditService {
    fn short_name(&self) -> &'static str {
        SHORT_NAME
    }

    fn grpc_name(&self) -> &'static str {
        <ComplaintsAuditServiceServer<ComplaintsAuditApi> as tonic::server::NamedService>::NAME
    }

    fn migrations(&self) -> &'static Migrations {
        &MIGRATIONS
    }

    fn settings(&self) -> Option<SettingsSpec> {
        Some(SettingsSpec::of::<Settings>(SHORT_NAME))
    }

    // The chain's keeper checks itself (VerifyAuditChain); the others witness it.
    fn witnesses_audit_chain(&self) -> bool {
        false
    }

    fn build(
        &self,
        context: &ServiceContext,
        config: &ServiceConfig,
    ) -> Result<ServiceParts, BuildError> {
        let settings = config.get_or_default::<Settings>();
        let core = Arc::new(app::Core::new(context.clone(), settings));
        core.anchor.check().map_err(BuildError)?;
        let grpc = GrpcService::new(ComplaintsAuditServiceServer::new(ComplaintsAuditApi::new(
            core.clone(),
        )));
        let parts = ServiceParts::new(grpc, events::sink(core.clone()))
            .with_service_calls(api::service_calls::SERVICE_CALLS);
        Ok(workers(core)
            .into_iter()
            .fold(parts, ServiceParts::with_worker))
    }
}
