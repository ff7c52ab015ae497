//! The board relay against a real Redis: two boards sharing one prefix see each other's changes
//! once and their own once; when one relay's Redis connection is cut and comes back, it
//! resubscribes and its watchers are told they lagged (nothing missed silently).

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use pingan_dispatch::app::board::{Board, BoardEvent};
use pingan_dispatch::app::board_relay::fanned_out;
use pingan_dispatch::positions::Keys;
use pingan_platform::redis_store::RedisStore;
use pingan_platform::service::ShutdownSwitch;
use pingan_platform::testing::{REDIS_URL_VAR, TcpProxy, cleanup_redis, test_redis};
use pingan_proto::dispatch::v1::Dispatch;
use pingan_proto::dispatch::v1::watch_board_response::Event;
use tokio::sync::broadcast;

fn dispatch(id: &str) -> Dispatch {
    Dispatch {
        dispatch_id: id.into(),
        station_id: "st-1".into(),
        ..Dispatch::default()
    }
}

/// Subscribers of `channel` as Redis counts them.
async fn subscribers(redis: &RedisStore, channel: &str) -> i64 {
    let mut connection = redis.connection();
    let reply: Vec<(String, i64)> = redis::cmd("PUBSUB")
        .arg("NUMSUB")
        .arg(channel)
        .query_async(&mut connection)
        .await
        .expect("numsub");
    reply.first().map(|(_, n)| *n).unwrap_or(0)
}

async fn wait_for_subscribers(redis: &RedisStore, channel: &str, wanted: i64) {
    for _ in 0..300 {
        if subscribers(redis, channel).await == wanted {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{channel} never had {wanted} subscribers");
}

/// The next event (10 s at most).
async fn next(receiver: &mut broadcast::Receiver<Arc<BoardEvent>>) -> Event {
    tokio::time::timeout(Duration::from_secs(10), receiver.recv())
        .await
        .expect("an event in time")
        .expect("open")
        .event
        .clone()
}

/// Nothing more arrives within half a second.
async fn quiet(receiver: &mut broadcast::Receiver<Arc<BoardEvent>>) {
    if let Ok(event) = tokio::time::timeout(Duration::from_millis(500), receiver.recv()).await {
        panic!("unexpected event {event:?}");
    }
}

fn dispatch_id(event: &Event) -> Option<&str> {
    match event {
        Event::Dispatch(d) => Some(&d.dispatch_id),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_boards_share_changes_once_and_a_cut_relay_tells_its_watchers() {
    let direct = test_redis().await.expect("redis");
    let url = std::env::var(REDIS_URL_VAR).expect("redis url");
    let address = url
        .trim_start_matches("redis://")
        .trim_end_matches('/')
        .to_owned();
    let proxy = TcpProxy::start(&address).await.expect("proxy");
    let through_proxy =
        RedisStore::connect(&format!("redis://{}", proxy.local_addr()), direct.prefix())
            .await
            .expect("redis through the proxy");
    let keys = Keys::new(direct.prefix());
    let channel = keys.board_channel();

    let (switch, shutdown) = ShutdownSwitch::new();
    let (board_a, relay_a): (Board, _) = fanned_out(64, through_proxy, keys.clone());
    let (board_b, relay_b) = fanned_out(64, direct.clone(), keys.clone());
    let task_a = tokio::spawn(relay_a.run(shutdown));
    let task_b = tokio::spawn(relay_b.run(switch.subscribe()));
    wait_for_subscribers(&direct, &channel, 2).await;

    let mut on_a = board_a.subscribe();
    let mut on_b = board_b.subscribe();
    let now = Utc::now();
    board_a.dispatch(&dispatch("d-from-a"), now);
    board_b.dispatch(&dispatch("d-from-b"), now);
    let mut seen_a = vec![next(&mut on_a).await, next(&mut on_a).await];
    let mut seen_b = vec![next(&mut on_b).await, next(&mut on_b).await];
    for seen in [&mut seen_a, &mut seen_b] {
        let mut ids: Vec<&str> = seen.iter().filter_map(dispatch_id).collect();
        ids.sort_unstable();
        assert_eq!(ids, ["d-from-a", "d-from-b"], "{seen:?}");
    }
    quiet(&mut on_a).await;
    quiet(&mut on_b).await;

    // A loses Redis: its subscription dies; when Redis is back it resubscribes and tells its
    // watcher it may have missed changes (B's change made meanwhile is not replayed).
    proxy.cut();
    wait_for_subscribers(&direct, &channel, 1).await;
    board_b.dispatch(&dispatch("d-while-cut"), now);
    assert_eq!(dispatch_id(&next(&mut on_b).await), Some("d-while-cut"));
    proxy.restore();
    wait_for_subscribers(&direct, &channel, 2).await;
    let notice = next(&mut on_a).await;
    assert!(
        matches!(notice, Event::Lagged(ref l) if l.missed_events >= 1),
        "{notice:?}"
    );
    board_b.dispatch(&dispatch("d-after"), now);
    assert_eq!(dispatch_id(&next(&mut on_a).await), Some("d-after"));
    assert_eq!(dispatch_id(&next(&mut on_b).await), Some("d-after"));
    quiet(&mut on_a).await;
    quiet(&mut on_b).await;

    switch.signal();
    for task in [task_a, task_b] {
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("relay stops")
            .expect("relay task");
    }
    cleanup_redis(&direct).await;
}

#[tokio::test]
async fn a_board_without_redis_is_the_process_alone() {
    let board = Board::new(8);
    assert!(!board.watched());
    let mut receiver = board.subscribe();
    assert!(board.watched() && board.positions_watched());
    board.dispatch(&dispatch("d-1"), Utc::now());
    assert_eq!(dispatch_id(&next(&mut receiver).await), Some("d-1"));
    quiet(&mut receiver).await;
}
