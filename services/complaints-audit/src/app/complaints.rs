//! Filing a complaint (by RPC, from a 12345 ticket or a 110 call) and 12345's acknowledgement
//! of the answer. Each runs in the caller's transaction, records itself in the audit log and
//! emits the events other services need.

use chrono::{DateTime, Datelike, Utc};
use pingan_platform::ApiError;
use pingan_platform::pii::{PiiKind, mask_id_number, mask_phone};
use pingan_platform::storage::Tx;
use pingan_platform::time::local_date;
use pingan_proto::audit::v1::{Accused, ComplaintSource, ComplaintStatus, HotlineReplyStatus};
use pingan_proto::common::v1::Actor;

use super::evidence::{self, timeline_row};
use super::{Core, audit_own, own_action};
use crate::domain::audit::to_micros;
use crate::domain::complaint::Deadlines;
use crate::domain::evidence::FetchedTimeline;
use crate::domain::records::{AccusedRow, ComplaintRow};
use crate::events::outbound;

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

pub(crate) fn accused_rows(complaint_id: &str, accused: &[Accused]) -> Vec<AccusedRow> {
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

/// The year of the bureau's calendar a complaint was received in (its case number's year).
fn bureau_year(at: DateTime<Utc>) -> i64 {
    i64::from(local_date(at).year())
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
        && let Some(existing) = core
            .store
            .complaint_by_ticket(tx, &new.hotline_ticket_id)
            .await?
    {
        return Ok(existing);
    }
    if new.source == ComplaintSource::Call110
        && let Some(existing) = core
            .store
            .complaint_by_source_incident(
                tx,
                ComplaintSource::Call110.as_str_name(),
                &new.incident_id,
            )
            .await?
    {
        return Ok(existing);
    }
    let now = core.now();
    let received_at = to_micros(new.received_at);
    let complaint_id = uuid::Uuid::now_v7().to_string();
    let year = bureau_year(received_at);
    let number = core.store.next_case_number(tx, year).await?;
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
    let deadlines = Deadlines::from_received(received_at, &core.settings, &core.calendar);
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
        occurred_at: new.occurred_at.map(to_micros),
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
    core.store
        .insert_complaint(tx, &row, &accused_rows(&complaint_id, &new.accused))
        .await?;
    if !row.incident_id.is_empty() {
        let item = timeline_row(
            core,
            &complaint_id,
            &row.incident_id,
            "",
            timeline,
            filed_by,
            true,
        );
        evidence::insert(core, tx, &item).await?;
    }
    let event = outbound::complaint_filed(&row);
    core.context
        .outbox
        .enqueue(tx, &complaint_id, &event)
        .await?;
    let detail = format!("{} filed ({})", row.case_number, new.source.as_str_name());
    audit_own(
        core,
        tx,
        own_action(filed_by, "FileComplaint", &complaint_id, &row.station_id).detail(detail),
    )
    .await?;
    tracing::info!(complaint_id = %complaint_id, case_number = %row.case_number, "complaint filed");
    Ok(row)
}

/// 12345 acknowledged the answer: the reply is SENT.
pub async fn mark_replied(
    core: &Core,
    tx: &mut Tx,
    transfer_id: &str,
    at: DateTime<Utc>,
) -> Result<bool, ApiError> {
    let Some(mut row) = core.store.complaint_by_transfer(tx, transfer_id).await? else {
        return Ok(false);
    };
    if row.hotline_reply_status != HotlineReplyStatus::Pending.as_str_name() {
        return Ok(false);
    }
    row.hotline_reply_status = HotlineReplyStatus::Sent.as_str_name().to_owned();
    row.hotline_replied_at = Some(at);
    row.updated_at = at;
    core.store.update_complaint(tx, &row).await?;
    Ok(true)
}
