//! Units: registration, manual status, and the atomic reservation by an assignment.

use chrono::{DateTime, Utc};
use pingan_platform::storage::{StorageError, Tx};
use pingan_platform::storage_rows::fetch_by_keys;
use pingan_platform::{with_db, with_tx};
use pingan_proto::dispatch::v1::UnitStatus;

use super::SqlStore;
use crate::domain::model::{NewUnit, Unit};
use crate::store::queries::*;
use crate::store::rows::{UnitRow, json_list};

impl SqlStore {
    pub(super) async fn register_unit_sql(
        &self,
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
            .bind(unit.kind as i32)
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
            .bind(unit.kind as i32)
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

    pub(super) async fn unit_in_sql(
        &self,
        tx: &mut Tx,
        unit_id: &str,
    ) -> Result<Option<Unit>, StorageError> {
        let row = with_tx!(tx, conn => sqlx::query_as::<_, UnitRow>(SELECT_UNIT)
            .bind(unit_id)
            .fetch_optional(&mut *conn)
            .await)?;
        Ok(row.map(Unit::from))
    }

    pub(super) async fn unit_sql(&self, unit_id: &str) -> Result<Option<Unit>, StorageError> {
        let row = with_db!(&self.db, pool => sqlx::query_as::<_, UnitRow>(SELECT_UNIT)
            .bind(unit_id)
            .fetch_optional(pool)
            .await)?;
        Ok(row.map(Unit::from))
    }

    pub(super) async fn units_sql(&self, unit_ids: &[String]) -> Result<Vec<Unit>, StorageError> {
        let rows: Vec<UnitRow> = fetch_by_keys(&self.db, UNITS_BY_IDS, unit_ids).await?;
        Ok(rows.into_iter().map(Unit::from).collect())
    }

    pub(super) async fn list_units_sql(
        &self,
        after: &str,
        station_id: &str,
        limit: i64,
    ) -> Result<Vec<Unit>, StorageError> {
        let rows = with_db!(&self.db, pool => sqlx::query_as::<_, UnitRow>(LIST_UNITS)
            .bind(after)
            .bind(station_id)
            .bind(limit)
            .fetch_all(pool)
            .await)?;
        Ok(rows.into_iter().map(Unit::from).collect())
    }

    pub(super) async fn all_units_sql(&self) -> Result<Vec<Unit>, StorageError> {
        let rows = with_db!(&self.db, pool => sqlx::query_as::<_, UnitRow>(ALL_UNITS)
            .fetch_all(pool)
            .await)?;
        Ok(rows.into_iter().map(Unit::from).collect())
    }

    pub(super) async fn unit_counts_sql(
        &self,
    ) -> Result<Vec<((String, UnitStatus), i64)>, StorageError> {
        let rows = with_db!(&self.db, pool => sqlx::query_as::<_, (String, i32, i64)>(UNIT_COUNTS)
            .fetch_all(pool)
            .await)?;
        Ok(rows
            .into_iter()
            .map(|(station, status, n)| {
                (
                    (station, UnitStatus::try_from(status).unwrap_or_default()),
                    n,
                )
            })
            .collect())
    }

    pub(super) async fn set_manual_status_sql(
        &self,
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

    pub(super) async fn reserve_sql(
        &self,
        tx: &mut Tx,
        unit_id: &str,
        dispatch_id: &str,
        assignment_id: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StorageError> {
        let sql = self.db.pick(RESERVE_PG, RESERVE_SQLITE);
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

    pub(super) async fn set_held_status_sql(
        &self,
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

    pub(super) async fn release_sql(
        &self,
        tx: &mut Tx,
        (unit_id, assignment_id): (&str, &str),
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
}
