//! The background chores: 12345's own reports (the simulator's bounces), the rules file watcher,
//! the overdue gauge, and once, moving what the retired delivery queue still held into jobs and
//! converting the classification blobs of migration 0003's old layout into columns.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use pingan_platform::jobs::NewJob;
use pingan_platform::service::Worker;
use pingan_platform::storage::Db;
use pingan_platform::{ApiError, StorageError};
use pingan_proto::triage::v1::Classification;
use prost::Message;
use tokio::sync::Mutex;

use crate::api::convert;
use crate::app::bridge::{Bridge, Change, hotline_actor};
use crate::domain::transfer::{Action, Direction, Status};
use crate::metrics::OVERDUE;
use crate::store::{LegacyDelivery, Store};

/// Retired-queue rows moved per round.
const MOVE_BATCH: i64 = 100;
/// Transfers read per round of the classification data step.
const CONVERT_BATCH: i64 = 100;

/// The data step of migration 0003: every transfer whose classification is still the encoded
/// protobuf blob gets it written as columns and child rows, and the blob emptied (an unreadable
/// blob, which the old reads showed as no classification, becomes none). Idempotent: each
/// transfer is converted in its own write transaction, under its row lock, only while it still
/// holds a blob, so a second run (or one on another replica at the same time) converts nothing
/// more. Returns how many this run converted.
pub async fn convert_legacy_classifications(
    db: &Db,
    store: &dyn Store,
) -> Result<u64, StorageError> {
    let mut converted = 0;
    let mut after = String::new();
    loop {
        let ids = store
            .legacy_classification_ids(&after, CONVERT_BATCH)
            .await?;
        let Some(last) = ids.last() else {
            break;
        };
        after = last.clone();
        for transfer_id in &ids {
            let mut tx = db.begin_write().await?;
            if let Some(blob) = store
                .lock_legacy_classification(&mut tx, transfer_id)
                .await?
            {
                let record = match Classification::decode(blob.as_slice()) {
                    Ok(message) => Some(convert::classification_record(&message)),
                    Err(err) => {
                        tracing::warn!(%transfer_id, error = %err,
                            "transfer classification blob unreadable: stored as none");
                        None
                    }
                };
                store
                    .set_classification(&mut tx, transfer_id, record.as_ref())
                    .await?;
                converted += 1;
            }
            tx.commit().await?;
        }
    }
    if converted > 0 {
        tracing::info!(
            converted,
            "triage transfer classifications converted to columns"
        );
    }
    Ok(converted)
}

impl Bridge {
    /// Applies what 12345 reported on its own (the simulator's bounces).
    pub async fn apply_reports(&self) {
        for report in self.gateway.take_reports() {
            let result = async {
                let mut tx = self.ctx.db.begin_write().await?;
                let mut row = self.store.lock(&mut tx, &report.transfer_id).await?;
                if row.hotline_ticket_id.is_none() {
                    row.hotline_ticket_id = Some(report.ticket_id.clone());
                }
                let actor = hotline_actor();
                let change = Change::new(Status::Bounced, &actor).note(&report.reason);
                self.apply_outcome(&mut tx, &mut row, change).await?;
                self.ctx.outbox.commit(tx).await?;
                Ok::<(), ApiError>(())
            }
            .await;
            if let Err(err) = result {
                tracing::warn!(transfer_id = %report.transfer_id, error = %err, "cannot apply a 12345 bounce");
            }
        }
    }

    async fn refresh_overdue(&self) {
        let Some(gauge) = OVERDUE.as_ref() else {
            return;
        };
        match self.store.count_overdue(self.ctx.clock.now()).await {
            Ok(counts) => {
                for direction in [Direction::To12345, Direction::From12345] {
                    let n = counts
                        .iter()
                        .find(|(d, _)| d == direction.as_str())
                        .map(|(_, n)| *n)
                        .unwrap_or(0);
                    gauge
                        .with_label_values(&[&direction.as_str().to_ascii_lowercase()])
                        .set(n);
                }
            }
            Err(err) => tracing::debug!(error = %err, "overdue count unavailable"),
        }
    }

    fn reload_rules(&self) {
        match self.rules.reload_if_changed(self.ctx.clock.now()) {
            Ok(Some(reloaded)) => tracing::info!(
                version = %reloaded.version,
                previous = %reloaded.previous,
                "rules file changed: reloaded"
            ),
            Ok(None) => {}
            Err(err) => {
                tracing::warn!(error = %err, "rules file changed but is invalid: previous rules stay")
            }
        }
    }

    /// Moves the deliveries the retired queue still holds into jobs, each in one transaction
    /// with its row marked moved (idempotent: the job key dedupes, a moved row is not read
    /// again). Returns true when none is left.
    pub async fn move_legacy_deliveries(&self) -> Result<bool, ApiError> {
        loop {
            let pending = self.store.legacy_pending(MOVE_BATCH).await?;
            if pending.is_empty() {
                return Ok(true);
            }
            for delivery in &pending {
                self.move_legacy(delivery).await?;
            }
        }
    }

    async fn move_legacy(&self, delivery: &LegacyDelivery) -> Result<(), ApiError> {
        let now = self.ctx.clock.now();
        let mut tx = self.ctx.db.begin_write().await?;
        match Action::parse(&delivery.action) {
            Some(action) => {
                let key = action.job_key(&delivery.transfer_id, &delivery.delivery_id);
                let kind = action.job_kind();
                self.store
                    .add_delivery_job(&mut tx, kind, &key, &delivery.transfer_id, now)
                    .await?;
                // The payload is sealed the same way: the job carries it as it is.
                let job =
                    NewJob::new(kind, &key, delivery.payload.clone()).at(delivery.next_attempt_at);
                self.jobs.enqueue_in(&mut tx, job).await?;
            }
            None => tracing::warn!(delivery_id = %delivery.delivery_id,
                action = %delivery.action, "retired delivery of an unknown action: not moved"),
        }
        self.store
            .legacy_moved(&mut tx, &delivery.delivery_id, now)
            .await?;
        self.jobs.commit(tx).await?;
        Ok(())
    }
}

/// The chores as a host worker: a round every `delivery_poll`, the rules file checked every
/// `rules_poll`; the retired queue is emptied into jobs and the old classification blobs
/// converted on the first rounds until each succeeds.
pub fn worker(bridge: Arc<Bridge>) -> Worker {
    let poll = bridge.config.delivery_poll.max(Duration::from_millis(10));
    let rules_poll = bridge.config.rules_poll;
    let last_rules_check = Arc::new(Mutex::new(Instant::now()));
    let moved = Arc::new(AtomicBool::new(false));
    let converted = Arc::new(AtomicBool::new(false));
    Worker::every("triage-chores", poll, move || {
        let (bridge, last_rules_check, moved, converted) = (
            bridge.clone(),
            last_rules_check.clone(),
            moved.clone(),
            converted.clone(),
        );
        async move {
            if !converted.load(Ordering::Relaxed) {
                let store = bridge.store.as_ref();
                match convert_legacy_classifications(&bridge.ctx.db, store).await {
                    Ok(_) => converted.store(true, Ordering::Relaxed),
                    Err(err) => tracing::warn!(error = %err,
                        "cannot convert the transfer classifications to columns yet"),
                }
            }
            if !moved.load(Ordering::Relaxed) {
                match bridge.move_legacy_deliveries().await {
                    Ok(done) => moved.store(done, Ordering::Relaxed),
                    Err(err) => {
                        tracing::warn!(error = %err, "cannot move the retired deliveries into jobs yet")
                    }
                }
            }
            bridge.apply_reports().await;
            let mut checked = last_rules_check.lock().await;
            if checked.elapsed() >= rules_poll {
                *checked = Instant::now();
                bridge.reload_rules();
            }
            drop(checked);
            bridge.refresh_overdue().await;
        }
    })
}
