//! Complaint workflow: filing (by RPC or from a 12345 ticket), assignment, evidence and the
//! finding with its two-person review. Each step runs in the caller's transaction, records
//! itself in the audit log and emits the events other services need.

use chrono::{DateTime, Datelike, FixedOffset, Utc};
use pingan_platform::ApiError;
use pingan_platform::auth::Caller;
use pingan_platform::pii::{PiiKind, mask_id_number, mask_phone};
use pingan_platform::storage::Tx;
use pingan_proto::audit::v1::{
    Accused, AddEvidenceRequest, AssignInvestigatorRequest, ComplaintAnswered, ComplaintFiled,
    ComplaintFinding, ComplaintSource, ComplaintStatus, EvidenceKind, EvidenceStatus, Finding,
    FindingStep, HotlineReplyStatus, InvestigationStage, RecordFindingRequest,
};
use pingan_proto::common::v1::Actor;
use prost::Message as _;

use crate::convert::ts;
use crate::core::{Core, audit_own, require_visible, rule_error};
use crate::domain::complaint::{self, Deadlines, FindingParties};
use crate::evidence::{FetchedTimeline, sha256_hex, timeline_row};
use crate::store::Conn;
use crate::store::complaints::{self, AccusedRow, ComplaintRow, EvidenceRow};

/// A complaint to file, validated.
#[derive(Debug, Clone, Default)]
pub struct NewComplaint {
    pub source: ComplaintSource,
    pub hotline_ticket_id: String,
    pub transfer_id: String,
    pub name: String,
    pub phone: String,
    pub id_number: String,
    pub address: String,
    pub confidential: bool,
    pub accused: Vec<Accused>,
    pub incident_id: String,
    pub allegation: String,
    pub tags: Vec<String>,
    pub occurred_at: Option<DateTime<Utc>>,
    pub station_id: String,
    pub received_at: DateTime<Utc>,
}

fn accused_rows(complaint_id: &str, accused: &[Accused]) -> Vec<AccusedRow> {
    accused
        .iter()
        .enumerate()
        .map(|(position, a)| AccusedRow {
            complaint_id: complaint_id.to_owned(),
            position: i32::try_from(position).unwrap_or(i32::MAX),
            officer_id: a.officer_id.trim().to_owned(),
            unit_id: a.unit_id.trim().to_owned(),
            station_id: a.station_id.trim().to_owned(),
            description: a.description.clone(),
        })
        .collect()
}

fn bureau_year(at: DateTime<Utc>) -> i64 {
    let offset = FixedOffset::east_opt(8 * 3600);
    offset.map_or(i64::from(at.year()), |o| {
        i64::from(at.with_timezone(&o).year())
    })
}

/// Files a complaint in `tx`. A 12345 ticket already filed returns the existing complaint
/// (idempotent on the ticket id). `timeline` is the linked incident's dispatch timeline as
/// fetched before the transaction (or why it could not be).
pub async fn file(
    core: &Core,
    tx: &mut Tx,
    new: NewComplaint,
    filed_by: &Actor,
    timeline: Option<Result<FetchedTimeline, String>>,
) -> Result<ComplaintRow, ApiError> {
    if new.source == ComplaintSource::Hotline12345
        && let Some(existing) =
            complaints::by_ticket(Conn::Tx(&mut *tx), &new.hotline_ticket_id).await?
    {
        return Ok(existing);
    }
    if new.source == ComplaintSource::Call110
        && let Some(existing) = complaints::by_source_incident(
            Conn::Tx(&mut *tx),
            ComplaintSource::Call110.as_str_name(),
            &new.incident_id,
        )
        .await?
    {
        return Ok(existing);
    }
    let now = core.now();
    let received_at = crate::domain::audit::to_micros(new.received_at);
    let complaint_id = uuid::Uuid::now_v7().to_string();
    let year = bureau_year(received_at);
    let number = complaints::next_case_number(tx, year).await?;
    let pii = &core.context.pii;
    let seal = |value: &str| -> Result<Option<Vec<u8>>, ApiError> {
        if value.is_empty() {
            Ok(None)
        } else {
            pii.encrypt(value).map(Some).map_err(ApiError::internal)
        }
    };
    let station_id = if new.station_id.is_empty() {
        new.accused
            .iter()
            .map(|a| a.station_id.trim())
            .find(|s| !s.is_empty())
            .unwrap_or_default()
            .to_owned()
    } else {
        new.station_id.clone()
    };
    let deadlines = Deadlines::from_received(received_at, &core.settings);
    let hotline = new.source == ComplaintSource::Hotline12345;
    let row = ComplaintRow {
        complaint_id: complaint_id.clone(),
        case_number: format!("TS-{year}-{number:06}"),
        source: new.source.as_str_name().to_owned(),
        hotline_ticket_id: new.hotline_ticket_id.clone(),
        transfer_id: new.transfer_id.clone(),
        complainant_name: new.name.clone(),
        complainant_phone_sealed: seal(&new.phone)?,
        complainant_phone_index: if new.phone.is_empty() {
            String::new()
        } else {
            pii.blind_index(PiiKind::Phone, &new.phone)
        },
        complainant_phone_masked: if new.phone.is_empty() {
            String::new()
        } else {
            mask_phone(&new.phone)
        },
        complainant_id_sealed: seal(&new.id_number)?,
        complainant_id_index: if new.id_number.is_empty() {
            String::new()
        } else {
            pii.blind_index(PiiKind::IdNumber, &new.id_number)
        },
        complainant_id_masked: if new.id_number.is_empty() {
            String::new()
        } else {
            mask_id_number(&new.id_number)
        },
        complainant_address: new.address.clone(),
        confidential: new.confidential,
        incident_id: new.incident_id.clone(),
        allegation: new.allegation.clone(),
        allegation_tags: new.tags.join("\n"),
        occurred_at: new.occurred_at.map(crate::domain::audit::to_micros),
        station_id,
        status: ComplaintStatus::Received.as_str_name().to_owned(),
        stage: String::new(),
        investigator_id: String::new(),
        legal_reviewer_id: String::new(),
        receipt_due_at: deadlines.receipt,
        receipt_met_at: None,
        preliminary_due_at: deadlines.preliminary,
        preliminary_met_at: None,
        investigation_due_at: deadlines.investigation,
        investigation_met_at: None,
        finding: String::new(),
        finding_record: None,
        hotline_reply_status: if hotline {
            HotlineReplyStatus::AwaitingFinding
        } else {
            HotlineReplyStatus::NotApplicable
        }
        .as_str_name()
        .to_owned(),
        hotline_replied_at: None,
        received_at,
        filed_by_subject: filed_by.subject.clone(),
        filed_by_role: filed_by.role.clone(),
        closed_at: None,
        created_at: now,
        updated_at: now,
    };
    complaints::insert(tx, &row, &accused_rows(&complaint_id, &new.accused)).await?;
    if !row.incident_id.is_empty() {
        let fetched = timeline.unwrap_or_else(|| Err("not fetched yet".to_owned()));
        let evidence = timeline_row(
            core,
            &complaint_id,
            &row.incident_id,
            "",
            fetched,
            filed_by,
            true,
        );
        complaints::insert_evidence(tx, &evidence).await?;
    }
    let event = ComplaintFiled {
        complaint_id: complaint_id.clone(),
        case_number: row.case_number.clone(),
        source: new.source as i32,
        hotline_ticket_id: row.hotline_ticket_id.clone(),
        transfer_id: row.transfer_id.clone(),
        incident_id: row.incident_id.clone(),
        received_at: Some(ts(received_at)),
    };
    core.context
        .outbox
        .enqueue(tx, &complaint_id, &event)
        .await?;
    let detail = format!("{} filed ({})", row.case_number, new.source.as_str_name());
    audit_own(
        core,
        tx,
        filed_by,
        "FileComplaint",
        "complaint",
        &complaint_id,
        &row.station_id,
        &detail,
    )
    .await?;
    tracing::info!(complaint_id = %complaint_id, case_number = %row.case_number, "complaint filed");
    Ok(row)
}

/// Loads and locks a complaint the caller may see.
pub async fn load_locked(
    tx: &mut Tx,
    caller: &Caller,
    complaint_id: &str,
) -> Result<ComplaintRow, ApiError> {
    let not_found = || ApiError::NotFound(format!("complaint {complaint_id}"));
    if !complaints::lock(tx, complaint_id).await? {
        return Err(not_found());
    }
    let row = complaints::get(Conn::Tx(&mut *tx), complaint_id)
        .await?
        .ok_or_else(not_found)?;
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
    let mut row = load_locked(tx, caller, &request.complaint_id).await?;
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
        let fetched = timeline.unwrap_or_else(|| Err("not fetched yet".to_owned()));
        let evidence = timeline_row(core, &row.complaint_id, incident, "", fetched, actor, true);
        complaints::insert_evidence(tx, &evidence).await?;
    }
    if !request.accused.is_empty() {
        complaints::replace_accused(
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
    complaints::update(tx, &row).await?;
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
        actor,
        "AssignInvestigator",
        "complaint",
        &row.complaint_id,
        &row.station_id,
        &detail,
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
    let row = load_locked(tx, caller, &request.complaint_id).await?;
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
                fetched,
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
                captured_at: crate::convert::from_ts(request.captured_at.as_ref()),
                covers_start: request
                    .covers
                    .as_ref()
                    .and_then(|c| crate::convert::from_ts(c.start.as_ref())),
                covers_end: request
                    .covers
                    .as_ref()
                    .and_then(|c| crate::convert::from_ts(c.end.as_ref())),
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
                next_fetch_at: None,
                pending_reason: String::new(),
            }
        }
    };
    complaints::insert_evidence(tx, &evidence).await?;
    let detail = format!(
        "{} {} sha256 {}",
        evidence.kind, evidence.evidence_id, evidence.content_sha256
    );
    audit_own(
        core,
        tx,
        actor,
        "AddEvidence",
        "complaint",
        &row.complaint_id,
        &row.station_id,
        &detail,
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
    let mut row = load_locked(tx, caller, &request.complaint_id).await?;
    let status = ComplaintStatus::from_str_name(&row.status).unwrap_or_default();
    let step = FindingStep::try_from(request.step).unwrap_or_default();
    let mut record = crate::convert::finding(&row).unwrap_or_default();
    let proposer = record
        .proposed_by
        .as_ref()
        .map(|a| a.subject.clone())
        .unwrap_or_default();
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
            let evidence = complaints::evidence(
                Conn::Tx(&mut *tx),
                &core.context.db,
                &row.complaint_id,
                false,
            )
            .await?;
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
            record = ComplaintFinding {
                finding: request.finding,
                reasoning: request.reasoning.clone(),
                actions: request.actions.clone(),
                evidence_ids: request.evidence_ids.clone(),
                legal_opinion: request.legal_opinion.clone(),
                reply_text: request.reply_text.clone(),
                proposed_by: Some(actor.clone()),
                proposed_at: Some(ts(now)),
                ..ComplaintFinding::default()
            };
            row.finding = Finding::try_from(request.finding)
                .unwrap_or_default()
                .as_str_name()
                .to_owned();
            row.preliminary_met_at = row.preliminary_met_at.or(Some(now));
        }
        FindingStep::Approve | FindingStep::Return => {
            record.reviewed_by = Some(actor.clone());
            record.reviewed_at = Some(ts(now));
            request.review_notes.clone_into(&mut record.review_notes);
            if !request.legal_opinion.trim().is_empty() {
                request.legal_opinion.clone_into(&mut record.legal_opinion);
            }
            if step == FindingStep::Approve {
                record.approved = true;
                row.investigation_met_at = Some(now);
                row.preliminary_met_at = row.preliminary_met_at.or(Some(now));
                row.closed_at = Some(now);
            } else {
                record.approved = false;
                row.finding.clear();
            }
        }
        FindingStep::Unspecified => {}
    }
    row.status = next.as_str_name().to_owned();
    row.finding_record = Some(record.encode_to_vec());
    row.updated_at = now;
    let answer =
        step == FindingStep::Approve && row.source == ComplaintSource::Hotline12345.as_str_name();
    if answer {
        row.hotline_reply_status = HotlineReplyStatus::Pending.as_str_name().to_owned();
    }
    complaints::update(tx, &row).await?;
    if answer {
        let event = ComplaintAnswered {
            complaint_id: row.complaint_id.clone(),
            case_number: row.case_number.clone(),
            hotline_ticket_id: row.hotline_ticket_id.clone(),
            transfer_id: row.transfer_id.clone(),
            finding: record.finding,
            reply_text: record.reply_text.clone(),
            answered_at: Some(ts(now)),
        };
        core.context
            .outbox
            .enqueue(tx, &row.complaint_id, &event)
            .await?;
    }
    let finding_name = Finding::try_from(record.finding)
        .unwrap_or_default()
        .as_str_name();
    let detail = format!("{} {}", step.as_str_name(), finding_name);
    audit_own(
        core,
        tx,
        actor,
        "RecordFinding",
        "complaint",
        &row.complaint_id,
        &row.station_id,
        &detail,
    )
    .await?;
    Ok(row)
}

/// 12345 acknowledged the answer: the reply is SENT.
pub async fn mark_replied(
    tx: &mut Tx,
    transfer_id: &str,
    at: DateTime<Utc>,
) -> Result<bool, ApiError> {
    let Some(mut row) = complaints::by_transfer(Conn::Tx(&mut *tx), transfer_id).await? else {
        return Ok(false);
    };
    if row.hotline_reply_status != HotlineReplyStatus::Pending.as_str_name() {
        return Ok(false);
    }
    row.hotline_reply_status = HotlineReplyStatus::Sent.as_str_name().to_owned();
    row.hotline_replied_at = Some(at);
    row.updated_at = at;
    complaints::update(tx, &row).await?;
    Ok(true)
}
