//! Logs and traces: JSON (or text) logs through `tracing`, an OpenTelemetry tracer that always
//! assigns W3C trace ids (so context propagates) and exports over OTLP/gRPC when an endpoint is set.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanExporter};
use tracing_subscriber::filter::FilterExt;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry};

use crate::config::{LogFormat, TelemetryConfig};

/// Errors while setting telemetry up.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// The log filter does not parse.
    #[error("invalid log filter: {0}")]
    Filter(#[from] tracing_subscriber::filter::ParseError),
    /// The OTLP exporter could not be built.
    #[error("otlp exporter: {0}")]
    Exporter(String),
    /// A global subscriber was already installed.
    #[error("tracing already initialised: {0}")]
    AlreadyInitialised(String),
}

/// Keeps the tracer provider alive; [`Telemetry::shutdown`] flushes pending spans.
#[derive(Debug)]
pub struct Telemetry {
    provider: SdkTracerProvider,
}

impl Telemetry {
    /// Flushes and stops the exporter. Call once, on the way out.
    pub fn shutdown(self) {
        if let Err(err) = self.provider.shutdown() {
            eprintln!("telemetry shutdown: {err}");
        }
    }
}

/// A tracer provider for `service_name`, exporting to `otlp_endpoint` when one is given.
pub fn tracer_provider(
    service_name: &str,
    otlp_endpoint: Option<&str>,
) -> Result<SdkTracerProvider, TelemetryError> {
    let resource = Resource::builder()
        .with_service_name(service_name.to_owned())
        .build();
    let mut builder = SdkTracerProvider::builder().with_resource(resource);
    if let Some(endpoint) = otlp_endpoint.filter(|e| !e.trim().is_empty()) {
        builder = builder.with_batch_exporter(OwnRuntimeExporter::new(endpoint)?);
    }
    Ok(builder.build())
}

/// Installs the global subscriber: env filter, JSON or text logs, and the OpenTelemetry layer.
pub fn init(
    service_name: &str,
    config: &TelemetryConfig,
    default_format: LogFormat,
) -> Result<Telemetry, TelemetryError> {
    let provider = tracer_provider(service_name, config.otlp_endpoint.as_deref())?;
    let otel_layer = otel_layer(&provider, &config.trace_filter)?;
    let filter = EnvFilter::try_new(&config.log_filter)?;
    let fmt_layer = match config.log_format.unwrap_or(default_format) {
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .boxed(),
        LogFormat::Text => tracing_subscriber::fmt::layer().with_target(false).boxed(),
    };
    // Database spans cost a formatted statement per query: only when traces leave the process.
    let exporting = config
        .otlp_endpoint
        .as_deref()
        .is_some_and(|e| !e.trim().is_empty());
    let db_layer = crate::db_spans::db_span_layer(&provider, exporting);
    Registry::default()
        .with(otel_layer)
        .with(db_layer)
        .with(fmt_layer.with_filter(filter))
        .try_init()
        .map_err(|err| TelemetryError::AlreadyInitialised(err.to_string()))?;
    Ok(Telemetry { provider })
}

/// Targets whose spans are never exported, whatever the trace filter says: the HTTP/2 and
/// connection internals (h2 `FramedWrite`, hyper's `Connection`, tower's buffers) tell an operator
/// nothing and cost an export per frame.
pub const TRANSPORT_TARGETS: [&str; 6] = [
    "h2",
    "hyper",
    "hyper_util",
    "tower",
    "tonic::transport",
    "rustls",
];

/// True when `target` is (a module of) one of the [`TRANSPORT_TARGETS`].
pub fn is_transport_target(target: &str) -> bool {
    TRANSPORT_TARGETS.iter().any(|prefix| {
        target
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
    })
}

/// The OpenTelemetry layer over `provider`: spans enabled by `trace_filter` (`RUST_LOG` syntax),
/// never those of the transport. The tracer's scope is `pingan`; the service is the resource's
/// `service.name` (see docs/deploy.md).
pub fn otel_layer<S>(
    provider: &SdkTracerProvider,
    trace_filter: &str,
) -> Result<impl Layer<S> + use<S>, TelemetryError>
where
    S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
{
    // Without its own filter the layer would enable every TRACE span in the process.
    let filter =
        EnvFilter::try_new(trace_filter)?.and(tracing_subscriber::filter::filter_fn(|metadata| {
            !is_transport_target(metadata.target())
        }));
    Ok(tracing_opentelemetry::layer()
        .with_tracer(provider.tracer("pingan"))
        .with_filter(filter))
}

/// The OTLP/gRPC exporter runs on tonic, which needs a Tokio reactor; the SDK's batch processor
/// exports from its own OS thread, so the exporter brings a small runtime of its own.
#[derive(Debug)]
struct OwnRuntimeExporter {
    runtime: tokio::runtime::Runtime,
    inner: opentelemetry_otlp::SpanExporter,
}

impl OwnRuntimeExporter {
    fn new(endpoint: &str) -> Result<Self, TelemetryError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("otlp-export")
            .enable_all()
            .build()
            .map_err(|err| TelemetryError::Exporter(err.to_string()))?;
        let inner = {
            let _entered = runtime.enter();
            opentelemetry_otlp::SpanExporter::builder()
                .with_tonic()
                .with_endpoint(endpoint.to_owned())
                .build()
                .map_err(|err| TelemetryError::Exporter(err.to_string()))?
        };
        Ok(Self { runtime, inner })
    }
}

impl SpanExporter for OwnRuntimeExporter {
    fn export(&self, batch: Vec<SpanData>) -> impl Future<Output = OTelSdkResult> + Send {
        InRuntime {
            handle: self.runtime.handle().clone(),
            future: Box::pin(self.inner.export(batch)),
        }
    }

    fn shutdown_with_timeout(&self, timeout: std::time::Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

/// Polls a future inside a runtime's context, from whatever thread polls it.
struct InRuntime<F> {
    handle: tokio::runtime::Handle,
    future: Pin<Box<F>>,
}

impl<F: Future> Future for InRuntime<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let _entered = this.handle.enter();
        this.future.as_mut().poll(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::is_transport_target;

    #[test]
    fn transport_targets_are_matched_by_module_not_by_prefix_text() {
        for target in [
            "h2",
            "h2::codec::framed_write",
            "hyper_util::client",
            "tonic::transport::server",
        ] {
            assert!(is_transport_target(target), "{target}");
        }
        for target in [
            "h2o_service",
            "pingan_platform::server",
            "tonic::codec",
            "towering",
        ] {
            assert!(!is_transport_target(target), "{target}");
        }
    }
}
