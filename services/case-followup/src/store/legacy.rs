//! The data step of migration 0002: rows the 0001 schema kept as protobuf `record`s are rewritten
//! into columns (and child tables) and their `record` emptied. Idempotent: only rows with a
//! non-empty `record` are read, in one write transaction, so a second run finds nothing.

use pingan_platform::StorageError;
use pingan_platform::storage::Tx;
use pingan_platform::storage_rows::{self, On};

use super::Store;
use super::items::{self, FOUND};
use super::sql::SqlStore;

const LEGACY_MATCHES: &str = "SELECT * FROM followup_matches WHERE length(record) > 0";

/// The keys of one table's rows still in the old encoding.
async fn legacy_ids(tx: &mut Tx, table: &str, key: &str) -> Result<Vec<String>, StorageError> {
    let sql = format!("SELECT {key} AS id FROM {table} WHERE length(record) > 0 ORDER BY {key}");
    On::Tx(tx)
        .rows(&sql, Vec::new(), |row| row.text("id"))
        .await
}

impl SqlStore {
    /// Converts every row still in the old encoding; how many were converted.
    pub(super) async fn convert_legacy_sql(&self) -> Result<u64, StorageError> {
        let mut tx = self.db.begin_write().await?;
        let mut converted = 0_u64;
        for id in legacy_ids(&mut tx, "followup_mediations", "mediation_id").await? {
            if let Some((mediation, _)) = self.mediation_for_update(&mut tx, &id).await? {
                self.update_mediation_sql(&mut tx, &mediation).await?;
                converted += 1;
            }
        }
        for id in legacy_ids(&mut tx, "followup_revisits", "revisit_id").await? {
            if let Some((revisit, _)) = self.revisit_for_update(&mut tx, &id).await? {
                self.update_revisit_sql(&mut tx, &revisit, None).await?;
                converted += 1;
            }
        }
        for id in legacy_ids(&mut tx, FOUND, "found_item_id").await? {
            if let Some((item, _, _)) = self.found_item_for_update(&mut tx, &id).await? {
                // Only the record's columns: the lookup schedule and personal data stay.
                storage_rows::update(&mut tx, FOUND, items::found_columns(&item)?).await?;
                converted += 1;
            }
        }
        for id in legacy_ids(&mut tx, "followup_lost_reports", "lost_report_id").await? {
            if let Some((report, _, _)) = self.lost_report_for_update(&mut tx, &id).await? {
                self.update_lost_report_sql(&mut tx, &report).await?;
                converted += 1;
            }
        }
        let matches = On::Tx(&mut tx)
            .rows(LEGACY_MATCHES, Vec::new(), |row| {
                let stored = items::decode_match(row)?;
                Ok((
                    stored.record,
                    row.text("found_station_id")?,
                    row.text("lost_station_id")?,
                ))
            })
            .await?;
        for (found, found_station, lost_station) in matches {
            self.upsert_match_sql(&mut tx, &found, &found_station, &lost_station)
                .await?;
            converted += 1;
        }
        tx.commit().await?;
        if converted > 0 {
            tracing::info!(converted, "case follow-up rows converted to columns");
        }
        Ok(converted)
    }
}
