//! Batch delivery on both backends: a round sends its deliveries as DeliverBatch calls (one
//! receiver transaction per batch) and every event still gets its own verdict — applied,
//! duplicate, or refused alone under its savepoint while the rest of the batch commits.

mod common;

use common::events::{EVENT_TYPE, Pair};
use pingan_platform::storage::Backend;
use pingan_proto::common::v1::Actor;
use pingan_proto::events::v1::event_sink_service_client::EventSinkServiceClient;
use pingan_proto::events::v1::{DeliverBatchRequest, DeliverRequest, EventEnvelope};
use prost::Message;

fn envelope(event_id: &str, aggregate: &str, label: &str) -> EventEnvelope {
    EventEnvelope {
        event_id: event_id.to_owned(),
        event_type: EVENT_TYPE.to_owned(),
        source: "dispatch".to_owned(),
        aggregate_id: aggregate.to_owned(),
        payload: Some(prost_types::Any {
            type_url: format!("type.googleapis.com/{EVENT_TYPE}"),
            value: Actor {
                subject: label.to_owned(),
                ..Actor::default()
            }
            .encode_to_vec(),
        }),
        ..EventEnvelope::default()
    }
}

async fn one_round_delivers_a_large_backlog(backend: Backend) {
    let pair = Pair::start(backend).await;
    for n in 0..600 {
        pair.emit(&format!("unit-{n}"), &format!("u{n}")).await;
    }
    let relay = pair.relay();
    let first = relay.run_once().await;
    assert_eq!(
        (first.delivered, first.retried, first.dead),
        (512, 0, 0),
        "one round takes a whole batch of due deliveries"
    );
    assert_eq!(relay.drain().await.delivered, 88);
    assert_eq!(pair.applied_count().await, 600);
    assert_eq!(pair.applied("unit-599").await, ["u599"]);
    let stats = pair.outbox.stats().await.expect("stats");
    assert_eq!((stats.pending, stats.dead, stats.delivered), (0, 0, 600));
    pair.stop().await;
}

async fn each_event_of_a_batch_gets_its_own_verdict(backend: Backend) {
    verdicts_of_one_batch(backend, false).await;
}

/// The same verdicts from a handler that writes the batch itself (no savepoints): a refused
/// event's inbox row is removed with it, so its redelivery applies it.
async fn a_handler_writing_whole_batches_gives_the_same_verdicts(backend: Backend) {
    verdicts_of_one_batch(backend, true).await;
}

async fn verdicts_of_one_batch(backend: Backend, batches: bool) {
    let pair = Pair::start(backend).await;
    pair.recorder
        .batches
        .store(batches, std::sync::atomic::Ordering::SeqCst);
    pair.recorder
        .poison
        .lock()
        .expect("lock")
        .insert("incident-p".to_owned());
    let channel = tonic::transport::Endpoint::from_shared(pair.receiver.url())
        .expect("url")
        .connect_lazy();
    let token: tonic::metadata::MetadataValue<_> = format!("Bearer {}", pair.admin_token)
        .parse()
        .expect("token");
    let mut sink =
        EventSinkServiceClient::with_interceptor(channel, move |mut r: tonic::Request<()>| {
            r.metadata_mut().insert("authorization", token.clone());
            Ok(r)
        });
    let batch = DeliverBatchRequest {
        destination: "intake".to_owned(),
        events: vec![
            envelope("ev-1", "incident-a", "a0"),
            envelope("ev-2", "incident-p", "p0"),
            envelope("ev-3", "incident-b", "b0"),
            envelope("ev-1", "incident-a", "a0"),
        ],
    };
    let outcomes = sink
        .deliver_batch(batch.clone())
        .await
        .expect("batch")
        .into_inner()
        .outcomes;
    let verdicts: Vec<(&str, bool, i32)> = outcomes
        .iter()
        .map(|o| (o.event_id.as_str(), o.duplicate, o.code))
        .collect();
    assert_eq!(
        verdicts,
        [
            ("ev-1", false, 0),
            ("ev-2", false, tonic::Code::FailedPrecondition as i32),
            ("ev-3", false, 0),
            ("ev-1", true, 0),
        ]
    );
    assert!(
        outcomes[1].message.contains("poisoned"),
        "{}",
        outcomes[1].message
    );
    assert_eq!(pair.applied("incident-a").await, ["a0"]);
    assert_eq!(pair.applied("incident-b").await, ["b0"]);
    assert!(pair.applied("incident-p").await.is_empty(), "refused alone");

    // Sent again once the receiver can apply it: only the refused event has an effect.
    pair.recorder.poison.lock().expect("lock").clear();
    let again = sink
        .deliver_batch(batch)
        .await
        .expect("batch again")
        .into_inner()
        .outcomes;
    let duplicates: Vec<bool> = again.iter().map(|o| o.duplicate).collect();
    assert_eq!(duplicates, [true, false, true, true]);
    assert!(again.iter().all(|o| o.code == 0));
    assert_eq!(pair.applied("incident-p").await, ["p0"]);
    assert_eq!(pair.applied_count().await, 3);

    // A batch without a destination is refused as a whole.
    let refused = sink
        .deliver_batch(DeliverBatchRequest {
            destination: String::new(),
            events: vec![envelope("ev-9", "incident-c", "c0")],
        })
        .await
        .expect_err("no destination");
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);
    assert_eq!(pair.applied_count().await, 3);
    pair.stop().await;
}

/// A service delivers only its own outbox's events: `intake` sending events whose source is
/// `dispatch` is refused naming the source (INVALID_ARGUMENT, a dead letter for a relay), alone
/// in a batch; nothing of them is applied. Dispatch's own relay still delivers them.
async fn a_service_cannot_deliver_another_services_events(backend: Backend) {
    let pair = Pair::start(backend).await;
    let channel = tonic::transport::Endpoint::from_shared(pair.receiver.url())
        .expect("url")
        .connect_lazy();
    let token: tonic::metadata::MetadataValue<_> = format!("Bearer {}", pair.intake_token)
        .parse()
        .expect("token");
    let mut as_intake =
        EventSinkServiceClient::with_interceptor(channel, move |mut r: tonic::Request<()>| {
            r.metadata_mut().insert("authorization", token.clone());
            Ok(r)
        });
    let forged = as_intake
        .deliver(DeliverRequest {
            destination: "intake".to_owned(),
            event: Some(envelope("ev-f1", "incident-f", "forged")),
        })
        .await
        .expect_err("dispatch's event delivered by intake");
    assert_eq!(forged.code(), tonic::Code::InvalidArgument, "{forged:?}");
    assert!(forged.message().contains("source"), "{forged:?}");

    let mut own = envelope("ev-f2", "incident-g", "own");
    own.source = "intake".to_owned();
    let outcomes = as_intake
        .deliver_batch(DeliverBatchRequest {
            destination: "intake".to_owned(),
            events: vec![envelope("ev-f3", "incident-f", "forged"), own],
        })
        .await
        .expect("batch")
        .into_inner()
        .outcomes;
    let codes: Vec<(&str, i32)> = outcomes
        .iter()
        .map(|o| (o.event_id.as_str(), o.code))
        .collect();
    assert_eq!(
        codes,
        [("ev-f3", tonic::Code::InvalidArgument as i32), ("ev-f2", 0)]
    );
    assert!(
        outcomes[0].message.contains("events[0].source") || outcomes[0].message.contains("source")
    );
    assert!(
        pair.applied("incident-f").await.is_empty(),
        "nothing forged applied"
    );
    assert_eq!(pair.applied("incident-g").await, ["own"]);

    // The sender's own relay (dispatch's credentials) delivers dispatch's events.
    pair.emit("incident-h", "h0").await;
    assert_eq!(pair.relay().drain().await.delivered, 1);
    assert_eq!(pair.applied("incident-h").await, ["h0"]);
    pair.stop().await;
}

pingan_platform::backend_tests!(
    one_round_delivers_a_large_backlog,
    each_event_of_a_batch_gets_its_own_verdict,
    a_handler_writing_whole_batches_gives_the_same_verdicts,
    a_service_cannot_deliver_another_services_events,
);
