//! Events: the inbound ones from dispatch, case-followup, triage and complaints-audit, written
//! onto the incident timeline and moving its status and clocks (`inbound`), and the ones intake
//! sends (`outbound`). Each inbound event runs in the inbox transaction, so a redelivered event
//! has no second effect.

mod inbound;
pub mod outbound;

use std::sync::Arc;

use pingan_platform::events::EventHandler;
use pingan_platform::jobs::JobQueue;
use pingan_platform::storage::Tx;
use pingan_platform::{ApiError, ServiceContext};
use pingan_proto::events::v1::EventEnvelope;

use crate::app::Deps;
use crate::store::Store;

/// Every event type intake handles.
pub const HANDLED: [&str; 9] = [
    "pingan.dispatch.v1.DispatchTimelineEvent",
    "pingan.dispatch.v1.DispatchClosed",
    "pingan.dispatch.v1.SlaBreached",
    "pingan.followup.v1.MediationOpened",
    "pingan.followup.v1.MediationConcluded",
    "pingan.followup.v1.RevisitScheduled",
    "pingan.followup.v1.RevisitCompleted",
    "pingan.triage.v1.TransferStatusChanged",
    "pingan.audit.v1.ComplaintFiled",
];

/// Applies incident events.
#[derive(Debug, Clone)]
pub struct IncidentEvents {
    context: ServiceContext,
    store: Arc<dyn Store>,
    jobs: JobQueue,
}

impl IncidentEvents {
    /// The handler over the service's storage; re-routing jobs go to `deps.jobs`.
    pub fn new(deps: &Deps) -> Self {
        Self {
            context: deps.context.clone(),
            store: deps.store.clone(),
            jobs: deps.jobs.clone(),
        }
    }
}

#[tonic::async_trait]
impl EventHandler for IncidentEvents {
    async fn handle(&self, tx: &mut Tx, event: &EventEnvelope) -> Result<(), ApiError> {
        let applying = inbound::Applying {
            context: &self.context,
            store: self.store.as_ref(),
            jobs: &self.jobs,
            event,
            now: self.context.clock.now(),
        };
        applying.apply(tx).await
    }
}
