//! Transfers and their history.

use chrono::{DateTime, Utc};
use pingan_platform::storage::{Db, StorageError, Tx};
use pingan_platform::storage_rows::{self, Arg, Cols, Columns, On, t};
use pingan_platform::{with_db, with_tx};

use super::classification;
use crate::store::{HistoryRow, ListFilter, NewHistory, TransferRow};

macro_rules! select_transfers {
    ($condition:literal) => {
        concat!("SELECT transfer_id, direction, status, hotline_ticket_id, incident_id, \
    complaint_id, origin_transfer_id, route, classification, category, department, description, \
    caller_phone_sealed, caller_phone_masked, caller_name, lat, lon, address, reason, \
    first_received_on, first_received_at, deadline, outcome_note, created_at, updated_at, \
    class_kind, class_category, class_priority, class_response_target_ms, class_department, \
    class_category_name, class_rules_version, class_needs_confirmation, class_catalogue_version \
            FROM triage_transfers WHERE ", $condition)
    };
}

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

/// The columns of a new transfer (its classification's scalars included, no blob).
fn columns(row: &TransferRow) -> Columns {
    let mut columns: Columns = vec![
        ("transfer_id", t(&row.transfer_id)),
        ("direction", t(&row.direction)),
        ("status", t(&row.status)),
        (
            "hotline_ticket_id",
            Arg::Text(row.hotline_ticket_id.clone()),
        ),
        ("incident_id", t(&row.incident_id)),
        ("complaint_id", t(&row.complaint_id)),
        ("origin_transfer_id", t(&row.origin_transfer_id)),
        ("route", t(&row.route)),
        ("category", t(&row.category)),
        ("department", t(&row.department)),
        ("description", t(&row.description)),
        (
            "caller_phone_sealed",
            Arg::Bytes(row.caller_phone_sealed.clone()),
        ),
        ("caller_phone_masked", t(&row.caller_phone_masked)),
        ("caller_name", t(&row.caller_name)),
        ("lat", Arg::Float(row.lat)),
        ("lon", Arg::Float(row.lon)),
        ("address", t(&row.address)),
        ("reason", t(&row.reason)),
        ("first_received_on", t(&row.first_received_on)),
        ("first_received_at", Arg::Time(Some(row.first_received_at))),
        ("deadline", Arg::Time(row.deadline)),
        ("outcome_note", t(&row.outcome_note)),
        ("created_at", Arg::Time(Some(row.created_at))),
        ("updated_at", Arg::Time(Some(row.updated_at))),
    ];
    columns.extend(classification::scalar_columns(row.classification.as_ref()));
    columns
}

/// One `triage_transfers` row, its classification's lists still to attach.
fn decode(row: &dyn Cols) -> Result<TransferRow, StorageError> {
    let blob = row.bytes("classification")?;
    Ok(TransferRow {
        transfer_id: row.text("transfer_id")?,
        direction: row.text("direction")?,
        status: row.text("status")?,
        hotline_ticket_id: row.opt_text("hotline_ticket_id")?,
        incident_id: row.text("incident_id")?,
        complaint_id: row.text("complaint_id")?,
        origin_transfer_id: row.text("origin_transfer_id")?,
        route: row.text("route")?,
        classification: classification::decode_scalars(row)?,
        legacy_classification: blob.filter(|b| !b.is_empty()),
        category: row.text("category")?,
        department: row.text("department")?,
        description: row.text("description")?,
        caller_phone_sealed: row.bytes("caller_phone_sealed")?,
        caller_phone_masked: row.text("caller_phone_masked")?,
        caller_name: row.text("caller_name")?,
        lat: row.opt_float("lat")?,
        lon: row.opt_float("lon")?,
        address: row.text("address")?,
        reason: row.text("reason")?,
        first_received_on: row.text("first_received_on")?,
        first_received_at: row.time("first_received_at")?,
        deadline: row.opt_time("deadline")?,
        outcome_note: row.text("outcome_note")?,
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
    })
}

/// The transfers of a query, with their classifications.
async fn read(
    on: &mut On<'_>,
    sql: &str,
    args: Vec<Arg>,
) -> Result<Vec<TransferRow>, StorageError> {
    let mut rows = on.rows(sql, args, decode).await?;
    classification::attach(on, &mut rows).await?;
    Ok(rows)
}

/// Records a new transfer, its classification as columns.
pub(super) async fn insert(tx: &mut Tx, row: &TransferRow) -> Result<(), StorageError> {
    storage_rows::insert(tx, "triage_transfers", columns(row), "").await?;
    classification::write_lists(tx, &row.transfer_id, row.classification.as_ref()).await
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
    if storage_rows::execute(tx, TOUCH, vec![t(transfer_id)]).await? == 0 {
        return Err(StorageError::NotFound);
    }
    const SQL: &str = select_transfers!("transfer_id = $1");
    let rows = read(&mut On::Tx(tx), SQL, vec![t(transfer_id)]).await?;
    rows.into_iter().next().ok_or(StorageError::NotFound)
}

/// Reads a transfer.
pub(super) async fn get(db: &Db, transfer_id: &str) -> Result<Option<TransferRow>, StorageError> {
    const SQL: &str = select_transfers!("transfer_id = $1");
    let rows = read(&mut On::Pool(db), SQL, vec![t(transfer_id)]).await?;
    Ok(rows.into_iter().next())
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
    let rows = read(&mut On::Pool(db), SQL, vec![t(ticket_id), t(direction)]).await?;
    Ok(rows.into_iter().next())
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
    let args = vec![
        t(&filter.direction),
        t(&filter.statuses),
        t(&filter.incident_id),
        t(&filter.department),
        Arg::Time(filter.created_from),
        Arg::Time(filter.created_to),
        Arg::Int(Some(limit)),
        Arg::Int(Some(offset)),
    ];
    read(&mut On::Pool(db), SQL, args).await
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
    let args = vec![
        Arg::Time(Some(as_of)),
        t(direction),
        Arg::Int(Some(limit)),
        Arg::Int(Some(offset)),
    ];
    read(&mut On::Pool(db), SQL, args).await
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
