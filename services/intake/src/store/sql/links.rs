//! Duplicate links. A linked incident is never deleted: it keeps its row and
//! points to the live incident it was linked into (`merged_into`), so every id ever answered
//! resolves. Link decisions take one lock row first, so they happen one at a time.

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
const TAKE_LINK_LOCK: &str = "UPDATE intake_link_lock SET taken_at = $1 WHERE lock_id = 1";
const ADD_LINK_LOCK: &str = "INSERT INTO intake_link_lock (lock_id, taken_at) VALUES (1, $1)";
// `merged_into || ''`: SQLite would otherwise search the merged_into index (every live incident,
// growing with the table) instead of the received_at range (EXPLAIN QUERY PLAN).
const CANDIDATES: &str = "SELECT incident_id, lat, lon, category, received_at \
    FROM intake_incidents WHERE incident_id <> $1 AND received_at >= $2 AND received_at <= $3 \
      AND has_location = TRUE AND link_checked = TRUE AND merged_into || '' = '' \
      AND status IN (2, 3, 4, 5) AND category <> '' \
    ORDER BY received_at, incident_id LIMIT 200";
const MARK_PRIMARY: &str = "UPDATE intake_incidents SET link_checked = TRUE, updated_at = $2 \
    WHERE incident_id = $1";
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

/// Takes the link lock in `tx`; must be its first statement (on SQLite it is the write lock,
/// on Postgres a row lock held until commit). Decisions taken under it see each other.
pub(super) async fn take_link_lock(tx: &mut Tx, at: DateTime<Utc>) -> Result<(), StorageError> {
    let taken = with_tx!(tx, conn => sqlx::query(TAKE_LINK_LOCK).bind(at)
        .execute(&mut *conn).await.map(|r| r.rows_affected()))?;
    if taken == 0 {
        // The row the migration adds is gone: put it back (a racing insert conflicts).
        with_tx!(tx, conn => sqlx::query(ADD_LINK_LOCK).bind(at)
            .execute(&mut *conn).await.map(|r| r.rows_affected()))?;
    }
    Ok(())
}

/// Decided primaries, live and open, with a location, received between `from` and `to`.
pub(super) async fn link_candidates(
    tx: &mut Tx,
    except: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<DuplicateCandidate>, StorageError> {
    let rows: Vec<(String, f64, f64, String, DateTime<Utc>)> = with_tx!(tx, conn =>
        sqlx::query_as(CANDIDATES).bind(except).bind(from).bind(to)
            .fetch_all(&mut *conn).await)?;
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

/// Records that the incident stands on its own: it may be routed, and linked into.
pub(super) async fn mark_primary(
    tx: &mut Tx,
    incident_id: &str,
    at: DateTime<Utc>,
) -> Result<(), StorageError> {
    with_tx!(tx, conn => sqlx::query(MARK_PRIMARY).bind(incident_id).bind(at)
        .execute(&mut *conn).await.map(|r| r.rows_affected()))?;
    Ok(())
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
    use super::hop;

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
