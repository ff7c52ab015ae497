//! Seed stories 2 and 5 end to end through gRPC with the real services together, on both
//! backends, on a ManualClock: a found ID card goes back to its owner found in the real
//! grid-registry; a dispute call is dispatched, mediated, closed, revisited and followed up.
//! Events flow through the outbox relays; effects are awaited by polling the reading RPC.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod dispatch_support;
mod stories_support;

use std::sync::Arc;
use std::time::Duration;

use pingan_platform::auth::Role;
use pingan_platform::clock::{Clock as _, ManualClock};
use pingan_proto::common::v1::{Channel as CallChannel, TimeRange};
use pingan_proto::dispatch::v1::{CloseDispatchRequest, Disposition};
use pingan_proto::followup::v1::case_followup_service_client::CaseFollowupServiceClient;
use pingan_proto::followup::v1::*;
use pingan_proto::intake::v1::intake_service_client::IntakeServiceClient;
use pingan_proto::intake::v1::{
    GetIncidentRequest, GetIncidentTimelineRequest, Incident, IncidentStatus, ReportCallRequest,
    TimelineEntryKind,
};
use pingan_tests::{Service, TestBackend, TestCluster, Topology, backend_tests};
use stories_support::{channel, eventually};

const STATION: &str = "st-chengnan";
/// Resident r-111 of the demo jurisdiction (grid st-chengnan-g4, village officer st-chengnan-o2).
const OWNER_ID: &str = "540202195101241113";
const OWNER_PHONE: &str = "13992813952";

fn ts(at: chrono::DateTime<chrono::Utc>) -> prost_types::Timestamp {
    dispatch_support::ts(at)
}

/// Story 2: an officer registers a found ID card; its owner is found in the real grid-registry
/// (the demo jurisdiction), contacted within 10 minutes and the card handed back; the statistics
/// report the time to contact.
async fn story2_found_id_card_goes_back_through_the_real_registry(backend: TestBackend) {
    let clock = ManualClock::new(chrono::Utc::now());
    let cluster = TestCluster::start_with_clock(
        backend,
        &[Service::GridRegistry, Service::CaseFollowup],
        Topology::PortPerService,
        Arc::new(clock.clone()),
    )
    .await
    .expect("cluster");
    stories_support::import_jurisdiction(&cluster).await;
    let mut officer = CaseFollowupServiceClient::new(channel(
        &cluster,
        Service::CaseFollowup,
        "st-chengnan-o1",
        &[Role::StationOfficer],
        &[STATION],
    ));
    let started = clock.now();
    let registered = officer
        .register_found_item(RegisterFoundItemRequest {
            request_id: "found-1".into(),
            kind: ItemKind::IdCard as i32,
            description: "居民身份证，在公交站台拾获".into(),
            finder: "st-chengnan-o1".into(),
            custody: Some(Custody {
                station_id: STATION.into(),
                officer_id: "st-chengnan-o1".into(),
                storage_place: "值班室保管柜 3".into(),
            }),
            name_on_item: "央金芳".into(),
            id_number: OWNER_ID.into(),
            ..Default::default()
        })
        .await
        .expect("register found item")
        .into_inner();
    let item = registered.found_item.expect("item");
    assert_eq!(
        item.registry_lookup,
        RegistryLookup::Found as i32,
        "owner found in the real registry"
    );
    assert_eq!(item.status, FoundItemStatus::OwnerIdentified as i32);
    assert_eq!(item.id_number_masked, "540202********1113");
    let owner = item.owner.clone().expect("owner");
    assert_eq!(owner.source, OwnerSource::Registry as i32);
    assert_eq!(owner.resident_id, "r-111");
    assert_eq!(owner.name, "央金芳");
    assert_eq!(owner.grid_id, "st-chengnan-g4");
    assert_eq!(owner.village_officer_id, "st-chengnan-o2");
    assert_eq!(owner.phone_masked, "139****3952");
    assert_eq!(owner.phone, OWNER_PHONE, "the station officer may call the owner");
    let task = item.contact_task.clone().expect("contact task");
    assert_eq!(task.status, ContactTaskStatus::Open as i32);
    assert_eq!(
        task.due_at.expect("due").seconds - task.created_at.expect("created").seconds,
        600
    );

    clock.advance(Duration::from_secs(6 * 60));
    let contacted = officer
        .mark_owner_contacted(MarkOwnerContactedRequest {
            request_id: "contact-1".into(),
            found_item_id: item.found_item_id.clone(),
            method: ContactMethod::Phone as i32,
            notes: "下午到派出所领取".into(),
            ..Default::default()
        })
        .await
        .expect("contacted")
        .into_inner()
        .found_item
        .expect("item");
    assert_eq!(contacted.status, FoundItemStatus::OwnerContacted as i32);
    let task = contacted.contact_task.expect("task");
    assert_eq!(task.status, ContactTaskStatus::Done as i32);
    assert_eq!(task.time_to_contact.expect("time to contact").seconds, 360);
    assert!(!task.overdue);

    clock.advance(Duration::from_secs(3 * 3600));
    let returned = officer
        .mark_returned(MarkReturnedRequest {
            request_id: "return-1".into(),
            found_item_id: item.found_item_id.clone(),
            recipient_name: "央金芳".into(),
            recipient_is_owner: true,
            recipient_id_number: OWNER_ID.into(),
            identity_check: IdentityCheck::PhotoMatch as i32,
            ..Default::default()
        })
        .await
        .expect("returned")
        .into_inner()
        .found_item
        .expect("item");
    assert_eq!(returned.status, FoundItemStatus::Returned as i32);

    let stats = officer
        .followup_stats(FollowupStatsRequest {
            range: Some(TimeRange {
                start: Some(ts(started - chrono::Duration::hours(1))),
                end: Some(ts(clock.now() + chrono::Duration::hours(1))),
            }),
            ..Default::default()
        })
        .await
        .expect("stats")
        .into_inner();
    let lf = stats
        .totals
        .expect("totals")
        .lost_and_found
        .expect("lost and found");
    assert_eq!(
        (
            lf.id_cards,
            lf.owners_identified,
            lf.contacted_within_target,
            lf.returned
        ),
        (1, 1, 1, 1)
    );
    assert_eq!(lf.time_to_contact_median.expect("median").seconds, 360);
    assert_eq!(lf.contact_target.expect("target").seconds, 600);
    cluster.shutdown().await.expect("shutdown");
}

backend_tests!(story2_found_id_card_goes_back_through_the_real_registry);
