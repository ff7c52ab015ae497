//! The shape under test and the harness's pieces around it: the six services (with replicas)
//! behind their relays, the OTLP receiver, the 12345 stand-in behind a cuttable relay, the fleet
//! simulator, and gRPC clients carrying the run's token.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use pingan_bench::relay::Relay;
use pingan_bench::six::{self, Options, SixProcesses};
use pingan_bench::system::{Bearer, Grpc};
use pingan_platform::tls::ClientTlsArgs;
use pingan_proto::dispatch::v1::dispatch_service_client::DispatchServiceClient;
use pingan_proto::events::v1::event_admin_service_client::EventAdminServiceClient;
use pingan_proto::grid::v1::grid_registry_service_client::GridRegistryServiceClient;
use pingan_proto::intake::v1::intake_service_client::IntakeServiceClient;
use tokio::process::{Child, Command};
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

use crate::gateway::Gateway;
use crate::otlp::Collector;

/// Services run as two replicas behind a round-robin relay.
pub const REPLICATED: [&str; 3] = ["intake", "dispatch", "grid-registry"];

/// Everything a scenario reaches.
#[derive(Debug)]
pub struct World {
    /// The processes.
    pub six: SixProcesses,
    /// Spans the processes exported.
    pub collector: Collector,
    /// The 12345 stand-in.
    pub gateway: Gateway,
    /// The relay between triage and the 12345 stand-in (cut to take 12345 down).
    pub gateway_relay: Relay,
    /// The health interval the processes run with.
    pub health_interval: Duration,
    /// The `pingan` binary.
    pub binary: PathBuf,
    fleet: Option<tokio::task::JoinHandle<()>>,
    fleet_restarts: Arc<AtomicU64>,
    bearer: Bearer,
    /// The run's certificates under mutual TLS (removed on stop).
    pub tls_dir: Option<PathBuf>,
    /// Whether the processes reach Postgres over TLS.
    pub database_tls: bool,
}

/// How to start the world.
#[derive(Debug, Clone)]
pub struct Setup {
    /// The `pingan` binary.
    pub binary: PathBuf,
    /// Postgres server (a database per service is created on it and dropped after).
    pub database_url: String,
    /// Redis (keys under a prefix of the run, deleted after).
    pub redis_url: String,
    /// Health interval of every process.
    pub health_interval: Duration,
    /// Position reports per second of the fleet simulator.
    pub fleet_rate: f64,
    /// Mutual TLS between every process and the harness.
    pub tls: bool,
    /// TLS from every process to Postgres (`sslmode=require`).
    pub database_tls: bool,
}

impl World {
    /// Starts the receiver, the stand-in, the processes and the fleet simulator.
    pub async fn start(setup: &Setup) -> anyhow::Result<Self> {
        let (collector, otlp) = Collector::start().await?;
        let (gateway, gateway_address) = Gateway::start().await?;
        let tls_dir = setup.tls.then(|| {
            std::env::temp_dir().join(pingan_platform::testing::unique_name("pingan_e2e_tls"))
        });
        let gateway_relay = Relay::start(vec![gateway_address]).await?;
        let mut options = Options {
            proxies: true,
            otlp_endpoint: Some(otlp),
            hotline_gateway: Some(gateway_relay.endpoint()),
            health_interval: Some(format!("{}ms", setup.health_interval.as_millis())),
            // Nine processes share the test server with the other suites: small pools.
            pool_per_process: "4".to_owned(),
            env: vec![
                // A 12345 outage of a minute must not leave the next retry a minute away.
                ("PINGAN_TRIAGE_RETRY_INITIAL".to_owned(), "500ms".to_owned()),
                ("PINGAN_TRIAGE_RETRY_MAX".to_owned(), "5s".to_owned()),
                // Intake's routing retries likewise: a call held by a dead peer is routed
                // seconds after the peer returns, not a minute.
                ("PINGAN_INTAKE_RETRY_MAX".to_owned(), "5s".to_owned()),
                // Board streams stay open to the end: do not wait 25 s for them on the way out.
                ("PINGAN_SHUTDOWN_GRACE".to_owned(), "2s".to_owned()),
            ],
            tls: tls_dir.clone(),
            database_tls: setup.database_tls,
            // Under mutual TLS, dispatch's Redis is TLS-only too (a private server of the run).
            redis_tls: setup.tls,
            ..Options::default()
        };
        for service in REPLICATED {
            options.replicas.insert(service, 2);
        }
        let six = six::start_with(
            &setup.binary,
            &setup.database_url,
            &setup.redis_url,
            pingan_bench::calls::JURISDICTION,
            &options,
        )
        .await;
        let six = match six {
            Ok(six) => six,
            Err(e) => {
                if let Some(dir) = &tls_dir {
                    let _ = std::fs::remove_dir_all(dir);
                }
                return Err(e);
            }
        };
        let bearer = Bearer::new(&six.token)?;
        let mut world = Self {
            six,
            collector,
            gateway,
            gateway_relay,
            health_interval: setup.health_interval,
            binary: setup.binary.clone(),
            fleet: None,
            fleet_restarts: Arc::new(AtomicU64::new(0)),
            bearer,
            tls_dir,
            database_tls: setup.database_tls,
        };
        match world.start_fleet(setup.fleet_rate).await {
            Ok(()) => Ok(world),
            Err(e) => {
                let _ = world.stop(false).await;
                Err(e)
            }
        }
    }

    /// `pingan fleet simulate` against the dispatch and grid-registry balancers, started again
    /// whenever it exits (it gives up when a stream to dispatch breaks, as a device's app would
    /// restart): see [`World::fleet_restarts`].
    async fn start_fleet(&mut self, rate: f64) -> anyhow::Result<()> {
        let log = self.six.logs().join("fleet.log");
        let binary = self.binary.clone();
        let dispatch = self.six.endpoint("dispatch")?;
        let registry = self.six.endpoint("grid-registry")?;
        let token = self.six.token.clone();
        let tls_env = six::client_tls_env(&self.six.client_tls);
        let spawn = move || -> anyhow::Result<Child> {
            let out = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&log)
                .with_context(|| format!("{}", log.display()))?;
            let err = out.try_clone()?;
            Command::new(&binary)
                .args(["fleet", "simulate", "--endpoint", &dispatch])
                .args(["--registry-endpoint", &registry])
                .args(["--rate", &format!("{rate}")])
                .env("PINGAN_TOKEN", &token)
                .envs(tls_env.iter().cloned())
                .env_remove("PINGAN_CONFIG")
                .stdout(Stdio::from(out))
                .stderr(Stdio::from(err))
                .kill_on_drop(true)
                .spawn()
                .context("starting pingan fleet simulate")
        };
        let mut child = spawn()?;
        // Give it a round so the units have positions before the first call.
        tokio::time::sleep(Duration::from_secs(2)).await;
        if let Some(status) = child.try_wait()? {
            anyhow::bail!(
                "the fleet simulator exited ({status}):\n{}",
                pingan_bench::system::tail(&self.six.logs().join("fleet.log"))
            );
        }
        let restarts = self.fleet_restarts.clone();
        self.fleet = Some(tokio::spawn(async move {
            loop {
                let _ = child.wait().await;
                tokio::time::sleep(Duration::from_secs(1)).await;
                match spawn() {
                    Ok(next) => {
                        restarts.fetch_add(1, Ordering::Relaxed);
                        child = next;
                    }
                    Err(_) => return,
                }
            }
        }));
        Ok(())
    }

    /// How many times the fleet simulator exited and was started again.
    pub fn fleet_restarts(&self) -> u64 {
        self.fleet_restarts.load(Ordering::Relaxed)
    }

    /// Stops everything and removes the databases and keys; keeps the logs when asked.
    pub async fn stop(mut self, keep_logs: bool) -> anyhow::Result<()> {
        if let Some(fleet) = self.fleet.take() {
            // Dropping the task drops its child, which kills it (kill_on_drop).
            fleet.abort();
            let _ = fleet.await;
        }
        if keep_logs {
            self.six.keep_logs();
            eprintln!("logs kept in {}", self.six.logs().display());
        }
        let stopped = self.six.stop_and_clean().await;
        if let Some(dir) = &self.tls_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
        stopped
    }

    /// Where the processes' logs are.
    pub fn logs(&self) -> &Path {
        self.six.logs()
    }

    /// A channel to `endpoint` that connects on first use and reconnects after a failure
    /// (through mutual TLS with the console certificate when the shape runs it).
    pub fn channel(&self, endpoint: &str) -> anyhow::Result<Grpc> {
        let channel = self.bare_channel(endpoint, &self.six.client_tls)?;
        Ok(tonic::service::interceptor::InterceptedService::new(
            channel,
            self.bearer.clone(),
        ))
    }

    /// A lazily connected channel to `endpoint` with `tls` and no token.
    pub fn bare_channel(&self, endpoint: &str, tls: &ClientTlsArgs) -> anyhow::Result<Channel> {
        Ok(tls.connect_lazy(endpoint, Duration::from_secs(2))?)
    }

    /// The endpoint of `service` (its balancer when replicated) or of one replica.
    pub fn endpoint(&self, service: &str, replica: Option<usize>) -> anyhow::Result<String> {
        match replica {
            None => self.six.endpoint(service),
            Some(n) => self
                .six
                .instance(service, n)
                .map(|i| i.endpoint.clone())
                .with_context(|| format!("no replica {n} of {service}")),
        }
    }

    /// Intake.
    pub fn intake(&self, replica: Option<usize>) -> anyhow::Result<IntakeServiceClient<Grpc>> {
        Ok(IntakeServiceClient::new(
            self.channel(&self.endpoint("intake", replica)?)?,
        ))
    }

    /// Dispatch.
    pub fn dispatch(&self, replica: Option<usize>) -> anyhow::Result<DispatchServiceClient<Grpc>> {
        Ok(DispatchServiceClient::new(
            self.channel(&self.endpoint("dispatch", replica)?)?,
        ))
    }

    /// Grid registry.
    pub fn grid(&self, replica: Option<usize>) -> anyhow::Result<GridRegistryServiceClient<Grpc>> {
        Ok(GridRegistryServiceClient::new(
            self.channel(&self.endpoint("grid-registry", replica)?)?,
        ))
    }

    /// The outbox admin of `service`.
    pub fn admin(&self, service: &str) -> anyhow::Result<EventAdminServiceClient<Grpc>> {
        Ok(EventAdminServiceClient::new(
            self.channel(&self.endpoint(service, None)?)?,
        ))
    }

    /// The health status of replica `replica` of `service` (0 when it does not answer).
    pub async fn health(&self, service: &str, replica: usize) -> i32 {
        let Some(instance) = self.six.instance(service, replica) else {
            return 0;
        };
        let Ok(channel) = self.channel(&instance.endpoint) else {
            return 0;
        };
        let mut request = tonic::Request::new(HealthCheckRequest {
            service: instance.health.to_owned(),
        });
        request.set_timeout(Duration::from_millis(500));
        HealthClient::new(channel)
            .check(request)
            .await
            .map_or(0, |a| a.get_ref().status)
    }

    /// Waits until replica `replica` of `service` reports `status` (1 SERVING, 2 NOT_SERVING);
    /// how long it took, or None after `limit`.
    pub async fn wait_health(
        &self,
        service: &str,
        replica: usize,
        status: i32,
        limit: Duration,
    ) -> Option<Duration> {
        let started = Instant::now();
        loop {
            if self.health(service, replica).await == status {
                return Some(started.elapsed());
            }
            if started.elapsed() > limit {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}
