//! Redis over TLS with a CA of our own: a private TLS-only `redis-server` whose certificate
//! `pingan certs dev`'s code issued and that requires client certificates. The platform's store
//! connects with `rediss://`, the CA and a client certificate, and writes; a client without a
//! certificate, one trusting another CA, and a plaintext one are refused; the flags check their
//! files at start.

use std::path::PathBuf;
use std::time::Duration;

use pingan_platform::redis_store::{RedisStore, RedisTls};
use pingan_platform::testing::{TlsRedisServer, redis_client_tls, unique_name};
use pingan_platform::tls::{RedisTlsArgs, certs};

fn temp_dir(name: &str) -> PathBuf {
    std::env::temp_dir().join(unique_name(name))
}

/// Connects and runs one SET/GET round trip (a refused handshake may surface on either step).
async fn round_trip(url: &str, tls: Option<&RedisTls>) -> Result<String, String> {
    let attempt = async {
        let store = RedisStore::connect_with_tls(url, "pingan_t_rtls:", tls)
            .await
            .map_err(|e| e.to_string())?;
        let mut connection = store.connection();
        let key = store.key("probe");
        redis::cmd("SET")
            .arg(&key)
            .arg("over tls")
            .query_async::<()>(&mut connection)
            .await
            .map_err(|e| e.to_string())?;
        redis::cmd("GET")
            .arg(&key)
            .query_async::<String>(&mut connection)
            .await
            .map_err(|e| e.to_string())
    };
    tokio::time::timeout(Duration::from_secs(15), attempt)
        .await
        .map_err(|_| "timed out".to_owned())?
}

#[tokio::test]
async fn the_store_speaks_tls_to_a_redis_our_ca_signed_and_nothing_else_gets_in() {
    let dir = temp_dir("pingan_redis_tls");
    let server = TlsRedisServer::start(&dir, "dispatch")
        .await
        .expect("a TLS redis-server (the machine's Redis binary)");
    let tls = redis_client_tls(&dir, "dispatch").expect("client files");

    assert_eq!(
        round_trip(&server.url(), Some(&tls)).await.as_deref(),
        Ok("over tls"),
        "CA + client certificate"
    );

    let no_certificate = RedisTls {
        client: None,
        ..tls.clone()
    };
    let refused = round_trip(&server.url(), Some(&no_certificate)).await;
    assert!(refused.is_err(), "no client certificate: {refused:?}");

    let foreign = temp_dir("pingan_redis_tls_foreign");
    certs::generate(&foreign, &["dispatch".to_owned()], &[]).expect("foreign CA");
    let foreign_tls = redis_client_tls(&foreign, "dispatch").expect("foreign files");
    let refused = round_trip(&server.url(), Some(&foreign_tls)).await;
    assert!(
        refused.is_err(),
        "a CA that did not sign the server: {refused:?}"
    );

    let plain = format!("redis://127.0.0.1:{}", server.port());
    let refused = round_trip(&plain, None).await;
    assert!(
        refused.is_err(),
        "plaintext to a TLS-only port: {refused:?}"
    );

    let misconfigured = round_trip(&plain, Some(&tls)).await;
    let message = misconfigured.expect_err("a CA with a redis:// URL");
    assert!(message.contains("rediss://"), "{message}");

    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&foreign);
}

#[test]
fn the_flags_read_and_check_their_files_at_start() {
    assert!(
        RedisTlsArgs::default()
            .load()
            .expect("nothing set")
            .is_none()
    );
    let missing = RedisTlsArgs {
        redis_ca: Some(PathBuf::from("/nonexistent/redis-ca.pem")),
        ..RedisTlsArgs::default()
    };
    let err = missing.load().expect_err("a missing CA file");
    assert!(
        err.to_string().contains("/nonexistent/redis-ca.pem"),
        "{err}"
    );

    let dir = temp_dir("pingan_redis_tls_flags");
    certs::generate(&dir, &["dispatch".to_owned()], &[]).expect("certificates");
    let only_cert = RedisTlsArgs {
        redis_client_cert: Some(certs::client_cert(&dir, "dispatch")),
        ..RedisTlsArgs::default()
    };
    assert!(only_cert.load().is_err(), "a certificate without its key");
    let loaded = RedisTlsArgs {
        redis_ca: Some(certs::ca_cert(&dir)),
        redis_client_cert: Some(certs::client_cert(&dir, "dispatch")),
        redis_client_key: Some(certs::client_key(&dir, "dispatch")),
    }
    .load()
    .expect("good files")
    .expect("set");
    assert!(loaded.ca_pem.is_some() && loaded.client.is_some());
    let _ = std::fs::remove_dir_all(&dir);
}
