//! The data step of migration 0003, run on start: incidents whose classification is still the
//! encoded protobuf blob get it written as columns and child rows, and the blob cleared.
//! Idempotent: each incident is converted in its own transaction, under its lock, only while
//! it still holds a blob, so a second run (or one on another replica at the same time) finds
//! nothing to do. Inbound events, which may arrive before the step finished, convert the
//! incident they lock in their own transaction ([`convert_in`]).

use pingan_platform::storage::{Db, StorageError, Tx};
use pingan_proto::triage::v1::Classification;
use prost::Message;

use crate::app::classification::from_message;
use crate::domain::ClassificationRecord;
use crate::settings::IntakeSettings;
use crate::store::Store;
use chrono::{DateTime, Utc};

/// The data step of migration 0006: located incidents of earlier releases that a duplicate
/// search may still meet (received within twice the duplicate window, at least a day) are filed
/// under their cell. Idempotent (only unfiled rows are touched).
pub async fn file_link_cells(
    store: &dyn Store,
    settings: &IntakeSettings,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    // Checked: a configured window of centuries files every row since 1970, no overflow.
    let reach = chrono::Duration::from_std(settings.duplicate_window)
        .ok()
        .and_then(|window| window.checked_mul(2))
        .map_or(chrono::Duration::MAX, |twice| {
            twice.max(chrono::Duration::days(1))
        });
    let since = now
        .checked_sub_signed(reach)
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
    let filed = store.file_unfiled(since).await?;
    if filed > 0 {
        tracing::info!(
            filed,
            "intake incidents filed under their duplicate-search cell"
        );
    }
    Ok(())
}

/// Incidents converted per round.
const BATCH: i64 = 200;

/// Converts every incident still holding a classification blob; the number converted.
pub async fn convert_legacy_rows(db: &Db, store: &dyn Store) -> Result<u64, StorageError> {
    let mut converted = 0;
    loop {
        let ids = store.legacy_classification_ids(BATCH).await?;
        if ids.is_empty() {
            break;
        }
        for id in ids {
            let mut tx = db.begin_write().await?;
            if convert_in(&mut tx, store, &id).await?.is_some() {
                converted += 1;
            }
            tx.commit().await?;
        }
    }
    if converted > 0 {
        tracing::info!(converted, "intake classifications converted to columns");
    }
    Ok(converted)
}

/// Locks the incident in `tx` and, if it still holds a blob, writes it as columns and clears
/// it: `Some` with the classification written, `None` when there was nothing to convert.
pub async fn convert_in(
    tx: &mut Tx,
    store: &dyn Store,
    incident_id: &str,
) -> Result<Option<Option<ClassificationRecord>>, StorageError> {
    let Some(blob) = store.legacy_classification(tx, incident_id).await? else {
        return Ok(None);
    };
    // The old reads took an undecodable blob for no classification: so does this.
    let record = match Classification::decode(blob.as_slice()) {
        Ok(message) => Some(from_message(&message)),
        Err(err) => {
            tracing::warn!(incident_id, error = %err, "classification blob unreadable; dropped");
            None
        }
    };
    store
        .set_classification(tx, incident_id, record.as_ref())
        .await?;
    Ok(Some(record))
}
