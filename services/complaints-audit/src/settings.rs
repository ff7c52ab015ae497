//! Settings of the complaints-audit service: a clap `Args` group (flags and `PINGAN_…` env
//! variables) with the bureau's defaults, for the host's layered configuration.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use chrono::NaiveDate;
use clap::Args;
use pingan_platform::time::WorkCalendar;

/// Shortest audit retention accepted: six months.
pub const MIN_AUDIT_RETENTION_DAYS: u32 = 183;
/// Shortest background interval accepted.
const MIN_WORKER_INTERVAL: Duration = Duration::from_millis(50);

/// Deadlines, thresholds, retention and background work.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct Settings {
    /// Receipt deadline in hours (an investigator takes the complaint in hand).
    #[arg(
        id = "complaints_receipt_hours",
        long = "complaint-receipt-hours",
        env = "PINGAN_COMPLAINT_RECEIPT_HOURS",
        default_value_t = 24
    )]
    pub receipt_hours: u32,
    /// Preliminary check, in working days.
    #[arg(
        id = "complaints_preliminary_days",
        long = "complaint-preliminary-days",
        env = "PINGAN_COMPLAINT_PRELIMINARY_DAYS",
        default_value_t = 3
    )]
    pub preliminary_working_days: u32,
    /// Investigation concluded, in working days.
    #[arg(
        id = "complaints_investigation_days",
        long = "complaint-investigation-days",
        env = "PINGAN_COMPLAINT_INVESTIGATION_DAYS",
        default_value_t = 30
    )]
    pub investigation_working_days: u32,
    /// Bureau-local holidays on top of the official calendar: comma-separated dates.
    #[arg(
        id = "complaints_holidays",
        long = "complaint-holidays",
        env = "PINGAN_COMPLAINT_HOLIDAYS",
        default_value = "",
        value_parser = parse_holidays
    )]
    pub holidays: BTreeSet<NaiveDate>,
    /// Complaints in a period at which an officer is listed by the early warning (at least 1).
    #[arg(
        id = "complaints_early_warning_threshold",
        long = "early-warning-threshold",
        env = "PINGAN_EARLY_WARNING_THRESHOLD",
        default_value_t = 3
    )]
    pub early_warning_threshold: u32,
    /// How long audit rows are kept, in days (at least six months).
    #[arg(
        id = "complaints_audit_retention_days",
        long = "audit-retention-days",
        env = "PINGAN_AUDIT_RETENTION_DAYS",
        default_value_t = MIN_AUDIT_RETENTION_DAYS
    )]
    pub audit_retention_days: u32,
    /// How often the job worker looks for due fetches, and the first wait before a failed
    /// dispatch timeline fetch runs again (doubling after), in milliseconds.
    #[arg(
        id = "complaints_worker_interval",
        long = "complaints-worker-interval-ms",
        env = "PINGAN_COMPLAINTS_WORKER_INTERVAL_MS",
        default_value = "2000",
        value_parser = parse_millis
    )]
    pub worker_interval: Duration,
    /// Fetches of a dispatch timeline before its job becomes a dead letter (at least 1).
    #[arg(
        id = "complaints_fetch_max_attempts",
        long = "complaints-fetch-max-attempts",
        env = "PINGAN_COMPLAINTS_FETCH_MAX_ATTEMPTS",
        default_value_t = DEFAULT_FETCH_ATTEMPTS
    )]
    pub fetch_max_attempts: u32,
    /// File holding the Ed25519 key (32-byte seed, hex) that signs audit checkpoints; kept
    /// outside the database. Unset: no checkpoints.
    #[arg(
        id = "complaints_audit_checkpoint_key",
        long = "audit-checkpoint-key",
        env = "PINGAN_AUDIT_CHECKPOINT_KEY"
    )]
    pub checkpoint_key: Option<PathBuf>,
    /// Append-only file the signed checkpoints are written to, one JSON line each (a witness
    /// outside the database; put it on other storage than the database).
    #[arg(
        id = "complaints_audit_checkpoint_sink",
        long = "audit-checkpoint-sink",
        env = "PINGAN_AUDIT_CHECKPOINT_SINK"
    )]
    pub checkpoint_sink: Option<PathBuf>,
    /// Public keys (hex, comma-separated) of earlier checkpoint keys whose checkpoints still
    /// verify after a rotation (sink lines, checkpoints witnesses present); they sign nothing.
    #[arg(
        id = "complaints_audit_checkpoint_previous_keys",
        long = "audit-checkpoint-previous-public-keys",
        env = "PINGAN_AUDIT_CHECKPOINT_PREVIOUS_PUBLIC_KEYS",
        value_delimiter = ','
    )]
    pub checkpoint_previous_keys: Vec<String>,
    /// How often the chain head is signed and published, in milliseconds.
    #[arg(
        id = "complaints_audit_checkpoint_interval",
        long = "audit-checkpoint-interval-ms",
        env = "PINGAN_AUDIT_CHECKPOINT_INTERVAL_MS",
        default_value = "60000",
        value_parser = parse_millis
    )]
    pub checkpoint_interval: Duration,
    /// Deadline of one call to dispatch.
    #[arg(skip = Duration::from_secs(3))]
    pub dispatch_timeout: Duration,
    /// Longest wait between two fetches of a pending item.
    #[arg(skip = Duration::from_secs(300))]
    pub max_fetch_backoff: Duration,
}

/// Fetch attempts by default: with a 2 s start doubling to 5 min, about a day of retries.
const DEFAULT_FETCH_ATTEMPTS: u32 = 300;

impl Default for Settings {
    fn default() -> Self {
        Self {
            receipt_hours: 24,
            preliminary_working_days: 3,
            investigation_working_days: 30,
            holidays: BTreeSet::new(),
            early_warning_threshold: 3,
            audit_retention_days: MIN_AUDIT_RETENTION_DAYS,
            worker_interval: Duration::from_secs(2),
            fetch_max_attempts: DEFAULT_FETCH_ATTEMPTS,
            checkpoint_key: None,
            checkpoint_sink: None,
            checkpoint_previous_keys: Vec::new(),
            checkpoint_interval: Duration::from_secs(60),
            dispatch_timeout: Duration::from_secs(3),
            max_fetch_backoff: Duration::from_secs(300),
        }
    }
}

/// Comma-separated `YYYY-MM-DD` dates.
fn parse_holidays(text: &str) -> Result<BTreeSet<NaiveDate>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map_err(|_| format!("invalid holiday {s:?}: expected YYYY-MM-DD"))
        })
        .collect()
}

/// A whole number of milliseconds.
fn parse_millis(text: &str) -> Result<Duration, String> {
    text.trim()
        .parse::<u64>()
        .map(Duration::from_millis)
        .map_err(|_| format!("invalid milliseconds {text:?}"))
}

impl Settings {
    /// The settings raised to their floors: threshold 1, six months of audit, 50 ms interval,
    /// one fetch attempt.
    pub fn normalised(mut self) -> Self {
        self.early_warning_threshold = self.early_warning_threshold.max(1);
        self.audit_retention_days = self.audit_retention_days.max(MIN_AUDIT_RETENTION_DAYS);
        self.worker_interval = self.worker_interval.max(MIN_WORKER_INTERVAL);
        self.fetch_max_attempts = self.fetch_max_attempts.max(1);
        self.checkpoint_interval = self.checkpoint_interval.max(MIN_WORKER_INTERVAL);
        self
    }

    /// The bureau's working days: the official calendar plus the configured local holidays.
    pub fn calendar(&self) -> WorkCalendar {
        WorkCalendar::shipped().with_extra_holidays(self.holidays.iter().copied())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    /// Only the settings, as the host's command line parses them.
    #[derive(Debug, Parser)]
    struct FromEnv {
        #[command(flatten)]
        settings: Settings,
    }

    #[test]
    fn flags_parse_and_floors_apply() {
        let parsed = FromEnv::try_parse_from([
            "complaints-audit",
            "--complaint-holidays",
            "2025-10-01, 2025-10-02",
            "--early-warning-threshold",
            "0",
            "--audit-retention-days",
            "30",
            "--complaints-worker-interval-ms",
            "10",
        ])
        .map(|p| p.settings.normalised());
        let settings = parsed.unwrap();
        assert_eq!(settings.holidays.len(), 2);
        assert_eq!(settings.early_warning_threshold, 1);
        assert_eq!(settings.audit_retention_days, MIN_AUDIT_RETENTION_DAYS);
        assert_eq!(settings.worker_interval, MIN_WORKER_INTERVAL);
        assert!(FromEnv::try_parse_from(["c", "--complaint-holidays", "1 Oct"]).is_err());
    }

    #[test]
    fn clap_defaults_are_the_defaults() {
        // Only when no PINGAN_ variable of this service is set in the test environment.
        let ours = [
            "PINGAN_COMPLAINT",
            "PINGAN_EARLY_WARNING",
            "PINGAN_AUDIT_RETENTION",
        ];
        if std::env::vars().any(|(k, _)| ours.iter().any(|p| k.starts_with(p))) {
            return;
        }
        let parsed = FromEnv::try_parse_from(["complaints-audit"]).unwrap();
        assert_eq!(parsed.settings, Settings::default());
    }
}
