//! Settings of case follow-up (`pingan serve case-followup`, `pingan dev`); the defaults are
//! what the service always used.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use pingan_platform::config::parse_duration;

/// Settings of the case-followup service.
#[derive(Debug, Clone, PartialEq, Args)]
pub struct FollowupConfig {
    /// Revisit policy file (JSON); the policy shipped with the service when unset.
    #[arg(
        id = "followup_revisit_policy",
        long = "followup-revisit-policy",
        env = "PINGAN_FOLLOWUP_REVISIT_POLICY"
    )]
    pub revisit_policy: Option<PathBuf>,
    /// Deadline of one owner lookup in grid-registry.
    #[arg(id = "followup_lookup_timeout", long = "followup-lookup-timeout", env = "PINGAN_FOLLOWUP_LOOKUP_TIMEOUT", default_value = "3s", value_parser = parse_duration)]
    pub lookup_timeout: Duration,
    /// How often the owner lookup jobs are looked at when nothing wakes their worker.
    #[arg(id = "followup_lookup_poll", long = "followup-lookup-poll", env = "PINGAN_FOLLOWUP_LOOKUP_POLL", default_value = "1s", value_parser = parse_duration)]
    pub lookup_poll: Duration,
    /// Owner lookup jobs claimed per round.
    #[arg(
        id = "followup_lookup_batch",
        long = "followup-lookup-batch",
        env = "PINGAN_FOLLOWUP_LOOKUP_BATCH",
        default_value_t = 20
    )]
    pub lookup_batch: u32,
    /// Wait before the second lookup attempt (doubles per attempt).
    #[arg(id = "followup_lookup_retry_initial", long = "followup-lookup-retry-initial", env = "PINGAN_FOLLOWUP_LOOKUP_RETRY_INITIAL", default_value = "15s", value_parser = parse_duration)]
    pub lookup_retry_initial: Duration,
    /// Longest wait between lookup attempts.
    #[arg(id = "followup_lookup_retry_max", long = "followup-lookup-retry-max", env = "PINGAN_FOLLOWUP_LOOKUP_RETRY_MAX", default_value = "10m", value_parser = parse_duration)]
    pub lookup_retry_max: Duration,
    /// Attempts of one owner lookup before it becomes a dead letter (the item stays PENDING).
    #[arg(
        id = "followup_lookup_attempts",
        long = "followup-lookup-attempts",
        env = "PINGAN_FOLLOWUP_LOOKUP_ATTEMPTS",
        default_value_t = 50
    )]
    pub lookup_attempts: u32,
    /// Page size of listings when the request gives none.
    #[arg(
        id = "followup_default_page",
        long = "followup-default-page",
        env = "PINGAN_FOLLOWUP_DEFAULT_PAGE",
        default_value_t = 50
    )]
    pub default_page: i64,
    /// Largest page size of listings.
    #[arg(
        id = "followup_max_page",
        long = "followup-max-page",
        env = "PINGAN_FOLLOWUP_MAX_PAGE",
        default_value_t = 500
    )]
    pub max_page: i64,
}

impl Default for FollowupConfig {
    fn default() -> Self {
        Self {
            revisit_policy: None,
            lookup_timeout: Duration::from_secs(3),
            lookup_poll: Duration::from_secs(1),
            lookup_batch: 20,
            lookup_retry_initial: Duration::from_secs(15),
            lookup_retry_max: Duration::from_secs(600),
            lookup_attempts: 50,
            default_page: 50,
            max_page: 500,
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        config: FollowupConfig,
    }

    #[test]
    fn defaults_are_the_same_through_clap() {
        let cli = Cli::try_parse_from(["case-followup"]).expect("parsed");
        assert_eq!(cli.config, FollowupConfig::default());
        let cli = Cli::try_parse_from(["case-followup", "--followup-lookup-retry-max", "5m"])
            .expect("parsed");
        assert_eq!(cli.config.lookup_retry_max, Duration::from_secs(300));
    }
}
