//! The server builder: shutdown lets an in-flight call finish; bad input comes back as
//! INVALID_ARGUMENT with field violations.

mod common;

use std::time::Duration;

use common::relay::Relay;
use common::start;
use pingan_platform::ApiError;
use pingan_platform::clients::traced_channel;
use pingan_platform::config::ServerConfig;
use pingan_platform::server::ServiceHost;
use pingan_proto::grid::v1::LocateGridRequest;
use pingan_proto::grid::v1::grid_registry_service_client::GridRegistryServiceClient;
use pingan_proto::grid::v1::grid_registry_service_server::GridRegistryServiceServer;
use tonic::{Code, Status};
use tonic_types::StatusExt;

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
                ..Default::default()
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
            ..Default::default()
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
