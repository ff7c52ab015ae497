//! Reading complaints: one with its evidence, pages of them, and the early warning.

use chrono::{DateTime, Utc};
use pingan_platform::auth::Caller;
use pingan_platform::{ApiError, FieldViolations};
use pingan_proto::audit::v1::{
    Complaint, ComplaintSource, ComplaintStatus, EarlyWarning, Finding, ListComplaintsRequest,
    ListComplaintsResponse, ListEarlyWarningsRequest, ListEarlyWarningsResponse,
};

use crate::convert::{self, View, from_ts};
use crate::core::{Core, can_see, sees_pii, visible_stations};
use crate::domain::warning::{CountedComplaint, early_warnings};
use crate::store::Conn;
use crate::store::complaints::{self, ComplaintRow, ListFilter};
use crate::store::member_list;

/// A complaint with its accused and evidence, as `caller` may see it.
pub async fn view(
    core: &Core,
    conn: Conn<'_>,
    caller: &Caller,
    row: &ComplaintRow,
    with_content: bool,
) -> Result<Complaint, ApiError> {
    let (accused, evidence) = match conn {
        Conn::Db(db) => (
            complaints::accused(Conn::Db(db), &row.complaint_id).await?,
            complaints::evidence(
                Conn::Db(db),
                &core.context.db,
                &row.complaint_id,
                with_content,
            )
            .await?,
        ),
        Conn::Tx(tx) => (
            complaints::accused(Conn::Tx(&mut *tx), &row.complaint_id).await?,
            complaints::evidence(
                Conn::Tx(&mut *tx),
                &core.context.db,
                &row.complaint_id,
                with_content,
            )
            .await?,
        ),
    };
    Ok(convert::complaint(
        row,
        &accused,
        &evidence,
        core.now(),
        &core.context.pii,
        View {
            clear_pii: sees_pii(caller),
            with_content,
        },
    ))
}

/// One complaint by id or case number.
pub async fn get(
    core: &Core,
    caller: &Caller,
    complaint_id: &str,
    case_number: &str,
) -> Result<Complaint, ApiError> {
    let db = &core.context.db;
    let row = if complaint_id.is_empty() {
        complaints::by_case_number(Conn::Db(db), case_number).await?
    } else {
        complaints::get(Conn::Db(db), complaint_id).await?
    };
    let what = if complaint_id.is_empty() {
        case_number
    } else {
        complaint_id
    };
    let row = row
        .filter(|row| can_see(caller, &row.station_id))
        .ok_or_else(|| ApiError::NotFound(format!("complaint {what}")))?;
    view(core, Conn::Db(db), caller, &row, true).await
}

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
    let start = from_ts(range.start.as_ref());
    let end = from_ts(range.end.as_ref());
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

/// A page of complaints, newest received first.
pub async fn list(
    core: &Core,
    caller: &Caller,
    request: &ListComplaintsRequest,
) -> Result<ListComplaintsResponse, ApiError> {
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
    let visible = match visible_stations(caller) {
        // A caller limited to no station sees nothing.
        Some(list) if list.is_empty() => return Ok(ListComplaintsResponse::default()),
        Some(list) => list,
        None => String::new(),
    };
    let filter = ListFilter {
        statuses: member_list(statuses),
        source: source.to_owned(),
        accused_officer_id: request.accused_officer_id.clone(),
        station_id: request.station_id.clone(),
        investigator_id: request.investigator_id.clone(),
        overdue_only: request.overdue_only,
        now: Some(core.now()),
        received_from,
        received_to,
        finding: finding.to_owned(),
        hotline_ticket_id: request.hotline_ticket_id.clone(),
        incident_id: request.incident_id.clone(),
        visible_stations: visible,
        after,
        limit: limit + 1,
    };
    let db = &core.context.db;
    let mut rows = complaints::list(db, &filter).await?;
    let more = i64::try_from(rows.len()).unwrap_or(i64::MAX) > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    let next_page_token = match (more, rows.last()) {
        (true, Some(last)) => format!(
            "{}:{}",
            last.received_at.timestamp_micros(),
            last.complaint_id
        ),
        _ => String::new(),
    };
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        out.push(view(core, Conn::Db(db), caller, row, false).await?);
    }
    Ok(ListComplaintsResponse {
        complaints: out,
        next_page_token,
    })
}

/// Officers with complaints at or above the threshold in the period.
pub async fn early_warnings_page(
    core: &Core,
    caller: &Caller,
    request: &ListEarlyWarningsRequest,
) -> Result<ListEarlyWarningsResponse, ApiError> {
    let mut violations = FieldViolations::default();
    let limit = page_size(request.page_size, "page_size", &mut violations);
    let (from, to) = range(request.range.as_ref(), "range", &mut violations);
    if request
        .range
        .as_ref()
        .and_then(|r| r.start.as_ref())
        .is_none()
    {
        violations.add("range.start", "must be set");
    }
    if request
        .range
        .as_ref()
        .and_then(|r| r.end.as_ref())
        .is_none()
    {
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
    let threshold = if request.threshold == 0 {
        core.settings.early_warning_threshold
    } else {
        u32::try_from(request.threshold).unwrap_or(u32::MAX)
    };
    let rows = complaints::warning_rows(&core.context.db, from, to, &member_list(excluded)).await?;
    let counted: Vec<CountedComplaint> = rows
        .into_iter()
        .map(|row| {
            let station = if row.station_id.is_empty() {
                row.complaint_station
            } else {
                row.station_id
            };
            CountedComplaint {
                officer_id: row.officer_id,
                station_id: station,
                complaint_id: row.complaint_id,
                closed: row.status == ComplaintStatus::Closed.as_str_name(),
                substantiated: row.finding == Finding::Substantiated.as_str_name()
                    && row.status == ComplaintStatus::Closed.as_str_name(),
            }
        })
        .filter(|c| request.station_id.is_empty() || c.station_id == request.station_id)
        .filter(|c| can_see(caller, &c.station_id))
        .collect();
    let warnings = early_warnings(&counted, usize::try_from(threshold).unwrap_or(usize::MAX));
    let limit = usize::try_from(limit).unwrap_or(50);
    let page: Vec<EarlyWarning> = warnings
        .iter()
        .skip(offset)
        .take(limit)
        .map(|w| EarlyWarning {
            officer_id: w.officer_id.clone(),
            station_id: w.station_id.clone(),
            complaint_count: i32::try_from(w.complaint_ids.len()).unwrap_or(i32::MAX),
            substantiated_count: i32::try_from(w.substantiated).unwrap_or(i32::MAX),
            open_count: i32::try_from(w.open).unwrap_or(i32::MAX),
            complaint_ids: w.complaint_ids.clone(),
            threshold: i32::try_from(threshold).unwrap_or(i32::MAX),
        })
        .collect();
    let next_page_token = if offset + limit < warnings.len() {
        (offset + limit).to_string()
    } else {
        String::new()
    };
    Ok(ListEarlyWarningsResponse {
        warnings: page,
        next_page_token,
    })
}
