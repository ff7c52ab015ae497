//! The end-to-end harness every scenario uses: boots any set of Pingan services in-process on
//! ephemeral loopback ports, either each on its own port (the cluster shape) or all on one
//! (the `pingan dev` shape), on SQLite by default or on Postgres + Redis
//! (`PINGAN_TEST_DATABASE_URL`, `PINGAN_TEST_REDIS_URL`). Every service gets a fresh database
//! and every test a fresh Redis key prefix, so tests run in parallel. A configured server that
//! cannot be reached fails the test.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use pingan::{Process, Security, ServiceKind, StorageChoice};
use pingan_platform::auth::{Role, TokenIssuer};
use pingan_platform::config::ServerConfig;
use pingan_platform::events::EventConfig;
use pingan_platform::server::ServeError;
use pingan_platform::service::ServiceConfig;
use pingan_platform::storage::{Backend, PoolSettings};
use pingan_platform::testing::{self, REDIS_URL_VAR, TestDatabase, unique_name};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::{Channel, Endpoint};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

pub use pingan::ServiceKind as Service;
pub use pingan_platform::backend_tests;
pub use pingan_platform::storage::Backend as TestBackend;

/// Adds a bearer token to every call (see [`TestCluster::channel_as`]).
#[derive(Debug, Clone)]
pub struct Bearer(tonic::metadata::MetadataValue<tonic::metadata::Ascii>);

impl Bearer {
    /// Sends `token` as the bearer token (for channels the harness did not make, e.g. to a replica).
    pub fn new(token: &str) -> anyhow::Result<Self> {
        Ok(Self(tonic::metadata::MetadataValue::try_from(format!(
            "Bearer {token}"
        ))?))
    }
}

impl tonic::service::Interceptor for Bearer {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        request
            .metadata_mut()
            .insert("authorization", self.0.clone());
        Ok(request)
    }
}

/// How the services are laid out over listeners.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topology {
    /// Each service on its own port, calling the others over gRPC (the cluster shape).
    PortPerService,
    /// All services on one port (the `pingan dev` shape).
    SharedPort,
}

struct RunningHost {
    addr: SocketAddr,
    services: Vec<ServiceKind>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), ServeError>>,
}

/// A set of running services and the storage they own.
pub struct TestCluster {
    backend: Backend,
    issuer: TokenIssuer,
    hosts: Vec<RunningHost>,
    databases: Vec<TestDatabase>,
    database_urls: BTreeMap<ServiceKind, String>,
    redis_prefix: String,
    contexts: BTreeMap<ServiceKind, pingan_platform::ServiceContext>,
    replica: Option<ReplicaRecipe>,
}

/// What a further instance of a running service needs to join the same storage.
#[derive(Clone)]
struct ReplicaRecipe {
    security: Security,
    clock: pingan_platform::clock::SharedClock,
    peers: BTreeMap<String, String>,
    storage: BTreeMap<ServiceKind, StorageChoice>,
    settings: ServiceConfig,
}

impl std::fmt::Debug for TestCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestCluster")
            .field("backend", &self.backend)
            .field("endpoints", &self.endpoints())
            .finish()
    }
}

/// Server settings for tests: quick health probes, short grace.
pub fn test_server_config() -> ServerConfig {
    ServerConfig {
        health_interval: Duration::from_millis(200),
        shutdown_grace: Duration::from_secs(5),
        ..ServerConfig::default()
    }
}

/// Event delivery for tests: quick retries and polls.
pub fn test_event_config() -> EventConfig {
    EventConfig {
        initial_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(500),
        poll_interval: Duration::from_millis(100),
        ..EventConfig::default()
    }
}

/// What a cluster needs beyond its services.
#[derive(Debug, Clone, Default)]
pub struct ClusterOptions {
    /// Extra or overriding peer endpoints, `name → url` (e.g. a fake of a service not built yet).
    pub peers: BTreeMap<String, String>,
    /// Settings of triage (e.g. a 12345 simulator the test drives).
    pub triage: Option<pingan_triage::TriageConfig>,
}

/// A fresh signing secret and PII keys for one test cluster.
fn test_security() -> anyhow::Result<Security> {
    Ok(Security::new(
        &pingan_platform::auth::random_secret(),
        "pingan-test",
        pingan_platform::pii::PiiKeys::random(),
    )?)
}

impl TestCluster {
    /// Starts `services` on `backend`, each on its own port.
    pub async fn start(backend: Backend, services: &[ServiceKind]) -> anyhow::Result<Self> {
        Self::start_with(backend, services, Topology::PortPerService).await
    }

    /// Starts `services` on `backend` with the given topology, and waits until all are SERVING.
    pub async fn start_with(
        backend: Backend,
        services: &[ServiceKind],
        topology: Topology,
    ) -> anyhow::Result<Self> {
        Self::start_with_clock(
            backend,
            services,
            topology,
            pingan_platform::clock::system(),
        )
        .await
    }

    /// Like [`TestCluster::start_with`], with the services reading time from `clock` (a
    /// [`pingan_platform::clock::ManualClock`] makes deadlines and retries testable without sleeps).
    pub async fn start_with_clock(
        backend: Backend,
        services: &[ServiceKind],
        topology: Topology,
        clock: pingan_platform::clock::SharedClock,
    ) -> anyhow::Result<Self> {
        Self::start_with_options(
            backend,
            services,
            topology,
            clock,
            ClusterOptions::default(),
        )
        .await
    }

    /// Like [`TestCluster::start_with_clock`], with extra peer endpoints (`name → url`) that
    /// override the cluster's own: e.g. intake calling fake grid-registry, triage and dispatch
    /// servers that a test runs in-process.
    pub async fn start_with_peers(
        backend: Backend,
        services: &[ServiceKind],
        topology: Topology,
        clock: pingan_platform::clock::SharedClock,
        extra_peers: &BTreeMap<String, String>,
    ) -> anyhow::Result<Self> {
        let options = ClusterOptions {
            peers: extra_peers.clone(),
            ..ClusterOptions::default()
        };
        Self::start_with_options(backend, services, topology, clock, options).await
    }

    /// Like [`TestCluster::start_with_clock`], with extra peers and service settings.
    pub async fn start_with_options(
        backend: Backend,
        services: &[ServiceKind],
        topology: Topology,
        clock: pingan_platform::clock::SharedClock,
        options: ClusterOptions,
    ) -> anyhow::Result<Self> {
        Self::start_with_server(
            backend,
            services,
            topology,
            clock,
            options,
            test_server_config(),
        )
        .await
    }

    /// Like [`TestCluster::start_with_options`], with server settings of the test's own (e.g.
    /// call limits).
    pub async fn start_with_server(
        backend: Backend,
        services: &[ServiceKind],
        topology: Topology,
        clock: pingan_platform::clock::SharedClock,
        options: ClusterOptions,
        server: ServerConfig,
    ) -> anyhow::Result<Self> {
        Self::start_with_settings(
            backend,
            services,
            topology,
            clock,
            options,
            server,
            ServiceConfig::default(),
        )
        .await
    }

    /// Like [`TestCluster::start_with_server`], with typed service settings (e.g.
    /// complaints-audit's checkpoint key and sink); triage's in `options` win.
    pub async fn start_with_settings(
        backend: Backend,
        services: &[ServiceKind],
        topology: Topology,
        clock: pingan_platform::clock::SharedClock,
        options: ClusterOptions,
        server: ServerConfig,
        settings: ServiceConfig,
    ) -> anyhow::Result<Self> {
        let security = test_security()?;
        Self::start_full(
            backend, services, topology, clock, options, server, settings, security,
        )
        .await
    }

    /// Like [`TestCluster::start_with_server`], checking callers and signing as `security`
    /// says (e.g. an identity provider's JWKS, an audience).
    pub async fn start_with_security(
        backend: Backend,
        services: &[ServiceKind],
        topology: Topology,
        clock: pingan_platform::clock::SharedClock,
        options: ClusterOptions,
        server: ServerConfig,
        security: Security,
    ) -> anyhow::Result<Self> {
        Self::start_full(
            backend,
            services,
            topology,
            clock,
            options,
            server,
            ServiceConfig::default(),
            security,
        )
        .await
    }

    #[allow(clippy::too_many_arguments)] // the public entry points above each fix a subset
    async fn start_full(
        backend: Backend,
        services: &[ServiceKind],
        topology: Topology,
        clock: pingan_platform::clock::SharedClock,
        options: ClusterOptions,
        server: ServerConfig,
        settings: ServiceConfig,
        security: Security,
    ) -> anyhow::Result<Self> {
        let groups: Vec<Vec<ServiceKind>> = match topology {
            Topology::PortPerService => services.iter().map(|s| vec![*s]).collect(),
            Topology::SharedPort => vec![services.to_vec()],
        };
        // Bind first, so every service knows every peer's address before it starts.
        let mut listeners = Vec::new();
        for group in groups {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            listeners.push((listener.local_addr()?, listener, group));
        }
        let peers: BTreeMap<String, String> = listeners
            .iter()
            .flat_map(|(addr, _, group)| {
                group
                    .iter()
                    .map(move |kind| (kind.short_name().to_owned(), format!("http://{addr}")))
            })
            .chain(options.peers.clone())
            .collect();

        let redis_url = match backend {
            Backend::Postgres => Some(std::env::var(REDIS_URL_VAR).with_context(|| {
                format!("{REDIS_URL_VAR} must be set for the Postgres + Redis run")
            })?),
            Backend::Sqlite => None,
        };
        let mut cluster = Self {
            backend,
            issuer: security.issuer.clone(),
            hosts: Vec::new(),
            databases: Vec::new(),
            database_urls: BTreeMap::new(),
            redis_prefix: format!("{}:", unique_name("pingan_t")),
            contexts: BTreeMap::new(),
            replica: None,
        };
        let mut recipe = ReplicaRecipe {
            security: security.clone(),
            clock: clock.clone(),
            peers: peers.clone(),
            storage: BTreeMap::new(),
            settings: settings.clone(),
        };
        for (addr, listener, group) in listeners {
            let mut process = Process::new(
                server.clone(),
                security.clone(),
                test_event_config(),
                clock.clone(),
            );
            process.set_config(settings.clone());
            if let Some(triage) = &options.triage {
                process.set_triage_config(triage.clone());
            }
            for kind in &group {
                let database = TestDatabase::create(backend, kind.migrations())
                    .await
                    .with_context(|| format!("database for {}", kind.short_name()))?;
                let storage = StorageChoice {
                    database_url: database.url.clone(),
                    redis_url: redis_url.clone(),
                    redis_prefix: format!("{}{}:", cluster.redis_prefix, kind.short_name()),
                    redis_tls: None,
                };
                cluster.database_urls.insert(*kind, database.url.clone());
                cluster.databases.push(database);
                let pool = test_pool();
                let context = process.mount(*kind, &storage, &peers, &pool).await?;
                cluster.contexts.insert(*kind, context);
                recipe.storage.insert(*kind, storage);
            }
            let (stop, stopped) = oneshot::channel::<()>();
            let task = tokio::spawn(process.serve(listener, async move {
                let _ = stopped.await;
            }));
            cluster.hosts.push(RunningHost {
                addr,
                services: group,
                stop: Some(stop),
                task,
            });
        }
        cluster.replica = Some(recipe);
        for kind in services {
            cluster
                .wait_for_status(*kind, ServingStatus::Serving)
                .await?;
        }
        Ok(cluster)
    }

    /// The context (database, Redis, clock, outbox) `kind` runs with, e.g. to drive its timers
    /// by hand or to check its tables directly.
    pub fn context(&self, kind: ServiceKind) -> anyhow::Result<pingan_platform::ServiceContext> {
        self.contexts
            .get(&kind)
            .cloned()
            .with_context(|| format!("{} is not running in this cluster", kind.short_name()))
    }

    /// Starts one more instance of the running service `kind` in its own process host, on the
    /// same database and Redis prefix and with the same settings (a second replica, or a
    /// restart); returns its endpoint. It stops with the cluster.
    pub async fn start_replica(&mut self, kind: ServiceKind) -> anyhow::Result<String> {
        self.start_replica_keyed(kind, None).await
    }

    /// Like [`TestCluster::start_replica`], with other personal-data keys (e.g. after a key
    /// rotation, without the old key); tokens are still the cluster's.
    pub async fn start_replica_with_pii(
        &mut self,
        kind: ServiceKind,
        pii: pingan_platform::pii::PiiKeys,
    ) -> anyhow::Result<String> {
        self.start_replica_keyed(kind, Some(pii)).await
    }

    async fn start_replica_keyed(
        &mut self,
        kind: ServiceKind,
        pii: Option<pingan_platform::pii::PiiKeys>,
    ) -> anyhow::Result<String> {
        let mut recipe = self.replica.clone().context("cluster not started")?;
        if let Some(pii) = pii {
            recipe.security.pii = pii;
        }
        let storage = recipe
            .storage
            .get(&kind)
            .cloned()
            .with_context(|| format!("{} is not running in this cluster", kind.short_name()))?;
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let mut process = Process::new(
            test_server_config(),
            recipe.security.clone(),
            test_event_config(),
            recipe.clock.clone(),
        );
        process.set_config(recipe.settings.clone());
        let pool = test_pool();
        process.mount(kind, &storage, &recipe.peers, &pool).await?;
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(process.serve(listener, async move {
            let _ = stopped.await;
        }));
        // Replicas are not registered as the endpoint of `kind`: callers reach them by address.
        self.hosts.push(RunningHost {
            addr,
            services: Vec::new(),
            stop: Some(stop),
            task,
        });
        let endpoint = format!("http://{addr}");
        let mut client = HealthClient::new(
            Endpoint::from_shared(endpoint.clone())?
                .connect_timeout(Duration::from_secs(3))
                .connect_lazy(),
        );
        let wait = async {
            let mut stream = client
                .watch(HealthCheckRequest {
                    service: kind.grpc_name().to_owned(),
                })
                .await?
                .into_inner();
            while let Some(message) = stream.message().await? {
                if message.status == ServingStatus::Serving as i32 {
                    return anyhow::Ok(());
                }
            }
            anyhow::bail!("health stream of the replica ended")
        };
        tokio::time::timeout(Duration::from_secs(20), wait)
            .await
            .context("replica did not become SERVING")??;
        Ok(endpoint)
    }

    /// The issuer of the cluster's tokens (e.g. a service's credentials for a client the
    /// test builds itself).
    pub fn issuer(&self) -> &TokenIssuer {
        &self.issuer
    }

    /// The backend this cluster runs on.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// `service name → http://addr` for every running service.
    pub fn endpoints(&self) -> BTreeMap<&'static str, String> {
        self.hosts
            .iter()
            .flat_map(|host| {
                host.services
                    .iter()
                    .map(move |kind| (kind.short_name(), format!("http://{}", host.addr)))
            })
            .collect()
    }

    /// The endpoint serving `kind`.
    pub fn endpoint(&self, kind: ServiceKind) -> anyhow::Result<String> {
        self.hosts
            .iter()
            .find(|host| host.services.contains(&kind))
            .map(|host| format!("http://{}", host.addr))
            .with_context(|| format!("{} is not running in this cluster", kind.short_name()))
    }

    /// The URL of `kind`'s own database (for tests that inspect or tamper with storage).
    pub fn database_url(&self, kind: ServiceKind) -> anyhow::Result<String> {
        self.database_urls
            .get(&kind)
            .cloned()
            .with_context(|| format!("{} is not running in this cluster", kind.short_name()))
    }

    /// A (lazily connecting) channel to the endpoint serving `kind`.
    pub fn channel(&self, kind: ServiceKind) -> anyhow::Result<Channel> {
        Ok(Endpoint::from_shared(self.endpoint(kind)?)?
            .connect_timeout(Duration::from_secs(3))
            .connect_lazy())
    }

    /// A bearer token for `subject` with `roles` over `stations`, valid for an hour.
    pub fn token(
        &self,
        subject: &str,
        roles: &[Role],
        stations: &[&str],
    ) -> anyhow::Result<String> {
        Ok(self
            .issuer
            .issue(subject, roles, stations, Duration::from_secs(3600))?)
    }

    /// A channel to `kind` whose calls carry `token`.
    pub fn channel_as(
        &self,
        kind: ServiceKind,
        token: &str,
    ) -> anyhow::Result<tonic::service::interceptor::InterceptedService<Channel, Bearer>> {
        let value = tonic::metadata::MetadataValue::try_from(format!("Bearer {token}"))?;
        Ok(tonic::service::interceptor::InterceptedService::new(
            self.channel(kind)?,
            Bearer(value),
        ))
    }

    /// The health status `kind` reports now.
    pub async fn health(&self, kind: ServiceKind) -> anyhow::Result<ServingStatus> {
        let response = HealthClient::new(self.channel(kind)?)
            .check(HealthCheckRequest {
                service: kind.grpc_name().to_owned(),
            })
            .await?
            .into_inner();
        Ok(ServingStatus::try_from(response.status).unwrap_or(ServingStatus::Unknown))
    }

    /// Waits (at most 20 s) until `kind` reports `wanted`.
    pub async fn wait_for_status(
        &self,
        kind: ServiceKind,
        wanted: ServingStatus,
    ) -> anyhow::Result<()> {
        let mut client = HealthClient::new(self.channel(kind)?);
        let wait = async {
            let mut stream = client
                .watch(HealthCheckRequest {
                    service: kind.grpc_name().to_owned(),
                })
                .await?
                .into_inner();
            while let Some(message) = stream.message().await? {
                if message.status == wanted as i32 {
                    return anyhow::Ok(());
                }
            }
            anyhow::bail!("health stream of {} ended", kind.short_name())
        };
        tokio::time::timeout(Duration::from_secs(20), wait)
            .await
            .with_context(|| format!("{} did not become {wanted:?}", kind.short_name()))?
    }

    /// Stops every service and removes the databases and Redis keys of this cluster.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        for host in &mut self.hosts {
            if let Some(stop) = host.stop.take() {
                let _ = stop.send(());
            }
        }
        for host in self.hosts.drain(..) {
            tokio::time::timeout(Duration::from_secs(10), host.task)
                .await
                .context("service did not stop in time")???;
        }
        for database in self.databases.drain(..) {
            database.cleanup().await;
        }
        if self.backend == Backend::Postgres
            && let Ok(url) = std::env::var(REDIS_URL_VAR)
            && let Ok(store) =
                pingan_platform::redis_store::RedisStore::connect(&url, &self.redis_prefix).await
        {
            testing::cleanup_redis(&store).await;
        }
        Ok(())
    }
}

/// The pools of services under test: small, and patient enough for a loaded CI machine (the 2 s
/// fail-fast acquire of production is tested where it matters, with its own settings).
fn test_pool() -> PoolSettings {
    PoolSettings {
        max_connections: 5,
        acquire_timeout: std::time::Duration::from_secs(5),
        ..PoolSettings::default()
    }
}
