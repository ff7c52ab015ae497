//! Metrics of case follow-up (served on /metrics with the platform's).

use std::sync::LazyLock;

use pingan_proto::followup::v1::RevisitReason;
use prometheus::{Histogram, HistogramOpts, IntCounterVec, Opts};

static REVISITS_SCHEDULED: LazyLock<Option<IntCounterVec>> = LazyLock::new(|| {
    pingan_platform::metrics::register(IntCounterVec::new(
        Opts::new(
            "pingan_followup_revisits_scheduled_total",
            "Revisits scheduled, by reason",
        ),
        &["reason"],
    ))
});

static REVISITS_CONCLUDED: LazyLock<Option<IntCounterVec>> = LazyLock::new(|| {
    pingan_platform::metrics::register(IntCounterVec::new(
        Opts::new(
            "pingan_followup_revisits_concluded_total",
            "Revisits concluded, by outcome and punctuality",
        ),
        &["status", "on_time"],
    ))
});

static REGISTRY_LOOKUPS: LazyLock<Option<IntCounterVec>> = LazyLock::new(|| {
    pingan_platform::metrics::register(IntCounterVec::new(
        Opts::new(
            "pingan_followup_registry_lookups_total",
            "Owner lookups of found ID cards in grid-registry, by result",
        ),
        &["result"],
    ))
});

static TIME_TO_CONTACT: LazyLock<Option<Histogram>> = LazyLock::new(|| {
    pingan_platform::metrics::register(Histogram::with_opts(
        HistogramOpts::new(
            "pingan_followup_time_to_contact_seconds",
            "Time from registration of a found item to its owner contacted (target 600 s)",
        )
        .buckets(vec![
            60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 14400.0, 86400.0,
        ]),
    ))
});

static REVISITS: LazyLock<Option<IntCounterVec>> = LazyLock::new(|| {
    pingan_platform::metrics::register(IntCounterVec::new(
        Opts::new(
            "pingan_followup_revisits_total",
            "Revisits concluded, by result: done on time, done late, or unreachable",
        ),
        &["result"],
    ))
});

static MEDIATIONS: LazyLock<Option<IntCounterVec>> = LazyLock::new(|| {
    pingan_platform::metrics::register(IntCounterVec::new(
        Opts::new(
            "pingan_followup_mediations_total",
            "Mediations opened, and concluded agreed or failed",
        ),
        &["outcome"],
    ))
});

const REVISIT_RESULTS: [&str; 3] = ["on_time", "late", "unreachable"];
const MEDIATION_OUTCOMES: [&str; 3] = ["opened", "agreed", "failed"];

/// Registers the report's series with every label value at zero, so dashboards see them from
/// process start.
pub(crate) fn register_at_start() {
    if let Some(counter) = REVISITS.as_ref() {
        for result in REVISIT_RESULTS {
            counter.with_label_values(&[result]);
        }
    }
    if let Some(counter) = MEDIATIONS.as_ref() {
        for outcome in MEDIATION_OUTCOMES {
            counter.with_label_values(&[outcome]);
        }
    }
}

/// Counts a mediation opened (`opened`) or concluded (`agreed`, `failed`).
pub(crate) fn mediation(outcome: &'static str) {
    if let Some(counter) = MEDIATIONS.as_ref() {
        counter.with_label_values(&[outcome]).inc();
    }
}

pub(crate) fn revisit_scheduled(reason: i32) {
    let reason = RevisitReason::try_from(reason)
        .map(|r| r.as_str_name())
        .unwrap_or("UNKNOWN");
    if let Some(counter) = REVISITS_SCHEDULED.as_ref() {
        counter.with_label_values(&[reason]).inc();
    }
}

pub(crate) fn revisit_concluded(status: &str, on_time: bool) {
    if let Some(counter) = REVISITS_CONCLUDED.as_ref() {
        counter
            .with_label_values(&[status, if on_time { "true" } else { "false" }])
            .inc();
    }
    let result = match (status, on_time) {
        ("REVISIT_STATUS_COMPLETED", true) => "on_time",
        ("REVISIT_STATUS_COMPLETED", false) => "late",
        _ => "unreachable",
    };
    if let Some(counter) = REVISITS.as_ref() {
        counter.with_label_values(&[result]).inc();
    }
}

pub(crate) fn registry_lookup(result: &str) {
    if let Some(counter) = REGISTRY_LOOKUPS.as_ref() {
        counter.with_label_values(&[result]).inc();
    }
}

pub(crate) fn time_to_contact(seconds: f64) {
    if let Some(histogram) = TIME_TO_CONTACT.as_ref() {
        histogram.observe(seconds);
    }
}
