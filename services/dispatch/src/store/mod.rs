//! The dispatch service's tables, SQL written once for both backends. Dispatches, assignments,
//! timeline entries and flights are stored as their encoded protobuf message (`doc`) next to the
//! columns queries and timers filter on; units as plain columns.
//!
//! The reservation of a unit is one conditional UPDATE of its row (AVAILABLE and not held by an
//! assignment → held by this one); on Postgres it skips a row another transaction is reserving
//! instead of waiting for it. A partial unique index on active assignments per unit backs it up.

mod dispatches;
mod units;

use chrono::{DateTime, Utc};
use pingan_platform::storage::{Db, StorageError, Tx};
use pingan_platform::with_tx;

pub use dispatches::*;
pub use units::*;

/// Encodes a JSON array of strings.
pub fn json_list(values: &[String]) -> String {
    serde_json::to_string(values).unwrap_or_else(|_| "[]".to_owned())
}

/// Decodes a JSON array of strings (empty on garbage).
pub fn parse_list(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_default()
}

/// Decodes a stored protobuf document.
pub fn decode<M: prost::Message + Default>(bytes: &[u8]) -> Result<M, StorageError> {
    M::decode(bytes).map_err(|err| StorageError::Other(Box::new(err)))
}

/// Earliest and latest instants used for open time ranges.
pub fn time_bounds(
    start: Option<DateTime<Utc>>,
    end: Option<DateTime<Utc>>,
) -> (DateTime<Utc>, DateTime<Utc>) {
    let min = DateTime::from_timestamp(0, 0).unwrap_or_default();
    let max = DateTime::from_timestamp(253_402_300_799, 0).unwrap_or_default();
    (start.unwrap_or(min), end.unwrap_or(max))
}

/// On SQLite, takes the write lock first (a dummy write), so a read-then-write transaction does
/// not fail when another writer committed since its snapshot. On Postgres, row locks do this.
pub async fn begin_write(db: &Db, tx: &mut Tx) -> Result<(), StorageError> {
    const TOUCH: &str = "UPDATE dispatch_units SET unit_id = unit_id WHERE unit_id = ''";
    if matches!(db, Db::Sqlite(_)) {
        with_tx!(tx, conn => sqlx::query(TOUCH).execute(&mut *conn).await.map(|_| ()))?;
    }
    Ok(())
}
