//! Evidence of complaints, including items pending while dispatch is unreachable.

use pingan_platform::StorageError;
use pingan_platform::storage::{Db, Tx};
use pingan_platform::{with_db, with_tx};

use crate::domain::records::EvidenceRow;

macro_rules! evidence_columns {
    ($content:literal) => {
        concat!(
            "evidence_id, complaint_id, kind, status, title, description, uri, ",
            $content,
            ", content_type, content_sha256, size_bytes, captured_at, covers_start, \
             covers_end, device_id, statement_by, source_ref, attached_automatically, \
             added_by_subject, added_by_role, added_at, fetch_incident_id, fetch_dispatch_id, \
             fetch_attempts, pending_reason"
        )
    };
}

const INSERT_EVIDENCE: &str = concat!(
    "INSERT INTO complaint_evidence (",
    evidence_columns!("content"),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, \
     $19, $20, $21, $22, $23, $24, $25)"
);
const SELECT_EVIDENCE: &str = concat!(
    "SELECT ",
    evidence_columns!("content"),
    " FROM complaint_evidence WHERE complaint_id = $1 ORDER BY evidence_id"
);
const SELECT_EVIDENCE_BRIEF_PG: &str = concat!(
    "SELECT ",
    evidence_columns!("CAST(NULL AS BYTEA) AS content"),
    " FROM complaint_evidence WHERE complaint_id = $1 ORDER BY evidence_id"
);
const SELECT_EVIDENCE_BRIEF_SQLITE: &str = concat!(
    "SELECT ",
    evidence_columns!("CAST(NULL AS BLOB) AS content"),
    " FROM complaint_evidence WHERE complaint_id = $1 ORDER BY evidence_id"
);
const SELECT_BY_ID: &str = concat!(
    "SELECT ",
    evidence_columns!("content"),
    " FROM complaint_evidence WHERE evidence_id = $1"
);
const SELECT_PENDING_IDS: &str = "SELECT evidence_id FROM complaint_evidence \
    WHERE status = 'EVIDENCE_STATUS_PENDING' ORDER BY evidence_id";
const COMPLETE_EVIDENCE: &str = "UPDATE complaint_evidence SET status = 'EVIDENCE_STATUS_ATTACHED', \
    title = $2, content = $3, content_type = $4, content_sha256 = $5, size_bytes = $6, \
    captured_at = $7, covers_start = $8, covers_end = $9, source_ref = $10, \
    fetch_attempts = fetch_attempts + 1, pending_reason = '' \
    WHERE evidence_id = $1 AND status = 'EVIDENCE_STATUS_PENDING'";
const FETCH_FAILED: &str = "UPDATE complaint_evidence SET fetch_attempts = fetch_attempts + 1, \
    pending_reason = $2 WHERE evidence_id = $1 AND status = 'EVIDENCE_STATUS_PENDING'";

fn select(db: &Db, with_content: bool) -> &'static str {
    if with_content {
        SELECT_EVIDENCE
    } else {
        db.pick(SELECT_EVIDENCE_BRIEF_PG, SELECT_EVIDENCE_BRIEF_SQLITE)
    }
}

/// The evidence of a complaint in the order attached; content only when `with_content`.
pub async fn evidence(
    db: &Db,
    complaint_id: &str,
    with_content: bool,
) -> Result<Vec<EvidenceRow>, StorageError> {
    let sql = select(db, with_content);
    Ok(with_db!(db, pool => sqlx::query_as::<_, EvidenceRow>(sql)
        .bind(complaint_id)
        .fetch_all(pool)
        .await)?)
}

/// Like [`evidence`], read in `tx` (`db` names the backend).
pub async fn evidence_in(
    db: &Db,
    tx: &mut Tx,
    complaint_id: &str,
    with_content: bool,
) -> Result<Vec<EvidenceRow>, StorageError> {
    let sql = select(db, with_content);
    Ok(with_tx!(tx, c => sqlx::query_as::<_, EvidenceRow>(sql)
        .bind(complaint_id)
        .fetch_all(&mut *c)
        .await)?)
}

/// Stores a piece of evidence.
pub async fn insert_evidence(tx: &mut Tx, row: &EvidenceRow) -> Result<(), StorageError> {
    with_tx!(tx, c => sqlx::query(INSERT_EVIDENCE)
        .bind(&row.evidence_id)
        .bind(&row.complaint_id)
        .bind(&row.kind)
        .bind(&row.status)
        .bind(&row.title)
        .bind(&row.description)
        .bind(&row.uri)
        .bind(&row.content)
        .bind(&row.content_type)
        .bind(&row.content_sha256)
        .bind(row.size_bytes)
        .bind(row.captured_at)
        .bind(row.covers_start)
        .bind(row.covers_end)
        .bind(&row.device_id)
        .bind(&row.statement_by)
        .bind(&row.source_ref)
        .bind(row.attached_automatically)
        .bind(&row.added_by_subject)
        .bind(&row.added_by_role)
        .bind(row.added_at)
        .bind(&row.fetch_incident_id)
        .bind(&row.fetch_dispatch_id)
        .bind(row.fetch_attempts)
        .bind(&row.pending_reason)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// One piece of evidence by id, with its content.
pub async fn by_id(db: &Db, evidence_id: &str) -> Result<Option<EvidenceRow>, StorageError> {
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, EvidenceRow>(SELECT_BY_ID)
        .bind(evidence_id)
        .fetch_optional(pool)
        .await)?,
    )
}

/// The ids of the items still pending, in `tx`.
pub async fn pending_ids(tx: &mut Tx) -> Result<Vec<String>, StorageError> {
    Ok(
        with_tx!(tx, c => sqlx::query_scalar::<_, String>(SELECT_PENDING_IDS)
        .fetch_all(&mut *c)
        .await)?,
    )
}

/// Fills in a pending item with its content; false when it was no longer pending.
pub async fn complete_evidence(tx: &mut Tx, row: &EvidenceRow) -> Result<bool, StorageError> {
    let done = with_tx!(tx, c => sqlx::query(COMPLETE_EVIDENCE)
        .bind(&row.evidence_id)
        .bind(&row.title)
        .bind(&row.content)
        .bind(&row.content_type)
        .bind(&row.content_sha256)
        .bind(row.size_bytes)
        .bind(row.captured_at)
        .bind(row.covers_start)
        .bind(row.covers_end)
        .bind(&row.source_ref)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(done == 1)
}

/// Records a failed fetch of a pending item and why.
pub async fn fetch_failed(db: &Db, evidence_id: &str, reason: &str) -> Result<(), StorageError> {
    with_db!(db, pool => sqlx::query(FETCH_FAILED)
        .bind(evidence_id)
        .bind(reason)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}
