//! The case-followup service: mediations, revisits and lost-and-found.
//!
//! Layout: `grpc` (handlers: decode, validate, authorize, map errors) → `domain` (rules, no I/O)
//! → `store` (sqlx, both backends) → `events` (outbox producers and the DispatchClosed handler),
//! `lookup` (owner lookup in grid-registry, retried in the background while it is unreachable).

pub mod domain;
pub mod events;
pub mod grpc;
pub mod lookup;
mod metrics;
pub mod store;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use pingan_platform::service::{
    BuildError, GrpcService, Service, ServiceConfig, ServiceParts, Worker,
};
use pingan_platform::{ApiError, Migrations, ServiceContext};
use pingan_proto::followup::v1::case_followup_service_server::CaseFollowupServiceServer;

pub use grpc::CaseFollowupApi;

use crate::domain::policy::RevisitPolicy;
use crate::store::Store;

/// Short name used for configuration, peers, data files and metrics.
pub const SHORT_NAME: &str = "case-followup";

/// Event type of a closed dispatch (the revisit scheduler's input).
pub const DISPATCH_CLOSED: &str = "pingan.dispatch.v1.DispatchClosed";

static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");
static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// This service's schema on both backends.
pub static MIGRATIONS: Migrations = Migrations {
    postgres: &POSTGRES_MIGRATIONS,
    sqlite: &SQLITE_MIGRATIONS,
};

/// What the handlers, the event handler and the background lookup share.
#[derive(Debug)]
pub struct Core {
    /// The service context (database, peers, keys, clock, outbox, request log).
    pub context: ServiceContext,
    /// Storage.
    pub store: Store,
    /// The revisit policy.
    pub policy: RevisitPolicy,
}

impl Core {
    /// The core over `context`, with the shipped revisit policy.
    pub fn new(context: ServiceContext) -> Self {
        let policy = RevisitPolicy::shipped().unwrap_or_else(|err| {
            tracing::error!(error = %err, "shipped revisit policy unusable: no revisits scheduled");
            RevisitPolicy::empty()
        });
        Self::with_policy(context, policy)
    }

    /// The core with a given policy (tests, other bureaus' policy files).
    pub fn with_policy(context: ServiceContext, policy: RevisitPolicy) -> Self {
        Self {
            store: Store::new(context.db.clone()),
            context,
            policy,
        }
    }

    /// Now, on the service clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.context.clock.now()
    }

    /// Encrypts personal data for storage.
    pub fn seal(&self, clear: &str) -> Result<Vec<u8>, ApiError> {
        self.context.pii.encrypt(clear).map_err(ApiError::internal)
    }

    /// Decrypts stored personal data.
    pub fn open(&self, sealed: &[u8]) -> Result<String, ApiError> {
        self.context.pii.decrypt(sealed).map_err(ApiError::internal)
    }

    /// The encrypted phone of party `index` from a mediation's encrypted phone list.
    pub fn party_phone(
        &self,
        phones_enc: Option<&[u8]>,
        index: usize,
    ) -> Result<Option<Vec<u8>>, ApiError> {
        let Some(sealed) = phones_enc else {
            return Ok(None);
        };
        let phones = self.open(sealed)?;
        match phones.split('\n').nth(index) {
            Some(phone) if !phone.is_empty() => Ok(Some(self.seal(phone)?)),
            _ => Ok(None),
        }
    }
}

/// The tonic service, ready to mount on a [`pingan_platform::server::ServiceHost`]; the
/// background owner lookup is a separate [`lookup_worker`] the host runs.
pub fn service(context: &ServiceContext) -> CaseFollowupServiceServer<CaseFollowupApi> {
    CaseFollowupServiceServer::new(CaseFollowupApi::new(Arc::new(Core::new(context.clone()))))
}

/// Retries pending owner lookups every [`lookup::RETRY_POLL`] while the host runs.
pub fn lookup_worker(core: Arc<Core>) -> Worker {
    Worker::every(
        "case-followup-owner-lookup",
        lookup::RETRY_POLL,
        move || {
            let core = core.clone();
            async move {
                if let Err(err) = core.retry_pending_lookups().await {
                    tracing::warn!(error = %err, "retrying pending owner lookups failed");
                }
            }
        },
    )
}

/// The service's inbox, with a handler for each event type routed to it.
pub fn event_sink(context: &ServiceContext) -> pingan_platform::events::ServiceSink {
    let core = Arc::new(Core::new(context.clone()));
    pingan_platform::events::ServiceSink::new(context.db.clone(), context.clock.clone()).on(
        DISPATCH_CLOSED,
        Arc::new(events::DispatchClosedHandler::new(core)),
    )
}

/// case-followup as the host sees it.
#[derive(Debug, Clone, Copy)]
pub struct CaseFollowupService;

/// The entry of case-followup in the host's table.
pub static SERVICE: CaseFollowupService = CaseFollowupService;

impl Service for CaseFollowupService {
    fn short_name(&self) -> &'static str {
        SHORT_NAME
    }

    fn grpc_name(&self) -> &'static str {
        <CaseFollowupServiceServer<CaseFollowupApi> as tonic::server::NamedService>::NAME
    }

    fn migrations(&self) -> &'static Migrations {
        &MIGRATIONS
    }

    fn build(
        &self,
        context: &ServiceContext,
        _config: &ServiceConfig,
    ) -> Result<ServiceParts, BuildError> {
        let core = Arc::new(Core::new(context.clone()));
        Ok(ServiceParts::new(
            GrpcService::new(CaseFollowupServiceServer::new(CaseFollowupApi::new(
                core.clone(),
            ))),
            event_sink(context),
        )
        .with_worker(lookup_worker(core)))
    }
}
