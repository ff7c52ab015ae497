//! The linked incident's dispatch timeline as evidence: fetched from dispatch when the incident
//! becomes known; while dispatch cannot be reached the item is kept PENDING and its fetch job
//! (`fetch_job`, written in the same transaction) fetches it again until it is attached.

use chrono::{DateTime, Utc};
use pingan_platform::ApiError;
use pingan_proto::audit::v1::{EvidenceKind, EvidenceStatus};
use pingan_proto::common::v1::Actor;
use pingan_proto::dispatch::v1::dispatch_service_client::DispatchServiceClient;
use pingan_proto::dispatch::v1::{
    DispatchStatus, GetDispatchTimelineRequest, TimelineEntry, TimelineEntryKind,
};

use pingan_platform::auth::Caller;
use pingan_platform::storage::Tx;

use super::access::can_see;
use super::{Core, fetch_job};
use crate::domain::evidence::{FetchedTimeline, fill, sha256_hex};
use crate::domain::records::EvidenceRow;
use pingan_platform::time::from_timestamp;

fn entry_json(entry: &TimelineEntry) -> serde_json::Value {
    let kind = TimelineEntryKind::try_from(entry.kind)
        .map(|k| k.as_str_name())
        .unwrap_or("TIMELINE_ENTRY_KIND_UNSPECIFIED");
    let status = DispatchStatus::try_from(entry.dispatch_status)
        .map(|s| s.as_str_name())
        .unwrap_or("DISPATCH_STATUS_UNSPECIFIED");
    let occurred_at = entry
        .occurred_at
        .as_ref()
        .and_then(from_timestamp)
        .map(|t| t.to_rfc3339());
    let actor = entry.actor.as_ref();
    serde_json::json!({
        "entry_id": entry.entry_id,
        "dispatch_id": entry.dispatch_id,
        "incident_id": entry.incident_id,
        "kind": kind,
        "occurred_at": occurred_at,
        "unit_id": entry.unit_id,
        "assignment_id": entry.assignment_id,
        "actor": actor.map(|a| serde_json::json!({"subject": a.subject, "role": a.role})),
        "location": entry.location.as_ref().map(|l| serde_json::json!({"lat": l.lat, "lon": l.lon})),
        "note": pingan_platform::pii::scrub(&entry.note),
        "description": entry.description,
        "dispatch_status": status,
    })
}

/// The timeline as evidence: canonical JSON, its hash, the span it covers.
pub fn timeline_evidence(incident_id: &str, entries: &[TimelineEntry]) -> FetchedTimeline {
    let json: Vec<serde_json::Value> = entries.iter().map(entry_json).collect();
    let content = serde_json::to_vec_pretty(&serde_json::json!({
        "incident_id": incident_id,
        "entries": json,
    }))
    .unwrap_or_default();
    let times: Vec<DateTime<Utc>> = entries
        .iter()
        .filter_map(|e| e.occurred_at.as_ref().and_then(from_timestamp))
        .collect();
    let mut dispatches: Vec<&str> = entries.iter().map(|e| e.dispatch_id.as_str()).collect();
    dispatches.sort_unstable();
    dispatches.dedup();
    FetchedTimeline {
        title: format!(
            "Dispatch timeline of incident {incident_id} ({} entries)",
            entries.len()
        ),
        sha256: sha256_hex(&content),
        content,
        covers: (times.iter().min().copied(), times.iter().max().copied()),
        source_ref: dispatches.join(","),
    }
}

/// Asks dispatch for the timeline of `dispatch_id` (or of every dispatch of `incident_id`).
pub async fn fetch_timeline(
    core: &Core,
    incident_id: &str,
    dispatch_id: &str,
) -> Result<FetchedTimeline, String> {
    let channel = core
        .context
        .peers
        .channel("dispatch")
        .map_err(|err| err.to_string())?;
    let mut client = DispatchServiceClient::new(channel);
    let mut request = tonic::Request::new(GetDispatchTimelineRequest {
        dispatch_id: dispatch_id.to_owned(),
        incident_id: incident_id.to_owned(),
    });
    let timeout = core.settings.dispatch_timeout;
    request.set_timeout(timeout);
    match tokio::time::timeout(timeout, client.get_dispatch_timeline(request)).await {
        Ok(Ok(response)) => {
            let entries = response.into_inner().entries;
            Ok(timeline_evidence(incident_id, &entries))
        }
        Ok(Err(status)) => Err(format!(
            "dispatch answered {:?}: {}",
            status.code(),
            status.message()
        )),
        Err(_) => Err(format!("dispatch did not answer within {timeout:?}")),
    }
}

/// The evidence row for a timeline fetch: attached, or pending with the reason it is not
/// (`None`: not tried yet).
pub fn timeline_row(
    core: &Core,
    complaint_id: &str,
    incident_id: &str,
    dispatch_id: &str,
    fetched: Option<Result<FetchedTimeline, String>>,
    added_by: &Actor,
    automatic: bool,
) -> EvidenceRow {
    let now = core.now();
    let mut row = EvidenceRow {
        evidence_id: uuid::Uuid::now_v7().to_string(),
        complaint_id: complaint_id.to_owned(),
        kind: EvidenceKind::DispatchTimeline.as_str_name().to_owned(),
        status: EvidenceStatus::Pending.as_str_name().to_owned(),
        title: format!("Dispatch timeline of incident {incident_id} (pending)"),
        description: String::new(),
        uri: String::new(),
        content: None,
        content_type: "application/json".to_owned(),
        content_sha256: String::new(),
        size_bytes: 0,
        captured_at: None,
        covers_start: None,
        covers_end: None,
        device_id: String::new(),
        statement_by: String::new(),
        source_ref: dispatch_id.to_owned(),
        attached_automatically: automatic,
        added_by_subject: added_by.subject.clone(),
        added_by_role: added_by.role.clone(),
        added_at: now,
        fetch_incident_id: incident_id.to_owned(),
        fetch_dispatch_id: dispatch_id.to_owned(),
        fetch_attempts: 1,
        pending_reason: String::new(),
    };
    match fetched {
        Some(Ok(timeline)) => fill(&mut row, timeline, now),
        Some(Err(reason)) => row.pending_reason = reason,
        None => {
            row.fetch_attempts = 0;
            row.pending_reason = "not fetched yet".to_owned();
        }
    }
    row
}

/// Stores a piece of evidence in `tx`; a PENDING timeline gets its fetch job in the same
/// transaction, so that it exists exactly when the item does.
pub async fn insert(core: &Core, tx: &mut Tx, row: &EvidenceRow) -> Result<(), ApiError> {
    core.store.insert_evidence(tx, row).await?;
    if row.is_pending() {
        fetch_job::enqueue(core, tx, row).await?;
    }
    Ok(())
}

/// The timeline of the incident a new complaint names, fetched before its transaction (None
/// when it names none).
pub async fn timeline_for_new(
    core: &Core,
    incident_id: &str,
) -> Option<Result<FetchedTimeline, String>> {
    if incident_id.is_empty() {
        None
    } else {
        Some(fetch_timeline(core, incident_id, "").await)
    }
}

/// The timeline of the incident an assignment links, fetched before its transaction: only when
/// the complaint exists and has no incident yet (the use case re-checks under the lock).
pub async fn timeline_for_assign(
    core: &Core,
    complaint_id: &str,
    incident_id: &str,
) -> Result<Option<Result<FetchedTimeline, String>>, ApiError> {
    if incident_id.is_empty() {
        return Ok(None);
    }
    Ok(match core.store.complaint(complaint_id).await? {
        Some(row) if row.incident_id.is_empty() => {
            Some(fetch_timeline(core, incident_id, "").await)
        }
        _ => None,
    })
}

/// The timeline AddEvidence asks for: of `dispatch_id`, or of every dispatch of the complaint's
/// incident; NOT_FOUND outside the caller's jurisdiction.
pub async fn timeline_on_request(
    core: &Core,
    caller: &Caller,
    complaint_id: &str,
    dispatch_id: &str,
) -> Result<Result<FetchedTimeline, String>, ApiError> {
    let row = core
        .store
        .complaint(complaint_id)
        .await?
        .filter(|row| can_see(caller, &row.station_id))
        .ok_or_else(|| ApiError::NotFound(format!("complaint {complaint_id}")))?;
    if row.incident_id.is_empty() && dispatch_id.is_empty() {
        return Err(ApiError::FailedPrecondition(
            "complaint has no linked incident: give the dispatch id as source_ref".into(),
        ));
    }
    Ok(fetch_timeline(core, &row.incident_id, dispatch_id).await)
}
