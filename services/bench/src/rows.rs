//! The rows both shapes are measured on, against a [`Target`]: the clients of the services under
//! test (one endpoint for `pingan dev`, one per process for the six-process shape) and the
//! processes whose memory is read.

use std::sync::Arc;
use std::time::{Duration, Instant};

use pingan_proto::dispatch::v1::dispatch_service_client::DispatchServiceClient;
use pingan_proto::events::v1::GetOutboxStatsRequest;
use pingan_proto::events::v1::event_admin_service_client::EventAdminServiceClient;
use pingan_proto::intake::v1::intake_service_client::IntakeServiceClient;
use pingan_proto::triage::v1::triage_service_client::TriageServiceClient;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

use crate::calls::{self, CallLoad, Places};
use crate::fleet;
use crate::open_loop::{self, Latencies, code};
use crate::report::{Row, p50_p99};
use crate::system::Grpc;

/// The services whose outboxes the delivery row drains.
pub const OUTBOX_SERVICES: [&str; 4] = ["dispatch", "intake", "triage", "complaints-audit"];

/// What the rows are measured against.
#[derive(Debug, Clone)]
pub struct Target {
    /// Health of the process serving intake (the ReportCall baseline).
    pub intake_health: HealthClient<Grpc>,
    /// Health of the process serving dispatch (the FindNearestUnits baseline).
    pub dispatch_health: HealthClient<Grpc>,
    /// Intake.
    pub intake: IntakeServiceClient<Grpc>,
    /// Triage.
    pub triage: TriageServiceClient<Grpc>,
    /// Dispatch.
    pub dispatch: DispatchServiceClient<Grpc>,
    /// Each outbox service's admin (the process that hosts it).
    pub outboxes: Vec<(&'static str, EventAdminServiceClient<Grpc>)>,
    /// The process receiving the registrations' audit events, when it runs apart: stopped
    /// (SIGSTOP) while the registrations queue their events and resumed after, so the delivery
    /// row measures the drain of a real backlog rather than delivery keeping up with production.
    pub audit_receiver_pid: Option<u32>,
    /// The process whose memory is read once the calls are in (`pingan dev`: the issue's
    /// "RSS after 5,000 calls"); calls are topped up to [`Sizes::calls_for_memory`] first.
    pub memory_after_calls_pid: Option<u32>,
}

/// Sizes of one run.
#[derive(Debug, Clone)]
pub struct Sizes {
    /// ReportCall arrival rates.
    pub rates: Vec<f64>,
    /// Seconds per rate.
    pub seconds: u64,
    /// Live units.
    pub units: usize,
    /// Requests of the one-at-a-time rows.
    pub small: u64,
    /// ReportCalls one at a time.
    pub one_by_one: u64,
    /// Redis of the raw baselines.
    pub redis_url: String,
    /// Only the ReportCall rows (and their baselines): the other rows are skipped.
    pub calls_only: bool,
    /// Calls accepted before the memory of [`Target::memory_after_calls_pid`] is read.
    pub calls_for_memory: u64,
}

/// Every row on `target`; RSS rows are the caller's (it knows the shape's goal).
pub async fn measure(sizes: &Sizes, target: &Target) -> anyhow::Result<Vec<Row>> {
    let run = uuid::Uuid::now_v7().simple().to_string()[20..].to_owned();
    let mut rows = Vec::new();
    let small = sizes.small;

    let baseline = health_latency(&target.intake_health, small).await;
    let base = format!("Health/Check {}", p50_p99(&baseline));

    let triage = target.triage.clone();
    let classify = open_loop::sequential(small, |i| {
        let text = calls::DESCRIPTIONS[(i as usize) % calls::DESCRIPTIONS.len()];
        let triage = triage.clone();
        async move { calls::classify(&triage, text).await }
    })
    .await;
    rows.push(Row::new(
        "Classify over gRPC, one at a time",
        with_errors(p50_p99(&classify), &classify),
        base.clone(),
        "p99 < 2 ms (classifier)",
        Some(classify.ms(0.99) < 2.0 && classify.error_count() == 0),
    ));

    let load = CallLoad {
        client: target.intake.clone(),
        places: Arc::new(Places::demo()?),
        run: run.clone(),
    };
    let one_by_one = open_loop::sequential(sizes.one_by_one, |i| {
        let load = load.clone();
        async move {
            calls::report(
                &load.client,
                calls::call(&load.places, &format!("{}s", load.run), i),
            )
            .await
        }
    })
    .await;
    rows.push(Row::new(
        "ReportCall, one at a time",
        with_errors(
            format!(
                "{}, max {:.0} ms",
                p50_p99(&one_by_one),
                one_by_one.max_ms()
            ),
            &one_by_one,
        ),
        base.clone(),
        "p99 ≤ 50 ms",
        Some(one_by_one.ms(0.99) <= 50.0 && one_by_one.error_count() == 0),
    ));
    let mut accepted = one_by_one.ok;
    for &rate in &sizes.rates {
        let load = load.clone();
        let tag = format!("{}r{rate}", load.run);
        let latencies = open_loop::run(
            rate,
            Duration::from_secs(sizes.seconds),
            Duration::from_secs(30),
            move |i| {
                let load = load.clone();
                let request = calls::call(&load.places, &tag, i);
                async move { calls::report(&load.client, request).await }
            },
        )
        .await;
        rows.push(Row::new(
            format!(
                "ReportCall at {rate:.0} calls/s for {} s (open loop)",
                sizes.seconds
            ),
            with_errors(
                format!("{}, max {:.0} ms", p50_p99(&latencies), latencies.max_ms()),
                &latencies,
            ),
            base.clone(),
            "no errors, p99 ≤ 50 ms",
            Some(latencies.ms(0.99) <= 50.0 && latencies.error_count() == 0),
        ));
        accepted += latencies.ok;
    }
    if let Some(pid) = target.memory_after_calls_pid {
        rows.push(memory_after_calls(&load, pid, accepted, sizes.calls_for_memory).await);
    }

    if sizes.calls_only {
        return Ok(rows);
    }
    if let Some(pid) = target.audit_receiver_pid {
        signal(pid, "-STOP").await?;
    }
    let registering = fleet::register_units(&target.dispatch, &run, sizes.units).await;
    if let Some(pid) = target.audit_receiver_pid {
        signal(pid, "-CONT").await?;
    }
    let registering = registering?;
    rows.push(Row::new(
        format!("RegisterUnit ×{} (32 in flight)", sizes.units),
        format!(
            "{:.0} units/s",
            sizes.units as f64 / registering.as_secs_f64()
        ),
        "—",
        "—",
        None,
    ));
    rows.push(outbox_drain(&target.outboxes).await?);
    // The first report of each unit also warms the live store after the restart (every unit read
    // from the database once); devices report again every few seconds, which the second pass is.
    let first = fleet::ingest_positions(&target.dispatch, &run, sizes.units).await?;
    let ingest = fleet::ingest_positions(&target.dispatch, &run, sizes.units).await?;
    let raw = fleet::raw_redis(&sizes.redis_url, &run, sizes.units, small).await?;
    let geoadd = format!("raw GEOADD ×{}: {:.0}/s", fleet::BATCH, raw.geoadd_per_s);
    rows.push(Row::new(
        format!(
            "ReportPositions, streams of {} fixes, each unit's first report after the start",
            fleet::BATCH
        ),
        format!("{first:.0} fixes/s"),
        geoadd.clone(),
        "—",
        None,
    ));
    rows.push(Row::new(
        format!(
            "ReportPositions, streams of {} fixes, each unit reporting again",
            fleet::BATCH
        ),
        format!("{ingest:.0} fixes/s"),
        geoadd,
        "≥ 0.5× raw GEOADD",
        Some(ingest >= 0.5 * raw.geoadd_per_s),
    ));
    let nearest = fleet::nearest(&target.dispatch, small).await;
    rows.push(Row::new(
        format!(
            "FindNearestUnits, {} live units, r = 5 km, limit 5",
            sizes.units
        ),
        with_errors(p50_p99(&nearest), &nearest),
        format!("raw GEOSEARCH {}", p50_p99(&raw.geosearch)),
        "p99 ≤ 2 ms",
        Some(nearest.ms(0.99) <= 2.0 && nearest.error_count() == 0),
    ));
    rows.push(small_rpc(target, small).await);
    Ok(rows)
}

/// Rounds of the small-RPC comparison: its verdict is the median round, not one lucky or
/// unlucky stretch of a tenth-of-a-millisecond measurement on a shared machine.
const SMALL_RPC_ROUNDS: u64 = 5;

/// FindNearestUnits against Health/Check of the same process, alternated call by call, in
/// [`SMALL_RPC_ROUNDS`] rounds of `small` calls each; the goal is read on the median round's
/// p50 ratio.
async fn small_rpc(target: &Target, small: u64) -> Row {
    let mut ratios = Vec::new();
    let mut subject = Latencies::new();
    let mut baseline = Latencies::new();
    for _ in 0..SMALL_RPC_ROUNDS {
        let (nearest, health) = open_loop::alternated(
            small,
            |_| fleet::nearest_once(&target.dispatch),
            |_| health_once(&target.dispatch_health),
        )
        .await;
        ratios.push(nearest.ms(0.5) / health.ms(0.5).max(0.001));
        merge(&mut subject, &nearest);
        merge(&mut baseline, &health);
    }
    let ratio = open_loop::median(&ratios);
    let (low, high) = ratios.iter().fold((f64::INFINITY, 0.0_f64), |(lo, hi), r| {
        (lo.min(*r), hi.max(*r))
    });
    Row::new(
        "small RPC (FindNearestUnits) against Health/Check, alternated call by call",
        with_errors(
            format!(
                "p50 {:.3} ms; p50 ratio per round {low:.2}–{high:.2}×, median {ratio:.2}× \
                 ({SMALL_RPC_ROUNDS} rounds of {small})",
                subject.ms(0.5)
            ),
            &subject,
        ),
        format!("Health/Check p50 {:.3} ms", baseline.ms(0.5)),
        "≤ 1.5× Health/Check (median round)",
        Some(ratio <= 1.5 && subject.error_count() == 0),
    )
}

/// Adds `more`'s answers to `into`.
fn merge(into: &mut Latencies, more: &Latencies) {
    // Both histograms share one range, so adding cannot fail; a failure would only lose figures.
    let _ = into.histogram.add(&more.histogram);
    into.ok += more.ok;
    for (code, count) in &more.errors {
        *into.errors.entry(code.clone()).or_default() += count;
    }
    into.elapsed += more.elapsed;
}

/// Calls in flight while topping up to the memory row's count.
const TOP_UP_IN_FLIGHT: u64 = 8;

/// Tops the accepted calls up to `wanted` (a few in flight, closed loop: the server's memory
/// after so many calls, not under an overload), then reads `pid`'s resident memory.
async fn memory_after_calls(load: &CallLoad, pid: u32, mut accepted: u64, wanted: u64) -> Row {
    let mut next = 0_u64;
    let mut failures = 0_u64;
    // A server that refuses every call must not keep the bench here forever.
    while accepted < wanted && failures < wanted {
        let batch = (wanted - accepted).min(TOP_UP_IN_FLIGHT);
        let answers = futures::future::join_all((0..batch).map(|_| {
            next += 1;
            let request = calls::call(&load.places, &format!("{}m", load.run), next);
            // A server that stops answering fails the call instead of holding the bench.
            tokio::time::timeout(
                Duration::from_secs(30),
                calls::report(&load.client, request),
            )
        }))
        .await;
        for answer in answers {
            match answer {
                Ok(Ok(())) => accepted += 1,
                _ => failures += 1,
            }
        }
    }
    let rss = crate::system::rss_mib(pid).unwrap_or(0.0);
    let enough = accepted >= wanted;
    Row::new(
        format!("pingan dev RSS after {accepted} calls accepted"),
        format!("{rss:.0} MiB"),
        "—",
        "≤ 120 MB after 5,000 calls",
        enough.then_some(rss <= MEMORY_GOAL_MIB),
    )
}

/// The memory goal, 120 MB, in MiB.
pub const MEMORY_GOAL_MIB: f64 = 120.0 * 1_000_000.0 / 1_048_576.0;

/// Sends `signal` (e.g. `-STOP`) to process `pid`.
async fn signal(pid: u32, signal: &str) -> anyhow::Result<()> {
    let status = tokio::process::Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .await?;
    anyhow::ensure!(status.success(), "kill {signal} {pid} failed");
    Ok(())
}

/// "p50 …; errors: 3 Unavailable" when some failed.
pub fn with_errors(figure: String, latencies: &Latencies) -> String {
    if latencies.error_count() == 0 {
        figure
    } else {
        format!("{figure}; errors: {}", latencies.error_summary())
    }
}

/// Waits until `health` says `service` is SERVING (60 s at most).
pub async fn wait_serving(health: &HealthClient<Grpc>, service: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut client = health.clone();
        let answer = client
            .check(HealthCheckRequest {
                service: service.to_owned(),
            })
            .await;
        if matches!(&answer, Ok(a) if a.get_ref().status == 1) {
            return Ok(());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "{service} did not become SERVING within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn health_latency(health: &HealthClient<Grpc>, count: u64) -> Latencies {
    open_loop::sequential(count, |_| health_once(health)).await
}

async fn health_once(health: &HealthClient<Grpc>) -> Result<(), String> {
    health
        .clone()
        .check(HealthCheckRequest::default())
        .await
        .map(|_| ())
        .map_err(|s| code(&s))
}

/// How fast the outboxes deliver what the unit registrations queued (audit events).
async fn outbox_drain(
    outboxes: &[(&'static str, EventAdminServiceClient<Grpc>)],
) -> anyhow::Result<Row> {
    let pending = || async {
        let mut total = 0;
        for (service, admin) in outboxes {
            let stats = admin
                .clone()
                .get_outbox_stats(GetOutboxStatsRequest {
                    service: (*service).to_owned(),
                })
                .await
                .map_err(|s| anyhow::anyhow!("GetOutboxStats {service}: {}", s.message()))?;
            total += stats.get_ref().pending;
        }
        Ok::<i64, anyhow::Error>(total)
    };
    let started = Instant::now();
    let first = pending().await?;
    let deadline = started + Duration::from_secs(300);
    let mut left = first;
    while left > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
        left = pending().await?;
    }
    let seconds = started.elapsed().as_secs_f64();
    let delivered = first - left;
    Ok(Row::new(
        "outbox delivery of the registrations' backlog",
        format!(
            "{:.0} events/s ({delivered} drained in {seconds:.1} s, {left} left)",
            delivered as f64 / seconds
        ),
        "—",
        "≥ 5,000 events/s per service",
        (first >= 1_000).then_some(delivered as f64 / seconds >= 5_000.0 && left == 0),
    ))
}
