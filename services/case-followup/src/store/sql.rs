//! The SQL store: portable SQL written once with `$N` placeholders, run on either backend
//! (`FOR UPDATE` only on Postgres); every read goes through one path for the pool and for a
//! transaction (`storage_rows::On`). Mediations and revisits here, lost-and-found in
//! `sql_lostfound`.

use chrono::{DateTime, Utc};
use pingan_platform::storage::Tx;
use pingan_platform::storage_rows::{self, Arg, Decode, On, t};
use pingan_platform::{Db, StorageError};
use pingan_proto::followup::v1::{Mediation, Revisit};

use super::cases::{self, MEDIATIONS, REVISITS, decode_revisit};
use super::items::FOUND;
use super::rows::{Record, Stored, read};
use super::{DueFilter, DuePage, Page};

/// One encrypted column of a table, found by the table's key: only the constants below exist,
/// so the names put into SQL text are never input.
#[derive(Debug, Clone, Copy)]
pub(super) struct Secret {
    table: &'static str,
    key: &'static str,
    column: &'static str,
}

/// A revisit's contact phone.
pub(super) const REVISIT_PHONE: Secret = Secret {
    table: REVISITS,
    key: "revisit_id",
    column: "contact_phone_enc",
};

/// A found item's owner phone.
pub(super) const FOUND_OWNER_PHONE: Secret = Secret {
    table: FOUND,
    key: "found_item_id",
    column: "owner_phone_enc",
};

/// A found item's ID number.
pub(super) const FOUND_ID_NUMBER: Secret = Secret {
    table: FOUND,
    key: "found_item_id",
    column: "id_number_enc",
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

    /// Reads on the pool.
    pub(super) fn pool(&self) -> On<'_> {
        On::Pool(&self.db)
    }

    /// The encrypted column `secret` names, of the row whose key is `id` (outside any
    /// transaction). The names are crate constants (`&'static str`), never input; `id` is bound.
    pub(super) async fn secret(
        &self,
        secret: &Secret,
        id: &str,
    ) -> Result<Option<Vec<u8>>, StorageError> {
        let Secret { table, key, column } = *secret;
        let sql = format!("SELECT {column} AS value FROM {table} WHERE {key} = $1");
        let mut pool = self.pool();
        let value = pool.first(&sql, vec![t(id)], |row| row.bytes("value"));
        Ok(value.await?.flatten())
    }

    /// The row of `by_id` (a query on `$1`) locked for update in `tx`.
    pub(super) async fn locked_by_id<T: Record>(
        &self,
        tx: &mut Tx,
        by_id: &str,
        id: &str,
        decode: Decode<Stored<T>>,
    ) -> Result<Option<Stored<T>>, StorageError> {
        write_lock(tx).await?;
        let sql = locked(tx, by_id);
        let rows = read(&mut On::Tx(tx), &sql, vec![t(id)], decode).await?;
        Ok(rows.into_iter().next())
    }

    /// The records of `sql` (on `$1` and `$2`) in `[from, to)`, on the pool.
    pub(super) async fn in_range<T: Record>(
        &self,
        sql: &str,
        (from, to): (DateTime<Utc>, DateTime<Utc>),
        decode: Decode<Stored<T>>,
    ) -> Result<Vec<T>, StorageError> {
        let rows = read(&mut self.pool(), sql, vec![at(from), at(to)], decode).await?;
        Ok(rows.into_iter().map(|row| row.record).collect())
    }
}

/// `sql` locking the rows it reads until `tx` ends (Postgres; SQLite holds the write lock).
pub(super) fn locked(tx: &Tx, sql: &str) -> String {
    match tx {
        Tx::Postgres(_) => format!("{sql} FOR UPDATE"),
        Tx::Sqlite(..) => sql.to_owned(),
    }
}

/// A write that changes nothing: on SQLite it takes the database's write lock.
pub(super) const WRITE_LOCK_SQLITE: &str =
    "UPDATE followup_mediations SET mediation_id = mediation_id WHERE 0 = 1";

/// SQLite: takes the write lock as the first statement of a transaction that reads before it
/// writes (a deferred transaction that read first fails with SQLITE_BUSY instead of waiting once
/// another connection committed). Postgres: nothing (rows are locked with FOR UPDATE).
pub(super) async fn write_lock(tx: &mut Tx) -> Result<(), StorageError> {
    if let Tx::Sqlite(..) = tx {
        storage_rows::execute(tx, WRITE_LOCK_SQLITE, Vec::new()).await?;
    }
    Ok(())
}

/// A time bound.
pub(super) fn at(at: DateTime<Utc>) -> Arg {
    Arg::Time(Some(at))
}

pub(super) const MEDIATION_BY_ID: &str =
    "SELECT * FROM followup_mediations WHERE mediation_id = $1";
pub(super) const LATEST_MEDIATION: &str = "SELECT * FROM followup_mediations WHERE incident_id = $1 \
    ORDER BY created_at DESC, mediation_id DESC LIMIT 1";
pub(super) const MEDIATIONS_IN_RANGE: &str =
    "SELECT * FROM followup_mediations WHERE created_at >= $1 AND created_at < $2";
pub(super) const REVISIT_BY_ID: &str = "SELECT * FROM followup_revisits WHERE revisit_id = $1";
// The filters of ListDueRevisits ('' or NULL: any), shared by the page and the counts.
pub(super) const DUE_FILTER: &str = "WHERE status = 'REVISIT_STATUS_DUE' AND ($1 = '' OR station_id = $1) \
      AND ($2 = '' OR grid_id = $2) AND ($3 = '' OR assigned_officer_id = $3) \
      AND ($4 IS NULL OR due_at < $4)";
pub(super) const REVISITS_DUE_IN_RANGE: &str =
    "SELECT * FROM followup_revisits WHERE due_at >= $1 AND due_at < $2";
pub(super) const OPEN_REVISITS_OF_INCIDENT: &str = "SELECT * FROM followup_revisits \
    WHERE incident_id = $1 AND status = 'REVISIT_STATUS_DUE'";

fn due_args(filter: &DueFilter) -> Vec<Arg> {
    vec![
        t(&filter.station_id),
        t(&filter.grid_id),
        t(&filter.officer_id),
        Arg::Time(filter.due_before),
    ]
}

impl SqlStore {
    pub(super) async fn insert_mediation_sql(
        &self,
        tx: &mut Tx,
        mediation: &Mediation,
        party_phones_enc: Option<Vec<u8>>,
    ) -> Result<(), StorageError> {
        cases::insert_mediation(tx, mediation, party_phones_enc).await
    }

    pub(super) async fn update_mediation_sql(
        &self,
        tx: &mut Tx,
        mediation: &Mediation,
    ) -> Result<(), StorageError> {
        storage_rows::update(tx, MEDIATIONS, cases::mediation_columns(mediation)?).await?;
        cases::write_mediation_children(tx, mediation).await
    }

    pub(super) async fn insert_revisit_sql(
        &self,
        tx: &mut Tx,
        revisit: &Revisit,
        schedule_key: &str,
        contact_phone_enc: Option<Vec<u8>>,
    ) -> Result<bool, StorageError> {
        let mut row = cases::revisit_columns(revisit)?;
        row.push(("schedule_key", t(schedule_key)));
        row.push(("contact_phone_enc", Arg::Bytes(contact_phone_enc)));
        let conflict = "ON CONFLICT (schedule_key) DO NOTHING";
        let inserted = storage_rows::insert(tx, REVISITS, row, conflict).await?;
        if inserted {
            cases::write_revisit_children(tx, revisit).await?;
        }
        Ok(inserted)
    }

    pub(super) async fn update_revisit_sql(
        &self,
        tx: &mut Tx,
        revisit: &Revisit,
        contact_phone_enc: Option<Vec<u8>>,
    ) -> Result<(), StorageError> {
        let mut row = cases::revisit_columns(revisit)?;
        if contact_phone_enc.is_some() {
            row.push(("contact_phone_enc", Arg::Bytes(contact_phone_enc)));
        }
        storage_rows::update(tx, REVISITS, row).await?;
        cases::write_revisit_children(tx, revisit).await
    }

    pub(super) async fn list_due_sql(
        &self,
        filter: &DueFilter,
        now: DateTime<Utc>,
        page: Page,
    ) -> Result<DuePage, StorageError> {
        let list = format!(
            "SELECT * FROM followup_revisits {DUE_FILTER} ORDER BY due_at, revisit_id \
             LIMIT $5 OFFSET $6"
        );
        let mut args = due_args(filter);
        args.extend([Arg::Int(Some(page.limit)), Arg::Int(Some(page.offset))]);
        let rows = read(&mut self.pool(), &list, args, decode_revisit).await?;
        let revisits = rows.into_iter().map(Stored::pair).collect();
        let count = format!(
            "SELECT COUNT(*) AS total, \
             COALESCE(SUM(CASE WHEN due_at < $5 THEN 1 ELSE 0 END), 0) AS overdue \
             FROM followup_revisits {DUE_FILTER}"
        );
        let mut args = due_args(filter);
        args.push(at(now));
        let counts = self
            .pool()
            .first(&count, args, |row| {
                Ok((row.int("total")?, row.int("overdue")?))
            })
            .await?;
        let (total, overdue) = counts.unwrap_or_default();
        Ok(DuePage {
            revisits,
            total,
            overdue,
        })
    }
}
