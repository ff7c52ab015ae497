//! One valid request per RPC, aimed at station A's fixtures (so a station check has something
//! to refuse, and a handler that validates before it authorizes gets past validation). `tag`
//! makes every request id unique: no call is answered from another call's stored response.

use pingan_proto::audit::v1 as audit;
use pingan_proto::common::v1::{Channel, TimeRange};
use pingan_proto::dispatch::v1 as dispatch;
use pingan_proto::events::v1 as events;
use pingan_proto::intake::v1 as intake;
use pingan_proto::triage::v1 as triage;
use prost::Message;

use super::fixtures::{self, DRONE_A, Fixtures, GRID_A, POINT_A, STATION_A, UNIT_A, ago};
use super::requests_grid;

/// The last week.
pub fn week() -> Option<TimeRange> {
    Some(TimeRange {
        start: ago(7 * 86_400),
        end: ago(0),
    })
}

/// The encoded request for `method` of `service`.
pub fn request(service: &str, method: &str, fx: &Fixtures, tag: &str) -> Vec<u8> {
    let id = format!("matrix-{tag}");
    let id = id.as_str();
    match service.rsplit('.').next().unwrap_or_default() {
        "IntakeService" | "IncidentExchangeService" | "IncidentAnalysisService" => {
            intake_request(method, fx, id)
        }
        "TriageService" | "TriageAnalysisService" => triage_request(method, fx, id),
        "DispatchService" | "DispatchAnalysisService" => dispatch_request(method, fx, id),
        "EventSinkService" | "EventAdminService" => events_request(method, id),
        "ComplaintsAuditService" => audit_request(method, fx, id),
        _ => requests_grid::request(method, fx, id),
    }
}

fn intake_request(method: &str, fx: &Fixtures, id: &str) -> Vec<u8> {
    let incident_id = fx.incident_id.clone();
    let scope = Some(intake::IncidentScope {
        period: week(),
        station_id: STATION_A.into(),
        ..Default::default()
    });
    match method {
        "ReportCall" => intake::ReportCallRequest {
            request_id: id.into(),
            channel: Channel::Channel110 as i32,
            caller_phone: "13800002222".into(),
            location: Some(POINT_A),
            description: "有人打架".into(),
            received_at: ago(30),
            ..Default::default()
        }
        .encode_to_vec(),
        "GetIncident" => intake::GetIncidentRequest {
            incident_id,
            ..Default::default()
        }
        .encode_to_vec(),
        "ListIncidents" => intake::ListIncidentsRequest {
            station_id: STATION_A.into(),
            ..Default::default()
        }
        .encode_to_vec(),
        "GetIncidentTimeline" => intake::GetIncidentTimelineRequest { incident_id }.encode_to_vec(),
        "LocateIncident" => intake::LocateIncidentRequest {
            request_id: id.into(),
            incident_id,
            location: Some(POINT_A),
            note: "matrix".into(),
            ..Default::default()
        }
        .encode_to_vec(),
        "ExportIncident" => intake::ExportIncidentRequest {
            incident_id,
            ..Default::default()
        }
        .encode_to_vec(),
        "ImportIncident" => intake::ImportIncidentRequest {
            request_id: id.into(),
            document: "{}".into(),
        }
        .encode_to_vec(),
        "IncidentStats" => intake::IncidentStatsRequest { scope }.encode_to_vec(),
        "Hotspots" => intake::HotspotsRequest {
            scope,
            area: intake::HotspotArea::Grid as i32,
            limit: 5,
        }
        .encode_to_vec(),
        other => panic!("no request for intake {other}"),
    }
}

fn triage_request(method: &str, fx: &Fixtures, id: &str) -> Vec<u8> {
    match method {
        "Classify" => triage::ClassifyRequest {
            text: "有人落水".into(),
            channel: Channel::Channel110 as i32,
            ..Default::default()
        }
        .encode_to_vec(),
        "DivertTo12345" => triage::DivertTo12345Request {
            request_id: id.into(),
            incident_id: fx.incident_id.clone(),
            classification: Some(triage::Classification {
                kind: triage::Kind::NonPolice as i32,
                category: "MUNICIPAL".into(),
                department: "城管".into(),
                ..Default::default()
            }),
            department: "城管".into(),
            description: "路灯不亮".into(),
            received_at: ago(60),
            ..Default::default()
        }
        .encode_to_vec(),
        "ReceiveHotlineTicket" => triage::ReceiveHotlineTicketRequest {
            request_id: id.into(),
            hotline_ticket_id: format!("HL-{id}"),
            description: "有人在河边游泳，危险".into(),
            received_at: ago(60),
            ..Default::default()
        }
        .encode_to_vec(),
        "GetTransfer" => triage::GetTransferRequest {
            transfer_id: "TR-none".into(),
            ..Default::default()
        }
        .encode_to_vec(),
        "ListTransfers" => triage::ListTransfersRequest::default().encode_to_vec(),
        "RecordTransferOutcome" => triage::RecordTransferOutcomeRequest {
            request_id: id.into(),
            transfer_id: "TR-none".into(),
            status: triage::TransferStatus::Accepted as i32,
            occurred_at: ago(10),
            ..Default::default()
        }
        .encode_to_vec(),
        "ListOverdueTransfers" => triage::ListOverdueTransfersRequest::default().encode_to_vec(),
        "ListDeadLetters" => triage::ListDeadLettersRequest::default().encode_to_vec(),
        "ReloadRules" => triage::ReloadRulesRequest {
            request_id: id.into(),
        }
        .encode_to_vec(),
        "ListCategories" => triage::ListCategoriesRequest::default().encode_to_vec(),
        "ExchangeReport" => triage::ExchangeReportRequest {
            period: week(),
            ..Default::default()
        }
        .encode_to_vec(),
        other => panic!("no request for triage {other}"),
    }
}

fn dispatch_request(method: &str, fx: &Fixtures, id: &str) -> Vec<u8> {
    let dispatch_id = fx.dispatch_id.clone();
    let position = |unit: &str| dispatch::UpdatePositionRequest {
        unit_id: unit.into(),
        location: Some(POINT_A),
        at: ago(1),
        accuracy_m: 10.0,
        ..Default::default()
    };
    match method {
        "RegisterUnit" => dispatch::RegisterUnitRequest {
            request_id: id.into(),
            unit_id: format!("u-{id}"),
            kind: dispatch::UnitKind::Officer as i32,
            callsign: "MATRIX".into(),
            station_id: STATION_A.into(),
            ..Default::default()
        }
        .encode_to_vec(),
        "SetUnitStatus" => dispatch::SetUnitStatusRequest {
            request_id: id.into(),
            unit_id: DRONE_A.into(),
            status: dispatch::UnitStatus::Busy as i32,
            reason: "matrix".into(),
        }
        .encode_to_vec(),
        "ListUnits" => dispatch::ListUnitsRequest {
            station_id: STATION_A.into(),
            ..Default::default()
        }
        .encode_to_vec(),
        "ReportPositions" => {
            let p = position(UNIT_A);
            dispatch::ReportPositionsRequest {
                unit_id: p.unit_id,
                location: p.location,
                at: p.at,
                accuracy_m: p.accuracy_m,
                ..Default::default()
            }
            .encode_to_vec()
        }
        "UpdatePosition" => position(UNIT_A).encode_to_vec(),
        "FindNearestUnits" => dispatch::FindNearestUnitsRequest {
            location: Some(POINT_A),
            radius_m: 50_000.0,
            station_id: STATION_A.into(),
            limit: 5,
            ..Default::default()
        }
        .encode_to_vec(),
        "OpenDispatch" => dispatch::OpenDispatchRequest {
            request_id: id.into(),
            incident_id: format!("INC-{id}"),
            priority: pingan_proto::common::v1::Priority::P3 as i32,
            location: Some(POINT_A),
            category: "DISPUTE".into(),
            station_id: STATION_A.into(),
            grid_id: GRID_A.into(),
            ..Default::default()
        }
        .encode_to_vec(),
        "Assign" => dispatch::AssignRequest {
            request_id: id.into(),
            dispatch_id,
            unit_id: UNIT_A.into(),
            note: String::new(),
        }
        .encode_to_vec(),
        "Acknowledge" => dispatch::AcknowledgeRequest {
            request_id: id.into(),
            dispatch_id,
            unit_id: UNIT_A.into(),
            note: String::new(),
        }
        .encode_to_vec(),
        "MarkEnRoute" => dispatch::MarkEnRouteRequest {
            request_id: id.into(),
            dispatch_id,
            unit_id: UNIT_A.into(),
            ..Default::default()
        }
        .encode_to_vec(),
        "MarkOnScene" => dispatch::MarkOnSceneRequest {
            request_id: id.into(),
            dispatch_id,
            unit_id: UNIT_A.into(),
            ..Default::default()
        }
        .encode_to_vec(),
        "ClearUnit" => dispatch::ClearUnitRequest {
            request_id: id.into(),
            dispatch_id,
            unit_id: UNIT_A.into(),
            ..Default::default()
        }
        .encode_to_vec(),
        "CloseDispatch" => dispatch::CloseDispatchRequest {
            request_id: id.into(),
            dispatch_id,
            disposition: dispatch::Disposition::Mediated as i32,
            narrative: "matrix".into(),
            clear_active_units: true,
        }
        .encode_to_vec(),
        "WatchBoard" => dispatch::WatchBoardRequest {
            station_ids: vec![STATION_A.into()],
            ..Default::default()
        }
        .encode_to_vec(),
        "GetDispatch" => dispatch::GetDispatchRequest { dispatch_id }.encode_to_vec(),
        "ListDispatches" => dispatch::ListDispatchesRequest {
            station_id: STATION_A.into(),
            ..Default::default()
        }
        .encode_to_vec(),
        "GetDispatchTimeline" => dispatch::GetDispatchTimelineRequest {
            dispatch_id,
            ..Default::default()
        }
        .encode_to_vec(),
        "LogFlight" => dispatch::LogFlightRequest {
            request_id: id.into(),
            unit_id: DRONE_A.into(),
            started_at: ago(3600),
            ended_at: ago(3000),
            distance_m: 1200.0,
            purpose: "巡查".into(),
            ..Default::default()
        }
        .encode_to_vec(),
        "DroneStats" => dispatch::DroneStatsRequest {
            period: week(),
            station_id: STATION_A.into(),
            ..Default::default()
        }
        .encode_to_vec(),
        "ResponseTimeReport" => dispatch::ResponseTimeReportRequest {
            period: week(),
            station_id: STATION_A.into(),
            ..Default::default()
        }
        .encode_to_vec(),
        other => panic!("no request for dispatch {other}"),
    }
}

fn events_request(method: &str, id: &str) -> Vec<u8> {
    match method {
        "Deliver" => events::DeliverRequest {
            event: None,
            destination: "matrix".into(),
        }
        .encode_to_vec(),
        "DeliverBatch" => events::DeliverBatchRequest {
            destination: "matrix".into(),
            events: Vec::new(),
        }
        .encode_to_vec(),
        "ListDeadLetters" => events::ListDeadLettersRequest::default().encode_to_vec(),
        "RedriveDeadLetters" => events::RedriveDeadLettersRequest {
            request_id: id.into(),
            ..Default::default()
        }
        .encode_to_vec(),
        "GetOutboxStats" => events::GetOutboxStatsRequest::default().encode_to_vec(),
        other => panic!("no request for events {other}"),
    }
}

fn audit_request(method: &str, fx: &Fixtures, id: &str) -> Vec<u8> {
    let complaint_id = fx.complaint_id.clone();
    match method {
        "FileComplaint" => fixtures::file_complaint(id).encode_to_vec(),
        "AssignInvestigator" => audit::AssignInvestigatorRequest {
            request_id: id.into(),
            complaint_id,
            investigator_id: "insp-1".into(),
            stage: audit::InvestigationStage::PreliminaryCheck as i32,
            ..Default::default()
        }
        .encode_to_vec(),
        "AddEvidence" => audit::AddEvidenceRequest {
            request_id: id.into(),
            complaint_id,
            kind: audit::EvidenceKind::Statement as i32,
            content: "陈述".as_bytes().to_vec(),
            content_type: "text/plain; charset=utf-8".into(),
            statement_by: "赵六".into(),
            ..Default::default()
        }
        .encode_to_vec(),
        "RecordFinding" => audit::RecordFindingRequest {
            request_id: id.into(),
            complaint_id,
            step: audit::FindingStep::Propose as i32,
            finding: audit::Finding::Unfounded as i32,
            reasoning: "执法记录仪显示民警依法处置".into(),
            reply_text: "经调查，投诉不实。".into(),
            ..Default::default()
        }
        .encode_to_vec(),
        "GetComplaint" => audit::GetComplaintRequest {
            complaint_id,
            reason: "matrix review".into(),
            ..Default::default()
        }
        .encode_to_vec(),
        "ListComplaints" => audit::ListComplaintsRequest {
            station_id: STATION_A.into(),
            reason: "matrix review".into(),
            ..Default::default()
        }
        .encode_to_vec(),
        "ListEarlyWarnings" => audit::ListEarlyWarningsRequest {
            range: week(),
            threshold: 1,
            station_id: STATION_A.into(),
            ..Default::default()
        }
        .encode_to_vec(),
        "RecordAudit" => audit::RecordAuditRequest {
            request_id: id.into(),
            record: Some(audit::AuditRecord {
                actor: Some(pingan_proto::common::v1::Actor {
                    subject: "matrix".into(),
                    role: "admin".into(),
                    display_name: String::new(),
                }),
                action: "matrix.Check".into(),
                resource_type: "matrix".into(),
                resource_id: id.into(),
                occurred_at: ago(1),
                source_service: "matrix".into(),
                outcome: audit::AuditOutcome::Success as i32,
                ..Default::default()
            }),
        }
        .encode_to_vec(),
        "QueryAudit" => audit::QueryAuditRequest {
            station_id: STATION_A.into(),
            ..Default::default()
        }
        .encode_to_vec(),
        "VerifyAuditChain" => audit::VerifyAuditChainRequest::default().encode_to_vec(),
        "GetAuditCheckpoint" => audit::GetAuditCheckpointRequest::default().encode_to_vec(),
        other => panic!("no request for complaints-audit {other}"),
    }
}
