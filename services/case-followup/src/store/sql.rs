//! The SQL store: portable SQL written once with `$N` placeholders, run on either backend
//! (`FOR UPDATE` only on Postgres). Mediations and revisits here, lost-and-found in
//! `sql_lostfound`.

use chrono::{DateTime, Utc};
use pingan_platform::storage::Tx;
use pingan_platform::{Db, StorageError, with_db, with_tx};
use pingan_proto::followup::v1::{
    FoundItem, LostReport, Match, Mediation, MediationStatus, Revisit, RevisitStatus,
};
use prost::Message;

use super::{
    DueFilter, DuePage, FoundPii, FoundRow, LostPii, LostRow, MatchFilter, MediationRow, Page,
    RevisitRow, Store,
};

/// Case follow-up's tables on Postgres or SQLite.
#[derive(Debug, Clone)]
pub struct SqlStore {
    pub(super) db: Db,
}

impl SqlStore {
    /// A store over a migrated database.
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

/// Decodes a stored record.
pub(super) fn decode<M: Message + Default>(bytes: &[u8]) -> Result<M, StorageError> {
    M::decode(bytes).map_err(|err| StorageError::Other(Box::new(err)))
}

/// Picks the statement for the backend of an open transaction.
pub(super) fn pick_tx(tx: &Tx, postgres: &'static str, sqlite: &'static str) -> &'static str {
    match tx {
        Tx::Postgres(_) => postgres,
        Tx::Sqlite(_) => sqlite,
    }
}

/// A write that changes nothing: on SQLite it takes the database's write lock.
const WRITE_LOCK_SQLITE: &str =
    "UPDATE followup_mediations SET mediation_id = mediation_id WHERE 0 = 1";

/// SQLite: takes the write lock as the first statement of a transaction that reads before it
/// writes (a deferred transaction that read first fails with SQLITE_BUSY instead of waiting once
/// another connection committed). Postgres: nothing (rows are locked with FOR UPDATE).
pub(super) async fn write_lock(tx: &mut Tx) -> Result<(), StorageError> {
    if let Tx::Sqlite(conn) = tx {
        sqlx::query(WRITE_LOCK_SQLITE)
            .execute(&mut **conn)
            .await
            .map_err(StorageError::from)?;
    }
    Ok(())
}

pub(super) fn status_text<E: TryFrom<i32>>(
    value: i32,
    name: impl Fn(&E) -> &'static str,
) -> String {
    E::try_from(value)
        .map(|e| name(&e))
        .unwrap_or("UNSPECIFIED")
        .to_owned()
}

pub(super) fn at(ts: Option<&prost_types::Timestamp>) -> Option<DateTime<Utc>> {
    ts.and_then(crate::domain::from_ts)
}

pub(super) fn required_at(
    ts: Option<&prost_types::Timestamp>,
    what: &str,
) -> Result<DateTime<Utc>, StorageError> {
    at(ts).ok_or_else(|| StorageError::Other(format!("{what} has no valid time").into()))
}

// ---- mediations -------------------------------------------------------------------------------

const INSERT_MEDIATION: &str = "INSERT INTO followup_mediations (mediation_id, incident_id, \
    station_id, status, started_at, created_at, updated_at, party_phones_enc, record) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
const GET_MEDIATION_PG: &str = "SELECT record, party_phones_enc FROM followup_mediations \
    WHERE mediation_id = $1 FOR UPDATE";
const GET_MEDIATION_SQLITE: &str =
    "SELECT record, party_phones_enc FROM followup_mediations WHERE mediation_id = $1";
const UPDATE_MEDIATION: &str = "UPDATE followup_mediations SET status = $2, updated_at = $3, \
    record = $4 WHERE mediation_id = $1";
const LATEST_MEDIATION: &str = "SELECT record, party_phones_enc FROM followup_mediations \
    WHERE incident_id = $1 ORDER BY created_at DESC, mediation_id DESC LIMIT 1";
const MEDIATIONS_IN_RANGE: &str = "SELECT record FROM followup_mediations \
    WHERE created_at >= $1 AND created_at < $2";

// ---- revisits ---------------------------------------------------------------------------------

const INSERT_REVISIT: &str = "INSERT INTO followup_revisits (revisit_id, schedule_key, \
    incident_id, station_id, grid_id, assigned_officer_id, status, due_at, completed_at, \
    created_at, updated_at, contact_phone_enc, record) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
    ON CONFLICT (schedule_key) DO NOTHING";
const GET_REVISIT_PG: &str =
    "SELECT record, contact_phone_enc FROM followup_revisits WHERE revisit_id = $1 FOR UPDATE";
const GET_REVISIT_PHONE: &str =
    "SELECT contact_phone_enc FROM followup_revisits WHERE revisit_id = $1";
const GET_REVISIT_SQLITE: &str =
    "SELECT record, contact_phone_enc FROM followup_revisits WHERE revisit_id = $1";
const UPDATE_REVISIT: &str = "UPDATE followup_revisits SET status = $2, completed_at = $3, \
    updated_at = $4, record = $5, contact_phone_enc = COALESCE($6, contact_phone_enc) \
    WHERE revisit_id = $1";
// The filters of ListDueRevisits ('' or NULL: any), shared by the page and the counts.
const LIST_DUE: &str = "SELECT record, contact_phone_enc FROM followup_revisits \
    WHERE status = 'REVISIT_STATUS_DUE' AND ($1 = '' OR station_id = $1) \
      AND ($2 = '' OR grid_id = $2) AND ($3 = '' OR assigned_officer_id = $3) \
      AND ($4 IS NULL OR due_at < $4) \
    ORDER BY due_at, revisit_id LIMIT $5 OFFSET $6";
const COUNT_DUE: &str = "SELECT COUNT(*), \
    COALESCE(SUM(CASE WHEN due_at < $5 THEN 1 ELSE 0 END), 0) FROM followup_revisits \
    WHERE status = 'REVISIT_STATUS_DUE' AND ($1 = '' OR station_id = $1) \
      AND ($2 = '' OR grid_id = $2) AND ($3 = '' OR assigned_officer_id = $3) \
      AND ($4 IS NULL OR due_at < $4)";
const REVISITS_DUE_IN_RANGE: &str =
    "SELECT record FROM followup_revisits WHERE due_at >= $1 AND due_at < $2";
const OPEN_REVISITS_OF_INCIDENT: &str = "SELECT record, contact_phone_enc FROM followup_revisits \
    WHERE incident_id = $1 AND status = 'REVISIT_STATUS_DUE'";

type RecordRow = (Vec<u8>, Option<Vec<u8>>);

fn strip_mediation(mediation: &Mediation) -> Mediation {
    let mut stored = mediation.clone();
    for party in &mut stored.parties {
        party.phone.clear();
    }
    stored
}

fn strip_revisit(revisit: &Revisit) -> Revisit {
    Revisit {
        contact_phone: String::new(),
        overdue: false,
        ..revisit.clone()
    }
}

#[tonic::async_trait]
impl Store for SqlStore {
    /// Stores a new mediation (party phones only encrypted, in `party_phones_enc`).
    async fn insert_mediation(
        &self,
        tx: &mut Tx,
        mediation: &Mediation,
        party_phones_enc: Option<Vec<u8>>,
    ) -> Result<(), StorageError> {
        let stored = strip_mediation(mediation);
        with_tx!(tx, conn => sqlx::query(INSERT_MEDIATION)
            .bind(&stored.mediation_id)
            .bind(&stored.incident_id)
            .bind(&stored.station_id)
            .bind(status_text(stored.status, MediationStatus::as_str_name))
            .bind(required_at(stored.started_at.as_ref(), "mediation")?)
            .bind(required_at(stored.created_at.as_ref(), "mediation")?)
            .bind(required_at(stored.updated_at.as_ref(), "mediation")?)
            .bind(party_phones_enc)
            .bind(stored.encode_to_vec())
            .execute(&mut *conn)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// A mediation, locked for update in `tx`.
    async fn mediation_for_update(
        &self,
        tx: &mut Tx,
        mediation_id: &str,
    ) -> Result<Option<MediationRow>, StorageError> {
        write_lock(tx).await?;
        let sql = pick_tx(tx, GET_MEDIATION_PG, GET_MEDIATION_SQLITE);
        let row: Option<RecordRow> = with_tx!(tx, conn => sqlx::query_as(sql)
            .bind(mediation_id)
            .fetch_optional(&mut *conn)
            .await)?;
        row.map(|(record, phones)| Ok((decode(&record)?, phones)))
            .transpose()
    }

    /// Rewrites a mediation.
    async fn update_mediation(
        &self,
        tx: &mut Tx,
        mediation: &Mediation,
    ) -> Result<(), StorageError> {
        let stored = strip_mediation(mediation);
        with_tx!(tx, conn => sqlx::query(UPDATE_MEDIATION)
            .bind(&stored.mediation_id)
            .bind(status_text(stored.status, MediationStatus::as_str_name))
            .bind(required_at(stored.updated_at.as_ref(), "mediation")?)
            .bind(stored.encode_to_vec())
            .execute(&mut *conn)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// The latest mediation of an incident, with its encrypted party phones.
    async fn latest_mediation(
        &self,
        tx: &mut Tx,
        incident_id: &str,
    ) -> Result<Option<MediationRow>, StorageError> {
        let row: Option<RecordRow> = with_tx!(tx, conn => sqlx::query_as(LATEST_MEDIATION)
            .bind(incident_id)
            .fetch_optional(&mut *conn)
            .await)?;
        row.map(|(record, phones)| Ok((decode(&record)?, phones)))
            .transpose()
    }

    /// Mediations opened in `[from, to)`.
    async fn mediations_in_range(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Mediation>, StorageError> {
        let rows: Vec<(Vec<u8>,)> = with_db!(&self.db, pool => sqlx::query_as(MEDIATIONS_IN_RANGE)
            .bind(from)
            .bind(to)
            .fetch_all(pool)
            .await)?;
        rows.iter().map(|(record,)| decode(record)).collect()
    }

    /// Stores a revisit once per `schedule_key`; false when one was already scheduled for it.
    async fn insert_revisit(
        &self,
        tx: &mut Tx,
        revisit: &Revisit,
        schedule_key: &str,
        contact_phone_enc: Option<Vec<u8>>,
    ) -> Result<bool, StorageError> {
        let stored = strip_revisit(revisit);
        let inserted = with_tx!(tx, conn => sqlx::query(INSERT_REVISIT)
            .bind(&stored.revisit_id)
            .bind(schedule_key)
            .bind(&stored.incident_id)
            .bind(&stored.station_id)
            .bind(&stored.grid_id)
            .bind(&stored.assigned_officer_id)
            .bind(status_text(stored.status, RevisitStatus::as_str_name))
            .bind(required_at(stored.due_at.as_ref(), "revisit")?)
            .bind(at(stored.completed_at.as_ref()))
            .bind(required_at(stored.created_at.as_ref(), "revisit")?)
            .bind(required_at(stored.updated_at.as_ref(), "revisit")?)
            .bind(contact_phone_enc)
            .bind(stored.encode_to_vec())
            .execute(&mut *conn)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(inserted == 1)
    }

    /// A revisit, locked for update in `tx`.
    async fn revisit_for_update(
        &self,
        tx: &mut Tx,
        revisit_id: &str,
    ) -> Result<Option<RevisitRow>, StorageError> {
        write_lock(tx).await?;
        let sql = pick_tx(tx, GET_REVISIT_PG, GET_REVISIT_SQLITE);
        let row: Option<RecordRow> = with_tx!(tx, conn => sqlx::query_as(sql)
            .bind(revisit_id)
            .fetch_optional(&mut *conn)
            .await)?;
        row.map(|(record, phone)| Ok((decode(&record)?, phone)))
            .transpose()
    }

    async fn revisit_phone(&self, revisit_id: &str) -> Result<Option<Vec<u8>>, StorageError> {
        let row: Option<(Option<Vec<u8>>,)> = with_db!(&self.db, pool => sqlx::query_as(GET_REVISIT_PHONE)
            .bind(revisit_id)
            .fetch_optional(pool)
            .await)?;
        Ok(row.and_then(|(enc,)| enc))
    }

    /// Revisits of an incident still due.
    async fn open_revisits_of_incident(
        &self,
        tx: &mut Tx,
        incident_id: &str,
    ) -> Result<Vec<RevisitRow>, StorageError> {
        let rows: Vec<RecordRow> = with_tx!(tx, conn => sqlx::query_as(OPEN_REVISITS_OF_INCIDENT)
            .bind(incident_id)
            .fetch_all(&mut *conn)
            .await)?;
        rows.iter()
            .map(|(record, phone)| Ok((decode(record)?, phone.clone())))
            .collect()
    }

    /// Rewrites a revisit (and its contact phone, when given).
    async fn update_revisit(
        &self,
        tx: &mut Tx,
        revisit: &Revisit,
        contact_phone_enc: Option<Vec<u8>>,
    ) -> Result<(), StorageError> {
        let stored = strip_revisit(revisit);
        with_tx!(tx, conn => sqlx::query(UPDATE_REVISIT)
            .bind(&stored.revisit_id)
            .bind(status_text(stored.status, RevisitStatus::as_str_name))
            .bind(at(stored.completed_at.as_ref()))
            .bind(required_at(stored.updated_at.as_ref(), "revisit")?)
            .bind(stored.encode_to_vec())
            .bind(contact_phone_enc)
            .execute(&mut *conn)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Due revisits matching `filter`, earliest due first, with counts.
    async fn list_due(
        &self,
        filter: &DueFilter,
        now: DateTime<Utc>,
        page: Page,
    ) -> Result<DuePage, StorageError> {
        let rows: Vec<RecordRow> = with_db!(&self.db, pool => sqlx::query_as(LIST_DUE)
            .bind(&filter.station_id)
            .bind(&filter.grid_id)
            .bind(&filter.officer_id)
            .bind(filter.due_before)
            .bind(page.limit)
            .bind(page.offset)
            .fetch_all(pool)
            .await)?;
        let (total, overdue): (i64, i64) = with_db!(&self.db, pool => sqlx::query_as(COUNT_DUE)
            .bind(&filter.station_id)
            .bind(&filter.grid_id)
            .bind(&filter.officer_id)
            .bind(filter.due_before)
            .bind(now)
            .fetch_one(pool)
            .await)?;
        let revisits = rows
            .iter()
            .map(|(record, phone)| Ok((decode(record)?, phone.clone())))
            .collect::<Result<_, StorageError>>()?;
        Ok(DuePage {
            revisits,
            total,
            overdue,
        })
    }

    /// Revisits due in `[from, to)`.
    async fn revisits_due_in_range(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Revisit>, StorageError> {
        let rows: Vec<(Vec<u8>,)> = with_db!(&self.db, pool => sqlx::query_as(REVISITS_DUE_IN_RANGE)
            .bind(from)
            .bind(to)
            .fetch_all(pool)
            .await)?;
        rows.iter().map(|(record,)| decode(record)).collect()
    }

    async fn insert_found_item(
        &self,
        tx: &mut Tx,
        item: &FoundItem,
        pii: FoundPii,
        next_lookup_at: Option<DateTime<Utc>>,
    ) -> Result<(), StorageError> {
        self.insert_found_item_sql(tx, item, pii, next_lookup_at)
            .await
    }

    async fn found_item_for_update(
        &self,
        tx: &mut Tx,
        found_item_id: &str,
    ) -> Result<Option<FoundRow>, StorageError> {
        self.found_item_for_update_sql(tx, found_item_id).await
    }

    async fn found_owner_phone(
        &self,
        found_item_id: &str,
    ) -> Result<Option<Vec<u8>>, StorageError> {
        self.found_owner_phone_sql(found_item_id).await
    }

    async fn found_id_number(&self, found_item_id: &str) -> Result<Option<Vec<u8>>, StorageError> {
        self.found_id_number_sql(found_item_id).await
    }

    async fn update_found_item(
        &self,
        tx: &mut Tx,
        item: &FoundItem,
        pii: FoundPii,
        next_lookup_at: Option<DateTime<Utc>>,
    ) -> Result<(), StorageError> {
        self.update_found_item_sql(tx, item, pii, next_lookup_at)
            .await
    }

    async fn pending_lookups(
        &self,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<String>, StorageError> {
        self.pending_lookups_sql(now, limit).await
    }

    async fn found_candidates(
        &self,
        tx: &mut Tx,
        kind: i32,
        id_index: &str,
    ) -> Result<Vec<FoundRow>, StorageError> {
        self.found_candidates_sql(tx, kind, id_index).await
    }

    async fn found_in_range(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<FoundItem>, StorageError> {
        self.found_in_range_sql(from, to).await
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
        self.lost_report_for_update_sql(tx, lost_report_id).await
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
        self.lost_candidates_sql(tx, kind, id_index).await
    }

    async fn lost_in_range(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<LostReport>, StorageError> {
        self.lost_in_range_sql(from, to).await
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
}
