//! The transfer ledger in domain terms: the [`Store`] trait and its SQL implementation
//! ([`SqlStore`]), SQL written once for Postgres and SQLite. Transfers and their history, which
//! delivery jobs each transfer owes, and the retired delivery queue (read, and moved into jobs).
//! A read-modify-write locks the transfer row first ([`Store::lock`]).

pub mod exchange_report;
mod rows;
mod sql;

use chrono::{DateTime, Utc};
use pingan_platform::storage::{StorageError, Tx};

pub use rows::{
    ClassificationRecord, DeadLetterRow, HistoryRow, LegacyDelivery, NewHistory, RuleMatch,
    SituationMatch, TransferRow, UnitNeed,
};
pub use sql::SqlStore;

/// Filters of a listing.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub direction: String,
    /// Comma-wrapped statuses (",PENDING,SENT,") or empty.
    pub statuses: String,
    pub incident_id: String,
    pub department: String,
    pub created_from: Option<DateTime<Utc>>,
    pub created_to: Option<DateTime<Utc>>,
}

/// Everything triage keeps in its database: the transfer ledger, its history, the delivery jobs'
/// index and the retired delivery queue.
#[tonic::async_trait]
pub trait Store: Send + Sync + std::fmt::Debug {
    /// Records a new transfer in `tx`, its classification as columns.
    async fn insert(&self, tx: &mut Tx, row: &TransferRow) -> Result<(), StorageError>;
    /// Writes the mutable fields of `row` (status, ticket, incident, complaint, department,
    /// reason, deadline, outcome note, updated_at) in `tx`.
    async fn save(&self, tx: &mut Tx, row: &TransferRow) -> Result<(), StorageError>;
    /// Locks a transfer for a read-modify-write in `tx` (the row lock on Postgres, the write
    /// lock on SQLite) and reads it; [`StorageError::NotFound`] when there is none.
    async fn lock(&self, tx: &mut Tx, transfer_id: &str) -> Result<TransferRow, StorageError>;
    /// Reads a transfer.
    async fn get(&self, transfer_id: &str) -> Result<Option<TransferRow>, StorageError>;
    /// The transfer of a 12345 ticket (`direction` empty: either way, newest first).
    async fn by_ticket(
        &self,
        direction: &str,
        ticket_id: &str,
    ) -> Result<Option<TransferRow>, StorageError>;
    /// Lists transfers matching `filter`, newest first.
    async fn list(
        &self,
        filter: &ListFilter,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<TransferRow>, StorageError>;
    /// Open transfers past their deadline at `as_of` (of one direction when not empty), most
    /// overdue first.
    async fn overdue(
        &self,
        as_of: DateTime<Utc>,
        direction: &str,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<TransferRow>, StorageError>;
    /// How many open transfers are past their deadline at `as_of`, per direction.
    async fn count_overdue(&self, as_of: DateTime<Utc>)
    -> Result<Vec<(String, i64)>, StorageError>;

    /// Up to `limit` transfers after `after` (by id) still holding a classification blob of the
    /// layout before migration 0003, in id order.
    async fn legacy_classification_ids(
        &self,
        after: &str,
        limit: i64,
    ) -> Result<Vec<String>, StorageError>;
    /// Locks a transfer in `tx` if it still holds a classification blob, and reads the blob.
    async fn lock_legacy_classification(
        &self,
        tx: &mut Tx,
        transfer_id: &str,
    ) -> Result<Option<Vec<u8>>, StorageError>;
    /// Writes the classification of a transfer as columns in `tx` (`None`: none readable),
    /// replacing what it had, and empties its old blob.
    async fn set_classification(
        &self,
        tx: &mut Tx,
        transfer_id: &str,
        classification: Option<&ClassificationRecord>,
    ) -> Result<(), StorageError>;

    /// Appends a status change of a transfer in `tx`.
    async fn add_history(&self, tx: &mut Tx, entry: NewHistory<'_>) -> Result<(), StorageError>;
    /// Every status change of a transfer, oldest first.
    async fn history(&self, transfer_id: &str) -> Result<Vec<HistoryRow>, StorageError>;

    /// Records in `tx` that `transfer_id` owes the job (`kind`, `key`); idempotent.
    async fn add_delivery_job(
        &self,
        tx: &mut Tx,
        kind: &str,
        key: &str,
        transfer_id: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StorageError>;
    /// The delivery jobs (kind, key) of a transfer, newest first.
    async fn delivery_jobs(&self, transfer_id: &str)
    -> Result<Vec<(String, String)>, StorageError>;

    /// Up to `limit` deliveries still pending in the retired queue, oldest first.
    async fn legacy_pending(&self, limit: i64) -> Result<Vec<LegacyDelivery>, StorageError>;
    /// Marks a retired-queue delivery as moved into a job, in the transaction that enqueues it
    /// (a delivery no longer pending is left as it is).
    async fn legacy_moved(
        &self,
        tx: &mut Tx,
        delivery_id: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StorageError>;
    /// The latest delivery of a transfer in the retired queue (transfers from before the jobs).
    async fn legacy_latest(
        &self,
        transfer_id: &str,
    ) -> Result<Option<LegacyDelivery>, StorageError>;
    /// The retired queue's dead letters, newest first (of one transfer when not empty).
    async fn legacy_dead_letters(
        &self,
        transfer_id: &str,
        limit: i64,
    ) -> Result<Vec<DeadLetterRow>, StorageError>;
}
