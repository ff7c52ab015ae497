//! Service requests (非警务服务事项) end to end through gRPC on both backends: a village officer
//! guides a resident through applying for a no-criminal-record certificate on the phone (open →
//! checklist → submit → close DONE, then the report with exact counts and durations); repeats
//! and bursts of the same request; races on the checklist; and the refusals (missing items, bad
//! input naming its field, another station's officer).

mod grid_common;
mod service_requests_support;

use pingan_proto::common::v1::TimeRange;
use service_requests_support::*;

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

backend_tests!(certificate_story_end_to_end, repeats_and_races,);

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
