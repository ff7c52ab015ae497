//! The binary itself: `pingan dev` starts all six services on one endpoint, prints it, creates
//! its SQLite files, serves health under every full name, loads the demo jurisdiction (stations,
//! grids, units standing by at their stations) and exits cleanly on SIGTERM.

use std::process::Stdio;
use std::time::Duration;

use pingan_proto::common::v1::GeoPoint;
use pingan_proto::dispatch::v1::dispatch_service_client::DispatchServiceClient;
use pingan_proto::dispatch::v1::{FindNearestUnitsRequest, ListUnitsRequest, UnitStatus};
use pingan_proto::grid::v1::ListGridsRequest;
use pingan_proto::grid::v1::grid_registry_service_client::GridRegistryServiceClient;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

const SERVICES: [&str; 6] = [
    "pingan.intake.v1.IntakeService",
    "pingan.triage.v1.TriageService",
    "pingan.dispatch.v1.DispatchService",
    "pingan.grid.v1.GridRegistryService",
    "pingan.followup.v1.CaseFollowupService",
    "pingan.audit.v1.ComplaintsAuditService",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_serves_all_six_and_stops_on_sigterm() {
    let data_dir = std::env::temp_dir().join(format!("pingan-dev-test-{}", std::process::id()));
    let mut child = Command::new(env!("CARGO_BIN_EXE_pingan"))
        .args([
            "dev",
            "--listen",
            "127.0.0.1:0",
            "--metrics-listen",
            "127.0.0.1:0",
        ])
        .arg("--data-dir")
        .arg(&data_dir)
        .env("PINGAN_LOG_FORMAT", "json")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn pingan dev");

    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let endpoint = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.expect("read stdout") {
            if let Some(rest) = line.trim().strip_prefix("gRPC endpoint") {
                return rest.trim().to_owned();
            }
        }
        panic!("pingan dev exited without printing its endpoint");
    })
    .await
    .expect("endpoint printed in time");
    // Keep draining stdout so the child never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });

    let channel = tonic::transport::Endpoint::from_shared(format!("http://{endpoint}"))
        .expect("endpoint url")
        .connect_lazy();
    let mut health = HealthClient::new(channel.clone());
    for service in SERVICES {
        let status = health
            .check(HealthCheckRequest {
                service: service.to_owned(),
            })
            .await
            .expect("health check")
            .into_inner()
            .status;
        assert_eq!(status, ServingStatus::Serving as i32, "{service}");
    }
    for file in [
        "intake",
        "triage",
        "dispatch",
        "grid-registry",
        "case-followup",
        "complaints-audit",
    ] {
        assert!(
            data_dir.join(format!("{file}.db")).exists(),
            "{file}.db in the data dir"
        );
    }

    demo_jurisdiction_is_loaded(channel).await;

    let pid = child.id().expect("pid").to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .expect("kill");
    assert!(killed.success());
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("exits after SIGTERM in time")
        .expect("wait");
    assert!(status.success(), "clean exit after SIGTERM, got {status}");
    let _ = std::fs::remove_dir_all(&data_dir);
}

/// The first start loads the demo jurisdiction: three stations' grids, 18 units AVAILABLE, and
/// units standing by near each station that FindNearestUnits finds.
async fn demo_jurisdiction_is_loaded(channel: Channel) {
    let mut dispatch = DispatchServiceClient::new(channel.clone());
    // The load runs in the background after the endpoint serves: wait for the units (bounded).
    let units = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let units = dispatch
                .list_units(ListUnitsRequest::default())
                .await
                .expect("list units")
                .into_inner()
                .units;
            if units.len() == 18 && units.iter().all(|u| u.location.is_some()) {
                return units;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("demo units registered and placed in time");
    assert!(
        units
            .iter()
            .all(|u| u.status() == UnitStatus::Available && !u.position_stale),
        "{units:?}"
    );

    let grids = GridRegistryServiceClient::new(channel)
        .list_grids(ListGridsRequest {
            page_size: 1000,
            ..Default::default()
        })
        .await
        .expect("list grids")
        .into_inner()
        .grids;
    assert_eq!(grids.len(), 18);
    let stations: std::collections::BTreeSet<&str> =
        grids.iter().map(|g| g.station_id.as_str()).collect();
    assert_eq!(
        stations.into_iter().collect::<Vec<_>>(),
        ["st-caye", "st-chengnan", "st-rongxiang"],
        "the demo stations own the grids"
    );

    // 绒乡派出所's origin: its units stand by within a few hundred metres.
    let nearest = dispatch
        .find_nearest_units(FindNearestUnitsRequest {
            location: Some(GeoPoint {
                lat: 29.24,
                lon: 92.14,
            }),
            radius_m: 1_000.0,
            only_available: true,
            ..Default::default()
        })
        .await
        .expect("find nearest")
        .into_inner()
        .units;
    assert!(!nearest.is_empty());
    assert!(
        nearest
            .iter()
            .all(|u| u.unit_id.starts_with("u-st-rongxiang"))
    );
    assert!(nearest.iter().all(|u| u.distance_m < 1_000.0));
}

/// `pingan --help` describes `serve` and `dev` in their own words, not a service's settings.
#[test]
fn help_describes_serve_and_dev() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pingan"))
        .arg("--help")
        .output()
        .expect("pingan --help");
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(
        help.contains("Run one service (the container entrypoint)"),
        "{help}"
    );
    assert!(
        help.contains("Run all six services in one process"),
        "{help}"
    );
    assert!(!help.contains("Settings of one"), "{help}");
}
