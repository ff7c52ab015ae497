use super::*;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

#[test]
fn durations_parse_with_units() {
    assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
    assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
    assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
    assert_eq!(parse_duration("7"), Ok(Duration::from_secs(7)));
    assert!(parse_duration("soon").is_err());
    assert!(parse_duration("5 parsecs").is_err());
    assert!(
        parse_duration("99999999999999999999999h").is_err(),
        "too large"
    );
}

#[test]
fn peers_parse_as_name_and_url() {
    assert_eq!(
        parse_peer("triage=http://triage:50051"),
        Ok(("triage".into(), "http://triage:50051".into()))
    );
    assert!(parse_peer("triage").is_err());
    assert!(parse_peer("=http://x").is_err());
}

#[derive(Debug, clap::Parser)]
struct Probe {
    #[arg(long, default_value = "127.0.0.1:1")]
    listen: String,
    #[command(flatten)]
    server: ServerConfig,
    #[command(flatten)]
    peers: PeersConfig,
    #[command(flatten)]
    pool: PoolConfig,
    #[command(flatten)]
    pii: PiiConfig,
}

fn probe(file: &str, args: &[&str]) -> Result<Probe, String> {
    use clap::{CommandFactory as _, FromArgMatches as _};
    let file = ConfigFile::parse(Path::new("test.toml"), file).map_err(|e| e.to_string())?;
    let command = file
        .apply(
            Probe::command().name("serve"),
            &platform_sections(),
            &["dev"],
        )
        .map_err(|e| e.to_string())?;
    let matches = command
        .try_get_matches_from(std::iter::once("serve").chain(args.iter().copied()))
        .map_err(|e| e.to_string())?;
    Probe::from_arg_matches(&matches).map_err(|e| e.to_string())
}

#[test]
fn the_file_sets_defaults_and_flags_still_win() {
    let file = r#"
        [serve]
        listen = "0.0.0.0:7"
        [server]
        shutdown_grace = "3s"
        request-timeout = "9s"
        [pii]
        key = "k"
        [pool]
        database-max-connections = 4
        [peers]
        triage = "http://triage:1"
        intake = "http://intake:2"
        [dev]
        data-dir = "elsewhere"
    "#;
    let parsed = probe(file, &[]).unwrap();
    assert_eq!(parsed.listen, "0.0.0.0:7");
    assert_eq!(parsed.server.shutdown_grace, Duration::from_secs(3));
    assert_eq!(parsed.server.request_timeout, Duration::from_secs(9));
    assert_eq!(parsed.server.concurrency_limit, 512, "untouched default");
    assert_eq!(parsed.pool.settings(20).max_connections, 4);
    assert_eq!(parsed.peers.to_map().len(), 2);
    assert_eq!(parsed.peers.to_map()["triage"], "http://triage:1");
    assert_eq!(
        parsed.pii.key.as_deref(),
        Some("k"),
        "`[pii] key` is `--pii-key`"
    );

    let parsed = probe(file, &["--shutdown-grace", "1s", "--listen", "1.2.3.4:5"]).unwrap();
    assert_eq!(parsed.server.shutdown_grace, Duration::from_secs(1));
    assert_eq!(parsed.listen, "1.2.3.4:5");
}

#[test]
fn unknown_tables_keys_and_bad_values_are_errors() {
    assert!(
        probe("[servre]\nshutdown-grace = \"1s\"", &[])
            .unwrap_err()
            .contains("servre")
    );
    assert!(
        probe("[server]\ngrace = \"1s\"", &[])
            .unwrap_err()
            .contains("grace")
    );
    assert!(
        probe("listen = \"x\"", &[])
            .unwrap_err()
            .contains("top-level")
    );
    assert!(probe("[server]\nshutdown-grace = \"soon\"", &[]).is_err());
    assert!(probe("[server", &[]).is_err());
}

#[test]
fn the_config_path_comes_from_the_flag() {
    let args: Vec<OsString> = ["pingan", "dev", "--config", "a.toml"]
        .iter()
        .map(OsString::from)
        .collect();
    assert_eq!(config_path(&args), Some(PathBuf::from("a.toml")));
    let args: Vec<OsString> = ["pingan", "--config=b.toml"]
        .iter()
        .map(OsString::from)
        .collect();
    assert_eq!(config_path(&args), Some(PathBuf::from("b.toml")));
}

#[test]
fn tls_settings_come_from_the_server_table_and_flags_still_win() {
    let file = r#"
        [server]
        tls-cert = "/etc/pingan/tls/intake.pem"
        tls-key = "/etc/pingan/tls/intake-key.pem"
        tls-client-ca = "/etc/pingan/tls/ca.pem"
        tls-client-auth = "optional"
        tls-service-names = ["intake", "dispatch"]
        tls-reload-interval = "2s"
    "#;
    let parsed = probe(file, &["--tls-cert", "/run/other.pem"]).expect("parses");
    let tls = &parsed.server.tls;
    assert_eq!(tls.cert, Some(PathBuf::from("/run/other.pem")));
    assert_eq!(
        tls.key,
        Some(PathBuf::from("/etc/pingan/tls/intake-key.pem"))
    );
    assert_eq!(tls.client_ca, Some(PathBuf::from("/etc/pingan/tls/ca.pem")));
    assert_eq!(tls.client_auth, crate::tls::ClientAuth::Optional);
    assert_eq!(tls.service_names, ["intake", "dispatch"]);
    assert_eq!(tls.reload_interval, Duration::from_secs(2));
    assert_eq!(
        tls.peer_ca(),
        tls.client_ca.as_ref(),
        "peers checked against the client CA"
    );
    let plain = probe("", &[]).expect("parses");
    assert!(!plain.server.tls.server_enabled());
    assert_eq!(plain.server.tls.service_names.len(), 6);
}

#[test]
fn pool_flags_recycle_connections_and_default_to_a_short_acquire_timeout() {
    let defaults = probe("", &[]).expect("parses").pool.settings(20);
    assert_eq!(defaults.acquire_timeout, Duration::from_secs(2));
    assert_eq!(defaults.max_lifetime, Some(Duration::from_secs(30 * 60)));
    assert_eq!(defaults.idle_timeout, Some(Duration::from_secs(10 * 60)));
    assert!(defaults.test_before_acquire);

    let file = r#"
        [pool]
        database-acquire-timeout = "750ms"
        database-max-lifetime = "5m"
        database-idle-timeout = "0"
        database-test-before-acquire = false
    "#;
    let from_file = probe(file, &[]).expect("parses").pool.settings(20);
    assert_eq!(from_file.acquire_timeout, Duration::from_millis(750));
    assert_eq!(from_file.max_lifetime, Some(Duration::from_secs(300)));
    assert_eq!(from_file.idle_timeout, None, "0 keeps idle connections");
    assert!(!from_file.test_before_acquire);

    let flags = probe(
        file,
        &[
            "--database-max-lifetime",
            "0",
            "--database-test-before-acquire",
            "true",
        ],
    )
    .expect("parses")
    .pool
    .settings(20);
    assert_eq!(flags.max_lifetime, None);
    assert!(flags.test_before_acquire, "the flag wins over the file");
    assert!(probe("", &["--database-test-before-acquire", "maybe"]).is_err());
}

#[test]
fn connection_caches_take_the_shape_defaults_unless_configured() {
    let embedded = PoolSettings::embedded();
    let plain = probe("", &[]).expect("parses").pool;
    assert_eq!(plain.settings(20).statement_cache_capacity, 100);
    assert_eq!(plain.settings(20).sqlite_cache_kib, 2000);
    let dev = plain.settings_over(embedded.clone());
    assert_eq!(
        (
            dev.max_connections,
            dev.statement_cache_capacity,
            dev.sqlite_cache_kib
        ),
        (4, 24, 256)
    );
    let file = r#"
        [pool]
        database-statement-cache = 50
        database-sqlite-cache-kib = 1024
    "#;
    let configured = probe(file, &[])
        .expect("parses")
        .pool
        .settings_over(embedded);
    assert_eq!(
        (
            configured.statement_cache_capacity,
            configured.sqlite_cache_kib
        ),
        (50, 1024)
    );
    assert!(probe("", &["--database-sqlite-cache-kib", "-5"]).is_err());
}
