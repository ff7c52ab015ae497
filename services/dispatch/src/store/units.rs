//! Units: registration, manual status, and the atomic reservation by an assignment.

use chrono::{DateTime, Utc};
use pingan_platform::storage::{Db, StorageError, Tx};
use pingan_platform::{with_db, with_tx};
use pingan_proto::dispatch::v1::UnitStatus;

use super::json_list;

const UNIT_COLUMNS: &str = "unit_id, kind, callsign, station_id, grid_ids, capabilities, officer_ids, status, status_reason, status_changed_at, current_dispatch_id, current_assignment_id, created_at, updated_at";

const INSERT_UNIT: &str = "INSERT INTO dispatch_units (unit_id, kind, callsign, station_id, grid_ids, capabilities, officer_ids, status, status_reason, status_changed_at, created_at, updated_at) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, '', $9, $9, $9) ON CONFLICT (unit_id) DO NOTHING";
const UPDATE_REGISTRATION: &str = "UPDATE dispatch_units SET kind = $2, callsign = $3, station_id = $4, grid_ids = $5, capabilities = $6, officer_ids = $7, updated_at = $8 WHERE unit_id = $1";
const SELECT_UNIT: &str = "SELECT unit_id, kind, callsign, station_id, grid_ids, capabilities, officer_ids, status, status_reason, status_changed_at, current_dispatch_id, current_assignment_id, created_at, updated_at FROM dispatch_units WHERE unit_id = $1";
const LIST_UNITS: &str = "SELECT unit_id, kind, callsign, station_id, grid_ids, capabilities, officer_ids, status, status_reason, status_changed_at, current_dispatch_id, current_assignment_id, created_at, updated_at FROM dispatch_units \
    WHERE unit_id > $1 AND ($2 = '' OR station_id = $2) ORDER BY unit_id LIMIT $3";
const SET_MANUAL_STATUS: &str = "UPDATE dispatch_units SET status = $2, status_reason = $3, status_changed_at = $4, updated_at = $4 \
    WHERE unit_id = $1 AND current_assignment_id IS NULL";
const RESERVE_PG: &str = "UPDATE dispatch_units SET status = 2, status_reason = '', current_dispatch_id = $2, current_assignment_id = $3, status_changed_at = $4, updated_at = $4 \
    WHERE unit_id = (SELECT unit_id FROM dispatch_units WHERE unit_id = $1 AND status = 1 AND current_assignment_id IS NULL FOR UPDATE SKIP LOCKED)";
const RESERVE_SQLITE: &str = "UPDATE dispatch_units SET status = 2, status_reason = '', current_dispatch_id = $2, current_assignment_id = $3, status_changed_at = $4, updated_at = $4 \
    WHERE unit_id = $1 AND status = 1 AND current_assignment_id IS NULL";
const SET_HELD_STATUS: &str = "UPDATE dispatch_units SET status = $3, status_changed_at = $4, updated_at = $4 \
    WHERE unit_id = $1 AND current_assignment_id = $2";
const RELEASE: &str = "UPDATE dispatch_units SET status = $3, status_reason = $4, current_dispatch_id = NULL, current_assignment_id = NULL, status_changed_at = $5, updated_at = $5 \
    WHERE unit_id = $1 AND current_assignment_id = $2";
const ALL_META: &str = "SELECT unit_id, kind, station_id, capabilities, status FROM dispatch_units";

/// A stored unit.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UnitRow {
    pub unit_id: String,
    pub kind: i32,
    pub callsign: String,
    pub station_id: String,
    pub grid_ids: String,
    pub capabilities: String,
    pub officer_ids: String,
    pub status: i32,
    pub status_reason: String,
    pub status_changed_at: DateTime<Utc>,
    pub current_dispatch_id: Option<String>,
    pub current_assignment_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A unit's registration as written.
#[derive(Debug, Clone)]
pub struct NewUnit {
    pub unit_id: String,
    pub kind: i32,
    pub callsign: String,
    pub station_id: String,
    pub grid_ids: Vec<String>,
    pub capabilities: Vec<String>,
    pub officer_ids: Vec<String>,
    pub initial_status: UnitStatus,
}

/// Creates the unit, or updates its registration (status kept); true when created.
pub async fn register_unit(
    tx: &mut Tx,
    unit: &NewUnit,
    now: DateTime<Utc>,
) -> Result<bool, StorageError> {
    let (grids, capabilities, officers) = (
        json_list(&unit.grid_ids),
        json_list(&unit.capabilities),
        json_list(&unit.officer_ids),
    );
    let inserted = with_tx!(tx, conn => sqlx::query(INSERT_UNIT)
        .bind(&unit.unit_id)
        .bind(unit.kind)
        .bind(&unit.callsign)
        .bind(&unit.station_id)
        .bind(&grids)
        .bind(&capabilities)
        .bind(&officers)
        .bind(unit.initial_status as i32)
        .bind(now)
        .execute(&mut *conn)
        .await
        .map(|r| r.rows_affected()))?;
    if inserted == 1 {
        return Ok(true);
    }
    with_tx!(tx, conn => sqlx::query(UPDATE_REGISTRATION)
        .bind(&unit.unit_id)
        .bind(unit.kind)
        .bind(&unit.callsign)
        .bind(&unit.station_id)
        .bind(&grids)
        .bind(&capabilities)
        .bind(&officers)
        .bind(now)
        .execute(&mut *conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(false)
}

/// One unit, in a transaction.
pub async fn unit_in(tx: &mut Tx, unit_id: &str) -> Result<Option<UnitRow>, StorageError> {
    Ok(
        with_tx!(tx, conn => sqlx::query_as::<_, UnitRow>(SELECT_UNIT)
        .bind(unit_id)
        .fetch_optional(&mut *conn)
        .await)?,
    )
}

/// One unit.
pub async fn unit(db: &Db, unit_id: &str) -> Result<Option<UnitRow>, StorageError> {
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, UnitRow>(SELECT_UNIT)
        .bind(unit_id)
        .fetch_optional(pool)
        .await)?,
    )
}

/// Units after `after` in id order, optionally of one station.
pub async fn list_units(
    db: &Db,
    after: &str,
    station_id: &str,
    limit: i64,
) -> Result<Vec<UnitRow>, StorageError> {
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, UnitRow>(LIST_UNITS)
        .bind(after)
        .bind(station_id)
        .bind(limit)
        .fetch_all(pool)
        .await)?,
    )
}

/// Sets a manual status unless an assignment holds the unit; false when it does (or no unit).
pub async fn set_manual_status(
    tx: &mut Tx,
    unit_id: &str,
    status: UnitStatus,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<bool, StorageError> {
    let changed = with_tx!(tx, conn => sqlx::query(SET_MANUAL_STATUS)
        .bind(unit_id)
        .bind(status as i32)
        .bind(reason)
        .bind(now)
        .execute(&mut *conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(changed == 1)
}

/// Reserves an AVAILABLE, unheld unit for `assignment_id` — atomically across replicas: exactly
/// one of any number of concurrent reservations of a unit wins. False when the unit is not free.
pub async fn reserve(
    db: &Db,
    tx: &mut Tx,
    unit_id: &str,
    dispatch_id: &str,
    assignment_id: &str,
    now: DateTime<Utc>,
) -> Result<bool, StorageError> {
    let sql = db.pick(RESERVE_PG, RESERVE_SQLITE);
    let won = with_tx!(tx, conn => sqlx::query(sql)
        .bind(unit_id)
        .bind(dispatch_id)
        .bind(assignment_id)
        .bind(now)
        .execute(&mut *conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(won == 1)
}

/// Moves a held unit's status along with its assignment.
pub async fn set_held_status(
    tx: &mut Tx,
    unit_id: &str,
    assignment_id: &str,
    status: UnitStatus,
    now: DateTime<Utc>,
) -> Result<bool, StorageError> {
    let changed = with_tx!(tx, conn => sqlx::query(SET_HELD_STATUS)
        .bind(unit_id)
        .bind(assignment_id)
        .bind(status as i32)
        .bind(now)
        .execute(&mut *conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(changed == 1)
}

/// Frees a unit held by `assignment_id`, setting `status`.
pub async fn release(
    tx: &mut Tx,
    unit_id: &str,
    assignment_id: &str,
    status: UnitStatus,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<bool, StorageError> {
    let changed = with_tx!(tx, conn => sqlx::query(RELEASE)
        .bind(unit_id)
        .bind(assignment_id)
        .bind(status as i32)
        .bind(reason)
        .bind(now)
        .execute(&mut *conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(changed == 1)
}

/// The live-state view of every unit (to warm the position store).
pub async fn all_unit_meta(
    db: &Db,
) -> Result<Vec<(String, i32, String, String, i32)>, StorageError> {
    Ok(with_db!(db, pool => sqlx::query_as(ALL_META).fetch_all(pool).await)?)
}

#[allow(dead_code)]
const _COLUMNS_DOC: &str = UNIT_COLUMNS;
