//! Stored records to the API's messages.

use chrono::{DateTime, Utc};
use pingan_platform::pii::PiiKeys;
use pingan_proto::common::v1::{Actor, GeoPoint, Priority};
use pingan_proto::intake::v1::{Call, Incident, ReportCallResponse, ResponseClocks, TimelineEntry};
use pingan_proto::triage::v1::{Classification, Kind};
use prost::Message;

use crate::domain::{self, CallRecord, IncidentRecord};
use crate::store::EntryRecord;
use crate::timeline::timestamp;

fn ts(at: Option<DateTime<Utc>>) -> Option<prost_types::Timestamp> {
    at.map(timestamp)
}

fn since(from: DateTime<Utc>, to: Option<DateTime<Utc>>) -> Option<prost_types::Duration> {
    to.map(|to| {
        let ms = (to - from).num_milliseconds().max(0);
        prost_types::Duration {
            seconds: ms / 1000,
            nanos: i32::try_from((ms % 1000) * 1_000_000).unwrap_or(0),
        }
    })
}

/// The command-room clocks of an incident.
pub fn clocks(i: &IncidentRecord) -> ResponseClocks {
    let target = (i.response_target_ms > 0).then(|| prost_types::Duration {
        seconds: i.response_target_ms / 1000,
        nanos: i32::try_from((i.response_target_ms % 1000) * 1_000_000).unwrap_or(0),
    });
    ResponseClocks {
        received_at: Some(timestamp(i.received_at)),
        classified_at: ts(i.classified_at),
        unit_assigned_at: ts(i.unit_assigned_at),
        en_route_at: ts(i.en_route_at),
        on_scene_at: ts(i.on_scene_at),
        closed_at: ts(i.closed_at),
        followed_up_at: ts(i.followed_up_at),
        to_classified: since(i.received_at, i.classified_at),
        to_unit_assigned: since(i.received_at, i.unit_assigned_at),
        to_en_route: since(i.received_at, i.en_route_at),
        to_on_scene: since(i.received_at, i.on_scene_at),
        response_target: target,
        response_target_breached: i.response_target_breached,
    }
}

/// A call; the clear number only when `reveal` holds the keys (roles that may see it).
pub fn call(c: &CallRecord, reveal: Option<&PiiKeys>) -> Call {
    let caller_phone = match (reveal, &c.caller_phone_sealed) {
        (Some(keys), Some(sealed)) => keys.decrypt(sealed).unwrap_or_default(),
        _ => String::new(),
    };
    Call {
        call_id: c.call_id.clone(),
        channel: c.channel,
        source_call_id: c.source_call_id.clone(),
        caller_phone_masked: c.caller_phone_masked.clone(),
        caller_phone,
        caller_name: c.caller_name.clone(),
        location: c.has_location.then_some(GeoPoint {
            lat: c.lat,
            lon: c.lon,
        }),
        address: c.address.clone(),
        description: c.description.clone(),
        reported_category: c.reported_category.clone(),
        received_at: Some(timestamp(c.received_at)),
        duplicate: c.duplicate,
        distance_from_incident_m: c.distance_m,
        created_at: Some(timestamp(c.created_at)),
        first_incident_id: if c.first_incident_id.is_empty() {
            c.incident_id.clone()
        } else {
            c.first_incident_id.clone()
        },
    }
}

/// An incident with its calls and the ids of the incidents linked into it.
pub fn incident(
    i: &IncidentRecord,
    calls: &[CallRecord],
    linked: Vec<String>,
    reveal: Option<&PiiKeys>,
) -> Incident {
    Incident {
        needs_location: crate::locate::needs_location(i),
        incident_id: i.incident_id.clone(),
        status: i.status,
        channel: i.channel,
        classification: decode_classification(i),
        description: i.description.clone(),
        location: point(i),
        address: i.address.clone(),
        grid_id: i.grid_id.clone(),
        station_id: i.station_id.clone(),
        calls: calls.iter().map(|c| call(c, reveal)).collect(),
        dispatch_id: i.dispatch_id.clone(),
        assigned_unit_ids: i.units(),
        transfer_id: i.transfer_id.clone(),
        hotline_ticket_id: i.hotline_ticket_id.clone(),
        complaint_id: i.complaint_id.clone(),
        clocks: Some(clocks(i)),
        pending_reason: i.pending_reason.clone(),
        close_reason: i.close_reason.clone(),
        created_at: Some(timestamp(i.created_at)),
        updated_at: Some(timestamp(i.updated_at)),
        linked_incident_ids: linked,
    }
}

/// A timeline entry.
pub fn entry(e: &EntryRecord) -> TimelineEntry {
    TimelineEntry {
        entry_id: e.entry_id.clone(),
        incident_id: e.incident_id.clone(),
        at: Some(timestamp(e.at)),
        kind: e.kind,
        actor: Some(Actor {
            subject: e.actor_subject.clone(),
            role: e.actor_role.clone(),
            display_name: e.actor_name.clone(),
        }),
        source: e.source.clone(),
        summary: e.summary.clone(),
        from_status: e.from_status,
        to_status: e.to_status,
        unit_id: e.unit_id.clone(),
        related_id: e.related_id.clone(),
        event_id: e.event_id.clone(),
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
        needs_location: crate::locate::needs_location(i),
        incident_id: i.incident_id.clone(),
        outcome: outcome as i32,
        classification: decode_classification(i),
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
pub fn placeholder_call(incident: &IncidentRecord) -> crate::domain::CallRecord {
    crate::domain::CallRecord {
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

/// The stored classification.
pub fn decode_classification(incident: &IncidentRecord) -> Option<Classification> {
    incident
        .classification
        .as_deref()
        .and_then(|bytes| Classification::decode(bytes).ok())
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
