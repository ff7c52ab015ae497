//! The receiving side: an inbox that recognises redelivered events, and a handler per event
//! type whose writes commit in the same transaction as the inbox row.

use std::collections::BTreeMap;
use std::sync::Arc;

use pingan_proto::events::v1::event_sink_service_server::EventSinkService;
use pingan_proto::events::v1::{
    DeliverBatchRequest, DeliverBatchResponse, DeliverOutcome, DeliverRequest, DeliverResponse,
    EventEnvelope,
};
use tonic::{Request, Response, Status};
use tracing::Instrument;

use crate::auth::{Authenticator, Caller, Callers, Role, ServiceCall};
use crate::clock::SharedClock;
use crate::error::{ApiError, FieldViolations};
use crate::storage::{Db, Tx};
use crate::storage_rows::{Arg, On, execute, placeholders, t};
use crate::{trace_context, with_db, with_tx};

/// Any service delivers its own events (the sink checks each envelope's source against it).
pub const SINK_SERVICE_CALLS: &[ServiceCall] = &[
    ServiceCall::new(
        "pingan.events.v1.EventSinkService",
        "Deliver",
        Callers::AnyService,
    ),
    ServiceCall::new(
        "pingan.events.v1.EventSinkService",
        "DeliverBatch",
        Callers::AnyService,
    ),
];

const PURGE_INBOX: &str = "DELETE FROM pingan_inbox WHERE received_at < $1";
const INSERT_INBOX_MANY_HEAD: &str =
    "INSERT INTO pingan_inbox (event_id, event_type, source, received_at) VALUES ";
const INSERT_INBOX_MANY_TAIL: &str =
    " ON CONFLICT (event_id) DO NOTHING RETURNING event_id AS value";
/// Inbox rows per statement (4 parameters each, well under either backend's limit).
const INBOX_ROWS_PER_STATEMENT: usize = 500;
// One savepoint per event of a batch: a refused event is undone alone, the others commit.
const SAVEPOINT: &str = "SAVEPOINT pingan_event";
const ROLLBACK_TO_SAVEPOINT: &str = "ROLLBACK TO SAVEPOINT pingan_event";
const RELEASE_SAVEPOINT: &str = "RELEASE SAVEPOINT pingan_event";

/// Most events one DeliverBatch may carry.
pub const MAX_BATCH_EVENTS: usize = 1000;

/// Applies one event type inside the receiver's transaction.
#[tonic::async_trait]
pub trait EventHandler: Send + Sync {
    /// Writes the event's effect in `tx`; an error rolls back and the sender retries.
    async fn handle(&self, tx: &mut Tx, event: &EventEnvelope) -> Result<(), ApiError>;

    /// True when [`EventHandler::handle_batch`] writes a batch with set-based statements; the
    /// sink then calls it for each run of events of this type.
    fn writes_batches(&self) -> bool {
        false
    }

    /// Writes the effects of several events of this type, in order, in `tx`: one result per
    /// event, and an event answered `Err` must have left nothing written. An `Err` of the whole
    /// call (the database) undoes the batch. By default each event is handled under a savepoint
    /// of its own.
    async fn handle_batch(
        &self,
        tx: &mut Tx,
        events: &[&EventEnvelope],
    ) -> Result<Vec<Result<(), ApiError>>, ApiError> {
        handle_each(self, tx, events, "").await
    }
}

/// Handles `events` one by one, each under a savepoint of its own (a failed one is undone alone)
/// and inside its `process` span.
async fn handle_each<H: EventHandler + ?Sized>(
    handler: &H,
    tx: &mut Tx,
    events: &[&EventEnvelope],
    destination: &str,
) -> Result<Vec<Result<(), ApiError>>, ApiError> {
    let mut results = Vec::with_capacity(events.len());
    for event in events {
        savepoint(tx, SAVEPOINT).await?;
        let span = apply_span(event, destination);
        match handler.handle(tx, event).instrument(span).await {
            Ok(()) => {
                savepoint(tx, RELEASE_SAVEPOINT).await?;
                results.push(Ok(()));
            }
            Err(err) => {
                savepoint(tx, ROLLBACK_TO_SAVEPOINT).await?;
                savepoint(tx, RELEASE_SAVEPOINT).await?;
                results.push(Err(err));
            }
        }
    }
    Ok(results)
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
        self.apply_for(event, "").await
    }

    /// [`ServiceSink::apply`] for the receiving service `destination`: a batch of one.
    async fn apply_for(&self, event: &EventEnvelope, destination: &str) -> Result<bool, ApiError> {
        self.apply_batch_for(std::slice::from_ref(event), destination)
            .await?
            .pop()
            .unwrap_or_else(|| Err(ApiError::internal("the event has no outcome")))
    }

    /// Applies `events` in one transaction (one commit for all): the inbox rows in one
    /// statement, then each run of consecutive events of one type through its handler's
    /// [`EventHandler::handle_batch`] (order kept, so an aggregate's events apply in order). An
    /// event whose handler fails is undone alone (its inbox row too) and reported; the others
    /// commit. Returns one result per event, in order (`Ok(true)`: applied before). An error of
    /// the batch itself (the database) means nothing was applied.
    pub async fn apply_batch(
        &self,
        events: &[EventEnvelope],
    ) -> Result<Vec<Result<bool, ApiError>>, ApiError> {
        self.apply_batch_for(events, "").await
    }

    /// [`ServiceSink::apply_batch`] for the receiving service `destination` (named in each
    /// event's span).
    async fn apply_batch_for(
        &self,
        events: &[EventEnvelope],
        destination: &str,
    ) -> Result<Vec<Result<bool, ApiError>>, ApiError> {
        let mut results: Vec<Option<Result<bool, ApiError>>> = events
            .iter()
            .map(|event| {
                (!self.handlers.contains_key(&event.event_type)).then(|| {
                    Err(ApiError::FailedPrecondition(format!(
                        "no handler for event type {}",
                        event.event_type
                    )))
                })
            })
            .collect();
        let mut tx = self.db.begin_write().await?;
        let handled: Vec<&EventEnvelope> = events
            .iter()
            .zip(&results)
            .filter(|(_, result)| result.is_none())
            .map(|(event, _)| event)
            .collect();
        let mut fresh_ids = self.insert_inbox(&mut tx, &handled).await?;
        // Only the first of an id repeated within the batch is fresh.
        let fresh: Vec<bool> = events
            .iter()
            .zip(&results)
            .map(|(event, result)| result.is_none() && fresh_ids.remove(&event.event_id))
            .collect();
        for (result, is_fresh) in results.iter_mut().zip(&fresh) {
            if result.is_none() && !is_fresh {
                *result = Some(Ok(true));
            }
        }
        // Runs of consecutive fresh events of one type, in batch order (an aggregate's events
        // stay in order across types).
        let fresh_indices: Vec<usize> = (0..events.len()).filter(|&i| fresh[i]).collect();
        let mut failed_ids: Vec<String> = Vec::new();
        for run in fresh_indices.chunk_by(|&a, &b| events[a].event_type == events[b].event_type) {
            let event_type = &events[run[0]].event_type;
            let handler = self.handlers.get(event_type).ok_or_else(|| {
                ApiError::internal(format!("no handler for event type {event_type}"))
            })?;
            let batch: Vec<&EventEnvelope> = run.iter().map(|&i| &events[i]).collect();
            let outcomes = if handler.writes_batches() {
                // Each event's `process` span, in the trace that wrote it, open while its batch
                // applies.
                let spans: Vec<tracing::Span> = batch
                    .iter()
                    .map(|event| apply_span(event, destination))
                    .collect();
                let outcomes = handler.handle_batch(&mut tx, &batch).await;
                drop(spans);
                outcomes?
            } else {
                handle_each(handler.as_ref(), &mut tx, &batch, destination).await?
            };
            if outcomes.len() != run.len() {
                return Err(ApiError::internal(
                    "an event handler's batch lost an outcome",
                ));
            }
            for (&index, outcome) in run.iter().zip(outcomes) {
                results[index] = Some(match outcome {
                    Ok(()) => Ok(false),
                    Err(err) => {
                        failed_ids.push(events[index].event_id.clone());
                        Err(err)
                    }
                });
            }
        }
        self.forget_inbox(&mut tx, &failed_ids).await?;
        tx.commit().await?;
        Ok(results
            .into_iter()
            .map(|result| {
                result.unwrap_or_else(|| {
                    Err(ApiError::internal("an event of the batch has no outcome"))
                })
            })
            .collect())
    }

    /// Writes the inbox rows of `events` (one statement per few hundred); the ids not seen
    /// before.
    async fn insert_inbox(
        &self,
        tx: &mut Tx,
        events: &[&EventEnvelope],
    ) -> Result<std::collections::HashSet<String>, ApiError> {
        let now = self.clock.now();
        let mut fresh = std::collections::HashSet::new();
        for chunk in events.chunks(INBOX_ROWS_PER_STATEMENT) {
            let rows: Vec<String> = (0..chunk.len())
                .map(|n| format!("({})", placeholders(n * 4 + 1, 4)))
                .collect();
            let sql = format!(
                "{INSERT_INBOX_MANY_HEAD}{}{INSERT_INBOX_MANY_TAIL}",
                rows.join(", ")
            );
            let args: Vec<Arg> = chunk
                .iter()
                .flat_map(|event| {
                    [
                        t(&event.event_id),
                        t(&event.event_type),
                        t(&event.source),
                        Arg::Time(Some(now)),
                    ]
                })
                .collect();
            fresh.extend(On::Tx(&mut *tx).texts(&sql, args).await?);
        }
        Ok(fresh)
    }

    /// Removes the inbox rows of events whose effects were undone (so a redelivery applies them).
    async fn forget_inbox(&self, tx: &mut Tx, event_ids: &[String]) -> Result<(), ApiError> {
        for chunk in event_ids.chunks(INBOX_ROWS_PER_STATEMENT) {
            let sql = format!(
                "DELETE FROM pingan_inbox WHERE event_id IN ({})",
                placeholders(1, chunk.len())
            );
            execute(tx, &sql, chunk.iter().map(|id| t(id)).collect()).await?;
        }
        Ok(())
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

async fn savepoint(tx: &mut Tx, statement: &'static str) -> Result<(), ApiError> {
    with_tx!(tx, conn => sqlx::query(statement).execute(&mut *conn).await.map(|_| ()))
        .map_err(crate::storage::StorageError::from)?;
    Ok(())
}

/// The `event.apply` span of one event, continuing the trace that wrote it.
fn apply_span(event: &EventEnvelope, destination: &str) -> tracing::Span {
    let span = tracing::info_span!(
        "event.apply",
        otel.name = %format!("process {}", event.event_type),
        otel.kind = "consumer",
        messaging.system = super::MESSAGING_SYSTEM,
        messaging.operation.type = "process",
        messaging.operation.name = "process",
        messaging.destination.name = %event.event_type,
        messaging.message.id = %event.event_id,
        messaging.consumer.group.name = tracing::field::Empty,
        event_id = %event.event_id,
        event_type = %event.event_type,
        source = %event.source,
        destination = %destination,
    );
    if !destination.is_empty() {
        span.record("messaging.consumer.group.name", destination);
    }
    trace_context::continue_from_event(&span, &event.traceparent, &event.tracestate);
    span
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
        sent_by_its_source(&caller, &event, "event.source")?;

        let duplicate = sink.apply_for(&event, &request.destination).await?;
        if duplicate {
            tracing::debug!(event_id = %event.event_id, "duplicate event ignored");
        }
        Ok(DeliverResponse { duplicate })
    }

    async fn deliver_batch_checked(
        &self,
        request: Request<DeliverBatchRequest>,
    ) -> Result<DeliverBatchResponse, ApiError> {
        let caller = self.auth.caller(&request)?;
        caller.require_any(&[Role::Service, Role::Admin])?;
        let request = request.into_inner();
        let mut violations = FieldViolations::default();
        violations.require_non_empty("destination", &request.destination);
        if request.events.len() > MAX_BATCH_EVENTS {
            violations.add(
                "events",
                format!("at most {MAX_BATCH_EVENTS} events per batch"),
            );
        }
        for (n, event) in request.events.iter().enumerate() {
            violations.require_non_empty(&format!("events[{n}].event_id"), &event.event_id);
            violations.require_non_empty(&format!("events[{n}].event_type"), &event.event_type);
        }
        violations.finish()?;
        let sink = self
            .sinks
            .get(&request.destination)
            .ok_or_else(|| ApiError::NotFound(format!("event sink {}", request.destination)))?;
        // An event another service's outbox wrote is refused alone; the others are applied.
        let checks: Vec<Result<(), ApiError>> = request
            .events
            .iter()
            .enumerate()
            .map(|(n, event)| sent_by_its_source(&caller, event, &format!("events[{n}].source")))
            .collect();
        let own: Vec<EventEnvelope> = request
            .events
            .iter()
            .zip(&checks)
            .filter(|(_, check)| check.is_ok())
            .map(|(event, _)| event.clone())
            .collect();
        let mut applied = sink
            .apply_batch_for(&own, &request.destination)
            .await?
            .into_iter();
        let results: Vec<Result<bool, ApiError>> = checks
            .into_iter()
            .map(|check| match check {
                Ok(()) => applied.next().unwrap_or_else(|| {
                    Err(ApiError::internal("an event of the batch has no outcome"))
                }),
                Err(refused) => Err(refused),
            })
            .collect();
        let outcomes = request
            .events
            .iter()
            .zip(results)
            .map(|(event, result)| match result {
                Ok(duplicate) => DeliverOutcome {
                    event_id: event.event_id.clone(),
                    duplicate,
                    code: 0,
                    message: String::new(),
                },
                Err(err) => {
                    let status = Status::from(err);
                    DeliverOutcome {
                        event_id: event.event_id.clone(),
                        duplicate: false,
                        code: status.code() as i32,
                        message: status.message().to_owned(),
                    }
                }
            })
            .collect();
        Ok(DeliverBatchResponse { outcomes })
    }
}

#[tonic::async_trait]
impl EventSinkService for EventSinkRouter {
    async fn deliver_batch(
        &self,
        request: Request<DeliverBatchRequest>,
    ) -> Result<Response<DeliverBatchResponse>, Status> {
        Ok(Response::new(self.deliver_batch_checked(request).await?))
    }

    async fn deliver(
        &self,
        request: Request<DeliverRequest>,
    ) -> Result<Response<DeliverResponse>, Status> {
        Ok(Response::new(self.deliver_checked(request).await?))
    }
}

/// A service delivers only the events its own outbox wrote: the envelope's `source` is the
/// delivering service (its token's subject or its certificate's name). Refused as INVALID_ARGUMENT
/// naming `field`, so the relay dead-letters it instead of retrying it forever; an admin (the
/// re-drive tools) may deliver any.
fn sent_by_its_source(caller: &Caller, event: &EventEnvelope, field: &str) -> Result<(), ApiError> {
    if caller.roles.contains(&Role::Admin) || event.source == caller.subject {
        return Ok(());
    }
    let mut violations = FieldViolations::default();
    violations.add(
        field,
        format!(
            "event source {:?} is not the delivering service {:?}",
            event.source, caller.subject
        ),
    );
    violations.finish()
}
