//! Stored rows for the store tests.

use chrono::{DateTime, Duration, TimeZone, Utc};
use pingan_complaints_audit::domain::records::ComplaintRow;

/// 2025-09-`day` at `hour`:00 UTC.
pub fn at(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 9, day, hour, 0, 0)
        .single()
        .unwrap()
}

/// A walk-in complaint received at `received`, at `station`.
pub fn complaint(id: &str, station: &str, received: DateTime<Utc>) -> ComplaintRow {
    ComplaintRow {
        complaint_id: id.into(),
        case_number: format!("TS-2025-{id}"),
        source: "COMPLAINT_SOURCE_WALK_IN".into(),
        hotline_ticket_id: String::new(),
        transfer_id: String::new(),
        complainant_name: "王五".into(),
        complainant_phone_sealed: Some(vec![1, 2, 3]),
        complainant_phone_index: "idx".into(),
        complainant_phone_masked: "138****5678".into(),
        complainant_id_sealed: None,
        complainant_id_index: String::new(),
        complainant_id_masked: String::new(),
        complainant_address: String::new(),
        confidential: true,
        incident_id: String::new(),
        allegation: "rude at the counter".into(),
        allegation_tags: "CONDUCT\nSERVICE".into(),
        occurred_at: Some(received - Duration::hours(2)),
        station_id: station.into(),
        status: "COMPLAINT_STATUS_RECEIVED".into(),
        stage: String::new(),
        investigator_id: String::new(),
        legal_reviewer_id: String::new(),
        receipt_due_at: received + Duration::hours(24),
        receipt_met_at: None,
        preliminary_due_at: received + Duration::days(3),
        preliminary_met_at: None,
        investigation_due_at: received + Duration::days(30),
        investigation_met_at: None,
        finding: String::new(),
        hotline_reply_status: "HOTLINE_REPLY_STATUS_NOT_APPLICABLE".into(),
        hotline_replied_at: None,
        received_at: received,
        filed_by_subject: "officer-1".into(),
        filed_by_role: "station_officer".into(),
        closed_at: None,
        created_at: received,
        updated_at: received,
    }
}
