//! Read requests decoded into the use cases' queries; every bad field is named at once.

use chrono::{DateTime, Utc};
use pingan_platform::auth::Caller;
use pingan_platform::{ApiError, FieldViolations};
use pingan_proto::audit::v1::{
    ComplaintSource, ComplaintStatus, Finding, ListComplaintsRequest, ListEarlyWarningsRequest,
};

use crate::app::queries::WarningQuery;
use crate::store::{ListFilter, member_list};
use pingan_platform::time::from_timestamp;

fn page_size(value: i32, field: &str, violations: &mut FieldViolations) -> i64 {
    match value {
        0 => 50,
        n if (1..=500).contains(&n) => i64::from(n),
        _ => {
            violations.add(field, "must be between 1 and 500");
            50
        }
    }
}

fn range(
    range: Option<&pingan_proto::common::v1::TimeRange>,
    field: &str,
    violations: &mut FieldViolations,
) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
    let Some(range) = range else {
        return (None, None);
    };
    let start = range.start.as_ref().and_then(from_timestamp);
    let end = range.end.as_ref().and_then(from_timestamp);
    if range.start.is_some() && start.is_none() {
        violations.add(&format!("{field}.start"), "must be a valid time");
    }
    if range.end.is_some() && end.is_none() {
        violations.add(&format!("{field}.end"), "must be a valid time");
    }
    if let (Some(s), Some(e)) = (start, end)
        && s > e
    {
        violations.add(field, "start must not be after end");
    }
    (start, end)
}

/// The filter of ListComplaints (page size in `limit`); the caller's jurisdiction and the clock
/// are added by the use case.
pub fn list_filter(
    request: &ListComplaintsRequest,
    caller: &Caller,
) -> Result<ListFilter, ApiError> {
    let mut violations = FieldViolations::default();
    let limit = page_size(request.page_size, "page_size", &mut violations);
    let mut statuses = Vec::new();
    for status in &request.statuses {
        match ComplaintStatus::try_from(*status) {
            Ok(ComplaintStatus::Unspecified) | Err(_) => {
                violations.add("statuses", "unknown status")
            }
            Ok(status) => statuses.push(status.as_str_name()),
        }
    }
    let source = match ComplaintSource::try_from(request.source) {
        Ok(ComplaintSource::Unspecified) => "",
        Ok(source) => source.as_str_name(),
        Err(_) => {
            violations.add("source", "unknown source");
            ""
        }
    };
    let finding = match Finding::try_from(request.finding) {
        Ok(Finding::Unspecified) => "",
        Ok(finding) => finding.as_str_name(),
        Err(_) => {
            violations.add("finding", "unknown finding");
            ""
        }
    };
    let (received_from, received_to) =
        range(request.received.as_ref(), "received", &mut violations);
    let after = if request.page_token.is_empty() {
        None
    } else {
        let parsed = request.page_token.split_once(':').and_then(|(micros, id)| {
            Some((
                DateTime::from_timestamp_micros(micros.parse().ok()?)?,
                id.to_owned(),
            ))
        });
        if parsed.is_none() {
            violations.add("page_token", "is not a token from a previous response");
        }
        parsed
    };
    if !request.station_id.is_empty() && !caller.can_see_station(&request.station_id) {
        violations.finish()?;
        return Err(ApiError::PermissionDenied(format!(
            "station {} is outside the caller's jurisdiction",
            request.station_id
        )));
    }
    violations.finish()?;
    Ok(ListFilter {
        statuses: member_list(statuses),
        source: source.to_owned(),
        accused_officer_id: request.accused_officer_id.clone(),
        station_id: request.station_id.clone(),
        investigator_id: request.investigator_id.clone(),
        overdue_only: request.overdue_only,
        now: None,
        received_from,
        received_to,
        finding: finding.to_owned(),
        hotline_ticket_id: request.hotline_ticket_id.clone(),
        incident_id: request.incident_id.clone(),
        visible_stations: String::new(),
        after,
        limit,
    })
}

/// The query of ListEarlyWarnings.
pub fn warning_query(request: &ListEarlyWarningsRequest) -> Result<WarningQuery, ApiError> {
    let mut violations = FieldViolations::default();
    let limit = page_size(request.page_size, "page_size", &mut violations);
    let (from, to) = range(request.range.as_ref(), "range", &mut violations);
    let bounds = request.range.as_ref();
    if bounds.and_then(|r| r.start.as_ref()).is_none() {
        violations.add("range.start", "must be set");
    }
    if bounds.and_then(|r| r.end.as_ref()).is_none() {
        violations.add("range.end", "must be set");
    }
    if request.threshold < 0 {
        violations.add("threshold", "must not be negative");
    }
    let mut excluded = Vec::new();
    for finding in &request.exclude_findings {
        match Finding::try_from(*finding) {
            Ok(Finding::Unspecified) | Err(_) => {
                violations.add("exclude_findings", "unknown finding")
            }
            Ok(finding) => excluded.push(finding.as_str_name()),
        }
    }
    let offset = if request.page_token.is_empty() {
        0
    } else {
        request.page_token.parse::<usize>().unwrap_or_else(|_| {
            violations.add("page_token", "is not a token from a previous response");
            0
        })
    };
    violations.finish()?;
    let (Some(from), Some(to)) = (from, to) else {
        return Err(ApiError::invalid("range", "must be set"));
    };
    Ok(WarningQuery {
        from,
        to,
        station_id: request.station_id.clone(),
        threshold: u32::try_from(request.threshold).unwrap_or(0),
        excluded: member_list(excluded),
        offset,
        limit: usize::try_from(limit).unwrap_or(50),
    })
}
