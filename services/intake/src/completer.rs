//! The background completer: incidents saved while a dependency was down or slow wait with a
//! retry time on the service clock; the completer takes each due one under a lease (so two
//! replicas never route it twice) and runs its remaining routing steps.

use std::sync::{Arc, Weak};

use pingan_platform::{ApiError, ServiceContext};

use crate::router::Router;
use crate::settings::IntakeSettings;
use crate::store::Store;

/// Incidents routed per round at most.
const BATCH: i64 = 50;

/// Finishes routing of incidents that wait for a dependency.
#[derive(Debug, Clone)]
pub struct Completer {
    context: ServiceContext,
    router: Router,
    store: Store,
}

impl Completer {
    /// A completer over the service's storage and peers.
    pub fn new(context: &ServiceContext, settings: IntakeSettings) -> Self {
        Self {
            router: Router::new(context.clone(), Arc::new(settings)),
            store: Store::new(context.db.clone()),
            context: context.clone(),
        }
    }

    /// One round: routes every incident whose retry time has come; returns how many it took.
    pub async fn run_once(&self) -> Result<usize, ApiError> {
        let now = self.context.clock.now();
        let lease = chrono::Duration::from_std(self.router.settings().route_lease)
            .unwrap_or(chrono::Duration::seconds(30));
        let due = self.store.due_for_routing(now, BATCH).await?;
        let mut taken = 0;
        for incident_id in due {
            if !self
                .store
                .take_lease(&incident_id, now, now + lease)
                .await?
            {
                continue;
            }
            taken += 1;
            if let Err(err) = self.router.advance(&incident_id).await {
                tracing::warn!(incident_id = %incident_id, error = %err, "routing round failed");
            }
        }
        Ok(taken)
    }

    /// Runs rounds every `interval` while `alive` can be upgraded (the service is mounted).
    pub fn spawn(self, alive: Weak<()>, interval: std::time::Duration) {
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            tracing::warn!("no runtime: the intake completer does not run in this process");
            return;
        };
        handle.spawn(async move {
            let mut ticker = tokio::time::interval(interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                if alive.upgrade().is_none() {
                    break;
                }
                if let Err(err) = self.run_once().await {
                    tracing::debug!(error = %err, "completer round failed");
                }
            }
        });
    }
}
