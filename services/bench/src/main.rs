//! `make bench`: starts `pingan dev` itself, loads it open-loop at fixed arrival rates, and
//! prints every figure beside a baseline measured in the same run (Health/Check for RPC latency,
//! raw GEOADD/GEOSEARCH on the same Redis for positions and searches). `--smoke` runs the same
//! rows in seconds with small sizes, so CI keeps the harness from rotting.

mod calls;
mod fleet;
mod open_loop;
mod report;
mod system;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use pingan_proto::dispatch::v1::dispatch_service_client::DispatchServiceClient;
use pingan_proto::events::v1::GetOutboxStatsRequest;
use pingan_proto::events::v1::event_admin_service_client::EventAdminServiceClient;
use pingan_proto::intake::v1::intake_service_client::IntakeServiceClient;
use pingan_proto::triage::v1::triage_service_client::TriageServiceClient;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

use crate::calls::{CallLoad, Places};
use crate::open_loop::{Latencies, code};
use crate::report::{Row, p50_p99};

/// Measures Pingan on this machine.
#[derive(Debug, Parser)]
#[command(name = "pingan-bench", version)]
struct Args {
    /// Seconds and small sizes (CI): every row, figures not comparable with the goals.
    #[arg(long)]
    smoke: bool,
    /// Arrival rates of the ReportCall rows, calls per second.
    #[arg(long, value_delimiter = ',', default_value = "50,200,400")]
    rates: Vec<f64>,
    /// Seconds per ReportCall rate.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Live units of the FindNearestUnits and position rows.
    #[arg(long, default_value_t = 20_000)]
    units: usize,
    /// Redis for the raw baselines.
    #[arg(
        long,
        env = "PINGAN_BENCH_REDIS_URL",
        default_value = "redis://127.0.0.1:6379"
    )]
    redis_url: String,
    /// Write the table and the machine to this Markdown file (e.g. docs/benchmarks.md).
    #[arg(long)]
    write: Option<PathBuf>,
    /// Print the rows as JSON instead of a table.
    #[arg(long)]
    json: bool,
}

fn main() -> anyhow::Result<()> {
    let mut args = Args::parse();
    if args.smoke {
        args.rates = vec![20.0];
        args.seconds = 2;
        args.units = 200;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    let rows = runtime.block_on(bench_dev(&args))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        println!("{}", report::table(&rows));
    }
    if let Some(path) = &args.write {
        std::fs::write(path, document(&args, &rows))
            .with_context(|| format!("{}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    if args.smoke && rows.iter().any(|r| r.measured.contains("error")) {
        anyhow::bail!("smoke run saw errors");
    }
    Ok(())
}

/// Every row on `pingan dev` (all six services in one process, SQLite files).
async fn bench_dev(args: &Args) -> anyhow::Result<Vec<Row>> {
    let binary = system::pingan_binary()?;
    let data = std::env::temp_dir().join(format!("pingan-bench-{}", uuid::Uuid::now_v7().simple()));
    let process = system::start_dev(&binary, &data).await?;
    let result = measure(args, &process).await;
    let rss_end = process.rss_mib();
    process.stop().await?;
    let _ = std::fs::remove_dir_all(&data);
    let mut rows = result?;
    if let Some(rss) = rss_end {
        rows.push(Row::new(
            "pingan dev RSS at the end of the run",
            format!("{rss:.0} MiB"),
            "—",
            "≤ 120 MB after 5,000 calls",
            None,
        ));
    }
    Ok(rows)
}

async fn measure(args: &Args, process: &system::Process) -> anyhow::Result<Vec<Row>> {
    let channel = process.channel().await?;
    let run = uuid::Uuid::now_v7().simple().to_string()[20..].to_owned();
    let health = HealthClient::new(channel.clone());
    wait_serving(&health).await?;
    let mut rows = Vec::new();
    let rss_idle = process.rss_mib().unwrap_or(0.0);
    let small = if args.smoke { 50 } else { 500 };

    let baseline = health_latency(&health, small).await;
    let base = format!("Health/Check {}", p50_p99(&baseline));

    let triage = TriageServiceClient::new(channel.clone());
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
        client: IntakeServiceClient::new(channel.clone()),
        places: Arc::new(Places::demo()?),
        run: run.clone(),
    };
    let one_by_one = open_loop::sequential(if args.smoke { 20 } else { 200 }, |i| {
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
        with_errors(p50_p99(&one_by_one), &one_by_one),
        base.clone(),
        "p99 ≤ 50 ms",
        Some(one_by_one.ms(0.99) <= 50.0 && one_by_one.error_count() == 0),
    ));
    for &rate in &args.rates {
        let load = load.clone();
        let tag = format!("{}r{rate}", load.run);
        let latencies = open_loop::run(
            rate,
            Duration::from_secs(args.seconds),
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
                args.seconds
            ),
            with_errors(
                format!("{}, max {:.0} ms", p50_p99(&latencies), latencies.max_ms()),
                &latencies,
            ),
            base.clone(),
            "no errors, p99 ≤ 50 ms",
            Some(latencies.ms(0.99) <= 50.0 && latencies.error_count() == 0),
        ));
    }
    let rss_calls = process.rss_mib().unwrap_or(0.0);
    rows.push(Row::new(
        "pingan dev RSS after the calls",
        format!("{rss_calls:.0} MiB"),
        format!("idle {rss_idle:.0} MiB"),
        "≤ 120 MB after 5,000 calls",
        Some(rss_calls <= 120.0 * 1_000_000.0 / 1_048_576.0),
    ));

    let dispatch = DispatchServiceClient::new(channel.clone());
    let registering = fleet::register_units(&dispatch, &run, args.units).await?;
    rows.push(Row::new(
        format!("RegisterUnit ×{} (32 in flight)", args.units),
        format!(
            "{:.0} units/s",
            args.units as f64 / registering.as_secs_f64()
        ),
        "—",
        "—",
        None,
    ));
    rows.push(outbox_drain(EventAdminServiceClient::new(channel.clone())).await?);
    let ingest = fleet::ingest_positions(&dispatch, &run, args.units).await?;
    let raw = fleet::raw_redis(&args.redis_url, &run, args.units, small).await?;
    rows.push(Row::new(
        format!("ReportPositions, streams of {} fixes", fleet::BATCH),
        format!("{ingest:.0} fixes/s"),
        format!("raw GEOADD ×{}: {:.0}/s", fleet::BATCH, raw.geoadd_per_s),
        "≥ 0.5× raw GEOADD",
        Some(ingest >= 0.5 * raw.geoadd_per_s),
    ));
    let nearest = fleet::nearest(&dispatch, small).await;
    rows.push(Row::new(
        format!(
            "FindNearestUnits, {} live units, r = 5 km, limit 5",
            args.units
        ),
        with_errors(p50_p99(&nearest), &nearest),
        format!("raw GEOSEARCH {}", p50_p99(&raw.geosearch)),
        "p99 ≤ 2 ms",
        Some(nearest.ms(0.99) <= 2.0 && nearest.error_count() == 0),
    ));
    rows.push(Row::new(
        "small RPC (FindNearestUnits) against Health/Check",
        format!("p50 {:.2} ms", nearest.ms(0.5)),
        format!("Health/Check p50 {:.2} ms", baseline.ms(0.5)),
        "≤ 1.5× Health/Check",
        Some(nearest.ms(0.5) <= 1.5 * baseline.ms(0.5).max(0.001)),
    ));
    Ok(rows)
}

fn with_errors(figure: String, latencies: &Latencies) -> String {
    if latencies.error_count() == 0 {
        figure
    } else {
        format!("{figure}; errors: {}", latencies.error_summary())
    }
}

async fn wait_serving(health: &HealthClient<tonic::transport::Channel>) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut client = health.clone();
        let answer = client
            .check(HealthCheckRequest {
                service: "pingan.intake.v1.IntakeService".to_owned(),
            })
            .await;
        if matches!(&answer, Ok(a) if a.get_ref().status == 1) {
            return Ok(());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "pingan did not become SERVING within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn health_latency(health: &HealthClient<tonic::transport::Channel>, count: u64) -> Latencies {
    open_loop::sequential(count, |_| {
        let mut client = health.clone();
        async move {
            client
                .check(HealthCheckRequest::default())
                .await
                .map(|_| ())
                .map_err(|s| code(&s))
        }
    })
    .await
}

/// How fast the outboxes deliver what the unit registrations queued (audit events).
async fn outbox_drain(
    admin: EventAdminServiceClient<tonic::transport::Channel>,
) -> anyhow::Result<Row> {
    let pending = |mut admin: EventAdminServiceClient<tonic::transport::Channel>| async move {
        let mut total = 0;
        for service in ["dispatch", "intake", "triage", "complaints-audit"] {
            let stats = admin
                .get_outbox_stats(GetOutboxStatsRequest {
                    service: service.to_owned(),
                })
                .await
                .map_err(|s| anyhow::anyhow!("GetOutboxStats {service}: {}", s.message()))?;
            total += stats.get_ref().pending;
        }
        Ok::<i64, anyhow::Error>(total)
    };
    let started = Instant::now();
    let first = pending(admin.clone()).await?;
    let deadline = started + Duration::from_secs(300);
    let mut left = first;
    while left > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
        left = pending(admin.clone()).await?;
    }
    let seconds = started.elapsed().as_secs_f64();
    let delivered = first - left;
    Ok(Row::new(
        "outbox delivery after the registrations",
        format!(
            "{:.0} events/s ({delivered} drained in {seconds:.1} s, {left} left)",
            delivered as f64 / seconds
        ),
        "—",
        "≥ 5,000 events/s per service",
        (first >= 1_000).then_some(delivered as f64 / seconds >= 5_000.0 && left == 0),
    ))
}

fn document(args: &Args, rows: &[Row]) -> String {
    format!(
        "# Benchmarks\n\n`make bench` (services/bench, `pingan-bench`) starts the release `pingan dev` itself \
         (all six services in one process on SQLite files, positions in process) and measures it \
         open-loop: requests leave at a fixed arrival rate and each latency counts from when the \
         request was due (coordinated omission corrected), in HDR histograms. Every timing stands \
         beside a baseline measured in the same run. `make bench-smoke` runs the same rows in seconds.\n\n\
         - machine: {}\n- date: {}\n- mode: {}\n\n{}\n\
         Not yet measured by the harness: the six-process shape over Postgres + Redis (FindNearestUnits \
         on Redis, ReportCall per process, RSS per process) — the rows above are the embedded shape.\n",
        system::machine(),
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        if args.smoke {
            "smoke (small sizes; not comparable with the goals)"
        } else {
            "full"
        },
        report::markdown(rows)
    )
}
