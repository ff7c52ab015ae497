//! Metrics of the registry's service requests (served on /metrics with the platform's): counted
//! by type and the state entered, and a gauge of OPEN requests past their deadline. Every label
//! pair exists from the start (zeros), so dashboards and rates see each series at once.

use std::collections::HashMap;
use std::sync::LazyLock;

use pingan_platform::metrics::register;
use pingan_proto::grid::v1::ServiceRequestType;
use prometheus::{IntCounterVec, IntGaugeVec, Opts};

/// The states counted: opened, submitted, and closed by outcome.
pub const STATES: [&str; 5] = ["open", "submitted", "done", "rejected", "withdrawn"];

static SERVICE_REQUESTS: LazyLock<Option<IntCounterVec>> = LazyLock::new(|| {
    register(IntCounterVec::new(
        Opts::new(
            "pingan_grid_service_requests_total",
            "Service requests entering a state (open, submitted, done, rejected, withdrawn), by type",
        ),
        &["type", "status"],
    ))
});

static OVERDUE: LazyLock<Option<IntGaugeVec>> = LazyLock::new(|| {
    register(IntGaugeVec::new(
        Opts::new(
            "pingan_grid_service_requests_overdue",
            "Service requests still open past their deadline, by type",
        ),
        &["type"],
    ))
});

/// Every type's label: its proto name without the prefix, e.g. INFORMATION_INQUIRY.
fn types() -> impl Iterator<Item = (i32, &'static str)> {
    (1..)
        .map_while(|n| ServiceRequestType::try_from(n).ok())
        .map(|t| (t as i32, label(t as i32)))
}

fn label(kind: i32) -> &'static str {
    ServiceRequestType::try_from(kind)
        .ok()
        .and_then(|t| t.as_str_name().strip_prefix("SERVICE_REQUEST_TYPE_"))
        .unwrap_or("UNKNOWN")
}

/// Registers the metrics with every series at zero.
pub fn register_metrics() {
    for (_, kind) in types() {
        if let Some(counter) = SERVICE_REQUESTS.as_ref() {
            for state in STATES {
                counter.with_label_values(&[kind, state]).inc_by(0);
            }
        }
        if let Some(gauge) = OVERDUE.as_ref() {
            gauge.with_label_values(&[kind]).set(0);
        }
    }
}

/// One request of `kind` entered `state`.
pub fn counted(kind: i32, state: &str) {
    if let Some(counter) = SERVICE_REQUESTS.as_ref() {
        counter.with_label_values(&[label(kind), state]).inc();
    }
}

/// Overdue requests by type (types absent have none).
pub fn set_overdue(counts: &HashMap<i32, i64>) {
    if let Some(gauge) = OVERDUE.as_ref() {
        for (n, kind) in types() {
            gauge
                .with_label_values(&[kind])
                .set(counts.get(&n).copied().unwrap_or(0));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_series_exists_from_the_start() {
        register_metrics();
        let text = pingan_platform::metrics::render();
        for kind in ["NO_CRIMINAL_RECORD_CERTIFICATE", "INFORMATION_INQUIRY"] {
            for state in STATES {
                let series = format!(
                    "pingan_grid_service_requests_total{{status=\"{state}\",type=\"{kind}\"}}"
                );
                assert!(text.contains(&series), "{series} missing");
            }
            let gauge = format!("pingan_grid_service_requests_overdue{{type=\"{kind}\"}} 0");
            assert!(text.contains(&gauge), "{gauge} missing");
        }
    }
}
