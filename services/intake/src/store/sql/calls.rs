//! Calls, their first answers, and timeline entries.

use pingan_platform::storage::{Db, StorageError, Tx};
use pingan_platform::{with_db, with_tx};

use crate::domain::{CallRecord, EntryRecord};

const CALL_COLUMNS: &str = "call_id, incident_id, request_id, channel, source_call_id, \
    caller_phone_masked, caller_phone_sealed, caller_phone_index, caller_name, has_location, lat, \
    lon, address, description, reported_category, inbound_transfer_id, received_at, duplicate, \
    distance_m, created_at, first_incident_id, answer_incident_id, answer_outcome";

const INSERT_CALL: &str = "INSERT INTO intake_calls (call_id, incident_id, request_id, channel, \
    source_call_id, caller_phone_masked, caller_phone_sealed, caller_phone_index, caller_name, \
    has_location, lat, lon, address, description, reported_category, inbound_transfer_id, \
    received_at, duplicate, distance_m, created_at, first_incident_id, answer_incident_id, \
    answer_outcome) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, \
    $16, $17, $18, $19, $20, $21, $22, $23)";

const ENTRY_COLUMNS: &str = "entry_id, incident_id, at, kind, actor_subject, actor_role, \
    actor_name, source, summary, from_status, to_status, unit_id, related_id, event_id";
const INSERT_ENTRY: &str = "INSERT INTO intake_timeline (entry_id, incident_id, at, kind, \
    actor_subject, actor_role, actor_name, source, summary, from_status, to_status, unit_id, \
    related_id, event_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)";

// Returns the answer it recorded; nothing when one was there already (then read it).
const RECORD_ANSWER: &str = "UPDATE intake_calls SET answer_incident_id = $2, \
    answer_outcome = $3 WHERE call_id = $1 AND answer_incident_id IS NULL \
    RETURNING answer_incident_id, answer_outcome";
const SELECT_ANSWER: &str =
    "SELECT answer_incident_id, answer_outcome FROM intake_calls WHERE call_id = $1";

/// Adds a call.
pub(super) async fn insert_call(tx: &mut Tx, c: &CallRecord) -> Result<(), StorageError> {
    with_tx!(tx, conn => sqlx::query(INSERT_CALL)
        .bind(&c.call_id).bind(&c.incident_id).bind(&c.request_id).bind(c.channel)
        .bind(&c.source_call_id).bind(&c.caller_phone_masked).bind(&c.caller_phone_sealed)
        .bind(&c.caller_phone_index).bind(&c.caller_name).bind(c.has_location).bind(c.lat)
        .bind(c.lon).bind(&c.address).bind(&c.description).bind(&c.reported_category)
        .bind(&c.inbound_transfer_id).bind(c.received_at).bind(c.duplicate)
        .bind(c.distance_m).bind(c.created_at).bind(&c.first_incident_id)
        .bind(&c.answer_incident_id).bind(c.answer_outcome)
        .execute(&mut *conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// The call a source platform already sent under (channel, source_call_id).
pub(super) async fn call_by_source(
    tx: &mut Tx,
    channel: i32,
    source_call_id: &str,
) -> Result<Option<CallRecord>, StorageError> {
    // `<> ''` repeats the partial unique index's condition so that SQLite can use it (else a
    // scan of every call).
    let sql = format!(
        "SELECT {CALL_COLUMNS} FROM intake_calls WHERE channel = $1 AND source_call_id = $2 \
         AND source_call_id <> ''"
    );
    Ok(
        with_tx!(tx, conn => sqlx::query_as::<_, CallRecord>(sqlx::AssertSqlSafe(sql.clone()))
        .bind(channel).bind(source_call_id).fetch_optional(&mut *conn).await)?,
    )
}

/// One call.
pub(super) async fn call(db: &Db, call_id: &str) -> Result<Option<CallRecord>, StorageError> {
    let sql = format!("SELECT {CALL_COLUMNS} FROM intake_calls WHERE call_id = $1");
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, CallRecord>(sqlx::AssertSqlSafe(sql.clone()))
        .bind(call_id).fetch_optional(pool).await)?,
    )
}

/// Every call of an incident, the first first.
pub(super) async fn calls_of(db: &Db, incident_id: &str) -> Result<Vec<CallRecord>, StorageError> {
    let sql = format!(
        "SELECT {CALL_COLUMNS} FROM intake_calls WHERE incident_id = $1 \
         ORDER BY duplicate, received_at, call_id"
    );
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, CallRecord>(sqlx::AssertSqlSafe(sql.clone()))
        .bind(incident_id).fetch_all(pool).await)?,
    )
}

/// Every call of an incident, read in `tx`, the first first.
pub(super) async fn calls_in(
    tx: &mut Tx,
    incident_id: &str,
) -> Result<Vec<CallRecord>, StorageError> {
    let sql = format!(
        "SELECT {CALL_COLUMNS} FROM intake_calls WHERE incident_id = $1 \
         ORDER BY duplicate, received_at, call_id"
    );
    Ok(
        with_tx!(tx, conn => sqlx::query_as::<_, CallRecord>(sqlx::AssertSqlSafe(sql.clone()))
        .bind(incident_id).fetch_all(&mut *conn).await)?,
    )
}

/// Records the answer given for a call unless one was recorded before (the first writer
/// wins); returns the recorded one.
pub(super) async fn record_answer(
    db: &Db,
    call_id: &str,
    incident_id: &str,
    outcome: i32,
) -> Result<Option<(String, i32)>, StorageError> {
    let row: Option<(Option<String>, i32)> = with_db!(db, pool => sqlx::query_as(RECORD_ANSWER)
        .bind(call_id).bind(incident_id).bind(outcome).fetch_optional(pool).await)?;
    if let Some((id, outcome)) = row {
        return Ok(id.map(|id| (id, outcome)));
    }
    let row: Option<(Option<String>, i32)> = with_db!(db, pool =>
        sqlx::query_as(SELECT_ANSWER).bind(call_id).fetch_optional(pool).await)?;
    Ok(row.and_then(|(id, outcome)| id.map(|id| (id, outcome))))
}

/// [`record_answer`] in `tx`.
pub(super) async fn record_answer_in(
    tx: &mut Tx,
    call_id: &str,
    incident_id: &str,
    outcome: i32,
) -> Result<Option<(String, i32)>, StorageError> {
    let row: Option<(Option<String>, i32)> = with_tx!(tx, conn => sqlx::query_as(RECORD_ANSWER)
        .bind(call_id).bind(incident_id).bind(outcome).fetch_optional(&mut *conn).await)?;
    if let Some((id, outcome)) = row {
        return Ok(id.map(|id| (id, outcome)));
    }
    let row: Option<(Option<String>, i32)> = with_tx!(tx, conn =>
        sqlx::query_as(SELECT_ANSWER).bind(call_id).fetch_optional(&mut *conn).await)?;
    Ok(row.and_then(|(id, outcome)| id.map(|id| (id, outcome))))
}

/// Appends a timeline entry.
pub(super) async fn insert_entry(tx: &mut Tx, e: &EntryRecord) -> Result<(), StorageError> {
    with_tx!(tx, conn => sqlx::query(INSERT_ENTRY)
        .bind(&e.entry_id).bind(&e.incident_id).bind(e.at).bind(e.kind)
        .bind(&e.actor_subject).bind(&e.actor_role).bind(&e.actor_name).bind(&e.source)
        .bind(&e.summary).bind(e.from_status).bind(e.to_status).bind(&e.unit_id)
        .bind(&e.related_id).bind(&e.event_id)
        .execute(&mut *conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// The timeline of an incident, oldest first.
pub(super) async fn timeline(db: &Db, incident_id: &str) -> Result<Vec<EntryRecord>, StorageError> {
    let sql = format!(
        "SELECT {ENTRY_COLUMNS} FROM intake_timeline WHERE incident_id = $1 ORDER BY at, seq"
    );
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, EntryRecord>(sqlx::AssertSqlSafe(sql.clone()))
        .bind(incident_id).fetch_all(pool).await)?,
    )
}
