//! Service requests (非警务服务事项) end to end through gRPC on both backends: a village officer
//! guides a resident through applying for a no-criminal-record certificate on the phone (open →
//! checklist → submit → close DONE, then the report with exact counts and durations); repeats
//! and bursts of the same request; races on the checklist; and the refusals (missing items, bad
//! input naming its field, another station's officer).

mod grid_common;

use std::time::{SystemTime, UNIX_EPOCH};

use grid_common::{RONGXIANG, fields, registry_with_jurisdiction};
use pingan_platform::auth::Role;
use pingan_proto::common::v1::TimeRange;
use pingan_proto::grid::v1 as pb;
use pingan_proto::grid::v1::service_request_service_client::ServiceRequestServiceClient;
use pingan_tests::{Bearer, Service, TestBackend, TestCluster, backend_tests};
use prost_types::Timestamp;
use tonic::Code;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

type Desk = ServiceRequestServiceClient<InterceptedService<Channel, Bearer>>;

const HOUR: i64 = 3_600;
const DAY: i64 = 86_400;
const OFFICER: &str = "st-rongxiang-o3";
const CERT: pb::ServiceRequestType = pb::ServiceRequestType::NoCriminalRecordCertificate;
const INQUIRY: pb::ServiceRequestType = pb::ServiceRequestType::InformationInquiry;
const BEFORE_SUBMIT: [&str; 3] = [
    "IDENTITY_VERIFIED",
    "PURPOSE_STATED",
    "APPLICATION_SUBMITTED_ONLINE",
];

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn at(seconds: i64) -> Option<Timestamp> {
    Some(Timestamp { seconds, nanos: 0 })
}

fn desk(cluster: &TestCluster, subject: &str, roles: &[Role], stations: &[&str]) -> Desk {
    let token = cluster.token(subject, roles, stations).expect("token");
    ServiceRequestServiceClient::new(
        cluster
            .channel_as(Service::GridRegistry, &token)
            .expect("channel"),
    )
}

fn village_officer(cluster: &TestCluster) -> Desk {
    desk(cluster, OFFICER, &[Role::VillageOfficer], &[RONGXIANG])
}

/// The certificate of resident r-101 (grid st-rongxiang-g6), asked for on the phone.
fn certificate(request_id: &str, requested_at: i64) -> pb::OpenServiceRequestRequest {
    pb::OpenServiceRequestRequest {
        request_id: request_id.into(),
        station_id: RONGXIANG.into(),
        resident_id: "r-101".into(),
        channel: pb::ServiceRequestChannel::Phone as i32,
        r#type: CERT as i32,
        description: "外出务工需开具无犯罪记录证明，电话指导掌上办".into(),
        requested_at: at(requested_at),
        ..Default::default()
    }
}

fn tick(request_id: &str, id: &str, key: &str) -> pb::CompleteChecklistItemRequest {
    pb::CompleteChecklistItemRequest {
        request_id: request_id.into(),
        service_request_id: id.into(),
        item_key: key.into(),
        note: String::new(),
    }
}

async fn open(client: &mut Desk, request: pb::OpenServiceRequestRequest) -> pb::ServiceRequest {
    client
        .open_service_request(request)
        .await
        .expect("open")
        .into_inner()
        .service_request
        .expect("request")
}

async fn get(client: &mut Desk, id: &str) -> pb::GetServiceRequestResponse {
    client
        .get_service_request(pb::GetServiceRequestRequest {
            service_request_id: id.into(),
        })
        .await
        .expect("get")
        .into_inner()
}

async fn list(
    client: &mut Desk,
    request: pb::ListServiceRequestsRequest,
) -> Vec<pb::ServiceRequest> {
    client
        .list_service_requests(request)
        .await
        .expect("list")
        .into_inner()
        .service_requests
}

fn row(
    rows: &[pb::ServiceRequestReportRow],
    kind: pb::ServiceRequestType,
) -> &pb::ServiceRequestReportRow {
    rows.iter()
        .find(|r| r.station_id == RONGXIANG && r.r#type == kind as i32)
        .expect("report row")
}

/// The seed story: the certificate guided on the phone, through its checklist to DONE; an
/// inquiry left unanswered past its day; the report's counts and hours exact.
async fn certificate_story_end_to_end(backend: TestBackend) {
    let cluster = registry_with_jurisdiction(backend).await;
    let mut officer = village_officer(&cluster);
    let now = now_secs();

    let types = officer
        .list_service_request_types(pb::ListServiceRequestTypesRequest {})
        .await
        .expect("types")
        .into_inner()
        .types;
    assert_eq!(types.len(), 6);
    let spec = &types[0];
    assert_eq!(
        (spec.r#type, spec.name.as_str()),
        (CERT as i32, "无犯罪记录证明")
    );
    assert_eq!(spec.deadline.as_ref().map(|d| d.seconds), Some(7 * DAY));
    let keys: Vec<&str> = spec.items.iter().map(|i| i.key.as_str()).collect();
    assert_eq!(
        keys,
        [BEFORE_SUBMIT.as_slice(), &["RESULT_DELIVERED"]].concat()
    );

    let requested = now - 10 * HOUR;
    let opened = open(&mut officer, certificate("svc-cert-1", requested)).await;
    assert_eq!(opened.status, pb::ServiceRequestStatus::Open as i32);
    assert_eq!(opened.grid_id, "st-rongxiang-g6", "the resident's grid");
    assert_eq!(opened.applicant_name, "陈桑珠");
    assert_eq!(opened.applicant_phone_masked, "182****6977");
    assert!(opened.applicant_phone.is_empty(), "answers are kept masked");
    assert_eq!(opened.officer_id, OFFICER);
    assert_eq!(opened.due_at, at(requested + 7 * DAY));
    assert!(!opened.overdue);
    assert!(opened.items.iter().all(|i| !i.done));
    let id = opened.service_request_id.clone();

    // The app retries: the first answer, unchanged.
    let again = open(&mut officer, certificate("svc-cert-1", requested)).await;
    assert_eq!(again, opened);

    let early = officer
        .submit_service_request(pb::SubmitServiceRequestRequest {
            request_id: "svc-cert-1-submit-early".into(),
            service_request_id: id.clone(),
            ..Default::default()
        })
        .await
        .expect_err("items missing");
    assert_eq!(early.code(), Code::FailedPrecondition);
    for key in BEFORE_SUBMIT {
        assert!(early.message().contains(key), "{}", early.message());
    }
    assert!(!early.message().contains("RESULT_DELIVERED"));

    for key in BEFORE_SUBMIT {
        officer
            .complete_checklist_item(tick(&format!("svc-cert-1-{key}"), &id, key))
            .await
            .expect("tick");
    }
    let submitted = officer
        .submit_service_request(pb::SubmitServiceRequestRequest {
            request_id: "svc-cert-1-submit".into(),
            service_request_id: id.clone(),
            submitted_at: at(requested + 6 * HOUR),
            note: "申请编号 NCR-2026-001".into(),
        })
        .await
        .expect("submit")
        .into_inner()
        .service_request
        .expect("request");
    assert_eq!(submitted.status, pb::ServiceRequestStatus::Submitted as i32);
    assert_eq!(submitted.submitted_at, at(requested + 6 * HOUR));

    let close = |request_id: &str| pb::CloseServiceRequestRequest {
        request_id: request_id.into(),
        service_request_id: id.clone(),
        outcome: pb::ServiceRequestOutcome::Done as i32,
        note: "电子证明已发送".into(),
        closed_at: None,
    };
    let undelivered = officer
        .close_service_request(close("svc-cert-1-close-early"))
        .await
        .expect_err("not delivered");
    assert_eq!(undelivered.code(), Code::FailedPrecondition);
    assert!(undelivered.message().contains("RESULT_DELIVERED"));
    officer
        .complete_checklist_item(tick("svc-cert-1-delivered", &id, "RESULT_DELIVERED"))
        .await
        .expect("delivered");
    let closed = officer
        .close_service_request(close("svc-cert-1-close"))
        .await
        .expect("close")
        .into_inner()
        .service_request
        .expect("request");
    assert_eq!(closed.status, pb::ServiceRequestStatus::Closed as i32);
    assert_eq!(closed.outcome, pb::ServiceRequestOutcome::Done as i32);

    let read = get(&mut officer, &id).await;
    let request = read.service_request.expect("request");
    assert_eq!(
        request.applicant_phone, "18247856977",
        "police of the station call back"
    );
    assert!(request.items.iter().all(|i| i.done));
    let kinds: Vec<i32> = read.history.iter().map(|e| e.kind).collect();
    use pb::ServiceRequestEventKind as K;
    let item = K::ItemCompleted as i32;
    assert_eq!(
        kinds,
        [
            K::Opened as i32,
            item,
            item,
            item,
            K::Submitted as i32,
            item,
            K::Closed as i32
        ]
    );
    assert_eq!(read.history[5].item_key, "RESULT_DELIVERED");
    assert_eq!(
        read.history[6].outcome,
        pb::ServiceRequestOutcome::Done as i32
    );

    // A walk-in asks a question a day and a half ago and is still waiting: overdue.
    let inquiry = open(
        &mut officer,
        pb::OpenServiceRequestRequest {
            request_id: "svc-inquiry-1".into(),
            station_id: RONGXIANG.into(),
            grid_id: "st-rongxiang-g5".into(),
            applicant_name: "游客".into(),
            applicant_phone: "13800138000".into(),
            channel: pb::ServiceRequestChannel::InPerson as i32,
            r#type: INQUIRY as i32,
            requested_at: at(now - 36 * HOUR),
            ..Default::default()
        },
    )
    .await;
    assert!(inquiry.overdue);
    assert_eq!(inquiry.applicant_phone_masked, "138****8000");
    let only_overdue = pb::ListServiceRequestsRequest {
        station_id: RONGXIANG.into(),
        overdue_only: true,
        ..Default::default()
    };
    let overdue = list(&mut officer, only_overdue).await;
    let ids: Vec<&str> = overdue
        .iter()
        .map(|r| r.service_request_id.as_str())
        .collect();
    assert_eq!(ids, [inquiry.service_request_id.as_str()]);

    let report = officer
        .service_request_report(pb::ServiceRequestReportRequest {
            station_id: RONGXIANG.into(),
            period: Some(TimeRange {
                start: at(now - 2 * DAY),
                end: at(now + HOUR),
            }),
            r#type: 0,
        })
        .await
        .expect("report")
        .into_inner();
    let cert = row(&report.rows, CERT);
    assert_eq!(
        (
            cert.opened,
            cert.submitted,
            cert.open,
            cert.closed_done,
            cert.overdue
        ),
        (1, 1, 0, 1, 0)
    );
    assert_eq!(cert.submitted_on_time, 1);
    assert_eq!(cert.share_submitted_on_time, 1.0);
    assert_eq!(
        (cert.p50_hours_to_submit, cert.p90_hours_to_submit),
        (6.0, 6.0)
    );
    let asked = row(&report.rows, INQUIRY);
    assert_eq!(
        (asked.opened, asked.submitted, asked.open, asked.overdue),
        (1, 0, 1, 1)
    );
    assert_eq!(asked.p50_hours_to_submit, 0.0);
    let total = report.total.expect("total");
    assert_eq!((total.opened, total.submitted, total.overdue), (2, 1, 1));
    cli_prints_the_report(&cluster, now).await;

    let metrics = pingan_platform::metrics::render();
    let series = "pingan_grid_service_requests_total{status=\"done\",type=\"NO_CRIMINAL_RECORD_CERTIFICATE\"}";
    let done: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix(series))
        .and_then(|v| v.trim().parse().ok())
        .expect("series");
    assert!(done >= 1.0, "{done}");
    cluster.shutdown().await.expect("shutdown");
}

/// A burst of the same OpenServiceRequest opens one request; the same id with other content is
/// refused; racing ticks of one item record it once, of different items record each.
async fn repeats_and_races(backend: TestBackend) {
    let cluster = registry_with_jurisdiction(backend).await;
    let officer = village_officer(&cluster);
    let now = now_secs();
    let burst = (0..8).map(|_| {
        let mut client = officer.clone();
        tokio::spawn(async move { open(&mut client, certificate("svc-burst", now - HOUR)).await })
    });
    let answers: Vec<pb::ServiceRequest> = futures::future::join_all(burst)
        .await
        .into_iter()
        .map(|r| r.expect("task"))
        .collect();
    let id = answers[0].service_request_id.clone();
    assert!(answers.iter().all(|a| *a == answers[0]), "one answer");
    let mut client = officer.clone();
    let listed = list(&mut client, pb::ListServiceRequestsRequest::default()).await;
    assert_eq!(listed.len(), 1, "one request");

    let mut other = certificate("svc-burst", now - HOUR);
    other.r#type = INQUIRY as i32;
    let status = client
        .open_service_request(other)
        .await
        .expect_err("reused");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(fields(&status), ["request_id"]);

    // Eight officers' phones tick the same item at once; three other items race each other.
    let others = [
        "PURPOSE_STATED",
        "APPLICATION_SUBMITTED_ONLINE",
        "RESULT_DELIVERED",
    ];
    let racing = (0..8)
        .map(|n| (format!("same-{n}"), "IDENTITY_VERIFIED"))
        .chain(others.map(|key| (format!("other-{key}"), key)));
    let tasks = racing.map(|(request_id, key)| {
        let mut client = officer.clone();
        let id = id.clone();
        tokio::spawn(async move {
            client
                .complete_checklist_item(tick(&request_id, &id, key))
                .await
        })
    });
    for task in futures::future::join_all(tasks).await {
        task.expect("task").expect("tick");
    }
    let read = get(&mut client, &id).await;
    let ticks: Vec<&str> = read
        .history
        .iter()
        .filter(|e| e.kind == pb::ServiceRequestEventKind::ItemCompleted as i32)
        .map(|e| e.item_key.as_str())
        .collect();
    assert_eq!(ticks.len(), 4, "{ticks:?}");
    assert_eq!(
        ticks.iter().filter(|k| **k == "IDENTITY_VERIFIED").count(),
        1
    );
    assert!(
        read.service_request
            .expect("request")
            .items
            .iter()
            .all(|i| i.done)
    );

    // A repeat of a tick answers the first answer, even after later changes.
    let first = client
        .complete_checklist_item(tick("same-0", &id, "IDENTITY_VERIFIED"))
        .await
        .expect("repeat")
        .into_inner();
    let second = client
        .complete_checklist_item(tick("same-0", &id, "IDENTITY_VERIFIED"))
        .await
        .expect("repeat")
        .into_inner();
    assert_eq!(first, second);

    // Two phones submit with the same request id at once: one submission, one answer.
    let submit = (0..2).map(|_| {
        let mut client = officer.clone();
        let id = id.clone();
        tokio::spawn(async move {
            client
                .submit_service_request(pb::SubmitServiceRequestRequest {
                    request_id: "svc-burst-submit".into(),
                    service_request_id: id,
                    ..Default::default()
                })
                .await
                .map(|r| r.into_inner())
        })
    });
    let answers: Vec<_> = futures::future::join_all(submit)
        .await
        .into_iter()
        .map(|t| t.expect("task").expect("submit"))
        .collect();
    assert_eq!(answers[0], answers[1]);
    let read = get(&mut client, &id).await;
    let submissions = read
        .history
        .iter()
        .filter(|e| e.kind == pb::ServiceRequestEventKind::Submitted as i32)
        .count();
    assert_eq!(submissions, 1);
    cluster.shutdown().await.expect("shutdown");
}

/// The code a call answered with (OK when it succeeded).
fn code<T>(answer: Result<tonic::Response<T>, tonic::Status>) -> Code {
    answer.err().map_or(Code::Ok, |status| status.code())
}

fn refused(status: &tonic::Status) -> Vec<String> {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let mut f = fields(status);
    f.sort();
    f
}

/// Bad input names its field; another station's officer and a grid worker are refused.
async fn refusals(backend: TestBackend) {
    let cluster = registry_with_jurisdiction(backend).await;
    let mut officer = village_officer(&cluster);
    let now = now_secs();

    let empty = officer
        .open_service_request(pb::OpenServiceRequestRequest::default())
        .await
        .expect_err("empty");
    assert_eq!(
        refused(&empty),
        [
            "applicant_name",
            "applicant_phone",
            "channel",
            "request_id",
            "station_id",
            "type"
        ]
    );
    let mut bad = certificate("svc-bad", now);
    bad.resident_id.clear();
    bad.applicant_name = "李四".into();
    bad.applicant_phone = "call me".into();
    bad.requested_at = at(now + DAY);
    let status = officer.open_service_request(bad).await.expect_err("bad");
    assert_eq!(refused(&status), ["applicant_phone", "requested_at"]);
    let mut foreign_grid = certificate("svc-bad-grid", now);
    foreign_grid.grid_id = "st-chengnan-g1".into();
    let status = desk(&cluster, "admin-1", &[Role::Admin], &[])
        .open_service_request(foreign_grid)
        .await
        .expect_err("grid of another station");
    assert_eq!(refused(&status), ["grid_id"]);

    let id = open(&mut officer, certificate("svc-ref", now - HOUR))
        .await
        .service_request_id;
    let status = officer
        .complete_checklist_item(tick("svc-ref-x", &id, "NO_SUCH_ITEM"))
        .await
        .expect_err("unknown item");
    assert_eq!(refused(&status), ["item_key"]);
    let status = officer
        .complete_checklist_item(pb::CompleteChecklistItemRequest::default())
        .await
        .expect_err("empty tick");
    assert_eq!(
        refused(&status),
        ["item_key", "request_id", "service_request_id"]
    );
    for key in BEFORE_SUBMIT {
        officer
            .complete_checklist_item(tick(&format!("svc-ref-{key}"), &id, key))
            .await
            .expect("tick");
    }
    let status = officer
        .submit_service_request(pb::SubmitServiceRequestRequest {
            request_id: "svc-ref-submit".into(),
            service_request_id: id.clone(),
            submitted_at: at(now - 2 * HOUR),
            note: String::new(),
        })
        .await
        .expect_err("before the request");
    assert_eq!(refused(&status), ["submitted_at"]);
    for (outcome, field) in [
        (pb::ServiceRequestOutcome::Rejected as i32, "note"),
        (0, "outcome"),
    ] {
        let close = pb::CloseServiceRequestRequest {
            request_id: format!("svc-ref-close-{outcome}"),
            service_request_id: id.clone(),
            outcome,
            ..Default::default()
        };
        let status = officer.close_service_request(close).await.expect_err(field);
        assert_eq!(refused(&status), [field]);
    }
    let status = officer
        .list_service_requests(pb::ListServiceRequestsRequest {
            page_size: 501,
            r#type: 99,
            ..Default::default()
        })
        .await
        .expect_err("bad filters");
    assert_eq!(refused(&status), ["page_size", "type"]);
    let status = officer
        .get_service_request(pb::GetServiceRequestRequest {
            service_request_id: "no-such-request".into(),
        })
        .await
        .expect_err("unknown");
    assert_eq!(status.code(), Code::NotFound);

    // Chengnan's village officer: denied at Rongxiang, blind to its requests.
    let mut stranger = desk(
        &cluster,
        "st-chengnan-o1",
        &[Role::VillageOfficer],
        &["st-chengnan"],
    );
    let answer = stranger
        .open_service_request(certificate("svc-stranger", now))
        .await;
    assert_eq!(code(answer), Code::PermissionDenied);
    let answer = stranger
        .complete_checklist_item(tick("svc-stranger-tick", &id, "RESULT_DELIVERED"))
        .await;
    assert_eq!(code(answer), Code::NotFound);
    let answer = stranger
        .get_service_request(pb::GetServiceRequestRequest {
            service_request_id: id.clone(),
        })
        .await;
    assert_eq!(code(answer), Code::NotFound);
    let answer = stranger
        .list_service_requests(pb::ListServiceRequestsRequest {
            station_id: RONGXIANG.into(),
            ..Default::default()
        })
        .await;
    assert_eq!(code(answer), Code::PermissionDenied);
    let seen = list(&mut stranger, pb::ListServiceRequestsRequest::default()).await;
    assert!(seen.is_empty(), "{seen:?}");
    let answer = stranger
        .service_request_report(pb::ServiceRequestReportRequest {
            station_id: RONGXIANG.into(),
            ..Default::default()
        })
        .await;
    assert_eq!(code(answer), Code::PermissionDenied);

    // A grid worker of the station reads but does not serve applicants.
    let mut worker = desk(&cluster, "gw-1", &[Role::GridWorker], &[RONGXIANG]);
    let answer = worker
        .open_service_request(certificate("svc-worker", now))
        .await;
    assert_eq!(code(answer), Code::PermissionDenied);
    let read = get(&mut worker, &id)
        .await
        .service_request
        .expect("request");
    assert!(
        read.applicant_phone.is_empty(),
        "grid workers see the masked phone only"
    );
    cluster.shutdown().await.expect("shutdown");
}

backend_tests!(certificate_story_end_to_end, repeats_and_races, refusals,);

#[derive(Debug, clap::Parser)]
struct Cli {
    #[command(subcommand)]
    report: pingan::report_cli::ReportCommand,
}

/// `pingan report service-requests --json` prints the RPC's figures for the station.
async fn cli_prints_the_report(cluster: &TestCluster, now: i64) {
    use clap::Parser as _;
    let endpoint = cluster.endpoint(Service::GridRegistry).expect("endpoint");
    let token = cluster
        .token(OFFICER, &[Role::VillageOfficer], &[RONGXIANG])
        .expect("token");
    let from = chrono::DateTime::from_timestamp(now - 2 * DAY, 0).expect("from");
    let to = chrono::DateTime::from_timestamp(now + HOUR, 0).expect("to");
    let (from, to) = (from.to_rfc3339(), to.to_rfc3339());
    let args = [
        "report",
        "service-requests",
        "--endpoint",
        &endpoint,
        "--token",
        &token,
        "--from",
        &from,
        "--to",
        &to,
        "--station",
        RONGXIANG,
        "--json",
    ];
    let cli = Cli::try_parse_from(args).expect("arguments");
    let text = pingan::report_cli::render(&cli.report)
        .await
        .expect("report");
    let json: serde_json::Value = serde_json::from_str(&text).expect("json");
    let rows = json["rows"].as_array().expect("rows");
    let cert = rows
        .iter()
        .find(|r| r["type"] == "NO_CRIMINAL_RECORD_CERTIFICATE")
        .expect("certificate row");
    assert_eq!(
        (&cert["opened"], &cert["closed_done"]),
        (&1.into(), &1.into())
    );
    assert_eq!(cert["p50_hours_to_submit"], 6.0);
    let total = rows.iter().find(|r| r["row"] == "total").expect("total");
    assert_eq!(
        (&total["opened"], &total["overdue"]),
        (&2.into(), &1.into())
    );
}
