//! Seed stories 1, 3 and 4 across the REAL intake, grid-registry, triage (with the in-process
//! 12345 simulator) and dispatch, on SQLite and on Postgres + Redis, with the demo jurisdiction
//! loaded through the public APIs. Events flow through the outbox relays in the background; every
//! effect is waited for by polling the reading RPC with a bounded timeout.

mod dispatch_support;
mod stories_support;

use pingan_platform::auth::Role;
use pingan_platform::with_db;
use pingan_proto::common::v1::{Channel, Priority};
use pingan_proto::dispatch::v1 as dpb;
use pingan_proto::hotline::v1::ReplyKind;
use pingan_proto::intake::v1::{IncidentStatus, Outcome, TimelineEntryKind as Kind};
use pingan_proto::triage::v1 as tpb;
use pingan_tests::{Service, TestBackend, backend_tests};
use stories_support::*;

backend_tests!(
    story_1_lost_phone_in_a_taxi_is_dispatched_and_followed_to_close,
    story_1_emergency_help_is_answered_within_five_minutes,
    story_3_non_police_call_is_diverted_to_12345_and_followed_until_handled,
    story_4_police_business_from_12345_is_dispatched_like_a_110_call,
    story_1_lost_property_outside_every_grid_is_dispatched_without_a_lookout,
);

/// Grid-registry's stored broadcasts for a grid, with the dispatch and message each carries.
async fn broadcasts(stories: &Stories, grid_id: &str) -> Vec<(String, String)> {
    const SQL: &str =
        "SELECT broadcast_id, dispatch_id || ' ' || message FROM broadcasts WHERE grid_id = $1";
    let context = stories
        .cluster
        .context(Service::GridRegistry)
        .expect("context");
    with_db!(&context.db, pool => sqlx::query_as(SQL).bind(grid_id).fetch_all(pool).await)
        .expect("broadcasts")
}

/// Story 1 off the map: the same lost-in-a-taxi call from a point outside every grid. There are
/// no residents to ask, so dispatch is opened without a lookout (it once went with one, dispatch
/// refused it as INVALID_ARGUMENT and intake retried the refusal forever).
async fn story_1_lost_property_outside_every_grid_is_dispatched_without_a_lookout(
    backend: TestBackend,
) {
    let stories = Stories::start(backend).await;
    let mut call_taker = stories.call_taker();
    let mut request = call_110(
        "story1-off-grid",
        "我的手机落在出租车上了，车牌藏C·T5678，刚在路边下的车",
    );
    request.location = Some(dispatch_support::offset(
        dispatch_support::origin(STATION),
        -40_000.0,
        -40_000.0,
    ));
    request.address = String::new();
    let response = call_taker
        .report_call(request)
        .await
        .expect("report call")
        .into_inner();
    assert_eq!(response.grid_id, "", "the point must be outside every grid");
    // Opened; no unit within reach 56 km off, so it waits for one (PENDING_DISPATCH).
    assert_eq!(
        response.status(),
        IncidentStatus::Dispatched,
        "{response:#?}"
    );
    let classification = response.classification.clone().expect("classification");
    assert_eq!(classification.category, "ASSISTANCE");
    assert!(!response.dispatch_id.is_empty(), "{response:#?}");
    let saved = incident(&mut stories.command_room(), &response.incident_id).await;
    assert_eq!(saved.pending_reason, "", "{saved:#?}");
    assert_eq!(saved.status(), IncidentStatus::Dispatched);
    let token = stories
        .cluster
        .token("command-1", &[Role::CommandCenter, Role::Dispatcher], &[])
        .expect("token");
    let channel = stories
        .cluster
        .channel_as(Service::Dispatch, &token)
        .expect("channel");
    let mut room = dpb::dispatch_service_client::DispatchServiceClient::new(channel);
    let dispatch = wait_dispatch(&mut room, &response.dispatch_id, "exists", |_| true).await;
    assert_eq!(dispatch.lookout_broadcast_id, "");
    assert_eq!(dispatch.grid_id, "");
    stories.shutdown().await;
}

/// Story 1: a caller left a phone in a taxi. The call is taken, located, classified and the
/// nearest available officer is sent; the grid's residents are asked to look out for the car; the
/// officer acknowledges, sets off, arrives and closes; intake's timeline shows every hop and its
/// status and response clocks follow.
async fn story_1_lost_phone_in_a_taxi_is_dispatched_and_followed_to_close(backend: TestBackend) {
    let stories = Stories::start(backend).await;
    let mut call_taker = stories.call_taker();
    let mut room = stories.command_room();
    let response = call_taker
        .report_call(call_110(
            "story1-call",
            "我的手机落在出租车上了，车牌藏C·T1234，十分钟前在城南路下的车",
        ))
        .await
        .expect("report call")
        .into_inner();
    assert_eq!(response.outcome(), Outcome::Dispatched, "{response:#?}");
    assert_eq!(response.grid_id, GRID);
    assert_eq!(response.station_id, STATION);
    assert_eq!(response.status(), IncidentStatus::Dispatched);
    let classification = response.classification.clone().expect("classification");
    assert_eq!(classification.category, "ASSISTANCE");
    assert_eq!(classification.kind(), tpb::Kind::Police);
    assert_eq!(response.assigned_unit_ids, vec![NEAREST.to_owned()]);
    assert!(!response.dispatch_id.is_empty());
    let incident_id = response.incident_id.clone();
    let dispatch_id = response.dispatch_id.clone();

    // Dispatch holds the same dispatch, and the lookout reached grid-registry.
    let mut officer = stories.officer(NEAREST_OFFICER);
    let dispatch = wait_dispatch(&mut officer, &dispatch_id, "broadcast its lookout", |d| {
        !d.lookout_broadcast_id.is_empty()
    })
    .await;
    assert_eq!(dispatch.incident_id, incident_id);
    assert_eq!(dispatch.grid_id, GRID);
    assert!(
        dispatch.lookout_error.is_empty(),
        "{}",
        dispatch.lookout_error
    );
    let stored = broadcasts(&stories, GRID).await;
    assert!(
        stored
            .iter()
            .any(|(id, body)| *id == dispatch.lookout_broadcast_id && body.contains(&dispatch_id)),
        "grid-registry stored the lookout: {stored:?}"
    );

    // The officer works the dispatch.
    let step = |n: &str| format!("story1-{n}");
    officer
        .acknowledge(dpb::AcknowledgeRequest {
            request_id: step("ack"),
            dispatch_id: dispatch_id.clone(),
            unit_id: NEAREST.into(),
            note: "收到".into(),
        })
        .await
        .expect("acknowledge");
    officer
        .mark_en_route(dpb::MarkEnRouteRequest {
            request_id: step("en-route"),
            dispatch_id: dispatch_id.clone(),
            unit_id: NEAREST.into(),
            ..Default::default()
        })
        .await
        .expect("en route");
    officer
        .mark_on_scene(dpb::MarkOnSceneRequest {
            request_id: step("on-scene"),
            dispatch_id: dispatch_id.clone(),
            unit_id: NEAREST.into(),
            location: Some(scene()),
            ..Default::default()
        })
        .await
        .expect("on scene");
    let on_scene = wait_incident(&mut room, &incident_id, "went ON_SCENE", |i| {
        i.status() == IncidentStatus::OnScene
    })
    .await;
    let clocks = on_scene.clocks.expect("clocks");
    assert!(clocks.unit_assigned_at.is_some(), "{clocks:#?}");
    assert!(clocks.en_route_at.is_some(), "{clocks:#?}");
    assert!(clocks.on_scene_at.is_some(), "{clocks:#?}");
    assert!(clocks.closed_at.is_none());
    assert!(!clocks.response_target_breached);
    assert_eq!(on_scene.assigned_unit_ids, vec![NEAREST.to_owned()]);

    officer
        .close_dispatch(dpb::CloseDispatchRequest {
            request_id: step("close"),
            dispatch_id: dispatch_id.clone(),
            disposition: dpb::Disposition::AssistanceGiven as i32,
            narrative: "联系出租车司机，手机已归还失主".into(),
            clear_active_units: true,
        })
        .await
        .expect("close");
    let closed = wait_incident(&mut room, &incident_id, "closed", |i| {
        i.status() == IncidentStatus::Closed
    })
    .await;
    assert!(closed.clocks.expect("clocks").closed_at.is_some());

    // Every hop is on intake's timeline, in order.
    let entries = wait_entry(&mut room, &incident_id, Kind::DispatchClosed, |_| true).await;
    let seen = kinds(&entries);
    let order = [
        Kind::CallReceived,
        Kind::GridLocated,
        Kind::Classified,
        Kind::DispatchOpened,
        Kind::UnitAssigned,
        Kind::UnitAcknowledged,
        Kind::UnitEnRoute,
        Kind::UnitOnScene,
        Kind::DispatchClosed,
    ];
    let positions: Vec<usize> = order
        .iter()
        .map(|k| {
            seen.iter()
                .position(|s| s == k)
                .unwrap_or_else(|| panic!("{k:?} missing from {seen:?}"))
        })
        .collect();
    assert!(positions.is_sorted(), "hops out of order: {seen:?}");
    for entry in &entries {
        if matches!(
            entry.kind(),
            Kind::UnitAcknowledged | Kind::UnitEnRoute | Kind::UnitOnScene
        ) {
            assert_eq!(entry.unit_id, NEAREST, "{entry:#?}");
            assert_eq!(entry.source, "dispatch");
        }
    }
    stories.shutdown().await;
}

/// Story 1's rule: emergency help is answered (a unit assigned and moving) within 5 minutes, the
/// urban P1 target, and the incident's clocks show it.
async fn story_1_emergency_help_is_answered_within_five_minutes(backend: TestBackend) {
    let stories = Stories::start(backend).await;
    let mut call_taker = stories.call_taker();
    let mut room = stories.command_room();
    let response = call_taker
        .report_call(call_110("story1-help", "救命！有人被困在电梯里出不来了"))
        .await
        .expect("report call")
        .into_inner();
    assert_eq!(response.outcome(), Outcome::Dispatched, "{response:#?}");
    let classification = response.classification.clone().expect("classification");
    assert_eq!(
        classification.priority(),
        Priority::P1,
        "{classification:#?}"
    );
    assert_eq!(classification.response_target.map(|d| d.seconds), Some(300));
    let unit = response.assigned_unit_ids.first().expect("a unit").clone();
    let mut officer = stories.officer(NEAREST_OFFICER);
    let dispatch = wait_dispatch(&mut officer, &response.dispatch_id, "exists", |_| true).await;
    assert_eq!(dispatch.response_target.map(|d| d.seconds), Some(300));
    officer
        .mark_en_route(dpb::MarkEnRouteRequest {
            request_id: "story1-help-en-route".into(),
            dispatch_id: response.dispatch_id.clone(),
            unit_id: unit.clone(),
            ..Default::default()
        })
        .await
        .expect("en route");
    let moving = wait_incident(&mut room, &response.incident_id, "got a unit moving", |i| {
        i.clocks.as_ref().is_some_and(|c| c.en_route_at.is_some())
    })
    .await;
    let clocks = moving.clocks.expect("clocks");
    assert_eq!(clocks.response_target.map(|d| d.seconds), Some(300));
    let to_en_route = clocks.to_en_route.expect("to_en_route");
    assert!(to_en_route.seconds < 300, "{clocks:#?}");
    assert!(!clocks.response_target_breached);
    assert!(!dispatch.sla_breached);
    stories.shutdown().await;
}

/// Story 3: a water outage on 110 is not police business: it is diverted to 12345 with a
/// receipt, 12345 gets the ticket, and its HANDLED outcome reaches intake's timeline.
async fn story_3_non_police_call_is_diverted_to_12345_and_followed_until_handled(
    backend: TestBackend,
) {
    let stories = Stories::start(backend).await;
    let mut call_taker = stories.call_taker();
    let mut room = stories.command_room();
    let response = call_taker
        .report_call(call_110(
            "story3-call",
            "我们小区从昨天开始停水了，到现在还没来水",
        ))
        .await
        .expect("report call")
        .into_inner();
    assert_eq!(
        response.outcome(),
        Outcome::DivertedTo12345,
        "{response:#?}"
    );
    assert!(!response.transfer_id.is_empty());
    assert!(response.dispatch_id.is_empty());
    assert_eq!(
        response.classification.clone().expect("c").kind(),
        tpb::Kind::NonPolice
    );
    let incident_id = response.incident_id.clone();
    let transfer_id = response.transfer_id.clone();

    // 12345 got the ticket (triage delivers it in the background) …
    let simulator = simulator(&stories);
    let ticket = eventually("12345 got the ticket", || {
        let simulator = simulator.clone();
        let transfer_id = transfer_id.clone();
        async move {
            simulator
                .tickets()
                .into_iter()
                .find(|t| t.request.request_id == transfer_id)
        }
    })
    .await;
    assert!(ticket.request.description.contains("停水"));
    let mut hotline = stories.triage("hotline", &[Role::HotlineIntegrator]);
    let mut sent = None;
    for _ in 0..150 {
        let t = hotline
            .get_transfer(tpb::GetTransferRequest {
                transfer_id: transfer_id.clone(),
                ..Default::default()
            })
            .await
            .expect("get transfer")
            .into_inner()
            .transfer
            .expect("transfer");
        if !t.hotline_ticket_id.is_empty() {
            sent = Some(t);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let sent = sent.expect("transfer got its 12345 ticket id");
    assert_eq!(sent.hotline_ticket_id, ticket.ticket_id);
    assert_eq!(sent.incident_id, incident_id);
    let diverted = incident(&mut room, &incident_id).await;
    assert_eq!(diverted.status(), IncidentStatus::Diverted);
    assert_eq!(diverted.transfer_id, transfer_id);

    // … and reports it handled.
    hotline
        .record_transfer_outcome(tpb::RecordTransferOutcomeRequest {
            request_id: "story3-handled".into(),
            hotline_ticket_id: ticket.ticket_id.clone(),
            status: tpb::TransferStatus::Handled as i32,
            department: "市供水公司".into(),
            note: "管道抢修完毕，已恢复供水".into(),
            ..Default::default()
        })
        .await
        .expect("record outcome");
    let entries = wait_entry(&mut room, &incident_id, Kind::Transfer, |e| {
        e.summary.to_uppercase().contains("HANDLED") || e.summary.contains("办结")
    })
    .await;
    assert!(
        kinds(&entries).contains(&Kind::Transfer),
        "{:?}",
        kinds(&entries)
    );
    let handled = wait_incident(&mut room, &incident_id, "closed as handled by 12345", |i| {
        i.status() == IncidentStatus::Closed
    })
    .await;
    assert!(!handled.close_reason.is_empty());

    // A consumer complaint on 110 goes the same way, to its own department.
    let consumer = call_taker
        .report_call(call_110(
            "story3-consumer",
            "超市卖过期食品，商家不给退货，我要投诉",
        ))
        .await
        .expect("report call")
        .into_inner();
    assert_eq!(
        consumer.outcome(),
        Outcome::DivertedTo12345,
        "{consumer:#?}"
    );
    assert!(!consumer.transfer_id.is_empty());
    assert_ne!(consumer.transfer_id, transfer_id);
    let c = consumer.classification.expect("classification");
    assert_eq!(c.category, "CONSUMER");
    let consumer_transfer = consumer.transfer_id.clone();
    let ticket = eventually("12345 got the consumer ticket", || {
        let simulator = simulator.clone();
        let id = consumer_transfer.clone();
        async move {
            simulator
                .tickets()
                .into_iter()
                .find(|t| t.request.request_id == id)
        }
    })
    .await;
    assert_eq!(ticket.request.department, c.department);
    stories.shutdown().await;
}

/// Story 4: 12345 pushes police business; it becomes a CHANNEL_12345 intake incident and is
/// dispatched like a 110 call; the same ticket pushed twice gives one incident.
async fn story_4_police_business_from_12345_is_dispatched_like_a_110_call(backend: TestBackend) {
    let stories = Stories::start(backend).await;
    let mut hotline = stories.triage("hotline", &[Role::HotlineIntegrator]);
    let mut room = stories.command_room();
    let push = |request_id: &str| tpb::ReceiveHotlineTicketRequest {
        request_id: request_id.into(),
        hotline_ticket_id: "T-4001".into(),
        description: "有人在小区门口打架，有人受伤流血了".into(),
        caller_phone: "13700002222".into(),
        caller_name: "李先生".into(),
        location: Some(scene()),
        address: "桑珠孜区城南路 8 号".into(),
        department: "12345 热线".into(),
        ..Default::default()
    };
    let first = hotline
        .receive_hotline_ticket(push("story4-push-1"))
        .await
        .expect("receive")
        .into_inner();
    assert_eq!(
        first.disposition(),
        tpb::InboundDisposition::IncidentOpened,
        "{first:#?}"
    );
    let transfer = first.transfer.expect("transfer");
    assert!(!transfer.incident_id.is_empty());
    let incident_id = transfer.incident_id.clone();

    let dispatched = wait_incident(&mut room, &incident_id, "was dispatched", |i| {
        i.status() == IncidentStatus::Dispatched && !i.assigned_unit_ids.is_empty()
    })
    .await;
    assert_eq!(dispatched.channel(), Channel::Channel12345);
    assert_eq!(dispatched.grid_id, GRID);
    assert_eq!(dispatched.station_id, STATION);
    assert_eq!(dispatched.transfer_id, transfer.transfer_id);
    assert_eq!(dispatched.hotline_ticket_id, "T-4001");
    let classification = dispatched.classification.clone().expect("classification");
    assert_eq!(classification.kind(), tpb::Kind::Police);
    assert!(
        matches!(classification.priority(), Priority::P1 | Priority::P2),
        "{classification:#?}"
    );
    assert_eq!(dispatched.assigned_unit_ids[0], NEAREST);
    assert!(!dispatched.dispatch_id.is_empty());
    let mut officer = stories.officer(NEAREST_OFFICER);
    let dispatch = wait_dispatch(&mut officer, &dispatched.dispatch_id, "exists", |_| true).await;
    assert_eq!(dispatch.incident_id, incident_id);

    // The same ticket again (a 12345 redelivery under another request id): one incident.
    let again = hotline
        .receive_hotline_ticket(push("story4-push-2"))
        .await
        .expect("receive again")
        .into_inner();
    let again = again.transfer.expect("transfer");
    assert_eq!(again.transfer_id, transfer.transfer_id);
    assert_eq!(again.incident_id, incident_id);
    let listed = room
        .list_incidents(pingan_proto::intake::v1::ListIncidentsRequest {
            channel: Channel::Channel12345 as i32,
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner();
    assert_eq!(
        listed.incidents.len(),
        1,
        "one incident: {:?}",
        listed.incidents
    );
    // 12345 heard the ticket was accepted, with the incident.
    let simulator = simulator(&stories);
    let reply = eventually("12345 got the ACCEPTED reply", || {
        let simulator = simulator.clone();
        let incident_id = incident_id.clone();
        async move {
            simulator.replies().into_iter().find(|r| {
                r.ticket_id == "T-4001"
                    && r.kind == ReplyKind::Accepted as i32
                    && r.incident_id == incident_id
            })
        }
    })
    .await;
    assert_eq!(reply.incident_id, incident_id);
    let entries = wait_entry(&mut room, &incident_id, Kind::UnitAssigned, |_| true).await;
    let seen = kinds(&entries);
    for k in [Kind::CallReceived, Kind::Classified, Kind::DispatchOpened] {
        assert!(seen.contains(&k), "{k:?} missing from {seen:?}");
    }
    stories.shutdown().await;
}
