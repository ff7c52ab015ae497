//! Triage's metrics: diversions each way, bounces, overdue transfers, classifications.

use std::sync::LazyLock;

use pingan_platform::metrics::register;
use prometheus::{IntCounterVec, IntGaugeVec, Opts};

use crate::domain::transfer::{Direction, Status};

/// Transfers created, by direction (`to_12345`, `from_12345`) and route.
pub static DIVERSIONS: LazyLock<Option<IntCounterVec>> = LazyLock::new(|| {
    register(IntCounterVec::new(
        Opts::new(
            "pingan_triage_diversions_total",
            "Requests moved between 110 and 12345, by direction and route",
        ),
        &["direction", "route"],
    ))
});

/// Bounces: 12345 sent a diversion back (`to_12345`), or we returned a ticket (`from_12345`).
pub static BOUNCES: LazyLock<Option<IntCounterVec>> = LazyLock::new(|| {
    register(IntCounterVec::new(
        Opts::new(
            "pingan_triage_bounces_total",
            "Transfers sent back, by the direction of the original transfer",
        ),
        &["direction"],
    ))
});

/// Open transfers past their 12345 deadline.
pub static OVERDUE: LazyLock<Option<IntGaugeVec>> = LazyLock::new(|| {
    register(IntGaugeVec::new(
        Opts::new(
            "pingan_triage_overdue_transfers",
            "Open transfers past their 12345 deadline",
        ),
        &["direction"],
    ))
});

/// Classifications by kind.
pub static CLASSIFICATIONS: LazyLock<Option<IntCounterVec>> = LazyLock::new(|| {
    register(IntCounterVec::new(
        Opts::new(
            "pingan_triage_classifications_total",
            "Calls classified, by kind",
        ),
        &["kind", "needs_confirmation"],
    ))
});

/// Delivery attempts to the other side that failed, by action.
pub static DELIVERY_FAILURES: LazyLock<Option<IntCounterVec>> = LazyLock::new(|| {
    register(IntCounterVec::new(
        Opts::new(
            "pingan_triage_delivery_failures_total",
            "Failed calls to 12345 or intake (retried), by action",
        ),
        &["action"],
    ))
});

/// Deliveries refused for good and dead-lettered, by destination (`intake`, `12345`) and
/// reason (the refusal's code, e.g. `invalid_argument`).
pub static DEAD_LETTERS: LazyLock<Option<IntCounterVec>> = LazyLock::new(|| {
    register(IntCounterVec::new(
        Opts::new(
            "pingan_triage_deliveries_dead_total",
            "Deliveries to 12345 or intake refused for good (dead-lettered, never retried)",
        ),
        &["destination", "reason"],
    ))
});

/// Transfers entering a status, by direction (`to_12345`, `from_12345`) and the status entered
/// (`pending` when recorded, `sent`, `accepted`, `handled`, `bounced`).
pub static TRANSFERS: LazyLock<Option<IntCounterVec>> = LazyLock::new(|| {
    register(IntCounterVec::new(
        Opts::new(
            "pingan_triage_transfers_total",
            "Transfers between 110 and 12345 entering a status, by direction and outcome",
        ),
        &["direction", "outcome"],
    ))
});

const DIRECTIONS: [Direction; 2] = [Direction::To12345, Direction::From12345];
const OUTCOMES: [Status; 5] = [
    Status::Pending,
    Status::Sent,
    Status::Accepted,
    Status::Handled,
    Status::Bounced,
];

fn direction_label(direction: Direction) -> String {
    direction.as_str().to_ascii_lowercase()
}

/// Registers the exchange series with every direction and outcome at zero (and the overdue
/// gauge at zero until the chores' first count), so dashboards see them from process start.
pub fn register_at_start() {
    for direction in DIRECTIONS {
        let direction = direction_label(direction);
        if let Some(counter) = TRANSFERS.as_ref() {
            for outcome in OUTCOMES {
                counter.with_label_values(&[
                    direction.as_str(),
                    &outcome.as_str().to_ascii_lowercase(),
                ]);
            }
        }
        if let Some(counter) = BOUNCES.as_ref() {
            counter.with_label_values(&[direction.as_str()]);
        }
        if let Some(gauge) = OVERDUE.as_ref() {
            gauge.with_label_values(&[direction.as_str()]);
        }
    }
}

/// Counts a transfer (of the stored `direction`) entering `status`.
pub fn count_transfer(direction: &str, status: Status) {
    if let (Some(counter), Some(direction)) = (TRANSFERS.as_ref(), Direction::parse(direction)) {
        counter
            .with_label_values(&[
                &direction_label(direction),
                &status.as_str().to_ascii_lowercase(),
            ])
            .inc();
    }
}

/// Increments `counter{labels}` when the metric exists.
pub fn inc(counter: &LazyLock<Option<IntCounterVec>>, labels: &[&str]) {
    if let Some(c) = counter.as_ref() {
        c.with_label_values(labels).inc();
    }
}
