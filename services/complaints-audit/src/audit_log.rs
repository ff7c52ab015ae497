//! The audit log of every service: records appended to the hash chain (from RecordAudit and
//! from AuditRecord events), searches, verification and retention.

use chrono::{DateTime, Utc};
use pingan_platform::storage::Tx;
use pingan_platform::{ApiError, FieldViolations};
use pingan_proto::audit::v1::{
    AuditOutcome, AuditRecord, ChainStatus, QueryAuditRequest, QueryAuditResponse,
    VerifyAuditChainResponse,
};

use crate::convert::{audit_entry, from_ts, ts};
use crate::core::Core;
use crate::domain::audit::{AuditRow, BreakKind, ChainVerifier};
use crate::store::audit::{self, AuditFilter, NewAuditEntry};

/// Rows read per verification batch.
const VERIFY_BATCH: i64 = 1000;
/// Longest text accepted in a record field.
const MAX_FIELD_CHARS: usize = 256;
/// Longest detail accepted.
const MAX_DETAIL_CHARS: usize = 2000;

/// Checks a record sent through RecordAudit; every bad field is named.
pub fn validate_record(record: Option<&AuditRecord>, violations: &mut FieldViolations) {
    let Some(record) = record else {
        violations.add("record", "must be set");
        return;
    };
    match &record.actor {
        Some(actor) => {
            violations.require_non_empty("record.actor.subject", &actor.subject);
            violations.require_non_empty("record.actor.role", &actor.role);
            violations.require_max_chars("record.actor.subject", &actor.subject, MAX_FIELD_CHARS);
            violations.require_max_chars("record.actor.role", &actor.role, MAX_FIELD_CHARS);
        }
        None => violations.add("record.actor", "must be set"),
    }
    for (field, value) in [
        ("record.action", &record.action),
        ("record.resource_type", &record.resource_type),
        ("record.source_service", &record.source_service),
    ] {
        violations.require_non_empty(field, value);
        violations.require_max_chars(field, value, MAX_FIELD_CHARS);
    }
    violations.require_max_chars("record.resource_id", &record.resource_id, MAX_FIELD_CHARS);
    violations.require_max_chars("record.station_id", &record.station_id, MAX_FIELD_CHARS);
    violations.require_max_chars("record.client", &record.client, MAX_FIELD_CHARS);
    violations.require_max_chars("record.detail", &record.detail, MAX_DETAIL_CHARS);
    if from_ts(record.occurred_at.as_ref()).is_none() {
        violations.add("record.occurred_at", "must be a valid time");
    }
    if !record.trace_id.is_empty()
        && (record.trace_id.len() != 32 || !record.trace_id.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        violations.add("record.trace_id", "must be 32 hex digits");
    }
    if AuditOutcome::try_from(record.outcome).is_err() {
        violations.add("record.outcome", "unknown outcome");
    }
    for (field, value) in [
        ("record.detail", &record.detail),
        ("record.resource_id", &record.resource_id),
        ("record.client", &record.client),
    ] {
        if pingan_platform::pii::contains_clear_pii(value) {
            violations.add(
                field,
                "must not contain a clear phone or ID number (mask it)",
            );
        }
    }
}

fn clip(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

/// The entry to append for `record`, defaults filled from the event when given.
pub fn new_entry(
    entry_id: &str,
    record: &AuditRecord,
    fallback_source: &str,
    fallback_time: DateTime<Utc>,
) -> NewAuditEntry {
    let actor = record.actor.clone().unwrap_or_default();
    let outcome = AuditOutcome::try_from(record.outcome).unwrap_or_default();
    let or = |value: &str, fallback: &str| {
        if value.trim().is_empty() {
            fallback.to_owned()
        } else {
            clip(value, MAX_FIELD_CHARS)
        }
    };
    NewAuditEntry {
        entry_id: entry_id.to_owned(),
        actor_subject: or(&actor.subject, fallback_source),
        actor_role: or(&actor.role, "service"),
        actor_display_name: clip(&actor.display_name, MAX_FIELD_CHARS),
        action: or(&record.action, "unknown"),
        resource_type: or(&record.resource_type, "unknown"),
        resource_id: pingan_platform::pii::scrub(&clip(&record.resource_id, MAX_FIELD_CHARS)),
        occurred_at: from_ts(record.occurred_at.as_ref()).unwrap_or(fallback_time),
        trace_id: clip(&record.trace_id, 64),
        source_service: or(&record.source_service, fallback_source),
        outcome: outcome.as_str_name().to_owned(),
        station_id: clip(&record.station_id, MAX_FIELD_CHARS),
        detail: pingan_platform::pii::scrub(&clip(&record.detail, MAX_DETAIL_CHARS)),
        client: pingan_platform::pii::scrub(&clip(&record.client, MAX_FIELD_CHARS)),
    }
}

/// Appends a record in `tx`.
pub async fn append(core: &Core, tx: &mut Tx, entry: NewAuditEntry) -> Result<AuditRow, ApiError> {
    Ok(audit::append(tx, entry, core.now()).await?)
}

/// Search filters from a request; INVALID_ARGUMENT names bad fields.
pub fn filter(request: &QueryAuditRequest) -> Result<AuditFilter, ApiError> {
    let mut violations = FieldViolations::default();
    let page_size = match request.page_size {
        0 => 100,
        n if (1..=1000).contains(&n) => i64::from(n),
        _ => {
            violations.add("page_size", "must be between 1 and 1000");
            100
        }
    };
    let after_sequence = if request.page_token.is_empty() {
        0
    } else {
        match request.page_token.parse::<i64>() {
            Ok(n) if n > 0 => n,
            _ => {
                violations.add("page_token", "is not a token from a previous response");
                0
            }
        }
    };
    let outcome = match AuditOutcome::try_from(request.outcome) {
        Ok(AuditOutcome::Unspecified) => String::new(),
        Ok(outcome) => outcome.as_str_name().to_owned(),
        Err(_) => {
            violations.add("outcome", "unknown outcome");
            String::new()
        }
    };
    let range = request.range.unwrap_or_default();
    let from = from_ts(range.start.as_ref());
    let to = from_ts(range.end.as_ref());
    if range.start.is_some() && from.is_none() {
        violations.add("range.start", "must be a valid time");
    }
    if range.end.is_some() && to.is_none() {
        violations.add("range.end", "must be a valid time");
    }
    if let (Some(from), Some(to)) = (from, to)
        && from > to
    {
        violations.add("range", "start must not be after end");
    }
    violations.finish()?;
    Ok(AuditFilter {
        actor_subject: request.actor_subject.clone(),
        actor_role: request.actor_role.clone(),
        action: request.action.clone(),
        resource_type: request.resource_type.clone(),
        resource_id: request.resource_id.clone(),
        source_service: request.source_service.clone(),
        trace_id: request.trace_id.clone(),
        outcome,
        station_id: request.station_id.clone(),
        from,
        to,
        newest_first: request.newest_first,
        after_sequence,
        limit: page_size,
    })
}

/// One page of matching entries.
pub async fn query(core: &Core, mut filter: AuditFilter) -> Result<QueryAuditResponse, ApiError> {
    let page_size = filter.limit;
    filter.limit = page_size + 1;
    let mut rows = audit::query(&core.context.db, &filter).await?;
    let more = i64::try_from(rows.len()).unwrap_or(i64::MAX) > page_size;
    rows.truncate(usize::try_from(page_size).unwrap_or(usize::MAX));
    let next_page_token = match (more, rows.last()) {
        (true, Some(last)) => last.sequence.to_string(),
        _ => String::new(),
    };
    Ok(QueryAuditResponse {
        entries: rows.iter().map(audit_entry).collect(),
        next_page_token,
    })
}

/// Recomputes the chain over `from..=to` (0: oldest retained / newest) and reports the first
/// broken link.
pub async fn verify(core: &Core, from: i64, to: i64) -> Result<VerifyAuditChainResponse, ApiError> {
    let db = &core.context.db;
    let head = audit::head(db).await?;
    let oldest = head.pruned_through + 1;
    let start = from.max(oldest);
    let end = if to <= 0 {
        head.last_sequence
    } else {
        to.min(head.last_sequence)
    };
    let mut response = VerifyAuditChainResponse {
        status: ChainStatus::Ok as i32,
        oldest_retained_sequence: if head.last_sequence >= oldest {
            oldest
        } else {
            0
        },
        verified_at: Some(ts(core.now())),
        ..VerifyAuditChainResponse::default()
    };
    let base = if start == oldest {
        Some(head.anchor_hash.clone())
    } else {
        audit::hash_of(db, start - 1).await?
    };
    let Some(base) = base else {
        response.status = ChainStatus::RowRemoved as i32;
        response.first_broken_sequence = start - 1;
        return Ok(response);
    };
    let mut verifier = ChainVerifier::new(start, &base);
    let mut next = start;
    let mut outcome = Ok(());
    'walk: while next <= end {
        let rows = audit::range(db, next, end, VERIFY_BATCH).await?;
        if rows.is_empty() {
            break;
        }
        for row in &rows {
            if let Err(broken) = verifier.check(row) {
                outcome = Err(broken);
                break 'walk;
            }
        }
        next = rows.last().map(|r| r.sequence + 1).unwrap_or(end + 1);
    }
    if outcome.is_ok() {
        outcome = verifier.finish(end);
    }
    // The newest row has no successor to vouch for it: the head does.
    if outcome.is_ok()
        && end == head.last_sequence
        && let Some((sequence, hash)) = &verifier.head
        && *hash != head.last_hash
    {
        outcome = Err(crate::domain::audit::Break {
            kind: BreakKind::Altered,
            sequence: *sequence,
            entry_id: String::new(),
            expected_hash: head.last_hash.clone(),
            found_hash: hash.clone(),
        });
    }
    response.rows_checked = verifier.rows_checked;
    if let Some((sequence, hash)) = &verifier.head {
        response.head_sequence = *sequence;
        response.head_hash = hash.clone();
    }
    if let Err(broken) = outcome {
        response.status = match broken.kind {
            BreakKind::Altered => ChainStatus::RowAltered,
            BreakKind::Removed => ChainStatus::RowRemoved,
            BreakKind::Reordered => ChainStatus::RowReordered,
        } as i32;
        response.first_broken_sequence = broken.sequence;
        response.first_broken_entry_id = broken.entry_id;
        response.expected_hash = broken.expected_hash;
        response.found_hash = broken.found_hash;
        tracing::error!(sequence = broken.sequence, kind = ?broken.kind, "audit chain broken");
    }
    Ok(response)
}

/// Removes audit rows older than the retention (at least six months).
pub async fn apply_retention(core: &Core) -> Result<u64, ApiError> {
    let cutoff = core.now() - chrono::Duration::days(i64::from(core.settings.audit_retention_days));
    let removed = audit::prune(&core.context.db, cutoff).await?;
    if removed > 0 {
        tracing::info!(removed, "audit rows past retention removed");
    }
    Ok(removed)
}
