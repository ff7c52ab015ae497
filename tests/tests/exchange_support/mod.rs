//! Helpers of the incident-exchange scenarios: clients of IncidentExchangeService and intake
//! with tokens, the JSON Schema kept in the repository (every exported document is checked
//! against it), and a hand-made valid document.

#![allow(dead_code)]

use pingan_platform::auth::Role;
use pingan_proto::intake::v1 as ipb;
use pingan_proto::intake::v1::incident_exchange_service_client::IncidentExchangeServiceClient;
use pingan_proto::intake::v1::intake_service_client::IntakeServiceClient;
use pingan_tests::{Bearer, Service, TestCluster};
use serde_json::{Value, json};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic_types::StatusExt;

pub type ExchangeClient = IncidentExchangeServiceClient<InterceptedService<Channel, Bearer>>;
pub type IntakeClient = IntakeServiceClient<InterceptedService<Channel, Bearer>>;

/// The schema of version 1, as kept in the repository.
pub const SCHEMA: &str = include_str!("../../../schemas/incident-exchange/v1.schema.json");

/// A client of the exchange service of `cluster` as `subject` with `roles` (bureau-wide).
pub fn exchange(cluster: &TestCluster, subject: &str, roles: &[Role]) -> ExchangeClient {
    let token = cluster.token(subject, roles, &[]).expect("token");
    IncidentExchangeServiceClient::new(
        cluster
            .channel_as(Service::Intake, &token)
            .expect("channel"),
    )
}

/// A client of intake of `cluster` as `subject` with `roles` over `stations`.
pub fn intake(
    cluster: &TestCluster,
    subject: &str,
    roles: &[Role],
    stations: &[&str],
) -> IntakeClient {
    let token = cluster.token(subject, roles, stations).expect("token");
    IntakeServiceClient::new(
        cluster
            .channel_as(Service::Intake, &token)
            .expect("channel"),
    )
}

/// Every violation of the schema by `document`, as "message at path".
pub fn schema_violations(document: &Value) -> Vec<String> {
    let schema: Value = serde_json::from_str(SCHEMA).expect("the schema is JSON");
    let validator = jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("the schema is a valid draft 2020-12 schema");
    validator
        .iter_errors(document)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect()
}

/// Panics unless `document` is valid against the schema.
pub fn assert_schema_valid(document: &Value) {
    let violations = schema_violations(document);
    assert!(
        violations.is_empty(),
        "document does not follow the schema: {violations:#?}\n{document:#}"
    );
}

/// ImportIncident.
pub async fn import(
    client: &mut ExchangeClient,
    request_id: &str,
    document: &str,
) -> Result<ipb::ImportIncidentResponse, tonic::Status> {
    client
        .import_incident(ipb::ImportIncidentRequest {
            request_id: request_id.into(),
            document: document.into(),
        })
        .await
        .map(tonic::Response::into_inner)
}

/// ExportIncident, the document parsed.
pub async fn export(
    client: &mut ExchangeClient,
    incident_id: &str,
) -> (ipb::ExportIncidentResponse, Value) {
    let response = client
        .export_incident(ipb::ExportIncidentRequest {
            incident_id: incident_id.into(),
            ..Default::default()
        })
        .await
        .expect("export")
        .into_inner();
    let document = serde_json::from_str(&response.document).expect("the document is JSON");
    (response, document)
}

/// The field of the first violation of an INVALID_ARGUMENT.
pub fn first_bad_field(status: &tonic::Status) -> String {
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    let details = status
        .get_details_bad_request()
        .expect("bad request details");
    details
        .field_violations
        .first()
        .map(|v| v.field.clone())
        .expect("a field violation")
}

/// Every incident intake lists (bureau-wide, first page).
pub async fn listed(client: &mut IntakeClient) -> Vec<ipb::Incident> {
    client
        .list_incidents(ipb::ListIncidentsRequest {
            page_size: 500,
            ..Default::default()
        })
        .await
        .expect("list incidents")
        .into_inner()
        .incidents
}

/// A valid version 1 document of incident `incident_id` at bureau `bureau_id`, with the
/// caller's number in clear.
pub fn handmade(bureau_id: &str, incident_id: &str) -> Value {
    json!({
        "$schema": "https://pingan.example/schemas/incident-exchange/v1.schema.json",
        "schema_version": "1.0",
        "document_id": format!("doc-{incident_id}"),
        "exported_at": "2026-12-02T10:00:00Z",
        "issuing_bureau": {"bureau_id": bureau_id, "system": "pingan"},
        "exported_by": {"subject": "command-1", "role": "dispatcher"},
        "phone_numbers": "clear",
        "incident": {
            "incident_id": incident_id,
            "status": "DISPATCHED",
            "channel": "110",
            "description": "桥下有人落水，请求救援",
            "received_at": "2026-12-02T09:00:00Z",
            "created_at": "2026-12-02T09:00:01Z",
            "updated_at": "2026-12-02T09:05:00Z",
            "classification": {
                "kind": "POLICE", "category": "RESCUE", "category_name": "救助",
                "priority": "P1", "response_target_seconds": 300, "department": "",
                "needs_confirmation": false, "rules_version": "r1", "catalogue_version": "c1",
                "matched_rules": [{"rule_id": "rescue-water", "category": "RESCUE",
                                   "matched_words": ["落水"], "explanation": "落水: 救助"}]
            },
            "location_ref": "loc-incident",
            "grid_id": "g-a-1", "station_id": "st-a", "dispatch_id": "d-a-1",
            "hotline_ticket_id": "", "complaint_id": "", "linked_incident_ids": [],
            "clocks": {"classified_at": "2026-12-02T09:00:02Z",
                       "unit_assigned_at": "2026-12-02T09:00:03Z", "en_route_at": null,
                       "on_scene_at": null, "closed_at": null, "followed_up_at": null,
                       "response_target_breached": false},
            "close_reason": "", "pending_reason": "", "source_link": null
        },
        "calls": [{
            "call_id": "call-a-1", "channel": "110", "source_call_id": "110-a-1",
            "received_at": "2026-12-02T09:00:00Z",
            "caller": {"phone_masked": "139****5678", "phone": "13912345678", "name": "王先生"},
            "description": "桥下有人落水，请求救援", "reported_category": "", "duplicate": false,
            "distance_from_incident_m": 0.0, "location_ref": "loc-incident"
        }],
        "locations": [{"location_id": "loc-incident", "role": "INCIDENT",
                       "point": {"lat": 29.2, "lon": 88.9}, "address": "江北大桥下",
                       "grid_id": "g-a-1", "station_id": "st-a"}],
        "agencies": [{"agency_id": bureau_id, "role": "OWNING", "name": ""}],
        "units": [{"unit_id": "u-a-1", "callsign": "JIANGBEI-1", "unit_kind": "OFFICER",
                   "dispatch_id": "d-a-1", "assignment_id": "as-a-1", "status": "ASSIGNED",
                   "assigned_at": "2026-12-02T09:00:03Z", "acknowledged_at": null,
                   "en_route_at": null, "on_scene_at": null, "ended_at": null,
                   "distance_m": 420.0}],
        "timeline": [{"entry_id": "e-a-1", "at": "2026-12-02T09:00:00Z", "kind": "CALL_RECEIVED",
                      "source": "intake", "summary": "call received",
                      "actor": {"subject": "110-platform", "role": "call_integrator"},
                      "from_status": null, "to_status": "NEW", "unit_id": "",
                      "related_id": "call-a-1"}],
        "transfers": [],
        "notes": [{"note_id": "n-a-1", "at": "2026-12-02T09:01:00Z",
                   "author": {"subject": "command-1", "role": "dispatcher"},
                   "text": "水流湍急，需要救生圈"}]
    })
}
