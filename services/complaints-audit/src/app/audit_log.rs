//! The audit log of every service: records appended to the hash chain (from RecordAudit and
//! from AuditRecord events), searches, verification and retention.

use chrono::{DateTime, Utc};
use pingan_platform::ApiError;
use pingan_platform::storage::Tx;
use pingan_proto::audit::v1::{AuditOutcome, AuditRecord, ChainStatus, VerifyAuditChainResponse};

use super::{Core, anchor};
use crate::domain::audit::{AuditRow, BreakKind, ChainVerifier, NewAuditEntry};
use crate::domain::checkpoint::{AnchorCheck, Checkpoint, check_anchor};
use crate::store::AuditFilter;
use pingan_platform::time::{from_timestamp, to_timestamp};

/// Rows read per verification batch.
const VERIFY_BATCH: i64 = 1000;
/// Longest text accepted in a record field.
pub const MAX_FIELD_CHARS: usize = 256;
/// Longest detail accepted.
pub const MAX_DETAIL_CHARS: usize = 2000;

fn clip(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

/// The entry to append for `record`, defaults filled from the event when given.
fn new_entry(
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
        occurred_at: record
            .occurred_at
            .as_ref()
            .and_then(from_timestamp)
            .unwrap_or(fallback_time),
        trace_id: clip(&record.trace_id, 64),
        source_service: or(&record.source_service, fallback_source),
        outcome: outcome.as_str_name().to_owned(),
        station_id: clip(&record.station_id, MAX_FIELD_CHARS),
        detail: pingan_platform::pii::scrub(&clip(&record.detail, MAX_DETAIL_CHARS)),
        client: pingan_platform::pii::scrub(&clip(&record.client, MAX_FIELD_CHARS)),
    }
}

/// Appends `record` under `entry_id` in `tx`: the one path by which every record (RecordAudit,
/// AuditRecord events, this service's own) reaches the chain.
pub async fn append_record(
    core: &Core,
    tx: &mut Tx,
    entry_id: &str,
    record: &AuditRecord,
    fallback_source: &str,
    fallback_time: DateTime<Utc>,
) -> Result<AuditRow, ApiError> {
    let entry = new_entry(entry_id, record, fallback_source, fallback_time);
    Ok(core.store.append_audit(tx, entry, core.now()).await?)
}

/// Appends the records of several events in order, in `tx` (the chain head locked once): one
/// result per record, a conflict for an entry id already stored. Each item is `(entry id,
/// record, fallback source, fallback time)`.
pub async fn append_records(
    core: &Core,
    tx: &mut Tx,
    records: Vec<(&str, AuditRecord, &str, DateTime<Utc>)>,
) -> Result<Vec<Result<AuditRow, ApiError>>, ApiError> {
    let entries = records
        .into_iter()
        .map(|(entry_id, record, source, time)| new_entry(entry_id, &record, source, time))
        .collect();
    Ok(core
        .store
        .append_audit_batch(tx, entries, core.now())
        .await?
        .into_iter()
        .map(|result| result.map_err(ApiError::from))
        .collect())
}

/// One page of matching entries and the token of the next (empty at the end).
pub async fn query(
    core: &Core,
    mut filter: AuditFilter,
) -> Result<(Vec<AuditRow>, String), ApiError> {
    let page_size = filter.limit;
    filter.limit = page_size + 1;
    let mut rows = core.store.query_audit(&filter).await?;
    let more = i64::try_from(rows.len()).unwrap_or(i64::MAX) > page_size;
    rows.truncate(usize::try_from(page_size).unwrap_or(usize::MAX));
    let next_page_token = match (more, rows.last()) {
        (true, Some(last)) => last.sequence.to_string(),
        _ => String::new(),
    };
    Ok((rows, next_page_token))
}

/// Recomputes the chain over `from..=to` (0: oldest retained / newest) and reports the first
/// broken link; then checks the chain against every witnessed checkpoint (the file sink's
/// newest, this process's, and `presented`, already verified): a head below one is a rollback.
pub async fn verify(
    core: &Core,
    from: i64,
    to: i64,
    presented: Option<Checkpoint>,
) -> Result<VerifyAuditChainResponse, ApiError> {
    let store = &core.store;
    let head = store.audit_head().await?;
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
        verified_at: Some(to_timestamp(core.now())),
        ..VerifyAuditChainResponse::default()
    };
    let base = if start == oldest {
        Some(head.anchor_hash.clone())
    } else {
        store.audit_hash(start - 1).await?
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
        let rows = store.audit_range(next, end, VERIFY_BATCH).await?;
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
        response.reason = match broken.kind {
            BreakKind::Altered => format!(
                "row {}'s content no longer matches its hash",
                broken.sequence
            ),
            BreakKind::Removed => format!("row {} is missing", broken.sequence),
            BreakKind::Reordered => {
                format!("row {} does not link to the row before it", broken.sequence)
            }
        };
        response.expected_hash = broken.expected_hash;
        response.found_hash = broken.found_hash;
        tracing::error!(sequence = broken.sequence, kind = ?broken.kind, "audit chain broken");
    }
    let mut witnessed = core.anchor.witnessed().await?;
    witnessed.extend(presented);
    witnessed.sort_by_key(|c| std::cmp::Reverse((c.sequence, c.signed_at)));
    if let Some(newest) = witnessed.first() {
        response.checkpoint = Some(anchor::to_proto(newest));
    }
    if response.status != ChainStatus::Ok as i32 {
        return Ok(response);
    }
    for checkpoint in &witnessed {
        let hash_at = anchor::hash_at(core, checkpoint.sequence, &head).await?;
        let check = check_anchor(
            checkpoint,
            head.last_sequence,
            head.pruned_through,
            hash_at.as_deref(),
        );
        let (status, sequence, found_hash) = match &check {
            AnchorCheck::Consistent | AnchorCheck::Pruned => continue,
            AnchorCheck::RolledBack { head_sequence } => (
                ChainStatus::RolledBack,
                head_sequence + 1,
                head.last_hash.clone(),
            ),
            AnchorCheck::Mismatch { found_hash } => (
                ChainStatus::CheckpointMismatch,
                checkpoint.sequence,
                found_hash.clone(),
            ),
        };
        response.status = status as i32;
        response.first_broken_sequence = sequence;
        response.expected_hash = checkpoint.head_hash.clone();
        response.found_hash = found_hash;
        response.reason = anchor::reason(checkpoint, &check);
        response.checkpoint = Some(anchor::to_proto(checkpoint));
        tracing::error!(
            witnessed_sequence = checkpoint.sequence,
            head_sequence = head.last_sequence,
            "audit chain contradicts a witnessed checkpoint"
        );
        break;
    }
    Ok(response)
}

/// Removes audit rows older than the retention (at least six months).
pub async fn apply_retention(core: &Core) -> Result<u64, ApiError> {
    let cutoff = core.now() - chrono::Duration::days(i64::from(core.settings.audit_retention_days));
    let removed = core.store.prune_audit(cutoff).await?;
    if removed > 0 {
        tracing::info!(removed, "audit rows past retention removed");
    }
    Ok(removed)
}
