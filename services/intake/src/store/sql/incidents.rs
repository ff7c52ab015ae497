//! Incidents: insert, lock-and-read, save, and ListIncidents' query.

use chrono::{DateTime, Utc};
use pingan_platform::storage::{Db, StorageError, Tx};
use pingan_platform::with_tx;

use crate::domain::IncidentRecord;
use crate::store::IncidentFilter;

const INCIDENT_COLUMNS: &str = "incident_id, status, channel, description, has_location, lat, lon, \
    address, grid_id, station_id, grid_located, station_kind, kind, category, \
    priority, police_override, dispatch_id, assigned_unit_ids, transfer_id, hotline_ticket_id, complaint_id, \
    pending_reason, close_reason, routing_pending, routing_attempts, \
    received_at, classified_at, unit_assigned_at, en_route_at, on_scene_at, \
    closed_at, followed_up_at, response_target_ms, response_target_breached, created_at, updated_at, \
    merged_into, merged_at, link_checked";

const INSERT_INCIDENT: &str = "INSERT INTO intake_incidents (incident_id, status, channel, \
    description, has_location, lat, lon, address, grid_id, station_id, grid_located, \
    kind, category, priority, police_override, dispatch_id, assigned_unit_ids, \
    transfer_id, hotline_ticket_id, complaint_id, pending_reason, close_reason, routing_pending, \
    routing_attempts, received_at, classified_at, unit_assigned_at, en_route_at, on_scene_at, closed_at, followed_up_at, response_target_ms, \
    response_target_breached, created_at, updated_at, station_kind, merged_into, merged_at, \
    link_checked, link_cell) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, \
    $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, $32, $33, $34, \
    $35, $36, $37, $38, $39, $40)";

const SAVE_INCIDENT: &str = "UPDATE intake_incidents SET status = $2, grid_id = $3, \
    station_id = $4, grid_located = $5, kind = $6, category = $7, \
    priority = $8, police_override = $9, dispatch_id = $10, assigned_unit_ids = $11, \
    transfer_id = $12, hotline_ticket_id = $13, complaint_id = $14, pending_reason = $15, \
    close_reason = $16, routing_pending = $17, routing_attempts = $18, classified_at = $19, \
    unit_assigned_at = $20, en_route_at = $21, on_scene_at = $22, closed_at = $23, \
    followed_up_at = $24, response_target_ms = $25, response_target_breached = $26, \
    updated_at = $27, station_kind = $28, link_checked = $29 WHERE incident_id = $1";

fn far_past() -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp(0, 0).unwrap_or_default()
}

fn far_future() -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp(253_402_300_799, 0).unwrap_or_default()
}

/// The cell a located incident is filed under for the duplicate search (`link_cell`): empty
/// without a location, `-` (never searched) for one that is not a coordinate.
pub(super) fn filed_under(has_location: bool, lat: f64, lon: f64) -> String {
    if !has_location {
        return String::new();
    }
    crate::domain::home_cell(lat, lon).unwrap_or_else(|| "-".to_owned())
}

/// Adds an incident.
pub(super) async fn insert_incident(tx: &mut Tx, i: &IncidentRecord) -> Result<(), StorageError> {
    with_tx!(tx, conn => sqlx::query(INSERT_INCIDENT)
        .bind(&i.incident_id).bind(i.status).bind(i.channel).bind(&i.description)
        .bind(i.has_location).bind(i.lat).bind(i.lon).bind(&i.address).bind(&i.grid_id)
        .bind(&i.station_id).bind(i.grid_located).bind(i.kind)
        .bind(&i.category).bind(i.priority).bind(i.police_override).bind(&i.dispatch_id)
        .bind(&i.assigned_unit_ids).bind(&i.transfer_id).bind(&i.hotline_ticket_id)
        .bind(&i.complaint_id).bind(&i.pending_reason).bind(&i.close_reason)
        .bind(i.routing_pending).bind(i.routing_attempts).bind(i.received_at).bind(i.classified_at)
        .bind(i.unit_assigned_at).bind(i.en_route_at).bind(i.on_scene_at).bind(i.closed_at)
        .bind(i.followed_up_at).bind(i.response_target_ms).bind(i.response_target_breached)
        .bind(i.created_at).bind(i.updated_at).bind(i.station_kind).bind(&i.merged_into)
        .bind(i.merged_at).bind(i.link_checked).bind(filed_under(i.has_location, i.lat, i.lon))
        .execute(&mut *conn).await.map(|r| r.rows_affected()))?;
    if i.classification.is_some() {
        super::classification::write(tx, &i.incident_id, i.classification.as_ref()).await?;
    }
    Ok(())
}

/// Writes every mutable column of an incident read with [`lock_incident`].
pub(super) async fn save_incident(tx: &mut Tx, i: &IncidentRecord) -> Result<(), StorageError> {
    with_tx!(tx, conn => sqlx::query(SAVE_INCIDENT)
        .bind(&i.incident_id).bind(i.status).bind(&i.grid_id).bind(&i.station_id)
        .bind(i.grid_located).bind(i.kind).bind(&i.category)
        .bind(i.priority).bind(i.police_override).bind(&i.dispatch_id)
        .bind(&i.assigned_unit_ids).bind(&i.transfer_id).bind(&i.hotline_ticket_id)
        .bind(&i.complaint_id).bind(&i.pending_reason).bind(&i.close_reason)
        .bind(i.routing_pending).bind(i.routing_attempts).bind(i.classified_at).bind(i.unit_assigned_at)
        .bind(i.en_route_at).bind(i.on_scene_at).bind(i.closed_at).bind(i.followed_up_at)
        .bind(i.response_target_ms).bind(i.response_target_breached).bind(i.updated_at)
        .bind(i.station_kind).bind(i.link_checked)
        .execute(&mut *conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// True when exactly `incident_id` records `dispatch_id` (not empty) and a priority.
pub(super) async fn records_dispatch(
    tx: &mut Tx,
    incident_id: &str,
    dispatch_id: &str,
) -> Result<bool, StorageError> {
    const SQL: &str = "SELECT incident_id FROM intake_incidents WHERE incident_id = $1 \
        AND dispatch_id = $2 AND dispatch_id <> '' AND priority <> 0";
    let found: Option<String> = with_tx!(tx, conn => sqlx::query_scalar(SQL)
        .bind(incident_id).bind(dispatch_id).fetch_optional(&mut *conn).await)?;
    Ok(found.is_some())
}

/// Gives an incident the address a dispatcher placed it at.
pub(super) async fn set_address(
    tx: &mut Tx,
    incident_id: &str,
    address: &str,
) -> Result<(), StorageError> {
    const SQL: &str = "UPDATE intake_incidents SET address = $2 WHERE incident_id = $1";
    with_tx!(tx, conn => sqlx::query(SQL).bind(incident_id).bind(address)
        .execute(&mut *conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Gives an incident a point: its address resolved, or a dispatcher placed it.
pub(super) async fn set_location(
    tx: &mut Tx,
    incident_id: &str,
    lat: f64,
    lon: f64,
) -> Result<(), StorageError> {
    const SQL: &str = "UPDATE intake_incidents SET has_location = TRUE, lat = $2, lon = $3, \
        link_cell = $4 WHERE incident_id = $1";
    with_tx!(tx, conn => sqlx::query(SQL).bind(incident_id).bind(lat).bind(lon)
        .bind(filed_under(true, lat, lon))
        .execute(&mut *conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Locks an incident for a read-modify-write in `tx` and reads it; a linked id resolves to
/// (and locks) the live incident it was linked into. The first statement writes, so SQLite
/// takes its write lock before reading (a read first could not be upgraded once another
/// writer committed).
pub(super) async fn lock_incident(
    tx: &mut Tx,
    incident_id: &str,
) -> Result<Option<IncidentRecord>, StorageError> {
    // One statement for the common case: the id is a live incident's own.
    if let Some(row) = lock_and_read(tx, incident_id).await?
        && row.incident.merged_into.is_empty()
    {
        return first_with_classification(tx, row).await;
    }
    // Linked, merged under the first schema (row deleted), or unknown: follow the links.
    let Some(root) = super::links::resolve_in(tx, incident_id).await? else {
        return Ok(None);
    };
    lock_exact(tx, &root).await
}

/// Locks exactly this incident (a linked one too) in `tx` and reads it.
pub(super) async fn lock_exact(
    tx: &mut Tx,
    incident_id: &str,
) -> Result<Option<IncidentRecord>, StorageError> {
    match lock_and_read(tx, incident_id).await? {
        Some(row) => first_with_classification(tx, row).await,
        None => Ok(None),
    }
}

/// Locks the row with a write that changes nothing (SQLite's write lock, Postgres's row lock)
/// and reads it back in the same statement.
async fn lock_and_read(
    tx: &mut Tx,
    incident_id: &str,
) -> Result<Option<super::classification::IncidentRow>, StorageError> {
    let sql = format!(
        "UPDATE intake_incidents SET updated_at = updated_at WHERE incident_id = $1 \
         RETURNING {INCIDENT_COLUMNS}, {}",
        super::classification::SCALAR_COLUMNS
    );
    Ok(
        with_tx!(tx, conn => sqlx::query_as::<_, super::classification::IncidentRow>(sqlx::AssertSqlSafe(sql.clone()))
        .bind(incident_id).fetch_optional(&mut *conn).await)?,
    )
}

async fn read_in(tx: &mut Tx, incident_id: &str) -> Result<Option<IncidentRecord>, StorageError> {
    // The classification's scalars in the same row: its lists are read only when it has one.
    let sql = format!(
        "SELECT {INCIDENT_COLUMNS}, {} FROM intake_incidents WHERE incident_id = $1",
        super::classification::SCALAR_COLUMNS
    );
    let found = with_tx!(tx, conn => sqlx::query_as::<_, super::classification::IncidentRow>(sqlx::AssertSqlSafe(sql.clone()))
        .bind(incident_id).fetch_optional(&mut *conn).await)?;
    let found = super::classification::with_classification(tx, found.into_iter().collect()).await?;
    Ok(found.into_iter().next())
}

async fn first_with_classification(
    tx: &mut Tx,
    row: super::classification::IncidentRow,
) -> Result<Option<IncidentRecord>, StorageError> {
    let found = super::classification::with_classification(tx, vec![row]).await?;
    Ok(found.into_iter().next())
}

/// Takes the write lock of the intake tables in `tx` before anything is read (SQLite; a
/// no-op on Postgres, where rows are locked as they are written).
pub(super) async fn write_lock(tx: &mut Tx) -> Result<(), StorageError> {
    const SQL: &str = "UPDATE intake_incidents SET updated_at = updated_at WHERE 1 = 0";
    with_tx!(tx, conn => sqlx::query(SQL).execute(&mut *conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// An incident by id; a linked id gives the live incident it was linked into.
pub(super) async fn incident(
    db: &Db,
    incident_id: &str,
) -> Result<Option<IncidentRecord>, StorageError> {
    match super::links::resolve(db, incident_id).await? {
        Some(root) => incident_exact(db, &root).await,
        None => Ok(None),
    }
}

/// Exactly this incident, linked or not.
pub(super) async fn incident_exact(
    db: &Db,
    incident_id: &str,
) -> Result<Option<IncidentRecord>, StorageError> {
    // One read transaction: the row and its classification's child rows agree.
    let mut tx = db.begin().await?;
    let found = read_in(&mut tx, incident_id).await?;
    tx.commit().await?;
    Ok(found)
}

/// The incident a 12345 transfer belongs to.
pub(super) async fn incident_by_transfer(
    tx: &mut Tx,
    transfer_id: &str,
) -> Result<Option<String>, StorageError> {
    const SQL: &str = "SELECT incident_id FROM intake_incidents WHERE transfer_id = $1 \
        AND transfer_id <> '' LIMIT 1";
    Ok(
        with_tx!(tx, conn => sqlx::query_scalar(SQL).bind(transfer_id)
        .fetch_optional(&mut *conn).await)?,
    )
}

/// A page of live incidents (linked ones are shown through theirs), newest first.
pub(super) async fn list(db: &Db, f: &IncidentFilter) -> Result<Vec<IncidentRecord>, StorageError> {
    let (after_at, after_id) = f
        .after
        .clone()
        .unwrap_or_else(|| (far_future(), String::new()));
    let sql = incident_select(
        "WHERE ($1 = '' OR (',' || $1 || ',') LIKE ('%,' || CAST(status AS TEXT) || ',%')) \
           AND ($2 = '' OR grid_id = $2) AND ($3 = '' OR station_id = $3) \
           AND ($4 = 0 OR channel = $4) AND received_at >= $5 AND received_at < $6 \
           AND ($7 = '' OR (',' || $7 || ',') LIKE ('%,' || CAST(priority AS TEXT) || ',%')) \
           AND ($8 = '' OR (',' || $8 || ',') LIKE ('%,' || station_id || ',%')) \
           AND (received_at < $9 OR (received_at = $9 AND $10 <> '' AND incident_id < $10)) \
           AND ($12 = FALSE OR (has_location = FALSE AND grid_located = TRUE \
                AND routing_pending = FALSE AND status = 2)) \
           AND merged_into = '' \
         ORDER BY received_at DESC, incident_id DESC LIMIT $11",
    );
    let mut tx = db.begin().await?;
    let mut page = with_tx!(&mut tx, conn => sqlx::query_as::<_, IncidentRecord>(sqlx::AssertSqlSafe(sql.clone()))
        .bind(&f.statuses).bind(&f.grid_id).bind(&f.station_id).bind(f.channel)
        .bind(f.received_from.unwrap_or_else(far_past))
        .bind(f.received_to.unwrap_or_else(far_future))
        .bind(&f.priorities).bind(&f.jurisdiction).bind(after_at).bind(&after_id)
        .bind(f.limit).bind(f.needs_location)
        .fetch_all(&mut *conn).await)?;
    super::classification::attach(&mut tx, &mut page).await?;
    tx.commit().await?;
    Ok(page)
}

fn incident_select(rest: &str) -> String {
    format!("SELECT {INCIDENT_COLUMNS} FROM intake_incidents {rest}")
}
