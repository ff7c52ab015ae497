//! Storage in domain terms: the [`Store`] trait and its SQL implementation over both backends.

mod db;
mod encode;
mod legacy;
mod places;
mod queries;
mod reach;
mod reads;
mod service_requests;
mod sql;
mod support;
mod work;

pub use legacy::upgrade_legacy;
pub use service_requests::{ServiceRequestFilter, ServiceRequestStore};
pub use sql::SqlStore;

use pingan_platform::StorageError;
use pingan_platform::storage::Tx;

use crate::domain::*;

/// Filters of a listing. Empty strings and zeros mean "any".
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// Only these stations (the caller's jurisdiction); `None` is the whole bureau.
    pub stations: Option<Vec<String>>,
    /// Only this station.
    pub station_id: String,
    /// Only this grid.
    pub grid_id: String,
    /// Only grids this person is responsible for (or needs assigned to them).
    pub officer_id: String,
}

/// A page request.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    /// Rows to skip.
    pub offset: i64,
    /// Rows to return.
    pub limit: i64,
}

/// Filters of the open needs listing.
#[derive(Debug, Clone, Default)]
pub struct NeedFilter {
    pub scope: Scope,
    pub resident_id: String,
    pub premises_id: String,
    pub categories: Vec<i32>,
    /// Only needs due before this time.
    pub due_before: Option<Millis>,
}

/// Filters of the re-inspection listing.
#[derive(Debug, Clone, Default)]
pub struct ReinspectionFilter {
    pub scope: Scope,
    pub premises_kind: i32,
    pub due_before: Option<Millis>,
}

/// Filters of outreach events.
#[derive(Debug, Clone, Default)]
pub struct OutreachFilter {
    pub scope: Scope,
    pub grid_ids: Vec<String>,
    pub from: Option<Millis>,
    pub until: Option<Millis>,
}

/// Filters of the premises listing (`scope.officer_id` is not used).
#[derive(Debug, Clone, Default)]
pub struct PremisesFilter {
    pub scope: Scope,
    /// Only this kind (0: any).
    pub kind: i32,
}

/// Filters of the inspections listing (`scope.officer_id` is not used); the period is on
/// `started_at`, `[from, until)`.
#[derive(Debug, Clone, Default)]
pub struct InspectionFilter {
    pub scope: Scope,
    pub premises_id: String,
    /// Only premises of this kind (0: any).
    pub premises_kind: i32,
    /// Only this status (0: any).
    pub status: i32,
    pub from: Option<Millis>,
    pub until: Option<Millis>,
}

/// Filters of the needs listing, open and settled (`scope.officer_id`: the assigned officer);
/// the period is on `created_at`, `[from, until)`.
#[derive(Debug, Clone, Default)]
pub struct NeedQuery {
    pub scope: Scope,
    pub resident_id: String,
    pub premises_id: String,
    /// Only these categories (empty: any).
    pub categories: Vec<i32>,
    /// Only these statuses (empty: any).
    pub statuses: Vec<i32>,
    pub from: Option<Millis>,
    pub until: Option<Millis>,
}

/// Filters of the visits listing (`scope.officer_id`: the visiting officer); the period is on
/// `visited_at`, `[from, until)`.
#[derive(Debug, Clone, Default)]
pub struct VisitFilter {
    pub scope: Scope,
    pub resident_id: String,
    pub premises_id: String,
    /// Only this purpose (0: any).
    pub purpose: i32,
    pub need_id: String,
    pub from: Option<Millis>,
    pub until: Option<Millis>,
}

/// The result of an insert keyed by a request id: the new record, or the one stored first.
#[derive(Debug, Clone, PartialEq)]
pub enum Inserted<T> {
    /// Stored now.
    New(T),
    /// A repeat of an earlier request: the record it created.
    Existing(T),
}

impl<T> Inserted<T> {
    /// The record either way.
    pub fn into_inner(self) -> T {
        match self {
            Self::New(t) | Self::Existing(t) => t,
        }
    }
}

/// Everything the registry keeps.
#[tonic::async_trait]
pub trait Store: ServiceRequestStore + Send + Sync + std::fmt::Debug {
    /// The version of the grid layout: it moves with every change of a grid or a station, in
    /// the same transaction, so a replica knows when its spatial index is behind.
    async fn grid_version(&self) -> Result<i64, StorageError>;
    /// Creates or replaces a station (and moves the grid version); true when created.
    async fn put_station(&self, tx: &mut Tx, station: &Station) -> Result<bool, StorageError>;
    /// A station.
    async fn station(&self, station_id: &str) -> Result<Option<Station>, StorageError>;
    /// Every station.
    async fn stations(&self) -> Result<Vec<Station>, StorageError>;

    /// Creates or replaces a grid (and moves the grid version); true when created.
    async fn put_grid(&self, tx: &mut Tx, grid: &Grid) -> Result<bool, StorageError>;
    /// A grid.
    async fn grid(&self, grid_id: &str) -> Result<Option<Grid>, StorageError>;
    /// Every grid (to build the spatial index).
    async fn all_grids(&self) -> Result<Vec<Grid>, StorageError>;
    /// Grids in scope of one kind (0: any), ordered by id.
    async fn list_grids(
        &self,
        scope: &Scope,
        kind: i32,
        page: Page,
    ) -> Result<Vec<Grid>, StorageError>;
    /// Creates or replaces an assignment.
    async fn put_officer(&self, tx: &mut Tx, officer: &GridOfficer) -> Result<(), StorageError>;
    /// Ends an assignment; false when there was none.
    async fn remove_officer(
        &self,
        tx: &mut Tx,
        grid_id: &str,
        officer_id: &str,
        role: i32,
    ) -> Result<bool, StorageError>;
    /// People responsible for a grid, village officers first.
    async fn officers(&self, grid_id: &str) -> Result<Vec<GridOfficer>, StorageError>;

    /// People responsible for each of these grids, by grid, village officers first: one query.
    async fn officers_of(&self, grid_ids: &[String]) -> Result<Vec<GridOfficer>, StorageError>;

    /// Creates or replaces an address; true when created.
    async fn put_address(&self, tx: &mut Tx, address: &Address) -> Result<bool, StorageError>;
    /// An address.
    async fn address(&self, address_id: &str) -> Result<Option<Address>, StorageError>;
    /// Standard addresses in scope (stations, station, grid), by id: what ResolveAddress
    /// matches text against.
    async fn addresses(&self, scope: &Scope) -> Result<Vec<Address>, StorageError>;
    /// Creates or replaces a resident; true when created. Conflict when the ID number is taken.
    async fn put_resident(&self, tx: &mut Tx, resident: &Resident) -> Result<bool, StorageError>;
    /// A resident, with the last contacted visit.
    async fn resident(&self, resident_id: &str) -> Result<Option<Resident>, StorageError>;
    /// The resident with this ID-number hash.
    async fn resident_by_id_hash(&self, hash: &str) -> Result<Option<Resident>, StorageError>;
    /// Residents in scope, by id.
    async fn residents(&self, scope: &Scope) -> Result<Vec<Resident>, StorageError>;
    /// Creates or replaces a house; true when created.
    async fn put_house(&self, tx: &mut Tx, house: &House) -> Result<bool, StorageError>;
    /// A house.
    async fn house(&self, house_id: &str) -> Result<Option<House>, StorageError>;
    /// Creates or replaces premises; true when created.
    async fn put_premises(&self, tx: &mut Tx, premises: &Premises) -> Result<bool, StorageError>;
    /// Premises.
    async fn premises(&self, premises_id: &str) -> Result<Option<Premises>, StorageError>;
    /// Premises of a grid.
    async fn premises_in_grid(&self, grid_id: &str) -> Result<Vec<Premises>, StorageError>;
    /// Records an ID-number lookup in `tx` (with its audit record).
    async fn record_lookup(&self, tx: &mut Tx, lookup: &IdLookup) -> Result<(), StorageError>;

    /// Stores a visit unless its request id was seen.
    async fn insert_visit(
        &self,
        tx: &mut Tx,
        visit: &Visit,
    ) -> Result<Inserted<Visit>, StorageError>;
    /// Stores a need unless its request id was seen.
    async fn insert_need(&self, tx: &mut Tx, need: &Need) -> Result<Inserted<Need>, StorageError>;
    /// A need.
    async fn need(&self, need_id: &str) -> Result<Option<Need>, StorageError>;
    /// Replaces a need that is still open; false when it was settled meanwhile.
    async fn settle_need(&self, tx: &mut Tx, need: &Need) -> Result<bool, StorageError>;
    /// Open needs, urgent and earliest due first.
    async fn open_needs(&self, filter: &NeedFilter, page: Page) -> Result<Vec<Need>, StorageError>;
    /// Number of open needs of a resident.
    async fn open_need_count(&self, resident_id: &str) -> Result<i64, StorageError>;

    /// Number of open needs of each of these residents (those with none are absent): one query.
    async fn open_need_counts(
        &self,
        resident_ids: &[String],
    ) -> Result<std::collections::HashMap<String, i64>, StorageError>;

    /// Stores an inspection unless its request id was seen (and links a re-inspection).
    async fn insert_inspection(
        &self,
        tx: &mut Tx,
        inspection: &Inspection,
    ) -> Result<Inserted<Inspection>, StorageError>;
    /// An inspection.
    async fn inspection(&self, inspection_id: &str) -> Result<Option<Inspection>, StorageError>;
    /// Replaces an inspection (and, for a passing re-inspection, marks the original rectified).
    async fn update_inspection(
        &self,
        tx: &mut Tx,
        inspection: &Inspection,
        rectified_original: Option<&Inspection>,
    ) -> Result<(), StorageError>;
    /// Failed inspections without a re-inspection, earliest deadline first.
    async fn due_reinspections(
        &self,
        filter: &ReinspectionFilter,
        page: Page,
    ) -> Result<Vec<Inspection>, StorageError>;

    /// Stores an outreach event unless its request id was seen.
    async fn insert_outreach(
        &self,
        tx: &mut Tx,
        event: &Outreach,
    ) -> Result<Inserted<Outreach>, StorageError>;
    /// Outreach events in scope.
    async fn outreach(&self, filter: &OutreachFilter) -> Result<Vec<Outreach>, StorageError>;

    /// Premises in scope, by id.
    async fn list_premises(
        &self,
        filter: &PremisesFilter,
        page: Page,
    ) -> Result<Vec<Premises>, StorageError>;
    /// The latest completed inspection of each of these premises (without its checklist;
    /// premises never inspected are absent): one query per chunk of ids.
    async fn last_inspections(
        &self,
        premises_ids: &[String],
    ) -> Result<std::collections::HashMap<String, Inspection>, StorageError>;
    /// Inspections in scope with their checklists, most recently started first.
    async fn list_inspections(
        &self,
        filter: &InspectionFilter,
        page: Page,
    ) -> Result<Vec<Inspection>, StorageError>;
    /// Needs in scope, open and settled, most recently recorded first.
    async fn list_needs(&self, filter: &NeedQuery, page: Page) -> Result<Vec<Need>, StorageError>;
    /// Visits linked to a need: those following it up and the one it was noted in
    /// (`visit_id`, may be empty), oldest first.
    async fn need_visits(&self, need_id: &str, visit_id: &str) -> Result<Vec<Visit>, StorageError>;
    /// Visits in scope, most recent first.
    async fn list_visits(
        &self,
        filter: &VisitFilter,
        page: Page,
    ) -> Result<Vec<Visit>, StorageError>;

    /// Stores a broadcast unless its request id was seen.
    async fn insert_broadcast(
        &self,
        tx: &mut Tx,
        broadcast: &Broadcast,
    ) -> Result<Inserted<Broadcast>, StorageError>;
    /// A broadcast by its request id.
    async fn broadcast_by_request(
        &self,
        request_id: &str,
    ) -> Result<Option<Broadcast>, StorageError>;
}
