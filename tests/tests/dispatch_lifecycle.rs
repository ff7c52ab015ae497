//! Dispatch end to end through gRPC, on SQLite (in-process positions) and on Postgres + Redis:
//! the lifecycle's rules (who may move an assignment where, and what is refused) and the live
//! board seeing every change.

mod dispatch_support;

use chrono::Utc;
use dispatch_support::*;
use pingan_platform::auth::Role;
use pingan_proto::common::v1::Priority;
use pingan_proto::dispatch::v1::watch_board_response::Event;
use pingan_proto::dispatch::v1::*;
use pingan_tests::{Service, TestBackend, TestCluster, backend_tests};
use tonic::Code;

backend_tests!(lifecycle_rules_are_enforced, the_board_shows_changes_live);

async fn lifecycle_rules_are_enforced(backend: TestBackend) {
    let cluster = TestCluster::start(backend, &[Service::Dispatch])
        .await
        .expect("cluster");
    let mut admin = command_center(&cluster).await;
    let station = "st-chengnan";
    let scene = origin(station);
    register(
        &mut admin,
        "u-a",
        UnitKind::Officer,
        station,
        &["mediation"],
    )
    .await;
    register(&mut admin, "u-b", UnitKind::PatrolCar, station, &[]).await;
    let now = Utc::now();
    place(&mut admin, "u-a", offset(scene, 200.0, 0.0), now).await;
    place(&mut admin, "u-b", offset(scene, 900.0, 0.0), now).await;

    // Anonymous calls are refused in the cluster shape.
    let anonymous =
        pingan_proto::dispatch::v1::dispatch_service_client::DispatchServiceClient::new(
            cluster.channel(Service::Dispatch).expect("channel"),
        )
        .list_units(ListUnitsRequest::default())
        .await
        .expect_err("no token");
    assert_eq!(anonymous.code(), Code::Unauthenticated);

    // Bad input names every field.
    let bad = admin
        .open_dispatch(OpenDispatchRequest {
            request_id: "bad".into(),
            ..Default::default()
        })
        .await
        .expect_err("invalid");
    assert_eq!(bad.code(), Code::InvalidArgument);
    for field in ["incident_id", "priority", "location"] {
        assert!(bad.message().contains(field), "{}", bad.message());
    }

    // P3 waits for a dispatcher.
    let p3 = admin
        .open_dispatch(open_request(
            "inc-p3",
            Priority::P3,
            offset(scene, 0.0, 0.0),
            station,
        ))
        .await
        .expect("open p3")
        .into_inner()
        .dispatch
        .expect("dispatch");
    assert_eq!(p3.status(), DispatchStatus::Pending);
    assert!(p3.assignments.is_empty());
    assert_eq!(p3.unfilled_requirements.len(), 1);
    let duplicate = admin
        .open_dispatch(OpenDispatchRequest {
            request_id: "open-inc-p3-again".into(),
            ..open_request("inc-p3", Priority::P3, offset(scene, 0.0, 0.0), station)
        })
        .await
        .expect_err("one open dispatch per incident");
    assert_eq!(duplicate.code(), Code::AlreadyExists);

    let assigned = admin
        .assign(AssignRequest {
            request_id: "assign-a".into(),
            dispatch_id: p3.dispatch_id.clone(),
            unit_id: "u-a".into(),
            note: "调解".into(),
        })
        .await
        .expect("assign")
        .into_inner();
    assert_eq!(
        assigned.assignment.expect("a").source(),
        AssignmentSource::Dispatcher
    );
    assert!(
        assigned
            .dispatch
            .expect("d")
            .unfilled_requirements
            .is_empty()
    );

    // A unit is never in two active assignments.
    let other = admin
        .open_dispatch(open_request(
            "inc-other",
            Priority::P3,
            offset(scene, 0.0, 0.0),
            station,
        ))
        .await
        .expect("open other")
        .into_inner()
        .dispatch
        .expect("dispatch");
    let busy = admin
        .assign(AssignRequest {
            request_id: "assign-a-twice".into(),
            dispatch_id: other.dispatch_id.clone(),
            unit_id: "u-a".into(),
            note: String::new(),
        })
        .await
        .expect_err("u-a is taken");
    assert_eq!(busy.code(), Code::FailedPrecondition);

    // Statuses that follow assignments cannot be set by hand; a held unit keeps its status.
    let manual = admin
        .set_unit_status(SetUnitStatusRequest {
            request_id: "status-1".into(),
            unit_id: "u-a".into(),
            status: UnitStatus::OffDuty as i32,
            reason: "下班".into(),
        })
        .await
        .expect_err("held");
    assert_eq!(manual.code(), Code::FailedPrecondition);
    let assignment_status = admin
        .set_unit_status(SetUnitStatusRequest {
            request_id: "status-2".into(),
            unit_id: "u-b".into(),
            status: UnitStatus::OnScene as i32,
            reason: String::new(),
        })
        .await
        .expect_err("assignment-driven");
    assert_eq!(assignment_status.code(), Code::FailedPrecondition);

    // Illegal transitions.
    let step = |request_id: &str| AcknowledgeRequest {
        request_id: request_id.into(),
        dispatch_id: p3.dispatch_id.clone(),
        unit_id: "u-a".into(),
        note: String::new(),
    };
    admin.acknowledge(step("ack-a")).await.expect("ack");
    let twice = admin.acknowledge(step("ack-a-2")).await.expect_err("acked");
    assert_eq!(twice.code(), Code::FailedPrecondition);
    let close_busy = admin
        .close_dispatch(CloseDispatchRequest {
            request_id: "close-busy".into(),
            dispatch_id: p3.dispatch_id.clone(),
            disposition: Disposition::Mediated as i32,
            narrative: String::new(),
            clear_active_units: false,
        })
        .await
        .expect_err("active unit");
    assert_eq!(close_busy.code(), Code::FailedPrecondition);
    let closed = admin
        .close_dispatch(CloseDispatchRequest {
            request_id: "close-clear".into(),
            dispatch_id: p3.dispatch_id.clone(),
            disposition: Disposition::Mediated as i32,
            narrative: "双方就移动支付纠纷达成和解".into(),
            clear_active_units: true,
        })
        .await
        .expect("close")
        .into_inner()
        .dispatch
        .expect("dispatch");
    assert_eq!(closed.assignments[0].status(), AssignmentStatus::Cancelled);
    let after_close = admin
        .acknowledge(step("ack-after-close"))
        .await
        .expect_err("closed");
    assert_eq!(after_close.code(), Code::FailedPrecondition);
    // The unit is free for the other dispatch now.
    admin
        .assign(AssignRequest {
            request_id: "assign-a-other".into(),
            dispatch_id: other.dispatch_id.clone(),
            unit_id: "u-a".into(),
            note: String::new(),
        })
        .await
        .expect("assign after release");
    let listed = admin
        .list_dispatches(ListDispatchesRequest {
            unit_id: "u-a".into(),
            page_size: 1,
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner();
    assert_eq!(listed.dispatches.len(), 1);
    assert!(!listed.next_page_token.is_empty());
    let second = admin
        .list_dispatches(ListDispatchesRequest {
            unit_id: "u-a".into(),
            page_size: 1,
            page_token: listed.next_page_token,
            ..Default::default()
        })
        .await
        .expect("list page 2")
        .into_inner();
    assert_eq!(second.dispatches.len(), 1);
    assert_ne!(
        second.dispatches[0].dispatch_id,
        listed.dispatches[0].dispatch_id
    );
    cluster.shutdown().await.expect("shutdown");
}

async fn the_board_shows_changes_live(backend: TestBackend) {
    let cluster = TestCluster::start(backend, &[Service::Dispatch])
        .await
        .expect("cluster");
    let mut admin = command_center(&cluster).await;
    let station = "st-caye";
    let scene = origin(station);
    register(&mut admin, "u-board", UnitKind::Officer, station, &[]).await;
    register(
        &mut admin,
        "u-elsewhere",
        UnitKind::Officer,
        "st-chengnan",
        &[],
    )
    .await;
    place(&mut admin, "u-board", offset(scene, 100.0, 0.0), Utc::now()).await;

    let mut watcher = client_as(&cluster, &[Role::Dispatcher], &[station]).await;
    let mut stream = watcher
        .watch_board(WatchBoardRequest {
            station_ids: Vec::new(),
            send_snapshot: true,
            include_positions: false,
        })
        .await
        .expect("watch")
        .into_inner();
    // A consumer that never reads does not hold anything up.
    let _stuck = admin
        .watch_board(WatchBoardRequest::default())
        .await
        .expect("second watcher");
    let mut sequence = 0;
    let snapshot_done = loop {
        let message = stream.message().await.expect("message").expect("open");
        sequence += 1;
        assert_eq!(message.sequence, sequence);
        if let Some(Event::Unit(unit)) = &message.event {
            assert_eq!(unit.station_id, station, "only the caller's station");
        }
        if let Some(Event::SnapshotComplete(done)) = message.event {
            break done;
        }
    };
    assert_eq!(snapshot_done.units, 1);
    let dispatch = admin
        .open_dispatch(open_request(
            "inc-board",
            Priority::P2,
            offset(scene, 0.0, 0.0),
            station,
        ))
        .await
        .expect("open")
        .into_inner()
        .dispatch
        .expect("dispatch");
    let (mut saw_dispatch, mut saw_unit, mut saw_entry) = (false, false, false);
    while !(saw_dispatch && saw_unit && saw_entry) {
        let message = tokio::time::timeout(std::time::Duration::from_secs(10), stream.message())
            .await
            .expect("board event in time")
            .expect("message")
            .expect("open");
        sequence += 1;
        assert_eq!(message.sequence, sequence);
        match message.event {
            Some(Event::Dispatch(d)) => saw_dispatch |= d.dispatch_id == dispatch.dispatch_id,
            Some(Event::Unit(u)) => {
                saw_unit |= u.unit_id == "u-board" && u.status() == UnitStatus::Assigned
            }
            Some(Event::TimelineEntry(e)) => saw_entry |= e.dispatch_id == dispatch.dispatch_id,
            _ => {}
        }
    }
    cluster.shutdown().await.expect("shutdown");
}
