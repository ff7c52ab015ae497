//! The units gauge of the command-room board (units by station and status, counted from the
//! store), and the per-station series of the breach counter and the ring-to-on-scene histogram
//! created at zero for every station with a unit: rates and `increase()` then count a station's
//! first breach instead of starting from it. Before any station has a unit (a brand-new system)
//! the gauge still has a zero series per status, without a station label, so the boards and alerts
//! read zero instead of nothing; they go once the first station is counted.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use pingan_platform::ApiError;
use pingan_platform::metrics::register;
use pingan_platform::service::Worker;
use pingan_proto::dispatch::v1::UnitStatus;
use prometheus::{IntGaugeVec, Opts};

use crate::app::{Runtime, analysis, timers};

/// How often the units are recounted.
const UNITS_GAUGE_EVERY: Duration = Duration::from_secs(5);

static UNITS: LazyLock<Option<IntGaugeVec>> = LazyLock::new(|| {
    register(IntGaugeVec::new(
        Opts::new(
            "pingan_dispatch_units",
            "Registered units by station and status (available, assigned, en_route, on_scene, busy, off_duty)",
        ),
        &["station", "status"],
    ))
});

/// Stations already given their series (a station keeps them, at zero, once its units go).
static STATIONS: LazyLock<Mutex<BTreeSet<String>>> = LazyLock::new(Mutex::default);

/// Every status a unit can be in, as labels.
fn statuses() -> impl Iterator<Item = (UnitStatus, String)> {
    (1..)
        .map_while(|n| UnitStatus::try_from(n).ok())
        .map(|s| (s, status_label(s)))
}

fn status_label(status: UnitStatus) -> String {
    status
        .as_str_name()
        .trim_start_matches("UNIT_STATUS_")
        .to_ascii_lowercase()
}

/// The station label of the series that stand for "no station yet" (Prometheus reads an empty
/// label as no label).
const NO_STATION: &str = "";

/// Creates the gauge with a zero series per status, at process start: a system with no unit yet
/// reports zero units rather than no series.
pub fn register_metrics() {
    let stations = STATIONS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    placeholders(stations.is_empty());
}

/// Sets the station-less zero series when `wanted`, removes them otherwise.
fn placeholders(wanted: bool) {
    let Some(gauge) = UNITS.as_ref() else {
        return;
    };
    for (_, label) in statuses() {
        if wanted {
            gauge
                .with_label_values(&[NO_STATION, label.as_str()])
                .set(0);
        } else {
            // Err only means the series was never there.
            let _ = gauge.remove_label_values(&[NO_STATION, label.as_str()]);
        }
    }
}

/// Sets the gauge from `units` (station, status) and creates the series of new stations.
pub fn publish_units(units: impl IntoIterator<Item = (String, UnitStatus)>) {
    publish_counts(units.into_iter().map(|unit| (unit, 1)));
}

/// Sets the gauge from counts of units per (station, status).
pub fn publish_counts(units: impl IntoIterator<Item = ((String, UnitStatus), i64)>) {
    let mut counts: BTreeMap<(String, UnitStatus), i64> = BTreeMap::new();
    for (key, n) in units {
        *counts.entry(key).or_default() += n;
    }
    let mut stations = STATIONS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    for (station, _) in counts.keys() {
        if stations.insert(station.clone()) {
            timers::register_station(station);
            analysis::register_station(station);
        }
    }
    placeholders(stations.is_empty());
    let Some(gauge) = UNITS.as_ref() else {
        return;
    };
    for station in stations.iter() {
        for (status, label) in statuses() {
            let n = counts.get(&(station.clone(), status)).copied().unwrap_or(0);
            gauge
                .with_label_values(&[station.as_str(), label.as_str()])
                .set(n);
        }
    }
}

/// Recounts the units in the store.
pub async fn refresh_units(runtime: &Runtime) -> Result<(), ApiError> {
    publish_counts(runtime.store.unit_counts().await?);
    Ok(())
}

/// Counts the units at start and every [`UNITS_GAUGE_EVERY`] until shutdown; the gauge's zero
/// series exist as soon as the worker is built (process start), before the first count.
pub fn units_gauge_worker(runtime: Arc<Runtime>) -> Worker {
    register_metrics();
    Worker::new("dispatch-units-gauge", move |shutdown| async move {
        loop {
            if let Err(err) = refresh_units(&runtime).await {
                tracing::warn!(error = %err, "units not counted for the gauge this round");
            }
            if shutdown.sleep(UNITS_GAUGE_EVERY).await {
                break;
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_station_gets_every_status_and_its_breach_series_at_once() {
        publish_units([
            ("st-metrics-a".to_owned(), UnitStatus::Available),
            ("st-metrics-a".to_owned(), UnitStatus::Available),
            ("st-metrics-a".to_owned(), UnitStatus::Busy),
        ]);
        let text = pingan_platform::metrics::render();
        for (series, value) in [
            ("status=\"available\"", 2),
            ("status=\"busy\"", 1),
            ("status=\"off_duty\"", 0),
            ("status=\"en_route\"", 0),
        ] {
            let line =
                format!("pingan_dispatch_units{{station=\"st-metrics-a\",{series}}} {value}");
            assert!(text.contains(&line), "{line} missing");
        }
        assert!(text.contains(
            "pingan_dispatch_sla_breaches_total{priority=\"P1\",station=\"st-metrics-a\"} 0"
        ));
        assert!(text.contains(
            "pingan_dispatch_ring_to_on_scene_seconds_count{priority=\"P1\",station=\"st-metrics-a\"} 0"
        ));
        // Units that leave a station leave it at zero, not without a series.
        publish_units([("st-metrics-b".to_owned(), UnitStatus::OffDuty)]);
        let text = pingan_platform::metrics::render();
        assert!(
            text.contains("pingan_dispatch_units{station=\"st-metrics-a\",status=\"available\"} 0")
        );
    }
}
