//! Settings of the complaints-audit service, read once from the environment (`PINGAN_…`)
//! with the bureau's defaults.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::NaiveDate;

/// Shortest audit retention accepted: six months.
pub const MIN_AUDIT_RETENTION_DAYS: u32 = 183;

/// Deadlines, thresholds, retention and background work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Receipt deadline (an investigator takes the complaint in hand).
    pub receipt_hours: u32,
    /// Preliminary check, in working days.
    pub preliminary_working_days: u32,
    /// Investigation concluded, in working days.
    pub investigation_working_days: u32,
    /// Public holidays (no working day), besides Saturdays and Sundays.
    pub holidays: BTreeSet<NaiveDate>,
    /// Complaints in a period at which an officer is listed by the early warning.
    pub early_warning_threshold: u32,
    /// How long audit rows are kept (at least six months).
    pub audit_retention_days: u32,
    /// How often pending evidence is retried and retention applied.
    pub worker_interval: Duration,
    /// Deadline of one call to dispatch.
    pub dispatch_timeout: Duration,
    /// Longest wait between two fetches of a pending item.
    pub max_fetch_backoff: Duration,
}

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
            dispatch_timeout: Duration::from_secs(3),
            max_fetch_backoff: Duration::from_secs(300),
        }
    }
}

fn env_u32(name: &str, default: u32) -> u32 {
    match std::env::var(name) {
        Ok(value) => value.trim().parse().unwrap_or_else(|_| {
            tracing::warn!(variable = name, "not a whole number; default used");
            default
        }),
        Err(_) => default,
    }
}

impl Settings {
    /// The defaults overridden by `PINGAN_COMPLAINT_RECEIPT_HOURS`,
    /// `PINGAN_COMPLAINT_PRELIMINARY_DAYS`, `PINGAN_COMPLAINT_INVESTIGATION_DAYS`,
    /// `PINGAN_COMPLAINT_HOLIDAYS` (comma-separated dates), `PINGAN_EARLY_WARNING_THRESHOLD`,
    /// `PINGAN_AUDIT_RETENTION_DAYS` (at least 183) and `PINGAN_COMPLAINTS_WORKER_INTERVAL_MS`.
    pub fn from_env() -> Self {
        let defaults = Self::default();
        let holidays = std::env::var("PINGAN_COMPLAINT_HOLIDAYS")
            .unwrap_or_default()
            .split(',')
            .filter(|s| !s.trim().is_empty())
            .filter_map(|s| NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok())
            .collect();
        let retention = env_u32("PINGAN_AUDIT_RETENTION_DAYS", defaults.audit_retention_days);
        Self {
            receipt_hours: env_u32("PINGAN_COMPLAINT_RECEIPT_HOURS", defaults.receipt_hours),
            preliminary_working_days: env_u32(
                "PINGAN_COMPLAINT_PRELIMINARY_DAYS",
                defaults.preliminary_working_days,
            ),
            investigation_working_days: env_u32(
                "PINGAN_COMPLAINT_INVESTIGATION_DAYS",
                defaults.investigation_working_days,
            ),
            holidays,
            early_warning_threshold: env_u32(
                "PINGAN_EARLY_WARNING_THRESHOLD",
                defaults.early_warning_threshold,
            )
            .max(1),
            audit_retention_days: retention.max(MIN_AUDIT_RETENTION_DAYS),
            worker_interval: Duration::from_millis(u64::from(
                env_u32("PINGAN_COMPLAINTS_WORKER_INTERVAL_MS", 2000).max(50),
            )),
            ..defaults
        }
    }
}
