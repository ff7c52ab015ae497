//! The data step of migration 0003: findings kept as an encoded `ComplaintFinding`
//! (`complaints.finding_record`) are rewritten into the finding tables and the blob emptied, in
//! one transaction, so a second run finds nothing. Until it has run, reads fall back to the blob.

use pingan_platform::storage::{Db, Tx};
use pingan_platform::time::from_timestamp;
use pingan_platform::{StorageError, with_db, with_tx};
use pingan_proto::audit::v1::{ActionKind, ComplaintFinding, Finding};
use pingan_proto::common::v1::Actor;
use prost::Message as _;

use super::sql::findings;
use crate::domain::audit::to_micros;
use crate::domain::records::{FindingActionRow, FindingRecord, FindingRow};

const SELECT_ALL: &str = "SELECT complaint_id, finding_record FROM complaints \
    WHERE finding_record IS NOT NULL ORDER BY complaint_id";
const SELECT_ONE: &str = "SELECT finding_record FROM complaints \
    WHERE complaint_id = $1 AND finding_record IS NOT NULL";

/// The finding of `complaint_id` as the old encoding held it.
pub fn decode(complaint_id: &str, bytes: &[u8]) -> Result<FindingRecord, prost::DecodeError> {
    let f = ComplaintFinding::decode(bytes)?;
    let actor = |a: Option<Actor>| {
        a.map(|a| (a.subject, a.role, a.display_name))
            .unwrap_or_default()
    };
    let at = |t: Option<prost_types::Timestamp>| t.as_ref().and_then(from_timestamp).map(to_micros);
    let (proposed_by_subject, proposed_by_role, proposed_by_name) = actor(f.proposed_by);
    let (reviewed_by_subject, reviewed_by_role, reviewed_by_name) = actor(f.reviewed_by);
    let name = |finding: i32| {
        Finding::try_from(finding)
            .unwrap_or_default()
            .as_str_name()
            .to_owned()
    };
    let head = FindingRow {
        complaint_id: complaint_id.to_owned(),
        finding: name(f.finding),
        reasoning: f.reasoning,
        legal_opinion: f.legal_opinion,
        reply_text: f.reply_text,
        proposed_by_subject,
        proposed_by_role,
        proposed_by_name,
        proposed_at: at(f.proposed_at),
        approved: f.approved,
        reviewed_by_subject,
        reviewed_by_role,
        reviewed_by_name,
        reviewed_at: at(f.reviewed_at),
        review_notes: f.review_notes,
    };
    let actions = f
        .actions
        .into_iter()
        .enumerate()
        .map(|(position, a)| FindingActionRow {
            complaint_id: complaint_id.to_owned(),
            position: i32::try_from(position).unwrap_or(i32::MAX),
            kind: ActionKind::try_from(a.kind)
                .unwrap_or_default()
                .as_str_name()
                .to_owned(),
            officer_id: a.officer_id,
            detail: a.detail,
            legal_basis: a.legal_basis,
            referred_to: a.referred_to,
        })
        .collect();
    Ok(FindingRecord {
        head,
        actions,
        evidence_ids: f.evidence_ids,
    })
}

fn decoded(complaint_id: &str, bytes: Option<Vec<u8>>) -> Option<FindingRecord> {
    let bytes = bytes?;
    match decode(complaint_id, &bytes) {
        Ok(record) => Some(record),
        Err(err) => {
            tracing::warn!(complaint_id, error = %err, "stored finding cannot be decoded");
            None
        }
    }
}

/// The finding of a complaint not converted yet, on the pool.
pub async fn finding(db: &Db, complaint_id: &str) -> Result<Option<FindingRecord>, StorageError> {
    let bytes = with_db!(db, pool => sqlx::query_scalar::<_, Vec<u8>>(SELECT_ONE)
        .bind(complaint_id).fetch_optional(pool).await)?;
    Ok(decoded(complaint_id, bytes))
}

/// The finding of a complaint not converted yet, read in `tx`.
pub async fn finding_in(
    tx: &mut Tx,
    complaint_id: &str,
) -> Result<Option<FindingRecord>, StorageError> {
    let bytes = with_tx!(tx, c => sqlx::query_scalar::<_, Vec<u8>>(SELECT_ONE)
        .bind(complaint_id).fetch_optional(&mut *c).await)?;
    Ok(decoded(complaint_id, bytes))
}

/// Converts every finding still encoded; the number converted (one that cannot be decoded is
/// left as it is, logged).
pub async fn upgrade_legacy(db: &Db) -> Result<usize, StorageError> {
    let mut tx = db.begin_write().await?;
    let rows = with_tx!(&mut tx, c => sqlx::query_as::<_, (String, Vec<u8>)>(SELECT_ALL)
        .fetch_all(&mut *c).await)?;
    let mut converted = 0;
    for (complaint_id, bytes) in rows {
        if let Some(record) = decoded(&complaint_id, Some(bytes)) {
            findings::put(&mut tx, &record).await?;
            converted += 1;
        }
    }
    tx.commit().await?;
    if converted > 0 {
        tracing::info!(converted, "complaint findings converted to columns");
    }
    Ok(converted)
}
