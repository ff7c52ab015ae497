//! An incident's records (and what dispatch and triage said about it) as a version 1 exchange
//! document. Callers' numbers are in clear only when `keys` are given (the caller may read
//! them); otherwise only their masked form is written.

use chrono::{DateTime, Utc};
use pingan_platform::pii::PiiKeys;
use pingan_platform::time::from_timestamp;
use pingan_proto::common::v1::{Actor as ActorMsg, Channel as ChannelMsg};
use pingan_proto::dispatch::v1::{AssignmentStatus, Dispatch, UnitKind};
use pingan_proto::intake::v1::{IncidentStatus, TimelineEntryKind};
use pingan_proto::triage::v1::{Transfer as TransferMsg, TransferDirection, TransferStatus};

use crate::app::reading::IncidentView;
use crate::domain::exchange::{
    self as doc, Actor, Agency, AgencyRole, Bureau, Call, Caller, Classification, Clocks,
    IncidentDocument, LinkRecord, Location, LocationRole, MatchedRule, Note, PhoneNumbers, Point,
    SourceLink, Status,
};
use crate::domain::{CallRecord, EntryRecord, IncidentRecord};

/// Everything one export is made of.
pub struct Sources<'a> {
    pub bureau_id: &'a str,
    pub document_id: String,
    pub exported_by: ActorMsg,
    pub now: DateTime<Utc>,
    pub view: &'a IncidentView,
    pub entries: &'a [EntryRecord],
    pub dispatches: &'a [Dispatch],
    pub transfers: &'a [TransferMsg],
    pub link: Option<&'a LinkRecord>,
    /// The keys to open sealed numbers with, when the caller may read them in clear.
    pub keys: Option<&'a PiiKeys>,
}

const INCIDENT_LOCATION: &str = "loc-incident";

fn ts(at: Option<&prost_types::Timestamp>) -> Option<DateTime<Utc>> {
    at.and_then(from_timestamp)
}

/// An enum's proto name without its type prefix (`UNIT_KIND_DRONE` → `DRONE`).
fn short(name: &str, prefix: &str) -> String {
    name.trim_start_matches(prefix).to_owned()
}

fn status(number: i32) -> Option<Status> {
    IncidentStatus::try_from(number)
        .ok()
        .and_then(Status::from_proto)
}

fn channel(number: i32) -> doc::Channel {
    ChannelMsg::try_from(number)
        .ok()
        .and_then(doc::Channel::from_proto)
        // Every stored call has a channel (ReportCall requires one).
        .unwrap_or(doc::Channel::Emergency110)
}

fn actor(a: Option<&ActorMsg>) -> Actor {
    let a = a.cloned().unwrap_or_default();
    Actor {
        subject: if a.subject.is_empty() {
            "unknown".into()
        } else {
            a.subject
        },
        role: a.role,
    }
}

/// The document of one incident.
pub fn build(s: &Sources<'_>) -> IncidentDocument {
    let i = &s.view.incident;
    let mut locations = vec![Location {
        location_id: INCIDENT_LOCATION.into(),
        role: LocationRole::Incident,
        point: i.has_location.then_some(Point {
            lat: i.lat,
            lon: i.lon,
        }),
        address: i.address.clone(),
        grid_id: i.grid_id.clone(),
        station_id: i.station_id.clone(),
    }];
    let calls = s
        .view
        .calls
        .iter()
        .map(|c| call(c, i, &mut locations, s.keys))
        .collect();
    IncidentDocument {
        schema: Some(doc::SCHEMA_ID.into()),
        schema_version: doc::SCHEMA_VERSION.into(),
        document_id: s.document_id.clone(),
        exported_at: s.now,
        issuing_bureau: Bureau {
            bureau_id: s.bureau_id.into(),
            system: "pingan".into(),
        },
        exported_by: actor(Some(&s.exported_by)),
        phone_numbers: if s.keys.is_some() {
            PhoneNumbers::Clear
        } else {
            PhoneNumbers::Masked
        },
        incident: incident(i, &s.view.linked, s.link),
        calls,
        locations,
        agencies: agencies(s),
        units: units(i, s.dispatches),
        timeline: s.entries.iter().map(entry).collect(),
        transfers: s.transfers.iter().map(transfer).collect(),
        notes: notes(s),
    }
}

fn incident(i: &IncidentRecord, linked: &[String], link: Option<&LinkRecord>) -> doc::Incident {
    doc::Incident {
        incident_id: i.incident_id.clone(),
        status: status(i.status).unwrap_or(Status::New),
        channel: channel(i.channel),
        description: i.description.clone(),
        received_at: i.received_at,
        created_at: i.created_at,
        updated_at: i.updated_at,
        classification: i.classification.as_ref().map(|c| Classification {
            kind: short(c.kind.as_str_name(), "KIND_"),
            category: c.category.clone(),
            category_name: c.category_name.clone(),
            priority: doc::Priority::from_proto(c.priority),
            response_target_seconds: c.response_target_ms.map(|ms| ms / 1000),
            department: c.department.clone(),
            needs_confirmation: c.needs_confirmation,
            rules_version: c.rules_version.clone(),
            catalogue_version: c.catalogue_version.clone(),
            matched_rules: c
                .matched_rules
                .iter()
                .map(|r| MatchedRule {
                    rule_id: r.rule_id.clone(),
                    category: r.category.clone(),
                    matched_words: r.matched_words.clone(),
                    explanation: r.explanation.clone(),
                })
                .collect(),
        }),
        location_ref: INCIDENT_LOCATION.into(),
        grid_id: i.grid_id.clone(),
        station_id: i.station_id.clone(),
        dispatch_id: i.dispatch_id.clone(),
        hotline_ticket_id: i.hotline_ticket_id.clone(),
        complaint_id: i.complaint_id.clone(),
        linked_incident_ids: linked.to_vec(),
        clocks: Clocks {
            classified_at: i.classified_at,
            unit_assigned_at: i.unit_assigned_at,
            en_route_at: i.en_route_at,
            on_scene_at: i.on_scene_at,
            closed_at: i.closed_at,
            followed_up_at: i.followed_up_at,
            response_target_breached: i.response_target_breached,
        },
        close_reason: i.close_reason.clone(),
        pending_reason: i.pending_reason.clone(),
        source_link: link.map(|l| SourceLink {
            bureau_id: l.source_bureau_id.clone(),
            incident_id: l.source_incident_id.clone(),
            document_id: l.document_id.clone(),
        }),
    }
}

fn call(
    c: &CallRecord,
    i: &IncidentRecord,
    locations: &mut Vec<Location>,
    keys: Option<&PiiKeys>,
) -> Call {
    let same_place = c.has_location == i.has_location
        && (!c.has_location || (c.lat == i.lat && c.lon == i.lon))
        && c.address.trim() == i.address.trim();
    let location_ref = if !c.has_location && c.address.trim().is_empty() {
        None
    } else if same_place {
        Some(INCIDENT_LOCATION.to_owned())
    } else {
        let id = format!("loc-{}", c.call_id);
        locations.push(Location {
            location_id: id.clone(),
            role: LocationRole::Caller,
            point: c.has_location.then_some(Point {
                lat: c.lat,
                lon: c.lon,
            }),
            address: c.address.clone(),
            grid_id: String::new(),
            station_id: String::new(),
        });
        Some(id)
    };
    let phone = match (keys, &c.caller_phone_sealed) {
        (Some(keys), Some(sealed)) => Some(keys.decrypt(sealed).unwrap_or_default()),
        (Some(_), None) => Some(String::new()),
        (None, _) => None,
    };
    Call {
        call_id: c.call_id.clone(),
        channel: channel(c.channel),
        source_call_id: c.source_call_id.clone(),
        received_at: c.received_at,
        caller: Caller {
            phone_masked: c.caller_phone_masked.clone(),
            phone,
            name: c.caller_name.clone(),
        },
        description: c.description.clone(),
        reported_category: c.reported_category.clone(),
        duplicate: c.duplicate,
        distance_from_incident_m: c.distance_m.max(0.0),
        location_ref,
    }
}

fn agencies(s: &Sources<'_>) -> Vec<Agency> {
    let i = &s.view.incident;
    let mut agencies = vec![Agency {
        agency_id: s.bureau_id.into(),
        role: AgencyRole::Owning,
        name: String::new(),
    }];
    if !i.station_id.is_empty() {
        agencies.push(Agency {
            agency_id: i.station_id.clone(),
            role: AgencyRole::Responsible,
            name: String::new(),
        });
    }
    for t in s.transfers {
        let id = format!("12345:{}", t.department);
        if !t.department.is_empty() && !agencies.iter().any(|a| a.agency_id == id) {
            agencies.push(Agency {
                agency_id: id,
                role: AgencyRole::Hotline12345,
                name: t.department.clone(),
            });
        }
    }
    agencies
}

fn units(i: &IncidentRecord, dispatches: &[Dispatch]) -> Vec<doc::Unit> {
    let mut units: Vec<doc::Unit> = dispatches
        .iter()
        .flat_map(|d| d.assignments.iter())
        .map(|a| doc::Unit {
            unit_id: a.unit_id.clone(),
            callsign: a.callsign.clone(),
            unit_kind: UnitKind::try_from(a.unit_kind)
                .ok()
                .filter(|k| *k != UnitKind::Unspecified)
                .map(|k| short(k.as_str_name(), "UNIT_KIND_"))
                .unwrap_or_default(),
            dispatch_id: a.dispatch_id.clone(),
            assignment_id: a.assignment_id.clone(),
            status: AssignmentStatus::try_from(a.status)
                .map(|k| short(k.as_str_name(), "ASSIGNMENT_STATUS_"))
                .unwrap_or_default(),
            assigned_at: ts(a.assigned_at.as_ref()),
            acknowledged_at: ts(a.acknowledged_at.as_ref()),
            en_route_at: ts(a.en_route_at.as_ref()),
            on_scene_at: ts(a.on_scene_at.as_ref()),
            ended_at: ts(a.ended_at.as_ref()),
            distance_m: a.distance_m.max(0.0),
        })
        .collect();
    // Units intake knows of that dispatch did not list (e.g. reported by an event only).
    for unit_id in i.units() {
        if !units.iter().any(|u| u.unit_id == unit_id) {
            units.push(doc::Unit {
                unit_id,
                callsign: String::new(),
                unit_kind: String::new(),
                dispatch_id: i.dispatch_id.clone(),
                assignment_id: String::new(),
                status: String::new(),
                assigned_at: None,
                acknowledged_at: None,
                en_route_at: None,
                on_scene_at: None,
                ended_at: None,
                distance_m: 0.0,
            });
        }
    }
    units
}

fn entry(e: &EntryRecord) -> doc::TimelineEntry {
    doc::TimelineEntry {
        entry_id: e.entry_id.clone(),
        at: e.at,
        kind: TimelineEntryKind::try_from(e.kind)
            .map(|k| short(k.as_str_name(), "TIMELINE_ENTRY_KIND_"))
            .unwrap_or_else(|_| "UNSPECIFIED".into()),
        source: e.source.clone(),
        summary: e.summary.clone(),
        actor: actor(Some(&ActorMsg {
            subject: e.actor_subject.clone(),
            role: e.actor_role.clone(),
            display_name: String::new(),
        })),
        from_status: status(e.from_status),
        to_status: status(e.to_status),
        unit_id: e.unit_id.clone(),
        related_id: e.related_id.clone(),
    }
}

fn transfer(t: &TransferMsg) -> doc::Transfer {
    doc::Transfer {
        transfer_id: t.transfer_id.clone(),
        direction: match TransferDirection::try_from(t.direction) {
            Ok(TransferDirection::From12345) => "FROM_12345".into(),
            _ => "TO_12345".into(),
        },
        status: TransferStatus::try_from(t.status)
            .map(|k| short(k.as_str_name(), "TRANSFER_STATUS_"))
            .unwrap_or_default(),
        hotline_ticket_id: t.hotline_ticket_id.clone(),
        department: t.department.clone(),
        reason: t.reason.clone(),
        outcome_note: t.outcome_note.clone(),
        deadline: ts(t.deadline.as_ref()),
        overdue: t.overdue,
        created_at: ts(t.created_at.as_ref()).unwrap_or_default(),
        updated_at: ts(t.updated_at.as_ref()).unwrap_or_default(),
    }
}

/// Operators' notes on the timeline, and the closing narratives of the dispatches.
fn notes(s: &Sources<'_>) -> Vec<Note> {
    let mut notes: Vec<Note> = s
        .entries
        .iter()
        .filter(|e| e.kind == TimelineEntryKind::Note as i32 && !e.summary.trim().is_empty())
        .map(|e| Note {
            note_id: e.entry_id.clone(),
            at: e.at,
            author: actor(Some(&ActorMsg {
                subject: e.actor_subject.clone(),
                role: e.actor_role.clone(),
                display_name: String::new(),
            })),
            text: e.summary.clone(),
        })
        .collect();
    for d in s.dispatches {
        if !d.narrative.trim().is_empty() {
            notes.push(Note {
                note_id: format!("narrative-{}", d.dispatch_id),
                at: ts(d.closed_at.as_ref())
                    .or(ts(d.updated_at.as_ref()))
                    .unwrap_or(s.now),
                author: actor(d.closed_by.as_ref()),
                text: d.narrative.clone(),
            });
        }
    }
    notes
}
