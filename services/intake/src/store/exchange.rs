//! The links of imported incidents (`intake_exchange_links`, migration 0004): SQL written once
//! for both backends. One local incident per (source bureau, source incident): the unique index
//! makes the second of two concurrent imports fail with a conflict, and it then reads the first.

use pingan_platform::storage::{Db, StorageError, Tx};
use pingan_platform::{with_db, with_tx};

use crate::domain::exchange::LinkRecord;

const COLUMNS: &str = "incident_id, source_bureau_id, source_incident_id, document_id, \
    schema_version, source_status, exported_at, imported_at, request_id, document";

const INSERT: &str = "INSERT INTO intake_exchange_links (incident_id, source_bureau_id, \
    source_incident_id, document_id, schema_version, source_status, exported_at, imported_at, \
    request_id, document) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";

/// Reads and writes the links of imported incidents.
#[derive(Debug, Clone)]
pub struct ExchangeStore {
    db: Db,
}

impl ExchangeStore {
    /// The links in the service's (migrated) database.
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Adds the link of an imported incident in `tx`; a second link of the same source incident
    /// is a [`StorageError::Conflict`].
    pub async fn insert(&self, tx: &mut Tx, link: &LinkRecord) -> Result<(), StorageError> {
        with_tx!(tx, conn => sqlx::query(INSERT)
            .bind(&link.incident_id).bind(&link.source_bureau_id)
            .bind(&link.source_incident_id).bind(&link.document_id)
            .bind(&link.schema_version).bind(&link.source_status).bind(link.exported_at)
            .bind(link.imported_at).bind(&link.request_id).bind(&link.document)
            .execute(&mut *conn).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// The link of a source incident already imported, read in `tx`.
    pub async fn by_source_in(
        &self,
        tx: &mut Tx,
        bureau_id: &str,
        source_incident_id: &str,
    ) -> Result<Option<LinkRecord>, StorageError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM intake_exchange_links \
             WHERE source_bureau_id = $1 AND source_incident_id = $2"
        );
        Ok(
            with_tx!(tx, conn => sqlx::query_as::<_, LinkRecord>(sqlx::AssertSqlSafe(sql.clone()))
            .bind(bureau_id).bind(source_incident_id).fetch_optional(&mut *conn).await)?,
        )
    }

    /// The link of a source incident already imported.
    pub async fn by_source(
        &self,
        bureau_id: &str,
        source_incident_id: &str,
    ) -> Result<Option<LinkRecord>, StorageError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM intake_exchange_links \
             WHERE source_bureau_id = $1 AND source_incident_id = $2"
        );
        Ok(
            with_db!(&self.db, pool => sqlx::query_as::<_, LinkRecord>(sqlx::AssertSqlSafe(sql.clone()))
            .bind(bureau_id).bind(source_incident_id).fetch_optional(pool).await)?,
        )
    }

    /// The link of a local incident, when it was imported.
    pub async fn of_incident(&self, incident_id: &str) -> Result<Option<LinkRecord>, StorageError> {
        let sql = format!("SELECT {COLUMNS} FROM intake_exchange_links WHERE incident_id = $1");
        Ok(
            with_db!(&self.db, pool => sqlx::query_as::<_, LinkRecord>(sqlx::AssertSqlSafe(sql.clone()))
            .bind(incident_id).fetch_optional(pool).await)?,
        )
    }

    /// How many incidents were imported from `bureau_id`'s `source_incident_id` (0 or 1; for
    /// tests and checks).
    pub async fn count_of_source(
        &self,
        bureau_id: &str,
        source_incident_id: &str,
    ) -> Result<i64, StorageError> {
        const SQL: &str = "SELECT COUNT(*) FROM intake_exchange_links \
            WHERE source_bureau_id = $1 AND source_incident_id = $2";
        Ok(with_db!(&self.db, pool => sqlx::query_scalar::<_, i64>(SQL)
            .bind(bureau_id).bind(source_incident_id).fetch_one(pool).await)?)
    }
}
