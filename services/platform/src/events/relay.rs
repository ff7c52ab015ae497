//! The relay: takes due deliveries from the outbox, sends them to their destination's event
//! sink, and records the outcome (delivered, retry later with backoff, or dead letter).

use std::sync::LazyLock;
use std::time::Duration;

use futures::StreamExt;
use pingan_proto::events::v1::event_sink_service_client::EventSinkServiceClient;
use pingan_proto::events::v1::{DeliverBatchRequest, DeliverOutcome, DeliverRequest};
use prometheus::{GaugeVec, IntCounterVec, IntGaugeVec};
use tracing::Instrument;

use super::EventConfig;
use super::outbox::{DueDelivery, Outbox};
use crate::clients::Peers;
use crate::metrics::register;
use crate::service::Shutdown;
use crate::trace_context;

static ATTEMPTS: LazyLock<Option<IntCounterVec>> = LazyLock::new(|| {
    register(IntCounterVec::new(
        prometheus::Opts::new(
            "pingan_outbox_delivery_attempts_total",
            "Event deliveries attempted",
        ),
        &["service", "destination"],
    ))
});
static FAILURES: LazyLock<Option<IntCounterVec>> = LazyLock::new(|| {
    register(IntCounterVec::new(
        prometheus::Opts::new(
            "pingan_outbox_delivery_failures_total",
            "Event deliveries that failed",
        ),
        &["service", "destination"],
    ))
});
static DEPTH: LazyLock<Option<IntGaugeVec>> = LazyLock::new(|| {
    register(IntGaugeVec::new(
        prometheus::Opts::new(
            "pingan_outbox_pending",
            "Event deliveries waiting in the outbox",
        ),
        &["service"],
    ))
});
static LAG: LazyLock<Option<GaugeVec>> = LazyLock::new(|| {
    register(GaugeVec::new(
        prometheus::Opts::new(
            "pingan_outbox_oldest_pending_seconds",
            "Age of the oldest waiting delivery",
        ),
        &["service"],
    ))
});
static DEAD: LazyLock<Option<IntGaugeVec>> = LazyLock::new(|| {
    register(IntGaugeVec::new(
        prometheus::Opts::new(
            "pingan_outbox_dead_letters",
            "Deliveries that exhausted their attempts",
        ),
        &["service"],
    ))
});

/// What one round of the relay did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RelayRound {
    /// Deliveries that succeeded.
    pub delivered: usize,
    /// Deliveries that failed and will be retried.
    pub retried: usize,
    /// Deliveries that became dead letters.
    pub dead: usize,
}

impl RelayRound {
    fn add(&mut self, other: RelayRound) {
        self.delivered += other.delivered;
        self.retried += other.retried;
        self.dead += other.dead;
    }
}

/// How many single deliveries are in flight at once (receivers without DeliverBatch).
const SEND_CONCURRENCY: usize = 32;

/// How many batches of one round are in flight at once.
const BATCH_CONCURRENCY: usize = 4;

/// Most events in one DeliverBatch: the receiver holds its write lock for one batch, so this
/// bounds how long its own writers wait behind a delivery.
const BATCH_EVENTS: usize = 128;

/// Most payload bytes in one DeliverBatch (well under the 4 MiB message limit).
const BATCH_BYTES: usize = 1024 * 1024;

/// The round's deliveries cut into batches of one destination each, outbox order kept.
fn batches(deliveries: Vec<DueDelivery>) -> Vec<Vec<DueDelivery>> {
    let mut by_destination = std::collections::BTreeMap::<String, Vec<Vec<DueDelivery>>>::new();
    for delivery in deliveries {
        let batches = by_destination
            .entry(delivery.destination.clone())
            .or_default();
        let full = batches.last().is_none_or(|batch| {
            batch.len() >= BATCH_EVENTS
                || batch.iter().map(|d| d.payload.len()).sum::<usize>() + delivery.payload.len()
                    > BATCH_BYTES
        });
        if full {
            batches.push(Vec::new());
        }
        if let Some(batch) = batches.last_mut() {
            batch.push(delivery);
        }
    }
    by_destination.into_values().flatten().collect()
}

/// How often the running relay refreshes its gauges.
const GAUGE_INTERVAL: Duration = Duration::from_secs(1);

/// Delivers one service's outbox.
#[derive(Debug, Clone)]
pub struct Relay {
    outbox: Outbox,
    peers: Peers,
    config: EventConfig,
}

impl Relay {
    /// A relay for `outbox`, sending through `peers`.
    pub fn new(outbox: Outbox, peers: Peers, config: EventConfig) -> Self {
        Self {
            outbox,
            peers,
            config,
        }
    }

    /// Sends every delivery due now, once; returns what happened.
    pub async fn run_once(&self) -> RelayRound {
        let clock = self.outbox.clock().clone();
        let now = clock.now();
        let due = match self.outbox.due(now, self.config.batch).await {
            Ok(due) => due,
            Err(err) => {
                tracing::warn!(service = %self.outbox.source(), error = %err, "outbox unavailable");
                return RelayRound::default();
            }
        };
        let lease_until = now
            + chrono::Duration::from_std(self.config.lease)
                .unwrap_or(chrono::Duration::seconds(30));
        let leased = match self.outbox.lease_all(due, lease_until, now).await {
            Ok(leased) => leased,
            Err(err) => {
                tracing::warn!(error = %err, "cannot lease deliveries");
                return RelayRound::default();
            }
        };
        // Only the head of each (destination, aggregate) is due, so sending in parallel keeps order.
        let sent: Vec<Vec<(DueDelivery, Result<(), SendError>)>> =
            futures::stream::iter(batches(leased))
                .map(|batch| self.send_batch(batch))
                .buffer_unordered(BATCH_CONCURRENCY)
                .collect()
                .await;
        let sent: Vec<(DueDelivery, Result<(), SendError>)> = sent.into_iter().flatten().collect();
        let mut round = RelayRound::default();
        let mut delivered = Vec::with_capacity(sent.len());
        for (delivery, result) in sent {
            match result {
                Ok(()) => delivered.push(delivery),
                Err(error) => round.add(self.record_failure(&delivery, error).await),
            }
        }
        let now = self.outbox.clock().now();
        match self.outbox.mark_all_delivered(&delivered, now).await {
            Ok(()) => round.delivered += delivered.len(),
            // Delivered but not recorded: they go again after the lease; the inbox absorbs them.
            Err(err) => {
                tracing::warn!(error = %err, count = delivered.len(), "deliveries not recorded")
            }
        }
        round
    }

    /// Runs rounds until the deliveries due now are exhausted (successive events of one
    /// aggregate become due one after another).
    pub async fn drain(&self) -> RelayRound {
        let mut total = RelayRound::default();
        loop {
            let round = self.run_once().await;
            total.add(round);
            if round.delivered == 0 {
                return total;
            }
        }
    }

    /// Sends `batch` (one destination) in one DeliverBatch inside an `event.send_batch` span
    /// (each event carries its own trace context to the receiver); falls back to one Deliver per
    /// event when the receiver does not know DeliverBatch or refuses the batch as a whole.
    async fn send_batch(
        &self,
        batch: Vec<DueDelivery>,
    ) -> Vec<(DueDelivery, Result<(), SendError>)> {
        let Some(destination) = batch.first().map(|d| d.destination.clone()) else {
            return Vec::new();
        };
        let service = self.outbox.source();
        if let Some(attempts) = ATTEMPTS.as_ref() {
            attempts
                .with_label_values(&[service, &destination])
                .inc_by(batch.len() as u64);
        }
        let span = tracing::info_span!(
            "event.send_batch",
            otel.name = %format!("send {destination}"),
            otel.kind = "client",
            messaging.system = super::MESSAGING_SYSTEM,
            messaging.operation.type = "send",
            messaging.operation.name = "send",
            messaging.destination.name = %destination,
            messaging.batch.message_count = i64::try_from(batch.len()).unwrap_or(i64::MAX),
            destination = %destination,
            events = batch.len(),
        );
        // Each event's own `send <type>` span, in the trace that wrote it, open while the batch flies.
        let event_spans: Vec<tracing::Span> = batch.iter().map(send_span).collect();
        let answer = self
            .deliver_batch(&destination, &batch)
            .instrument(span)
            .await;
        drop(event_spans);
        match answer {
            Ok(outcomes) if outcomes.len() == batch.len() => batch
                .into_iter()
                .zip(outcomes)
                .map(|(delivery, outcome)| {
                    let result = if outcome.code == 0 {
                        Ok(())
                    } else {
                        let code = tonic::Code::from_i32(outcome.code);
                        Err(SendError {
                            permanent: code == tonic::Code::InvalidArgument,
                            reason: format!("{code:?}: {}", outcome.message),
                        })
                    };
                    (delivery, result)
                })
                .collect(),
            Ok(outcomes) => {
                let reason = format!(
                    "the receiver answered {} outcomes for {} events",
                    outcomes.len(),
                    batch.len()
                );
                batch
                    .into_iter()
                    .map(|delivery| (delivery, Err(SendError::retry(reason.clone()))))
                    .collect()
            }
            Err(BatchError::OneByOne) => {
                futures::stream::iter(batch)
                    .map(|delivery| async move {
                        let result = self.send_traced(&delivery).await;
                        (delivery, result)
                    })
                    .buffer_unordered(SEND_CONCURRENCY)
                    .collect()
                    .await
            }
            Err(BatchError::Failed(reason)) => batch
                .into_iter()
                .map(|delivery| (delivery, Err(SendError::retry(reason.clone()))))
                .collect(),
        }
    }

    async fn deliver_batch(
        &self,
        destination: &str,
        batch: &[DueDelivery],
    ) -> Result<Vec<DeliverOutcome>, BatchError> {
        let channel = self
            .peers
            .channel(destination)
            .map_err(|err| BatchError::Failed(err.to_string()))?;
        let mut request = tonic::Request::new(DeliverBatchRequest {
            destination: destination.to_owned(),
            events: batch.iter().map(|d| self.outbox.envelope(d)).collect(),
        });
        request.set_timeout(self.config.delivery_timeout);
        let mut client = EventSinkServiceClient::new(channel);
        let call = client.deliver_batch(request);
        match tokio::time::timeout(self.config.delivery_timeout, call).await {
            Ok(Ok(response)) => Ok(response.into_inner().outcomes),
            // An older receiver, or one event the batch as a whole was refused for: each alone.
            Ok(Err(status))
                if matches!(
                    status.code(),
                    tonic::Code::Unimplemented | tonic::Code::InvalidArgument
                ) =>
            {
                Err(BatchError::OneByOne)
            }
            Ok(Err(status)) => Err(BatchError::Failed(format!(
                "{:?}: {}",
                status.code(),
                status.message()
            ))),
            Err(_) => Err(BatchError::Failed(format!(
                "no answer within {:?}",
                self.config.delivery_timeout
            ))),
        }
    }

    /// Sends one delivery inside its `event.send` span, continuing the trace that wrote it.
    async fn send_traced(&self, delivery: &DueDelivery) -> Result<(), SendError> {
        let service = self.outbox.source();
        let span = send_span(delivery);
        if let Some(attempts) = ATTEMPTS.as_ref() {
            attempts
                .with_label_values(&[service, &delivery.destination])
                .inc();
        }
        self.send(delivery).instrument(span).await
    }

    /// Records a failed send: retried later with backoff, or a dead letter.
    async fn record_failure(&self, delivery: &DueDelivery, error: SendError) -> RelayRound {
        let service = self.outbox.source().to_owned();
        let now = self.outbox.clock().now();
        if let Some(failures) = FAILURES.as_ref() {
            failures
                .with_label_values(&[&service, &delivery.destination])
                .inc();
        }
        let attempts = delivery.attempts.saturating_add(1);
        let dead = error.permanent
            || u32::try_from(attempts).unwrap_or(u32::MAX) >= self.config.max_attempts;
        let error = error.reason;
        let wait = self
            .config
            .backoff(u32::try_from(attempts).unwrap_or(u32::MAX));
        let next = now + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::seconds(1));
        if dead {
            tracing::error!(
                service = %service,
                event_id = %delivery.event_id,
                event_type = %delivery.event_type,
                destination = %delivery.destination,
                attempts,
                error = %error,
                "event dead-lettered"
            );
        } else {
            tracing::warn!(
                event_id = %delivery.event_id,
                destination = %delivery.destination,
                attempts,
                retry_in = ?wait,
                error = %error,
                "event delivery failed"
            );
        }
        if let Err(err) = self
            .outbox
            .mark_failed(delivery, dead, attempts, next, &error, now)
            .await
        {
            tracing::warn!(error = %err, "delivery failure not recorded");
        }
        if dead {
            RelayRound {
                dead: 1,
                ..RelayRound::default()
            }
        } else {
            RelayRound {
                retried: 1,
                ..RelayRound::default()
            }
        }
    }

    async fn send(&self, delivery: &DueDelivery) -> Result<(), SendError> {
        let channel = self
            .peers
            .channel(&delivery.destination)
            .map_err(|err| SendError::retry(err.to_string()))?;
        let mut request = tonic::Request::new(DeliverRequest {
            event: Some(self.outbox.envelope(delivery)),
            destination: delivery.destination.clone(),
        });
        request.set_timeout(self.config.delivery_timeout);
        let mut client = EventSinkServiceClient::new(channel);
        let call = client.deliver(request);
        match tokio::time::timeout(self.config.delivery_timeout, call).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(status)) => Err(SendError {
                // The receiver cannot read this event: another attempt would fail the same way.
                permanent: status.code() == tonic::Code::InvalidArgument,
                reason: format!("{:?}: {}", status.code(), status.message()),
            }),
            Err(_) => Err(SendError::retry(format!(
                "no answer within {:?}",
                self.config.delivery_timeout
            ))),
        }
    }

    /// Publishes the outbox gauges.
    pub async fn publish_metrics(&self) {
        let Ok(stats) = self.outbox.gauges().await else {
            return;
        };
        let service = self.outbox.source();
        if let Some(depth) = DEPTH.as_ref() {
            depth.with_label_values(&[service]).set(stats.pending);
        }
        if let Some(lag) = LAG.as_ref() {
            lag.with_label_values(&[service])
                .set(stats.oldest_pending_seconds);
        }
        if let Some(dead) = DEAD.as_ref() {
            dead.with_label_values(&[service]).set(stats.dead);
        }
    }

    /// Runs until `shutdown`: a round whenever woken or every poll interval, the gauges after
    /// each, and housekeeping of delivered events now and then. On shutdown it claims no new
    /// delivery, finishes the round in hand (its leased deliveries are sent and recorded) and
    /// returns, so a restart finds no delivery stuck behind a lease.
    pub async fn run(self, shutdown: Shutdown) {
        let wake = self.outbox.wake_handle();
        let mut last_purge = tokio::time::Instant::now();
        let mut last_gauges = tokio::time::Instant::now() - GAUGE_INTERVAL;
        while !shutdown.is_signalled() {
            self.drain_until(&shutdown).await;
            // Every commit wakes the relay: the gauges are refreshed at most once a second.
            if last_gauges.elapsed() >= GAUGE_INTERVAL {
                self.publish_metrics().await;
                last_gauges = tokio::time::Instant::now();
            }
            if last_purge.elapsed() > Duration::from_secs(600) {
                let cutoff = self.outbox.clock().now()
                    - chrono::Duration::from_std(self.config.retention)
                        .unwrap_or(chrono::Duration::days(7));
                match self.outbox.purge_delivered(cutoff).await {
                    Ok(purged) if purged > 0 => tracing::info!(purged, "delivered events purged"),
                    Ok(_) => {}
                    Err(err) => tracing::warn!(error = %err, "outbox purge failed"),
                }
                last_purge = tokio::time::Instant::now();
            }
            tokio::select! {
                () = shutdown.signalled() => {}
                _ = tokio::time::timeout(self.config.poll_interval, wake.notified()) => {}
            }
        }
        tracing::debug!(service = %self.outbox.source(), "relay stopped");
    }

    /// Like [`Relay::drain`], but takes no new round once `shutdown` fires.
    async fn drain_until(&self, shutdown: &Shutdown) -> RelayRound {
        let mut total = RelayRound::default();
        while !shutdown.is_signalled() {
            let round = self.run_once().await;
            total.add(round);
            if round.delivered == 0 {
                break;
            }
        }
        total
    }
}

/// Why a batch got no per-event answer.
#[derive(Debug)]
enum BatchError {
    /// Send the events one by one instead.
    OneByOne,
    /// Every event of the batch failed with this reason (retried later).
    Failed(String),
}

/// Why a delivery failed, and whether trying again could help.
#[derive(Debug)]
struct SendError {
    /// The receiver refused the event itself (INVALID_ARGUMENT): a dead letter at once.
    permanent: bool,
    reason: String,
}

impl SendError {
    fn retry(reason: String) -> Self {
        Self {
            permanent: false,
            reason,
        }
    }
}

/// The `event.send` span of one delivery, continuing the trace that wrote the event.
fn send_span(delivery: &DueDelivery) -> tracing::Span {
    let span = tracing::info_span!(
        "event.send",
        otel.name = %format!("send {}", delivery.event_type),
        otel.kind = "producer",
        messaging.system = super::MESSAGING_SYSTEM,
        messaging.operation.type = "send",
        messaging.operation.name = "send",
        messaging.destination.name = %delivery.event_type,
        messaging.message.id = %delivery.event_id,
        messaging.consumer.group.name = %delivery.destination,
        event_id = %delivery.event_id,
        event_type = %delivery.event_type,
        destination = %delivery.destination,
    );
    trace_context::continue_from_event(&span, &delivery.traceparent, &delivery.tracestate);
    span
}
