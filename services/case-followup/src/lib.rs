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

/// The tonic service, ready to mount on a [`pingan_platform::server::ServiceHost`]. Also starts
/// the background owner lookup, which ends when the service is dropped.
pub fn service(context: &ServiceContext) -> CaseFollowupServiceServer<CaseFollowupApi> {
    let core = Arc::new(Core::new(context.clone()));
    lookup::spawn_retry_worker(&core);
    CaseFollowupServiceServer::new(CaseFollowupApi::new(core))
}

/// The service's inbox, with a handler for each event type routed to it.
pub fn event_sink(context: &ServiceContext) -> pingan_platform::events::ServiceSink {
    let core = Arc::new(Core::new(context.clone()));
    pingan_platform::events::ServiceSink::new(context.db.clone(), context.clock.clone()).on(
        DISPATCH_CLOSED,
        Arc::new(events::DispatchClosedHandler::new(core)),
    )
}
