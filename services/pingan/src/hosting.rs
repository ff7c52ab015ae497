//! The six services and how one process mounts any set of them on a [`ServiceHost`].

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

use pingan_platform::audit_witness::{self, AuditWitnessConfig};
use pingan_platform::clock::SharedClock;
use pingan_platform::config::ServerConfig;
use pingan_platform::events::{
    EventAdmin, EventConfig, EventSinkRouter, Outbox, Relay, ServiceSink, Subscriptions,
};
use pingan_platform::idempotency::RequestLog;
use pingan_platform::limits::{Guard, GuardEvent, audit_worker};
use pingan_platform::server::ServeError;
use pingan_proto::events::v1::event_admin_service_server::EventAdminServiceServer;
use pingan_proto::events::v1::event_sink_service_server::EventSinkServiceServer;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use pingan_platform::auth::{Authenticator, InvalidSecret, TokenIssuer};
use pingan_platform::clients::{Peers, ServiceCredentials};
use pingan_platform::config::Section;
use pingan_platform::health::Dependency;
use pingan_platform::pii::PiiKeys;
use pingan_platform::redis_store::RedisStore;
use pingan_platform::server::ServiceHost;
use pingan_platform::service::{
    BuildError, Service, ServiceConfig, Shutdown, ShutdownSwitch, Worker, Workers,
};
use pingan_platform::storage::{Db, Migrations, PoolSettings, StorageError, redact_url};
use pingan_platform::tls::{ClientTls, TlsArgs, TlsError};
use pingan_platform::{ApiError, ServiceContext};

/// One of Pingan's six services (the value `pingan serve <service>` and the tests name).
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

    /// The service's entry: the one table everything else about a service is read from.
    pub fn service(self) -> &'static dyn Service {
        match self {
            Self::Intake => &pingan_intake::SERVICE,
            Self::Triage => &pingan_triage::SERVICE,
            Self::Dispatch => &pingan_dispatch::SERVICE,
            Self::GridRegistry => &pingan_grid_registry::SERVICE,
            Self::CaseFollowup => &pingan_case_followup::SERVICE,
            Self::ComplaintsAudit => &pingan_complaints_audit::SERVICE,
        }
    }

    /// Short name: config, peers, data files (`intake`, `grid-registry`, ...).
    pub fn short_name(self) -> &'static str {
        self.service().short_name()
    }

    /// Full gRPC service name, as health and reflection report it.
    pub fn grpc_name(self) -> &'static str {
        self.service().grpc_name()
    }

    /// The service's migrations.
    pub fn migrations(self) -> &'static Migrations {
        self.service().migrations()
    }

    /// True for the service that keeps live state in Redis in the cluster shape.
    pub fn uses_redis(self) -> bool {
        self.service().uses_redis()
    }
}

/// The six services' entries, in the order `pingan dev` starts them.
pub fn services() -> impl Iterator<Item = &'static dyn Service> {
    ServiceKind::ALL.into_iter().map(ServiceKind::service)
}

/// Every service's settings, then the platform's shared ones (e.g. `--clear-read-reason`),
/// each flag once.
fn settings_specs() -> Vec<pingan_platform::service::SettingsSpec> {
    services()
        .filter_map(|service| service.settings())
        .chain(pingan_platform::config::clear_reads::shared_settings())
        .chain(pingan_platform::audit_witness::shared_settings())
        .collect()
}

/// The config-file sections of the services' settings (`[intake]`, `[triage]`, ...).
pub fn settings_sections() -> Vec<Section> {
    settings_specs()
        .into_iter()
        .map(|spec| Section {
            table: spec.table,
            augment: spec.augment_fn(),
        })
        .collect()
}

/// Adds every service's settings flags to `command` (`serve` and `dev`).
pub fn augment_settings(command: clap::Command) -> clap::Command {
    let (about, long_about) = (
        command.get_about().cloned(),
        command.get_long_about().cloned(),
    );
    let command = settings_specs()
        .into_iter()
        .fold(command, |command, spec| spec.augment(command));
    // Each settings struct brings its doc comment as `about`; the subcommand keeps its own.
    let command = match about {
        Some(about) => command.about(about),
        None => command,
    };
    match long_about {
        Some(long_about) => command.long_about(long_about),
        None => command.long_about(None::<&str>),
    }
}

/// Reads every service's settings from the matches of `serve` or `dev`.
pub fn read_settings(matches: &clap::ArgMatches) -> Result<ServiceConfig, clap::Error> {
    let mut config = ServiceConfig::default();
    for spec in settings_specs() {
        spec.read_into(matches, &mut config)?;
    }
    Ok(config)
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
    /// The CA and client certificate of a `rediss://` Redis (None: plain, or the system's roots).
    pub redis_tls: Option<pingan_platform::redis_store::RedisTls>,
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
    /// The TLS settings of the calls to peers are unusable.
    #[error("peers: {0}")]
    Tls(#[from] pingan_platform::tls::TlsError),
    /// The service could not be built from its configuration.
    #[error("{service}: {source}")]
    Service {
        /// Short service name.
        service: &'static str,
        /// What is wrong.
        #[source]
        source: BuildError,
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
    config: ServiceConfig,
    workers: Vec<Worker>,
    guard_events: Option<mpsc::UnboundedReceiver<GuardEvent>>,
    /// TLS of the calls to `https://` peers (loaded at the first mount).
    peer_tls: Option<Result<Option<ClientTls>, TlsError>>,
    tls_args: TlsArgs,
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
        let (events_sender, guard_events) = mpsc::unbounded_channel();
        let guard = Guard::new(server.limits.to_config(), security.authenticator.clone())
            .with_events(events_sender);
        let tls_args = server.tls.clone();
        let mut host = ServiceHost::new(server);
        host.set_guard(Arc::new(guard));
        Self {
            host,
            security,
            events,
            clock,
            subscriptions: Arc::new(crate::routing::subscriptions()),
            sinks: BTreeMap::new(),
            outboxes: BTreeMap::new(),
            relays: Vec::new(),
            config: ServiceConfig::default(),
            workers: Vec::new(),
            guard_events: Some(guard_events),
            peer_tls: None,
            tls_args,
        }
    }

    /// The services' typed settings, for services mounted after (defaults for any missing).
    pub fn set_config(&mut self, config: ServiceConfig) {
        self.config = config;
    }

    /// Settings of triage (rules file, 12345 gateway or simulator), for services mounted after.
    pub fn set_triage_config(&mut self, config: pingan_triage::TriageConfig) {
        self.config.insert(config);
    }

    /// Opens the storage of `kind` (applying migrations) and mounts it with its event sink,
    /// workers and outbox relay.
    pub async fn mount(
        &mut self,
        kind: ServiceKind,
        storage: &StorageChoice,
        peers: &BTreeMap<String, String>,
        pool: &PoolSettings,
    ) -> Result<ServiceContext, HostError> {
        self.mount_service(kind.service(), storage, peers, pool)
            .await
    }

    /// Like [`Process::mount`], for any [`Service`] entry.
    pub async fn mount_service(
        &mut self,
        entry: &dyn Service,
        storage: &StorageChoice,
        peers: &BTreeMap<String, String>,
        pool: &PoolSettings,
    ) -> Result<ServiceContext, HostError> {
        let service = entry.short_name();
        let db = Db::connect_and_migrate(&storage.database_url, pool, entry.migrations())
            .await
            .map_err(|source| HostError::Database {
                service,
                url: redact_url(&storage.database_url),
                source,
            })?;
        let redis = match (&storage.redis_url, entry.uses_redis()) {
            (Some(url), true) => Some(
                RedisStore::connect_with_tls(
                    url,
                    &storage.redis_prefix,
                    storage.redis_tls.as_ref(),
                )
                .await
                .map_err(|source| HostError::Redis { service, source })?,
            ),
            _ => None,
        };
        let tls_args = &self.tls_args;
        let peer_tls = self
            .peer_tls
            .get_or_insert_with(|| ClientTls::from_args(tls_args))
            .clone()?;
        let peers = Peers::with_tls(
            peers,
            Some(ServiceCredentials::new(
                self.security.issuer.clone(),
                service,
            )),
            peer_tls.as_ref(),
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

        let parts = entry
            .build(&context, &self.config)
            .map_err(|source| HostError::Service { service, source })?;
        let mut dependencies = vec![Dependency::Database(db)];
        dependencies.extend(redis.map(Dependency::Redis));
        for more in parts.more_grpc {
            self.host.add_grpc(more, dependencies.clone());
        }
        self.host.add_grpc(parts.grpc, dependencies);
        self.host.allow_service_calls(parts.service_calls);
        check_routes(service, &parts.sink);
        self.sinks.insert(service.to_owned(), parts.sink);
        self.workers.extend(parts.workers);
        if entry.witnesses_audit_chain() {
            let config = self.config.get_or_default::<AuditWitnessConfig>();
            let witness = audit_witness::worker(service, &context, &config).map_err(|err| {
                HostError::Service {
                    service,
                    source: BuildError(err.to_string()),
                }
            })?;
            self.workers.extend(witness);
        }
        self.outboxes.insert(service.to_owned(), outbox.clone());
        self.relays
            .push(Relay::new(outbox, peers, self.events.clone()));

        Ok(context)
    }

    /// The relays of the mounted services (tests drive them round by round).
    pub fn relays(&self) -> &[Relay] {
        &self.relays
    }

    /// Serves until `shutdown`, then stops in order: the services stop accepting calls and
    /// drain the ones in flight while the workers and the relays finish the piece of work in
    /// hand; all within the server's grace period (what is still running then is abandoned).
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
            mut workers,
            guard_events,
            clock,
            ..
        } = self;
        // The guard's records leave through the first service's outbox, like every audit record.
        if let (Some(events), Some(outbox)) = (guard_events, outboxes.values().next()) {
            workers.push(audit_worker(events, outbox.clone(), clock));
        }
        let router = EventSinkRouter::new(sinks, security.authenticator.clone());
        let sink_dependencies = router
            .databases()
            .into_iter()
            .map(Dependency::Database)
            .collect();
        host.add_service(EventSinkServiceServer::new(router), sink_dependencies);
        host.allow_service_calls(pingan_platform::events::SINK_SERVICE_CALLS);
        let admin_dependencies = outboxes
            .values()
            .map(|outbox| Dependency::Database(outbox.db().clone()))
            .collect();
        host.add_service(
            EventAdminServiceServer::new(EventAdmin::new(outboxes, security.authenticator.clone())),
            admin_dependencies,
        );
        let grace = host.shutdown_grace();

        let (switch, stopping) = ShutdownSwitch::new();
        let relay_workers = relays.into_iter().map(|relay| {
            Worker::new("outbox-relay", move |shutdown: Shutdown| {
                relay.run(shutdown)
            })
        });
        let running = Workers::start(
            workers.into_iter().chain(relay_workers).collect(),
            &stopping,
        );
        let signalled = tokio::spawn(async move {
            shutdown.await;
            let at = tokio::time::Instant::now();
            switch.signal();
            (at, switch)
        });

        let stop_serving = stopping.clone();
        let result = host
            .serve(listener, async move { stop_serving.signalled().await })
            .await;
        // The server also returns on a transport error: stop the workers then too.
        let deadline = if signalled.is_finished() {
            match signalled.await {
                Ok((at, _switch)) => at + grace,
                Err(_) => tokio::time::Instant::now() + grace,
            }
        } else {
            signalled.abort();
            tokio::time::Instant::now() + grace
        };
        if !running.wait(deadline).await {
            tracing::warn!("some workers did not stop within the grace period");
        }
        tracing::info!("stopped");
        result
    }
}
