//! Storage of case follow-up on Postgres or SQLite, SQL written once. Each record is stored as
//! its protobuf encoding with personal data removed, beside the columns queries filter on;
//! phone and ID numbers are stored only encrypted (`*_enc`) and as keyed hashes (`*_index`).

mod lostfound;

pub use lostfound::{FoundPii, MatchFilter};

use chrono::{DateTime, Utc};
use pingan_platform::storage::Tx;
use pingan_platform::{ApiError, Db, StorageError, with_db, with_tx};
use pingan_proto::followup::v1::{Mediation, MediationStatus, Revisit, RevisitStatus};
use prost::Message;

/// The case-followup store over the service's database.
#[derive(Debug, Clone)]
pub struct Store {
    db: Db,
}

/// Decodes a stored record.
pub(crate) fn decode<M: Message + Default>(bytes: &[u8]) -> Result<M, ApiError> {
    M::decode(bytes).map_err(ApiError::internal)
}

/// Picks the statement for the backend of an open transaction.
pub(crate) fn pick_tx(tx: &Tx, postgres: &'static str, sqlite: &'static str) -> &'static str {
    match tx {
        Tx::Postgres(_) => postgres,
        Tx::Sqlite(_) => sqlite,
    }
}

/// A write that changes nothing: on SQLite it takes the database's write lock.
const WRITE_LOCK_SQLITE: &str =
    "UPDATE followup_mediations SET mediation_id = mediation_id WHERE 0 = 1";

/// SQLite: takes the write lock now, as the first statement of a transaction that reads before
/// it writes. A deferred SQLite transaction that read first cannot upgrade to a writer once
/// another connection (the outbox relay, the inbox, a worker) has committed since its read: it
/// fails at once with SQLITE_BUSY instead of waiting. Postgres: nothing (rows are locked with
/// FOR UPDATE).
pub(crate) async fn write_lock(tx: &mut Tx) -> Result<(), StorageError> {
    if let Tx::Sqlite(conn) = tx {
        sqlx::query(WRITE_LOCK_SQLITE)
            .execute(&mut **conn)
            .await
            .map_err(StorageError::from)?;
    }
    Ok(())
}

fn status_text<E: TryFrom<i32>>(value: i32, name: impl Fn(&E) -> &'static str) -> String {
    E::try_from(value)
        .map(|e| name(&e))
        .unwrap_or("UNSPECIFIED")
        .to_owned()
}

fn at(ts: Option<&prost_types::Timestamp>) -> Option<DateTime<Utc>> {
    ts.and_then(crate::domain::from_ts)
}

fn required_at(ts: Option<&prost_types::Timestamp>, what: &str) -> Result<DateTime<Utc>, ApiError> {
    at(ts).ok_or_else(|| ApiError::internal(format!("{what} has no valid time")))
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

/// Filters of ListDueRevisits, resolved.
#[derive(Debug, Clone, Default)]
pub struct DueFilter {
    /// Station ('' any).
    pub station_id: String,
    /// Grid ('' any).
    pub grid_id: String,
    /// Officer ('' any).
    pub officer_id: String,
    /// Due strictly before.
    pub due_before: Option<DateTime<Utc>>,
}

/// A page of due revisits with counts over all pages.
#[derive(Debug, Clone, Default)]
pub struct DuePage {
    /// Revisits with their encrypted contact phones.
    pub revisits: Vec<(Revisit, Option<Vec<u8>>)>,
    /// Matching revisits, all pages.
    pub total: i64,
    /// Of those, overdue now.
    pub overdue: i64,
}

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

impl Store {
    /// The store over `db` (migrated).
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// The database.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Stores a new mediation (party phones only encrypted, in `party_phones_enc`).
    pub async fn insert_mediation(
        &self,
        tx: &mut Tx,
        mediation: &Mediation,
        party_phones_enc: Option<Vec<u8>>,
    ) -> Result<(), ApiError> {
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
            .map(|r| r.rows_affected()))
        .map_err(StorageError::from)?;
        Ok(())
    }

    /// A mediation, locked for update in `tx`.
    pub async fn mediation_for_update(
        &self,
        tx: &mut Tx,
        mediation_id: &str,
    ) -> Result<Option<(Mediation, Option<Vec<u8>>)>, ApiError> {
        write_lock(tx).await?;
        let sql = pick_tx(tx, GET_MEDIATION_PG, GET_MEDIATION_SQLITE);
        let row: Option<RecordRow> = with_tx!(tx, conn => sqlx::query_as(sql)
            .bind(mediation_id)
            .fetch_optional(&mut *conn)
            .await)
        .map_err(StorageError::from)?;
        row.map(|(record, phones)| Ok((decode(&record)?, phones)))
            .transpose()
    }

    /// Rewrites a mediation.
    pub async fn update_mediation(
        &self,
        tx: &mut Tx,
        mediation: &Mediation,
    ) -> Result<(), ApiError> {
        let stored = strip_mediation(mediation);
        with_tx!(tx, conn => sqlx::query(UPDATE_MEDIATION)
            .bind(&stored.mediation_id)
            .bind(status_text(stored.status, MediationStatus::as_str_name))
            .bind(required_at(stored.updated_at.as_ref(), "mediation")?)
            .bind(stored.encode_to_vec())
            .execute(&mut *conn)
            .await
            .map(|r| r.rows_affected()))
        .map_err(StorageError::from)?;
        Ok(())
    }

    /// The latest mediation of an incident, with its encrypted party phones.
    pub async fn latest_mediation(
        &self,
        tx: &mut Tx,
        incident_id: &str,
    ) -> Result<Option<(Mediation, Option<Vec<u8>>)>, ApiError> {
        let row: Option<RecordRow> = with_tx!(tx, conn => sqlx::query_as(LATEST_MEDIATION)
            .bind(incident_id)
            .fetch_optional(&mut *conn)
            .await)
        .map_err(StorageError::from)?;
        row.map(|(record, phones)| Ok((decode(&record)?, phones)))
            .transpose()
    }

    /// Mediations opened in `[from, to)`.
    pub async fn mediations_in_range(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Mediation>, ApiError> {
        let rows: Vec<(Vec<u8>,)> = with_db!(&self.db, pool => sqlx::query_as(MEDIATIONS_IN_RANGE)
            .bind(from)
            .bind(to)
            .fetch_all(pool)
            .await)
        .map_err(StorageError::from)?;
        rows.iter().map(|(record,)| decode(record)).collect()
    }

    /// Stores a revisit once per `schedule_key`; false when one was already scheduled for it.
    pub async fn insert_revisit(
        &self,
        tx: &mut Tx,
        revisit: &Revisit,
        schedule_key: &str,
        contact_phone_enc: Option<Vec<u8>>,
    ) -> Result<bool, ApiError> {
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
            .map(|r| r.rows_affected()))
        .map_err(StorageError::from)?;
        Ok(inserted == 1)
    }

    /// A revisit, locked for update in `tx`.
    pub async fn revisit_for_update(
        &self,
        tx: &mut Tx,
        revisit_id: &str,
    ) -> Result<Option<(Revisit, Option<Vec<u8>>)>, ApiError> {
        write_lock(tx).await?;
        let sql = pick_tx(tx, GET_REVISIT_PG, GET_REVISIT_SQLITE);
        let row: Option<RecordRow> = with_tx!(tx, conn => sqlx::query_as(sql)
            .bind(revisit_id)
            .fetch_optional(&mut *conn)
            .await)
        .map_err(StorageError::from)?;
        row.map(|(record, phone)| Ok((decode(&record)?, phone)))
            .transpose()
    }

    /// Revisits of an incident still due.
    pub async fn open_revisits_of_incident(
        &self,
        tx: &mut Tx,
        incident_id: &str,
    ) -> Result<Vec<(Revisit, Option<Vec<u8>>)>, ApiError> {
        let rows: Vec<RecordRow> = with_tx!(tx, conn => sqlx::query_as(OPEN_REVISITS_OF_INCIDENT)
            .bind(incident_id)
            .fetch_all(&mut *conn)
            .await)
        .map_err(StorageError::from)?;
        rows.iter()
            .map(|(record, phone)| Ok((decode(record)?, phone.clone())))
            .collect()
    }

    /// Rewrites a revisit (and its contact phone, when given).
    pub async fn update_revisit(
        &self,
        tx: &mut Tx,
        revisit: &Revisit,
        contact_phone_enc: Option<Vec<u8>>,
    ) -> Result<(), ApiError> {
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
            .map(|r| r.rows_affected()))
        .map_err(StorageError::from)?;
        Ok(())
    }

    /// Due revisits matching `filter`, earliest due first, with counts.
    pub async fn list_due(
        &self,
        filter: &DueFilter,
        now: DateTime<Utc>,
        limit: i64,
        offset: i64,
    ) -> Result<DuePage, ApiError> {
        let rows: Vec<RecordRow> = with_db!(&self.db, pool => sqlx::query_as(LIST_DUE)
            .bind(&filter.station_id)
            .bind(&filter.grid_id)
            .bind(&filter.officer_id)
            .bind(filter.due_before)
            .bind(limit)
            .bind(offset)
            .fetch_all(pool)
            .await)
        .map_err(StorageError::from)?;
        let (total, overdue): (i64, i64) = with_db!(&self.db, pool => sqlx::query_as(COUNT_DUE)
            .bind(&filter.station_id)
            .bind(&filter.grid_id)
            .bind(&filter.officer_id)
            .bind(filter.due_before)
            .bind(now)
            .fetch_one(pool)
            .await)
        .map_err(StorageError::from)?;
        let revisits = rows
            .iter()
            .map(|(record, phone)| Ok((decode(record)?, phone.clone())))
            .collect::<Result<_, ApiError>>()?;
        Ok(DuePage {
            revisits,
            total,
            overdue,
        })
    }

    /// Revisits due in `[from, to)`.
    pub async fn revisits_due_in_range(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Revisit>, ApiError> {
        let rows: Vec<(Vec<u8>,)> =
            with_db!(&self.db, pool => sqlx::query_as(REVISITS_DUE_IN_RANGE)
            .bind(from)
            .bind(to)
            .fetch_all(pool)
            .await)
            .map_err(StorageError::from)?;
        rows.iter().map(|(record,)| decode(record)).collect()
    }
}
