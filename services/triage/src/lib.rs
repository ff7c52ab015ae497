//! The triage service: classification rules and the 110 ↔ 12345 transfer ledger.
//!
//! Layout: `grpc` (handlers: decode, validate, authorize, map errors) → `domain` (rules and the
//! classifier, transfer states; no I/O) → `bridge` (diversions out, tickets in, outcomes) and
//! `courier` (deliveries to 12345 and intake, retried until done) → `store` (sqlx, both
//! backends); `events` (complaints-audit's events); `hotline` (the 12345 gateway and simulator).

pub mod bridge;
pub mod config;
pub mod convert;
pub mod courier;
pub mod domain;
pub mod eval;
pub mod eval_cli;
pub mod events;
pub mod grpc;
pub mod hotline;
pub mod inbound;
pub mod metrics;
pub mod model;
pub mod rules_state;
pub mod store;

use std::sync::Arc;

use pingan_platform::service::{
    BuildError, GrpcService, Service, ServiceConfig, ServiceParts, SettingsSpec, Worker,
};
use pingan_platform::{Migrations, ServiceContext};
use pingan_proto::triage::v1::triage_service_server::TriageServiceServer;

pub use config::TriageConfig;
pub use grpc::TriageApi;
pub use hotline::simulator::HotlineSimulator;

use crate::bridge::Bridge;
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
    let rules = match RulesState::load(config.rules_path.clone(), now) {
        Ok(rules) => rules,
        Err(err) => {
            tracing::error!(error = %err, "rules file invalid: the rules shipped with the service apply");
            RulesState::load(None, now)
                .map_err(|err| format!("the rules shipped with the service are invalid: {err}"))?
        }
    };
    Ok(Arc::new(Bridge {
        ctx: context.clone(),
        store: store::Store::new(context.db.clone()),
        rules,
        gateway: gateway(context, config),
        config: config.clone(),
    }))
}

/// The triage service, its inbox and its courier, sharing one bridge (rules, 12345 gateway,
/// ledger); nothing runs until the host starts the courier worker.
pub struct Parts {
    /// The tonic service, ready to mount.
    pub server: TriageServiceServer<TriageApi>,
    /// The inbox with the handlers of the events routed to triage.
    pub sink: pingan_platform::events::ServiceSink,
    /// The courier and the chores.
    pub courier: Worker,
}

/// Builds triage over `context` with `config`; fails only when no rules can be loaded.
pub fn build(context: &ServiceContext, config: &TriageConfig) -> Result<Parts, String> {
    let bridge = bridge(context, config)?;
    let courier = courier::worker(bridge.clone());
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
        server: TriageServiceServer::new(TriageApi::new(context.clone(), bridge)),
        sink,
        courier,
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
        Ok(
            ServiceParts::new(GrpcService::new(parts.server), parts.sink)
                .with_worker(parts.courier),
        )
    }
}
