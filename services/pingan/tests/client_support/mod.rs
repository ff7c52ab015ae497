//! The harness of the client command tests: one `pingan dev` (free port, temporary data dir)
//! per test process, and the real `pingan` binary run as a script would run it.

#![allow(dead_code)] // each test file uses its own share of the helpers

use std::io::{BufRead as _, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::{Mutex, OnceLock, mpsc};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The dev server's token secret, so that `pingan token` can sign tokens it accepts.
pub const AUTH_SECRET: &str = "client-test-secret-0123456789abcdef";

pub const PINGAN: &str = env!("CARGO_BIN_EXE_pingan");

/// The shared `pingan dev`: it stops when this test process ends (its wrapper reads our pipe).
pub struct Dev {
    pub endpoint: String,
    _keepalive: Mutex<ChildStdin>,
    _child: Mutex<Child>,
    _data_dir: PathBuf,
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

pub fn dev() -> &'static Dev {
    static DEV: OnceLock<Dev> = OnceLock::new();
    DEV.get_or_init(start_dev)
}

fn start_dev() -> Dev {
    let data_dir = std::env::temp_dir().join(format!("pingan-client-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data_dir);
    // The wrapper stops `pingan dev` when our end of its stdin closes, i.e. when the test
    // process exits however it exits (statics are never dropped).
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(concat!(
            r#"exec 3<&0; "$@" </dev/null & pid=$!; read _ <&3; kill -TERM $pid; wait $pid; "#,
            r#"rm -rf "$PINGAN_TEST_DATA_DIR""#
        ))
        .arg("sh")
        .arg(PINGAN)
        .args([
            "dev",
            "--listen",
            "127.0.0.1:0",
            "--metrics-listen",
            "127.0.0.1:0",
        ])
        .arg("--data-dir")
        .arg(&data_dir)
        .env("PINGAN_TEST_DATA_DIR", &data_dir)
        .env("PINGAN_AUTH_SECRET", AUTH_SECRET)
        .env_remove("PINGAN_ENDPOINT")
        .env_remove("PINGAN_TOKEN")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn pingan dev");
    let keepalive = child.stdin.take().expect("stdin");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            if let Some(rest) = line.trim().strip_prefix("gRPC endpoint") {
                let _ = tx.send(rest.trim().to_owned());
            }
        }
    });
    let endpoint = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("pingan dev printed its endpoint");
    let dev = Dev {
        endpoint: format!("http://{endpoint}"),
        _keepalive: Mutex::new(keepalive),
        _child: Mutex::new(child),
        _data_dir: data_dir,
    };
    // The demo jurisdiction loads in the background: wait for its 18 units, placed.
    eventually("demo units placed", || {
        let units = json(&pingan(&dev.endpoint, &["units", "list", "--json"]));
        let placed = units
            .as_array()
            .map(|u| u.iter().filter(|u| u.get("location").is_some()).count());
        (placed == Some(18)).then_some(())
    });
    dev
}

/// Runs `pingan ARGS --endpoint ENDPOINT` with no terminal and no token in the environment.
pub fn pingan(endpoint: &str, args: &[&str]) -> Output {
    let mut command = Command::new(PINGAN);
    command
        .args(args)
        .args(["--endpoint", endpoint])
        .env_remove("PINGAN_ENDPOINT")
        .env_remove("PINGAN_TOKEN")
        .stdin(Stdio::null());
    command.output().expect("run pingan")
}

pub fn ok(output: Output) -> String {
    assert_eq!(
        output.status.code(),
        Some(0),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8 stdout")
}

pub fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or(Value::Null)
}

pub fn eventually<T>(what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(value) = probe() {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// `call report … --json` (the pinned invocation) → the ReportCall answer.
pub fn report(lat: &str, lon: &str, description: &str) -> Value {
    let dev = dev();
    let out = ok(pingan(
        &dev.endpoint,
        &[
            "call",
            "report",
            "--channel",
            "110",
            "--phone",
            "13800138000",
            "--lat",
            lat,
            "--lon",
            lon,
            "--description",
            description,
            "--json",
        ],
    ));
    serde_json::from_str(&out).expect("report answer is JSON")
}

/// Every stdout line of a running child, as they come.
pub fn lines_of(child: &mut Child) -> mpsc::Receiver<String> {
    let stdout = child.stdout.take().expect("stdout piped");
    let (tx, rx) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

/// The next line that matches, within 30 seconds.
pub fn next_matching(lines: &mpsc::Receiver<String>, matches: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) if matches(&line) => return line,
            Ok(_) => {}
            Err(err) => panic!("no matching line: {err}"),
        }
    }
}
