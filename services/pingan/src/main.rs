//! `pingan`: one binary, two shapes. `pingan serve <service>` runs one service (the container
//! entrypoint); `pingan dev` runs all six in one process on embedded storage.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, CommandFactory as _, FromArgMatches as _, Parser, Subcommand};
use pingan::admin_cli;
use pingan::hosting::{augment_settings, read_settings, settings_sections};
use pingan::{Process, Security, ServiceKind, StorageChoice};
use pingan_platform::config::{
    AuthConfig, ConfigFile, LogFormat, PeersConfig, PiiConfig, PoolConfig, ServerConfig,
    TelemetryConfig, config_path, platform_sections,
};
use pingan_platform::events::EventConfig;
use pingan_platform::pii::PiiKeys;
use pingan_platform::server::shutdown_signal;
use pingan_platform::service::ServiceConfig;
use pingan_platform::{metrics, telemetry};
use tokio::net::TcpListener;

#[derive(Debug, Parser)]
#[command(
    name = "pingan",
    version,
    about = "Pingan command-and-dispatch platform"
)]
struct Cli {
    /// Config file (TOML): defaults under the environment and the flags; see docs/architecture.md.
    #[arg(long, env = "PINGAN_CONFIG", global = true)]
    #[allow(dead_code)]
    // read before clap parses (`config_path`): the file sets clap's defaults
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run one service (the container entrypoint).
    Serve(ServeArgs),
    /// Run all six services in one process on SQLite files, for a laptop.
    Dev(DevArgs),
    /// Operate the outboxes: dead letters, re-drive, counts.
    #[command(subcommand)]
    Events(admin_cli::EventsCommand),
    /// Sign a bearer token with the bureau's secret.
    Token(admin_cli::TokenArgs),
    /// The command room's analysis reports (table, --json or --csv).
    #[command(subcommand)]
    Report(pingan::report_cli::ReportCommand),
    /// Client commands of the grid registry.
    #[command(subcommand)]
    Registry(RegistryCommand),
    /// The peers each service must reach (from the event routes and its direct calls).
    Wiring(WiringArgs),
    /// Client commands for units in the field.
    #[command(subcommand)]
    Fleet(FleetCommand),
    /// Triage's labelled corpus: evaluate the classifier on a split, regenerate the split.
    #[command(subcommand)]
    Triage(pingan_triage::eval_cli::TriageCommand),
    /// Client commands on incidents: list, show, timeline, watch; export one as an exchange
    /// document, import another bureau's.
    #[command(subcommand)]
    Incidents(pingan::exchange_cli::IncidentsCommand),
    /// The command center's client commands (see docs/cli.md).
    #[command(flatten)]
    Client(pingan::client::ClientCommand),
    /// Print a shell completion script.
    Completions(pingan::client::completions::CompletionsArgs),
    /// Certificates: `certs dev` makes a local CA and every service's certificates.
    #[command(subcommand)]
    Certs(pingan::certs_cli::CertsCommand),
    /// Stored personal data: `pii reencrypt` moves it to the current key after a rotation.
    #[command(subcommand)]
    Pii(pingan::pii_cli::PiiCommand),
}

#[derive(Debug, Args)]
struct WiringArgs {
    /// Only these services (all six when none is given).
    #[arg(value_enum)]
    services: Vec<ServiceKind>,
    /// Print JSON (the format of helm/pingan/files/wiring.json).
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Subcommand)]
enum FleetCommand {
    /// Moves the registered units around their stations and reports their positions through
    /// the public API, like their devices would.
    Simulate(pingan::fleet::SimulateArgs),
}

#[derive(Debug, Subcommand)]
enum RegistryCommand {
    /// Load a jurisdiction (stations, grids, officers, residents, premises to grid-registry; units
    /// to dispatch) from a JSON file through the public APIs; re-running it updates the same records.
    Import(ImportArgs),
}

#[derive(Debug, Args)]
struct ImportArgs {
    /// The jurisdiction file (the format of shared/data/jurisdiction.json).
    file: PathBuf,
    /// The grid-registry endpoint.
    #[arg(
        long,
        env = "PINGAN_ENDPOINT",
        default_value = "http://127.0.0.1:50051"
    )]
    endpoint: String,
    /// The dispatch endpoint, for the units (default: --endpoint, as in `pingan dev`).
    #[arg(long, env = "PINGAN_DISPATCH_ENDPOINT")]
    dispatch_endpoint: Option<String>,
    /// Bearer token (e.g. an admin's); none for the anonymous dev user of `pingan dev`.
    #[arg(long, env = "PINGAN_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// TLS for `https://` endpoints (`--ca`, `--cert`, `--key`).
    #[command(flatten)]
    tls: pingan_platform::tls::ClientTlsArgs,
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// The service to run.
    #[arg(value_enum)]
    service: ServiceKind,
    /// gRPC listen address.
    #[arg(long, env = "PINGAN_LISTEN", default_value = "0.0.0.0:50051")]
    listen: SocketAddr,
    /// The service's database (`postgres://…` or `sqlite://…`).
    #[arg(long, env = "PINGAN_DATABASE_URL")]
    database_url: String,
    /// Redis, for live positions (dispatch); in-process when unset.
    #[arg(long, env = "PINGAN_REDIS_URL")]
    redis_url: Option<String>,
    /// Prefix of every Redis key this service writes.
    #[arg(long, env = "PINGAN_REDIS_PREFIX", default_value = "pingan:")]
    redis_prefix: String,
    #[command(flatten)]
    redis_tls: pingan_platform::tls::RedisTlsArgs,
    #[command(flatten)]
    pool: PoolConfig,
    #[command(flatten)]
    server: ServerConfig,
    #[command(flatten)]
    events: EventConfig,
    #[command(flatten)]
    peers: PeersConfig,
    #[command(flatten)]
    auth: AuthConfig,
    #[command(flatten)]
    pii: PiiConfig,
    #[command(flatten)]
    telemetry: TelemetryConfig,
}

#[derive(Debug, Args)]
struct DevArgs {
    /// The one gRPC endpoint all six services share.
    #[arg(long, env = "PINGAN_LISTEN", default_value = "127.0.0.1:50051")]
    listen: SocketAddr,
    /// Where the SQLite files live.
    #[arg(long, env = "PINGAN_DATA_DIR", default_value = "./data")]
    data_dir: PathBuf,
    #[command(flatten)]
    server: ServerConfig,
    #[command(flatten)]
    events: EventConfig,
    #[command(flatten)]
    auth: AuthConfig,
    #[command(flatten)]
    pii: PiiConfig,
    #[command(flatten)]
    pool: PoolConfig,
    #[command(flatten)]
    telemetry: TelemetryConfig,
    /// Move the demo units around their stations' grids (as `pingan fleet simulate` does) instead
    /// of keeping them standing by at their stations.
    #[arg(long, env = "PINGAN_DEV_SIMULATE_FLEET")]
    simulate_fleet: bool,
}

/// The command line with every service's settings flags, their defaults taken from the config
/// file when one is named (layers: defaults → file → env → flags).
fn command_line(config: Option<&std::path::Path>) -> anyhow::Result<clap::Command> {
    let mut command = Cli::command()
        .mut_subcommand("serve", augment_settings)
        .mut_subcommand("dev", augment_settings);
    if let Some(path) = config {
        let file = ConfigFile::load(path)?;
        let sections: Vec<_> = platform_sections()
            .into_iter()
            .chain(settings_sections())
            .collect();
        for (name, other) in [("serve", "dev"), ("dev", "serve")] {
            let subcommand = command
                .find_subcommand(name)
                .cloned()
                .with_context(|| format!("no {name} subcommand"))?;
            let subcommand = file.apply(subcommand, &sections, &[other])?;
            command = command.mut_subcommand(name, |_| subcommand);
        }
    }
    Ok(command)
}

fn main() -> anyhow::Result<()> {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let matches = command_line(config_path(&args).as_deref())?.get_matches_from(&args);
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|err| err.exit());
    let settings = match matches.subcommand() {
        Some(("serve" | "dev", sub)) => read_settings(sub).unwrap_or_else(|err| err.exit()),
        _ => ServiceConfig::default(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    match cli.command {
        Command::Serve(args) => runtime.block_on(serve(args, settings)),
        Command::Dev(args) => runtime.block_on(dev(args, settings)),
        Command::Events(command) => runtime.block_on(admin_cli::events(command)),
        Command::Token(args) => admin_cli::token(&args),
        Command::Report(command) => {
            pingan::client::finish(runtime.block_on(pingan::report_cli::report(command)))
        }
        Command::Registry(RegistryCommand::Import(args)) => runtime.block_on(registry_import(args)),
        Command::Wiring(args) => {
            let wiring = pingan::wiring::wiring(&args.services);
            if args.json {
                print!("{}", pingan::wiring::to_json(&wiring));
            } else {
                print!("{}", pingan::wiring::to_text(&wiring));
            }
            Ok(())
        }
        Command::Fleet(FleetCommand::Simulate(args)) => {
            runtime.block_on(pingan::fleet::simulate_command(args))
        }
        Command::Triage(command) => {
            print!("{}", command.run()?);
            Ok(())
        }
        Command::Incidents(command) => {
            pingan::client::finish(runtime.block_on(pingan::exchange_cli::run(command)))
        }
        Command::Client(command) => pingan::client::main(&runtime, command),
        Command::Completions(args) => {
            pingan::client::completions::print(&args, command_line(None)?)
        }
        Command::Certs(command) => pingan::certs_cli::run(command),
        Command::Pii(command) => runtime.block_on(pingan::pii_cli::run(command)),
    }
}

async fn registry_import(args: ImportArgs) -> anyhow::Result<()> {
    let json = std::fs::read_to_string(&args.file)
        .with_context(|| format!("reading {}", args.file.display()))?;
    let connect = async |endpoint: &str| -> anyhow::Result<tonic::transport::Channel> {
        Ok(args
            .tls
            .connect(endpoint, std::time::Duration::from_secs(5))
            .await?)
    };
    let registry = connect(&args.endpoint).await?;
    let dispatch = match &args.dispatch_endpoint {
        Some(endpoint) => connect(endpoint).await?,
        None => registry.clone(),
    };
    // Drawn on stderr only when it is a terminal; scripts read the report on stdout.
    let progress = indicatif::ProgressBar::new(0).with_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} records {elapsed}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let report = pingan::registry_import::import_with_progress(
        registry,
        Some(dispatch),
        args.token.as_deref(),
        &json,
        &progress,
    )
    .await;
    progress.finish_and_clear();
    println!("{}", report?);
    Ok(())
}

async fn serve(args: ServeArgs, settings: ServiceConfig) -> anyhow::Result<()> {
    let service_name = format!("pingan-{}", args.service.short_name());
    let telemetry = telemetry::init(&service_name, &args.telemetry, LogFormat::Json)?;
    let result = async {
        // Before anything else: a service missing a peer would lose calls or dead-letter events.
        pingan::wiring::check_peers(args.service, &args.peers.to_map())?;
        let listener = TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("binding {}", args.listen))?;
        let storage = StorageChoice {
            database_url: args.database_url.clone(),
            redis_url: args.redis_url.clone(),
            redis_prefix: args.redis_prefix.clone(),
            redis_tls: args.redis_tls.load()?,
        };
        let pool = args.pool.settings(20);
        let secret = args.auth.required_secret()?;
        pingan_platform::config::secrets::warn_about_secrets(&args.auth, &args.pii);
        let pii = args.pii.keys()?.context(
            "PII keys are required: PINGAN_PII_ENCRYPTION_KEYS (id=secret) and \
             PINGAN_PII_INDEX_KEY, or the older PINGAN_PII_KEY; they protect phone and ID numbers",
        )?;
        let security = Security {
            authenticator: args.auth.authenticator(Some(secret.as_bytes()))?,
            issuer: args.auth.token_issuer(secret.as_bytes())?,
            pii,
        };
        let mut process = Process::new(
            args.server.clone(),
            security,
            args.events.clone(),
            pingan_platform::clock::system(),
        );
        process.set_config(settings);
        process
            .mount(args.service, &storage, &args.peers.to_map(), &pool)
            .await?;
        spawn_metrics(args.server.metrics_listen).await?;
        process.serve(listener, shutdown_signal()).await?;
        anyhow::Ok(())
    }
    .await;
    if let Err(err) = &result {
        tracing::error!(error = format!("{err:#}"), "service failed");
    }
    telemetry.shutdown();
    result
}

async fn dev(args: DevArgs, settings: ServiceConfig) -> anyhow::Result<()> {
    let telemetry = telemetry::init("pingan-dev", &args.telemetry, LogFormat::Text)?;
    let result = async {
        pingan_platform::tls::check_dev_listen(args.listen, &args.server.tls)?;
        std::fs::create_dir_all(&args.data_dir)
            .with_context(|| format!("creating data dir {}", args.data_dir.display()))?;
        let data_dir = args.data_dir.canonicalize()?;
        let listener = TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("binding {} (is another pingan running?)", args.listen))?;
        let endpoint = listener.local_addr()?;
        // Services call each other through gRPC, as in the cluster, on the shared endpoint.
        let peers: BTreeMap<String, String> = ServiceKind::ALL
            .iter()
            .map(|kind| {
                (
                    kind.short_name().to_owned(),
                    dev_peer_url(endpoint, &args.server),
                )
            })
            .collect();
        // Calls without a token act as the dev user; tokens, when sent, are checked.
        let secret = match &args.auth.secret {
            Some(secret) => secret.as_bytes().to_vec(),
            None => pingan_platform::auth::random_secret(),
        };
        let pii = dev_pii_keys(&args.pii, &data_dir)?;
        let security = Security {
            authenticator: args.auth.authenticator(Some(&secret))?.with_anonymous_dev(),
            issuer: args.auth.token_issuer(&secret)?,
            pii,
        };
        let mut process = Process::new(
            args.server.clone(),
            security,
            args.events.clone(),
            pingan_platform::clock::system(),
        );
        // The 12345 platform is simulated in process unless --hotline-gateway names a real one.
        process.set_config(settings);
        // SQLite writes one at a time; each connection holds its own statements and page cache.
        let pool = args
            .pool
            .settings_over(pingan_platform::storage::PoolSettings::embedded());
        for kind in ServiceKind::ALL {
            let file = data_dir.join(format!("{}.db", kind.short_name()));
            let storage = StorageChoice {
                database_url: format!("sqlite://{}", file.display()),
                redis_url: None,
                redis_prefix: String::new(),
                redis_tls: None,
            };
            process.mount(kind, &storage, &peers, &pool).await?;
        }
        let metrics_listen = args
            .server
            .metrics_listen
            .or_else(|| Some(SocketAddr::from(([127, 0, 0, 1], 9464))));
        let metrics_addr = spawn_metrics(metrics_listen).await?;
        spawn_demo_load(endpoint, args.simulate_fleet);
        print_banner(endpoint, &data_dir, metrics_addr);
        process.serve(listener, shutdown_signal()).await?;
        anyhow::Ok(())
    }
    .await;
    if let Err(err) = &result {
        tracing::error!(error = format!("{err:#}"), "pingan dev failed");
    }
    telemetry.shutdown();
    result
}

/// The shared endpoint as the services call it: `https://localhost` (the name `certs dev` puts
/// in every certificate) when the server speaks TLS.
fn dev_peer_url(endpoint: SocketAddr, server: &ServerConfig) -> String {
    if server.tls.server_enabled() {
        format!("https://localhost:{}", endpoint.port())
    } else {
        format!("http://{endpoint}")
    }
}

/// The dev shape keeps a generated PII key beside its data, so stored numbers stay readable
/// across restarts; `PINGAN_PII_KEY` overrides it.
fn dev_pii_keys(config: &PiiConfig, data_dir: &std::path::Path) -> anyhow::Result<PiiKeys> {
    if let Some(keys) = config.keys()? {
        return Ok(keys);
    }
    let file = data_dir.join("pii.key");
    let key = match std::fs::read_to_string(&file) {
        Ok(existing) => existing.trim().to_owned(),
        Err(_) => {
            let fresh = pingan_platform::pii::random_key_hex();
            write_private(&file, &fresh).with_context(|| format!("writing {}", file.display()))?;
            fresh
        }
    };
    Ok(PiiKeys::from_master(key.as_bytes())?)
}

/// How often the dev shape re-reports the demo units standing by (well inside dispatch's 120 s
/// staleness limit, so they stay dispatchable).
const DEMO_POSITION_INTERVAL: std::time::Duration = std::time::Duration::from_secs(45);

/// Loads the demo jurisdiction through the dev endpoint once it serves, if the registry (or
/// dispatch) is empty, then keeps reporting the demo units: standing by at their stations, or
/// moving around their grids with `simulate_fleet`.
fn spawn_demo_load(endpoint: SocketAddr, simulate_fleet: bool) {
    tokio::spawn(async move {
        let channel = match tonic::transport::Endpoint::from_shared(format!("http://{endpoint}")) {
            Ok(e) => e.connect_lazy(),
            Err(err) => {
                tracing::warn!(error = %err, "demo jurisdiction not loaded");
                return;
            }
        };
        match pingan::registry_import::load_demo_if_empty(channel.clone()).await {
            Ok(Some(report)) => tracing::info!(%report, "demo jurisdiction loaded"),
            Ok(None) => tracing::info!("registry not empty: demo jurisdiction not loaded"),
            Err(err) => tracing::warn!(error = %err, "demo jurisdiction not loaded"),
        }
        if simulate_fleet {
            simulate_demo_fleet(channel).await;
            return;
        }
        let mut ticks = tokio::time::interval(DEMO_POSITION_INTERVAL);
        loop {
            ticks.tick().await;
            match pingan::fleet::place_demo_units(channel.clone()).await {
                Ok(placed) => tracing::debug!(placed, "demo units reported at their stations"),
                Err(err) => tracing::warn!(error = %err, "demo unit positions not reported"),
            }
        }
    });
}

/// How often the simulated demo fleet moves (each unit reports once per round).
const DEMO_FLEET_INTERVAL: std::time::Duration = std::time::Duration::from_secs(10);

/// `pingan dev --simulate-fleet`: a fleet simulator round every [`DEMO_FLEET_INTERVAL`].
async fn simulate_demo_fleet(channel: tonic::transport::Channel) {
    let mut simulator =
        match pingan::fleet::FleetSimulator::new(channel.clone(), channel, None, None) {
            Ok(simulator) => simulator,
            Err(err) => {
                tracing::warn!(error = %err, "demo fleet not simulated");
                return;
            }
        };
    let mut ticks = tokio::time::interval(DEMO_FLEET_INTERVAL);
    loop {
        ticks.tick().await;
        match simulator.round().await {
            Ok(report) => tracing::debug!(%report, "demo fleet moved"),
            Err(err) => tracing::warn!(error = %err, "demo fleet positions not reported"),
        }
    }
}

/// Writes a secret readable by its owner only.
fn write_private(file: &std::path::Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(file)?.write_all(contents.as_bytes())
}

async fn spawn_metrics(addr: Option<SocketAddr>) -> anyhow::Result<Option<SocketAddr>> {
    let Some(addr) = addr else {
        return Ok(None);
    };
    let listener = metrics::bind(addr)
        .await
        .with_context(|| format!("binding metrics listener {addr}"))?;
    let bound = listener.local_addr()?;
    tokio::spawn(async move {
        if let Err(err) = metrics::serve(listener, shutdown_signal()).await {
            tracing::error!(error = %err, "metrics server failed");
        }
    });
    Ok(Some(bound))
}

fn print_banner(endpoint: SocketAddr, data_dir: &std::path::Path, metrics: Option<SocketAddr>) {
    println!();
    println!("Pingan dev is running: all six services on one gRPC endpoint.");
    println!();
    println!("  gRPC endpoint   {endpoint}");
    for kind in ServiceKind::ALL {
        println!("    {:<18} {}", kind.short_name(), kind.grpc_name());
    }
    match metrics {
        Some(addr) => println!("  metrics         http://{addr}/metrics"),
        None => println!("  metrics         off (set --metrics-listen 127.0.0.1:9464)"),
    }
    println!(
        "  data            {} (SQLite files; delete to start afresh)",
        data_dir.display()
    );
    println!();
    println!("  list services   grpcurl -plaintext {endpoint} list");
    println!(
        "  health          grpcurl -plaintext -d '{{\"service\":\"pingan.intake.v1.IntakeService\"}}' {endpoint} grpc.health.v1.Health/Check"
    );
    println!("  stop            Ctrl-C");
    println!();
}

#[cfg(test)]
mod tests {
    /// Every subcommand's flags fit together (clap checks ids and `requires` only when the
    /// subcommand is parsed: a clash would panic a `serve` at start, not at build time).
    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory as _;
        super::Cli::command().debug_assert();
    }
}
