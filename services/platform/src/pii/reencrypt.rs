//! Moves a service's stored personal data to the current encryption key: every BYTEA/BLOB
//! column named `*_enc` or `*_sealed` (the convention of every service's schema) is scanned,
//! and each value not under the current key is decrypted and written back encrypted under it.
//! Each value is replaced only if it is still the one read (compare-and-set), so a concurrent
//! writer or a second re-encrypt run never loses an update.

use super::PiiKeys;
use crate::storage::{Db, StorageError};
use crate::with_db;

/// Values read per query.
const BATCH: i64 = 500;

const PG_COLUMNS: &str = "SELECT table_name::text, column_name::text FROM information_schema.columns \
     WHERE table_schema = current_schema() AND data_type = 'bytea' \
     AND (column_name LIKE '%\\_enc' OR column_name LIKE '%\\_sealed') ORDER BY 1, 2";
const SQLITE_COLUMNS: &str = "SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p \
     WHERE m.type = 'table' AND upper(p.type) = 'BLOB' \
     AND (p.name LIKE '%\\_enc' ESCAPE '\\' OR p.name LIKE '%\\_sealed' ESCAPE '\\') ORDER BY 1, 2";

/// What a re-encrypt run did to one column.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ColumnReport {
    /// Table.
    pub table: String,
    /// Column.
    pub column: String,
    /// Values read.
    pub scanned: u64,
    /// Values written back under the current key.
    pub moved: u64,
    /// Values already under the current key.
    pub current: u64,
    /// Values changed by someone else between read and write (left as they are).
    pub raced: u64,
    /// Values no configured key opens (left as they are; an operator must look).
    pub unreadable: u64,
}

/// The encrypted columns of a service's database, as (table, column).
pub async fn sealed_columns(db: &Db) -> Result<Vec<(String, String)>, StorageError> {
    let sql = db.pick(PG_COLUMNS, SQLITE_COLUMNS);
    let rows: Vec<(String, String)> =
        with_db!(db, pool => sqlx::query_as(sql).fetch_all(pool).await)?;
    Ok(rows)
}

/// Re-encrypts every encrypted column of `db` under `keys`' current key.
pub async fn reencrypt_all(db: &Db, keys: &PiiKeys) -> Result<Vec<ColumnReport>, StorageError> {
    let mut reports = Vec::new();
    for (table, column) in sealed_columns(db).await? {
        reports.push(reencrypt_column(db, keys, &table, &column).await?);
    }
    Ok(reports)
}

/// Re-encrypts one column; values are visited in byte order, `BATCH` at a time.
pub async fn reencrypt_column(
    db: &Db,
    keys: &PiiKeys,
    table: &str,
    column: &str,
) -> Result<ColumnReport, StorageError> {
    let (t, c) = (quote(table), quote(column));
    let first = format!("SELECT {c} FROM {t} WHERE {c} IS NOT NULL ORDER BY {c} LIMIT $1");
    let next =
        format!("SELECT {c} FROM {t} WHERE {c} IS NOT NULL AND {c} > $2 ORDER BY {c} LIMIT $1");
    let update = format!("UPDATE {t} SET {c} = $1 WHERE {c} = $2");
    // Identifiers come from the database's catalogue and are quoted; values are bound.
    let mut report = ColumnReport {
        table: table.to_owned(),
        column: column.to_owned(),
        ..ColumnReport::default()
    };
    let mut cursor: Option<Vec<u8>> = None;
    // Values this run wrote sort anywhere, also ahead of the cursor: skip them when met again.
    let mut written: std::collections::HashSet<Vec<u8>> = std::collections::HashSet::new();
    loop {
        let values: Vec<(Vec<u8>,)> = match &cursor {
            None => {
                with_db!(db, pool => sqlx::query_as(sqlx::AssertSqlSafe(first.as_str())).bind(BATCH).fetch_all(pool).await)?
            }
            Some(after) => with_db!(db, pool => sqlx::query_as(sqlx::AssertSqlSafe(next.as_str()))
                .bind(BATCH)
                .bind(after)
                .fetch_all(pool)
                .await)?,
        };
        let Some((last,)) = values.last().cloned() else {
            break;
        };
        for (sealed,) in values {
            if written.remove(&sealed) {
                continue;
            }
            report.scanned += 1;
            match keys.reencrypt(&sealed) {
                Ok(None) => report.current += 1,
                Ok(Some(fresh)) => {
                    let done = with_db!(db, pool => sqlx::query(sqlx::AssertSqlSafe(update.as_str()))
                        .bind(&fresh)
                        .bind(&sealed)
                        .execute(pool)
                        .await
                        .map(|r| r.rows_affected()))?;
                    if done == 0 {
                        report.raced += 1;
                    } else {
                        report.moved += done;
                        written.insert(fresh);
                    }
                }
                Err(_) => report.unreadable += 1,
            }
        }
        cursor = Some(last);
    }
    tracing::info!(
        table,
        column,
        scanned = report.scanned,
        moved = report.moved,
        unreadable = report.unreadable,
        key_id = keys.current_key_id(),
        "re-encrypted personal data"
    );
    Ok(report)
}

/// An SQL identifier, quoted (names come from the database's own catalogue).
fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
