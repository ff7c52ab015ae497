//! The command room's response-time report end to end: two generated months of dispatches run
//! through dispatch's RPCs on a manual clock (ring, open, assign, acknowledge, en route, on
//! scene, clear, close; some never assigned, some opened without a ring time), then
//! ResponseTimeReport over gRPC, every percentile, share and breach checked against values
//! computed here from the generated clocks; the jurisdiction rules and the named bad fields.

mod analysis_support;

use std::collections::BTreeMap;
use std::sync::Arc;

use analysis_support::Draw;
use chrono::{DateTime, Duration, TimeZone, Utc};
use pingan_platform::auth::Role;
use pingan_platform::clock::{Clock, ManualClock};
use pingan_proto::common::v1::{GeoPoint, Priority, TimeRange};
use pingan_proto::dispatch::v1::dispatch_analysis_service_client::DispatchAnalysisServiceClient;
use pingan_proto::dispatch::v1::dispatch_service_client::DispatchServiceClient;
use pingan_proto::dispatch::v1::{
    AcknowledgeRequest, AssignRequest, ClearUnitRequest, CloseDispatchRequest, Disposition,
    MarkEnRouteRequest, MarkOnSceneRequest, OpenDispatchRequest, RegisterUnitRequest,
    ResponseTimeReportRequest, UnitKind, UnitStatus,
};
use pingan_tests::{Service, TestBackend, TestCluster, Topology, backend_tests};
use tonic::Code;

const STATIONS: [&str; 2] = ["st-east", "st-west"];
const DAYS: i64 = 30;
const TARGET: i64 = 300;

/// Midnight of 1 November 2026 in Beijing.
fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 10, 31, 16, 0, 0)
        .single()
        .expect("time")
}

/// One generated dispatch: seconds after the ring of each step (None: never).
#[derive(Debug, Clone)]
struct Generated {
    rang_at: DateTime<Utc>,
    station: &'static str,
    priority: Priority,
    opened: i64,
    /// False: opened without a ring time (the report then starts at the opening).
    ring_sent: bool,
    assigned: Option<i64>,
    on_scene: Option<i64>,
}

impl Generated {
    /// The ring as dispatch knows it.
    fn start(&self) -> DateTime<Utc> {
        if self.ring_sent {
            self.rang_at
        } else {
            self.rang_at + Duration::seconds(self.opened)
        }
    }
    fn to_assigned(&self) -> Option<i64> {
        self.assigned
            .map(|a| (self.rang_at + Duration::seconds(a) - self.start()).num_seconds())
    }
    fn to_on_scene(&self) -> Option<i64> {
        self.on_scene
            .map(|a| (self.rang_at + Duration::seconds(a) - self.start()).num_seconds())
    }
}

fn generate() -> Vec<Generated> {
    let mut draw = Draw::new(0xd15_ba7c4);
    let first = start() - Duration::days(DAYS);
    let mut out = Vec::new();
    // 90-minute slots: a dispatch is over (unit cleared) long before the next one.
    for slot in 0..(2 * DAYS * 16) {
        if draw.below(100) >= 14 {
            continue;
        }
        let rang_at = first + Duration::minutes(slot * 90 + draw.below(30) as i64);
        let priority = [Priority::P1, Priority::P2, Priority::P3][draw.below(3) as usize];
        let opened = 20 + draw.below(70) as i64;
        let never = draw.below(100) < 6;
        let assigned = opened + 10 + draw.below(330) as i64;
        let on_scene = assigned + 40 + draw.below(500) as i64;
        out.push(Generated {
            rang_at,
            station: STATIONS[draw.below(2) as usize],
            priority,
            opened,
            ring_sent: draw.below(100) >= 8,
            assigned: (!never).then_some(assigned),
            on_scene: (!never).then_some(on_scene),
        });
    }
    out
}

fn ts(at: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: at.timestamp(),
        nanos: 0,
    }
}

fn move_to(clock: &ManualClock, at: DateTime<Utc>) {
    if let Ok(by) = (at - clock.now()).to_std() {
        clock.advance(by);
    }
}

fn secs(d: Option<prost_types::Duration>) -> Option<i64> {
    d.map(|d| d.seconds)
}

/// The nearest-rank percentile, computed here on its own: the value at rank ceil(p/100 * n).
fn nearest_rank(values: &[i64], p: usize) -> Option<i64> {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    Some(sorted[rank - 1])
}

async fn run_month(
    cluster: &TestCluster,
    clock: &ManualClock,
    month: &[Generated],
) -> BTreeMap<String, usize> {
    let token = cluster
        .token(
            "dispatcher-1",
            &[Role::Dispatcher, Role::CommandCenter],
            &[],
        )
        .expect("token");
    let mut dispatch = DispatchServiceClient::new(
        cluster
            .channel_as(Service::Dispatch, &token)
            .expect("channel"),
    );
    for station in STATIONS {
        dispatch
            .register_unit(RegisterUnitRequest {
                request_id: format!("reg-{station}"),
                unit_id: format!("u-{station}"),
                kind: UnitKind::PatrolCar as i32,
                callsign: station.to_uppercase(),
                station_id: station.into(),
                initial_status: UnitStatus::Available as i32,
                ..Default::default()
            })
            .await
            .expect("register unit");
    }
    let mut ids = BTreeMap::new();
    for (n, g) in month.iter().enumerate() {
        let at = |s: i64| g.rang_at + Duration::seconds(s);
        move_to(clock, at(g.opened));
        let opened = dispatch
            .open_dispatch(OpenDispatchRequest {
                request_id: format!("open-{n}"),
                incident_id: format!("inc-{n}"),
                priority: g.priority as i32,
                location: Some(GeoPoint {
                    lat: 29.65,
                    lon: 91.13,
                }),
                category: "DISPUTE".into(),
                station_id: g.station.into(),
                call_received_at: g.ring_sent.then(|| ts(g.rang_at)),
                ..Default::default()
            })
            .await
            .expect("open dispatch")
            .into_inner()
            .dispatch
            .expect("dispatch");
        let id = opened.dispatch_id.clone();
        ids.insert(id.clone(), n);
        let (Some(assigned), Some(on_scene)) = (g.assigned, g.on_scene) else {
            continue;
        };
        let unit = format!("u-{}", g.station);
        move_to(clock, at(assigned));
        dispatch
            .assign(AssignRequest {
                request_id: format!("assign-{n}"),
                dispatch_id: id.clone(),
                unit_id: unit.clone(),
                note: String::new(),
            })
            .await
            .expect("assign");
        move_to(clock, at(assigned + 5));
        dispatch
            .acknowledge(AcknowledgeRequest {
                request_id: format!("ack-{n}"),
                dispatch_id: id.clone(),
                unit_id: unit.clone(),
                note: String::new(),
            })
            .await
            .expect("acknowledge");
        move_to(clock, at(assigned + 10));
        dispatch
            .mark_en_route(MarkEnRouteRequest {
                request_id: format!("route-{n}"),
                dispatch_id: id.clone(),
                unit_id: unit.clone(),
                ..Default::default()
            })
            .await
            .expect("en route");
        move_to(clock, at(on_scene));
        dispatch
            .mark_on_scene(MarkOnSceneRequest {
                request_id: format!("scene-{n}"),
                dispatch_id: id.clone(),
                unit_id: unit.clone(),
                ..Default::default()
            })
            .await
            .expect("on scene");
        move_to(clock, at(on_scene + 600));
        dispatch
            .clear_unit(ClearUnitRequest {
                request_id: format!("clear-{n}"),
                dispatch_id: id.clone(),
                unit_id: unit.clone(),
                note: String::new(),
                next_status: UnitStatus::Available as i32,
            })
            .await
            .expect("clear");
        dispatch
            .close_dispatch(CloseDispatchRequest {
                request_id: format!("close-{n}"),
                dispatch_id: id,
                disposition: Disposition::ResolvedOnScene as i32,
                narrative: "处置完毕".into(),
                clear_active_units: true,
            })
            .await
            .expect("close");
    }
    ids
}

fn period() -> TimeRange {
    TimeRange {
        start: Some(ts(start())),
        end: Some(ts(start() + Duration::days(DAYS))),
    }
}

async fn a_generated_month_of_response_times(backend: TestBackend) {
    let month = generate();
    let clock = ManualClock::new(start() - Duration::days(DAYS));
    let cluster = TestCluster::start_with_clock(
        backend,
        &[Service::Dispatch],
        Topology::PortPerService,
        Arc::new(clock.clone()),
    )
    .await
    .expect("cluster");
    let ids = run_month(&cluster, &clock, &month).await;
    let now = start() + Duration::days(DAYS + 1);
    move_to(&clock, now);

    let token = cluster
        .token("room", &[Role::CommandCenter], &[])
        .expect("token");
    let mut room = DispatchAnalysisServiceClient::new(
        cluster
            .channel_as(Service::Dispatch, &token)
            .expect("channel"),
    );
    let report = room
        .response_time_report(ResponseTimeReportRequest {
            period: Some(period()),
            breach_limit: 1000,
            ..Default::default()
        })
        .await
        .expect("report")
        .into_inner();
    let current: Vec<&Generated> = month
        .iter()
        .filter(|g| g.start() >= start() && g.start() < start() + Duration::days(DAYS))
        .collect();
    assert!(
        current.len() > 40,
        "a month of dispatches: {}",
        current.len()
    );
    assert_eq!(secs(report.target), Some(TARGET));
    let mut groups: BTreeMap<(&str, i32), Vec<&Generated>> = BTreeMap::new();
    for g in &current {
        groups
            .entry((g.station, g.priority as i32))
            .or_default()
            .push(g);
        groups.entry(("", g.priority as i32)).or_default().push(g);
    }
    assert_eq!(report.rows.len(), groups.len());
    for row in &report.rows {
        let members = &groups[&(row.station_id.as_str(), row.priority)];
        assert_eq!(row.dispatches, members.len() as i64, "{row:?}");
        let assigned: Vec<i64> = members.iter().filter_map(|g| g.to_assigned()).collect();
        let on_scene: Vec<i64> = members.iter().filter_map(|g| g.to_on_scene()).collect();
        let a = row.ring_to_assigned.expect("assigned");
        let s = row.ring_to_on_scene.expect("on scene");
        assert_eq!(a.count, assigned.len() as i64);
        assert_eq!(secs(a.p50), nearest_rank(&assigned, 50), "{row:?}");
        assert_eq!(secs(a.p90), nearest_rank(&assigned, 90), "{row:?}");
        assert_eq!(secs(s.p50), nearest_rank(&on_scene, 50), "{row:?}");
        assert_eq!(secs(s.p90), nearest_rank(&on_scene, 90), "{row:?}");
        let within = on_scene.iter().filter(|s| **s <= TARGET).count() as i64;
        assert_eq!(s.within_target, within);
        assert!((s.share_within_target - within as f64 / members.len() as f64).abs() < 1e-12);
        let breaches = members
            .iter()
            .filter(|g| g.to_on_scene().is_none_or(|s| s > TARGET))
            .count() as i64;
        assert_eq!(row.breaches, breaches, "{row:?}");
    }
    // The breaches: every dispatch over the target, longest over first.
    let mut expected: Vec<(i64, usize)> = current
        .iter()
        .filter_map(|g| {
            let reached = g
                .to_on_scene()
                .unwrap_or_else(|| (now - g.start()).num_seconds());
            let n = month
                .iter()
                .position(|m| std::ptr::eq(m, *g))
                .expect("generated");
            (reached > TARGET).then_some((reached - TARGET, n))
        })
        .collect();
    expected.sort_by_key(|b| std::cmp::Reverse(b.0));
    assert_eq!(report.total_breaches, expected.len() as i64);
    assert!(expected.iter().any(|(_, n)| month[*n].on_scene.is_none()));
    for (breach, (over, n)) in report.breaches.iter().zip(&expected) {
        assert_eq!(secs(breach.over_by), Some(*over));
        assert_eq!(ids[&breach.dispatch_id], *n, "{breach:?}");
        assert_eq!(breach.incident_id, format!("inc-{n}"));
        assert_eq!(secs(breach.ring_to_on_scene), month[*n].to_on_scene());
    }

    cli_prints_the_same_report(&cluster, &token, &report).await;

    // A station's officer sees only the station; another station is refused.
    let token = cluster
        .token("east", &[Role::StationOfficer], &["st-east"])
        .expect("token");
    let mut east = DispatchAnalysisServiceClient::new(
        cluster
            .channel_as(Service::Dispatch, &token)
            .expect("channel"),
    );
    let own = east
        .response_time_report(ResponseTimeReportRequest {
            period: Some(period()),
            priorities: vec![Priority::P1 as i32],
            ..Default::default()
        })
        .await
        .expect("own report")
        .into_inner();
    let east_p1 = current
        .iter()
        .filter(|g| g.station == "st-east" && g.priority == Priority::P1)
        .count() as i64;
    assert_eq!(own.rows.len(), 2);
    assert!(own.rows.iter().all(|r| r.dispatches == east_p1));
    assert!(own.breaches.iter().all(|b| b.station_id == "st-east"));
    let denied = east
        .response_time_report(ResponseTimeReportRequest {
            period: Some(period()),
            station_id: "st-west".into(),
            ..Default::default()
        })
        .await
        .expect_err("another station");
    assert_eq!(denied.code(), Code::PermissionDenied);
    let bad = room
        .response_time_report(ResponseTimeReportRequest {
            period: None,
            priorities: vec![9],
            target: Some(prost_types::Duration {
                seconds: 0,
                nanos: 0,
            }),
            breach_limit: -1,
            ..Default::default()
        })
        .await
        .expect_err("bad request");
    assert_eq!(bad.code(), Code::InvalidArgument);
    for field in [
        "period.start",
        "period.end",
        "priorities[0]",
        "target",
        "breach_limit",
    ] {
        assert!(bad.message().contains(field), "{field}: {}", bad.message());
    }
    let metrics = pingan_platform::metrics::render();
    assert!(
        metrics.contains(
            "pingan_dispatch_ring_to_on_scene_seconds_count{priority=\"P1\",station=\"st-east\"}"
        ),
        "the histogram per station and priority"
    );
    cluster.shutdown().await.expect("shutdown");
}

backend_tests!(a_generated_month_of_response_times);

#[derive(Debug, clap::Parser)]
struct Cli {
    #[command(subcommand)]
    report: pingan::report_cli::ReportCommand,
}

/// `pingan report response-times --json` prints the RPC's rows and breach count.
async fn cli_prints_the_same_report(
    cluster: &TestCluster,
    token: &str,
    report: &pingan_proto::dispatch::v1::ResponseTimeReportResponse,
) {
    use clap::Parser as _;
    let endpoint = cluster.endpoint(Service::Dispatch).expect("endpoint");
    let from = start().to_rfc3339();
    let to = (start() + Duration::days(DAYS)).to_rfc3339();
    let args = [
        "report",
        "response-times",
        "--endpoint",
        &endpoint,
        "--token",
        token,
        "--from",
        &from,
        "--to",
        &to,
        "--breaches",
        "1000",
        "--json",
    ];
    let cli = Cli::try_parse_from(args).expect("arguments");
    let text = pingan::report_cli::render(&cli.report)
        .await
        .expect("response-times report");
    let json: serde_json::Value = serde_json::from_str(&text).expect("json");
    let rows = json["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), report.rows.len());
    for (printed, row) in rows.iter().zip(&report.rows) {
        let on_scene = row.ring_to_on_scene.expect("on scene");
        assert_eq!(printed["station_id"], row.station_id.as_str());
        assert_eq!(printed["dispatches"], row.dispatches);
        assert_eq!(printed["breaches"], row.breaches);
        assert_eq!(printed["on_scene_p90_s"].as_i64(), secs(on_scene.p90));
        assert_eq!(printed["on_scene_within"], on_scene.within_target);
    }
    assert_eq!(json["total_breaches"][0]["count"], report.total_breaches);
    assert_eq!(
        json["breaches"].as_array().map(Vec::len),
        Some(report.breaches.len())
    );
}
