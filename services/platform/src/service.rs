//! What a service crate tells the process that hosts it: its names, migrations and settings
//! ([`Service`]), and what it builds from a [`ServiceContext`] ([`ServiceParts`]: the gRPC
//! service, its event sink and its background [`Worker`]s). Constructors start no task and read
//! no environment: the host runs the workers and stops them on shutdown.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tonic::body::Body;
use tonic::server::NamedService;
use tonic::service::RoutesBuilder;

use crate::ServiceContext;
use crate::events::ServiceSink;
use crate::storage::Migrations;

/// Why a service could not be built from its context and settings.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BuildError(pub String);

/// One of Pingan's services, as the host sees it (object safe: the host keeps a table of them).
pub trait Service: Send + Sync {
    /// Short name: configuration, peers, data files (`intake`, `grid-registry`, ...).
    fn short_name(&self) -> &'static str;
    /// Full gRPC service name, as health and reflection report it.
    fn grpc_name(&self) -> &'static str;
    /// The service's schema on both backends.
    fn migrations(&self) -> &'static Migrations;
    /// True when the service keeps live state in Redis in the cluster shape.
    fn uses_redis(&self) -> bool {
        false
    }
    /// True when the host runs the audit-checkpoint witness for this service
    /// ([`crate::audit_witness`]): every service but the one keeping the audit chain.
    fn witnesses_audit_chain(&self) -> bool {
        true
    }
    /// The service's typed settings (flags, env, `[short_name]` file table); none by default.
    fn settings(&self) -> Option<SettingsSpec> {
        None
    }
    /// Builds the gRPC service, event sink and workers; starts nothing.
    fn build(
        &self,
        context: &ServiceContext,
        config: &ServiceConfig,
    ) -> Result<ServiceParts, BuildError>;
}

/// A generated tonic service with its type erased, ready to mount.
pub struct GrpcService {
    name: &'static str,
    mount: Box<dyn FnOnce(&mut RoutesBuilder) + Send>,
}

impl std::fmt::Debug for GrpcService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrpcService")
            .field("name", &self.name)
            .finish()
    }
}

impl GrpcService {
    /// Erases the type of a generated tonic server.
    pub fn new<S>(service: S) -> Self
    where
        S: tower::Service<http::Request<Body>, Error = Infallible>
            + NamedService
            + Clone
            + Send
            + Sync
            + 'static,
        S::Response: axum::response::IntoResponse,
        S::Future: Send + 'static,
    {
        Self {
            name: S::NAME,
            mount: Box::new(move |routes| {
                routes.add_service(service);
            }),
        }
    }

    /// Full gRPC name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Adds the service to `routes`.
    pub fn mount(self, routes: &mut RoutesBuilder) {
        (self.mount)(routes);
    }
}

/// What a built service hands the host.
#[derive(Debug)]
pub struct ServiceParts {
    /// The tonic service.
    pub grpc: GrpcService,
    /// More tonic services of the same crate over the same data (e.g. its analysis service),
    /// mounted next to `grpc` with the same health dependencies.
    pub more_grpc: Vec<GrpcService>,
    /// The inbox with a handler per event type routed to the service.
    pub sink: ServiceSink,
    /// Background work the host runs while it serves and stops on shutdown.
    pub workers: Vec<Worker>,
    /// The calls other services make to this one with the `service` role; every other call by
    /// a service is refused (see [`crate::auth::ServiceCalls`]).
    pub service_calls: &'static [crate::auth::ServiceCall],
}

impl ServiceParts {
    /// A service with its sink and no workers yet.
    pub fn new(grpc: GrpcService, sink: ServiceSink) -> Self {
        Self {
            grpc,
            more_grpc: Vec::new(),
            sink,
            workers: Vec::new(),
            service_calls: &[],
        }
    }

    /// Declares the calls other services make to this one (see [`ServiceParts::service_calls`]).
    pub fn with_service_calls(mut self, calls: &'static [crate::auth::ServiceCall]) -> Self {
        self.service_calls = calls;
        self
    }

    /// Adds another tonic service of the same crate.
    pub fn with_grpc(mut self, grpc: GrpcService) -> Self {
        self.more_grpc.push(grpc);
        self
    }

    /// Adds a background worker.
    pub fn with_worker(mut self, worker: Worker) -> Self {
        self.workers.push(worker);
        self
    }
}

/// Tells a worker (or a relay) that the process is stopping: finish the current piece of work,
/// take no new one, return.
#[derive(Debug, Clone)]
pub struct Shutdown(watch::Receiver<bool>);

impl Shutdown {
    /// A signal that never fires (tests driving a worker by hand).
    pub fn never() -> Self {
        let (switch, shutdown) = ShutdownSwitch::new();
        // Keeping the sender alive forever is what "never" means; it is one small allocation.
        std::mem::forget(switch);
        shutdown
    }

    /// True once shutdown has been signalled (or the switch is gone).
    pub fn is_signalled(&self) -> bool {
        *self.0.borrow() || self.0.has_changed().is_err()
    }

    /// Completes once shutdown is signalled (or the switch is gone).
    pub async fn signalled(&self) {
        let mut receiver = self.0.clone();
        let _ = receiver.wait_for(|stop| *stop).await;
    }

    /// Sleeps for `duration` unless shutdown comes first; true when shutdown came.
    pub async fn sleep(&self, duration: Duration) -> bool {
        tokio::select! {
            () = self.signalled() => true,
            () = tokio::time::sleep(duration) => self.is_signalled(),
        }
    }
}

/// The sending side of [`Shutdown`].
#[derive(Debug)]
pub struct ShutdownSwitch(watch::Sender<bool>);

impl ShutdownSwitch {
    /// A switch and its first receiver.
    pub fn new() -> (Self, Shutdown) {
        let (sender, receiver) = watch::channel(false);
        (Self(sender), Shutdown(receiver))
    }

    /// Another receiver.
    pub fn subscribe(&self) -> Shutdown {
        Shutdown(self.0.subscribe())
    }

    /// Signals every receiver.
    pub fn signal(&self) {
        self.0.send_replace(true);
    }
}

type WorkerRun = Box<dyn FnOnce(Shutdown) -> BoxFuture<'static, ()> + Send>;

/// A named background task: runs until its [`Shutdown`] fires, then finishes the work in hand
/// and returns. Wraps any `async fn run(self, shutdown: Shutdown)`.
pub struct Worker {
    name: String,
    run: WorkerRun,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker").field("name", &self.name).finish()
    }
}

impl Worker {
    /// A worker running `run(shutdown)`.
    pub fn new<F, Fut>(name: impl Into<String>, run: F) -> Self
    where
        F: FnOnce(Shutdown) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        Self {
            name: name.into(),
            run: Box::new(move |shutdown| Box::pin(run(shutdown))),
        }
    }

    /// A worker running `round()` every `interval` (after a first wait of `interval`); a round
    /// in progress when shutdown comes is finished, then the worker returns.
    pub fn every<F, Fut>(name: impl Into<String>, interval: Duration, mut round: F) -> Self
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send,
    {
        Self::new(name, move |shutdown: Shutdown| async move {
            while !shutdown.sleep(interval).await {
                round().await;
            }
        })
    }

    /// The worker's name (logs).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs the worker to its end (the host spawns it through [`Workers::start`]).
    pub async fn run(self, shutdown: Shutdown) {
        (self.run)(shutdown).await;
    }
}

/// Running workers.
#[derive(Debug)]
pub struct Workers {
    running: Vec<(String, JoinHandle<()>)>,
}

impl Workers {
    /// Spawns every worker; they stop when `shutdown` fires.
    pub fn start(workers: Vec<Worker>, shutdown: &Shutdown) -> Self {
        let running = workers
            .into_iter()
            .map(|worker| {
                let name = worker.name.clone();
                tracing::debug!(worker = %name, "worker started");
                (name, tokio::spawn(worker.run(shutdown.clone())))
            })
            .collect();
        Self { running }
    }

    /// Waits for each worker (signalled to stop) until `deadline`; those still running then are
    /// aborted. True when every worker returned by itself.
    pub async fn wait(self, deadline: tokio::time::Instant) -> bool {
        let mut clean = true;
        for (name, mut task) in self.running {
            match tokio::time::timeout_at(deadline, &mut task).await {
                Ok(Ok(())) => tracing::debug!(worker = %name, "worker stopped"),
                Ok(Err(err)) => {
                    clean = false;
                    tracing::error!(worker = %name, error = %err, "worker failed");
                }
                Err(_) => {
                    clean = false;
                    tracing::warn!(worker = %name, "grace period over: worker aborted");
                    task.abort();
                }
            }
        }
        clean
    }
}

/// How a service's settings struct (any `#[derive(clap::Args)]`) plugs into the host's
/// command line and config file: its flags are added to `serve` and `dev`, its `[table]` of the
/// config file sets their defaults, and the parsed value reaches [`Service::build`] through
/// [`ServiceConfig::get`].
#[derive(Clone, Copy)]
pub struct SettingsSpec {
    /// The config-file table (the service's short name).
    pub table: &'static str,
    augment: fn(clap::Command) -> clap::Command,
    read: fn(&clap::ArgMatches) -> Result<Arc<dyn Any + Send + Sync>, clap::Error>,
    type_id: fn() -> TypeId,
}

impl std::fmt::Debug for SettingsSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SettingsSpec")
            .field("table", &self.table)
            .finish()
    }
}

fn read_args<T>(matches: &clap::ArgMatches) -> Result<Arc<dyn Any + Send + Sync>, clap::Error>
where
    T: clap::FromArgMatches + Send + Sync + 'static,
{
    Ok(Arc::new(T::from_arg_matches(matches)?))
}

impl SettingsSpec {
    /// The settings struct `T`, read from the file table `table`.
    pub fn of<T>(table: &'static str) -> Self
    where
        T: clap::Args + clap::FromArgMatches + Send + Sync + 'static,
    {
        Self {
            table,
            augment: T::augment_args,
            read: read_args::<T>,
            type_id: TypeId::of::<T>,
        }
    }

    /// `<T as clap::Args>::augment_args`, for the config file's sections.
    pub fn augment_fn(&self) -> fn(clap::Command) -> clap::Command {
        self.augment
    }

    /// Adds the settings' flags to `command`.
    pub fn augment(&self, command: clap::Command) -> clap::Command {
        (self.augment)(command)
    }

    /// Reads the settings from parsed matches into `config`.
    pub fn read_into(
        &self,
        matches: &clap::ArgMatches,
        config: &mut ServiceConfig,
    ) -> Result<(), clap::Error> {
        let value = (self.read)(matches)?;
        config.values.insert((self.type_id)(), value);
        Ok(())
    }
}

/// The typed settings of the hosted services, by type; a service missing here uses its defaults.
#[derive(Clone, Default)]
pub struct ServiceConfig {
    values: HashMap<TypeId, Arc<dyn Any + Send + Sync>>,
}

impl std::fmt::Debug for ServiceConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceConfig")
            .field("entries", &self.values.len())
            .finish()
    }
}

impl ServiceConfig {
    /// Sets (or replaces) the settings of type `T`.
    pub fn insert<T: Send + Sync + 'static>(&mut self, value: T) {
        self.values.insert(TypeId::of::<T>(), Arc::new(value));
    }

    /// The settings of type `T`, if given.
    pub fn get<T: 'static>(&self) -> Option<&T> {
        self.values
            .get(&TypeId::of::<T>())
            .and_then(|value| value.downcast_ref::<T>())
    }

    /// The settings of type `T`, or its defaults.
    pub fn get_or_default<T: Clone + Default + 'static>(&self) -> T {
        self.get::<T>().cloned().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[derive(Debug, Clone, Default, PartialEq, clap::Args)]
    struct Demo {
        #[arg(long = "demo-level", default_value_t = 3)]
        level: u32,
    }

    #[test]
    fn settings_reach_the_config_by_type() {
        let spec = SettingsSpec::of::<Demo>("demo");
        let command = spec.augment(clap::Command::new("x"));
        let matches = command
            .try_get_matches_from(["x", "--demo-level", "7"])
            .unwrap();
        let mut config = ServiceConfig::default();
        assert_eq!(config.get_or_default::<Demo>(), Demo { level: 0 });
        spec.read_into(&matches, &mut config).unwrap();
        assert_eq!(config.get::<Demo>(), Some(&Demo { level: 7 }));
    }

    #[tokio::test]
    async fn a_periodic_worker_finishes_its_round_and_stops_when_signalled() {
        let rounds = Arc::new(AtomicUsize::new(0));
        let counted = rounds.clone();
        let worker = Worker::every("count", Duration::from_millis(5), move || {
            let counted = counted.clone();
            async move {
                tokio::time::sleep(Duration::from_millis(20)).await;
                counted.fetch_add(1, Ordering::SeqCst);
            }
        });
        assert_eq!(worker.name(), "count");
        let (switch, shutdown) = ShutdownSwitch::new();
        let workers = Workers::start(vec![worker], &shutdown);
        tokio::time::sleep(Duration::from_millis(40)).await;
        switch.signal();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        assert!(workers.wait(deadline).await, "stopped by itself");
        let done = rounds.load(Ordering::SeqCst);
        assert!(done >= 1, "a round ran");
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(rounds.load(Ordering::SeqCst), done, "no round after stop");
    }

    #[tokio::test]
    async fn a_worker_that_ignores_shutdown_is_aborted_at_the_deadline() {
        let (switch, shutdown) = ShutdownSwitch::new();
        let stuck = Worker::new("stuck", |_shutdown| std::future::pending::<()>());
        let workers = Workers::start(vec![stuck], &shutdown);
        switch.signal();
        let deadline = tokio::time::Instant::now() + Duration::from_millis(50);
        assert!(!workers.wait(deadline).await);
    }
}
