//! The command room's response clocks and intake's counters.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts};

use crate::domain::IncidentRecord;

/// Seconds from the call to each step, per priority: the 5-minute target is judged on these.
static RESPONSE_SECONDS: LazyLock<Option<HistogramVec>> = LazyLock::new(|| {
    pingan_platform::metrics::register(HistogramVec::new(
        HistogramOpts::new(
            "pingan_intake_response_seconds",
            "Seconds from the call to classified, unit assigned, en route and on scene",
        )
        .buckets(vec![
            5.0, 15.0, 30.0, 60.0, 120.0, 180.0, 300.0, 600.0, 900.0, 1800.0, 3600.0,
        ]),
        &["step", "priority"],
    ))
});

/// Calls by channel and outcome.
pub static CALLS: LazyLock<Option<IntCounterVec>> = LazyLock::new(|| {
    pingan_platform::metrics::register(IntCounterVec::new(
        Opts::new(
            "pingan_intake_calls_total",
            "Calls received, by channel and outcome",
        ),
        &["channel", "outcome"],
    ))
});

/// Routing steps deferred because a dependency did not answer.
pub static DEFERRED: LazyLock<Option<IntCounterVec>> = LazyLock::new(|| {
    pingan_platform::metrics::register(IntCounterVec::new(
        Opts::new(
            "pingan_intake_routing_deferred_total",
            "Routing steps deferred because a dependency was unavailable, by dependency",
        ),
        &["dependency"],
    ))
});

/// The steps a response clock is recorded for.
const STEPS: [&str; 4] = ["classified", "unit_assigned", "en_route", "on_scene"];

/// Creates the calls series of every channel and outcome, and the response clocks of every step
/// and priority, at zero: dashboards and `increase()` see them from process start.
pub fn register_at_start() {
    use pingan_proto::common::v1::{Channel, Priority};
    use pingan_proto::intake::v1::Outcome;
    if let Some(counter) = CALLS.as_ref() {
        for channel in (1..).map_while(|n| Channel::try_from(n).ok()) {
            for outcome in (1..).map_while(|n| Outcome::try_from(n).ok()) {
                counter.with_label_values(&[
                    channel.as_str_name().trim_start_matches("CHANNEL_"),
                    &outcome
                        .as_str_name()
                        .trim_start_matches("OUTCOME_")
                        .to_lowercase(),
                ]);
            }
        }
    }
    if let Some(histogram) = RESPONSE_SECONDS.as_ref() {
        for priority in (1..).map_while(|n| Priority::try_from(n).ok()) {
            for step in STEPS {
                histogram.with_label_values(&[
                    step,
                    pingan_catalogue::proto::priority_label(priority as i32),
                ]);
            }
        }
    }
}

/// Records a response clock (once per incident and step).
pub fn observe_clock(step: &str, incident: &IncidentRecord, at: DateTime<Utc>) {
    let seconds = (at - incident.received_at).num_milliseconds().max(0) as f64 / 1000.0;
    let priority = pingan_catalogue::proto::priority_label(incident.priority);
    if let Some(histogram) = RESPONSE_SECONDS.as_ref() {
        histogram
            .with_label_values(&[step, priority])
            .observe(seconds);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn calls_and_clocks_exist_from_the_start() {
        super::register_at_start();
        let text = pingan_platform::metrics::render();
        for series in [
            "pingan_intake_calls_total{channel=\"110\",outcome=\"dispatched\"} 0",
            "pingan_intake_response_seconds_count{priority=\"P1\",step=\"on_scene\"} 0",
        ] {
            assert!(text.contains(series), "{series} missing");
        }
    }
}
