//! A checked document as the records of the local incident an import creates: a new incident
//! (classified as the source classified it, placed where the source placed it, not yet located
//! in this bureau's grids nor dispatched here), its calls (numbers sealed with this bureau's
//! keys when the document had them in clear) and the link back to the source.

use chrono::{DateTime, Utc};
use pingan_catalogue::classification::{ClassificationRecord, RuleMatch};
use pingan_platform::ApiError;
use pingan_platform::phone::{Phone, PhoneKind};
use pingan_platform::pii::{PiiKeys, PiiKind, mask_phone};
use pingan_proto::common::v1::Priority;
use pingan_proto::intake::v1::IncidentStatus;
use pingan_proto::triage::v1::{Kind, RuleEffect};

use crate::domain::exchange::{IncidentDocument, LinkRecord, Location};
use crate::domain::{CallRecord, IncidentRecord};

/// What one import writes.
pub struct Imported {
    pub incident: IncidentRecord,
    pub calls: Vec<CallRecord>,
    pub link: LinkRecord,
}

fn place<'a>(d: &'a IncidentDocument, location_ref: Option<&str>) -> Option<&'a Location> {
    location_ref.and_then(|r| d.locations.iter().find(|l| l.location_id == r))
}

fn classification(d: &IncidentDocument) -> Option<ClassificationRecord> {
    let c = d.incident.classification.as_ref()?;
    let kind = Kind::from_str_name(&format!("KIND_{}", c.kind))?;
    let priority = c.priority.map_or(Priority::Unspecified, |p| p.to_proto());
    Some(ClassificationRecord {
        kind,
        category: c.category.clone(),
        priority,
        response_target_ms: c.response_target_seconds.map(|s| s.saturating_mul(1000)),
        matched_rules: c
            .matched_rules
            .iter()
            .map(|r| RuleMatch {
                rule_id: r.rule_id.clone(),
                category: r.category.clone(),
                matched_words: r.matched_words.clone(),
                effect: RuleEffect::Unspecified,
                kind,
                priority,
                negated_words: Vec::new(),
                explanation: r.explanation.clone(),
            })
            .collect(),
        department: c.department.clone(),
        category_name: c.category_name.clone(),
        rules_version: c.rules_version.clone(),
        needs_confirmation: c.needs_confirmation,
        situations: Vec::new(),
        unit_requirements: Vec::new(),
        catalogue_version: c.catalogue_version.clone(),
    })
}

/// The records of a checked document `d` (`text` as received), imported by `request_id`.
pub fn imported(
    d: &IncidentDocument,
    text: &str,
    request_id: &str,
    keys: &PiiKeys,
    now: DateTime<Utc>,
) -> Result<Imported, ApiError> {
    let incident_id = format!("inc-{}", uuid::Uuid::now_v7());
    let source = &d.incident;
    let closed = source.status.is_closed();
    let classification = classification(d);
    let status = match (&classification, closed) {
        (_, true) => IncidentStatus::Closed,
        (Some(_), false) => IncidentStatus::Classified,
        (None, false) => IncidentStatus::New,
    };
    let here = place(d, Some(&source.location_ref));
    let point = here.and_then(|l| l.point);
    let (kind, category, priority, target) = match &classification {
        Some(c) => (
            c.kind as i32,
            c.category.clone(),
            c.priority as i32,
            c.response_target_ms.unwrap_or(0),
        ),
        None => (0, String::new(), 0, 0),
    };
    let bureau = &d.issuing_bureau.bureau_id;
    let incident = IncidentRecord {
        incident_id: incident_id.clone(),
        status: status as i32,
        channel: source.channel.to_proto() as i32,
        description: source.description.trim().to_owned(),
        has_location: point.is_some(),
        lat: point.map_or(0.0, |p| p.lat),
        lon: point.map_or(0.0, |p| p.lon),
        address: here
            .map(|l| l.address.trim().to_owned())
            .unwrap_or_default(),
        // Located in this bureau's own grids by its routing, like any call.
        grid_id: String::new(),
        station_id: String::new(),
        grid_located: false,
        station_kind: 0,
        classification: classification.clone(),
        kind,
        category,
        priority,
        police_override: false,
        dispatch_id: String::new(),
        assigned_unit_ids: String::new(),
        transfer_id: String::new(),
        hotline_ticket_id: String::new(),
        complaint_id: String::new(),
        pending_reason: String::new(),
        close_reason: if closed {
            format!(
                "closed at {bureau}: {}",
                if source.close_reason.is_empty() {
                    "no reason given"
                } else {
                    &source.close_reason
                }
            )
        } else {
            String::new()
        },
        routing_pending: !closed,
        routing_attempts: 0,
        received_at: source.received_at,
        classified_at: classification.as_ref().map(|_| now),
        unit_assigned_at: None,
        en_route_at: None,
        on_scene_at: None,
        closed_at: closed.then_some(now),
        followed_up_at: None,
        response_target_ms: target,
        response_target_breached: false,
        created_at: now,
        updated_at: now,
        merged_into: String::new(),
        merged_at: None,
        // A hand-over stands on its own: never linked into a local incident as a duplicate.
        link_checked: true,
    };
    let mut calls = Vec::with_capacity(d.calls.len());
    for c in &d.calls {
        let at = place(d, c.location_ref.as_deref());
        let at_point = at.and_then(|l| l.point);
        let (masked, sealed, index) = phone(&c.caller, keys)?;
        calls.push(CallRecord {
            call_id: format!("call-{}", uuid::Uuid::now_v7()),
            incident_id: incident_id.clone(),
            request_id: request_id.to_owned(),
            channel: c.channel.to_proto() as i32,
            // The call's id at its source, qualified by the bureau (unique with the channel).
            source_call_id: format!("{bureau}/{}", c.call_id),
            caller_phone_masked: masked,
            caller_phone_sealed: sealed,
            caller_phone_index: index,
            caller_name: c.caller.name.trim().to_owned(),
            has_location: at_point.is_some(),
            lat: at_point.map_or(0.0, |p| p.lat),
            lon: at_point.map_or(0.0, |p| p.lon),
            address: at.map(|l| l.address.trim().to_owned()).unwrap_or_default(),
            description: c.description.trim().to_owned(),
            reported_category: c.reported_category.clone(),
            inbound_transfer_id: String::new(),
            received_at: c.received_at,
            duplicate: c.duplicate,
            distance_m: c.distance_from_incident_m,
            created_at: now,
            first_incident_id: incident_id.clone(),
            answer_incident_id: None,
            answer_outcome: 0,
        });
    }
    let link = LinkRecord {
        incident_id,
        source_bureau_id: bureau.clone(),
        source_incident_id: source.incident_id.clone(),
        document_id: d.document_id.clone(),
        schema_version: d.schema_version.clone(),
        source_status: source.status.to_proto().as_str_name().to_owned(),
        exported_at: d.exported_at,
        imported_at: now,
        request_id: request_id.to_owned(),
        document: text.to_owned(),
    };
    Ok(Imported {
        incident,
        calls,
        link,
    })
}

/// The masked number, the sealed clear one and its blind index (as ReportCall keeps them).
fn phone(
    caller: &crate::domain::exchange::Caller,
    keys: &PiiKeys,
) -> Result<(String, Option<Vec<u8>>, String), ApiError> {
    match caller.phone.as_deref().map(Phone::parse) {
        Some(Ok(phone)) if phone.kind() != PhoneKind::Masked => Ok((
            mask_phone(phone.as_str()),
            Some(keys.encrypt(phone.as_str()).map_err(ApiError::internal)?),
            keys.blind_index(PiiKind::Phone, phone.as_str()),
        )),
        _ => Ok((caller.phone_masked.clone(), None, String::new())),
    }
}
