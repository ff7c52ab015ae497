//! The plumbing under the SQL store: bound values, rows read by column name on either backend,
//! statements run on the pool or in a transaction, and upsert SQL derived from a row's columns.
//! SQL text here is built only from this crate's constants and column names (AssertSqlSafe);
//! every value is bound.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use pingan_platform::storage::Tx;
use pingan_platform::{Db, StorageError, with_db, with_tx};
use sqlx::Row;

use crate::domain::Millis;

/// A bound parameter.
#[derive(Debug, Clone)]
pub(super) enum Arg {
    Text(String),
    NullText(Option<String>),
    Int(i64),
    Float(f64),
    NullFloat(Option<f64>),
    Bool(bool),
    Time(Option<DateTime<Utc>>),
}

/// A text parameter.
pub(super) fn t(value: &str) -> Arg {
    Arg::Text(value.to_owned())
}

/// A row to write: column names with their values, in the order they are bound.
pub(super) type Columns = Vec<(&'static str, Arg)>;

/// An instant as the platform's time type; out-of-range values are refused, never truncated.
pub(super) fn time(ms: Millis) -> Result<Arg, StorageError> {
    Ok(Arg::Time(Some(to_time(ms)?)))
}

/// An optional instant.
pub(super) fn opt_time(ms: Option<Millis>) -> Result<Arg, StorageError> {
    Ok(Arg::Time(ms.map(to_time).transpose()?))
}

fn to_time(ms: Millis) -> Result<DateTime<Utc>, StorageError> {
    pingan_platform::time::from_millis(ms)
        .ok_or_else(|| StorageError::Other(format!("time out of range: {ms} ms").into()))
}

macro_rules! bind_all {
    ($query:expr, $args:expr) => {{
        let mut query = $query;
        for arg in $args {
            query = match arg {
                Arg::Text(value) => query.bind(value),
                Arg::NullText(value) => query.bind(value),
                Arg::Int(value) => query.bind(value),
                Arg::Float(value) => query.bind(value),
                Arg::NullFloat(value) => query.bind(value),
                Arg::Bool(value) => query.bind(value),
                Arg::Time(value) => query.bind(value),
            };
        }
        query
    }};
}

/// A row read back, by column name, the same on both backends.
pub(super) trait Cols {
    fn text(&self, column: &str) -> Result<String, StorageError>;
    fn opt_text(&self, column: &str) -> Result<Option<String>, StorageError>;
    fn int(&self, column: &str) -> Result<i64, StorageError>;
    fn float(&self, column: &str) -> Result<f64, StorageError>;
    fn opt_float(&self, column: &str) -> Result<Option<f64>, StorageError>;
    fn flag(&self, column: &str) -> Result<bool, StorageError>;
    fn time(&self, column: &str) -> Result<Millis, StorageError>;
    fn opt_time(&self, column: &str) -> Result<Option<Millis>, StorageError>;

    /// A 32-bit count stored as BIGINT.
    fn int32(&self, column: &str) -> Result<i32, StorageError> {
        i32::try_from(self.int(column)?)
            .map_err(|_| StorageError::Other(format!("{column} out of range").into()))
    }
}

macro_rules! impl_cols {
    ($row:ty) => {
        impl Cols for $row {
            fn text(&self, column: &str) -> Result<String, StorageError> {
                Ok(self.try_get(column)?)
            }
            fn opt_text(&self, column: &str) -> Result<Option<String>, StorageError> {
                Ok(self.try_get(column)?)
            }
            fn int(&self, column: &str) -> Result<i64, StorageError> {
                Ok(self.try_get(column)?)
            }
            fn float(&self, column: &str) -> Result<f64, StorageError> {
                Ok(self.try_get(column)?)
            }
            fn opt_float(&self, column: &str) -> Result<Option<f64>, StorageError> {
                Ok(self.try_get(column)?)
            }
            fn flag(&self, column: &str) -> Result<bool, StorageError> {
                Ok(self.try_get(column)?)
            }
            fn time(&self, column: &str) -> Result<Millis, StorageError> {
                Ok(self.try_get::<DateTime<Utc>, _>(column)?.timestamp_millis())
            }
            fn opt_time(&self, column: &str) -> Result<Option<Millis>, StorageError> {
                Ok(self
                    .try_get::<Option<DateTime<Utc>>, _>(column)?
                    .map(|at| at.timestamp_millis()))
            }
        }
    };
}

impl_cols!(sqlx::postgres::PgRow);
impl_cols!(sqlx::sqlite::SqliteRow);

/// Decodes one row.
pub(super) type Decode<T> = fn(&dyn Cols) -> Result<T, StorageError>;

/// Where a statement runs: the pool (reads) or an open transaction.
pub(super) enum On<'a> {
    Pool(&'a Db),
    Tx(&'a mut Tx),
}

impl On<'_> {
    /// Rows of a query, decoded.
    pub(super) async fn rows<T>(
        &mut self,
        sql: &str,
        args: Vec<Arg>,
        decode: Decode<T>,
    ) -> Result<Vec<T>, StorageError> {
        match self {
            On::Pool(db) => with_db!(*db, pool => {
                let rows = bind_all!(sqlx::query(sqlx::AssertSqlSafe(sql)), args).fetch_all(pool).await?;
                rows.iter().map(|row| decode(row)).collect()
            }),
            On::Tx(tx) => with_tx!(&mut **tx, conn => {
                let rows = bind_all!(sqlx::query(sqlx::AssertSqlSafe(sql)), args).fetch_all(&mut *conn).await?;
                rows.iter().map(|row| decode(row)).collect()
            }),
        }
    }

    /// Rows of `sql` whose `IN_LIST` is replaced by placeholders for `ids` (`$1...`), in one
    /// query per [`IN_CHUNK`] ids; nothing to read for no ids.
    pub(super) async fn rows_in<T>(
        &mut self,
        sql: &str,
        ids: &[String],
        decode: Decode<T>,
    ) -> Result<Vec<T>, StorageError> {
        let mut out = Vec::new();
        for chunk in ids.chunks(IN_CHUNK) {
            let sql = sql.replace(IN_LIST, &placeholders(1, chunk.len()));
            let args = chunk.iter().map(|id| t(id)).collect();
            out.extend(self.rows(&sql, args, decode).await?);
        }
        Ok(out)
    }

    /// The single text column of each row.
    pub(super) async fn texts(
        &mut self,
        sql: &str,
        args: Vec<Arg>,
    ) -> Result<Vec<String>, StorageError> {
        self.rows(sql, args, |row| row.text("value")).await
    }

    /// The single integer column `n` of the first row.
    pub(super) async fn count(&mut self, sql: &str, args: Vec<Arg>) -> Result<i64, StorageError> {
        let counts = self.rows(sql, args, |row| row.int("n")).await?;
        Ok(counts.first().copied().unwrap_or(0))
    }
}

/// Runs a write in `tx`; the rows it touched.
pub(super) async fn execute(tx: &mut Tx, sql: &str, args: Vec<Arg>) -> Result<u64, StorageError> {
    Ok(
        with_tx!(tx, conn => bind_all!(sqlx::query(sqlx::AssertSqlSafe(sql)), args)
        .execute(&mut *conn).await.map(|r| r.rows_affected()))?,
    )
}

/// Where [`On::rows_in`] puts its placeholders.
pub(super) const IN_LIST: &str = "IN_LIST";

/// Most values bound in one `IN (...)` list (both backends allow far more; this keeps
/// statements small).
pub(super) const IN_CHUNK: usize = 500;

/// `$from, $from+1, ...`: `count` placeholders.
pub(super) fn placeholders(from: usize, count: usize) -> String {
    (from..from + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn names(row: &Columns) -> String {
    row.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
}

fn values(row: Columns) -> Vec<Arg> {
    row.into_iter().map(|(_, v)| v).collect()
}

/// Inserts `row` unless a unique key is taken; true when inserted.
pub(super) async fn insert_new(
    tx: &mut Tx,
    table: &str,
    row: Columns,
) -> Result<bool, StorageError> {
    let sql = format!(
        "INSERT INTO {table} ({}) VALUES ({}) ON CONFLICT DO NOTHING",
        names(&row),
        placeholders(1, row.len())
    );
    Ok(execute(tx, &sql, values(row)).await? == 1)
}

/// Inserts `row`, or replaces the row with the same `key` columns; true when inserted.
pub(super) async fn upsert(
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
    let set = row
        .iter()
        .filter(|(n, _)| !key.contains(n))
        .map(|(n, _)| format!("{n} = excluded.{n}"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "INSERT INTO {table} ({}) VALUES ({}) ON CONFLICT ({}) DO UPDATE SET {set}",
        names(&row),
        placeholders(1, row.len()),
        key.join(", ")
    );
    execute(tx, &sql, values(row)).await?;
    Ok(!existed)
}

/// Replaces the columns of the row whose first column matches, when `condition` (more SQL on
/// the same placeholders, e.g. `AND status = $N`) holds; the rows touched.
pub(super) async fn update(
    tx: &mut Tx,
    table: &str,
    row: Columns,
    condition: &str,
    extra: Vec<Arg>,
) -> Result<u64, StorageError> {
    let Some((key, _)) = row.first() else {
        return Ok(0);
    };
    let set = row
        .iter()
        .enumerate()
        .skip(1)
        .map(|(i, (n, _))| format!("{n} = ${}", i + 1))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!("UPDATE {table} SET {set} WHERE {key} = $1 {condition}");
    let mut args = values(row);
    args.extend(extra);
    execute(tx, &sql, args).await
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
        let rows = on
            .rows_in(&sql, owners, |r| Ok((r.text("owner")?, r.text("value")?)))
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
            execute(tx, &insert, vec![t(owner), Arg::Int(position), t(value)]).await?;
        }
        Ok(())
    }
}
