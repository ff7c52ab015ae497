//! The outbox's Prometheus metrics follow what the relay sees: depth and attempts/failures while
//! the receiver is down, back to zero pending once delivered. Alone in its test binary, since the
//! metrics registry is per process.

mod common;

use common::events::Pair;
use pingan_platform::metrics::render;
use pingan_platform::storage::Backend;

fn sample(text: &str, metric: &str) -> Option<f64> {
    text.lines()
        .find(|line| line.starts_with(metric))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbox_gauges_and_counters_follow_the_relay() {
    let pair = Pair::start(Backend::Sqlite).await;
    let relay = pair.relay();
    pair.proxy.cut();
    for n in 0..3 {
        pair.emit(&format!("incident-{n}"), "x").await;
    }
    assert_eq!(relay.run_once().await.retried, 3);
    relay.publish_metrics().await;
    let text = render();
    assert_eq!(
        sample(&text, r#"pingan_outbox_pending{service="dispatch"}"#),
        Some(3.0)
    );
    assert_eq!(
        sample(&text, r#"pingan_outbox_dead_letters{service="dispatch"}"#),
        Some(0.0)
    );
    assert!(
        sample(
            &text,
            r#"pingan_outbox_oldest_pending_seconds{service="dispatch"}"#
        )
        .is_some()
    );
    let attempts =
        r#"pingan_outbox_delivery_attempts_total{destination="intake",service="dispatch"}"#;
    let failures =
        r#"pingan_outbox_delivery_failures_total{destination="intake",service="dispatch"}"#;
    assert_eq!(sample(&text, attempts), Some(3.0), "{text}");
    assert_eq!(sample(&text, failures), Some(3.0));

    pair.proxy.restore();
    pair.pass_backoff();
    assert_eq!(relay.drain().await.delivered, 3);
    relay.publish_metrics().await;
    let text = render();
    assert_eq!(
        sample(&text, r#"pingan_outbox_pending{service="dispatch"}"#),
        Some(0.0)
    );
    assert_eq!(sample(&text, attempts), Some(6.0));
    assert_eq!(sample(&text, failures), Some(3.0));
    pair.stop().await;
}
