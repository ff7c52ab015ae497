//! Health follows the dependencies: a service is NOT_SERVING while its database (or Redis) is
//! unreachable and SERVING again when it returns. The outage is a TCP proxy that is cut.

mod common;

use std::time::Duration;

use common::{QUIET_NAME, Quiet, start, wait_for_health};
use pingan_platform::config::ServerConfig;
use pingan_platform::health::Dependency;
use pingan_platform::redis_store::RedisStore;
use pingan_platform::server::ServiceHost;
use pingan_platform::storage::{Backend, Db, Migrations, PoolSettings};
use pingan_platform::testing::{
    REDIS_URL_VAR, TcpProxy, TestDatabase, host_port, replace_host_port, unique_name,
};
use pingan_proto::intake::v1::intake_service_server::IntakeServiceServer;
use tonic_health::pb::health_check_response::ServingStatus;

static POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("./tests/migrations/postgres");
static SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("./tests/migrations/sqlite");
static MIGRATIONS: Migrations = Migrations {
    postgres: &POSTGRES,
    sqlite: &SQLITE,
};

fn fast_health() -> ServerConfig {
    ServerConfig {
        health_interval: Duration::from_millis(100),
        ..ServerConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_serving_while_postgres_is_unreachable() {
    let test_db = TestDatabase::create(Backend::Postgres, &MIGRATIONS)
        .await
        .expect("test database");
    let proxy = TcpProxy::start(&host_port(&test_db.url, 5432).expect("host:port"))
        .await
        .expect("proxy");
    let settings = PoolSettings {
        max_connections: 2,
        acquire_timeout: Duration::from_millis(500),
        ..PoolSettings::default()
    };
    let db = Db::connect(
        &replace_host_port(&test_db.url, proxy.local_addr()),
        &settings,
    )
    .await
    .expect("connect through proxy");

    let mut host = ServiceHost::new(fast_health());
    host.add_service(
        IntakeServiceServer::new(Quiet),
        vec![Dependency::Database(db)],
    );
    let running = start(host).await;
    let url = running.url();

    wait_for_health(&url, QUIET_NAME, ServingStatus::Serving).await;
    proxy.cut();
    wait_for_health(&url, QUIET_NAME, ServingStatus::NotServing).await;
    wait_for_health(&url, "", ServingStatus::NotServing).await;
    proxy.restore();
    wait_for_health(&url, QUIET_NAME, ServingStatus::Serving).await;

    running.stop().await;
    test_db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_serving_while_sqlite_is_unusable() {
    let test_db = TestDatabase::create(Backend::Sqlite, &MIGRATIONS)
        .await
        .expect("test database");
    let mut host = ServiceHost::new(fast_health());
    host.add_service(
        IntakeServiceServer::new(Quiet),
        vec![Dependency::Database(test_db.db.clone())],
    );
    let running = start(host).await;
    let url = running.url();

    wait_for_health(&url, QUIET_NAME, ServingStatus::Serving).await;
    // A closed pool is what an unusable embedded database looks like to the service.
    test_db.db.close().await;
    wait_for_health(&url, QUIET_NAME, ServingStatus::NotServing).await;

    running.stop().await;
    test_db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_serving_while_redis_is_unreachable() {
    let redis_url = std::env::var(REDIS_URL_VAR).expect("PINGAN_TEST_REDIS_URL must be set");
    let proxy = TcpProxy::start(&host_port(&redis_url, 6379).expect("host:port"))
        .await
        .expect("proxy");
    let redis = RedisStore::connect(
        &replace_host_port(&redis_url, proxy.local_addr()),
        &format!("{}:", unique_name("pingan_t")),
    )
    .await
    .expect("redis through proxy");

    let mut host = ServiceHost::new(fast_health());
    host.add_service(
        IntakeServiceServer::new(Quiet),
        vec![Dependency::Redis(redis)],
    );
    let running = start(host).await;
    let url = running.url();

    wait_for_health(&url, QUIET_NAME, ServingStatus::Serving).await;
    proxy.cut();
    wait_for_health(&url, QUIET_NAME, ServingStatus::NotServing).await;
    proxy.restore();
    wait_for_health(&url, QUIET_NAME, ServingStatus::Serving).await;

    running.stop().await;
}
