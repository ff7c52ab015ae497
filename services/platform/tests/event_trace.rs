//! One trace follows a case across the asynchronous hop: the span that wrote the event, the
//! relay's send and the receiver's apply share a trace id. Alone in its test binary (tracing
//! caches callsite interest per process).

mod common;

use common::events::Pair;
use common::spans::{find, wait_for_spans};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
use pingan_platform::storage::Backend;
use tracing::Instrument;
use tracing_subscriber::layer::SubscriberExt;

#[tokio::test]
async fn event_delivery_continues_the_writers_trace() {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
    let _guard = tracing::subscriber::set_default(subscriber);

    let pair = Pair::start(Backend::Sqlite).await;
    let root = tracing::info_span!("dispatch.close");
    pair.emit("incident-t", "closed")
        .instrument(root.clone())
        .await;
    drop(root);
    // The relay runs outside the writer's span, as the background task does.
    assert_eq!(pair.relay().drain().await.delivered, 1);
    assert_eq!(pair.applied("incident-t").await, ["closed"]);

    let wanted = [
        "dispatch.close",
        "send pingan.common.v1.Actor",
        "process pingan.common.v1.Actor",
    ];
    let spans = wait_for_spans(&exporter, &wanted).await;
    let root = find(&spans, wanted[0]);
    let send = find(&spans, wanted[1]);
    let apply = find(&spans, wanted[2]);
    let trace_id = root.span_context.trace_id();
    assert_eq!(send.span_context.trace_id(), trace_id);
    assert_eq!(apply.span_context.trace_id(), trace_id);
    assert_eq!(send.parent_span_id, root.span_context.span_id());
    pair.stop().await;
}
