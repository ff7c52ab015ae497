//! The config file layer: a TOML file whose values become clap's defaults.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::Section;

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
