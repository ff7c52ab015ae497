//! The jobs' Prometheus series, by service and kind.

use std::sync::LazyLock;

use prometheus::{GaugeVec, IntCounterVec, IntGaugeVec};

use crate::metrics::register;

fn counter(name: &str, help: &str) -> Option<IntCounterVec> {
    register(IntCounterVec::new(
        prometheus::Opts::new(name, help),
        &["service", "kind"],
    ))
}

static ENQUEUED: LazyLock<Option<IntCounterVec>> =
    LazyLock::new(|| counter("pingan_jobs_enqueued_total", "Jobs enqueued"));
static SUCCEEDED: LazyLock<Option<IntCounterVec>> =
    LazyLock::new(|| counter("pingan_jobs_succeeded_total", "Job runs that finished"));
static RETRIED: LazyLock<Option<IntCounterVec>> = LazyLock::new(|| {
    counter(
        "pingan_jobs_retried_total",
        "Job runs that failed and will be retried",
    )
});
static DEAD: LazyLock<Option<IntCounterVec>> = LazyLock::new(|| {
    counter(
        "pingan_jobs_dead_total",
        "Jobs that became dead letters (permanent error or attempts exhausted)",
    )
});
static PENDING: LazyLock<Option<IntGaugeVec>> = LazyLock::new(|| {
    register(IntGaugeVec::new(
        prometheus::Opts::new(
            "pingan_jobs_pending",
            "Jobs not finished (pending or running)",
        ),
        &["service"],
    ))
});
static OLDEST: LazyLock<Option<GaugeVec>> = LazyLock::new(|| {
    register(GaugeVec::new(
        prometheus::Opts::new(
            "pingan_jobs_oldest_pending_seconds",
            "Age of the oldest job not finished",
        ),
        &["service"],
    ))
});

/// What happened to one job (or one run of it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Counted {
    Enqueued,
    Succeeded,
    Retried,
    Dead,
}

/// Creates every series of `service`'s `kinds` at zero, so they exist from process start.
pub(crate) fn register_service(service: &str, kinds: &[String]) {
    for kind in kinds {
        for family in [&ENQUEUED, &SUCCEEDED, &RETRIED, &DEAD] {
            if let Some(family) = family.as_ref() {
                family.with_label_values(&[service, kind]).inc_by(0);
            }
        }
    }
    set_backlog(service, 0, 0.0);
}

pub(crate) fn count(what: Counted, service: &str, kind: &str) {
    let family = match what {
        Counted::Enqueued => &ENQUEUED,
        Counted::Succeeded => &SUCCEEDED,
        Counted::Retried => &RETRIED,
        Counted::Dead => &DEAD,
    };
    if let Some(family) = family.as_ref() {
        family.with_label_values(&[service, kind]).inc();
    }
}

pub(crate) fn set_backlog(service: &str, pending: i64, oldest_seconds: f64) {
    if let Some(gauge) = PENDING.as_ref() {
        gauge.with_label_values(&[service]).set(pending);
    }
    if let Some(gauge) = OLDEST.as_ref() {
        gauge.with_label_values(&[service]).set(oldest_seconds);
    }
}
