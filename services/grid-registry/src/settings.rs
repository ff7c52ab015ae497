//! Settings of one grid-registry instance (flags, `PINGAN_*` env, the `[grid-registry]` table).

use std::time::Duration;

use clap::Args;
use pingan_platform::config::parse_duration;

/// Settings of one grid-registry instance.
#[derive(Debug, Clone, PartialEq, Args)]
pub struct GridRegistrySettings {
    /// How often the grid version is polled; the spatial index is reloaded when another
    /// replica sharing the database changed a grid or a station.
    #[arg(id = "grid_index_refresh", long = "grid-index-refresh", env = "PINGAN_GRID_INDEX_REFRESH", default_value = "2s", value_parser = parse_refresh)]
    pub index_refresh: Duration,
}

impl Default for GridRegistrySettings {
    fn default() -> Self {
        Self {
            index_refresh: Duration::from_secs(2),
        }
    }
}

fn parse_refresh(text: &str) -> Result<Duration, String> {
    let every = parse_duration(text)?;
    if every < Duration::from_millis(10) {
        return Err(format!("--grid-index-refresh {text:?}: at least 10ms"));
    }
    Ok(every)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory as _, FromArgMatches as _, Parser};

    #[derive(Debug, Parser)]
    struct Probe {
        #[command(flatten)]
        settings: GridRegistrySettings,
    }

    #[test]
    fn the_index_refresh_defaults_to_two_seconds_and_is_configurable() {
        let parse = |args: &[&str]| {
            let matches = Probe::command()
                .try_get_matches_from(std::iter::once("x").chain(args.iter().copied()))
                .map_err(|e| e.to_string())?;
            Probe::from_arg_matches(&matches).map_err(|e| e.to_string())
        };
        let defaults = parse(&[]).expect("defaults");
        assert_eq!(defaults.settings, GridRegistrySettings::default());
        assert_eq!(defaults.settings.index_refresh, Duration::from_secs(2));
        let set = parse(&["--grid-index-refresh", "250ms"]).expect("set");
        assert_eq!(set.settings.index_refresh, Duration::from_millis(250));
        assert!(parse(&["--grid-index-refresh", "0"]).is_err());
    }
}
