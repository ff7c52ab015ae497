//! TLS to Postgres and Redis: the URL forms parse with TLS compiled in (sqlx's rustls, redis's
//! tokio-rustls); against the test servers, TLS is really used where they offer it (Postgres with
//! `ssl = on`) and refused at the handshake where they do not (Redis); plain URLs still work.

use std::str::FromStr as _;
use std::time::Duration;

use pingan_platform::redis_store::RedisStore;
use pingan_platform::storage::{Db, PoolSettings};
use pingan_platform::testing::{DATABASE_URL_VAR, REDIS_URL_VAR};
use sqlx::Connection as _;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgSslMode};

fn settings() -> PoolSettings {
    PoolSettings {
        max_connections: 1,
        acquire_timeout: Duration::from_secs(5),
        ..PoolSettings::default()
    }
}

fn required(var: &str) -> String {
    std::env::var(var)
        .unwrap_or_else(|_| panic!("{var} must be set: a missing server is a failure"))
}

#[tokio::test]
async fn postgres_verify_full_urls_parse_and_plain_ones_still_work() {
    let options = PgConnectOptions::from_str(
        "postgres://pingan@db.example:5432/pingan_intake?sslmode=verify-full&sslrootcert=/etc/pingan/tls/ca.crt",
    )
    .expect("a verify-full url");
    assert!(matches!(options.get_ssl_mode(), PgSslMode::VerifyFull));

    let base = required(DATABASE_URL_VAR);
    Db::connect(&base, &settings()).await.expect("plain url");
    let mut plain = PgConnection::connect(&base)
        .await
        .expect("plain connection");
    let server_ssl: String = sqlx::query_scalar("SHOW ssl")
        .fetch_one(&mut plain)
        .await
        .expect("show ssl");

    let separator = if base.contains('?') { '&' } else { '?' };
    let require = format!("{base}{separator}sslmode=require");
    if server_ssl == "on" {
        // The connection really is encrypted (rustls, ring).
        let mut tls = PgConnection::connect(&require)
            .await
            .expect("sslmode=require");
        let encrypted: bool =
            sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
                .fetch_one(&mut tls)
                .await
                .expect("pg_stat_ssl");
        assert!(encrypted, "sslmode=require gave a plaintext connection");
        // verify-full checks the server's certificate: one CA it was not signed by refuses it.
        let dir = std::env::temp_dir().join(pingan_platform::testing::unique_name("pg_tls"));
        pingan_platform::tls::certs::generate(&dir, &[], &[]).expect("a foreign CA");
        let ca = pingan_platform::tls::certs::ca_cert(&dir);
        let verify = format!(
            "{base}{separator}sslmode=verify-full&sslrootcert={}",
            ca.display()
        );
        Db::connect(&verify, &settings())
            .await
            .expect_err("a server certificate from another CA");
        let _ = std::fs::remove_dir_all(dir);
    } else {
        // No TLS on the server: asking for it fails, and says so.
        let err = Db::connect(&require, &settings())
            .await
            .expect_err("the test server speaks no TLS");
        let message = err.to_string().to_lowercase();
        assert!(
            message.contains("tls") || message.contains("ssl"),
            "not a TLS refusal: {message}"
        );
    }
}

#[tokio::test]
async fn rediss_urls_parse_and_plain_ones_still_work() {
    // Without a TLS feature redis refuses `rediss://` as "the feature is not enabled".
    redis::Client::open("rediss://cache.example:6380/0").expect("a rediss url");

    let base = required(REDIS_URL_VAR);
    RedisStore::connect(&base, "pingan_t_tls:")
        .await
        .expect("plain url");
    let tls = base.replacen("redis://", "rediss://", 1);
    assert!(tls.starts_with("rediss://"), "{tls}");
    let refused = tokio::time::timeout(
        Duration::from_secs(30),
        RedisStore::connect(&tls, "pingan_t_tls:"),
    )
    .await
    .expect("gives up in time");
    let Err(err) = refused else {
        panic!("the test server speaks no TLS, yet rediss:// connected");
    };
    assert!(
        !err.to_string().contains("feature is not enabled"),
        "TLS not compiled in: {err}"
    );
}
