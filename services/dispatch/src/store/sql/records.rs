//! The timeline, the flight log, and the conversion of rows stored before the column layout.

use chrono::{DateTime, Utc};
use pingan_platform::storage::{StorageError, Tx};
use pingan_platform::{with_db, with_tx};

use super::SqlStore;
use super::params::{EntryParams, FlightParams, bind_entry, bind_flight};
use crate::domain::model::{Flight, TimelineEntry};
use crate::store::queries::*;
use crate::store::rows::{EntryRow, FlightRow};
use crate::store::time_bounds;

impl SqlStore {
    pub(super) async fn insert_entry_sql(
        &self,
        tx: &mut Tx,
        entry: &TimelineEntry,
    ) -> Result<(), StorageError> {
        let params = EntryParams::new(entry);
        with_tx!(tx, conn => bind_entry!(sqlx::query(INSERT_ENTRY), &params)
            .execute(&mut *conn)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    pub(super) async fn timeline_sql(
        &self,
        dispatch_id: &str,
        incident_id: &str,
    ) -> Result<Vec<TimelineEntry>, StorageError> {
        let (sql, key) = if dispatch_id.is_empty() {
            (ENTRIES_OF_INCIDENT, incident_id)
        } else {
            (ENTRIES_OF_DISPATCH, dispatch_id)
        };
        let rows = with_db!(&self.db, pool => sqlx::query_as::<_, EntryRow>(sql)
            .bind(key)
            .fetch_all(pool)
            .await)?;
        rows.into_iter().map(TimelineEntry::try_from).collect()
    }

    pub(super) async fn insert_flight_sql(
        &self,
        tx: &mut Tx,
        flight: &Flight,
        station_id: &str,
    ) -> Result<(), StorageError> {
        let params = FlightParams::new(flight, station_id);
        with_tx!(tx, conn => bind_flight!(sqlx::query(INSERT_FLIGHT), &params)
            .execute(&mut *conn)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    pub(super) async fn flights_sql(
        &self,
        from: Option<DateTime<Utc>>,
        until: Option<DateTime<Utc>>,
        station_id: &str,
    ) -> Result<Vec<(Flight, String)>, StorageError> {
        let (from, until) = time_bounds(from, until);
        let rows = with_db!(&self.db, pool => sqlx::query_as::<_, FlightRow>(FLIGHTS)
            .bind(from)
            .bind(until)
            .bind(station_id)
            .fetch_all(pool)
            .await)?;
        rows.into_iter().map(FlightRow::into_flight).collect()
    }

    async fn legacy_ids(&self, sql: &'static str) -> Result<Vec<String>, StorageError> {
        Ok(with_db!(&self.db, pool => sqlx::query_scalar(sql).fetch_all(pool).await)?)
    }

    /// Reads each legacy row (its `doc`) and writes it back as columns, one row per transaction.
    pub(super) async fn convert_legacy_sql(&self) -> Result<u64, StorageError> {
        let mut converted = 0;
        loop {
            let ids = self.legacy_ids(LEGACY_DISPATCHES).await?;
            if ids.is_empty() {
                break;
            }
            for id in ids {
                let mut tx = self.db.begin_write().await?;
                if let Some(dispatch) = self.lock_dispatch_sql(&mut tx, &id).await? {
                    self.update_dispatch_sql(&mut tx, &dispatch).await?;
                }
                tx.commit().await?;
                converted += 1;
            }
        }
        loop {
            let ids = self.legacy_ids(LEGACY_ASSIGNMENTS).await?;
            if ids.is_empty() {
                break;
            }
            for id in ids {
                let mut tx = self.db.begin_write().await?;
                if let Some(assignment) = self.assignment_in(&mut tx, &id).await? {
                    self.update_assignment_sql(&mut tx, &assignment, assignment.status)
                        .await?;
                }
                tx.commit().await?;
                converted += 1;
            }
        }
        loop {
            let ids = self.legacy_ids(LEGACY_ENTRIES).await?;
            if ids.is_empty() {
                break;
            }
            for id in ids {
                let mut tx = self.db.begin_write().await?;
                let row = with_tx!(&mut tx, conn => sqlx::query_as::<_, EntryRow>(SELECT_ENTRY)
                    .bind(&id)
                    .fetch_optional(&mut *conn)
                    .await)?;
                if let Some(row) = row {
                    let params = EntryParams::new(&TimelineEntry::try_from(row)?);
                    with_tx!(&mut tx, conn => bind_entry!(sqlx::query(REWRITE_ENTRY), &params)
                        .execute(&mut *conn)
                        .await
                        .map(|_| ()))?;
                }
                tx.commit().await?;
                converted += 1;
            }
        }
        loop {
            let ids = self.legacy_ids(LEGACY_FLIGHTS).await?;
            if ids.is_empty() {
                break;
            }
            for id in ids {
                let mut tx = self.db.begin_write().await?;
                let row = with_tx!(&mut tx, conn => sqlx::query_as::<_, FlightRow>(SELECT_FLIGHT)
                    .bind(&id)
                    .fetch_optional(&mut *conn)
                    .await)?;
                if let Some(row) = row {
                    let (flight, station) = row.into_flight()?;
                    let params = FlightParams::new(&flight, &station);
                    with_tx!(&mut tx, conn => bind_flight!(sqlx::query(REWRITE_FLIGHT), &params)
                        .execute(&mut *conn)
                        .await
                        .map(|_| ()))?;
                }
                tx.commit().await?;
                converted += 1;
            }
        }
        Ok(converted)
    }
}
