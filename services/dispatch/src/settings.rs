//! Dispatch settings: compiled defaults, overridden like every setting of the host (the
//! `[dispatch]` table of the config file, `PINGAN_DISPATCH_*` environment variables,
//! `--dispatch-*` flags) through [`DispatchArgs`], which the host reads and `build` turns into
//! [`DispatchSettings`].

use std::time::Duration;

use pingan_proto::common::v1::Priority;
use pingan_proto::grid::v1::StationKind;

/// Response targets by priority and station kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseTargets {
    /// `[priority P1..P4][urban, rural, remote]`.
    table: [[Duration; 3]; 4],
}

impl Default for ResponseTargets {
    fn default() -> Self {
        let m = |minutes: u64| Duration::from_secs(minutes * 60);
        Self {
            table: [
                [m(5), m(15), m(30)],
                [m(10), m(20), m(45)],
                [m(30), m(60), m(90)],
                [m(60), m(120), m(180)],
            ],
        }
    }
}

impl ResponseTargets {
    /// The target for `priority` at a station of `kind` (unspecified kind counts as urban).
    pub fn target(&self, priority: Priority, kind: StationKind) -> Duration {
        let row = match priority {
            Priority::P1 | Priority::Unspecified => 0,
            Priority::P2 => 1,
            Priority::P3 => 2,
            Priority::P4 => 3,
        };
        let column = match kind {
            StationKind::Urban | StationKind::Unspecified => 0,
            StationKind::Rural => 1,
            StationKind::Remote => 2,
        };
        self.table[row][column]
    }

    /// Parses overrides such as `P1:urban=5m,P1:rural=15m,P2:remote=40m`.
    pub fn apply_overrides(&mut self, spec: &str) -> Result<(), String> {
        for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (key, value) = item
                .split_once('=')
                .ok_or_else(|| format!("{item}: want P<n>:<kind>=<duration>"))?;
            let (priority, kind) = key
                .split_once(':')
                .ok_or_else(|| format!("{item}: want P<n>:<kind>=<duration>"))?;
            let row = match priority.trim() {
                "P1" => 0,
                "P2" => 1,
                "P3" => 2,
                "P4" => 3,
                other => return Err(format!("unknown priority {other}")),
            };
            let column = match kind.trim() {
                "urban" => 0,
                "rural" => 1,
                "remote" => 2,
                other => return Err(format!("unknown station kind {other}")),
            };
            self.table[row][column] =
                pingan_platform::config::parse_duration(value.trim()).map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}

/// Travel speeds used for ETAs, metres per second, and the road-distance factor for ground units.
#[derive(Debug, Clone, PartialEq)]
pub struct Speeds {
    /// Officer on foot or bicycle.
    pub officer_mps: f64,
    /// Patrol car.
    pub car_mps: f64,
    /// Drone (straight line).
    pub drone_mps: f64,
    /// Auxiliary officer.
    pub auxiliary_mps: f64,
    /// Roads are longer than the straight line: ground distance = great-circle × this.
    pub road_factor: f64,
    /// Fixed time before a unit moves (drone take-off, car start).
    pub drone_launch: Duration,
    /// Fixed time before a ground unit moves.
    pub ground_start: Duration,
}

impl Default for Speeds {
    fn default() -> Self {
        Self {
            officer_mps: 3.0,
            car_mps: 11.0,
            drone_mps: 15.0,
            auxiliary_mps: 3.0,
            road_factor: 1.4,
            drone_launch: Duration::from_secs(60),
            ground_start: Duration::from_secs(30),
        }
    }
}

/// Everything the dispatch service tunes.
#[derive(Debug, Clone)]
pub struct DispatchSettings {
    /// A position older than this does not count (default 120 s).
    pub staleness: Duration,
    /// Positions older than this are forgotten altogether (PIPL: kept only as long as needed).
    pub position_retention: Duration,
    /// The largest radius any search may use (default 50 km).
    pub max_radius_m: f64,
    /// Radius of the automatic assignment's search.
    pub auto_radius_m: f64,
    /// An assignment not acknowledged within this is escalated (default 60 s).
    pub ack_timeout: Duration,
    /// Response targets by priority and station kind.
    pub response_targets: ResponseTargets,
    /// ETA model.
    pub speeds: Speeds,
    /// How often the job worker looks for due timers, and old positions are swept.
    pub tick_interval: Duration,
    /// Deadline of the call to grid-registry for a lookout.
    pub lookout_timeout: Duration,
    /// Events buffered per board subscriber before it is told it lagged.
    pub board_buffer: usize,
}

impl Default for DispatchSettings {
    fn default() -> Self {
        Self {
            staleness: Duration::from_secs(120),
            position_retention: Duration::from_secs(3600),
            max_radius_m: 50_000.0,
            auto_radius_m: 50_000.0,
            ack_timeout: Duration::from_secs(60),
            response_targets: ResponseTargets::default(),
            speeds: Speeds::default(),
            tick_interval: Duration::from_secs(1),
            lookout_timeout: Duration::from_secs(3),
            board_buffer: 1024,
        }
    }
}

/// The settings as flags and `PINGAN_DISPATCH_*` environment variables (the host's layered
/// configuration flattens this struct); unset ones keep the compiled defaults.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct DispatchArgs {
    /// A position older than this does not count.
    #[arg(id = "dispatch_staleness", long = "dispatch-staleness", env = "PINGAN_DISPATCH_STALENESS", value_parser = parse_duration)]
    pub staleness: Option<Duration>,
    /// Positions older than this are forgotten altogether.
    #[arg(id = "dispatch_position_retention", long = "dispatch-position-retention", env = "PINGAN_DISPATCH_POSITION_RETENTION", value_parser = parse_duration)]
    pub position_retention: Option<Duration>,
    /// An assignment not acknowledged within this is escalated.
    #[arg(id = "dispatch_ack_timeout", long = "dispatch-ack-timeout", env = "PINGAN_DISPATCH_ACK_TIMEOUT", value_parser = parse_duration)]
    pub ack_timeout: Option<Duration>,
    /// How often the job worker looks for due timers, and old positions are swept.
    #[arg(id = "dispatch_tick_interval", long = "dispatch-tick-interval", env = "PINGAN_DISPATCH_TICK_INTERVAL", value_parser = parse_duration)]
    pub tick_interval: Option<Duration>,
    /// The largest radius any search may use, metres.
    #[arg(id = "dispatch_max_radius_m", long = "dispatch-max-radius-m", env = "PINGAN_DISPATCH_MAX_RADIUS_M", value_parser = parse_radius)]
    pub max_radius_m: Option<f64>,
    /// Response target overrides such as `P1:urban=5m,P2:remote=40m`.
    #[arg(id = "dispatch_response_targets", long = "dispatch-response-targets", env = "PINGAN_DISPATCH_RESPONSE_TARGETS", value_parser = parse_targets)]
    pub response_targets: Option<ResponseTargets>,
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    pingan_platform::config::parse_duration(text)
}

fn parse_radius(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(radius) if radius > 0.0 && radius.is_finite() => Ok(radius),
        _ => Err(format!("{text}: want a positive number of metres")),
    }
}

fn parse_targets(text: &str) -> Result<ResponseTargets, String> {
    let mut targets = ResponseTargets::default();
    targets.apply_overrides(text)?;
    Ok(targets)
}

impl DispatchSettings {
    /// Defaults overridden by `args`.
    pub fn from_args(args: &DispatchArgs) -> Self {
        let mut settings = Self::default();
        let durations = [
            (args.staleness, &mut settings.staleness),
            (args.position_retention, &mut settings.position_retention),
            (args.ack_timeout, &mut settings.ack_timeout),
            (args.tick_interval, &mut settings.tick_interval),
        ];
        for (value, slot) in durations {
            if let Some(value) = value {
                *slot = value;
            }
        }
        if let Some(radius) = args.max_radius_m {
            settings.max_radius_m = radius;
            settings.auto_radius_m = settings.auto_radius_m.min(radius);
        }
        if let Some(targets) = &args.response_targets {
            settings.response_targets = targets.clone();
        }
        settings
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Only this service's arguments, as the host flattens them.
    #[derive(Debug, clap::Parser)]
    struct EnvOnly {
        #[command(flatten)]
        args: DispatchArgs,
    }

    #[test]
    fn p1_targets_follow_station_kind() {
        let targets = ResponseTargets::default();
        assert_eq!(
            targets.target(Priority::P1, StationKind::Urban),
            Duration::from_secs(300)
        );
        assert_eq!(
            targets.target(Priority::P1, StationKind::Rural),
            Duration::from_secs(900)
        );
        assert_eq!(
            targets.target(Priority::P1, StationKind::Unspecified),
            Duration::from_secs(300)
        );
    }

    #[test]
    fn arguments_override_the_defaults() {
        use clap::Parser;
        let parsed = EnvOnly::try_parse_from([
            "dispatch",
            "--dispatch-ack-timeout=90s",
            "--dispatch-max-radius-m=1000",
            "--dispatch-response-targets=P1:urban=4m",
        ])
        .expect("valid");
        let settings = DispatchSettings::from_args(&parsed.args);
        assert_eq!(settings.ack_timeout, Duration::from_secs(90));
        assert_eq!(settings.staleness, Duration::from_secs(120));
        assert!((settings.auto_radius_m - 1000.0).abs() < 1e-9);
        assert_eq!(
            settings
                .response_targets
                .target(Priority::P1, StationKind::Urban),
            Duration::from_secs(240)
        );
        assert!(EnvOnly::try_parse_from(["dispatch", "--dispatch-max-radius-m=-1"]).is_err());
    }

    #[test]
    fn the_host_reads_them_by_their_prefixed_ids() {
        use pingan_platform::service::{ServiceConfig, SettingsSpec};
        let spec = SettingsSpec::of::<DispatchArgs>(crate::SHORT_NAME);
        let command = spec.augment(clap::Command::new("pingan"));
        assert!(
            command
                .get_arguments()
                .all(|arg| arg.get_id().as_str().starts_with("dispatch_"))
        );
        let matches = command
            .try_get_matches_from(["pingan", "--dispatch-tick-interval", "250ms"])
            .expect("valid");
        let mut config = ServiceConfig::default();
        let defaults = DispatchSettings::from_args(&config.get_or_default::<DispatchArgs>());
        assert_eq!(defaults.tick_interval, Duration::from_secs(1));
        spec.read_into(&matches, &mut config).expect("read");
        let settings = DispatchSettings::from_args(&config.get_or_default::<DispatchArgs>());
        assert_eq!(settings.tick_interval, Duration::from_millis(250));
        assert_eq!(settings.ack_timeout, Duration::from_secs(60));
    }

    #[test]
    fn targets_are_configurable() {
        let mut targets = ResponseTargets::default();
        targets
            .apply_overrides("P1:urban=4m, P2:remote=1h")
            .expect("valid");
        assert_eq!(
            targets.target(Priority::P1, StationKind::Urban),
            Duration::from_secs(240)
        );
        assert_eq!(
            targets.target(Priority::P2, StationKind::Remote),
            Duration::from_secs(3600)
        );
        assert!(targets.apply_overrides("P9:urban=1m").is_err());
        assert!(targets.apply_overrides("P1:moon=1m").is_err());
    }
}
