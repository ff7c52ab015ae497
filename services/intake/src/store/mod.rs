//! Storage in domain terms: the [`Store`] trait and its SQL implementation ([`SqlStore`]), SQL
//! written once for Postgres and SQLite. Writes that read first lock the incident row (a no-op
//! UPDATE, which also takes SQLite's write lock up front) so concurrent routing and events never
//! lose an update. A linked incident is never deleted: it points to the live incident it was
//! linked into (`merged_into`), so every id ever answered resolves.

pub mod analysis;
pub mod exchange;
mod sql;

use chrono::{DateTime, Utc};
use pingan_platform::storage::{StorageError, Tx};

use crate::domain::{
    CallRecord, ClassificationRecord, DuplicateCandidate, EntryRecord, IncidentRecord,
};

pub use sql::SqlStore;

/// Filters of ListIncidents, already resolved (empty strings: no filter).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IncidentFilter {
    /// Comma-separated status numbers.
    pub statuses: String,
    pub grid_id: String,
    pub station_id: String,
    /// 0: any channel.
    pub channel: i32,
    pub received_from: Option<DateTime<Utc>>,
    pub received_to: Option<DateTime<Utc>>,
    /// Comma-separated priority numbers.
    pub priorities: String,
    /// Comma-separated stations the caller may see; empty: every station.
    pub jurisdiction: String,
    /// Keyset cursor: incidents strictly older than (received_at, incident_id).
    pub after: Option<(DateTime<Utc>, String)>,
    pub limit: i64,
    /// Only incidents held for a location (see `app::locate::needs_location`).
    pub needs_location: bool,
}

/// Everything intake keeps in its database: incidents, calls, duplicate links and the timeline.
#[tonic::async_trait]
pub trait Store: Send + Sync + std::fmt::Debug {
    /// Takes the write lock of the intake tables in `tx` before anything is read (SQLite; a
    /// no-op on Postgres, where rows are locked as they are written).
    async fn write_lock(&self, tx: &mut Tx) -> Result<(), StorageError>;

    /// Adds an incident.
    async fn insert_incident(&self, tx: &mut Tx, i: &IncidentRecord) -> Result<(), StorageError>;
    /// Writes every mutable column of an incident read with [`Store::lock_incident`], including
    /// `link_checked` (it stands on its own: may be routed, and linked into) — not its place,
    /// its link nor its classification: see [`Store::set_location`], [`Store::set_address`],
    /// [`Store::link`], [`Store::set_classification`].
    async fn save_incident(&self, tx: &mut Tx, i: &IncidentRecord) -> Result<(), StorageError>;
    /// Replaces the classification of an incident (`None`: not classified) and clears the blob
    /// the old layout kept it in.
    async fn set_classification(
        &self,
        tx: &mut Tx,
        incident_id: &str,
        classification: Option<&ClassificationRecord>,
    ) -> Result<(), StorageError>;
    /// Gives a classification to an incident that has none (read under lock: no child rows to
    /// replace), in as few statements as its lists allow.
    async fn add_classification(
        &self,
        tx: &mut Tx,
        incident_id: &str,
        classification: &ClassificationRecord,
    ) -> Result<(), StorageError>;
    /// Up to `limit` incidents still holding a classification blob of the layout before
    /// migration 0003.
    async fn legacy_classification_ids(&self, limit: i64) -> Result<Vec<String>, StorageError>;
    /// Reads the old classification blob of exactly this incident in `tx`, locking the incident,
    /// if it still has one (an incident without one is not locked by this).
    async fn legacy_classification(
        &self,
        tx: &mut Tx,
        incident_id: &str,
    ) -> Result<Option<Vec<u8>>, StorageError>;
    /// Gives an incident the address a dispatcher placed it at.
    async fn set_address(
        &self,
        tx: &mut Tx,
        incident_id: &str,
        address: &str,
    ) -> Result<(), StorageError>;
    /// Gives an incident a point: its address resolved, or a dispatcher placed it.
    async fn set_location(
        &self,
        tx: &mut Tx,
        incident_id: &str,
        lat: f64,
        lon: f64,
    ) -> Result<(), StorageError>;
    /// Locks an incident for a read-modify-write in `tx` and reads it; a linked id resolves to
    /// (and locks) the live incident it was linked into.
    async fn lock_incident(
        &self,
        tx: &mut Tx,
        incident_id: &str,
    ) -> Result<Option<IncidentRecord>, StorageError>;
    /// Locks exactly this incident (a linked one too) in `tx` and reads it.
    async fn lock_exact(
        &self,
        tx: &mut Tx,
        incident_id: &str,
    ) -> Result<Option<IncidentRecord>, StorageError>;
    /// True when exactly this incident already records `dispatch_id` and a priority (dispatch's
    /// echo of a dispatch intake opened itself has nothing to add).
    async fn records_dispatch(
        &self,
        tx: &mut Tx,
        incident_id: &str,
        dispatch_id: &str,
    ) -> Result<bool, StorageError>;
    /// An incident by id; a linked id gives the live incident it was linked into.
    async fn incident(&self, incident_id: &str) -> Result<Option<IncidentRecord>, StorageError>;
    /// Exactly this incident, linked or not.
    async fn incident_exact(
        &self,
        incident_id: &str,
    ) -> Result<Option<IncidentRecord>, StorageError>;
    /// The incident a 12345 transfer belongs to.
    async fn incident_by_transfer(
        &self,
        tx: &mut Tx,
        transfer_id: &str,
    ) -> Result<Option<String>, StorageError>;
    /// A page of live incidents (linked ones are shown through theirs), newest first.
    async fn list(&self, filter: &IncidentFilter) -> Result<Vec<IncidentRecord>, StorageError>;

    /// Adds a call.
    async fn insert_call(&self, tx: &mut Tx, c: &CallRecord) -> Result<(), StorageError>;
    /// The call a source platform already sent under (channel, source_call_id).
    async fn call_by_source(
        &self,
        tx: &mut Tx,
        channel: i32,
        source_call_id: &str,
    ) -> Result<Option<CallRecord>, StorageError>;
    /// One call.
    async fn call(&self, call_id: &str) -> Result<Option<CallRecord>, StorageError>;
    /// Every call of an incident, the first first.
    async fn calls_of(&self, incident_id: &str) -> Result<Vec<CallRecord>, StorageError>;
    /// [`Store::calls_of`] read in `tx`.
    async fn calls_in(
        &self,
        tx: &mut Tx,
        incident_id: &str,
    ) -> Result<Vec<CallRecord>, StorageError>;
    /// Records the answer given for a call unless one was recorded before (the first writer
    /// wins); returns the recorded one.
    async fn record_answer(
        &self,
        call_id: &str,
        incident_id: &str,
        outcome: i32,
    ) -> Result<Option<(String, i32)>, StorageError>;

    /// [`Store::record_answer`] in `tx` (with the routing that decided the answer).
    async fn record_answer_in(
        &self,
        tx: &mut Tx,
        call_id: &str,
        incident_id: &str,
        outcome: i32,
    ) -> Result<Option<(String, i32)>, StorageError>;

    /// Appends a timeline entry.
    async fn insert_entry(&self, tx: &mut Tx, e: &EntryRecord) -> Result<(), StorageError>;
    /// The timeline of an incident, oldest first.
    async fn timeline(&self, incident_id: &str) -> Result<Vec<EntryRecord>, StorageError>;

    /// Locks the link cells `cells` (sorted, from `domain::link_cells`) in `tx` until it ends;
    /// taken first in the transaction. Decisions sharing a cell see each other's outcome.
    async fn take_link_cells(
        &self,
        tx: &mut Tx,
        cells: &[String],
        at: DateTime<Utc>,
    ) -> Result<(), StorageError>;
    /// Decided primaries, live and open, with a location, received between `from` and `to`,
    /// filed in one of `cells` (`domain::search_cells`; anywhere in the window when `None`).
    async fn link_candidates(
        &self,
        tx: &mut Tx,
        except: &str,
        cells: Option<&[String]>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<DuplicateCandidate>, StorageError>;
    /// Files the located incidents received since `since` that a release before the duplicate
    /// search by place left unfiled; how many were filed.
    async fn file_unfiled(&self, since: DateTime<Utc>) -> Result<u64, StorageError>;
    /// Links `from` into the live incident `into`: its calls move (as duplicates `distance_m`
    /// away), it stops routing and keeps pointing to `into`. False when it was already linked.
    async fn link(
        &self,
        tx: &mut Tx,
        from: &str,
        into: &str,
        distance_m: f64,
        at: DateTime<Utc>,
    ) -> Result<bool, StorageError>;
    /// The incidents linked into `incident_id`, oldest id first.
    async fn linked_ids(&self, incident_id: &str) -> Result<Vec<String>, StorageError>;
}
