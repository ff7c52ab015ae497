//! The SQL of found items, lost reports and their candidate matches (called by the `Store`
//! implementation in `sql`).

use chrono::{DateTime, Utc};
use pingan_platform::storage::Tx;
use pingan_platform::{StorageError, with_db, with_tx};
use pingan_proto::followup::v1::{
    FoundItem, FoundItemStatus, ItemKind, LostReport, LostReportStatus, Match, RegistryLookup,
};
use prost::Message;

use super::sql::{SqlStore, at, decode, pick_tx, required_at, status_text};
use super::{FoundPii, FoundRow, LostPii, LostRow, MatchFilter, Page};

const INSERT_FOUND: &str = "INSERT INTO followup_found_items (found_item_id, kind, station_id, \
    status, registry_lookup, next_lookup_at, id_number_index, id_number_enc, owner_phone_enc, \
    recipient_id_enc, created_at, updated_at, record) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)";
const GET_FOUND_PG: &str = "SELECT record, owner_phone_enc, id_number_index FROM \
    followup_found_items WHERE found_item_id = $1 FOR UPDATE";
const GET_FOUND_SQLITE: &str = "SELECT record, owner_phone_enc, id_number_index FROM \
    followup_found_items WHERE found_item_id = $1";
const GET_FOUND_PHONE: &str =
    "SELECT owner_phone_enc FROM followup_found_items WHERE found_item_id = $1";
const GET_FOUND_ID_NUMBER: &str =
    "SELECT id_number_enc FROM followup_found_items WHERE found_item_id = $1";
const UPDATE_FOUND: &str = "UPDATE followup_found_items SET status = $2, registry_lookup = $3, \
    next_lookup_at = $4, owner_phone_enc = COALESCE($5, owner_phone_enc), \
    recipient_id_enc = COALESCE($6, recipient_id_enc), updated_at = $7, record = $8 \
    WHERE found_item_id = $1";
const PENDING_LOOKUPS: &str = "SELECT found_item_id FROM followup_found_items \
    WHERE registry_lookup = 'REGISTRY_LOOKUP_PENDING' AND next_lookup_at <= $1 \
    ORDER BY next_lookup_at LIMIT $2";
const FOUND_CANDIDATES: &str = "SELECT record, owner_phone_enc, id_number_index FROM \
    followup_found_items WHERE status <> 'FOUND_ITEM_STATUS_RETURNED' \
      AND (kind = $1 OR ($2 <> '' AND id_number_index = $2))";
const FOUND_IN_RANGE: &str =
    "SELECT record FROM followup_found_items WHERE created_at >= $1 AND created_at < $2";

const INSERT_LOST: &str = "INSERT INTO followup_lost_reports (lost_report_id, kind, station_id, \
    status, id_number_index, id_number_enc, owner_phone_enc, created_at, updated_at, record) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
const GET_LOST_PG: &str = "SELECT record, owner_phone_enc, id_number_index FROM \
    followup_lost_reports WHERE lost_report_id = $1 FOR UPDATE";
const GET_LOST_SQLITE: &str = "SELECT record, owner_phone_enc, id_number_index FROM \
    followup_lost_reports WHERE lost_report_id = $1";
const UPDATE_LOST: &str = "UPDATE followup_lost_reports SET status = $2, updated_at = $3, \
    record = $4 WHERE lost_report_id = $1";
const LOST_CANDIDATES: &str = "SELECT record, owner_phone_enc, id_number_index FROM \
    followup_lost_reports WHERE status <> 'LOST_REPORT_STATUS_RETURNED' \
      AND (kind = $1 OR ($2 <> '' AND id_number_index = $2))";
const LOST_IN_RANGE: &str =
    "SELECT record FROM followup_lost_reports WHERE created_at >= $1 AND created_at < $2";

const UPSERT_MATCH: &str = "INSERT INTO followup_matches (found_item_id, lost_report_id, \
    found_station_id, lost_station_id, score, created_at, record) \
    VALUES ($1, $2, $3, $4, $5, $6, $7) \
    ON CONFLICT (found_item_id, lost_report_id) DO UPDATE SET score = excluded.score, \
      record = excluded.record";
const LIST_MATCHES: &str = "SELECT record FROM followup_matches \
    WHERE ($1 = '' OR found_item_id = $1) AND ($2 = '' OR lost_report_id = $2) \
      AND ($3 = '' OR found_station_id = $3 OR lost_station_id = $3) AND score >= $4 \
    ORDER BY score DESC, found_item_id, lost_report_id LIMIT $5 OFFSET $6";

type RawRow = (Vec<u8>, Option<Vec<u8>>, Option<String>);

fn strip_found(item: &FoundItem) -> FoundItem {
    let mut stored = item.clone();
    if let Some(owner) = stored.owner.as_mut() {
        owner.phone.clear();
    }
    if let Some(task) = stored.contact_task.as_mut() {
        task.overdue = false;
    }
    stored
}

fn strip_lost(report: &LostReport) -> LostReport {
    LostReport {
        owner_phone: String::new(),
        ..report.clone()
    }
}

fn kind_text(kind: i32) -> String {
    status_text(kind, ItemKind::as_str_name)
}

fn station_of(item: &FoundItem) -> String {
    item.custody
        .as_ref()
        .map(|c| c.station_id.clone())
        .unwrap_or_default()
}

fn found_rows(rows: Vec<RawRow>) -> Result<Vec<FoundRow>, StorageError> {
    rows.into_iter()
        .map(|(record, phone, index)| Ok((decode(&record)?, phone, index)))
        .collect()
}

fn lost_rows(rows: Vec<RawRow>) -> Result<Vec<LostRow>, StorageError> {
    rows.into_iter()
        .map(|(record, phone, index)| Ok((decode(&record)?, phone, index)))
        .collect()
}

impl SqlStore {
    /// Stores a new found item.
    pub(super) async fn insert_found_item_sql(
        &self,
        tx: &mut Tx,
        item: &FoundItem,
        pii: FoundPii,
        next_lookup_at: Option<DateTime<Utc>>,
    ) -> Result<(), StorageError> {
        let stored = strip_found(item);
        with_tx!(tx, conn => sqlx::query(INSERT_FOUND)
            .bind(&stored.found_item_id)
            .bind(kind_text(stored.kind))
            .bind(station_of(&stored))
            .bind(status_text(stored.status, FoundItemStatus::as_str_name))
            .bind(status_text(stored.registry_lookup, RegistryLookup::as_str_name))
            .bind(next_lookup_at)
            .bind(pii.id_number_index.clone())
            .bind(pii.id_number_enc.clone())
            .bind(pii.owner_phone_enc.clone())
            .bind(pii.recipient_id_enc.clone())
            .bind(required_at(stored.created_at.as_ref(), "found item")?)
            .bind(required_at(stored.updated_at.as_ref(), "found item")?)
            .bind(stored.encode_to_vec())
            .execute(&mut *conn)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// A found item, locked for update in `tx`.
    pub(super) async fn found_item_for_update_sql(
        &self,
        tx: &mut Tx,
        found_item_id: &str,
    ) -> Result<Option<FoundRow>, StorageError> {
        super::sql::write_lock(tx).await?;
        let sql = pick_tx(tx, GET_FOUND_PG, GET_FOUND_SQLITE);
        let row: Option<RawRow> = with_tx!(tx, conn => sqlx::query_as(sql)
            .bind(found_item_id)
            .fetch_optional(&mut *conn)
            .await)?;
        Ok(found_rows(row.into_iter().collect())?.pop())
    }

    pub(super) async fn found_owner_phone_sql(
        &self,
        found_item_id: &str,
    ) -> Result<Option<Vec<u8>>, StorageError> {
        let row: Option<(Option<Vec<u8>>,)> = with_db!(&self.db, pool => sqlx::query_as(GET_FOUND_PHONE)
            .bind(found_item_id)
            .fetch_optional(pool)
            .await)?;
        Ok(row.and_then(|(enc,)| enc))
    }

    /// The encrypted ID number of a found ID card (for the background registry lookup).
    pub(super) async fn found_id_number_sql(
        &self,
        found_item_id: &str,
    ) -> Result<Option<Vec<u8>>, StorageError> {
        let row: Option<(Option<Vec<u8>>,)> = with_db!(&self.db, pool => sqlx::query_as(GET_FOUND_ID_NUMBER)
            .bind(found_item_id)
            .fetch_optional(pool)
            .await)?;
        Ok(row.and_then(|(enc,)| enc))
    }

    /// Rewrites a found item (personal data columns kept unless given).
    pub(super) async fn update_found_item_sql(
        &self,
        tx: &mut Tx,
        item: &FoundItem,
        pii: FoundPii,
        next_lookup_at: Option<DateTime<Utc>>,
    ) -> Result<(), StorageError> {
        let stored = strip_found(item);
        with_tx!(tx, conn => sqlx::query(UPDATE_FOUND)
            .bind(&stored.found_item_id)
            .bind(status_text(stored.status, FoundItemStatus::as_str_name))
            .bind(status_text(stored.registry_lookup, RegistryLookup::as_str_name))
            .bind(next_lookup_at)
            .bind(pii.owner_phone_enc.clone())
            .bind(pii.recipient_id_enc.clone())
            .bind(required_at(stored.updated_at.as_ref(), "found item")?)
            .bind(stored.encode_to_vec())
            .execute(&mut *conn)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Ids of ID cards whose registry lookup is pending and due again.
    pub(super) async fn pending_lookups_sql(
        &self,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<String>, StorageError> {
        let rows: Vec<(String,)> = with_db!(&self.db, pool => sqlx::query_as(PENDING_LOOKUPS)
            .bind(now)
            .bind(limit)
            .fetch_all(pool)
            .await)?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    /// Found items not yet returned of `kind` (the first read of a matching write: takes the
    /// SQLite write lock), or with ID-number index `id_index`.
    pub(super) async fn found_candidates_sql(
        &self,
        tx: &mut Tx,
        kind: i32,
        id_index: &str,
    ) -> Result<Vec<FoundRow>, StorageError> {
        super::sql::write_lock(tx).await?;
        let rows: Vec<RawRow> = with_tx!(tx, conn => sqlx::query_as(FOUND_CANDIDATES)
            .bind(kind_text(kind))
            .bind(id_index)
            .fetch_all(&mut *conn)
            .await)?;
        found_rows(rows)
    }

    /// Found items registered in `[from, to)`.
    pub(super) async fn found_in_range_sql(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<FoundItem>, StorageError> {
        let rows: Vec<(Vec<u8>,)> = with_db!(&self.db, pool => sqlx::query_as(FOUND_IN_RANGE)
            .bind(from)
            .bind(to)
            .fetch_all(pool)
            .await)?;
        rows.iter().map(|(record,)| decode(record)).collect()
    }

    /// Stores a new lost report.
    pub(super) async fn insert_lost_report_sql(
        &self,
        tx: &mut Tx,
        report: &LostReport,
        pii: LostPii,
    ) -> Result<(), StorageError> {
        let stored = strip_lost(report);
        with_tx!(tx, conn => sqlx::query(INSERT_LOST)
            .bind(&stored.lost_report_id)
            .bind(kind_text(stored.kind))
            .bind(&stored.station_id)
            .bind(status_text(stored.status, LostReportStatus::as_str_name))
            .bind(pii.id_number_index)
            .bind(pii.id_number_enc)
            .bind(pii.owner_phone_enc)
            .bind(required_at(stored.created_at.as_ref(), "lost report")?)
            .bind(required_at(stored.updated_at.as_ref(), "lost report")?)
            .bind(stored.encode_to_vec())
            .execute(&mut *conn)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// A lost report, locked for update in `tx`.
    pub(super) async fn lost_report_for_update_sql(
        &self,
        tx: &mut Tx,
        lost_report_id: &str,
    ) -> Result<Option<LostRow>, StorageError> {
        super::sql::write_lock(tx).await?;
        let sql = pick_tx(tx, GET_LOST_PG, GET_LOST_SQLITE);
        let row: Option<RawRow> = with_tx!(tx, conn => sqlx::query_as(sql)
            .bind(lost_report_id)
            .fetch_optional(&mut *conn)
            .await)?;
        Ok(lost_rows(row.into_iter().collect())?.pop())
    }

    /// Rewrites a lost report.
    pub(super) async fn update_lost_report_sql(
        &self,
        tx: &mut Tx,
        report: &LostReport,
    ) -> Result<(), StorageError> {
        let stored = strip_lost(report);
        with_tx!(tx, conn => sqlx::query(UPDATE_LOST)
            .bind(&stored.lost_report_id)
            .bind(status_text(stored.status, LostReportStatus::as_str_name))
            .bind(required_at(stored.updated_at.as_ref(), "lost report")?)
            .bind(stored.encode_to_vec())
            .execute(&mut *conn)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Lost reports not yet closed of `kind` (the first read of a matching write: takes the
    /// SQLite write lock), or with ID-number index `id_index`.
    pub(super) async fn lost_candidates_sql(
        &self,
        tx: &mut Tx,
        kind: i32,
        id_index: &str,
    ) -> Result<Vec<LostRow>, StorageError> {
        super::sql::write_lock(tx).await?;
        let rows: Vec<RawRow> = with_tx!(tx, conn => sqlx::query_as(LOST_CANDIDATES)
            .bind(kind_text(kind))
            .bind(id_index)
            .fetch_all(&mut *conn)
            .await)?;
        lost_rows(rows)
    }

    /// Lost reports registered in `[from, to)`.
    pub(super) async fn lost_in_range_sql(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<LostReport>, StorageError> {
        let rows: Vec<(Vec<u8>,)> = with_db!(&self.db, pool => sqlx::query_as(LOST_IN_RANGE)
            .bind(from)
            .bind(to)
            .fetch_all(pool)
            .await)?;
        rows.iter().map(|(record,)| decode(record)).collect()
    }

    /// Stores (or refreshes) a candidate match.
    pub(super) async fn upsert_match_sql(
        &self,
        tx: &mut Tx,
        found: &Match,
        found_station_id: &str,
        lost_station_id: &str,
    ) -> Result<(), StorageError> {
        with_tx!(tx, conn => sqlx::query(UPSERT_MATCH)
            .bind(&found.found_item_id)
            .bind(&found.lost_report_id)
            .bind(found_station_id)
            .bind(lost_station_id)
            .bind(found.score)
            .bind(at(found.created_at.as_ref()).unwrap_or_default())
            .bind(found.encode_to_vec())
            .execute(&mut *conn)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Candidate matches, best first.
    pub(super) async fn list_matches_sql(
        &self,
        filter: &MatchFilter,
        page: Page,
    ) -> Result<Vec<Match>, StorageError> {
        let rows: Vec<(Vec<u8>,)> = with_db!(&self.db, pool => sqlx::query_as(LIST_MATCHES)
            .bind(&filter.found_item_id)
            .bind(&filter.lost_report_id)
            .bind(&filter.station_id)
            .bind(filter.min_score)
            .bind(page.limit)
            .bind(page.offset)
            .fetch_all(pool)
            .await)?;
        rows.iter().map(|(record,)| decode(record)).collect()
    }
}
