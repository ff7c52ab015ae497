//! Helpers shared by the dispatch scenarios: clients with tokens, the demo jurisdiction's units,
//! positions around a station, and direct looks into the dispatch database.

#![allow(dead_code)]

use std::time::Duration;

use chrono::{DateTime, Utc};
use pingan_platform::auth::Role;
use pingan_platform::with_db;
use pingan_proto::common::v1::{GeoPoint, Priority};
use pingan_proto::dispatch::v1::dispatch_service_client::DispatchServiceClient;
use pingan_proto::dispatch::v1::*;
use pingan_tests::{Bearer, Service, TestCluster};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

pub type Client = DispatchServiceClient<InterceptedService<Channel, Bearer>>;

/// The demo jurisdiction.
pub fn jurisdiction() -> serde_json::Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/data/jurisdiction.json"
    );
    let text = std::fs::read_to_string(path).expect("jurisdiction.json");
    serde_json::from_str(&text).expect("valid json")
}

/// A station's origin `(lat, lon)` from the demo jurisdiction.
pub fn origin(station: &str) -> (f64, f64) {
    let data = jurisdiction();
    let s = data["stations"]
        .as_array()
        .expect("stations")
        .iter()
        .find(|s| s["station_id"] == station)
        .expect("station");
    (
        s["origin"][0].as_f64().expect("lat"),
        s["origin"][1].as_f64().expect("lon"),
    )
}

/// A point `north_m` / `east_m` metres from `(lat, lon)`.
pub fn offset((lat, lon): (f64, f64), north_m: f64, east_m: f64) -> GeoPoint {
    let dlat = north_m / 111_195.0;
    let dlon = east_m / (111_195.0 * lat.to_radians().cos());
    GeoPoint {
        lat: lat + dlat,
        lon: lon + dlon,
    }
}

/// A dispatch client whose token names `subject` with `roles` over `stations`.
pub async fn as_subject(
    cluster: &TestCluster,
    subject: &str,
    roles: &[Role],
    stations: &[&str],
) -> Client {
    let token = cluster.token(subject, roles, stations).expect("token");
    DispatchServiceClient::new(
        cluster
            .channel_as(Service::Dispatch, &token)
            .expect("channel"),
    )
}

/// A dispatcher of the whole bureau.
pub async fn client_as(cluster: &TestCluster, roles: &[Role], stations: &[&str]) -> Client {
    let token = cluster
        .token("officer-test", roles, stations)
        .expect("token");
    DispatchServiceClient::new(
        cluster
            .channel_as(Service::Dispatch, &token)
            .expect("channel"),
    )
}

pub async fn command_center(cluster: &TestCluster) -> Client {
    client_as(cluster, &[Role::CommandCenter, Role::Dispatcher], &[]).await
}

/// Registers every unit of the demo jurisdiction (AVAILABLE) with the requests
/// `pingan registry import` sends.
pub async fn import_units(client: &mut Client) -> Vec<RegisterUnitRequest> {
    let requests =
        pingan::registry_import::unit_requests(&jurisdiction().to_string()).expect("unit requests");
    for request in &requests {
        let response = client
            .register_unit(request.clone())
            .await
            .expect("register unit")
            .into_inner();
        assert!(response.created);
    }
    requests
}

/// Registers one AVAILABLE unit.
pub async fn register(
    client: &mut Client,
    unit_id: &str,
    kind: UnitKind,
    station: &str,
    caps: &[&str],
) {
    client
        .register_unit(RegisterUnitRequest {
            request_id: format!("reg-{unit_id}"),
            unit_id: unit_id.to_owned(),
            kind: kind as i32,
            callsign: unit_id.to_uppercase(),
            station_id: station.to_owned(),
            capabilities: caps.iter().map(|c| (*c).to_owned()).collect(),
            grid_ids: Vec::new(),
            officer_ids: vec![format!("officer-of-{unit_id}")],
            initial_status: UnitStatus::Available as i32,
        })
        .await
        .expect("register");
}

pub fn ts(at: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: at.timestamp(),
        nanos: at.timestamp_subsec_nanos() as i32,
    }
}

/// Reports a unit's position at `at`.
pub async fn place(client: &mut Client, unit_id: &str, location: GeoPoint, at: DateTime<Utc>) {
    let response = client
        .update_position(UpdatePositionRequest {
            unit_id: unit_id.to_owned(),
            location: Some(location),
            at: Some(ts(at)),
            ..Default::default()
        })
        .await
        .expect("update position")
        .into_inner();
    assert_eq!(response.outcome(), PositionOutcome::Accepted, "{unit_id}");
}

/// An OpenDispatch request at `location`.
pub fn open_request(
    incident: &str,
    priority: Priority,
    location: GeoPoint,
    station: &str,
) -> OpenDispatchRequest {
    OpenDispatchRequest {
        request_id: format!("open-{incident}"),
        incident_id: incident.to_owned(),
        priority: priority as i32,
        location: Some(location),
        category: "ASSISTANCE".to_owned(),
        station_id: station.to_owned(),
        grid_id: format!("{station}-g1"),
        summary: "test".to_owned(),
        ..Default::default()
    }
}

/// Counts of stored outbox deliveries per (event type, destination).
pub async fn outbox(cluster: &TestCluster) -> Vec<(String, String, i64)> {
    const SQL: &str = "SELECT e.event_type, d.destination, COUNT(*) FROM pingan_outbox_events e \
        JOIN pingan_outbox_deliveries d ON d.event_row_id = e.id GROUP BY e.event_type, d.destination ORDER BY 1, 2";
    let context = cluster.context(Service::Dispatch).expect("context");
    with_db!(&context.db, pool => sqlx::query_as(SQL).fetch_all(pool).await).expect("outbox")
}

/// Deliveries of `event_type` to `destination`.
pub async fn deliveries(cluster: &TestCluster, event_type: &str, destination: &str) -> i64 {
    outbox(cluster)
        .await
        .into_iter()
        .find(|(t, d, _)| t == event_type && d == destination)
        .map(|(_, _, n)| n)
        .unwrap_or(0)
}

pub fn kinds(entries: &[TimelineEntry]) -> Vec<TimelineEntryKind> {
    entries.iter().map(|e| e.kind()).collect()
}

pub const SECOND: Duration = Duration::from_secs(1);
