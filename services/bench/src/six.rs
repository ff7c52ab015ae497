//! The six-process shape: one `pingan serve <service>` per service, each on a fresh Postgres
//! database of its own (created on the server the bench is pointed at, dropped afterwards), dispatch's
//! live positions in Redis under a key prefix of this run (deleted afterwards), peers wired as the
//! chart wires them, bearer tokens signed with a secret of this run. The demo jurisdiction is loaded
//! with `pingan registry import`, the import `pingan dev` runs on an empty registry.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use pingan_platform::auth::{Role, TokenIssuer};
use sqlx::Connection as _;
use tokio::process::Command;

use crate::system::{self, Process};

/// (short name, gRPC service its health reports) of the six services, in start order.
pub const SERVICES: [(&str, &str); 6] = [
    ("complaints-audit", "pingan.audit.v1.ComplaintsAuditService"),
    ("grid-registry", "pingan.grid.v1.GridRegistryService"),
    ("case-followup", "pingan.followup.v1.CaseFollowupService"),
    ("triage", "pingan.triage.v1.TriageService"),
    ("dispatch", "pingan.dispatch.v1.DispatchService"),
    ("intake", "pingan.intake.v1.IntakeService"),
];

/// Database connections per process: six pools of the `serve` default (20) would exceed a stock
/// Postgres (100) that the tests share; 10 each keeps the run on one server.
pub const POOL_PER_PROCESS: &str = "10";

const DATABASE_PREFIX: &str = "pingan_b_";

/// The six running processes and what to clean up after them.
#[derive(Debug)]
pub struct SixProcesses {
    /// Short name → process.
    pub processes: BTreeMap<&'static str, Process>,
    /// A token with every role the bench calls need (admin, dispatcher, call integrator).
    pub token: String,
    databases: Vec<String>,
    admin_url: String,
    redis_url: String,
    redis_prefix: String,
    logs: PathBuf,
}

impl SixProcesses {
    /// The endpoint of `service`.
    pub fn endpoint(&self, service: &str) -> anyhow::Result<&str> {
        self.processes
            .get(service)
            .map(|p| p.endpoint.as_str())
            .with_context(|| format!("no {service} process"))
    }

    /// Stops every process (SIGTERM), drops the databases, deletes the Redis keys and the logs.
    pub async fn stop_and_clean(self) -> anyhow::Result<()> {
        let mut first_error = None;
        for (_, process) in self.processes.into_iter().rev() {
            if let Err(e) = process.stop().await {
                first_error.get_or_insert(e);
            }
        }
        if let Err(e) = drop_databases(&self.admin_url, &self.databases).await {
            first_error.get_or_insert(e);
        }
        if let Err(e) = delete_keys(&self.redis_url, &self.redis_prefix).await {
            first_error.get_or_insert(e);
        }
        let _ = std::fs::remove_dir_all(&self.logs);
        first_error.map_or(Ok(()), Err)
    }
}

/// Starts the six processes on databases of `admin_url`'s server and `redis_url`, and loads the
/// demo jurisdiction. On failure everything started so far is stopped and removed.
pub async fn start(
    binary: &Path,
    admin_url: &str,
    redis_url: &str,
    jurisdiction: &str,
) -> anyhow::Result<SixProcesses> {
    let run = pingan_platform::testing::unique_name("pingan_b");
    let run = run.trim_start_matches("pingan_b_").to_owned();
    let logs = std::env::temp_dir().join(format!("pingan-bench-six-{run}"));
    std::fs::create_dir_all(&logs)?;
    let secret = hex(&pingan_platform::auth::random_secret());
    let issuer = "pingan";
    let token = TokenIssuer::new(secret.as_bytes(), issuer)?
        .issue(
            "pingan-bench",
            &[
                Role::Admin,
                Role::CommandCenter,
                Role::Dispatcher,
                Role::CallIntegrator,
            ],
            &[],
            Duration::from_secs(24 * 3600),
        )
        .map_err(|e| anyhow::anyhow!("signing the bench token: {e:?}"))?;
    let mut six = SixProcesses {
        processes: BTreeMap::new(),
        token,
        databases: Vec::new(),
        admin_url: admin_url.to_owned(),
        redis_url: redis_url.to_owned(),
        redis_prefix: format!("pingan-bench:{run}:"),
        logs,
    };
    match launch(&mut six, binary, &run, &secret, issuer, jurisdiction).await {
        Ok(()) => Ok(six),
        Err(e) => {
            let _ = six.stop_and_clean().await;
            Err(e)
        }
    }
}

async fn launch(
    six: &mut SixProcesses,
    binary: &Path,
    run: &str,
    secret: &str,
    issuer: &str,
    jurisdiction: &str,
) -> anyhow::Result<()> {
    let mut ports = BTreeMap::new();
    for (name, _) in SERVICES {
        ports.insert(name, system::free_port()?);
    }
    let peers = ports
        .iter()
        .map(|(name, port)| format!("{name}=http://127.0.0.1:{port}"))
        .collect::<Vec<_>>()
        .join(",");
    let pii_key = hex(&pingan_platform::auth::random_secret());
    let mut admin = connect_admin(&six.admin_url).await?;
    drop_stale_databases(&mut admin).await;
    for (name, health) in SERVICES {
        let database = format!("{DATABASE_PREFIX}{run}_{}", name.replace('-', "_"));
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "CREATE DATABASE \"{database}\""
        )))
        .execute(&mut admin)
        .await
        .with_context(|| format!("creating database {database}"))?;
        six.databases.push(database.clone());
        let port = ports[name];
        let mut command = Command::new(binary);
        command
            .args(["serve", name])
            .env_remove("PINGAN_CONFIG")
            .env_remove("PINGAN_METRICS_LISTEN")
            .env("PINGAN_LISTEN", format!("127.0.0.1:{port}"))
            .env(
                "PINGAN_DATABASE_URL",
                pingan_platform::testing::replace_database(&six.admin_url, &database),
            )
            .env("PINGAN_DATABASE_MAX_CONNECTIONS", POOL_PER_PROCESS)
            .env("PINGAN_REDIS_URL", &six.redis_url)
            .env("PINGAN_REDIS_PREFIX", &six.redis_prefix)
            .env("PINGAN_PEERS", &peers)
            .env("PINGAN_AUTH_SECRET", secret)
            .env("PINGAN_AUTH_ISSUER", issuer)
            .env("PINGAN_PII_KEY", &pii_key)
            .env("RUST_LOG", "warn");
        let log = six.logs.join(format!("{name}.log"));
        let process = system::spawn_serving(
            format!("serve {name}"),
            command,
            format!("http://127.0.0.1:{port}"),
            health,
            &log,
        )
        .await?;
        six.processes.insert(name, process);
    }
    let _ = admin.close().await;
    import_demo(six, binary, jurisdiction).await
}

/// `pingan registry import` of the demo jurisdiction (grid-registry, then units to dispatch).
async fn import_demo(six: &SixProcesses, binary: &Path, jurisdiction: &str) -> anyhow::Result<()> {
    let file = six.logs.join("jurisdiction.json");
    std::fs::write(&file, jurisdiction)?;
    let output = Command::new(binary)
        .args(["registry", "import"])
        .arg(&file)
        .args(["--endpoint", six.endpoint("grid-registry")?])
        .args(["--dispatch-endpoint", six.endpoint("dispatch")?])
        .env("PINGAN_TOKEN", &six.token)
        .env_remove("PINGAN_CONFIG")
        .output()
        .await
        .context("running pingan registry import")?;
    anyhow::ensure!(
        output.status.success(),
        "pingan registry import failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(())
}

async fn connect_admin(url: &str) -> anyhow::Result<sqlx::PgConnection> {
    sqlx::PgConnection::connect(url)
        .await
        .with_context(|| format!("connecting to Postgres at {url} (the six-process rows need it)"))
}

async fn drop_databases(admin_url: &str, databases: &[String]) -> anyhow::Result<()> {
    if databases.is_empty() {
        return Ok(());
    }
    let mut admin = connect_admin(admin_url).await?;
    for database in databases {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)"
        )))
        .execute(&mut admin)
        .await
        .with_context(|| format!("dropping database {database}"))?;
    }
    let _ = admin.close().await;
    Ok(())
}

/// Drops bench databases left behind by runs that died more than an hour ago.
async fn drop_stale_databases(admin: &mut sqlx::PgConnection) {
    let list = format!(
        "SELECT datname FROM pg_database WHERE datname LIKE '{}%'",
        DATABASE_PREFIX.replace('_', "\\_")
    );
    let Ok(names) = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(list))
        .fetch_all(&mut *admin)
        .await
    else {
        return;
    };
    let now = chrono::Utc::now().timestamp();
    for name in names {
        let created = name
            .trim_start_matches(DATABASE_PREFIX)
            .split('_')
            .next()
            .and_then(|secs| secs.parse::<i64>().ok());
        if created.is_some_and(|secs| now - secs > 3600) {
            let drop = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
            let _ = sqlx::query(sqlx::AssertSqlSafe(drop))
                .execute(&mut *admin)
                .await;
        }
    }
}

/// Deletes every key under `prefix`.
async fn delete_keys(url: &str, prefix: &str) -> anyhow::Result<()> {
    let client = redis::Client::open(url).context("redis url")?;
    let mut connection = client
        .get_multiplexed_async_connection()
        .await
        .with_context(|| format!("connecting to redis at {url}"))?;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut connection)
        .await
        .context("KEYS")?;
    for chunk in keys.chunks(1000) {
        let _: i64 = redis::cmd("DEL")
            .arg(chunk)
            .query_async(&mut connection)
            .await
            .context("DEL")?;
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
