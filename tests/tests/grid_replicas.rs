//! Two grid-registry replicas on one database: a grid created (or moved) through one is located
//! through the other within a few seconds, without a restart (each replica polls the grid
//! version and reloads its spatial index when it moved).

use std::time::{Duration, Instant};

use pingan_platform::auth::Role;
use pingan_proto::common::v1::GeoPoint;
use pingan_proto::grid::v1 as pb;
use pingan_proto::grid::v1::grid_registry_service_client::GridRegistryServiceClient;
use pingan_tests::{Bearer, Service, TestBackend, TestCluster, backend_tests};
use tonic::Code;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};

type Client = GridRegistryServiceClient<InterceptedService<Channel, Bearer>>;

/// The default `--grid-index-refresh` is 2 s: a replica is never more than one poll behind.
const WITHIN: Duration = Duration::from_secs(6);

fn client_at(endpoint: &str, token: &str) -> Client {
    let channel = Endpoint::from_shared(endpoint.to_owned())
        .expect("endpoint")
        .connect_timeout(Duration::from_secs(3))
        .connect_lazy();
    GridRegistryServiceClient::with_interceptor(channel, Bearer::new(token).expect("bearer"))
}

fn square(lat: f64, lon: f64) -> Vec<GeoPoint> {
    let d = 0.01;
    vec![
        GeoPoint { lat, lon },
        GeoPoint { lat, lon: lon + d },
        GeoPoint {
            lat: lat + d,
            lon: lon + d,
        },
        GeoPoint { lat: lat + d, lon },
    ]
}

fn locate_at(lat: f64, lon: f64) -> pb::LocateGridRequest {
    pb::LocateGridRequest {
        location: Some(GeoPoint {
            lat: lat + 0.005,
            lon: lon + 0.005,
        }),
        ..Default::default()
    }
}

/// Asks `client` until the centre of the square at (lat, lon) is in `grid_id` (or, with
/// `None`, in no grid); the time it took.
async fn until_located(client: &mut Client, lat: f64, lon: f64, grid_id: Option<&str>) -> Duration {
    let started = Instant::now();
    loop {
        let got = client.locate_grid(locate_at(lat, lon)).await;
        let now = match &got {
            Ok(found) => Some(found.get_ref().grid_id.clone()),
            Err(status) if status.code() == Code::NotFound => None,
            Err(status) => panic!("locate through the replica: {status}"),
        };
        if now.as_deref() == grid_id {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < WITHIN,
            "replica still locates {now:?}, not {grid_id:?}, after {:?}",
            started.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn a_grid_created_through_one_replica_is_located_through_the_other(backend: TestBackend) {
    let mut cluster = TestCluster::start(backend, &[Service::GridRegistry])
        .await
        .expect("cluster");
    let replica = cluster
        .start_replica(Service::GridRegistry)
        .await
        .expect("replica");
    let token = cluster
        .token("admin-1", &[Role::Admin], &[])
        .expect("token");
    let mut a = client_at(
        &cluster.endpoint(Service::GridRegistry).expect("endpoint"),
        &token,
    );
    let mut b = client_at(&replica, &token);
    let (lat, lon) = (29.5, 91.1);

    // B has loaded its index (and knows no grid there) before A creates one.
    let status = b.locate_grid(locate_at(lat, lon)).await.expect_err("empty");
    assert_eq!(status.code(), Code::NotFound);

    a.upsert_station(pb::UpsertStationRequest {
        request_id: "replica-station-1".into(),
        station_id: "st-replica".into(),
        name: "副本派出所".into(),
        kind: pb::StationKind::Urban as i32,
        ..Default::default()
    })
    .await
    .expect("station through A");
    a.upsert_grid(pb::UpsertGridRequest {
        request_id: "replica-grid-1".into(),
        grid_id: "st-replica-g1".into(),
        station_id: "st-replica".into(),
        name: "一网格".into(),
        polygon: square(lat, lon),
        kind: pb::GridKind::Village as i32,
        ..Default::default()
    })
    .await
    .expect("grid through A");
    let found = a.locate_grid(locate_at(lat, lon)).await.expect("A at once");
    assert_eq!(found.get_ref().grid_id, "st-replica-g1");

    let learned = until_located(&mut b, lat, lon, Some("st-replica-g1")).await;
    let located = b
        .locate_grid(locate_at(lat, lon))
        .await
        .expect("through B")
        .into_inner();
    assert_eq!(located.station_id, "st-replica");
    assert_eq!(located.station_name, "副本派出所");

    // Moving the grid through A: B follows, at the new place and no longer at the old one.
    let (lat2, lon2) = (29.6, 91.3);
    a.upsert_grid(pb::UpsertGridRequest {
        request_id: "replica-grid-2".into(),
        grid_id: "st-replica-g1".into(),
        station_id: "st-replica".into(),
        name: "一网格".into(),
        polygon: square(lat2, lon2),
        kind: pb::GridKind::Village as i32,
        ..Default::default()
    })
    .await
    .expect("move through A");
    let moved = until_located(&mut b, lat2, lon2, Some("st-replica-g1")).await;
    until_located(&mut b, lat, lon, None).await;

    // And the other way round: B's writes reach A.
    b.upsert_grid(pb::UpsertGridRequest {
        request_id: "replica-grid-3".into(),
        grid_id: "st-replica-g2".into(),
        station_id: "st-replica".into(),
        name: "二网格".into(),
        polygon: square(lat, lon),
        kind: pb::GridKind::Community as i32,
        ..Default::default()
    })
    .await
    .expect("grid through B");
    let back = until_located(&mut a, lat, lon, Some("st-replica-g2")).await;
    println!(
        "{backend:?}: replica learned a new grid in {learned:?}, a moved grid in {moved:?}; \
         the first replica learned the other's grid in {back:?}"
    );
    cluster.shutdown().await.expect("shutdown");
}

backend_tests!(a_grid_created_through_one_replica_is_located_through_the_other);
