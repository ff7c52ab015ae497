//! An open-loop load generator: requests leave at a fixed arrival rate whatever the server does,
//! and each latency is measured from the moment the request was due to leave, not from when it
//! actually left (coordinated omission corrected: a stalled server cannot hide its own queue).

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hdrhistogram::Histogram;
use tokio::time::Instant;

/// What one run measured.
#[derive(Debug, Clone)]
pub struct Latencies {
    /// Latencies in microseconds.
    pub histogram: Histogram<u64>,
    /// Answers that were OK.
    pub ok: u64,
    /// Failed answers by gRPC code name (and "timeout").
    pub errors: BTreeMap<String, u64>,
    /// Wall time of the run.
    pub elapsed: Duration,
}

impl Latencies {
    /// An empty record (1 µs to 10 min, 3 significant digits).
    pub fn new() -> Self {
        Self {
            histogram: new_histogram(),
            ok: 0,
            errors: BTreeMap::new(),
            elapsed: Duration::ZERO,
        }
    }

    /// Records one answer.
    pub fn record(&mut self, latency: Duration, result: Result<(), String>) {
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        // Values above the histogram's range are clamped to its top.
        self.histogram.saturating_record(micros.max(1));
        match result {
            Ok(()) => self.ok += 1,
            Err(code) => *self.errors.entry(code).or_default() += 1,
        }
    }

    /// A percentile in milliseconds.
    pub fn ms(&self, quantile: f64) -> f64 {
        self.histogram.value_at_quantile(quantile) as f64 / 1000.0
    }

    /// The largest latency in milliseconds.
    pub fn max_ms(&self) -> f64 {
        self.histogram.max() as f64 / 1000.0
    }

    /// Errors of every kind.
    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    /// "3 UNAVAILABLE, 1 timeout" or "none".
    pub fn error_summary(&self) -> String {
        if self.errors.is_empty() {
            return "none".to_owned();
        }
        self.errors
            .iter()
            .map(|(code, n)| format!("{n} {code}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl Default for Latencies {
    fn default() -> Self {
        Self::new()
    }
}

fn new_histogram() -> Histogram<u64> {
    // Constant bounds (1 µs to 10 min, 3 significant digits) that hdrhistogram always accepts.
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("constant histogram bounds are valid")
}

/// Sends `rate` requests per second for `duration`, each answer bounded by `timeout`.
pub async fn run<F, Fut>(rate: f64, duration: Duration, timeout: Duration, call: F) -> Latencies
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    let call = Arc::new(call);
    let total = (rate * duration.as_secs_f64()).round().max(1.0) as u64;
    let interval = Duration::from_secs_f64(1.0 / rate.max(0.001));
    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel();
    let start = Instant::now();
    for i in 0..total {
        let due = start + interval.mul_f64(i as f64);
        tokio::time::sleep_until(due).await;
        let sender = sender.clone();
        let request = call(i);
        tokio::spawn(async move {
            let result = match tokio::time::timeout(timeout, request).await {
                Ok(result) => result,
                Err(_) => Err("timeout".to_owned()),
            };
            // The receiver lives until every sender is gone.
            let _ = sender.send((due.elapsed(), result));
        });
    }
    drop(sender);
    let mut latencies = Latencies::new();
    while let Some((latency, result)) = receiver.recv().await {
        latencies.record(latency, result);
    }
    latencies.elapsed = start.elapsed();
    latencies
}

/// Runs `call` `count` times one after another (closed loop: the baseline of a single client).
pub async fn sequential<F, Fut>(count: u64, call: F) -> Latencies
where
    F: Fn(u64) -> Fut,
    Fut: Future<Output = Result<(), String>>,
{
    let mut latencies = Latencies::new();
    let start = Instant::now();
    for i in 0..count {
        let began = Instant::now();
        let result = call(i).await;
        latencies.record(began.elapsed(), result);
    }
    latencies.elapsed = start.elapsed();
    latencies
}

/// Runs `subject` and `baseline` alternately, `count` times each, one call at a time: both see
/// the same moment of a shared machine, so their ratio is not skewed by what else ran meanwhile.
pub async fn alternated<A, FutA, B, FutB>(
    count: u64,
    subject: A,
    baseline: B,
) -> (Latencies, Latencies)
where
    A: Fn(u64) -> FutA,
    FutA: Future<Output = Result<(), String>>,
    B: Fn(u64) -> FutB,
    FutB: Future<Output = Result<(), String>>,
{
    let mut subject_latencies = Latencies::new();
    let mut baseline_latencies = Latencies::new();
    let start = Instant::now();
    for i in 0..count {
        let began = Instant::now();
        let result = subject(i).await;
        subject_latencies.record(began.elapsed(), result);
        let began = Instant::now();
        let result = baseline(i).await;
        baseline_latencies.record(began.elapsed(), result);
    }
    subject_latencies.elapsed = start.elapsed();
    baseline_latencies.elapsed = subject_latencies.elapsed;
    (subject_latencies, baseline_latencies)
}

/// The median of `values` (NaN when empty).
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// The gRPC code name of a failed call.
pub fn code(status: &tonic::Status) -> String {
    format!("{:?}", status.code())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_stalled_answer_counts_from_when_the_request_was_due() {
        // 10 requests/s for 1 s; request 0 takes 500 ms, the rest answer at once.
        let latencies = run(
            10.0,
            Duration::from_secs(1),
            Duration::from_secs(5),
            |i| async move {
                if i == 0 {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Ok(())
            },
        )
        .await;
        assert_eq!(latencies.ok, 10);
        assert!(latencies.max_ms() >= 499.0, "{}", latencies.max_ms());
        assert!(latencies.ms(0.5) < 1.0);
    }

    #[tokio::test(start_paused = true)]
    async fn timeouts_and_errors_are_counted_by_kind() {
        let latencies = run(
            4.0,
            Duration::from_secs(1),
            Duration::from_millis(100),
            |i| async move {
                match i {
                    0 => {
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        Ok(())
                    }
                    1 => Err("Unavailable".to_owned()),
                    _ => Ok(()),
                }
            },
        )
        .await;
        assert_eq!(latencies.ok, 2);
        assert_eq!(latencies.error_summary(), "1 Unavailable, 1 timeout");
    }

    #[tokio::test(start_paused = true)]
    async fn alternated_calls_are_timed_apart() {
        let (subject, baseline) = alternated(
            20,
            |_| async {
                tokio::time::sleep(Duration::from_millis(3)).await;
                Ok(())
            },
            |i| async move {
                tokio::time::sleep(Duration::from_millis(1)).await;
                if i == 0 {
                    Err("Unavailable".to_owned())
                } else {
                    Ok(())
                }
            },
        )
        .await;
        assert_eq!(
            (subject.ok, baseline.ok, baseline.error_count()),
            (20, 19, 1)
        );
        assert!((subject.ms(0.5) - 3.0).abs() < 0.1, "{}", subject.ms(0.5));
        assert!((baseline.ms(0.5) - 1.0).abs() < 0.1, "{}", baseline.ms(0.5));
    }

    #[test]
    fn the_median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert!(median(&[]).is_nan());
    }
}
