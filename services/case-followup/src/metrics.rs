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
