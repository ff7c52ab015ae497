//! The 110 ↔ 12345 bridge end to end: a 12345 outage (controlled clock) loses and doubles
//! nothing; story 4 (police business from 12345 becomes an incident, through a fake intake until
//! intake lands); intake unavailable keeps the ticket pending and completes it later; complaints
//! go to complaints-audit and their finding back to 12345; non-police tickets are returned;
//! bounces stay with the police; overdue transfers are listed; what intake would refuse is
//! refused at the edge; a permanent refusal by intake is a dead letter, not a retry loop.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use pingan_platform::auth::Role;
use pingan_platform::clock::ManualClock;
use pingan_proto::common::v1::Channel;
use pingan_proto::events::v1::event_sink_service_client::EventSinkServiceClient;
use pingan_proto::events::v1::{DeliverRequest, EventEnvelope};
use pingan_proto::hotline::v1::ReplyKind;
use pingan_proto::intake::v1::intake_service_server::{IntakeService, IntakeServiceServer};
use pingan_proto::intake::v1::{ReportCallRequest, ReportCallResponse};
use pingan_proto::triage::v1 as pb;
use pingan_proto::triage::v1::triage_service_client::TriageServiceClient;
use pingan_tests::{ClusterOptions, Service, TestBackend, TestCluster, Topology, backend_tests};
use pingan_triage::{HotlineSimulator, TriageConfig};
use prost::Message;

type Client = TriageServiceClient<
    tonic::service::interceptor::InterceptedService<
        tonic::transport::Channel,
        pingan_tests::Bearer,
    >,
>;

/// Intake until its issue lands: records ReportCall, can be told to be down, or to refuse
/// every call for good (a newer intake with a stricter rule than this triage knows).
#[derive(Debug, Clone, Default)]
struct FakeIntake {
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
    fn calls(&self) -> Vec<ReportCallRequest> {
        self.calls.lock().expect("lock").clone()
    }
    fn set_down(&self, down: bool) {
        *self.down.lock().expect("lock") = down;
    }
    fn set_refuse(&self, refuse: bool) {
        *self.refuse.lock().expect("lock") = refuse;
    }
    fn attempts(&self) -> usize {
        *self.attempts.lock().expect("lock")
    }
}

async fn serve_fake_intake(fake: FakeIntake) -> String {
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

struct Bench {
    cluster: TestCluster,
    clock: ManualClock,
    simulator: HotlineSimulator,
    intake: FakeIntake,
}

async fn bench(backend: TestBackend) -> Bench {
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

fn client(cluster: &TestCluster, subject: &str, roles: &[Role]) -> Client {
    let token = cluster.token(subject, roles, &[]).expect("token");
    TriageServiceClient::new(
        cluster
            .channel_as(Service::Triage, &token)
            .expect("channel"),
    )
}

async fn get(client: &mut Client, transfer_id: &str) -> pb::Transfer {
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
async fn wait_status(
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

fn utilities() -> pb::Classification {
    pb::Classification {
        kind: pb::Kind::NonPolice as i32,
        category: "UTILITIES".into(),
        category_name: "水电气暖".into(),
        department: "市公用事业（供水、供电、燃气、供热）".into(),
        ..Default::default()
    }
}

async fn divert(client: &mut Client, n: usize) -> pb::Transfer {
    client
        .divert_to12345(pb::DivertTo12345Request {
            request_id: format!("divert-{n}"),
            incident_id: format!("inc-{n}"),
            classification: Some(utilities()),
            description: format!("第{n}户停电"),
            caller_phone: "13900001111".into(),
            ..Default::default()
        })
        .await
        .expect("divert")
        .into_inner()
        .transfer
        .expect("transfer")
}

/// 12345 down for 30 s of (controlled) time: every transfer waits, then goes out once.
async fn outage_loses_and_doubles_nothing(backend: TestBackend) {
    let b = bench(backend).await;
    let mut dispatcher = client(&b.cluster, "dispatcher-1", &[Role::Dispatcher]);
    b.simulator.set_down(true);
    let mut ids = Vec::new();
    for n in 0..3 {
        let t = divert(&mut dispatcher, n).await;
        assert_eq!(
            t.status,
            pb::TransferStatus::Pending as i32,
            "waits while 12345 is down"
        );
        assert!(t.hotline_ticket_id.is_empty());
        // The first attempt runs inline or on the background courier, whichever leases first.
        let mut attempted = t.clone();
        for _ in 0..200 {
            if !attempted.last_delivery_error.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
            attempted = get(&mut dispatcher, &t.transfer_id).await;
        }
        assert!(
            !attempted.last_delivery_error.is_empty(),
            "the failed attempt is recorded"
        );
        ids.push(t.transfer_id);
    }
    // 30 s of controlled time with 12345 down, then until the courier has retried each transfer.
    for _ in 0..6 {
        b.clock.advance(Duration::from_secs(5));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for id in &ids {
        let mut t = get(&mut dispatcher, id).await;
        for _ in 0..100 {
            if t.delivery_attempts >= 2 {
                break;
            }
            b.clock.advance(Duration::from_secs(5));
            tokio::time::sleep(Duration::from_millis(50)).await;
            t = get(&mut dispatcher, id).await;
        }
        assert_eq!(t.status, pb::TransferStatus::Pending as i32);
        assert!(
            t.delivery_attempts >= 2,
            "retried during the outage: {}",
            t.delivery_attempts
        );
    }
    assert!(b.simulator.tickets().is_empty());
    // 12345 returns, and the first answer it gives is lost on the way back.
    b.simulator.lose_next_responses(1);
    b.simulator.set_down(false);
    for _ in 0..3 {
        b.clock.advance(Duration::from_secs(61));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut tickets = std::collections::BTreeSet::new();
    for id in &ids {
        let t = wait_status(&mut dispatcher, id, pb::TransferStatus::Sent).await;
        assert!(
            tickets.insert(t.hotline_ticket_id.clone()),
            "one ticket per transfer"
        );
    }
    let created = b.simulator.tickets();
    assert_eq!(created.len(), 3, "every transfer delivered, once");
    for ticket in created {
        assert!(ids.contains(&ticket.request.request_id));
        assert!(tickets.contains(&ticket.ticket_id));
    }
    b.cluster.shutdown().await.expect("shutdown");
}

async fn receive(
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

/// Story 4: police business from 12345 becomes an intake incident at once (CHANNEL_12345),
/// idempotent on the ticket id; 12345 hears it was accepted.
async fn story4_police_business_from_12345_becomes_an_incident(backend: TestBackend) {
    let b = bench(backend).await;
    let mut hotline = client(&b.cluster, "hotline", &[Role::HotlineIntegrator]);
    let r = receive(
        &mut hotline,
        "rx-1",
        "T-1001",
        "小区里有人持刀伤人，现在还在",
    )
    .await;
    assert_eq!(r.disposition, pb::InboundDisposition::IncidentOpened as i32);
    let t = r.transfer.expect("transfer");
    assert_eq!(t.status, pb::TransferStatus::Accepted as i32);
    assert_eq!(t.incident_id, "inc-12345-0");
    assert_eq!(t.direction, pb::TransferDirection::From12345 as i32);
    let calls = b.intake.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].channel, Channel::Channel12345 as i32);
    assert_eq!(calls[0].source_call_id, "T-1001");
    assert_eq!(calls[0].inbound_transfer_id, t.transfer_id);
    assert_eq!(calls[0].caller_phone, "13700002222");
    // The same ticket again, under another request id: one transfer, one incident.
    let again = receive(
        &mut hotline,
        "rx-1-retry",
        "T-1001",
        "小区里有人持刀伤人，现在还在",
    )
    .await;
    assert_eq!(again.transfer.expect("transfer").transfer_id, t.transfer_id);
    assert_eq!(b.intake.calls().len(), 1);
    // 12345 was told (ReplyTicket ACCEPTED, with the incident).
    for _ in 0..100 {
        if !b.simulator.replies().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let replies = b.simulator.replies();
    assert!(replies.iter().any(|r| r.ticket_id == "T-1001"
        && r.kind == ReplyKind::Accepted as i32
        && r.incident_id == "inc-12345-0"));
    b.cluster.shutdown().await.expect("shutdown");
}

/// Intake unreachable: the ticket is kept PENDING and completed when intake returns.
async fn inbound_waits_for_intake(backend: TestBackend) {
    let b = bench(backend).await;
    let mut hotline = client(&b.cluster, "hotline", &[Role::HotlineIntegrator]);
    b.intake.set_down(true);
    let r = receive(&mut hotline, "rx-2", "T-2002", "有人在网吧后面卖毒品").await;
    assert_eq!(r.disposition, pb::InboundDisposition::Pending as i32);
    let id = r.transfer.expect("transfer").transfer_id;
    b.intake.set_down(false);
    b.clock.advance(Duration::from_secs(5));
    let t = wait_status(&mut hotline, &id, pb::TransferStatus::Accepted).await;
    assert_eq!(t.incident_id, "inc-12345-0");
    assert_eq!(b.intake.calls().len(), 1);
    let r = receive(&mut hotline, "rx-2b", "T-2002", "有人在网吧后面卖毒品").await;
    assert_eq!(r.disposition, pb::InboundDisposition::IncidentOpened as i32);
    b.cluster.shutdown().await.expect("shutdown");
}

async fn deliver_event<M: Message + prost::Name>(cluster: &TestCluster, id: &str, message: &M) {
    let token = cluster
        .token("complaints-audit", &[Role::Service], &[])
        .expect("token");
    let mut sink = EventSinkServiceClient::new(
        cluster
            .channel_as(Service::Triage, &token)
            .expect("channel"),
    );
    sink.deliver(DeliverRequest {
        destination: "triage".into(),
        event: Some(EventEnvelope {
            event_id: id.into(),
            event_type: M::full_name(),
            source: "complaints-audit".into(),
            aggregate_id: "c-1".into(),
            payload: Some(prost_types::Any {
                type_url: format!("type.googleapis.com/{}", M::full_name()),
                value: message.encode_to_vec(),
            }),
            ..Default::default()
        }),
    })
    .await
    .expect("deliver");
}

/// A complaint about police from 12345 goes to complaints-audit; its filing and its finding
/// come back as events and the finding is answered to 12345.
async fn complaint_goes_to_audit_and_the_finding_back_to_12345(backend: TestBackend) {
    let b = bench(backend).await;
    let mut hotline = client(&b.cluster, "hotline", &[Role::HotlineIntegrator]);
    let r = receive(
        &mut hotline,
        "rx-3",
        "T-3003",
        "我要投诉城南派出所的民警，态度恶劣还骂人",
    )
    .await;
    assert_eq!(r.disposition, pb::InboundDisposition::ComplaintFiled as i32);
    let t = r.transfer.expect("transfer");
    assert_eq!(
        t.status,
        pb::TransferStatus::Pending as i32,
        "until complaints-audit files it"
    );
    assert!(b.intake.calls().is_empty());
    let filed = pingan_proto::audit::v1::ComplaintFiled {
        complaint_id: "c-1".into(),
        case_number: "TS-2025-000001".into(),
        hotline_ticket_id: "T-3003".into(),
        transfer_id: t.transfer_id.clone(),
        ..Default::default()
    };
    deliver_event(&b.cluster, "ev-filed", &filed).await;
    deliver_event(&b.cluster, "ev-filed", &filed).await; // redelivery: no second effect
    let accepted = get(&mut hotline, &t.transfer_id).await;
    assert_eq!(accepted.status, pb::TransferStatus::Accepted as i32);
    assert_eq!(accepted.complaint_id, "c-1");
    let answered = pingan_proto::audit::v1::ComplaintAnswered {
        complaint_id: "c-1".into(),
        hotline_ticket_id: "T-3003".into(),
        transfer_id: t.transfer_id.clone(),
        finding: pingan_proto::audit::v1::Finding::MaliciousFalseReport as i32,
        reply_text: "经调查，民警依法处置，投诉不实".into(),
        ..Default::default()
    };
    deliver_event(&b.cluster, "ev-answered", &answered).await;
    let handled = wait_status(&mut hotline, &t.transfer_id, pb::TransferStatus::Handled).await;
    assert_eq!(handled.complaint_id, "c-1");
    let findings: Vec<_> = b
        .simulator
        .replies()
        .into_iter()
        .filter(|r| r.kind == ReplyKind::Finding as i32)
        .collect();
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].finding, "MALICIOUS_FALSE_REPORT");
    assert_eq!(findings[0].ticket_id, "T-3003");
    b.cluster.shutdown().await.expect("shutdown");
}

/// Not police business: returned to 12345 with a reason.
async fn non_police_ticket_is_returned_with_a_reason(backend: TestBackend) {
    let b = bench(backend).await;
    let mut hotline = client(&b.cluster, "hotline", &[Role::HotlineIntegrator]);
    let r = receive(&mut hotline, "rx-4", "T-4004", "小区的路灯坏了好几天了").await;
    assert_eq!(r.disposition, pb::InboundDisposition::Returned as i32);
    assert!(
        r.return_reason.contains("城市管理局"),
        "{}",
        r.return_reason
    );
    let t = r.transfer.expect("transfer");
    assert_eq!(t.status, pb::TransferStatus::Bounced as i32);
    for _ in 0..100 {
        if b.simulator
            .replies()
            .iter()
            .any(|r| r.kind == ReplyKind::Returned as i32)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        b.simulator
            .replies()
            .iter()
            .any(|r| r.ticket_id == "T-4004" && r.kind == ReplyKind::Returned as i32)
    );
    assert!(b.intake.calls().is_empty());
    b.cluster.shutdown().await.expect("shutdown");
}

/// A diversion 12345 bounces stays with the police (first receiver): through the simulator's
/// bounce, and through a ticket pushed back with our transfer id.
async fn bounced_diversions_stay_with_the_police(backend: TestBackend) {
    let b = bench(backend).await;
    let mut dispatcher = client(&b.cluster, "dispatcher-1", &[Role::Dispatcher]);
    b.simulator.bounce(&["UTILITIES"]);
    let t = divert(&mut dispatcher, 7).await;
    let bounced = wait_status(&mut dispatcher, &t.transfer_id, pb::TransferStatus::Bounced).await;
    assert!(!bounced.hotline_ticket_id.is_empty());
    assert!(!bounced.outcome_note.is_empty());
    b.simulator.bounce(&[]);

    let t = divert(&mut dispatcher, 8).await;
    assert_eq!(t.status, pb::TransferStatus::Sent as i32);
    let mut hotline = client(&b.cluster, "hotline", &[Role::HotlineIntegrator]);
    let r = hotline
        .receive_hotline_ticket(pb::ReceiveHotlineTicketRequest {
            request_id: "rx-back".into(),
            hotline_ticket_id: t.hotline_ticket_id.clone(),
            description: "第8户停电，经核实系窃电纠纷".into(),
            origin_transfer_id: t.transfer_id.clone(),
            ..Default::default()
        })
        .await
        .expect("pushed back")
        .into_inner();
    assert_eq!(r.disposition, pb::InboundDisposition::IncidentOpened as i32);
    let inbound = r.transfer.expect("transfer");
    assert_eq!(
        inbound.incident_id, "inc-8",
        "the diverted incident is back with the police"
    );
    assert_eq!(inbound.first_received_on, Channel::Channel110 as i32);
    let origin = get(&mut dispatcher, &t.transfer_id).await;
    assert_eq!(origin.status, pb::TransferStatus::Bounced as i32);
    b.cluster.shutdown().await.expect("shutdown");
}

/// Open transfers past their 12345 deadline are listed, most overdue first.
async fn overdue_transfers_are_listed(backend: TestBackend) {
    let b = bench(backend).await;
    let mut hotline = client(&b.cluster, "hotline", &[Role::HotlineIntegrator]);
    let deadline = b.clock_now() + chrono::Duration::hours(1);
    let r = hotline
        .receive_hotline_ticket(pb::ReceiveHotlineTicketRequest {
            request_id: "rx-5".into(),
            hotline_ticket_id: "T-5005".into(),
            description: "我家电动车昨晚被偷了".into(),
            address: "日喀则市桑珠孜区东郊社区31号".into(),
            deadline: Some(prost_types::Timestamp {
                seconds: deadline.timestamp(),
                nanos: 0,
            }),
            ..Default::default()
        })
        .await
        .expect("receive")
        .into_inner();
    let id = r.transfer.expect("transfer").transfer_id;
    let mut dispatcher = client(&b.cluster, "dispatcher-1", &[Role::Dispatcher]);
    let t = divert(&mut dispatcher, 9).await; // 12345 gives 72 h
    let list = |client: &mut Client| {
        let mut client = client.clone();
        async move {
            client
                .list_overdue_transfers(pb::ListOverdueTransfersRequest::default())
                .await
                .expect("overdue")
                .into_inner()
                .transfers
        }
    };
    assert!(list(&mut dispatcher).await.is_empty());
    b.clock.advance(Duration::from_secs(2 * 3600));
    let overdue = list(&mut dispatcher).await;
    assert_eq!(overdue.len(), 1);
    assert_eq!(overdue[0].transfer_id, id);
    assert!(overdue[0].overdue);
    b.clock.advance(Duration::from_secs(72 * 3600));
    let overdue = list(&mut dispatcher).await;
    assert_eq!(overdue.len(), 2);
    assert_eq!(overdue[0].transfer_id, id, "most overdue first");
    assert_eq!(overdue[1].transfer_id, t.transfer_id);
    b.cluster.shutdown().await.expect("shutdown");
}

fn violated_fields(status: &tonic::Status) -> Vec<String> {
    use tonic_types::StatusExt;
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    status
        .get_details_bad_request()
        .map(|b| b.field_violations.into_iter().map(|v| v.field).collect())
        .unwrap_or_default()
}

/// What intake would refuse is refused at the edge, naming the field, and nothing is recorded
/// or delivered.
async fn tickets_intake_would_refuse_are_refused_at_the_edge(backend: TestBackend) {
    let b = bench(backend).await;
    let mut hotline = client(&b.cluster, "hotline", &[Role::HotlineIntegrator]);
    let ticket = |id: &str| pb::ReceiveHotlineTicketRequest {
        request_id: format!("rx-{id}"),
        hotline_ticket_id: id.into(),
        description: "小区里有人持刀伤人，现在还在".into(),
        caller_phone: "13700002222".into(),
        address: "日喀则市桑珠孜区城南一社区13号".into(),
        ..Default::default()
    };
    let cases = [
        (
            pb::ReceiveHotlineTicketRequest {
                caller_phone: "12".into(),
                ..ticket("T-bad-phone")
            },
            vec!["caller_phone"],
        ),
        (
            pb::ReceiveHotlineTicketRequest {
                address: String::new(),
                ..ticket("T-nowhere")
            },
            vec!["location", "address"],
        ),
        (
            pb::ReceiveHotlineTicketRequest {
                location: Some(pingan_proto::common::v1::GeoPoint {
                    lat: 29.2,
                    lon: 188.0,
                }),
                ..ticket("T-off-the-map")
            },
            vec!["location.lon"],
        ),
        (
            pb::ReceiveHotlineTicketRequest {
                description: "  ".into(),
                caller_name: "名".repeat(65),
                ..ticket("T-blank")
            },
            vec!["caller_name", "description"],
        ),
        (
            pb::ReceiveHotlineTicketRequest {
                received_at: Some(prost_types::Timestamp {
                    seconds: b.clock_now().timestamp() + 3600,
                    nanos: 0,
                }),
                ..ticket("T-future")
            },
            vec!["received_at"],
        ),
    ];
    for (request, expected) in cases {
        let ticket_id = request.hotline_ticket_id.clone();
        let refused = hotline
            .receive_hotline_ticket(request)
            .await
            .expect_err(&ticket_id);
        assert_eq!(violated_fields(&refused), expected, "{ticket_id}");
        let lookup = hotline
            .get_transfer(pb::GetTransferRequest {
                hotline_ticket_id: ticket_id.clone(),
                ..Default::default()
            })
            .await
            .expect_err("nothing recorded");
        assert_eq!(lookup.code(), tonic::Code::NotFound, "{ticket_id}");
    }
    // A complaint about police needs no place (it goes to complaints-audit, not intake).
    let complaint = hotline
        .receive_hotline_ticket(pb::ReceiveHotlineTicketRequest {
            description: "我要投诉城南派出所的民警，态度恶劣还骂人".into(),
            address: String::new(),
            ..ticket("T-complaint")
        })
        .await
        .expect("complaint without a place")
        .into_inner();
    assert_eq!(
        complaint.disposition,
        pb::InboundDisposition::ComplaintFiled as i32
    );
    let listed = hotline
        .list_transfers(pb::ListTransfersRequest::default())
        .await
        .expect("list")
        .into_inner()
        .transfers;
    assert_eq!(listed.len(), 1, "only the complaint: {listed:?}");
    assert_eq!(b.intake.attempts(), 0, "nothing was delivered to intake");
    b.cluster.shutdown().await.expect("shutdown");
}

fn dead_letters_counted() -> u64 {
    pingan_triage::metrics::DEAD_LETTERS
        .as_ref()
        .map(|c| c.with_label_values(&["intake", "invalid_argument"]).get())
        .unwrap_or_default()
}

/// Intake refuses a ticket for good: the delivery is dead-lettered at once with the reason
/// (listed, counted), never attempted again, and the ticket is returned to 12345.
async fn a_permanent_refusal_is_a_dead_letter_not_a_retry_loop(backend: TestBackend) {
    let b = bench(backend).await;
    let mut hotline = client(&b.cluster, "hotline", &[Role::HotlineIntegrator]);
    b.intake.set_refuse(true);
    let counted = dead_letters_counted();
    let r = receive(&mut hotline, "rx-dead", "T-6006", "有人在网吧后面卖毒品").await;
    assert_eq!(
        r.disposition,
        pb::InboundDisposition::Returned as i32,
        "{r:?}"
    );
    assert!(
        r.return_reason.contains("InvalidArgument"),
        "{}",
        r.return_reason
    );
    let t = r.transfer.expect("transfer");
    assert_eq!(t.status, pb::TransferStatus::Bounced as i32);
    assert!(
        t.outcome_note.contains("must name the building"),
        "{}",
        t.outcome_note
    );
    assert_eq!(b.intake.attempts(), 1);
    assert!(dead_letters_counted() > counted, "the metric went up");
    let dead = hotline
        .list_dead_letters(pb::ListDeadLettersRequest::default())
        .await
        .expect("dead letters")
        .into_inner()
        .dead_letters;
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(dead[0].transfer_id, t.transfer_id);
    assert_eq!(dead[0].action, "REPORT_CALL");
    assert_eq!(dead[0].destination, "intake");
    assert_eq!(dead[0].attempts, 1);
    assert!(
        dead[0].reason.contains("InvalidArgument")
            && dead[0].reason.contains("must name the building"),
        "{}",
        dead[0].reason
    );
    // 12345 is told the ticket is returned, with the reason.
    for _ in 0..100 {
        if b.simulator
            .replies()
            .iter()
            .any(|r| r.ticket_id == "T-6006")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let replies = b.simulator.replies();
    let returned = replies
        .iter()
        .find(|r| r.ticket_id == "T-6006")
        .expect("12345 told");
    assert_eq!(returned.kind, ReplyKind::Returned as i32);
    assert!(returned.return_reason.contains("must name the building"));
    // Courier rounds over hours of controlled time: intake is never called again, even once it
    // would accept.
    b.intake.set_refuse(false);
    for _ in 0..5 {
        b.clock.advance(Duration::from_secs(3600));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(b.intake.attempts(), 1, "no retry of a dead letter");
    assert!(b.intake.calls().is_empty());
    let after = get(&mut hotline, &t.transfer_id).await;
    assert_eq!(after.status, pb::TransferStatus::Bounced as i32);
    let again = receive(&mut hotline, "rx-dead-2", "T-6006", "有人在网吧后面卖毒品").await;
    assert_eq!(again.disposition, pb::InboundDisposition::Returned as i32);
    assert_eq!(b.intake.attempts(), 1);
    // A transient failure is still retried (not dead-lettered).
    b.intake.set_down(true);
    let r = receive(&mut hotline, "rx-down", "T-6007", "有人在网吧后面卖毒品").await;
    assert_eq!(r.disposition, pb::InboundDisposition::Pending as i32);
    b.intake.set_down(false);
    b.clock.advance(Duration::from_secs(5));
    let id = r.transfer.expect("transfer").transfer_id;
    wait_status(&mut hotline, &id, pb::TransferStatus::Accepted).await;
    let dead = hotline
        .list_dead_letters(pb::ListDeadLettersRequest::default())
        .await
        .expect("dead letters")
        .into_inner()
        .dead_letters;
    assert_eq!(dead.len(), 1);
    b.cluster.shutdown().await.expect("shutdown");
}

impl Bench {
    fn clock_now(&self) -> chrono::DateTime<chrono::Utc> {
        use pingan_platform::clock::Clock;
        self.clock.now()
    }
}

backend_tests!(
    outage_loses_and_doubles_nothing,
    story4_police_business_from_12345_becomes_an_incident,
    inbound_waits_for_intake,
    complaint_goes_to_audit_and_the_finding_back_to_12345,
    non_police_ticket_is_returned_with_a_reason,
    bounced_diversions_stay_with_the_police,
    overdue_transfers_are_listed,
    tickets_intake_would_refuse_are_refused_at_the_edge,
    a_permanent_refusal_is_a_dead_letter_not_a_retry_loop,
);
