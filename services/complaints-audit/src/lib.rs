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

use pingan_platform::service::{
    BuildError, GrpcService, Service, ServiceConfig, ServiceParts, Worker,
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

/// The tonic service, ready to mount on a [`pingan_platform::server::ServiceHost`]; settings
/// from the environment. The background work is a separate [`evidence_worker`] the host runs.
pub fn service(context: &ServiceContext) -> ComplaintsAuditServiceServer<ComplaintsAuditApi> {
    service_with(context, Settings::from_env())
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

/// The background work (pending evidence every `worker_interval`, audit retention hourly) while
/// the host runs; the round in hand is finished on shutdown.
pub fn evidence_worker(core: Arc<app::Core>) -> Worker {
    let interval = core.settings.worker_interval;
    Worker::new("complaints-audit-evidence", move |shutdown| async move {
        let mut last_prune: Option<tokio::time::Instant> = None;
        while !shutdown.sleep(interval).await {
            if let Err(err) = app::evidence::complete_pending(&core).await {
                tracing::warn!(error = %err, "pending evidence round failed");
            }
            if last_prune.is_none_or(|at| at.elapsed() > std::time::Duration::from_secs(3600)) {
                if let Err(err) = app::audit_log::apply_retention(&core).await {
                    tracing::warn!(error = %err, "audit retention failed");
                }
                last_prune = Some(tokio::time::Instant::now());
            }
        }
    })
}

/// The service's inbox, with a handler for each event type routed to it.
pub fn event_sink(context: &ServiceContext) -> pingan_platform::events::ServiceSink {
    events::sink(Arc::new(app::Core::new(
        context.clone(),
        Settings::from_env(),
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

    fn build(
        &self,
        context: &ServiceContext,
        _config: &ServiceConfig,
    ) -> Result<ServiceParts, BuildError> {
        // Settings still come from the environment (`Settings::from_env`), as before.
        let core = Arc::new(app::Core::new(context.clone(), Settings::from_env()));
        Ok(ServiceParts::new(
            GrpcService::new(ComplaintsAuditServiceServer::new(ComplaintsAuditApi::new(
                core.clone(),
            ))),
            event_sink(context),
        )
        .with_worker(evidence_worker(core)))
    }
}
