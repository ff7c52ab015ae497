//! Input checks of every request: all bad fields are named at once (INVALID_ARGUMENT).

use pingan_platform::ids::check_optional_id_number;
use pingan_platform::{ApiError, FieldViolations};
use pingan_proto::audit::v1::{
    Accused, ActionKind, AddEvidenceRequest, AssignInvestigatorRequest, AuditOutcome, AuditRecord,
    EvidenceKind, FileComplaintRequest, Finding, FindingStep, InvestigationStage,
    QueryAuditRequest, RecordFindingRequest, VerifyAuditChainRequest,
};

use crate::app::audit_log::{MAX_DETAIL_CHARS, MAX_FIELD_CHARS};
use crate::domain::evidence::{is_sha256_hex, sha256_hex};
use crate::store::AuditFilter;
use pingan_platform::time::from_timestamp;

/// Largest inline evidence.
pub const MAX_CONTENT_BYTES: usize = 4 * 1024 * 1024;
const MAX_ID: usize = 128;
const MAX_TEXT: usize = 10_000;
const MAX_SHORT: usize = 256;

fn accused(list: &[Accused], field: &str, violations: &mut FieldViolations) {
    for (i, a) in list.iter().enumerate() {
        if a.officer_id.trim().is_empty()
            && a.unit_id.trim().is_empty()
            && a.description.trim().is_empty()
        {
            violations.add(
                &format!("{field}[{i}]"),
                "needs an officer_id, a unit_id or a description",
            );
        }
        violations.require_max_chars(&format!("{field}[{i}].officer_id"), &a.officer_id, MAX_ID);
        violations.require_max_chars(&format!("{field}[{i}].unit_id"), &a.unit_id, MAX_ID);
        violations.require_max_chars(&format!("{field}[{i}].station_id"), &a.station_id, MAX_ID);
        violations.require_max_chars(
            &format!("{field}[{i}].description"),
            &a.description,
            MAX_SHORT * 4,
        );
    }
}

/// FileComplaint.
pub fn file_complaint(request: &FileComplaintRequest) -> FieldViolations {
    use pingan_proto::audit::v1::ComplaintSource;
    let mut v = FieldViolations::default();
    v.require_non_empty("request_id", &request.request_id);
    match ComplaintSource::try_from(request.source) {
        Ok(ComplaintSource::Unspecified) | Err(_) => v.add(
            "source",
            "must be HOTLINE_12345, WALK_IN, ONLINE, LETTER or CALL_110",
        ),
        Ok(ComplaintSource::Hotline12345) => {
            v.require_non_empty("hotline_ticket_id", &request.hotline_ticket_id)
        }
        Ok(ComplaintSource::Call110) => v.require_non_empty("incident_id", &request.incident_id),
        Ok(_) => {}
    }
    v.require_max_chars("hotline_ticket_id", &request.hotline_ticket_id, MAX_ID);
    v.require_max_chars("transfer_id", &request.transfer_id, MAX_ID);
    v.require_non_empty("allegation", &request.allegation);
    v.require_max_chars("allegation", &request.allegation, MAX_TEXT);
    if request.accused.is_empty() {
        v.add(
            "accused",
            "must name at least one officer or unit (a description is enough)",
        );
    }
    accused(&request.accused, "accused", &mut v);
    if let Some(c) = &request.complainant {
        pingan_platform::phone::check_optional_phone(&mut v, "complainant.phone", &c.phone);
        check_optional_id_number(&mut v, "complainant.id_number", &c.id_number);
        v.require_max_chars("complainant.name", &c.name, MAX_SHORT);
        v.require_max_chars("complainant.address", &c.address, MAX_SHORT * 2);
    }
    v.require_max_chars("incident_id", &request.incident_id, MAX_ID);
    v.require_max_chars("station_id", &request.station_id, MAX_ID);
    if request.allegation_tags.len() > 20 {
        v.add("allegation_tags", "at most 20 tags");
    }
    for (i, tag) in request.allegation_tags.iter().enumerate() {
        if tag.trim().is_empty() || tag.chars().count() > 64 || tag.contains('\n') {
            v.add(
                &format!("allegation_tags[{i}]"),
                "must be a non-empty word of at most 64 characters",
            );
        }
    }
    if request.received_at.is_some()
        && request
            .received_at
            .as_ref()
            .and_then(from_timestamp)
            .is_none()
    {
        v.add("received_at", "must be a valid time");
    }
    if request.occurred_at.is_some()
        && request
            .occurred_at
            .as_ref()
            .and_then(from_timestamp)
            .is_none()
    {
        v.add("occurred_at", "must be a valid time");
    }
    v
}

/// AssignInvestigator.
pub fn assign(request: &AssignInvestigatorRequest) -> FieldViolations {
    let mut v = FieldViolations::default();
    v.require_non_empty("request_id", &request.request_id);
    v.require_non_empty("complaint_id", &request.complaint_id);
    v.require_non_empty("investigator_id", &request.investigator_id);
    v.require_max_chars("investigator_id", &request.investigator_id, MAX_ID);
    v.require_max_chars("legal_reviewer_id", &request.legal_reviewer_id, MAX_ID);
    if !request.legal_reviewer_id.trim().is_empty()
        && request.legal_reviewer_id.trim() == request.investigator_id.trim()
    {
        v.add(
            "legal_reviewer_id",
            "must be someone other than the investigator",
        );
    }
    match InvestigationStage::try_from(request.stage) {
        Ok(InvestigationStage::Unspecified) | Err(_) => {
            v.add("stage", "must be PRELIMINARY_CHECK or FULL_INVESTIGATION")
        }
        Ok(_) => {}
    }
    v.require_max_chars("notes", &request.notes, MAX_TEXT);
    v.require_max_chars("incident_id", &request.incident_id, MAX_ID);
    accused(&request.accused, "accused", &mut v);
    v
}

/// True when AddEvidence asks for the dispatch timeline to be fetched.
pub fn wants_timeline_fetch(request: &AddEvidenceRequest) -> bool {
    request.kind == EvidenceKind::DispatchTimeline as i32
        && request.content.is_empty()
        && request.uri.trim().is_empty()
}

/// AddEvidence.
pub fn add_evidence(request: &AddEvidenceRequest) -> FieldViolations {
    let mut v = FieldViolations::default();
    v.require_non_empty("request_id", &request.request_id);
    v.require_non_empty("complaint_id", &request.complaint_id);
    match EvidenceKind::try_from(request.kind) {
        Ok(EvidenceKind::Unspecified) | Err(_) => v.add("kind", "must be set"),
        Ok(_) => {}
    }
    v.require_max_chars("title", &request.title, MAX_SHORT);
    v.require_max_chars("description", &request.description, MAX_TEXT);
    v.require_max_chars("uri", &request.uri, 2048);
    if request.content.len() > MAX_CONTENT_BYTES {
        v.add(
            "content",
            "must be at most 4 MiB (store larger content and give its uri)",
        );
    }
    if !request.content_sha256.is_empty() && !is_sha256_hex(&request.content_sha256) {
        v.add("content_sha256", "must be 64 lowercase hex digits");
    } else if !request.content.is_empty()
        && !request.content_sha256.is_empty()
        && sha256_hex(&request.content) != request.content_sha256
    {
        v.add("content_sha256", "does not match the content");
    }
    if request.content.is_empty() && !wants_timeline_fetch(request) {
        v.require_non_empty("uri", &request.uri);
        if request.content_sha256.is_empty() {
            v.add("content_sha256", "is required with a uri");
        }
        if request.size_bytes < 0 {
            v.add("size_bytes", "must not be negative");
        }
    }
    if request.captured_at.is_some()
        && request
            .captured_at
            .as_ref()
            .and_then(from_timestamp)
            .is_none()
    {
        v.add("captured_at", "must be a valid time");
    }
    v
}

/// RecordFinding.
pub fn record_finding(request: &RecordFindingRequest) -> FieldViolations {
    let mut v = FieldViolations::default();
    v.require_non_empty("request_id", &request.request_id);
    v.require_non_empty("complaint_id", &request.complaint_id);
    let step = FindingStep::try_from(request.step).unwrap_or_default();
    let finding = Finding::try_from(request.finding).unwrap_or_default();
    match step {
        FindingStep::Unspecified => v.add("step", "must be PROPOSE, APPROVE or RETURN"),
        FindingStep::Propose => {
            if finding == Finding::Unspecified {
                v.add("finding", "must be set");
            }
            v.require_non_empty("reasoning", &request.reasoning);
            v.require_non_empty("reply_text", &request.reply_text);
            if finding == Finding::MaliciousFalseReport {
                v.require_non_empty("legal_opinion", &request.legal_opinion);
            }
        }
        FindingStep::Return => v.require_non_empty("review_notes", &request.review_notes),
        FindingStep::Approve => {}
    }
    if step != FindingStep::Propose && !request.actions.is_empty() {
        v.add("actions", "are decided with PROPOSE");
    }
    for (i, action) in request.actions.iter().enumerate() {
        let field = |name: &str| format!("actions[{i}].{name}");
        match ActionKind::try_from(action.kind).unwrap_or_default() {
            ActionKind::Unspecified => v.add(&field("kind"), "must be set"),
            ActionKind::OfficerDiscipline
            | ActionKind::OfficerCleared
            | ActionKind::OfficerTraining => {
                v.require_non_empty(&field("officer_id"), &action.officer_id);
            }
            ActionKind::ComplainantPenalty => {
                v.require_non_empty(&field("legal_basis"), &action.legal_basis);
                if finding != Finding::MaliciousFalseReport {
                    v.add(
                        &field("kind"),
                        "a complainant is penalised only for a malicious false report",
                    );
                }
            }
            ActionKind::Referral => v.require_non_empty(&field("referred_to"), &action.referred_to),
            ActionKind::Apology | ActionKind::Other => {}
        }
        v.require_max_chars(&field("detail"), &action.detail, MAX_TEXT);
    }
    v.require_max_chars("reasoning", &request.reasoning, MAX_TEXT);
    v.require_max_chars("reply_text", &request.reply_text, MAX_TEXT);
    v.require_max_chars("legal_opinion", &request.legal_opinion, MAX_TEXT);
    v.require_max_chars("review_notes", &request.review_notes, MAX_TEXT);
    v
}

/// Checks a record sent through RecordAudit; every bad field is named.
pub fn audit_record(record: Option<&AuditRecord>, violations: &mut FieldViolations) {
    let Some(record) = record else {
        violations.add("record", "must be set");
        return;
    };
    match &record.actor {
        Some(actor) => {
            violations.require_non_empty("record.actor.subject", &actor.subject);
            violations.require_non_empty("record.actor.role", &actor.role);
            violations.require_max_chars("record.actor.subject", &actor.subject, MAX_FIELD_CHARS);
            violations.require_max_chars("record.actor.role", &actor.role, MAX_FIELD_CHARS);
        }
        None => violations.add("record.actor", "must be set"),
    }
    for (field, value) in [
        ("record.action", &record.action),
        ("record.resource_type", &record.resource_type),
        ("record.source_service", &record.source_service),
    ] {
        violations.require_non_empty(field, value);
        violations.require_max_chars(field, value, MAX_FIELD_CHARS);
    }
    violations.require_max_chars("record.resource_id", &record.resource_id, MAX_FIELD_CHARS);
    violations.require_max_chars("record.station_id", &record.station_id, MAX_FIELD_CHARS);
    violations.require_max_chars("record.client", &record.client, MAX_FIELD_CHARS);
    violations.require_max_chars("record.detail", &record.detail, MAX_DETAIL_CHARS);
    if record
        .occurred_at
        .as_ref()
        .and_then(from_timestamp)
        .is_none()
    {
        violations.add("record.occurred_at", "must be a valid time");
    }
    if !record.trace_id.is_empty()
        && (record.trace_id.len() != 32 || !record.trace_id.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        violations.add("record.trace_id", "must be 32 hex digits");
    }
    if AuditOutcome::try_from(record.outcome).is_err() {
        violations.add("record.outcome", "unknown outcome");
    }
    for (field, value) in [
        ("record.detail", &record.detail),
        ("record.resource_id", &record.resource_id),
        ("record.client", &record.client),
    ] {
        if pingan_platform::pii::contains_clear_pii(value) {
            violations.add(
                field,
                "must not contain a clear phone or ID number (mask it)",
            );
        }
    }
}

/// Search filters from a request; INVALID_ARGUMENT names bad fields.
pub fn audit_filter(request: &QueryAuditRequest) -> Result<AuditFilter, ApiError> {
    let mut violations = FieldViolations::default();
    let page_size = match request.page_size {
        0 => 100,
        n if (1..=1000).contains(&n) => i64::from(n),
        _ => {
            violations.add("page_size", "must be between 1 and 1000");
            100
        }
    };
    let after_sequence = if request.page_token.is_empty() {
        0
    } else {
        match request.page_token.parse::<i64>() {
            Ok(n) if n > 0 => n,
            _ => {
                violations.add("page_token", "is not a token from a previous response");
                0
            }
        }
    };
    let outcome = match AuditOutcome::try_from(request.outcome) {
        Ok(AuditOutcome::Unspecified) => String::new(),
        Ok(outcome) => outcome.as_str_name().to_owned(),
        Err(_) => {
            violations.add("outcome", "unknown outcome");
            String::new()
        }
    };
    let range = request.range.unwrap_or_default();
    let from = range.start.as_ref().and_then(from_timestamp);
    let to = range.end.as_ref().and_then(from_timestamp);
    if range.start.is_some() && from.is_none() {
        violations.add("range.start", "must be a valid time");
    }
    if range.end.is_some() && to.is_none() {
        violations.add("range.end", "must be a valid time");
    }
    if let (Some(from), Some(to)) = (from, to)
        && from > to
    {
        violations.add("range", "start must not be after end");
    }
    violations.finish()?;
    Ok(AuditFilter {
        actor_subject: request.actor_subject.clone(),
        actor_role: request.actor_role.clone(),
        action: request.action.clone(),
        resource_type: request.resource_type.clone(),
        resource_id: request.resource_id.clone(),
        source_service: request.source_service.clone(),
        trace_id: request.trace_id.clone(),
        outcome,
        station_id: request.station_id.clone(),
        from,
        to,
        newest_first: request.newest_first,
        after_sequence,
        limit: page_size,
    })
}

/// VerifyAuditChain.
pub fn verify_range(request: &VerifyAuditChainRequest) -> FieldViolations {
    let mut violations = FieldViolations::default();
    if request.from_sequence < 0 {
        violations.add("from_sequence", "must not be negative");
    }
    if request.to_sequence < 0 {
        violations.add("to_sequence", "must not be negative");
    }
    if request.to_sequence > 0 && request.from_sequence > request.to_sequence {
        violations.add("from_sequence", "must not be after to_sequence");
    }
    violations
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_numbers_need_a_valid_check_digit() {
        let bad = |id: &str| {
            let mut v = FieldViolations::default();
            check_optional_id_number(&mut v, "id", id);
            v.fields().count() == 1
        };
        assert!(!bad("11010519491231002X"));
        assert!(bad("110105194912310021"));
        assert!(bad("1101051949"));
        // The birth date is checked too (GB 11643 positions 7-14).
        assert!(bad("110105194913310021"));
    }

    #[test]
    fn hotline_complaints_need_a_ticket_and_every_bad_field_is_named() {
        let request = FileComplaintRequest {
            source: pingan_proto::audit::v1::ComplaintSource::Hotline12345 as i32,
            accused: vec![Accused::default()],
            ..FileComplaintRequest::default()
        };
        let fields: Vec<String> = file_complaint(&request)
            .fields()
            .map(str::to_owned)
            .collect();
        assert_eq!(
            fields,
            [
                "request_id",
                "hotline_ticket_id",
                "allegation",
                "accused[0]"
            ]
        );
    }
}
