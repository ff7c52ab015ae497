//! Shared by the grid-registry end-to-end tests: the shared jurisdiction imported through the
//! public API, clients with tokens, and a capture of every log line of the test binary.

#![allow(dead_code)] // each test binary uses a different part

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use pingan_platform::auth::Role;
use pingan_proto::common::v1::GeoPoint;
use pingan_proto::grid::v1::grid_registry_service_client::GridRegistryServiceClient;
use pingan_tests::{Bearer, Service, TestBackend, TestCluster};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic_types::StatusExt;

pub type Client = GridRegistryServiceClient<InterceptedService<Channel, Bearer>>;

pub const JURISDICTION: &str = include_str!("../../../../shared/data/jurisdiction.json");
pub const RONGXIANG: &str = "st-rongxiang";

/// Every log line of this test binary, at debug level, whichever test wrote it.
pub fn captured_logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter("debug")
            .json()
            .with_writer(move || Capture(writer.clone()))
            .finish();
        let _ = tracing::subscriber::set_global_default(subscriber);
        buffer
    })
    .clone()
}

pub struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut logs) = self.0.lock() {
            logs.extend_from_slice(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A cluster running grid-registry with the shared jurisdiction imported as an admin.
pub async fn registry_with_jurisdiction(backend: TestBackend) -> TestCluster {
    captured_logs();
    let cluster = TestCluster::start(backend, &[Service::GridRegistry])
        .await
        .expect("cluster");
    let admin = cluster
        .token("admin-1", &[Role::Admin], &[])
        .expect("token");
    let report = pingan::registry_import::import(
        cluster.channel(Service::GridRegistry).expect("channel"),
        None,
        Some(&admin),
        JURISDICTION,
    )
    .await
    .expect("import");
    assert_eq!(
        (
            report.stations,
            report.grids,
            report.residents,
            report.premises
        ),
        (3, 18, 30, 12)
    );
    assert_eq!(report.skipped_units, 18);
    assert!(report.to_string().contains("units belong to dispatch"));
    cluster
}

pub fn client(cluster: &TestCluster, subject: &str, roles: &[Role], stations: &[&str]) -> Client {
    let token = cluster.token(subject, roles, stations).expect("token");
    GridRegistryServiceClient::new(
        cluster
            .channel_as(Service::GridRegistry, &token)
            .expect("channel"),
    )
}

pub fn admin(cluster: &TestCluster) -> Client {
    client(cluster, "admin-1", &[Role::Admin], &[])
}

pub fn point(lat: f64, lon: f64) -> Option<GeoPoint> {
    Some(GeoPoint { lat, lon })
}

pub fn fields(status: &tonic::Status) -> Vec<String> {
    status
        .get_details_bad_request()
        .map(|b| b.field_violations.into_iter().map(|v| v.field).collect())
        .unwrap_or_default()
}

pub fn jurisdiction() -> serde_json::Value {
    serde_json::from_str(JURISDICTION).expect("jurisdiction json")
}

/// (grid id, min lat, min lon, max lat, max lon) of the shared grids (axis-aligned rectangles).
pub fn rectangles() -> Vec<(String, f64, f64, f64, f64)> {
    let data = jurisdiction();
    let mut out = Vec::new();
    for g in data["grids"].as_array().expect("grids") {
        let ring: Vec<(f64, f64)> = g["polygon"]
            .as_array()
            .expect("polygon")
            .iter()
            .map(|p| (p[0].as_f64().expect("lat"), p[1].as_f64().expect("lon")))
            .collect();
        let lats = ring.iter().map(|p| p.0);
        let lons = ring.iter().map(|p| p.1);
        out.push((
            g["grid_id"].as_str().expect("id").to_owned(),
            lats.clone().fold(f64::MAX, f64::min),
            lons.clone().fold(f64::MAX, f64::min),
            lats.fold(f64::MIN, f64::max),
            lons.fold(f64::MIN, f64::max),
        ));
    }
    out
}

/// Boundary counts as inside; a shared edge resolves to the smallest grid id.
pub fn expected_grid(rects: &[(String, f64, f64, f64, f64)], lat: f64, lon: f64) -> Option<String> {
    rects
        .iter()
        .filter(|(_, a, b, c, d)| *a <= lat && lat <= *c && *b <= lon && lon <= *d)
        .map(|r| r.0.clone())
        .min()
}
