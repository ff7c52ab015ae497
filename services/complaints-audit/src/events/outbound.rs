//! The events complaints-audit emits (enqueued by the use cases in their transaction).

use chrono::{DateTime, Utc};
use pingan_proto::audit::v1::{ComplaintAnswered, ComplaintFiled, ComplaintSource, Finding};

use crate::domain::records::{ComplaintRow, FindingRecord};
use pingan_platform::time::to_timestamp;

/// A complaint was filed (triage links a 12345 ticket, intake a 110 call).
pub fn complaint_filed(row: &ComplaintRow) -> ComplaintFiled {
    ComplaintFiled {
        complaint_id: row.complaint_id.clone(),
        case_number: row.case_number.clone(),
        source: ComplaintSource::from_str_name(&row.source).unwrap_or_default() as i32,
        hotline_ticket_id: row.hotline_ticket_id.clone(),
        transfer_id: row.transfer_id.clone(),
        incident_id: row.incident_id.clone(),
        received_at: Some(to_timestamp(row.received_at)),
    }
}

/// The approved finding of a 12345 complaint, to answer back through triage.
pub fn complaint_answered(
    row: &ComplaintRow,
    finding: &FindingRecord,
    at: DateTime<Utc>,
) -> ComplaintAnswered {
    ComplaintAnswered {
        complaint_id: row.complaint_id.clone(),
        case_number: row.case_number.clone(),
        hotline_ticket_id: row.hotline_ticket_id.clone(),
        transfer_id: row.transfer_id.clone(),
        finding: Finding::from_str_name(&finding.head.finding).unwrap_or_default() as i32,
        reply_text: finding.head.reply_text.clone(),
        answered_at: Some(to_timestamp(at)),
    }
}
