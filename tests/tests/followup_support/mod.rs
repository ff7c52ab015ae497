//! Helpers shared by the cross-service story tests: typed clients with tokens, and bounded polling
//! of a reading RPC until the effect of an event shows (no fixed sleeps).

#![allow(dead_code)]

use std::future::Future;
use std::time::Duration;

use pingan_platform::auth::Role;
use pingan_tests::{Bearer, Service, TestCluster};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

/// A channel to a service with a token of `subject` holding `roles` over `stations`.
pub type Authed = InterceptedService<Channel, Bearer>;

pub fn channel(
    cluster: &TestCluster,
    service: Service,
    subject: &str,
    roles: &[Role],
    stations: &[&str],
) -> Authed {
    let token = cluster.token(subject, roles, stations).expect("token");
    cluster.channel_as(service, &token).expect("channel")
}

/// Polls `probe` every 100 ms (at most 20 s) until it yields `Some`; panics naming `what`.
pub async fn eventually<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Loads the demo jurisdiction into the running grid-registry through its public API.
pub async fn import_jurisdiction(cluster: &TestCluster) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/data/jurisdiction.json"
    );
    let json = std::fs::read_to_string(path).expect("jurisdiction.json");
    let admin = cluster
        .token("admin-1", &[Role::Admin], &[])
        .expect("token");
    let report = pingan::registry_import::import(
        cluster.channel(Service::GridRegistry).expect("channel"),
        None,
        Some(&admin),
        &json,
    )
    .await
    .expect("import jurisdiction");
    assert_eq!(report.stations, 3);
}

/// Like [`eventually`] on a ManualClock: the clock moves 1 s per poll, so work the services
/// retry on their clock (event redelivery backoff, routing retries) goes on while we wait.
pub async fn eventually_ticking<T, F, Fut>(
    clock: &pingan_platform::clock::ManualClock,
    what: &str,
    mut probe: F,
) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    eventually(what, || {
        clock.advance(Duration::from_secs(1));
        probe()
    })
    .await
}
