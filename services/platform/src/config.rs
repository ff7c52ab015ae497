//! Configuration shared by every service: compiled defaults, then `PINGAN_*` environment
//! variables, then command-line flags (clap resolves flag > env > default), validated once.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use clap::{Args, ValueEnum};

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
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(30),
            concurrency_limit: 512,
            shutdown_grace: Duration::from_secs(25),
            health_interval: Duration::from_secs(5),
            metrics_listen: None,
        }
    }
}

/// Bearer-token settings.
#[derive(Debug, Clone, Args)]
pub struct AuthConfig {
    /// HS256 secret that signs and checks tokens (shared by the bureau's services).
    #[arg(
        long = "auth-secret",
        env = "PINGAN_AUTH_SECRET",
        hide_env_values = true
    )]
    pub secret: Option<String>,
    /// Issuer expected in tokens.
    #[arg(
        long = "auth-issuer",
        env = "PINGAN_AUTH_ISSUER",
        default_value = "pingan"
    )]
    pub issuer: String,
}

/// Keys for personal data (phone and ID numbers).
#[derive(Debug, Clone, Args)]
pub struct PiiConfig {
    /// Master key (at least 32 characters) from which the keyed hash and the encryption key of
    /// phone and ID numbers are derived; changing it makes stored numbers unreadable.
    #[arg(long = "pii-key", env = "PINGAN_PII_KEY", hide_env_values = true)]
    pub key: Option<String>,
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
    if !seconds.is_finite() || seconds < 0.0 {
        return Err(format!("invalid duration {text:?}"));
    }
    Ok(Duration::from_secs_f64(seconds))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("7"), Ok(Duration::from_secs(7)));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("5 parsecs").is_err());
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
}
