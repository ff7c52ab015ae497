//! The six-process shape: one `pingan serve <service>` per service, each on a fresh Postgres
//! database of its own (created on the server the bench is pointed at, dropped afterwards), dispatch's
//! live positions in Redis under a key prefix of this run (deleted afterwards), peers wired as the
//! chart wires them, bearer tokens signed with a secret of this run. The demo jurisdiction is loaded
//! with `pingan registry import`, the import `pingan dev` runs on an empty registry.
//! (~610 lines: one launch sequence, read top to bottom.) The URLs it hands out are built in
//! `six_urls.rs`, the clean-up in `six_cleanup.rs`; its per-process environment (TLS, Redis TLS)
//! is the next piece to move into its own file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use pingan_platform::auth::{Role, TokenIssuer};
use pingan_platform::tls::{ClientTlsArgs, certs};
use sqlx::Connection as _;
use tokio::process::Command;

use crate::relay::Relay;
use crate::system::{self, Process};
use cleanup::{connect_admin, delete_keys, drop_databases, drop_stale_databases};
use urls::{database_url, socket_of, through};

/// (short name, gRPC service its health reports) of the six services, in start order.
pub const SERVICES: [(&str, &str); 6] = [
    ("complaints-audit", "pingan.audit.v1.ComplaintsAuditService"),
    ("grid-registry", "pingan.grid.v1.GridRegistryService"),
    ("case-followup", "pingan.followup.v1.CaseFollowupService"),
    ("triage", "pingan.triage.v1.TriageService"),
    ("dispatch", "pingan.dispatch.v1.DispatchService"),
    ("intake", "pingan.intake.v1.IntakeService"),
];

/// Database connections per process: six pools of the `serve` default (20) would exceed a stock
/// Postgres (100) that the tests share; 10 each keeps the run on one server.
pub const POOL_PER_PROCESS: &str = "10";

const DATABASE_PREFIX: &str = "pingan_b_";

#[path = "six_cleanup.rs"]
mod cleanup;
#[path = "six_urls.rs"]
mod urls;

/// How the shape is started beyond the defaults of the bench (one process per service, no
/// proxies, no trace export, the built-in 12345 simulator).
#[derive(Debug, Clone)]
pub struct Options {
    /// Processes per service (1 when absent); a service with more sits behind a round-robin
    /// [`Relay`], and its peers and [`SixProcesses::endpoint`] point at that relay.
    pub replicas: BTreeMap<&'static str, usize>,
    /// A cuttable [`Relay`] between each process and its Postgres (and its Redis, for dispatch).
    pub proxies: bool,
    /// `OTEL_EXPORTER_OTLP_ENDPOINT` of every process.
    pub otlp_endpoint: Option<String>,
    /// Triage's `PINGAN_HOTLINE_GATEWAY` (the built-in simulator when unset).
    pub hotline_gateway: Option<String>,
    /// `PINGAN_HEALTH_INTERVAL` of every process (e.g. `500ms`).
    pub health_interval: Option<String>,
    /// More environment for every process.
    pub env: Vec<(String, String)>,
    /// `RUST_LOG` of every process.
    pub log_filter: String,
    /// Database connections per process.
    pub pool_per_process: String,
    /// Mutual TLS everywhere, with certificates made in this directory (`pingan certs dev`'s
    /// code): every process serves TLS and requires a client certificate, calls its peers at
    /// `https://` with its own; the harness's clients present the [`CONSOLE`] certificate (no
    /// service identity: they still need a token).
    pub tls: Option<PathBuf>,
    /// Every process reaches Postgres with `sslmode=require` (else `sslmode=disable`, unless the
    /// admin URL names its own).
    pub database_tls: bool,
    /// Dispatch's Redis over TLS: a private TLS-only `redis-server` of this run whose
    /// certificate the run's CA issued, requiring client certificates (needs `tls`); the
    /// processes connect with `rediss://`, the CA and their own client certificates.
    pub redis_tls: bool,
}

/// The name of the certificate the harness's own clients present.
pub const CONSOLE: &str = "console";

impl Default for Options {
    fn default() -> Self {
        Self {
            replicas: BTreeMap::new(),
            proxies: false,
            otlp_endpoint: None,
            hotline_gateway: None,
            health_interval: None,
            env: Vec::new(),
            log_filter: "warn".to_owned(),
            pool_per_process: POOL_PER_PROCESS.to_owned(),
            tls: None,
            database_tls: false,
            redis_tls: false,
        }
    }
}

/// What starts one process again after it died: the same binary, arguments and environment.
#[derive(Debug, Clone)]
struct Spec {
    binary: PathBuf,
    args: Vec<String>,
    env: Vec<(String, String)>,
}

impl Spec {
    fn command(&self) -> Command {
        let mut command = Command::new(&self.binary);
        command
            .args(&self.args)
            .env_remove("PINGAN_CONFIG")
            .env_remove("PINGAN_METRICS_LISTEN")
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT");
        for (key, value) in &self.env {
            command.env(key, value);
        }
        command
    }
}

/// One `pingan serve <service>` process (one replica of its service).
#[derive(Debug)]
pub struct Instance {
    /// Short name of the service.
    pub service: &'static str,
    /// The gRPC service its health reports.
    pub health: &'static str,
    /// 1, 2, … among the replicas of its service.
    pub replica: usize,
    /// Its own endpoint (not the balancer's).
    pub endpoint: String,
    /// The relay between it and its Postgres, when the shape has proxies.
    pub postgres: Option<Relay>,
    /// The relay between it and its Redis, when the shape has proxies and the service uses Redis.
    pub redis: Option<Relay>,
    process: Option<Process>,
    spec: Spec,
    log: PathBuf,
    client_tls: ClientTlsArgs,
}

impl Instance {
    /// `intake-2`, `triage-1`, …
    pub fn name(&self) -> String {
        format!("{}-{}", self.service, self.replica)
    }

    /// The running process (none between a kill and its restart).
    pub fn process(&self) -> Option<&Process> {
        self.process.as_ref()
    }

    /// Resident memory in MiB.
    pub fn rss_mib(&self) -> Option<f64> {
        self.process.as_ref()?.rss_mib()
    }

    /// SIGKILL (kill -9), then reaps the process.
    pub async fn kill9(&mut self) -> anyhow::Result<()> {
        if let Some(process) = self.process.take() {
            process.kill9().await?;
        }
        Ok(())
    }

    /// Starts the process again (same port, database, peers) and waits until it serves.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        let tls = self.client_tls.clone();
        anyhow::ensure!(self.process.is_none(), "{} is still running", self.name());
        let process = system::spawn_serving(
            format!("serve {}", self.name()),
            self.spec.command(),
            self.endpoint.clone(),
            self.health,
            &self.log,
            &tls,
        )
        .await?;
        self.process = Some(process);
        Ok(())
    }

    /// Where its output goes.
    pub fn log(&self) -> &Path {
        &self.log
    }
}

/// The six services' running processes and what to clean up after them.
#[derive(Debug)]
pub struct SixProcesses {
    /// Every process, in start order.
    pub instances: Vec<Instance>,
    /// The round-robin relay of each replicated service.
    pub balancers: BTreeMap<&'static str, Relay>,
    /// A token with every role the bench calls need (admin, dispatcher, call integrator).
    pub token: String,
    /// What the harness's clients need to reach the processes: nothing for plaintext; the CA
    /// and the [`CONSOLE`] certificate under mutual TLS.
    pub client_tls: ClientTlsArgs,
    databases: Vec<String>,
    admin_url: String,
    redis_url: String,
    redis_prefix: String,
    // The run's own TLS Redis (killed with the run, so its keys need no cleanup).
    tls_redis: Option<pingan_platform::testing::TlsRedisServer>,
    logs: PathBuf,
    keep_logs: bool,
}

impl SixProcesses {
    /// The endpoint of `service`: its balancer when it has replicas, else its one process.
    pub fn endpoint(&self, service: &str) -> anyhow::Result<String> {
        if let Some(balancer) = self.balancers.get(service) {
            return Ok(self.url_of(balancer.address));
        }
        self.instance(service, 1)
            .map(|i| i.endpoint.clone())
            .with_context(|| format!("no {service} process"))
    }

    /// `http://address`, or `https://address` under mutual TLS.
    pub fn url_of(&self, address: std::net::SocketAddr) -> String {
        let scheme = if self.client_tls.ca.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{address}")
    }

    /// Replica `replica` (1-based) of `service`.
    pub fn instance(&self, service: &str, replica: usize) -> Option<&Instance> {
        self.instances
            .iter()
            .find(|i| i.service == service && i.replica == replica)
    }

    /// Replica `replica` (1-based) of `service`, to kill, restart or cut.
    pub fn instance_mut(&mut self, service: &str, replica: usize) -> Option<&mut Instance> {
        self.instances
            .iter_mut()
            .find(|i| i.service == service && i.replica == replica)
    }

    /// The directory of the processes' logs.
    pub fn logs(&self) -> &Path {
        &self.logs
    }

    /// Keeps the logs directory after [`SixProcesses::stop_and_clean`] (to read after a failure).
    pub fn keep_logs(&mut self) {
        self.keep_logs = true;
    }

    /// The run's databases, one per service.
    pub fn databases(&self) -> &[String] {
        &self.databases
    }

    /// The Postgres URL the run's databases were created through.
    pub fn admin_url(&self) -> &str {
        &self.admin_url
    }

    /// The run's own TLS Redis (`rediss://…`), when the shape runs one.
    pub fn tls_redis_url(&self) -> Option<String> {
        self.tls_redis.as_ref().map(|server| server.url())
    }

    /// The Redis key prefix of the run.
    pub fn redis_prefix(&self) -> &str {
        &self.redis_prefix
    }

    /// Stops every process (SIGTERM), drops the databases, deletes the Redis keys and the logs.
    pub async fn stop_and_clean(mut self) -> anyhow::Result<()> {
        let mut first_error = None;
        for instance in self.instances.iter_mut().rev() {
            // A cut proxy would hold the shutdown up on its database.
            for relay in [&instance.postgres, &instance.redis].into_iter().flatten() {
                relay.restore();
            }
            if let Some(process) = instance.process.take()
                && let Err(e) = process.stop().await
            {
                first_error.get_or_insert(e);
            }
        }
        self.instances.clear();
        self.balancers.clear();
        if let Err(e) = drop_databases(&self.admin_url, &self.databases).await {
            first_error.get_or_insert(e);
        }
        if self.tls_redis.take().is_none()
            && let Err(e) = delete_keys(&self.redis_url, &self.redis_prefix).await
        {
            first_error.get_or_insert(e);
        }
        if !self.keep_logs {
            let _ = std::fs::remove_dir_all(&self.logs);
        }
        first_error.map_or(Ok(()), Err)
    }
}

/// Starts the six processes on databases of `admin_url`'s server and `redis_url`, and loads the
/// demo jurisdiction. On failure everything started so far is stopped and removed.
pub async fn start(
    binary: &Path,
    admin_url: &str,
    redis_url: &str,
    jurisdiction: &str,
) -> anyhow::Result<SixProcesses> {
    start_with(
        binary,
        admin_url,
        redis_url,
        jurisdiction,
        &Options::default(),
    )
    .await
}

/// [`start`] with replicas, proxies, trace export, a 12345 gateway: see [`Options`].
pub async fn start_with(
    binary: &Path,
    admin_url: &str,
    redis_url: &str,
    jurisdiction: &str,
    options: &Options,
) -> anyhow::Result<SixProcesses> {
    let run = pingan_platform::testing::unique_name("pingan_b");
    let run = run.trim_start_matches("pingan_b_").to_owned();
    let logs = std::env::temp_dir().join(format!("pingan-bench-six-{run}"));
    std::fs::create_dir_all(&logs)?;
    let secret = hex(&pingan_platform::auth::random_secret());
    let issuer = "pingan";
    let token = TokenIssuer::new(secret.as_bytes(), issuer)?
        .issue(
            "pingan-bench",
            &[
                Role::Admin,
                Role::CommandCenter,
                Role::Dispatcher,
                Role::CallIntegrator,
            ],
            &[],
            Duration::from_secs(24 * 3600),
        )
        .map_err(|e| anyhow::anyhow!("signing the bench token: {e:?}"))?;
    let mut six = SixProcesses {
        instances: Vec::new(),
        balancers: BTreeMap::new(),
        token,
        client_tls: ClientTlsArgs::default(),
        databases: Vec::new(),
        admin_url: admin_url.to_owned(),
        redis_url: redis_url.to_owned(),
        redis_prefix: format!("pingan-bench:{run}:"),
        tls_redis: None,
        logs,
        keep_logs: false,
    };
    match launch(
        &mut six,
        binary,
        &run,
        &secret,
        issuer,
        jurisdiction,
        options,
    )
    .await
    {
        Ok(()) => Ok(six),
        Err(e) => {
            let _ = six.stop_and_clean().await;
            Err(e)
        }
    }
}

async fn launch(
    six: &mut SixProcesses,
    binary: &Path,
    run: &str,
    secret: &str,
    issuer: &str,
    jurisdiction: &str,
    options: &Options,
) -> anyhow::Result<()> {
    let replicas = |name: &str| options.replicas.get(name).copied().unwrap_or(1).max(1);
    if let Some(dir) = &options.tls {
        let mut names: Vec<String> = SERVICES.iter().map(|(n, _)| (*n).to_owned()).collect();
        names.push(CONSOLE.to_owned());
        certs::generate(dir, &names, &[]).context("making the run's certificates")?;
        six.client_tls = ClientTlsArgs {
            ca: Some(certs::ca_cert(dir)),
            cert: Some(certs::client_cert(dir, CONSOLE)),
            key: Some(certs::client_key(dir, CONSOLE)),
        };
    }
    if options.redis_tls {
        let dir = options
            .tls
            .as_ref()
            .context("Redis over TLS needs the run's certificates (Options::tls)")?;
        let server = pingan_platform::testing::TlsRedisServer::start(dir, CONSOLE)
            .await
            .context("starting the run's TLS Redis")?;
        six.redis_url = server.url();
        six.tls_redis = Some(server);
    }
    let mut ports: BTreeMap<&str, Vec<u16>> = BTreeMap::new();
    for (name, _) in SERVICES {
        let mut list = Vec::new();
        for _ in 0..replicas(name) {
            list.push(system::free_port()?);
        }
        ports.insert(name, list);
    }
    for (name, list) in &ports {
        if list.len() > 1 {
            let backends = list
                .iter()
                .map(|port| std::net::SocketAddr::from(([127, 0, 0, 1], *port)))
                .collect();
            six.balancers.insert(*name, Relay::start(backends).await?);
        }
    }
    let peers = ports
        .iter()
        .map(|(name, list)| match six.balancers.get(name) {
            Some(balancer) => format!("{name}={}", six.url_of(balancer.address)),
            None => format!(
                "{name}={}",
                six.url_of(std::net::SocketAddr::from(([127, 0, 0, 1], list[0])))
            ),
        })
        .collect::<Vec<_>>()
        .join(",");
    let postgres_address = socket_of(&six.admin_url, 5432).await?;
    let redis_address = socket_of(&six.redis_url, 6379).await?;
    let pii_key = hex(&pingan_platform::auth::random_secret());
    let mut admin = connect_admin(&six.admin_url).await?;
    drop_stale_databases(&mut admin).await;
    for (name, health) in SERVICES {
        let database = format!("{DATABASE_PREFIX}{run}_{}", name.replace('-', "_"));
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "CREATE DATABASE \"{database}\""
        )))
        .execute(&mut admin)
        .await
        .with_context(|| format!("creating database {database}"))?;
        six.databases.push(database.clone());
        let database_url = database_url(&six.admin_url, &database, options.database_tls);
        for (index, port) in ports[name].iter().enumerate() {
            let (postgres, redis) = if options.proxies {
                (
                    Some(Relay::start(vec![postgres_address]).await?),
                    if name == "dispatch" {
                        Some(Relay::start(vec![redis_address]).await?)
                    } else {
                        None
                    },
                )
            } else {
                (None, None)
            };
            let database_url = match &postgres {
                Some(relay) => through(&database_url, relay.address)?,
                None => database_url.clone(),
            };
            let redis_url = match &redis {
                Some(relay) => through(&six.redis_url, relay.address)?,
                None => six.redis_url.clone(),
            };
            let mut env = vec![
                ("PINGAN_LISTEN".to_owned(), format!("127.0.0.1:{port}")),
                ("PINGAN_DATABASE_URL".to_owned(), database_url),
                (
                    "PINGAN_DATABASE_MAX_CONNECTIONS".to_owned(),
                    options.pool_per_process.clone(),
                ),
                ("PINGAN_REDIS_URL".to_owned(), redis_url),
                ("PINGAN_REDIS_PREFIX".to_owned(), six.redis_prefix.clone()),
                ("PINGAN_PEERS".to_owned(), peers.clone()),
                ("PINGAN_AUTH_SECRET".to_owned(), secret.to_owned()),
                ("PINGAN_AUTH_ISSUER".to_owned(), issuer.to_owned()),
                ("PINGAN_PII_KEY".to_owned(), pii_key.clone()),
                ("RUST_LOG".to_owned(), options.log_filter.clone()),
            ];
            if let Some(dir) = &options.tls {
                let file = |path: PathBuf| path.display().to_string();
                env.extend([
                    (
                        "PINGAN_TLS_CERT".to_owned(),
                        file(certs::server_cert(dir, name)),
                    ),
                    (
                        "PINGAN_TLS_KEY".to_owned(),
                        file(certs::server_key(dir, name)),
                    ),
                    ("PINGAN_TLS_CLIENT_CA".to_owned(), file(certs::ca_cert(dir))),
                    ("PINGAN_TLS_CLIENT_AUTH".to_owned(), "required".to_owned()),
                    (
                        "PINGAN_TLS_CLIENT_CERT".to_owned(),
                        file(certs::client_cert(dir, name)),
                    ),
                    (
                        "PINGAN_TLS_CLIENT_KEY".to_owned(),
                        file(certs::client_key(dir, name)),
                    ),
                ]);
                if six.tls_redis.is_some() {
                    env.extend([
                        ("PINGAN_REDIS_CA".to_owned(), file(certs::ca_cert(dir))),
                        (
                            "PINGAN_REDIS_CLIENT_CERT".to_owned(),
                            file(certs::client_cert(dir, name)),
                        ),
                        (
                            "PINGAN_REDIS_CLIENT_KEY".to_owned(),
                            file(certs::client_key(dir, name)),
                        ),
                    ]);
                }
            }
            if let Some(endpoint) = &options.otlp_endpoint {
                env.push(("OTEL_EXPORTER_OTLP_ENDPOINT".to_owned(), endpoint.clone()));
            }
            if let Some(gateway) = &options.hotline_gateway {
                env.push(("PINGAN_HOTLINE_GATEWAY".to_owned(), gateway.clone()));
            }
            if let Some(interval) = &options.health_interval {
                env.push(("PINGAN_HEALTH_INTERVAL".to_owned(), interval.clone()));
            }
            env.extend(options.env.iter().cloned());
            let spec = Spec {
                binary: binary.to_owned(),
                args: vec!["serve".to_owned(), name.to_owned()],
                env,
            };
            let mut instance = Instance {
                service: name,
                health,
                replica: index + 1,
                endpoint: six.url_of(std::net::SocketAddr::from(([127, 0, 0, 1], *port))),
                postgres,
                redis,
                process: None,
                log: six.logs.join(format!("{name}-{}.log", index + 1)),
                spec,
                client_tls: six.client_tls.clone(),
            };
            let started = instance.restart().await;
            six.instances.push(instance);
            started?;
        }
    }
    let _ = admin.close().await;
    import_demo(six, binary, jurisdiction).await
}

/// `pingan registry import` of the demo jurisdiction (grid-registry, then units to dispatch).
async fn import_demo(six: &SixProcesses, binary: &Path, jurisdiction: &str) -> anyhow::Result<()> {
    let file = six.logs.join("jurisdiction.json");
    std::fs::write(&file, jurisdiction)?;
    let output = Command::new(binary)
        .args(["registry", "import"])
        .arg(&file)
        .args(["--endpoint", &six.endpoint("grid-registry")?])
        .args(["--dispatch-endpoint", &six.endpoint("dispatch")?])
        .env("PINGAN_TOKEN", &six.token)
        .envs(client_tls_env(&six.client_tls))
        .env_remove("PINGAN_CONFIG")
        .output()
        .await
        .context("running pingan registry import")?;
    anyhow::ensure!(
        output.status.success(),
        "pingan registry import failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(())
}

/// The environment that gives a `pingan` client command `tls` (`PINGAN_CA`, `PINGAN_CLIENT_CERT`,
/// `PINGAN_CLIENT_KEY`).
pub fn client_tls_env(tls: &ClientTlsArgs) -> Vec<(&'static str, PathBuf)> {
    [
        ("PINGAN_CA", &tls.ca),
        ("PINGAN_CLIENT_CERT", &tls.cert),
        ("PINGAN_CLIENT_KEY", &tls.key),
    ]
    .into_iter()
    .filter_map(|(var, path)| path.clone().map(|p| (var, p)))
    .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
