//! FindNearestUnits for a caller whose jurisdiction is one station, on SQLite (positions in
//! process) and on Postgres + Redis: another station's units standing nearer never crowd the
//! caller's own out of the answer, and are never shown to them; a bureau-wide caller sees both.

mod dispatch_support;

use chrono::Utc;
use dispatch_support::*;
use pingan_platform::auth::Role;
use pingan_proto::common::v1::GeoPoint;
use pingan_proto::dispatch::v1::*;
use pingan_tests::{Service, TestBackend, TestCluster, backend_tests};

backend_tests!(a_station_officer_gets_the_nearest_units_of_their_own_station);

const OWN: &str = "st-chengnan";
const OTHER: &str = "st-rongxiang";
/// The other station's units, all nearer the scene than any of the caller's own.
const CROWD: usize = 30;
/// The caller's units, behind the crowd.
const MINE: usize = 4;

async fn nearest(client: &mut Client, scene: GeoPoint, limit: i32) -> Vec<NearbyUnit> {
    client
        .find_nearest_units(FindNearestUnitsRequest {
            location: Some(scene),
            radius_m: 5_000.0,
            only_available: true,
            limit,
            ..Default::default()
        })
        .await
        .expect("find nearest units")
        .into_inner()
        .units
}

async fn a_station_officer_gets_the_nearest_units_of_their_own_station(backend: TestBackend) {
    let cluster = TestCluster::start(backend, &[Service::Dispatch])
        .await
        .expect("cluster");
    let mut admin = as_subject(&cluster, "ops", &[Role::Admin], &[]).await;
    let scene = offset(origin(OWN), 0.0, 0.0);
    let now = Utc::now();
    for i in 0..CROWD {
        let unit = format!("u-crowd-{i:02}");
        register(&mut admin, &unit, UnitKind::Officer, OTHER, &[]).await;
        let spot = offset(origin(OWN), 20.0 + 10.0 * i as f64, 0.0);
        place(&mut admin, &unit, spot, now).await;
    }
    for i in 0..MINE {
        let unit = format!("u-mine-{i}");
        register(&mut admin, &unit, UnitKind::PatrolCar, OWN, &[]).await;
        let spot = offset(origin(OWN), 0.0, 1_000.0 + 100.0 * i as f64);
        place(&mut admin, &unit, spot, now).await;
    }

    let mut officer = as_subject(&cluster, "o-cn", &[Role::StationOfficer], &[OWN]).await;
    let found = nearest(&mut officer, scene, 3).await;
    let ids: Vec<&str> = found.iter().map(|u| u.unit_id.as_str()).collect();
    assert_eq!(
        ids,
        vec!["u-mine-0", "u-mine-1", "u-mine-2"],
        "the three nearest of the caller's own station, nearest first"
    );
    assert!(found.iter().all(|u| u.station_id == OWN));

    let found = nearest(&mut admin, scene, 3).await;
    let ids: Vec<&str> = found.iter().map(|u| u.unit_id.as_str()).collect();
    assert_eq!(
        ids,
        vec!["u-crowd-00", "u-crowd-01", "u-crowd-02"],
        "the bureau sees the nearer station's units"
    );
}
