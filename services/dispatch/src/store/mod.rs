//! Storage in domain terms: the [`Store`] trait and its SQL implementation ([`SqlStore`]) over
//! both backends. Every field is a typed column (see migration 0002); rows written before it
//! carry their record as a protobuf `doc`, read as such until [`Store::convert_legacy_rows`]
//! rewrote them.
//!
//! The reservation of a unit is one conditional UPDATE of its row (AVAILABLE and not held by an
//! assignment → held by this one); on Postgres it skips a row another transaction is reserving
//! instead of waiting for it. A partial unique index on active assignments per unit backs it up.

pub mod analysis;
mod queries;
mod rows;
mod sql;

use chrono::{DateTime, Utc};
use pingan_platform::storage::{StorageError, Tx};
use pingan_proto::dispatch::v1::{AssignmentStatus, UnitStatus};

use crate::domain::model::{Assignment, Dispatch, Flight, NewUnit, TimelineEntry, Unit};

pub use sql::SqlStore;

/// Filters of a dispatch listing that SQL applies (empty strings: any).
#[derive(Debug, Clone, Default)]
pub struct DispatchFilter {
    pub station_id: String,
    pub grid_id: String,
    pub incident_id: String,
    pub only_sla_breached: bool,
    pub opened_from: Option<DateTime<Utc>>,
    pub opened_until: Option<DateTime<Utc>>,
    pub unit_id: String,
}

/// Where a listing of dispatches resumes: after `(opened_at, dispatch_id)`, newest first.
pub type DispatchCursor = (DateTime<Utc>, String);

/// Everything dispatch keeps in its database.
#[tonic::async_trait]
pub trait Store: Send + Sync + std::fmt::Debug {
    /// Creates the unit, or updates its registration (status kept); true when created.
    async fn register_unit(
        &self,
        tx: &mut Tx,
        unit: &NewUnit,
        now: DateTime<Utc>,
    ) -> Result<bool, StorageError>;
    /// One unit, in a transaction.
    async fn unit_in(&self, tx: &mut Tx, unit_id: &str) -> Result<Option<Unit>, StorageError>;
    /// One unit.
    async fn unit(&self, unit_id: &str) -> Result<Option<Unit>, StorageError>;
    /// The units among `unit_ids` that exist, in one read per few hundred ids (order not kept).
    async fn units(&self, unit_ids: &[String]) -> Result<Vec<Unit>, StorageError>;
    /// Units after `after` in id order, optionally of one station.
    async fn list_units(
        &self,
        after: &str,
        station_id: &str,
        limit: i64,
    ) -> Result<Vec<Unit>, StorageError>;
    /// Every unit (to warm the live store).
    async fn all_units(&self) -> Result<Vec<Unit>, StorageError>;
    /// How many units each station has in each status.
    async fn unit_counts(&self) -> Result<Vec<((String, UnitStatus), i64)>, StorageError>;
    /// Sets a manual status unless an assignment holds the unit; false when it does (or no unit).
    async fn set_manual_status(
        &self,
        tx: &mut Tx,
        unit_id: &str,
        status: UnitStatus,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StorageError>;
    /// Reserves an AVAILABLE, unheld unit for `assignment_id`, atomically across replicas:
    /// exactly one of any number of concurrent reservations wins. False when it is not free.
    async fn reserve(
        &self,
        tx: &mut Tx,
        unit_id: &str,
        dispatch_id: &str,
        assignment_id: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StorageError>;
    /// Moves a held unit's status along with its assignment.
    async fn set_held_status(
        &self,
        tx: &mut Tx,
        unit_id: &str,
        assignment_id: &str,
        status: UnitStatus,
        now: DateTime<Utc>,
    ) -> Result<bool, StorageError>;
    /// Frees a unit held by `assignment_id`, setting `status` and `reason`.
    async fn release(
        &self,
        tx: &mut Tx,
        unit_id: &str,
        assignment_id: &str,
        status: UnitStatus,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StorageError>;

    /// Stores a new dispatch (its assignments are stored separately); Conflict when its
    /// incident already has an open dispatch.
    async fn insert_dispatch(&self, tx: &mut Tx, dispatch: &Dispatch) -> Result<(), StorageError>;
    /// Rewrites a dispatch (not its assignments).
    async fn update_dispatch(&self, tx: &mut Tx, dispatch: &Dispatch) -> Result<(), StorageError>;
    /// Loads a dispatch with its assignments, locking it for the rest of the transaction.
    async fn lock_dispatch(
        &self,
        tx: &mut Tx,
        dispatch_id: &str,
    ) -> Result<Option<Dispatch>, StorageError>;
    /// Loads a dispatch with its assignments.
    async fn dispatch(&self, dispatch_id: &str) -> Result<Option<Dispatch>, StorageError>;
    /// Dispatches, newest first, strictly after the cursor.
    async fn list_dispatches(
        &self,
        filter: &DispatchFilter,
        cursor: Option<DispatchCursor>,
        limit: i64,
    ) -> Result<Vec<Dispatch>, StorageError>;
    /// Open dispatches, oldest first (the board snapshot).
    async fn open_dispatches(&self, limit: i64) -> Result<Vec<Dispatch>, StorageError>;
    /// Open dispatches whose response target passed with no unit en route yet.
    async fn sla_due(&self, now: DateTime<Utc>, limit: i64) -> Result<Vec<String>, StorageError>;
    /// Dispatches with an assignment waiting for acknowledgement past its deadline.
    async fn ack_due(&self, now: DateTime<Utc>, limit: i64) -> Result<Vec<String>, StorageError>;

    /// Stores a new assignment.
    async fn insert_assignment(
        &self,
        tx: &mut Tx,
        assignment: &Assignment,
    ) -> Result<(), StorageError>;
    /// Rewrites an assignment if it is still in `expected` status; false when it moved meanwhile.
    async fn update_assignment(
        &self,
        tx: &mut Tx,
        assignment: &Assignment,
        expected: AssignmentStatus,
    ) -> Result<bool, StorageError>;

    /// Appends a timeline entry.
    async fn insert_entry(&self, tx: &mut Tx, entry: &TimelineEntry) -> Result<(), StorageError>;
    /// The timeline of a dispatch, or (with an empty `dispatch_id`) of every dispatch of an
    /// incident, in time order.
    async fn timeline(
        &self,
        dispatch_id: &str,
        incident_id: &str,
    ) -> Result<Vec<TimelineEntry>, StorageError>;

    /// Stores a flight of a drone of `station_id`.
    async fn insert_flight(
        &self,
        tx: &mut Tx,
        flight: &Flight,
        station_id: &str,
    ) -> Result<(), StorageError>;
    /// Flights that took off in `[from, until)`, with their drone's station.
    async fn flights(
        &self,
        from: Option<DateTime<Utc>>,
        until: Option<DateTime<Utc>>,
        station_id: &str,
    ) -> Result<Vec<(Flight, String)>, StorageError>;

    /// Rewrites rows stored before the column layout (protobuf `doc`) into columns; idempotent,
    /// one row per transaction. Returns how many rows it converted.
    async fn convert_legacy_rows(&self) -> Result<u64, StorageError>;
}

/// Earliest and latest instants used for open time ranges.
pub(crate) fn time_bounds(
    start: Option<DateTime<Utc>>,
    end: Option<DateTime<Utc>>,
) -> (DateTime<Utc>, DateTime<Utc>) {
    let min = DateTime::from_timestamp(0, 0).unwrap_or_default();
    let max = DateTime::from_timestamp(253_402_300_799, 0).unwrap_or_default();
    (start.unwrap_or(min), end.unwrap_or(max))
}
