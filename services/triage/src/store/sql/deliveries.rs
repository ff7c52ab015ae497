//! Which delivery jobs each transfer owes (`triage_delivery_jobs`), and the retired
//! `triage_deliveries` queue: its pending rows are moved into jobs once, its history is read.

use chrono::{DateTime, Utc};
use pingan_platform::storage::{Db, StorageError, Tx};
use pingan_platform::{with_db, with_tx};

use crate::store::{DeadLetterRow, LegacyDelivery};

const INSERT_JOB: &str = "INSERT INTO triage_delivery_jobs (job_kind, job_key, transfer_id, \
    created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (job_kind, job_key) DO NOTHING";
const JOBS_OF: &str = "SELECT job_kind, job_key FROM triage_delivery_jobs WHERE transfer_id = $1 \
    ORDER BY created_at DESC, job_key DESC";

const LEGACY_LATEST: &str = "SELECT delivery_id, transfer_id, action, payload, status, \
    attempts, next_attempt_at, last_error FROM triage_deliveries WHERE transfer_id = $1 \
    ORDER BY created_at DESC, delivery_id DESC LIMIT 1";
// A moved row is done with here: its job carries it on.
const LEGACY_MOVED: &str = "UPDATE triage_deliveries SET status = 'MOVED', leased_until = NULL, \
    updated_at = $2 WHERE delivery_id = $1 AND status = 'PENDING'";
const LEGACY_DEAD: &str = "SELECT delivery_id, transfer_id, action, attempts, last_error, \
    updated_at FROM triage_deliveries WHERE status = 'DEAD' AND ($1 = '' OR transfer_id = $1) \
    ORDER BY updated_at DESC, delivery_id DESC LIMIT $2";

/// Records in `tx` that `transfer_id` owes the job (`kind`, `key`); idempotent.
pub(super) async fn add_delivery_job(
    tx: &mut Tx,
    kind: &str,
    key: &str,
    transfer_id: &str,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    with_tx!(tx, conn => sqlx::query(INSERT_JOB)
        .bind(kind)
        .bind(key)
        .bind(transfer_id)
        .bind(now)
        .execute(&mut *conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// The delivery jobs (kind, key) of a transfer, newest first.
pub(super) async fn delivery_jobs(
    db: &Db,
    transfer_id: &str,
) -> Result<Vec<(String, String)>, StorageError> {
    Ok(with_db!(db, pool => sqlx::query_as(JOBS_OF)
        .bind(transfer_id)
        .fetch_all(pool)
        .await)?)
}

/// Up to `limit` deliveries still pending in the retired queue, oldest first.
pub(super) async fn legacy_pending(
    db: &Db,
    limit: i64,
) -> Result<Vec<LegacyDelivery>, StorageError> {
    const SQL: &str = "SELECT delivery_id, transfer_id, action, payload, status, attempts, \
        next_attempt_at, last_error FROM triage_deliveries WHERE status = 'PENDING' \
        ORDER BY created_at, delivery_id LIMIT $1";
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, LegacyDelivery>(SQL)
        .bind(limit)
        .fetch_all(pool)
        .await)?,
    )
}

/// Marks a retired-queue delivery as moved into a job (in the transaction that enqueues it).
pub(super) async fn legacy_moved(
    tx: &mut Tx,
    delivery_id: &str,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    with_tx!(tx, conn => sqlx::query(LEGACY_MOVED)
        .bind(delivery_id)
        .bind(now)
        .execute(&mut *conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// The latest delivery of a transfer in the retired queue (transfers from before the jobs).
pub(super) async fn legacy_latest(
    db: &Db,
    transfer_id: &str,
) -> Result<Option<LegacyDelivery>, StorageError> {
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, LegacyDelivery>(LEGACY_LATEST)
        .bind(transfer_id)
        .fetch_optional(pool)
        .await)?,
    )
}

/// The retired queue's dead letters, newest first (of one transfer when not empty).
pub(super) async fn legacy_dead_letters(
    db: &Db,
    transfer_id: &str,
    limit: i64,
) -> Result<Vec<DeadLetterRow>, StorageError> {
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, DeadLetterRow>(LEGACY_DEAD)
        .bind(transfer_id)
        .bind(limit)
        .fetch_all(pool)
        .await)?,
    )
}
