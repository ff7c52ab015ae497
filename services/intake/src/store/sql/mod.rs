//! The SQL store: portable SQL written once with `$N` placeholders, run on either backend.

mod calls;
mod classification;
mod incidents;
mod links;

use chrono::{DateTime, Utc};
use pingan_platform::storage::{Db, StorageError, Tx};

use super::{IncidentFilter, Store};
use crate::domain::{
    CallRecord, ClassificationRecord, DuplicateCandidate, EntryRecord, IncidentRecord,
};

/// Intake's tables on Postgres or SQLite.
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
    async fn write_lock(&self, tx: &mut Tx) -> Result<(), StorageError> {
        incidents::write_lock(tx).await
    }

    async fn insert_incident(&self, tx: &mut Tx, i: &IncidentRecord) -> Result<(), StorageError> {
        incidents::insert_incident(tx, i).await
    }

    async fn save_incident(&self, tx: &mut Tx, i: &IncidentRecord) -> Result<(), StorageError> {
        incidents::save_incident(tx, i).await
    }

    async fn set_classification(
        &self,
        tx: &mut Tx,
        incident_id: &str,
        classification: Option<&ClassificationRecord>,
    ) -> Result<(), StorageError> {
        classification::write(tx, incident_id, classification).await
    }

    async fn add_classification(
        &self,
        tx: &mut Tx,
        incident_id: &str,
        classification: &ClassificationRecord,
    ) -> Result<(), StorageError> {
        classification::add(tx, incident_id, classification).await
    }

    async fn legacy_classification_ids(&self, limit: i64) -> Result<Vec<String>, StorageError> {
        classification::legacy_ids(&self.db, limit).await
    }

    async fn legacy_classification(
        &self,
        tx: &mut Tx,
        incident_id: &str,
    ) -> Result<Option<Vec<u8>>, StorageError> {
        classification::lock_legacy_blob(tx, incident_id).await
    }

    async fn set_address(
        &self,
        tx: &mut Tx,
        incident_id: &str,
        address: &str,
    ) -> Result<(), StorageError> {
        incidents::set_address(tx, incident_id, address).await
    }

    async fn set_location(
        &self,
        tx: &mut Tx,
        incident_id: &str,
        lat: f64,
        lon: f64,
    ) -> Result<(), StorageError> {
        incidents::set_location(tx, incident_id, lat, lon).await
    }

    async fn lock_incident(
        &self,
        tx: &mut Tx,
        incident_id: &str,
    ) -> Result<Option<IncidentRecord>, StorageError> {
        incidents::lock_incident(tx, incident_id).await
    }

    async fn lock_exact(
        &self,
        tx: &mut Tx,
        incident_id: &str,
    ) -> Result<Option<IncidentRecord>, StorageError> {
        incidents::lock_exact(tx, incident_id).await
    }

    async fn records_dispatch(
        &self,
        tx: &mut Tx,
        incident_id: &str,
        dispatch_id: &str,
    ) -> Result<bool, StorageError> {
        incidents::records_dispatch(tx, incident_id, dispatch_id).await
    }

    async fn incident(&self, incident_id: &str) -> Result<Option<IncidentRecord>, StorageError> {
        incidents::incident(&self.db, incident_id).await
    }

    async fn incident_exact(
        &self,
        incident_id: &str,
    ) -> Result<Option<IncidentRecord>, StorageError> {
        incidents::incident_exact(&self.db, incident_id).await
    }

    async fn incident_by_transfer(
        &self,
        tx: &mut Tx,
        transfer_id: &str,
    ) -> Result<Option<String>, StorageError> {
        incidents::incident_by_transfer(tx, transfer_id).await
    }

    async fn list(&self, filter: &IncidentFilter) -> Result<Vec<IncidentRecord>, StorageError> {
        incidents::list(&self.db, filter).await
    }

    async fn insert_call(&self, tx: &mut Tx, c: &CallRecord) -> Result<(), StorageError> {
        calls::insert_call(tx, c).await
    }

    async fn call_by_source(
        &self,
        tx: &mut Tx,
        channel: i32,
        source_call_id: &str,
    ) -> Result<Option<CallRecord>, StorageError> {
        calls::call_by_source(tx, channel, source_call_id).await
    }

    async fn call(&self, call_id: &str) -> Result<Option<CallRecord>, StorageError> {
        calls::call(&self.db, call_id).await
    }

    async fn calls_of(&self, incident_id: &str) -> Result<Vec<CallRecord>, StorageError> {
        calls::calls_of(&self.db, incident_id).await
    }

    async fn calls_in(
        &self,
        tx: &mut Tx,
        incident_id: &str,
    ) -> Result<Vec<CallRecord>, StorageError> {
        calls::calls_in(tx, incident_id).await
    }

    async fn record_answer(
        &self,
        call_id: &str,
        incident_id: &str,
        outcome: i32,
    ) -> Result<Option<(String, i32)>, StorageError> {
        calls::record_answer(&self.db, call_id, incident_id, outcome).await
    }

    async fn record_answer_in(
        &self,
        tx: &mut Tx,
        call_id: &str,
        incident_id: &str,
        outcome: i32,
    ) -> Result<Option<(String, i32)>, StorageError> {
        calls::record_answer_in(tx, call_id, incident_id, outcome).await
    }

    async fn insert_entry(&self, tx: &mut Tx, e: &EntryRecord) -> Result<(), StorageError> {
        calls::insert_entry(tx, e).await
    }

    async fn timeline(&self, incident_id: &str) -> Result<Vec<EntryRecord>, StorageError> {
        calls::timeline(&self.db, incident_id).await
    }

    async fn take_link_cells(
        &self,
        tx: &mut Tx,
        cells: &[String],
        at: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        links::take_link_cells(tx, cells, at).await
    }

    async fn link_candidates(
        &self,
        tx: &mut Tx,
        except: &str,
        cells: Option<&[String]>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<DuplicateCandidate>, StorageError> {
        links::link_candidates(tx, except, cells, from, to).await
    }

    async fn file_unfiled(&self, since: DateTime<Utc>) -> Result<u64, StorageError> {
        links::file_unfiled(&self.db, since).await
    }

    async fn link(
        &self,
        tx: &mut Tx,
        from: &str,
        into: &str,
        distance_m: f64,
        at: DateTime<Utc>,
    ) -> Result<bool, StorageError> {
        links::link(tx, from, into, distance_m, at).await
    }

    async fn linked_ids(&self, incident_id: &str) -> Result<Vec<String>, StorageError> {
        links::linked_ids(&self.db, incident_id).await
    }
}
