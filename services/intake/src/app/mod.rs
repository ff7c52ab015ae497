//! Use cases, each in its own transactions, with events out through the outbox and jobs enqueued
//! in the same transaction: ReportCall (`reporting`), the reads (`reading`), routing (`router`,
//! run inline and as the `intake.route` job by `routing_job`), locating (`locate`) and placing a
//! held incident (`placing`). Their ports: the [`Store`] and the peers (`peers`).

pub mod analysis;
pub mod classification;
pub mod exchange;
pub mod locate;
pub mod metrics;
pub mod peers;
pub mod placing;
pub mod reading;
pub mod reporting;
pub mod router;
pub mod routing_job;
pub mod timeline;
pub mod upgrade;
pub mod wire;

use std::sync::Arc;

use pingan_platform::jobs::JobQueue;
use pingan_platform::{ApiError, ServiceContext};
use tokio::sync::OnceCell;

use crate::settings::IntakeSettings;
use crate::store::{SqlStore, Store};

/// What every use case runs on: the service's context, its store, settings and job queue.
#[derive(Debug, Clone)]
pub struct Deps {
    pub context: ServiceContext,
    pub store: Arc<dyn Store>,
    pub settings: Arc<IntakeSettings>,
    pub jobs: JobQueue,
    /// Set once the start-up data step converted the rows of the old layout (see `upgrade`).
    upgraded: Arc<OnceCell<()>>,
}

impl Deps {
    /// The use cases' dependencies over the service's database, enqueuing jobs on `jobs`.
    pub fn new(context: &ServiceContext, settings: IntakeSettings, jobs: JobQueue) -> Self {
        Self {
            store: Arc::new(SqlStore::new(context.db.clone())),
            context: context.clone(),
            settings: Arc::new(settings),
            jobs,
            upgraded: Arc::new(OnceCell::new()),
        }
    }

    /// Waits until the rows of the old layout are converted (the first caller converts them;
    /// a failure is retried by the next caller). Call it before opening a transaction.
    pub async fn ready(&self) -> Result<(), ApiError> {
        self.upgraded
            .get_or_try_init(|| async {
                upgrade::convert_legacy_rows(&self.context.db, self.store.as_ref()).await?;
                let now = self.context.clock.now();
                upgrade::file_link_cells(self.store.as_ref(), &self.settings, now).await
            })
            .await?;
        Ok(())
    }
}
