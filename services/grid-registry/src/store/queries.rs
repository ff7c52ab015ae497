//! The registry's reads, written once with `$N` placeholders for both backends. Optional filters
//! are `($n = '' OR column = $n)` or `($n IS NULL OR ...)`; the caller's stations arrive as
//! ",a,b," ("" for the bureau); enum filters are their proto names.

pub(super) const GET_STATION: &str = "SELECT * FROM stations WHERE station_id = $1";
pub(super) const ALL_STATIONS: &str = "SELECT * FROM stations ORDER BY station_id";

/// The grid layout's version (migrations/*/0005_grid_version.sql), as `n`.
pub(super) const GRID_VERSION: &str = "SELECT version AS n FROM grid_version WHERE id = 1";
/// Moves the grid layout's version, in the transaction that changes a grid or a station.
pub(super) const BUMP_GRID_VERSION: &str =
    "UPDATE grid_version SET version = version + 1 WHERE id = 1";

pub(super) const GET_GRID: &str = "SELECT * FROM grids WHERE grid_id = $1";
pub(super) const ALL_GRIDS: &str = "SELECT * FROM grids ORDER BY grid_id";
pub(super) const LIST_GRIDS: &str = "SELECT * FROM grids WHERE \
    ($1 = '' OR ',' || $1 || ',' LIKE '%,' || station_id || ',%') \
    AND ($2 = '' OR station_id = $2) AND ($3 = '' OR grid_id = $3) \
    AND ($4 = '' OR grid_id IN (SELECT grid_id FROM grid_officers WHERE officer_id = $4)) \
    AND ($5 = '' OR kind = $5) ORDER BY grid_id LIMIT $6 OFFSET $7";

pub(super) const DELETE_OFFICER: &str =
    "DELETE FROM grid_officers WHERE grid_id = $1 AND officer_id = $2 AND role = $3";
pub(super) const GRID_OFFICERS: &str =
    "SELECT * FROM grid_officers WHERE grid_id = $1 ORDER BY officer_id";

pub(super) const OFFICERS_OF_GRIDS: &str =
    "SELECT * FROM grid_officers WHERE grid_id IN (IN_LIST) ORDER BY grid_id, officer_id";

pub(super) const GET_ADDRESS: &str = "SELECT * FROM addresses WHERE address_id = $1";
pub(super) const ADDRESSES_IN_SCOPE: &str = "SELECT * FROM addresses WHERE \
    ($1 = '' OR ',' || $1 || ',' LIKE '%,' || station_id || ',%') \
    AND ($2 = '' OR station_id = $2) AND ($3 = '' OR grid_id = $3) ORDER BY address_id";

/// Residents with the time of the last visit that reached them.
macro_rules! residents_where {
    ($tail:literal) => {
        concat!(
            "SELECT r.*, (SELECT MAX(v.visited_at) FROM visits v \
            WHERE v.resident_id = r.resident_id AND v.contacted = TRUE) AS last_visit_at \
            FROM residents r WHERE ",
            $tail
        )
    };
}
pub(super) const GET_RESIDENT: &str = residents_where!("r.resident_id = $1");
pub(super) const RESIDENT_BY_HASH: &str = residents_where!("r.id_number_hash = $1");
pub(super) const RESIDENTS_IN_SCOPE: &str = residents_where!(
    " ($1 = '' OR ',' || $1 || ',' LIKE '%,' || r.station_id || ',%') \
    AND ($2 = '' OR r.station_id = $2) AND ($3 = '' OR r.grid_id = $3) \
    AND ($4 = '' OR r.grid_id IN (SELECT grid_id FROM grid_officers WHERE officer_id = $4)) \
    ORDER BY r.resident_id"
);

pub(super) const GET_HOUSE: &str = "SELECT * FROM houses WHERE house_id = $1";
pub(super) const GET_PREMISES: &str = "SELECT * FROM premises WHERE premises_id = $1";
pub(super) const PREMISES_IN_GRID: &str =
    "SELECT * FROM premises WHERE grid_id = $1 ORDER BY premises_id";

pub(super) const VISIT_BY_REQUEST: &str = "SELECT * FROM visits WHERE request_id = $1";

pub(super) const NEED_BY_REQUEST: &str = "SELECT * FROM needs WHERE request_id = $1";
pub(super) const GET_NEED: &str = "SELECT * FROM needs WHERE need_id = $1";
pub(super) const OPEN_NEEDS: &str = "SELECT * FROM needs WHERE status = $11 \
    AND ($1 = '' OR ',' || $1 || ',' LIKE '%,' || station_id || ',%') \
    AND ($2 = '' OR station_id = $2) AND ($3 = '' OR grid_id = $3) \
    AND ($4 = '' OR assigned_officer_id = $4) \
    AND ($5 = '' OR resident_id = $5) AND ($6 = '' OR premises_id = $6) \
    AND ($7 = '' OR $7 LIKE '%,' || category || ',%') AND ($8 IS NULL OR due_at < $8) \
    ORDER BY urgent DESC, due_at, need_id LIMIT $9 OFFSET $10";
pub(super) const OPEN_NEED_COUNT: &str =
    "SELECT COUNT(*) AS n FROM needs WHERE status = $2 AND resident_id = $1";

pub(super) const OPEN_NEED_COUNTS: &str = "SELECT resident_id, COUNT(*) AS n FROM needs \
    WHERE status = $STATUS AND resident_id IN (IN_LIST) GROUP BY resident_id";

pub(super) const INSPECTION_BY_REQUEST: &str = "SELECT * FROM inspections WHERE request_id = $1";
pub(super) const GET_INSPECTION: &str = "SELECT * FROM inspections WHERE inspection_id = $1";
pub(super) const MARK_REINSPECTED: &str =
    "UPDATE inspections SET reinspected = TRUE WHERE inspection_id = $1";
pub(super) const DUE_REINSPECTIONS: &str = "SELECT * FROM inspections \
    WHERE status = $8 AND reinspected = FALSE AND rectification_deadline IS NOT NULL \
    AND ($1 = '' OR ',' || $1 || ',' LIKE '%,' || station_id || ',%') \
    AND ($2 = '' OR station_id = $2) AND ($3 = '' OR grid_id = $3) \
    AND ($4 = '' OR premises_kind = $4) \
    AND ($5 IS NULL OR rectification_deadline < $5) \
    ORDER BY rectification_deadline, inspection_id LIMIT $6 OFFSET $7";

pub(super) const OUTREACH_BY_REQUEST: &str = "SELECT * FROM outreach WHERE request_id = $1";
pub(super) const OUTREACH_IN_SCOPE: &str = "SELECT * FROM outreach WHERE \
    ($1 = '' OR ',' || $1 || ',' LIKE '%,' || station_id || ',%') \
    AND ($2 = '' OR station_id = $2) AND ($3 = '' OR $3 LIKE '%,' || grid_id || ',%') \
    AND ($4 IS NULL OR held_at >= $4) AND ($5 IS NULL OR held_at < $5) \
    ORDER BY held_at, outreach_id";

pub(super) const BROADCAST_BY_REQUEST: &str = "SELECT * FROM broadcasts WHERE request_id = $1";
