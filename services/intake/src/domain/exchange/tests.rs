use serde_json::{Value, json};

use super::*;

/// A valid version 1 document, as JSON.
pub(crate) fn sample() -> Value {
    json!({
        "schema_version": "1.0",
        "document_id": "doc-1",
        "exported_at": "2026-12-02T10:00:00Z",
        "issuing_bureau": {"bureau_id": "bureau-a", "system": "pingan"},
        "exported_by": {"subject": "command-1", "role": "command_center"},
        "phone_numbers": "masked",
        "incident": {
            "incident_id": "inc-1",
            "status": "DISPATCHED",
            "channel": "110",
            "description": "有人落水",
            "received_at": "2026-12-02T09:00:00Z",
            "created_at": "2026-12-02T09:00:01Z",
            "updated_at": "2026-12-02T09:05:00Z",
            "classification": {
                "kind": "POLICE", "category": "RESCUE", "category_name": "救助",
                "priority": "P1", "response_target_seconds": 300, "department": "",
                "needs_confirmation": false, "rules_version": "r1", "catalogue_version": "c1",
                "matched_rules": [{"rule_id": "rescue-water", "category": "RESCUE",
                                   "matched_words": ["落水"], "explanation": "落水"}]
            },
            "location_ref": "loc-incident",
            "grid_id": "g-1", "station_id": "st-1", "dispatch_id": "d-1",
            "hotline_ticket_id": "", "complaint_id": "", "linked_incident_ids": [],
            "clocks": {"classified_at": "2026-12-02T09:00:02Z", "unit_assigned_at": null,
                       "en_route_at": null, "on_scene_at": null, "closed_at": null,
                       "followed_up_at": null, "response_target_breached": false},
            "close_reason": "", "pending_reason": "", "source_link": null
        },
        "calls": [{
            "call_id": "call-1", "channel": "110", "source_call_id": "110-1",
            "received_at": "2026-12-02T09:00:00Z",
            "caller": {"phone_masked": "138****5678", "name": "张女士"},
            "description": "有人落水", "reported_category": "", "duplicate": false,
            "distance_from_incident_m": 0.0, "location_ref": "loc-incident"
        }],
        "locations": [{"location_id": "loc-incident", "role": "INCIDENT",
                       "point": {"lat": 29.65, "lon": 91.13}, "address": "城南路 8 号",
                       "grid_id": "g-1", "station_id": "st-1"}],
        "agencies": [{"agency_id": "bureau-a", "role": "OWNING", "name": ""}],
        "units": [],
        "timeline": [],
        "transfers": [],
        "notes": []
    })
}

fn refused(document: &Value) -> DocumentError {
    match parse(&document.to_string()) {
        Ok(_) => panic!("accepted {document}"),
        Err(err) => err,
    }
}

#[test]
fn a_valid_document_parses_and_writes_back_the_same() {
    let document = parse(&sample().to_string()).expect("valid");
    assert_eq!(document.incident.status, Status::Dispatched);
    assert_eq!(document.calls[0].channel, Channel::Emergency110);
    let again: Value = serde_json::to_value(&document).expect("serialize");
    let reparsed = parse(&again.to_string()).expect("round trip");
    assert_eq!(reparsed, document);
}

#[test]
fn the_first_bad_field_is_named_by_its_path() {
    let mut d = sample();
    d["locations"][0]["point"]["lat"] = json!(123.0);
    assert_eq!(refused(&d).path, "document.locations[0].point.lat");

    let mut d = sample();
    d["calls"][0]["received_at"] = json!("yesterday");
    assert_eq!(refused(&d).path, "document.calls[0].received_at");

    let mut d = sample();
    d["incident"]["status"] = json!("LOST");
    assert_eq!(refused(&d).path, "document.incident.status");

    let mut d = sample();
    d["incident"]["colour"] = json!("red");
    assert_eq!(refused(&d).path, "document.incident.colour");

    let mut d = sample();
    if let Some(o) = d["incident"].as_object_mut() {
        o.remove("description");
    }
    let err = refused(&d);
    assert_eq!(err.path, "document.incident.description");
    assert_eq!(err.message, "is required");

    let mut d = sample();
    d["incident"]["classification"]["category"] = json!("NO_SUCH_CATEGORY");
    assert_eq!(
        refused(&d).path,
        "document.incident.classification.category"
    );

    let mut d = sample();
    d["incident"]["location_ref"] = json!("nowhere");
    assert_eq!(refused(&d).path, "document.incident.location_ref");
}

#[test]
fn versions_and_shapes_are_refused_before_fields() {
    let mut d = sample();
    d["schema_version"] = json!("2.0");
    assert_eq!(refused(&d).path, "document.schema_version");
    assert_eq!(parse("[]").unwrap_err().path, "document");
    assert_eq!(parse("{not json").unwrap_err().path, "document");
    assert_eq!(parse("  ").unwrap_err().path, "document");
}

#[test]
fn a_masked_document_carries_no_clear_number() {
    let mut d = sample();
    d["calls"][0]["caller"]["phone"] = json!("13812345678");
    assert_eq!(refused(&d).path, "document.calls[0].caller.phone");
    d["phone_numbers"] = json!("clear");
    assert!(parse(&d.to_string()).is_ok());
    d["calls"][0]["caller"]["phone"] = json!("not a number");
    assert_eq!(refused(&d).path, "document.calls[0].caller.phone");
}

#[test]
fn an_incident_needs_a_call_and_a_place() {
    let mut d = sample();
    d["calls"] = json!([]);
    assert_eq!(refused(&d).path, "document.calls");
    let mut d = sample();
    d["locations"][0]["point"] = json!(null);
    d["locations"][0]["address"] = json!("");
    assert_eq!(refused(&d).path, "document.incident.location_ref");
}
