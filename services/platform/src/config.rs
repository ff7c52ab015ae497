//! Configuration shared by every service, in layers: compiled defaults, then the config file
//! (TOML, [`ConfigFile`]), then `PINGAN_*` environment variables, then command-line flags. clap
//! resolves flag > env > default; the file layer works by replacing clap's defaults.
//! (Near 600 lines because the file layer's tests live here; `ConfigFile` may move to its own
//! module.)

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, ValueEnum};

use crate::storage::PoolSettings;

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

/// Database pool settings.
#[derive(Debug, Clone, Default, Args)]
pub struct PoolConfig {
    /// Most database connections (default: 20 for `serve`, 10 per service for `dev`).
    #[arg(
        long = "database-max-connections",
        env = "PINGAN_DATABASE_MAX_CONNECTIONS"
    )]
    pub max_connections: Option<u32>,
    /// How long a caller waits for a connection before the database counts as unavailable.
    #[arg(long = "database-acquire-timeout", env = "PINGAN_DATABASE_ACQUIRE_TIMEOUT", value_parser = parse_duration)]
    pub acquire_timeout: Option<Duration>,
}

impl PoolConfig {
    /// The pool settings, `default_max` connections unless configured.
    pub fn settings(&self, default_max: u32) -> PoolSettings {
        let defaults = PoolSettings::default();
        PoolSettings {
            max_connections: self.max_connections.unwrap_or(default_max),
            acquire_timeout: self.acquire_timeout.unwrap_or(defaults.acquire_timeout),
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

/// Errors of the config file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What failed.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML.
    #[error("config file {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A key or table the command does not know (a typo would otherwise be ignored silently).
    #[error("config file {path}: unknown {what} {key:?}")]
    Unknown {
        /// The file.
        path: PathBuf,
        /// `table` or `key in [table]`.
        what: String,
        /// The name.
        key: String,
    },
    /// A value of a type flags cannot take.
    #[error("config file {path}: [{table}] {key}: {message}")]
    Value {
        /// The file.
        path: PathBuf,
        /// The table.
        table: String,
        /// The key.
        key: String,
        /// What is wrong.
        message: String,
    },
}

/// The config file (`--config path.toml` or `PINGAN_CONFIG`): one table per section, keys named
/// like the flags without `--` (`_` or `-`), e.g.
///
/// ```toml
/// [server]
/// shutdown-grace = "10s"
/// [intake]
/// intake-locate-deadline = "2s"
/// [peers]
/// triage = "http://triage:50051"
/// [serve]          # the subcommand's own flags
/// listen = "0.0.0.0:50051"
/// ```
///
/// Its values become the flags' defaults, so environment variables and flags still win.
#[derive(Debug, Clone)]
pub struct ConfigFile {
    path: PathBuf,
    tables: toml::Table,
}

/// Environment variable naming the config file.
pub const CONFIG_ENV: &str = "PINGAN_CONFIG";

/// The config file named by `--config` in `args`, else by `PINGAN_CONFIG`.
pub fn config_path(args: &[OsString]) -> Option<PathBuf> {
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        if arg == "--" {
            break;
        }
        if arg == "--config" {
            return iter.next().map(PathBuf::from);
        }
        if let Some(path) = arg.to_str().and_then(|a| a.strip_prefix("--config=")) {
            return Some(PathBuf::from(path));
        }
    }
    std::env::var_os(CONFIG_ENV).map(PathBuf::from)
}

fn flag_name(key: &str) -> String {
    key.replace('_', "-")
}

fn value_strings(value: &toml::Value) -> Result<Vec<String>, String> {
    match value {
        toml::Value::String(text) => Ok(vec![text.clone()]),
        toml::Value::Integer(n) => Ok(vec![n.to_string()]),
        toml::Value::Float(x) => Ok(vec![x.to_string()]),
        toml::Value::Boolean(b) => Ok(vec![b.to_string()]),
        toml::Value::Datetime(d) => Ok(vec![d.to_string()]),
        toml::Value::Array(items) => items
            .iter()
            .map(|item| match item {
                toml::Value::Array(_) | toml::Value::Table(_) => {
                    Err("lists of lists or tables are not flags".to_owned())
                }
                other => value_strings(other).map(|mut v| v.remove(0)),
            })
            .collect(),
        toml::Value::Table(_) => Err("a table is not a flag value".to_owned()),
    }
}

/// The id of the flag `--{key}` among `command`'s arguments.
fn arg_id(command: &clap::Command, key: &str) -> Option<String> {
    let long = flag_name(key);
    command
        .get_arguments()
        .find(|arg| arg.get_long() == Some(long.as_str()) || arg.get_id() == key)
        .map(|arg| arg.get_id().to_string())
}

impl ConfigFile {
    /// Reads and parses `path`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(path, &text)
    }

    /// Parses `text` (read from `path`).
    pub fn parse(path: &Path, text: &str) -> Result<Self, ConfigError> {
        let tables = text
            .parse::<toml::Table>()
            .map_err(|err| ConfigError::Parse {
                path: path.to_owned(),
                message: err.to_string(),
            })?;
        Ok(Self {
            path: path.to_owned(),
            tables,
        })
    }

    /// Sets the defaults of subcommand `command` from the file: the `[<command name>]` table
    /// sets its own flags, each section's table that section's flags. Tables of other
    /// subcommands (`others`) are skipped; any other table, and any key that is not a flag of
    /// its table, is an error.
    pub fn apply(
        &self,
        mut command: clap::Command,
        sections: &[Section],
        others: &[&str],
    ) -> Result<clap::Command, ConfigError> {
        let name = command.get_name().to_owned();
        for (table, entries) in &self.tables {
            let toml::Value::Table(entries) = entries else {
                return Err(ConfigError::Unknown {
                    path: self.path.clone(),
                    what: "top-level key (put it in a table such as [server])".into(),
                    key: table.clone(),
                });
            };
            if others.contains(&table.as_str()) {
                continue;
            }
            let scope = if *table == name {
                None
            } else if let Some(section) = sections.iter().find(|s| s.table == table) {
                Some((section.augment)(clap::Command::new("section")))
            } else {
                return Err(ConfigError::Unknown {
                    path: self.path.clone(),
                    what: "table".into(),
                    key: table.clone(),
                });
            };
            for (key, value) in entries {
                command = self.set_default(command, scope.as_ref(), table, key, value)?;
            }
        }
        Ok(command)
    }

    fn set_default(
        &self,
        command: clap::Command,
        scope: Option<&clap::Command>,
        table: &str,
        key: &str,
        value: &toml::Value,
    ) -> Result<clap::Command, ConfigError> {
        let invalid = |message: String| ConfigError::Value {
            path: self.path.clone(),
            table: table.to_owned(),
            key: key.to_owned(),
            message,
        };
        let mut values = value_strings(value).map_err(invalid)?;
        let id = match scope {
            // `[intake] locate-deadline` is `--intake-locate-deadline`.
            Some(section) => {
                arg_id(section, key).or_else(|| arg_id(section, &format!("{table}-{key}")))
            }
            None => arg_id(&command, key),
        };
        let id = match id {
            Some(id) => id,
            // `[peers] triage = "http://…"`: a peer by name.
            None if table == "peers" && values.len() == 1 => {
                values = vec![format!("{key}={}", values.remove(0))];
                arg_id(&command, "peer").unwrap_or_else(|| "peers".to_owned())
            }
            None => {
                return Err(ConfigError::Unknown {
                    path: self.path.clone(),
                    what: format!("key in [{table}]"),
                    key: key.to_owned(),
                });
            }
        };
        if !command
            .get_arguments()
            .any(|arg| arg.get_id() == id.as_str())
        {
            return Ok(command);
        }
        Ok(command.mut_arg(id, |arg| {
            let previous: Vec<String> = if table == "peers" {
                arg.get_default_values()
                    .iter()
                    .filter_map(|v| v.to_str().map(str::to_owned))
                    .collect()
            } else {
                Vec::new()
            };
            let all: Vec<String> = previous.into_iter().chain(values).collect();
            if all.len() == 1 {
                arg.default_value(all.into_iter().next().unwrap_or_default())
            } else {
                arg.default_values(all)
            }
        }))
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
}
