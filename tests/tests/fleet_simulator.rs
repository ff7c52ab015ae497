//! The fleet simulator makes a freshly imported cluster dispatchable: after `registry import`
//! (units registered, no positions) one simulator round reports every unit through the public
//! API, near its station's grids, so FindNearestUnits and OpenDispatch find units at once.
//! On SQLite and on Postgres + Redis.

mod dispatch_support;

use dispatch_support::*;
use pingan::fleet::FleetSimulator;
use pingan_platform::auth::Role;
use pingan_proto::common::v1::{GeoPoint, Priority};
use pingan_proto::dispatch::v1::dispatch_service_client::DispatchServiceClient;
use pingan_proto::dispatch::v1::*;
use pingan_proto::grid::v1::ListGridsRequest;
use pingan_proto::grid::v1::grid_registry_service_client::GridRegistryServiceClient;
use pingan_tests::{Service, TestBackend, TestCluster, backend_tests};

backend_tests!(one_round_after_an_import_makes_units_dispatchable);

const STATION: &str = "st-chengnan";
/// The demo jurisdiction `pingan dev` loads (stations, grids, units, standard addresses, ...).
const DEMO: &str = include_str!("../../services/grid-registry/demo/jurisdiction.json");

async fn one_round_after_an_import_makes_units_dispatchable(backend: TestBackend) {
    let cluster = TestCluster::start(
        backend,
        &[
            Service::GridRegistry,
            Service::Dispatch,
            Service::ComplaintsAudit,
        ],
    )
    .await
    .expect("cluster");
    let admin_token = cluster.token("ops", &[Role::Admin], &[]).expect("token");
    let registry = cluster.channel(Service::GridRegistry).expect("registry");
    let dispatch = cluster.channel(Service::Dispatch).expect("dispatch");
    let report = pingan::registry_import::import(
        registry.clone(),
        Some(dispatch.clone()),
        Some(&admin_token),
        DEMO,
    )
    .await
    .expect("import");
    assert_eq!(report.units, 18);
    assert_eq!(report.addresses, 42);

    let mut admin = DispatchServiceClient::new(
        cluster
            .channel_as(Service::Dispatch, &admin_token)
            .expect("channel"),
    );
    let units = list(&mut admin).await;
    assert!(
        units.iter().all(|u| u.location.is_none()),
        "no positions after an import"
    );
    let scene = grid_centroid(&cluster, &admin_token).await;
    assert!(nearest(&mut admin, scene).await.is_empty());

    // An officer of one station simulates its own units only (its token allows no other).
    let officer = cluster
        .token("o-cn", &[Role::StationOfficer], &[STATION])
        .expect("token");
    let mut station_fleet = FleetSimulator::new(
        dispatch.clone(),
        registry.clone(),
        Some(&officer),
        Some(STATION.to_owned()),
    )
    .expect("simulator");
    let round = station_fleet.round().await.expect("station round");
    let own = units.iter().filter(|u| u.station_id == STATION).count();
    assert_eq!((round.units, round.reported), (own, own));
    assert_eq!(round.accepted, i64::try_from(own).expect("count"));

    // The whole fleet, as an operator would run `pingan fleet simulate --once`.
    let mut fleet =
        FleetSimulator::new(dispatch, registry, Some(&admin_token), None).expect("simulator");
    let round = fleet.round().await.expect("round");
    assert_eq!((round.units, round.reported, round.unplaced), (18, 18, 0));
    assert_eq!(round.accepted, 18);
    let placed = list(&mut admin).await;
    assert!(
        placed
            .iter()
            .all(|u| u.location.is_some() && !u.position_stale)
    );

    let found = nearest(&mut admin, scene).await;
    assert!(
        found
            .iter()
            .any(|u| u.unit_id.starts_with(&format!("u-{STATION}-"))),
        "units of {STATION} near its grid: {found:?}"
    );

    // A P1 dispatch with no call behind it finds and assigns a unit.
    let opened = admin
        .open_dispatch(open_request("inc-fleet-1", Priority::P1, scene, STATION))
        .await
        .expect("open dispatch")
        .into_inner()
        .dispatch
        .expect("dispatch");
    assert!(
        !opened.assignments.is_empty(),
        "a unit is assigned: {opened:?}"
    );

    // The next round moves the units.
    let again = fleet.round().await.expect("second round");
    assert_eq!(again.reported, 18);
    let moved = list(&mut admin).await;
    let first = placed
        .iter()
        .find(|u| u.unit_id == "u-st-rongxiang-o2")
        .and_then(|u| u.location);
    let second = moved
        .iter()
        .find(|u| u.unit_id == "u-st-rongxiang-o2")
        .and_then(|u| u.location);
    assert_ne!(first, second, "an available unit moves between rounds");
}

async fn list(client: &mut Client) -> Vec<Unit> {
    client
        .list_units(ListUnitsRequest {
            page_size: 1000,
            ..Default::default()
        })
        .await
        .expect("list units")
        .into_inner()
        .units
}

async fn nearest(client: &mut Client, at: GeoPoint) -> Vec<NearbyUnit> {
    client
        .find_nearest_units(FindNearestUnitsRequest {
            location: Some(at),
            radius_m: 10_000.0,
            only_available: true,
            limit: 20,
            ..Default::default()
        })
        .await
        .expect("nearest")
        .into_inner()
        .units
}

/// The centroid of the station's first grid.
async fn grid_centroid(cluster: &TestCluster, token: &str) -> GeoPoint {
    let grids = GridRegistryServiceClient::new(
        cluster
            .channel_as(Service::GridRegistry, token)
            .expect("channel"),
    )
    .list_grids(ListGridsRequest {
        station_id: STATION.to_owned(),
        ..Default::default()
    })
    .await
    .expect("grids")
    .into_inner()
    .grids;
    grids
        .first()
        .and_then(|g| g.centroid)
        .expect("a grid with a centroid")
}
