//! The transfer ledger in SQL, written once for Postgres and SQLite.

use chrono::{DateTime, Utc};
use pingan_platform::storage::{Db, StorageError, Tx};
use pingan_platform::{with_db, with_tx};

/// One ledger row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TransferRow {
    pub transfer_id: String,
    pub direction: String,
    pub status: String,
    pub hotline_ticket_id: Option<String>,
    pub incident_id: String,
    pub complaint_id: String,
    pub origin_transfer_id: String,
    pub route: String,
    pub classification: Vec<u8>,
    pub category: String,
    pub department: String,
    pub description: String,
    pub caller_phone_sealed: Option<Vec<u8>>,
    pub caller_phone_masked: String,
    pub caller_name: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub address: String,
    pub reason: String,
    pub first_received_on: String,
    pub first_received_at: DateTime<Utc>,
    pub deadline: Option<DateTime<Utc>>,
    pub outcome_note: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One status change.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct HistoryRow {
    pub from_status: String,
    pub to_status: String,
    pub at: DateTime<Utc>,
    pub actor_subject: String,
    pub actor_role: String,
    pub note: String,
}

/// One delivery owed to the other side.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeliveryRow {
    pub delivery_id: String,
    pub transfer_id: String,
    pub action: String,
    pub payload: Vec<u8>,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: String,
}

/// A delivery refused for good (a dead letter).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeadLetterRow {
    pub delivery_id: String,
    pub transfer_id: String,
    pub action: String,
    pub attempts: i32,
    pub last_error: String,
    pub updated_at: DateTime<Utc>,
}

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

const INSERT_DELIVERY: &str = "INSERT INTO triage_deliveries (delivery_id, transfer_id, action, \
    payload, status, attempts, next_attempt_at, last_error, created_at, updated_at) \
    VALUES ($1, $2, $3, $4, 'PENDING', 0, $5, '', $5, $5)";
const DUE_DELIVERIES: &str = "SELECT delivery_id, transfer_id, action, payload, status, attempts, \
    next_attempt_at, last_error FROM triage_deliveries WHERE status = 'PENDING' \
    AND next_attempt_at <= $1 AND (leased_until IS NULL OR leased_until <= $1) \
    ORDER BY next_attempt_at, delivery_id LIMIT $2";
const DELIVERY_BY_ID: &str = "SELECT delivery_id, transfer_id, action, payload, status, attempts, \
    next_attempt_at, last_error FROM triage_deliveries WHERE delivery_id = $1";
const LATEST_DELIVERY: &str = "SELECT delivery_id, transfer_id, action, payload, status, \
    attempts, next_attempt_at, last_error FROM triage_deliveries WHERE transfer_id = $1 \
    ORDER BY CASE WHEN status = 'PENDING' THEN 0 ELSE 1 END, created_at DESC, delivery_id DESC \
    LIMIT 1";
// Compare-and-set: of several replicas, one wins the delivery.
const LEASE: &str = "UPDATE triage_deliveries SET leased_until = $2, updated_at = $3 \
    WHERE delivery_id = $1 AND status = 'PENDING' AND (leased_until IS NULL OR leased_until <= $3)";
const COMPLETE: &str = "UPDATE triage_deliveries SET status = 'DONE', attempts = attempts + 1, \
    leased_until = NULL, last_error = '', updated_at = $2 WHERE delivery_id = $1";
const FAIL: &str = "UPDATE triage_deliveries SET attempts = $2, next_attempt_at = $3, \
    leased_until = NULL, last_error = $4, updated_at = $5 WHERE delivery_id = $1";

// A dead letter is never due again: only PENDING deliveries are.
const DEAD: &str = "UPDATE triage_deliveries SET status = 'DEAD', attempts = $2, \
    leased_until = NULL, last_error = $3, updated_at = $4 WHERE delivery_id = $1";
const DEAD_LETTERS: &str = "SELECT delivery_id, transfer_id, action, attempts, last_error, \
    updated_at FROM triage_deliveries WHERE status = 'DEAD' AND ($1 = '' OR transfer_id = $1) \
    ORDER BY updated_at DESC, delivery_id DESC LIMIT $2 OFFSET $3";

const COUNT_OVERDUE: &str = "SELECT direction, COUNT(*) FROM triage_transfers \
    WHERE deadline IS NOT NULL AND deadline < $1 AND status NOT IN ('HANDLED', 'BOUNCED') \
    GROUP BY direction";

/// Filters of a listing.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub direction: String,
    /// Comma-wrapped statuses (",PENDING,SENT,") or empty.
    pub statuses: String,
    pub incident_id: String,
    pub department: String,
    pub created_from: Option<DateTime<Utc>>,
    pub created_to: Option<DateTime<Utc>>,
}

/// The ledger's storage.
#[derive(Debug, Clone)]
pub struct Store {
    db: Db,
}

impl Store {
    /// The ledger in `db`.
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// The database.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Records a new transfer.
    pub async fn insert(&self, tx: &mut Tx, row: &TransferRow) -> Result<(), StorageError> {
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
    pub async fn save(&self, tx: &mut Tx, row: &TransferRow) -> Result<(), StorageError> {
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
    pub async fn lock(&self, tx: &mut Tx, transfer_id: &str) -> Result<TransferRow, StorageError> {
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
    pub async fn get(&self, transfer_id: &str) -> Result<Option<TransferRow>, StorageError> {
        const SQL: &str = select_transfers!("transfer_id = $1");
        Ok(
            with_db!(&self.db, pool => sqlx::query_as::<_, TransferRow>(SQL)
            .bind(transfer_id)
            .fetch_optional(pool)
            .await)?,
        )
    }

    /// The transfer of a 12345 ticket (`direction` empty: either way, newest first).
    pub async fn by_ticket(
        &self,
        direction: &str,
        ticket_id: &str,
    ) -> Result<Option<TransferRow>, StorageError> {
        const SQL: &str = select_transfers!(
            "hotline_ticket_id = $1 AND ($2 = '' OR direction = $2) \
             ORDER BY created_at DESC LIMIT 1"
        );
        Ok(
            with_db!(&self.db, pool => sqlx::query_as::<_, TransferRow>(SQL)
            .bind(ticket_id)
            .bind(direction)
            .fetch_optional(pool)
            .await)?,
        )
    }

    /// Lists transfers, newest first.
    pub async fn list(
        &self,
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
        Ok(
            with_db!(&self.db, pool => sqlx::query_as::<_, TransferRow>(SQL)
            .bind(&filter.direction)
            .bind(&filter.statuses)
            .bind(&filter.incident_id)
            .bind(&filter.department)
            .bind(filter.created_from)
            .bind(filter.created_to)
            .bind(limit)
            .bind(offset)
            .fetch_all(pool)
            .await)?,
        )
    }

    /// Open transfers past their deadline at `as_of`, most overdue first.
    pub async fn overdue(
        &self,
        as_of: DateTime<Utc>,
        direction: &str,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<TransferRow>, StorageError> {
        const SQL: &str = select_transfers!(
            "deadline IS NOT NULL AND deadline < $1 AND status NOT IN ('HANDLED', 'BOUNCED') \
             AND ($2 = '' OR direction = $2) ORDER BY deadline, transfer_id LIMIT $3 OFFSET $4"
        );
        Ok(
            with_db!(&self.db, pool => sqlx::query_as::<_, TransferRow>(SQL)
            .bind(as_of)
            .bind(direction)
            .bind(limit)
            .bind(offset)
            .fetch_all(pool)
            .await)?,
        )
    }

    /// Overdue transfers per direction.
    pub async fn count_overdue(
        &self,
        as_of: DateTime<Utc>,
    ) -> Result<Vec<(String, i64)>, StorageError> {
        Ok(with_db!(&self.db, pool => sqlx::query_as(COUNT_OVERDUE)
            .bind(as_of)
            .fetch_all(pool)
            .await)?)
    }

    /// Appends a status change.
    #[allow(clippy::too_many_arguments)]
    pub async fn add_history(
        &self,
        tx: &mut Tx,
        transfer_id: &str,
        from: &str,
        to: &str,
        at: DateTime<Utc>,
        actor: &pingan_proto::common::v1::Actor,
        note: &str,
    ) -> Result<(), StorageError> {
        with_tx!(tx, conn => sqlx::query(INSERT_HISTORY)
            .bind(transfer_id)
            .bind(from)
            .bind(to)
            .bind(at)
            .bind(&actor.subject)
            .bind(&actor.role)
            .bind(note)
            .execute(&mut *conn)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Every status change of a transfer, oldest first.
    pub async fn history(&self, transfer_id: &str) -> Result<Vec<HistoryRow>, StorageError> {
        Ok(
            with_db!(&self.db, pool => sqlx::query_as::<_, HistoryRow>(SELECT_HISTORY)
            .bind(transfer_id)
            .fetch_all(pool)
            .await)?,
        )
    }

    /// Queues a delivery, due at once.
    pub async fn add_delivery(
        &self,
        tx: &mut Tx,
        delivery_id: &str,
        transfer_id: &str,
        action: &str,
        payload: &[u8],
        now: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        with_tx!(tx, conn => sqlx::query(INSERT_DELIVERY)
            .bind(delivery_id)
            .bind(transfer_id)
            .bind(action)
            .bind(payload)
            .bind(now)
            .execute(&mut *conn)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Deliveries due at `now`.
    pub async fn due(
        &self,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<DeliveryRow>, StorageError> {
        Ok(
            with_db!(&self.db, pool => sqlx::query_as::<_, DeliveryRow>(DUE_DELIVERIES)
            .bind(now)
            .bind(limit)
            .fetch_all(pool)
            .await)?,
        )
    }

    /// One delivery.
    pub async fn delivery(&self, delivery_id: &str) -> Result<Option<DeliveryRow>, StorageError> {
        Ok(
            with_db!(&self.db, pool => sqlx::query_as::<_, DeliveryRow>(DELIVERY_BY_ID)
            .bind(delivery_id)
            .fetch_optional(pool)
            .await)?,
        )
    }

    /// The pending (else the latest) delivery of a transfer.
    pub async fn latest_delivery(
        &self,
        transfer_id: &str,
    ) -> Result<Option<DeliveryRow>, StorageError> {
        Ok(
            with_db!(&self.db, pool => sqlx::query_as::<_, DeliveryRow>(LATEST_DELIVERY)
            .bind(transfer_id)
            .fetch_optional(pool)
            .await)?,
        )
    }

    /// Takes a delivery until `until`; false when another worker holds it or it is done.
    pub async fn lease(
        &self,
        delivery_id: &str,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StorageError> {
        let won = with_db!(&self.db, pool => sqlx::query(LEASE)
            .bind(delivery_id)
            .bind(until)
            .bind(now)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(won == 1)
    }

    /// Marks a delivery done (in the transaction that applies its result).
    pub async fn complete(
        &self,
        tx: &mut Tx,
        delivery_id: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        with_tx!(tx, conn => sqlx::query(COMPLETE)
            .bind(delivery_id)
            .bind(now)
            .execute(&mut *conn)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Records a failed attempt and when to try again.
    pub async fn fail(
        &self,
        delivery_id: &str,
        attempts: i32,
        next_attempt_at: DateTime<Utc>,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        with_db!(&self.db, pool => sqlx::query(FAIL)
            .bind(delivery_id)
            .bind(attempts)
            .bind(next_attempt_at)
            .bind(error)
            .bind(now)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Dead-letters a delivery (in the transaction that records what it means for the ledger).
    pub async fn dead(
        &self,
        tx: &mut Tx,
        delivery_id: &str,
        attempts: i32,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        with_tx!(tx, conn => sqlx::query(DEAD)
            .bind(delivery_id)
            .bind(attempts)
            .bind(reason)
            .bind(now)
            .execute(&mut *conn)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Dead letters, newest first (of one transfer when `transfer_id` is not empty).
    pub async fn dead_letters(
        &self,
        transfer_id: &str,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<DeadLetterRow>, StorageError> {
        Ok(
            with_db!(&self.db, pool => sqlx::query_as::<_, DeadLetterRow>(DEAD_LETTERS)
            .bind(transfer_id)
            .bind(limit)
            .bind(offset)
            .fetch_all(pool)
            .await)?,
        )
    }
}
