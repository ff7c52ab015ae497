//! Configuration shared by every service, in layers: compiled defaults, then the config file
//! (TOML, [`ConfigFile`]), then `PINGAN_*` environment variables, then command-line flags. clap
//! resolves flag > env > default; the file layer works by replacing clap's defaults.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use clap::{Args, ValueEnum};

use crate::storage::PoolSettings;

/// The spans traced by default: ours and the libraries' at INFO, transport internals never.
pub const DEFAULT_TRACE_FILTER: &str =
    "info,h2=off,hyper=off,hyper_util=off,tower=off,tonic::transport=off";

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One JSON object per line, with trace ids (for log shippers).
    Json,
    /// Human-readable lines (for a terminal).
    Text,
}

/// Telemetry settings.
#[derive(Debug, Clone, Args)]
pub struct TelemetryConfig {
    /// OTLP/gRPC endpoint traces are exported to; no export when unset.
    #[arg(long = "otlp-endpoint", env = "OTEL_EXPORTER_OTLP_ENDPOINT")]
    pub otlp_endpoint: Option<String>,
    /// Log filter in `RUST_LOG` syntax.
    #[arg(long = "log-filter", env = "RUST_LOG", default_value = "info")]
    pub log_filter: String,
    /// Which spans are traced, in `RUST_LOG` syntax: transport internals (h2, hyper, tower) are
    /// off, since they cost CPU on every frame and tell an operator nothing.
    #[arg(
        long = "trace-filter",
        env = "PINGAN_TRACE_FILTER",
        default_value = DEFAULT_TRACE_FILTER
    )]
    pub trace_filter: String,
    /// Log format (default: json for `serve`, text for `dev`).
    #[arg(long = "log-format", env = "PINGAN_LOG_FORMAT", value_enum)]
    pub log_format: Option<LogFormat>,
}

/// Limits and timings of the gRPC server.
#[derive(Debug, Clone, Args)]
pub struct ServerConfig {
    /// Upper bound for one unary call (streams are bounded by their own deadlines).
    #[arg(long = "request-timeout", env = "PINGAN_REQUEST_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub request_timeout: Duration,
    /// Calls served at once per connection; beyond it new calls are shed (RESOURCE_EXHAUSTED).
    #[arg(
        long = "concurrency-limit",
        env = "PINGAN_CONCURRENCY_LIMIT",
        default_value_t = 512
    )]
    pub concurrency_limit: usize,
    /// How long in-flight calls may take to finish after SIGTERM/SIGINT.
    #[arg(long = "shutdown-grace", env = "PINGAN_SHUTDOWN_GRACE", default_value = "25s", value_parser = parse_duration)]
    pub shutdown_grace: Duration,
    /// How often the database and Redis are probed for the health status.
    #[arg(long = "health-interval", env = "PINGAN_HEALTH_INTERVAL", default_value = "5s", value_parser = parse_duration)]
    pub health_interval: Duration,
    /// Prometheus `/metrics` listen address; no metrics server when empty.
    #[arg(long = "metrics-listen", env = "PINGAN_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
    /// Rate limits and the failed-authentication block.
    #[command(flatten)]
    pub limits: LimitsArgs,
    /// TLS and mutual TLS of the server and of the calls to peers.
    #[command(flatten)]
    pub tls: crate::tls::TlsArgs,
    /// Message size and request stream length limits.
    #[command(flatten)]
    pub messages: crate::server::MessageLimits,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(30),
            concurrency_limit: 512,
            shutdown_grace: Duration::from_secs(25),
            health_interval: Duration::from_secs(5),
            metrics_listen: None,
            limits: LimitsArgs::default(),
            tls: crate::tls::TlsArgs::default(),
            messages: crate::server::MessageLimits::default(),
        }
    }
}

/// Bearer-token settings: Pingan's own HS256 tokens and the bureau identity provider's
/// RS256/ES256 tokens (see [`secrets`] for how they become an authenticator).
#[derive(Debug, Clone, Args)]
pub struct AuthConfig {
    /// Token signing secret (HS256, at least 32 characters): signs the services' own tokens and
    /// checks HS256 tokens. Used for nothing else.
    #[arg(
        long = "auth-secret",
        env = "PINGAN_AUTH_SECRET",
        hide_env_values = true
    )]
    pub secret: Option<String>,
    /// Issuer expected in (and written into) HS256 tokens.
    #[arg(
        long = "auth-issuer",
        env = "PINGAN_AUTH_ISSUER",
        default_value = "pingan"
    )]
    pub issuer: String,
    /// Audience every token must name (`aud`); not checked when unset.
    #[arg(long = "auth-audience", env = "PINGAN_AUTH_AUDIENCE")]
    pub audience: Option<String>,
    /// Clock skew allowed on a token's `exp` and `nbf`.
    #[arg(long = "auth-leeway", env = "PINGAN_AUTH_LEEWAY", default_value = "30s", value_parser = parse_duration)]
    pub leeway: Duration,
    /// The identity provider's JWKS file (RS256/ES256 keys by `kid`), kept current by the
    /// provider's key distribution; its tokens are accepted only when this or `--auth-jwks-url`
    /// is set. Beside `--auth-jwks-url`, the copy of the last good fetch, read when the provider
    /// cannot be reached at start.
    #[arg(long = "auth-jwks-file", env = "PINGAN_AUTH_JWKS_FILE")]
    pub jwks_file: Option<std::path::PathBuf>,
    /// The identity provider's JWKS URL (`jwks_uri`): https://, or http:// for a loopback host
    /// only; fetched at start, every `--auth-jwks-refresh` and (at most every 10 s) when a
    /// token names an unknown `kid`.
    #[arg(long = "auth-jwks-url", env = "PINGAN_AUTH_JWKS_URL")]
    pub jwks_url: Option<String>,
    /// CA bundle (PEM) the identity provider's certificate must chain to, for an https://
    /// `--auth-jwks-url` (the system roots are not used).
    #[arg(long = "auth-jwks-ca", env = "PINGAN_AUTH_JWKS_CA")]
    pub jwks_ca: Option<std::path::PathBuf>,
    /// Issuer expected in the identity provider's tokens (default: `--auth-issuer`).
    #[arg(long = "auth-jwks-issuer", env = "PINGAN_AUTH_JWKS_ISSUER")]
    pub jwks_issuer: Option<String>,
    /// How often the JWKS file is re-read or its URL fetched (the file is also re-read, at most
    /// once a second, when a token names an unknown `kid`).
    #[arg(long = "auth-jwks-refresh", env = "PINGAN_AUTH_JWKS_REFRESH", default_value = "60s", value_parser = parse_duration)]
    pub jwks_refresh: Duration,
    /// Revoked tokens and subjects (JSON, see docs/security.md; `pingan token revoke` writes
    /// it), read again when it changes.
    #[arg(long = "auth-revoked-file", env = "PINGAN_AUTH_REVOKED_FILE")]
    pub revoked_file: Option<std::path::PathBuf>,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            secret: None,
            issuer: "pingan".into(),
            audience: None,
            leeway: Duration::from_secs(30),
            jwks_file: None,
            jwks_url: None,
            jwks_ca: None,
            jwks_issuer: None,
            jwks_refresh: Duration::from_secs(60),
            revoked_file: None,
        }
    }
}

/// Keys for personal data (phone and ID numbers): one per purpose, encryption keys by id.
#[derive(Debug, Clone, Default, Args)]
pub struct PiiConfig {
    /// Deprecated single master key (at least 32 characters) from which both the blind index
    /// and the encryption key were derived. Still opens values written under it; when it is
    /// the only key set it serves both purposes, with a warning at start.
    #[arg(long = "pii-key", env = "PINGAN_PII_KEY", hide_env_values = true)]
    pub key: Option<String>,
    /// Encryption keys as `id=secret` (secret at least 32 characters); the first encrypts,
    /// all decrypt. Rotate by putting a new key first, then run `pingan pii reencrypt`.
    #[arg(
        long = "pii-encryption-key",
        env = "PINGAN_PII_ENCRYPTION_KEYS",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub encryption_keys: Vec<String>,
    /// Blind-index key (keyed hash that finds a number without storing it; at least 32
    /// characters). Set it to the old `--pii-key` to keep existing indexes matching.
    #[arg(
        long = "pii-index-key",
        env = "PINGAN_PII_INDEX_KEY",
        hide_env_values = true
    )]
    pub index_key: Option<String>,
}

/// Where the other services are, as `name=url` pairs (e.g. `triage=http://triage:50051`).
#[derive(Debug, Clone, Default, Args)]
pub struct PeersConfig {
    /// A peer service endpoint, `name=url`; repeat the flag or separate with commas in the env.
    #[arg(long = "peer", env = "PINGAN_PEERS", value_delimiter = ',', value_parser = parse_peer)]
    pub peers: Vec<(String, String)>,
}

impl PeersConfig {
    /// The peers as a map from service name to endpoint URL.
    pub fn to_map(&self) -> BTreeMap<String, String> {
        self.peers.iter().cloned().collect()
    }
}

/// Database pool settings.
#[derive(Debug, Clone, Default, Args)]
pub struct PoolConfig {
    /// Most database connections (default: 20 for `serve`, 4 per service for `dev`).
    #[arg(
        long = "database-max-connections",
        env = "PINGAN_DATABASE_MAX_CONNECTIONS"
    )]
    pub max_connections: Option<u32>,
    /// How long a caller waits for a connection before the database counts as unavailable
    /// (default 2s).
    #[arg(long = "database-acquire-timeout", env = "PINGAN_DATABASE_ACQUIRE_TIMEOUT", value_parser = parse_duration)]
    pub acquire_timeout: Option<Duration>,
    /// A connection older than this is closed when it returns to the pool, so connections
    /// opened before a failover are recycled (default 30m; 0 keeps connections forever).
    #[arg(long = "database-max-lifetime", env = "PINGAN_DATABASE_MAX_LIFETIME", value_parser = parse_duration)]
    pub max_lifetime: Option<Duration>,
    /// An idle connection is closed after this long (default 10m; 0 keeps idle connections).
    #[arg(long = "database-idle-timeout", env = "PINGAN_DATABASE_IDLE_TIMEOUT", value_parser = parse_duration)]
    pub idle_timeout: Option<Duration>,
    /// Checks an idle connection before handing it out, so one broken by a restart or failover
    /// is replaced rather than failing a call (default true; one round trip per checkout).
    #[arg(
        long = "database-test-before-acquire",
        env = "PINGAN_DATABASE_TEST_BEFORE_ACQUIRE",
        action = clap::ArgAction::Set,
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub test_before_acquire: Option<bool>,
    /// Prepared statements kept per database connection (default 100; 24 for `dev`).
    #[arg(
        long = "database-statement-cache",
        env = "PINGAN_DATABASE_STATEMENT_CACHE"
    )]
    pub statement_cache_capacity: Option<usize>,
    /// Page cache per SQLite connection, in KiB (default 2000, SQLite's own; 256 for `dev`).
    #[arg(
        long = "database-sqlite-cache-kib",
        env = "PINGAN_DATABASE_SQLITE_CACHE_KIB"
    )]
    pub sqlite_cache_kib: Option<u32>,
}

impl PoolConfig {
    /// The pool settings, `default_max` connections unless configured.
    pub fn settings(&self, default_max: u32) -> PoolSettings {
        self.settings_over(PoolSettings {
            max_connections: default_max,
            ..PoolSettings::default()
        })
    }

    /// The pool settings, `defaults` where nothing is configured.
    pub fn settings_over(&self, defaults: PoolSettings) -> PoolSettings {
        let forever_if_zero = |value: Option<Duration>, default: Option<Duration>| match value {
            Some(duration) if duration.is_zero() => None,
            Some(duration) => Some(duration),
            None => default,
        };
        PoolSettings {
            max_connections: self.max_connections.unwrap_or(defaults.max_connections),
            acquire_timeout: self.acquire_timeout.unwrap_or(defaults.acquire_timeout),
            max_lifetime: forever_if_zero(self.max_lifetime, defaults.max_lifetime),
            idle_timeout: forever_if_zero(self.idle_timeout, defaults.idle_timeout),
            test_before_acquire: self
                .test_before_acquire
                .unwrap_or(defaults.test_before_acquire),
            statement_cache_capacity: self
                .statement_cache_capacity
                .unwrap_or(defaults.statement_cache_capacity),
            sqlite_cache_kib: self.sqlite_cache_kib.unwrap_or(defaults.sqlite_cache_kib),
        }
    }
}

/// A group of flags that one table of the config file sets (`[server]`, `[intake]`, ...).
#[derive(Clone, Copy)]
pub struct Section {
    /// The table name.
    pub table: &'static str,
    /// Adds the group's flags to a command (`<T as clap::Args>::augment_args`).
    pub augment: fn(clap::Command) -> clap::Command,
}

impl std::fmt::Debug for Section {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Section")
            .field("table", &self.table)
            .finish()
    }
}

/// The platform's own sections: `[server]`, `[telemetry]`, `[auth]`, `[pii]`, `[peers]`,
/// `[events]`, `[pool]`.
pub fn platform_sections() -> Vec<Section> {
    vec![
        Section {
            table: "server",
            augment: ServerConfig::augment_args,
        },
        Section {
            table: "telemetry",
            augment: TelemetryConfig::augment_args,
        },
        Section {
            table: "auth",
            augment: AuthConfig::augment_args,
        },
        Section {
            table: "pii",
            augment: PiiConfig::augment_args,
        },
        Section {
            table: "peers",
            augment: PeersConfig::augment_args,
        },
        Section {
            table: "events",
            augment: crate::events::EventConfig::augment_args,
        },
        Section {
            table: "pool",
            augment: PoolConfig::augment_args,
        },
    ]
}

/// Parses durations such as `30s`, `250ms`, `5m`, `1h`, or plain seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("invalid duration {text:?}: expected e.g. 30s, 250ms, 5m"))?;
    let seconds = match unit.trim() {
        "" | "s" => value,
        "ms" => value / 1000.0,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        other => return Err(format!("invalid duration unit {other:?} in {text:?}")),
    };
    // try_: a number of hours too large for a Duration is refused, not a panic at start-up.
    Duration::try_from_secs_f64(seconds).map_err(|_| format!("invalid duration {text:?}"))
}

fn parse_peer(text: &str) -> Result<(String, String), String> {
    let (name, url) = text
        .split_once('=')
        .ok_or_else(|| format!("invalid peer {text:?}: expected name=url"))?;
    let (name, url) = (name.trim(), url.trim());
    if name.is_empty() || url.is_empty() {
        return Err(format!("invalid peer {text:?}: expected name=url"));
    }
    Ok((name.to_owned(), url.to_owned()))
}

pub mod clear_reads;
mod file;
pub mod limits;
pub mod secrets;
pub use clear_reads::{ClearReadConfig, ClearReadReason};
pub use file::{CONFIG_ENV, ConfigError, ConfigFile, config_path};
pub use limits::{Cidr, LimitsArgs, RateLimit};

#[cfg(test)]
mod tests;
