//! Prometheus metrics: RED metrics for every RPC (a tower layer on the server) and the `/metrics`
//! endpoint on its own port. Services register their own metrics in the same default registry.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::LazyLock;
use std::task::{Context, Poll};
use std::time::Instant;

use prometheus::{Encoder, HistogramVec, IntCounterVec, TextEncoder};

static RPC_REQUESTS: LazyLock<Option<IntCounterVec>> = LazyLock::new(|| {
    register(IntCounterVec::new(
        prometheus::Opts::new(
            "pingan_rpc_requests_total",
            "gRPC calls by service, method and status code",
        ),
        &["service", "method", "code"],
    ))
});

static RPC_DURATION: LazyLock<Option<HistogramVec>> = LazyLock::new(|| {
    register(HistogramVec::new(
        prometheus::HistogramOpts::new(
            "pingan_rpc_duration_seconds",
            "gRPC call latency until response headers",
        )
        .buckets(vec![
            0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
        ]),
        &["service", "method"],
    ))
});

/// Every gRPC status code by number: OK and the sixteen errors.
const GRPC_CODES: [&str; 17] = [
    "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15", "16",
];

/// Creates the RED series of every method of `services` (full gRPC names, e.g.
/// `pingan.intake.v1.IntakeService`) at zero, every status code included, so that rates and
/// error ratios exist from process start instead of from each method's first call.
pub fn register_rpc_methods(services: &[String]) {
    let (Some(requests), Some(duration)) = (RPC_REQUESTS.as_ref(), RPC_DURATION.as_ref()) else {
        return;
    };
    for (service, method) in rpc_methods(services) {
        for code in GRPC_CODES {
            requests.with_label_values(&[&service, &method, code]);
        }
        duration.with_label_values(&[&service, &method]);
    }
}

/// The (service, method) pairs of `services` found in the pingan and health descriptor sets.
fn rpc_methods(services: &[String]) -> Vec<(String, String)> {
    use prost::Message as _;
    let mut methods = Vec::new();
    for encoded in [
        pingan_proto::FILE_DESCRIPTOR_SET,
        tonic_health::pb::FILE_DESCRIPTOR_SET,
    ] {
        let Ok(set) = prost_types::FileDescriptorSet::decode(encoded) else {
            tracing::error!("descriptor set does not decode: RPC series appear on first call");
            continue;
        };
        for file in &set.file {
            for service in &file.service {
                let name = format!("{}.{}", file.package(), service.name());
                if !services.contains(&name) {
                    continue;
                }
                for method in &service.method {
                    methods.push((name.clone(), method.name().to_owned()));
                }
            }
        }
    }
    methods
}

/// Records the gRPC status code on the current span (the server span of the call), with the
/// span status OpenTelemetry's RPC conventions give a server: error for server-side codes only.
fn record_status_on_span(code: &str) {
    let Ok(number) = code.parse::<i64>() else {
        return;
    };
    let span = tracing::Span::current();
    span.record("rpc.grpc.status_code", number);
    // UNKNOWN, DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS.
    if matches!(number, 2 | 4 | 12 | 13 | 14 | 15) {
        span.record("otel.status_code", "error");
    }
}

/// Registers a collector in the default registry, logging (not panicking) on failure.
pub fn register<C: prometheus::core::Collector + Clone + 'static>(
    collector: prometheus::Result<C>,
) -> Option<C> {
    let collector = collector
        .map_err(|err| tracing::error!(error = %err, "invalid metric definition"))
        .ok()?;
    match prometheus::register(Box::new(collector.clone())) {
        Ok(()) | Err(prometheus::Error::AlreadyReg) => Some(collector),
        Err(err) => {
            tracing::error!(error = %err, "metric registration failed");
            None
        }
    }
}

/// The default registry in Prometheus text format.
pub fn render() -> String {
    let mut buffer = Vec::new();
    if let Err(err) = TextEncoder::new().encode(&prometheus::gather(), &mut buffer) {
        tracing::error!(error = %err, "metrics encoding failed");
    }
    String::from_utf8(buffer).unwrap_or_default()
}

/// Serves `GET /metrics` on `addr` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(|| async {
            (
                [(http::header::CONTENT_TYPE, "text/plain; version=0.0.4")],
                render(),
            )
        }),
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

/// Binds the metrics listener.
pub async fn bind(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr).await
}

/// Tower layer recording RED metrics per gRPC method.
#[derive(Debug, Clone, Copy, Default)]
pub struct RpcMetricsLayer;

impl<S> tower::Layer<S> for RpcMetricsLayer {
    type Service = RpcMetrics<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RpcMetrics { inner }
    }
}

/// See [`RpcMetricsLayer`].
#[derive(Debug, Clone)]
pub struct RpcMetrics<S> {
    inner: S,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, B, R> tower::Service<http::Request<B>> for RpcMetrics<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
    S::Error: 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<Result<S::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let path = request.uri().path().trim_start_matches('/');
        let (service, method) = path.split_once('/').unwrap_or(("unknown", "unknown"));
        let (service, method) = (service.to_owned(), method.to_owned());
        let started = Instant::now();
        let future = self.inner.call(request);
        Box::pin(async move {
            let result = future.await;
            // Errors are trailers-only responses with grpc-status in the headers; success
            // sends it in the trailers, after the body.
            let code = match &result {
                Ok(response) => response
                    .headers()
                    .get("grpc-status")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("0")
                    .to_owned(),
                Err(_) => "transport_error".to_owned(),
            };
            record_status_on_span(&code);
            if let Some(requests) = RPC_REQUESTS.as_ref() {
                requests
                    .with_label_values(&[&service, &method, &code])
                    .inc();
            }
            if let Some(duration) = RPC_DURATION.as_ref() {
                duration
                    .with_label_values(&[&service, &method])
                    .observe(started.elapsed().as_secs_f64());
            }
            result
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_method_of_a_mounted_service_has_its_series_from_the_start() {
        register_rpc_methods(&["pingan.intake.v1.IntakeService".to_owned()]);
        let text = render();
        for code in ["0", "13", "14"] {
            let series = format!(
                "pingan_rpc_requests_total{{code=\"{code}\",method=\"ReportCall\",service=\"pingan.intake.v1.IntakeService\"}} 0"
            );
            assert!(text.contains(&series), "{series} missing");
        }
        assert!(text.contains(
            "pingan_rpc_duration_seconds_count{method=\"ReportCall\",service=\"pingan.intake.v1.IntakeService\"} 0"
        ));
        // Services not mounted get no series.
        assert!(!text.contains("service=\"pingan.audit.v1.ComplaintsAuditService\""));
    }
}
