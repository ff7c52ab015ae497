//! Use cases: filing and investigating complaints, reading them, evidence fetches, and the
//! audit log. Each mutation runs in the caller's transaction, records itself in the audit log
//! and emits its events through the outbox.

pub mod access;
pub mod anchor;
pub mod audit_log;
pub mod clear_reads;
pub mod complaints;
pub mod evidence;
pub mod fetch_job;
pub mod investigation;
pub mod metrics;
pub mod queries;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use pingan_platform::ApiError;
use pingan_platform::ServiceContext;
use pingan_platform::audit::Audit;
use pingan_platform::jobs::JobQueue;
use pingan_platform::storage::Tx;
use pingan_platform::time::WorkCalendar;
use pingan_proto::common::v1::Actor;

use crate::domain::complaint::RuleError;
use crate::settings::Settings;
use crate::store::{SqlStore, Store};

/// The service's shared state.
#[derive(Debug, Clone)]
pub struct Core {
    /// Storage, peers, auth, keys, clock, outbox, request log.
    pub context: ServiceContext,
    /// Deadlines, thresholds, retention.
    pub settings: Settings,
    /// The working days deadlines count: the official calendar and the bureau's own holidays.
    pub calendar: WorkCalendar,
    /// Complaints, evidence and the audit chain.
    pub store: Arc<dyn Store>,
    /// The service's durable jobs (timeline fetches), written in the business transaction.
    pub jobs: JobQueue,
    /// The checkpoint key, the file sink and the newest checkpoint published.
    pub anchor: Arc<anchor::Anchor>,
}

impl Core {
    /// The service over `context`, storing in the context's database.
    pub fn new(context: ServiceContext, settings: Settings) -> Self {
        let settings = settings.normalised();
        let store = Arc::new(SqlStore::new(context.db.clone()));
        let jobs = fetch_job::queue(&context);
        let anchor = Arc::new(anchor::Anchor::from_settings(&settings));
        Self {
            anchor,
            calendar: settings.calendar(),
            context,
            settings,
            store,
            jobs,
        }
    }

    /// Now, truncated to microseconds (what both backends store exactly).
    pub fn now(&self) -> DateTime<Utc> {
        crate::domain::audit::to_micros(self.context.clock.now())
    }
}

/// A rule violation as the client sees it.
pub fn rule_error(err: RuleError) -> ApiError {
    ApiError::FailedPrecondition(err.to_string())
}

/// An action of this service on a complaint, to record with [`audit_own`].
pub fn own_action(actor: &Actor, action: &str, complaint_id: &str, station_id: &str) -> Audit {
    Audit::new(
        actor.clone(),
        format!("{}.{action}", crate::SHORT_NAME),
        "complaint",
        complaint_id,
    )
    .station(station_id)
}

/// Records this service's own action in the audit log, in the business transaction: built by
/// `platform::audit` like every other service's record, appended through the one path.
pub async fn audit_own(core: &Core, tx: &mut Tx, audit: Audit) -> Result<(), ApiError> {
    let record = audit.to_record(&core.context, crate::SHORT_NAME);
    let entry_id = uuid::Uuid::now_v7().to_string();
    let now = core.now();
    audit_log::append_record(core, tx, &entry_id, &record, crate::SHORT_NAME, now).await?;
    Ok(())
}
