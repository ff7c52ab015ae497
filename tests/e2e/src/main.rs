//! `make e2e`: the shape users deploy — one `pingan serve` process per service on Postgres +
//! Redis, two replicas of intake, dispatch and grid-registry behind round-robin relays — with an
//! OTLP receiver, a stand-in 12345 gateway, the demo jurisdiction and the fleet simulator, under
//! faults (kill -9, database cuts, 12345 down), tested as a client would: gRPC only. The shape
//! runs mutual TLS between every process (and TLS to Postgres) unless `--plaintext`. Prints each
//! scenario's figures and a final table; exits non-zero when a scenario fails.

mod board;
mod common;
mod cuts;
mod gateway;
mod grid;
mod hotline;
mod kills;
mod mtls;
mod otlp;
mod trace;
mod world;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;

use crate::common::Verdict;
use crate::world::{Setup, World};

/// Every scenario, by letter and name, in the order they run.
const SCENARIOS: [(&str, &str); 7] = [
    ("g", "mtls"),
    ("a", "trace"),
    ("f", "grid"),
    ("e", "board"),
    ("c", "cuts"),
    ("d", "hotline"),
    ("b", "kills"),
];

/// The deployment shape under faults.
#[derive(Debug, Parser)]
#[command(name = "pingan-e2e", version)]
struct Args {
    /// Scenarios to run, by letter or name (a/trace, b/kills, c/cuts, d/hotline, e/board,
    /// f/grid, g/mtls); all by default.
    #[arg(long, value_delimiter = ',', default_value = "a,b,c,d,e,f,g")]
    scenarios: Vec<String>,
    /// Run the shape without TLS (scenario g is then skipped).
    #[arg(long)]
    plaintext: bool,
    /// Reach Postgres in plaintext (TLS, `sslmode=require`, by default).
    #[arg(long)]
    database_plaintext: bool,
    /// How long the 12345 gateway stays down in scenario d, seconds.
    #[arg(long, default_value_t = 60)]
    gateway_down: u64,
    /// Calls of the kill -9 stream (scenario b).
    #[arg(long, default_value_t = 500)]
    calls: usize,
    /// Calls per second of the kill -9 stream.
    #[arg(long, default_value_t = 20.0)]
    rate: f64,
    /// Seconds between a kill -9 and the restart.
    #[arg(long, default_value_t = 3)]
    restart_after: u64,
    /// Dispatches opened at once over the units of scenario e.
    #[arg(long, default_value_t = 500)]
    dispatches: usize,
    /// Units of scenario e.
    #[arg(long, default_value_t = 50)]
    units: usize,
    /// Health interval of every process, milliseconds.
    #[arg(long, default_value_t = 500)]
    health_interval_ms: u64,
    /// Position reports per second of the fleet simulator.
    #[arg(long, default_value_t = 10.0)]
    fleet_rate: f64,
    /// Keep the processes' logs (their directory is printed).
    #[arg(long)]
    keep_logs: bool,
    /// The `pingan` binary (default: beside this one).
    #[arg(long, env = "PINGAN")]
    pingan: Option<PathBuf>,
    /// Postgres server: a database per service is created for the run and dropped after.
    #[arg(
        long,
        env = "PINGAN_E2E_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    database_url: String,
    /// Redis: keys under a prefix of the run, deleted after.
    #[arg(
        long,
        env = "PINGAN_E2E_REDIS_URL",
        default_value = "redis://127.0.0.1:6379"
    )]
    redis_url: String,
}

impl Args {
    fn wants(&self, letter: &str, name: &str) -> bool {
        self.scenarios
            .iter()
            .any(|s| s == letter || s == name || s == "all")
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("pingan-e2e: starting the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(&args)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("pingan-e2e: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: &Args) -> anyhow::Result<bool> {
    let unknown: Vec<&String> = args
        .scenarios
        .iter()
        .filter(|s| {
            s.as_str() != "all"
                && !SCENARIOS
                    .iter()
                    .any(|(l, n)| s.as_str() == *l || s.as_str() == *n)
        })
        .collect();
    anyhow::ensure!(unknown.is_empty(), "unknown scenarios {unknown:?}");
    let binary = match &args.pingan {
        Some(path) => path.clone(),
        None => pingan_bench::system::pingan_binary()?,
    };
    anyhow::ensure!(
        binary.exists(),
        "no pingan binary at {} (build it, or set PINGAN)",
        binary.display()
    );
    let setup = Setup {
        binary,
        database_url: args.database_url.clone(),
        redis_url: args.redis_url.clone(),
        health_interval: Duration::from_millis(args.health_interval_ms),
        fleet_rate: args.fleet_rate,
        tls: !args.plaintext,
        database_tls: !args.database_plaintext,
    };
    let started = Instant::now();
    println!(
        "starting the shape: {} (health interval {} ms, {})",
        setup.binary.display(),
        args.health_interval_ms,
        match (setup.tls, setup.database_tls) {
            (true, true) => "mutual TLS, TLS to Postgres",
            (true, false) => "mutual TLS, Postgres in plaintext",
            (false, true) => "plaintext gRPC, TLS to Postgres",
            (false, false) => "plaintext",
        }
    );
    let mut world = World::start(&setup).await.context("starting the shape")?;
    println!(
        "shape up in {:.1} s: logs in {}",
        started.elapsed().as_secs_f64(),
        world.logs().display()
    );
    let run = uuid::Uuid::now_v7().simple().to_string()[..12].to_owned();
    let mut verdicts = Vec::new();
    for (letter, name) in SCENARIOS {
        if !args.wants(letter, name) {
            continue;
        }
        if letter == "g" && args.plaintext {
            println!("\n== scenario g (mtls): skipped, --plaintext");
            continue;
        }
        let scenario_started = Instant::now();
        println!("\n== scenario {letter} ({name})");
        let result = match letter {
            "g" => mtls::run(&world).await,
            "a" => trace::run(&world, &run).await,
            "f" => grid::run(&world, &run).await,
            "e" => board::run(&world, &run, args.dispatches, args.units).await,
            "c" => cuts::run(&world, &run).await,
            "d" => hotline::run(&world, &run, Duration::from_secs(args.gateway_down)).await,
            _ => {
                kills::run(
                    &mut world,
                    &run,
                    kills::Plan {
                        calls: args.calls,
                        rate: args.rate,
                        restart_after: Duration::from_secs(args.restart_after),
                    },
                )
                .await
            }
        };
        let mut verdict = result.unwrap_or_else(|e| {
            let mut v = Verdict::new(name_of(letter));
            v.check(false, format!("{e:#}"));
            v
        });
        verdict.figure(
            "took",
            format!("{:.1} s", scenario_started.elapsed().as_secs_f64()),
        );
        println!(
            "{} {}: {}",
            if verdict.passed() { "PASS" } else { "FAIL" },
            verdict.name,
            verdict.summary()
        );
        for failure in &verdict.failures {
            println!("  - {failure}");
        }
        verdicts.push(verdict);
    }
    let all_passed = verdicts.iter().all(Verdict::passed);
    world.stop(args.keep_logs || !all_passed).await?;
    println!("\n{}", table(&verdicts));
    println!(
        "e2e: {} of {} scenarios passed in {:.0} s",
        verdicts.iter().filter(|v| v.passed()).count(),
        verdicts.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(all_passed)
}

fn name_of(letter: &str) -> &'static str {
    match letter {
        "a" => "a. one call, one trace",
        "b" => "b. kill -9 each service",
        "c" => "c. database cuts",
        "d" => "d. 12345 down",
        "e" => "e. dispatch replicas",
        "g" => "g. mutual TLS",
        _ => "f. grid across replicas",
    }
}

/// The final table: scenario, verdict, figures.
fn table(verdicts: &[Verdict]) -> String {
    let width = verdicts
        .iter()
        .map(|v| v.name.chars().count())
        .max()
        .unwrap_or(8)
        .max(8);
    let mut out = format!("{:<width$}  result  figures\n", "scenario");
    out.push_str(&format!("{}  ------  -------\n", "-".repeat(width)));
    for verdict in verdicts {
        out.push_str(&format!(
            "{:<width$}  {:<6}  {}\n",
            verdict.name,
            if verdict.passed() { "PASS" } else { "FAIL" },
            verdict.summary()
        ));
    }
    out
}
