//! `make bench`: starts Pingan itself in both shapes — `pingan dev` (six services in one process,
//! SQLite files) and six `pingan serve` processes over Postgres + Redis — loads it open-loop at
//! fixed arrival rates, and prints every figure beside a baseline measured in the same run
//! (Health/Check for RPC latency, raw GEOADD/GEOSEARCH on the same Redis for positions and
//! searches). `--smoke` runs the same rows in seconds with small sizes, so CI keeps the harness
//! from rotting; a missing Postgres or Redis fails it.

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use pingan_proto::dispatch::v1::dispatch_service_client::DispatchServiceClient;
use pingan_proto::events::v1::event_admin_service_client::EventAdminServiceClient;
use pingan_proto::intake::v1::intake_service_client::IntakeServiceClient;
use pingan_proto::triage::v1::triage_service_client::TriageServiceClient;
use tonic_health::pb::health_client::HealthClient;

use pingan_bench::report::{self, Row};
use pingan_bench::rows::{self, OUTBOX_SERVICES, Sizes, Target};
use pingan_bench::system::{self, Bearer};
use pingan_bench::{calls, six};

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
    /// Redis of the six-process shape and of the raw baselines.
    #[arg(
        long,
        env = "PINGAN_BENCH_REDIS_URL",
        default_value = "redis://127.0.0.1:6379"
    )]
    redis_url: String,
    /// Postgres server of the six-process shape: a fresh database per service is created on it
    /// for the run and dropped after.
    #[arg(
        long,
        env = "PINGAN_BENCH_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    database_url: String,
    /// Only the shapes named (dev, six); both by default.
    #[arg(long, value_delimiter = ',', default_value = "dev,six")]
    shapes: Vec<String>,
    /// Write the table and the machine to this Markdown file (e.g. docs/benchmarks.md).
    #[arg(long)]
    write: Option<PathBuf>,
    /// Print the rows as JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Only the ReportCall rows (with their baselines), e.g. to compare two builds of intake.
    #[arg(long)]
    calls_only: bool,
}

impl Args {
    fn sizes(&self) -> Sizes {
        Sizes {
            rates: self.rates.clone(),
            seconds: self.seconds,
            units: self.units,
            small: if self.smoke { 50 } else { 500 },
            one_by_one: if self.smoke { 20 } else { 200 },
            redis_url: self.redis_url.clone(),
            calls_only: self.calls_only,
            calls_for_memory: if self.smoke { 50 } else { 5_000 },
        }
    }
}

/// The rows of one shape.
#[derive(Debug, serde::Serialize)]
struct Section {
    title: &'static str,
    rows: Vec<Row>,
}

const DEV_TITLE: &str =
    "pingan dev (six services in one process, SQLite files, positions in process)";
const SIX_TITLE: &str = "six processes (`pingan serve <service>` each, Postgres + Redis)";

fn main() -> anyhow::Result<()> {
    let mut args = Args::parse();
    if args.smoke {
        args.rates = vec![20.0];
        args.seconds = 2;
        args.units = 500;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    let load_before = system::load_average();
    let mut sections = Vec::new();
    if args.shapes.iter().any(|s| s == "dev") {
        sections.push(Section {
            title: DEV_TITLE,
            rows: runtime.block_on(bench_dev(&args))?,
        });
    }
    if args.shapes.iter().any(|s| s == "six") {
        sections.push(Section {
            title: SIX_TITLE,
            rows: runtime.block_on(bench_six(&args))?,
        });
    }
    let load_after = system::load_average();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&sections)?);
    } else {
        for section in &sections {
            println!("{}\n\n{}", section.title, report::table(&section.rows));
        }
        println!("load average before {load_before}, after {load_after}");
    }
    if let Some(path) = &args.write {
        std::fs::write(path, document(&args, &sections, &load_before, &load_after))
            .with_context(|| format!("{}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    let errors = sections
        .iter()
        .flat_map(|s| &s.rows)
        .any(|r| r.measured.contains("error"));
    if args.smoke && errors {
        anyhow::bail!("smoke run saw errors");
    }
    Ok(())
}

/// Clients of `endpoint` carrying `bearer`.
async fn clients(
    endpoint: &str,
    bearer: &Bearer,
) -> anyhow::Result<(
    HealthClient<system::Grpc>,
    IntakeServiceClient<system::Grpc>,
    TriageServiceClient<system::Grpc>,
    DispatchServiceClient<system::Grpc>,
    EventAdminServiceClient<system::Grpc>,
)> {
    let channel = system::connect(endpoint).await?;
    let b = bearer.clone();
    Ok((
        HealthClient::with_interceptor(channel.clone(), b.clone()),
        IntakeServiceClient::with_interceptor(channel.clone(), b.clone()),
        TriageServiceClient::with_interceptor(channel.clone(), b.clone()),
        DispatchServiceClient::with_interceptor(channel.clone(), b.clone()),
        EventAdminServiceClient::with_interceptor(channel, b),
    ))
}

/// Every row on `pingan dev` (all six services in one process, SQLite files).
async fn bench_dev(args: &Args) -> anyhow::Result<Vec<Row>> {
    let binary = system::pingan_binary()?;
    let data = std::env::temp_dir().join(format!("pingan-bench-{}", uuid::Uuid::now_v7().simple()));
    let process = system::start_dev(&binary, &data).await?;
    let result = async {
        let (health, intake, triage, dispatch, admin) =
            clients(&process.endpoint, &Bearer::default()).await?;
        rows::wait_serving(&health, "pingan.intake.v1.IntakeService").await?;
        let rss_idle = process.rss_mib().unwrap_or(0.0);
        let target = Target {
            intake_health: health.clone(),
            dispatch_health: health,
            intake,
            triage,
            dispatch,
            outboxes: OUTBOX_SERVICES
                .iter()
                .map(|s| (*s, admin.clone()))
                .collect(),
            // One process: its receiver cannot be stopped alone (delivery keeps up, measured as such).
            audit_receiver_pid: None,
            memory_after_calls_pid: process.pid(),
        };
        let mut rows = rows::measure(&args.sizes(), &target).await?;
        let rss = process.rss_mib().unwrap_or(0.0);
        // After the calls, the units and their positions: more than the goal's 5,000 calls.
        rows.push(Row::new(
            if args.calls_only {
                "pingan dev RSS at the end of the run".to_owned()
            } else {
                format!(
                    "pingan dev RSS at the end of the run (also {} units and their positions)",
                    args.units
                )
            },
            format!("{rss:.0} MiB"),
            format!("idle {rss_idle:.0} MiB"),
            "—",
            None,
        ));
        anyhow::Ok(rows)
    }
    .await;
    process.stop().await?;
    let _ = std::fs::remove_dir_all(&data);
    result
}

/// Every row on six `pingan serve` processes over Postgres + Redis.
async fn bench_six(args: &Args) -> anyhow::Result<Vec<Row>> {
    let binary = system::pingan_binary()?;
    // Deliveries wait out complaints-audit's pause (the delivery row) instead of timing out.
    let options = six::Options {
        env: vec![(
            "PINGAN_EVENTS_DELIVERY_TIMEOUT".to_owned(),
            "600s".to_owned(),
        )],
        ..six::Options::default()
    };
    let six = six::start_with(
        &binary,
        &args.database_url,
        &args.redis_url,
        calls::JURISDICTION,
        &options,
    )
    .await?;
    let result = async {
        let bearer = Bearer::new(&six.token)?;
        let (intake_health, intake, _, _, intake_admin) =
            clients(&six.endpoint("intake")?, &bearer).await?;
        let (_, _, triage, _, triage_admin) = clients(&six.endpoint("triage")?, &bearer).await?;
        let (dispatch_health, _, _, dispatch, dispatch_admin) =
            clients(&six.endpoint("dispatch")?, &bearer).await?;
        let (_, _, _, _, audit_admin) =
            clients(&six.endpoint("complaints-audit")?, &bearer).await?;
        let idle: Vec<(&str, f64)> = six
            .instances
            .iter()
            .map(|i| (i.service, i.rss_mib().unwrap_or(0.0)))
            .collect();
        let target = Target {
            intake_health,
            dispatch_health,
            intake,
            triage,
            dispatch,
            outboxes: vec![
                ("dispatch", dispatch_admin),
                ("intake", intake_admin),
                ("triage", triage_admin),
                ("complaints-audit", audit_admin),
            ],
            audit_receiver_pid: six
                .instance("complaints-audit", 1)
                .and_then(|i| i.process())
                .and_then(|p| p.pid()),
            memory_after_calls_pid: None,
        };
        let mut rows = rows::measure(&args.sizes(), &target).await?;
        let mut total = 0.0;
        for (name, idle) in idle {
            let rss = six
                .instance(name, 1)
                .and_then(|i| i.rss_mib())
                .unwrap_or(0.0);
            total += rss;
            rows.push(Row::new(
                format!("RSS of `pingan serve {name}` at the end of the run"),
                format!("{rss:.0} MiB"),
                format!("idle {idle:.0} MiB"),
                "—",
                None,
            ));
        }
        rows.push(Row::new(
            "RSS of the six processes together",
            format!("{total:.0} MiB"),
            "—",
            "—",
            None,
        ));
        anyhow::Ok(rows)
    }
    .await;
    six.stop_and_clean().await?;
    result
}

fn document(args: &Args, sections: &[Section], load_before: &str, load_after: &str) -> String {
    let mut tables = String::new();
    for section in sections {
        tables.push_str(&format!(
            "## {}\n\n{}\n",
            section.title,
            report::markdown(&section.rows)
        ));
    }
    format!(
        "# Benchmarks\n\n`make bench` (services/bench, `pingan-bench`) starts the shipped build (`dist` profile: release with whole-program LTO) itself in \
         two shapes and measures each open-loop: requests leave at a fixed arrival rate and each \
         latency counts from when the request was due (coordinated omission corrected), in HDR \
         histograms. Every timing stands beside a baseline measured in the same run. `make \
         bench-smoke` runs the same rows in seconds with small sizes (CI).\n\n\
         - `pingan dev`: all six services in one process on SQLite files, positions in process.\n\
         - six processes: `pingan serve <service>` for each service, each on a fresh Postgres \
         database of its own (created for the run, dropped after; {} connections per pool), \
         dispatch's positions in Redis under a key prefix of the run (deleted after), peers \
         wired over loopback gRPC, bearer tokens checked; the demo jurisdiction loaded with \
         `pingan registry import`. Raw GEOADD/GEOSEARCH run on the same Redis.\n\n\
         - machine: {}\n- load average (1, 5, 15 min) before the run: {load_before}; after: {load_after}\n\
         - date: {}\n- mode: {}\n\n{}{}{}",
        six::POOL_PER_PROCESS,
        system::machine(),
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        if args.smoke {
            "smoke (small sizes; not comparable with the goals)"
        } else {
            "full"
        },
        busy_warning(load_before),
        tables,
        NOTE,
    )
}

/// A warning above the tables when the machine was busy before the run started (a 1-minute load
/// average above half the cores): the figures then measure the other work as much as Pingan.
fn busy_warning(load_before: &str) -> String {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    let load: f64 = load_before
        .split(',')
        .next()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or(0.0);
    if load > cores / 2.0 {
        format!(
            "**Taken on a busy machine** (1-minute load {load:.1} on {cores:.0} cores before the \
             run, from other work): latencies are overstated and rates understated. These figures \
             show the harness works and the order of magnitude; they are not a verdict on the \
             goals. Re-run `make bench` on an idle machine for that.\n\n"
        )
    } else {
        String::new()
    }
}

/// Read before trusting a figure.
const NOTE: &str = "The machine is shared: other builds may run during the bench, and the load \
average above says how busy it was. Figures taken under load overstate latencies and understate \
rates; compare a row with its same-run baseline rather than with another run.\n";
