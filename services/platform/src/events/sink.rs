//! The receiving side: an inbox that recognises redelivered events, and a handler per event
//! type whose writes commit in the same transaction as the inbox row.

use std::collections::BTreeMap;
use std::sync::Arc;

use pingan_proto::events::v1::event_sink_service_server::EventSinkService;
use pingan_proto::events::v1::{DeliverRequest, DeliverResponse, EventEnvelope};
use tonic::{Request, Response, Status};
use tracing::Instrument;

use crate::auth::{Authenticator, Role};
use crate::clock::SharedClock;
use crate::error::{ApiError, FieldViolations};
use crate::storage::{Db, Tx};
use crate::{trace_context, with_db, with_tx};

const INSERT_INBOX: &str = "INSERT INTO pingan_inbox (event_id, event_type, source, received_at) \
    VALUES ($1, $2, $3, $4) ON CONFLICT (event_id) DO NOTHING";
const PURGE_INBOX: &str = "DELETE FROM pingan_inbox WHERE received_at < $1";

/// Applies one event type inside the receiver's transaction.
#[tonic::async_trait]
pub trait EventHandler: Send + Sync {
    /// Writes the event's effect in `tx`; an error rolls back and the sender retries.
    async fn handle(&self, tx: &mut Tx, event: &EventEnvelope) -> Result<(), ApiError>;
}

/// One service's inbox and handlers.
#[derive(Clone)]
pub struct ServiceSink {
    db: Db,
    clock: SharedClock,
    handlers: BTreeMap<String, Arc<dyn EventHandler>>,
}

impl std::fmt::Debug for ServiceSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceSink")
            .field("event_types", &self.handlers.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl ServiceSink {
    /// An inbox in `db` with no handlers yet.
    pub fn new(db: Db, clock: SharedClock) -> Self {
        Self {
            db,
            clock,
            handlers: BTreeMap::new(),
        }
    }

    /// Handles `event_type` with `handler`.
    pub fn on(mut self, event_type: &str, handler: Arc<dyn EventHandler>) -> Self {
        self.handlers.insert(event_type.to_owned(), handler);
        self
    }

    /// The event types this sink handles (its subscriptions).
    pub fn event_types(&self) -> impl Iterator<Item = &str> {
        self.handlers.keys().map(String::as_str)
    }

    /// The database the inbox lives in.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Applies `event` once: returns `true` when it had been applied before (no second effect).
    pub async fn apply(&self, event: &EventEnvelope) -> Result<bool, ApiError> {
        let handler = self.handlers.get(&event.event_type).ok_or_else(|| {
            ApiError::FailedPrecondition(format!("no handler for event type {}", event.event_type))
        })?;
        let mut tx = self.db.begin_write().await?;
        let inserted = with_tx!(&mut tx, conn => sqlx::query(INSERT_INBOX)
            .bind(&event.event_id)
            .bind(&event.event_type)
            .bind(&event.source)
            .bind(self.clock.now())
            .execute(&mut *conn)
            .await
            .map(|r| r.rows_affected()))
        .map_err(crate::storage::StorageError::from)?;
        if inserted == 0 {
            tx.rollback().await?;
            return Ok(true);
        }
        match handler.handle(&mut tx, event).await {
            Ok(()) => {
                tx.commit().await?;
                Ok(false)
            }
            Err(err) => {
                let _ = tx.rollback().await;
                Err(err)
            }
        }
    }

    /// Forgets received event ids older than `before` (past any redelivery).
    pub async fn purge(&self, before: chrono::DateTime<chrono::Utc>) -> Result<u64, ApiError> {
        Ok(with_db!(&self.db, pool => sqlx::query(PURGE_INBOX)
            .bind(before)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))
        .map_err(crate::storage::StorageError::from)?)
    }
}

/// `pingan.events.v1.EventSinkService` for every service hosted by this process, routed by
/// the request's destination.
#[derive(Clone, Debug)]
pub struct EventSinkRouter {
    sinks: Arc<BTreeMap<String, ServiceSink>>,
    auth: Authenticator,
}

impl EventSinkRouter {
    /// A router over `sinks` (service short name → sink); only services may deliver.
    pub fn new(sinks: BTreeMap<String, ServiceSink>, auth: Authenticator) -> Self {
        Self {
            sinks: Arc::new(sinks),
            auth,
        }
    }

    /// The databases of the sinks (what the router depends on for health).
    pub fn databases(&self) -> Vec<Db> {
        self.sinks.values().map(|sink| sink.db.clone()).collect()
    }

    async fn deliver_checked(
        &self,
        request: Request<DeliverRequest>,
    ) -> Result<DeliverResponse, ApiError> {
        let caller = self.auth.caller(&request)?;
        caller.require_any(&[Role::Service, Role::Admin])?;
        let request = request.into_inner();
        let mut violations = FieldViolations::default();
        violations.require_non_empty("destination", &request.destination);
        let event = request.event.unwrap_or_default();
        violations.require_non_empty("event.event_id", &event.event_id);
        violations.require_non_empty("event.event_type", &event.event_type);
        violations.finish()?;
        let sink = self
            .sinks
            .get(&request.destination)
            .ok_or_else(|| ApiError::NotFound(format!("event sink {}", request.destination)))?;

        let span = tracing::info_span!(
            "event.apply",
            otel.name = %format!("apply {}", event.event_type),
            event_id = %event.event_id,
            event_type = %event.event_type,
            source = %event.source,
            destination = %request.destination,
        );
        trace_context::continue_from_event(&span, &event.traceparent, &event.tracestate);
        let duplicate = sink.apply(&event).instrument(span).await?;
        if duplicate {
            tracing::debug!(event_id = %event.event_id, "duplicate event ignored");
        }
        Ok(DeliverResponse { duplicate })
    }
}

#[tonic::async_trait]
impl EventSinkService for EventSinkRouter {
    async fn deliver(
        &self,
        request: Request<DeliverRequest>,
    ) -> Result<Response<DeliverResponse>, Status> {
        Ok(Response::new(self.deliver_checked(request).await?))
    }
}
