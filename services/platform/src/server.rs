//! The gRPC server every service (and `pingan dev`, which hosts all six) is built with:
//! health per service, reflection v1 and v1alpha, trace-context extraction, RED metrics,
//! request timeout, concurrency limit with load shedding, call limits per caller and source
//! ([`crate::limits`]), message size and stream length limits ([`MessageLimits`]), TLS and mutual TLS with files reloaded on change ([`crate::tls`]), fail-fast
//! UNAVAILABLE while a service's dependency is down ([`FailFastLayer`]), and graceful shutdown.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::Notify;
use tonic::body::Body;
use tonic::server::NamedService;
use tonic::service::RoutesBuilder;
use tonic_health::server::HealthReporter;

use crate::auth::{ServiceCall, ServiceCalls};
use crate::config::ServerConfig;
use crate::health::{self, Dependency, DependencyState, HealthTarget};
use crate::limits::{Guard, GuardLayer};
use crate::metrics::RpcMetricsLayer;
use crate::tls::ServerTls;
use crate::trace_context;
use caller_scope::CallerScope;

mod caller_scope;
mod fail_fast;
mod message_limits;
pub use fail_fast::{FailFast, FailFastLayer};
pub use message_limits::{MessageLimits, MessageLimitsLayer};

/// Errors that stop a server.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Reflection could not be built from the descriptor sets.
    #[error("reflection: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    /// The transport failed.
    #[error("transport: {0}")]
    Transport(#[from] tonic::transport::Error),
    /// The TLS settings or files are unusable.
    #[error("{0}")]
    Tls(#[from] crate::tls::TlsError),
}

/// How long each attempt of the first health probe, before the server accepts calls, may take.
const STARTUP_PROBE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

/// Collects the services one process serves on one listener.
pub struct ServiceHost {
    config: ServerConfig,
    routes: RoutesBuilder,
    health_only: HealthOnly,
    reporter: HealthReporter,
    targets: Vec<HealthTarget>,
    guard: Option<Arc<Guard>>,
    service_calls: ServiceCalls,
}

impl std::fmt::Debug for ServiceHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceHost")
            .field("services", &self.service_names())
            .finish()
    }
}

impl ServiceHost {
    /// A host with health already mounted.
    pub fn new(config: ServerConfig) -> Self {
        let reporter = HealthReporter::new();
        let health_service = HealthOnly::new(
            tonic_health::server::HealthService::from_health_reporter(reporter.clone()),
        );
        let mut routes = RoutesBuilder::default();
        routes.add_service(health_service.clone());
        Self {
            config,
            routes,
            health_only: health_service,
            reporter,
            targets: Vec::new(),
            guard: None,
            service_calls: ServiceCalls::default(),
        }
    }

    /// Applies `guard` (rate limits, failed-authentication block) to every call but health and
    /// reflection.
    pub fn set_guard(&mut self, guard: Arc<Guard>) -> &mut Self {
        self.guard = Some(guard);
        self
    }

    /// Lets other services call these RPCs with the `service` role (checked by the guard, which
    /// refuses a service any call no mounted service declares for it).
    pub fn allow_service_calls(&mut self, calls: &[ServiceCall]) -> &mut Self {
        self.service_calls.allow(calls);
        self
    }

    /// Mounts a generated tonic service; it is SERVING only while `dependencies` answer.
    pub fn add_service<S>(&mut self, service: S, dependencies: Vec<Dependency>) -> &mut Self
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
        self.routes.add_service(service);
        self.targets.push(HealthTarget::new(S::NAME, dependencies));
        self
    }

    /// Mounts a service whose type was erased ([`crate::service::GrpcService`]); it is SERVING
    /// only while `dependencies` answer.
    pub fn add_grpc(
        &mut self,
        service: crate::service::GrpcService,
        dependencies: Vec<Dependency>,
    ) -> &mut Self {
        self.targets
            .push(HealthTarget::new(service.name(), dependencies));
        service.mount(&mut self.routes);
        self
    }

    /// The grace period in-flight calls get after shutdown.
    pub fn shutdown_grace(&self) -> std::time::Duration {
        self.config.shutdown_grace
    }

    /// Full names of the mounted services.
    pub fn service_names(&self) -> Vec<String> {
        self.targets
            .iter()
            .map(|t| t.service_name.clone())
            .collect()
    }

    /// The health reporter (e.g. for a service that tracks more than its dependencies).
    pub fn health_reporter(&self) -> HealthReporter {
        self.reporter.clone()
    }

    /// Serves until `shutdown` completes, then marks every service NOT_SERVING, stops accepting,
    /// and lets in-flight calls finish within the configured grace period.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServeError> {
        let Self {
            config,
            mut routes,
            health_only,
            reporter,
            targets,
            guard,
            service_calls,
        } = self;
        let service_calls = Arc::new(service_calls);

        let reflection_names: Vec<String> = targets
            .iter()
            .map(|t| t.service_name.clone())
            .chain(["grpc.health.v1.Health".to_owned()])
            .collect();
        crate::metrics::register_rpc_methods(&reflection_names);
        let reflection = |builder: tonic_reflection::server::Builder<'static>| {
            reflection_names
                .iter()
                .fold(builder, |b, name| b.with_service_name(name.clone()))
                .register_encoded_file_descriptor_set(pingan_proto::FILE_DESCRIPTOR_SET)
                .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        };
        routes.add_service(reflection(tonic_reflection::server::Builder::configure()).build_v1()?);
        routes.add_service(
            reflection(tonic_reflection::server::Builder::configure()).build_v1alpha()?,
        );

        // First probe before accepting calls, so the first health answer is already true.
        // The databases answered a moment ago (migrations): this probe may take its time to open
        // its own connections.
        let mut last = Vec::new();
        let timeout = health::probe_timeout(config.health_interval).max(STARTUP_PROBE_TIMEOUT);
        let dependencies = DependencyState::default();
        health::probe_once(&reporter, &targets, &mut last, timeout, &dependencies).await;
        let watcher = tokio::spawn(health::watch(
            reporter.clone(),
            targets.clone(),
            config.health_interval,
            last,
            dependencies.clone(),
        ));

        let draining = Arc::new(Notify::new());
        let shutdown = {
            let draining = draining.clone();
            let reporter = reporter.clone();
            let targets = targets.clone();
            async move {
                shutdown.await;
                tracing::info!("shutting down: draining in-flight calls");
                health::mark_not_serving(&reporter, &targets).await;
                draining.notify_one();
            }
        };

        let local_addr = listener.local_addr().ok();
        let tls = if config.tls.server_enabled() {
            Some(ServerTls::load(&config.tls)?)
        } else {
            config.tls.validate()?;
            crate::tls::warn_if_plaintext(local_addr, &config.tls);
            None
        };
        tracing::info!(
            address = ?local_addr,
            tls = tls.is_some(),
            mutual_tls = config.tls.client_ca.is_some(),
            services = ?reflection_names,
            "grpc server listening"
        );
        let router = tonic::transport::Server::builder()
            .trace_fn(trace_context::server_span)
            .timeout(config.request_timeout)
            .concurrency_limit_per_connection(config.concurrency_limit)
            .load_shed(true)
            // Outermost: the connection's address and calling service, for every layer below.
            .layer(tower::util::option_layer(
                tls.as_ref().map(ServerTls::identity_layer),
            ))
            .layer(RpcMetricsLayer)
            .layer(tower::util::option_layer(
                guard.map(|guard| GuardLayer::new(guard, service_calls)),
            ))
            // Before any body is read: a service whose dependency is down answers at once.
            .layer(FailFastLayer::new(dependencies, config.health_interval))
            .layer(MessageLimitsLayer(config.messages))
            // Innermost: a place for the caller, which binds request ids to who sent them.
            .layer(tower::layer::layer_fn(CallerScope))
            .add_routes(routes.routes());
        let server: Pin<Box<dyn Future<Output = Result<(), tonic::transport::Error>> + Send>> =
            match &tls {
                Some(tls) => {
                    Box::pin(router.serve_with_incoming_shutdown(tls.incoming(listener), shutdown))
                }
                None => Box::pin(router.serve_with_incoming_shutdown(incoming(listener), shutdown)),
            };
        tokio::pin!(server);

        let health_listener = match config.tls.health_listen {
            Some(addr) => Some(serve_health_only(addr, health_only).await?),
            None => None,
        };

        let grace = config.shutdown_grace;
        let result = tokio::select! {
            result = &mut server => result.map_err(ServeError::from),
            () = async { draining.notified().await; tokio::time::sleep(grace).await } => {
                tracing::warn!(grace = ?grace, "grace period over: abandoning in-flight calls");
                Ok(())
            }
        };
        watcher.abort();
        for target in &targets {
            target.close().await;
        }
        if let Some(health_listener) = health_listener {
            health_listener.abort();
        }
        tracing::info!("grpc server stopped");
        result
    }
}

/// The health service alone, for the plaintext probe listener.
type HealthOnly =
    tonic_health::pb::health_server::HealthServer<tonic_health::server::HealthService>;

/// Serves only the health service, in plaintext, on `addr` (kubelet gRPC probes cannot speak
/// TLS; health says SERVING or not and nothing else).
async fn serve_health_only(
    addr: std::net::SocketAddr,
    health: HealthOnly,
) -> Result<tokio::task::JoinHandle<()>, ServeError> {
    let listener = TcpListener::bind(addr).await.map_err(|err| {
        crate::tls::TlsError::Settings(format!("binding --health-listen {addr}: {err}"))
    })?;
    tracing::info!(address = ?listener.local_addr().ok(), "plaintext health listener");
    Ok(tokio::spawn(async move {
        let served = tonic::transport::Server::builder()
            .add_service(health)
            .serve_with_incoming(incoming(listener))
            .await;
        if let Err(err) = served {
            tracing::error!(error = %err, "health listener failed");
        }
    }))
}

/// Completes on SIGTERM or SIGINT (Ctrl-C).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %err, "cannot listen for ctrl-c");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::error!(error = %err, "cannot listen for sigterm");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("received ctrl-c"),
        () = terminate => tracing::info!("received sigterm"),
    }
}

/// Accepted connections with TCP_NODELAY: without it every response over a segment waits
/// ~40 ms for Nagle and the peer's delayed ACK, on calls between services too.
pub fn incoming(listener: tokio::net::TcpListener) -> tonic::transport::server::TcpIncoming {
    tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true))
}
