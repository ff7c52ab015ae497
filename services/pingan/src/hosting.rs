//! The six services and how one process mounts any set of them on a [`ServiceHost`].

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

use pingan_platform::clock::SharedClock;
use pingan_platform::config::ServerConfig;
use pingan_platform::events::{
    EventAdmin, EventConfig, EventSinkRouter, Outbox, Relay, ServiceSink, Subscriptions,
};
use pingan_platform::idempotency::RequestLog;
use pingan_platform::server::ServeError;
use pingan_proto::events::v1::event_admin_service_server::EventAdminServiceServer;
use pingan_proto::events::v1::event_sink_service_server::EventSinkServiceServer;
use tokio::net::TcpListener;

use pingan_platform::auth::{Authenticator, InvalidSecret, TokenIssuer};
use pingan_platform::clients::{Peers, ServiceCredentials};
use pingan_platform::health::Dependency;
use pingan_platform::pii::PiiKeys;
use pingan_platform::redis_store::RedisStore;
use pingan_platform::server::ServiceHost;
use pingan_platform::storage::{Db, Migrations, PoolSettings, StorageError, redact_url};
use pingan_platform::{ApiError, ServiceContext};

/// One of Pingan's six services.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, clap::ValueEnum)]
pub enum ServiceKind {
    /// Calls, incidents and the incident timeline.
    Intake,
    /// Classification and the 110 ↔ 12345 bridge.
    Triage,
    /// Units, positions, assignments and the board.
    Dispatch,
    /// Grids, stations and the community registry.
    GridRegistry,
    /// Mediations, revisits, lost-and-found.
    CaseFollowup,
    /// Complaints against officers and the audit log.
    ComplaintsAudit,
}

impl ServiceKind {
    /// All six, in the order `pingan dev` starts them.
    pub const ALL: [ServiceKind; 6] = [
        Self::GridRegistry,
        Self::Triage,
        Self::Dispatch,
        Self::CaseFollowup,
        Self::ComplaintsAudit,
        Self::Intake,
    ];

    /// Short name: config, peers, data files (`intake`, `grid-registry`, ...).
    pub fn short_name(self) -> &'static str {
        match self {
            Self::Intake => pingan_intake::SHORT_NAME,
            Self::Triage => pingan_triage::SHORT_NAME,
            Self::Dispatch => pingan_dispatch::SHORT_NAME,
            Self::GridRegistry => pingan_grid_registry::SHORT_NAME,
            Self::CaseFollowup => pingan_case_followup::SHORT_NAME,
            Self::ComplaintsAudit => pingan_complaints_audit::SHORT_NAME,
        }
    }

    /// Full gRPC service name, as health and reflection report it.
    pub fn grpc_name(self) -> &'static str {
        use tonic::server::NamedService;
        match self {
            Self::Intake => pingan_proto::intake::v1::intake_service_server::IntakeServiceServer::<
                pingan_intake::IntakeApi,
            >::NAME,
            Self::Triage => pingan_proto::triage::v1::triage_service_server::TriageServiceServer::<
                pingan_triage::TriageApi,
            >::NAME,
            Self::Dispatch => {
                pingan_proto::dispatch::v1::dispatch_service_server::DispatchServiceServer::<
                    pingan_dispatch::DispatchApi,
                >::NAME
            }
            Self::GridRegistry => {
                pingan_proto::grid::v1::grid_registry_service_server::GridRegistryServiceServer::<
                    pingan_grid_registry::GridRegistryApi,
                >::NAME
            }
            Self::CaseFollowup => {
                pingan_proto::followup::v1::case_followup_service_server::CaseFollowupServiceServer::<
                    pingan_case_followup::CaseFollowupApi,
                >::NAME
            }
            Self::ComplaintsAudit => {
                pingan_proto::audit::v1::complaints_audit_service_server::ComplaintsAuditServiceServer::<
                    pingan_complaints_audit::ComplaintsAuditApi,
                >::NAME
            }
        }
    }

    /// The service's migrations.
    pub fn migrations(self) -> &'static Migrations {
        match self {
            Self::Intake => &pingan_intake::MIGRATIONS,
            Self::Triage => &pingan_triage::MIGRATIONS,
            Self::Dispatch => &pingan_dispatch::MIGRATIONS,
            Self::GridRegistry => &pingan_grid_registry::MIGRATIONS,
            Self::CaseFollowup => &pingan_case_followup::MIGRATIONS,
            Self::ComplaintsAudit => &pingan_complaints_audit::MIGRATIONS,
        }
    }

    /// True for the service that keeps live state in Redis in the cluster shape.
    pub fn uses_redis(self) -> bool {
        matches!(self, Self::Dispatch)
    }
}

/// Where a service keeps its data.
#[derive(Debug, Clone)]
pub struct StorageChoice {
    /// `postgres://…` or `sqlite://…`.
    pub database_url: String,
    /// Redis URL; `None` keeps live state in process (the embedded shape).
    pub redis_url: Option<String>,
    /// Key prefix in Redis, so services and tests can share a server.
    pub redis_prefix: String,
}

/// How the hosted services check callers and prove themselves to each other.
#[derive(Debug, Clone)]
pub struct Security {
    /// Checks incoming bearer tokens.
    pub authenticator: Authenticator,
    /// Signs the services' own tokens for calls to their peers.
    pub issuer: TokenIssuer,
    /// Hash and encryption keys for phone and ID numbers.
    pub pii: PiiKeys,
}

impl Security {
    /// Tokens signed and checked with `secret`; anonymous calls refused.
    pub fn new(secret: &[u8], issuer: &str, pii: PiiKeys) -> Result<Self, InvalidSecret> {
        Ok(Self {
            authenticator: Authenticator::new(secret, issuer)?,
            issuer: TokenIssuer::new(secret, issuer)?,
            pii,
        })
    }

    /// The embedded dev shape: anonymous calls act as the dev user.
    pub fn dev(secret: &[u8], issuer: &str, pii: PiiKeys) -> Result<Self, InvalidSecret> {
        Ok(Self {
            authenticator: Authenticator::allowing_anonymous_dev(secret, issuer)?,
            issuer: TokenIssuer::new(secret, issuer)?,
            pii,
        })
    }
}

/// Errors while bringing a service up.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// The database could not be opened or migrated.
    #[error("{service}: database {url}: {source}")]
    Database {
        /// Short service name.
        service: &'static str,
        /// The URL, password removed.
        url: String,
        /// What failed.
        #[source]
        source: StorageError,
    },
    /// Redis could not be reached.
    #[error("{service}: redis: {source}")]
    Redis {
        /// Short service name.
        service: &'static str,
        /// What failed.
        #[source]
        source: pingan_platform::redis_store::RedisError,
    },
    /// A peer URL is invalid.
    #[error("peers: {0}")]
    Peers(#[from] ApiError),
    /// The service could not be built from its configuration.
    #[error("{service}: {reason}")]
    Service {
        /// Short service name.
        service: &'static str,
        /// What is wrong.
        reason: String,
    },
}

/// Warns when the routing table and a service's handlers disagree: events it cannot handle
/// yet wait as dead letters; handlers nobody routes to never run.
fn check_routes(service: &str, sink: &ServiceSink) {
    let routed = crate::routing::routed_to(service);
    let handled: Vec<&str> = sink.event_types().collect();
    for event_type in &routed {
        if !handled.contains(event_type) {
            tracing::warn!(
                service,
                event_type,
                "events routed here have no handler yet: they will wait"
            );
        }
    }
    for event_type in handled {
        if !routed.contains(&event_type) {
            tracing::warn!(service, event_type, "handler for events nobody routes here");
        }
    }
}

/// One process: the services it hosts on one listener, their event sinks and outbox relays.
pub struct Process {
    host: ServiceHost,
    security: Security,
    events: EventConfig,
    clock: SharedClock,
    subscriptions: Arc<Subscriptions>,
    sinks: BTreeMap<String, ServiceSink>,
    outboxes: BTreeMap<String, Outbox>,
    relays: Vec<Relay>,
    triage: pingan_triage::TriageConfig,
}

impl std::fmt::Debug for Process {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Process")
            .field("services", &self.host.service_names())
            .finish()
    }
}

impl Process {
    /// A process with no services yet.
    pub fn new(
        server: ServerConfig,
        security: Security,
        events: EventConfig,
        clock: SharedClock,
    ) -> Self {
        Self {
            host: ServiceHost::new(server),
            security,
            events,
            clock,
            subscriptions: Arc::new(crate::routing::subscriptions()),
            sinks: BTreeMap::new(),
            outboxes: BTreeMap::new(),
            relays: Vec::new(),
            triage: pingan_triage::TriageConfig::default(),
        }
    }

    /// Settings of triage (rules file, 12345 gateway or simulator), for services mounted after.
    pub fn set_triage_config(&mut self, config: pingan_triage::TriageConfig) {
        self.triage = config;
    }

    /// Opens the service's storage (applying migrations) and mounts it with its event sink and
    /// outbox relay.
    pub async fn mount(
        &mut self,
        kind: ServiceKind,
        storage: &StorageChoice,
        peers: &BTreeMap<String, String>,
        pool: &PoolSettings,
    ) -> Result<ServiceContext, HostError> {
        let service = kind.short_name();
        let db = Db::connect_and_migrate(&storage.database_url, pool, kind.migrations())
            .await
            .map_err(|source| HostError::Database {
                service,
                url: redact_url(&storage.database_url),
                source,
            })?;
        let redis = match (&storage.redis_url, kind.uses_redis()) {
            (Some(url), true) => Some(
                RedisStore::connect(url, &storage.redis_prefix)
                    .await
                    .map_err(|source| HostError::Redis { service, source })?,
            ),
            _ => None,
        };
        let peers = Peers::new(
            peers,
            Some(ServiceCredentials::new(
                self.security.issuer.clone(),
                service,
            )),
        )?;
        let outbox = Outbox::new(
            service,
            db.clone(),
            self.subscriptions.clone(),
            self.clock.clone(),
        );
        let context = ServiceContext {
            db: db.clone(),
            redis: redis.clone(),
            peers: peers.clone(),
            auth: self.security.authenticator.clone(),
            pii: self.security.pii.clone(),
            clock: self.clock.clone(),
            outbox: outbox.clone(),
            requests: RequestLog::new(db.clone(), self.clock.clone()),
        };

        let mut dependencies = vec![Dependency::Database(db)];
        dependencies.extend(redis.map(Dependency::Redis));
        let sink = self.add_service(kind, &context, dependencies)?;
        check_routes(service, &sink);
        self.sinks.insert(service.to_owned(), sink);
        self.outboxes.insert(service.to_owned(), outbox.clone());
        self.relays
            .push(Relay::new(outbox, peers, self.events.clone()));

        Ok(context)
    }

    /// Mounts the tonic service of `kind` and returns its inbox; both are built together because
    /// they may share state (triage's rules, 12345 gateway and ledger).
    fn add_service(
        &mut self,
        kind: ServiceKind,
        context: &ServiceContext,
        dependencies: Vec<Dependency>,
    ) -> Result<ServiceSink, HostError> {
        let host = &mut self.host;
        Ok(match kind {
            ServiceKind::Intake => {
                host.add_service(pingan_intake::service(context), dependencies);
                pingan_intake::event_sink(context)
            }
            ServiceKind::Triage => {
                let parts = pingan_triage::build(context, &self.triage).map_err(|reason| {
                    HostError::Service {
                        service: kind.short_name(),
                        reason,
                    }
                })?;
                host.add_service(parts.server, dependencies);
                parts.sink
            }
            ServiceKind::Dispatch => {
                host.add_service(pingan_dispatch::service(context), dependencies);
                pingan_dispatch::event_sink(context)
            }
            ServiceKind::GridRegistry => {
                host.add_service(pingan_grid_registry::service(context), dependencies);
                pingan_grid_registry::event_sink(context)
            }
            ServiceKind::CaseFollowup => {
                host.add_service(pingan_case_followup::service(context), dependencies);
                pingan_case_followup::event_sink(context)
            }
            ServiceKind::ComplaintsAudit => {
                host.add_service(pingan_complaints_audit::service(context), dependencies);
                pingan_complaints_audit::event_sink(context)
            }
        })
    }

    /// The relays of the mounted services (tests drive them round by round).
    pub fn relays(&self) -> &[Relay] {
        &self.relays
    }

    /// Serves until `shutdown`: the services, the event sink and admin, and the relays.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServeError> {
        let Self {
            mut host,
            security,
            sinks,
            outboxes,
            relays,
            ..
        } = self;
        let router = EventSinkRouter::new(sinks, security.authenticator.clone());
        let sink_dependencies = router
            .databases()
            .into_iter()
            .map(Dependency::Database)
            .collect();
        host.add_service(EventSinkServiceServer::new(router), sink_dependencies);
        let admin_dependencies = outboxes
            .values()
            .map(|outbox| Dependency::Database(outbox.db().clone()))
            .collect();
        host.add_service(
            EventAdminServiceServer::new(EventAdmin::new(outboxes, security.authenticator.clone())),
            admin_dependencies,
        );
        let relay_tasks: Vec<_> = relays
            .into_iter()
            .map(|relay| tokio::spawn(relay.run()))
            .collect();
        let result = host.serve(listener, shutdown).await;
        for task in relay_tasks {
            task.abort();
        }
        result
    }
}
