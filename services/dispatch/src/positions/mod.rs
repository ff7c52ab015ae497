//! Live positions and per-unit live state (status, kind, capabilities, last seen), behind one
//! trait: Redis GEO sets in the cluster shape ([`RedisPositions`]), an in-process grid of cells in
//! the embedded shape ([`MemoryPositions`]). Positions are personal data: only the latest fix per
//! unit is kept, never a trail, and it is forgotten after the retention period.

pub mod keys;
mod memory;
mod redis;
mod redis_scripts;

use chrono::{DateTime, Utc};

pub use self::keys::Keys;
pub use self::memory::MemoryPositions;
pub use self::redis::RedisPositions;

/// What the live store knows of a unit besides its position.
#[derive(Debug, Clone, PartialEq)]
pub struct UnitMeta {
    /// Unit id.
    pub unit_id: String,
    /// `UnitKind` number.
    pub kind: i32,
    /// Home station.
    pub station_id: String,
    /// Capabilities.
    pub capabilities: Vec<String>,
    /// `UnitStatus` number.
    pub status: i32,
    /// Call sign shown to dispatchers (kept here so a search answers without a database read).
    pub callsign: String,
}

/// One position fix.
#[derive(Debug, Clone, PartialEq)]
pub struct Fix {
    /// The reporting unit.
    pub unit_id: String,
    /// Latitude, degrees.
    pub lat: f64,
    /// Longitude, degrees.
    pub lon: f64,
    /// When the fix was taken.
    pub at: DateTime<Utc>,
}

/// A unit's latest position.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LivePosition {
    /// Latitude, degrees.
    pub lat: f64,
    /// Longitude, degrees.
    pub lon: f64,
    /// When the fix was taken.
    pub at: DateTime<Utc>,
}

/// What happened to one fix in the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// Stored as the live position.
    Accepted,
    /// Older than the position already stored.
    OutOfOrder,
    /// The unit is not registered.
    UnknownUnit,
}

/// A bounded search around a point.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchQuery {
    /// Latitude of the centre.
    pub lat: f64,
    /// Longitude of the centre.
    pub lon: f64,
    /// Radius in metres (already capped by the caller).
    pub radius_m: f64,
    /// Only these `UnitKind` numbers (empty: all).
    pub kinds: Vec<i32>,
    /// Only units having all of these.
    pub capabilities: Vec<String>,
    /// Only AVAILABLE units.
    pub only_available: bool,
    /// Only this station's units.
    pub station_id: Option<String>,
    /// Only units of these stations (the caller's jurisdiction); none: every station. Filtered
    /// inside the search, so a nearer station's units never crowd out the `limit` asked for.
    pub stations: Option<Vec<String>>,
    /// Positions taken before this do not count (the staleness limit).
    pub fresh_after: DateTime<Utc>,
    /// Units to leave out.
    pub exclude: Vec<String>,
    /// Most units returned.
    pub limit: usize,
}

impl SearchQuery {
    /// True when `meta` passes the filters (not the distance or freshness).
    pub fn accepts(&self, meta: &UnitMeta) -> bool {
        (self.kinds.is_empty() || self.kinds.contains(&meta.kind))
            && self
                .capabilities
                .iter()
                .all(|c| meta.capabilities.contains(c))
            && (!self.only_available
                || meta.status == pingan_proto::dispatch::v1::UnitStatus::Available as i32)
            && self
                .station_id
                .as_ref()
                .is_none_or(|station| *station == meta.station_id)
            && self
                .stations
                .as_ref()
                .is_none_or(|stations| stations.contains(&meta.station_id))
            && !self.exclude.contains(&meta.unit_id)
    }
}

/// A unit found by a search.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// The unit's live state.
    pub meta: UnitMeta,
    /// Its position.
    pub position: LivePosition,
    /// Great-circle distance from the centre, metres.
    pub distance_m: f64,
}

/// Failures of the live store.
#[derive(Debug, thiserror::Error)]
pub enum PositionError {
    /// Redis cannot be reached or failed.
    #[error("position store unavailable: {0}")]
    Unavailable(String),
}

impl From<PositionError> for pingan_platform::ApiError {
    fn from(err: PositionError) -> Self {
        match err {
            PositionError::Unavailable(message) => Self::Unavailable(message),
        }
    }
}

/// The live store of unit positions and state.
#[tonic::async_trait]
pub trait PositionStore: Send + Sync + std::fmt::Debug {
    /// Creates or replaces the live state of units (their positions are kept).
    async fn upsert_units(&self, units: &[UnitMeta]) -> Result<(), PositionError>;

    /// Sets a unit's live status.
    async fn set_status(&self, unit_id: &str, status: i32) -> Result<(), PositionError>;

    /// Stores fixes (already checked for staleness and coordinates), one outcome per fix, in order.
    async fn record(&self, fixes: &[Fix]) -> Result<Vec<Recorded>, PositionError>;

    /// Units within the radius passing the filters, nearest first, at most `limit`.
    async fn search(&self, query: &SearchQuery) -> Result<Vec<Candidate>, PositionError>;

    /// The latest positions of `unit_ids` (absent when none is held).
    async fn positions(
        &self,
        unit_ids: &[String],
    ) -> Result<std::collections::HashMap<String, LivePosition>, PositionError>;

    /// The stations of `unit_ids` as the live store holds them (absent when it holds no such
    /// unit): a stream of position reports is authorised without a database read per batch.
    async fn stations(
        &self,
        unit_ids: &[String],
    ) -> Result<std::collections::HashMap<String, String>, PositionError>;

    /// Forgets positions taken before `cutoff`; returns how many were forgotten.
    async fn forget_before(&self, cutoff: DateTime<Utc>) -> Result<u64, PositionError>;
}
