//! The SQL of found items, lost reports and their candidate matches (called by the `Store`
//! implementation).

use pingan_platform::StorageError;
use pingan_platform::storage::Tx;
use pingan_platform::storage_rows::{self, Arg, Decode, On, t};
use pingan_proto::followup::v1::{FoundItem, ItemKind, LostReport, Match};

use super::cols::name;
use super::items::{self, FOUND, KEYWORDS, LOST, MATCHES, decode_match};
use super::rows::{Record, Stored, read};
use super::sql::{SqlStore, write_lock};
use super::{FoundPii, LostPii, MatchFilter, Page};

pub(super) const FOUND_BY_ID: &str = "SELECT * FROM followup_found_items WHERE found_item_id = $1";
pub(super) const PENDING_LOOKUPS: &str = "SELECT found_item_id FROM followup_found_items \
    WHERE registry_lookup = 'REGISTRY_LOOKUP_PENDING' ORDER BY created_at, found_item_id";
pub(super) const FOUND_CANDIDATES: &str = "SELECT * FROM followup_found_items \
    WHERE status <> 'FOUND_ITEM_STATUS_RETURNED' \
      AND (kind = $1 OR ($2 <> '' AND id_number_index = $2))";
pub(super) const FOUND_IN_RANGE: &str =
    "SELECT * FROM followup_found_items WHERE created_at >= $1 AND created_at < $2";
pub(super) const LOST_BY_ID: &str = "SELECT * FROM followup_lost_reports WHERE lost_report_id = $1";
pub(super) const LOST_CANDIDATES: &str = "SELECT * FROM followup_lost_reports \
    WHERE status <> 'LOST_REPORT_STATUS_RETURNED' \
      AND (kind = $1 OR ($2 <> '' AND id_number_index = $2))";
pub(super) const LOST_IN_RANGE: &str =
    "SELECT * FROM followup_lost_reports WHERE created_at >= $1 AND created_at < $2";
pub(super) const LIST_MATCHES: &str = "SELECT * FROM followup_matches \
    WHERE ($1 = '' OR found_item_id = $1) AND ($2 = '' OR lost_report_id = $2) \
      AND ($3 = '' OR found_station_id = $3 OR lost_station_id = $3) AND score >= $4 \
    ORDER BY score DESC, found_item_id, lost_report_id LIMIT $5 OFFSET $6";

/// Records not yet returned of `kind` or with ID-number index `id_index`, as the first read of a
/// matching write (takes the SQLite write lock).
pub(super) async fn candidates<T: Record>(
    tx: &mut Tx,
    sql: &str,
    (kind, id_index): (i32, &str),
    decode: Decode<Stored<T>>,
) -> Result<Vec<(T, Option<Vec<u8>>, Option<String>)>, StorageError> {
    write_lock(tx).await?;
    let args = vec![name::<ItemKind>(kind), t(id_index)];
    let rows = read(&mut On::Tx(tx), sql, args, decode).await?;
    Ok(rows.into_iter().map(Stored::triple).collect())
}

impl SqlStore {
    pub(super) async fn insert_found_item_sql(
        &self,
        tx: &mut Tx,
        item: &FoundItem,
        pii: FoundPii,
    ) -> Result<(), StorageError> {
        let mut row = items::found_columns(item)?;
        row.extend([
            ("id_number_index", Arg::Text(pii.id_number_index)),
            ("id_number_enc", Arg::Bytes(pii.id_number_enc)),
            ("owner_phone_enc", Arg::Bytes(pii.owner_phone_enc)),
            ("recipient_id_enc", Arg::Bytes(pii.recipient_id_enc)),
        ]);
        storage_rows::insert(tx, FOUND, row, "").await?;
        Ok(())
    }

    /// Rewrites a found item (personal data columns kept unless given).
    pub(super) async fn update_found_item_sql(
        &self,
        tx: &mut Tx,
        item: &FoundItem,
        pii: FoundPii,
    ) -> Result<(), StorageError> {
        let mut row = items::found_columns(item)?;
        if pii.owner_phone_enc.is_some() {
            row.push(("owner_phone_enc", Arg::Bytes(pii.owner_phone_enc)));
        }
        if pii.recipient_id_enc.is_some() {
            row.push(("recipient_id_enc", Arg::Bytes(pii.recipient_id_enc)));
        }
        storage_rows::update(tx, FOUND, row).await?;
        Ok(())
    }

    pub(super) async fn pending_lookups_sql(
        &self,
        tx: &mut Tx,
    ) -> Result<Vec<String>, StorageError> {
        On::Tx(tx)
            .rows(PENDING_LOOKUPS, Vec::new(), |row| row.text("found_item_id"))
            .await
    }

    pub(super) async fn insert_lost_report_sql(
        &self,
        tx: &mut Tx,
        report: &LostReport,
        pii: LostPii,
    ) -> Result<(), StorageError> {
        let mut row = items::lost_columns(report)?;
        row.extend([
            ("id_number_index", Arg::Text(pii.id_number_index)),
            ("id_number_enc", Arg::Bytes(pii.id_number_enc)),
            ("owner_phone_enc", Arg::Bytes(Some(pii.owner_phone_enc))),
        ]);
        storage_rows::insert(tx, LOST, row, "").await?;
        Ok(())
    }

    pub(super) async fn update_lost_report_sql(
        &self,
        tx: &mut Tx,
        report: &LostReport,
    ) -> Result<(), StorageError> {
        storage_rows::update(tx, LOST, items::lost_columns(report)?).await?;
        Ok(())
    }

    /// Stores a candidate match, or refreshes its score and findings (creation and stations kept).
    pub(super) async fn upsert_match_sql(
        &self,
        tx: &mut Tx,
        found: &Match,
        found_station_id: &str,
        lost_station_id: &str,
    ) -> Result<(), StorageError> {
        let row = items::match_columns(found, found_station_id, lost_station_id)?;
        let key = ["found_item_id", "lost_report_id"];
        let keep = ["created_at", "found_station_id", "lost_station_id"];
        storage_rows::upsert(tx, MATCHES, &key, &keep, row).await?;
        let owner = [found.found_item_id.as_str(), found.lost_report_id.as_str()];
        KEYWORDS.write(tx, &owner, items::keyword_rows(found)).await
    }

    pub(super) async fn list_matches_sql(
        &self,
        filter: &MatchFilter,
        page: Page,
    ) -> Result<Vec<Match>, StorageError> {
        let args = vec![
            t(&filter.found_item_id),
            t(&filter.lost_report_id),
            t(&filter.station_id),
            Arg::Float(Some(filter.min_score)),
            Arg::Int(Some(page.limit)),
            Arg::Int(Some(page.offset)),
        ];
        let rows = read(&mut self.pool(), LIST_MATCHES, args, decode_match).await?;
        Ok(rows.into_iter().map(|row| row.record).collect())
    }
}
