//! The witnessed checkpoint in the service's own database (`pingan_audit_witness`, one row),
//! SQL written once for both backends.

use chrono::{DateTime, Utc};

use crate::audit_checkpoint::Checkpoint;
use crate::storage::{Db, StorageError};
use crate::with_db;

const SELECT: &str = "SELECT sequence, head_hash, signed_at_micros, public_key, signature \
    FROM pingan_audit_witness WHERE id = 1";

/// Inserts the first checkpoint or replaces a lower one; a concurrent writer that stored a
/// higher (or the same) sequence first wins, so racing polls keep the highest.
const KEEP: &str = "INSERT INTO pingan_audit_witness \
    (id, sequence, head_hash, signed_at_micros, public_key, signature, stored_at_micros) \
    VALUES (1, $1, $2, $3, $4, $5, $6) \
    ON CONFLICT (id) DO UPDATE SET sequence = excluded.sequence, \
    head_hash = excluded.head_hash, signed_at_micros = excluded.signed_at_micros, \
    public_key = excluded.public_key, signature = excluded.signature, \
    stored_at_micros = excluded.stored_at_micros \
    WHERE pingan_audit_witness.sequence < excluded.sequence";

type Row = (i64, String, i64, String, String);

/// The checkpoint kept in `db`, if any.
pub async fn kept(db: &Db) -> Result<Option<Checkpoint>, StorageError> {
    let row: Option<Row> = with_db!(db, pool => sqlx::query_as(SELECT)
        .fetch_optional(pool)
        .await)?;
    row.map(decode).transpose()
}

/// Stores `checkpoint` unless the kept one is at least as high; true when it was stored.
pub async fn keep(
    db: &Db,
    checkpoint: &Checkpoint,
    now: DateTime<Utc>,
) -> Result<bool, StorageError> {
    let stored = with_db!(db, pool => sqlx::query(KEEP)
        .bind(checkpoint.sequence)
        .bind(&checkpoint.head_hash)
        .bind(checkpoint.signed_at.timestamp_micros())
        .bind(&checkpoint.public_key)
        .bind(hex::encode(&checkpoint.signature))
        .bind(now.timestamp_micros())
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(stored > 0)
}

fn decode(row: Row) -> Result<Checkpoint, StorageError> {
    let (sequence, head_hash, signed_at_micros, public_key, signature) = row;
    let signed_at = DateTime::from_timestamp_micros(signed_at_micros).ok_or_else(|| {
        StorageError::Other("pingan_audit_witness.signed_at_micros out of range".into())
    })?;
    let signature = hex::decode(&signature)
        .map_err(|_| StorageError::Other("pingan_audit_witness.signature is not hex".into()))?;
    Ok(Checkpoint {
        sequence,
        head_hash,
        signed_at,
        public_key,
        signature,
    })
}
