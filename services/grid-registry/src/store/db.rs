//! The registry's own row helpers on the platform's row plumbing
//! ([`pingan_platform::storage_rows`]): instants as [`Millis`], reads of many owners in chunked
//! `IN (...)` lists, upserts that tell a new row from a replaced one, and lists kept in child
//! tables. SQL text here is built only from this crate's constants and column names; every value
//! is bound.

use std::collections::HashMap;

use pingan_platform::StorageError;
use pingan_platform::storage::Tx;
use pingan_platform::storage_rows::{
    self, Arg, Cols, Columns, Decode, On, execute, placeholders, t,
};

use crate::domain::Millis;

/// An instant as the platform's time type; out-of-range values are refused, never truncated.
pub(super) fn time(ms: Millis) -> Result<Arg, StorageError> {
    Ok(Arg::Time(Some(to_time(ms)?)))
}

/// An optional instant.
pub(super) fn opt_time(ms: Option<Millis>) -> Result<Arg, StorageError> {
    Ok(Arg::Time(ms.map(to_time).transpose()?))
}

fn to_time(ms: Millis) -> Result<chrono::DateTime<chrono::Utc>, StorageError> {
    pingan_platform::time::from_millis(ms)
        .ok_or_else(|| StorageError::Other(format!("time out of range: {ms} ms").into()))
}

/// Timestamp columns read back as [`Millis`].
pub(super) trait MillisCols {
    /// A non-null timestamp column.
    fn millis(&self, column: &str) -> Result<Millis, StorageError>;
    /// A nullable timestamp column.
    fn opt_millis(&self, column: &str) -> Result<Option<Millis>, StorageError>;
}

impl<R: Cols + ?Sized> MillisCols for R {
    fn millis(&self, column: &str) -> Result<Millis, StorageError> {
        Ok(self.time(column)?.timestamp_millis())
    }
    fn opt_millis(&self, column: &str) -> Result<Option<Millis>, StorageError> {
        Ok(self.opt_time(column)?.map(|at| at.timestamp_millis()))
    }
}

/// Where [`rows_in`] puts its placeholders.
pub(super) const IN_LIST: &str = "IN_LIST";

/// Most values bound in one `IN (...)` list (both backends allow far more; this keeps
/// statements small).
pub(super) const IN_CHUNK: usize = 500;

/// Rows of `sql` whose `IN_LIST` is replaced by placeholders for `ids` (`$1...`), in one query
/// per [`IN_CHUNK`] ids; nothing to read for no ids.
pub(super) async fn rows_in<T>(
    on: &mut On<'_>,
    sql: &str,
    ids: &[String],
    decode: Decode<T>,
) -> Result<Vec<T>, StorageError> {
    let mut out = Vec::new();
    for chunk in ids.chunks(IN_CHUNK) {
        let sql = sql.replace(IN_LIST, &placeholders(1, chunk.len()));
        let args = chunk.iter().map(|id| t(id)).collect();
        out.extend(on.rows(&sql, args, decode).await?);
    }
    Ok(out)
}

/// Inserts `row`, or replaces the row with the same `key` columns; true when inserted.
pub(super) async fn upsert_created(
    tx: &mut Tx,
    table: &str,
    key: &[&str],
    row: Columns,
) -> Result<bool, StorageError> {
    let filter = key
        .iter()
        .enumerate()
        .map(|(i, k)| format!("{k} = ${}", i + 1))
        .collect::<Vec<_>>()
        .join(" AND ");
    let key_args: Vec<Arg> = key
        .iter()
        .filter_map(|k| row.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
        .collect();
    let exists = format!("SELECT COUNT(*) AS n FROM {table} WHERE {filter}");
    let existed = On::Tx(tx).count(&exists, key_args).await? > 0;
    storage_rows::upsert(tx, table, key, &[], row).await?;
    Ok(!existed)
}

/// A list kept in a child table `(owner, position, value)`.
pub(super) struct ListTable {
    pub table: &'static str,
    pub owner: &'static str,
    pub value: &'static str,
}

impl ListTable {
    /// The values of one owner, in order.
    pub(super) async fn read(
        &self,
        on: &mut On<'_>,
        owner: &str,
    ) -> Result<Vec<String>, StorageError> {
        let sql = format!(
            "SELECT {} AS value FROM {} WHERE {} = $1 ORDER BY position",
            self.value, self.table, self.owner
        );
        on.texts(&sql, vec![t(owner)]).await
    }

    /// The values of each of `owners`, in order, in one query per [`IN_CHUNK`] owners; an
    /// owner without values has no entry.
    pub(super) async fn read_many(
        &self,
        on: &mut On<'_>,
        owners: &[String],
    ) -> Result<HashMap<String, Vec<String>>, StorageError> {
        let sql = format!(
            "SELECT {owner} AS owner, {} AS value FROM {} WHERE {owner} IN ({IN_LIST}) \
             ORDER BY {owner}, position",
            self.value,
            self.table,
            owner = self.owner,
        );
        let rows = rows_in(on, &sql, owners, |r| {
            Ok((r.text("owner")?, r.text("value")?))
        })
        .await?;
        let mut out: HashMap<String, Vec<String>> = HashMap::new();
        for (owner, value) in rows {
            out.entry(owner).or_default().push(value);
        }
        Ok(out)
    }

    /// Replaces the values of one owner.
    pub(super) async fn write(
        &self,
        tx: &mut Tx,
        owner: &str,
        values: &[String],
    ) -> Result<(), StorageError> {
        let delete = format!("DELETE FROM {} WHERE {} = $1", self.table, self.owner);
        execute(tx, &delete, vec![t(owner)]).await?;
        let insert = format!(
            "INSERT INTO {} ({}, position, {}) VALUES ($1, $2, $3)",
            self.table, self.owner, self.value
        );
        for (position, value) in (0_i64..).zip(values) {
            execute(
                tx,
                &insert,
                vec![t(owner), Arg::Int(Some(position)), t(value)],
            )
            .await?;
        }
        Ok(())
    }
}
