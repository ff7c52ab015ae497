//! Intake's storage: incidents, calls, duplicate links and the timeline, SQL written once for
//! Postgres and SQLite. Writes that read first lock the incident row (a no-op UPDATE, which also
//! takes SQLite's write lock up front) so concurrent routing and events never lose an update.

mod links;

use chrono::{DateTime, Utc};
use pingan_platform::storage::{Db, StorageError, Tx};
use pingan_platform::{with_db, with_tx};

use crate::domain::{CallRecord, IncidentRecord};

const INCIDENT_COLUMNS: &str = "incident_id, status, channel, description, has_location, lat, lon, \
    address, grid_id, station_id, grid_located, station_kind, classification, kind, category, \
    priority, police_override, dispatch_id, assigned_unit_ids, transfer_id, hotline_ticket_id, complaint_id, \
    pending_reason, close_reason, routing_pending, routing_attempts, \
    received_at, classified_at, unit_assigned_at, en_route_at, on_scene_at, \
    closed_at, followed_up_at, response_target_ms, response_target_breached, created_at, updated_at, \
    merged_into, merged_at, link_checked";

const INSERT_INCIDENT: &str = "INSERT INTO intake_incidents (incident_id, status, channel, \
    description, has_location, lat, lon, address, grid_id, station_id, grid_located, \
    classification, kind, category, priority, police_override, dispatch_id, assigned_unit_ids, \
    transfer_id, hotline_ticket_id, complaint_id, pending_reason, close_reason, routing_pending, \
    routing_attempts, received_at, classified_at, unit_assigned_at, en_route_at, on_scene_at, closed_at, followed_up_at, response_target_ms, \
    response_target_breached, created_at, updated_at, station_kind, merged_into, merged_at, \
    link_checked) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, \
    $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, $32, $33, $34, $35, \
    $36, $37, $38, $39, $40)";

const SAVE_INCIDENT: &str = "UPDATE intake_incidents SET status = $2, grid_id = $3, \
    station_id = $4, grid_located = $5, classification = $6, kind = $7, category = $8, \
    priority = $9, police_override = $10, dispatch_id = $11, assigned_unit_ids = $12, \
    transfer_id = $13, hotline_ticket_id = $14, complaint_id = $15, pending_reason = $16, \
    close_reason = $17, routing_pending = $18, routing_attempts = $19, classified_at = $20, \
    unit_assigned_at = $21, en_route_at = $22, on_scene_at = $23, closed_at = $24, \
    followed_up_at = $25, response_target_ms = $26, response_target_breached = $27, \
    updated_at = $28, station_kind = $29 WHERE incident_id = $1";

const TOUCH_INCIDENT: &str =
    "UPDATE intake_incidents SET updated_at = updated_at WHERE incident_id = $1";

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

/// One timeline entry as stored.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct EntryRecord {
    pub entry_id: String,
    pub incident_id: String,
    pub at: DateTime<Utc>,
    pub kind: i32,
    pub actor_subject: String,
    pub actor_role: String,
    pub actor_name: String,
    pub source: String,
    pub summary: String,
    pub from_status: i32,
    pub to_status: i32,
    pub unit_id: String,
    pub related_id: String,
    pub event_id: String,
}

/// Filters of ListIncidents, already resolved (empty strings: no filter).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IncidentFilter {
    /// Comma-separated status numbers.
    pub statuses: String,
    pub grid_id: String,
    pub station_id: String,
    /// 0: any channel.
    pub channel: i32,
    pub received_from: Option<DateTime<Utc>>,
    pub received_to: Option<DateTime<Utc>>,
    /// Comma-separated priority numbers.
    pub priorities: String,
    /// Comma-separated stations the caller may see; empty: every station.
    pub jurisdiction: String,
    /// Keyset cursor: incidents strictly older than (received_at, incident_id).
    pub after: Option<(DateTime<Utc>, String)>,
    pub limit: i64,
    /// Only incidents held for a location (see `locate::needs_location`).
    pub needs_location: bool,
}

/// Intake's tables in its own database.
#[derive(Debug, Clone)]
pub struct Store {
    db: Db,
}

fn far_past() -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp(0, 0).unwrap_or_default()
}

fn far_future() -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp(253_402_300_799, 0).unwrap_or_default()
}

impl Store {
    /// The store over `db` (migrated).
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// The database.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Adds an incident.
    pub async fn insert_incident(tx: &mut Tx, i: &IncidentRecord) -> Result<(), StorageError> {
        with_tx!(tx, conn => sqlx::query(INSERT_INCIDENT)
            .bind(&i.incident_id).bind(i.status).bind(i.channel).bind(&i.description)
            .bind(i.has_location).bind(i.lat).bind(i.lon).bind(&i.address).bind(&i.grid_id)
            .bind(&i.station_id).bind(i.grid_located).bind(&i.classification).bind(i.kind)
            .bind(&i.category).bind(i.priority).bind(i.police_override).bind(&i.dispatch_id)
            .bind(&i.assigned_unit_ids).bind(&i.transfer_id).bind(&i.hotline_ticket_id)
            .bind(&i.complaint_id).bind(&i.pending_reason).bind(&i.close_reason)
            .bind(i.routing_pending).bind(i.routing_attempts).bind(i.received_at).bind(i.classified_at)
            .bind(i.unit_assigned_at).bind(i.en_route_at).bind(i.on_scene_at).bind(i.closed_at)
            .bind(i.followed_up_at).bind(i.response_target_ms).bind(i.response_target_breached)
            .bind(i.created_at).bind(i.updated_at).bind(i.station_kind).bind(&i.merged_into)
            .bind(i.merged_at).bind(i.link_checked)
            .execute(&mut *conn).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Writes every mutable column of an incident read with [`Store::lock_incident`].
    pub async fn save_incident(tx: &mut Tx, i: &IncidentRecord) -> Result<(), StorageError> {
        with_tx!(tx, conn => sqlx::query(SAVE_INCIDENT)
            .bind(&i.incident_id).bind(i.status).bind(&i.grid_id).bind(&i.station_id)
            .bind(i.grid_located).bind(&i.classification).bind(i.kind).bind(&i.category)
            .bind(i.priority).bind(i.police_override).bind(&i.dispatch_id)
            .bind(&i.assigned_unit_ids).bind(&i.transfer_id).bind(&i.hotline_ticket_id)
            .bind(&i.complaint_id).bind(&i.pending_reason).bind(&i.close_reason)
            .bind(i.routing_pending).bind(i.routing_attempts).bind(i.classified_at).bind(i.unit_assigned_at)
            .bind(i.en_route_at).bind(i.on_scene_at).bind(i.closed_at).bind(i.followed_up_at)
            .bind(i.response_target_ms).bind(i.response_target_breached).bind(i.updated_at)
            .bind(i.station_kind)
            .execute(&mut *conn).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Gives an incident the address a dispatcher placed it at.
    pub async fn set_address(
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
    pub async fn set_location(
        tx: &mut Tx,
        incident_id: &str,
        lat: f64,
        lon: f64,
    ) -> Result<(), StorageError> {
        const SQL: &str = "UPDATE intake_incidents SET has_location = TRUE, lat = $2, lon = $3 \
            WHERE incident_id = $1";
        with_tx!(tx, conn => sqlx::query(SQL).bind(incident_id).bind(lat).bind(lon)
            .execute(&mut *conn).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Locks an incident for a read-modify-write in `tx` and reads it; a linked id resolves to
    /// (and locks) the live incident it was linked into. The first statement writes, so SQLite
    /// takes its write lock before reading (a read first could not be upgraded once another
    /// writer committed).
    pub async fn lock_incident(
        tx: &mut Tx,
        incident_id: &str,
    ) -> Result<Option<IncidentRecord>, StorageError> {
        Self::touch(tx, incident_id).await?;
        let Some(root) = Self::resolve_in(tx, incident_id).await? else {
            return Ok(None);
        };
        if root == incident_id {
            return Self::read_in(tx, incident_id).await;
        }
        Self::lock_exact(tx, &root).await
    }

    /// Locks exactly this incident (a linked one too) in `tx` and reads it.
    pub async fn lock_exact(
        tx: &mut Tx,
        incident_id: &str,
    ) -> Result<Option<IncidentRecord>, StorageError> {
        Self::touch(tx, incident_id).await?;
        Self::read_in(tx, incident_id).await
    }

    async fn touch(tx: &mut Tx, incident_id: &str) -> Result<(), StorageError> {
        with_tx!(tx, conn => sqlx::query(TOUCH_INCIDENT).bind(incident_id)
            .execute(&mut *conn).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    async fn read_in(
        tx: &mut Tx,
        incident_id: &str,
    ) -> Result<Option<IncidentRecord>, StorageError> {
        let sql = incident_select("WHERE incident_id = $1");
        Ok(
            with_tx!(tx, conn => sqlx::query_as::<_, IncidentRecord>(sqlx::AssertSqlSafe(sql.clone()))
            .bind(incident_id).fetch_optional(&mut *conn).await)?,
        )
    }

    /// Takes the write lock of the intake tables in `tx` before anything is read (SQLite; a
    /// no-op on Postgres, where rows are locked as they are written).
    pub async fn write_lock(tx: &mut Tx) -> Result<(), StorageError> {
        const SQL: &str = "UPDATE intake_incidents SET updated_at = updated_at WHERE 1 = 0";
        with_tx!(tx, conn => sqlx::query(SQL).execute(&mut *conn).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// An incident by id; a linked id gives the live incident it was linked into.
    pub async fn incident(
        &self,
        incident_id: &str,
    ) -> Result<Option<IncidentRecord>, StorageError> {
        match self.resolve(incident_id).await? {
            Some(root) => self.incident_exact(&root).await,
            None => Ok(None),
        }
    }

    /// Exactly this incident, linked or not.
    pub async fn incident_exact(
        &self,
        incident_id: &str,
    ) -> Result<Option<IncidentRecord>, StorageError> {
        let sql = incident_select("WHERE incident_id = $1");
        Ok(
            with_db!(&self.db, pool => sqlx::query_as::<_, IncidentRecord>(sqlx::AssertSqlSafe(sql.clone()))
            .bind(incident_id).fetch_optional(pool).await)?,
        )
    }

    /// The incident a 12345 transfer belongs to.
    pub async fn incident_by_transfer(
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

    /// Adds a call.
    pub async fn insert_call(tx: &mut Tx, c: &CallRecord) -> Result<(), StorageError> {
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
    pub async fn call_by_source(
        tx: &mut Tx,
        channel: i32,
        source_call_id: &str,
    ) -> Result<Option<CallRecord>, StorageError> {
        let sql = format!(
            "SELECT {CALL_COLUMNS} FROM intake_calls WHERE channel = $1 AND source_call_id = $2"
        );
        Ok(
            with_tx!(tx, conn => sqlx::query_as::<_, CallRecord>(sqlx::AssertSqlSafe(sql.clone()))
            .bind(channel).bind(source_call_id).fetch_optional(&mut *conn).await)?,
        )
    }

    /// One call.
    pub async fn call(&self, call_id: &str) -> Result<Option<CallRecord>, StorageError> {
        let sql = format!("SELECT {CALL_COLUMNS} FROM intake_calls WHERE call_id = $1");
        Ok(
            with_db!(&self.db, pool => sqlx::query_as::<_, CallRecord>(sqlx::AssertSqlSafe(sql.clone()))
            .bind(call_id).fetch_optional(pool).await)?,
        )
    }

    /// Every call of an incident, the first first.
    pub async fn calls_of(&self, incident_id: &str) -> Result<Vec<CallRecord>, StorageError> {
        let sql = format!(
            "SELECT {CALL_COLUMNS} FROM intake_calls WHERE incident_id = $1 \
             ORDER BY duplicate, received_at, call_id"
        );
        Ok(
            with_db!(&self.db, pool => sqlx::query_as::<_, CallRecord>(sqlx::AssertSqlSafe(sql.clone()))
            .bind(incident_id).fetch_all(pool).await)?,
        )
    }

    /// Appends a timeline entry.
    pub async fn insert_entry(tx: &mut Tx, e: &EntryRecord) -> Result<(), StorageError> {
        with_tx!(tx, conn => sqlx::query(INSERT_ENTRY)
            .bind(&e.entry_id).bind(&e.incident_id).bind(e.at).bind(e.kind)
            .bind(&e.actor_subject).bind(&e.actor_role).bind(&e.actor_name).bind(&e.source)
            .bind(&e.summary).bind(e.from_status).bind(e.to_status).bind(&e.unit_id)
            .bind(&e.related_id).bind(&e.event_id)
            .execute(&mut *conn).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// The timeline of an incident, oldest first.
    pub async fn timeline(&self, incident_id: &str) -> Result<Vec<EntryRecord>, StorageError> {
        let sql = format!(
            "SELECT {ENTRY_COLUMNS} FROM intake_timeline WHERE incident_id = $1 ORDER BY at, seq"
        );
        Ok(
            with_db!(&self.db, pool => sqlx::query_as::<_, EntryRecord>(sqlx::AssertSqlSafe(sql.clone()))
            .bind(incident_id).fetch_all(pool).await)?,
        )
    }

    /// A page of live incidents (linked ones are shown through theirs), newest first.
    pub async fn list(&self, f: &IncidentFilter) -> Result<Vec<IncidentRecord>, StorageError> {
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
        Ok(
            with_db!(&self.db, pool => sqlx::query_as::<_, IncidentRecord>(sqlx::AssertSqlSafe(sql.clone()))
            .bind(&f.statuses).bind(&f.grid_id).bind(&f.station_id).bind(f.channel)
            .bind(f.received_from.unwrap_or_else(far_past))
            .bind(f.received_to.unwrap_or_else(far_future))
            .bind(&f.priorities).bind(&f.jurisdiction).bind(after_at).bind(&after_id)
            .bind(f.limit).bind(f.needs_location)
            .fetch_all(pool).await)?,
        )
    }
}

fn incident_select(rest: &str) -> String {
    format!("SELECT {INCIDENT_COLUMNS} FROM intake_incidents {rest}")
}
