//! The rows the ledger stores, one typed column per field (lists in child tables).

use chrono::{DateTime, Utc};
use pingan_proto::common::v1::{Actor, Priority};
use pingan_proto::dispatch::v1::UnitKind;
use pingan_proto::triage::v1::{Kind, RuleEffect};

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

/// The classification a transfer was made on: every field of triage's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassificationRecord {
    pub kind: Kind,
    pub category: String,
    pub priority: Priority,
    /// Within which a unit must be on its way, in milliseconds; `None` when none was set.
    pub response_target_ms: Option<i64>,
    pub matched_rules: Vec<RuleMatch>,
    /// The 12345 department, for non-police business.
    pub department: String,
    pub category_name: String,
    pub rules_version: String,
    pub needs_confirmation: bool,
    pub situations: Vec<SituationMatch>,
    pub unit_requirements: Vec<UnitNeed>,
    pub catalogue_version: String,
}

impl Default for ClassificationRecord {
    fn default() -> Self {
        Self {
            kind: Kind::Unspecified,
            category: String::new(),
            priority: Priority::Unspecified,
            response_target_ms: None,
            matched_rules: Vec::new(),
            department: String::new(),
            category_name: String::new(),
            rules_version: String::new(),
            needs_confirmation: false,
            situations: Vec::new(),
            unit_requirements: Vec::new(),
            catalogue_version: String::new(),
        }
    }
}

/// One rule that matched the text, and what it did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleMatch {
    pub rule_id: String,
    pub category: String,
    pub matched_words: Vec<String>,
    pub effect: RuleEffect,
    pub kind: Kind,
    pub priority: Priority,
    pub negated_words: Vec<String>,
    pub explanation: String,
}

/// A response situation recognised in the text (e.g. WATER).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SituationMatch {
    pub code: String,
    pub name: String,
    pub matched_words: Vec<String>,
}

/// Units of one sort the response needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitNeed {
    /// Acceptable kinds (empty: any).
    pub kinds: Vec<UnitKind>,
    pub capabilities: Vec<String>,
    /// How many (0 means 1).
    pub count: i32,
}

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
