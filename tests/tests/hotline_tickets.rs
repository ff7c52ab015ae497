//! 12345 tickets across the REAL triage, intake, grid-registry and dispatch (with the in-process
//! 12345 simulator), on SQLite and on Postgres + Redis: a bad phone is refused at the edge; an
//! address-only ticket of a demo standard address (as written, and spelt differently) is located
//! through ResolveAddress and dispatched in the right grid; an address nobody knows becomes an
//! incident that needs a location, held without a retry loop, and 12345 is told.

mod dispatch_support;
mod stories_support;

use pingan_intake::settings::IntakeSettings;
use pingan_platform::auth::Role;
use pingan_proto::common::v1::GeoPoint;
use pingan_proto::grid::v1 as gpb;
use pingan_proto::hotline::v1::ReplyKind;
use pingan_proto::intake::v1::{self as ipb, IncidentStatus, TimelineEntryKind as Kind};
use pingan_proto::triage::v1 as tpb;
use pingan_tests::{Service, TestBackend, backend_tests};
use stories_support::*;

backend_tests!(
    a_bad_phone_or_no_place_is_refused_and_nothing_is_stored,
    resolve_address_answers_exact_normalised_fuzzy_or_not_found,
    an_address_only_ticket_is_located_and_dispatched_in_its_grid,
    an_unlocatable_ticket_is_held_for_a_location_and_12345_is_told,
);

/// Loads the demo standard addresses (一标三实) through the public UpsertAddress.
async fn load_addresses(stories: &Stories) -> usize {
    let token = stories
        .cluster
        .token("admin", &[Role::Admin], &[])
        .expect("token");
    let mut grid = gpb::grid_registry_service_client::GridRegistryServiceClient::new(
        stories
            .cluster
            .channel_as(Service::GridRegistry, &token)
            .expect("channel"),
    );
    let data = dispatch_support::jurisdiction();
    let addresses = data["addresses"].as_array().expect("addresses");
    for a in addresses {
        let id = a["address_id"].as_str().expect("id");
        grid.upsert_address(gpb::UpsertAddressRequest {
            request_id: format!("load-{id}"),
            address_id: id.into(),
            grid_id: a["grid_id"].as_str().expect("grid").into(),
            full_text: a["text"].as_str().expect("text").into(),
            location: Some(GeoPoint {
                lat: a["location"][0].as_f64().expect("lat"),
                lon: a["location"][1].as_f64().expect("lon"),
            }),
            ..Default::default()
        })
        .await
        .expect("upsert address");
    }
    addresses.len()
}

async fn incidents(room: &mut Intake, request: ipb::ListIncidentsRequest) -> Vec<ipb::Incident> {
    room.list_incidents(request)
        .await
        .expect("list incidents")
        .into_inner()
        .incidents
}

/// Refused at the edge, naming the field; no transfer, no incident.
async fn a_bad_phone_or_no_place_is_refused_and_nothing_is_stored(backend: TestBackend) {
    let stories = Stories::start(backend).await;
    let mut hotline = stories.triage("hotline", &[Role::HotlineIntegrator]);
    let fight = "有人在小区门口打架，有人受伤流血了";
    let mut bad_phone = hotline_ticket("T-12-1", fight, "日喀则市桑珠孜区城南一社区13号");
    bad_phone.caller_phone = "12".into();
    let refused = hotline
        .receive_hotline_ticket(bad_phone)
        .await
        .expect_err("bad phone");
    assert_eq!(fields(&refused), ["caller_phone"]);
    let refused = hotline
        .receive_hotline_ticket(hotline_ticket("T-12-2", fight, " "))
        .await
        .expect_err("no place");
    assert_eq!(fields(&refused), ["location", "address"]);
    let transfers = hotline
        .list_transfers(tpb::ListTransfersRequest::default())
        .await
        .expect("transfers")
        .into_inner()
        .transfers;
    assert!(transfers.is_empty(), "{transfers:?}");
    let mut room = stories.command_room();
    assert!(
        incidents(&mut room, ipb::ListIncidentsRequest::default())
            .await
            .is_empty()
    );
    stories.shutdown().await;
}

/// ResolveAddress through the front door: each match kind, and NOT_FOUND for an unknown or
/// ambiguous text.
async fn resolve_address_answers_exact_normalised_fuzzy_or_not_found(backend: TestBackend) {
    let stories = Stories::start(backend).await;
    assert_eq!(load_addresses(&stories).await, 42);
    let mut grid = stories.grid();
    let resolve = |text: &str| gpb::ResolveAddressRequest {
        address: text.into(),
        ..Default::default()
    };
    let cases = [
        (
            "日喀则市桑珠孜区城南一社区13号",
            gpb::AddressMatchKind::Exact,
        ),
        (
            "西藏日喀则市 桑珠孜区城南一社区１３號",
            gpb::AddressMatchKind::Normalised,
        ),
        ("桑珠孜区城南一社区十三号", gpb::AddressMatchKind::Fuzzy),
    ];
    for (text, kind) in cases {
        let found = grid
            .resolve_address(resolve(text))
            .await
            .expect(text)
            .into_inner();
        assert_eq!(found.address_id, "a-r-116", "{text}");
        assert_eq!(found.match_kind(), kind, "{text}");
        assert_eq!(found.grid_id, GRID);
        assert_eq!(found.station_id, STATION);
        assert!(!found.grid_name.is_empty() && !found.station_name.is_empty());
        let at = found.location.expect("location");
        assert!((at.lat - 29.25683).abs() < 1e-9 && (at.lon - 88.86841).abs() < 1e-9);
    }
    for unknown in [
        "拉萨市城关区北京中路100号",
        "日喀则市桑珠孜区城南一社区14号",
    ] {
        let status = grid
            .resolve_address(resolve(unknown))
            .await
            .expect_err(unknown);
        assert_eq!(status.code(), tonic::Code::NotFound, "{unknown}");
    }
    let empty = grid.resolve_address(resolve(" ")).await.expect_err("empty");
    assert_eq!(fields(&empty), ["address"]);
    stories.shutdown().await;
}

/// An address-only ticket of a demo standard address, as written and spelt differently,
/// becomes an incident in the address's grid and is dispatched like any other.
async fn an_address_only_ticket_is_located_and_dispatched_in_its_grid(backend: TestBackend) {
    let stories = Stories::start(backend).await;
    load_addresses(&stories).await;
    let mut hotline = stories.triage("hotline", &[Role::HotlineIntegrator]);
    let mut room = stories.command_room();
    let tickets = [
        (
            "T-12-3",
            "有人在小区门口打架，有人受伤流血了",
            "日喀则市桑珠孜区城南一社区13号",
            (29.25683, 88.86841),
        ),
        // a-r-120, spelt without its city, in Chinese numerals and with spaces.
        (
            "T-12-4",
            "家里进了小偷，门锁被撬了",
            "桑珠孜区 城南一社区二十号",
            (29.2532, 88.86177),
        ),
    ];
    for (id, description, address, (lat, lon)) in tickets {
        let pushed = hotline
            .receive_hotline_ticket(hotline_ticket(id, description, address))
            .await
            .expect("receive")
            .into_inner();
        assert_eq!(
            pushed.disposition(),
            tpb::InboundDisposition::IncidentOpened,
            "{id}: {pushed:#?}"
        );
        let incident_id = pushed.transfer.expect("transfer").incident_id;
        let dispatched = wait_incident(&mut room, &incident_id, "was dispatched", |i| {
            i.status() == IncidentStatus::Dispatched
        })
        .await;
        assert_eq!(dispatched.grid_id, GRID, "{id}");
        assert_eq!(dispatched.station_id, STATION, "{id}");
        assert!(!dispatched.needs_location);
        assert!(!dispatched.dispatch_id.is_empty());
        let at = dispatched
            .location
            .expect("located from the standard address");
        assert!(
            (at.lat - lat).abs() < 1e-9 && (at.lon - lon).abs() < 1e-9,
            "{id}"
        );
        let entries = timeline(&mut room, &incident_id).await;
        assert!(
            entries.iter().any(|e| e.kind() == Kind::GridLocated
                && e.summary.contains("standard address")
                && e.related_id == GRID),
            "{id}: {entries:#?}"
        );
    }
    let held = incidents(
        &mut room,
        ipb::ListIncidentsRequest {
            needs_location: true,
            ..Default::default()
        },
    )
    .await;
    assert!(held.is_empty(), "{held:?}");
    stories.shutdown().await;
}

/// An address that is no standard address: the incident is classified and held for a
/// dispatcher (visible, listed), routing is not retried, triage delivers nothing more, and
/// 12345 hears that a precise address is needed.
async fn an_unlocatable_ticket_is_held_for_a_location_and_12345_is_told(backend: TestBackend) {
    let stories = Stories::start(backend).await;
    load_addresses(&stories).await;
    let mut hotline = stories.triage("hotline", &[Role::HotlineIntegrator]);
    let mut room = stories.command_room();
    let pushed = hotline
        .receive_hotline_ticket(hotline_ticket(
            "T-12-5",
            "有人在小区门口打架，有人受伤流血了",
            "幸福小区后面那条巷子",
        ))
        .await
        .expect("receive")
        .into_inner();
    assert_eq!(
        pushed.disposition(),
        tpb::InboundDisposition::IncidentOpened,
        "{pushed:#?}"
    );
    let transfer = pushed.transfer.expect("transfer");
    let held = wait_incident(&mut room, &transfer.incident_id, "held", |i| {
        i.needs_location
    })
    .await;
    assert_eq!(held.status(), IncidentStatus::Classified);
    assert!(held.pending_reason.contains("needs location"), "{held:#?}");
    assert!(held.dispatch_id.is_empty() && held.location.is_none());
    assert!(held.classification.is_some());
    let listed = incidents(
        &mut room,
        ipb::ListIncidentsRequest {
            needs_location: true,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].incident_id, held.incident_id);

    // 12345 is told (the ACCEPTED reply asks for a precise address).
    let simulator = simulator(&stories);
    let reply = eventually("12345 got the reply", || {
        let simulator = simulator.clone();
        async move {
            simulator
                .replies()
                .into_iter()
                .find(|r| r.ticket_id == "T-12-5")
        }
    })
    .await;
    assert_eq!(reply.kind, ReplyKind::Accepted as i32);
    assert!(reply.result.contains("地址无法定位"), "{}", reply.result);

    // Job worker rounds (and time for the courier) change nothing: no retry loop.
    let context = stories.cluster.context(Service::Intake).expect("context");
    let completer = pingan_intake::job_worker(&context, IntakeSettings::default());
    for _ in 0..3 {
        assert_eq!(completer.run_once().await.expect("round"), 0);
    }
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let after = incident(&mut room, &held.incident_id).await;
    assert_eq!(after.status(), IncidentStatus::Classified);
    assert!(after.needs_location && after.pending_reason == held.pending_reason);
    let deferrals = timeline(&mut room, &held.incident_id)
        .await
        .iter()
        .filter(|e| e.kind() == Kind::RoutingDeferred)
        .count();
    assert_eq!(deferrals, 1, "held once, not retried");
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
    assert!(
        t.outcome_note.contains("地址无法定位"),
        "{}",
        t.outcome_note
    );
    assert!(
        t.next_attempt_at.is_none(),
        "nothing left to deliver: {t:#?}"
    );
    let dead = hotline
        .list_dead_letters(tpb::ListDeadLettersRequest::default())
        .await
        .expect("dead letters")
        .into_inner()
        .dead_letters;
    assert!(dead.is_empty(), "{dead:?}");
    stories.shutdown().await;
}
