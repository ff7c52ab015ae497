//! The messages the use cases exchange with the peers and the idempotency log, built from the
//! records: ReportCall's answer, the stored classification, the incident's point.

use chrono::Utc;
use pingan_proto::common::v1::{GeoPoint, Priority};
use pingan_proto::intake::v1::{IncidentStatus, Outcome, ReportCallResponse};
use pingan_proto::triage::v1::{Classification, Kind};

use crate::app::locate::needs_location;
use crate::domain::{self, CallRecord, IncidentRecord};

/// The answer recorded when a call is saved, before it is routed.
pub fn saved_response(call: &CallRecord) -> ReportCallResponse {
    ReportCallResponse {
        incident_id: call.incident_id.clone(),
        outcome: Outcome::PendingClassification as i32,
        call_id: call.call_id.clone(),
        status: IncidentStatus::New as i32,
        ..Default::default()
    }
}

/// What ReportCall answers for `call`, from the current state of its (live) incident `i`.
pub fn report_response(i: &IncidentRecord, c: &CallRecord) -> ReportCallResponse {
    // Read apart, the call row may still name the incident it was just linked away from.
    let linked = c.duplicate || c.incident_id != i.incident_id;
    let outcome = domain::outcome(i, linked);
    let note = if !i.pending_reason.is_empty() {
        i.pending_reason.clone()
    } else {
        i.close_reason.clone()
    };
    ReportCallResponse {
        needs_location: needs_location(i),
        incident_id: i.incident_id.clone(),
        outcome: outcome as i32,
        classification: classification_message(i),
        grid_id: i.grid_id.clone(),
        assigned_unit_ids: i.units(),
        transfer_id: i.transfer_id.clone(),
        duplicate_of: if linked {
            i.incident_id.clone()
        } else {
            String::new()
        },
        call_id: c.call_id.clone(),
        station_id: i.station_id.clone(),
        status: i.status,
        dispatch_id: i.dispatch_id.clone(),
        note,
    }
}

/// `current` with the incident and outcome of the first answer, when one was recorded: a repeat
/// says what the first answer said, the rest is the incident's state now.
pub fn as_first_answer(
    mut current: ReportCallResponse,
    first: Option<(String, i32)>,
) -> ReportCallResponse {
    if let Some((incident_id, outcome)) = first {
        current.incident_id = incident_id;
        current.outcome = outcome;
    }
    current
}

/// A stand-in for an incident whose call cannot be read (never expected).
pub fn placeholder_call(incident: &IncidentRecord) -> CallRecord {
    CallRecord {
        call_id: String::new(),
        incident_id: incident.incident_id.clone(),
        request_id: String::new(),
        channel: incident.channel,
        source_call_id: String::new(),
        caller_phone_masked: String::new(),
        caller_phone_sealed: None,
        caller_phone_index: String::new(),
        caller_name: String::new(),
        has_location: incident.has_location,
        lat: incident.lat,
        lon: incident.lon,
        address: incident.address.clone(),
        description: incident.description.clone(),
        reported_category: String::new(),
        inbound_transfer_id: String::new(),
        received_at: incident.received_at,
        duplicate: false,
        distance_m: 0.0,
        created_at: Utc::now(),
        first_incident_id: incident.incident_id.clone(),
        answer_incident_id: None,
        answer_outcome: 0,
    }
}

/// The incident's location, when it has one.
pub fn point(incident: &IncidentRecord) -> Option<GeoPoint> {
    incident.has_location.then_some(GeoPoint {
        lat: incident.lat,
        lon: incident.lon,
    })
}

/// The stored classification, as triage's message.
pub fn classification_message(incident: &IncidentRecord) -> Option<Classification> {
    incident
        .classification
        .as_ref()
        .map(crate::app::classification::to_message)
}

/// "P1 CRIMINAL_VIOLENT 暴力犯罪 (cv-knife: 刀, 砍)": why triage decided what it did.
pub fn explain(c: &Classification) -> String {
    let priority = Priority::try_from(c.priority)
        .map(|p| p.as_str_name().trim_start_matches("PRIORITY_").to_owned())
        .unwrap_or_default();
    let kind = Kind::try_from(c.kind)
        .map(|k| k.as_str_name().trim_start_matches("KIND_").to_owned())
        .unwrap_or_default();
    let rules: Vec<String> = c
        .matched_rules
        .iter()
        .map(|r| format!("{}: {}", r.rule_id, r.matched_words.join(", ")))
        .collect();
    let mut text = format!("{priority} {kind} {} {}", c.category, c.category_name)
        .trim()
        .to_owned();
    if !rules.is_empty() {
        text.push_str(&format!(" ({})", rules.join("; ")));
    }
    text
}

#[cfg(test)]
mod tests {
    use pingan_proto::intake::v1::Outcome;

    use super::*;
    use crate::domain::sample_incident;

    fn call_on(incident_id: &str, duplicate: bool) -> CallRecord {
        CallRecord {
            incident_id: incident_id.into(),
            duplicate,
            first_incident_id: "inc-own".into(),
            call_id: "call-1".into(),
            ..placeholder_call(&sample_incident(incident_id))
        }
    }

    #[test]
    fn a_call_read_before_its_link_is_answered_as_linked() {
        let root = sample_incident("inc-root");
        let answer = report_response(&root, &call_on("inc-own", false));
        assert_eq!(answer.outcome(), Outcome::DuplicateLinked);
        assert_eq!(answer.incident_id, "inc-root");
        assert_eq!(answer.duplicate_of, "inc-root");
        let own = report_response(&root, &call_on("inc-root", false));
        assert_eq!(own.outcome(), Outcome::PendingDispatch);
        assert_eq!(own.duplicate_of, "");
    }

    #[test]
    fn a_repeat_says_the_first_answer_with_the_state_of_now() {
        let mut root = sample_incident("inc-root");
        root.status = pingan_proto::intake::v1::IncidentStatus::Dispatched as i32;
        root.dispatch_id = "d-1".into();
        let current = report_response(&root, &call_on("inc-root", true));
        let first = Some(("inc-own".to_owned(), Outcome::PendingClassification as i32));
        let repeat = as_first_answer(current.clone(), first);
        assert_eq!(repeat.incident_id, "inc-own");
        assert_eq!(repeat.outcome(), Outcome::PendingClassification);
        assert_eq!(repeat.duplicate_of, "inc-root");
        assert_eq!(repeat.dispatch_id, "d-1");
        assert_eq!(as_first_answer(current.clone(), None), current);
    }
}
