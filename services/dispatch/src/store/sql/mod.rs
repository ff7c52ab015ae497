//! The SQL store: portable SQL written once with `$N` placeholders, run on either backend.

mod dispatches;
mod params;
mod records;
mod units;

use chrono::{DateTime, Utc};
use pingan_platform::storage::{Db, StorageError, Tx};
use pingan_proto::dispatch::v1::{AssignmentStatus, UnitStatus};

use super::queries::{ACK_DUE, SLA_DUE};
use super::{DispatchCursor, DispatchFilter, Store};
use crate::domain::model::{Assignment, Dispatch, Flight, NewUnit, TimelineEntry, Unit};

/// Dispatch's tables on Postgres or SQLite.
#[derive(Debug, Clone)]
pub struct SqlStore {
    db: Db,
}

impl SqlStore {
    /// A store over a migrated database.
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

#[tonic::async_trait]
impl Store for SqlStore {
    async fn register_unit(
        &self,
        tx: &mut Tx,
        unit: &NewUnit,
        now: DateTime<Utc>,
    ) -> Result<bool, StorageError> {
        self.register_unit_sql(tx, unit, now).await
    }

    async fn unit_in(&self, tx: &mut Tx, unit_id: &str) -> Result<Option<Unit>, StorageError> {
        self.unit_in_sql(tx, unit_id).await
    }

    async fn unit(&self, unit_id: &str) -> Result<Option<Unit>, StorageError> {
        self.unit_sql(unit_id).await
    }

    async fn units(&self, unit_ids: &[String]) -> Result<Vec<Unit>, StorageError> {
        self.units_sql(unit_ids).await
    }

    async fn list_units(
        &self,
        after: &str,
        station_id: &str,
        limit: i64,
    ) -> Result<Vec<Unit>, StorageError> {
        self.list_units_sql(after, station_id, limit).await
    }

    async fn all_units(&self) -> Result<Vec<Unit>, StorageError> {
        self.all_units_sql().await
    }

    async fn unit_counts(&self) -> Result<Vec<((String, UnitStatus), i64)>, StorageError> {
        self.unit_counts_sql().await
    }

    async fn set_manual_status(
        &self,
        tx: &mut Tx,
        unit_id: &str,
        status: UnitStatus,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StorageError> {
        self.set_manual_status_sql(tx, unit_id, status, reason, now)
            .await
    }

    async fn reserve(
        &self,
        tx: &mut Tx,
        unit_id: &str,
        dispatch_id: &str,
        assignment_id: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StorageError> {
        self.reserve_sql(tx, unit_id, dispatch_id, assignment_id, now)
            .await
    }

    async fn set_held_status(
        &self,
        tx: &mut Tx,
        unit_id: &str,
        assignment_id: &str,
        status: UnitStatus,
        now: DateTime<Utc>,
    ) -> Result<bool, StorageError> {
        self.set_held_status_sql(tx, unit_id, assignment_id, status, now)
            .await
    }

    async fn release(
        &self,
        tx: &mut Tx,
        unit_id: &str,
        assignment_id: &str,
        status: UnitStatus,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StorageError> {
        self.release_sql(tx, (unit_id, assignment_id), status, reason, now)
            .await
    }

    async fn insert_dispatch(&self, tx: &mut Tx, dispatch: &Dispatch) -> Result<(), StorageError> {
        self.insert_dispatch_sql(tx, dispatch).await
    }

    async fn update_dispatch(&self, tx: &mut Tx, dispatch: &Dispatch) -> Result<(), StorageError> {
        self.update_dispatch_sql(tx, dispatch).await
    }

    async fn lock_dispatch(
        &self,
        tx: &mut Tx,
        dispatch_id: &str,
    ) -> Result<Option<Dispatch>, StorageError> {
        self.lock_dispatch_sql(tx, dispatch_id).await
    }

    async fn dispatch(&self, dispatch_id: &str) -> Result<Option<Dispatch>, StorageError> {
        self.dispatch_sql(dispatch_id).await
    }

    async fn list_dispatches(
        &self,
        filter: &DispatchFilter,
        cursor: Option<DispatchCursor>,
        limit: i64,
    ) -> Result<Vec<Dispatch>, StorageError> {
        self.list_dispatches_sql(filter, cursor, limit).await
    }

    async fn open_dispatches(&self, limit: i64) -> Result<Vec<Dispatch>, StorageError> {
        self.open_dispatches_sql(limit).await
    }

    async fn sla_due(&self, now: DateTime<Utc>, limit: i64) -> Result<Vec<String>, StorageError> {
        self.due_sql(SLA_DUE, now, limit).await
    }

    async fn ack_due(&self, now: DateTime<Utc>, limit: i64) -> Result<Vec<String>, StorageError> {
        self.due_sql(ACK_DUE, now, limit).await
    }

    async fn insert_assignment(
        &self,
        tx: &mut Tx,
        assignment: &Assignment,
    ) -> Result<(), StorageError> {
        self.insert_assignment_sql(tx, assignment).await
    }

    async fn update_assignment(
        &self,
        tx: &mut Tx,
        assignment: &Assignment,
        expected: AssignmentStatus,
    ) -> Result<bool, StorageError> {
        self.update_assignment_sql(tx, assignment, expected).await
    }

    async fn insert_entry(&self, tx: &mut Tx, entry: &TimelineEntry) -> Result<(), StorageError> {
        self.insert_entry_sql(tx, entry).await
    }

    async fn timeline(
        &self,
        dispatch_id: &str,
        incident_id: &str,
    ) -> Result<Vec<TimelineEntry>, StorageError> {
        self.timeline_sql(dispatch_id, incident_id).await
    }

    async fn insert_flight(
        &self,
        tx: &mut Tx,
        flight: &Flight,
        station_id: &str,
    ) -> Result<(), StorageError> {
        self.insert_flight_sql(tx, flight, station_id).await
    }

    async fn flights(
        &self,
        from: Option<DateTime<Utc>>,
        until: Option<DateTime<Utc>>,
        station_id: &str,
    ) -> Result<Vec<(Flight, String)>, StorageError> {
        self.flights_sql(from, until, station_id).await
    }

    async fn convert_legacy_rows(&self) -> Result<u64, StorageError> {
        self.convert_legacy_sql().await
    }
}
