//! The outbox: events written in the business transaction, and the queries the relay and the
//! operators use on them. SQL is written once for both backends.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use pingan_proto::events::v1::EventEnvelope;
use tokio::sync::Notify;

use super::Subscriptions;
use crate::clock::SharedClock;
use crate::storage::{Db, StorageError, Tx};
use crate::{trace_context, with_db, with_tx};

const INSERT_EVENT: &str = "INSERT INTO pingan_outbox_events \
    (event_id, event_type, aggregate_id, payload, traceparent, tracestate, occurred_at) \
    VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id";
const INSERT_DELIVERY: &str = "INSERT INTO pingan_outbox_deliveries \
    (event_row_id, destination, aggregate_id, status, attempts, next_attempt_at, updated_at) \
    VALUES ($1, $2, $3, 'PENDING', 0, $4, $4)";

// A delivery is due when it is pending, its retry time has come, nobody holds it, and every
// earlier event of its aggregate has reached that destination (per-aggregate order).
const SELECT_DUE: &str = "SELECT d.event_row_id, d.destination, d.attempts, e.event_id, \
    e.event_type, e.aggregate_id, e.payload, e.traceparent, e.tracestate, e.occurred_at \
    FROM pingan_outbox_deliveries d JOIN pingan_outbox_events e ON e.id = d.event_row_id \
    WHERE d.status = 'PENDING' AND d.next_attempt_at <= $1 \
      AND (d.leased_until IS NULL OR d.leased_until <= $1) \
      AND NOT EXISTS (SELECT 1 FROM pingan_outbox_deliveries p \
          WHERE p.destination = d.destination AND p.aggregate_id = d.aggregate_id \
            AND p.event_row_id < d.event_row_id AND p.status <> 'DELIVERED') \
    ORDER BY d.event_row_id LIMIT $2";
// Compare-and-set over a set of a destination's deliveries (ids from $4 on): of several relays
// (replicas), exactly one wins each lease; the winners come back.
const LEASE_HEAD: &str = "UPDATE pingan_outbox_deliveries SET leased_until = $1, updated_at = $2 \
    WHERE destination = $3 AND status = 'PENDING' \
      AND (leased_until IS NULL OR leased_until <= $2) AND event_row_id IN (";
const LEASE_TAIL: &str = ") RETURNING event_row_id";
const MARK_DELIVERED_HEAD: &str = "UPDATE pingan_outbox_deliveries \
    SET status = 'DELIVERED', attempts = attempts + 1, leased_until = NULL, last_error = '', \
        updated_at = $1 \
    WHERE destination = $2 AND event_row_id IN (";
const MARK_DELIVERED_TAIL: &str = ")";
const MARK_FAILED: &str = "UPDATE pingan_outbox_deliveries \
    SET status = $3, attempts = $4, next_attempt_at = $5, leased_until = NULL, last_error = $6, \
        updated_at = $7 \
    WHERE event_row_id = $1 AND destination = $2";
const SELECT_DEAD: &str = "SELECT d.event_row_id, d.destination, d.attempts, d.last_error, \
    d.updated_at, e.event_id, e.event_type, e.aggregate_id, e.payload, e.traceparent, \
    e.tracestate, e.occurred_at \
    FROM pingan_outbox_deliveries d JOIN pingan_outbox_events e ON e.id = d.event_row_id \
    WHERE d.status = 'DEAD' AND ($1 = '' OR d.destination = $1) AND d.event_row_id > $2 \
    ORDER BY d.event_row_id, d.destination LIMIT $3";
const REDRIVE_ONE: &str = "UPDATE pingan_outbox_deliveries \
    SET status = 'PENDING', attempts = 0, next_attempt_at = $3, leased_until = NULL, updated_at = $3 \
    WHERE status = 'DEAD' AND ($2 = '' OR destination = $2) \
      AND event_row_id = (SELECT id FROM pingan_outbox_events WHERE event_id = $1)";
const REDRIVE_ALL: &str = "UPDATE pingan_outbox_deliveries \
    SET status = 'PENDING', attempts = 0, next_attempt_at = $2, leased_until = NULL, updated_at = $2 \
    WHERE status = 'DEAD' AND ($1 = '' OR destination = $1)";
// The relay's gauges and the operators' counts: only undelivered rows, found through the partial
// indexes, so the cost follows the backlog rather than the table (delivered rows stay for the
// retention period).
const GAUGES: &str = "SELECT d.status, COUNT(*), MIN(e.occurred_at) \
    FROM pingan_outbox_deliveries d JOIN pingan_outbox_events e ON e.id = d.event_row_id \
    WHERE d.status <> 'DELIVERED' GROUP BY d.status";
// Delivered rows are counted from their partial index alone (no join).
const COUNT_DELIVERED: &str =
    "SELECT COUNT(*) FROM pingan_outbox_deliveries WHERE status = 'DELIVERED'";
const PURGE_DELIVERED: &str = "DELETE FROM pingan_outbox_events WHERE occurred_at < $1 \
    AND NOT EXISTS (SELECT 1 FROM pingan_outbox_deliveries d \
        WHERE d.event_row_id = pingan_outbox_events.id AND d.status <> 'DELIVERED')";

/// One delivery of an event to one destination, with the event.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DueDelivery {
    /// Outbox position of the event (orders an aggregate's events).
    pub event_row_id: i64,
    /// Receiving service.
    pub destination: String,
    /// Attempts made so far.
    pub attempts: i32,
    /// Event id.
    pub event_id: String,
    /// Event type (full protobuf name).
    pub event_type: String,
    /// The record the event is about.
    pub aggregate_id: String,
    /// The encoded event message.
    pub payload: Vec<u8>,
    /// W3C trace context of the change.
    pub traceparent: String,
    /// W3C trace state.
    pub tracestate: String,
    /// When the change happened.
    pub occurred_at: DateTime<Utc>,
}

/// A dead letter as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeadLetterRow {
    /// The delivery that could not be made, and its event.
    #[sqlx(flatten)]
    pub delivery: DueDelivery,
    /// Last error seen.
    pub last_error: String,
    /// When it was marked dead.
    pub updated_at: DateTime<Utc>,
}

/// Outbox counts for operators and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct OutboxStats {
    /// Deliveries waiting.
    pub pending: i64,
    /// Age of the oldest waiting delivery.
    pub oldest_pending_seconds: f64,
    /// Dead letters.
    pub dead: i64,
    /// Delivered, kept until the retention ends.
    pub delivered: i64,
}

/// Most ids bound in one set-based statement (far under both backends' parameter limits).
const MAX_IDS_PER_STATEMENT: usize = 512;

/// The deliveries' row ids grouped by destination.
fn ids_by_destination(deliveries: &[DueDelivery]) -> BTreeMap<&str, Vec<i64>> {
    let mut grouped = BTreeMap::<&str, Vec<i64>>::new();
    for delivery in deliveries {
        grouped
            .entry(delivery.destination.as_str())
            .or_default()
            .push(delivery.event_row_id);
    }
    grouped
}

/// `ids` padded with its last id to the next power of two, so a handful of statement shapes
/// (and prepared statements) serve every batch size; a repeated id changes nothing in `IN`.
fn padded(ids: &[i64]) -> Vec<i64> {
    let mut padded = ids.to_vec();
    if let Some(&last) = ids.last() {
        padded.resize(ids.len().next_power_of_two(), last);
    }
    padded
}

/// `head` `$first, …` `tail` with as many placeholders as [`padded`] gives `count` ids (only
/// placeholders are formatted in: the SQL carries no data, so it is safe to run as built).
fn id_list_statement(head: &str, first: usize, count: usize, tail: &str) -> String {
    let slots = count.next_power_of_two();
    let placeholders: Vec<String> = (first..first + slots).map(|n| format!("${n}")).collect();
    format!("{head}{}{tail}", placeholders.join(", "))
}

/// A service's outbox.
#[derive(Debug, Clone)]
pub struct Outbox {
    source: String,
    db: Db,
    subscriptions: Arc<Subscriptions>,
    clock: SharedClock,
    wake: Arc<Notify>,
    analyzed_at: Arc<std::sync::Mutex<Option<std::time::Instant>>>,
}

impl Outbox {
    /// The outbox of the service `source` in its database `db`.
    pub fn new(
        source: &str,
        db: Db,
        subscriptions: Arc<Subscriptions>,
        clock: SharedClock,
    ) -> Self {
        Self {
            source: source.to_owned(),
            db,
            subscriptions,
            clock,
            wake: Arc::new(Notify::new()),
            analyzed_at: Arc::default(),
        }
    }

    /// The sending service.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The database the outbox lives in.
    pub fn db(&self) -> &Db {
        &self.db
    }

    pub(crate) fn clock(&self) -> &SharedClock {
        &self.clock
    }

    pub(crate) fn wake_handle(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// Writes `message` as an event about `aggregate_id` in `tx`, for every subscriber of its
    /// type. Returns the event id, or `None` when nobody subscribes to the type.
    pub async fn enqueue<M: prost::Name>(
        &self,
        tx: &mut Tx,
        aggregate_id: &str,
        message: &M,
    ) -> Result<Option<String>, StorageError> {
        let event_type = M::full_name();
        let destinations: Vec<String> = self
            .subscriptions
            .destinations(&event_type)
            .map(str::to_owned)
            .collect();
        if destinations.is_empty() {
            tracing::debug!(event_type = %event_type, "no subscriber: event not stored");
            return Ok(None);
        }
        let event_id = uuid::Uuid::now_v7().to_string();
        let headers = trace_context::current_headers();
        let traceparent = headers.get("traceparent").cloned().unwrap_or_default();
        let tracestate = headers.get("tracestate").cloned().unwrap_or_default();
        let now = self.clock.now();
        let payload = message.encode_to_vec();
        let row_id: i64 = with_tx!(tx, conn => sqlx::query_scalar(INSERT_EVENT)
            .bind(&event_id)
            .bind(&event_type)
            .bind(aggregate_id)
            .bind(&payload)
            .bind(&traceparent)
            .bind(&tracestate)
            .bind(now)
            .fetch_one(&mut *conn)
            .await)?;
        for destination in &destinations {
            with_tx!(tx, conn => sqlx::query(INSERT_DELIVERY)
                .bind(row_id)
                .bind(destination)
                .bind(aggregate_id)
                .bind(now)
                .execute(&mut *conn)
                .await
                .map(|r| r.rows_affected()))?;
        }
        Ok(Some(event_id))
    }

    /// Commits `tx` and wakes the relay, so events leave at once rather than at the next poll.
    pub async fn commit(&self, tx: Tx) -> Result<(), StorageError> {
        tx.commit().await?;
        self.wake.notify_one();
        Ok(())
    }

    pub(crate) async fn due(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<DueDelivery>, StorageError> {
        let due = with_db!(&self.db, pool => sqlx::query_as::<_, DueDelivery>(SELECT_DUE)
            .bind(now)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await)?;
        if due.len() >= usize::try_from(limit).unwrap_or(usize::MAX) {
            self.refresh_statistics().await;
        }
        Ok(due)
    }

    /// On Postgres, refreshes the planner's statistics of the outbox tables when a backlog is
    /// found (at most once a minute). Statistics taken in steady state say almost nothing is
    /// pending, and with them the planner reads and sorts every pending row each round instead of
    /// walking the pending index to the limit: 60–90 ms a round at 20,000 pending, a drain time
    /// that grew with the square of the backlog. SQLite's planner walks the index without them.
    async fn refresh_statistics(&self) {
        const EVERY: std::time::Duration = std::time::Duration::from_secs(60);
        const ANALYZE: &str = "ANALYZE pingan_outbox_deliveries, pingan_outbox_events";
        let Db::Postgres(pool) = &self.db else {
            return;
        };
        {
            let mut analyzed_at = self
                .analyzed_at
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if analyzed_at.is_some_and(|at| at.elapsed() < EVERY) {
                return;
            }
            *analyzed_at = Some(std::time::Instant::now());
        }
        match sqlx::query(ANALYZE).execute(pool).await {
            Ok(_) => {
                tracing::info!(service = %self.source, "outbox backlog: planner statistics refreshed")
            }
            Err(err) => {
                tracing::warn!(service = %self.source, error = %err, "outbox statistics not refreshed")
            }
        }
    }

    /// The plan of the due scan at `now` for `limit` deliveries, one line per row (`EXPLAIN` on
    /// Postgres, `EXPLAIN QUERY PLAN` on SQLite): to check that a backlog is walked in outbox
    /// order to the limit, never read whole and sorted.
    pub async fn due_plan(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<String>, StorageError> {
        let plan = match &self.db {
            Db::Postgres(pool) => {
                // Our own constant statement, prefixed; every value is bound.
                sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(format!(
                    "EXPLAIN {SELECT_DUE}"
                )))
                .bind(now)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?
            }
            Db::Sqlite(pool, _) => sqlx::query_as::<_, (i64, i64, i64, String)>(
                sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {SELECT_DUE}")),
            )
            .bind(now)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?
            .into_iter()
            .map(|(_, _, _, detail)| detail)
            .collect(),
        };
        Ok(plan)
    }

    /// Leases `due` in one write transaction with one statement per destination and chunk (not
    /// one per delivery); returns the deliveries this relay won.
    pub(crate) async fn lease_all(
        &self,
        due: Vec<DueDelivery>,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Vec<DueDelivery>, StorageError> {
        if due.is_empty() {
            return Ok(due);
        }
        let mut tx = self.db.begin_write().await?;
        let mut won_ids = std::collections::HashSet::with_capacity(due.len());
        for (destination, ids) in ids_by_destination(&due) {
            for chunk in ids.chunks(MAX_IDS_PER_STATEMENT) {
                let sql = id_list_statement(LEASE_HEAD, 4, chunk.len(), LEASE_TAIL);
                let padded = padded(chunk);
                let won: Vec<i64> = with_tx!(&mut tx, conn => {
                    let mut query = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone())).bind(until).bind(now).bind(destination);
                    for id in &padded {
                        query = query.bind(*id);
                    }
                    query.fetch_all(&mut *conn).await
                })?;
                won_ids.extend(won.into_iter().map(|id| (destination.to_owned(), id)));
            }
        }
        tx.commit().await?;
        Ok(due
            .into_iter()
            .filter(|d| won_ids.contains(&(d.destination.clone(), d.event_row_id)))
            .collect())
    }

    /// Records `delivered` as delivered in one write transaction, one statement per destination
    /// and chunk.
    pub(crate) async fn mark_all_delivered(
        &self,
        delivered: &[DueDelivery],
        now: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        if delivered.is_empty() {
            return Ok(());
        }
        let mut tx = self.db.begin_write().await?;
        for (destination, ids) in ids_by_destination(delivered) {
            for chunk in ids.chunks(MAX_IDS_PER_STATEMENT) {
                let sql =
                    id_list_statement(MARK_DELIVERED_HEAD, 3, chunk.len(), MARK_DELIVERED_TAIL);
                let padded = padded(chunk);
                with_tx!(&mut tx, conn => {
                    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.clone())).bind(now).bind(destination);
                    for id in &padded {
                        query = query.bind(*id);
                    }
                    query.execute(&mut *conn).await.map(|r| r.rows_affected())
                })?;
            }
        }
        tx.commit().await
    }

    pub(crate) async fn mark_failed(
        &self,
        delivery: &DueDelivery,
        dead: bool,
        attempts: i32,
        next_attempt_at: DateTime<Utc>,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        let status = if dead { "DEAD" } else { "PENDING" };
        let error: String = error.chars().take(2000).collect();
        with_db!(&self.db, pool => sqlx::query(MARK_FAILED)
            .bind(delivery.event_row_id)
            .bind(&delivery.destination)
            .bind(status)
            .bind(attempts)
            .bind(next_attempt_at)
            .bind(&error)
            .bind(now)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Dead letters after outbox position `after`, oldest first.
    pub async fn dead_letters(
        &self,
        destination: &str,
        after: i64,
        limit: u32,
    ) -> Result<Vec<DeadLetterRow>, StorageError> {
        Ok(
            with_db!(&self.db, pool => sqlx::query_as::<_, DeadLetterRow>(SELECT_DEAD)
            .bind(destination)
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await)?,
        )
    }

    /// Puts dead letters back in the queue: those of `event_ids`, or all when empty and `all`.
    pub async fn redrive(
        &self,
        event_ids: &[String],
        all: bool,
        destination: &str,
    ) -> Result<u64, StorageError> {
        let now = self.clock.now();
        let mut redriven = 0;
        if event_ids.is_empty() && all {
            redriven = with_db!(&self.db, pool => sqlx::query(REDRIVE_ALL)
                .bind(destination)
                .bind(now)
                .execute(pool)
                .await
                .map(|r| r.rows_affected()))?;
        } else {
            for event_id in event_ids {
                redriven += with_db!(&self.db, pool => sqlx::query(REDRIVE_ONE)
                    .bind(event_id)
                    .bind(destination)
                    .bind(now)
                    .execute(pool)
                    .await
                    .map(|r| r.rows_affected()))?;
            }
        }
        if redriven > 0 {
            self.wake.notify_one();
        }
        Ok(redriven)
    }

    /// Counts by state and the age of the oldest pending delivery.
    pub async fn stats(&self) -> Result<OutboxStats, StorageError> {
        let mut stats = self.count(GAUGES).await?;
        stats.delivered = with_db!(&self.db, pool => sqlx::query_scalar::<_, i64>(COUNT_DELIVERED)
            .fetch_one(pool)
            .await)?;
        Ok(stats)
    }

    /// Pending and dead counts only (`delivered` stays 0): cheap enough for every relay round.
    pub(crate) async fn gauges(&self) -> Result<OutboxStats, StorageError> {
        self.count(GAUGES).await
    }

    async fn count(&self, query: &'static str) -> Result<OutboxStats, StorageError> {
        let rows: Vec<(String, i64, Option<DateTime<Utc>>)> =
            with_db!(&self.db, pool => sqlx::query_as(query).fetch_all(pool).await)?;
        let now = self.clock.now();
        let mut stats = OutboxStats::default();
        for (status, count, oldest) in rows {
            match status.as_str() {
                "PENDING" => {
                    stats.pending = count;
                    stats.oldest_pending_seconds = oldest
                        .map(|t| (now - t).num_milliseconds().max(0) as f64 / 1000.0)
                        .unwrap_or_default();
                }
                "DEAD" => stats.dead = count,
                "DELIVERED" => stats.delivered = count,
                _ => {}
            }
        }
        Ok(stats)
    }

    /// Deletes events delivered everywhere before `before`.
    pub async fn purge_delivered(&self, before: DateTime<Utc>) -> Result<u64, StorageError> {
        Ok(with_db!(&self.db, pool => sqlx::query(PURGE_DELIVERED)
            .bind(before)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?)
    }

    /// The envelope a receiver gets for `delivery`.
    pub fn envelope(&self, delivery: &DueDelivery) -> EventEnvelope {
        EventEnvelope {
            event_id: delivery.event_id.clone(),
            event_type: delivery.event_type.clone(),
            source: self.source.clone(),
            aggregate_id: delivery.aggregate_id.clone(),
            sequence: delivery.event_row_id,
            occurred_at: Some(prost_types::Timestamp {
                seconds: delivery.occurred_at.timestamp(),
                nanos: i32::try_from(delivery.occurred_at.timestamp_subsec_nanos())
                    .unwrap_or_default(),
            }),
            traceparent: delivery.traceparent.clone(),
            tracestate: delivery.tracestate.clone(),
            payload: Some(prost_types::Any {
                type_url: format!("type.googleapis.com/{}", delivery.event_type),
                value: delivery.payload.clone(),
            }),
        }
    }
}
