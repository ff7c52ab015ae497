//! The requests routing sends to triage and dispatch, built from the incident.

use pingan_platform::ApiError;
use pingan_platform::time::to_timestamp;
use pingan_proto::common::v1::Priority;
use pingan_proto::dispatch::v1::OpenDispatchRequest;
use pingan_proto::triage::v1::{ClassifyRequest, DivertTo12345Request};

use super::Router;
use crate::app::wire::{classification_message, explain, point};
use crate::domain::{CallRecord, IncidentRecord};

impl Router {
    /// `call`: the incident's first call when the caller holds it (not read again).
    pub(super) async fn classify_request(
        &self,
        incident: &IncidentRecord,
        call: Option<&CallRecord>,
    ) -> Result<ClassifyRequest, ApiError> {
        let reported_category = match first_call(incident, call) {
            Some(call) => call.reported_category.clone(),
            None => self
                .store
                .calls_of(&incident.incident_id)
                .await?
                .first()
                .map(|c| c.reported_category.clone())
                .unwrap_or_default(),
        };
        Ok(ClassifyRequest {
            text: incident.description.clone(),
            channel: incident.channel,
            reported_category,
            location: point(incident),
        })
    }

    pub(super) fn dispatch_request(&self, incident: &IncidentRecord) -> OpenDispatchRequest {
        let classification = classification_message(incident).unwrap_or_default();
        // Back with the police after a bounce: never below P3.
        let priority = match Priority::try_from(incident.priority) {
            Ok(Priority::P1 | Priority::P2 | Priority::P3) => incident.priority,
            _ => Priority::P3 as i32,
        };
        // A lookout goes to the residents of the incident's grid: none to ask outside every grid.
        let lookout = crate::domain::lookout::lookout_for(&classification, &incident.description)
            .filter(|_| !incident.grid_id.is_empty());
        let summary: String = pingan_platform::pii::scrub(&incident.description)
            .chars()
            .take(120)
            .collect();
        OpenDispatchRequest {
            request_id: format!("intake-open-dispatch-{}", incident.incident_id),
            incident_id: incident.incident_id.clone(),
            priority,
            location: point(incident),
            // The catalogue's vocabulary both ways: dispatch checks the category and the
            // requirements triage derived from it (e.g. a drone for a person in the water).
            category: incident.category.clone(),
            required_capabilities: Vec::new(),
            response_target: classification.response_target,
            address: incident.address.clone(),
            summary,
            station_id: incident.station_id.clone(),
            grid_id: incident.grid_id.clone(),
            // Only while they were derived for this category; else dispatch derives its own.
            unit_requirements: if classification.category == incident.category {
                classification.unit_requirements.clone()
            } else {
                Vec::new()
            },
            lookout,
            station_kind: incident.station_kind,
            // The ring: response times are reported from the first call, not the opening.
            call_received_at: Some(to_timestamp(incident.received_at)),
        }
    }

    pub(super) async fn divert_request(
        &self,
        incident: &IncidentRecord,
        call: Option<&CallRecord>,
    ) -> Result<DivertTo12345Request, ApiError> {
        let classification = classification_message(incident).unwrap_or_default();
        let calls = match first_call(incident, call) {
            Some(call) => vec![call.clone()],
            None => self.store.calls_of(&incident.incident_id).await?,
        };
        let call = calls.first();
        let phone = match call {
            Some(call) => self.clear_phone(call)?,
            None => String::new(),
        };
        Ok(DivertTo12345Request {
            request_id: format!("intake-divert-{}", incident.incident_id),
            incident_id: incident.incident_id.clone(),
            department: classification.department.clone(),
            reason: format!("非警务类: {}", explain(&classification)),
            classification: Some(classification),
            description: incident.description.clone(),
            caller_phone: phone,
            caller_name: call.map(|c| c.caller_name.clone()).unwrap_or_default(),
            location: point(incident),
            address: incident.address.clone(),
            received_at: Some(to_timestamp(incident.received_at)),
        })
    }

    /// The caller's number in clear, for a peer that calls back (never logged).
    pub(super) fn clear_phone(&self, call: &CallRecord) -> Result<String, ApiError> {
        match &call.caller_phone_sealed {
            Some(sealed) => self.context.pii.decrypt(sealed).map_err(ApiError::internal),
            None => Ok(String::new()),
        }
    }
}

/// `call` when it is the incident's only call: the one that opened it, as saved by the request
/// that holds it (a fresh incident has no other call until it is linked into, and a primary
/// is linked into only once decided, after its requests were built).
fn first_call<'a>(
    incident: &IncidentRecord,
    call: Option<&'a CallRecord>,
) -> Option<&'a CallRecord> {
    call.filter(|c| {
        c.incident_id == incident.incident_id && c.first_incident_id == incident.incident_id
    })
}
