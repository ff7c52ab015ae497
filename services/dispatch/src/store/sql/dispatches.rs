//! Dispatches with their requirements and assignments.

use chrono::{DateTime, Utc};
use pingan_platform::storage::{Db, StorageError, Tx};
use pingan_platform::{with_db, with_tx};
use pingan_proto::dispatch::v1::AssignmentStatus;

use super::SqlStore;
use super::params::{AssignmentParams, DispatchParams, bind_assignment, bind_dispatch};
use crate::domain::model::{Assignment, Dispatch};
use crate::store::queries::*;
use crate::store::rows::{
    AssignmentRow, DispatchRow, RequirementRow, UNFILLED, WANTED, json_list, names,
};
use crate::store::{DispatchCursor, DispatchFilter, time_bounds};

impl SqlStore {
    /// Writes the dispatch's requirement rows in one statement; `replace` first deletes the rows
    /// it had (a new dispatch has none).
    async fn write_requirements(
        &self,
        tx: &mut Tx,
        d: &Dispatch,
        replace: bool,
    ) -> Result<(), StorageError> {
        if replace {
            with_tx!(tx, conn => sqlx::query(DELETE_REQUIREMENTS)
                .bind(&d.dispatch_id)
                .execute(&mut *conn)
                .await
                .map(|_| ()))?;
        }
        let rows: Vec<(&str, i32, String, String, i32)> = [
            (WANTED, &d.unit_requirements),
            (UNFILLED, &d.unfilled_requirements),
        ]
        .into_iter()
        .flat_map(|(list, requirements)| {
            requirements.iter().enumerate().map(move |(ordinal, r)| {
                let ordinal = i32::try_from(ordinal).unwrap_or(i32::MAX);
                (
                    list,
                    ordinal,
                    names(&r.kinds),
                    json_list(&r.capabilities),
                    r.count,
                )
            })
        })
        .collect();
        if rows.is_empty() {
            return Ok(());
        }
        let sql = insert_requirements_sql(rows.len());
        with_tx!(tx, conn => {
            // Built from placeholders only: every value is bound.
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()));
            for (list, ordinal, kinds, capabilities, count) in &rows {
                query = query
                    .bind(&d.dispatch_id)
                    .bind(*list)
                    .bind(*ordinal)
                    .bind(kinds)
                    .bind(capabilities)
                    .bind(*count);
            }
            query.execute(&mut *conn).await.map(|_| ())
        })?;
        Ok(())
    }

    pub(super) async fn insert_dispatch_sql(
        &self,
        tx: &mut Tx,
        dispatch: &Dispatch,
    ) -> Result<(), StorageError> {
        let params = DispatchParams::new(dispatch);
        with_tx!(tx, conn => bind_dispatch!(sqlx::query(INSERT_DISPATCH), &params)
            .execute(&mut *conn)
            .await
            .map(|_| ()))?;
        self.write_requirements(tx, dispatch, false).await
    }

    pub(super) async fn update_dispatch_sql(
        &self,
        tx: &mut Tx,
        dispatch: &Dispatch,
    ) -> Result<(), StorageError> {
        let params = DispatchParams::new(dispatch);
        with_tx!(tx, conn => bind_dispatch!(sqlx::query(UPDATE_DISPATCH), &params)
            .execute(&mut *conn)
            .await
            .map(|_| ()))?;
        self.write_requirements(tx, dispatch, true).await
    }

    /// The dispatch of `row`, with its requirements and assignments, read in `tx`.
    async fn complete_in(&self, tx: &mut Tx, row: DispatchRow) -> Result<Dispatch, StorageError> {
        let requirements = with_tx!(tx, conn => sqlx::query_as::<_, RequirementRow>(SELECT_REQUIREMENTS)
            .bind(&row.dispatch_id)
            .fetch_all(&mut *conn)
            .await)?;
        let assignments = with_tx!(tx, conn => sqlx::query_as::<_, AssignmentRow>(SELECT_ASSIGNMENTS)
            .bind(&row.dispatch_id)
            .fetch_all(&mut *conn)
            .await)?;
        let mut dispatch = row.into_dispatch(requirements)?;
        dispatch.assignments = assignments
            .into_iter()
            .map(Assignment::try_from)
            .collect::<Result<_, _>>()?;
        Ok(dispatch)
    }

    /// The dispatch of `row`, with its requirements and assignments.
    async fn complete(&self, row: DispatchRow) -> Result<Dispatch, StorageError> {
        let requirements = with_db!(&self.db, pool => sqlx::query_as::<_, RequirementRow>(SELECT_REQUIREMENTS)
            .bind(&row.dispatch_id)
            .fetch_all(pool)
            .await)?;
        let assignments = with_db!(&self.db, pool => sqlx::query_as::<_, AssignmentRow>(SELECT_ASSIGNMENTS)
            .bind(&row.dispatch_id)
            .fetch_all(pool)
            .await)?;
        let mut dispatch = row.into_dispatch(requirements)?;
        dispatch.assignments = assignments
            .into_iter()
            .map(Assignment::try_from)
            .collect::<Result<_, _>>()?;
        Ok(dispatch)
    }

    pub(super) async fn lock_dispatch_sql(
        &self,
        tx: &mut Tx,
        dispatch_id: &str,
    ) -> Result<Option<Dispatch>, StorageError> {
        // Postgres locks the row; on SQLite every transaction here began with BEGIN IMMEDIATE.
        let query = match &self.db {
            Db::Postgres(_) => LOCK_DISPATCH_PG,
            Db::Sqlite(..) => SELECT_DISPATCH,
        };
        let row = with_tx!(tx, conn => sqlx::query_as::<_, DispatchRow>(query)
            .bind(dispatch_id)
            .fetch_optional(&mut *conn)
            .await)?;
        match row {
            Some(row) => Ok(Some(self.complete_in(tx, row).await?)),
            None => Ok(None),
        }
    }

    pub(super) async fn dispatch_sql(
        &self,
        dispatch_id: &str,
    ) -> Result<Option<Dispatch>, StorageError> {
        let row = with_db!(&self.db, pool => sqlx::query_as::<_, DispatchRow>(SELECT_DISPATCH)
            .bind(dispatch_id)
            .fetch_optional(pool)
            .await)?;
        match row {
            Some(row) => Ok(Some(self.complete(row).await?)),
            None => Ok(None),
        }
    }

    async fn complete_all(&self, rows: Vec<DispatchRow>) -> Result<Vec<Dispatch>, StorageError> {
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            out.push(self.complete(row).await?);
        }
        Ok(out)
    }

    pub(super) async fn list_dispatches_sql(
        &self,
        filter: &DispatchFilter,
        cursor: Option<DispatchCursor>,
        limit: i64,
    ) -> Result<Vec<Dispatch>, StorageError> {
        let (from, until) = time_bounds(filter.opened_from, filter.opened_until);
        // Without a cursor every row with opened_at < until qualifies through the first branch.
        let (cursor_at, cursor_id) = cursor.unwrap_or((until, String::new()));
        let rows = with_db!(&self.db, pool => sqlx::query_as::<_, DispatchRow>(LIST_DISPATCHES)
            .bind(&filter.station_id)
            .bind(&filter.grid_id)
            .bind(&filter.incident_id)
            .bind(filter.only_sla_breached)
            .bind(from)
            .bind(until)
            .bind(&filter.unit_id)
            .bind(cursor_at)
            .bind(&cursor_id)
            .bind(limit)
            .fetch_all(pool)
            .await)?;
        self.complete_all(rows).await
    }

    pub(super) async fn open_dispatches_sql(
        &self,
        limit: i64,
    ) -> Result<Vec<Dispatch>, StorageError> {
        let rows = with_db!(&self.db, pool => sqlx::query_as::<_, DispatchRow>(OPEN_DISPATCHES)
            .bind(limit)
            .fetch_all(pool)
            .await)?;
        self.complete_all(rows).await
    }

    pub(super) async fn due_sql(
        &self,
        sql: &'static str,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<String>, StorageError> {
        let mut ids: Vec<String> = with_db!(&self.db, pool => sqlx::query_scalar(sql)
            .bind(now)
            .bind(limit)
            .fetch_all(pool)
            .await)?;
        ids.dedup();
        Ok(ids)
    }

    pub(super) async fn insert_assignment_sql(
        &self,
        tx: &mut Tx,
        assignment: &Assignment,
    ) -> Result<(), StorageError> {
        let params = AssignmentParams::new(assignment);
        with_tx!(tx, conn => bind_assignment!(sqlx::query(INSERT_ASSIGNMENT), &params)
            .execute(&mut *conn)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    pub(super) async fn update_assignment_sql(
        &self,
        tx: &mut Tx,
        assignment: &Assignment,
        expected: AssignmentStatus,
    ) -> Result<bool, StorageError> {
        let params = AssignmentParams::new(assignment);
        let changed = with_tx!(tx, conn => bind_assignment!(sqlx::query(UPDATE_ASSIGNMENT), &params)
            .bind(expected as i32)
            .execute(&mut *conn)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(changed == 1)
    }

    pub(super) async fn assignment_in(
        &self,
        tx: &mut Tx,
        assignment_id: &str,
    ) -> Result<Option<Assignment>, StorageError> {
        let row = with_tx!(tx, conn => sqlx::query_as::<_, AssignmentRow>(SELECT_ASSIGNMENT)
            .bind(assignment_id)
            .fetch_optional(&mut *conn)
            .await)?;
        row.map(Assignment::try_from).transpose()
    }
}

/// One INSERT of `rows` requirement rows, six values each.
fn insert_requirements_sql(rows: usize) -> String {
    let values: Vec<String> = (0..rows)
        .map(|row| {
            let first = row * 6 + 1;
            let row: Vec<String> = (first..first + 6).map(|n| format!("${n}")).collect();
            format!("({})", row.join(", "))
        })
        .collect();
    format!("{INSERT_REQUIREMENTS}{}", values.join(", "))
}
