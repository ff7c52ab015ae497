//! The command room's 12345 exchange report end to end, on both backends, with the real
//! intake, grid-registry, triage (12345 simulator) and dispatch: calls a caller would make that
//! are not police business are reported to intake and diverted; 12345 accepts, handles,
//! bounces or lets a deadline pass; 12345 pushes tickets to the police. ExchangeReport then
//! counts exactly those, by department and by category; bad requests name their fields; the
//! CLI prints the same numbers; the dashboards' series exist.

mod dispatch_support;
mod stories_support;

use std::collections::BTreeMap;

use chrono::Utc;
use clap::Parser;
use pingan::report_cli::{ReportCommand, render};
use pingan_platform::auth::Role;
use pingan_proto::common::v1::TimeRange;
use pingan_proto::intake::v1::Outcome;
use pingan_proto::triage::v1 as tpb;
use pingan_proto::triage::v1::triage_analysis_service_client::TriageAnalysisServiceClient;
use pingan_proto::triage::v1::{
    ExchangeCounts, ExchangeGroupBy, ExchangeReportRequest, ExchangeReportResponse,
};
use pingan_tests::{Bearer, Service, TestBackend, backend_tests};
use stories_support::{Stories, Triage, call_110, eventually, fields, hotline_ticket, scene};
use tonic::Code;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

type Analysis = TriageAnalysisServiceClient<InterceptedService<Channel, Bearer>>;

fn analysis(stories: &Stories, roles: &[Role], stations: &[&str]) -> Analysis {
    let token = stories
        .cluster
        .token("analyst", roles, stations)
        .expect("token");
    TriageAnalysisServiceClient::new(
        stories
            .cluster
            .channel_as(Service::Triage, &token)
            .expect("channel"),
    )
}

fn ts(at: chrono::DateTime<Utc>) -> prost_types::Timestamp {
    pingan_platform::time::to_timestamp(at)
}

async fn transfer(triage: &mut Triage, id: &str) -> tpb::Transfer {
    triage
        .get_transfer(tpb::GetTransferRequest {
            transfer_id: id.into(),
            ..Default::default()
        })
        .await
        .expect("get transfer")
        .into_inner()
        .transfer
        .expect("transfer")
}

async fn outcome(
    hotline: &mut Triage,
    id: &str,
    status: tpb::TransferStatus,
    deadline: Option<chrono::DateTime<Utc>>,
) {
    hotline
        .record_transfer_outcome(tpb::RecordTransferOutcomeRequest {
            request_id: format!("{id}-{}", status.as_str_name()),
            transfer_id: id.into(),
            status: status as i32,
            note: "12345 办理情况".into(),
            deadline: deadline.map(ts),
            ..Default::default()
        })
        .await
        .expect("record outcome");
}

async fn report(
    client: &mut Analysis,
    period: TimeRange,
    group_by: ExchangeGroupBy,
    department: &str,
    category: &str,
) -> ExchangeReportResponse {
    client
        .exchange_report(ExchangeReportRequest {
            period: Some(period),
            group_by: group_by as i32,
            department: department.into(),
            category: category.into(),
        })
        .await
        .expect("exchange report")
        .into_inner()
}

/// What 12345 does with each diverted call in this test.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Fate {
    Handled,
    Bounced,
    AcceptedPastDeadline,
    Awaiting,
}

fn expected_outbound(fates: &[Fate]) -> ExchangeCounts {
    let n = |f: Fate| fates.iter().filter(|x| **x == f).count() as i64;
    ExchangeCounts {
        diverted: fates.len() as i64,
        accepted: n(Fate::Handled) + n(Fate::AcceptedPastDeadline),
        handled: n(Fate::Handled),
        bounced: n(Fate::Bounced),
        awaiting: n(Fate::Awaiting),
        overdue: n(Fate::AcceptedPastDeadline),
        ..ExchangeCounts::default()
    }
}

async fn the_exchange_report_counts_what_happened(backend: TestBackend) {
    let stories = Stories::start(backend).await;
    let started = Utc::now() - chrono::Duration::minutes(5);
    let mut call_taker = stories.call_taker();
    let room = stories.triage("room", &[Role::CommandCenter]);
    let mut hotline = stories.triage("12345", &[Role::HotlineIntegrator]);

    // Calls that are not police business: diverted by intake through triage.
    let calls = [
        (
            "ex-water",
            "我们小区从昨天开始停水了，到现在还没来水",
            Fate::Handled,
        ),
        (
            "ex-wages",
            "公司拖欠我三个月工资了，老板一直不发",
            Fate::Bounced,
        ),
        (
            "ex-estate",
            "小区物业乱收费，停车费一个月要五百",
            Fate::AcceptedPastDeadline,
        ),
        ("ex-shop", "超市卖过期食品，商家不给退款", Fate::Awaiting),
    ];
    let mut diverted = Vec::new();
    for (i, (request_id, text, fate)) in calls.iter().enumerate() {
        let mut call = call_110(request_id, text);
        call.location = Some(dispatch_support::offset(
            (scene().lat, scene().lon),
            0.0,
            1500.0 * i as f64,
        ));
        let answer = call_taker
            .report_call(call)
            .await
            .expect("report call")
            .into_inner();
        assert_eq!(
            answer.outcome(),
            Outcome::DivertedTo12345,
            "{text}: {answer:#?}"
        );
        // 12345 has the ticket before it answers.
        let id = answer.transfer_id.clone();
        let sent = eventually("the diversion reaches 12345", || {
            let mut room = room.clone();
            let id = id.clone();
            async move {
                let t = transfer(&mut room, &id).await;
                (t.status == tpb::TransferStatus::Sent as i32).then_some(t)
            }
        })
        .await;
        diverted.push((sent, *fate));
    }
    let past = Utc::now() - chrono::Duration::hours(1);
    for (t, fate) in &diverted {
        match fate {
            Fate::Handled => {
                outcome(
                    &mut hotline,
                    &t.transfer_id,
                    tpb::TransferStatus::Accepted,
                    None,
                )
                .await;
                outcome(
                    &mut hotline,
                    &t.transfer_id,
                    tpb::TransferStatus::Handled,
                    None,
                )
                .await;
            }
            Fate::Bounced => {
                outcome(
                    &mut hotline,
                    &t.transfer_id,
                    tpb::TransferStatus::Bounced,
                    None,
                )
                .await;
            }
            Fate::AcceptedPastDeadline => {
                outcome(
                    &mut hotline,
                    &t.transfer_id,
                    tpb::TransferStatus::Accepted,
                    Some(past),
                )
                .await;
            }
            Fate::Awaiting => {}
        }
    }

    // 12345 pushes three tickets: police business, not police business, a complaint.
    let pushes = [
        ("T-EX-1", "小区里有人持刀伤人，现在还在"),
        ("T-EX-2", "小区的路灯坏了好几天了"),
        ("T-EX-3", "我要投诉城南派出所的民警，态度恶劣还骂人"),
    ];
    let mut dispositions = Vec::new();
    for (id, text) in pushes {
        let pushed = hotline
            .receive_hotline_ticket(hotline_ticket(id, text, "日喀则市桑珠孜区城南一社区13号"))
            .await
            .expect("receive")
            .into_inner();
        dispositions.push(pushed.disposition());
    }
    assert!(matches!(
        dispositions[0],
        tpb::InboundDisposition::IncidentOpened | tpb::InboundDisposition::Pending
    ));
    assert_eq!(dispositions[1], tpb::InboundDisposition::Returned);
    assert_eq!(dispositions[2], tpb::InboundDisposition::ComplaintFiled);
    let inbound = ExchangeCounts {
        received: 3,
        received_incidents: 1,
        received_complaints: 1,
        returned: 1,
        ..ExchangeCounts::default()
    };

    let period = TimeRange {
        start: Some(ts(started)),
        end: Some(ts(Utc::now() + chrono::Duration::minutes(5))),
    };
    let fates: Vec<Fate> = diverted.iter().map(|(_, f)| *f).collect();
    let mut expected_total = expected_outbound(&fates);
    expected_total.received = inbound.received;
    expected_total.received_incidents = inbound.received_incidents;
    expected_total.received_complaints = inbound.received_complaints;
    expected_total.returned = inbound.returned;

    // By department: the departments triage routed each call to, and 12345's own.
    let mut command = analysis(&stories, &[Role::CommandCenter], &[]);
    let by_department = report(&mut command, period, ExchangeGroupBy::Unspecified, "", "").await;
    assert_eq!(by_department.group_by(), ExchangeGroupBy::Department);
    let total = by_department.total.clone().expect("total");
    assert_eq!(total.current, Some(expected_total));
    assert_eq!(total.previous, Some(ExchangeCounts::default()));
    assert_eq!(total.change, Some(expected_total));
    let mut per_department: BTreeMap<String, Vec<Fate>> = BTreeMap::new();
    for (t, fate) in &diverted {
        per_department
            .entry(t.department.clone())
            .or_default()
            .push(*fate);
    }
    assert!(!per_department.contains_key("12345 热线"));
    for (department, fates) in &per_department {
        let row = by_department
            .rows
            .iter()
            .find(|r| &r.key == department)
            .unwrap_or_else(|| panic!("row of {department}: {by_department:#?}"));
        assert_eq!(row.current, Some(expected_outbound(fates)), "{department}");
    }
    let hotline_row = by_department
        .rows
        .iter()
        .find(|r| r.key == "12345 热线")
        .expect("12345's own row");
    assert_eq!(hotline_row.current, Some(inbound));
    assert_eq!(by_department.rows.len(), per_department.len() + 1);

    // By category, and filtered to the water cut's category and department.
    let water = &diverted[0].0;
    let water_category = water
        .classification
        .as_ref()
        .map(|c| c.category.clone())
        .expect("classification");
    assert_eq!(water_category, "UTILITIES");
    let by_category = report(&mut command, period, ExchangeGroupBy::Category, "", "").await;
    let utilities = by_category
        .rows
        .iter()
        .find(|r| r.key == "UTILITIES")
        .expect("utilities row");
    assert_eq!(utilities.current, Some(expected_outbound(&[Fate::Handled])));
    assert_ne!(utilities.label, "UTILITIES", "the catalogue's name");
    let only_water = report(
        &mut command,
        period,
        ExchangeGroupBy::Category,
        "",
        "UTILITIES",
    )
    .await;
    assert_eq!(
        only_water.total.and_then(|t| t.current),
        Some(expected_outbound(&[Fate::Handled]))
    );
    let department = report(
        &mut command,
        period,
        ExchangeGroupBy::Department,
        &water.department,
        "",
    )
    .await;
    assert_eq!(
        department.total.and_then(|t| t.current),
        Some(expected_outbound(&per_department[&water.department]))
    );

    // Bad requests name their fields; the ledger has no station for a station's officer.
    let bad = command
        .exchange_report(ExchangeReportRequest {
            period: Some(TimeRange {
                start: Some(ts(Utc::now())),
                end: Some(ts(Utc::now() - chrono::Duration::days(1))),
            }),
            group_by: 9,
            category: "NOT_A_CATEGORY".into(),
            ..Default::default()
        })
        .await
        .expect_err("bad request");
    let named = fields(&bad);
    for field in ["period.end", "group_by", "category"] {
        assert!(named.iter().any(|f| f == field), "{field}: {named:?}");
    }
    let missing = command
        .exchange_report(ExchangeReportRequest::default())
        .await
        .expect_err("no period");
    assert!(fields(&missing).iter().any(|f| f == "period.start"));
    let mut station = analysis(&stories, &[Role::StationOfficer], &["st-chengnan"]);
    let denied = station
        .exchange_report(ExchangeReportRequest {
            period: Some(period),
            ..Default::default()
        })
        .await
        .expect_err("a station's officer");
    assert_eq!(denied.code(), Code::PermissionDenied);

    cli_prints_the_same_numbers(&stories, period, &expected_total).await;

    // The dashboards' series exist from the start.
    let metrics = pingan_platform::metrics::render();
    for series in [
        "pingan_triage_transfers_total{direction=\"from_12345\",outcome=\"handled\"}",
        "pingan_triage_transfers_total{direction=\"to_12345\",outcome=\"bounced\"}",
        "pingan_triage_overdue_transfers{direction=\"to_12345\"}",
    ] {
        assert!(metrics.contains(series), "{series}");
    }
    stories.shutdown().await;
}

#[derive(Debug, Parser)]
struct Cli {
    #[command(subcommand)]
    report: ReportCommand,
}

/// `pingan report exchange` against the served triage: JSON and CSV carry the RPC's numbers.
async fn cli_prints_the_same_numbers(
    stories: &Stories,
    period: TimeRange,
    expected: &ExchangeCounts,
) {
    let endpoint = stories.cluster.endpoint(Service::Triage).expect("endpoint");
    let token = stories
        .cluster
        .token("room", &[Role::CommandCenter], &[])
        .expect("token");
    let at = |t: Option<prost_types::Timestamp>| {
        t.as_ref()
            .and_then(pingan_platform::time::from_timestamp)
            .map(|t| t.to_rfc3339())
            .expect("time")
    };
    let (from, to) = (at(period.start), at(period.end));
    let cli = Cli::try_parse_from([
        "report",
        "exchange",
        "--endpoint",
        &endpoint,
        "--token",
        &token,
        "--from",
        &from,
        "--to",
        &to,
        "--json",
    ])
    .expect("arguments");
    let text = render(&cli.report).await.expect("exchange report");
    let json: serde_json::Value = serde_json::from_str(&text).expect("json");
    let current = &json["total"][0];
    assert_eq!(current["period"], "current");
    assert_eq!(current["diverted"], expected.diverted);
    assert_eq!(current["bounced"], expected.bounced);
    assert_eq!(current["overdue"], expected.overdue);
    assert_eq!(current["received"], expected.received);
    assert_eq!(json["total"][1]["period"], "previous");
    assert_eq!(json["total"][1]["diverted"], 0);

    let cli = Cli::try_parse_from([
        "report",
        "exchange",
        "--endpoint",
        &endpoint,
        "--token",
        &token,
        "--from",
        &from,
        "--to",
        &to,
        "--by",
        "category",
        "--csv",
    ])
    .expect("arguments");
    let csv = render(&cli.report).await.expect("exchange csv");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "section,key,label,period,diverted,accepted,handled,bounced,awaiting,overdue,received,received_incidents,received_complaints,returned,pushed_back,received_overdue"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("by_category,UTILITIES,") && l.contains(",current,1,1,1,0,0,0,")),
        "{csv}"
    );
    // The ledger has no station: the CLI says so before calling.
    let cli = Cli::try_parse_from([
        "report",
        "exchange",
        "--endpoint",
        &endpoint,
        "--token",
        &token,
        "--station",
        "st-x",
    ])
    .expect("arguments");
    assert!(render(&cli.report).await.is_err());
}

backend_tests!(the_exchange_report_counts_what_happened);
