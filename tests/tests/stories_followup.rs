//! Seed stories 2 and 5 end to end through gRPC with the real services together, on both
//! backends, on a ManualClock: a found ID card goes back to its owner found in the real
//! grid-registry; a dispute call is dispatched, mediated, closed, revisited and followed up.
//! Events flow through the outbox relays; effects are awaited by polling the reading RPC.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod dispatch_support;
mod followup_support;

use std::sync::Arc;
use std::time::Duration;

use followup_support::{channel, eventually_ticking};
use pingan_platform::auth::Role;
use pingan_platform::clock::{Clock as _, ManualClock};
use pingan_proto::common::v1::{Channel as CallChannel, TimeRange};
use pingan_proto::dispatch::v1::{
    AcknowledgeRequest, AssignRequest, CloseDispatchRequest, Disposition, FindNearestUnitsRequest,
    MarkEnRouteRequest, MarkOnSceneRequest,
};
use pingan_proto::followup::v1::case_followup_service_client::CaseFollowupServiceClient;
use pingan_proto::followup::v1::*;
use pingan_proto::intake::v1::intake_service_client::IntakeServiceClient;
use pingan_proto::intake::v1::{
    GetIncidentRequest, GetIncidentTimelineRequest, Incident, IncidentStatus, ReportCallRequest,
    TimelineEntryKind,
};
use pingan_tests::{Service, TestBackend, TestCluster, Topology, backend_tests};

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
    followup_support::import_jurisdiction(&cluster).await;
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
    assert_eq!(
        owner.phone, OWNER_PHONE,
        "the station officer may call the owner"
    );
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

async fn incident(intake: &IntakeClient, incident_id: &str) -> Incident {
    intake
        .clone()
        .get_incident(GetIncidentRequest {
            incident_id: incident_id.into(),
            ..Default::default()
        })
        .await
        .expect("get incident")
        .into_inner()
        .incident
        .expect("incident")
}

type IntakeClient = IntakeServiceClient<followup_support::Authed>;

/// Story 5: a neighbours' dispute is called in to 110, dispatched, mediated on scene and closed
/// as mediated; case-followup schedules a revisit from the close, the officer revisits when it
/// falls due (ManualClock), and intake's incident ends FOLLOWED_UP with mediation and revisit
/// on its timeline.
async fn story5_dispute_is_mediated_revisited_and_followed_up(backend: TestBackend) {
    let clock = ManualClock::new(chrono::Utc::now());
    let cluster = TestCluster::start_with_clock(
        backend,
        &[
            Service::Intake,
            Service::GridRegistry,
            Service::Triage,
            Service::Dispatch,
            Service::CaseFollowup,
        ],
        Topology::PortPerService,
        Arc::new(clock.clone()),
    )
    .await
    .expect("cluster");
    followup_support::import_jurisdiction(&cluster).await;
    let mut dispatcher = dispatch_support::command_center(&cluster).await;
    dispatch_support::import_units(&mut dispatcher).await;

    // The call: a quarrel between neighbours in the station's area.
    let intake: IntakeClient = IntakeServiceClient::new(channel(
        &cluster,
        Service::Intake,
        "dispatcher-1",
        &[Role::CommandCenter, Role::Dispatcher],
        &[],
    ));
    let at = dispatch_support::offset(dispatch_support::origin(STATION), 400.0, 300.0);
    // A patrol officer of the station is 300 m away; the others report no position.
    dispatch_support::place(
        &mut dispatcher,
        "u-st-chengnan-o3",
        dispatch_support::offset(dispatch_support::origin(STATION), 100.0, 300.0),
        clock.now(),
    )
    .await;
    let reported = intake
        .clone()
        .report_call(ReportCallRequest {
            request_id: "call-dispute-1".into(),
            channel: CallChannel::Channel110 as i32,
            source_call_id: "110-dispute-1".into(),
            caller_phone: "13512345678".into(),
            caller_name: "张先生".into(),
            location: Some(at),
            address: "城南路 88 号 3 单元".into(),
            description: "楼上邻居装修噪音太大，去找他理论，双方吵得很凶".into(),
            ..Default::default()
        })
        .await
        .expect("report call")
        .into_inner();
    let incident_id = reported.incident_id.clone();
    let dispatched = eventually_ticking(&clock, "the dispute is dispatched", || {
        let intake = intake.clone();
        let incident_id = incident_id.clone();
        async move {
            let i = incident(&intake, &incident_id).await;
            (!i.dispatch_id.is_empty()).then_some(i)
        }
    })
    .await;
    assert_eq!(dispatched.station_id, STATION);
    assert_eq!(
        dispatched
            .classification
            .as_ref()
            .map(|c| c.category.as_str()),
        Some("DISPUTE")
    );

    // A P3 dispute waits for the dispatcher, who sends the nearest officer able to mediate.
    let nearest = dispatcher
        .find_nearest_units(FindNearestUnitsRequest {
            location: Some(at),
            radius_m: 5_000.0,
            capabilities: vec!["mediation".into()],
            only_available: true,
            ..Default::default()
        })
        .await
        .expect("nearest units")
        .into_inner()
        .units;
    let unit_id = nearest.first().expect("a unit nearby").unit_id.clone();
    assert_eq!(unit_id, "u-st-chengnan-o3");
    dispatcher
        .assign(AssignRequest {
            request_id: "assign-1".into(),
            dispatch_id: dispatched.dispatch_id.clone(),
            unit_id: unit_id.clone(),
            ..Default::default()
        })
        .await
        .expect("assign");
    // The unit sent goes on scene.
    let unit_officer = dispatch_support::jurisdiction()["units"]
        .as_array()
        .expect("units")
        .iter()
        .find(|u| u["unit_id"] == unit_id.as_str())
        .and_then(|u| u["officer_id"].as_str().map(str::to_owned))
        .unwrap_or_default();
    let dispatch_id = dispatched.dispatch_id.clone();
    dispatcher
        .acknowledge(AcknowledgeRequest {
            request_id: "ack-1".into(),
            dispatch_id: dispatch_id.clone(),
            unit_id: unit_id.clone(),
            ..Default::default()
        })
        .await
        .expect("acknowledge");
    dispatcher
        .mark_en_route(MarkEnRouteRequest {
            request_id: "enroute-1".into(),
            dispatch_id: dispatch_id.clone(),
            unit_id: unit_id.clone(),
            ..Default::default()
        })
        .await
        .expect("en route");
    clock.advance(Duration::from_secs(4 * 60));
    dispatcher
        .mark_on_scene(MarkOnSceneRequest {
            request_id: "onscene-1".into(),
            dispatch_id: dispatch_id.clone(),
            unit_id: unit_id.clone(),
            ..Default::default()
        })
        .await
        .expect("on scene");

    // The officer mediates on scene.
    let officer = CaseFollowupServiceClient::new(channel(
        &cluster,
        Service::CaseFollowup,
        "st-chengnan-o1",
        &[Role::StationOfficer],
        &[STATION],
    ));
    let mediation = officer
        .clone()
        .open_mediation(OpenMediationRequest {
            request_id: "med-1".into(),
            incident_id: incident_id.clone(),
            parties: vec![
                Party {
                    name: "张先生".into(),
                    role: PartyRole::Caller as i32,
                    phone: "13512345678".into(),
                    position: "要求晚上停止装修".into(),
                    ..Default::default()
                },
                Party {
                    name: "李女士".into(),
                    role: PartyRole::OtherParty as i32,
                    phone: "13698765432".into(),
                    position: "工期紧，只在白天施工".into(),
                    ..Default::default()
                },
            ],
            summary: "楼上装修噪音纠纷".into(),
            mediator_officer_id: "st-chengnan-o1".into(),
            place: "城南路 88 号楼下".into(),
            station_id: STATION.into(),
            grid_id: dispatched.grid_id.clone(),
            ..Default::default()
        })
        .await
        .expect("open mediation")
        .into_inner()
        .mediation
        .expect("mediation");
    officer
        .clone()
        .record_mediation_outcome(RecordMediationOutcomeRequest {
            request_id: "med-1-outcome".into(),
            mediation_id: mediation.mediation_id.clone(),
            resolved: true,
            agreement_text: "晚八点后不施工，噪音大的工序白天完成".into(),
            agreement_signed: true,
            next_step: MediationNextStep::None as i32,
            ..Default::default()
        })
        .await
        .expect("mediation outcome");
    dispatcher
        .close_dispatch(CloseDispatchRequest {
            request_id: "close-dispute-1".into(),
            dispatch_id: dispatched.dispatch_id.clone(),
            disposition: Disposition::Mediated as i32,
            narrative: "现场调解，双方达成协议".into(),
            clear_active_units: true,
        })
        .await
        .expect("close dispatch");

    // DispatchClosed reaches case-followup: a revisit is scheduled; it falls due 3 days later.
    let revisit = eventually_ticking(&clock, "a revisit scheduled for the incident", || {
        let mut officer = officer.clone();
        let incident_id = incident_id.clone();
        async move {
            officer
                .list_due_revisits(ListDueRevisitsRequest {
                    station_id: STATION.into(),
                    ..Default::default()
                })
                .await
                .expect("due revisits")
                .into_inner()
                .revisits
                .into_iter()
                .find(|r| r.incident_id == incident_id)
        }
    })
    .await;
    assert_eq!(revisit.reason, RevisitReason::Dispute as i32);
    assert_eq!(revisit.mediation_id, mediation.mediation_id);
    assert_eq!(revisit.contact_name, "张先生");
    assert_eq!(revisit.contact_phone_masked, "135****5678");
    assert_eq!(revisit.grid_id, dispatched.grid_id);
    assert!(!unit_officer.is_empty(), "unit {unit_id} has an officer");
    assert_eq!(
        revisit.assigned_officer_id, unit_officer,
        "the revisit goes to the officer who attended"
    );
    let due_now = |officer: &CaseFollowupServiceClient<followup_support::Authed>| {
        let mut officer = officer.clone();
        let now = clock.now();
        async move {
            officer
                .list_due_revisits(ListDueRevisitsRequest {
                    station_id: STATION.into(),
                    due_before: Some(ts(now)),
                    ..Default::default()
                })
                .await
                .expect("due revisits")
                .into_inner()
                .revisits
        }
    };
    assert!(due_now(&officer).await.is_empty(), "not due yet");
    clock.advance(Duration::from_secs(73 * 3600));
    let due = due_now(&officer).await;
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].revisit_id, revisit.revisit_id);
    let done = officer
        .clone()
        .record_revisit(RecordRevisitRequest {
            request_id: "revisit-1".into(),
            revisit_id: revisit.revisit_id.clone(),
            contacted: true,
            method: ContactMethod::Phone as i32,
            issue_resolved: true,
            satisfaction: 5,
            notes: "装修已按协议进行，双方无新矛盾".into(),
            ..Default::default()
        })
        .await
        .expect("record revisit")
        .into_inner()
        .revisit
        .expect("revisit");
    assert_eq!(done.status, RevisitStatus::Completed as i32);

    // RevisitCompleted reaches intake: FOLLOWED_UP, with mediation and revisit on the timeline.
    eventually_ticking(&clock, "the incident is followed up", || {
        let intake = intake.clone();
        let incident_id = incident_id.clone();
        async move {
            (incident(&intake, &incident_id).await.status == IncidentStatus::FollowedUp as i32)
                .then_some(())
        }
    })
    .await;
    let timeline = intake
        .clone()
        .get_incident_timeline(GetIncidentTimelineRequest {
            incident_id: incident_id.clone(),
        })
        .await
        .expect("timeline")
        .into_inner()
        .entries;
    let kinds: Vec<TimelineEntryKind> = timeline.iter().map(|e| e.kind()).collect();
    for wanted in [
        TimelineEntryKind::DispatchOpened,
        TimelineEntryKind::DispatchClosed,
        TimelineEntryKind::Mediation,
        TimelineEntryKind::Revisit,
    ] {
        assert!(kinds.contains(&wanted), "{wanted:?} missing from {kinds:?}");
    }
    let mediations = kinds
        .iter()
        .filter(|k| **k == TimelineEntryKind::Mediation)
        .count();
    assert_eq!(mediations, 2, "opened and concluded: {kinds:?}");
    cluster.shutdown().await.expect("shutdown");
}

backend_tests!(story2_found_id_card_goes_back_through_the_real_registry);
backend_tests!(story5_dispute_is_mediated_revisited_and_followed_up);
