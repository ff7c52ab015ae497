//! Event spans follow the OpenTelemetry messaging conventions, through the production layer: the
//! relay's `send {event_type}` (PRODUCER, in the writer's trace), its `send {service}` batch span
//! (CLIENT) with the DeliverBatch call's CLIENT span under it, and the receiver's `process {event_type}` (CONSUMER, in the
//! writer's trace); `messaging.system`, `messaging.operation.type`, `messaging.destination.name`,
//! `messaging.message.id` on each. Alone in its test binary: tracing caches callsite interest per
//! process.

mod common;

use common::events::{EVENT_TYPE, Pair};
use common::spans::{find, wait_until};
use opentelemetry::Value;
use opentelemetry::trace::{SpanKind, Status};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use pingan_platform::config::DEFAULT_TRACE_FILTER;
use pingan_platform::events::MESSAGING_SYSTEM;
use pingan_platform::storage::Backend;
use pingan_platform::telemetry::otel_layer;
use tracing::Instrument;
use tracing_subscriber::layer::SubscriberExt;

const DELIVER_BATCH: &str = "pingan.events.v1.EventSinkService/DeliverBatch";

fn attribute<'a>(span: &'a SpanData, key: &str) -> Option<&'a Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| &kv.value)
}

fn text(span: &SpanData, key: &str) -> Option<String> {
    attribute(span, key).map(|v| v.as_str().into_owned())
}

fn of_kind<'a>(spans: &'a [SpanData], name: &str, kind: SpanKind) -> Vec<&'a SpanData> {
    spans
        .iter()
        .filter(|s| s.name == name && s.span_kind == kind)
        .collect()
}

#[tokio::test]
async fn event_spans_follow_the_messaging_conventions() {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    // The production default filter.
    let layer = otel_layer(&provider, DEFAULT_TRACE_FILTER).expect("layer");
    let _guard = tracing::subscriber::set_default(tracing_subscriber::registry().with(layer));

    let pair = Pair::start(Backend::Sqlite).await;
    let root = tracing::info_span!("dispatch.close");
    let event_id = pair
        .emit("incident-m", "closed")
        .instrument(root.clone())
        .await;
    drop(root);
    assert_eq!(pair.relay().drain().await.delivered, 1);
    assert_eq!(pair.applied("incident-m").await, ["closed"]);

    let send_name = format!("send {EVENT_TYPE}");
    let process_name = format!("process {EVENT_TYPE}");
    let spans = wait_until(&exporter, "every span of the hop", |spans| {
        [
            "dispatch.close",
            send_name.as_str(),
            process_name.as_str(),
            "send intake",
        ]
        .iter()
        .all(|n| spans.iter().any(|s| s.name == *n))
            && of_kind(spans, DELIVER_BATCH, SpanKind::Client).len() == 1
    })
    .await;
    pair.stop().await;

    let root = find(&spans, "dispatch.close");
    let trace_id = root.span_context.trace_id();

    // The producer: one per event, in the trace that wrote it.
    let send = find(&spans, &send_name);
    assert_eq!(send.span_kind, SpanKind::Producer);
    assert_eq!(send.span_context.trace_id(), trace_id);
    assert_eq!(send.parent_span_id, root.span_context.span_id());
    for (key, value) in [
        ("messaging.system", MESSAGING_SYSTEM),
        ("messaging.operation.type", "send"),
        ("messaging.operation.name", "send"),
        ("messaging.destination.name", EVENT_TYPE),
        ("messaging.message.id", event_id.as_str()),
        ("messaging.consumer.group.name", "intake"),
    ] {
        assert_eq!(text(send, key).as_deref(), Some(value), "send: {key}");
    }

    // The consumer: one per applied event, in the same trace.
    let process = find(&spans, &process_name);
    assert_eq!(process.span_kind, SpanKind::Consumer);
    assert_eq!(process.span_context.trace_id(), trace_id);
    for (key, value) in [
        ("messaging.system", MESSAGING_SYSTEM),
        ("messaging.operation.type", "process"),
        ("messaging.operation.name", "process"),
        ("messaging.destination.name", EVENT_TYPE),
        ("messaging.message.id", event_id.as_str()),
        ("messaging.consumer.group.name", "intake"),
    ] {
        assert_eq!(text(process, key).as_deref(), Some(value), "process: {key}");
    }

    // The batch: a CLIENT send span, the gRPC call's CLIENT span under it, the receiver's SERVER
    // span under that (the context the client injected).
    let batch = find(&spans, "send intake");
    assert_eq!(batch.span_kind, SpanKind::Client);
    assert_eq!(
        text(batch, "messaging.system").as_deref(),
        Some(MESSAGING_SYSTEM)
    );
    assert_eq!(
        text(batch, "messaging.operation.type").as_deref(),
        Some("send")
    );
    assert_eq!(
        text(batch, "messaging.destination.name").as_deref(),
        Some("intake")
    );
    assert_eq!(
        attribute(batch, "messaging.batch.message_count"),
        Some(&Value::I64(1))
    );
    let call = of_kind(&spans, DELIVER_BATCH, SpanKind::Client)[0];
    assert_eq!(call.parent_span_id, batch.span_context.span_id());
    assert_eq!(call.span_context.trace_id(), batch.span_context.trace_id());
    assert_eq!(text(call, "rpc.system").as_deref(), Some("grpc"));
    assert_eq!(
        text(call, "rpc.service").as_deref(),
        Some("pingan.events.v1.EventSinkService")
    );
    assert_eq!(text(call, "rpc.method").as_deref(), Some("DeliverBatch"));
    assert_eq!(
        attribute(call, "rpc.grpc.status_code"),
        Some(&Value::I64(0))
    );
    assert_eq!(call.status, Status::Unset);
    // The receiver's SERVER span, when exported by now, continues the call's span (the
    // client-to-server link itself is asserted in trace.rs and trace_conventions.rs).
    for served in of_kind(&spans, DELIVER_BATCH, SpanKind::Server) {
        assert_eq!(served.parent_span_id, call.span_context.span_id());
        assert_eq!(served.span_context.trace_id(), call.span_context.trace_id());
    }
}
