//! Waiting for exported spans in the trace tests.

use std::time::Duration;

use opentelemetry_sdk::trace::{InMemorySpanExporter, SpanData};

/// Waits (at most 5 s) until spans named `wanted` have all been exported; returns every span.
pub async fn wait_for_spans(exporter: &InMemorySpanExporter, wanted: &[&str]) -> Vec<SpanData> {
    let wait = async {
        loop {
            let spans = exporter.get_finished_spans().expect("spans");
            if wanted.iter().all(|w| spans.iter().any(|s| s.name == *w)) {
                return spans;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    match tokio::time::timeout(Duration::from_secs(5), wait).await {
        Ok(spans) => spans,
        Err(_) => {
            let names: Vec<String> = exporter
                .get_finished_spans()
                .unwrap_or_default()
                .iter()
                .map(|s| s.name.to_string())
                .collect();
            panic!("spans {wanted:?} not all exported; have {names:?}")
        }
    }
}

/// The span named `name`.
pub fn find<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
    spans
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no span {name}"))
}

/// Waits (at most 5 s) until `predicate` holds for the exported spans; returns every span.
pub async fn wait_until(
    exporter: &InMemorySpanExporter,
    what: &str,
    predicate: impl Fn(&[SpanData]) -> bool,
) -> Vec<SpanData> {
    let wait = async {
        loop {
            let spans = exporter.get_finished_spans().expect("spans");
            if predicate(&spans) {
                return spans;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    match tokio::time::timeout(Duration::from_secs(5), wait).await {
        Ok(spans) => spans,
        Err(_) => {
            let names: Vec<String> = exporter
                .get_finished_spans()
                .unwrap_or_default()
                .iter()
                .map(|s| format!("{} ({:?})", s.name, s.span_kind))
                .collect();
            panic!("spans never showed {what}; have {names:?}")
        }
    }
}

/// How many exported spans are named `name`.
pub fn count(spans: &[SpanData], name: &str) -> usize {
    spans.iter().filter(|s| s.name == name).count()
}
