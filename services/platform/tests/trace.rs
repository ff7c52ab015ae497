//! One trace follows a call from a client into one service and on into another, through the
//! server's trace-context extraction and the clients' injection. Alone in its test binary:
//! tracing caches callsite interest per process, and other tests' servers would race it.

mod common;

use common::relay::Relay;
use common::spans::{count, find, wait_until};
use common::{Quiet, start};
use opentelemetry::trace::{SpanKind, TracerProvider as _};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
use pingan_platform::clients::traced_channel;
use pingan_platform::config::ServerConfig;
use pingan_platform::server::ServiceHost;
use pingan_proto::grid::v1::LocateGridRequest;
use pingan_proto::grid::v1::grid_registry_service_client::GridRegistryServiceClient;
use pingan_proto::grid::v1::grid_registry_service_server::GridRegistryServiceServer;
use pingan_proto::intake::v1::intake_service_server::IntakeServiceServer;
use tracing::Instrument;
use tracing_subscriber::layer::SubscriberExt;

// Current-thread runtime: the thread-local subscriber sees the servers' spans too.
#[tokio::test]
async fn one_trace_spans_a_call_across_two_services() {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
    let _guard = tracing::subscriber::set_default(subscriber);

    let mut downstream = ServiceHost::new(ServerConfig::default());
    downstream.add_service(IntakeServiceServer::new(Quiet), vec![]);
    let downstream = start(downstream).await;

    let relay = Relay::new(
        Some(traced_channel(&downstream.url()).expect("channel")),
        false,
    );
    let mut upstream = ServiceHost::new(ServerConfig::default());
    upstream.add_service(GridRegistryServiceServer::new(relay), vec![]);
    let upstream = start(upstream).await;

    let root = tracing::info_span!("dispatcher.console");
    async {
        let mut client =
            GridRegistryServiceClient::new(traced_channel(&upstream.url()).expect("channel"));
        let answer = client
            .locate_grid(LocateGridRequest {
                location: Some(pingan_proto::common::v1::GeoPoint {
                    lat: 29.25,
                    lon: 88.86,
                }),
                ..Default::default()
            })
            .await
            .expect("locate grid");
        assert_eq!(answer.into_inner().grid_id, "st-chengnan-g1");
    }
    .instrument(root.clone())
    .await;
    drop(root);

    let locate = "pingan.grid.v1.GridRegistryService/LocateGrid";
    let check = "grpc.health.v1.Health/Check";
    // Each hop: the caller's CLIENT span, the callee's SERVER span under it.
    let spans = wait_until(&exporter, "both spans of both hops", |spans| {
        count(spans, "dispatcher.console") == 1
            && count(spans, locate) == 2
            && count(spans, check) == 2
    })
    .await;
    let hop = |name: &str, kind: SpanKind| {
        spans
            .iter()
            .find(|s| s.name == name && s.span_kind == kind)
            .unwrap_or_else(|| panic!("no {kind:?} span {name}"))
    };

    let client = find(&spans, "dispatcher.console");
    let trace_id = client.span_context.trace_id();
    let upstream_call = hop(locate, SpanKind::Client);
    let upstream_span = hop(locate, SpanKind::Server);
    let downstream_call = hop(check, SpanKind::Client);
    let downstream_span = hop(check, SpanKind::Server);
    for span in [
        upstream_call,
        upstream_span,
        downstream_call,
        downstream_span,
    ] {
        assert_eq!(span.span_context.trace_id(), trace_id, "{}", span.name);
    }
    assert_eq!(upstream_call.parent_span_id, client.span_context.span_id());
    assert_eq!(
        upstream_span.parent_span_id,
        upstream_call.span_context.span_id()
    );
    assert_eq!(
        downstream_call.parent_span_id,
        upstream_span.span_context.span_id()
    );
    assert_eq!(
        downstream_span.parent_span_id,
        downstream_call.span_context.span_id()
    );

    upstream.stop().await;
    downstream.stop().await;
}
