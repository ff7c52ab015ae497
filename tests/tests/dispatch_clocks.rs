//! Dispatch under time and load: escalation of an unacknowledged assignment and the SLA breach
//! on a manual clock (the timers are durable jobs: the test moves the clock and waits until the
//! host's job worker has run every one due), two replicas on one Postgres + Redis never sending
//! a unit to two places, and a 10,000-fix position stream. Just past 500 lines: the clock
//! helpers these scenarios share live here.

mod dispatch_support;

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use dispatch_support::*;
use pingan_platform::clock::ManualClock;
use pingan_platform::with_db;
use pingan_proto::common::v1::Priority;
use pingan_proto::dispatch::v1::dispatch_service_client::DispatchServiceClient;
use pingan_proto::dispatch::v1::*;
use pingan_tests::{Service, TestBackend, TestCluster, Topology, backend_tests};

backend_tests!(
    an_unacknowledged_assignment_escalates_and_a_missed_target_breaches,
    ten_thousand_position_updates_then_the_nearest_is_right,
);

async fn an_unacknowledged_assignment_escalates_and_a_missed_target_breaches(backend: TestBackend) {
    let start = Utc
        .with_ymd_and_hms(2026, 11, 20, 2, 0, 0)
        .single()
        .expect("time");
    let clock = ManualClock::new(start);
    let cluster = TestCluster::start_with_clock(
        backend,
        &[Service::Dispatch],
        Topology::PortPerService,
        Arc::new(clock.clone()),
    )
    .await
    .expect("cluster");
    let context = cluster.context(Service::Dispatch).expect("context");
    let mut admin = command_center(&cluster).await;
    let station = "st-chengnan";
    let scene = origin(station);
    register(&mut admin, "u-near", UnitKind::Officer, station, &[]).await;
    register(&mut admin, "u-next", UnitKind::Officer, station, &[]).await;
    register(&mut admin, "u-far", UnitKind::Officer, station, &[]).await;
    place(
        &mut admin,
        "u-near",
        offset(scene, 100.0, 0.0),
        clock.now_utc(),
    )
    .await;
    place(
        &mut admin,
        "u-next",
        offset(scene, 600.0, 0.0),
        clock.now_utc(),
    )
    .await;
    place(
        &mut admin,
        "u-far",
        offset(scene, 5000.0, 0.0),
        clock.now_utc(),
    )
    .await;

    let dispatch = admin
        .open_dispatch(open_request(
            "inc-escalate",
            Priority::P1,
            offset(scene, 0.0, 0.0),
            station,
        ))
        .await
        .expect("open")
        .into_inner()
        .dispatch
        .expect("dispatch");
    assert_eq!(dispatch.assignments[0].unit_id, "u-near");
    let id = dispatch.dispatch_id.clone();

    // 59 s: nothing is due yet.
    clock.advance(Duration::from_secs(59));
    timers_run(&context, &clock).await;
    let current = get(&mut admin, &id).await;
    assert_eq!(current.assignments.len(), 1);
    assert_eq!(current.assignments[0].status(), AssignmentStatus::Assigned);

    // 61 s: u-near did not acknowledge; the next nearest takes over.
    clock.advance(Duration::from_secs(2));
    timers_run(&context, &clock).await;
    let current = get(&mut admin, &id).await;
    assert_eq!(current.assignments.len(), 2, "{:?}", current.assignments);
    let (old, new) = (&current.assignments[0], &current.assignments[1]);
    assert_eq!(old.status(), AssignmentStatus::Escalated);
    assert_eq!(new.unit_id, "u-next");
    assert_eq!(new.source(), AssignmentSource::Escalation);
    assert_eq!(new.escalated_from_assignment_id, old.assignment_id);
    assert_eq!(current.status(), DispatchStatus::Assigned);
    let near = unit(&mut admin, "u-near").await;
    assert_eq!(
        near.status(),
        UnitStatus::Busy,
        "not offered again automatically"
    );
    // A second tick (or another replica) does not escalate again.
    timers_run(&context, &clock).await;
    assert_eq!(get(&mut admin, &id).await.assignments.len(), 2);

    // u-next acknowledges but does not move; at 5 min (urban P1) the target is missed.
    admin
        .acknowledge(AcknowledgeRequest {
            request_id: "ack-next".into(),
            dispatch_id: id.clone(),
            unit_id: "u-next".into(),
            note: String::new(),
        })
        .await
        .expect("ack");
    clock.advance(Duration::from_secs(238));
    timers_run(&context, &clock).await;
    assert!(!get(&mut admin, &id).await.sla_breached, "4:59 is in time");
    clock.advance(Duration::from_secs(2));
    timers_run(&context, &clock).await;
    let current = get(&mut admin, &id).await;
    assert!(current.sla_breached);
    timers_run(&context, &clock).await;
    let timeline = admin
        .get_dispatch_timeline(GetDispatchTimelineRequest {
            dispatch_id: id.clone(),
            ..Default::default()
        })
        .await
        .expect("timeline")
        .into_inner()
        .entries;
    let kinds = kinds(&timeline);
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == TimelineEntryKind::Escalated)
            .count(),
        1
    );
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == TimelineEntryKind::SlaBreached)
            .count(),
        1
    );
    assert_eq!(
        deliveries(&cluster, "pingan.dispatch.v1.SlaBreached", "intake").await,
        1
    );
    let breached = admin
        .list_dispatches(ListDispatchesRequest {
            only_sla_breached: true,
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner();
    assert_eq!(breached.dispatches.len(), 1);

    // A dispatch whose unit is en route in time never breaches.
    place(
        &mut admin,
        "u-far",
        offset(scene, 5000.0, 0.0),
        clock.now_utc(),
    )
    .await;
    let in_time = admin
        .open_dispatch(open_request(
            "inc-in-time",
            Priority::P1,
            offset(scene, 0.0, 0.0),
            station,
        ))
        .await
        .expect("open")
        .into_inner()
        .dispatch
        .expect("dispatch");
    assert_eq!(in_time.assignments[0].unit_id, "u-far");
    clock.advance(Duration::from_secs(30));
    admin
        .mark_en_route(MarkEnRouteRequest {
            request_id: "enroute-far".into(),
            dispatch_id: in_time.dispatch_id.clone(),
            unit_id: "u-far".into(),
            ..Default::default()
        })
        .await
        .expect("en route");
    clock.advance(Duration::from_secs(3600));
    timers_run(&context, &clock).await;
    let in_time = get(&mut admin, &in_time.dispatch_id).await;
    assert!(!in_time.sla_breached);
    assert_eq!(
        in_time.assignments.len(),
        1,
        "acknowledged by moving: no escalation"
    );
    cluster.shutdown().await.expect("shutdown");
}

async fn get(client: &mut Client, id: &str) -> Dispatch {
    client
        .get_dispatch(GetDispatchRequest {
            dispatch_id: id.to_owned(),
        })
        .await
        .expect("get")
        .into_inner()
        .dispatch
        .expect("dispatch")
}

async fn unit(client: &mut Client, id: &str) -> Unit {
    client
        .list_units(ListUnitsRequest::default())
        .await
        .expect("units")
        .into_inner()
        .units
        .into_iter()
        .find(|u| u.unit_id == id)
        .expect("unit")
}

/// Waits until the host's job worker (polling every tick interval) has run every dispatch timer
/// due on the manual clock: what a hand-driven tick did at once.
async fn timers_run(context: &pingan_platform::ServiceContext, clock: &ManualClock) {
    const DUE: &str = "SELECT COUNT(*) FROM platform_jobs WHERE service = 'dispatch' \
        AND state IN ('pending', 'running') AND run_at <= $1";
    let give_up = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let now = clock.now_utc();
        let due: i64 = with_db!(&context.db, pool => sqlx::query_scalar(DUE)
            .bind(now)
            .fetch_one(pool)
            .await)
        .expect("due timers");
        if due == 0 {
            return;
        }
        assert!(
            tokio::time::Instant::now() < give_up,
            "{due} dispatch timers still due"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

trait NowUtc {
    fn now_utc(&self) -> chrono::DateTime<Utc>;
}
impl NowUtc for ManualClock {
    fn now_utc(&self) -> chrono::DateTime<Utc> {
        pingan_platform::clock::Clock::now(self)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_never_send_a_unit_to_two_places() {
    let mut cluster = TestCluster::start(TestBackend::Postgres, &[Service::Dispatch])
        .await
        .expect("cluster");
    let replica = cluster
        .start_replica(Service::Dispatch)
        .await
        .expect("replica");
    let mut admin = command_center(&cluster).await;
    let station = "st-chengnan";
    let scene = origin(station);
    let now = Utc::now();
    for i in 0..20 {
        let id = format!("u-c{i:02}");
        let kind = if i % 4 == 0 {
            UnitKind::PatrolCar
        } else {
            UnitKind::Officer
        };
        register(&mut admin, &id, kind, station, &[]).await;
        place(&mut admin, &id, offset(scene, 50.0 * i as f64, 30.0), now).await;
    }
    let token = cluster
        .token(
            "dispatcher",
            &[pingan_platform::auth::Role::Dispatcher],
            &[station],
        )
        .expect("token");
    let replica_channel = tonic::service::interceptor::InterceptedService::new(
        tonic::transport::Endpoint::from_shared(replica)
            .expect("endpoint")
            .connect_lazy(),
        pingan_tests::Bearer::new(&token).expect("bearer"),
    );
    let first = admin.clone();
    let second = DispatchServiceClient::new(replica_channel);
    let mut tasks = Vec::new();
    for i in 0..200 {
        let mut client_a = first.clone();
        let mut client_b = second.clone();
        let request = open_request(
            &format!("inc-rush-{i:03}"),
            Priority::P1,
            offset(scene, (i % 10) as f64 * 40.0, 0.0),
            station,
        );
        tasks.push(tokio::spawn(async move {
            if i % 2 == 0 {
                client_a.open_dispatch(request).await
            } else {
                client_b.open_dispatch(request).await
            }
        }));
    }
    let mut assigned_units = Vec::new();
    for task in tasks {
        let dispatch = task
            .await
            .expect("task")
            .expect("open dispatch")
            .into_inner()
            .dispatch
            .expect("dispatch");
        assigned_units.extend(dispatch.assignments.into_iter().map(|a| a.unit_id));
    }
    assigned_units.sort();
    let total = assigned_units.len();
    assigned_units.dedup();
    assert_eq!(total, assigned_units.len(), "a unit was sent twice");
    assert_eq!(
        total, 20,
        "every unit (all ground units) is used exactly once"
    );

    // Checked from the database afterwards.
    let db = cluster.context(Service::Dispatch).expect("context").db;
    const DOUBLE: &str = "SELECT unit_id, COUNT(*) FROM dispatch_assignments WHERE active GROUP BY unit_id HAVING COUNT(*) > 1";
    let doubles: Vec<(String, i64)> =
        with_db!(&db, pool => sqlx::query_as(DOUBLE).fetch_all(pool).await).expect("query");
    assert!(doubles.is_empty(), "{doubles:?}");
    const ACTIVE: &str = "SELECT COUNT(*) FROM dispatch_assignments WHERE active";
    let active: i64 =
        with_db!(&db, pool => sqlx::query_scalar(ACTIVE).fetch_one(pool).await).expect("query");
    assert_eq!(active as usize, total);
    const HELD: &str = "SELECT COUNT(*) FROM dispatch_units u JOIN dispatch_assignments a \
        ON a.assignment_id = u.current_assignment_id AND a.active AND a.unit_id = u.unit_id";
    let held: i64 =
        with_db!(&db, pool => sqlx::query_scalar(HELD).fetch_one(pool).await).expect("query");
    assert_eq!(
        held as usize, total,
        "every unit row points at its one active assignment"
    );
    cluster.shutdown().await.expect("shutdown");
}

async fn ten_thousand_position_updates_then_the_nearest_is_right(backend: TestBackend) {
    let cluster = TestCluster::start(backend, &[Service::Dispatch])
        .await
        .expect("cluster");
    let mut admin = command_center(&cluster).await;
    let station = "st-rongxiang";
    let centre = origin(station);
    let units = 100;
    for i in 0..units {
        let kind = if i % 10 == 0 {
            UnitKind::Drone
        } else {
            UnitKind::Officer
        };
        register(&mut admin, &format!("u-p{i:03}"), kind, station, &[]).await;
    }
    // 100 fixes per unit, each unit walking a straight line; the last fix is where it stays.
    let now = Utc::now();
    let start = now - chrono::Duration::seconds(100);
    let final_position = |i: usize| {
        offset(
            centre,
            (i as f64 * 37.0) % 4000.0 - 2000.0,
            (i as f64 * 91.0) % 4000.0 - 2000.0,
        )
    };
    let mut fixes = Vec::with_capacity(10_000);
    for step in 0..100 {
        for i in 0..units {
            let end = final_position(i);
            let t = step as f64 / 99.0;
            fixes.push(ReportPositionsRequest {
                unit_id: format!("u-p{i:03}"),
                location: Some(pingan_proto::common::v1::GeoPoint {
                    lat: centre.0 + (end.lat - centre.0) * t + 0.01 * (1.0 - t),
                    lon: centre.1 + (end.lon - centre.1) * t,
                }),
                at: Some(ts(start + chrono::Duration::milliseconds(step * 1000))),
                ..Default::default()
            });
        }
    }
    let summary = admin
        .report_positions(tokio_stream::iter(fixes))
        .await
        .expect("stream")
        .into_inner();
    assert_eq!(summary.accepted, 10_000);
    assert_eq!(summary.rejected + summary.stale + summary.out_of_order, 0);

    // A late, an old and an unknown fix are told apart.
    let extra = vec![
        ReportPositionsRequest {
            unit_id: "u-p001".into(),
            location: Some(offset(centre, 0.0, 0.0)),
            at: Some(ts(start)),
            ..Default::default()
        },
        ReportPositionsRequest {
            unit_id: "u-p001".into(),
            location: Some(offset(centre, 0.0, 0.0)),
            at: Some(ts(now - chrono::Duration::seconds(600))),
            ..Default::default()
        },
        ReportPositionsRequest {
            unit_id: "u-nobody".into(),
            location: Some(offset(centre, 0.0, 0.0)),
            at: Some(ts(now)),
            ..Default::default()
        },
    ];
    let summary = admin
        .report_positions(tokio_stream::iter(extra))
        .await
        .expect("stream")
        .into_inner();
    assert_eq!(
        (
            summary.accepted,
            summary.out_of_order,
            summary.stale,
            summary.rejected
        ),
        (0, 1, 1, 1)
    );

    let query = offset(centre, 300.0, -200.0);
    let radius = 1500.0;
    let found = admin
        .find_nearest_units(FindNearestUnitsRequest {
            location: Some(query),
            radius_m: radius,
            kinds: vec![UnitKind::Officer as i32],
            limit: 100,
            ..Default::default()
        })
        .await
        .expect("nearest")
        .into_inner()
        .units;
    let mut expected: Vec<(f64, String)> = (0..units)
        .filter(|i| i % 10 != 0)
        .map(|i| {
            let p = final_position(i);
            (
                haversine(query.lat, query.lon, p.lat, p.lon),
                format!("u-p{i:03}"),
            )
        })
        .filter(|(d, _)| *d <= radius)
        .collect();
    expected.sort_by(|a, b| a.0.total_cmp(&b.0));
    assert!(!expected.is_empty());
    let got: Vec<&str> = found.iter().map(|u| u.unit_id.as_str()).collect();
    let want: Vec<&str> = expected.iter().map(|(_, id)| id.as_str()).collect();
    assert_eq!(got, want);
    for (unit, (distance, _)) in found.iter().zip(&expected) {
        assert!(
            (unit.distance_m - distance).abs() < 2.0,
            "{} vs {distance}",
            unit.distance_m
        );
    }
    // The radius is required and capped.
    let capped = admin
        .find_nearest_units(FindNearestUnitsRequest {
            location: Some(query),
            radius_m: 10_000_000.0,
            limit: 5,
            ..Default::default()
        })
        .await
        .expect("capped")
        .into_inner();
    assert_eq!(capped.searched_radius_m, 50_000.0);
    assert_eq!(capped.units.len(), 5);
    cluster.shutdown().await.expect("shutdown");
}

fn haversine(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let r = 6_372_797.560_856_f64;
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let a = ((lat2 - lat1).to_radians() / 2.0).sin().powi(2)
        + p1.cos() * p2.cos() * ((lon2 - lon1).to_radians() / 2.0).sin().powi(2);
    2.0 * r * a.sqrt().asin()
}
