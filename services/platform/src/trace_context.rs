//! W3C trace context across gRPC hops: the server extracts `traceparent` from incoming metadata
//! (through `Server::trace_fn`), clients inject it into outgoing metadata (an interceptor), and
//! events carry it in their envelope. Never custom trace headers.

use std::collections::HashMap;

use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::TraceContextExt;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tonic::metadata::{MetadataKey, MetadataMap, MetadataValue};
use tracing_opentelemetry::OpenTelemetrySpanExt;

struct HeaderExtractor<'a>(&'a http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

struct MetadataInjector<'a>(&'a mut MetadataMap);

impl Injector for MetadataInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(key), Ok(value)) = (
            MetadataKey::from_bytes(key.as_bytes()),
            MetadataValue::try_from(value.as_str()),
        ) {
            self.0.insert(key, value);
        }
    }
}

/// The span every incoming gRPC call runs in, continuing the caller's trace when it sent one.
pub fn server_span(request: &http::Request<()>) -> tracing::Span {
    let path = request.uri().path().trim_start_matches('/');
    let (service, method) = path.split_once('/').unwrap_or((path, ""));
    let span = tracing::info_span!(
        "grpc.server",
        otel.name = %path,
        otel.kind = "server",
        rpc.system = "grpc",
        rpc.service = %service,
        rpc.method = %method,
        // Filled in by the RPC metrics layer once the response headers are out.
        rpc.grpc.status_code = tracing::field::Empty,
        otel.status_code = tracing::field::Empty,
        trace_id = tracing::field::Empty,
    );
    let parent = TraceContextPropagator::new().extract(&HeaderExtractor(request.headers()));
    // An error only means no OpenTelemetry layer is installed: the span then stays local.
    let _ = span.set_parent(parent);
    if let Some(trace_id) = trace_id_of(&span) {
        span.record("trace_id", tracing::field::display(trace_id));
    }
    span
}

/// The trace id of a span, when OpenTelemetry is installed and the span is sampled.
pub fn trace_id_of(span: &tracing::Span) -> Option<String> {
    let context = span.context();
    let span_context = context.span().span_context().clone();
    span_context
        .is_valid()
        .then(|| span_context.trace_id().to_string())
}

/// Writes the current span's trace context into outgoing gRPC metadata.
pub fn inject_current(metadata: &mut MetadataMap) {
    let context = tracing::Span::current().context();
    TraceContextPropagator::new().inject_context(&context, &mut MetadataInjector(metadata));
}

/// The current span's trace context as W3C headers (`traceparent`, `tracestate`), for event
/// envelopes.
pub fn current_headers() -> HashMap<String, String> {
    let mut headers = HashMap::new();
    let context = tracing::Span::current().context();
    TraceContextPropagator::new().inject_context(&context, &mut headers);
    headers
}

/// Makes `span` continue the trace described by W3C headers (from an event envelope).
pub fn continue_from_headers(span: &tracing::Span, headers: &HashMap<String, String>) {
    let parent = TraceContextPropagator::new().extract(headers);
    let _ = span.set_parent(parent);
}

/// Makes `span` continue the trace of an event's stored `traceparent` / `tracestate`.
pub fn continue_from_event(span: &tracing::Span, traceparent: &str, tracestate: &str) {
    let headers = [("traceparent", traceparent), ("tracestate", tracestate)]
        .into_iter()
        .filter(|(_, value)| !value.is_empty())
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
        .collect();
    continue_from_headers(span, &headers);
}
