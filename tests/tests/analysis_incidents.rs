//! The command room's incident analysis end to end: two generated months of calls reported
//! through intake's ReportCall (against fake grid-registry, triage and dispatch), then
//! IncidentStats and Hotspots over gRPC, every number checked against counts computed here
//! from the generated calls; the jurisdiction rules and the named bad fields.

mod analysis_support;

use std::collections::BTreeMap;
use std::sync::Arc;

use analysis_support::{Draw, Fakes, grid_of};
use chrono::{DateTime, Duration, TimeZone, Timelike, Utc};
use clap::Parser;
use pingan::report_cli::{ReportCommand, render};
use pingan_platform::auth::Role;
use pingan_platform::clock::{Clock, ManualClock};
use pingan_proto::common::v1::{Channel, GeoPoint, TimeRange};
use pingan_proto::intake::v1::incident_analysis_service_client::IncidentAnalysisServiceClient;
use pingan_proto::intake::v1::intake_service_client::IntakeServiceClient;
use pingan_proto::intake::v1::{
    CountBucket, HotspotArea, HotspotsRequest, IncidentScope, IncidentStatsRequest, Outcome,
    ReportCallRequest,
};
use pingan_tests::{Bearer, Service, TestBackend, TestCluster, Topology, backend_tests};
use tonic::Code;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel as GrpcChannel;

type Analysis = IncidentAnalysisServiceClient<InterceptedService<GrpcChannel, Bearer>>;

/// One generated incident.
#[derive(Debug, Clone)]
struct Generated {
    at: DateTime<Utc>,
    lat: f64,
    lon: f64,
    category: &'static str,
}

impl Generated {
    fn grid(&self) -> &'static str {
        grid_of(self.lat).map(|g| g.0).unwrap_or_default()
    }
    fn station(&self) -> &'static str {
        grid_of(self.lat).map(|g| g.1).unwrap_or_default()
    }
    fn cell(&self) -> String {
        // A cell is 0.005 degrees on each side: row floor(lat / 0.005), column likewise.
        format!(
            "r{}c{}",
            (self.lat / 0.005).floor() as i64,
            (self.lon / 0.005).floor() as i64
        )
    }
}

/// Midnight of 1 November 2026 in Beijing; the current month is 30 days from there.
fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 10, 31, 16, 0, 0)
        .single()
        .expect("time")
}

const DAYS: i64 = 30;
/// Cells (row, column) the incidents fall in, each inside one of the four grids.
const SPOTS: [(i64, i64); 8] = [
    (5921, 18226),
    (5922, 18227),
    (5925, 18226),
    (5927, 18229),
    (5928, 18225),
    (5931, 18228),
    (5933, 18226),
    (5934, 18230),
];
const CATEGORIES: [&str; 4] = [
    "DISPUTE",
    "CRIMINAL_PROPERTY",
    "TRAFFIC_ACCIDENT",
    "ASSISTANCE",
];

fn weighted(draw: &mut Draw, weights: &[u64]) -> usize {
    let total: u64 = weights.iter().sum();
    let mut pick = draw.below(total);
    for (i, w) in weights.iter().enumerate() {
        if pick < *w {
            return i;
        }
        pick -= w;
    }
    weights.len() - 1
}

/// Two months of incidents, at least 16 minutes apart (never duplicates of each other); the
/// previous month leans to other spots and categories than the current one.
fn generate() -> Vec<Generated> {
    let mut draw = Draw::new(0x5eed_2026);
    let first = start() - Duration::days(DAYS);
    let slots = DAYS * 2 * 72; // 20-minute slots
    let mut out = Vec::new();
    for slot in 0..slots {
        if draw.below(100) >= 7 {
            continue;
        }
        let at = first + Duration::minutes(slot * 20 + draw.below(4) as i64);
        let current = at >= start();
        let spot_weights: &[u64] = if current {
            &[12, 7, 5, 4, 3, 2, 2, 1]
        } else {
            &[2, 3, 9, 4, 6, 2, 1, 1]
        };
        let category_weights: &[u64] = if current {
            &[6, 3, 2, 2]
        } else {
            &[4, 4, 1, 2]
        };
        let (row, column) = SPOTS[weighted(&mut draw, spot_weights)];
        // Inside the cell: its south-west corner plus 0.0005..0.0045 degrees.
        let lat = row as f64 / 200.0 + 0.0005 + draw.below(40) as f64 * 0.0001;
        let lon = column as f64 / 200.0 + 0.0005 + draw.below(40) as f64 * 0.0001;
        out.push(Generated {
            at,
            lat,
            lon,
            category: CATEGORIES[weighted(&mut draw, category_weights)],
        });
    }
    out
}

/// Moves the manual clock forward to `at` (never back).
fn move_to(clock: &ManualClock, at: DateTime<Utc>) {
    if let Ok(by) = (at - clock.now()).to_std() {
        clock.advance(by);
    }
}

fn ts(at: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: at.timestamp(),
        nanos: 0,
    }
}

fn analysis(cluster: &TestCluster, roles: &[Role], stations: &[&str]) -> Analysis {
    let token = cluster.token("analyst", roles, stations).expect("token");
    IncidentAnalysisServiceClient::new(
        cluster
            .channel_as(Service::Intake, &token)
            .expect("channel"),
    )
}

fn scope(category: &str, station: &str) -> IncidentScope {
    IncidentScope {
        period: Some(TimeRange {
            start: Some(ts(start())),
            end: Some(ts(start() + Duration::days(DAYS))),
        }),
        station_id: station.into(),
        category: category.into(),
        ..Default::default()
    }
}

/// (current, previous) counts of the generated incidents by `key`, within `keep`.
fn expected<K: Ord>(
    month: &[Generated],
    keep: impl Fn(&Generated) -> bool,
    key: impl Fn(&Generated) -> K,
) -> BTreeMap<K, (i64, i64)> {
    let mut counts = BTreeMap::new();
    for g in month.iter().filter(|g| keep(g)) {
        let entry = counts.entry(key(g)).or_insert((0, 0));
        if g.at >= start() {
            entry.0 += 1;
        } else {
            entry.1 += 1;
        }
    }
    counts
}

fn as_map(buckets: &[CountBucket]) -> BTreeMap<String, (i64, i64)> {
    buckets
        .iter()
        .filter(|b| b.count > 0 || b.previous_count > 0)
        .map(|b| (b.key.clone(), (b.count, b.previous_count)))
        .collect()
}

async fn report_month(cluster: &TestCluster, clock: &ManualClock, month: &[Generated]) {
    let token = cluster
        .token("dispatcher-1", &[Role::Dispatcher], &[])
        .expect("token");
    let mut intake = IntakeServiceClient::new(
        cluster
            .channel_as(Service::Intake, &token)
            .expect("channel"),
    );
    for (n, g) in month.iter().enumerate() {
        move_to(clock, g.at + Duration::seconds(20));
        let response = intake
            .report_call(ReportCallRequest {
                request_id: format!("gen-{n}"),
                channel: Channel::Channel110 as i32,
                source_call_id: format!("110-gen-{n}"),
                location: Some(GeoPoint {
                    lat: g.lat,
                    lon: g.lon,
                }),
                description: format!("群众报警，现场需要处置 #{}", g.category),
                received_at: Some(ts(g.at)),
                ..Default::default()
            })
            .await
            .expect("report call")
            .into_inner();
        assert_ne!(
            response.outcome,
            Outcome::DuplicateLinked as i32,
            "generated incidents stand alone: {response:?}"
        );
    }
}

async fn a_generated_month_reads_back_with_known_answers(backend: TestBackend) {
    let month = generate();
    let fakes = Fakes::start().await.expect("fakes");
    let clock = ManualClock::new(start() - Duration::days(DAYS));
    let cluster = TestCluster::start_with_peers(
        backend,
        &[Service::Intake],
        Topology::PortPerService,
        Arc::new(clock.clone()),
        &fakes.urls(),
    )
    .await
    .expect("cluster");
    report_month(&cluster, &clock, &month).await;
    move_to(&clock, start() + Duration::days(DAYS + 1));

    // The command room: every station.
    let mut room = analysis(&cluster, &[Role::CommandCenter], &[]);
    let stats = room
        .incident_stats(IncidentStatsRequest {
            scope: Some(scope("", "")),
        })
        .await
        .expect("stats")
        .into_inner();
    let all = |_: &Generated| true;
    let current = month.iter().filter(|g| g.at >= start()).count() as i64;
    let total = stats.total.clone().expect("total");
    assert_eq!(
        (total.count, total.previous_count),
        (current, month.len() as i64 - current)
    );
    assert_eq!(total.change, 2 * current - month.len() as i64);
    assert_eq!(
        as_map(&stats.by_grid),
        expected(&month, all, |g| g.grid().to_owned())
    );
    assert_eq!(
        as_map(&stats.by_station),
        expected(&month, all, |g| g.station().to_owned())
    );
    assert_eq!(
        as_map(&stats.by_category),
        expected(&month, all, |g| g.category.to_owned())
    );
    // Hours of the day in Beijing time.
    assert_eq!(stats.by_hour.len(), 24);
    assert_eq!(
        as_map(&stats.by_hour),
        expected(&month, all, |g| format!(
            "{:02}",
            (g.at + Duration::hours(8)).hour()
        ))
    );
    // Day i of the month against day i of the previous one.
    assert_eq!(stats.by_day.len(), DAYS as usize);
    assert_eq!(stats.by_day[0].key, "2026-11-01");
    let by_day = expected(&month, all, |g| {
        let origin = if g.at >= start() {
            start()
        } else {
            start() - Duration::days(DAYS)
        };
        (g.at - origin).num_days()
    });
    for (i, bucket) in stats.by_day.iter().enumerate() {
        let (count, previous) = by_day.get(&(i as i64)).copied().unwrap_or((0, 0));
        assert_eq!(
            (bucket.count, bucket.previous_count),
            (count, previous),
            "day {i}"
        );
    }
    let dispute = stats
        .by_category
        .iter()
        .find(|b| b.key == "DISPUTE")
        .expect("disputes");
    assert_eq!(dispute.label, "矛盾纠纷");
    let percent =
        (dispute.count - dispute.previous_count) as f64 * 100.0 / dispute.previous_count as f64;
    assert!((dispute.change_percent.expect("percent") - percent).abs() < 1e-9);

    // Hotspots: ~500 m cells of disputes, then grids of every category.
    let cells = room
        .hotspots(HotspotsRequest {
            scope: Some(scope("DISPUTE", "")),
            area: HotspotArea::Cell as i32,
            limit: 3,
        })
        .await
        .expect("cell hotspots")
        .into_inner();
    let by_cell = expected(&month, |g| g.category == "DISPUTE", |g| g.cell());
    let mut ranked: Vec<(&String, &(i64, i64))> = by_cell.iter().filter(|(_, c)| c.0 > 0).collect();
    ranked.sort_by(|a, b| b.1.0.cmp(&a.1.0).then_with(|| a.0.cmp(b.0)));
    assert_eq!(cells.hotspots.len(), 3);
    for (hotspot, (cell, (count, previous))) in cells.hotspots.iter().zip(ranked) {
        assert_eq!(&hotspot.area_id, cell);
        assert_eq!((hotspot.count, hotspot.previous_count), (*count, *previous));
        assert_eq!(hotspot.change, count - previous);
        let center = hotspot.center.expect("centre");
        let sw = hotspot.south_west.expect("south-west");
        assert!((center.lat - sw.lat - 0.0025).abs() < 1e-9);
        let inside = month
            .iter()
            .find(|g| &g.cell() == cell)
            .expect("an incident of the cell");
        assert_eq!(hotspot.station_id, inside.station());
    }
    assert_eq!(cells.unplaced, 0);
    let grids = room
        .hotspots(HotspotsRequest {
            scope: Some(scope("", "")),
            area: HotspotArea::Grid as i32,
            limit: 0,
        })
        .await
        .expect("grid hotspots")
        .into_inner();
    let by_grid = expected(&month, all, |g| g.grid().to_owned());
    let mut previous_ranked: Vec<(&String, i64)> = by_grid.iter().map(|(k, c)| (k, c.1)).collect();
    previous_ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    assert_eq!(grids.hotspots.len(), 4);
    for pair in grids.hotspots.windows(2) {
        assert!(pair[0].count >= pair[1].count);
    }
    for hotspot in &grids.hotspots {
        let (count, previous) = by_grid[&hotspot.area_id];
        assert_eq!((hotspot.count, hotspot.previous_count), (count, previous));
        let rank = previous_ranked
            .iter()
            .position(|(k, _)| **k == hotspot.area_id)
            .expect("ranked")
            + 1;
        assert_eq!(hotspot.previous_rank as usize, rank);
    }

    // A station's officer sees only the station's own incidents.
    let mut east = analysis(&cluster, &[Role::StationOfficer], &["st-east"]);
    let own = east
        .incident_stats(IncidentStatsRequest {
            scope: Some(scope("", "")),
        })
        .await
        .expect("own stats")
        .into_inner();
    let east_counts = expected(&month, |g| g.station() == "st-east", |_| ());
    let own_total = own.total.expect("total");
    assert_eq!(
        (own_total.count, own_total.previous_count),
        east_counts[&()]
    );
    assert!(own.by_grid.iter().all(|b| b.station_id == "st-east"));
    let denied = east
        .incident_stats(IncidentStatsRequest {
            scope: Some(scope("", "st-west")),
        })
        .await
        .expect_err("another station");
    assert_eq!(denied.code(), Code::PermissionDenied);
    let mut caller = analysis(&cluster, &[Role::CallIntegrator], &[]);
    let refused = caller
        .incident_stats(IncidentStatsRequest {
            scope: Some(scope("", "")),
        })
        .await
        .expect_err("not an analyst");
    assert_eq!(refused.code(), Code::PermissionDenied);

    // Bad requests name their fields.
    let bad = room
        .hotspots(HotspotsRequest {
            scope: Some(IncidentScope {
                period: Some(TimeRange {
                    start: Some(ts(start())),
                    end: Some(ts(start() - Duration::days(1))),
                }),
                category: "NOT_A_CATEGORY".into(),
                utc_offset_minutes: Some(2000),
                ..Default::default()
            }),
            area: 9,
            limit: 500,
        })
        .await
        .expect_err("bad request");
    assert_eq!(bad.code(), Code::InvalidArgument);
    for field in [
        "scope.period",
        "scope.category",
        "scope.utc_offset_minutes",
        "area",
        "limit",
    ] {
        assert!(bad.message().contains(field), "{field}: {}", bad.message());
    }

    cli_reports_the_same_answers(&cluster, &month).await;

    // The incidents-by-category series exists from the start, zero for unseen categories.
    let metrics = pingan_platform::metrics::render();
    assert!(
        metrics.contains("pingan_intake_incidents_classified_total{category=\"DRUGS\"} 0"),
        "{metrics}"
    );
    cluster.shutdown().await.expect("shutdown");
    fakes.shutdown().await;
}

#[derive(Debug, Parser)]
struct Cli {
    #[command(subcommand)]
    report: ReportCommand,
}

/// `pingan report incidents|hotspots` against the served intake: JSON and CSV carry the
/// numbers the RPCs answered.
async fn cli_reports_the_same_answers(cluster: &TestCluster, month: &[Generated]) {
    let endpoint = cluster.endpoint(Service::Intake).expect("endpoint");
    let token = cluster
        .token("room", &[Role::CommandCenter], &[])
        .expect("token");
    let from = "2026-11-01";
    let to = "2026-12-01";
    let cli = Cli::try_parse_from([
        "report",
        "incidents",
        "--endpoint",
        &endpoint,
        "--token",
        &token,
        "--from",
        from,
        "--to",
        to,
        "--json",
    ])
    .expect("arguments");
    let text = render(&cli.report).await.expect("incidents report");
    let json: serde_json::Value = serde_json::from_str(&text).expect("json");
    let current = month.iter().filter(|g| g.at >= start()).count() as i64;
    assert_eq!(json["total"][0]["count"], current);
    assert_eq!(
        json["total"][0]["previous_count"],
        month.len() as i64 - current
    );
    assert_eq!(json["by_hour"].as_array().map(Vec::len), Some(24));

    let cli = Cli::try_parse_from([
        "report",
        "hotspots",
        "--endpoint",
        &endpoint,
        "--token",
        &token,
        "--from",
        from,
        "--to",
        to,
        "--area",
        "cell",
        "--category",
        "DISPUTE",
        "--limit",
        "2",
        "--csv",
    ])
    .expect("arguments");
    let csv = render(&cli.report).await.expect("hotspots report");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "section,rank,area_id,station_id,count,previous_count,change,change_percent,previous_rank,center_lat,center_lon"
    );
    let by_cell = expected(month, |g| g.category == "DISPUTE", |g| g.cell());
    let top = by_cell
        .iter()
        .max_by(|a, b| a.1.0.cmp(&b.1.0).then_with(|| b.0.cmp(a.0)))
        .expect("a cell");
    assert!(
        lines[1].starts_with(&format!("hotspots,1,{},", top.0)),
        "{}",
        lines[1]
    );
    assert_eq!(
        lines.iter().filter(|l| l.starts_with("hotspots,")).count(),
        2
    );
    assert_eq!(lines.last().copied(), Some("unplaced,0"));
    // Without a token the served cluster refuses.
    let cli =
        Cli::try_parse_from(["report", "incidents", "--endpoint", &endpoint]).expect("arguments");
    assert!(render(&cli.report).await.is_err());
}

backend_tests!(a_generated_month_reads_back_with_known_answers);
