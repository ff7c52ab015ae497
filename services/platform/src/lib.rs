//! What every Pingan service shares: configuration, telemetry, the gRPC server builder, health,
//! errors, storage (Postgres or SQLite), Redis, metrics, and the contract between a service and
//! its host ([`service`]). Nothing service-specific lives here.

pub mod audit;
pub mod audit_checkpoint;
pub mod audit_witness;
pub mod auth;
pub mod clear_reads;
pub mod clients;
pub mod clock;
pub mod config;
pub mod db_spans;
pub mod error;
pub mod events;
pub mod health;
pub mod idempotency;
pub mod ids;
pub mod jobs;
pub mod limits;
pub mod metrics;
pub mod phone;
pub mod pii;
pub mod redis_sentinel;
pub mod redis_store;
pub mod report;
pub mod server;
pub mod service;
pub mod sqlite_write_queue;
pub mod storage;
pub mod storage_rows;
pub mod telemetry;
pub mod testing;
pub mod time;
pub mod tls;
pub mod trace_context;

pub use error::{ApiError, FieldViolations};
pub use storage::{Backend, Db, Migrations, StorageError};

/// What a service needs from the process that hosts it.
#[derive(Debug, Clone)]
pub struct ServiceContext {
    /// The service's own database, migrated.
    pub db: Db,
    /// Redis, for services that keep live state there (absent in the embedded shape).
    pub redis: Option<redis_store::RedisStore>,
    /// Channels to the other services.
    pub peers: clients::Peers,
    /// Checks the bearer token of every call.
    pub auth: auth::Authenticator,
    /// Keys that hash and encrypt phone and ID numbers.
    pub pii: pii::PiiKeys,
    /// The time (a manual clock in tests).
    pub clock: clock::SharedClock,
    /// Events leave through here, in the business transaction.
    pub outbox: events::Outbox,
    /// First responses by request id (idempotent mutations).
    pub requests: idempotency::RequestLog,
}
