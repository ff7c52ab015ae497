//! Scenario g: the shape runs mutual TLS. Every process refuses a client without a certificate
//! and one whose certificate another CA signed; the harness's own certificate names no service,
//! so without a token it is UNAUTHENTICATED; a service's client certificate is that service
//! without any token; every database connection of the run is encrypted (`pg_stat_ssl`).

use std::time::Duration;

use pingan_platform::tls::{ClientTlsArgs, certs};
use pingan_proto::common::v1::GeoPoint;
use pingan_proto::grid::v1::LocateGridRequest;
use pingan_proto::grid::v1::grid_registry_service_client::GridRegistryServiceClient;
use sqlx::Connection as _;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

use crate::common::{Verdict, code};
use crate::world::World;

/// Runs the scenario.
pub async fn run(world: &World) -> anyhow::Result<Verdict> {
    let mut verdict = Verdict::new("g. mutual TLS");
    let Some(dir) = &world.tls_dir else {
        verdict.check(false, "the shape runs without TLS (--plaintext)");
        return Ok(verdict);
    };
    let console = world.six.client_tls.clone();
    let no_certificate = ClientTlsArgs {
        ca: console.ca.clone(),
        ..ClientTlsArgs::default()
    };
    let foreign_dir = dir.join("foreign");
    certs::generate(&foreign_dir, &["intake".to_owned()], &[])?;
    let foreign = ClientTlsArgs {
        ca: console.ca.clone(),
        cert: Some(certs::client_cert(&foreign_dir, "intake")),
        key: Some(certs::client_key(&foreign_dir, "intake")),
    };

    let mut processes = 0;
    let mut refused_bare = 0;
    let mut refused_foreign = 0;
    let mut served_console = 0;
    for instance in &world.six.instances {
        processes += 1;
        if health(world, &instance.endpoint, &no_certificate, instance.health)
            .await
            .is_err()
        {
            refused_bare += 1;
        }
        if health(world, &instance.endpoint, &foreign, instance.health)
            .await
            .is_err()
        {
            refused_foreign += 1;
        }
        if health(world, &instance.endpoint, &console, instance.health).await == Ok(1) {
            served_console += 1;
        }
    }
    verdict.figure("processes", processes);
    verdict.figure(
        "refused without a certificate",
        format!("{refused_bare}/{processes}"),
    );
    verdict.figure(
        "refused with a foreign CA's",
        format!("{refused_foreign}/{processes}"),
    );
    verdict.check(
        refused_bare == processes,
        format!(
            "{} processes served a client without a certificate",
            processes - refused_bare
        ),
    );
    verdict.check(
        refused_foreign == processes,
        format!(
            "{} processes served a certificate another CA signed",
            processes - refused_foreign
        ),
    );
    verdict.check(
        served_console == processes,
        format!("only {served_console} of {processes} processes served the harness's certificate"),
    );

    // The console certificate is no service: without a token, nothing.
    let registry = world.endpoint("grid-registry", None)?;
    let anonymous = locate(world, &registry, &console).await;
    verdict.figure("console certificate, no token", &anonymous);
    verdict.check(
        anonymous == "Unauthenticated",
        format!("the harness's certificate without a token got {anonymous}"),
    );
    // Intake's client certificate is intake, with the service role, and no token.
    let intake = ClientTlsArgs {
        ca: console.ca.clone(),
        cert: Some(certs::client_cert(dir, "intake")),
        key: Some(certs::client_key(dir, "intake")),
    };
    let as_intake = locate(world, &registry, &intake).await;
    verdict.figure("intake's certificate, no token", &as_intake);
    verdict.check(
        !matches!(
            as_intake.as_str(),
            "Unauthenticated" | "PermissionDenied" | "Unavailable" | "Unknown"
        ),
        format!("intake's certificate was not taken as intake: {as_intake}"),
    );
    // Dispatch's certificate is dispatch, which never locates grids: refused by the guard.
    let dispatch = ClientTlsArgs {
        ca: console.ca.clone(),
        cert: Some(certs::client_cert(dir, "dispatch")),
        key: Some(certs::client_key(dir, "dispatch")),
    };
    let as_dispatch = locate(world, &registry, &dispatch).await;
    verdict.figure("dispatch's certificate, no token, LocateGrid", &as_dispatch);
    verdict.check(
        as_dispatch == "PermissionDenied",
        format!(
            "dispatch's certificate located a grid (a call dispatch never makes): {as_dispatch}"
        ),
    );

    redis_checks(world, dir, &mut verdict).await;

    // Postgres: every connection to the run's databases is encrypted (when the shape asks).
    if !world.database_tls {
        verdict.figure("database TLS", "off (--database-plaintext)");
        let _ = std::fs::remove_dir_all(&foreign_dir);
        return Ok(verdict);
    }
    let mut admin = sqlx::PgConnection::connect(world.six.admin_url()).await?;
    let (connections, encrypted): (i64, i64) = sqlx::query_as(
        "SELECT count(*), count(*) FILTER (WHERE s.ssl) FROM pg_stat_activity a \
         JOIN pg_stat_ssl s USING (pid) WHERE a.datname = ANY($1)",
    )
    .bind(world.six.databases())
    .fetch_one(&mut admin)
    .await?;
    let _ = admin.close().await;
    verdict.figure(
        "database connections encrypted",
        format!("{encrypted}/{connections}"),
    );
    verdict.check(connections > 0, "no connection to the run's databases");
    verdict.check(
        encrypted == connections,
        format!(
            "{} of {connections} database connections in plaintext",
            connections - encrypted
        ),
    );
    let _ = std::fs::remove_dir_all(&foreign_dir);
    Ok(verdict)
}

/// Health/Check through `tls`: the status, or the error's text.
async fn health(
    world: &World,
    endpoint: &str,
    tls: &ClientTlsArgs,
    service: &str,
) -> Result<i32, String> {
    let channel = world
        .bare_channel(endpoint, tls)
        .map_err(|e| e.to_string())?;
    let mut request = tonic::Request::new(HealthCheckRequest {
        service: service.to_owned(),
    });
    request.set_timeout(Duration::from_secs(3));
    HealthClient::new(channel)
        .check(request)
        .await
        .map(|a| a.get_ref().status)
        .map_err(|s| code(&s))
}

/// LocateGrid through `tls` without a token: the code it got.
async fn locate(world: &World, endpoint: &str, tls: &ClientTlsArgs) -> String {
    let channel = match world.bare_channel(endpoint, tls) {
        Ok(channel) => channel,
        Err(e) => return e.to_string(),
    };
    let mut request = tonic::Request::new(LocateGridRequest {
        location: Some(GeoPoint {
            lat: 30.0,
            lon: 120.0,
        }),
        ..Default::default()
    });
    request.set_timeout(Duration::from_secs(3));
    match GridRegistryServiceClient::new(channel)
        .locate_grid(request)
        .await
    {
        Ok(_) => "OK".to_owned(),
        Err(status) => code(&status),
    }
}

/// Dispatch's Redis is the run's TLS-only server: plaintext and a client without a certificate
/// are refused, and dispatch's live positions are there (read with the harness's certificate).
async fn redis_checks(world: &World, dir: &std::path::Path, verdict: &mut Verdict) {
    let Some(url) = world.six.tls_redis_url() else {
        verdict.check(false, "dispatch's Redis is not the run's TLS server");
        return;
    };
    let plain = url.replacen("rediss://", "redis://", 1);
    let plaintext = ping(&plain, None).await;
    verdict.figure("Redis, plaintext client", short(&plaintext));
    verdict.check(
        plaintext.is_err(),
        "the TLS Redis answered a plaintext client",
    );
    let Ok(console) = pingan_platform::testing::redis_client_tls(dir, pingan_bench::six::CONSOLE)
    else {
        verdict.check(false, "the harness's Redis client files are missing");
        return;
    };
    let bare = pingan_platform::redis_store::RedisTls {
        client: None,
        ..console.clone()
    };
    let no_certificate = ping(&url, Some(&bare)).await;
    verdict.figure("Redis, no client certificate", short(&no_certificate));
    verdict.check(
        no_certificate.is_err(),
        "the TLS Redis answered a client without a certificate",
    );
    let pattern = format!("{}*", world.six.redis_prefix());
    let keys = async {
        let store =
            pingan_platform::redis_store::RedisStore::connect_with_tls(&url, "", Some(&console))
                .await?;
        let mut connection = store.connection();
        redis::cmd("KEYS")
            .arg(&pattern)
            .query_async::<Vec<String>>(&mut connection)
            .await
    };
    match tokio::time::timeout(Duration::from_secs(5), keys).await {
        Ok(Ok(keys)) => {
            verdict.figure("Redis over TLS: keys of the run", keys.len());
            verdict.check(!keys.is_empty(), "dispatch wrote nothing to the TLS Redis");
        }
        other => verdict.check(false, format!("reading the TLS Redis: {other:?}")),
    }
}

/// One PING; the error's text when refused.
async fn ping(
    url: &str,
    tls: Option<&pingan_platform::redis_store::RedisTls>,
) -> Result<(), String> {
    let attempt = async {
        let store =
            pingan_platform::redis_store::RedisStore::connect_with_tls(url, "", tls).await?;
        let mut connection = store.connection();
        redis::cmd("PING")
            .query_async::<String>(&mut connection)
            .await
            .map(|_| ())
    };
    match tokio::time::timeout(Duration::from_secs(5), attempt).await {
        Ok(result) => result.map_err(|e| e.to_string()),
        Err(_) => Err("timed out".to_owned()),
    }
}

fn short(result: &Result<(), String>) -> String {
    match result {
        Ok(()) => "answered".to_owned(),
        Err(_) => "refused".to_owned(),
    }
}
