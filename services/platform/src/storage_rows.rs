//! Rows over SQL on either backend, for stores that write portable SQL once with `$N`
//! placeholders: bound values ([`Arg`]), rows read back by column name ([`Cols`]), statements
//! run on the pool or in an open transaction ([`On`], [`execute`]), and INSERT / upsert / UPDATE
//! text derived from a row's columns ([`insert`], [`upsert`], [`update`]).
//!
//! SQL text here is built only from the callers' constants and column names, never from values
//! (hence `AssertSqlSafe`); every value is bound.

use chrono::{DateTime, Utc};
use sqlx::Row;

use crate::storage::{Db, StorageError, Tx};
use crate::{with_db, with_tx};

/// A bound parameter; `None` binds SQL NULL of the variant's type.
#[derive(Debug, Clone)]
pub enum Arg {
    /// TEXT.
    Text(Option<String>),
    /// BIGINT.
    Int(Option<i64>),
    /// DOUBLE PRECISION / REAL.
    Float(Option<f64>),
    /// BOOLEAN.
    Bool(bool),
    /// TIMESTAMPTZ (SQLite: its text form).
    Time(Option<DateTime<Utc>>),
    /// BYTEA / BLOB.
    Bytes(Option<Vec<u8>>),
}

/// A text parameter.
pub fn t(value: &str) -> Arg {
    Arg::Text(Some(value.to_owned()))
}

/// A row to write: column names with their values, in the order they are bound.
pub type Columns = Vec<(&'static str, Arg)>;

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
pub trait Cols {
    /// A non-null text column.
    fn text(&self, column: &str) -> Result<String, StorageError>;
    /// A nullable text column.
    fn opt_text(&self, column: &str) -> Result<Option<String>, StorageError>;
    /// A non-null BIGINT column.
    fn int(&self, column: &str) -> Result<i64, StorageError>;
    /// A nullable BIGINT column.
    fn opt_int(&self, column: &str) -> Result<Option<i64>, StorageError>;
    /// A non-null floating-point column.
    fn float(&self, column: &str) -> Result<f64, StorageError>;
    /// A nullable floating-point column.
    fn opt_float(&self, column: &str) -> Result<Option<f64>, StorageError>;
    /// A boolean column.
    fn flag(&self, column: &str) -> Result<bool, StorageError>;
    /// A non-null timestamp column.
    fn time(&self, column: &str) -> Result<DateTime<Utc>, StorageError>;
    /// A nullable timestamp column.
    fn opt_time(&self, column: &str) -> Result<Option<DateTime<Utc>>, StorageError>;
    /// A nullable binary column.
    fn bytes(&self, column: &str) -> Result<Option<Vec<u8>>, StorageError>;

    /// A 32-bit number stored as BIGINT; out of range is an error, never truncated.
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
            fn time(&self, column: &str) -> Result<DateTime<Utc>, StorageError> {
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
pub type Decode<T> = fn(&dyn Cols) -> Result<T, StorageError>;

/// Where a statement runs: the pool (reads outside a transaction) or an open transaction.
pub enum On<'a> {
    /// A connection from the pool.
    Pool(&'a Db),
    /// The connection of an open transaction.
    Tx(&'a mut Tx),
}

impl On<'_> {
    /// Rows of a query, decoded.
    pub async fn rows<T>(
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
    pub async fn first<T>(
        &mut self,
        sql: &str,
        args: Vec<Arg>,
        decode: Decode<T>,
    ) -> Result<Option<T>, StorageError> {
        Ok(self.rows(sql, args, decode).await?.into_iter().next())
    }

    /// The text column `value` of each row.
    pub async fn texts(&mut self, sql: &str, args: Vec<Arg>) -> Result<Vec<String>, StorageError> {
        self.rows(sql, args, |row| row.text("value")).await
    }

    /// The integer column `n` of the first row (0 without rows).
    pub async fn count(&mut self, sql: &str, args: Vec<Arg>) -> Result<i64, StorageError> {
        let counts = self.rows(sql, args, |row| row.int("n")).await?;
        Ok(counts.first().copied().unwrap_or(0))
    }
}

/// Runs a write in `tx`; the rows it touched.
pub async fn execute(tx: &mut Tx, sql: &str, args: Vec<Arg>) -> Result<u64, StorageError> {
    Ok(
        with_tx!(tx, conn => bind_all!(sqlx::query(sqlx::AssertSqlSafe(sql)), args)
        .execute(&mut *conn).await.map(|r| r.rows_affected()))?,
    )
}

/// The marker a statement of [`fetch_by_keys`] holds where its key filter goes:
/// `... WHERE unit_id IN_KEYS`.
pub const IN_KEYS: &str = "IN_KEYS";

/// Most keys bound in one SQLite `IN (...)` list (SQLite caps bound values per statement).
const SQLITE_KEYS_PER_READ: usize = 500;

/// The rows of `sql` whose key column is one of `keys` (bound from `$1`; `sql` has no other
/// placeholders). Postgres reads them with one statement, `= ANY($1)`, planned once as an index
/// scan: an `IN ($1, ..., $n)` list is planned anew for every call and, past ~100 keys, as a
/// sequential scan of the table. SQLite reads them with `IN` lists of at most 500 keys.
pub async fn fetch_by_keys<R>(db: &Db, sql: &str, keys: &[String]) -> Result<Vec<R>, StorageError>
where
    R: Send
        + Unpin
        + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
        + for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>,
{
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    match db {
        Db::Postgres(pool) => {
            let sql = sql.replace(IN_KEYS, "= ANY($1)");
            Ok(sqlx::query_as::<_, R>(sqlx::AssertSqlSafe(sql))
                .bind(keys)
                .fetch_all(pool)
                .await?)
        }
        Db::Sqlite(pool, _) => {
            let mut rows = Vec::with_capacity(keys.len());
            for chunk in keys.chunks(SQLITE_KEYS_PER_READ) {
                let sql = sql.replace(IN_KEYS, &format!("IN ({})", placeholders(1, chunk.len())));
                let mut query = sqlx::query_as::<_, R>(sqlx::AssertSqlSafe(sql));
                for key in chunk {
                    query = query.bind(key);
                }
                rows.extend(query.fetch_all(pool).await?);
            }
            Ok(rows)
        }
    }
}

/// `$from, $from+1, ...`: `count` placeholders.
pub fn placeholders(from: usize, count: usize) -> String {
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

fn insert_sql(table: &str, row: &Columns, on_conflict: &str) -> String {
    format!(
        "INSERT INTO {table} ({}) VALUES ({}) {on_conflict}",
        names(row),
        placeholders(1, row.len())
    )
}

fn upsert_conflict(row: &Columns, key: &[&str], keep: &[&str]) -> String {
    let set = row
        .iter()
        .filter(|(n, _)| !key.contains(n) && !keep.contains(n))
        .map(|(n, _)| format!("{n} = excluded.{n}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!("ON CONFLICT ({}) DO UPDATE SET {set}", key.join(", "))
}

/// `UPDATE` of every column but the first, keyed by the first; `None` for an empty row.
fn update_sql(table: &str, row: &Columns) -> Option<String> {
    let (key, _) = row.first()?;
    let set = row
        .iter()
        .enumerate()
        .skip(1)
        .map(|(i, (n, _))| format!("{n} = ${}", i + 1))
        .collect::<Vec<_>>()
        .join(", ");
    Some(format!("UPDATE {table} SET {set} WHERE {key} = $1"))
}

/// For [`insert`]: keep the existing row when a unique key is taken.
pub const ON_CONFLICT_DO_NOTHING: &str = "ON CONFLICT DO NOTHING";

/// Inserts `row`, with `on_conflict` (e.g. [`ON_CONFLICT_DO_NOTHING`], or `""`); true when a
/// row was written.
pub async fn insert(
    tx: &mut Tx,
    table: &str,
    row: Columns,
    on_conflict: &str,
) -> Result<bool, StorageError> {
    let sql = insert_sql(table, &row, on_conflict);
    Ok(execute(tx, &sql, values(row)).await? == 1)
}

/// Inserts `row`, or on a conflict of the `key` columns sets every column but the key and `keep`.
pub async fn upsert(
    tx: &mut Tx,
    table: &str,
    key: &[&str],
    keep: &[&str],
    row: Columns,
) -> Result<(), StorageError> {
    let conflict = upsert_conflict(&row, key, keep);
    insert(tx, table, row, &conflict).await?;
    Ok(())
}

/// Replaces the columns of the row whose first column matches; the rows touched.
pub async fn update(tx: &mut Tx, table: &str, row: Columns) -> Result<u64, StorageError> {
    let Some(sql) = update_sql(table, &row) else {
        return Ok(0);
    };
    execute(tx, &sql, values(row)).await
}

/// [`update`], only when `condition` (more SQL on the following placeholders, e.g.
/// `AND status = $N`, bound from `extra`) holds; the rows touched.
pub async fn update_when(
    tx: &mut Tx,
    table: &str,
    row: Columns,
    condition: &str,
    extra: Vec<Arg>,
) -> Result<u64, StorageError> {
    let Some(sql) = update_sql(table, &row) else {
        return Ok(0);
    };
    let sql = format!("{sql} {condition}");
    let mut args = values(row);
    args.extend(extra);
    execute(tx, &sql, args).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::PoolSettings;

    fn row() -> Columns {
        vec![
            ("id", t("a")),
            ("n", Arg::Int(Some(1))),
            ("note", Arg::Text(None)),
        ]
    }

    #[test]
    fn sql_is_derived_from_column_names_only() {
        assert_eq!(placeholders(3, 2), "$3, $4");
        assert_eq!(
            insert_sql("things", &row(), "ON CONFLICT DO NOTHING"),
            "INSERT INTO things (id, n, note) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING"
        );
        assert_eq!(
            upsert_conflict(&row(), &["id"], &["note"]),
            "ON CONFLICT (id) DO UPDATE SET n = excluded.n"
        );
        assert_eq!(
            update_sql("things", &row()).as_deref(),
            Some("UPDATE things SET n = $2, note = $3 WHERE id = $1")
        );
        assert_eq!(update_sql("things", &Vec::new()), None);
    }

    #[tokio::test]
    async fn rows_round_trip_on_sqlite() -> Result<(), StorageError> {
        let file = std::env::temp_dir().join(format!(
            "{}.db",
            crate::testing::unique_name("storage_rows")
        ));
        let url = format!("sqlite://{}", file.display());
        let db = Db::connect(&url, &PoolSettings::default()).await?;
        let mut tx = db.begin().await?;
        let create = "CREATE TABLE things (id TEXT PRIMARY KEY, n BIGINT NOT NULL, note TEXT)";
        execute(&mut tx, create, Vec::new()).await?;
        assert!(insert(&mut tx, "things", row(), "").await?);
        assert!(!insert(&mut tx, "things", row(), ON_CONFLICT_DO_NOTHING).await?);
        let mut changed = row();
        changed[1].1 = Arg::Int(Some(2));
        changed[2].1 = t("kept");
        upsert(&mut tx, "things", &["id"], &["note"], changed).await?;
        let read = "SELECT n, note FROM things WHERE id = $1";
        let decode: Decode<(i64, Option<String>)> = |r| Ok((r.int("n")?, r.opt_text("note")?));
        let got = On::Tx(&mut tx).first(read, vec![t("a")], decode).await?;
        assert_eq!(got, Some((2, None)));
        let mut changed = row();
        changed[1].1 = Arg::Int(Some(3));
        let when = "AND n = $4";
        assert_eq!(
            update_when(
                &mut tx,
                "things",
                changed.clone(),
                when,
                vec![Arg::Int(Some(9))]
            )
            .await?,
            0
        );
        assert_eq!(update(&mut tx, "things", changed).await?, 1);
        let count = "SELECT COUNT(*) AS n FROM things WHERE n = $1";
        assert_eq!(
            On::Tx(&mut tx)
                .count(count, vec![Arg::Int(Some(3))])
                .await?,
            1
        );
        tx.commit().await?;
        db.close().await;
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
        }
        Ok(())
    }
}
