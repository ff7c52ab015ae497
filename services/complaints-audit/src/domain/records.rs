//! The crate's records as stored: one typed column per field (the project's row encoding), enums
//! by their names, lists as child tables.

use chrono::{DateTime, Utc};

/// A complaint as stored.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ComplaintRow {
    pub complaint_id: String,
    pub case_number: String,
    pub source: String,
    pub hotline_ticket_id: String,
    pub transfer_id: String,
    pub complainant_name: String,
    pub complainant_phone_sealed: Option<Vec<u8>>,
    pub complainant_phone_index: String,
    pub complainant_phone_masked: String,
    pub complainant_id_sealed: Option<Vec<u8>>,
    pub complainant_id_index: String,
    pub complainant_id_masked: String,
    pub complainant_address: String,
    pub confidential: bool,
    pub incident_id: String,
    pub allegation: String,
    /// Tags joined by newlines.
    pub allegation_tags: String,
    pub occurred_at: Option<DateTime<Utc>>,
    pub station_id: String,
    pub status: String,
    pub stage: String,
    pub investigator_id: String,
    pub legal_reviewer_id: String,
    pub receipt_due_at: DateTime<Utc>,
    pub receipt_met_at: Option<DateTime<Utc>>,
    pub preliminary_due_at: DateTime<Utc>,
    pub preliminary_met_at: Option<DateTime<Utc>>,
    pub investigation_due_at: DateTime<Utc>,
    pub investigation_met_at: Option<DateTime<Utc>>,
    pub finding: String,
    pub hotline_reply_status: String,
    pub hotline_replied_at: Option<DateTime<Utc>>,
    pub received_at: DateTime<Utc>,
    pub filed_by_subject: String,
    pub filed_by_role: String,
    pub closed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One accused officer or unit.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AccusedRow {
    pub complaint_id: String,
    pub position: i32,
    pub officer_id: String,
    pub unit_id: String,
    pub station_id: String,
    pub description: String,
}

/// One complaint against one officer, for the early warning.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct WarningRow {
    pub officer_id: String,
    pub station_id: String,
    pub complaint_station: String,
    pub complaint_id: String,
    pub status: String,
    pub finding: String,
}

/// One piece of evidence.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct EvidenceRow {
    pub evidence_id: String,
    pub complaint_id: String,
    pub kind: String,
    pub status: String,
    pub title: String,
    pub description: String,
    pub uri: String,
    pub content: Option<Vec<u8>>,
    pub content_type: String,
    pub content_sha256: String,
    pub size_bytes: i64,
    pub captured_at: Option<DateTime<Utc>>,
    pub covers_start: Option<DateTime<Utc>>,
    pub covers_end: Option<DateTime<Utc>>,
    pub device_id: String,
    pub statement_by: String,
    pub source_ref: String,
    pub attached_automatically: bool,
    pub added_by_subject: String,
    pub added_by_role: String,
    pub added_at: DateTime<Utc>,
    pub fetch_incident_id: String,
    pub fetch_dispatch_id: String,
    pub fetch_attempts: i32,
    pub pending_reason: String,
}

impl EvidenceRow {
    /// True while a timeline waits to be fetched.
    pub fn is_pending(&self) -> bool {
        self.status == pingan_proto::audit::v1::EvidenceStatus::Pending.as_str_name()
    }
}

/// The finding of a complaint as stored (`complaint_findings`), without its lists.
#[derive(Debug, Clone, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct FindingRow {
    pub complaint_id: String,
    /// The finding proposed, by its enum name.
    pub finding: String,
    pub reasoning: String,
    pub legal_opinion: String,
    pub reply_text: String,
    pub proposed_by_subject: String,
    pub proposed_by_role: String,
    pub proposed_by_name: String,
    pub proposed_at: Option<DateTime<Utc>>,
    pub approved: bool,
    pub reviewed_by_subject: String,
    pub reviewed_by_role: String,
    pub reviewed_by_name: String,
    pub reviewed_at: Option<DateTime<Utc>>,
    pub review_notes: String,
}

/// One action a finding decides (`complaint_finding_actions`).
#[derive(Debug, Clone, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct FindingActionRow {
    pub complaint_id: String,
    pub position: i32,
    /// The action kind, by its enum name.
    pub kind: String,
    pub officer_id: String,
    pub detail: String,
    pub legal_basis: String,
    pub referred_to: String,
}

/// The finding of a complaint with its actions and the evidence it relies on, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FindingRecord {
    pub head: FindingRow,
    pub actions: Vec<FindingActionRow>,
    pub evidence_ids: Vec<String>,
}
