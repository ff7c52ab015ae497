//! Graceful shutdown of the real binary: on SIGTERM the host stops accepting, lets in-flight
//! calls finish, stops its workers and relays, and exits 0 within the grace period; every call
//! it answered is in its database after a restart. `pingan dev` on SQLite, and `pingan serve
//! intake` on Postgres + Redis (its peers hang, so a call is slow and in flight at SIGTERM).

use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use pingan_platform::auth::{Role, TokenIssuer};
use pingan_platform::storage::Backend;
use pingan_platform::testing::{REDIS_URL_VAR, TestDatabase, unique_name};
use pingan_proto::common::v1::{Channel as CallChannel, GeoPoint};
use pingan_proto::intake::v1::intake_service_client::IntakeServiceClient;
use pingan_proto::intake::v1::{GetIncidentRequest, ReportCallRequest};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::time::Instant;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

const INTAKE: &str = "pingan.intake.v1.IntakeService";

fn channel(endpoint: &str) -> Channel {
    tonic::transport::Endpoint::from_shared(endpoint.to_owned())
        .expect("endpoint url")
        .connect_lazy()
}

/// Starts `pingan dev` on `data_dir` and returns it with its endpoint.
async fn start_dev(data_dir: &Path) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_pingan"))
        .args([
            "dev",
            "--listen",
            "127.0.0.1:0",
            "--metrics-listen",
            "127.0.0.1:0",
        ])
        .args(["--shutdown-grace", "10s"])
        .arg("--data-dir")
        .arg(data_dir)
        .env("PINGAN_LOG_FORMAT", "json")
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
                return format!("http://{}", rest.trim());
            }
        }
        panic!("pingan dev exited without printing its endpoint");
    })
    .await
    .expect("endpoint printed in time");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    wait_serving(&endpoint).await;
    (child, endpoint)
}

/// Waits until intake answers SERVING at `endpoint`.
async fn wait_serving(endpoint: &str) {
    let mut health = HealthClient::new(channel(endpoint));
    tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            let status = health
                .check(HealthCheckRequest {
                    service: INTAKE.to_owned(),
                })
                .await
                .map(|r| r.into_inner().status);
            if status.ok() == Some(ServingStatus::Serving as i32) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("intake SERVING in time");
}

async fn sigterm(child: &Child) {
    let pid = child.id().expect("pid").to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .expect("kill");
    assert!(killed.success());
}

async fn exit_within(child: &mut Child, limit: Duration) -> ExitStatus {
    tokio::time::timeout(limit, child.wait())
        .await
        .expect("exits after SIGTERM within the grace period")
        .expect("wait")
}

fn call(request_id: &str, n: u32) -> ReportCallRequest {
    ReportCallRequest {
        request_id: request_id.to_owned(),
        channel: CallChannel::Channel110 as i32,
        source_call_id: format!("110-{request_id}"),
        caller_phone: format!("139{:08}", 20_000 + n),
        caller_name: format!("群众{n}"),
        // Far apart (about 2 km each), so no call is linked to another's incident.
        location: Some(GeoPoint {
            lat: 29.0 + f64::from(n % 50) * 0.02,
            lon: 91.0 + f64::from(n / 50) * 0.02,
        }),
        address: "城关区北京中路".into(),
        description: "两人在路口打架".into(),
        ..Default::default()
    }
}

fn bearer<T>(message: T, token: Option<&str>) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    if let Some(token) = token {
        request.metadata_mut().insert(
            "authorization",
            format!("Bearer {token}").parse().expect("token header"),
        );
    }
    request
}

async fn assert_incidents_exist(endpoint: &str, token: Option<&str>, incidents: &[String]) {
    let mut intake = IntakeServiceClient::new(channel(endpoint));
    for incident_id in incidents {
        let found = intake
            .get_incident(bearer(
                GetIncidentRequest {
                    incident_id: incident_id.clone(),
                    ..Default::default()
                },
                token,
            ))
            .await;
        assert!(
            found.is_ok(),
            "answered incident {incident_id} kept: {found:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dev_drains_a_stream_of_calls_on_sigterm_and_keeps_every_answered_one() {
    let data_dir: PathBuf = std::env::temp_dir().join(unique_name("pingan-shutdown"));
    let (mut child, endpoint) = start_dev(&data_dir).await;

    // Four callers report calls back to back until the host stops answering.
    let mut callers = Vec::new();
    for caller in 0..4_u32 {
        let mut intake = IntakeServiceClient::new(channel(&endpoint));
        callers.push(tokio::spawn(async move {
            let mut answered = Vec::new();
            for n in 0.. {
                let request_id = format!("shutdown-{caller}-{n}");
                let sent = intake.report_call(call(&request_id, caller * 1000 + n));
                match tokio::time::timeout(Duration::from_secs(30), sent).await {
                    Ok(Ok(response)) => answered.push(response.into_inner().incident_id),
                    Ok(Err(_)) | Err(_) => break,
                }
            }
            answered
        }));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let stopping = Instant::now();
    sigterm(&child).await;
    let status = exit_within(&mut child, Duration::from_secs(15)).await;
    assert!(status.success(), "clean exit after SIGTERM, got {status}");
    assert!(
        stopping.elapsed() < Duration::from_secs(12),
        "within the grace period"
    );

    let mut answered = Vec::new();
    for caller in callers {
        answered.extend(caller.await.expect("caller"));
    }
    assert!(!answered.is_empty(), "calls were answered before SIGTERM");

    let (mut child, endpoint) = start_dev(&data_dir).await;
    assert_incidents_exist(&endpoint, None, &answered).await;
    sigterm(&child).await;
    assert!(
        exit_within(&mut child, Duration::from_secs(15))
            .await
            .success()
    );
    let _ = std::fs::remove_dir_all(&data_dir);
}

/// A peer that accepts connections and never answers: every call to it waits for its deadline.
async fn hanging_peer() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    format!("http://{addr}")
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

struct ServeIntake {
    database_url: String,
    redis_url: String,
    redis_prefix: String,
    peers: String,
    config: PathBuf,
    secret: String,
}

impl ServeIntake {
    async fn start(&self) -> (Child, String) {
        let listen = format!("127.0.0.1:{}", free_port());
        let child = Command::new(env!("CARGO_BIN_EXE_pingan"))
            .args(["serve", "intake", "--listen", &listen])
            .arg("--config")
            .arg(&self.config)
            .env("PINGAN_DATABASE_URL", &self.database_url)
            .env("PINGAN_REDIS_URL", &self.redis_url)
            .env("PINGAN_REDIS_PREFIX", &self.redis_prefix)
            .env("PINGAN_PEERS", &self.peers)
            .env("PINGAN_AUTH_SECRET", &self.secret)
            .env("PINGAN_PII_KEY", "shutdown-test-pii-key-0123456789abcdef")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn pingan serve intake");
        let endpoint = format!("http://{listen}");
        wait_serving(&endpoint).await;
        (child, endpoint)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn serve_finishes_a_slow_call_after_sigterm_on_postgres_and_redis() {
    let database = TestDatabase::create(Backend::Postgres, &pingan_intake::MIGRATIONS)
        .await
        .expect("Postgres test database (PINGAN_TEST_DATABASE_URL)");
    let redis_url = std::env::var(REDIS_URL_VAR).expect("PINGAN_TEST_REDIS_URL");
    let peer = hanging_peer().await;
    let config = std::env::temp_dir().join(format!("{}.toml", unique_name("pingan-shutdown")));
    // The file layer: the grace period, quick event deliveries, and a slow locate hop.
    std::fs::write(
        &config,
        "[server]\nshutdown-grace = \"15s\"\n\
         [events]\ndelivery-timeout = \"1s\"\n\
         [intake]\nlocate-deadline = \"2s\"\n",
    )
    .expect("write config");
    let secret = "shutdown-test-secret-0123456789abcdef".to_owned();
    let serve = ServeIntake {
        database_url: database.url.clone(),
        redis_url,
        redis_prefix: format!("{}:", unique_name("pingan_t")),
        peers: ["grid-registry", "triage", "dispatch", "complaints-audit"]
            .map(|name| format!("{name}={peer}"))
            .join(","),
        config: config.clone(),
        secret: secret.clone(),
    };
    let token = TokenIssuer::new(secret.as_bytes(), "pingan")
        .expect("issuer")
        .issue(
            "shutdown-test",
            &[Role::CommandCenter],
            &[],
            Duration::from_secs(600),
        )
        .expect("token");

    let (mut child, endpoint) = serve.start().await;
    let mut intake = IntakeServiceClient::new(channel(&endpoint));
    let slow = {
        let token = token.clone();
        tokio::spawn(async move {
            let answer = intake
                .report_call(bearer(call("shutdown-slow", 7), Some(&token)))
                .await;
            (answer, Instant::now())
        })
    };
    // The call now waits on its hanging peers (2 s for the locate hop alone).
    tokio::time::sleep(Duration::from_millis(700)).await;
    let stopping = Instant::now();
    sigterm(&child).await;

    let (answer, answered_at) = slow.await.expect("caller");
    let answer = answer.expect("the in-flight call completes OK after SIGTERM");
    assert!(
        answered_at > stopping,
        "the call was still in flight at SIGTERM"
    );
    let status = exit_within(&mut child, Duration::from_secs(20)).await;
    assert!(status.success(), "clean exit after SIGTERM, got {status}");
    assert!(
        stopping.elapsed() < Duration::from_secs(16),
        "within the grace period"
    );

    let incident_id = answer.into_inner().incident_id;
    let (mut child, endpoint) = serve.start().await;
    assert_incidents_exist(&endpoint, Some(&token), &[incident_id]).await;
    sigterm(&child).await;
    assert!(
        exit_within(&mut child, Duration::from_secs(20))
            .await
            .success()
    );
    let _ = std::fs::remove_file(&config);
    database.cleanup().await;
}
