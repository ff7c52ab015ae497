//! The units gauge on a brand-new system: a zero series per unit status exists from process
//! start, before any unit (and so any station) is known, and gives way to the stations' series
//! once units are counted. Alone in its test binary: the metrics registry is per process.

use pingan_dispatch::app::metrics::{publish_units, register_metrics};
use pingan_proto::dispatch::v1::UnitStatus;

const STATUSES: [&str; 6] = [
    "available",
    "assigned",
    "en_route",
    "on_scene",
    "busy",
    "off_duty",
];

fn units_lines() -> Vec<String> {
    pingan_platform::metrics::render()
        .lines()
        .filter(|l| l.starts_with("pingan_dispatch_units{"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn units_gauge_has_a_zero_series_per_status_before_any_unit() {
    assert!(units_lines().is_empty(), "no series before registration");
    register_metrics();
    let lines = units_lines();
    for status in STATUSES {
        let line = format!("pingan_dispatch_units{{station=\"\",status=\"{status}\"}} 0");
        assert!(lines.contains(&line), "{line} missing from {lines:?}");
    }
    assert_eq!(lines.len(), STATUSES.len(), "{lines:?}");
    // Nothing in the store yet: the round keeps them.
    publish_units([]);
    assert_eq!(units_lines().len(), STATUSES.len());

    // The first unit: its station's series replace the station-less ones.
    publish_units([("st-first".to_owned(), UnitStatus::Available)]);
    let lines = units_lines();
    assert!(
        lines.contains(
            &"pingan_dispatch_units{station=\"st-first\",status=\"available\"} 1".to_owned()
        ),
        "{lines:?}"
    );
    assert!(
        lines.iter().all(|l| l.contains("station=\"st-first\"")),
        "station-less series left: {lines:?}"
    );
    assert_eq!(lines.len(), STATUSES.len());
}
