//! The SQL store: portable SQL written once with `$N` placeholders, run on either backend
//! through the platform's `with_db!` / `with_tx!`; `Db::pick` only where the SQL differs.

mod audit;
mod complaints;
mod evidence;
pub(super) mod findings;

use chrono::{DateTime, Utc};
use pingan_platform::storage::Tx;
use pingan_platform::{Db, StorageError};

use super::{AuditFilter, ListFilter, Store};
use crate::domain::audit::{AuditRow, ChainHead, NewAuditEntry};
use crate::domain::records::{AccusedRow, ComplaintRow, EvidenceRow, FindingRecord, WarningRow};

/// The complaints-audit tables on Postgres or SQLite.
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
    async fn next_case_number(&self, tx: &mut Tx, year: i64) -> Result<i64, StorageError> {
        complaints::next_case_number(tx, year).await
    }

    async fn insert_complaint(
        &self,
        tx: &mut Tx,
        row: &ComplaintRow,
        accused: &[AccusedRow],
    ) -> Result<(), StorageError> {
        complaints::insert(tx, row, accused).await
    }

    async fn replace_accused(
        &self,
        tx: &mut Tx,
        complaint_id: &str,
        accused: &[AccusedRow],
    ) -> Result<(), StorageError> {
        complaints::replace_accused(tx, complaint_id, accused).await
    }

    async fn lock_complaint(
        &self,
        tx: &mut Tx,
        complaint_id: &str,
    ) -> Result<Option<ComplaintRow>, StorageError> {
        complaints::lock(tx, complaint_id).await
    }

    async fn update_complaint(&self, tx: &mut Tx, row: &ComplaintRow) -> Result<(), StorageError> {
        complaints::update(tx, row).await
    }

    async fn complaint(&self, complaint_id: &str) -> Result<Option<ComplaintRow>, StorageError> {
        complaints::one(&self.db, complaints::SELECT_BY_ID, &[complaint_id]).await
    }

    async fn complaint_by_case_number(
        &self,
        case_number: &str,
    ) -> Result<Option<ComplaintRow>, StorageError> {
        complaints::one(&self.db, complaints::SELECT_BY_CASE_NUMBER, &[case_number]).await
    }

    async fn complaint_by_ticket(
        &self,
        tx: &mut Tx,
        ticket_id: &str,
    ) -> Result<Option<ComplaintRow>, StorageError> {
        complaints::one_in(tx, complaints::SELECT_BY_TICKET, &[ticket_id]).await
    }

    async fn complaint_by_source_incident(
        &self,
        tx: &mut Tx,
        source: &str,
        incident_id: &str,
    ) -> Result<Option<ComplaintRow>, StorageError> {
        complaints::one_in(
            tx,
            complaints::SELECT_BY_SOURCE_INCIDENT,
            &[source, incident_id],
        )
        .await
    }

    async fn complaint_by_transfer(
        &self,
        tx: &mut Tx,
        transfer_id: &str,
    ) -> Result<Option<ComplaintRow>, StorageError> {
        complaints::one_in(tx, complaints::SELECT_BY_TRANSFER, &[transfer_id]).await
    }

    async fn accused(&self, complaint_id: &str) -> Result<Vec<AccusedRow>, StorageError> {
        complaints::accused(&self.db, complaint_id).await
    }

    async fn accused_in(
        &self,
        tx: &mut Tx,
        complaint_id: &str,
    ) -> Result<Vec<AccusedRow>, StorageError> {
        complaints::accused_in(tx, complaint_id).await
    }

    async fn list_complaints(
        &self,
        filter: &ListFilter,
    ) -> Result<Vec<ComplaintRow>, StorageError> {
        complaints::list(&self.db, filter).await
    }

    async fn warning_rows(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        excluded: &str,
    ) -> Result<Vec<WarningRow>, StorageError> {
        complaints::warning_rows(&self.db, from, to, excluded).await
    }

    async fn finding(&self, complaint_id: &str) -> Result<Option<FindingRecord>, StorageError> {
        match findings::finding(&self.db, complaint_id).await? {
            Some(record) => Ok(Some(record)),
            None => super::legacy::finding(&self.db, complaint_id).await,
        }
    }

    async fn finding_in(
        &self,
        tx: &mut Tx,
        complaint_id: &str,
    ) -> Result<Option<FindingRecord>, StorageError> {
        match findings::finding_in(tx, complaint_id).await? {
            Some(record) => Ok(Some(record)),
            None => super::legacy::finding_in(tx, complaint_id).await,
        }
    }

    async fn put_finding(&self, tx: &mut Tx, record: &FindingRecord) -> Result<(), StorageError> {
        findings::put(tx, record).await
    }

    async fn evidence(
        &self,
        complaint_id: &str,
        with_content: bool,
    ) -> Result<Vec<EvidenceRow>, StorageError> {
        evidence::evidence(&self.db, complaint_id, with_content).await
    }

    async fn evidence_in(
        &self,
        tx: &mut Tx,
        complaint_id: &str,
        with_content: bool,
    ) -> Result<Vec<EvidenceRow>, StorageError> {
        evidence::evidence_in(&self.db, tx, complaint_id, with_content).await
    }

    async fn insert_evidence(&self, tx: &mut Tx, row: &EvidenceRow) -> Result<(), StorageError> {
        evidence::insert_evidence(tx, row).await
    }

    async fn evidence_by_id(&self, evidence_id: &str) -> Result<Option<EvidenceRow>, StorageError> {
        evidence::by_id(&self.db, evidence_id).await
    }

    async fn complete_evidence(
        &self,
        tx: &mut Tx,
        row: &EvidenceRow,
    ) -> Result<bool, StorageError> {
        evidence::complete_evidence(tx, row).await
    }

    async fn pending_evidence_ids(&self, tx: &mut Tx) -> Result<Vec<String>, StorageError> {
        evidence::pending_ids(tx).await
    }

    async fn record_fetch_failure(
        &self,
        evidence_id: &str,
        reason: &str,
    ) -> Result<(), StorageError> {
        evidence::fetch_failed(&self.db, evidence_id, reason).await
    }

    async fn append_audit(
        &self,
        tx: &mut Tx,
        entry: NewAuditEntry,
        recorded_at: DateTime<Utc>,
    ) -> Result<AuditRow, StorageError> {
        audit::append(tx, entry, recorded_at).await
    }

    async fn append_audit_batch(
        &self,
        tx: &mut Tx,
        entries: Vec<NewAuditEntry>,
        recorded_at: DateTime<Utc>,
    ) -> Result<Vec<Result<AuditRow, StorageError>>, StorageError> {
        audit::append_batch(tx, entries, recorded_at).await
    }

    async fn audit_entry(&self, entry_id: &str) -> Result<Option<AuditRow>, StorageError> {
        audit::find(&self.db, entry_id).await
    }

    async fn audit_head(&self) -> Result<ChainHead, StorageError> {
        audit::head(&self.db).await
    }

    async fn audit_range(
        &self,
        from: i64,
        to: i64,
        limit: i64,
    ) -> Result<Vec<AuditRow>, StorageError> {
        audit::range(&self.db, from, to, limit).await
    }

    async fn audit_hash(&self, sequence: i64) -> Result<Option<String>, StorageError> {
        audit::hash_of(&self.db, sequence).await
    }

    async fn query_audit(&self, filter: &AuditFilter) -> Result<Vec<AuditRow>, StorageError> {
        audit::query(&self.db, filter).await
    }

    async fn prune_audit(&self, cutoff: DateTime<Utc>) -> Result<u64, StorageError> {
        audit::prune(&self.db, cutoff).await
    }
}
