//! Intake's tunables: duplicate-call matching, the deadline of every hop, and routing retries.
//! Read by the host like every setting: defaults, the `[intake]` table of the config file,
//! `PINGAN_INTAKE_*` environment variables, `--intake-*` flags.

use std::time::Duration;

use clap::Args;
use pingan_platform::config::parse_duration;

use crate::domain::MAX_LINK_RADIUS_M;

/// Settings of one intake instance.
#[derive(Debug, Clone, PartialEq, Args)]
pub struct IntakeSettings {
    /// A call this close to an open incident may be the same event (metres).
    #[arg(id = "intake_duplicate_radius_m", long = "intake-duplicate-radius-m", env = "PINGAN_INTAKE_DUPLICATE_RADIUS_M", default_value_t = 300.0, value_parser = parse_radius)]
    pub duplicate_radius_m: f64,
    /// ...if the open incident's first call came in at most this long before.
    #[arg(id = "intake_duplicate_window", long = "intake-duplicate-window", env = "PINGAN_INTAKE_DUPLICATE_WINDOW", default_value = "15m", value_parser = parse_duration)]
    pub duplicate_window: Duration,
    /// Deadline of LocateGrid.
    #[arg(id = "intake_locate_deadline", long = "intake-locate-deadline", env = "PINGAN_INTAKE_LOCATE_DEADLINE", default_value = "1s", value_parser = parse_duration)]
    pub locate_deadline: Duration,
    /// Deadline of Classify.
    #[arg(id = "intake_classify_deadline", long = "intake-classify-deadline", env = "PINGAN_INTAKE_CLASSIFY_DEADLINE", default_value = "2s", value_parser = parse_duration)]
    pub classify_deadline: Duration,
    /// Deadline of OpenDispatch and DivertTo12345.
    #[arg(id = "intake_route_deadline", long = "intake-route-deadline", env = "PINGAN_INTAKE_ROUTE_DEADLINE", default_value = "3s", value_parser = parse_duration)]
    pub route_deadline: Duration,
    /// How often the job worker looks for routing jobs due (it is woken at once otherwise).
    #[arg(id = "intake_jobs_poll_interval", long = "intake-jobs-poll-interval", env = "PINGAN_INTAKE_JOBS_POLL_INTERVAL", default_value = "1s", value_parser = parse_duration)]
    pub jobs_poll_interval: Duration,
    /// First wait (on the service clock) before routing a deferred incident again; doubles.
    #[arg(id = "intake_retry_initial", long = "intake-retry-initial", env = "PINGAN_INTAKE_RETRY_INITIAL", default_value = "2s", value_parser = parse_duration)]
    pub retry_initial: Duration,
    /// Longest wait between two routing attempts.
    #[arg(id = "intake_retry_max", long = "intake-retry-max", env = "PINGAN_INTAKE_RETRY_MAX", default_value = "60s", value_parser = parse_duration)]
    pub retry_max: Duration,
    /// How long one routing attempt owns its job (another replica takes over after).
    #[arg(id = "intake_route_lease", long = "intake-route-lease", env = "PINGAN_INTAKE_ROUTE_LEASE", default_value = "30s", value_parser = parse_duration)]
    pub route_lease: Duration,
    /// This bureau's id in exchanged incident documents (the issuing bureau of ExportIncident,
    /// the source bureau other bureaus link their imports to).
    #[arg(id = "intake_bureau_id", long = "intake-bureau-id", env = "PINGAN_INTAKE_BUREAU_ID", default_value = DEFAULT_BUREAU_ID)]
    pub bureau_id: String,
}

/// The bureau id when none is configured.
pub const DEFAULT_BUREAU_ID: &str = "pingan-bureau";

impl Default for IntakeSettings {
    fn default() -> Self {
        Self {
            duplicate_radius_m: 300.0,
            duplicate_window: Duration::from_secs(15 * 60),
            locate_deadline: Duration::from_secs(1),
            classify_deadline: Duration::from_secs(2),
            route_deadline: Duration::from_secs(3),
            jobs_poll_interval: Duration::from_secs(1),
            retry_initial: Duration::from_secs(2),
            retry_max: Duration::from_secs(60),
            route_lease: Duration::from_secs(30),
            bureau_id: DEFAULT_BUREAU_ID.to_owned(),
        }
    }
}

fn parse_radius(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(radius) if radius.is_finite() && (0.0..=MAX_LINK_RADIUS_M).contains(&radius) => {
            Ok(radius)
        }
        _ => Err(format!(
            "invalid radius {text:?}: expected metres from 0 to {MAX_LINK_RADIUS_M}, e.g. 300"
        )),
    }
}

impl IntakeSettings {
    /// The longest wait before routing attempt `attempts + 1` (the jobs backoff's ceiling).
    pub fn retry_after(&self, attempts: u32) -> Duration {
        pingan_platform::jobs::backoff_ceiling(self.retry_initial, self.retry_max, attempts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_backoff_doubles_and_is_capped() {
        let settings = IntakeSettings::default();
        assert_eq!(settings.retry_after(1), Duration::from_secs(2));
        assert_eq!(settings.retry_after(2), Duration::from_secs(4));
        assert_eq!(settings.retry_after(30), Duration::from_secs(60));
    }

    #[test]
    fn clap_defaults_are_the_compiled_defaults() {
        use clap::{FromArgMatches as _, Parser as _};
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            intake: IntakeSettings,
        }
        let parsed = Cli::try_parse_from(["x"]).unwrap();
        assert_eq!(parsed.intake, IntakeSettings::default());
        let command = <Cli as clap::CommandFactory>::command();
        let matches = command
            .try_get_matches_from(["x", "--intake-locate-deadline", "5s"])
            .unwrap();
        let parsed = IntakeSettings::from_arg_matches(&matches).unwrap();
        assert_eq!(parsed.locate_deadline, Duration::from_secs(5));
        assert!(Cli::try_parse_from(["x", "--intake-duplicate-radius-m", "-1"]).is_err());
        // The link step's lock cells are laid out for at most 10 km.
        assert!(Cli::try_parse_from(["x", "--intake-duplicate-radius-m", "10001"]).is_err());
        assert!(Cli::try_parse_from(["x", "--intake-duplicate-radius-m", "10000"]).is_ok());
    }
}
