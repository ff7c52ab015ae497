//! Use cases of case follow-up: one module per family. Each runs its transaction (through the
//! request log for idempotent repeats), writes through the [`Store`], enqueues its events and
//! audit records, and returns the response the handler sends.

pub mod lookup;
pub mod lookup_job;
mod lostfound;
mod lostfound_marks;
mod mediation;
pub mod report;
mod revisits;
mod schedule;
mod stats;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use pingan_platform::audit::Audit;
use pingan_platform::auth::Caller;
use pingan_platform::jobs::JobQueue;
use pingan_platform::storage::Tx;
use pingan_platform::{ApiError, ServiceContext};

use crate::config::FollowupConfig;
use crate::domain::policy::RevisitPolicy;
use crate::store::{SqlStore, Store};

pub use lookup::LookupResult;

use crate::domain::access::sees_phones;

/// What the handlers, the event handler and the background lookup share.
#[derive(Debug)]
pub struct Core {
    /// The service context (database, peers, keys, clock, outbox, request log).
    pub context: ServiceContext,
    /// Storage.
    pub store: Arc<dyn Store>,
    /// The revisit policy.
    pub policy: RevisitPolicy,
    /// Settings.
    pub config: FollowupConfig,
    /// The durable jobs (owner lookups).
    pub jobs: JobQueue,
}

impl Core {
    /// The core over `context`, with the default settings (the shipped revisit policy).
    pub fn new(context: ServiceContext) -> Self {
        Self::with_config(context, FollowupConfig::default())
    }

    /// The core with `config`; an unusable policy file schedules no revisits (and says so).
    pub fn with_config(context: ServiceContext, config: FollowupConfig) -> Self {
        let policy = match &config.revisit_policy {
            None => RevisitPolicy::shipped().map_err(|err| err.to_string()),
            Some(path) => std::fs::read_to_string(path)
                .map_err(|err| format!("{}: {err}", path.display()))
                .and_then(|json| RevisitPolicy::parse(&json).map_err(|err| err.to_string())),
        };
        let policy = policy.unwrap_or_else(|err| {
            tracing::error!(error = %err, "revisit policy unusable: no revisits scheduled");
            RevisitPolicy::empty()
        });
        let mut core = Self::with_policy(context, policy);
        core.config = config;
        core
    }

    /// The core with a given policy (tests, other bureaus' policy files).
    pub fn with_policy(context: ServiceContext, policy: RevisitPolicy) -> Self {
        Self {
            store: Arc::new(SqlStore::new(context.db.clone())),
            jobs: lookup_job::queue(&context),
            context,
            policy,
            config: FollowupConfig::default(),
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

    /// Enqueues an audit record in `tx` (routed to complaints-audit).
    pub async fn audit(&self, tx: &mut Tx, audit: Audit) -> Result<(), ApiError> {
        pingan_platform::audit::record(&self.context, tx, crate::SHORT_NAME, &audit).await
    }

    /// The clear value of `sealed` for callers allowed to see phones.
    pub(crate) fn phone_for(
        &self,
        caller: &Caller,
        sealed: Option<&[u8]>,
    ) -> Result<Option<String>, ApiError> {
        match sealed {
            Some(sealed) if sees_phones(caller) => Ok(Some(self.open(sealed)?)),
            _ => Ok(None),
        }
    }
}
