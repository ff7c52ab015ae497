//! The data step of migration 0002: rows the 0001 schema kept as JSON bodies (now in the
//! `legacy_*` tables) are rewritten into the column tables, then removed. Idempotent: one
//! transaction converts and deletes, so a second run finds nothing.

use pingan_platform::storage::Tx;
use pingan_platform::storage_rows::{On, execute};
use pingan_platform::{Db, StorageError};
use serde::de::DeserializeOwned;

use super::{SqlStore, Store};
use crate::domain::*;

/// The old bodies of a legacy table, parsed.
async fn bodies<T: DeserializeOwned>(tx: &mut Tx, table: &str) -> Result<Vec<T>, StorageError> {
    let sql = format!("SELECT body AS value FROM legacy_{table}");
    let texts = On::Tx(tx).texts(&sql, vec![]).await?;
    texts
        .iter()
        .map(|body| serde_json::from_str(body).map_err(|e| StorageError::Other(Box::new(e))))
        .collect()
}

/// Converts every row left in the `legacy_*` tables; the number converted.
pub async fn upgrade_legacy(db: &Db) -> Result<usize, StorageError> {
    let store = SqlStore::new(db.clone());
    let mut tx = db.begin_write().await?;
    let mut converted = 0;
    for s in bodies::<Station>(&mut tx, "stations").await? {
        store.put_station(&mut tx, &s).await?;
        converted += 1;
    }
    for g in bodies::<Grid>(&mut tx, "grids").await? {
        store.put_grid(&mut tx, &g).await?;
        converted += 1;
    }
    for o in bodies::<GridOfficer>(&mut tx, "grid_officers").await? {
        store.put_officer(&mut tx, &o).await?;
        converted += 1;
    }
    for a in bodies::<Address>(&mut tx, "addresses").await? {
        store.put_address(&mut tx, &a).await?;
        converted += 1;
    }
    for r in bodies::<Resident>(&mut tx, "residents").await? {
        store.put_resident(&mut tx, &r).await?;
        converted += 1;
    }
    for h in bodies::<House>(&mut tx, "houses").await? {
        store.put_house(&mut tx, &h).await?;
        converted += 1;
    }
    for p in bodies::<Premises>(&mut tx, "premises").await? {
        store.put_premises(&mut tx, &p).await?;
        converted += 1;
    }
    for l in bodies::<IdLookup>(&mut tx, "id_lookups").await? {
        store.record_lookup(&mut tx, &l).await?;
        converted += 1;
    }
    for v in bodies::<Visit>(&mut tx, "visits").await? {
        store.insert_visit(&mut tx, &v).await?;
        converted += 1;
    }
    for n in bodies::<Need>(&mut tx, "needs").await? {
        store.insert_need(&mut tx, &n).await?;
        converted += 1;
    }
    for i in bodies::<Inspection>(&mut tx, "inspections").await? {
        store.insert_inspection(&mut tx, &i).await?;
        converted += 1;
    }
    // The re-inspected flag lived beside the body, not in it.
    execute(
        &mut tx,
        "UPDATE inspections SET reinspected = TRUE WHERE inspection_id IN \
         (SELECT inspection_id FROM legacy_inspections WHERE reinspected <> 0)",
        vec![],
    )
    .await?;
    for o in bodies::<Outreach>(&mut tx, "outreach").await? {
        store.insert_outreach(&mut tx, &o).await?;
        converted += 1;
    }
    for b in bodies::<Broadcast>(&mut tx, "broadcasts").await? {
        store.insert_broadcast(&mut tx, &b).await?;
        converted += 1;
    }
    // Children before parents: the legacy grids and officers still reference each other.
    for table in [
        "grid_officers",
        "grids",
        "stations",
        "addresses",
        "residents",
        "houses",
        "premises",
        "id_lookups",
        "visits",
        "needs",
        "inspections",
        "outreach",
        "broadcasts",
    ] {
        execute(&mut tx, &format!("DELETE FROM legacy_{table}"), vec![]).await?;
    }
    tx.commit().await?;
    if converted > 0 {
        tracing::info!(converted, "grid registry rows converted to columns");
    }
    Ok(converted)
}
