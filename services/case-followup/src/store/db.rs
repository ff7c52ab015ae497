//! The plumbing under the SQL store: bound values, rows read by column name on either backend,
//! statements run on the pool or in a transaction (one read path for both), and INSERT/UPDATE SQL
//! derived from a row's columns. SQL text is built only from this crate's constants and column
//! names (AssertSqlSafe); every value is bound.

use chrono::{DateTime, Utc};
use pingan_platform::storage::Tx;
use pingan_platform::{Db, StorageError, with_db, with_tx};
use sqlx::Row;

/// A bound parameter.
#[derive(Debug, Clone)]
pub(super) enum Arg {
    Text(Option<String>),
    Int(Option<i64>),
    Float(Option<f64>),
    Bool(bool),
    Time(Option<DateTime<Utc>>),
    Bytes(Option<Vec<u8>>),
}

/// A text parameter.
pub(super) fn t(value: &str) -> Arg {
    Arg::Text(Some(value.to_owned()))
}

/// A row to write: column names with their values, in the order they are bound.
pub(super) type Columns = Vec<(&'static str, Arg)>;

macro_rules! bind_all {
    ($query:expr, $args:expr) => {{
        let mut query = $query;
        for arg in $args {
            query = match arg {
                Arg::Text(value) => query.bind(value),
                Arg::Int(value) => query.bind(value),
                Arg::Float(value) => query.bind(value),
                Arg::Bool(value) => query.bind(value),
                Arg::Time(value) => query.bind(value),
                Arg::Bytes(value) => query.bind(value),
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
    fn opt_int(&self, column: &str) -> Result<Option<i64>, StorageError>;
    fn float(&self, column: &str) -> Result<f64, StorageError>;
    fn opt_float(&self, column: &str) -> Result<Option<f64>, StorageError>;
    fn flag(&self, column: &str) -> Result<bool, StorageError>;
    fn opt_time(&self, column: &str) -> Result<Option<DateTime<Utc>>, StorageError>;
    fn bytes(&self, column: &str) -> Result<Option<Vec<u8>>, StorageError>;

    /// A 32-bit number stored as BIGINT.
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
            fn opt_int(&self, column: &str) -> Result<Option<i64>, StorageError> {
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
            fn opt_time(&self, column: &str) -> Result<Option<DateTime<Utc>>, StorageError> {
                Ok(self.try_get(column)?)
            }
            fn bytes(&self, column: &str) -> Result<Option<Vec<u8>>, StorageError> {
                Ok(self.try_get(column)?)
            }
        }
    };
}

impl_cols!(sqlx::postgres::PgRow);
impl_cols!(sqlx::sqlite::SqliteRow);

/// Decodes one row.
pub(super) type Decode<T> = fn(&dyn Cols) -> Result<T, StorageError>;

/// Where a statement runs: the pool (reads outside a transaction) or an open transaction.
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

    /// The first row of a query, decoded.
    pub(super) async fn first<T>(
        &mut self,
        sql: &str,
        args: Vec<Arg>,
        decode: Decode<T>,
    ) -> Result<Option<T>, StorageError> {
        Ok(self.rows(sql, args, decode).await?.into_iter().next())
    }
}

/// Runs a write in `tx`; the rows it touched.
pub(super) async fn execute(tx: &mut Tx, sql: &str, args: Vec<Arg>) -> Result<u64, StorageError> {
    Ok(
        with_tx!(tx, conn => bind_all!(sqlx::query(sqlx::AssertSqlSafe(sql)), args)
        .execute(&mut *conn).await.map(|r| r.rows_affected()))?,
    )
}

fn placeholders(count: usize) -> String {
    (1..=count)
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

/// Inserts `row`, with `on_conflict` (e.g. `ON CONFLICT (k) DO NOTHING`, or ''); true when a row
/// was written.
pub(super) async fn insert(
    tx: &mut Tx,
    table: &str,
    row: Columns,
    on_conflict: &str,
) -> Result<bool, StorageError> {
    let sql = format!(
        "INSERT INTO {table} ({}) VALUES ({}) {on_conflict}",
        names(&row),
        placeholders(row.len())
    );
    Ok(execute(tx, &sql, values(row)).await? == 1)
}

/// Inserts `row`, or on a conflict of `key` sets every column but the key and `keep`.
pub(super) async fn upsert(
    tx: &mut Tx,
    table: &str,
    key: &[&str],
    keep: &[&str],
    row: Columns,
) -> Result<(), StorageError> {
    let set = row
        .iter()
        .filter(|(n, _)| !key.contains(n) && !keep.contains(n))
        .map(|(n, _)| format!("{n} = excluded.{n}"))
        .collect::<Vec<_>>()
        .join(", ");
    let conflict = format!("ON CONFLICT ({}) DO UPDATE SET {set}", key.join(", "));
    insert(tx, table, row, &conflict).await?;
    Ok(())
}

/// Replaces the columns of the row whose first column matches; the rows touched.
pub(super) async fn update(tx: &mut Tx, table: &str, row: Columns) -> Result<u64, StorageError> {
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
    let sql = format!("UPDATE {table} SET {set} WHERE {key} = $1");
    execute(tx, &sql, values(row)).await
}

/// A list kept in a child table: the rows of one owner (its key columns), in `ordinal` order.
pub(super) struct Children {
    pub table: &'static str,
    pub owner: &'static [&'static str],
}

impl Children {
    fn filter(&self) -> String {
        self.owner
            .iter()
            .enumerate()
            .map(|(i, k)| format!("{k} = ${}", i + 1))
            .collect::<Vec<_>>()
            .join(" AND ")
    }

    /// The rows of one owner, in order.
    pub(super) async fn read<T>(
        &self,
        on: &mut On<'_>,
        owner: &[&str],
        decode: Decode<T>,
    ) -> Result<Vec<T>, StorageError> {
        let sql = format!(
            "SELECT * FROM {} WHERE {} ORDER BY ordinal",
            self.table,
            self.filter()
        );
        on.rows(&sql, owner.iter().map(|k| t(k)).collect(), decode)
            .await
    }

    /// Replaces the rows of one owner with `rows` (each without the owner and ordinal columns).
    pub(super) async fn write(
        &self,
        tx: &mut Tx,
        owner: &[&str],
        rows: Vec<Columns>,
    ) -> Result<(), StorageError> {
        let delete = format!("DELETE FROM {} WHERE {}", self.table, self.filter());
        execute(tx, &delete, owner.iter().map(|k| t(k)).collect()).await?;
        for (ordinal, columns) in (0_i64..).zip(rows) {
            let mut row: Columns = self
                .owner
                .iter()
                .zip(owner)
                .map(|(n, v)| (*n, t(v)))
                .collect();
            row.push(("ordinal", Arg::Int(Some(ordinal))));
            row.extend(columns);
            insert(tx, self.table, row, "").await?;
        }
        Ok(())
    }
}
