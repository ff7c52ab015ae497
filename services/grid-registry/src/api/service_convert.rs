//! Service requests as API messages. The applicant's phone is masked here; the read handlers
//! open it for the roles allowed (the answers of the mutating RPCs are stored for repeats and
//! keep it masked).

use pingan_proto::grid::v1 as pb;

use super::convert::{actor, duration, ts, ts_opt};
use crate::domain::Millis;
use crate::domain::service_report::ReportRow;
use crate::domain::service_request::{RequestEvent, RequestItem, ServiceRequest, TypeSpec};

fn item(i: &RequestItem) -> pb::ServiceRequestItem {
    pb::ServiceRequestItem {
        key: i.key.clone(),
        description: i.description.clone(),
        requirement: i.requirement,
        done: i.completed_at.is_some(),
        completed_at: ts_opt(i.completed_at),
        completed_by: i.completed_by.as_ref().map(actor),
        note: i.note.clone(),
    }
}

/// A request as of `now` (for `overdue`), phone masked.
pub(crate) fn present(r: &ServiceRequest, now: Millis) -> pb::ServiceRequest {
    pb::ServiceRequest {
        service_request_id: r.service_request_id.clone(),
        r#type: r.kind,
        status: r.status,
        outcome: r.outcome,
        station_id: r.station_id.clone(),
        grid_id: r.grid_id.clone(),
        resident_id: r.resident_id.clone(),
        applicant_name: r.applicant_name.clone(),
        applicant_phone_masked: r.applicant_phone.masked.clone(),
        applicant_phone: String::new(),
        channel: r.channel,
        officer_id: r.officer_id.clone(),
        description: r.description.clone(),
        requested_at: ts(r.requested_at),
        due_at: ts(r.due_at),
        overdue: r.overdue(now),
        submitted_at: ts_opt(r.submitted_at),
        submit_note: r.submit_note.clone(),
        closed_at: ts_opt(r.closed_at),
        close_note: r.close_note.clone(),
        items: r.items.iter().map(item).collect(),
        opened_by: Some(actor(&r.opened_by)),
        updated_at: ts(r.updated_at),
    }
}

/// One step of the history.
pub(crate) fn event(e: &RequestEvent) -> pb::ServiceRequestEvent {
    pb::ServiceRequestEvent {
        kind: e.kind,
        at: ts(e.at),
        actor: Some(actor(&e.actor)),
        item_key: e.item_key.clone(),
        status: e.status,
        outcome: e.outcome,
        note: e.note.clone(),
    }
}

/// A type of the catalogue.
pub(crate) fn type_spec(t: &TypeSpec) -> pb::ServiceRequestTypeSpec {
    pb::ServiceRequestTypeSpec {
        r#type: t.kind as i32,
        name: t.name.clone(),
        deadline: duration(t.deadline_ms),
        items: t
            .items
            .iter()
            .map(|i| pb::ChecklistItemSpec {
                key: i.key.clone(),
                description: i.description.clone(),
                requirement: i.requirement as i32,
            })
            .collect(),
    }
}

/// A row of the report.
pub(crate) fn report_row(r: &ReportRow) -> pb::ServiceRequestReportRow {
    pb::ServiceRequestReportRow {
        station_id: r.station_id.clone(),
        r#type: r.kind,
        opened: r.opened,
        submitted: r.submitted,
        open: r.open,
        closed_done: r.closed_done,
        closed_rejected: r.closed_rejected,
        closed_withdrawn: r.closed_withdrawn,
        overdue: r.overdue,
        submitted_on_time: r.submitted_on_time,
        share_submitted_on_time: r.share_submitted_on_time,
        p50_hours_to_submit: r.p50_hours_to_submit,
        p90_hours_to_submit: r.p90_hours_to_submit,
    }
}
