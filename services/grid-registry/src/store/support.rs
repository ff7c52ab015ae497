//! The SQL store's helpers: listing arguments, reads on the pool with their child rows loaded
//! one query per child table, and inserts keyed by a request id.

use std::collections::HashMap;

use pingan_platform::StorageError;
use pingan_platform::storage::Tx;
use pingan_platform::storage_rows::{
    Arg, Columns, Decode, ON_CONFLICT_DO_NOTHING, On, insert, placeholders, t,
};
use pingan_proto::grid::v1 as pb;

use super::db::{IN_CHUNK, IN_LIST};
use super::encode::{enum_arg, values};
use super::places::{PREMISES_TEMPLATES, RESIDENT_TAGS};
use super::queries::OPEN_NEED_COUNTS;
use super::work;
use super::{Scope, SqlStore};
use crate::domain::*;

/// The caller's stations as ",a,b," ("" for the whole bureau, "," for none).
pub(super) fn stations_arg(scope: &Scope) -> Arg {
    match &scope.stations {
        None => t(""),
        Some(list) => Arg::Text(Some(format!(",{},", list.join(",")))),
    }
}

pub(super) fn scope_args(scope: &Scope) -> Vec<Arg> {
    vec![
        stations_arg(scope),
        t(&scope.station_id),
        t(&scope.grid_id),
        t(&scope.officer_id),
    ]
}

pub(super) fn list_arg(values: &[String]) -> Arg {
    if values.is_empty() {
        t("")
    } else {
        Arg::Text(Some(format!(",{},", values.join(","))))
    }
}

pub(super) fn open_status() -> Arg {
    enum_arg::<pb::NeedStatus>(pb::NeedStatus::Open as i32)
}

impl SqlStore {
    pub(super) fn pool(&self) -> On<'_> {
        On::Pool(&self.db)
    }

    /// Rows of a read on the pool; a read is idempotent, so one whose connection broke (the
    /// database restarted or failed over) is tried once more on another connection.
    pub(super) async fn all<T>(
        &self,
        sql: &str,
        args: Vec<Arg>,
        decode: Decode<T>,
    ) -> Result<Vec<T>, StorageError> {
        let args = &args;
        self.db
            .retry_read(move || async move { self.pool().rows(sql, args.clone(), decode).await })
            .await
    }

    pub(super) async fn one<T>(
        &self,
        sql: &str,
        args: Vec<Arg>,
        decode: Decode<T>,
    ) -> Result<Option<T>, StorageError> {
        Ok(self.all(sql, args, decode).await?.into_iter().next())
    }

    /// Fills in the residents' tags: one query for the list.
    pub(super) async fn with_tags(
        &self,
        mut residents: Vec<Resident>,
    ) -> Result<Vec<Resident>, StorageError> {
        let ids: Vec<String> = residents.iter().map(|r| r.resident_id.clone()).collect();
        let mut tags = RESIDENT_TAGS.read_many(&mut self.pool(), &ids).await?;
        for r in &mut residents {
            r.tags = values::<pb::ResidentTag>(&tags.remove(&r.resident_id).unwrap_or_default())?;
        }
        Ok(residents)
    }

    /// Fills in the premises' templates: one query for the list.
    pub(super) async fn with_templates(
        &self,
        mut list: Vec<Premises>,
    ) -> Result<Vec<Premises>, StorageError> {
        let ids: Vec<String> = list.iter().map(|p| p.premises_id.clone()).collect();
        let mut templates = PREMISES_TEMPLATES.read_many(&mut self.pool(), &ids).await?;
        for p in &mut list {
            p.inspection_template_ids = templates.remove(&p.premises_id).unwrap_or_default();
        }
        Ok(list)
    }

    pub(super) async fn inspections(
        &self,
        sql: &str,
        args: Vec<Arg>,
    ) -> Result<Vec<Inspection>, StorageError> {
        let mut list = self.all(sql, args, work::inspection).await?;
        work::read_inspections_children(&mut self.pool(), &mut list).await?;
        Ok(list)
    }

    /// Open needs per resident, one query per chunk of ids.
    pub(super) async fn need_counts(
        &self,
        resident_ids: &[String],
    ) -> Result<HashMap<String, i64>, StorageError> {
        // The status is bound after the ids, as the last placeholder.
        let mut counts = HashMap::new();
        for chunk in resident_ids.chunks(IN_CHUNK) {
            let sql = OPEN_NEED_COUNTS
                .replace(IN_LIST, &placeholders(1, chunk.len()))
                .replace("$STATUS", &format!("${}", chunk.len() + 1));
            let mut args: Vec<Arg> = chunk.iter().map(|id| t(id)).collect();
            args.push(open_status());
            let rows = self
                .all(&sql, args, |r| Ok((r.text("resident_id")?, r.int("n")?)))
                .await?;
            counts.extend(rows);
        }
        Ok(counts)
    }
}

/// Inserts a row unless its request id was seen (in `tx`); then the record stored first,
/// read back by `by_request` and completed by `complete`.
pub(super) async fn insert_once<T>(
    tx: &mut Tx,
    table: &str,
    row: Columns,
    request_id: &str,
    by_request: &str,
    decode: Decode<T>,
) -> Result<Option<T>, StorageError> {
    if insert(tx, table, row, ON_CONFLICT_DO_NOTHING).await? {
        return Ok(None);
    }
    let found = On::Tx(tx)
        .rows(by_request, vec![t(request_id)], decode)
        .await?;
    match found.into_iter().next() {
        Some(existing) if !request_id.is_empty() => Ok(Some(existing)),
        _ => Err(StorageError::Conflict("record id".into())),
    }
}
