//! The events backbone: a transactional outbox in the sender's database, a relay that delivers
//! each event at least once to every subscriber (retries with backoff and jitter, per-aggregate
//! order, dead letters), and an inbox on the receiver that makes redelivery harmless.
//!
//! Sender: `outbox.enqueue(&mut tx, aggregate_id, &message)` in the business transaction, then
//! `outbox.commit(tx)`. Receiver: a [`ServiceSink`] with a handler per event type, mounted through
//! [`EventSinkRouter`]. Subscriptions (event type → receiving services) are data, declared by the
//! receivers and known to every sender.

mod admin;
mod outbox;
mod relay;
mod sink;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use clap::Args;

pub use admin::EventAdmin;
pub use outbox::{DeadLetterRow, DueDelivery, Outbox, OutboxStats};
pub use relay::{Relay, RelayRound};
pub use sink::{EventHandler, EventSinkRouter, SINK_SERVICE_CALLS, ServiceSink};

/// `messaging.system` of the event spans (OpenTelemetry messaging conventions): the outbox relay
/// and the receivers' inboxes, over `pingan.events.v1`.
pub const MESSAGING_SYSTEM: &str = "pingan_outbox";

/// Which services receive which event types.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subscriptions {
    routes: BTreeMap<String, BTreeSet<String>>,
}

impl Subscriptions {
    /// Adds `destination` as a subscriber of every type in `event_types`.
    pub fn subscribe<'a>(
        &mut self,
        destination: &str,
        event_types: impl IntoIterator<Item = &'a str>,
    ) -> &mut Self {
        for event_type in event_types {
            self.routes
                .entry(event_type.to_owned())
                .or_default()
                .insert(destination.to_owned());
        }
        self
    }

    /// The services that receive `event_type`.
    pub fn destinations(&self, event_type: &str) -> impl Iterator<Item = &str> {
        self.routes
            .get(event_type)
            .into_iter()
            .flat_map(|set| set.iter().map(String::as_str))
    }
}

/// Delivery settings.
#[derive(Debug, Clone, Args)]
pub struct EventConfig {
    /// Attempts before an event becomes a dead letter.
    #[arg(
        long = "events-max-attempts",
        env = "PINGAN_EVENTS_MAX_ATTEMPTS",
        default_value_t = 12
    )]
    pub max_attempts: u32,
    /// Wait before the first retry; doubles each attempt (with jitter).
    #[arg(long = "events-initial-backoff", env = "PINGAN_EVENTS_INITIAL_BACKOFF", default_value = "500ms", value_parser = crate::config::parse_duration)]
    pub initial_backoff: Duration,
    /// Longest wait between retries.
    #[arg(long = "events-max-backoff", env = "PINGAN_EVENTS_MAX_BACKOFF", default_value = "5m", value_parser = crate::config::parse_duration)]
    pub max_backoff: Duration,
    /// How often the relay looks for due events when nothing wakes it.
    #[arg(long = "events-poll-interval", env = "PINGAN_EVENTS_POLL_INTERVAL", default_value = "1s", value_parser = crate::config::parse_duration)]
    pub poll_interval: Duration,
    /// How long a relay owns a delivery it is sending (another replica takes over after).
    #[arg(long = "events-lease", env = "PINGAN_EVENTS_LEASE", default_value = "30s", value_parser = crate::config::parse_duration)]
    pub lease: Duration,
    /// Deadline of one delivery call.
    #[arg(long = "events-delivery-timeout", env = "PINGAN_EVENTS_DELIVERY_TIMEOUT", default_value = "10s", value_parser = crate::config::parse_duration)]
    pub delivery_timeout: Duration,
    /// Deliveries attempted per round.
    #[arg(
        long = "events-batch",
        env = "PINGAN_EVENTS_BATCH",
        default_value_t = 512
    )]
    pub batch: u32,
    /// How long delivered events and received event ids are kept.
    #[arg(long = "events-retention", env = "PINGAN_EVENTS_RETENTION", default_value = "168h", value_parser = crate::config::parse_duration)]
    pub retention: Duration,
}

impl Default for EventConfig {
    fn default() -> Self {
        Self {
            max_attempts: 12,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(300),
            poll_interval: Duration::from_secs(1),
            lease: Duration::from_secs(30),
            delivery_timeout: Duration::from_secs(10),
            batch: 512,
            retention: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

impl EventConfig {
    /// The wait before attempt `attempts + 1` (the platform's one backoff formula).
    pub fn backoff(&self, attempts: u32) -> Duration {
        crate::jobs::backoff(self.initial_backoff, self.max_backoff, attempts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        let config = EventConfig::default();
        for attempts in 1..20 {
            let wait = config.backoff(attempts);
            let ceiling = (config.initial_backoff * 2_u32.pow((attempts - 1).min(20)))
                .min(config.max_backoff);
            assert!(
                wait <= ceiling,
                "attempt {attempts}: {wait:?} > {ceiling:?}"
            );
            assert!(
                wait >= ceiling / 2,
                "attempt {attempts}: {wait:?} < half of {ceiling:?}"
            );
        }
        assert!(config.backoff(40) <= config.max_backoff);
    }

    #[test]
    fn subscriptions_route_types_to_services() {
        let mut subscriptions = Subscriptions::default();
        subscriptions
            .subscribe("intake", ["pingan.dispatch.v1.DispatchClosed"])
            .subscribe("case-followup", ["pingan.dispatch.v1.DispatchClosed"]);
        let destinations: Vec<_> = subscriptions
            .destinations("pingan.dispatch.v1.DispatchClosed")
            .collect();
        assert_eq!(destinations, ["case-followup", "intake"]);
        assert_eq!(subscriptions.destinations("unknown").count(), 0);
    }
}
