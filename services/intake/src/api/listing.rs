//! ListIncidents at the edge: the request checked and resolved into the store's filter, and the
//! keyset page tokens.

use chrono::{DateTime, SecondsFormat, Utc};
use pingan_platform::auth::{Caller, Jurisdiction};
use pingan_platform::time::from_timestamp;
use pingan_platform::{ApiError, FieldViolations};
use pingan_proto::intake::v1::ListIncidentsRequest;

use crate::domain::IncidentRecord;
use crate::store::IncidentFilter;

/// Page size when the request names none.
const DEFAULT_PAGE_SIZE: i64 = 50;

/// The filter and page size of a request, every bad field named; `None` when the caller's
/// jurisdiction covers no station (an empty page).
pub(crate) fn query(
    caller: &Caller,
    req: &ListIncidentsRequest,
) -> Result<Option<(IncidentFilter, i64)>, ApiError> {
    let mut v = FieldViolations::default();
    if !(0..=500).contains(&req.page_size) {
        v.add("page_size", "must be between 0 and 500");
    }
    let after = if req.page_token.is_empty() {
        None
    } else {
        let parsed = parse_page_token(&req.page_token);
        if parsed.is_none() {
            v.add("page_token", "is not a token from a previous response");
        }
        parsed
    };
    let range = req.received.unwrap_or_default();
    let from = range.start.as_ref().map(from_timestamp);
    let to = range.end.as_ref().map(from_timestamp);
    if matches!(from, Some(None)) {
        v.add("received.start", "must be a valid timestamp");
    }
    if matches!(to, Some(None)) {
        v.add("received.end", "must be a valid timestamp");
    }
    v.finish()?;
    let jurisdiction = match &caller.jurisdiction {
        Jurisdiction::Bureau => String::new(),
        Jurisdiction::Stations(stations) if stations.is_empty() => return Ok(None),
        Jurisdiction::Stations(stations) => stations.iter().cloned().collect::<Vec<_>>().join(","),
    };
    let page_size = if req.page_size == 0 {
        DEFAULT_PAGE_SIZE
    } else {
        i64::from(req.page_size)
    };
    let filter = IncidentFilter {
        statuses: join_numbers(&req.statuses),
        grid_id: req.grid_id.clone(),
        station_id: req.station_id.clone(),
        channel: req.channel,
        received_from: from.flatten(),
        received_to: to.flatten(),
        priorities: join_numbers(&req.priorities),
        jurisdiction,
        after,
        limit: page_size,
        needs_location: req.needs_location,
    };
    Ok(Some((filter, page_size)))
}

/// The token of the page after `incident` (received time and id, hex-encoded).
pub(crate) fn page_token(incident: &IncidentRecord) -> String {
    let at = incident
        .received_at
        .to_rfc3339_opts(SecondsFormat::Nanos, true);
    hex::encode(format!("{at}|{}", incident.incident_id))
}

/// The position a token from [`page_token`] stands for; None for anything else.
pub(crate) fn parse_page_token(token: &str) -> Option<(DateTime<Utc>, String)> {
    let bytes = hex::decode(token).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (at, id) = text.split_once('|')?;
    let at = DateTime::parse_from_rfc3339(at).ok()?.with_timezone(&Utc);
    (!id.is_empty()).then(|| (at, id.to_owned()))
}

/// Enum numbers as the store's comma-separated filter.
fn join_numbers(values: &[i32]) -> String {
    values
        .iter()
        .map(i32::to_string)
        .collect::<Vec<_>>()
        .join(",")
}
