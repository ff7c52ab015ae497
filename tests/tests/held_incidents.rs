//! Incidents held for a location, across the REAL triage (with the 12345 simulator), intake,
//! grid-registry and dispatch, on SQLite and on Postgres + Redis: a dispatcher places a held
//! 12345 ticket with LocateIncident and it is dispatched in the right grid (idempotent, validated,
//! authorised, refused when nothing is held); a hold that happens later (grid-registry was down
//! while the ticket arrived) still reaches 12345, exactly once.

mod dispatch_support;
mod stories_support;

use std::collections::BTreeMap;
use std::time::Duration;

use dispatch_support::{import_units, offset, place};
use pingan_intake::settings::IntakeSettings;
use pingan_platform::auth::Role;
use pingan_platform::testing::TcpProxy;
use pingan_proto::common::v1::GeoPoint;
use pingan_proto::intake::v1::{self as ipb, IncidentStatus, TimelineEntryKind as Kind};
use pingan_proto::triage::v1 as tpb;
use pingan_tests::{ClusterOptions, Service, TestBackend, TestCluster, Topology, backend_tests};
use pingan_triage::{HotlineSimulator, TriageConfig};
use stories_support::*;

backend_tests!(
    a_dispatcher_places_a_held_ticket_and_it_is_dispatched_in_its_grid,
    placing_is_validated_authorised_and_only_for_held_incidents,
    a_later_hold_reaches_12345_exactly_once,
);

/// What 12345 is told when a ticket cannot be located (triage's courier note).
const NOTICE: &str = "地址无法定位";
const UNKNOWN_ADDRESS: &str = "幸福小区后面那条巷子";
const FIGHT: &str = "有人在小区门口打架，有人受伤流血了";

fn ticket(id: &str) -> tpb::ReceiveHotlineTicketRequest {
    hotline_ticket(id, FIGHT, UNKNOWN_ADDRESS)
}

fn place_at(request_id: &str, incident_id: &str, at: GeoPoint) -> ipb::LocateIncidentRequest {
    ipb::LocateIncidentRequest {
        request_id: request_id.into(),
        incident_id: incident_id.into(),
        location: Some(at),
        note: "回拨报警人 13700002222 确认位置".into(),
        ..Default::default()
    }
}

/// Pushes an unlocatable ticket and waits until its incident is held; the incident id.
async fn held_ticket(stories: &Stories, room: &mut Intake, ticket_id: &str) -> String {
    let mut hotline = stories.triage("hotline", &[Role::HotlineIntegrator]);
    let pushed = hotline
        .receive_hotline_ticket(ticket(ticket_id))
        .await
        .expect("receive")
        .into_inner();
    assert_eq!(
        pushed.disposition(),
        tpb::InboundDisposition::IncidentOpened,
        "{pushed:#?}"
    );
    let id = pushed.transfer.expect("transfer").incident_id;
    wait_incident(room, &id, "held", |i| i.needs_location).await;
    id
}

/// The replies 12345 got for `ticket_id` that ask for a precise address.
fn notices(simulator: &HotlineSimulator, ticket_id: &str) -> usize {
    simulator
        .replies()
        .iter()
        .filter(|r| r.ticket_id == ticket_id && r.result.contains(NOTICE))
        .count()
}

/// Waits for the first notice, then gives the courier and the event relay time to send a
/// second one (there must be none).
async fn exactly_one_notice(stories: &Stories, ticket_id: &str) {
    let simulator = simulator(stories);
    eventually("12345 was told", || {
        let simulator = simulator.clone();
        async move { (notices(&simulator, ticket_id) > 0).then_some(()) }
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(
        notices(&simulator, ticket_id),
        1,
        "{:#?}",
        simulator.replies()
    );
}

/// Held 12345 ticket → two dispatchers place it at once (one wins, the other is told it is no
/// longer held) → located in Chengnan's grid and dispatched, who placed it on the timeline; a
/// repeat of the winning request answers the same; 12345 was told once.
async fn a_dispatcher_places_a_held_ticket_and_it_is_dispatched_in_its_grid(backend: TestBackend) {
    let stories = Stories::start(backend).await;
    let mut room = stories.command_room();
    let id = held_ticket(&stories, &mut room, "T-H-1").await;
    exactly_one_notice(&stories, "T-H-1").await;

    let dispatchers = [
        stories.intake("dispatcher-7", &[Role::Dispatcher]),
        stories.intake("dispatcher-8", &[Role::Dispatcher]),
    ];
    let attempts = dispatchers.iter().enumerate().map(|(n, client)| {
        let mut client = client.clone();
        let request = place_at(&format!("place-{n}"), &id, scene());
        async move { (n, client.locate_incident(request).await) }
    });
    let results = futures::future::join_all(attempts).await;
    let mut winners = Vec::new();
    for (n, result) in results {
        match result {
            Ok(answer) => winners.push((n, answer.into_inner())),
            Err(status) => assert_eq!(status.code(), tonic::Code::FailedPrecondition, "{status:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one placement: {winners:#?}");
    let (winner, placed) = winners.remove(0);
    assert_eq!(placed.incident_id, id);
    assert_eq!(placed.status(), IncidentStatus::Dispatched, "{placed:#?}");
    assert_eq!(placed.grid_id, GRID);
    assert_eq!(placed.station_id, STATION);
    assert!(!placed.needs_location && !placed.dispatch_id.is_empty());
    assert!(!placed.assigned_unit_ids.is_empty(), "{placed:#?}");

    // A repeat (a retry after a lost answer) answers for the same incident, placing nothing.
    let mut again = dispatchers[winner].clone();
    let repeat = again
        .locate_incident(place_at(&format!("place-{winner}"), &id, scene()))
        .await
        .expect("repeat")
        .into_inner();
    assert_eq!(repeat, placed);

    let incident = incident(&mut room, &id).await;
    assert!(!incident.needs_location);
    assert_eq!(incident.dispatch_id, placed.dispatch_id);
    let at = incident.location.expect("placed");
    assert!((at.lat - scene().lat).abs() < 1e-9 && (at.lon - scene().lon).abs() < 1e-9);
    let entries = timeline(&mut room, &id).await;
    let notes: Vec<_> = entries
        .iter()
        .filter(|e| e.kind() == Kind::Note && e.summary.contains("placed by"))
        .collect();
    assert_eq!(notes.len(), 1, "placed once: {entries:#?}");
    let by = notes[0].actor.clone().expect("actor");
    assert_eq!(by.subject, format!("dispatcher-{}", 7 + winner));
    assert!(
        !notes[0].summary.contains("13700002222"),
        "{}",
        notes[0].summary
    );
    assert!(
        entries
            .iter()
            .any(|e| e.kind() == Kind::GridLocated && e.related_id == GRID),
        "{entries:#?}"
    );
    assert!(kinds(&entries).contains(&Kind::DispatchOpened));
    let held = room
        .list_incidents(ipb::ListIncidentsRequest {
            needs_location: true,
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner()
        .incidents;
    assert!(held.is_empty(), "{held:?}");
    // Placed and dispatched: 12345 heard nothing more about a location.
    assert_eq!(notices(&stories.simulator, "T-H-1"), 1);
    stories.shutdown().await;
}

/// Bad input is named; a station officer of another station and a reader are refused; an
/// unknown or a located incident cannot be placed; a standard address alone places it.
async fn placing_is_validated_authorised_and_only_for_held_incidents(backend: TestBackend) {
    let stories = Stories::start(backend).await;
    let mut room = stories.command_room();
    let id = held_ticket(&stories, &mut room, "T-H-2").await;

    let mut dispatcher = stories.intake("dispatcher-7", &[Role::Dispatcher]);
    let nowhere = ipb::LocateIncidentRequest {
        request_id: "bad-1".into(),
        incident_id: id.clone(),
        ..Default::default()
    };
    let refused = dispatcher
        .locate_incident(nowhere)
        .await
        .expect_err("no place");
    assert_eq!(fields(&refused), ["location", "address"]);
    let mut out_of_range = place_at(
        "bad-2",
        &id,
        GeoPoint {
            lat: 95.0,
            lon: 88.8,
        },
    );
    out_of_range.note = "长".repeat(501);
    let refused = dispatcher
        .locate_incident(out_of_range)
        .await
        .expect_err("out of range");
    assert_eq!(fields(&refused), ["location.lat", "note"]);
    let refused = dispatcher
        .locate_incident(place_at(" ", " ", scene()))
        .await
        .expect_err("no ids");
    assert_eq!(fields(&refused), ["request_id", "incident_id"]);

    // Another station's officer does not see it; a role that does not place is refused.
    let other = stories
        .cluster
        .token("officer-caye", &[Role::StationOfficer], &["st-caye"])
        .expect("token");
    let mut other = ipb::intake_service_client::IntakeServiceClient::new(
        stories
            .cluster
            .channel_as(Service::Intake, &other)
            .expect("channel"),
    );
    let refused = other
        .locate_incident(place_at("other-1", &id, scene()))
        .await
        .expect_err("other station");
    assert_eq!(refused.code(), tonic::Code::NotFound, "{refused:?}");
    let mut inspector = stories.intake("inspector-1", &[Role::Inspector]);
    let refused = inspector
        .locate_incident(place_at("insp-1", &id, scene()))
        .await
        .expect_err("inspector");
    assert_eq!(refused.code(), tonic::Code::PermissionDenied, "{refused:?}");
    let refused = dispatcher
        .locate_incident(place_at("ghost-1", "inc-does-not-exist", scene()))
        .await
        .expect_err("unknown");
    assert_eq!(refused.code(), tonic::Code::NotFound, "{refused:?}");

    // Still held after every refusal; placed by a standard address alone, it is dispatched
    // at that address's point in its grid.
    let still = incident(&mut room, &id).await;
    assert!(
        still.needs_location && still.location.is_none(),
        "{still:#?}"
    );
    let placed = dispatcher
        .locate_incident(ipb::LocateIncidentRequest {
            request_id: "by-address-1".into(),
            incident_id: id.clone(),
            address: "日喀则市桑珠孜区城南一社区13号".into(),
            ..Default::default()
        })
        .await
        .expect("placed by address")
        .into_inner();
    assert_eq!(placed.status(), IncidentStatus::Dispatched, "{placed:#?}");
    assert_eq!(
        (placed.grid_id.as_str(), placed.station_id.as_str()),
        (GRID, STATION)
    );
    let at = incident(&mut room, &id).await.location.expect("resolved");
    assert!((at.lat - 29.25683).abs() < 1e-9 && (at.lon - 88.86841).abs() < 1e-9);

    // A located, dispatched 110 call is not waiting for a location.
    let answer = stories
        .call_taker()
        .report_call(ipb::ReportCallRequest {
            location: Some(scene()),
            ..call_110("held-110-1", FIGHT)
        })
        .await
        .expect("report call")
        .into_inner();
    assert!(!answer.needs_location, "{answer:#?}");
    let refused = dispatcher
        .locate_incident(place_at("located-1", &answer.incident_id, scene()))
        .await
        .expect_err("not held");
    assert_eq!(
        refused.code(),
        tonic::Code::FailedPrecondition,
        "{refused:?}"
    );
    let entries = timeline(&mut room, &answer.incident_id).await;
    assert!(
        !entries.iter().any(|e| e.kind() == Kind::Note),
        "{entries:#?}"
    );
    stories.shutdown().await;
}

/// The story cluster with every service reaching grid-registry through `proxy`.
async fn stories_behind(backend: TestBackend, proxy: &TcpProxy) -> Stories {
    let clock = pingan_platform::clock::system();
    let simulator = HotlineSimulator::new(clock.clone());
    let cluster = TestCluster::start_with_options(
        backend,
        &[
            Service::Intake,
            Service::GridRegistry,
            Service::Triage,
            Service::Dispatch,
        ],
        Topology::PortPerService,
        clock,
        ClusterOptions {
            peers: BTreeMap::from([("grid-registry".to_owned(), proxy.url())]),
            triage: Some(TriageConfig {
                delivery_poll: Duration::from_millis(50),
                retry_initial: Duration::from_millis(100),
                retry_max: Duration::from_secs(1),
                call_timeout: Duration::from_secs(3),
                simulator: Some(simulator.clone()),
                ..TriageConfig::default()
            }),
        },
    )
    .await
    .expect("cluster");
    proxy.point_at(&cluster.endpoint(Service::GridRegistry).expect("grid"));
    let admin = cluster.token("admin", &[Role::Admin], &[]).expect("token");
    pingan::registry_import::import(
        cluster.channel(Service::GridRegistry).expect("channel"),
        None,
        Some(&admin),
        include_str!("../../../shared/data/jurisdiction.json"),
    )
    .await
    .expect("registry import");
    let mut command = dispatch_support::command_center(&cluster).await;
    import_units(&mut command).await;
    let scene = (scene().lat, scene().lon);
    place(
        &mut command,
        NEAREST,
        offset(scene, 200.0, 100.0),
        chrono::Utc::now(),
    )
    .await;
    Stories { cluster, simulator }
}

/// grid-registry is down when an address-only 12345 ticket arrives: intake answers at once
/// (classified, waiting for grid-registry, nothing held), 12345 hears it was accepted; back up,
/// the routing job finds the address unknown and holds it, and 12345 is told exactly once.
async fn a_later_hold_reaches_12345_exactly_once(backend: TestBackend) {
    let proxy = TcpProxy::unpointed().await.expect("proxy");
    let stories = stories_behind(backend, &proxy).await;
    let mut room = stories.command_room();
    let mut hotline = stories.triage("hotline", &[Role::HotlineIntegrator]);

    proxy.cut();
    let pushed = hotline
        .receive_hotline_ticket(ticket("T-H-3"))
        .await
        .expect("receive")
        .into_inner();
    assert_eq!(
        pushed.disposition(),
        tpb::InboundDisposition::IncidentOpened,
        "{pushed:#?}"
    );
    let transfer = pushed.transfer.expect("transfer");
    let id = transfer.incident_id.clone();
    let waiting = incident(&mut room, &id).await;
    assert!(
        !waiting.needs_location,
        "not held while grid-registry is down: {waiting:#?}"
    );
    assert!(
        waiting.pending_reason.contains("grid-registry"),
        "{waiting:#?}"
    );
    let simulator = simulator(&stories);
    eventually("12345 heard it was accepted", || {
        let simulator = simulator.clone();
        async move {
            simulator
                .replies()
                .into_iter()
                .find(|r| r.ticket_id == "T-H-3")
        }
    })
    .await;
    assert_eq!(notices(&simulator, "T-H-3"), 0, "nothing held yet");

    proxy.restore();
    let held = wait_incident(&mut room, &id, "held after grid-registry returned", |i| {
        i.needs_location
    })
    .await;
    assert_eq!(held.status(), IncidentStatus::Classified);
    exactly_one_notice(&stories, "T-H-3").await;

    // More job worker rounds change nothing: held, not retried, not told again.
    let context = stories.cluster.context(Service::Intake).expect("context");
    let completer = pingan_intake::job_worker(&context, IntakeSettings::default());
    for _ in 0..3 {
        assert_eq!(completer.run_once().await.expect("round"), 0);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        notices(&simulator, "T-H-3"),
        1,
        "{:#?}",
        simulator.replies()
    );
    let t = hotline
        .get_transfer(tpb::GetTransferRequest {
            transfer_id: transfer.transfer_id.clone(),
            ..Default::default()
        })
        .await
        .expect("transfer")
        .into_inner()
        .transfer
        .expect("transfer");
    assert_eq!(t.status, tpb::TransferStatus::Accepted as i32);
    assert!(t.outcome_note.contains(NOTICE), "{}", t.outcome_note);
    let dead = hotline
        .list_dead_letters(tpb::ListDeadLettersRequest::default())
        .await
        .expect("dead letters")
        .into_inner()
        .dead_letters;
    assert!(dead.is_empty(), "{dead:?}");
    stories.shutdown().await;
}
