//! One trace follows a call from a client into one service and on into another, through the
//! server's trace-context extraction and the clients' injection. Alone in its test binary:
//! tracing caches callsite interest per process, and other tests' servers would race it.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{Quiet, start};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use pingan_platform::FieldViolations;
use pingan_platform::clients::{TracedChannel, traced_channel};
use pingan_platform::config::ServerConfig;
use pingan_platform::server::ServiceHost;
use pingan_proto::grid::v1::grid_registry_service_client::GridRegistryServiceClient;
use pingan_proto::grid::v1::grid_registry_service_server::{
    GridRegistryService, GridRegistryServiceServer,
};
use pingan_proto::grid::v1::{LocateGridRequest, LocateGridResponse};
use pingan_proto::intake::v1::intake_service_server::IntakeServiceServer;
use tokio::sync::Notify;
use tonic::{Request, Response, Status};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;
use tracing::Instrument;
use tracing_subscriber::layer::SubscriberExt;

/// A grid service whose LocateGrid calls another service (health of `next`) before answering,
/// optionally waiting for a release, and rejecting coordinates out of range.
#[derive(Clone)]
struct Relay {
    next: Option<TracedChannel>,
    started: Arc<Notify>,
    release: Arc<Notify>,
    hold: bool,
}

impl Relay {
    fn new(next: Option<TracedChannel>, hold: bool) -> Self {
        Self {
            next,
            started: Arc::new(Notify::new()),
            release: Arc::new(Notify::new()),
            hold,
        }
    }
}

#[tonic::async_trait]
impl GridRegistryService for Relay {
    async fn locate_grid(
        &self,
        request: Request<LocateGridRequest>,
    ) -> Result<Response<LocateGridResponse>, Status> {
        let location = request.into_inner().location.unwrap_or_default();
        let mut violations = FieldViolations::default();
        violations.require_coordinates("location", location.lat, location.lon);
        violations.finish()?;
        self.started.notify_one();
        if self.hold {
            self.release.notified().await;
        }
        if let Some(next) = &self.next {
            HealthClient::new(next.clone())
                .check(HealthCheckRequest {
                    service: common::QUIET_NAME.to_owned(),
                })
                .await?;
        }
        Ok(Response::new(LocateGridResponse {
            grid_id: "st-chengnan-g1".into(),
            station_id: "st-chengnan".into(),
            ..Default::default()
        }))
    }
}

fn find<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
    spans
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no span {name} among {:?}", names(spans)))
}

fn names(spans: &[SpanData]) -> Vec<String> {
    spans.iter().map(|s| s.name.to_string()).collect()
}

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
            })
            .await
            .expect("locate grid");
        assert_eq!(answer.into_inner().grid_id, "st-chengnan-g1");
    }
    .instrument(root.clone())
    .await;
    drop(root);

    let wanted = [
        "dispatcher.console",
        "pingan.grid.v1.GridRegistryService/LocateGrid",
        "grpc.health.v1.Health/Check",
    ];
    let spans = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let spans = exporter.get_finished_spans().expect("spans");
            if wanted.iter().all(|w| spans.iter().any(|s| s.name == *w)) {
                return spans;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .unwrap_or_else(|_| {
        panic!(
            "spans: {:?}",
            names(&exporter.get_finished_spans().unwrap_or_default())
        )
    });

    let client = find(&spans, wanted[0]);
    let upstream_span = find(&spans, wanted[1]);
    let downstream_span = find(&spans, wanted[2]);
    let trace_id = client.span_context.trace_id();
    assert_eq!(upstream_span.span_context.trace_id(), trace_id);
    assert_eq!(downstream_span.span_context.trace_id(), trace_id);
    assert_eq!(upstream_span.parent_span_id, client.span_context.span_id());
    assert_eq!(
        downstream_span.parent_span_id,
        upstream_span.span_context.span_id()
    );

    upstream.stop().await;
    downstream.stop().await;
}
