//! Starts the system under test as a user would (the real `pingan` binary as a child process),
//! finds its endpoint, reads its memory, and stops it with SIGTERM.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tonic::transport::{Channel, Endpoint};

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
        let pid = self.pid()?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
        let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib / 1024.0)
    }

    /// A channel to its endpoint.
    pub async fn channel(&self) -> anyhow::Result<Channel> {
        connect(&self.endpoint).await
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

/// Starts `pingan dev` (all six services, SQLite files in `data_dir`, demo jurisdiction).
pub async fn start_dev(binary: &Path, data_dir: &Path) -> anyhow::Result<Process> {
    let mut command = Command::new(binary);
    command
        .args(["dev", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .env("RUST_LOG", "warn");
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
    // Keep draining stdout so the child never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
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
