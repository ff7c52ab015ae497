//! The analysis reads and the one write they need: each dispatch's ring time
//! (`dispatch_rings`, migration 0003) and the response clocks of the dispatches whose call rang
//! in a span, written once for both backends.

use chrono::{DateTime, Utc};
use pingan_platform::Db;
use pingan_platform::storage::{StorageError, Tx};
use pingan_platform::storage_rows::{Arg, Cols, On, execute, t};

use crate::domain::analysis::ResponseClocks;

/// What the analysis reads from and writes to dispatch's tables.
#[tonic::async_trait]
pub trait AnalysisStore: Send + Sync + std::fmt::Debug {
    /// Records when the call of a new dispatch rang.
    async fn record_ring(
        &self,
        tx: &mut Tx,
        dispatch_id: &str,
        rang_at: DateTime<Utc>,
    ) -> Result<(), StorageError>;
    /// When the call of a dispatch rang, if recorded.
    async fn ring_of(
        &self,
        tx: &mut Tx,
        dispatch_id: &str,
    ) -> Result<Option<DateTime<Utc>>, StorageError>;
    /// The clocks of the dispatches whose call rang in [from, to) (their opening when no ring
    /// was recorded), of `stations` (comma-separated; empty: every station).
    async fn response_clocks(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        stations: &str,
    ) -> Result<Vec<ResponseClocks>, StorageError>;
}

/// [`AnalysisStore`] over dispatch's database.
#[derive(Debug, Clone)]
pub struct SqlAnalysisStore {
    db: Db,
}

impl SqlAnalysisStore {
    /// Over a migrated database.
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

const RECORD_RING: &str = "INSERT INTO dispatch_rings (dispatch_id, rang_at) VALUES ($1, $2)";

const CLOCKS: &str = "SELECT d.dispatch_id, d.incident_id, d.station_id, CAST(d.priority AS BIGINT) AS priority, \
      d.opened_at, d.first_on_scene_at, r.rang_at, \
      (SELECT MIN(a.assigned_at) FROM dispatch_assignments a \
        WHERE a.dispatch_id = d.dispatch_id) AS first_assigned_at \
    FROM dispatch_dispatches d LEFT JOIN dispatch_rings r ON r.dispatch_id = d.dispatch_id \
    WHERE COALESCE(r.rang_at, d.opened_at) >= $1 AND COALESCE(r.rang_at, d.opened_at) < $2 \
      AND ($3 = '' OR (',' || $3 || ',') LIKE ('%,' || d.station_id || ',%')) \
    ORDER BY d.dispatch_id";

fn clocks(row: &dyn Cols) -> Result<ResponseClocks, StorageError> {
    let opened_at = row.time("opened_at")?;
    Ok(ResponseClocks {
        dispatch_id: row.text("dispatch_id")?,
        incident_id: row.text("incident_id")?,
        station_id: row.text("station_id")?,
        priority: i32::try_from(row.int("priority")?)
            .map_err(|_| StorageError::Other("priority out of range".into()))?,
        rang_at: row.opt_time("rang_at")?.unwrap_or(opened_at),
        assigned_at: row.opt_time("first_assigned_at")?,
        on_scene_at: row.opt_time("first_on_scene_at")?,
    })
}

#[tonic::async_trait]
impl AnalysisStore for SqlAnalysisStore {
    async fn record_ring(
        &self,
        tx: &mut Tx,
        dispatch_id: &str,
        rang_at: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        execute(
            tx,
            RECORD_RING,
            vec![t(dispatch_id), Arg::Time(Some(rang_at))],
        )
        .await?;
        Ok(())
    }

    async fn ring_of(
        &self,
        tx: &mut Tx,
        dispatch_id: &str,
    ) -> Result<Option<DateTime<Utc>>, StorageError> {
        const SQL: &str = "SELECT rang_at FROM dispatch_rings WHERE dispatch_id = $1";
        On::Tx(tx)
            .first(SQL, vec![t(dispatch_id)], |row| row.time("rang_at"))
            .await
    }

    async fn response_clocks(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        stations: &str,
    ) -> Result<Vec<ResponseClocks>, StorageError> {
        let args = vec![Arg::Time(Some(from)), Arg::Time(Some(to)), t(stations)];
        On::Pool(&self.db).rows(CLOCKS, args, clocks).await
    }
}
