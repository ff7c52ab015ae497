//! Duplicate links. A linked incident is never deleted: it keeps its row and
//! points to the live incident it was linked into (`merged_into`), so every id ever answered
//! resolves. Link decisions first lock the cells of the area they look at
//! (`domain::link_cells`), so decisions about nearby calls happen one at a time.

use chrono::{DateTime, Utc};
use pingan_platform::storage::{Db, StorageError, Tx};
use pingan_platform::{with_db, with_tx};

use crate::domain::DuplicateCandidate;

/// Longest chain of links followed. Links never chain (an incident that others were linked into
/// is never linked itself), but rows of the first schema's merge table are followed too.
const MAX_HOPS: usize = 8;

const MERGED_INTO: &str = "SELECT merged_into FROM intake_incidents WHERE incident_id = $1";
/// Merges of the first schema, whose incidents were deleted.
const LEGACY_MERGE: &str = "SELECT merged_into FROM intake_incident_merges WHERE incident_id = $1";
/// Excludes a decision of the previous release (which updates this row) during a rolling
/// upgrade; decisions of this release share it. Postgres only: on SQLite the write lock taken at
/// BEGIN already serialises every decision.
const SHARE_LEGACY_LINK_LOCK: &str =
    "SELECT lock_id FROM intake_link_lock WHERE lock_id = 1 FOR SHARE";
/// Decided primaries a call may be a duplicate of, filed in the cells bound from `$4` on (added
/// by [`candidates_sql`]); `merged_into || ''` keeps SQLite off the merged_into index (every live
/// incident, growing with the table).
const CANDIDATES_IN_CELLS: &str = "SELECT incident_id, lat, lon, category, received_at \
    FROM intake_incidents WHERE link_cell IN ({cells}) AND received_at >= $2 \
      AND received_at <= $3 AND incident_id <> $1 \
      AND has_location = TRUE AND link_checked = TRUE AND merged_into || '' = '' \
      AND status IN (2, 3, 4, 5) AND category <> '' \
    ORDER BY received_at, incident_id LIMIT 200";
/// The same anywhere in the window, for a search box too large to name its cells (a radius of
/// kilometres): the window's oldest 200.
const CANDIDATES_ANYWHERE: &str = "SELECT incident_id, lat, lon, category, received_at \
    FROM intake_incidents WHERE incident_id <> $1 AND received_at >= $2 AND received_at <= $3 \
      AND has_location = TRUE AND link_checked = TRUE AND merged_into || '' = '' \
      AND status IN (2, 3, 4, 5) AND category <> '' \
    ORDER BY received_at, incident_id LIMIT 200";
/// Located incidents of earlier releases not yet filed under a cell.
const UNFILED: &str = "SELECT incident_id, lat, lon FROM intake_incidents \
    WHERE received_at >= $1 AND has_location = TRUE AND link_cell = '' \
    ORDER BY received_at, incident_id LIMIT $2";
const FILE: &str =
    "UPDATE intake_incidents SET link_cell = $2 WHERE incident_id = $1 AND link_cell = ''";

/// [`CANDIDATES_IN_CELLS`] for `cells` cells.
fn candidates_sql(cells: usize) -> String {
    let placeholders: Vec<String> = (4..4 + cells).map(|n| format!("${n}")).collect();
    CANDIDATES_IN_CELLS.replace("{cells}", &placeholders.join(", "))
}

const MOVE_CALLS: &str = "UPDATE intake_calls SET incident_id = $2, duplicate = TRUE, \
    distance_m = $3 WHERE incident_id = $1";
const MARK_LINKED: &str = "UPDATE intake_incidents SET merged_into = $2, merged_at = $3, \
    link_checked = TRUE, routing_pending = FALSE, pending_reason = '', updated_at = $3 \
    WHERE incident_id = $1 AND merged_into = ''";
const LINKED_IDS: &str = "SELECT incident_id FROM intake_incidents WHERE merged_into = $1 \
    UNION SELECT incident_id FROM intake_incident_merges WHERE merged_into = $1 \
    ORDER BY 1";

/// One step of a resolution: where `id` points.
fn hop(id: &str, own: Option<String>, legacy: Option<String>) -> Option<Option<String>> {
    match (own, legacy) {
        (Some(into), _) if into.is_empty() => Some(None),
        (Some(into), _) | (None, Some(into)) if into != id => Some(Some(into)),
        _ => None,
    }
}

/// The live incident `incident_id` is or was linked into; `None` for an unknown id.
pub(super) async fn resolve(db: &Db, incident_id: &str) -> Result<Option<String>, StorageError> {
    let mut id = incident_id.to_owned();
    for _ in 0..MAX_HOPS {
        let own: Option<String> = with_db!(db, pool => sqlx::query_scalar(MERGED_INTO)
            .bind(&id).fetch_optional(pool).await)?;
        let legacy: Option<String> = match own {
            Some(_) => None,
            None => with_db!(db, pool => sqlx::query_scalar(LEGACY_MERGE)
                .bind(&id).fetch_optional(pool).await)?,
        };
        match hop(&id, own, legacy) {
            Some(None) => return Ok(Some(id)),
            Some(Some(next)) => id = next,
            None => return Ok(None),
        }
    }
    tracing::error!(
        incident_id,
        "link chain longer than {MAX_HOPS}: not resolved"
    );
    Ok(None)
}

/// [`resolve`] inside `tx`.
pub(super) async fn resolve_in(
    tx: &mut Tx,
    incident_id: &str,
) -> Result<Option<String>, StorageError> {
    let mut id = incident_id.to_owned();
    for _ in 0..MAX_HOPS {
        let own: Option<String> = with_tx!(tx, conn => sqlx::query_scalar(MERGED_INTO)
            .bind(&id).fetch_optional(&mut *conn).await)?;
        let legacy: Option<String> = match own {
            Some(_) => None,
            None => with_tx!(tx, conn => sqlx::query_scalar(LEGACY_MERGE)
                .bind(&id).fetch_optional(&mut *conn).await)?,
        };
        match hop(&id, own, legacy) {
            Some(None) => return Ok(Some(id)),
            Some(Some(next)) => id = next,
            None => return Ok(None),
        }
    }
    tracing::error!(
        incident_id,
        "link chain longer than {MAX_HOPS}: not resolved"
    );
    Ok(None)
}

/// The upsert that locks `count` cells (bound from `$2`, in order) stamped with `$1`.
fn take_cells_sql(count: usize) -> String {
    let rows: Vec<String> = (0..count).map(|i| format!("(${}, $1)", i + 2)).collect();
    format!(
        "INSERT INTO intake_link_cells (cell, taken_at) VALUES {} \
         ON CONFLICT (cell) DO UPDATE SET taken_at = excluded.taken_at",
        rows.join(", ")
    )
}

/// Locks `cells` (sorted: every decision takes them in one order) in `tx` until it ends: on
/// Postgres a row lock per cell, on SQLite the write lock the transaction began with.
pub(super) async fn take_link_cells(
    tx: &mut Tx,
    cells: &[String],
    at: DateTime<Utc>,
) -> Result<(), StorageError> {
    if let Tx::Postgres(tx) = tx {
        sqlx::query(SHARE_LEGACY_LINK_LOCK)
            .fetch_optional(&mut **tx)
            .await?;
    }
    if cells.is_empty() {
        return Ok(());
    }
    let sql = take_cells_sql(cells.len());
    with_tx!(tx, conn => {
        // Built from placeholders only: the cells are bound, never spliced in.
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).bind(at);
        for cell in cells {
            query = query.bind(cell);
        }
        query.execute(&mut *conn).await.map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// Decided primaries, live and open, with a location, received between `from` and `to`, filed
/// in one of `cells` (anywhere when `None`).
pub(super) async fn link_candidates(
    tx: &mut Tx,
    except: &str,
    cells: Option<&[String]>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<DuplicateCandidate>, StorageError> {
    type Row = (String, f64, f64, String, DateTime<Utc>);
    let rows: Vec<Row> = match cells {
        Some([]) => Vec::new(),
        Some(cells) => {
            let sql = candidates_sql(cells.len());
            with_tx!(tx, conn => {
                // Built from placeholders only: the cells are bound, never spliced in.
                let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                    .bind(except).bind(from).bind(to);
                for cell in cells {
                    query = query.bind(cell);
                }
                query.fetch_all(&mut *conn).await
            })?
        }
        None => with_tx!(tx, conn => sqlx::query_as(CANDIDATES_ANYWHERE)
            .bind(except).bind(from).bind(to).fetch_all(&mut *conn).await)?,
    };
    Ok(rows
        .into_iter()
        .map(
            |(incident_id, lat, lon, category, received_at)| DuplicateCandidate {
                incident_id,
                lat,
                lon,
                category,
                received_at,
            },
        )
        .collect())
}

/// Files the located incidents received since `since` that an earlier release left unfiled, a
/// batch per write transaction; how many.
pub(super) async fn file_unfiled(db: &Db, since: DateTime<Utc>) -> Result<u64, StorageError> {
    const BATCH: i64 = 500;
    let mut filed = 0;
    loop {
        let mut tx = db.begin_write().await?;
        let rows: Vec<(String, f64, f64)> = with_tx!(&mut tx, conn =>
            sqlx::query_as(UNFILED).bind(since).bind(BATCH).fetch_all(&mut *conn).await)?;
        for (incident_id, lat, lon) in &rows {
            let cell = super::incidents::filed_under(true, *lat, *lon);
            with_tx!(&mut tx, conn => sqlx::query(FILE).bind(incident_id).bind(&cell)
                .execute(&mut *conn).await.map(|r| r.rows_affected()))?;
        }
        tx.commit().await?;
        filed += rows.len() as u64;
        if rows.len() < BATCH as usize {
            return Ok(filed);
        }
    }
}

/// Links `from` into the live incident `into`: its calls move (as duplicates `distance_m`
/// away), it stops routing and keeps pointing to `into`. False when it was already linked.
pub(super) async fn link(
    tx: &mut Tx,
    from: &str,
    into: &str,
    distance_m: f64,
    at: DateTime<Utc>,
) -> Result<bool, StorageError> {
    let marked = with_tx!(tx, conn => sqlx::query(MARK_LINKED).bind(from).bind(into).bind(at)
        .execute(&mut *conn).await.map(|r| r.rows_affected()))?;
    if marked == 0 {
        return Ok(false);
    }
    with_tx!(tx, conn => sqlx::query(MOVE_CALLS).bind(from).bind(into).bind(distance_m)
        .execute(&mut *conn).await.map(|r| r.rows_affected()))?;
    Ok(true)
}

/// The incidents linked into `incident_id`, oldest id first.
pub(super) async fn linked_ids(db: &Db, incident_id: &str) -> Result<Vec<String>, StorageError> {
    Ok(
        with_db!(db, pool => sqlx::query_scalar(LINKED_IDS).bind(incident_id)
        .fetch_all(pool).await)?,
    )
}

#[cfg(test)]
mod tests {
    use super::{hop, take_cells_sql};

    #[test]
    fn the_cells_upsert_binds_the_time_once_and_each_cell_in_order() {
        assert_eq!(
            take_cells_sql(2),
            "INSERT INTO intake_link_cells (cell, taken_at) VALUES ($2, $1), ($3, $1) \
             ON CONFLICT (cell) DO UPDATE SET taken_at = excluded.taken_at"
        );
    }

    #[test]
    fn a_hop_stops_at_a_live_incident_and_follows_links() {
        assert_eq!(hop("a", Some(String::new()), None), Some(None));
        assert_eq!(hop("a", Some("b".into()), None), Some(Some("b".into())));
        assert_eq!(hop("a", None, Some("c".into())), Some(Some("c".into())));
        assert_eq!(hop("a", None, None), None);
        // A row pointing at itself is never followed forever.
        assert_eq!(hop("a", Some("a".into()), None), None);
    }
}
