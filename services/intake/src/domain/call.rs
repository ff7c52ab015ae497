//! One call as stored.

use chrono::{DateTime, Utc};

/// One call as stored (the clear phone number only sealed).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct CallRecord {
    pub call_id: String,
    pub incident_id: String,
    pub request_id: String,
    pub channel: i32,
    pub source_call_id: String,
    pub caller_phone_masked: String,
    pub caller_phone_sealed: Option<Vec<u8>>,
    pub caller_phone_index: String,
    pub caller_name: String,
    pub has_location: bool,
    pub lat: f64,
    pub lon: f64,
    pub address: String,
    pub description: String,
    pub reported_category: String,
    pub inbound_transfer_id: String,
    pub received_at: DateTime<Utc>,
    pub duplicate: bool,
    pub distance_m: f64,
    pub created_at: DateTime<Utc>,
    /// The incident the call was saved under (it keeps resolving after a link).
    pub first_incident_id: String,
    /// The first answer ReportCall gave for the call (a repeat returns it).
    pub answer_incident_id: Option<String>,
    pub answer_outcome: i32,
}
