//! The spans an operator reads: the production OpenTelemetry layer exports the server span of
//! each call, named and attributed per the OpenTelemetry RPC conventions (`rpc.system`,
//! `rpc.service`, `rpc.method`, `rpc.grpc.status_code`, error status for server-side codes only),
//! the client span of each outgoing call (kind CLIENT, same attributes, error for any code but OK,
//! the parent of the server span through the injected `traceparent`), and never a transport span
//! (h2, hyper, tower), even with every span enabled by the filter.
//! Alone in its test binary: tracing caches callsite interest per process.

mod common;

use common::relay::Relay;
use common::spans::{count, wait_until};
use common::{Quiet, start};
use opentelemetry::Value;
use opentelemetry::trace::{SpanKind, Status};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use pingan_platform::clients::traced_channel;
use pingan_platform::config::ServerConfig;
use pingan_platform::server::ServiceHost;
use pingan_platform::telemetry::{is_transport_target, otel_layer};
use pingan_proto::common::v1::GeoPoint;
use pingan_proto::grid::v1::LocateGridRequest;
use pingan_proto::grid::v1::grid_registry_service_client::GridRegistryServiceClient;
use pingan_proto::grid::v1::grid_registry_service_server::GridRegistryServiceServer;
use pingan_proto::intake::v1::ReportCallRequest;
use pingan_proto::intake::v1::intake_service_client::IntakeServiceClient;
use pingan_proto::intake::v1::intake_service_server::IntakeServiceServer;
use tracing_subscriber::Layer as _;
use tracing_subscriber::layer::SubscriberExt;

const LOCATE: &str = "pingan.grid.v1.GridRegistryService/LocateGrid";
const REPORT: &str = "pingan.intake.v1.IntakeService/ReportCall";

fn attribute<'a>(span: &'a SpanData, key: &str) -> Option<&'a Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| &kv.value)
}

fn target(span: &SpanData) -> String {
    attribute(span, "target")
        .map(|v| v.as_str().into_owned())
        .unwrap_or_default()
}

/// Serves a grid and an intake service, calls LocateGrid (OK, then INVALID_ARGUMENT) and
/// ReportCall (UNIMPLEMENTED), and returns every span exported meanwhile.
async fn traffic(exporter: &InMemorySpanExporter) -> Vec<SpanData> {
    let mut host = ServiceHost::new(ServerConfig::default());
    host.add_service(
        GridRegistryServiceServer::new(Relay::new(None, false)),
        vec![],
    );
    host.add_service(IntakeServiceServer::new(Quiet), vec![]);
    let running = start(host).await;
    let channel = traced_channel(&running.url()).expect("channel");
    let mut grid = GridRegistryServiceClient::new(channel.clone());
    let point = |lat| LocateGridRequest {
        location: Some(GeoPoint { lat, lon: 88.86 }),
        ..Default::default()
    };
    grid.locate_grid(point(29.25)).await.expect("locate grid");
    let refused = grid.locate_grid(point(200.0)).await.expect_err("refused");
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);
    let unimplemented = IntakeServiceClient::new(channel)
        .report_call(ReportCallRequest::default())
        .await
        .expect_err("unimplemented");
    assert_eq!(unimplemented.code(), tonic::Code::Unimplemented);
    // A client and a server span per call.
    let spans = wait_until(exporter, "both spans of every call", |spans| {
        count(spans, LOCATE) >= 4 && count(spans, REPORT) >= 2
    })
    .await;
    running.stop().await;
    spans
}

fn provider() -> (InMemorySpanExporter, SdkTracerProvider) {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    (exporter, provider)
}

// Current-thread runtime: the thread-local subscriber sees the server's spans too.
#[tokio::test]
async fn server_spans_follow_the_rpc_conventions_and_transport_spans_stay_out() {
    // Control: a layer filtered by `trace` alone does export the transport's spans.
    {
        let (exporter, provider) = provider();
        let layer = tracing_opentelemetry::layer()
            .with_tracer(opentelemetry::trace::TracerProvider::tracer(
                &provider, "control",
            ))
            .with_filter(tracing_subscriber::EnvFilter::new("trace"));
        let _guard = tracing::subscriber::set_default(tracing_subscriber::registry().with(layer));
        let spans = traffic(&exporter).await;
        assert!(
            spans.iter().any(|s| is_transport_target(&target(s))),
            "the control run exported no transport span: the test below would prove nothing"
        );
    }

    let (exporter, provider) = provider();
    let layer = otel_layer(&provider, "trace").expect("layer");
    let _guard = tracing::subscriber::set_default(tracing_subscriber::registry().with(layer));
    let spans = traffic(&exporter).await;

    let transport: Vec<String> = spans
        .iter()
        .filter(|s| is_transport_target(&target(s)))
        .map(|s| format!("{} ({})", s.name, target(s)))
        .collect();
    assert!(
        transport.is_empty(),
        "transport spans exported: {transport:?}"
    );

    let of_kind = |name: &str, kind: SpanKind| -> Vec<&SpanData> {
        spans
            .iter()
            .filter(|s| s.name == name && s.span_kind == kind)
            .collect()
    };
    let locates = of_kind(LOCATE, SpanKind::Server);
    assert_eq!(locates.len(), 2, "one server span per call");
    let mut codes = Vec::new();
    for span in &locates {
        assert_eq!(span.span_kind, SpanKind::Server);
        assert_eq!(attribute(span, "rpc.system"), Some(&Value::from("grpc")));
        assert_eq!(
            attribute(span, "rpc.service"),
            Some(&Value::from("pingan.grid.v1.GridRegistryService"))
        );
        assert_eq!(
            attribute(span, "rpc.method"),
            Some(&Value::from("LocateGrid"))
        );
        codes.push(attribute(span, "rpc.grpc.status_code").cloned());
        // INVALID_ARGUMENT is the caller's error: a server span stays unset.
        assert_eq!(span.status, Status::Unset);
    }
    codes.sort_by_key(|c| format!("{c:?}"));
    assert_eq!(codes, vec![Some(Value::I64(0)), Some(Value::I64(3))]);

    // The caller's side: one CLIENT span per call, the parent of the call's SERVER span.
    let calls = of_kind(LOCATE, SpanKind::Client);
    assert_eq!(calls.len(), 2, "one client span per call");
    let mut client_codes = Vec::new();
    for call in &calls {
        assert_eq!(attribute(call, "rpc.system"), Some(&Value::from("grpc")));
        assert_eq!(
            attribute(call, "rpc.service"),
            Some(&Value::from("pingan.grid.v1.GridRegistryService"))
        );
        assert_eq!(
            attribute(call, "rpc.method"),
            Some(&Value::from("LocateGrid"))
        );
        let code = attribute(call, "rpc.grpc.status_code").cloned();
        // For the caller every code but OK is an error.
        if code == Some(Value::I64(0)) {
            assert_eq!(call.status, Status::Unset);
        } else {
            assert!(
                matches!(call.status, Status::Error { .. }),
                "{:?}",
                call.status
            );
        }
        client_codes.push(code);
        let served = locates
            .iter()
            .find(|s| s.parent_span_id == call.span_context.span_id())
            .unwrap_or_else(|| panic!("no server span is a child of client span {call:?}"));
        assert_eq!(served.span_context.trace_id(), call.span_context.trace_id());
        assert_eq!(
            attribute(served, "rpc.grpc.status_code").cloned(),
            client_codes.last().cloned().flatten()
        );
    }
    client_codes.sort_by_key(|c| format!("{c:?}"));
    assert_eq!(client_codes, vec![Some(Value::I64(0)), Some(Value::I64(3))]);
    let report_call = of_kind(REPORT, SpanKind::Client);
    assert_eq!(report_call.len(), 1);
    assert_eq!(
        attribute(report_call[0], "rpc.grpc.status_code"),
        Some(&Value::I64(12))
    );

    let report = of_kind(REPORT, SpanKind::Server)
        .first()
        .copied()
        .expect("server span of ReportCall");
    assert_eq!(
        attribute(report, "rpc.grpc.status_code"),
        Some(&Value::I64(12))
    );
    assert!(
        matches!(report.status, Status::Error { .. }),
        "UNIMPLEMENTED is a server-side error: {:?}",
        report.status
    );
}
