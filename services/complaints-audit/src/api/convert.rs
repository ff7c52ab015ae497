//! Stored rows → API messages, with the complainant's personal data shown in clear only to the
//! roles that need it (inspectors, the legal unit) and masked for everyone else.

use chrono::{DateTime, Utc};
use pingan_platform::pii::PiiKeys;
use pingan_platform::time::to_timestamp;
use pingan_proto::audit::v1::{
    Accused, ActionKind, AuditEntry, AuditOutcome, AuditRecord, Complainant, Complaint,
    ComplaintFinding, ComplaintSource, ComplaintStatus, Deadline, DeadlineKind, Evidence,
    EvidenceKind, EvidenceStatus, Finding, FindingAction, HotlineReplyStatus,
};
use pingan_proto::common::v1::{Actor, TimeRange};

use crate::app::queries::ComplaintDetail;
use crate::domain::audit::AuditRow;
use crate::domain::complaint::is_overdue;
use crate::domain::records::{AccusedRow, ComplaintRow, EvidenceRow, FindingRecord};

/// How much of a complaint the caller may see.
#[derive(Debug, Clone, Copy)]
pub struct View {
    /// Clear phone / ID number, name and address of the complainant.
    pub clear_pii: bool,
    /// Inline evidence content.
    pub with_content: bool,
}

/// Parses a stored enum name, defaulting to UNSPECIFIED.
macro_rules! parse_enum {
    ($ty:ty, $name:expr) => {
        <$ty>::from_str_name($name).unwrap_or_default() as i32
    };
}

fn masked_name(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => format!("{first}{}", "*".repeat(chars.count().clamp(1, 3))),
        None => String::new(),
    }
}

fn complainant(row: &ComplaintRow, pii: &PiiKeys, view: View) -> Complainant {
    let open = |sealed: &Option<Vec<u8>>| {
        sealed
            .as_deref()
            .and_then(|sealed| pii.decrypt(sealed).ok())
            .unwrap_or_default()
    };
    if view.clear_pii {
        Complainant {
            name: row.complainant_name.clone(),
            phone: open(&row.complainant_phone_sealed),
            phone_masked: row.complainant_phone_masked.clone(),
            id_number: open(&row.complainant_id_sealed),
            id_number_masked: row.complainant_id_masked.clone(),
            address: row.complainant_address.clone(),
            confidential: row.confidential,
        }
    } else {
        Complainant {
            name: masked_name(&row.complainant_name),
            phone: String::new(),
            phone_masked: row.complainant_phone_masked.clone(),
            id_number: String::new(),
            id_number_masked: row.complainant_id_masked.clone(),
            address: String::new(),
            confidential: row.confidential,
        }
    }
}

fn deadline(
    kind: DeadlineKind,
    due: DateTime<Utc>,
    met: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Deadline {
    Deadline {
        kind: kind as i32,
        due_at: Some(to_timestamp(due)),
        met_at: met.map(to_timestamp),
        overdue: is_overdue(due, met, now),
    }
}

/// The deadlines of a complaint as of `now`.
pub fn deadlines(row: &ComplaintRow, now: DateTime<Utc>) -> Vec<Deadline> {
    vec![
        deadline(
            DeadlineKind::Receipt,
            row.receipt_due_at,
            row.receipt_met_at,
            now,
        ),
        deadline(
            DeadlineKind::PreliminaryCheck,
            row.preliminary_due_at,
            row.preliminary_met_at,
            now,
        ),
        deadline(
            DeadlineKind::Investigation,
            row.investigation_due_at,
            row.investigation_met_at,
            now,
        ),
    ]
}

/// One accused, as the API shows it.
pub fn accused(row: &AccusedRow) -> Accused {
    Accused {
        officer_id: row.officer_id.clone(),
        unit_id: row.unit_id.clone(),
        station_id: row.station_id.clone(),
        description: row.description.clone(),
    }
}

/// One piece of evidence, as the API shows it.
pub fn evidence(row: &EvidenceRow, with_content: bool) -> Evidence {
    let covers = (row.covers_start.is_some() || row.covers_end.is_some()).then(|| TimeRange {
        start: row.covers_start.map(to_timestamp),
        end: row.covers_end.map(to_timestamp),
    });
    Evidence {
        evidence_id: row.evidence_id.clone(),
        kind: parse_enum!(EvidenceKind, &row.kind),
        title: row.title.clone(),
        description: row.description.clone(),
        uri: row.uri.clone(),
        content: if with_content {
            row.content.clone().unwrap_or_default()
        } else {
            Vec::new()
        },
        content_type: row.content_type.clone(),
        content_sha256: row.content_sha256.clone(),
        size_bytes: row.size_bytes,
        captured_at: row.captured_at.map(to_timestamp),
        covers,
        device_id: row.device_id.clone(),
        statement_by: row.statement_by.clone(),
        source_ref: row.source_ref.clone(),
        attached_automatically: row.attached_automatically,
        added_by: Some(Actor {
            subject: row.added_by_subject.clone(),
            role: row.added_by_role.clone(),
            display_name: String::new(),
        }),
        added_at: Some(to_timestamp(row.added_at)),
        status: parse_enum!(EvidenceStatus, &row.status),
        pending_reason: row.pending_reason.clone(),
        fetch_attempts: row.fetch_attempts,
    }
}

/// An actor named by its stored columns; none when nobody is named.
fn stored_actor(subject: &str, role: &str, display_name: &str) -> Option<Actor> {
    (!subject.is_empty() || !role.is_empty()).then(|| Actor {
        subject: subject.to_owned(),
        role: role.to_owned(),
        display_name: display_name.to_owned(),
    })
}

/// A stored finding, as the API shows it.
pub fn finding(record: &FindingRecord) -> ComplaintFinding {
    let h = &record.head;
    ComplaintFinding {
        finding: parse_enum!(Finding, &h.finding),
        reasoning: h.reasoning.clone(),
        actions: record
            .actions
            .iter()
            .map(|a| FindingAction {
                kind: parse_enum!(ActionKind, &a.kind),
                officer_id: a.officer_id.clone(),
                detail: a.detail.clone(),
                legal_basis: a.legal_basis.clone(),
                referred_to: a.referred_to.clone(),
            })
            .collect(),
        evidence_ids: record.evidence_ids.clone(),
        legal_opinion: h.legal_opinion.clone(),
        reply_text: h.reply_text.clone(),
        proposed_by: stored_actor(
            &h.proposed_by_subject,
            &h.proposed_by_role,
            &h.proposed_by_name,
        ),
        proposed_at: h.proposed_at.map(to_timestamp),
        approved: h.approved,
        reviewed_by: stored_actor(
            &h.reviewed_by_subject,
            &h.reviewed_by_role,
            &h.reviewed_by_name,
        ),
        reviewed_at: h.reviewed_at.map(to_timestamp),
        review_notes: h.review_notes.clone(),
    }
}

/// A complaint with its accused and evidence as the caller may see it.
pub fn complaint(
    detail: &ComplaintDetail,
    now: DateTime<Utc>,
    pii: &PiiKeys,
    view: View,
) -> Complaint {
    let row = &detail.row;
    let deadlines = deadlines(row, now);
    let overdue = deadlines.iter().any(|d| d.met_at.is_none() && d.overdue);
    Complaint {
        complaint_id: row.complaint_id.clone(),
        case_number: row.case_number.clone(),
        source: parse_enum!(ComplaintSource, &row.source),
        hotline_ticket_id: row.hotline_ticket_id.clone(),
        transfer_id: row.transfer_id.clone(),
        complainant: Some(complainant(row, pii, view)),
        accused: detail.accused.iter().map(accused).collect(),
        incident_id: row.incident_id.clone(),
        allegation: row.allegation.clone(),
        allegation_tags: row
            .allegation_tags
            .lines()
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect(),
        occurred_at: row.occurred_at.map(to_timestamp),
        station_id: row.station_id.clone(),
        status: parse_enum!(ComplaintStatus, &row.status),
        investigator_id: row.investigator_id.clone(),
        legal_reviewer_id: row.legal_reviewer_id.clone(),
        deadlines,
        overdue,
        evidence: detail
            .evidence
            .iter()
            .map(|e| evidence(e, view.with_content))
            .collect(),
        finding: detail.finding.as_ref().map(finding),
        hotline_reply_status: parse_enum!(HotlineReplyStatus, &row.hotline_reply_status),
        hotline_replied_at: row.hotline_replied_at.map(to_timestamp),
        received_at: Some(to_timestamp(row.received_at)),
        filed_by: Some(Actor {
            subject: row.filed_by_subject.clone(),
            role: row.filed_by_role.clone(),
            display_name: String::new(),
        }),
        closed_at: row.closed_at.map(to_timestamp),
        created_at: Some(to_timestamp(row.created_at)),
        updated_at: Some(to_timestamp(row.updated_at)),
    }
}

/// One audit row as the API shows it.
pub fn audit_entry(row: &AuditRow) -> AuditEntry {
    AuditEntry {
        sequence: row.sequence,
        entry_id: row.entry_id.clone(),
        record: Some(AuditRecord {
            actor: Some(Actor {
                subject: row.actor_subject.clone(),
                role: row.actor_role.clone(),
                display_name: row.actor_display_name.clone(),
            }),
            action: row.action.clone(),
            resource_type: row.resource_type.clone(),
            resource_id: row.resource_id.clone(),
            occurred_at: Some(to_timestamp(row.occurred_at)),
            trace_id: row.trace_id.clone(),
            source_service: row.source_service.clone(),
            outcome: parse_enum!(AuditOutcome, &row.outcome),
            station_id: row.station_id.clone(),
            detail: row.detail.clone(),
            client: row.client.clone(),
        }),
        recorded_at: Some(to_timestamp(row.recorded_at)),
        prev_hash: row.prev_hash.clone(),
        hash: row.hash.clone(),
    }
}
