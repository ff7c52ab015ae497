//! The SQL store: portable SQL written once with `$N` placeholders, run on either backend.

mod classification;
mod deliveries;
mod transfers;

use chrono::{DateTime, Utc};
use pingan_platform::storage::{Db, StorageError, Tx};

use super::{
    ClassificationRecord, DeadLetterRow, HistoryRow, LegacyDelivery, ListFilter, NewHistory, Store,
    TransferRow,
};

/// Triage's tables on Postgres or SQLite.
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
    async fn insert(&self, tx: &mut Tx, row: &TransferRow) -> Result<(), StorageError> {
        transfers::insert(tx, row).await
    }

    async fn save(&self, tx: &mut Tx, row: &TransferRow) -> Result<(), StorageError> {
        transfers::save(tx, row).await
    }

    async fn lock(&self, tx: &mut Tx, transfer_id: &str) -> Result<TransferRow, StorageError> {
        transfers::lock(tx, transfer_id).await
    }

    async fn get(&self, transfer_id: &str) -> Result<Option<TransferRow>, StorageError> {
        transfers::get(&self.db, transfer_id).await
    }

    async fn by_ticket(
        &self,
        direction: &str,
        ticket_id: &str,
    ) -> Result<Option<TransferRow>, StorageError> {
        transfers::by_ticket(&self.db, direction, ticket_id).await
    }

    async fn list(
        &self,
        filter: &ListFilter,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<TransferRow>, StorageError> {
        transfers::list(&self.db, filter, limit, offset).await
    }

    async fn overdue(
        &self,
        as_of: DateTime<Utc>,
        direction: &str,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<TransferRow>, StorageError> {
        transfers::overdue(&self.db, as_of, direction, limit, offset).await
    }

    async fn count_overdue(
        &self,
        as_of: DateTime<Utc>,
    ) -> Result<Vec<(String, i64)>, StorageError> {
        transfers::count_overdue(&self.db, as_of).await
    }

    async fn legacy_classification_ids(
        &self,
        after: &str,
        limit: i64,
    ) -> Result<Vec<String>, StorageError> {
        classification::legacy_ids(&self.db, after, limit).await
    }

    async fn lock_legacy_classification(
        &self,
        tx: &mut Tx,
        transfer_id: &str,
    ) -> Result<Option<Vec<u8>>, StorageError> {
        classification::lock_legacy(tx, transfer_id).await
    }

    async fn set_classification(
        &self,
        tx: &mut Tx,
        transfer_id: &str,
        record: Option<&ClassificationRecord>,
    ) -> Result<(), StorageError> {
        classification::write(tx, transfer_id, record).await
    }

    async fn add_history(&self, tx: &mut Tx, entry: NewHistory<'_>) -> Result<(), StorageError> {
        transfers::add_history(tx, entry).await
    }

    async fn history(&self, transfer_id: &str) -> Result<Vec<HistoryRow>, StorageError> {
        transfers::history(&self.db, transfer_id).await
    }

    async fn add_delivery_job(
        &self,
        tx: &mut Tx,
        kind: &str,
        key: &str,
        transfer_id: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        deliveries::add_delivery_job(tx, kind, key, transfer_id, now).await
    }

    async fn delivery_jobs(
        &self,
        transfer_id: &str,
    ) -> Result<Vec<(String, String)>, StorageError> {
        deliveries::delivery_jobs(&self.db, transfer_id).await
    }

    async fn legacy_pending(&self, limit: i64) -> Result<Vec<LegacyDelivery>, StorageError> {
        deliveries::legacy_pending(&self.db, limit).await
    }

    async fn legacy_moved(
        &self,
        tx: &mut Tx,
        delivery_id: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        deliveries::legacy_moved(tx, delivery_id, now).await
    }

    async fn legacy_latest(
        &self,
        transfer_id: &str,
    ) -> Result<Option<LegacyDelivery>, StorageError> {
        deliveries::legacy_latest(&self.db, transfer_id).await
    }

    async fn legacy_dead_letters(
        &self,
        transfer_id: &str,
        limit: i64,
    ) -> Result<Vec<DeadLetterRow>, StorageError> {
        deliveries::legacy_dead_letters(&self.db, transfer_id, limit).await
    }
}
