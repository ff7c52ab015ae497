//! Investigating a complaint: assignment, evidence and the finding with its two-person review.
//! Each step runs in the caller's transaction, records itself in the audit log and emits the
//! events other services need.

use pingan_platform::ApiError;
use pingan_platform::auth::Caller;
use pingan_platform::storage::Tx;
use pingan_proto::audit::v1::{
    ActionKind, AddEvidenceRequest, AssignInvestigatorRequest, ComplaintSource, ComplaintStatus,
    EvidenceKind, EvidenceStatus, Finding, FindingStep, HotlineReplyStatus, InvestigationStage,
    RecordFindingRequest,
};
use pingan_proto::common::v1::Actor;

use super::access::require_visible;
use super::complaints::accused_rows;
use super::evidence::{self as evidence_items, timeline_row};
use super::{Core, audit_own, own_action, rule_error};
use crate::domain::complaint::{self, FindingParties};
use crate::domain::evidence::{FetchedTimeline, sha256_hex};
use crate::domain::records::{
    ComplaintRow, EvidenceRow, FindingActionRow, FindingRecord, FindingRow,
};
use crate::events::outbound;
use pingan_platform::time::from_timestamp;

/// Loads and locks a complaint the caller may see.
pub async fn load_locked(
    core: &Core,
    tx: &mut Tx,
    caller: &Caller,
    complaint_id: &str,
) -> Result<ComplaintRow, ApiError> {
    let row = core
        .store
        .lock_complaint(tx, complaint_id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("complaint {complaint_id}")))?;
    require_visible(caller, &row)?;
    Ok(row)
}

/// Assigns the investigator (and legal reviewer); links the incident and the accused
/// identified during the check.
pub async fn assign(
    core: &Core,
    tx: &mut Tx,
    caller: &Caller,
    actor: &Actor,
    request: &AssignInvestigatorRequest,
    stage: InvestigationStage,
    timeline: Option<Result<FetchedTimeline, String>>,
) -> Result<ComplaintRow, ApiError> {
    let mut row = load_locked(core, tx, caller, &request.complaint_id).await?;
    let status = ComplaintStatus::from_str_name(&row.status).unwrap_or_default();
    let next = complaint::assign(status, stage).map_err(rule_error)?;
    let now = core.now();
    let incident = request.incident_id.trim();
    if !incident.is_empty() && row.incident_id != incident {
        if !row.incident_id.is_empty() {
            return Err(ApiError::FailedPrecondition(format!(
                "complaint is already linked to incident {}",
                row.incident_id
            )));
        }
        incident.clone_into(&mut row.incident_id);
        let item = timeline_row(core, &row.complaint_id, incident, "", timeline, actor, true);
        evidence_items::insert(core, tx, &item).await?;
    }
    if !request.accused.is_empty() {
        core.store
            .replace_accused(
                tx,
                &row.complaint_id,
                &accused_rows(&row.complaint_id, &request.accused),
            )
            .await?;
        if row.station_id.is_empty()
            && let Some(station) = request
                .accused
                .iter()
                .map(|a| a.station_id.trim())
                .find(|s| !s.is_empty())
        {
            station.clone_into(&mut row.station_id);
        }
    }
    request
        .investigator_id
        .trim()
        .clone_into(&mut row.investigator_id);
    if !request.legal_reviewer_id.trim().is_empty() {
        request
            .legal_reviewer_id
            .trim()
            .clone_into(&mut row.legal_reviewer_id);
    }
    row.status = next.as_str_name().to_owned();
    row.stage = stage.as_str_name().to_owned();
    row.receipt_met_at = row.receipt_met_at.or(Some(now));
    if stage == InvestigationStage::FullInvestigation {
        row.preliminary_met_at = row.preliminary_met_at.or(Some(now));
    }
    row.updated_at = now;
    core.store.update_complaint(tx, &row).await?;
    let detail = format!(
        "investigator {} ({}){}",
        row.investigator_id,
        stage.as_str_name(),
        if row.legal_reviewer_id.is_empty() {
            String::new()
        } else {
            format!(", legal reviewer {}", row.legal_reviewer_id)
        }
    );
    audit_own(
        core,
        tx,
        own_action(
            actor,
            "AssignInvestigator",
            &row.complaint_id,
            &row.station_id,
        )
        .detail(detail),
    )
    .await?;
    Ok(row)
}

/// Attaches evidence supplied by the caller (content hashed, or a reference with its hash), or a
/// dispatch timeline fetched on request.
pub async fn add_evidence(
    core: &Core,
    tx: &mut Tx,
    caller: &Caller,
    actor: &Actor,
    request: &AddEvidenceRequest,
    timeline: Option<Result<FetchedTimeline, String>>,
) -> Result<EvidenceRow, ApiError> {
    let row = load_locked(core, tx, caller, &request.complaint_id).await?;
    if row.status == ComplaintStatus::Closed.as_str_name() {
        return Err(ApiError::FailedPrecondition("complaint is closed".into()));
    }
    let kind = EvidenceKind::try_from(request.kind).unwrap_or_default();
    let evidence = match timeline {
        Some(fetched) => {
            let incident = row.incident_id.clone();
            let mut evidence = timeline_row(
                core,
                &row.complaint_id,
                &incident,
                request.source_ref.trim(),
                Some(fetched),
                actor,
                false,
            );
            if !request.title.trim().is_empty() {
                request.title.clone_into(&mut evidence.title);
            }
            request.description.clone_into(&mut evidence.description);
            evidence
        }
        None => {
            let content = (!request.content.is_empty()).then(|| request.content.clone());
            let (sha, size) = match &content {
                Some(content) => (
                    sha256_hex(content),
                    i64::try_from(content.len()).unwrap_or(i64::MAX),
                ),
                None => (request.content_sha256.clone(), request.size_bytes),
            };
            EvidenceRow {
                evidence_id: uuid::Uuid::now_v7().to_string(),
                complaint_id: row.complaint_id.clone(),
                kind: kind.as_str_name().to_owned(),
                status: EvidenceStatus::Attached.as_str_name().to_owned(),
                title: request.title.clone(),
                description: request.description.clone(),
                uri: request.uri.clone(),
                content,
                content_type: request.content_type.clone(),
                content_sha256: sha,
                size_bytes: size,
                captured_at: request.captured_at.as_ref().and_then(from_timestamp),
                covers_start: request
                    .covers
                    .as_ref()
                    .and_then(|c| c.start.as_ref().and_then(from_timestamp)),
                covers_end: request
                    .covers
                    .as_ref()
                    .and_then(|c| c.end.as_ref().and_then(from_timestamp)),
                device_id: request.device_id.clone(),
                statement_by: request.statement_by.clone(),
                source_ref: request.source_ref.clone(),
                attached_automatically: false,
                added_by_subject: actor.subject.clone(),
                added_by_role: actor.role.clone(),
                added_at: core.now(),
                fetch_incident_id: String::new(),
                fetch_dispatch_id: String::new(),
                fetch_attempts: 0,
                pending_reason: String::new(),
            }
        }
    };
    evidence_items::insert(core, tx, &evidence).await?;
    let detail = format!(
        "{} {} sha256 {}",
        evidence.kind, evidence.evidence_id, evidence.content_sha256
    );
    audit_own(
        core,
        tx,
        own_action(actor, "AddEvidence", &row.complaint_id, &row.station_id).detail(detail),
    )
    .await?;
    Ok(evidence)
}

/// Proposes, approves or returns the finding (two-person rule); an approved finding on a
/// 12345 complaint is answered back through triage.
pub async fn record_finding(
    core: &Core,
    tx: &mut Tx,
    caller: &Caller,
    actor: &Actor,
    request: &RecordFindingRequest,
) -> Result<ComplaintRow, ApiError> {
    let mut row = load_locked(core, tx, caller, &request.complaint_id).await?;
    let status = ComplaintStatus::from_str_name(&row.status).unwrap_or_default();
    let step = FindingStep::try_from(request.step).unwrap_or_default();
    let mut record = core
        .store
        .finding_in(tx, &row.complaint_id)
        .await?
        .unwrap_or_default();
    let proposer = record.head.proposed_by_subject.clone();
    let full = row.stage == InvestigationStage::FullInvestigation.as_str_name();
    let next = complaint::finding_step(
        status,
        step,
        FindingParties {
            caller: &caller.subject,
            investigator: &row.investigator_id,
            proposer: &proposer,
        },
        full,
    )
    .map_err(rule_error)?;
    let now = core.now();
    match step {
        FindingStep::Propose => {
            let evidence = core.store.evidence_in(tx, &row.complaint_id, false).await?;
            for id in &request.evidence_ids {
                match evidence.iter().find(|e| &e.evidence_id == id) {
                    None => {
                        return Err(ApiError::invalid(
                            "evidence_ids",
                            format!("{id} is not evidence of this complaint"),
                        ));
                    }
                    Some(e) if e.status != EvidenceStatus::Attached.as_str_name() => {
                        return Err(ApiError::FailedPrecondition(format!(
                            "evidence {id} is still pending"
                        )));
                    }
                    Some(_) => {}
                }
            }
            record = proposed(&row.complaint_id, request, actor, now);
            row.finding = record.head.finding.clone();
            row.preliminary_met_at = row.preliminary_met_at.or(Some(now));
        }
        FindingStep::Approve | FindingStep::Return => {
            let head = &mut record.head;
            actor.subject.clone_into(&mut head.reviewed_by_subject);
            actor.role.clone_into(&mut head.reviewed_by_role);
            actor.display_name.clone_into(&mut head.reviewed_by_name);
            head.reviewed_at = Some(now);
            request.review_notes.clone_into(&mut head.review_notes);
            if !request.legal_opinion.trim().is_empty() {
                request.legal_opinion.clone_into(&mut head.legal_opinion);
            }
            if step == FindingStep::Approve {
                head.approved = true;
                row.investigation_met_at = Some(now);
                row.preliminary_met_at = row.preliminary_met_at.or(Some(now));
                row.closed_at = Some(now);
            } else {
                head.approved = false;
                row.finding.clear();
            }
        }
        FindingStep::Unspecified => {}
    }
    row.status = next.as_str_name().to_owned();
    record.head.complaint_id.clone_from(&row.complaint_id);
    row.updated_at = now;
    let answer =
        step == FindingStep::Approve && row.source == ComplaintSource::Hotline12345.as_str_name();
    if answer {
        row.hotline_reply_status = HotlineReplyStatus::Pending.as_str_name().to_owned();
    }
    core.store.update_complaint(tx, &row).await?;
    core.store.put_finding(tx, &record).await?;
    if answer {
        let event = outbound::complaint_answered(&row, &record, now);
        core.context
            .outbox
            .enqueue(tx, &row.complaint_id, &event)
            .await?;
    }
    let detail = format!("{} {}", step.as_str_name(), record.head.finding);
    audit_own(
        core,
        tx,
        own_action(actor, "RecordFinding", &row.complaint_id, &row.station_id).detail(detail),
    )
    .await?;
    Ok(row)
}

/// The finding `request` proposes for `complaint_id`, by `actor` at `now`.
fn proposed(
    complaint_id: &str,
    request: &RecordFindingRequest,
    actor: &Actor,
    now: chrono::DateTime<chrono::Utc>,
) -> FindingRecord {
    let head = FindingRow {
        complaint_id: complaint_id.to_owned(),
        finding: Finding::try_from(request.finding)
            .unwrap_or_default()
            .as_str_name()
            .to_owned(),
        reasoning: request.reasoning.clone(),
        legal_opinion: request.legal_opinion.clone(),
        reply_text: request.reply_text.clone(),
        proposed_by_subject: actor.subject.clone(),
        proposed_by_role: actor.role.clone(),
        proposed_by_name: actor.display_name.clone(),
        proposed_at: Some(now),
        ..FindingRow::default()
    };
    let actions = request
        .actions
        .iter()
        .enumerate()
        .map(|(position, a)| FindingActionRow {
            complaint_id: complaint_id.to_owned(),
            position: i32::try_from(position).unwrap_or(i32::MAX),
            kind: ActionKind::try_from(a.kind)
                .unwrap_or_default()
                .as_str_name()
                .to_owned(),
            officer_id: a.officer_id.clone(),
            detail: a.detail.clone(),
            legal_basis: a.legal_basis.clone(),
            referred_to: a.referred_to.clone(),
        })
        .collect();
    FindingRecord {
        head,
        actions,
        evidence_ids: request.evidence_ids.clone(),
    }
}
