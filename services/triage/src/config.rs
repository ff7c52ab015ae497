//! Triage's settings: where the rules and the model live, which 12345 gateway to use, how deliveries (platform
//! jobs) retry.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use pingan_platform::config::parse_duration;

use crate::hotline::simulator::HotlineSimulator;

/// Settings of the triage service (`pingan serve triage`, `pingan dev`).
#[derive(Debug, Clone, Args)]
pub struct TriageConfig {
    /// Rules file (JSON); the rules shipped with the service when unset. Reloaded on change.
    #[arg(long = "triage-rules", env = "PINGAN_TRIAGE_RULES")]
    pub rules_path: Option<PathBuf>,
    /// Model file (JSON, written by `pingan triage train`); the model shipped with the service
    /// when unset. Reloaded with the rules (ReloadRules, or on change); an invalid file is refused
    /// and the model in force stays.
    #[arg(
        id = "triage_model",
        long = "triage-model",
        env = "PINGAN_TRIAGE_MODEL"
    )]
    pub model_path: Option<PathBuf>,
    /// Who answers `Classify` (and every classification triage makes): `model` (the trained
    /// model under the rules' safety layer, the default) or `rules` (the rules' own decision).
    #[arg(
        id = "triage_classifier",
        long = "triage-classifier",
        env = "PINGAN_TRIAGE_CLASSIFIER",
        default_value = "model",
        value_parser = ["model", "rules"]
    )]
    pub classifier: String,
    /// How often the rules and model files are checked for changes.
    #[arg(long = "triage-rules-poll", env = "PINGAN_TRIAGE_RULES_POLL", default_value = "5s", value_parser = parse_duration)]
    pub rules_poll: Duration,
    /// The 12345 gateway: `simulator` (built in, in process) or the URL of a
    /// `pingan.hotline.v1.HotlineGatewayService`.
    #[arg(
        long = "hotline-gateway",
        env = "PINGAN_HOTLINE_GATEWAY",
        default_value = "simulator"
    )]
    pub hotline_gateway: String,
    /// Deadline of one call to 12345 or intake.
    #[arg(long = "hotline-timeout", env = "PINGAN_HOTLINE_TIMEOUT", default_value = "5s", value_parser = parse_duration)]
    pub call_timeout: Duration,
    /// How often the delivery jobs and the chores look for work when nothing wakes them.
    #[arg(long = "triage-delivery-poll", env = "PINGAN_TRIAGE_DELIVERY_POLL", default_value = "1s", value_parser = parse_duration)]
    pub delivery_poll: Duration,
    /// First retry delay of a failed delivery (doubles per attempt, with the platform's jitter).
    #[arg(long = "triage-retry-initial", env = "PINGAN_TRIAGE_RETRY_INITIAL", default_value = "1s", value_parser = parse_duration)]
    pub retry_initial: Duration,
    /// Longest retry delay.
    #[arg(long = "triage-retry-max", env = "PINGAN_TRIAGE_RETRY_MAX", default_value = "60s", value_parser = parse_duration)]
    pub retry_max: Duration,
    /// Attempts of a delivery before it becomes a dead letter (listed by ListDeadLetters); at
    /// the 60 s cap, the default keeps trying for about a day.
    #[arg(
        long = "triage-retry-attempts",
        env = "PINGAN_TRIAGE_RETRY_ATTEMPTS",
        default_value_t = 2000
    )]
    pub retry_attempts: u32,
    /// Time limit given to an inbound 12345 ticket that arrives without one.
    #[arg(long = "triage-inbound-time-limit", env = "PINGAN_TRIAGE_INBOUND_TIME_LIMIT", default_value = "24h", value_parser = parse_duration)]
    pub inbound_time_limit: Duration,
    /// Simulator only: 12345 is down (every call fails) at start.
    #[arg(long = "hotline-sim-down", env = "PINGAN_HOTLINE_SIM_DOWN")]
    pub sim_down: bool,
    /// Simulator only: latency of every call.
    #[arg(long = "hotline-sim-latency", env = "PINGAN_HOTLINE_SIM_LATENCY", default_value = "0s", value_parser = parse_duration)]
    pub sim_latency: Duration,
    /// Simulator only: categories whose tickets 12345 bounces back (`*` for all).
    #[arg(
        long = "hotline-sim-bounce",
        env = "PINGAN_HOTLINE_SIM_BOUNCE",
        value_delimiter = ','
    )]
    pub sim_bounce: Vec<String>,
    /// A simulator handle shared with the caller (tests drive it); built from the flags when unset.
    #[arg(skip)]
    pub simulator: Option<HotlineSimulator>,
}

impl Default for TriageConfig {
    fn default() -> Self {
        Self {
            rules_path: None,
            model_path: None,
            classifier: "model".into(),
            rules_poll: Duration::from_secs(5),
            hotline_gateway: "simulator".into(),
            call_timeout: Duration::from_secs(5),
            delivery_poll: Duration::from_secs(1),
            retry_initial: Duration::from_secs(1),
            retry_max: Duration::from_secs(60),
            retry_attempts: 2000,
            inbound_time_limit: Duration::from_secs(24 * 3600),
            sim_down: false,
            sim_latency: Duration::ZERO,
            sim_bounce: Vec::new(),
            simulator: None,
        }
    }
}
