//! Storage of case follow-up in domain terms: the [`Store`] trait and its one SQL implementation
//! over both backends ([`SqlStore`]). Phone and ID numbers are stored only encrypted (`*_enc`)
//! and as keyed hashes (`*_index`); the records themselves never carry them in clear.

mod cases;
mod cols;
mod db;
mod items;
mod legacy;
mod rows;
mod sql;
mod sql_lostfound;
mod store_impl;

pub use sql::SqlStore;

use chrono::{DateTime, Utc};
use pingan_platform::StorageError;
use pingan_platform::storage::Tx;
use pingan_proto::followup::v1::{FoundItem, LostReport, Match, Mediation, Revisit};

/// Filters of ListDueRevisits, resolved.
#[derive(Debug, Clone, Default)]
pub struct DueFilter {
    /// Station ('' any).
    pub station_id: String,
    /// Grid ('' any).
    pub grid_id: String,
    /// Officer ('' any).
    pub officer_id: String,
    /// Due strictly before.
    pub due_before: Option<DateTime<Utc>>,
}

/// A page of due revisits with counts over all pages.
#[derive(Debug, Clone, Default)]
pub struct DuePage {
    /// Revisits with their encrypted contact phones.
    pub revisits: Vec<(Revisit, Option<Vec<u8>>)>,
    /// Matching revisits, all pages.
    pub total: i64,
    /// Of those, overdue now.
    pub overdue: i64,
}

/// Personal data of a found item, stored apart from the record.
#[derive(Debug, Clone, Default)]
pub struct FoundPii {
    /// Keyed hash of the ID number on an ID card.
    pub id_number_index: Option<String>,
    /// The ID number, encrypted.
    pub id_number_enc: Option<Vec<u8>>,
    /// The owner's phone, encrypted.
    pub owner_phone_enc: Option<Vec<u8>>,
    /// The recipient's ID number, encrypted.
    pub recipient_id_enc: Option<Vec<u8>>,
}

/// Personal data of a lost report, stored apart from the record.
#[derive(Debug, Clone, Default)]
pub struct LostPii {
    /// Keyed hash of the owner's ID number.
    pub id_number_index: Option<String>,
    /// The owner's ID number, encrypted.
    pub id_number_enc: Option<Vec<u8>>,
    /// The owner's phone, encrypted.
    pub owner_phone_enc: Vec<u8>,
}

/// Filters of ListMatches.
#[derive(Debug, Clone, Default)]
pub struct MatchFilter {
    /// Found item ('' any).
    pub found_item_id: String,
    /// Lost report ('' any).
    pub lost_report_id: String,
    /// Station of either side ('' any).
    pub station_id: String,
    /// Lowest score.
    pub min_score: f64,
}

/// A page request.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    /// Rows to return.
    pub limit: i64,
    /// Rows to skip.
    pub offset: i64,
}

/// A stored mediation with its encrypted party phones (one per party, newline separated).
pub type MediationRow = (Mediation, Option<Vec<u8>>);
/// A stored revisit with its encrypted contact phone.
pub type RevisitRow = (Revisit, Option<Vec<u8>>);
/// A stored found item with its encrypted owner phone and ID-number index.
pub type FoundRow = (FoundItem, Option<Vec<u8>>, Option<String>);
/// A stored lost report with its encrypted owner phone and ID-number index.
pub type LostRow = (LostReport, Option<Vec<u8>>, Option<String>);

/// Everything case follow-up keeps. Writes and `*_for_update` reads run in the caller's
/// transaction; `*_for_update` locks the row until it ends.
#[tonic::async_trait]
pub trait Store: Send + Sync + std::fmt::Debug {
    /// Stores a new mediation.
    async fn insert_mediation(
        &self,
        tx: &mut Tx,
        mediation: &Mediation,
        party_phones_enc: Option<Vec<u8>>,
    ) -> Result<(), StorageError>;
    /// A mediation, locked for update.
    async fn mediation_for_update(
        &self,
        tx: &mut Tx,
        mediation_id: &str,
    ) -> Result<Option<MediationRow>, StorageError>;
    /// Rewrites a mediation (its party phones are kept).
    async fn update_mediation(
        &self,
        tx: &mut Tx,
        mediation: &Mediation,
    ) -> Result<(), StorageError>;
    /// The latest mediation of an incident.
    async fn latest_mediation(
        &self,
        tx: &mut Tx,
        incident_id: &str,
    ) -> Result<Option<MediationRow>, StorageError>;
    /// Mediations opened in `[from, to)`.
    async fn mediations_in_range(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Mediation>, StorageError>;

    /// Stores a revisit once per `schedule_key`; false when one was already scheduled for it.
    async fn insert_revisit(
        &self,
        tx: &mut Tx,
        revisit: &Revisit,
        schedule_key: &str,
        contact_phone_enc: Option<Vec<u8>>,
    ) -> Result<bool, StorageError>;
    /// A revisit, locked for update.
    async fn revisit_for_update(
        &self,
        tx: &mut Tx,
        revisit_id: &str,
    ) -> Result<Option<RevisitRow>, StorageError>;
    /// A revisit's encrypted contact phone (outside any transaction).
    async fn revisit_phone(&self, revisit_id: &str) -> Result<Option<Vec<u8>>, StorageError>;
    /// Revisits of an incident still due.
    async fn open_revisits_of_incident(
        &self,
        tx: &mut Tx,
        incident_id: &str,
    ) -> Result<Vec<RevisitRow>, StorageError>;
    /// Rewrites a revisit (and its contact phone, when given).
    async fn update_revisit(
        &self,
        tx: &mut Tx,
        revisit: &Revisit,
        contact_phone_enc: Option<Vec<u8>>,
    ) -> Result<(), StorageError>;
    /// Due revisits matching `filter`, earliest due first, with counts (overdue as of `now`).
    async fn list_due(
        &self,
        filter: &DueFilter,
        now: DateTime<Utc>,
        page: Page,
    ) -> Result<DuePage, StorageError>;
    /// Revisits due in `[from, to)`.
    async fn revisits_due_in_range(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Revisit>, StorageError>;

    /// Stores a new found item.
    async fn insert_found_item(
        &self,
        tx: &mut Tx,
        item: &FoundItem,
        pii: FoundPii,
    ) -> Result<(), StorageError>;
    /// A found item, locked for update.
    async fn found_item_for_update(
        &self,
        tx: &mut Tx,
        found_item_id: &str,
    ) -> Result<Option<FoundRow>, StorageError>;
    /// A found item's encrypted owner phone (outside any transaction).
    async fn found_owner_phone(&self, found_item_id: &str)
    -> Result<Option<Vec<u8>>, StorageError>;
    /// The encrypted ID number of a found ID card.
    async fn found_id_number(&self, found_item_id: &str) -> Result<Option<Vec<u8>>, StorageError>;
    /// Rewrites a found item (personal data kept unless given).
    async fn update_found_item(
        &self,
        tx: &mut Tx,
        item: &FoundItem,
        pii: FoundPii,
    ) -> Result<(), StorageError>;
    /// Ids of ID cards whose registry lookup is pending (their lookup jobs are enqueued on start).
    async fn pending_lookups(&self, tx: &mut Tx) -> Result<Vec<String>, StorageError>;
    /// Found items not yet returned of `kind`, or with ID-number index `id_index`; as the first
    /// read of a matching write it locks like `*_for_update`.
    async fn found_candidates(
        &self,
        tx: &mut Tx,
        kind: i32,
        id_index: &str,
    ) -> Result<Vec<FoundRow>, StorageError>;
    /// Found items registered in `[from, to)`.
    async fn found_in_range(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<FoundItem>, StorageError>;

    /// Stores a new lost report.
    async fn insert_lost_report(
        &self,
        tx: &mut Tx,
        report: &LostReport,
        pii: LostPii,
    ) -> Result<(), StorageError>;
    /// A lost report, locked for update.
    async fn lost_report_for_update(
        &self,
        tx: &mut Tx,
        lost_report_id: &str,
    ) -> Result<Option<LostRow>, StorageError>;
    /// Rewrites a lost report (personal data kept).
    async fn update_lost_report(
        &self,
        tx: &mut Tx,
        report: &LostReport,
    ) -> Result<(), StorageError>;
    /// Lost reports not yet returned of `kind`, or with ID-number index `id_index`; as the first
    /// read of a matching write it locks like `*_for_update`.
    async fn lost_candidates(
        &self,
        tx: &mut Tx,
        kind: i32,
        id_index: &str,
    ) -> Result<Vec<LostRow>, StorageError>;
    /// Lost reports registered in `[from, to)`.
    async fn lost_in_range(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<LostReport>, StorageError>;

    /// Stores (or refreshes the score of) a candidate match.
    async fn upsert_match(
        &self,
        tx: &mut Tx,
        found: &Match,
        found_station_id: &str,
        lost_station_id: &str,
    ) -> Result<(), StorageError>;
    /// Candidate matches, best first.
    async fn list_matches(
        &self,
        filter: &MatchFilter,
        page: Page,
    ) -> Result<Vec<Match>, StorageError>;

    /// Rewrites rows still in the pre-0002 encoding as columns; how many (0 on a second run).
    async fn convert_legacy_rows(&self) -> Result<u64, StorageError>;
}
