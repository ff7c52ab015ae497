//! The rows the ledger stores, one typed column per field (lists in child tables).

use chrono::{DateTime, Utc};
use pingan_proto::common::v1::Actor;

/// One ledger row.
#[derive(Debug, Clone, PartialEq)]
pub struct TransferRow {
    pub transfer_id: String,
    pub direction: String,
    pub status: String,
    pub hotline_ticket_id: Option<String>,
    pub incident_id: String,
    pub complaint_id: String,
    pub origin_transfer_id: String,
    pub route: String,
    /// The classification the transfer was made on (`None`: none readable).
    pub classification: Option<ClassificationRecord>,
    /// The encoded `triage.v1.Classification` of a row written before migration 0003 and not
    /// converted yet (read only: nothing writes it, an insert ignores it).
    pub legacy_classification: Option<Vec<u8>>,
    pub category: String,
    pub department: String,
    pub description: String,
    pub caller_phone_sealed: Option<Vec<u8>>,
    pub caller_phone_masked: String,
    pub caller_name: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub address: String,
    pub reason: String,
    pub first_received_on: String,
    pub first_received_at: DateTime<Utc>,
    pub deadline: Option<DateTime<Utc>>,
    pub outcome_note: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The classification a transfer was made on: the record intake keeps too (the catalogue's).
pub use pingan_catalogue::classification::{
    ClassificationRecord, RuleMatch, SituationMatch, UnitNeed,
};

/// One status change.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct HistoryRow {
    pub from_status: String,
    pub to_status: String,
    pub at: DateTime<Utc>,
    pub actor_subject: String,
    pub actor_role: String,
    pub note: String,
}

/// A delivery of the retired `triage_deliveries` queue (read to move its pending rows into jobs
/// and to show its history).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct LegacyDelivery {
    pub delivery_id: String,
    pub transfer_id: String,
    pub action: String,
    pub payload: Vec<u8>,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: String,
}

/// A delivery given up on (a dead letter).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct DeadLetterRow {
    pub delivery_id: String,
    pub transfer_id: String,
    pub action: String,
    pub attempts: i32,
    pub last_error: String,
    pub updated_at: DateTime<Utc>,
}

/// A status change to append to a transfer's history.
#[derive(Debug, Clone, Copy)]
pub struct NewHistory<'a> {
    pub transfer_id: &'a str,
    pub from: &'a str,
    pub to: &'a str,
    pub at: DateTime<Utc>,
    pub actor: &'a Actor,
    pub note: &'a str,
}
