//! ListIncidents' keyset page tokens and filter encoding.

use chrono::{DateTime, SecondsFormat, Utc};

use crate::domain::IncidentRecord;

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
pub(crate) fn join_numbers(values: &[i32]) -> String {
    values
        .iter()
        .map(i32::to_string)
        .collect::<Vec<_>>()
        .join(",")
}
