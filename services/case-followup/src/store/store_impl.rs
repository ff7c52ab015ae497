//! The [`Store`] trait on [`SqlStore`]: each method is its SQL in `sql`, `sql_lostfound` or
//! `legacy`.

use chrono::{DateTime, Utc};
use pingan_platform::StorageError;
use pingan_platform::storage::Tx;
use pingan_platform::storage_rows::{On, t};
use pingan_proto::followup::v1::{FoundItem, LostReport, Match, Mediation, Revisit};

use super::cases::{decode_mediation, decode_revisit};
use super::items::{decode_found, decode_lost};
use super::rows::{Stored, read};
use super::sql::*;
use super::sql_lostfound::*;
use super::{
    DueFilter, DuePage, FoundPii, FoundRow, LostPii, LostRow, MatchFilter, MediationRow, Page,
    RevisitRow, SqlStore, Store,
};

#[tonic::async_trait]
impl Store for SqlStore {
    async fn insert_mediation(
        &self,
        tx: &mut Tx,
        mediation: &Mediation,
        party_phones_enc: Option<Vec<u8>>,
    ) -> Result<(), StorageError> {
        self.insert_mediation_sql(tx, mediation, party_phones_enc)
            .await
    }

    async fn mediation_for_update(
        &self,
        tx: &mut Tx,
        mediation_id: &str,
    ) -> Result<Option<MediationRow>, StorageError> {
        let row = self.locked_by_id(tx, MEDIATION_BY_ID, mediation_id, decode_mediation);
        Ok(row.await?.map(Stored::pair))
    }

    async fn update_mediation(
        &self,
        tx: &mut Tx,
        mediation: &Mediation,
    ) -> Result<(), StorageError> {
        self.update_mediation_sql(tx, mediation).await
    }

    async fn latest_mediation(
        &self,
        tx: &mut Tx,
        incident_id: &str,
    ) -> Result<Option<MediationRow>, StorageError> {
        let args = vec![t(incident_id)];
        let rows = read(&mut On::Tx(tx), LATEST_MEDIATION, args, decode_mediation).await?;
        Ok(rows.into_iter().next().map(Stored::pair))
    }

    async fn mediations_in_range(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Mediation>, StorageError> {
        self.in_range(MEDIATIONS_IN_RANGE, (from, to), decode_mediation)
            .await
    }

    async fn insert_revisit(
        &self,
        tx: &mut Tx,
        revisit: &Revisit,
        schedule_key: &str,
        contact_phone_enc: Option<Vec<u8>>,
    ) -> Result<bool, StorageError> {
        self.insert_revisit_sql(tx, revisit, schedule_key, contact_phone_enc)
            .await
    }

    async fn revisit_for_update(
        &self,
        tx: &mut Tx,
        revisit_id: &str,
    ) -> Result<Option<RevisitRow>, StorageError> {
        let row = self.locked_by_id(tx, REVISIT_BY_ID, revisit_id, decode_revisit);
        Ok(row.await?.map(Stored::pair))
    }

    async fn revisit_phone(&self, revisit_id: &str) -> Result<Option<Vec<u8>>, StorageError> {
        self.secret(&REVISIT_PHONE, revisit_id).await
    }

    async fn open_revisits_of_incident(
        &self,
        tx: &mut Tx,
        incident_id: &str,
    ) -> Result<Vec<RevisitRow>, StorageError> {
        let args = vec![t(incident_id)];
        let rows = read(
            &mut On::Tx(tx),
            OPEN_REVISITS_OF_INCIDENT,
            args,
            decode_revisit,
        )
        .await?;
        Ok(rows.into_iter().map(Stored::pair).collect())
    }

    async fn update_revisit(
        &self,
        tx: &mut Tx,
        revisit: &Revisit,
        contact_phone_enc: Option<Vec<u8>>,
    ) -> Result<(), StorageError> {
        self.update_revisit_sql(tx, revisit, contact_phone_enc)
            .await
    }

    async fn list_due(
        &self,
        filter: &DueFilter,
        now: DateTime<Utc>,
        page: Page,
    ) -> Result<DuePage, StorageError> {
        self.list_due_sql(filter, now, page).await
    }

    async fn revisits_due_in_range(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Revisit>, StorageError> {
        self.in_range(REVISITS_DUE_IN_RANGE, (from, to), decode_revisit)
            .await
    }

    async fn insert_found_item(
        &self,
        tx: &mut Tx,
        item: &FoundItem,
        pii: FoundPii,
    ) -> Result<(), StorageError> {
        self.insert_found_item_sql(tx, item, pii).await
    }

    async fn found_item_for_update(
        &self,
        tx: &mut Tx,
        found_item_id: &str,
    ) -> Result<Option<FoundRow>, StorageError> {
        let row = self.locked_by_id(tx, FOUND_BY_ID, found_item_id, decode_found);
        Ok(row.await?.map(Stored::triple))
    }

    async fn found_owner_phone(
        &self,
        found_item_id: &str,
    ) -> Result<Option<Vec<u8>>, StorageError> {
        self.secret(&FOUND_OWNER_PHONE, found_item_id).await
    }

    async fn found_id_number(&self, found_item_id: &str) -> Result<Option<Vec<u8>>, StorageError> {
        self.secret(&FOUND_ID_NUMBER, found_item_id).await
    }

    async fn update_found_item(
        &self,
        tx: &mut Tx,
        item: &FoundItem,
        pii: FoundPii,
    ) -> Result<(), StorageError> {
        self.update_found_item_sql(tx, item, pii).await
    }

    async fn pending_lookups(&self, tx: &mut Tx) -> Result<Vec<String>, StorageError> {
        self.pending_lookups_sql(tx).await
    }

    async fn found_candidates(
        &self,
        tx: &mut Tx,
        kind: i32,
        id_index: &str,
    ) -> Result<Vec<FoundRow>, StorageError> {
        candidates(tx, FOUND_CANDIDATES, (kind, id_index), decode_found).await
    }

    async fn found_in_range(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<FoundItem>, StorageError> {
        self.in_range(FOUND_IN_RANGE, (from, to), decode_found)
            .await
    }

    async fn insert_lost_report(
        &self,
        tx: &mut Tx,
        report: &LostReport,
        pii: LostPii,
    ) -> Result<(), StorageError> {
        self.insert_lost_report_sql(tx, report, pii).await
    }

    async fn lost_report_for_update(
        &self,
        tx: &mut Tx,
        lost_report_id: &str,
    ) -> Result<Option<LostRow>, StorageError> {
        let row = self.locked_by_id(tx, LOST_BY_ID, lost_report_id, decode_lost);
        Ok(row.await?.map(Stored::triple))
    }

    async fn update_lost_report(
        &self,
        tx: &mut Tx,
        report: &LostReport,
    ) -> Result<(), StorageError> {
        self.update_lost_report_sql(tx, report).await
    }

    async fn lost_candidates(
        &self,
        tx: &mut Tx,
        kind: i32,
        id_index: &str,
    ) -> Result<Vec<LostRow>, StorageError> {
        candidates(tx, LOST_CANDIDATES, (kind, id_index), decode_lost).await
    }

    async fn lost_in_range(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<LostReport>, StorageError> {
        self.in_range(LOST_IN_RANGE, (from, to), decode_lost).await
    }

    async fn upsert_match(
        &self,
        tx: &mut Tx,
        found: &Match,
        found_station_id: &str,
        lost_station_id: &str,
    ) -> Result<(), StorageError> {
        self.upsert_match_sql(tx, found, found_station_id, lost_station_id)
            .await
    }

    async fn list_matches(
        &self,
        filter: &MatchFilter,
        page: Page,
    ) -> Result<Vec<Match>, StorageError> {
        self.list_matches_sql(filter, page).await
    }

    async fn convert_legacy_rows(&self) -> Result<u64, StorageError> {
        self.convert_legacy_sql().await
    }
}
