//! The command room's analysis use cases (IncidentStats, Hotspots): the caller's jurisdiction
//! narrows the stations read, the store reads the slim rows of both periods, the domain counts.
//! Also the incidents-by-category counter the dashboards read.

use std::sync::{Arc, LazyLock};

use chrono::FixedOffset;
use pingan_platform::ApiError;
use pingan_platform::auth::{Caller, Jurisdiction};
use prometheus::{IntCounterVec, Opts};

use crate::app::Deps;
use crate::domain::analysis::{self, Area, Hotspot, IncidentPoint, Periods, Stats};
use crate::store::analysis::{AnalysisStore, PointFilter, SqlAnalysisStore};

/// What an analysis counts, checked at the edge.
#[derive(Debug, Clone)]
pub struct Scope {
    pub periods: Periods,
    /// The station asked for; empty: every station the caller may see.
    pub station_id: String,
    pub grid_id: String,
    pub category: String,
    /// The local clock for hours of the day.
    pub offset: FixedOffset,
}

/// The analysis use cases.
#[derive(Debug, Clone)]
pub struct Analysis {
    store: Arc<dyn AnalysisStore>,
}

impl Analysis {
    /// Over intake's database.
    pub fn new(deps: &Deps) -> Self {
        Self {
            store: Arc::new(SqlAnalysisStore::new(deps.context.db.clone())),
        }
    }

    /// Counts by station, grid, category, hour and day.
    pub async fn stats(&self, caller: &Caller, scope: &Scope) -> Result<Stats, ApiError> {
        let points = self.points(caller, scope).await?;
        Ok(analysis::stats(&scope.periods, scope.offset, &points))
    }

    /// The top `limit` areas, and the incidents that fall in none.
    pub async fn hotspots(
        &self,
        caller: &Caller,
        scope: &Scope,
        area: Area,
        limit: usize,
    ) -> Result<(Vec<Hotspot>, i64), ApiError> {
        let points = self.points(caller, scope).await?;
        Ok(analysis::hotspots(&scope.periods, area, limit, &points))
    }

    async fn points(&self, caller: &Caller, scope: &Scope) -> Result<Vec<IncidentPoint>, ApiError> {
        let Some(stations) = visible_stations(caller, &scope.station_id)? else {
            return Ok(Vec::new());
        };
        let filter = PointFilter {
            from: scope.periods.previous_start,
            to: scope.periods.end,
            stations,
            grid_id: scope.grid_id.clone(),
            category: scope.category.clone(),
        };
        Ok(self.store.incident_points(&filter).await?)
    }
}

/// The stations a caller's analysis reads, comma-separated ("" = every station): the station
/// asked for (PERMISSION_DENIED outside the jurisdiction), else the caller's jurisdiction;
/// None when the caller sees no station at all.
pub fn visible_stations(caller: &Caller, station_id: &str) -> Result<Option<String>, ApiError> {
    if !station_id.is_empty() {
        caller.require_station(station_id)?;
        return Ok(Some(station_id.to_owned()));
    }
    Ok(match &caller.jurisdiction {
        Jurisdiction::Bureau => Some(String::new()),
        Jurisdiction::Stations(stations) if stations.is_empty() => None,
        Jurisdiction::Stations(stations) => {
            Some(stations.iter().cloned().collect::<Vec<_>>().join(","))
        }
    })
}

/// Incidents classified, by category: the dashboards' incidents-by-category series.
static INCIDENTS: LazyLock<Option<IntCounterVec>> = LazyLock::new(|| {
    pingan_platform::metrics::register(IntCounterVec::new(
        Opts::new(
            "pingan_intake_incidents_classified_total",
            "Incidents classified, by category",
        ),
        &["category"],
    ))
});

/// Registers the series of every catalogue category at zero, so dashboards see them from the
/// process start.
pub fn register_metrics() {
    let Some(counter) = INCIDENTS.as_ref() else {
        return;
    };
    if let Ok(catalogue) = pingan_catalogue::catalogue() {
        for category in &catalogue.categories {
            counter.with_label_values(&[category.code.as_str()]);
        }
    }
}

/// Counts one incident classified under `category`.
pub fn count_classified(category: &str) {
    if let Some(counter) = INCIDENTS.as_ref() {
        counter.with_label_values(&[category]).inc();
    }
}
