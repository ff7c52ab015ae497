//! The command room's response-time analysis: the ring time recorded with each new dispatch,
//! the report over a period (jurisdiction narrows the stations read), and the ring-to-on-scene
//! histogram the dashboards read.

use std::sync::LazyLock;

use chrono::{DateTime, Duration, Utc};
use pingan_platform::ApiError;
use pingan_platform::auth::{Caller, Jurisdiction};
use pingan_platform::storage::Tx;
use pingan_proto::common::v1::Priority;
use pingan_proto::dispatch::v1::Dispatch;
use prometheus::{HistogramOpts, HistogramVec};

use crate::app::Runtime;
use crate::domain::analysis::{self, Breach, Row};
use crate::store::analysis::{AnalysisStore, SqlAnalysisStore};

/// Seconds from the ring to the first unit on scene, per station and priority.
static RING_TO_ON_SCENE: LazyLock<Option<HistogramVec>> = LazyLock::new(|| {
    pingan_platform::metrics::register(HistogramVec::new(
        HistogramOpts::new(
            "pingan_dispatch_ring_to_on_scene_seconds",
            "Seconds from the incident's first call to its first unit on scene, by station and priority",
        )
        .buckets(vec![
            60.0, 120.0, 180.0, 240.0, 300.0, 420.0, 600.0, 900.0, 1200.0, 1800.0, 3600.0,
        ]),
        &["station", "priority"],
    ))
});

fn priority_label(priority: i32) -> &'static str {
    pingan_catalogue::proto::priority_label(priority)
}

/// Registers the histogram (its series appear with the first observation of a station).
pub fn register_metrics() {
    LazyLock::force(&RING_TO_ON_SCENE);
}

/// Creates the histogram's series of `station` at zero, for every priority (see `app::metrics`).
pub fn register_station(station: &str) {
    if let Some(histogram) = RING_TO_ON_SCENE.as_ref() {
        for priority in [Priority::P1, Priority::P2, Priority::P3, Priority::P4] {
            histogram.with_label_values(&[station, priority_label(priority as i32)]);
        }
    }
}

/// Records when the call of a new dispatch rang (its opening when intake did not say).
pub async fn record_ring(
    runtime: &Runtime,
    tx: &mut Tx,
    dispatch: &Dispatch,
    rang_at: Option<DateTime<Utc>>,
) -> Result<(), ApiError> {
    let Some(rang_at) = rang_at else {
        return Ok(());
    };
    SqlAnalysisStore::new(runtime.context.db.clone())
        .record_ring(tx, &dispatch.dispatch_id, rang_at)
        .await?;
    Ok(())
}

/// Observes the ring-to-on-scene time of a dispatch's first unit on scene at `now`.
pub async fn first_on_scene(
    runtime: &Runtime,
    tx: &mut Tx,
    dispatch: &Dispatch,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let rang = SqlAnalysisStore::new(runtime.context.db.clone())
        .ring_of(tx, &dispatch.dispatch_id)
        .await?
        .or_else(|| {
            dispatch
                .opened_at
                .as_ref()
                .and_then(pingan_platform::time::from_timestamp)
        });
    if let (Some(rang), Some(histogram)) = (rang, RING_TO_ON_SCENE.as_ref()) {
        let seconds = (now - rang).num_milliseconds().max(0) as f64 / 1000.0;
        histogram
            .with_label_values(&[&dispatch.station_id, priority_label(dispatch.priority)])
            .observe(seconds);
    }
    Ok(())
}

/// What a report covers, checked at the edge.
#[derive(Debug, Clone)]
pub struct ReportScope {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub station_id: String,
    /// Empty: every priority.
    pub priorities: Vec<i32>,
    pub target: Duration,
}

/// The report: its rows and every breach, longest over first.
pub async fn report(
    runtime: &Runtime,
    caller: &Caller,
    scope: &ReportScope,
) -> Result<(Vec<Row>, Vec<Breach>), ApiError> {
    let stations = if scope.station_id.is_empty() {
        match &caller.jurisdiction {
            Jurisdiction::Bureau => String::new(),
            Jurisdiction::Stations(own) if own.is_empty() => return Ok((Vec::new(), Vec::new())),
            Jurisdiction::Stations(own) => own.iter().cloned().collect::<Vec<_>>().join(","),
        }
    } else {
        caller.require_station(&scope.station_id)?;
        scope.station_id.clone()
    };
    let mut clocks = SqlAnalysisStore::new(runtime.context.db.clone())
        .response_clocks(scope.start, scope.end, &stations)
        .await?;
    if !scope.priorities.is_empty() {
        clocks.retain(|c| scope.priorities.contains(&c.priority));
    }
    Ok(analysis::report(&clocks, scope.target, runtime.now()))
}
