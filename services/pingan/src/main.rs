//! `pingan`: one binary, two shapes. `pingan serve <service>` runs one service (the container
//! entrypoint); `pingan dev` runs all six in one process on embedded storage.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use pingan::{Security, ServiceKind, StorageChoice, mount};
use pingan_platform::config::{AuthConfig, LogFormat, PeersConfig, ServerConfig, TelemetryConfig};
use pingan_platform::server::{ServiceHost, shutdown_signal};
use pingan_platform::storage::PoolSettings;
use pingan_platform::{metrics, telemetry};
use tokio::net::TcpListener;

#[derive(Debug, Parser)]
#[command(
    name = "pingan",
    version,
    about = "Pingan command-and-dispatch platform"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run one service (the container entrypoint).
    Serve(ServeArgs),
    /// Run all six services in one process on SQLite files, for a laptop.
    Dev(DevArgs),
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
    /// Most database connections.
    #[arg(long, env = "PINGAN_DATABASE_MAX_CONNECTIONS", default_value_t = 20)]
    database_max_connections: u32,
    #[command(flatten)]
    server: ServerConfig,
    #[command(flatten)]
    peers: PeersConfig,
    #[command(flatten)]
    auth: AuthConfig,
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
    auth: AuthConfig,
    #[command(flatten)]
    telemetry: TelemetryConfig,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    match cli.command {
        Command::Serve(args) => runtime.block_on(serve(args)),
        Command::Dev(args) => runtime.block_on(dev(args)),
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let service_name = format!("pingan-{}", args.service.short_name());
    let telemetry = telemetry::init(&service_name, &args.telemetry, LogFormat::Json)?;
    let result = async {
        let listener = TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("binding {}", args.listen))?;
        let mut host = ServiceHost::new(args.server.clone());
        let storage = StorageChoice {
            database_url: args.database_url.clone(),
            redis_url: args.redis_url.clone(),
            redis_prefix: args.redis_prefix.clone(),
        };
        let pool = PoolSettings {
            max_connections: args.database_max_connections,
            ..PoolSettings::default()
        };
        let secret = args
            .auth
            .secret
            .as_deref()
            .filter(|s| s.len() >= 32)
            .context("PINGAN_AUTH_SECRET (at least 32 characters) is required: it signs and checks bearer tokens")?;
        let security = Security::new(secret.as_bytes(), &args.auth.issuer)?;
        mount(
            &mut host,
            args.service,
            &storage,
            &args.peers.to_map(),
            &pool,
            &security,
        )
        .await?;
        spawn_metrics(args.server.metrics_listen).await?;
        host.serve(listener, shutdown_signal()).await?;
        anyhow::Ok(())
    }
    .await;
    if let Err(err) = &result {
        tracing::error!(error = format!("{err:#}"), "service failed");
    }
    telemetry.shutdown();
    result
}

async fn dev(args: DevArgs) -> anyhow::Result<()> {
    let telemetry = telemetry::init("pingan-dev", &args.telemetry, LogFormat::Text)?;
    let result = async {
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
            .map(|kind| (kind.short_name().to_owned(), format!("http://{endpoint}")))
            .collect();
        // Calls without a token act as the dev user; tokens, when sent, are checked.
        let secret = match &args.auth.secret {
            Some(secret) => secret.as_bytes().to_vec(),
            None => pingan_platform::auth::random_secret(),
        };
        let security = Security::dev(&secret, &args.auth.issuer)?;
        let mut host = ServiceHost::new(args.server.clone());
        for kind in ServiceKind::ALL {
            let file = data_dir.join(format!("{}.db", kind.short_name()));
            let storage = StorageChoice {
                database_url: format!("sqlite://{}", file.display()),
                redis_url: None,
                redis_prefix: String::new(),
            };
            mount(
                &mut host,
                kind,
                &storage,
                &peers,
                &PoolSettings::default(),
                &security,
            )
            .await?;
        }
        let metrics_listen = args
            .server
            .metrics_listen
            .or_else(|| Some(SocketAddr::from(([127, 0, 0, 1], 9464))));
        let metrics_addr = spawn_metrics(metrics_listen).await?;
        print_banner(endpoint, &data_dir, metrics_addr);
        host.serve(listener, shutdown_signal()).await?;
        anyhow::Ok(())
    }
    .await;
    if let Err(err) = &result {
        tracing::error!(error = format!("{err:#}"), "pingan dev failed");
    }
    telemetry.shutdown();
    result
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
