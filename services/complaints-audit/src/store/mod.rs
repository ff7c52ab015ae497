//! Storage in domain terms: the [`Store`] trait and its one SQL implementation over both
//! backends ([`SqlStore`]). Writes take the caller's transaction; reads that must see it do too.

mod legacy;
mod sql;

pub use legacy::{decode as legacy_decode, upgrade_legacy};
pub use sql::SqlStore;

use chrono::{DateTime, Utc};
use pingan_platform::StorageError;
use pingan_platform::storage::Tx;

use crate::domain::audit::{AuditRow, ChainHead, NewAuditEntry};
use crate::domain::records::{AccusedRow, ComplaintRow, EvidenceRow, FindingRecord, WarningRow};

/// Filters of ListComplaints (text filters empty = any).
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// `,A,B,` of status names.
    pub statuses: String,
    pub source: String,
    pub accused_officer_id: String,
    pub station_id: String,
    pub investigator_id: String,
    pub overdue_only: bool,
    pub now: Option<DateTime<Utc>>,
    pub received_from: Option<DateTime<Utc>>,
    pub received_to: Option<DateTime<Utc>>,
    pub finding: String,
    pub hotline_ticket_id: String,
    pub incident_id: String,
    /// `,a,b,` of the stations the caller may see; empty = all.
    pub visible_stations: String,
    /// Keyset cursor: the last (received_at, complaint_id) of the previous page.
    pub after: Option<(DateTime<Utc>, String)>,
    pub limit: i64,
}

/// Filters of a search.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Actor subject.
    pub actor_subject: String,
    /// Actor role.
    pub actor_role: String,
    /// Action.
    pub action: String,
    /// Resource type.
    pub resource_type: String,
    /// Resource id.
    pub resource_id: String,
    /// Source service.
    pub source_service: String,
    /// Trace id.
    pub trace_id: String,
    /// Outcome name.
    pub outcome: String,
    /// Station.
    pub station_id: String,
    /// Occurred at or after.
    pub from: Option<DateTime<Utc>>,
    /// Occurred before.
    pub to: Option<DateTime<Utc>>,
    /// Newest first.
    pub newest_first: bool,
    /// Continue after this sequence (exclusive); 0 to start.
    pub after_sequence: i64,
    /// Rows wanted.
    pub limit: i64,
}

/// Everything complaints-audit keeps: complaints, their accused and evidence, the audit chain.
#[tonic::async_trait]
pub trait Store: Send + Sync + std::fmt::Debug {
    // Complaints.

    /// The next case number of `year` (1, 2, 3, ...).
    async fn next_case_number(&self, tx: &mut Tx, year: i64) -> Result<i64, StorageError>;
    /// Stores a new complaint and its accused.
    async fn insert_complaint(
        &self,
        tx: &mut Tx,
        row: &ComplaintRow,
        accused: &[AccusedRow],
    ) -> Result<(), StorageError>;
    /// Replaces the accused of a complaint.
    async fn replace_accused(
        &self,
        tx: &mut Tx,
        complaint_id: &str,
        accused: &[AccusedRow],
    ) -> Result<(), StorageError>;
    /// Locks a complaint for the rest of `tx` and reads it; None when it does not exist.
    async fn lock_complaint(
        &self,
        tx: &mut Tx,
        complaint_id: &str,
    ) -> Result<Option<ComplaintRow>, StorageError>;
    /// Writes the mutable fields of a complaint.
    async fn update_complaint(&self, tx: &mut Tx, row: &ComplaintRow) -> Result<(), StorageError>;
    /// A complaint by id.
    async fn complaint(&self, complaint_id: &str) -> Result<Option<ComplaintRow>, StorageError>;
    /// A complaint by case number.
    async fn complaint_by_case_number(
        &self,
        case_number: &str,
    ) -> Result<Option<ComplaintRow>, StorageError>;
    /// The complaint filed from a 12345 ticket, read in `tx`.
    async fn complaint_by_ticket(
        &self,
        tx: &mut Tx,
        ticket_id: &str,
    ) -> Result<Option<ComplaintRow>, StorageError>;
    /// The complaint of `source` filed from the incident `incident_id` (e.g. a 110 call), in `tx`.
    async fn complaint_by_source_incident(
        &self,
        tx: &mut Tx,
        source: &str,
        incident_id: &str,
    ) -> Result<Option<ComplaintRow>, StorageError>;
    /// The complaint answered through a triage transfer, in `tx`.
    async fn complaint_by_transfer(
        &self,
        tx: &mut Tx,
        transfer_id: &str,
    ) -> Result<Option<ComplaintRow>, StorageError>;
    /// The accused of a complaint, in order.
    async fn accused(&self, complaint_id: &str) -> Result<Vec<AccusedRow>, StorageError>;
    /// The accused of a complaint, in order, read in `tx`.
    async fn accused_in(
        &self,
        tx: &mut Tx,
        complaint_id: &str,
    ) -> Result<Vec<AccusedRow>, StorageError>;
    /// A page of complaints, newest received first.
    async fn list_complaints(&self, filter: &ListFilter)
    -> Result<Vec<ComplaintRow>, StorageError>;
    /// Complaints against identified officers received in `[from, to)`, except those whose
    /// finding is in `excluded` (`,A,B,`).
    async fn warning_rows(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        excluded: &str,
    ) -> Result<Vec<WarningRow>, StorageError>;

    /// The finding of a complaint, if one was proposed.
    async fn finding(&self, complaint_id: &str) -> Result<Option<FindingRecord>, StorageError>;
    /// Like [`Store::finding`], read in `tx`.
    async fn finding_in(
        &self,
        tx: &mut Tx,
        complaint_id: &str,
    ) -> Result<Option<FindingRecord>, StorageError>;
    /// Writes the finding of a complaint, replacing the one stored.
    async fn put_finding(&self, tx: &mut Tx, record: &FindingRecord) -> Result<(), StorageError>;

    // Evidence.

    /// The evidence of a complaint in the order attached; content only when `with_content`.
    async fn evidence(
        &self,
        complaint_id: &str,
        with_content: bool,
    ) -> Result<Vec<EvidenceRow>, StorageError>;
    /// Like [`Store::evidence`], read in `tx`.
    async fn evidence_in(
        &self,
        tx: &mut Tx,
        complaint_id: &str,
        with_content: bool,
    ) -> Result<Vec<EvidenceRow>, StorageError>;
    /// Stores a piece of evidence.
    async fn insert_evidence(&self, tx: &mut Tx, row: &EvidenceRow) -> Result<(), StorageError>;
    /// One piece of evidence by id, with its content.
    async fn evidence_by_id(&self, evidence_id: &str) -> Result<Option<EvidenceRow>, StorageError>;
    /// Fills in a pending item with its content; false when it was no longer pending.
    async fn complete_evidence(&self, tx: &mut Tx, row: &EvidenceRow)
    -> Result<bool, StorageError>;
    /// The ids of the items still pending, read in `tx`.
    async fn pending_evidence_ids(&self, tx: &mut Tx) -> Result<Vec<String>, StorageError>;
    /// Records a failed fetch of a pending item (one more attempt) and why.
    async fn record_fetch_failure(
        &self,
        evidence_id: &str,
        reason: &str,
    ) -> Result<(), StorageError>;

    // The audit chain.

    /// Appends one entry at the head of the chain, in `tx` (the head stays locked until it
    /// ends). An entry id already stored is a conflict.
    async fn append_audit(
        &self,
        tx: &mut Tx,
        entry: NewAuditEntry,
        recorded_at: DateTime<Utc>,
    ) -> Result<AuditRow, StorageError>;
    /// Appends `entries` at the head of the chain in order, in `tx`, the head locked once: one
    /// result per entry, a conflict for an id already stored (that entry takes no sequence).
    async fn append_audit_batch(
        &self,
        tx: &mut Tx,
        entries: Vec<NewAuditEntry>,
        recorded_at: DateTime<Utc>,
    ) -> Result<Vec<Result<AuditRow, StorageError>>, StorageError>;
    /// The entry stored under `entry_id`.
    async fn audit_entry(&self, entry_id: &str) -> Result<Option<AuditRow>, StorageError>;
    /// The chain head.
    async fn audit_head(&self) -> Result<ChainHead, StorageError>;
    /// Rows `from..=to` in sequence order, at most `limit`.
    async fn audit_range(
        &self,
        from: i64,
        to: i64,
        limit: i64,
    ) -> Result<Vec<AuditRow>, StorageError>;
    /// The stored hash of row `sequence`, if the row exists.
    async fn audit_hash(&self, sequence: i64) -> Result<Option<String>, StorageError>;
    /// A page of entries matching `filter`.
    async fn query_audit(&self, filter: &AuditFilter) -> Result<Vec<AuditRow>, StorageError>;
    /// Removes rows recorded before `cutoff` in its own transaction, keeping the last removed
    /// row's hash as the anchor the oldest retained row links to; the rows removed.
    async fn prune_audit(&self, cutoff: DateTime<Utc>) -> Result<u64, StorageError>;
}

/// Joins values into `,a,b,` so `$n LIKE '%,' || column || ',%'` tests membership portably.
pub fn member_list<'a>(values: impl IntoIterator<Item = &'a str>) -> String {
    let values: Vec<&str> = values.into_iter().filter(|v| !v.is_empty()).collect();
    if values.is_empty() {
        String::new()
    } else {
        format!(",{},", values.join(","))
    }
}
