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

use pingan_platform::service::{
    BuildError, GrpcService, Service, ServiceConfig, ServiceParts, SettingsSpec, Worker,
};
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

/// The tonic service, ready to mount on a [`pingan_platform::server::ServiceHost`], with the
/// default settings; the completer is a separate [`completer_worker`] the host runs.
pub fn service(context: &ServiceContext) -> IntakeServiceServer<IntakeApi> {
    service_with(context, IntakeSettings::default())
}

/// [`service`] with explicit settings.
pub fn service_with(
    context: &ServiceContext,
    settings: IntakeSettings,
) -> IntakeServiceServer<IntakeApi> {
    IntakeServiceServer::new(IntakeApi::new(context.clone(), settings))
}

/// The background completer as a host worker: a round every `completer_interval`, the round in
/// hand finished on shutdown.
pub fn completer_worker(context: &ServiceContext, settings: IntakeSettings) -> Worker {
    let interval = settings.completer_interval;
    let completer = Completer::new(context, settings);
    Worker::every("intake-completer", interval, move || {
        let completer = completer.clone();
        async move {
            if let Err(err) = completer.run_once().await {
                tracing::debug!(error = %err, "completer round failed");
            }
        }
    })
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
        let grpc = GrpcService::new(service_with(context, settings.clone()));
        Ok(ServiceParts::new(grpc, event_sink(context))
            .with_worker(completer_worker(context, settings)))
    }
}
