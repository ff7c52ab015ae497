//! The server builder: shutdown lets an in-flight call finish; bad input comes back as
//! INVALID_ARGUMENT with field violations.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::start;
use pingan_platform::ApiError;
use pingan_platform::FieldViolations;
use pingan_platform::clients::{TracedChannel, traced_channel};
use pingan_platform::config::ServerConfig;
use pingan_platform::server::ServiceHost;
use pingan_proto::grid::v1::grid_registry_service_client::GridRegistryServiceClient;
use pingan_proto::grid::v1::grid_registry_service_server::{
    GridRegistryService, GridRegistryServiceServer,
};
use pingan_proto::grid::v1::{LocateGridRequest, LocateGridResponse};
use tokio::sync::Notify;
use tonic::{Code, Request, Response, Status};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;
use tonic_types::StatusExt;

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_lets_in_flight_calls_finish() {
    let relay = Relay::new(None, true);
    let (started, release) = (relay.started.clone(), relay.release.clone());
    let mut host = ServiceHost::new(ServerConfig::default());
    host.add_service(GridRegistryServiceServer::new(relay), vec![]);
    let mut running = start(host).await;

    let mut client =
        GridRegistryServiceClient::new(traced_channel(&running.url()).expect("channel"));
    let call = tokio::spawn(async move {
        client
            .locate_grid(LocateGridRequest {
                location: Some(pingan_proto::common::v1::GeoPoint {
                    lat: 29.25,
                    lon: 88.86,
                }),
            })
            .await
    });
    started.notified().await;
    running.stop.take().expect("stop").send(()).expect("signal");
    // The server is draining: it must not finish while the call is in flight.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        !running.task.is_finished(),
        "server stopped before the in-flight call ended"
    );
    release.notify_one();

    let answer = call
        .await
        .expect("call task")
        .expect("in-flight call succeeds");
    assert_eq!(answer.into_inner().station_id, "st-chengnan");
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_input_is_invalid_argument_naming_fields() {
    let mut host = ServiceHost::new(ServerConfig::default());
    host.add_service(
        GridRegistryServiceServer::new(Relay::new(None, false)),
        vec![],
    );
    let running = start(host).await;
    let mut client =
        GridRegistryServiceClient::new(traced_channel(&running.url()).expect("channel"));

    let status = client
        .locate_grid(LocateGridRequest {
            location: Some(pingan_proto::common::v1::GeoPoint {
                lat: 95.0,
                lon: 88.86,
            }),
        })
        .await
        .expect_err("out-of-range latitude");
    assert_eq!(status.code(), Code::InvalidArgument);
    let fields: Vec<String> = status
        .get_details_bad_request()
        .expect("bad request details")
        .field_violations
        .into_iter()
        .map(|v| v.field)
        .collect();
    assert_eq!(fields, ["location.lat"]);

    // Errors from the platform's own type map the same way.
    let status: Status = ApiError::invalid("request_id", "must not be empty").into();
    assert_eq!(status.code(), Code::InvalidArgument);
    running.stop().await;
}
