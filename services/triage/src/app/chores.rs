//! The background chores: 12345's own reports (the simulator's bounces), the rules file watcher,
//! the overdue gauge, and once, moving what the retired delivery queue still held into jobs.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use pingan_platform::ApiError;
use pingan_platform::jobs::NewJob;
use pingan_platform::service::Worker;
use tokio::sync::Mutex;

use crate::app::bridge::{Bridge, Change, hotline_actor};
use crate::domain::transfer::{Action, Direction, Status};
use crate::metrics::OVERDUE;
use crate::store::LegacyDelivery;

/// Retired-queue rows moved per round.
const MOVE_BATCH: i64 = 100;

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
/// `rules_poll`; the retired queue is emptied into jobs on the first rounds until it succeeds.
pub fn worker(bridge: Arc<Bridge>) -> Worker {
    let poll = bridge.config.delivery_poll.max(Duration::from_millis(10));
    let rules_poll = bridge.config.rules_poll;
    let last_rules_check = Arc::new(Mutex::new(Instant::now()));
    let moved = Arc::new(AtomicBool::new(false));
    Worker::every("triage-chores", poll, move || {
        let (bridge, last_rules_check, moved) =
            (bridge.clone(), last_rules_check.clone(), moved.clone());
        async move {
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
