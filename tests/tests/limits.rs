//! Call limits through the front door (issue 17): a caller over its rate is refused with
//! RESOURCE_EXHAUSTED and a RetryInfo, other callers and exempt roles are not; repeated failed
//! authentications block calls without a valid token from the source (valid tokens still pass,
//! health still answers), the block is an audit record in complaints-audit, and loopback is never
//! blocked by default. On SQLite and on Postgres + Redis.

use std::time::Duration;

use pingan_platform::auth::{Role, TokenIssuer};
use pingan_platform::config::{LimitsArgs, RateLimit, ServerConfig};
use pingan_platform::limits::rules::Rate;
use pingan_proto::audit::v1::QueryAuditRequest;
use pingan_proto::audit::v1::complaints_audit_service_client::ComplaintsAuditServiceClient;
use pingan_proto::grid::v1::ListGridsRequest;
use pingan_proto::grid::v1::grid_registry_service_client::GridRegistryServiceClient;
use pingan_tests::{
    ClusterOptions, Service, TestBackend, TestCluster, Topology, backend_tests, test_server_config,
};
use tonic::Code;
use tonic_types::StatusExt;

async fn cluster(backend: TestBackend, limits: LimitsArgs) -> TestCluster {
    let server = ServerConfig {
        limits,
        ..test_server_config()
    };
    TestCluster::start_with_server(
        backend,
        &[Service::GridRegistry, Service::ComplaintsAudit],
        Topology::PortPerService,
        pingan_platform::clock::system(),
        ClusterOptions::default(),
        server,
    )
    .await
    .expect("cluster")
}

async fn list_grids(cluster: &TestCluster, token: &str) -> Result<(), tonic::Status> {
    let channel = cluster
        .channel_as(Service::GridRegistry, token)
        .expect("channel");
    GridRegistryServiceClient::new(channel)
        .list_grids(ListGridsRequest::default())
        .await
        .map(|_| ())
}

fn metric(name: &str) -> f64 {
    pingan_platform::metrics::render()
        .lines()
        .filter(|line| line.starts_with(name))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

async fn a_caller_over_its_rate_is_refused_with_retry_info(backend: TestBackend) {
    let limits = LimitsArgs {
        rate_limit: RateLimit(Some(Rate::new(0.5, 3.0))),
        ..LimitsArgs::default()
    };
    let cluster = cluster(backend, limits).await;
    let first = cluster
        .token("dispatcher-1", &[Role::Dispatcher], &[])
        .expect("token");
    let before = metric("pingan_rate_limited_total");
    for call in 0..3 {
        list_grids(&cluster, &first)
            .await
            .unwrap_or_else(|status| panic!("call {call} within the burst: {status:?}"));
    }
    let refused = list_grids(&cluster, &first)
        .await
        .expect_err("over the burst");
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    let retry = refused
        .get_details_retry_info()
        .and_then(|info| info.retry_delay)
        .expect("retry info");
    assert!(
        retry > Duration::ZERO && retry <= Duration::from_secs(2),
        "{retry:?}"
    );
    assert!(metric("pingan_rate_limited_total") > before);

    // Another person has a bucket of their own; the 110 platform is not limited per caller.
    let second = cluster
        .token("dispatcher-2", &[Role::Dispatcher], &[])
        .expect("token");
    list_grids(&cluster, &second).await.expect("another caller");
    let platform = cluster
        .token(
            "110-platform",
            &[Role::CallIntegrator, Role::CommandCenter],
            &[],
        )
        .expect("token");
    for _ in 0..10 {
        list_grids(&cluster, &platform).await.expect("exempt role");
    }

    // A burst of concurrent calls by one caller: exactly the bucket's worth pass.
    let third = cluster
        .token("dispatcher-3", &[Role::Dispatcher], &[])
        .expect("token");
    let calls = (0..12).map(|_| list_grids(&cluster, &third));
    let results = futures::future::join_all(calls).await;
    let passed = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(passed, 3, "{results:?}");
    assert!(
        results
            .iter()
            .filter_map(|r| r.as_ref().err())
            .all(|status| status.code() == Code::ResourceExhausted)
    );
    cluster.shutdown().await.expect("shutdown");
}

async fn failed_authentications_block_the_source_and_are_audited(backend: TestBackend) {
    let limits = LimitsArgs {
        auth_block_exempt: Vec::new(),
        ..LimitsArgs::default()
    };
    let cluster = cluster(backend, limits).await;
    let forged = TokenIssuer::new(b"not-the-bureau-secret-not-the-bureau", "pingan-test")
        .expect("issuer")
        .issue("intruder", &[Role::Admin], &[], Duration::from_secs(600))
        .expect("forged");
    for attempt in 0..5 {
        let status = list_grids(&cluster, &forged).await.expect_err("forged");
        assert_eq!(status.code(), Code::Unauthenticated, "attempt {attempt}");
    }
    for token in [forged.as_str(), "garbage"] {
        let blocked = list_grids(&cluster, token).await.expect_err("blocked");
        assert_eq!(blocked.code(), Code::ResourceExhausted, "{blocked:?}");
        let retry = blocked
            .get_details_retry_info()
            .and_then(|info| info.retry_delay)
            .expect("retry info");
        assert!(retry > Duration::from_secs(800), "{retry:?}");
    }
    // A valid token from the same address still works, and the probes still answer.
    let officer = cluster
        .token("dispatcher-1", &[Role::Dispatcher], &[])
        .expect("token");
    list_grids(&cluster, &officer).await.expect("valid token");
    assert_eq!(
        cluster.health(Service::GridRegistry).await.expect("health"),
        tonic_health::pb::health_check_response::ServingStatus::Serving
    );

    // The block reaches the audit log like every other record.
    let entries = audit_entries(&cluster, "guard.BlockSource").await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    cluster.shutdown().await.expect("shutdown");
}

/// Audit entries of `action`, waiting up to 20 s for the first to arrive.
async fn audit_entries(
    cluster: &TestCluster,
    action: &str,
) -> Vec<pingan_proto::audit::v1::AuditEntry> {
    let inspector = cluster
        .token("inspector-1", &[Role::Inspector], &[])
        .expect("token");
    let channel = cluster
        .channel_as(Service::ComplaintsAudit, &inspector)
        .expect("channel");
    let mut audit = ComplaintsAuditServiceClient::new(channel);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let entries = audit
            .query_audit(QueryAuditRequest {
                action: action.into(),
                ..QueryAuditRequest::default()
            })
            .await
            .expect("query audit")
            .into_inner()
            .entries;
        if !entries.is_empty() || tokio::time::Instant::now() > deadline {
            return entries;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A service reaches only the calls it is declared to make: intake locates grids; dispatch
/// (say, compromised) may neither locate grids nor read or write the registry, and its
/// refusals are counted and audited once a minute per call.
async fn a_service_is_refused_the_calls_it_does_not_make(backend: TestBackend) {
    let cluster = cluster(backend, LimitsArgs::default()).await;
    let locate = || pingan_proto::grid::v1::LocateGridRequest {
        location: Some(pingan_proto::common::v1::GeoPoint {
            lat: 30.0,
            lon: 120.0,
        }),
        ..Default::default()
    };
    let grid = |token: &str| {
        GridRegistryServiceClient::new(
            cluster
                .channel_as(Service::GridRegistry, token)
                .expect("channel"),
        )
    };
    let intake = cluster
        .token("intake", &[Role::Service], &[])
        .expect("token");
    // No grids are loaded here: past the guard, the registry answers NOT_FOUND.
    let located = grid(&intake).locate_grid(locate()).await;
    assert!(
        located
            .as_ref()
            .err()
            .is_none_or(|status| status.code() == Code::NotFound),
        "intake locates a call's grid: {located:?}"
    );
    let dispatch = cluster
        .token("dispatch", &[Role::Service], &[])
        .expect("token");
    let before = metric("pingan_service_calls_refused_total");
    let refused = grid(&dispatch)
        .locate_grid(locate())
        .await
        .expect_err("dispatch does not locate grids");
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
    for _ in 0..3 {
        let refused = list_grids(&cluster, &dispatch)
            .await
            .expect_err("no service reads the grids");
        assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
    }
    let write = grid(&intake)
        .upsert_resident(pingan_proto::grid::v1::UpsertResidentRequest::default())
        .await
        .expect_err("intake does not write the registry");
    assert_eq!(write.code(), Code::PermissionDenied, "{write:?}");
    assert!(metric("pingan_service_calls_refused_total") >= before + 5.0);

    let entries = audit_entries(&cluster, "guard.RefuseServiceCall").await;
    // Give the last ones time to arrive: three different calls, each reported once.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let entries = if entries.len() < 3 {
        audit_entries(&cluster, "guard.RefuseServiceCall").await
    } else {
        entries
    };
    let mut calls: Vec<(String, String)> = entries
        .iter()
        .filter_map(|entry| entry.record.as_ref())
        .map(|record| {
            let actor = record.actor.as_ref().map(|a| a.subject.clone());
            (actor.unwrap_or_default(), record.resource_id.clone())
        })
        .collect();
    calls.sort();
    assert_eq!(
        calls,
        vec![
            (
                "dispatch".to_owned(),
                "/pingan.grid.v1.GridRegistryService/ListGrids".to_owned()
            ),
            (
                "dispatch".to_owned(),
                "/pingan.grid.v1.GridRegistryService/LocateGrid".to_owned()
            ),
            (
                "intake".to_owned(),
                "/pingan.grid.v1.GridRegistryService/UpsertResident".to_owned()
            ),
        ],
        "{entries:?}"
    );
    cluster.shutdown().await.expect("shutdown");
}

async fn loopback_is_never_blocked_by_default(backend: TestBackend) {
    let cluster = cluster(backend, LimitsArgs::default()).await;
    for attempt in 0..8 {
        let status = list_grids(&cluster, "garbage").await.expect_err("garbage");
        assert_eq!(status.code(), Code::Unauthenticated, "attempt {attempt}");
    }
    cluster.shutdown().await.expect("shutdown");
}

backend_tests!(
    a_caller_over_its_rate_is_refused_with_retry_info,
    failed_authentications_block_the_source_and_are_audited,
    loopback_is_never_blocked_by_default,
    a_service_is_refused_the_calls_it_does_not_make,
);
