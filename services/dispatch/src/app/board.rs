//! The command board: changes are published to a bounded broadcast ring; each subscriber reads
//! at its own pace. Publishing never waits for a subscriber: one that falls more than the buffer
//! behind loses the oldest events and is told how many it missed (then resubscribes with a
//! snapshot). With Redis, changes also cross to the other replicas (see `board_relay`): a
//! watcher on any replica sees every replica's changes, each once. Without Redis (the embedded
//! shape: one process) the board is this process's alone.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use pingan_proto::dispatch::v1::watch_board_response::Event;
use pingan_proto::dispatch::v1::{BoardLagged, Dispatch, TimelineEntry, Unit, WatchBoardResponse};
use tokio::sync::broadcast;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;

use pingan_platform::time::to_timestamp;

use super::board_relay::Outbound;

/// One change on the board, with the station it concerns.
#[derive(Debug, Clone)]
pub struct BoardEvent {
    /// Station of the dispatch or unit.
    pub station_id: String,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// What changed.
    pub event: Event,
    /// True for position-only unit updates.
    pub position_only: bool,
}

/// The board's publisher.
#[derive(Debug, Clone)]
pub struct Board {
    sender: broadcast::Sender<Arc<BoardEvent>>,
    /// Where changes go to reach the other replicas (none: a single process).
    outbound: Option<Arc<Outbound>>,
}

/// A boxed stream of board messages (as tonic serves it).
pub type BoardStream = tonic::codegen::BoxStream<WatchBoardResponse>;

impl Board {
    /// A board whose subscribers may fall `buffer` events behind.
    pub fn new(buffer: usize) -> Self {
        let (sender, _) = broadcast::channel(buffer.max(1));
        Self {
            sender,
            outbound: None,
        }
    }

    /// A board whose changes also go to `outbound` (the relay to the other replicas).
    pub(crate) fn with_outbound(buffer: usize, outbound: Arc<Outbound>) -> Self {
        Self {
            outbound: Some(outbound),
            ..Self::new(buffer)
        }
    }

    fn publish(&self, station_id: &str, at: DateTime<Utc>, event: Event, position_only: bool) {
        let event = Arc::new(BoardEvent {
            station_id: station_id.to_owned(),
            occurred_at: at,
            event,
            position_only,
        });
        if let Some(outbound) = &self.outbound {
            outbound.push(event.clone());
        }
        self.deliver(event);
    }

    /// Hands `event` to this replica's subscribers only.
    pub(crate) fn deliver(&self, event: Arc<BoardEvent>) {
        // No subscriber is not an error.
        let _ = self.sender.send(event);
    }

    /// True when a change must be published: this replica has subscribers, or the board is
    /// shared with other replicas (which may have some).
    pub fn watched(&self) -> bool {
        self.subscribers() > 0 || self.outbound.is_some()
    }

    /// True when position-only updates must be published: this replica has subscribers, or
    /// another replica sharing the board has.
    pub fn positions_watched(&self) -> bool {
        self.subscribers() > 0 || self.outbound.as_ref().is_some_and(|o| o.watched())
    }

    /// Publishes a dispatch's current state.
    pub fn dispatch(&self, dispatch: &Dispatch, at: DateTime<Utc>) {
        self.publish(
            &dispatch.station_id,
            at,
            Event::Dispatch(dispatch.clone()),
            false,
        );
    }

    /// Publishes a timeline entry.
    pub fn entry(&self, station_id: &str, entry: &TimelineEntry, at: DateTime<Utc>) {
        self.publish(station_id, at, Event::TimelineEntry(entry.clone()), false);
    }

    /// Publishes a unit's current state.
    pub fn unit(&self, unit: &Unit, at: DateTime<Utc>, position_only: bool) {
        self.publish(
            &unit.station_id,
            at,
            Event::Unit(unit.clone()),
            position_only,
        );
    }

    /// Number of current subscribers.
    pub fn subscribers(&self) -> usize {
        self.sender.receiver_count()
    }

    /// Subscribes now (before any snapshot is read, so nothing falls between the two).
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<BoardEvent>> {
        self.sender.subscribe()
    }
}

/// The live part of one subscriber's stream: `snapshot` first, then the events that pass
/// `wanted`, numbered from `first_sequence`, with a `lagged` notice where events were dropped.
pub fn live_stream(
    receiver: broadcast::Receiver<Arc<BoardEvent>>,
    snapshot: Vec<WatchBoardResponse>,
    wanted: impl Fn(&BoardEvent) -> bool + Send + 'static,
    now: impl Fn() -> DateTime<Utc> + Send + 'static,
) -> BoardStream {
    let mut sequence = i64::try_from(snapshot.len()).unwrap_or(0);
    let live = BroadcastStream::new(receiver).filter_map(move |item| {
        let (occurred_at, event) = match item {
            // A lagged notice concerns every station.
            Ok(event) if matches!(event.event, Event::Lagged(_)) || wanted(&event) => {
                (event.occurred_at, event.event.clone())
            }
            Ok(_) => return None,
            Err(BroadcastStreamRecvError::Lagged(missed)) => (
                now(),
                Event::Lagged(BoardLagged {
                    missed_events: i64::try_from(missed).unwrap_or(i64::MAX),
                }),
            ),
        };
        sequence += 1;
        Some(Ok(WatchBoardResponse {
            sequence,
            occurred_at: Some(to_timestamp(occurred_at)),
            event: Some(event),
        }))
    });
    Box::pin(tokio_stream::iter(snapshot.into_iter().map(Ok)).chain(live))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_slow_subscriber_is_told_it_lagged_and_publishing_never_waits() {
        let board = Board::new(4);
        let receiver = board.subscribe();
        let now = Utc::now();
        let mut stream = live_stream(receiver, Vec::new(), |_| true, Utc::now);
        // Ten events into a buffer of four: publishing returns at once.
        for i in 0..10 {
            let dispatch = Dispatch {
                dispatch_id: format!("d{i}"),
                ..Dispatch::default()
            };
            board.dispatch(&dispatch, now);
        }
        let first = stream
            .next()
            .await
            .and_then(Result::ok)
            .and_then(|m| m.event);
        assert!(
            matches!(first, Some(Event::Lagged(BoardLagged { missed_events: 6 }))),
            "{first:?}"
        );
        let mut rest = Vec::new();
        for _ in 0..4 {
            if let Some(Ok(message)) = stream.next().await {
                rest.push(message);
            }
        }
        let ids: Vec<String> = rest
            .iter()
            .filter_map(|m| match &m.event {
                Some(Event::Dispatch(d)) => Some(d.dispatch_id.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(ids, ["d6", "d7", "d8", "d9"]);
        let sequences: Vec<i64> = rest.iter().map(|m| m.sequence).collect();
        assert_eq!(sequences, [2, 3, 4, 5]);
    }
}
