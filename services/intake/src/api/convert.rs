//! Stored records to the API's messages (the edge: nothing below `api` builds these).

use chrono::{DateTime, Utc};
use pingan_platform::pii::PiiKeys;
use pingan_platform::time::{to_timestamp as timestamp, to_timestamp_opt as ts};
use pingan_proto::common::v1::{Actor, GeoPoint};
use pingan_proto::intake::v1::{Call, Incident, ResponseClocks, TimelineEntry};

use crate::app::locate::needs_location;
use crate::app::wire::{classification_message, point};
use crate::domain::{CallRecord, EntryRecord, IncidentRecord};

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
        needs_location: needs_location(i),
        incident_id: i.incident_id.clone(),
        status: i.status,
        channel: i.channel,
        classification: classification_message(i),
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
        // Attached by the handlers for handed-over incidents (api::exchange::attach_links).
        exchange_link: None,
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
