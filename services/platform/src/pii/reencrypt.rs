//! Moves a service's stored personal data to the current encryption key. Found by convention:
//! every BYTEA/BLOB column named `*_enc` or `*_sealed` holds ciphertexts, every TEXT column so
//! named holds them in hex (grid-registry's records), and the durable jobs' `payload` holds one
//! where a service sealed it (triage's 12345 deliveries: only values that name a key and open are
//! touched, so plain payloads of other jobs are never rewritten). Each value not under the current
//! key is decrypted and written back under it, only if it is still the one read (compare-and-set),
//! so a concurrent writer or a second run never loses an update.

use super::PiiKeys;
use crate::storage::{Db, StorageError};
use crate::with_db;

/// Values read per query.
const BATCH: i64 = 500;

const PG_COLUMNS: &str = "SELECT table_name::text, column_name::text, data_type::text \
     FROM information_schema.columns \
     WHERE table_schema = current_schema() AND data_type IN ('bytea', 'text') \
     AND (column_name LIKE '%\\_enc' OR column_name LIKE '%\\_sealed') ORDER BY 1, 2";
const SQLITE_COLUMNS: &str = "SELECT m.name, p.name, lower(p.type) FROM sqlite_master m, \
     pragma_table_info(m.name) p WHERE m.type = 'table' AND upper(p.type) IN ('BLOB', 'TEXT') \
     AND (p.name LIKE '%\\_enc' ESCAPE '\\' OR p.name LIKE '%\\_sealed' ESCAPE '\\') ORDER BY 1, 2";
const PG_JOBS: &str = "SELECT count(*) FROM information_schema.tables \
     WHERE table_schema = current_schema() AND table_name = 'platform_jobs'";
const SQLITE_JOBS: &str =
    "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'platform_jobs'";

/// How a column stores its ciphertexts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Raw bytes (BYTEA / BLOB).
    Bytes,
    /// Lowercase hex in a TEXT column; the empty string is "no value".
    Hex,
}

/// Which values of a column are ciphertexts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every non-empty value (a value no key opens is reported as unreadable).
    Every,
    /// Only values that name a key and open with it (the jobs' payloads, sealed by some services).
    Sealed,
}

/// A column holding ciphertexts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedColumn {
    /// Table.
    pub table: String,
    /// Column.
    pub column: String,
    /// How values are stored.
    pub encoding: Encoding,
    /// Which values are ciphertexts.
    pub scope: Scope,
}

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
    /// Values already under the current key (or, in a `Sealed` scope, not ciphertexts).
    pub current: u64,
    /// Values changed by someone else between read and write (left as they are).
    pub raced: u64,
    /// Values no configured key opens (left as they are; an operator must look).
    pub unreadable: u64,
}

/// The encrypted columns of a service's database.
pub async fn sealed_columns(db: &Db) -> Result<Vec<SealedColumn>, StorageError> {
    let sql = db.pick(PG_COLUMNS, SQLITE_COLUMNS);
    let rows: Vec<(String, String, String)> =
        with_db!(db, pool => sqlx::query_as(sql).fetch_all(pool).await)?;
    let mut columns: Vec<SealedColumn> = rows
        .into_iter()
        .map(|(table, column, data_type)| SealedColumn {
            table,
            column,
            encoding: if data_type == "text" {
                Encoding::Hex
            } else {
                Encoding::Bytes
            },
            scope: Scope::Every,
        })
        .collect();
    let jobs: (i64,) =
        with_db!(db, pool => sqlx::query_as(db.pick(PG_JOBS, SQLITE_JOBS)).fetch_one(pool).await)?;
    if jobs.0 > 0 {
        columns.push(SealedColumn {
            table: "platform_jobs".to_owned(),
            column: "payload".to_owned(),
            encoding: Encoding::Bytes,
            scope: Scope::Sealed,
        });
    }
    Ok(columns)
}

/// Re-encrypts every encrypted column of `db` under `keys`' current key.
pub async fn reencrypt_all(db: &Db, keys: &PiiKeys) -> Result<Vec<ColumnReport>, StorageError> {
    let mut reports = Vec::new();
    for column in sealed_columns(db).await? {
        reports.push(reencrypt_column(db, keys, &column).await?);
    }
    Ok(reports)
}

/// A stored value as read, so the compare-and-set binds exactly what was there.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Stored {
    Bytes(Vec<u8>),
    Text(String),
}

/// Re-encrypts one column; values are visited in stored order, `BATCH` at a time.
pub async fn reencrypt_column(
    db: &Db,
    keys: &PiiKeys,
    target: &SealedColumn,
) -> Result<ColumnReport, StorageError> {
    let (t, c) = (quote(&target.table), quote(&target.column));
    let present = match target.encoding {
        Encoding::Bytes => format!("{c} IS NOT NULL"),
        Encoding::Hex => format!("{c} IS NOT NULL AND {c} <> ''"),
    };
    let (locator, at) = row_locator(db);
    // Identifiers come from the database's catalogue and are quoted; values are bound.
    let first = format!("SELECT {locator}, {c} FROM {t} WHERE {present} ORDER BY {c} LIMIT $1");
    let next = format!(
        "SELECT {locator}, {c} FROM {t} WHERE {present} AND {c} > $2 ORDER BY {c} LIMIT $1"
    );
    // The row by its locator (no index on a ciphertext), replaced only if still the value read.
    let update = format!("UPDATE {t} SET {c} = $1 WHERE {at} AND {c} = $2");
    let mut report = ColumnReport {
        table: target.table.clone(),
        column: target.column.clone(),
        ..ColumnReport::default()
    };
    let mut cursor: Option<Stored> = None;
    // Values this run wrote sort anywhere, also ahead of the cursor: skip them when met again.
    let mut written: std::collections::HashSet<Stored> = std::collections::HashSet::new();
    loop {
        let values = read_batch(db, target.encoding, &first, &next, cursor.as_ref()).await?;
        let Some((_, last)) = values.last().cloned() else {
            break;
        };
        for (row, stored) in values {
            if written.remove(&stored) {
                continue;
            }
            report.scanned += 1;
            let sealed = match &stored {
                Stored::Bytes(bytes) => Some(bytes.clone()),
                Stored::Text(text) => hex::decode(text).ok(),
            };
            let fresh = match sealed {
                Some(sealed) if target.scope == Scope::Sealed && !opens(keys, &sealed) => {
                    report.current += 1;
                    continue;
                }
                Some(sealed) => keys.reencrypt(&sealed),
                None => Err(super::PiiError::Decrypt),
            };
            match fresh {
                Ok(None) => report.current += 1,
                Ok(Some(fresh)) => {
                    let fresh = match target.encoding {
                        Encoding::Bytes => Stored::Bytes(fresh),
                        Encoding::Hex => Stored::Text(hex::encode(fresh)),
                    };
                    let done = write(db, &update, &fresh, &stored, &row).await?;
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
        table = target.table,
        column = target.column,
        scanned = report.scanned,
        moved = report.moved,
        unreadable = report.unreadable,
        key_id = keys.current_key_id(),
        "re-encrypted personal data"
    );
    Ok(report)
}

/// How a row is addressed without an index on the value: Postgres' `ctid`, SQLite's `rowid`
/// (as text when selected, and the condition on `$3` that finds it again).
pub(super) fn row_locator(db: &Db) -> (&'static str, &'static str) {
    match db.backend() {
        crate::storage::Backend::Postgres => ("ctid::text", "ctid = CAST($3::text AS tid)"),
        crate::storage::Backend::Sqlite => ("CAST(rowid AS TEXT)", "rowid = CAST($3 AS INTEGER)"),
    }
}

/// True for a value that names a key and opens with the configured keys: in a `Sealed` scope
/// anything else is a plain payload, not a ciphertext (AES-GCM cannot open what it did not seal).
fn opens(keys: &PiiKeys, value: &[u8]) -> bool {
    PiiKeys::key_id_of(value).is_some() && keys.decrypt(value).is_ok()
}

async fn read_batch(
    db: &Db,
    encoding: Encoding,
    first: &str,
    next: &str,
    cursor: Option<&Stored>,
) -> Result<Vec<(String, Stored)>, StorageError> {
    let (first, next) = (sqlx::AssertSqlSafe(first), sqlx::AssertSqlSafe(next));
    Ok(match (encoding, cursor) {
        (Encoding::Bytes, Some(Stored::Bytes(after))) => {
            let rows: Vec<(String, Vec<u8>)> = with_db!(db, pool => sqlx::query_as(next).bind(BATCH).bind(after).fetch_all(pool).await)?;
            rows.into_iter()
                .map(|(r, v)| (r, Stored::Bytes(v)))
                .collect()
        }
        (Encoding::Bytes, _) => {
            let rows: Vec<(String, Vec<u8>)> =
                with_db!(db, pool => sqlx::query_as(first).bind(BATCH).fetch_all(pool).await)?;
            rows.into_iter()
                .map(|(r, v)| (r, Stored::Bytes(v)))
                .collect()
        }
        (Encoding::Hex, Some(Stored::Text(after))) => {
            let rows: Vec<(String, String)> = with_db!(db, pool => sqlx::query_as(next).bind(BATCH).bind(after).fetch_all(pool).await)?;
            rows.into_iter()
                .map(|(r, v)| (r, Stored::Text(v)))
                .collect()
        }
        (Encoding::Hex, _) => {
            let rows: Vec<(String, String)> =
                with_db!(db, pool => sqlx::query_as(first).bind(BATCH).fetch_all(pool).await)?;
            rows.into_iter()
                .map(|(r, v)| (r, Stored::Text(v)))
                .collect()
        }
    })
}

async fn write(
    db: &Db,
    update: &str,
    fresh: &Stored,
    old: &Stored,
    row: &str,
) -> Result<u64, StorageError> {
    let q = sqlx::AssertSqlSafe(update);
    Ok(match (fresh, old) {
        (Stored::Bytes(fresh), Stored::Bytes(old)) => {
            with_db!(db, pool => sqlx::query(q).bind(fresh).bind(old).bind(row).execute(pool).await.map(|r| r.rows_affected()))?
        }
        (Stored::Text(fresh), Stored::Text(old)) => {
            with_db!(db, pool => sqlx::query(q).bind(fresh).bind(old).bind(row).execute(pool).await.map(|r| r.rows_affected()))?
        }
        _ => 0,
    })
}

/// An SQL identifier, quoted (names come from the database's own catalogue).
fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
