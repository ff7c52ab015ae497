//! Intake end to end through gRPC, against fake grid-registry, triage and dispatch peers:
//! story 1's intake half (call → grid → classified → dispatched → timeline of every hop), no
//! call lost while the peers are down, duplicate linking, idempotency, validation, the other
//! routes (12345, complaint, invalid) and the incident's status from other services' events.
//! Past 600 lines: each scenario is a short story against the same fake peers, read in order.

mod intake_support;

use std::time::Duration;

use intake_support::harness::{
    Harness, PHONE, call, client, dispatch_entry, kinds, pending_events, start_time, ts,
};
use intake_support::{BASE_LAT, BASE_LON, GRID, Peer, REFUSED_BY_DISPATCH, STATION, UNIT};
use pingan_platform::auth::Role;
use pingan_proto::dispatch::v1::{
    Dispatch, DispatchClosed, Disposition, TimelineEntryKind as DispatchKind,
};
use pingan_proto::followup::v1::{RevisitCompleted, RevisitStatus};
use pingan_proto::intake::v1::intake_service_client::IntakeServiceClient;
use pingan_proto::intake::v1::{
    GetIncidentRequest, IncidentStatus, ListIncidentsRequest, Outcome, ReportCallRequest,
    TimelineEntryKind,
};
use pingan_proto::triage::v1::{Kind, TransferDirection, TransferStatus, TransferStatusChanged};
use pingan_tests::{Service, TestBackend, backend_tests};
use tonic::Code;

async fn story_one_intake_half(backend: TestBackend) {
    let mut h = Harness::start(backend).await;
    let t0 = start_time();
    let response = h
        .report(call(
            "story1",
            "乘客在出租车上丢失手机，请求帮助找回",
            BASE_LAT,
            BASE_LON,
        ))
        .await;
    assert_eq!(response.outcome, Outcome::Dispatched as i32, "{response:?}");
    assert_eq!(response.status, IncidentStatus::Dispatched as i32);
    assert_eq!(response.grid_id, GRID);
    assert_eq!(response.station_id, STATION);
    assert_eq!(response.assigned_unit_ids, [UNIT]);
    let classification = response.classification.clone().expect("classification");
    assert_eq!(classification.kind, Kind::Police as i32);
    assert_eq!(classification.category, "ASSISTANCE");
    let id = response.incident_id.clone();
    assert_eq!(response.dispatch_id, format!("d-{id}"));
    let dispatched = h.fakes.dispatches();
    assert_eq!(dispatched.len(), 1);
    assert_eq!(dispatched[0].grid_id, GRID);
    assert_eq!(dispatched[0].station_id, STATION);

    // Dispatch reports the unit's steps; the second delivery of an event has no effect.
    let steps = [
        (DispatchKind::Opened, 0, "dispatch opened"),
        (DispatchKind::Acknowledged, 40, "CHENGNAN-1 acknowledged"),
        (DispatchKind::EnRoute, 90, "CHENGNAN-1 en route"),
        (DispatchKind::OnScene, 240, "CHENGNAN-1 on scene"),
    ];
    for (n, (kind, secs, text)) in steps.iter().enumerate() {
        let event = dispatch_entry(&id, *kind, t0 + chrono::Duration::seconds(*secs), text);
        assert!(!h.deliver("dispatch", &format!("ev-{n}"), &id, &event).await);
    }
    let again = dispatch_entry(
        &id,
        DispatchKind::EnRoute,
        t0 + chrono::Duration::seconds(90),
        "x",
    );
    assert!(
        h.deliver("dispatch", "ev-2", &id, &again).await,
        "redelivery is a duplicate"
    );
    let on_scene = h.incident(&id).await;
    assert_eq!(on_scene.status, IncidentStatus::OnScene as i32);

    let closed = DispatchClosed {
        dispatch: Some(Dispatch {
            dispatch_id: format!("d-{id}"),
            incident_id: id.clone(),
            disposition: Disposition::AssistanceGiven as i32,
            closed_at: Some(ts(t0 + chrono::Duration::minutes(20))),
            ..Default::default()
        }),
        officer_ids: vec!["off-chengnan-1".into()],
    };
    h.deliver("dispatch", "ev-closed", &id, &closed).await;

    let incident = h.incident(&id).await;
    assert_eq!(incident.status, IncidentStatus::Closed as i32);
    assert_eq!(incident.close_reason, "assistance_given");
    let clocks = incident.clocks.expect("clocks");
    assert_eq!(clocks.to_en_route.map(|d| d.seconds), Some(90));
    assert_eq!(clocks.to_on_scene.map(|d| d.seconds), Some(240));
    assert_eq!(clocks.to_unit_assigned.map(|d| d.seconds), Some(0));
    assert_eq!(clocks.response_target.map(|d| d.seconds), Some(600));
    assert!(!clocks.response_target_breached);
    // The dispatcher sees the caller's number; a station officer only the masked one.
    assert_eq!(incident.calls[0].caller_phone, PHONE);
    assert_eq!(incident.calls[0].caller_phone_masked, "182****6977");
    let mut officer = client(
        &h.cluster,
        "off-chengnan-1",
        &[Role::StationOfficer],
        &[STATION],
    );
    let seen = officer
        .get_incident(GetIncidentRequest {
            incident_id: id.clone(),
            ..Default::default()
        })
        .await
        .expect("officer reads")
        .into_inner()
        .incident
        .expect("incident");
    assert_eq!(seen.calls[0].caller_phone, "");
    assert_eq!(seen.calls[0].caller_phone_masked, "182****6977");
    let mut stranger = client(
        &h.cluster,
        "off-other",
        &[Role::StationOfficer],
        &["st-other"],
    );
    let denied = stranger
        .get_incident(GetIncidentRequest {
            incident_id: id.clone(),
            ..Default::default()
        })
        .await
        .expect_err("outside the jurisdiction");
    assert_eq!(denied.code(), Code::NotFound);

    let timeline = h.timeline(&id).await;
    assert_eq!(
        kinds(&timeline),
        [
            TimelineEntryKind::CallReceived,
            TimelineEntryKind::GridLocated,
            TimelineEntryKind::Classified,
            TimelineEntryKind::DispatchOpened,
            TimelineEntryKind::UnitAcknowledged,
            TimelineEntryKind::UnitEnRoute,
            TimelineEntryKind::UnitOnScene,
            TimelineEntryKind::StatusChanged,
        ]
    );
    assert!(timeline.iter().all(|e| e.at.is_some() && e.actor.is_some()));
    assert!(
        timeline.iter().all(|e| !e.summary.contains(PHONE)),
        "no clear phone on the timeline"
    );
    assert_eq!(timeline[6].unit_id, UNIT);
    assert_eq!(timeline[6].to_status, IncidentStatus::OnScene as i32);
    assert_eq!(timeline[7].to_status, IncidentStatus::Closed as i32);

    // Revisit done: FOLLOWED_UP.
    let revisit = RevisitCompleted {
        revisit_id: "rv-1".into(),
        incident_id: id.clone(),
        status: RevisitStatus::Completed as i32,
        issue_resolved: true,
        satisfaction: 5,
        another_revisit_scheduled: false,
        completed_at: Some(ts(t0 + chrono::Duration::days(2))),
        recorded_by: None,
    };
    h.deliver("case-followup", "ev-revisit", &id, &revisit)
        .await;
    let incident = h.incident(&id).await;
    assert_eq!(incident.status, IncidentStatus::FollowedUp as i32);

    let metrics = pingan_platform::metrics::render();
    assert!(
        metrics.contains("pingan_intake_response_seconds_bucket"),
        "clocks exported"
    );
    assert!(!metrics.contains(PHONE));
    h.shutdown().await;
}

async fn no_call_lost_while_peers_are_down(backend: TestBackend) {
    let mut h = Harness::start(backend).await;
    for peer in Peer::ALL {
        h.fakes.stop(peer).await.expect("stop");
    }
    let response = h
        .report(call(
            "outage-1",
            "有人被车撞了，倒在路边",
            BASE_LAT,
            BASE_LON,
        ))
        .await;
    assert_eq!(
        response.outcome,
        Outcome::PendingClassification as i32,
        "{response:?}"
    );
    assert_eq!(response.status, IncidentStatus::New as i32);
    assert!(
        response.note.contains("triage unavailable"),
        "{}",
        response.note
    );
    let id = response.incident_id.clone();
    let saved = h.incident(&id).await;
    assert_eq!(saved.status, IncidentStatus::New as i32);
    assert_eq!(saved.calls.len(), 1);

    // Triage and grid-registry come back, dispatch is still down: CLASSIFIED, waiting.
    h.fakes.restart(Peer::Triage).await.expect("restart");
    h.fakes.restart(Peer::Grid).await.expect("restart");
    h.clock.advance(Duration::from_secs(3));
    let classified = h.complete_until(&id, &[IncidentStatus::New]).await;
    assert_eq!(classified.status, IncidentStatus::Classified as i32);
    assert_eq!(classified.grid_id, GRID);
    assert!(
        classified.pending_reason.contains("dispatch unavailable"),
        "{}",
        classified.pending_reason
    );
    let repeat = h
        .report(call(
            "outage-1",
            "有人被车撞了，倒在路边",
            BASE_LAT,
            BASE_LON,
        ))
        .await;
    // A repeat returns the first answer; the incident's state is today's.
    assert_eq!(
        (repeat.incident_id.as_str(), repeat.outcome()),
        (id.as_str(), Outcome::PendingClassification)
    );
    assert_eq!(repeat.status(), IncidentStatus::Classified);
    assert!(repeat.classification.is_some());

    // Dispatch comes back: the routing job dispatches without another call.
    h.fakes.restart(Peer::Dispatch).await.expect("restart");
    h.clock.advance(Duration::from_secs(120));
    let dispatched = h.complete_until(&id, &[IncidentStatus::Classified]).await;
    assert_eq!(dispatched.status, IncidentStatus::Dispatched as i32);
    assert_eq!(dispatched.assigned_unit_ids, [UNIT]);
    assert_eq!(dispatched.pending_reason, "");
    assert_eq!(h.fakes.dispatches().len(), 1, "dispatched exactly once");
    let timeline = kinds(&h.timeline(&id).await);
    assert_eq!(
        timeline,
        [
            TimelineEntryKind::CallReceived,
            TimelineEntryKind::RoutingDeferred,
            TimelineEntryKind::GridLocated,
            TimelineEntryKind::Classified,
            TimelineEntryKind::RoutingDeferred,
            TimelineEntryKind::DispatchOpened,
        ]
    );
    let repeat = h
        .report(call(
            "outage-1",
            "有人被车撞了，倒在路边",
            BASE_LAT,
            BASE_LON,
        ))
        .await;
    assert_eq!(
        (repeat.incident_id.as_str(), repeat.outcome()),
        (id.as_str(), Outcome::PendingClassification)
    );
    assert_eq!(repeat.status(), IncidentStatus::Dispatched);
    assert_eq!(repeat.assigned_unit_ids, [UNIT]);
    assert_eq!(repeat.dispatch_id, format!("d-{id}"));
    h.shutdown().await;
}

/// Dispatch refuses the request as INVALID_ARGUMENT: retrying the same request cannot succeed,
/// so the incident is held for a dispatcher with the refusal as its reason, not retried forever.
async fn a_refused_dispatch_is_held_not_retried_forever(backend: TestBackend) {
    let mut h = Harness::start(backend).await;
    let description = format!("有人被车撞了，倒在路边 {REFUSED_BY_DISPATCH}");
    let response = h
        .report(call("refused-1", &description, BASE_LAT, BASE_LON))
        .await;
    let id = response.incident_id.clone();
    let held = h.incident(&id).await;
    assert_eq!(held.status, IncidentStatus::Classified as i32, "{held:?}");
    assert!(
        held.pending_reason.contains("dispatch refused"),
        "{}",
        held.pending_reason
    );
    assert_eq!(h.fakes.dispatches().len(), 1);
    // The routing job does not try again, however long we wait.
    h.clock.advance(Duration::from_secs(600));
    let context = h.cluster.context(Service::Intake).expect("context").clone();
    let worker = pingan_intake::job_worker(&context, pingan_intake::IntakeSettings::default());
    for _ in 0..3 {
        worker.run_once().await.expect("job round");
    }
    assert_eq!(h.fakes.dispatches().len(), 1, "a refusal is never retried");
    let timeline = kinds(&h.timeline(&id).await);
    assert_eq!(
        timeline.last(),
        Some(&TimelineEntryKind::RoutingDeferred),
        "{timeline:?}"
    );
    h.shutdown().await;
}

async fn duplicate_calls_are_linked(backend: TestBackend) {
    let mut h = Harness::start(backend).await;
    let first = h
        .report(call("dup-1", "两辆车相撞，路口堵了", BASE_LAT, BASE_LON))
        .await;
    assert_eq!(first.outcome, Outcome::Dispatched as i32);

    // 5 minutes later, ~110 m away, a compatible category (a crash with someone hurt).
    h.clock.advance(Duration::from_secs(300));
    let mut second = call("dup-2", "路口有人受伤了，快来", BASE_LAT + 0.001, BASE_LON);
    second.caller_phone = "13800138000".into();
    let second = h.report(second).await;
    assert_eq!(
        second.outcome,
        Outcome::DuplicateLinked as i32,
        "{second:?}"
    );
    assert_eq!(second.incident_id, first.incident_id);
    assert_eq!(second.duplicate_of, first.incident_id);
    assert_eq!(second.assigned_unit_ids, [UNIT]);
    assert_eq!(h.fakes.dispatches().len(), 1, "no second dispatch");
    let incident = h.incident(&first.incident_id).await;
    assert_eq!(incident.calls.len(), 2, "the caller is added");
    assert!(incident.calls[1].duplicate);
    assert_eq!(incident.calls[1].caller_phone_masked, "138****8000");
    assert!((incident.calls[1].distance_from_incident_m - 111.0).abs() < 5.0);
    // The second call's own incident is kept, linked: its id resolves to the first.
    let linked = incident.calls[1].first_incident_id.clone();
    assert_ne!(linked, first.incident_id);
    assert_eq!(incident.linked_incident_ids, std::slice::from_ref(&linked));
    assert_eq!(h.incident(&linked).await.incident_id, first.incident_id);
    let timeline = kinds(&h.timeline(&first.incident_id).await);
    assert_eq!(
        timeline.last(),
        Some(&TimelineEntryKind::DuplicateCallLinked)
    );

    // Too far (~1.1 km), an incompatible category, or outside the window: new incidents.
    let far = h
        .report(call("dup-3", "两车相撞", BASE_LAT + 0.01, BASE_LON))
        .await;
    assert_eq!(far.outcome, Outcome::Dispatched as i32);
    assert_ne!(far.incident_id, first.incident_id);
    let other = h
        .report(call("dup-4", "小区停水两天了", BASE_LAT, BASE_LON))
        .await;
    assert_eq!(other.outcome, Outcome::DivertedTo12345 as i32);
    h.clock.advance(Duration::from_secs(16 * 60));
    let late = h
        .report(call("dup-5", "又有车相撞", BASE_LAT, BASE_LON))
        .await;
    assert_eq!(late.outcome, Outcome::Dispatched as i32);
    assert_ne!(late.incident_id, first.incident_id);
    assert_eq!(h.fakes.dispatches().len(), 3);
    let listed = h
        .dispatcher
        .list_incidents(ListIncidentsRequest::default())
        .await
        .expect("list")
        .into_inner();
    assert_eq!(
        listed.incidents.len(),
        4,
        "the linked incident is not listed"
    );
    assert!(listed.incidents.iter().all(|i| i.incident_id != linked));
    h.shutdown().await;
}

/// Merges recorded by the first schema (their incidents were deleted) keep resolving, chains
/// included.
async fn ids_merged_under_the_first_schema_keep_resolving(backend: TestBackend) {
    let mut h = Harness::start(backend).await;
    let first = h
        .report(call("legacy-1", "两辆车相撞", BASE_LAT, BASE_LON))
        .await;
    let context = h.cluster.context(Service::Intake).expect("context");
    const SQL: &str = "INSERT INTO intake_incident_merges (incident_id, merged_into, merged_at) \
        VALUES ($1, $2, $3)";
    for (from, into) in [
        ("inc-legacy-1", first.incident_id.as_str()),
        ("inc-legacy-2", "inc-legacy-1"),
    ] {
        pingan_platform::with_db!(&context.db, pool => sqlx::query(SQL)
            .bind(from).bind(into).bind(start_time())
            .execute(pool).await.map(|r| r.rows_affected()))
        .expect("legacy merge");
    }
    for id in ["inc-legacy-1", "inc-legacy-2"] {
        assert_eq!(h.incident(id).await.incident_id, first.incident_id);
    }
    let incident = h.incident(&first.incident_id).await;
    assert_eq!(incident.linked_incident_ids, ["inc-legacy-1"]);
    let unknown = h
        .dispatcher
        .get_incident(GetIncidentRequest {
            incident_id: "inc-never".into(),
            ..Default::default()
        })
        .await
        .expect_err("unknown id");
    assert_eq!(unknown.code(), Code::NotFound);
    h.shutdown().await;
}

async fn idempotent_on_request_id_and_source_call_id(backend: TestBackend) {
    let mut h = Harness::start(backend).await;
    let request = call("idem-1", "两辆车相撞", BASE_LAT, BASE_LON);
    let first = h.report(request.clone()).await;
    let again = h.report(request.clone()).await;
    assert_eq!(again.incident_id, first.incident_id);
    assert_eq!(again.call_id, first.call_id);
    assert_eq!(again.outcome, Outcome::Dispatched as i32);

    // Same source call under another request id: the same call.
    let resent = ReportCallRequest {
        request_id: "idem-2".into(),
        ..request.clone()
    };
    let resent = h.report(resent).await;
    assert_eq!(resent.call_id, first.call_id);
    assert_eq!(h.fakes.dispatches().len(), 1);

    // Same request id, other content: refused, naming request_id.
    let other = ReportCallRequest {
        description: "别的事情".into(),
        ..request
    };
    let status = h
        .dispatcher
        .report_call(other)
        .await
        .expect_err("reused id");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().contains("request_id"),
        "{}",
        status.message()
    );

    let list = h
        .dispatcher
        .list_incidents(ListIncidentsRequest::default())
        .await
        .expect("list")
        .into_inner();
    assert_eq!(list.incidents.len(), 1);
    h.shutdown().await;
}

async fn bad_calls_are_refused_naming_the_fields(backend: TestBackend) {
    let mut h = Harness::start(backend).await;
    let mut bad = call("bad-1", " ", 95.0, 200.0);
    bad.caller_phone = "12345".into();
    bad.channel = 0;
    let status = h.dispatcher.report_call(bad).await.expect_err("invalid");
    assert_eq!(status.code(), Code::InvalidArgument);
    for field in [
        "channel",
        "caller_phone",
        "location.lat",
        "location.lon",
        "description",
    ] {
        assert!(
            status.message().contains(field),
            "{field}: {}",
            status.message()
        );
    }
    assert!(!status.message().contains("12345 "));
    // Masked numbers from the 110 platform and landlines are accepted.
    let mut masked = call("ok-1", "有人打架", BASE_LAT, BASE_LON);
    masked.caller_phone = "138****5678".into();
    assert!(!h.report(masked).await.call_id.is_empty());
    let mut landline = call("ok-2", "有人打架", 29.0, 88.0);
    landline.caller_phone = "0893-7321110".into();
    let outside = h.report(landline).await;
    assert_eq!(outside.grid_id, "", "outside every grid");
    // Nobody without a token, and not a grid worker.
    let anonymous = IntakeServiceClient::new(h.cluster.channel(Service::Intake).expect("channel"))
        .report_call(call("anon", "有人打架", BASE_LAT, BASE_LON))
        .await
        .expect_err("anonymous");
    assert_eq!(anonymous.code(), Code::Unauthenticated);
    let mut worker = client(&h.cluster, "gw-1", &[Role::GridWorker], &[STATION]);
    let denied = worker
        .report_call(call("gw", "有人打架", BASE_LAT, BASE_LON))
        .await
        .expect_err("grid worker");
    assert_eq!(denied.code(), Code::PermissionDenied);
    h.shutdown().await;
}

async fn other_routes_and_listing(backend: TestBackend) {
    let mut h = Harness::start(backend).await;
    let water = h
        .report(call("r-1", "小区停水两天了没人管", BASE_LAT, BASE_LON))
        .await;
    assert_eq!(water.outcome, Outcome::DivertedTo12345 as i32);
    assert_eq!(water.transfer_id, format!("tr-{}", water.incident_id));
    assert_eq!(water.status, IncidentStatus::Diverted as i32);
    assert_eq!(
        h.fakes.diversions()[0].caller_phone,
        PHONE,
        "12345 calls the caller back"
    );

    h.clock.advance(Duration::from_secs(60));
    let complaint = h
        .report(call(
            "r-2",
            "我要投诉城南派出所的民警态度恶劣",
            BASE_LAT + 0.02,
            BASE_LON,
        ))
        .await;
    assert_eq!(complaint.outcome, Outcome::ComplaintFiled as i32);
    assert_eq!(complaint.status, IncidentStatus::Closed as i32);
    let context = h.cluster.context(Service::Intake).expect("context").clone();
    let pending = pending_events(&context, "complaints-audit").await;
    assert!(
        pending.contains(&"pingan.intake.v1.PoliceComplaintCallReceived".to_owned()),
        "{pending:?}"
    );

    h.clock.advance(Duration::from_secs(60));
    let silent = h.report(call("r-3", "无声电话", BASE_LAT, BASE_LON)).await;
    assert_eq!(silent.outcome, Outcome::ClosedInvalid as i32);
    assert!(silent.note.starts_with("invalid"), "{}", silent.note);

    // 12345 bounces the diversion back: it stays with the police and is dispatched.
    let bounced = TransferStatusChanged {
        transfer_id: water.transfer_id.clone(),
        direction: TransferDirection::To12345 as i32,
        from_status: TransferStatus::Sent as i32,
        to_status: TransferStatus::Bounced as i32,
        incident_id: water.incident_id.clone(),
        note: "涉及治安问题，退回公安".into(),
        ..Default::default()
    };
    h.deliver("triage", "ev-bounce", &water.transfer_id, &bounced)
        .await;
    let back = h
        .complete_until(
            &water.incident_id,
            &[IncidentStatus::Classified, IncidentStatus::Diverted],
        )
        .await;
    assert_eq!(back.status, IncidentStatus::Dispatched as i32);
    assert_eq!(h.fakes.dispatches().len(), 1);

    // Listing: filters and pages, newest first.
    let all = h
        .dispatcher
        .list_incidents(ListIncidentsRequest {
            page_size: 2,
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner();
    assert_eq!(all.incidents.len(), 2);
    assert_eq!(all.incidents[0].incident_id, silent.incident_id);
    let rest = h
        .dispatcher
        .list_incidents(ListIncidentsRequest {
            page_size: 2,
            page_token: all.next_page_token.clone(),
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner();
    assert_eq!(rest.incidents.len(), 1);
    assert_eq!(rest.incidents[0].incident_id, water.incident_id);
    assert!(rest.next_page_token.is_empty());
    let closed = h
        .dispatcher
        .list_incidents(ListIncidentsRequest {
            statuses: vec![IncidentStatus::Closed as i32],
            station_id: STATION.into(),
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner();
    let ids: Vec<_> = closed
        .incidents
        .iter()
        .map(|i| i.incident_id.clone())
        .collect();
    assert_eq!(
        ids,
        [silent.incident_id.clone(), complaint.incident_id.clone()]
    );
    let range = h
        .dispatcher
        .list_incidents(ListIncidentsRequest {
            received: Some(pingan_proto::common::v1::TimeRange {
                start: Some(ts(start_time() + chrono::Duration::seconds(30))),
                end: Some(ts(start_time() + chrono::Duration::seconds(90))),
            }),
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner();
    assert_eq!(range.incidents.len(), 1);
    assert_eq!(range.incidents[0].incident_id, complaint.incident_id);
    let mut elsewhere = client(
        &h.cluster,
        "off-other",
        &[Role::StationOfficer],
        &["st-other"],
    );
    let none = elsewhere
        .list_incidents(ListIncidentsRequest::default())
        .await
        .expect("list")
        .into_inner();
    assert!(none.incidents.is_empty(), "other stations see nothing");
    h.shutdown().await;
}

backend_tests!(
    story_one_intake_half,
    no_call_lost_while_peers_are_down,
    a_refused_dispatch_is_held_not_retried_forever,
    duplicate_calls_are_linked,
    idempotent_on_request_id_and_source_call_id,
    bad_calls_are_refused_naming_the_fields,
    other_routes_and_listing,
    ids_merged_under_the_first_schema_keep_resolving,
);
