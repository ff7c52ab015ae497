//! Intake's tunables: duplicate-call matching, the deadline of every hop, and routing retries.
//! Defaults are compiled in; `PINGAN_INTAKE_*` environment variables override them.

use std::time::Duration;

use pingan_platform::config::parse_duration;

/// Settings of one intake instance.
#[derive(Debug, Clone, PartialEq)]
pub struct IntakeSettings {
    /// A call this close to an open incident may be the same event (metres).
    pub duplicate_radius_m: f64,
    /// ...if the open incident's first call came in at most this long before.
    pub duplicate_window: Duration,
    /// Deadline of LocateGrid.
    pub locate_deadline: Duration,
    /// Deadline of Classify.
    pub classify_deadline: Duration,
    /// Deadline of OpenDispatch and DivertTo12345.
    pub route_deadline: Duration,
    /// How often the job worker looks for routing jobs due (it is woken at once otherwise).
    pub jobs_poll_interval: Duration,
    /// First wait (on the service clock) before routing a deferred incident again; doubles
    /// (with jitter: the platform's jobs backoff).
    pub retry_initial: Duration,
    /// Longest wait between two routing attempts.
    pub retry_max: Duration,
    /// How long one routing attempt owns its job (another replica takes over after).
    pub route_lease: Duration,
}

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
        }
    }
}

impl IntakeSettings {
    /// Defaults overridden by `PINGAN_INTAKE_DUPLICATE_RADIUS_M`, `PINGAN_INTAKE_DUPLICATE_WINDOW`,
    /// `PINGAN_INTAKE_LOCATE_DEADLINE`, `PINGAN_INTAKE_CLASSIFY_DEADLINE`,
    /// `PINGAN_INTAKE_ROUTE_DEADLINE`, `PINGAN_INTAKE_JOBS_POLL_INTERVAL`,
    /// `PINGAN_INTAKE_RETRY_INITIAL`, `PINGAN_INTAKE_RETRY_MAX`; invalid values are logged and ignored.
    pub fn from_env() -> Self {
        let mut settings = Self::default();
        if let Some(radius) = env("DUPLICATE_RADIUS_M").and_then(|v| v.parse::<f64>().ok())
            && radius.is_finite()
            && radius >= 0.0
        {
            settings.duplicate_radius_m = radius;
        }
        let durations: [(&str, &mut Duration); 7] = [
            ("DUPLICATE_WINDOW", &mut settings.duplicate_window),
            ("LOCATE_DEADLINE", &mut settings.locate_deadline),
            ("CLASSIFY_DEADLINE", &mut settings.classify_deadline),
            ("ROUTE_DEADLINE", &mut settings.route_deadline),
            ("JOBS_POLL_INTERVAL", &mut settings.jobs_poll_interval),
            ("RETRY_INITIAL", &mut settings.retry_initial),
            ("RETRY_MAX", &mut settings.retry_max),
        ];
        for (name, slot) in durations {
            if let Some(text) = env(name) {
                match parse_duration(&text) {
                    Ok(value) => *slot = value,
                    Err(err) => tracing::warn!(setting = name, error = %err, "ignored"),
                }
            }
        }
        settings
    }

    /// The longest wait before routing attempt `attempts + 1` (the jobs backoff's ceiling).
    pub fn retry_after(&self, attempts: u32) -> Duration {
        pingan_platform::jobs::backoff_ceiling(self.retry_initial, self.retry_max, attempts)
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(format!("PINGAN_INTAKE_{name}")).ok()
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
}
