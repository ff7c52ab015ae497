//! The audit log: appends serialised on the one-row chain head (locked by an UPDATE, which
//! takes the row lock on Postgres and the write lock on SQLite), searches, verification reads
//! and retention.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use pingan_platform::StorageError;
use pingan_platform::storage::{Db, Tx};
use pingan_platform::storage_rows::{Arg, On, execute, placeholders, t};

use crate::domain::audit::{AuditRow, ChainHead, NewAuditEntry, link};
use crate::store::AuditFilter;

// Appends lock the head first (a no-op write, held until the transaction ends: appends never
// fork), then move it once past all their rows.
const LOCK_HEAD: &str = "UPDATE audit_chain_head SET last_sequence = last_sequence \
    WHERE id = 1 RETURNING last_sequence, last_hash";
const SET_HEAD: &str =
    "UPDATE audit_chain_head SET last_sequence = $1, last_hash = $2 WHERE id = 1";
const INSERT_MANY_HEAD: &str = "INSERT INTO audit_entries (sequence, entry_id, actor_subject, \
    actor_role, actor_display_name, action, resource_type, resource_id, occurred_at, trace_id, \
    source_service, outcome, station_id, detail, client, recorded_at, prev_hash, hash) VALUES ";
/// Columns of one audit row.
const COLUMNS: usize = 18;
/// Rows per multi-row statement (18 parameters each, well under either backend's limit).
const ROWS_PER_STATEMENT: usize = 500;
const SELECT_HEAD: &str = "SELECT last_sequence, last_hash, pruned_through, anchor_hash FROM audit_chain_head WHERE id = 1";
// Retention reads the head to decide its write: the row is locked on Postgres (SQLite's
// write transaction already excludes other writers).
const SELECT_HEAD_FOR_UPDATE_PG: &str = "SELECT last_sequence, last_hash, pruned_through, anchor_hash FROM audit_chain_head WHERE id = 1 FOR UPDATE";
const SELECT_BY_ENTRY: &str = "SELECT sequence, entry_id, actor_subject, actor_role, \
    actor_display_name, action, resource_type, resource_id, occurred_at, trace_id, source_service, \
    outcome, station_id, detail, client, recorded_at, prev_hash, hash \
    FROM audit_entries WHERE entry_id = $1";
const SELECT_RANGE: &str = "SELECT sequence, entry_id, actor_subject, actor_role, \
    actor_display_name, action, resource_type, resource_id, occurred_at, trace_id, source_service, \
    outcome, station_id, detail, client, recorded_at, prev_hash, hash \
    FROM audit_entries WHERE sequence >= $1 AND sequence <= $2 ORDER BY sequence LIMIT $3";
const SELECT_HASH: &str = "SELECT hash FROM audit_entries WHERE sequence = $1";
// The two searches differ only in direction; keep their filters in step.
const QUERY_OLDEST_FIRST: &str = "SELECT sequence, entry_id, actor_subject, actor_role, \
    actor_display_name, action, resource_type, resource_id, occurred_at, trace_id, source_service, \
    outcome, station_id, detail, client, recorded_at, prev_hash, hash FROM audit_entries WHERE \
    ($1 = '' OR actor_subject = $1) AND ($2 = '' OR actor_role = $2) \
    AND ($3 = '' OR action = $3) AND ($4 = '' OR resource_type = $4) \
    AND ($5 = '' OR resource_id = $5) AND ($6 = '' OR source_service = $6) \
    AND ($7 = '' OR trace_id = $7) AND ($8 = '' OR outcome = $8) \
    AND ($9 = '' OR station_id = $9) AND ($10 IS NULL OR occurred_at >= $10) \
    AND ($11 IS NULL OR occurred_at < $11) \
    AND sequence > $12 ORDER BY sequence ASC LIMIT $13";
const QUERY_NEWEST_FIRST: &str = "SELECT sequence, entry_id, actor_subject, actor_role, \
    actor_display_name, action, resource_type, resource_id, occurred_at, trace_id, source_service, \
    outcome, station_id, detail, client, recorded_at, prev_hash, hash FROM audit_entries WHERE \
    ($1 = '' OR actor_subject = $1) AND ($2 = '' OR actor_role = $2) \
    AND ($3 = '' OR action = $3) AND ($4 = '' OR resource_type = $4) \
    AND ($5 = '' OR resource_id = $5) AND ($6 = '' OR source_service = $6) \
    AND ($7 = '' OR trace_id = $7) AND ($8 = '' OR outcome = $8) \
    AND ($9 = '' OR station_id = $9) AND ($10 IS NULL OR occurred_at >= $10) \
    AND ($11 IS NULL OR occurred_at < $11) \
    AND sequence < $12 ORDER BY sequence DESC LIMIT $13";
const LAST_EXPIRED: &str = "SELECT MAX(sequence) FROM audit_entries WHERE recorded_at < $1";
const SET_ANCHOR: &str =
    "UPDATE audit_chain_head SET pruned_through = $1, anchor_hash = $2 WHERE id = 1";
const DELETE_PRUNED: &str = "DELETE FROM audit_entries WHERE sequence <= $1";

/// The entry stored under `entry_id`, if any.
pub async fn find(db: &Db, entry_id: &str) -> Result<Option<AuditRow>, StorageError> {
    Ok(
        pingan_platform::with_db!(db, pool => sqlx::query_as::<_, AuditRow>(SELECT_BY_ENTRY)
        .bind(entry_id)
        .fetch_optional(pool)
        .await)?,
    )
}

/// Appends one entry at the head of the chain, in `tx` (the head stays locked until it ends).
/// An entry id already stored is a conflict.
pub async fn append(
    tx: &mut Tx,
    entry: NewAuditEntry,
    recorded_at: DateTime<Utc>,
) -> Result<AuditRow, StorageError> {
    append_batch(tx, vec![entry], recorded_at)
        .await?
        .pop()
        .unwrap_or(Err(StorageError::NotFound))
}

/// Appends `entries` at the head of the chain in order, in `tx`, with four statements per few
/// hundred rows (the head locked once): one result per entry, a Conflict for an id already
/// stored (that entry takes no sequence).
pub async fn append_batch(
    tx: &mut Tx,
    entries: Vec<NewAuditEntry>,
    recorded_at: DateTime<Utc>,
) -> Result<Vec<Result<AuditRow, StorageError>>, StorageError> {
    if entries.is_empty() {
        return Ok(Vec::new());
    }
    let (mut sequence, mut prev_hash): (i64, String) = pingan_platform::with_tx!(&mut *tx, c => sqlx::query_as(LOCK_HEAD)
            .fetch_one(&mut *c)
            .await)?;
    let mut stored: HashMap<String, i64> = HashMap::new();
    for chunk in entries.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "SELECT entry_id, sequence FROM audit_entries WHERE entry_id IN ({})",
            placeholders(1, chunk.len())
        );
        let args = chunk.iter().map(|e| t(&e.entry_id)).collect();
        let found = On::Tx(&mut *tx)
            .rows(&sql, args, |row| {
                Ok((row.text("entry_id")?, row.int("sequence")?))
            })
            .await?;
        stored.extend(found);
    }
    let mut results: Vec<Result<AuditRow, StorageError>> = Vec::with_capacity(entries.len());
    for entry in entries {
        if let Some(at) = stored.get(&entry.entry_id) {
            results.push(Err(StorageError::Conflict(format!(
                "audit entry {} exists at {at}",
                entry.entry_id
            ))));
            continue;
        }
        sequence += 1;
        let row = link(entry, sequence, prev_hash, recorded_at);
        prev_hash = row.hash.clone();
        stored.insert(row.entry_id.clone(), row.sequence);
        results.push(Ok(row));
    }
    let rows: Vec<&AuditRow> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let values: Vec<String> = (0..chunk.len())
            .map(|n| format!("({})", placeholders(n * COLUMNS + 1, COLUMNS)))
            .collect();
        let sql = format!("{INSERT_MANY_HEAD}{}", values.join(", "));
        let args: Vec<Arg> = chunk.iter().flat_map(|row| row_args(row)).collect();
        execute(tx, &sql, args).await?;
    }
    if !rows.is_empty() {
        execute(tx, SET_HEAD, vec![Arg::Int(Some(sequence)), t(&prev_hash)]).await?;
    }
    Ok(results)
}

/// The bound values of one row, in [`INSERT_MANY_HEAD`]'s column order.
fn row_args(row: &AuditRow) -> [Arg; COLUMNS] {
    [
        Arg::Int(Some(row.sequence)),
        t(&row.entry_id),
        t(&row.actor_subject),
        t(&row.actor_role),
        t(&row.actor_display_name),
        t(&row.action),
        t(&row.resource_type),
        t(&row.resource_id),
        Arg::Time(Some(row.occurred_at)),
        t(&row.trace_id),
        t(&row.source_service),
        t(&row.outcome),
        t(&row.station_id),
        t(&row.detail),
        t(&row.client),
        Arg::Time(Some(row.recorded_at)),
        t(&row.prev_hash),
        t(&row.hash),
    ]
}

/// The chain head.
pub async fn head(db: &Db) -> Result<ChainHead, StorageError> {
    Ok(
        pingan_platform::with_db!(db, pool => sqlx::query_as::<_, ChainHead>(SELECT_HEAD)
            .fetch_one(pool)
            .await)?,
    )
}

/// Rows `from..=to` in sequence order, at most `limit`.
pub async fn range(db: &Db, from: i64, to: i64, limit: i64) -> Result<Vec<AuditRow>, StorageError> {
    Ok(
        pingan_platform::with_db!(db, pool => sqlx::query_as::<_, AuditRow>(SELECT_RANGE)
            .bind(from)
            .bind(to)
            .bind(limit)
            .fetch_all(pool)
            .await)?,
    )
}

/// The stored hash of row `sequence`, if the row exists.
pub async fn hash_of(db: &Db, sequence: i64) -> Result<Option<String>, StorageError> {
    Ok(
        pingan_platform::with_db!(db, pool => sqlx::query_scalar::<_, String>(SELECT_HASH)
        .bind(sequence)
        .fetch_optional(pool)
        .await)?,
    )
}

/// A page of entries matching `filter`.
pub async fn query(db: &Db, filter: &AuditFilter) -> Result<Vec<AuditRow>, StorageError> {
    let (sql, after) = if filter.newest_first {
        (
            QUERY_NEWEST_FIRST,
            if filter.after_sequence > 0 {
                filter.after_sequence
            } else {
                i64::MAX
            },
        )
    } else {
        (QUERY_OLDEST_FIRST, filter.after_sequence)
    };
    Ok(
        pingan_platform::with_db!(db, pool => sqlx::query_as::<_, AuditRow>(sql)
            .bind(&filter.actor_subject)
            .bind(&filter.actor_role)
            .bind(&filter.action)
            .bind(&filter.resource_type)
            .bind(&filter.resource_id)
            .bind(&filter.source_service)
            .bind(&filter.trace_id)
            .bind(&filter.outcome)
            .bind(&filter.station_id)
            .bind(filter.from)
            .bind(filter.to)
            .bind(after)
            .bind(filter.limit)
            .fetch_all(pool)
            .await)?,
    )
}

/// Removes rows recorded before `cutoff`, keeping the last removed row's hash as the anchor the
/// oldest retained row links to. Returns the rows removed.
pub async fn prune(db: &Db, cutoff: DateTime<Utc>) -> Result<u64, StorageError> {
    let mut tx = db.begin_write().await?;
    let select_head = db.pick(SELECT_HEAD_FOR_UPDATE_PG, SELECT_HEAD);
    let head: ChainHead = pingan_platform::with_tx!(&mut tx, c => sqlx::query_as(select_head)
        .fetch_one(&mut *c)
        .await)?;
    let last: Option<i64> = pingan_platform::with_tx!(&mut tx, c => sqlx::query_scalar(LAST_EXPIRED)
        .bind(cutoff)
        .fetch_one(&mut *c)
        .await)?;
    let Some(last) = last.filter(|last| *last > head.pruned_through) else {
        tx.rollback().await?;
        return Ok(0);
    };
    let anchor: String = pingan_platform::with_tx!(&mut tx, c => sqlx::query_scalar(SELECT_HASH)
        .bind(last)
        .fetch_one(&mut *c)
        .await)?;
    pingan_platform::with_tx!(&mut tx, c => sqlx::query(SET_ANCHOR)
        .bind(last)
        .bind(&anchor)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
    let removed = pingan_platform::with_tx!(&mut tx, c => sqlx::query(DELETE_PRUNED)
        .bind(last)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
    tx.commit().await?;
    Ok(removed)
}
