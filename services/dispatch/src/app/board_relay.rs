//! The board across replicas: every change a replica publishes on its own board is also sent,
//! off the commit path, on the Redis channel `<prefix>{<tag>}:board`; each replica's relay
//! subscribes to that channel and delivers the changes of the *other* replicas into its local
//! board (its own it has delivered already, at once), so every watcher on every replica sees
//! each change exactly once.
//!
//! Redis pub/sub does not keep messages for a subscriber that is away. So whenever something may
//! have been missed the watchers are told, with the `lagged` event they already understand
//! (they resubscribe with a snapshot, which is read from the database):
//! - the relay (re)subscribes while this replica has watchers: they may have missed changes of
//!   other replicas meanwhile (`missed_events` is then 1: "at least one, number unknown");
//! - changes this replica could not send (queue full, Redis unreachable) are counted and the
//!   count is sent to the other replicas as a `lagged` event as soon as Redis answers again.
//!
//! Position-only unit updates are many: they cross replicas only while some replica has
//! watchers (the key `<prefix>{<tag>}:board:watched`, refreshed by every watched replica).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use chrono::Utc;
use pingan_platform::redis_store::RedisStore;
use pingan_platform::service::Shutdown;
use pingan_platform::time::{from_timestamp, to_timestamp};
use pingan_proto::dispatch::v1::watch_board_response::Event;
use pingan_proto::dispatch::v1::{BoardLagged, WatchBoardResponse};
use prost::Message;
use tokio::sync::mpsc;
use tokio_stream::StreamExt;

use super::board::{Board, BoardEvent};
use crate::positions::Keys;

/// Changes waiting to be sent to the other replicas; beyond this they are counted as missed.
const QUEUE: usize = 4096;
/// Most changes per pipelined PUBLISH round trip.
const PUBLISH_BATCH: usize = 256;
/// How often a silent subscription is checked with a PING, and the watched flag refreshed.
const HEARTBEAT: Duration = Duration::from_secs(5);
/// How long the watched flag lives without a refresh.
const WATCHED_TTL_MS: u64 = 15_000;
/// Deadline of a connection attempt or a PING.
const DEADLINE: Duration = Duration::from_secs(3);
/// Longest wait between two subscription attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// Version byte of a frame.
const FRAME_VERSION: u8 = 1;

/// The replica's side of the fan-out that the board publishes into.
#[derive(Debug)]
pub(crate) struct Outbound {
    origin: [u8; 16],
    queue: mpsc::Sender<Arc<BoardEvent>>,
    /// Changes not sent to the other replicas since they were last told.
    dropped: AtomicU64,
    /// Some replica (maybe this one) has watchers.
    watched: AtomicBool,
}

impl Outbound {
    /// Queues `event` for the other replicas (never waits).
    pub(crate) fn push(&self, event: Arc<BoardEvent>) {
        if event.position_only && !self.watched.load(Ordering::Relaxed) {
            return;
        }
        if self.queue.try_send(event).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// True while some replica has watchers.
    pub(crate) fn watched(&self) -> bool {
        self.watched.load(Ordering::Relaxed)
    }
}

/// The relay worker of one replica: sends this replica's changes and delivers the others'.
pub struct BoardRelay {
    board: Board,
    outbound: Arc<Outbound>,
    queue: mpsc::Receiver<Arc<BoardEvent>>,
    redis: RedisStore,
    keys: Keys,
}

impl std::fmt::Debug for BoardRelay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BoardRelay")
            .field("channel", &self.keys.board_channel())
            .finish()
    }
}

/// A board shared with the other replicas through `redis`, and the relay worker that must run
/// for it (until it runs, changes of other replicas are not seen and this replica's are queued).
pub fn fanned_out(buffer: usize, redis: RedisStore, keys: Keys) -> (Board, BoardRelay) {
    let (sender, queue) = mpsc::channel(QUEUE);
    let outbound = Arc::new(Outbound {
        origin: *uuid::Uuid::now_v7().as_bytes(),
        queue: sender,
        dropped: AtomicU64::new(0),
        watched: AtomicBool::new(false),
    });
    let board = Board::with_outbound(buffer, outbound.clone());
    let relay = BoardRelay {
        board: board.clone(),
        outbound,
        queue,
        redis,
        keys,
    };
    (board, relay)
}

/// A `lagged` notice for every station.
pub(crate) fn lagged(missed: u64) -> BoardEvent {
    BoardEvent {
        station_id: String::new(),
        occurred_at: Utc::now(),
        event: Event::Lagged(BoardLagged {
            missed_events: i64::try_from(missed).unwrap_or(i64::MAX),
        }),
        position_only: false,
    }
}

/// A change as it travels between replicas: version, origin, flags, station, then the event as
/// a `WatchBoardResponse` (sequence 0).
pub(crate) fn encode(origin: &[u8; 16], event: &BoardEvent) -> Vec<u8> {
    let station = event.station_id.as_bytes();
    let station_len = u16::try_from(station.len()).unwrap_or(u16::MAX);
    let message = WatchBoardResponse {
        sequence: 0,
        occurred_at: Some(to_timestamp(event.occurred_at)),
        event: Some(event.event.clone()),
    };
    let mut frame = Vec::with_capacity(20 + station.len() + message.encoded_len());
    frame.push(FRAME_VERSION);
    frame.extend_from_slice(origin);
    frame.push(u8::from(event.position_only));
    frame.extend_from_slice(&station_len.to_be_bytes());
    frame.extend_from_slice(&station[..usize::from(station_len)]);
    message.encode(&mut frame).unwrap_or_default();
    frame
}

/// The origin and change of a frame (`None` for a frame this version cannot read).
pub(crate) fn decode(frame: &[u8]) -> Option<([u8; 16], BoardEvent)> {
    let (&version, rest) = frame.split_first()?;
    if version != FRAME_VERSION || rest.len() < 19 {
        return None;
    }
    let (origin, rest) = rest.split_at(16);
    let origin: [u8; 16] = origin.try_into().ok()?;
    let position_only = rest[0] != 0;
    let station_len = usize::from(u16::from_be_bytes([rest[1], rest[2]]));
    let rest = &rest[3..];
    if rest.len() < station_len {
        return None;
    }
    let (station, message) = rest.split_at(station_len);
    let station_id = String::from_utf8(station.to_vec()).ok()?;
    let message = WatchBoardResponse::decode(message).ok()?;
    Some((
        origin,
        BoardEvent {
            station_id,
            occurred_at: message
                .occurred_at
                .as_ref()
                .and_then(from_timestamp)
                .unwrap_or_else(Utc::now),
            event: message.event?,
            position_only,
        },
    ))
}

impl BoardRelay {
    /// Runs until `shutdown`: sends, listens and keeps the watched flag.
    pub async fn run(self, shutdown: Shutdown) {
        let Self {
            board,
            outbound,
            mut queue,
            redis,
            keys,
        } = self;
        let channel = keys.board_channel();
        let watched = keys.board_watched();
        tokio::select! {
            () = shutdown.signalled() => {}
            () = send_loop(&outbound, &mut queue, &redis, &channel) => {}
            () = listen_loop(&board, &outbound, &redis, &channel) => {}
            () = watched_loop(&board, &outbound, &redis, &watched) => {}
        }
    }
}

/// Sends this replica's changes, batched; what cannot be sent is counted and announced.
async fn send_loop(
    outbound: &Outbound,
    queue: &mut mpsc::Receiver<Arc<BoardEvent>>,
    redis: &RedisStore,
    channel: &str,
) {
    let mut batch = Vec::with_capacity(PUBLISH_BATCH);
    loop {
        match tokio::time::timeout(
            Duration::from_secs(1),
            queue.recv_many(&mut batch, PUBLISH_BATCH),
        )
        .await
        {
            Ok(0) => return,
            Ok(_) => {}
            // Nothing new: still announce what was missed, once Redis answers.
            Err(_) if outbound.dropped.load(Ordering::Relaxed) == 0 => continue,
            Err(_) => {}
        }
        let missed = outbound.dropped.swap(0, Ordering::Relaxed);
        let mut frames = Vec::with_capacity(batch.len() + 1);
        if missed > 0 {
            frames.push(encode(&outbound.origin, &lagged(missed)));
        }
        frames.extend(batch.iter().map(|event| encode(&outbound.origin, event)));
        let mut pipe = redis::pipe();
        for frame in &frames {
            pipe.cmd("PUBLISH").arg(channel).arg(frame).ignore();
        }
        let mut connection = redis.connection();
        if let Err(err) = pipe.query_async::<()>(&mut connection).await {
            let lost = missed + u64::try_from(batch.len()).unwrap_or(u64::MAX);
            outbound.dropped.fetch_add(lost, Ordering::Relaxed);
            tracing::warn!(error = %err, lost, "board changes not sent to the other replicas");
        }
        batch.clear();
    }
}

/// Subscribes (again and again, with a growing pause) and delivers the other replicas' changes.
async fn listen_loop(board: &Board, outbound: &Outbound, redis: &RedisStore, channel: &str) {
    let mut backoff = Duration::from_millis(200);
    loop {
        match listen(board, outbound, redis, channel).await {
            Ok(()) => {
                tracing::warn!("board subscription lost; resubscribing");
                backoff = Duration::from_millis(200);
            }
            Err(err) => tracing::warn!(error = %err, "board subscription failed; retrying"),
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// One subscription, until its connection is lost.
async fn listen(
    board: &Board,
    outbound: &Outbound,
    redis: &RedisStore,
    channel: &str,
) -> redis::RedisResult<()> {
    let timed_out =
        || redis::RedisError::from((redis::ErrorKind::Io, "board subscription timed out"));
    let pubsub = tokio::time::timeout(DEADLINE, redis.client().get_async_pubsub())
        .await
        .map_err(|_| timed_out())??;
    let (mut sink, mut stream) = pubsub.split();
    tokio::time::timeout(DEADLINE, sink.subscribe(channel))
        .await
        .map_err(|_| timed_out())??;
    tracing::debug!(channel, "board subscription open");
    // Watchers already here may have missed other replicas' changes while nobody listened.
    if board.subscribers() > 0 {
        board.deliver(Arc::new(lagged(1)));
    }
    let mut heartbeat = tokio::time::interval(HEARTBEAT);
    heartbeat.tick().await;
    loop {
        tokio::select! {
            message = stream.next() => {
                let Some(message) = message else { return Ok(()) };
                match decode(message.get_payload_bytes()) {
                    Some((origin, _)) if origin == outbound.origin => {}
                    Some((_, event)) => board.deliver(Arc::new(event)),
                    None => tracing::warn!("unreadable board frame skipped"),
                }
            }
            _ = heartbeat.tick() => {
                tokio::time::timeout(DEADLINE, sink.ping::<redis::Value>())
                    .await
                    .map_err(|_| timed_out())??;
            }
        }
    }
}

/// Keeps `board:watched` alive while this replica has watchers, and reads whether any has.
async fn watched_loop(board: &Board, outbound: &Outbound, redis: &RedisStore, key: &str) {
    let mut heartbeat = tokio::time::interval(HEARTBEAT);
    loop {
        heartbeat.tick().await;
        let mut connection = redis.connection();
        let watched = if board.subscribers() > 0 {
            redis::cmd("SET")
                .arg(key)
                .arg(1)
                .arg("PX")
                .arg(WATCHED_TTL_MS)
                .query_async::<()>(&mut connection)
                .await
                .map(|()| true)
        } else {
            redis::cmd("EXISTS")
                .arg(key)
                .query_async::<bool>(&mut connection)
                .await
        };
        match watched {
            Ok(watched) => outbound.watched.store(watched, Ordering::Relaxed),
            Err(err) => tracing::debug!(error = %err, "board watched flag not read"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pingan_proto::dispatch::v1::Dispatch;

    #[test]
    fn a_frame_reads_back_as_written() {
        let origin = [7u8; 16];
        let event = BoardEvent {
            station_id: "st-东".into(),
            occurred_at: Utc::now(),
            event: Event::Dispatch(Dispatch {
                dispatch_id: "d-1".into(),
                ..Dispatch::default()
            }),
            position_only: true,
        };
        let frame = encode(&origin, &event);
        let (read_origin, read) = decode(&frame).expect("frame");
        assert_eq!(read_origin, origin);
        assert_eq!(read.station_id, event.station_id);
        assert!(read.position_only);
        assert_eq!(
            read.occurred_at.timestamp_micros(),
            event.occurred_at.timestamp_micros()
        );
        assert!(matches!(read.event, Event::Dispatch(d) if d.dispatch_id == "d-1"));
        assert!(decode(&frame[..10]).is_none());
        assert!(decode(&[2u8; 40]).is_none());
        assert!(decode(&[]).is_none());
    }
}
