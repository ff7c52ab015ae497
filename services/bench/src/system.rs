//! Starts the system under test as a user would (the real `pingan` binary as a child process),
//! finds its endpoint, reads its memory, and stops it with SIGTERM.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use pingan_platform::tls::ClientTlsArgs;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

/// A channel that sends a bearer token with every call (none for `pingan dev`'s dev user).
pub type Grpc = InterceptedService<Channel, Bearer>;

/// Adds `authorization: Bearer …` to every request when it holds a token.
#[derive(Debug, Clone, Default)]
pub struct Bearer(Option<MetadataValue<Ascii>>);

impl Bearer {
    /// Sends `token` with every call.
    pub fn new(token: &str) -> anyhow::Result<Self> {
        let value = format!("Bearer {token}")
            .parse()
            .context("the token is not a header value")?;
        Ok(Self(Some(value)))
    }
}

impl Interceptor for Bearer {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(value) = &self.0 {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        Ok(request)
    }
}

/// One running `pingan` process.
#[derive(Debug)]
pub struct Process {
    /// What it runs ("dev", "serve intake", ...).
    pub label: String,
    child: Child,
    /// Its gRPC endpoint, `http://host:port`.
    pub endpoint: String,
}

impl Process {
    /// The process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Resident memory in MiB, from /proc (Linux).
    pub fn rss_mib(&self) -> Option<f64> {
        rss_mib(self.pid()?)
    }

    /// SIGKILL (kill -9: no shutdown path at all), then reap it.
    pub async fn kill9(mut self) -> anyhow::Result<()> {
        self.child
            .kill()
            .await
            .with_context(|| format!("killing {}", self.label))
    }

    /// SIGTERM, then wait (the shutdown path a deployment uses).
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(pid) = self.child.id() {
            let _ = Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status()
                .await;
        }
        match tokio::time::timeout(Duration::from_secs(30), self.child.wait()).await {
            Ok(status) => {
                status.with_context(|| format!("waiting for {}", self.label))?;
            }
            Err(_) => {
                self.child
                    .kill()
                    .await
                    .with_context(|| format!("killing {}", self.label))?;
            }
        }
        Ok(())
    }
}

/// Resident memory of process `pid` in MiB, from /proc (Linux).
pub fn rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// A channel to an `http://` or (with `tls`'s CA and identity) `https://` endpoint.
pub async fn connect_tls(endpoint: &str, tls: &ClientTlsArgs) -> anyhow::Result<Channel> {
    Ok(tls.connect(endpoint, Duration::from_secs(5)).await?)
}

/// A channel with TCP_NODELAY (the client side of the Nagle stall).
pub async fn connect(endpoint: &str) -> anyhow::Result<Channel> {
    Endpoint::from_shared(endpoint.to_owned())
        .context("endpoint")?
        .tcp_nodelay(true)
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
        .with_context(|| format!("connecting to {endpoint}"))
}

/// The `pingan` binary: `$PINGAN`, else the one beside this binary (same target directory).
pub fn pingan_binary() -> anyhow::Result<PathBuf> {
    if let Ok(path) = std::env::var("PINGAN") {
        return Ok(PathBuf::from(path));
    }
    let me = std::env::current_exe().context("locating pingan-bench")?;
    let beside = me.with_file_name("pingan");
    if beside.exists() {
        return Ok(beside);
    }
    bail!("no pingan binary beside {}; set PINGAN", me.display())
}

/// Starts `pingan dev` (all six services, SQLite files in `data_dir`, demo jurisdiction); its
/// `RUST_LOG` is `$PINGAN_BENCH_LOG` (e.g. `warn,sqlx::query=debug` to count statements), else
/// `warn`.
pub async fn start_dev(binary: &Path, data_dir: &Path) -> anyhow::Result<Process> {
    let log = std::env::var("PINGAN_BENCH_LOG").unwrap_or_else(|_| "warn".to_owned());
    let mut command = Command::new(binary);
    command
        .args(["dev", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .env("RUST_LOG", log);
    spawn_and_wait("dev".to_owned(), command, "gRPC endpoint").await
}

/// Spawns `command` and waits for the line carrying its endpoint (`marker` then the address).
pub async fn spawn_and_wait(
    label: String,
    mut command: Command,
    marker: &str,
) -> anyhow::Result<Process> {
    command
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    let mut child = command
        .spawn()
        .with_context(|| format!("starting {label}"))?;
    let stdout = child.stdout.take().context("pingan stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let found = tokio::time::timeout(Duration::from_secs(120), async {
        while let Some(line) = lines.next_line().await? {
            if let Some(rest) = line.trim().strip_prefix(marker) {
                return Ok::<_, std::io::Error>(Some(rest.trim().to_owned()));
            }
        }
        Ok(None)
    })
    .await;
    let address = match found {
        Ok(Ok(Some(address))) => address,
        Ok(Ok(None)) => bail!("{label} exited before printing its endpoint"),
        Ok(Err(e)) => bail!("{label}: reading its output: {e}"),
        Err(_) => bail!("{label} did not print its endpoint within 120 s"),
    };
    // Keep draining stdout so the child never blocks on a full pipe; into
    // `$PINGAN_BENCH_OUTPUT` when set (e.g. its statement log).
    let output = match std::env::var("PINGAN_BENCH_OUTPUT") {
        Ok(path) => Some(
            tokio::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .await
                .with_context(|| format!("opening {path}"))?,
        ),
        Err(_) => None,
    };
    tokio::spawn(async move {
        let mut output = output;
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(out) = output.as_mut() {
                let _ = out.write_all(format!("{line}\n").as_bytes()).await;
            }
        }
    });
    let endpoint = if address.starts_with("http") {
        address
    } else {
        format!("http://{address}")
    };
    Ok(Process {
        label,
        child,
        endpoint,
    })
}

/// Ports handed to the processes of a shape: below Linux's ephemeral range (32768–60999), so an
/// outgoing connection cannot take one between the check and the process's bind (a CI flake:
/// a service exited "address in use" before serving).
const PORTS: std::ops::Range<u16> = 20_000..32_000;

/// A loopback port nobody listens on right now (bound, read, released), outside the ephemeral
/// range when one is free there.
pub fn free_port() -> anyhow::Result<u16> {
    for _ in 0..200 {
        let port = rand::random_range(PORTS);
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return Ok(port);
        }
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("binding a free port")?;
    Ok(listener.local_addr()?.port())
}

/// Spawns `pingan serve …` (`command`, listening on `endpoint`), its output into `log`, and waits
/// until its health service says `service` is SERVING.
pub async fn spawn_serving(
    label: String,
    mut command: Command,
    endpoint: String,
    service: &str,
    log: &Path,
    tls: &ClientTlsArgs,
) -> anyhow::Result<Process> {
    // Appended: a restarted process writes after its previous life.
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .with_context(|| format!("{}", log.display()))?;
    let err = out.try_clone()?;
    command
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err))
        .kill_on_drop(true);
    let mut child = command
        .spawn()
        .with_context(|| format!("starting {label}"))?;
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(status) = child.try_wait()? {
            bail!("{label} exited ({status}) before serving:\n{}", tail(log));
        }
        if let Ok(channel) = connect_tls(&endpoint, tls).await {
            let answer = HealthClient::new(channel)
                .check(HealthCheckRequest {
                    service: service.to_owned(),
                })
                .await;
            if matches!(&answer, Ok(a) if a.get_ref().status == 1) {
                break;
            }
        }
        if std::time::Instant::now() > deadline {
            bail!("{label} did not serve within 120 s:\n{}", tail(log));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(Process {
        label,
        child,
        endpoint,
    })
}

/// The last lines of a log file.
pub fn tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    // Without the frames of a backtrace: the error above them is what a reader needs.
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| {
            let t = l.trim_start();
            let frame = t
                .split_once(": ")
                .is_some_and(|(n, _)| n.parse::<u32>().is_ok());
            !(frame || t.starts_with("at "))
        })
        .collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

/// The load average (1, 5, 15 minutes), from /proc (Linux).
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

/// What the machine is, for the record beside the figures.
pub fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map(str::trim)
        .unwrap_or("unknown CPU")
        .to_owned();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_gib = meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kib| kib.parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0 / 1024.0);
    format!("{model}, {cores} cores, {mem_gib:.0} GiB")
}
