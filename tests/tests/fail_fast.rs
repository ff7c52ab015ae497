//! A database cut: health turns NOT_SERVING within two health intervals, every call is then
//! answered UNAVAILABLE at once (well under 100 ms) with a RetryInfo detail and the dependency
//! named, and when the database returns health turns SERVING and calls succeed again without a
//! restart. Writes racing the cut leave no half-written rows: every grid stored has its audit
//! record (same transaction) and every grid acknowledged is stored.
//!
//! On Postgres the cut is a TCP proxy between grid-registry and the database that drops every
//! connection and refuses new ones; on SQLite (no network) the service's pool is closed.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use pingan::{Process, Security, ServiceKind, StorageChoice};
use pingan_platform::auth::Role;
use pingan_platform::config::ServerConfig;
use pingan_platform::storage::{Backend, Db, PoolSettings};
use pingan_platform::testing::{TcpProxy, TestDatabase, host_port, replace_host_port};
use pingan_proto::common::v1::GeoPoint;
use pingan_proto::grid::v1 as pb;
use pingan_proto::grid::v1::grid_registry_service_client::GridRegistryServiceClient;
use pingan_tests::{Bearer, TestCluster, test_event_config, test_server_config};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tonic::Code;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_types::StatusExt;

const SERVICE: ServiceKind = ServiceKind::GridRegistry;
const HEALTH_INTERVAL: Duration = Duration::from_millis(500);
const FAST: Duration = Duration::from_millis(100);

type Client = GridRegistryServiceClient<InterceptedService<Channel, Bearer>>;

fn channel(endpoint: &str) -> Channel {
    Endpoint::from_shared(endpoint.to_owned())
        .expect("endpoint")
        .connect_timeout(Duration::from_secs(3))
        .connect_lazy()
}

fn square(lat: f64, lon: f64) -> Vec<GeoPoint> {
    let d = 0.001;
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

fn grid(n: usize) -> pb::UpsertGridRequest {
    pb::UpsertGridRequest {
        request_id: format!("ff-req-{n}"),
        grid_id: format!("ff-w-{n}"),
        station_id: "st-ff".into(),
        name: format!("网格{n}"),
        polygon: square(
            29.0 + 0.002 * (n % 400) as f64,
            91.0 + 0.002 * (n / 400) as f64,
        ),
        kind: pb::GridKind::Village as i32,
        ..Default::default()
    }
}

/// The health `service` reports now.
async fn health(endpoint: &str) -> ServingStatus {
    let answer = HealthClient::new(channel(endpoint))
        .check(HealthCheckRequest {
            service: SERVICE.grpc_name().to_owned(),
        })
        .await
        .expect("health answers while the database is down")
        .into_inner();
    ServingStatus::try_from(answer.status).unwrap_or(ServingStatus::Unknown)
}

/// Polls health until it reports `wanted`; how long that took.
async fn until_health(endpoint: &str, wanted: ServingStatus, within: Duration) -> Duration {
    let started = Instant::now();
    loop {
        if health(endpoint).await == wanted {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < within,
            "health not {wanted:?} after {:?}",
            started.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Calls while the database is down: each answered UNAVAILABLE in well under 100 ms, naming
/// the database, with a retry delay of one health interval. The slowest answer.
async fn calls_fail_fast(client: &mut Client, interval: Duration) -> Duration {
    let mut slowest = Duration::ZERO;
    for n in 0..10 {
        let started = Instant::now();
        let status = if n % 2 == 0 {
            client
                .locate_grid(pb::LocateGridRequest {
                    location: Some(GeoPoint {
                        lat: 29.0005,
                        lon: 91.0005,
                    }),
                    ..Default::default()
                })
                .await
                .expect_err("locate while the database is down")
        } else {
            client
                .upsert_grid(grid(100_000 + n))
                .await
                .expect_err("write while the database is down")
        };
        let took = started.elapsed();
        slowest = slowest.max(took);
        assert_eq!(status.code(), Code::Unavailable, "{status:?}");
        assert!(took < FAST, "answered in {took:?}");
        assert!(
            status.message().contains("database"),
            "{}",
            status.message()
        );
        let retry = status.get_details_retry_info().expect("a RetryInfo detail");
        assert_eq!(retry.retry_delay, Some(interval));
    }
    slowest
}

struct Outcome {
    acknowledged: BTreeSet<String>,
    attempted: BTreeSet<String>,
    other_codes: Vec<String>,
}

/// Writes grids one after the other until `stop`, recording what was acknowledged.
fn writer(
    mut client: Client,
    stop: Arc<AtomicBool>,
    acks: Arc<AtomicUsize>,
) -> tokio::task::JoinHandle<Outcome> {
    tokio::spawn(async move {
        let mut outcome = Outcome {
            acknowledged: BTreeSet::new(),
            attempted: BTreeSet::new(),
            other_codes: Vec::new(),
        };
        let mut n = 0;
        while !stop.load(Ordering::SeqCst) {
            let request = grid(n);
            outcome.attempted.insert(request.grid_id.clone());
            match client.upsert_grid(request.clone()).await {
                Ok(_) => {
                    outcome.acknowledged.insert(request.grid_id);
                    acks.fetch_add(1, Ordering::SeqCst);
                }
                Err(status) if status.code() == Code::Unavailable => {}
                Err(status) => outcome.other_codes.push(format!("{status:?}")),
            }
            n += 1;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        outcome
    })
}

async fn grid_ids(db: &Db, sql: &'static str) -> BTreeSet<String> {
    let rows: Vec<String> = pingan_platform::with_db!(db, pool => sqlx::query_scalar(sql)
        .fetch_all(pool)
        .await
        .expect("read the database directly"));
    rows.into_iter().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_cut_fails_fast_and_recovers_without_restart() {
    let database = TestDatabase::create(Backend::Postgres, SERVICE.migrations())
        .await
        .expect("test database");
    let proxy = TcpProxy::start(&host_port(&database.url, 5432).expect("host:port"))
        .await
        .expect("proxy");
    let security = Security::new(
        &pingan_platform::auth::random_secret(),
        "pingan-test",
        pingan_platform::pii::PiiKeys::random(),
    )
    .expect("security");
    let token = security
        .issuer
        .issue("admin-1", &[Role::Admin], &[], Duration::from_secs(600))
        .expect("token");
    let server = ServerConfig {
        health_interval: HEALTH_INTERVAL,
        ..test_server_config()
    };
    let mut process = Process::new(
        server,
        security,
        test_event_config(),
        pingan_platform::clock::system(),
    );
    let storage = StorageChoice {
        database_url: replace_host_port(&database.url, proxy.local_addr()),
        redis_url: None,
        redis_prefix: String::new(),
        redis_tls: None,
    };
    let pool = PoolSettings {
        max_connections: 5,
        ..PoolSettings::default()
    };
    process
        .mount(SERVICE, &storage, &BTreeMap::new(), &pool)
        .await
        .expect("mount through the proxy");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let endpoint = format!("http://{}", listener.local_addr().expect("addr"));
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(process.serve(listener, async move {
        let _ = stopped.await;
    }));
    let mut client = GridRegistryServiceClient::with_interceptor(
        channel(&endpoint),
        Bearer::new(&token).expect("bearer"),
    );
    until_health(&endpoint, ServingStatus::Serving, Duration::from_secs(20)).await;
    client
        .upsert_station(pb::UpsertStationRequest {
            request_id: "ff-station".into(),
            station_id: "st-ff".into(),
            name: "快速失败派出所".into(),
            kind: pb::StationKind::Urban as i32,
            ..Default::default()
        })
        .await
        .expect("station before the cut");

    // A grid stored before anything happens, to be located after the return.
    let mut base = grid(0);
    base.request_id = "ff-req-base".into();
    base.grid_id = "ff-base".into();
    base.polygon = square(28.0, 90.0);
    client.upsert_grid(base).await.expect("grid before the cut");

    // Writes run across the cut and the return; the cut comes once some went through.
    let stop_writing = Arc::new(AtomicBool::new(false));
    let acks = Arc::new(AtomicUsize::new(0));
    let writes = writer(client.clone(), stop_writing.clone(), acks.clone());
    let waiting = Instant::now();
    while acks.load(Ordering::SeqCst) < 3 {
        assert!(
            waiting.elapsed() < Duration::from_secs(20),
            "no write went through"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    proxy.cut();
    let flipped = until_health(&endpoint, ServingStatus::NotServing, 4 * HEALTH_INTERVAL).await;
    assert!(
        flipped <= 2 * HEALTH_INTERVAL,
        "NOT_SERVING {flipped:?} after the cut (interval {HEALTH_INTERVAL:?})"
    );
    let slowest = calls_fail_fast(&mut client, HEALTH_INTERVAL).await;
    tokio::time::sleep(HEALTH_INTERVAL).await;

    proxy.restore();
    let acks_at_restore = acks.load(Ordering::SeqCst);
    let recovered = until_health(&endpoint, ServingStatus::Serving, 4 * HEALTH_INTERVAL).await;
    // The pool's connections died with the cut; the first call after recovery must not fail.
    let first = Instant::now();
    client
        .upsert_grid(grid(200_000))
        .await
        .expect("a write right after recovery");
    let located = client
        .locate_grid(pb::LocateGridRequest {
            location: Some(GeoPoint {
                lat: 28.0005,
                lon: 90.0005,
            }),
            ..Default::default()
        })
        .await
        .expect("a read right after recovery");
    assert_eq!(located.get_ref().grid_id, "ff-base");
    let first_call = first.elapsed();
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop_writing.store(true, Ordering::SeqCst);
    let outcome = writes.await.expect("writer");

    // No half-written rows: grids and their audit records committed together or not at all.
    let direct = Db::connect(&database.url, &PoolSettings::default())
        .await
        .expect("direct connection");
    let stored = grid_ids(
        &direct,
        "SELECT grid_id FROM grids WHERE grid_id LIKE 'ff-w-%' ORDER BY grid_id",
    )
    .await;
    let audited = grid_ids(
        &direct,
        "SELECT aggregate_id FROM pingan_outbox_events WHERE aggregate_id LIKE 'ff-w-%' \
         ORDER BY aggregate_id",
    )
    .await;
    direct.close().await;
    assert_eq!(stored, audited, "every stored grid has its audit record");
    assert!(
        outcome.acknowledged.is_subset(&stored),
        "acknowledged but lost: {:?}",
        outcome.acknowledged.difference(&stored).collect::<Vec<_>>()
    );
    let mut attempted = outcome.attempted.clone();
    attempted.insert("ff-w-200000".into());
    assert!(stored.is_subset(&attempted), "rows nobody wrote");
    assert!(
        outcome.other_codes.is_empty(),
        "writes during the outage failed with other codes than UNAVAILABLE: {:?}",
        outcome.other_codes
    );
    let refused = outcome.attempted.len() - outcome.acknowledged.len();
    assert!(refused > 0, "some writes ran into the outage");
    assert!(
        outcome.acknowledged.len() > acks_at_restore,
        "writes went through again after the return"
    );
    println!(
        "postgres cut: NOT_SERVING after {flipped:?}, slowest refused call {slowest:?}, \
         SERVING {recovered:?} after restore, first calls after recovery {first_call:?}; \
         writes acknowledged {}, refused {refused}, stored {}",
        outcome.acknowledged.len(),
        stored.len()
    );

    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("server stops in time")
        .expect("server task")
        .expect("server result");
    drop(proxy);
    database.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_closed_pool_fails_fast() {
    let cluster = TestCluster::start(Backend::Sqlite, &[SERVICE])
        .await
        .expect("cluster");
    let token = cluster
        .token("admin-1", &[Role::Admin], &[])
        .expect("token");
    let mut client =
        GridRegistryServiceClient::new(cluster.channel_as(SERVICE, &token).expect("channel"));
    let endpoint = cluster.endpoint(SERVICE).expect("endpoint");
    let interval = test_server_config().health_interval;

    cluster.context(SERVICE).expect("context").db.close().await;
    let flipped = until_health(&endpoint, ServingStatus::NotServing, 4 * interval).await;
    assert!(flipped <= 2 * interval, "NOT_SERVING after {flipped:?}");
    let slowest = calls_fail_fast(&mut client, interval).await;
    println!("sqlite closed pool: NOT_SERVING after {flipped:?}, slowest refused call {slowest:?}");
    cluster.shutdown().await.expect("shutdown");
}
