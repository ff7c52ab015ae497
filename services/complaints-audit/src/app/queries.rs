//! Reading complaints: one with its accused and evidence, pages of them, and the early warning.

use pingan_platform::ApiError;
use pingan_platform::auth::Caller;
use pingan_platform::storage::Tx;
use pingan_proto::audit::v1::{ComplaintStatus, Finding};

use super::Core;
use super::access::{can_see, visible_stations};
use crate::domain::records::{AccusedRow, ComplaintRow, EvidenceRow, FindingRecord};
use crate::domain::warning::{CountedComplaint, Warning, early_warnings};
use crate::store::ListFilter;

/// A complaint with its accused and evidence.
#[derive(Debug, Clone)]
pub struct ComplaintDetail {
    /// The complaint.
    pub row: ComplaintRow,
    /// Its accused, in order.
    pub accused: Vec<AccusedRow>,
    /// Its evidence, in the order attached.
    pub evidence: Vec<EvidenceRow>,
    /// Its finding, once proposed.
    pub finding: Option<FindingRecord>,
}

/// The accused and evidence of `row`, read on the pool.
pub async fn detail(
    core: &Core,
    row: ComplaintRow,
    with_content: bool,
) -> Result<ComplaintDetail, ApiError> {
    let accused = core.store.accused(&row.complaint_id).await?;
    let evidence = core.store.evidence(&row.complaint_id, with_content).await?;
    let finding = core.store.finding(&row.complaint_id).await?;
    Ok(ComplaintDetail {
        row,
        accused,
        evidence,
        finding,
    })
}

/// The accused and evidence of `row`, read in `tx` (a response of the same transaction).
pub async fn detail_in(
    core: &Core,
    tx: &mut Tx,
    row: ComplaintRow,
    with_content: bool,
) -> Result<ComplaintDetail, ApiError> {
    let accused = core.store.accused_in(tx, &row.complaint_id).await?;
    let evidence = core
        .store
        .evidence_in(tx, &row.complaint_id, with_content)
        .await?;
    let finding = core.store.finding_in(tx, &row.complaint_id).await?;
    Ok(ComplaintDetail {
        row,
        accused,
        evidence,
        finding,
    })
}

/// One complaint by id (or, when the id is empty, by case number), with its evidence content.
pub async fn get(
    core: &Core,
    caller: &Caller,
    complaint_id: &str,
    case_number: &str,
) -> Result<ComplaintDetail, ApiError> {
    let (row, what) = if complaint_id.is_empty() {
        (
            core.store.complaint_by_case_number(case_number).await?,
            case_number,
        )
    } else {
        (core.store.complaint(complaint_id).await?, complaint_id)
    };
    let row = row
        .filter(|row| can_see(caller, &row.station_id))
        .ok_or_else(|| ApiError::NotFound(format!("complaint {what}")))?;
    detail(core, row, true).await
}

/// A page of complaints the caller may see, newest received first, and the next page's token.
/// `filter.limit` is the page size.
pub async fn list(
    core: &Core,
    caller: &Caller,
    mut filter: ListFilter,
) -> Result<(Vec<ComplaintDetail>, String), ApiError> {
    filter.visible_stations = match visible_stations(caller) {
        // A caller limited to no station sees nothing.
        Some(list) if list.is_empty() => return Ok((Vec::new(), String::new())),
        Some(list) => list,
        None => String::new(),
    };
    let limit = filter.limit;
    filter.limit = limit + 1;
    filter.now = Some(core.now());
    let mut rows = core.store.list_complaints(&filter).await?;
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
    for row in rows {
        out.push(detail(core, row, false).await?);
    }
    Ok((out, next_page_token))
}

/// What ListEarlyWarnings asks for, validated.
#[derive(Debug, Clone)]
pub struct WarningQuery {
    /// Received at or after.
    pub from: chrono::DateTime<chrono::Utc>,
    /// Received before.
    pub to: chrono::DateTime<chrono::Utc>,
    /// Only this station (empty: any the caller sees).
    pub station_id: String,
    /// Complaints that list an officer (0: the configured threshold).
    pub threshold: u32,
    /// `,A,B,` of findings not counted.
    pub excluded: String,
    /// Warnings skipped (the page token).
    pub offset: usize,
    /// Page size.
    pub limit: usize,
}

/// One page of early warnings.
#[derive(Debug, Clone)]
pub struct WarningPage {
    /// The officers listed.
    pub warnings: Vec<Warning>,
    /// The threshold applied.
    pub threshold: u32,
    /// Token of the next page (empty at the end).
    pub next_page_token: String,
}

/// Officers with complaints at or above the threshold in the period.
pub async fn early_warnings_page(
    core: &Core,
    caller: &Caller,
    query: &WarningQuery,
) -> Result<WarningPage, ApiError> {
    let threshold = if query.threshold == 0 {
        core.settings.early_warning_threshold
    } else {
        query.threshold
    };
    let rows = core
        .store
        .warning_rows(query.from, query.to, &query.excluded)
        .await?;
    let closed = ComplaintStatus::Closed.as_str_name();
    let counted: Vec<CountedComplaint> = rows
        .into_iter()
        .map(|row| CountedComplaint {
            officer_id: row.officer_id,
            station_id: if row.station_id.is_empty() {
                row.complaint_station
            } else {
                row.station_id
            },
            complaint_id: row.complaint_id,
            closed: row.status == closed,
            substantiated: row.finding == Finding::Substantiated.as_str_name()
                && row.status == closed,
        })
        .filter(|c| query.station_id.is_empty() || c.station_id == query.station_id)
        .filter(|c| can_see(caller, &c.station_id))
        .collect();
    let warnings = early_warnings(&counted, usize::try_from(threshold).unwrap_or(usize::MAX));
    let next_page_token = if query.offset + query.limit < warnings.len() {
        (query.offset + query.limit).to_string()
    } else {
        String::new()
    };
    Ok(WarningPage {
        warnings: warnings
            .into_iter()
            .skip(query.offset)
            .take(query.limit)
            .collect(),
        threshold,
        next_page_token,
    })
}
