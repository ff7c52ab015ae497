//! The triage bench shared by the bridge tests: triage alone with the in-process 12345 simulator
//! on a manual clock, and a fake intake that records ReportCall and can be down or refuse.

#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use pingan_platform::auth::Role;
use pingan_platform::clock::ManualClock;
use pingan_proto::intake::v1::intake_service_server::{IntakeService, IntakeServiceServer};
use pingan_proto::intake::v1::{ReportCallRequest, ReportCallResponse};
use pingan_proto::triage::v1 as pb;
use pingan_proto::triage::v1::triage_service_client::TriageServiceClient;
use pingan_tests::{ClusterOptions, Service, TestBackend, TestCluster, Topology};
use pingan_triage::{HotlineSimulator, TriageConfig};

pub type Client = TriageServiceClient<
    tonic::service::interceptor::InterceptedService<
        tonic::transport::Channel,
        pingan_tests::Bearer,
    >,
>;

/// Intake until its issue lands: records ReportCall, can be told to be down, or to refuse
/// every call for good (a newer intake with a stricter rule than this triage knows).
#[derive(Debug, Clone, Default)]
pub struct FakeIntake {
    calls: Arc<Mutex<Vec<ReportCallRequest>>>,
    down: Arc<Mutex<bool>>,
    refuse: Arc<Mutex<bool>>,
    attempts: Arc<Mutex<usize>>,
}

#[tonic::async_trait]
impl IntakeService for FakeIntake {
    async fn report_call(
        &self,
        request: tonic::Request<ReportCallRequest>,
    ) -> Result<tonic::Response<ReportCallResponse>, tonic::Status> {
        *self.attempts.lock().expect("lock") += 1;
        if *self.down.lock().expect("lock") {
            return Err(tonic::Status::unavailable("intake down"));
        }
        if *self.refuse.lock().expect("lock") {
            return Err(tonic::Status::invalid_argument(
                "invalid argument: description: must name the building",
            ));
        }
        let request = request.into_inner();
        let mut calls = self.calls.lock().expect("lock");
        // Idempotent on request_id, like intake.
        let n = match calls
            .iter()
            .position(|c| c.request_id == request.request_id)
        {
            Some(i) => i,
            None => {
                calls.push(request.clone());
                calls.len() - 1
            }
        };
        Ok(tonic::Response::new(ReportCallResponse {
            incident_id: format!("inc-12345-{n}"),
            ..Default::default()
        }))
    }
}

impl FakeIntake {
    pub fn calls(&self) -> Vec<ReportCallRequest> {
        self.calls.lock().expect("lock").clone()
    }
    pub fn set_down(&self, down: bool) {
        *self.down.lock().expect("lock") = down;
    }
    pub fn set_refuse(&self, refuse: bool) {
        *self.refuse.lock().expect("lock") = refuse;
    }
    pub fn attempts(&self) -> usize {
        *self.attempts.lock().expect("lock")
    }
}

pub async fn serve_fake_intake(fake: FakeIntake) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(IntakeServiceServer::new(fake))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    format!("http://{addr}")
}

pub struct Bench {
    pub cluster: TestCluster,
    pub clock: ManualClock,
    pub simulator: HotlineSimulator,
    pub intake: FakeIntake,
}

pub async fn bench(backend: TestBackend) -> Bench {
    let clock = ManualClock::new(chrono::Utc::now());
    let simulator = HotlineSimulator::new(Arc::new(clock.clone()));
    let intake = FakeIntake::default();
    let url = serve_fake_intake(intake.clone()).await;
    let cluster = TestCluster::start_with_options(
        backend,
        &[Service::Triage],
        Topology::PortPerService,
        Arc::new(clock.clone()),
        ClusterOptions {
            peers: [("intake".to_owned(), url)].into_iter().collect(),
            triage: Some(TriageConfig {
                delivery_poll: Duration::from_millis(50),
                retry_initial: Duration::from_secs(1),
                retry_max: Duration::from_secs(60),
                call_timeout: Duration::from_secs(2),
                simulator: Some(simulator.clone()),
                ..TriageConfig::default()
            }),
        },
    )
    .await
    .expect("cluster");
    Bench {
        cluster,
        clock,
        simulator,
        intake,
    }
}

pub fn client(cluster: &TestCluster, subject: &str, roles: &[Role]) -> Client {
    let token = cluster.token(subject, roles, &[]).expect("token");
    TriageServiceClient::new(
        cluster
            .channel_as(Service::Triage, &token)
            .expect("channel"),
    )
}

pub async fn get(client: &mut Client, transfer_id: &str) -> pb::Transfer {
    client
        .get_transfer(pb::GetTransferRequest {
            transfer_id: transfer_id.into(),
            ..Default::default()
        })
        .await
        .expect("get")
        .into_inner()
        .transfer
        .expect("transfer")
}

/// Polls (real time, at most 10 s) until the transfer has `status`.
pub async fn wait_status(
    client: &mut Client,
    transfer_id: &str,
    status: pb::TransferStatus,
) -> pb::Transfer {
    for _ in 0..200 {
        let t = get(client, transfer_id).await;
        if t.status == status as i32 {
            return t;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("transfer {transfer_id} never became {status:?}");
}

pub async fn receive(
    client: &mut Client,
    request_id: &str,
    ticket: &str,
    text: &str,
) -> pb::ReceiveHotlineTicketResponse {
    client
        .receive_hotline_ticket(pb::ReceiveHotlineTicketRequest {
            request_id: request_id.into(),
            hotline_ticket_id: ticket.into(),
            description: text.into(),
            caller_phone: "13700002222".into(),
            caller_name: "李先生".into(),
            address: "日喀则市桑珠孜区城南一社区13号".into(),
            department: "12345 热线".into(),
            ..Default::default()
        })
        .await
        .expect("receive")
        .into_inner()
}

impl Bench {
    pub fn clock_now(&self) -> chrono::DateTime<chrono::Utc> {
        use pingan_platform::clock::Clock;
        self.clock.now()
    }
}
