//! Dispatches, assignments, the timeline and drone flights.

use chrono::{DateTime, Utc};
use pingan_platform::storage::{Db, StorageError, Tx};
use pingan_platform::{with_db, with_tx};
use pingan_proto::dispatch::v1::{Assignment, Dispatch, Flight, TimelineEntry};
use prost::Message;

use super::decode;
use crate::domain::{self, from_timestamp};

const INSERT_DISPATCH: &str = "INSERT INTO dispatch_dispatches (dispatch_id, incident_id, station_id, grid_id, status, priority, is_open, sla_breached, response_due_at, first_en_route_at, opened_at, closed_at, updated_at, doc) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)";
const UPDATE_DISPATCH: &str = "UPDATE dispatch_dispatches SET status = $2, is_open = $3, sla_breached = $4, first_en_route_at = $5, closed_at = $6, updated_at = $7, doc = $8 WHERE dispatch_id = $1";
const SELECT_DISPATCH: &str = "SELECT doc FROM dispatch_dispatches WHERE dispatch_id = $1";
const LOCK_DISPATCH_PG: &str =
    "SELECT doc FROM dispatch_dispatches WHERE dispatch_id = $1 FOR UPDATE";
const TOUCH_DISPATCH_SQLITE: &str =
    "UPDATE dispatch_dispatches SET dispatch_id = dispatch_id WHERE dispatch_id = $1";
const LIST_DISPATCHES: &str = "SELECT doc FROM dispatch_dispatches \
    WHERE ($1 = '' OR station_id = $1) AND ($2 = '' OR grid_id = $2) AND ($3 = '' OR incident_id = $3) \
    AND ($4 = FALSE OR sla_breached) AND opened_at >= $5 AND opened_at < $6 \
    AND ($7 = '' OR dispatch_id IN (SELECT dispatch_id FROM dispatch_assignments WHERE unit_id = $7)) \
    AND (opened_at < $8 OR (opened_at = $8 AND dispatch_id < $9)) \
    ORDER BY opened_at DESC, dispatch_id DESC LIMIT $10";
const OPEN_DISPATCHES: &str =
    "SELECT doc FROM dispatch_dispatches WHERE is_open ORDER BY opened_at, dispatch_id LIMIT $1";
const SLA_DUE: &str = "SELECT dispatch_id FROM dispatch_dispatches \
    WHERE is_open AND NOT sla_breached AND first_en_route_at IS NULL AND response_due_at <= $1 \
    ORDER BY response_due_at LIMIT $2";

const INSERT_ASSIGNMENT: &str = "INSERT INTO dispatch_assignments (assignment_id, dispatch_id, unit_id, status, active, ack_due_at, assigned_at, doc) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
const UPDATE_ASSIGNMENT: &str = "UPDATE dispatch_assignments SET status = $2, active = $3, doc = $4 WHERE assignment_id = $1 AND status = $5";
const SELECT_ASSIGNMENTS: &str = "SELECT doc FROM dispatch_assignments WHERE dispatch_id = $1 ORDER BY assigned_at, assignment_id";
const ACK_DUE: &str = "SELECT dispatch_id FROM dispatch_assignments WHERE status = 1 AND ack_due_at <= $1 ORDER BY ack_due_at LIMIT $2";

const INSERT_ENTRY: &str = "INSERT INTO dispatch_timeline (entry_id, dispatch_id, incident_id, occurred_at, doc) VALUES ($1, $2, $3, $4, $5)";
const ENTRIES_OF_DISPATCH: &str =
    "SELECT doc FROM dispatch_timeline WHERE dispatch_id = $1 ORDER BY occurred_at, entry_id";
const ENTRIES_OF_INCIDENT: &str =
    "SELECT doc FROM dispatch_timeline WHERE incident_id = $1 ORDER BY occurred_at, entry_id";

const INSERT_FLIGHT: &str = "INSERT INTO dispatch_flights (flight_id, unit_id, station_id, dispatch_id, started_at, ended_at, distance_m, duration_ms, created_at, doc) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
const FLIGHTS: &str = "SELECT doc, station_id FROM dispatch_flights WHERE started_at >= $1 AND started_at < $2 AND ($3 = '' OR station_id = $3) ORDER BY started_at, flight_id";

fn ts(value: &Option<prost_types::Timestamp>) -> Option<DateTime<Utc>> {
    value.as_ref().and_then(from_timestamp)
}

fn header(dispatch: &Dispatch) -> Dispatch {
    Dispatch {
        assignments: Vec::new(),
        ..dispatch.clone()
    }
}

/// Stores a new dispatch (its assignments are stored separately).
pub async fn insert_dispatch(tx: &mut Tx, dispatch: &Dispatch) -> Result<(), StorageError> {
    let opened_at = ts(&dispatch.opened_at).unwrap_or_default();
    let doc = header(dispatch).encode_to_vec();
    with_tx!(tx, conn => sqlx::query(INSERT_DISPATCH)
        .bind(&dispatch.dispatch_id)
        .bind(&dispatch.incident_id)
        .bind(&dispatch.station_id)
        .bind(&dispatch.grid_id)
        .bind(dispatch.status)
        .bind(dispatch.priority)
        .bind(dispatch.status != pingan_proto::dispatch::v1::DispatchStatus::Closed as i32)
        .bind(dispatch.sla_breached)
        .bind(ts(&dispatch.response_due_at))
        .bind(ts(&dispatch.first_en_route_at))
        .bind(opened_at)
        .bind(ts(&dispatch.closed_at))
        .bind(ts(&dispatch.updated_at).unwrap_or(opened_at))
        .bind(doc)
        .execute(&mut *conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Rewrites a dispatch's header.
pub async fn update_dispatch(tx: &mut Tx, dispatch: &Dispatch) -> Result<(), StorageError> {
    let doc = header(dispatch).encode_to_vec();
    with_tx!(tx, conn => sqlx::query(UPDATE_DISPATCH)
        .bind(&dispatch.dispatch_id)
        .bind(dispatch.status)
        .bind(dispatch.status != pingan_proto::dispatch::v1::DispatchStatus::Closed as i32)
        .bind(dispatch.sla_breached)
        .bind(ts(&dispatch.first_en_route_at))
        .bind(ts(&dispatch.closed_at))
        .bind(ts(&dispatch.updated_at).unwrap_or_default())
        .bind(doc)
        .execute(&mut *conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Loads a dispatch with its assignments, locking it for the rest of the transaction.
pub async fn lock_dispatch(
    db: &Db,
    tx: &mut Tx,
    dispatch_id: &str,
) -> Result<Option<Dispatch>, StorageError> {
    let doc: Option<Vec<u8>> = match db {
        Db::Postgres(_) => with_tx!(tx, conn => sqlx::query_scalar(LOCK_DISPATCH_PG)
            .bind(dispatch_id)
            .fetch_optional(&mut *conn)
            .await)?,
        Db::Sqlite(_) => {
            with_tx!(tx, conn => sqlx::query(TOUCH_DISPATCH_SQLITE)
                .bind(dispatch_id)
                .execute(&mut *conn)
                .await
                .map(|_| ()))?;
            with_tx!(tx, conn => sqlx::query_scalar(SELECT_DISPATCH)
                .bind(dispatch_id)
                .fetch_optional(&mut *conn)
                .await)?
        }
    };
    let Some(doc) = doc else {
        return Ok(None);
    };
    let mut dispatch: Dispatch = decode(&doc)?;
    let docs: Vec<Vec<u8>> = with_tx!(tx, conn => sqlx::query_scalar(SELECT_ASSIGNMENTS)
        .bind(dispatch_id)
        .fetch_all(&mut *conn)
        .await)?;
    dispatch.assignments = docs.iter().map(|d| decode(d)).collect::<Result<_, _>>()?;
    Ok(Some(dispatch))
}

/// Loads a dispatch with its assignments.
pub async fn dispatch(db: &Db, dispatch_id: &str) -> Result<Option<Dispatch>, StorageError> {
    let doc: Option<Vec<u8>> = with_db!(db, pool => sqlx::query_scalar(SELECT_DISPATCH)
        .bind(dispatch_id)
        .fetch_optional(pool)
        .await)?;
    let Some(doc) = doc else {
        return Ok(None);
    };
    let mut dispatch: Dispatch = decode(&doc)?;
    dispatch.assignments = assignments(db, dispatch_id).await?;
    Ok(Some(dispatch))
}

async fn assignments(db: &Db, dispatch_id: &str) -> Result<Vec<Assignment>, StorageError> {
    let docs: Vec<Vec<u8>> = with_db!(db, pool => sqlx::query_scalar(SELECT_ASSIGNMENTS)
        .bind(dispatch_id)
        .fetch_all(pool)
        .await)?;
    docs.iter().map(|d| decode(d)).collect()
}

/// Filters of a dispatch listing that SQL applies.
#[derive(Debug, Clone, Default)]
pub struct DispatchFilter {
    pub station_id: String,
    pub grid_id: String,
    pub incident_id: String,
    pub only_sla_breached: bool,
    pub opened_from: Option<DateTime<Utc>>,
    pub opened_until: Option<DateTime<Utc>>,
    pub unit_id: String,
}

/// Dispatches, newest first, strictly after the cursor `(opened_at, dispatch_id)`.
pub async fn list_dispatches(
    db: &Db,
    filter: &DispatchFilter,
    cursor: Option<(DateTime<Utc>, String)>,
    limit: i64,
) -> Result<Vec<Dispatch>, StorageError> {
    let (from, until) = super::time_bounds(filter.opened_from, filter.opened_until);
    let (cursor_at, cursor_id) = cursor.unwrap_or((until, String::new()));
    // Without a cursor every row with opened_at < until qualifies through the first branch.
    let docs: Vec<Vec<u8>> = with_db!(db, pool => sqlx::query_scalar(LIST_DISPATCHES)
        .bind(&filter.station_id)
        .bind(&filter.grid_id)
        .bind(&filter.incident_id)
        .bind(filter.only_sla_breached)
        .bind(from)
        .bind(until)
        .bind(&filter.unit_id)
        .bind(cursor_at)
        .bind(&cursor_id)
        .bind(limit)
        .fetch_all(pool)
        .await)?;
    let mut out = Vec::with_capacity(docs.len());
    for doc in docs {
        let mut dispatch: Dispatch = decode(&doc)?;
        dispatch.assignments = assignments(db, &dispatch.dispatch_id).await?;
        out.push(dispatch);
    }
    Ok(out)
}

/// Open dispatches (for the board snapshot).
pub async fn open_dispatches(db: &Db, limit: i64) -> Result<Vec<Dispatch>, StorageError> {
    let docs: Vec<Vec<u8>> = with_db!(db, pool => sqlx::query_scalar(OPEN_DISPATCHES)
        .bind(limit)
        .fetch_all(pool)
        .await)?;
    let mut out = Vec::with_capacity(docs.len());
    for doc in docs {
        let mut dispatch: Dispatch = decode(&doc)?;
        dispatch.assignments = assignments(db, &dispatch.dispatch_id).await?;
        out.push(dispatch);
    }
    Ok(out)
}

/// Open dispatches whose response target passed with no unit en route yet.
pub async fn sla_due(db: &Db, now: DateTime<Utc>, limit: i64) -> Result<Vec<String>, StorageError> {
    Ok(with_db!(db, pool => sqlx::query_scalar(SLA_DUE)
        .bind(now)
        .bind(limit)
        .fetch_all(pool)
        .await)?)
}

/// Dispatches with an assignment waiting for acknowledgement past its deadline.
pub async fn ack_due(db: &Db, now: DateTime<Utc>, limit: i64) -> Result<Vec<String>, StorageError> {
    let mut ids: Vec<String> = with_db!(db, pool => sqlx::query_scalar(ACK_DUE)
        .bind(now)
        .bind(limit)
        .fetch_all(pool)
        .await)?;
    ids.dedup();
    Ok(ids)
}

/// Stores a new assignment.
pub async fn insert_assignment(tx: &mut Tx, assignment: &Assignment) -> Result<(), StorageError> {
    let assigned_at = ts(&assignment.assigned_at).unwrap_or_default();
    with_tx!(tx, conn => sqlx::query(INSERT_ASSIGNMENT)
        .bind(&assignment.assignment_id)
        .bind(&assignment.dispatch_id)
        .bind(&assignment.unit_id)
        .bind(assignment.status)
        .bind(domain::is_active(assignment.status()))
        .bind(ts(&assignment.ack_due_at))
        .bind(assigned_at)
        .bind(assignment.encode_to_vec())
        .execute(&mut *conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Rewrites an assignment if it is still in `expected` status; false when it moved meanwhile.
pub async fn update_assignment(
    tx: &mut Tx,
    assignment: &Assignment,
    expected: i32,
) -> Result<bool, StorageError> {
    let changed = with_tx!(tx, conn => sqlx::query(UPDATE_ASSIGNMENT)
        .bind(&assignment.assignment_id)
        .bind(assignment.status)
        .bind(domain::is_active(assignment.status()))
        .bind(assignment.encode_to_vec())
        .bind(expected)
        .execute(&mut *conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(changed == 1)
}

/// Appends a timeline entry.
pub async fn insert_entry(tx: &mut Tx, entry: &TimelineEntry) -> Result<(), StorageError> {
    with_tx!(tx, conn => sqlx::query(INSERT_ENTRY)
        .bind(&entry.entry_id)
        .bind(&entry.dispatch_id)
        .bind(&entry.incident_id)
        .bind(ts(&entry.occurred_at).unwrap_or_default())
        .bind(entry.encode_to_vec())
        .execute(&mut *conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// The timeline of a dispatch, or of every dispatch of an incident.
pub async fn timeline(
    db: &Db,
    dispatch_id: &str,
    incident_id: &str,
) -> Result<Vec<TimelineEntry>, StorageError> {
    let (sql, key) = if dispatch_id.is_empty() {
        (ENTRIES_OF_INCIDENT, incident_id)
    } else {
        (ENTRIES_OF_DISPATCH, dispatch_id)
    };
    let docs: Vec<Vec<u8>> = with_db!(db, pool => sqlx::query_scalar(sql)
        .bind(key)
        .fetch_all(pool)
        .await)?;
    docs.iter().map(|d| decode(d)).collect()
}

/// Stores a flight.
pub async fn insert_flight(
    tx: &mut Tx,
    flight: &Flight,
    station_id: &str,
) -> Result<(), StorageError> {
    let duration_ms = flight
        .duration
        .as_ref()
        .and_then(domain::from_duration)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or_default();
    with_tx!(tx, conn => sqlx::query(INSERT_FLIGHT)
        .bind(&flight.flight_id)
        .bind(&flight.unit_id)
        .bind(station_id)
        .bind(&flight.dispatch_id)
        .bind(ts(&flight.started_at).unwrap_or_default())
        .bind(ts(&flight.ended_at).unwrap_or_default())
        .bind(flight.distance_m)
        .bind(duration_ms)
        .bind(ts(&flight.created_at).unwrap_or_default())
        .bind(flight.encode_to_vec())
        .execute(&mut *conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Flights that took off in the period, with their drone's station.
pub async fn flights(
    db: &Db,
    from: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    station_id: &str,
) -> Result<Vec<(Flight, String)>, StorageError> {
    let (from, until) = super::time_bounds(from, until);
    let rows: Vec<(Vec<u8>, String)> = with_db!(db, pool => sqlx::query_as(FLIGHTS)
        .bind(from)
        .bind(until)
        .bind(station_id)
        .fetch_all(pool)
        .await)?;
    rows.into_iter()
        .map(|(doc, station)| Ok((decode(&doc)?, station)))
        .collect()
}
