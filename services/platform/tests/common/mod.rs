//! Helpers shared by the platform's server tests.
#![allow(dead_code)]

pub mod events;
pub mod relay;
pub mod spans;

use std::net::SocketAddr;
use std::time::Duration;

use pingan_platform::server::ServiceHost;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// A service with no handlers of its own (every RPC answers UNIMPLEMENTED).
#[derive(Debug, Clone, Copy)]
pub struct Quiet;

#[tonic::async_trait]
impl pingan_proto::intake::v1::intake_service_server::IntakeService for Quiet {}

pub const QUIET_NAME: &str = "pingan.intake.v1.IntakeService";

/// A running host: its address, and the trigger that shuts it down.
pub struct Running {
    pub addr: SocketAddr,
    pub stop: Option<oneshot::Sender<()>>,
    pub task: tokio::task::JoinHandle<Result<(), pingan_platform::server::ServeError>>,
}

impl Running {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Triggers shutdown and waits for the server to stop.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("server stops in time")
            .expect("server task")
            .expect("server result");
    }
}

/// Serves `host` on an ephemeral loopback port until [`Running::stop`].
pub async fn start(host: ServiceHost) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(host.serve(listener, async move {
        let _ = stopped.await;
    }));
    Running {
        addr,
        stop: Some(stop),
        task,
    }
}

/// Waits (bounded) until `service` reports `wanted` on the health Watch stream.
pub async fn wait_for_health(url: &str, service: &str, wanted: ServingStatus) {
    let channel = tonic::transport::Endpoint::from_shared(url.to_owned())
        .expect("endpoint")
        .connect_lazy();
    let mut client = HealthClient::new(channel);
    let wait = async {
        let mut stream = client
            .watch(HealthCheckRequest {
                service: service.to_owned(),
            })
            .await
            .expect("watch")
            .into_inner();
        while let Some(message) = stream.message().await.expect("watch message") {
            if message.status == wanted as i32 {
                return;
            }
        }
        panic!("health stream ended before {wanted:?}");
    };
    tokio::time::timeout(Duration::from_secs(20), wait)
        .await
        .unwrap_or_else(|_| panic!("{service} did not become {wanted:?} in time"));
}
