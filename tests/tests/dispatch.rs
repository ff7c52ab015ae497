//! Dispatch end to end through gRPC, on SQLite (in-process positions) and on Postgres + Redis:
//! story 1 (the nearest officer is sent, the grid is asked to look out), story 7 (a drone and a
//! ground unit for a person in the river, the flight logged and counted) and the catalogue's
//! vocabulary. The lifecycle's rules and the board are in `dispatch_lifecycle.rs`.

mod dispatch_support;

use chrono::Utc;
use dispatch_support::*;
use pingan_platform::auth::Role;
use pingan_proto::common::v1::{Priority, TimeRange};
use pingan_proto::dispatch::v1::*;
use pingan_tests::{Service, TestBackend, TestCluster, backend_tests};
use tonic::Code;

backend_tests!(
    story_1_the_nearest_officer_is_sent_and_the_grid_looks_out,
    story_7_a_drone_and_a_ground_unit_go_to_the_river_and_the_flight_is_logged,
    the_category_and_capabilities_are_the_catalogues,
);

/// OpenDispatch and RegisterUnit speak the catalogue's vocabulary: unknown codes are refused
/// naming the field, known ones are normalised, and a category alone brings its response.
async fn the_category_and_capabilities_are_the_catalogues(backend: TestBackend) {
    let cluster = TestCluster::start(backend, &[Service::Dispatch])
        .await
        .expect("cluster");
    let mut admin = command_center(&cluster).await;
    let station = "st-chengnan";
    let scene = origin(station);

    let refused = admin
        .register_unit(RegisterUnitRequest {
            request_id: "reg-bad".into(),
            unit_id: "u-bad".into(),
            kind: UnitKind::Officer as i32,
            callsign: "BAD".into(),
            station_id: station.into(),
            capabilities: vec!["mediation".into(), "water_rescue_boat".into()],
            ..Default::default()
        })
        .await
        .expect_err("unknown capability");
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert!(
        refused.message().contains("capabilities[1]"),
        "{}",
        refused.message()
    );
    assert!(
        !refused.message().contains("capabilities[0]"),
        "{}",
        refused.message()
    );

    // Case is normalised before the check.
    register(
        &mut admin,
        "u-m",
        UnitKind::Officer,
        station,
        &[" Mediation"],
    )
    .await;
    register(&mut admin, "u-plain", UnitKind::Officer, station, &[]).await;
    let now = Utc::now();
    place(&mut admin, "u-plain", offset(scene, 50.0, 0.0), now).await;
    place(&mut admin, "u-m", offset(scene, 800.0, 0.0), now).await;
    let mediators: Vec<String> = admin
        .list_units(ListUnitsRequest {
            capabilities: vec!["mediation".into()],
            ..Default::default()
        })
        .await
        .expect("units")
        .into_inner()
        .units
        .into_iter()
        .map(|u| u.unit_id)
        .collect();
    assert_eq!(mediators, ["u-m"]);

    let mut bad = open_request("inc-bad", Priority::P2, offset(scene, 0.0, 0.0), station);
    bad.category = "WATER_RESCUE".into();
    bad.required_capabilities = vec!["water_rescue".into(), "sonar".into()];
    bad.unit_requirements = vec![UnitRequirement {
        kinds: vec![UnitKind::Drone as i32],
        capabilities: vec!["aerial_video".into(), "night_vision".into()],
        count: 1,
    }];
    let refused = admin.open_dispatch(bad).await.expect_err("unknown codes");
    assert_eq!(refused.code(), Code::InvalidArgument);
    for field in [
        "category",
        "required_capabilities[1]",
        "unit_requirements[0].capabilities[1]",
    ] {
        assert!(
            refused.message().contains(field),
            "{field}: {}",
            refused.message()
        );
    }
    assert!(!refused.message().contains("required_capabilities[0]"));

    // A dispute alone: the catalogue wants a unit able to mediate, so the nearer unit that
    // cannot is passed over.
    let mut dispute = open_request(
        "inc-dispute",
        Priority::P2,
        offset(scene, 0.0, 0.0),
        station,
    );
    dispute.category = " dispute".into();
    let dispatch = admin
        .open_dispatch(dispute)
        .await
        .expect("open")
        .into_inner()
        .dispatch
        .expect("dispatch");
    assert_eq!(dispatch.category, "DISPUTE");
    assert_eq!(dispatch.unit_requirements.len(), 1);
    assert_eq!(dispatch.unit_requirements[0].capabilities, ["mediation"]);
    let assigned: Vec<&str> = dispatch
        .assignments
        .iter()
        .map(|a| a.unit_id.as_str())
        .collect();
    assert_eq!(assigned, ["u-m"]);
    cluster.shutdown().await.expect("shutdown");
}

async fn story_1_the_nearest_officer_is_sent_and_the_grid_looks_out(backend: TestBackend) {
    let cluster = TestCluster::start(backend, &[Service::Dispatch, Service::GridRegistry])
        .await
        .expect("cluster");
    let mut admin = command_center(&cluster).await;
    let imported = import_units(&mut admin).await;
    assert_eq!(imported.len(), 18);
    let station = "st-chengnan";
    let scene = origin(station);
    let now = Utc::now();
    place(
        &mut admin,
        "u-st-chengnan-o1",
        offset(scene, 100.0, 50.0),
        now,
    )
    .await;
    place(
        &mut admin,
        "u-st-chengnan-o2",
        offset(scene, -1500.0, 0.0),
        now,
    )
    .await;
    place(
        &mut admin,
        "u-st-chengnan-car1",
        offset(scene, 3000.0, 0.0),
        now,
    )
    .await;
    // A stale position does not count, however close.
    let stale = admin
        .update_position(UpdatePositionRequest {
            unit_id: "u-st-chengnan-o3".into(),
            location: Some(offset(scene, 10.0, 0.0)),
            at: Some(ts(now - chrono::Duration::seconds(121))),
            ..Default::default()
        })
        .await
        .expect("stale fix")
        .into_inner();
    assert_eq!(stale.outcome(), PositionOutcome::Stale);

    let nearest = admin
        .find_nearest_units(FindNearestUnitsRequest {
            location: Some(offset(scene, 0.0, 0.0)),
            radius_m: 10_000.0,
            only_available: true,
            limit: 10,
            ..Default::default()
        })
        .await
        .expect("nearest")
        .into_inner();
    let ids: Vec<&str> = nearest.units.iter().map(|u| u.unit_id.as_str()).collect();
    assert_eq!(
        ids,
        ["u-st-chengnan-o1", "u-st-chengnan-o2", "u-st-chengnan-car1"]
    );
    assert!(nearest.units[0].distance_m < 150.0);
    assert!(nearest.units.iter().all(|u| u.eta.is_some()));

    // The 110 call: a phone left in a taxi. P1 here to show the automatic assignment.
    let mut request = open_request(
        "inc-phone-taxi",
        Priority::P1,
        offset(scene, 0.0, 0.0),
        station,
    );
    request.lookout = Some(Lookout {
        message: "请留意车牌为藏B·T1234的出租车，后座有乘客遗失的手机".to_owned(),
        ..Default::default()
    });
    let dispatcher = &mut client_as(&cluster, &[Role::Dispatcher], &[station]).await;
    let dispatch = dispatcher
        .open_dispatch(request.clone())
        .await
        .expect("open")
        .into_inner()
        .dispatch
        .expect("dispatch");
    assert_eq!(dispatch.status(), DispatchStatus::Assigned);
    assert_eq!(dispatch.assignments.len(), 1);
    let assignment = &dispatch.assignments[0];
    assert_eq!(assignment.unit_id, "u-st-chengnan-o1");
    assert_eq!(assignment.source(), AssignmentSource::Auto);
    assert!(assignment.ack_due_at.is_some());
    // Grid-registry is asked for the lookout; while it cannot, the dispatch goes on and says why.
    assert!(
        !dispatch.lookout_broadcast_id.is_empty() || !dispatch.lookout_error.is_empty(),
        "lookout outcome recorded"
    );
    // Repeating the request returns the same dispatch.
    let again = dispatcher
        .open_dispatch(request)
        .await
        .expect("repeat")
        .into_inner()
        .dispatch
        .expect("dispatch");
    assert_eq!(again.dispatch_id, dispatch.dispatch_id);

    let id = dispatch.dispatch_id.clone();
    let unit = "u-st-chengnan-o1".to_owned();
    let officer = &mut client_as(&cluster, &[Role::StationOfficer], &[station]).await;
    officer
        .acknowledge(AcknowledgeRequest {
            request_id: "ack-1".into(),
            dispatch_id: id.clone(),
            unit_id: unit.clone(),
            note: "收到".into(),
        })
        .await
        .expect("ack");
    let en_route = officer
        .mark_en_route(MarkEnRouteRequest {
            request_id: "enroute-1".into(),
            dispatch_id: id.clone(),
            unit_id: unit.clone(),
            ..Default::default()
        })
        .await
        .expect("en route")
        .into_inner();
    assert_eq!(
        en_route.dispatch.expect("d").status(),
        DispatchStatus::EnRoute
    );
    officer
        .mark_on_scene(MarkOnSceneRequest {
            request_id: "onscene-1".into(),
            dispatch_id: id.clone(),
            unit_id: unit.clone(),
            ..Default::default()
        })
        .await
        .expect("on scene");
    officer
        .clear_unit(ClearUnitRequest {
            request_id: "clear-1".into(),
            dispatch_id: id.clone(),
            unit_id: unit.clone(),
            note: "手机已找回并归还失主".into(),
            ..Default::default()
        })
        .await
        .expect("clear");
    let closed = dispatcher
        .close_dispatch(CloseDispatchRequest {
            request_id: "close-1".into(),
            dispatch_id: id.clone(),
            disposition: Disposition::AssistanceGiven as i32,
            narrative: "出租车司机联系上，手机20分钟内归还".into(),
            clear_active_units: false,
        })
        .await
        .expect("close")
        .into_inner()
        .dispatch
        .expect("dispatch");
    assert_eq!(closed.status(), DispatchStatus::Closed);
    assert!(closed.first_en_route_at.is_some() && closed.first_on_scene_at.is_some());

    let timeline = admin
        .get_dispatch_timeline(GetDispatchTimelineRequest {
            incident_id: "inc-phone-taxi".into(),
            ..Default::default()
        })
        .await
        .expect("timeline")
        .into_inner()
        .entries;
    let kinds = kinds(&timeline);
    use TimelineEntryKind as K;
    let expected_order = [
        K::Opened,
        K::Assigned,
        K::Acknowledged,
        K::EnRoute,
        K::OnScene,
        K::Cleared,
        K::Closed,
    ];
    let positions: Vec<usize> = expected_order
        .iter()
        .map(|k| kinds.iter().position(|x| x == k).expect("entry present"))
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{kinds:?}");

    // The unit is free again and the officer sees it on the list.
    let units = admin
        .list_units(ListUnitsRequest {
            station_id: station.into(),
            kinds: vec![UnitKind::Officer as i32],
            ..Default::default()
        })
        .await
        .expect("units")
        .into_inner()
        .units;
    let o1 = units.iter().find(|u| u.unit_id == unit).expect("o1");
    assert_eq!(o1.status(), UnitStatus::Available);
    assert!(o1.location.is_some() && !o1.position_stale);

    // Every step left for intake's timeline, the close for intake and case-followup, and audit.
    let timeline_events = deliveries(
        &cluster,
        "pingan.dispatch.v1.DispatchTimelineEvent",
        "intake",
    )
    .await;
    assert_eq!(timeline_events, timeline.len() as i64);
    assert_eq!(
        deliveries(&cluster, "pingan.dispatch.v1.DispatchClosed", "intake").await,
        1
    );
    assert_eq!(
        deliveries(
            &cluster,
            "pingan.dispatch.v1.DispatchClosed",
            "case-followup"
        )
        .await,
        1
    );
    assert!(deliveries(&cluster, "pingan.audit.v1.AuditRecord", "complaints-audit").await >= 24);

    // Another station cannot read it.
    let other = &mut client_as(&cluster, &[Role::Dispatcher], &["st-caye"]).await;
    let denied = other
        .get_dispatch(GetDispatchRequest { dispatch_id: id })
        .await
        .expect_err("outside jurisdiction");
    assert_eq!(denied.code(), Code::PermissionDenied);
    cluster.shutdown().await.expect("shutdown");
}

async fn story_7_a_drone_and_a_ground_unit_go_to_the_river_and_the_flight_is_logged(
    backend: TestBackend,
) {
    let cluster = TestCluster::start(backend, &[Service::Dispatch])
        .await
        .expect("cluster");
    let mut admin = command_center(&cluster).await;
    import_units(&mut admin).await;
    let station = "st-rongxiang";
    let bridge = origin(station);
    let now = Utc::now();
    place(
        &mut admin,
        "u-st-rongxiang-uav1",
        offset(bridge, 4000.0, 0.0),
        now,
    )
    .await;
    place(
        &mut admin,
        "u-st-rongxiang-o1",
        offset(bridge, 300.0, 0.0),
        now,
    )
    .await;
    place(
        &mut admin,
        "u-st-rongxiang-car1",
        offset(bridge, 6000.0, 0.0),
        now,
    )
    .await;

    let mut request = open_request("inc-river", Priority::P1, offset(bridge, 0.0, 0.0), station);
    // What triage attaches to a person in the water: the catalogue's RESCUE + WATER response.
    let catalogue = pingan_catalogue::catalogue().expect("catalogue");
    let rescue = pingan_catalogue::CategoryCode::parse("RESCUE").expect("rescue");
    let water = pingan_catalogue::SituationCode::parse("WATER").expect("water");
    request.category = "RESCUE".into();
    request.unit_requirements =
        pingan_catalogue::proto::requirements(&catalogue.requirements(rescue, &[water]));
    request.station_kind = pingan_proto::grid::v1::StationKind::Rural as i32;
    let dispatch = admin
        .open_dispatch(request)
        .await
        .expect("open")
        .into_inner()
        .dispatch
        .expect("dispatch");
    let mut units: Vec<(&str, UnitKind)> = dispatch
        .assignments
        .iter()
        .map(|a| (a.unit_id.as_str(), a.unit_kind()))
        .collect();
    units.sort();
    assert_eq!(
        units,
        [
            ("u-st-rongxiang-o1", UnitKind::Officer),
            ("u-st-rongxiang-uav1", UnitKind::Drone)
        ]
    );
    assert!(dispatch.unfilled_requirements.is_empty());
    // Rural P1: 15 minutes.
    assert_eq!(dispatch.response_target.map(|d| d.seconds), Some(900));

    // The drone finds the person and streams video; two sorties are logged.
    let start = now - chrono::Duration::minutes(30);
    for (i, (minutes, metres)) in [(18, 7_400.0), (9, 3_100.0)].into_iter().enumerate() {
        admin
            .log_flight(LogFlightRequest {
                request_id: format!("flight-{i}"),
                unit_id: "u-st-rongxiang-uav1".into(),
                dispatch_id: dispatch.dispatch_id.clone(),
                started_at: Some(ts(start + chrono::Duration::minutes(i as i64 * 20))),
                ended_at: Some(ts(
                    start + chrono::Duration::minutes(i as i64 * 20 + minutes)
                )),
                distance_m: metres,
                pilot_officer_id: "st-rongxiang-o4".into(),
                purpose: "search".into(),
                video_recorded: true,
                notes: String::new(),
            })
            .await
            .expect("log flight");
    }
    let not_a_drone = admin
        .log_flight(LogFlightRequest {
            request_id: "flight-bad".into(),
            unit_id: "u-st-rongxiang-o1".into(),
            started_at: Some(ts(start)),
            ended_at: Some(ts(start + chrono::Duration::minutes(5))),
            ..Default::default()
        })
        .await
        .expect_err("officer is no drone");
    assert_eq!(not_a_drone.code(), Code::FailedPrecondition);

    let stats = admin
        .drone_stats(DroneStatsRequest {
            period: Some(TimeRange {
                start: Some(ts(now - chrono::Duration::days(1))),
                end: Some(ts(now + chrono::Duration::days(1))),
            }),
            interval: StatsInterval::Day as i32,
            ..Default::default()
        })
        .await
        .expect("stats")
        .into_inner();
    let totals = stats.totals.expect("totals");
    assert_eq!(totals.missions, 2);
    assert_eq!(totals.dispatches, 1);
    assert!((totals.distance_m - 10_500.0).abs() < 1e-6);
    assert_eq!(totals.flight_time.map(|d| d.seconds), Some(27 * 60));
    assert_eq!(stats.units.len(), 1);
    assert_eq!(stats.units[0].callsign, "RONGXIANG-UAV1");
    assert!(!stats.buckets.is_empty());
    let bucket_missions: i64 = stats
        .buckets
        .iter()
        .map(|b| b.totals.as_ref().map_or(0, |t| t.missions))
        .sum();
    assert_eq!(bucket_missions, 2);
    cluster.shutdown().await.expect("shutdown");
}
