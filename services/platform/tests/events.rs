//! The events backbone on both backends: at-least-once delivery through a receiver outage in
//! per-aggregate order, exactly-once effect under duplicate sends, nothing lost when the relay
//! dies between commit and send, dead letters re-driven, and idempotent requests.
//! Time is a manual clock; no test sleeps to wait for a retry.

mod common;

use std::sync::atomic::Ordering;
use std::time::Duration;

use common::events::Pair;
use pingan_platform::storage::Backend;
use pingan_platform::with_db;
use pingan_proto::events::v1::event_admin_service_client::EventAdminServiceClient;
use pingan_proto::events::v1::{ListDeadLettersRequest, RedriveDeadLettersRequest};

async fn receiver_outage_delivers_everything_in_order_afterwards(backend: Backend) {
    let pair = Pair::start(backend).await;
    let relay = pair.relay();
    pair.proxy.cut();
    for n in 0..5 {
        for aggregate in ["incident-a", "incident-b", "incident-c"] {
            pair.emit(aggregate, &format!("{aggregate}#{n}")).await;
        }
    }
    // While the receiver is down only the head of each aggregate is tried, and fails.
    for _ in 0..3 {
        let round = relay.run_once().await;
        assert_eq!((round.delivered, round.retried, round.dead), (0, 3, 0));
        pair.pass_backoff();
    }
    assert_eq!(pair.applied_count().await, 0);
    let stats = pair.outbox.stats().await.expect("stats");
    assert_eq!(stats.pending, 15);

    pair.proxy.restore();
    pair.pass_backoff();
    let round = relay.drain().await;
    assert_eq!(round.delivered, 15);
    for aggregate in ["incident-a", "incident-b", "incident-c"] {
        let expected: Vec<String> = (0..5).map(|n| format!("{aggregate}#{n}")).collect();
        assert_eq!(
            pair.applied(aggregate).await,
            expected,
            "order of {aggregate}"
        );
    }
    let stats = pair.outbox.stats().await.expect("stats");
    assert_eq!((stats.pending, stats.dead, stats.delivered), (0, 0, 15));
    pair.stop().await;
}

async fn duplicate_delivery_has_one_effect(backend: Backend) {
    let pair = Pair::start(backend).await;
    let relay = pair.relay();
    pair.emit("incident-a", "first").await;
    assert_eq!(relay.drain().await.delivered, 1);
    // Delivered but not recorded as such (a crash right after the send): it goes again.
    const RESEND: &str = "UPDATE pingan_outbox_deliveries SET status = 'PENDING'";
    with_db!(&pair.sender_db.db, pool => sqlx::query(RESEND).execute(pool).await.map(|r| r.rows_affected()))
        .expect("mark pending");
    assert_eq!(relay.drain().await.delivered, 1, "sent a second time");
    assert_eq!(pair.applied("incident-a").await, ["first"], "applied once");
    pair.stop().await;
}

async fn relay_crash_between_commit_and_send_loses_nothing(backend: Backend) {
    let pair = Pair::start(backend).await;
    for n in 0..3 {
        pair.emit("incident-a", &format!("a{n}")).await;
        pair.emit("incident-b", &format!("b{n}")).await;
    }
    pair.recorder.hold.store(true, Ordering::SeqCst);
    let doomed = pair.relay();
    let task = tokio::spawn(async move { doomed.run_once().await });
    pair.recorder.entered.notified().await;
    task.abort(); // the relay dies mid-batch, holding leases
    let _ = task.await;
    pair.recorder.hold.store(false, Ordering::SeqCst);
    pair.recorder.release.notify_waiters();

    // A restarted relay waits for the dead one's leases, then delivers everything once.
    let restarted = pair.relay();
    assert_eq!(
        restarted.run_once().await.delivered,
        0,
        "leased heads wait for the lease"
    );
    pair.clock
        .advance(pair.config.lease + Duration::from_secs(1));
    restarted.drain().await;
    assert_eq!(pair.applied("incident-a").await, ["a0", "a1", "a2"]);
    assert_eq!(pair.applied("incident-b").await, ["b0", "b1", "b2"]);
    assert_eq!(pair.outbox.stats().await.expect("stats").pending, 0);
    pair.stop().await;
}

async fn poison_event_is_dead_lettered_then_redriven(backend: Backend) {
    let pair = Pair::start(backend).await;
    let relay = pair.relay();
    pair.recorder
        .poison
        .lock()
        .expect("lock")
        .insert("incident-p".to_owned());
    let poisoned = pair.emit("incident-p", "p0").await;
    pair.emit("incident-p", "p1").await;
    pair.emit("incident-ok", "ok0").await;

    let mut dead = 0;
    for _ in 0..pair.config.max_attempts {
        dead += relay.drain().await.dead;
        pair.pass_backoff();
    }
    assert_eq!(
        dead, 1,
        "the head of the poisoned aggregate is dead after max attempts"
    );
    assert_eq!(
        pair.applied("incident-ok").await,
        ["ok0"],
        "other aggregates flow"
    );
    assert!(
        pair.applied("incident-p").await.is_empty(),
        "p1 waits behind p0"
    );

    let channel = tonic::transport::Endpoint::from_shared(pair.receiver.url())
        .expect("url")
        .connect_lazy();
    let token: tonic::metadata::MetadataValue<_> = format!("Bearer {}", pair.admin_token)
        .parse()
        .expect("token");
    let mut admin = EventAdminServiceClient::with_interceptor(
        channel,
        move |mut request: tonic::Request<()>| {
            request
                .metadata_mut()
                .insert("authorization", token.clone());
            Ok(request)
        },
    );
    let listed = admin
        .list_dead_letters(ListDeadLettersRequest {
            service: "dispatch".into(),
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner();
    assert_eq!(listed.dead_letters.len(), 1);
    let letter = &listed.dead_letters[0];
    assert_eq!(
        letter.event.as_ref().map(|e| e.event_id.as_str()),
        Some(poisoned.as_str())
    );
    assert_eq!(
        letter.attempts,
        i32::try_from(pair.config.max_attempts).expect("attempts")
    );
    assert!(
        letter.last_error.contains("poisoned"),
        "{}",
        letter.last_error
    );

    pair.recorder.poison.lock().expect("lock").clear();
    let redriven = admin
        .redrive_dead_letters(RedriveDeadLettersRequest {
            request_id: "redrive-1".into(),
            service: "dispatch".into(),
            event_ids: vec![poisoned.clone()],
            ..Default::default()
        })
        .await
        .expect("redrive")
        .into_inner();
    assert_eq!(redriven.redriven, 1);
    relay.drain().await;
    assert_eq!(pair.applied("incident-p").await, ["p0", "p1"]);
    let stats = pair.outbox.stats().await.expect("stats");
    assert_eq!((stats.pending, stats.dead), (0, 0));

    // Without the admin role the dead letters stay private.
    let mut anonymous = EventAdminServiceClient::new(
        tonic::transport::Endpoint::from_shared(pair.receiver.url())
            .expect("url")
            .connect_lazy(),
    );
    let denied = anonymous
        .list_dead_letters(ListDeadLettersRequest {
            service: "dispatch".into(),
            ..Default::default()
        })
        .await
        .expect_err("needs a token");
    assert_eq!(denied.code(), tonic::Code::Unauthenticated);
    pair.stop().await;
}

/// An event the receiver cannot read (INVALID_ARGUMENT) is a dead letter at the first attempt,
/// with the receiver's reason, instead of being retried until max attempts.
async fn unreadable_event_is_dead_at_once(backend: Backend) {
    let pair = Pair::start(backend).await;
    let relay = pair.relay();
    pair.recorder
        .malformed
        .lock()
        .expect("lock")
        .insert("incident-m".to_owned());
    pair.emit("incident-m", "m0").await;
    pair.emit("incident-ok", "ok0").await;

    let round = relay.drain().await;
    assert_eq!(round.dead, 1, "dead at the first attempt");
    assert_eq!(pair.applied("incident-ok").await, ["ok0"]);
    let stats = pair.outbox.stats().await.expect("stats");
    assert_eq!((stats.pending, stats.dead), (0, 1));
    pair.pass_backoff();
    assert_eq!(relay.drain().await.dead, 0, "not attempted again");
    let letters = pair
        .outbox
        .dead_letters("intake", 0, 10)
        .await
        .expect("dead letters");
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].delivery.attempts, 1);
    assert!(
        letters[0].last_error.contains("InvalidArgument"),
        "{}",
        letters[0].last_error
    );
    pair.stop().await;
}

/// Two relays (replicas) racing over one outbox: each delivery is leased, sent and recorded by
/// exactly one of them, and every aggregate's events still arrive in order.
async fn racing_relays_send_each_delivery_once_in_order(backend: Backend) {
    let pair = Pair::start(backend).await;
    let mut expected = Vec::new();
    for n in 0..120 {
        let aggregate = format!("incident-{}", n % 12);
        let label = format!("event-{n}");
        pair.emit(&aggregate, &label).await;
        expected.push((aggregate, label));
    }
    let (first, second) = (pair.relay(), pair.relay());
    let (a, b) = tokio::join!(first.drain(), second.drain());
    // A relay may stop while the other still holds the head of an aggregate: finish the rest.
    let rest = pair.relay().drain().await;
    assert_eq!(
        a.delivered + b.delivered + rest.delivered,
        120,
        "{a:?} {b:?} {rest:?}"
    );
    assert_eq!(a.retried + b.retried + a.dead + b.dead, 0);
    assert_eq!(pair.applied_count().await, 120);
    for n in 0..12 {
        let aggregate = format!("incident-{n}");
        let want: Vec<String> = expected
            .iter()
            .filter(|(agg, _)| *agg == aggregate)
            .map(|(_, label)| label.clone())
            .collect();
        assert_eq!(pair.applied(&aggregate).await, want, "order of {aggregate}");
    }
    pair.stop().await;
}

pingan_platform::backend_tests!(
    receiver_outage_delivers_everything_in_order_afterwards,
    duplicate_delivery_has_one_effect,
    relay_crash_between_commit_and_send_loses_nothing,
    poison_event_is_dead_lettered_then_redriven,
    unreadable_event_is_dead_at_once,
    racing_relays_send_each_delivery_once_in_order,
);
