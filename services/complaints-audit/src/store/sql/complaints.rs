//! Complaints and their accused.

use chrono::{DateTime, Utc};
use pingan_platform::StorageError;
use pingan_platform::storage::{Db, Tx};
use pingan_platform::{with_db, with_tx};

use crate::domain::records::{AccusedRow, ComplaintRow, WarningRow};
use crate::store::ListFilter;

macro_rules! complaint_columns {
    () => {
        "complaint_id, case_number, source, hotline_ticket_id, transfer_id, complainant_name, \
         complainant_phone_sealed, complainant_phone_index, complainant_phone_masked, \
         complainant_id_sealed, complainant_id_index, complainant_id_masked, complainant_address, \
         confidential, incident_id, allegation, allegation_tags, occurred_at, station_id, status, \
         stage, investigator_id, legal_reviewer_id, receipt_due_at, receipt_met_at, \
         preliminary_due_at, preliminary_met_at, investigation_due_at, investigation_met_at, \
         finding, hotline_reply_status, hotline_replied_at, received_at, \
         filed_by_subject, filed_by_role, closed_at, created_at, updated_at"
    };
}

const NEXT_CASE_NUMBER: &str = "INSERT INTO complaint_counters (year, last) VALUES ($1, 1) \
    ON CONFLICT (year) DO UPDATE SET last = complaint_counters.last + 1 RETURNING last";
const INSERT_COMPLAINT: &str = concat!(
    "INSERT INTO complaints (",
    complaint_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, \
     $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, $32, $33, $34, $35, $36, \
     $37, $38)"
);
pub const SELECT_BY_ID: &str = concat!(
    "SELECT ",
    complaint_columns!(),
    " FROM complaints WHERE complaint_id = $1"
);
pub const SELECT_BY_CASE_NUMBER: &str = concat!(
    "SELECT ",
    complaint_columns!(),
    " FROM complaints WHERE case_number = $1"
);
pub const SELECT_BY_TICKET: &str = concat!(
    "SELECT ",
    complaint_columns!(),
    " FROM complaints WHERE hotline_ticket_id = $1 AND hotline_ticket_id <> ''"
);
pub const SELECT_BY_SOURCE_INCIDENT: &str = concat!(
    "SELECT ",
    complaint_columns!(),
    " FROM complaints WHERE source = $1 AND incident_id = $2 AND incident_id <> ''"
);
pub const SELECT_BY_TRANSFER: &str = concat!(
    "SELECT ",
    complaint_columns!(),
    " FROM complaints WHERE transfer_id = $1 AND transfer_id <> ''"
);
// Kept until platform's RequestLog / ServiceSink open their transactions with begin_write():
// the caller's transaction may be a deferred one on SQLite, and this write takes its lock.
const LOCK: &str = "UPDATE complaints SET complaint_id = complaint_id WHERE complaint_id = $1";
const UPDATE: &str = "UPDATE complaints SET status = $2, stage = $3, investigator_id = $4, \
    legal_reviewer_id = $5, incident_id = $6, station_id = $7, receipt_met_at = $8, \
    preliminary_met_at = $9, investigation_met_at = $10, finding = $11, \
    hotline_reply_status = $12, hotline_replied_at = $13, closed_at = $14, updated_at = $15 \
    WHERE complaint_id = $1";
const LIST: &str = concat!(
    "SELECT ",
    complaint_columns!(),
    " FROM complaints c WHERE ($1 = '' OR $1 LIKE '%,' || c.status || ',%') \
     AND ($2 = '' OR c.source = $2) \
     AND ($3 = '' OR EXISTS (SELECT 1 FROM complaint_accused a \
          WHERE a.complaint_id = c.complaint_id AND a.officer_id = $3)) \
     AND ($4 = '' OR c.station_id = $4) \
     AND ($5 = '' OR c.investigator_id = $5) \
     AND ($6 = FALSE \
          OR (c.receipt_met_at IS NULL AND c.receipt_due_at < $7) \
          OR c.receipt_met_at > c.receipt_due_at \
          OR (c.preliminary_met_at IS NULL AND c.preliminary_due_at < $7) \
          OR c.preliminary_met_at > c.preliminary_due_at \
          OR (c.investigation_met_at IS NULL AND c.investigation_due_at < $7) \
          OR c.investigation_met_at > c.investigation_due_at) \
     AND ($8 IS NULL OR c.received_at >= $8) \
     AND ($9 IS NULL OR c.received_at < $9) \
     AND ($10 = '' OR c.finding = $10) \
     AND ($11 = '' OR c.hotline_ticket_id = $11) \
     AND ($12 = '' OR c.incident_id = $12) \
     AND ($13 = '' OR $13 LIKE '%,' || c.station_id || ',%') \
     AND ($14 IS NULL OR c.received_at < $14 OR (c.received_at = $14 AND c.complaint_id < $15)) \
     ORDER BY c.received_at DESC, c.complaint_id DESC LIMIT $16"
);
const WARNING_ROWS: &str = "SELECT a.officer_id, a.station_id, c.station_id AS complaint_station, \
    c.complaint_id, c.status, c.finding \
    FROM complaint_accused a JOIN complaints c ON c.complaint_id = a.complaint_id \
    WHERE a.officer_id <> '' AND c.received_at >= $1 AND c.received_at < $2 \
      AND ($3 = '' OR c.finding = '' OR $3 NOT LIKE '%,' || c.finding || ',%') \
    ORDER BY a.officer_id, c.complaint_id";
const INSERT_ACCUSED: &str = "INSERT INTO complaint_accused \
    (complaint_id, position, officer_id, unit_id, station_id, description) \
    VALUES ($1, $2, $3, $4, $5, $6)";
const DELETE_ACCUSED: &str = "DELETE FROM complaint_accused WHERE complaint_id = $1";
const SELECT_ACCUSED: &str = "SELECT complaint_id, position, officer_id, unit_id, station_id, \
    description FROM complaint_accused WHERE complaint_id = $1 ORDER BY position";

/// The next case number of `year` (1, 2, 3, ...), in `tx`.
pub async fn next_case_number(tx: &mut Tx, year: i64) -> Result<i64, StorageError> {
    Ok(
        with_tx!(tx, c => sqlx::query_scalar::<_, i64>(NEXT_CASE_NUMBER)
        .bind(year)
        .fetch_one(&mut *c)
        .await)?,
    )
}

/// Stores a new complaint and its accused.
pub async fn insert(
    tx: &mut Tx,
    row: &ComplaintRow,
    accused: &[AccusedRow],
) -> Result<(), StorageError> {
    with_tx!(&mut *tx, c => sqlx::query(INSERT_COMPLAINT)
        .bind(&row.complaint_id)
        .bind(&row.case_number)
        .bind(&row.source)
        .bind(&row.hotline_ticket_id)
        .bind(&row.transfer_id)
        .bind(&row.complainant_name)
        .bind(&row.complainant_phone_sealed)
        .bind(&row.complainant_phone_index)
        .bind(&row.complainant_phone_masked)
        .bind(&row.complainant_id_sealed)
        .bind(&row.complainant_id_index)
        .bind(&row.complainant_id_masked)
        .bind(&row.complainant_address)
        .bind(row.confidential)
        .bind(&row.incident_id)
        .bind(&row.allegation)
        .bind(&row.allegation_tags)
        .bind(row.occurred_at)
        .bind(&row.station_id)
        .bind(&row.status)
        .bind(&row.stage)
        .bind(&row.investigator_id)
        .bind(&row.legal_reviewer_id)
        .bind(row.receipt_due_at)
        .bind(row.receipt_met_at)
        .bind(row.preliminary_due_at)
        .bind(row.preliminary_met_at)
        .bind(row.investigation_due_at)
        .bind(row.investigation_met_at)
        .bind(&row.finding)
        .bind(&row.hotline_reply_status)
        .bind(row.hotline_replied_at)
        .bind(row.received_at)
        .bind(&row.filed_by_subject)
        .bind(&row.filed_by_role)
        .bind(row.closed_at)
        .bind(row.created_at)
        .bind(row.updated_at)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
    replace_accused(tx, &row.complaint_id, accused).await
}

/// Replaces the accused of a complaint.
pub async fn replace_accused(
    tx: &mut Tx,
    complaint_id: &str,
    accused: &[AccusedRow],
) -> Result<(), StorageError> {
    with_tx!(&mut *tx, c => sqlx::query(DELETE_ACCUSED)
        .bind(complaint_id)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
    for (position, a) in accused.iter().enumerate() {
        with_tx!(&mut *tx, c => sqlx::query(INSERT_ACCUSED)
            .bind(complaint_id)
            .bind(i32::try_from(position).unwrap_or(i32::MAX))
            .bind(&a.officer_id)
            .bind(&a.unit_id)
            .bind(&a.station_id)
            .bind(&a.description)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected()))?;
    }
    Ok(())
}

/// Locks a complaint for the rest of `tx` and reads it.
pub async fn lock(tx: &mut Tx, complaint_id: &str) -> Result<Option<ComplaintRow>, StorageError> {
    let locked = with_tx!(&mut *tx, c => sqlx::query(LOCK)
        .bind(complaint_id)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
    if locked == 0 {
        return Ok(None);
    }
    one_in(tx, SELECT_BY_ID, &[complaint_id]).await
}

/// The complaint `sql` selects with the text keys `keys` ($1, $2, ...), on the pool.
pub async fn one(
    db: &Db,
    sql: &'static str,
    keys: &[&str],
) -> Result<Option<ComplaintRow>, StorageError> {
    Ok(with_db!(db, pool => {
        let mut query = sqlx::query_as::<_, ComplaintRow>(sql);
        for key in keys {
            query = query.bind(*key);
        }
        query.fetch_optional(pool).await
    })?)
}

/// The complaint `sql` selects with the text keys `keys`, in `tx`.
pub async fn one_in(
    tx: &mut Tx,
    sql: &'static str,
    keys: &[&str],
) -> Result<Option<ComplaintRow>, StorageError> {
    Ok(with_tx!(tx, c => {
        let mut query = sqlx::query_as::<_, ComplaintRow>(sql);
        for key in keys {
            query = query.bind(*key);
        }
        query.fetch_optional(&mut *c).await
    })?)
}

/// Writes the mutable fields of a complaint.
pub async fn update(tx: &mut Tx, row: &ComplaintRow) -> Result<(), StorageError> {
    with_tx!(tx, c => sqlx::query(UPDATE)
        .bind(&row.complaint_id)
        .bind(&row.status)
        .bind(&row.stage)
        .bind(&row.investigator_id)
        .bind(&row.legal_reviewer_id)
        .bind(&row.incident_id)
        .bind(&row.station_id)
        .bind(row.receipt_met_at)
        .bind(row.preliminary_met_at)
        .bind(row.investigation_met_at)
        .bind(&row.finding)
        .bind(&row.hotline_reply_status)
        .bind(row.hotline_replied_at)
        .bind(row.closed_at)
        .bind(row.updated_at)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// The accused of a complaint, in order.
pub async fn accused(db: &Db, complaint_id: &str) -> Result<Vec<AccusedRow>, StorageError> {
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, AccusedRow>(SELECT_ACCUSED)
        .bind(complaint_id)
        .fetch_all(pool)
        .await)?,
    )
}

/// The accused of a complaint, in order, read in `tx`.
pub async fn accused_in(tx: &mut Tx, complaint_id: &str) -> Result<Vec<AccusedRow>, StorageError> {
    Ok(
        with_tx!(tx, c => sqlx::query_as::<_, AccusedRow>(SELECT_ACCUSED)
        .bind(complaint_id)
        .fetch_all(&mut *c)
        .await)?,
    )
}

/// A page of complaints, newest received first.
pub async fn list(db: &Db, filter: &ListFilter) -> Result<Vec<ComplaintRow>, StorageError> {
    let (after_at, after_id) = match &filter.after {
        Some((at, id)) => (Some(*at), id.clone()),
        None => (None, String::new()),
    };
    Ok(with_db!(db, pool => sqlx::query_as::<_, ComplaintRow>(LIST)
        .bind(&filter.statuses)
        .bind(&filter.source)
        .bind(&filter.accused_officer_id)
        .bind(&filter.station_id)
        .bind(&filter.investigator_id)
        .bind(filter.overdue_only)
        .bind(filter.now)
        .bind(filter.received_from)
        .bind(filter.received_to)
        .bind(&filter.finding)
        .bind(&filter.hotline_ticket_id)
        .bind(&filter.incident_id)
        .bind(&filter.visible_stations)
        .bind(after_at)
        .bind(&after_id)
        .bind(filter.limit)
        .fetch_all(pool)
        .await)?)
}

/// Complaints against identified officers received in `[from, to)`, except those whose
/// finding is in `excluded` (`,A,B,`).
pub async fn warning_rows(
    db: &Db,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    excluded: &str,
) -> Result<Vec<WarningRow>, StorageError> {
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, WarningRow>(WARNING_ROWS)
        .bind(from)
        .bind(to)
        .bind(excluded)
        .fetch_all(pool)
        .await)?,
    )
}
