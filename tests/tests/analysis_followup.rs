//! The command room's follow-up report end to end, on both backends, on a ManualClock:
//! mediations opened and concluded, revisits scheduled by DispatchClosed events (delivered as
//! dispatch's relay would) and done on time, late, unreachable or not at all, found items and
//! lost reports through case-followup's RPCs, in this period and the previous one; then
//! FollowUpReport's figures exactly, per station and in total, the jurisdiction rules, the
//! named bad fields, FollowupStats unchanged, the CLI and the dashboards' series.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use clap::Parser;
use pingan::report_cli::{ReportCommand, render};
use pingan_platform::auth::Role;
use pingan_platform::clock::{Clock as _, ManualClock};
use pingan_platform::time::to_timestamp as ts;
use pingan_proto::common::v1::TimeRange;
use pingan_proto::dispatch::v1::{Dispatch, DispatchClosed, Disposition};
use pingan_proto::events::v1::event_sink_service_client::EventSinkServiceClient;
use pingan_proto::events::v1::{DeliverRequest, EventEnvelope};
use pingan_proto::followup::v1::case_followup_service_client::CaseFollowupServiceClient;
use pingan_proto::followup::v1::followup_analysis_service_client::FollowupAnalysisServiceClient;
use pingan_proto::followup::v1::*;
use pingan_proto::grid::v1::grid_registry_service_server::{
    GridRegistryService, GridRegistryServiceServer,
};
use pingan_proto::grid::v1::{
    FindResidentByIdNumberRequest, FindResidentByIdNumberResponse, Resident,
};
use pingan_tests::{Bearer, Service, TestBackend, TestCluster, Topology, backend_tests};
use prost::Message;
use tokio::net::TcpListener;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic::{Code, Request, Response, Status};

type Followup = CaseFollowupServiceClient<InterceptedService<Channel, Bearer>>;
type Analysis = FollowupAnalysisServiceClient<InterceptedService<Channel, Bearer>>;

const OWNER_ID: &str = "11010519491231002X";
const EAST: &str = "st-chengnan";
const WEST: &str = "st-chengxi";

#[derive(Debug, Clone, Default)]
struct FakeRegistry;

#[tonic::async_trait]
impl GridRegistryService for FakeRegistry {
    async fn find_resident_by_id_number(
        &self,
        request: Request<FindResidentByIdNumberRequest>,
    ) -> Result<Response<FindResidentByIdNumberResponse>, Status> {
        if request.into_inner().id_number != OWNER_ID {
            return Err(Status::not_found("resident not found"));
        }
        Ok(Response::new(FindResidentByIdNumberResponse {
            resident: Some(Resident {
                resident_id: "res-1".into(),
                name: "张三".into(),
                phone_masked: "138****5678".into(),
                phone: "13812345678".into(),
                grid_id: "st-chengnan-g1".into(),
                ..Resident::default()
            }),
            lookup_id: "lookup-1".into(),
            ..Default::default()
        }))
    }
}

fn at(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, day, hour, 0, 0)
        .single()
        .expect("time")
}

fn move_to(clock: &ManualClock, to: DateTime<Utc>) {
    let by = (to - clock.now()).to_std().expect("forward");
    clock.advance(by);
}

fn followup(cluster: &TestCluster, roles: &[Role], stations: &[&str]) -> Followup {
    let token = cluster.token("officer-1", roles, stations).expect("token");
    CaseFollowupServiceClient::new(
        cluster
            .channel_as(Service::CaseFollowup, &token)
            .expect("channel"),
    )
}

fn analysis(cluster: &TestCluster, roles: &[Role], stations: &[&str]) -> Analysis {
    let token = cluster.token("analyst", roles, stations).expect("token");
    FollowupAnalysisServiceClient::new(
        cluster
            .channel_as(Service::CaseFollowup, &token)
            .expect("channel"),
    )
}

async fn open_mediation(client: &mut Followup, id: &str, station: &str) -> String {
    client
        .open_mediation(OpenMediationRequest {
            request_id: format!("open-{id}"),
            incident_id: format!("inc-{id}"),
            parties: vec![
                Party {
                    name: "李四".into(),
                    role: PartyRole::Caller as i32,
                    ..Party::default()
                },
                Party {
                    name: "王五".into(),
                    role: PartyRole::OtherParty as i32,
                    ..Party::default()
                },
            ],
            summary: "扫码付款金额争议".into(),
            mediator_officer_id: "officer-1".into(),
            station_id: station.into(),
            ..OpenMediationRequest::default()
        })
        .await
        .expect("open mediation")
        .into_inner()
        .mediation
        .expect("mediation")
        .mediation_id
}

async fn conclude(client: &mut Followup, mediation_id: &str, resolved: bool) {
    client
        .record_mediation_outcome(RecordMediationOutcomeRequest {
            request_id: format!("outcome-{mediation_id}"),
            mediation_id: mediation_id.into(),
            resolved,
            agreement_text: if resolved {
                "双方达成一致".into()
            } else {
                String::new()
            },
            next_step: if resolved {
                MediationNextStep::None
            } else {
                MediationNextStep::Litigation
            } as i32,
            ..RecordMediationOutcomeRequest::default()
        })
        .await
        .expect("mediation outcome");
}

/// DispatchClosed of a mediated dispute closed at `closed_at`, as dispatch's relay sends it.
async fn close_dispute(cluster: &TestCluster, incident: &str, closed_at: DateTime<Utc>) {
    let token = cluster
        .token("dispatch", &[Role::Service], &[])
        .expect("token");
    let closed = DispatchClosed {
        dispatch: Some(Dispatch {
            dispatch_id: format!("d-{incident}"),
            incident_id: incident.into(),
            category: "DISPUTE".into(),
            station_id: EAST.into(),
            grid_id: "st-chengnan-g1".into(),
            disposition: Disposition::Mediated as i32,
            summary: "扫码付款纠纷".into(),
            closed_at: Some(ts(closed_at)),
            ..Dispatch::default()
        }),
        officer_ids: vec!["officer-1".into()],
    };
    EventSinkServiceClient::new(
        cluster
            .channel_as(Service::CaseFollowup, &token)
            .expect("channel"),
    )
    .deliver(DeliverRequest {
        event: Some(EventEnvelope {
            event_id: format!("ev-{incident}"),
            event_type: "pingan.dispatch.v1.DispatchClosed".into(),
            source: "dispatch".into(),
            aggregate_id: format!("d-{incident}"),
            sequence: 1,
            occurred_at: Some(ts(closed_at)),
            payload: Some(prost_types::Any {
                type_url: "type.googleapis.com/pingan.dispatch.v1.DispatchClosed".into(),
                value: closed.encode_to_vec(),
            }),
            ..EventEnvelope::default()
        }),
        destination: "case-followup".into(),
    })
    .await
    .expect("deliver");
}

async fn revisit(client: &mut Followup, revisit_id: &str, contacted: bool, satisfaction: i32) {
    client
        .record_revisit(RecordRevisitRequest {
            request_id: format!("rv-{revisit_id}"),
            revisit_id: revisit_id.into(),
            contacted,
            method: ContactMethod::Phone as i32,
            issue_resolved: contacted,
            satisfaction,
            close_unreachable: !contacted,
            notes: "回访".into(),
            ..RecordRevisitRequest::default()
        })
        .await
        .expect("record revisit");
}

fn period() -> TimeRange {
    TimeRange {
        start: Some(ts(at(1, 0))),
        end: Some(ts(at(11, 0))),
    }
}

async fn report(client: &mut Analysis, station: &str) -> FollowUpReportResponse {
    client
        .follow_up_report(FollowUpReportRequest {
            period: Some(period()),
            station_id: station.into(),
        })
        .await
        .expect("follow-up report")
        .into_inner()
}

async fn the_follow_up_report_counts_what_happened(backend: TestBackend) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let registry = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(GridRegistryServiceServer::new(FakeRegistry))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    // The previous period is 22 October to 1 November; the clock starts in it.
    let clock = ManualClock::new(
        Utc.with_ymd_and_hms(2026, 10, 25, 2, 0, 0)
            .single()
            .expect("t"),
    );
    let cluster = TestCluster::start_with_peers(
        backend,
        &[Service::CaseFollowup],
        Topology::PortPerService,
        Arc::new(clock.clone()),
        &BTreeMap::from([("grid-registry".to_owned(), registry)]),
    )
    .await
    .expect("cluster");
    let mut room = followup(&cluster, &[Role::CommandCenter], &[]);

    // The previous period: one mediation left open, one phone found.
    open_mediation(&mut room, "prev-1", EAST).await;
    let found = |id: &str, kind: ItemKind, station: &str| RegisterFoundItemRequest {
        request_id: format!("found-{id}"),
        kind: kind as i32,
        description: "拾得物品".into(),
        custody: Some(Custody {
            station_id: station.into(),
            officer_id: "officer-1".into(),
            storage_place: "值班室".into(),
        }),
        id_number: if kind == ItemKind::IdCard {
            OWNER_ID.into()
        } else {
            String::new()
        },
        ..RegisterFoundItemRequest::default()
    };
    room.register_found_item(found("prev-phone", ItemKind::Phone, EAST))
        .await
        .expect("found phone");

    // This period: mediations agreed, failed, left open.
    move_to(&clock, at(2, 2));
    let agreed = open_mediation(&mut room, "m-1", EAST).await;
    let failed = open_mediation(&mut room, "m-2", EAST).await;
    open_mediation(&mut room, "m-3", WEST).await;
    conclude(&mut room, &agreed, true).await;
    conclude(&mut room, &failed, false).await;

    // Revisits 72 h after each mediated dispute closed: four due on the 5th, one on the 10th.
    for incident in ["i-1", "i-2", "i-3", "i-4"] {
        close_dispute(&cluster, incident, at(2, 0)).await;
    }
    close_dispute(&cluster, "i-5", at(7, 0)).await;
    let due = room
        .list_due_revisits(ListDueRevisitsRequest {
            station_id: EAST.into(),
            ..ListDueRevisitsRequest::default()
        })
        .await
        .expect("due revisits")
        .into_inner()
        .revisits;
    let id_of = |incident: &str| {
        due.iter()
            .find(|r| r.incident_id == incident)
            .map(|r| r.revisit_id.clone())
            .unwrap_or_else(|| panic!("revisit of {incident}: {due:#?}"))
    };
    // The ID card goes back 2 hours after it was registered; a phone stays; a wallet is asked for.
    let card = room
        .register_found_item(found("card", ItemKind::IdCard, EAST))
        .await
        .expect("found card")
        .into_inner()
        .found_item
        .expect("item");
    assert_eq!(card.registry_lookup, RegistryLookup::Found as i32);
    room.register_found_item(found("phone", ItemKind::Phone, EAST))
        .await
        .expect("found phone");
    room.register_lost_report(RegisterLostReportRequest {
        request_id: "lost-wallet".into(),
        kind: ItemKind::Wallet as i32,
        description: "黑色钱包".into(),
        owner_name: "王五".into(),
        owner_phone: "13900001111".into(),
        station_id: WEST.into(),
        lost_during: Some(TimeRange {
            start: Some(ts(at(1, 12))),
            end: Some(ts(at(2, 0))),
        }),
        ..RegisterLostReportRequest::default()
    })
    .await
    .expect("lost report");

    revisit(&mut room, &id_of("i-1"), true, 5).await;
    move_to(&clock, at(2, 4));
    room.mark_returned(MarkReturnedRequest {
        request_id: "returned-card".into(),
        found_item_id: card.found_item_id.clone(),
        recipient_name: "张三".into(),
        recipient_is_owner: true,
        identity_check: IdentityCheck::PhotoMatch as i32,
        ..MarkReturnedRequest::default()
    })
    .await
    .expect("returned");
    move_to(&clock, at(6, 0));
    revisit(&mut room, &id_of("i-2"), true, 3).await;
    revisit(&mut room, &id_of("i-3"), false, 0).await;
    move_to(&clock, at(9, 0));

    let mut command = analysis(&cluster, &[Role::CommandCenter], &[]);
    let answer = report(&mut command, "").await;
    assert_eq!(answer.as_of, Some(ts(at(9, 0))));
    assert_eq!(
        answer.previous_period,
        Some(TimeRange {
            start: Some(ts(Utc
                .with_ymd_and_hms(2026, 10, 22, 0, 0, 0)
                .single()
                .expect("t"))),
            end: Some(ts(at(1, 0))),
        })
    );
    let total = answer.total.clone().expect("total");
    assert_eq!(
        total.mediations,
        Some(MediationFigures {
            opened: 3,
            agreed: 1,
            failed: 1,
            open: 1
        })
    );
    assert_eq!(
        total.revisits,
        Some(RevisitFigures {
            due: 5,
            done_on_time: 1,
            done_late: 1,
            unreachable: 1,
            overdue: 1,
            waiting: 1,
        })
    );
    let satisfaction = total.satisfaction.clone().expect("satisfaction");
    assert_eq!(satisfaction.rated, 2);
    assert!((satisfaction.mean - 4.0).abs() < 1e-9);
    let scores: Vec<i32> = satisfaction.scores.iter().map(|s| s.count).collect();
    assert_eq!(scores, [0, 0, 1, 0, 1]);
    let two_hours = Some(prost_types::Duration {
        seconds: 7200,
        nanos: 0,
    });
    assert_eq!(
        total.lost_and_found,
        Some(LostFoundFigures {
            registered: 2,
            matched: 1,
            returned: 1,
            median_to_return: two_hours,
            median_hours_to_return: 2.0,
            lost_reports: 1,
        })
    );
    assert_eq!(
        total.id_cards,
        Some(LostFoundFigures {
            registered: 1,
            matched: 1,
            returned: 1,
            median_to_return: two_hours,
            median_hours_to_return: 2.0,
            lost_reports: 0,
        })
    );
    let previous = answer.previous_total.clone().expect("previous");
    assert_eq!(
        previous.mediations,
        Some(MediationFigures {
            opened: 1,
            open: 1,
            ..Default::default()
        })
    );
    assert_eq!(previous.lost_and_found.map(|l| l.registered), Some(1));
    let stations: Vec<&str> = answer
        .stations
        .iter()
        .map(|s| s.station_id.as_str())
        .collect();
    assert_eq!(stations, [EAST, WEST]);
    assert_eq!(
        answer.stations[0]
            .mediations
            .map(|m| (m.opened, m.agreed, m.failed)),
        Some((2, 1, 1))
    );
    assert_eq!(
        answer.stations[1]
            .lost_and_found
            .map(|l| (l.registered, l.lost_reports)),
        Some((0, 1))
    );

    // A station's officer sees the own station only; another is refused.
    let mut west = analysis(&cluster, &[Role::StationOfficer], &[WEST]);
    let own = report(&mut west, "").await;
    assert_eq!(
        own.total.and_then(|t| t.mediations).map(|m| m.opened),
        Some(1)
    );
    assert_eq!(own.stations.len(), 1);
    let denied = west
        .follow_up_report(FollowUpReportRequest {
            period: Some(period()),
            station_id: EAST.into(),
        })
        .await
        .expect_err("another station");
    assert_eq!(denied.code(), Code::PermissionDenied);
    let mut worker = analysis(&cluster, &[Role::GridWorker], &[WEST]);
    let refused = worker
        .follow_up_report(FollowUpReportRequest {
            period: Some(period()),
            ..Default::default()
        })
        .await
        .expect_err("not an analyst");
    assert_eq!(refused.code(), Code::PermissionDenied);

    // Bad requests name their fields.
    let bad = command
        .follow_up_report(FollowUpReportRequest {
            period: Some(TimeRange {
                start: Some(ts(at(5, 0))),
                end: Some(ts(at(4, 0))),
            }),
            ..Default::default()
        })
        .await
        .expect_err("end before start");
    assert_eq!(bad.code(), Code::InvalidArgument);
    assert!(bad.message().contains("period.end"), "{}", bad.message());
    let missing = command
        .follow_up_report(FollowUpReportRequest::default())
        .await
        .expect_err("no period");
    assert!(
        missing.message().contains("period.start"),
        "{}",
        missing.message()
    );

    // FollowupStats answers as before.
    let stats = room
        .followup_stats(FollowupStatsRequest {
            range: Some(period()),
            ..FollowupStatsRequest::default()
        })
        .await
        .expect("stats")
        .into_inner();
    let revisits = stats.totals.and_then(|t| t.revisits).expect("revisits");
    assert_eq!(
        (
            revisits.due,
            revisits.completed,
            revisits.completed_on_time,
            revisits.unreachable
        ),
        (5, 2, 1, 1)
    );

    cli_prints_the_same_figures(&cluster).await;

    let metrics = pingan_platform::metrics::render();
    for series in [
        "pingan_followup_revisits_total{result=\"on_time\"}",
        "pingan_followup_revisits_total{result=\"late\"}",
        "pingan_followup_mediations_total{outcome=\"agreed\"}",
        "pingan_followup_mediations_total{outcome=\"failed\"}",
    ] {
        assert!(metrics.contains(series), "{series}");
    }
    cluster.shutdown().await.expect("shutdown");
}

#[derive(Debug, Parser)]
struct Cli {
    #[command(subcommand)]
    report: ReportCommand,
}

/// `pingan report followup` against the served case-followup.
async fn cli_prints_the_same_figures(cluster: &TestCluster) {
    let endpoint = cluster.endpoint(Service::CaseFollowup).expect("endpoint");
    let token = cluster
        .token("room", &[Role::CommandCenter], &[])
        .expect("token");
    let (from, to) = (at(1, 0).to_rfc3339(), at(11, 0).to_rfc3339());
    let cli = Cli::try_parse_from([
        "report",
        "followup",
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
    let text = render(&cli.report).await.expect("followup report");
    let json: serde_json::Value = serde_json::from_str(&text).expect("json");
    let rows = json["figures"].as_array().expect("figures");
    let total = rows.iter().find(|r| r["row"] == "total").expect("total");
    assert_eq!(total["mediations_opened"], 3);
    assert_eq!(total["revisits_on_time"], 1);
    assert_eq!(total["revisits_late"], 1);
    assert_eq!(total["id_cards_returned"], 1);
    assert_eq!(total["found_median_hours_to_return"], 2.0);
    let previous = rows
        .iter()
        .find(|r| r["row"] == "previous_total")
        .expect("previous");
    assert_eq!(previous["mediations_opened"], 1);
    let five = json["satisfaction"]
        .as_array()
        .expect("satisfaction")
        .iter()
        .find(|r| r["row"] == "total" && r["score"] == 5)
        .expect("score 5");
    assert_eq!(five["count"], 1);
}

backend_tests!(the_follow_up_report_counts_what_happened);
