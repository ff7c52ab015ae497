//! Requests of grid-registry (registry, notebook, inspections, service requests) and
//! case-followup, aimed at station A's fixtures.

use pingan_proto::followup::v1 as followup;
use pingan_proto::grid::v1 as grid;
use prost::Message;

use super::fixtures::{
    self, Fixtures, GRID_A, OFFICER_A, POINT_A, RESIDENT_A, RESIDENT_A_ID_NUMBER, STATION_A, ago,
};
use super::requests::week;

/// The encoded request for `method` of grid-registry's or case-followup's services.
pub fn request(method: &str, fx: &Fixtures, id: &str) -> Vec<u8> {
    registry(method, fx, id)
        .or_else(|| notebook(method, fx, id))
        .or_else(|| service_requests(method, fx, id))
        .or_else(|| followup_request(method, fx, id))
        .unwrap_or_else(|| panic!("no request for {method}"))
}

fn registry(method: &str, _fx: &Fixtures, id: &str) -> Option<Vec<u8>> {
    Some(match method {
        "UpsertStation" => grid::UpsertStationRequest {
            request_id: id.into(),
            station_id: STATION_A.into(),
            name: "桑日县绒乡派出所".into(),
            kind: grid::StationKind::Rural as i32,
            ..Default::default()
        }
        .encode_to_vec(),
        "UpsertGrid" => grid::UpsertGridRequest {
            request_id: id.into(),
            grid_id: format!("g-{id}"),
            station_id: STATION_A.into(),
            name: "矩阵网格".into(),
            polygon: [(29.0, 91.0), (29.0, 91.01), (29.01, 91.01), (29.0, 91.0)]
                .into_iter()
                .map(|(lat, lon)| pingan_proto::common::v1::GeoPoint { lat, lon })
                .collect(),
            kind: grid::GridKind::Village as i32,
            ..Default::default()
        }
        .encode_to_vec(),
        "ListGrids" => grid::ListGridsRequest {
            station_id: STATION_A.into(),
            ..Default::default()
        }
        .encode_to_vec(),
        "LocateGrid" => grid::LocateGridRequest {
            location: Some(POINT_A),
            ..Default::default()
        }
        .encode_to_vec(),
        "ResolveAddress" => grid::ResolveAddressRequest {
            address: "山南市桑日县玉村37号".into(),
            station_id: String::new(),
        }
        .encode_to_vec(),
        "AssignOfficer" => grid::AssignOfficerRequest {
            request_id: id.into(),
            grid_id: GRID_A.into(),
            officer_id: format!("o-{id}"),
            role: grid::OfficerRole::GridWorker as i32,
            name: "网格员".into(),
            ..Default::default()
        }
        .encode_to_vec(),
        "UpsertAddress" => grid::UpsertAddressRequest {
            request_id: id.into(),
            address_id: format!("a-{id}"),
            grid_id: GRID_A.into(),
            full_text: format!("山南市桑日县绒村{id}号"),
            location: Some(POINT_A),
            ..Default::default()
        }
        .encode_to_vec(),
        "UpsertResident" => grid::UpsertResidentRequest {
            request_id: id.into(),
            resident_id: format!("r-{id}"),
            name: "测试居民".into(),
            id_number: id_number(id),
            grid_id: GRID_A.into(),
            address: "山南市桑日县绒村1号".into(),
            ..Default::default()
        }
        .encode_to_vec(),
        "UpsertHouse" => grid::UpsertHouseRequest {
            request_id: id.into(),
            house_id: format!("h-{id}"),
            grid_id: GRID_A.into(),
            house_use: grid::HouseUse::OwnerOccupied as i32,
            location: Some(POINT_A),
            ..Default::default()
        }
        .encode_to_vec(),
        "UpsertPremises" => grid::UpsertPremisesRequest {
            request_id: id.into(),
            premises_id: format!("p-{id}"),
            kind: grid::PremisesKind::Shop as i32,
            name: "矩阵小卖部".into(),
            grid_id: GRID_A.into(),
            location: Some(POINT_A),
            ..Default::default()
        }
        .encode_to_vec(),
        "FindResidentByIdNumber" => grid::FindResidentByIdNumberRequest {
            id_number: RESIDENT_A_ID_NUMBER.into(),
            purpose: grid::LookupPurpose::Welfare as i32,
            reason: "matrix check".into(),
            reference_id: id.into(),
        }
        .encode_to_vec(),
        "ListInspectionTemplates" => {
            grid::ListInspectionTemplatesRequest::default().encode_to_vec()
        }
        _ => return None,
    })
}

fn notebook(method: &str, fx: &Fixtures, id: &str) -> Option<Vec<u8>> {
    let station = || STATION_A.to_owned();
    Some(match method {
        "RecordVisit" => grid::RecordVisitRequest {
            request_id: id.into(),
            resident_id: RESIDENT_A.into(),
            officer_id: OFFICER_A.into(),
            purpose: grid::VisitPurpose::WelfareCheck as i32,
            visited_at: ago(600),
            contacted: true,
            ..Default::default()
        }
        .encode_to_vec(),
        "RecordNeed" => fixtures::record_need(id).encode_to_vec(),
        "ResolveNeed" => grid::ResolveNeedRequest {
            request_id: id.into(),
            need_id: fx.need_id.clone(),
            resolution: grid::NeedStatus::Resolved as i32,
            resolution_note: "已代购".into(),
            ..Default::default()
        }
        .encode_to_vec(),
        "ListOpenNeeds" => grid::ListOpenNeedsRequest {
            station_id: station(),
            ..Default::default()
        }
        .encode_to_vec(),
        "ListWelfareVisitsDue" => grid::ListWelfareVisitsDueRequest {
            station_id: station(),
            ..Default::default()
        }
        .encode_to_vec(),
        "StartInspection" => fixtures::start_inspection(id).encode_to_vec(),
        "RecordInspectionResult" => grid::RecordInspectionResultRequest {
            request_id: id.into(),
            inspection_id: fx.inspection_id.clone(),
            summary: "matrix".into(),
            completed_at: ago(60),
            ..Default::default()
        }
        .encode_to_vec(),
        "ListDueReinspections" => grid::ListDueReinspectionsRequest {
            station_id: station(),
            ..Default::default()
        }
        .encode_to_vec(),
        "RecordOutreach" => grid::RecordOutreachRequest {
            request_id: id.into(),
            grid_id: GRID_A.into(),
            topics: vec![grid::OutreachTopic::AntiFraud as i32],
            format: grid::OutreachFormat::Meeting as i32,
            held_at: ago(3600),
            venue: "村委会".into(),
            audience_size: 20,
            ..Default::default()
        }
        .encode_to_vec(),
        "OutreachStats" => grid::OutreachStatsRequest {
            period: week(),
            station_id: station(),
            ..Default::default()
        }
        .encode_to_vec(),
        "BroadcastToGrid" => grid::BroadcastToGridRequest {
            request_id: id.into(),
            grid_id: GRID_A.into(),
            audiences: vec![grid::BroadcastAudience::Residents as i32],
            title: "提醒".into(),
            message: "注意防范电信诈骗".into(),
            ..Default::default()
        }
        .encode_to_vec(),
        "ListPremises" => grid::ListPremisesRequest {
            station_id: station(),
            ..Default::default()
        }
        .encode_to_vec(),
        "GetInspection" => grid::GetInspectionRequest {
            inspection_id: fx.inspection_id.clone(),
        }
        .encode_to_vec(),
        "ListInspections" => grid::ListInspectionsRequest {
            station_id: station(),
            ..Default::default()
        }
        .encode_to_vec(),
        "ListNeeds" => grid::ListNeedsRequest {
            station_id: station(),
            ..Default::default()
        }
        .encode_to_vec(),
        "GetNeed" => grid::GetNeedRequest {
            need_id: fx.need_id.clone(),
        }
        .encode_to_vec(),
        "ListVisits" => grid::ListVisitsRequest {
            station_id: station(),
            ..Default::default()
        }
        .encode_to_vec(),
        _ => return None,
    })
}

fn service_requests(method: &str, fx: &Fixtures, id: &str) -> Option<Vec<u8>> {
    let service_request_id = fx.service_request_id.clone();
    Some(match method {
        "ListServiceRequestTypes" => {
            grid::ListServiceRequestTypesRequest::default().encode_to_vec()
        }
        "OpenServiceRequest" => fixtures::open_service_request(id).encode_to_vec(),
        "CompleteChecklistItem" => grid::CompleteChecklistItemRequest {
            request_id: id.into(),
            service_request_id,
            item_key: fx.checklist_key.clone(),
            note: "matrix".into(),
        }
        .encode_to_vec(),
        "SubmitServiceRequest" => grid::SubmitServiceRequestRequest {
            request_id: id.into(),
            service_request_id,
            submitted_at: ago(30),
            note: "matrix".into(),
        }
        .encode_to_vec(),
        "CloseServiceRequest" => grid::CloseServiceRequestRequest {
            request_id: id.into(),
            service_request_id,
            outcome: grid::ServiceRequestOutcome::Withdrawn as i32,
            note: "matrix".into(),
            closed_at: ago(20),
        }
        .encode_to_vec(),
        "GetServiceRequest" => grid::GetServiceRequestRequest {
            service_request_id,
            ..Default::default()
        }
        .encode_to_vec(),
        "ListServiceRequests" => grid::ListServiceRequestsRequest {
            station_id: STATION_A.into(),
            ..Default::default()
        }
        .encode_to_vec(),
        "ServiceRequestReport" => grid::ServiceRequestReportRequest {
            period: week(),
            station_id: STATION_A.into(),
            ..Default::default()
        }
        .encode_to_vec(),
        _ => return None,
    })
}

fn followup_request(method: &str, fx: &Fixtures, id: &str) -> Option<Vec<u8>> {
    Some(match method {
        "OpenMediation" => fixtures::open_mediation(id, &fx.incident_id).encode_to_vec(),
        "RecordMediationOutcome" => followup::RecordMediationOutcomeRequest {
            request_id: id.into(),
            mediation_id: fx.mediation_id.clone(),
            resolved: true,
            agreement_text: "双方和解".into(),
            agreement_signed: true,
            next_step: followup::MediationNextStep::None as i32,
            ..Default::default()
        }
        .encode_to_vec(),
        "ListDueRevisits" => followup::ListDueRevisitsRequest {
            station_id: STATION_A.into(),
            ..Default::default()
        }
        .encode_to_vec(),
        "RecordRevisit" => followup::RecordRevisitRequest {
            request_id: id.into(),
            revisit_id: fx.revisit_id.clone(),
            contacted: true,
            method: followup::ContactMethod::Phone as i32,
            issue_resolved: true,
            satisfaction: 5,
            ..Default::default()
        }
        .encode_to_vec(),
        "RegisterFoundItem" => fixtures::found_item(id).encode_to_vec(),
        "RegisterLostReport" => fixtures::lost_report(id).encode_to_vec(),
        "ListMatches" => followup::ListMatchesRequest {
            station_id: STATION_A.into(),
            ..Default::default()
        }
        .encode_to_vec(),
        "MarkOwnerContacted" => followup::MarkOwnerContactedRequest {
            request_id: id.into(),
            found_item_id: fx.found_item_id.clone(),
            method: followup::ContactMethod::Phone as i32,
            notes: "matrix".into(),
            ..Default::default()
        }
        .encode_to_vec(),
        "MarkReturned" => followup::MarkReturnedRequest {
            request_id: id.into(),
            found_item_id: fx.found_item_id.clone(),
            recipient_name: "王五".into(),
            recipient_is_owner: true,
            identity_check: followup::IdentityCheck::KnownToOfficer as i32,
            ..Default::default()
        }
        .encode_to_vec(),
        "FollowupStats" => followup::FollowupStatsRequest {
            station_ids: vec![STATION_A.into()],
            range: week(),
            ..Default::default()
        }
        .encode_to_vec(),
        "FollowUpReport" => followup::FollowUpReportRequest {
            period: week(),
            station_id: STATION_A.into(),
        }
        .encode_to_vec(),
        _ => return None,
    })
}

/// A valid GB 11643 ID number (synthetic, born 1990) distinct per request id.
fn id_number(id: &str) -> String {
    let serial = id.bytes().fold(0u32, |acc, b| {
        acc.wrapping_mul(31).wrapping_add(u32::from(b))
    });
    let body = format!("54052319900101{:03}", serial % 1000);
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body
        .chars()
        .zip(WEIGHTS)
        .map(|(c, w)| c.to_digit(10).unwrap_or(0) * w)
        .sum();
    let check = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'][(sum % 11) as usize];
    format!("{body}{check}")
}
