//! The triage service: classification rules and the 110 ↔ 12345 transfer ledger.
//!
//! Layout (docs/architecture.md): `api` (thin gRPC handlers, protobuf mapping) → `app` (the
//! bridge, inbound tickets, deliveries as platform jobs, chores) → `domain` (rules and the
//! classifier, transfer states; no I/O) → `store` (sqlx, both backends); `events` (inbound
//! events); `hotline` (the 12345 gateway and simulator); `model`/`eval` (the classifier's model).

pub mod api;
pub mod app;
pub mod config;
pub mod domain;
pub mod eval;
pub mod eval_cli;
pub mod events;
pub mod hotline;
pub mod metrics;
pub mod model;
pub mod rules_state;
pub mod store;

use std::sync::Arc;

use pingan_platform::jobs::JobWorker;
use pingan_platform::service::{
    BuildError, GrpcService, Service, ServiceConfig, ServiceParts, SettingsSpec, Worker,
};
use pingan_platform::{Migrations, ServiceContext};
use pingan_proto::triage::v1::triage_service_server::TriageServiceServer;

pub use api::grpc::TriageApi;
pub use config::TriageConfig;
pub use hotline::simulator::HotlineSimulator;

use crate::app::bridge::Bridge;
use crate::app::{chores, delivery};
use crate::hotline::{GrpcHotlineGateway, HotlineGateway};
use crate::rules_state::RulesState;

/// Short name used for configuration, peers, data files and metrics.
pub const SHORT_NAME: &str = "triage";

static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");
static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// This service's schema on both backends.
pub static MIGRATIONS: Migrations = Migrations {
    postgres: &POSTGRES_MIGRATIONS,
    sqlite: &SQLITE_MIGRATIONS,
};

fn gateway(context: &ServiceContext, config: &TriageConfig) -> Arc<dyn HotlineGateway> {
    if let Some(simulator) = &config.simulator {
        return Arc::new(simulator.clone());
    }
    if config.hotline_gateway != "simulator" {
        match GrpcHotlineGateway::new(&config.hotline_gateway, config.call_timeout) {
            Ok(gateway) => return Arc::new(gateway),
            Err(err) => tracing::error!(
                error = %err,
                "invalid 12345 gateway url: using the built-in simulator"
            ),
        }
    }
    let simulator = HotlineSimulator::new(context.clock.clone());
    simulator.set_down(config.sim_down);
    simulator.set_latency(config.sim_latency);
    let bounce: Vec<&str> = config.sim_bounce.iter().map(String::as_str).collect();
    simulator.bounce(&bounce);
    tracing::info!("12345 gateway: built-in simulator (in process)");
    Arc::new(simulator)
}

fn bridge(context: &ServiceContext, config: &TriageConfig) -> Result<Arc<Bridge>, String> {
    let now = context.clock.now();
    let (rules_path, model_path) = (config.rules_path.clone(), config.model_path.clone());
    let serve_model = config.classifier == "model";
    let rules = match RulesState::load_with_model(rules_path, model_path, now) {
        Ok(rules) => rules,
        Err(err) => {
            tracing::error!(error = %err, "rules or model file invalid: the rules and model shipped with the service apply");
            RulesState::load(None, now).map_err(|err| {
                format!("the rules or model shipped with the service are invalid: {err}")
            })?
        }
    }
    .serving_model(serve_model);
    Ok(Arc::new(Bridge {
        ctx: context.clone(),
        store: Arc::new(store::SqlStore::new(context.db.clone())),
        rules,
        gateway: gateway(context, config),
        config: config.clone(),
        jobs: delivery::queue(context),
    }))
}

/// The triage service, its inbox, its delivery jobs and its chores, sharing one bridge (rules,
/// 12345 gateway, ledger, job queue); nothing runs until the host starts the workers.
pub struct Parts {
    /// The tonic service, ready to mount.
    pub server: TriageServiceServer<TriageApi>,
    /// The handlers it serves (tests call them in process).
    pub api: TriageApi,
    /// The inbox with the handlers of the events routed to triage.
    pub sink: pingan_platform::events::ServiceSink,
    /// The worker of the delivery jobs (tests may drive it with [`JobWorker::run_once`]).
    pub jobs: JobWorker,
    /// The chores (12345 reports, rules reload, overdue gauge, retired queue moved into jobs).
    pub chores: Worker,
}

/// Builds triage over `context` with `config`; fails only when no rules can be loaded.
pub fn build(context: &ServiceContext, config: &TriageConfig) -> Result<Parts, String> {
    let bridge = bridge(context, config)?;
    let api = TriageApi::new(context.clone(), bridge.clone());
    let jobs = delivery::worker(&bridge);
    let chores = chores::worker(bridge.clone());
    let sink = pingan_platform::events::ServiceSink::new(context.db.clone(), context.clock.clone())
        .on(
            "pingan.audit.v1.ComplaintFiled",
            Arc::new(events::OnComplaintFiled(bridge.clone())),
        )
        .on(
            "pingan.audit.v1.ComplaintAnswered",
            Arc::new(events::OnComplaintAnswered(bridge.clone())),
        )
        .on(
            "pingan.intake.v1.IncidentNeedsLocation",
            Arc::new(events::OnIncidentNeedsLocation(bridge.clone())),
        );
    Ok(Parts {
        server: TriageServiceServer::new(api.clone()),
        api,
        sink,
        jobs,
        chores,
    })
}

/// Triage as the host sees it.
#[derive(Debug, Clone, Copy)]
pub struct TriageService;

/// The entry of triage in the host's table.
pub static SERVICE: TriageService = TriageService;

impl Service for TriageService {
    fn short_name(&self) -> &'static str {
        SHORT_NAME
    }

    fn grpc_name(&self) -> &'static str {
        <TriageServiceServer<TriageApi> as tonic::server::NamedService>::NAME
    }

    fn migrations(&self) -> &'static Migrations {
        &MIGRATIONS
    }

    fn settings(&self) -> Option<SettingsSpec> {
        Some(SettingsSpec::of::<TriageConfig>(SHORT_NAME))
    }

    fn build(
        &self,
        context: &ServiceContext,
        config: &ServiceConfig,
    ) -> Result<ServiceParts, BuildError> {
        let parts = build(context, &config.get_or_default::<TriageConfig>()).map_err(BuildError)?;
        let clear_read_reason = config
            .get_or_default::<pingan_platform::config::ClearReadConfig>()
            .clear_read_reason;
        let server =
            TriageServiceServer::new(parts.api.clone().with_clear_read_reason(clear_read_reason));
        let jobs = parts.jobs;
        // The dashboards' series exist from the start, not from the first transfer.
        metrics::register_at_start();
        Ok(ServiceParts::new(GrpcService::new(server), parts.sink)
            .with_service_calls(api::service_calls::SERVICE_CALLS)
            .with_grpc(GrpcService::new(api::exchange_report::server(
                context.clone(),
            )))
            .with_worker(Worker::new("triage-jobs", move |shutdown| async move {
                jobs.run(async move { shutdown.signalled().await }).await
            }))
            .with_worker(parts.chores))
    }
}
