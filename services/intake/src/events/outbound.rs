//! The events intake sends, built from its records: status changes, complaints about the police
//! for complaints-audit, holds for a location (told to 12345) and audit records.

use chrono::{DateTime, Utc};
use pingan_platform::audit::Audit;
use pingan_platform::time::to_timestamp;
use pingan_proto::common::v1::Actor;
use pingan_proto::intake::v1::{
    IncidentNeedsLocation, IncidentStatus, IncidentStatusChanged, PoliceComplaintCallReceived,
};

use crate::app::wire::{classification_message, point};
use crate::domain::{CallRecord, IncidentRecord};

/// `incident` moved from `from` to `to`.
pub fn status_changed(
    incident: &IncidentRecord,
    from: IncidentStatus,
    to: IncidentStatus,
    actor: &Actor,
    at: DateTime<Utc>,
    reason: &str,
) -> IncidentStatusChanged {
    IncidentStatusChanged {
        incident_id: incident.incident_id.clone(),
        from_status: from as i32,
        to_status: to as i32,
        category: incident.category.clone(),
        priority: incident.priority,
        grid_id: incident.grid_id.clone(),
        station_id: incident.station_id.clone(),
        actor: Some(actor.clone()),
        at: Some(to_timestamp(at)),
        reason: reason.to_owned(),
    }
}

/// A call complaining about the police, handed to complaints-audit with the caller's number in
/// clear (`phone`: complaints-audit seals it on arrival).
pub fn police_complaint(
    incident: &IncidentRecord,
    call: &CallRecord,
    phone: &str,
) -> PoliceComplaintCallReceived {
    PoliceComplaintCallReceived {
        incident_id: incident.incident_id.clone(),
        call_id: call.call_id.clone(),
        channel: call.channel,
        source_call_id: call.source_call_id.clone(),
        description: call.description.clone(),
        complainant_phone: phone.to_owned(),
        complainant_phone_masked: call.caller_phone_masked.clone(),
        complainant_name: call.caller_name.clone(),
        location: point(incident),
        address: incident.address.clone(),
        received_at: Some(to_timestamp(call.received_at)),
        classification: classification_message(incident),
        grid_id: incident.grid_id.clone(),
        station_id: incident.station_id.clone(),
    }
}

/// A 12345 ticket's incident is held for a location (`reason`).
pub fn needs_location(
    incident: &IncidentRecord,
    reason: &str,
    at: DateTime<Utc>,
) -> IncidentNeedsLocation {
    IncidentNeedsLocation {
        incident_id: incident.incident_id.clone(),
        inbound_transfer_id: incident.transfer_id.clone(),
        reason: reason.to_owned(),
        at: Some(to_timestamp(at)),
    }
}

/// The audit of a saved call (`detail` names the call with its masked number only).
pub fn call_reported(actor: Actor, incident_id: &str, detail: String) -> Audit {
    Audit::new(actor, "intake.ReportCall", "incident", incident_id).detail(detail)
}

/// The audit of a held incident placed by a dispatcher.
pub fn incident_placed(actor: Actor, incident_id: &str, detail: String) -> Audit {
    Audit::new(actor, "intake.LocateIncident", "incident", incident_id).detail(detail)
}
