//! Findings of complaints: one row per complaint, its actions and evidence ids as child rows.

use pingan_platform::StorageError;
use pingan_platform::storage::{Db, Tx};
use pingan_platform::{with_db, with_tx};

use crate::domain::records::{FindingActionRow, FindingRecord, FindingRow};

const INSERT_HEAD: &str = "INSERT INTO complaint_findings (complaint_id, finding, reasoning, \
    legal_opinion, reply_text, proposed_by_subject, proposed_by_role, proposed_by_name, \
    proposed_at, approved, reviewed_by_subject, reviewed_by_role, reviewed_by_name, reviewed_at, \
    review_notes) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)";
const SELECT_HEAD: &str = "SELECT complaint_id, finding, reasoning, legal_opinion, reply_text, \
    proposed_by_subject, proposed_by_role, proposed_by_name, proposed_at, approved, \
    reviewed_by_subject, reviewed_by_role, reviewed_by_name, reviewed_at, review_notes \
    FROM complaint_findings WHERE complaint_id = $1";
const SELECT_ACTIONS: &str = "SELECT complaint_id, position, kind, officer_id, detail, \
    legal_basis, referred_to FROM complaint_finding_actions WHERE complaint_id = $1 \
    ORDER BY position";
const SELECT_EVIDENCE: &str = "SELECT evidence_id FROM complaint_finding_evidence \
    WHERE complaint_id = $1 ORDER BY position";
const DELETE_ACTIONS: &str = "DELETE FROM complaint_finding_actions WHERE complaint_id = $1";
const DELETE_EVIDENCE: &str = "DELETE FROM complaint_finding_evidence WHERE complaint_id = $1";
const DELETE_HEAD: &str = "DELETE FROM complaint_findings WHERE complaint_id = $1";
const INSERT_ACTION: &str = "INSERT INTO complaint_finding_actions (complaint_id, position, kind, \
    officer_id, detail, legal_basis, referred_to) VALUES ($1, $2, $3, $4, $5, $6, $7)";
const INSERT_EVIDENCE: &str = "INSERT INTO complaint_finding_evidence (complaint_id, position, \
    evidence_id) VALUES ($1, $2, $3)";
// A finding written in columns supersedes the old encoding of the same complaint.
const CLEAR_LEGACY: &str = "UPDATE complaints SET finding_record = NULL WHERE complaint_id = $1 \
    AND finding_record IS NOT NULL";

/// The finding of a complaint, on the pool.
pub async fn finding(db: &Db, complaint_id: &str) -> Result<Option<FindingRecord>, StorageError> {
    let head = with_db!(db, pool => sqlx::query_as::<_, FindingRow>(SELECT_HEAD)
        .bind(complaint_id).fetch_optional(pool).await)?;
    let Some(head) = head else {
        return Ok(None);
    };
    let actions = with_db!(db, pool => sqlx::query_as::<_, FindingActionRow>(SELECT_ACTIONS)
        .bind(complaint_id).fetch_all(pool).await)?;
    let evidence_ids = with_db!(db, pool => sqlx::query_scalar::<_, String>(SELECT_EVIDENCE)
        .bind(complaint_id).fetch_all(pool).await)?;
    Ok(Some(FindingRecord {
        head,
        actions,
        evidence_ids,
    }))
}

/// The finding of a complaint, read in `tx`.
pub async fn finding_in(
    tx: &mut Tx,
    complaint_id: &str,
) -> Result<Option<FindingRecord>, StorageError> {
    let head = with_tx!(&mut *tx, c => sqlx::query_as::<_, FindingRow>(SELECT_HEAD)
        .bind(complaint_id).fetch_optional(&mut *c).await)?;
    let Some(head) = head else {
        return Ok(None);
    };
    let actions = with_tx!(&mut *tx, c => sqlx::query_as::<_, FindingActionRow>(SELECT_ACTIONS)
        .bind(complaint_id).fetch_all(&mut *c).await)?;
    let evidence_ids = with_tx!(&mut *tx, c => sqlx::query_scalar::<_, String>(SELECT_EVIDENCE)
        .bind(complaint_id).fetch_all(&mut *c).await)?;
    Ok(Some(FindingRecord {
        head,
        actions,
        evidence_ids,
    }))
}

async fn run(tx: &mut Tx, sql: &'static str, complaint_id: &str) -> Result<(), StorageError> {
    with_tx!(tx, c => sqlx::query(sql).bind(complaint_id).execute(&mut *c).await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Writes the finding of a complaint (replacing the one stored), in `tx`.
pub async fn put(tx: &mut Tx, record: &FindingRecord) -> Result<(), StorageError> {
    let id = record.head.complaint_id.as_str();
    for sql in [DELETE_ACTIONS, DELETE_EVIDENCE, DELETE_HEAD, CLEAR_LEGACY] {
        run(tx, sql, id).await?;
    }
    let h = &record.head;
    with_tx!(&mut *tx, c => sqlx::query(INSERT_HEAD)
        .bind(id)
        .bind(&h.finding)
        .bind(&h.reasoning)
        .bind(&h.legal_opinion)
        .bind(&h.reply_text)
        .bind(&h.proposed_by_subject)
        .bind(&h.proposed_by_role)
        .bind(&h.proposed_by_name)
        .bind(h.proposed_at)
        .bind(h.approved)
        .bind(&h.reviewed_by_subject)
        .bind(&h.reviewed_by_role)
        .bind(&h.reviewed_by_name)
        .bind(h.reviewed_at)
        .bind(&h.review_notes)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
    for (position, a) in record.actions.iter().enumerate() {
        let position = i32::try_from(position).unwrap_or(i32::MAX);
        with_tx!(&mut *tx, c => sqlx::query(INSERT_ACTION)
            .bind(id).bind(position).bind(&a.kind).bind(&a.officer_id).bind(&a.detail)
            .bind(&a.legal_basis).bind(&a.referred_to)
            .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    }
    for (position, evidence_id) in record.evidence_ids.iter().enumerate() {
        let position = i32::try_from(position).unwrap_or(i32::MAX);
        with_tx!(&mut *tx, c => sqlx::query(INSERT_EVIDENCE)
            .bind(id).bind(position).bind(evidence_id)
            .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    }
    Ok(())
}
