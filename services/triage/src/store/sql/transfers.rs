//! Transfers and their history.

use chrono::{DateTime, Utc};
use pingan_platform::storage::{Db, StorageError, Tx};
use pingan_platform::{with_db, with_tx};

use crate::store::{HistoryRow, ListFilter, NewHistory, TransferRow};

macro_rules! select_transfers {
    ($condition:literal) => {
        concat!("SELECT transfer_id, direction, status, hotline_ticket_id, incident_id, \
    complaint_id, origin_transfer_id, route, classification, category, department, description, \
    caller_phone_sealed, caller_phone_masked, caller_name, lat, lon, address, reason, \
    first_received_on, first_received_at, deadline, outcome_note, created_at, updated_at \
            FROM triage_transfers WHERE ", $condition)
    };
}

const INSERT: &str = "INSERT INTO triage_transfers (transfer_id, direction, status, \
    hotline_ticket_id, incident_id, complaint_id, origin_transfer_id, route, classification, \
    category, department, description, caller_phone_sealed, caller_phone_masked, caller_name, \
    lat, lon, address, reason, first_received_on, first_received_at, deadline, outcome_note, \
    created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, \
    $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25)";
const SAVE: &str = "UPDATE triage_transfers SET status = $2, hotline_ticket_id = $3, \
    incident_id = $4, complaint_id = $5, department = $6, reason = $7, deadline = $8, \
    outcome_note = $9, updated_at = $10 WHERE transfer_id = $1";
// Takes the row's write lock first (Postgres row lock; SQLite write lock), then reads.
const TOUCH: &str = "UPDATE triage_transfers SET updated_at = updated_at WHERE transfer_id = $1";
const INSERT_HISTORY: &str = "INSERT INTO triage_transfer_history (transfer_id, from_status, \
    to_status, at, actor_subject, actor_role, note) VALUES ($1, $2, $3, $4, $5, $6, $7)";
const SELECT_HISTORY: &str = "SELECT from_status, to_status, at, actor_subject, actor_role, note \
    FROM triage_transfer_history WHERE transfer_id = $1 ORDER BY id";

const COUNT_OVERDUE: &str = "SELECT direction, COUNT(*) FROM triage_transfers \
    WHERE deadline IS NOT NULL AND deadline < $1 AND status NOT IN ('HANDLED', 'BOUNCED') \
    GROUP BY direction";

/// Records a new transfer.
pub(super) async fn insert(tx: &mut Tx, row: &TransferRow) -> Result<(), StorageError> {
    with_tx!(tx, conn => sqlx::query(INSERT)
        .bind(&row.transfer_id)
        .bind(&row.direction)
        .bind(&row.status)
        .bind(&row.hotline_ticket_id)
        .bind(&row.incident_id)
        .bind(&row.complaint_id)
        .bind(&row.origin_transfer_id)
        .bind(&row.route)
        .bind(&row.classification)
        .bind(&row.category)
        .bind(&row.department)
        .bind(&row.description)
        .bind(&row.caller_phone_sealed)
        .bind(&row.caller_phone_masked)
        .bind(&row.caller_name)
        .bind(row.lat)
        .bind(row.lon)
        .bind(&row.address)
        .bind(&row.reason)
        .bind(&row.first_received_on)
        .bind(row.first_received_at)
        .bind(row.deadline)
        .bind(&row.outcome_note)
        .bind(row.created_at)
        .bind(row.updated_at)
        .execute(&mut *conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Writes the mutable fields of `row`.
pub(super) async fn save(tx: &mut Tx, row: &TransferRow) -> Result<(), StorageError> {
    with_tx!(tx, conn => sqlx::query(SAVE)
        .bind(&row.transfer_id)
        .bind(&row.status)
        .bind(&row.hotline_ticket_id)
        .bind(&row.incident_id)
        .bind(&row.complaint_id)
        .bind(&row.department)
        .bind(&row.reason)
        .bind(row.deadline)
        .bind(&row.outcome_note)
        .bind(row.updated_at)
        .execute(&mut *conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Locks and reads a transfer inside `tx`.
pub(super) async fn lock(tx: &mut Tx, transfer_id: &str) -> Result<TransferRow, StorageError> {
    let touched = with_tx!(tx, conn => sqlx::query(TOUCH)
        .bind(transfer_id)
        .execute(&mut *conn)
        .await
        .map(|r| r.rows_affected()))?;
    if touched == 0 {
        return Err(StorageError::NotFound);
    }
    const SQL: &str = select_transfers!("transfer_id = $1");
    Ok(with_tx!(tx, conn => sqlx::query_as::<_, TransferRow>(SQL)
        .bind(transfer_id)
        .fetch_one(&mut *conn)
        .await)?)
}

/// Reads a transfer.
pub(super) async fn get(db: &Db, transfer_id: &str) -> Result<Option<TransferRow>, StorageError> {
    const SQL: &str = select_transfers!("transfer_id = $1");
    Ok(with_db!(db, pool => sqlx::query_as::<_, TransferRow>(SQL)
        .bind(transfer_id)
        .fetch_optional(pool)
        .await)?)
}

/// The transfer of a 12345 ticket (`direction` empty: either way, newest first).
pub(super) async fn by_ticket(
    db: &Db,
    direction: &str,
    ticket_id: &str,
) -> Result<Option<TransferRow>, StorageError> {
    const SQL: &str = select_transfers!(
        "hotline_ticket_id = $1 AND ($2 = '' OR direction = $2) \
         ORDER BY created_at DESC LIMIT 1"
    );
    Ok(with_db!(db, pool => sqlx::query_as::<_, TransferRow>(SQL)
        .bind(ticket_id)
        .bind(direction)
        .fetch_optional(pool)
        .await)?)
}

/// Lists transfers, newest first.
pub(super) async fn list(
    db: &Db,
    filter: &ListFilter,
    limit: i64,
    offset: i64,
) -> Result<Vec<TransferRow>, StorageError> {
    const SQL: &str = select_transfers!(
        "($1 = '' OR direction = $1) AND ($2 = '' OR $2 LIKE '%,' || status || ',%') \
         AND ($3 = '' OR incident_id = $3) AND ($4 = '' OR department = $4) \
         AND ($5 IS NULL OR created_at >= $5) AND ($6 IS NULL OR created_at < $6) \
         ORDER BY created_at DESC, transfer_id DESC LIMIT $7 OFFSET $8"
    );
    Ok(with_db!(db, pool => sqlx::query_as::<_, TransferRow>(SQL)
        .bind(&filter.direction)
        .bind(&filter.statuses)
        .bind(&filter.incident_id)
        .bind(&filter.department)
        .bind(filter.created_from)
        .bind(filter.created_to)
        .bind(limit)
        .bind(offset)
        .fetch_all(pool)
        .await)?)
}

/// Open transfers past their deadline at `as_of`, most overdue first.
pub(super) async fn overdue(
    db: &Db,
    as_of: DateTime<Utc>,
    direction: &str,
    limit: i64,
    offset: i64,
) -> Result<Vec<TransferRow>, StorageError> {
    const SQL: &str = select_transfers!(
        "deadline IS NOT NULL AND deadline < $1 AND status NOT IN ('HANDLED', 'BOUNCED') \
         AND ($2 = '' OR direction = $2) ORDER BY deadline, transfer_id LIMIT $3 OFFSET $4"
    );
    Ok(with_db!(db, pool => sqlx::query_as::<_, TransferRow>(SQL)
        .bind(as_of)
        .bind(direction)
        .bind(limit)
        .bind(offset)
        .fetch_all(pool)
        .await)?)
}

/// Overdue transfers per direction.
pub(super) async fn count_overdue(
    db: &Db,
    as_of: DateTime<Utc>,
) -> Result<Vec<(String, i64)>, StorageError> {
    Ok(with_db!(db, pool => sqlx::query_as(COUNT_OVERDUE)
        .bind(as_of)
        .fetch_all(pool)
        .await)?)
}

/// Appends a status change.
pub(super) async fn add_history(tx: &mut Tx, entry: NewHistory<'_>) -> Result<(), StorageError> {
    with_tx!(tx, conn => sqlx::query(INSERT_HISTORY)
        .bind(entry.transfer_id)
        .bind(entry.from)
        .bind(entry.to)
        .bind(entry.at)
        .bind(&entry.actor.subject)
        .bind(&entry.actor.role)
        .bind(entry.note)
        .execute(&mut *conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Every status change of a transfer, oldest first.
pub(super) async fn history(db: &Db, transfer_id: &str) -> Result<Vec<HistoryRow>, StorageError> {
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, HistoryRow>(SELECT_HISTORY)
        .bind(transfer_id)
        .fetch_all(pool)
        .await)?,
    )
}
