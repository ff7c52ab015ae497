//! Records of station A (the demo jurisdiction's 绒乡 station) every station-scoped RPC of the
//! matrix is aimed at, made by an administrator before the matrix runs.

use std::time::Duration;

use pingan_platform::auth::Role;
use pingan_proto::audit::v1 as audit;
use pingan_proto::common::v1::{GeoPoint, Priority};
use pingan_proto::dispatch::v1 as dispatch;
use pingan_proto::events::v1::{DeliverRequest, EventEnvelope};
use pingan_proto::followup::v1 as followup;
use pingan_proto::grid::v1 as grid;
use pingan_proto::intake::v1 as intake;
use pingan_tests::{Service, TestCluster};
use prost::{Message as _, Name};

/// Station A: every fixture belongs to it.
pub const STATION_A: &str = "st-rongxiang";
/// Station B: the other station's callers.
pub const STATION_B: &str = "st-chengnan";
/// Grid of station A.
pub const GRID_A: &str = "st-rongxiang-g1";
/// Village officer assigned to `GRID_A`.
pub const OFFICER_A: &str = "st-rongxiang-o1";
/// Village officer of station B.
pub const OFFICER_B: &str = "st-chengnan-o1";
/// Patrol car of station A, assigned to the fixture dispatch.
pub const UNIT_A: &str = "u-st-rongxiang-car1";
/// Patrol car of station B.
pub const UNIT_B: &str = "u-st-chengnan-car1";
/// Drone of station A.
pub const DRONE_A: &str = "u-st-rongxiang-uav1";
/// Resident of station A (grid g6) and premises of station A (grid g1).
pub const RESIDENT_A: &str = "r-101";
pub const RESIDENT_A_ID_NUMBER: &str = "540523194701041012";
pub const PREMISES_A: &str = "p-st-rongxiang-1";
/// A point inside `GRID_A`.
pub const POINT_A: GeoPoint = GeoPoint {
    lat: 29.26,
    lon: 92.16,
};

/// Ids of station A's records.
#[derive(Debug, Clone, Default)]
pub struct Fixtures {
    pub incident_id: String,
    pub dispatch_id: String,
    pub complaint_id: String,
    pub mediation_id: String,
    pub revisit_id: String,
    pub found_item_id: String,
    pub lost_report_id: String,
    pub need_id: String,
    pub inspection_id: String,
    pub service_request_id: String,
    pub checklist_key: String,
}

fn ts(seconds_ago: i64) -> Option<prost_types::Timestamp> {
    let now = chrono::Utc::now().timestamp();
    Some(prost_types::Timestamp {
        seconds: now - seconds_ago,
        nanos: 0,
    })
}

/// A timestamp `seconds_ago` before now (for the request builders too).
pub fn ago(seconds_ago: i64) -> Option<prost_types::Timestamp> {
    ts(seconds_ago)
}

/// Loads the demo jurisdiction and makes one record of each kind in station A.
pub async fn make(cluster: &TestCluster) -> Fixtures {
    let admin = cluster
        .token("matrix-setup", &[Role::Admin], &[])
        .expect("token");
    let channel = cluster.channel(Service::GridRegistry).expect("channel");
    pingan::registry_import::import(
        channel,
        Some(cluster.channel(Service::Dispatch).expect("channel")),
        Some(&admin),
        include_str!("../../../services/grid-registry/demo/jurisdiction.json"),
    )
    .await
    .expect("demo jurisdiction");
    let as_admin = |kind| cluster.channel_as(kind, &admin).expect("channel");
    let mut fx = Fixtures::default();

    let mut intake =
        intake::intake_service_client::IntakeServiceClient::new(as_admin(Service::Intake));
    fx.incident_id = intake
        .report_call(intake::ReportCallRequest {
            request_id: "fx-call".into(),
            channel: pingan_proto::common::v1::Channel::Channel110 as i32,
            caller_phone: "13800001111".into(),
            location: Some(POINT_A),
            address: "绒村村委会".into(),
            description: "邻里纠纷，双方争吵".into(),
            received_at: ts(60),
            ..Default::default()
        })
        .await
        .expect("report call")
        .into_inner()
        .incident_id;

    let mut units =
        dispatch::dispatch_service_client::DispatchServiceClient::new(as_admin(Service::Dispatch));
    // Available to be assigned (unless the call's own dispatch took it already).
    if let Err(status) = units
        .set_unit_status(dispatch::SetUnitStatusRequest {
            request_id: "fx-available".into(),
            unit_id: UNIT_A.into(),
            status: dispatch::UnitStatus::Available as i32,
            reason: "matrix".into(),
        })
        .await
    {
        assert_eq!(status.code(), tonic::Code::FailedPrecondition, "{status:?}");
    }
    let open = dispatch::OpenDispatchRequest {
        request_id: "fx-dispatch".into(),
        incident_id: fx.incident_id.clone(),
        priority: Priority::P2 as i32,
        location: Some(POINT_A),
        category: "DISPUTE".into(),
        summary: "邻里纠纷".into(),
        station_id: STATION_A.into(),
        grid_id: GRID_A.into(),
        ..Default::default()
    };
    // The call may already have been dispatched by the intake → triage → dispatch flow.
    let opened = match units.open_dispatch(open).await {
        Ok(response) => response.into_inner().dispatch.expect("dispatch"),
        Err(status) if status.code() == tonic::Code::AlreadyExists => units
            .list_dispatches(dispatch::ListDispatchesRequest {
                incident_id: fx.incident_id.clone(),
                ..Default::default()
            })
            .await
            .expect("list dispatches")
            .into_inner()
            .dispatches
            .into_iter()
            .next()
            .expect("the incident's dispatch"),
        Err(status) => panic!("open dispatch: {status:?}"),
    };
    assert_eq!(opened.station_id, STATION_A, "dispatch of station A");
    fx.dispatch_id = opened.dispatch_id.clone();
    if !opened.assignments.iter().any(|a| a.unit_id == UNIT_A) {
        units
            .assign(dispatch::AssignRequest {
                request_id: "fx-assign".into(),
                dispatch_id: fx.dispatch_id.clone(),
                unit_id: UNIT_A.into(),
                note: String::new(),
            })
            .await
            .expect("assign");
    }

    let mut complaints = audit::complaints_audit_service_client::ComplaintsAuditServiceClient::new(
        as_admin(Service::ComplaintsAudit),
    );
    fx.complaint_id = complaints
        .file_complaint(file_complaint("fx-complaint"))
        .await
        .expect("file complaint")
        .into_inner()
        .complaint
        .expect("complaint")
        .complaint_id;

    let officer = cluster
        .token(OFFICER_A, &[Role::StationOfficer], &[STATION_A])
        .expect("token");
    let mut followup = followup::case_followup_service_client::CaseFollowupServiceClient::new(
        cluster
            .channel_as(Service::CaseFollowup, &officer)
            .expect("channel"),
    );
    fx.mediation_id = followup
        .open_mediation(open_mediation("fx-mediation", &fx.incident_id))
        .await
        .expect("open mediation")
        .into_inner()
        .mediation
        .expect("mediation")
        .mediation_id;
    fx.found_item_id = followup
        .register_found_item(found_item("fx-found"))
        .await
        .expect("found item")
        .into_inner()
        .found_item
        .expect("found item")
        .found_item_id;
    fx.lost_report_id = followup
        .register_lost_report(lost_report("fx-lost"))
        .await
        .expect("lost report")
        .into_inner()
        .lost_report
        .expect("lost report")
        .lost_report_id;
    fx.revisit_id = revisit(cluster, &fx, &mut followup).await;

    let mut registry = grid::grid_registry_service_client::GridRegistryServiceClient::new(
        as_admin(Service::GridRegistry),
    );
    fx.need_id = registry
        .record_need(record_need("fx-need"))
        .await
        .expect("need")
        .into_inner()
        .need
        .expect("need")
        .need_id;
    fx.inspection_id = registry
        .start_inspection(start_inspection("fx-inspection"))
        .await
        .expect("inspection")
        .into_inner()
        .inspection
        .expect("inspection")
        .inspection_id;
    let mut desk = grid::service_request_service_client::ServiceRequestServiceClient::new(
        as_admin(Service::GridRegistry),
    );
    let opened = desk
        .open_service_request(open_service_request("fx-service-request"))
        .await
        .expect("service request")
        .into_inner()
        .service_request
        .expect("service request");
    fx.service_request_id = opened.service_request_id;
    fx.checklist_key = opened
        .items
        .first()
        .map(|item| item.key.clone())
        .unwrap_or_default();
    fx
}

/// A revisit of station A: the dispatch closed as mediated reaches case-followup.
async fn revisit(
    cluster: &TestCluster,
    fx: &Fixtures,
    followup: &mut followup::case_followup_service_client::CaseFollowupServiceClient<
        tonic::service::interceptor::InterceptedService<
            tonic::transport::Channel,
            pingan_tests::Bearer,
        >,
    >,
) -> String {
    let closed = dispatch::DispatchClosed {
        dispatch: Some(dispatch::Dispatch {
            dispatch_id: "fx-closed-dispatch".into(),
            incident_id: fx.incident_id.clone(),
            category: "DISPUTE".into(),
            station_id: STATION_A.into(),
            grid_id: GRID_A.into(),
            disposition: dispatch::Disposition::Mediated as i32,
            summary: "邻里纠纷 调解".into(),
            closed_at: ts(3600),
            ..Default::default()
        }),
        officer_ids: vec![OFFICER_A.into()],
    };
    let event = EventEnvelope {
        event_id: "fx-dispatch-closed".into(),
        event_type: dispatch::DispatchClosed::full_name(),
        source: "dispatch".into(),
        aggregate_id: "fx-closed-dispatch".into(),
        sequence: 1,
        occurred_at: ts(3600),
        payload: Some(prost_types::Any {
            type_url: dispatch::DispatchClosed::type_url(),
            value: closed.encode_to_vec(),
        }),
        ..Default::default()
    };
    let service = cluster
        .token("dispatch", &[Role::Service], &[])
        .expect("token");
    pingan_proto::events::v1::event_sink_service_client::EventSinkServiceClient::new(
        cluster
            .channel_as(Service::CaseFollowup, &service)
            .expect("channel"),
    )
    .deliver(DeliverRequest {
        event: Some(event),
        destination: "case-followup".into(),
    })
    .await
    .expect("deliver DispatchClosed");
    for _ in 0..50 {
        let due = followup
            .list_due_revisits(followup::ListDueRevisitsRequest {
                station_id: STATION_A.into(),
                due_before: ts(-400 * 86_400),
                ..Default::default()
            })
            .await
            .expect("due revisits")
            .into_inner();
        if let Some(revisit) = due.revisits.first() {
            return revisit.revisit_id.clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no revisit scheduled for the mediated dispute");
}

pub fn file_complaint(request_id: &str) -> audit::FileComplaintRequest {
    audit::FileComplaintRequest {
        request_id: request_id.into(),
        source: audit::ComplaintSource::WalkIn as i32,
        complainant: Some(audit::Complainant {
            name: "赵六".into(),
            phone: "13700003333".into(),
            ..Default::default()
        }),
        accused: vec![audit::Accused {
            officer_id: OFFICER_A.into(),
            station_id: STATION_A.into(),
            ..Default::default()
        }],
        allegation: "出警态度恶劣".into(),
        station_id: STATION_A.into(),
        ..Default::default()
    }
}

pub fn open_mediation(request_id: &str, incident_id: &str) -> followup::OpenMediationRequest {
    followup::OpenMediationRequest {
        request_id: request_id.into(),
        incident_id: incident_id.into(),
        parties: vec![
            followup::Party {
                name: "张先生".into(),
                role: followup::PartyRole::Caller as i32,
                phone: "13512345678".into(),
                ..Default::default()
            },
            followup::Party {
                name: "李女士".into(),
                role: followup::PartyRole::OtherParty as i32,
                ..Default::default()
            },
        ],
        summary: "装修噪音纠纷".into(),
        mediator_officer_id: OFFICER_A.into(),
        station_id: STATION_A.into(),
        grid_id: GRID_A.into(),
        ..Default::default()
    }
}

pub fn found_item(request_id: &str) -> followup::RegisterFoundItemRequest {
    followup::RegisterFoundItemRequest {
        request_id: request_id.into(),
        kind: followup::ItemKind::Wallet as i32,
        description: "黑色钱包".into(),
        custody: Some(followup::Custody {
            station_id: STATION_A.into(),
            officer_id: OFFICER_A.into(),
            storage_place: "值班室".into(),
        }),
        ..Default::default()
    }
}

pub fn lost_report(request_id: &str) -> followup::RegisterLostReportRequest {
    followup::RegisterLostReportRequest {
        request_id: request_id.into(),
        kind: followup::ItemKind::Wallet as i32,
        description: "黑色钱包".into(),
        owner_name: "王五".into(),
        owner_phone: "13900002222".into(),
        lost_during: Some(pingan_proto::common::v1::TimeRange {
            start: ts(86_400),
            end: ts(3600),
        }),
        station_id: STATION_A.into(),
        ..Default::default()
    }
}

pub fn record_need(request_id: &str) -> grid::RecordNeedRequest {
    grid::RecordNeedRequest {
        request_id: request_id.into(),
        resident_id: RESIDENT_A.into(),
        category: grid::NeedCategory::DailyLiving as i32,
        description: "需要代购药品".into(),
        ..Default::default()
    }
}

pub fn start_inspection(request_id: &str) -> grid::StartInspectionRequest {
    grid::StartInspectionRequest {
        request_id: request_id.into(),
        premises_id: PREMISES_A.into(),
        template_id: "LOGISTICS_SAFETY".into(),
        ..Default::default()
    }
}

pub fn open_service_request(request_id: &str) -> grid::OpenServiceRequestRequest {
    grid::OpenServiceRequestRequest {
        request_id: request_id.into(),
        station_id: STATION_A.into(),
        resident_id: RESIDENT_A.into(),
        channel: grid::ServiceRequestChannel::Phone as i32,
        r#type: grid::ServiceRequestType::NoCriminalRecordCertificate as i32,
        description: "开具无犯罪记录证明".into(),
        requested_at: ts(60),
        ..Default::default()
    }
}
