//! Recomputes the blind indexes of a service's database under the current index key, after
//! the index key was rotated. Pairs are found by convention: an encrypted column `<base>_enc` /
//! `<base>_sealed` (bytes, or hex in TEXT) with an index column `<base>_index` / `<base>_hash` in
//! the same table; the kind of number is read from `<base>` (`phone` → phone, `id` → ID number).
//! Each index is replaced only if it is still the one read (compare-and-set).

use super::{PiiKeys, PiiKind};
use crate::storage::{Db, StorageError};
use crate::with_db;

use super::reencrypt::{Encoding, Scope, SealedColumn, row_locator, sealed_columns};

/// Rows read per query.
const BATCH: i64 = 500;

const PG_INDEX_COLUMNS: &str = "SELECT table_name::text, column_name::text \
     FROM information_schema.columns WHERE table_schema = current_schema() \
     AND data_type = 'text' AND (column_name LIKE '%\\_index' OR column_name LIKE '%\\_hash')";
const SQLITE_INDEX_COLUMNS: &str = "SELECT m.name, p.name FROM sqlite_master m, \
     pragma_table_info(m.name) p WHERE m.type = 'table' AND upper(p.type) = 'TEXT' \
     AND (p.name LIKE '%\\_index' ESCAPE '\\' OR p.name LIKE '%\\_hash' ESCAPE '\\')";

/// An encrypted column and the blind index kept beside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexedColumn {
    /// The encrypted column.
    pub sealed: SealedColumn,
    /// The index column in the same table.
    pub index: String,
    /// What kind of number it holds.
    pub kind: PiiKind,
}

/// What a re-index run did to one index column.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndexReport {
    /// Table.
    pub table: String,
    /// Index column.
    pub column: String,
    /// Rows read.
    pub scanned: u64,
    /// Indexes rewritten under the current key.
    pub rewritten: u64,
    /// Indexes already right.
    pub current: u64,
    /// Rows changed by someone else between read and write (left as they are).
    pub raced: u64,
    /// Values no configured key opens (index left as it is).
    pub unreadable: u64,
}

/// The kind of number a column base names, if it names one.
pub fn kind_of(base: &str) -> Option<PiiKind> {
    let words: Vec<&str> = base.split('_').collect();
    if words.contains(&"phone") || words.contains(&"phones") {
        Some(PiiKind::Phone)
    } else if words.contains(&"id") {
        Some(PiiKind::IdNumber)
    } else {
        None
    }
}

/// The indexed encrypted columns of `db`.
pub async fn indexed_columns(db: &Db) -> Result<Vec<IndexedColumn>, StorageError> {
    let sql = db.pick(PG_INDEX_COLUMNS, SQLITE_INDEX_COLUMNS);
    let index_columns: Vec<(String, String)> =
        with_db!(db, pool => sqlx::query_as(sql).fetch_all(pool).await)?;
    let mut out = Vec::new();
    for sealed in sealed_columns(db).await? {
        if sealed.scope != Scope::Every {
            continue;
        }
        let Some(base) = sealed
            .column
            .strip_suffix("_enc")
            .or_else(|| sealed.column.strip_suffix("_sealed"))
        else {
            continue;
        };
        let Some(kind) = kind_of(base) else {
            continue;
        };
        let index = index_columns.iter().find(|(table, column)| {
            *table == sealed.table
                && (*column == format!("{base}_index") || *column == format!("{base}_hash"))
        });
        if let Some((_, index)) = index {
            out.push(IndexedColumn {
                index: index.clone(),
                sealed,
                kind,
            });
        }
    }
    Ok(out)
}

/// Recomputes every blind index of `db` under `keys`' index key.
pub async fn reindex_all(db: &Db, keys: &PiiKeys) -> Result<Vec<IndexReport>, StorageError> {
    let mut reports = Vec::new();
    for column in indexed_columns(db).await? {
        reports.push(reindex_column(db, keys, &column).await?);
    }
    Ok(reports)
}

/// Recomputes one index column, rows visited by their encrypted value, `BATCH` at a time.
pub async fn reindex_column(
    db: &Db,
    keys: &PiiKeys,
    target: &IndexedColumn,
) -> Result<IndexReport, StorageError> {
    let t = quote(&target.sealed.table);
    let (c, i) = (quote(&target.sealed.column), quote(&target.index));
    let postgres = db.backend() == crate::storage::Backend::Postgres;
    let (cast, present) = match target.sealed.encoding {
        // Both kinds of column are read as text (hex for bytes) so one query shape serves both.
        Encoding::Bytes if postgres => (format!("encode({c}, 'hex')"), format!("{c} IS NOT NULL")),
        Encoding::Bytes => (format!("lower(hex({c}))"), format!("{c} IS NOT NULL")),
        Encoding::Hex => (c.clone(), format!("{c} IS NOT NULL AND {c} <> ''")),
    };
    let (locator, at) = row_locator(db);
    let first = format!(
        "SELECT {locator}, {cast}, COALESCE({i}, '') FROM {t} WHERE {present} \
         ORDER BY {cast} LIMIT $1"
    );
    let next = format!(
        "SELECT {locator}, {cast}, COALESCE({i}, '') FROM {t} WHERE {present} AND {cast} > $2 \
         ORDER BY {cast} LIMIT $1"
    );
    // The row by its locator, replaced only if its index is still the one read.
    let update = format!("UPDATE {t} SET {i} = $1 WHERE {at} AND COALESCE({i}, '') = $2");
    let mut report = IndexReport {
        table: target.sealed.table.clone(),
        column: target.index.clone(),
        ..IndexReport::default()
    };
    let mut cursor: Option<String> = None;
    loop {
        let rows: Vec<(String, String, String)> = match &cursor {
            None => with_db!(db, pool => sqlx::query_as(sqlx::AssertSqlSafe(first.as_str()))
                .bind(BATCH).fetch_all(pool).await)?,
            Some(after) => with_db!(db, pool => sqlx::query_as(sqlx::AssertSqlSafe(next.as_str()))
                .bind(BATCH).bind(after).fetch_all(pool).await)?,
        };
        let Some((_, last, _)) = rows.last().cloned() else {
            break;
        };
        for (row, sealed_hex, old_index) in rows {
            report.scanned += 1;
            let clear = hex::decode(&sealed_hex)
                .ok()
                .and_then(|sealed| keys.decrypt(&sealed).ok());
            let Some(clear) = clear else {
                report.unreadable += 1;
                continue;
            };
            let fresh = keys.blind_index(target.kind, &clear);
            if fresh == old_index {
                report.current += 1;
                continue;
            }
            let done = with_db!(db, pool => sqlx::query(sqlx::AssertSqlSafe(update.as_str()))
                .bind(&fresh).bind(&old_index).bind(&row)
                .execute(pool).await.map(|r| r.rows_affected()))?;
            if done == 0 {
                report.raced += 1;
            } else {
                report.rewritten += done;
            }
        }
        cursor = Some(last);
    }
    tracing::info!(
        table = report.table,
        column = report.column,
        scanned = report.scanned,
        rewritten = report.rewritten,
        unreadable = report.unreadable,
        "recomputed blind indexes"
    );
    Ok(report)
}

/// An SQL identifier, quoted (names come from the database's own catalogue).
fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_column_base_names_the_kind_of_number() {
        assert_eq!(kind_of("caller_phone"), Some(PiiKind::Phone));
        assert_eq!(kind_of("party_phones"), Some(PiiKind::Phone));
        assert_eq!(kind_of("complainant_id"), Some(PiiKind::IdNumber));
        assert_eq!(kind_of("id_number"), Some(PiiKind::IdNumber));
        assert_eq!(kind_of("address"), None);
        assert_eq!(kind_of("payload"), None);
    }
}
