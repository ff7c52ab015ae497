//! The analysis reads: a slim projection of the incidents received in a span, through the
//! `received_at` index, written once for both backends.

use chrono::{DateTime, Utc};
use pingan_platform::Db;
use pingan_platform::storage::StorageError;
use pingan_platform::storage_rows::{Arg, Cols, On, t};

use crate::domain::analysis::IncidentPoint;

/// Which incidents to read (empty strings: no filter).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PointFilter {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// Comma-separated stations; empty: every station.
    pub stations: String,
    pub grid_id: String,
    pub category: String,
}

/// What the analysis reads from intake's tables.
#[tonic::async_trait]
pub trait AnalysisStore: Send + Sync + std::fmt::Debug {
    /// Live incidents (not linked into another) received in [from, to) within the filter.
    async fn incident_points(
        &self,
        filter: &PointFilter,
    ) -> Result<Vec<IncidentPoint>, StorageError>;
}

/// [`AnalysisStore`] over intake's database.
#[derive(Debug, Clone)]
pub struct SqlAnalysisStore {
    db: Db,
}

impl SqlAnalysisStore {
    /// Reads over a migrated database.
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

const POINTS: &str = "SELECT received_at, station_id, grid_id, category, has_location, lat, lon \
    FROM intake_incidents \
    WHERE received_at >= $1 AND received_at < $2 AND merged_into = '' \
      AND ($3 = '' OR (',' || $3 || ',') LIKE ('%,' || station_id || ',%')) \
      AND ($4 = '' OR grid_id = $4) AND ($5 = '' OR category = $5) \
    ORDER BY received_at, incident_id";

fn point(row: &dyn Cols) -> Result<IncidentPoint, StorageError> {
    Ok(IncidentPoint {
        received_at: row.time("received_at")?,
        station_id: row.text("station_id")?,
        grid_id: row.text("grid_id")?,
        category: row.text("category")?,
        location: row
            .flag("has_location")?
            .then(|| Ok::<_, StorageError>((row.float("lat")?, row.float("lon")?)))
            .transpose()?,
    })
}

#[tonic::async_trait]
impl AnalysisStore for SqlAnalysisStore {
    async fn incident_points(&self, f: &PointFilter) -> Result<Vec<IncidentPoint>, StorageError> {
        let args = vec![
            Arg::Time(Some(f.from)),
            Arg::Time(Some(f.to)),
            t(&f.stations),
            t(&f.grid_id),
            t(&f.category),
        ];
        On::Pool(&self.db).rows(POINTS, args, point).await
    }
}
