//! Domain ↔ protobuf.

use chrono::{DateTime, Utc};
use pingan_platform::time::to_timestamp as timestamp;
use pingan_proto::common::v1::{Actor, Channel, Priority as PbPriority};
use pingan_proto::triage::v1 as pb;
use prost::Message;

use crate::domain::classify::{Classification, Effect};
use crate::domain::transfer::{DeliveryView, Direction, Status};
use crate::domain::{Kind, Priority};
use crate::store::{DeadLetterRow, HistoryRow, TransferRow};

/// The proto kind.
pub fn kind(kind: Kind) -> pb::Kind {
    match kind {
        Kind::Police => pb::Kind::Police,
        Kind::Joint => pb::Kind::Joint,
        Kind::ComplaintAboutPolice => pb::Kind::ComplaintAboutPolice,
        Kind::NonPolice => pb::Kind::NonPolice,
        Kind::Invalid => pb::Kind::Invalid,
    }
}

/// The proto priority.
pub fn priority(p: Priority) -> PbPriority {
    match p {
        Priority::P1 => PbPriority::P1,
        Priority::P2 => PbPriority::P2,
        Priority::P3 => PbPriority::P3,
        Priority::P4 => PbPriority::P4,
    }
}

fn effect(effect: Effect) -> pb::RuleEffect {
    match effect {
        Effect::Category => pb::RuleEffect::Category,
        Effect::PriorityModifier => pb::RuleEffect::PriorityModifier,
        Effect::Negation => pb::RuleEffect::Negation,
        Effect::DangerOverride => pb::RuleEffect::DangerOverride,
        Effect::ChannelHint => pb::RuleEffect::ChannelHint,
        Effect::Fallback => pb::RuleEffect::Fallback,
        Effect::Situation => pb::RuleEffect::Situation,
    }
}

/// The proto classification.
pub fn classification(c: &Classification) -> pb::Classification {
    pb::Classification {
        kind: kind(c.kind) as i32,
        category: c.category.clone(),
        priority: priority(c.priority) as i32,
        response_target: c.response_target_secs.map(|s| prost_types::Duration {
            seconds: i64::try_from(s).unwrap_or(i64::MAX),
            nanos: 0,
        }),
        matched_rules: c
            .matched
            .iter()
            .map(|m| pb::MatchedRule {
                rule_id: m.rule_id.clone(),
                category: m.category.clone(),
                matched_words: m.words.clone(),
                effect: effect(m.effect) as i32,
                kind: m.kind.map(|k| kind(k) as i32).unwrap_or_default(),
                priority: m.priority.map(|p| priority(p) as i32).unwrap_or_default(),
                negated_words: m.negated.clone(),
                explanation: m.explanation.clone(),
            })
            .collect(),
        department: c.department.clone(),
        category_name: c.category_name.clone(),
        rules_version: c.rules_version.clone(),
        needs_confirmation: c.needs_confirmation,
        situations: c
            .situations
            .iter()
            .map(|s| pb::Situation {
                code: s.code.as_str().to_owned(),
                name: s.name.clone(),
                matched_words: s.words.clone(),
            })
            .collect(),
        unit_requirements: pingan_catalogue::proto::requirements(&c.requirements),
        catalogue_version: c.catalogue_version.clone(),
    }
}

/// The stored record of a classification, and its proto: the catalogue's conversion, shared
/// with intake.
pub use pingan_catalogue::classification::{
    from_message as classification_record, to_message as classification_message,
};

/// The classification a transfer shows: its columns, or for a row not converted yet its old
/// blob (an unreadable one shows none, as before).
fn transfer_classification(row: &TransferRow) -> Option<pb::Classification> {
    match &row.legacy_classification {
        Some(blob) => pb::Classification::decode(blob.as_slice()).ok(),
        None => row.classification.as_ref().map(classification_message),
    }
}

/// The category catalogue as ListCategories serves it.
pub fn catalogue(c: &pingan_catalogue::Catalogue) -> pb::ListCategoriesResponse {
    use pingan_catalogue::proto::{priority as catalogue_priority, requirements};
    pb::ListCategoriesResponse {
        catalogue_version: c.version.clone(),
        categories: c
            .categories
            .iter()
            .map(|category| pb::CategoryInfo {
                code: category.code.as_str().to_owned(),
                name: category.name.clone(),
                kind: kind(category.kind) as i32,
                default_priority: catalogue_priority(category.priority) as i32,
                department: category.department.clone(),
                response: requirements(&category.response),
            })
            .collect(),
        capabilities: c
            .capabilities
            .iter()
            .map(|capability| pb::CapabilityInfo {
                code: capability.code.as_str().to_owned(),
                name: capability.name.clone(),
            })
            .collect(),
        situations: c
            .situations
            .iter()
            .map(|situation| pb::SituationInfo {
                code: situation.code.as_str().to_owned(),
                name: situation.name.clone(),
                description: situation.description.clone(),
                response: requirements(&situation.response),
            })
            .collect(),
        default_response: requirements(&c.default_response),
    }
}

/// The channel's proto name (`CHANNEL_110`), as the rules file spells channel hints.
pub fn channel_name(channel: i32) -> Option<&'static str> {
    Channel::try_from(channel)
        .ok()
        .filter(|c| *c != Channel::Unspecified)
        .map(|c| c.as_str_name())
}

fn status(text: &str) -> i32 {
    Status::parse(text)
        .map(|s| s.to_proto() as i32)
        .unwrap_or_default()
}

/// A ledger row as the API shows it; `phone` is the clear number for roles allowed to see it.
pub fn transfer(
    row: &TransferRow,
    history: &[HistoryRow],
    delivery: Option<&DeliveryView>,
    phone: Option<String>,
    now: DateTime<Utc>,
) -> pb::Transfer {
    let status_now = Status::parse(&row.status);
    let pending = status_now == Some(Status::Pending);
    let overdue =
        row.deadline.is_some_and(|d| d < now) && !status_now.is_some_and(Status::is_closed);
    let pending_delivery = delivery.filter(|d| d.pending);
    pb::Transfer {
        transfer_id: row.transfer_id.clone(),
        direction: match Direction::parse(&row.direction) {
            Some(d) => d.to_proto() as i32,
            None => 0,
        },
        status: status(&row.status),
        hotline_ticket_id: row.hotline_ticket_id.clone().unwrap_or_default(),
        incident_id: row.incident_id.clone(),
        complaint_id: row.complaint_id.clone(),
        classification: transfer_classification(row),
        department: row.department.clone(),
        description: row.description.clone(),
        caller_phone_masked: row.caller_phone_masked.clone(),
        caller_phone: phone.unwrap_or_default(),
        caller_name: row.caller_name.clone(),
        location: match (row.lat, row.lon) {
            (Some(lat), Some(lon)) => Some(pingan_proto::common::v1::GeoPoint { lat, lon }),
            _ => None,
        },
        address: row.address.clone(),
        reason: row.reason.clone(),
        first_received_on: Channel::from_str_name(&row.first_received_on)
            .map(|c| c as i32)
            .unwrap_or_default(),
        first_received_at: Some(timestamp(row.first_received_at)),
        deadline: row.deadline.map(timestamp),
        overdue,
        delivery_attempts: delivery.map(|d| d.attempts).unwrap_or_default(),
        last_delivery_error: if pending {
            pending_delivery
                .map(|d| d.last_error.clone())
                .unwrap_or_default()
        } else {
            String::new()
        },
        next_attempt_at: pending_delivery.map(|d| timestamp(d.next_attempt_at)),
        outcome_note: row.outcome_note.clone(),
        history: history
            .iter()
            .map(|h| pb::TransferStatusChange {
                from_status: status(&h.from_status),
                to_status: status(&h.to_status),
                at: Some(timestamp(h.at)),
                actor: Some(Actor {
                    subject: h.actor_subject.clone(),
                    role: h.actor_role.clone(),
                    display_name: String::new(),
                }),
                note: h.note.clone(),
            })
            .collect(),
        created_at: Some(timestamp(row.created_at)),
        updated_at: Some(timestamp(row.updated_at)),
    }
}

/// A dead letter as the API shows it.
pub fn dead_letter(row: &DeadLetterRow) -> pb::DeadLetter {
    pb::DeadLetter {
        delivery_id: row.delivery_id.clone(),
        transfer_id: row.transfer_id.clone(),
        action: row.action.clone(),
        destination: crate::app::delivery::destination(&row.action).to_owned(),
        reason: row.last_error.clone(),
        attempts: row.attempts,
        dead_at: Some(timestamp(row.updated_at)),
    }
}
