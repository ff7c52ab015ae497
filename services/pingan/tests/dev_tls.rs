//! The binary and TLS: `pingan dev` refuses a non-loopback address without TLS; `pingan certs
//! dev` writes a CA and every service's certificates; `pingan dev` with them serves TLS.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use pingan_platform::tls::{ClientTls, certs};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

fn temp_dir(what: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!(
        "pingan-{what}-{}-{}",
        std::process::id(),
        uuid::Uuid::now_v7()
    ))
}

async fn run(args: &[&str], dir: &Path) -> std::process::Output {
    let child = Command::new(env!("CARGO_BIN_EXE_pingan"))
        .args(args)
        .env("PINGAN_DATA_DIR", dir)
        .env_remove("PINGAN_TLS_CERT")
        .env_remove("PINGAN_TLS_KEY")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn pingan");
    tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("pingan exits in time")
        .expect("pingan output")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_refuses_a_non_loopback_address_without_tls() {
    let dir = temp_dir("dev-open");
    let output = run(&["dev", "--listen", "0.0.0.0:0"], &dir).await;
    assert!(!output.status.success(), "pingan dev must refuse 0.0.0.0");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(text.contains("--listen 0.0.0.0:0"), "{text}");
    assert!(text.contains("--tls-cert"), "{text}");
    assert!(
        !dir.join("intake.db").exists(),
        "refused before opening storage"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certs_dev_writes_predictable_files_and_dev_serves_tls_with_them() {
    let dir = temp_dir("certs");
    let out = dir.to_str().expect("utf-8 path");
    let output = run(&["certs", "dev", "--out", out], &dir).await;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for service in [
        "intake",
        "triage",
        "dispatch",
        "grid-registry",
        "case-followup",
        "complaints-audit",
    ] {
        for file in [
            certs::server_cert(&dir, service),
            certs::server_key(&dir, service),
            certs::client_cert(&dir, service),
            certs::client_key(&dir, service),
        ] {
            assert!(file.exists(), "{}", file.display());
        }
    }
    assert!(certs::ca_cert(&dir).exists());

    // All six on one TLS endpoint: they call each other over https with the same CA.
    let cert = certs::server_cert(&dir, "intake");
    let key = certs::server_key(&dir, "intake");
    let ca = certs::ca_cert(&dir);
    let mut child = Command::new(env!("CARGO_BIN_EXE_pingan"))
        // An ephemeral metrics port: another `pingan dev` on the machine must not fail this test.
        .args([
            "dev",
            "--listen",
            "127.0.0.1:0",
            "--metrics-listen",
            "127.0.0.1:0",
        ])
        .arg("--data-dir")
        .arg(dir.join("data"))
        .arg("--tls-cert")
        .arg(&cert)
        .arg("--tls-key")
        .arg(&key)
        .arg("--tls-ca")
        .arg(&ca)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn pingan dev");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let endpoint = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.expect("read stdout") {
            if let Some(rest) = line.trim().strip_prefix("gRPC endpoint") {
                return rest.trim().to_owned();
            }
        }
        panic!("pingan dev exited without printing its endpoint");
    })
    .await
    .expect("endpoint printed in time");
    let port = endpoint.rsplit(':').next().expect("port");
    let tls = ClientTls::new(&ca, None, Duration::from_secs(60)).expect("client tls");
    let (endpoint, connector) = tls
        .endpoint(&format!("https://localhost:{port}"))
        .expect("endpoint");
    let mut health = HealthClient::new(endpoint.connect_with_connector_lazy(connector));
    let status = tokio::time::timeout(
        Duration::from_secs(20),
        health.check(HealthCheckRequest {
            service: "pingan.intake.v1.IntakeService".into(),
        }),
    )
    .await
    .expect("health in time")
    .expect("health over tls")
    .into_inner()
    .status();
    assert_eq!(status, ServingStatus::Serving);
    let _ = child.kill().await;
    let _ = std::fs::remove_dir_all(dir);
}
