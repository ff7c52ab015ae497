//! The registry's SQL, written once with `$N` placeholders for both backends. Optional filters
//! are `($n = '' OR column = $n)`; the caller's stations arrive as ",a,b," ("" for the bureau).

pub(super) const INSERT_STATION: &str = "INSERT INTO stations (station_id, body, updated_ms) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";
pub(super) const UPDATE_STATION: &str =
    "UPDATE stations SET body = $2, updated_ms = $3 WHERE station_id = $1";
pub(super) const GET_STATION: &str = "SELECT body FROM stations WHERE station_id = $1";
pub(super) const ALL_STATIONS: &str = "SELECT body FROM stations ORDER BY station_id";

pub(super) const INSERT_GRID: &str = "INSERT INTO grids (grid_id, station_id, kind, body, updated_ms) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING";
pub(super) const UPDATE_GRID: &str =
    "UPDATE grids SET station_id = $2, kind = $3, body = $4, updated_ms = $5 WHERE grid_id = $1";
pub(super) const GET_GRID: &str = "SELECT body FROM grids WHERE grid_id = $1";
pub(super) const ALL_GRIDS: &str = "SELECT body FROM grids ORDER BY grid_id";
pub(super) const LIST_GRIDS: &str = "SELECT body FROM grids WHERE \
    ($1 = '' OR ',' || $1 || ',' LIKE '%,' || station_id || ',%') \
    AND ($2 = '' OR station_id = $2) AND ($3 = '' OR grid_id = $3) \
    AND ($4 = '' OR grid_id IN (SELECT grid_id FROM grid_officers WHERE officer_id = $4)) \
    AND ($5 = 0 OR kind = $5) ORDER BY grid_id LIMIT $6 OFFSET $7";

pub(super) const INSERT_OFFICER: &str = "INSERT INTO grid_officers (grid_id, officer_id, role, body) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING";
pub(super) const UPDATE_OFFICER: &str =
    "UPDATE grid_officers SET body = $4 WHERE grid_id = $1 AND officer_id = $2 AND role = $3";
pub(super) const DELETE_OFFICER: &str =
    "DELETE FROM grid_officers WHERE grid_id = $1 AND officer_id = $2 AND role = $3";
pub(super) const GRID_OFFICERS: &str =
    "SELECT body FROM grid_officers WHERE grid_id = $1 ORDER BY role, officer_id";

pub(super) const INSERT_ADDRESS: &str = "INSERT INTO addresses (address_id, grid_id, station_id, body) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING";
pub(super) const UPDATE_ADDRESS: &str =
    "UPDATE addresses SET grid_id = $2, station_id = $3, body = $4 WHERE address_id = $1";
pub(super) const GET_ADDRESS: &str = "SELECT body FROM addresses WHERE address_id = $1";
pub(super) const ADDRESSES_IN_SCOPE: &str = "SELECT body FROM addresses WHERE \
    ($1 = '' OR ',' || $1 || ',' LIKE '%,' || station_id || ',%') \
    AND ($2 = '' OR station_id = $2) AND ($3 = '' OR grid_id = $3) ORDER BY address_id";

pub(super) const INSERT_RESIDENT: &str = "INSERT INTO residents (resident_id, grid_id, station_id, id_number_hash, body) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (resident_id) DO NOTHING";
pub(super) const UPDATE_RESIDENT: &str = "UPDATE residents SET grid_id = $2, station_id = $3, id_number_hash = $4, body = $5 WHERE resident_id = $1";
pub(super) const GET_RESIDENT: &str = "SELECT r.body, (SELECT MAX(v.visited_ms) FROM visits v WHERE v.resident_id = r.resident_id AND v.contacted = 1) FROM residents r WHERE r.resident_id = $1";
pub(super) const RESIDENT_BY_HASH: &str = "SELECT r.body, (SELECT MAX(v.visited_ms) FROM visits v WHERE v.resident_id = r.resident_id AND v.contacted = 1) FROM residents r WHERE r.id_number_hash = $1";
pub(super) const RESIDENTS_IN_SCOPE: &str = "SELECT r.body, (SELECT MAX(v.visited_ms) FROM visits v WHERE v.resident_id = r.resident_id AND v.contacted = 1) FROM residents r WHERE \
    ($1 = '' OR ',' || $1 || ',' LIKE '%,' || r.station_id || ',%') \
    AND ($2 = '' OR r.station_id = $2) AND ($3 = '' OR r.grid_id = $3) \
    AND ($4 = '' OR r.grid_id IN (SELECT grid_id FROM grid_officers WHERE officer_id = $4)) \
    ORDER BY r.resident_id";

pub(super) const INSERT_HOUSE: &str = "INSERT INTO houses (house_id, grid_id, station_id, body) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING";
pub(super) const UPDATE_HOUSE: &str =
    "UPDATE houses SET grid_id = $2, station_id = $3, body = $4 WHERE house_id = $1";
pub(super) const GET_HOUSE: &str = "SELECT body FROM houses WHERE house_id = $1";

pub(super) const INSERT_PREMISES: &str = "INSERT INTO premises (premises_id, grid_id, station_id, kind, body) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING";
pub(super) const UPDATE_PREMISES: &str = "UPDATE premises SET grid_id = $2, station_id = $3, kind = $4, body = $5 WHERE premises_id = $1";
pub(super) const GET_PREMISES: &str = "SELECT body FROM premises WHERE premises_id = $1";
pub(super) const PREMISES_IN_GRID: &str =
    "SELECT body FROM premises WHERE grid_id = $1 ORDER BY premises_id";

pub(super) const INSERT_LOOKUP: &str =
    "INSERT INTO id_lookups (lookup_id, resident_id, at_ms, body) VALUES ($1, $2, $3, $4)";

pub(super) const INSERT_VISIT: &str = "INSERT INTO visits (visit_id, request_id, resident_id, premises_id, grid_id, visited_ms, contacted, body) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING";
pub(super) const VISIT_BY_REQUEST: &str = "SELECT body FROM visits WHERE request_id = $1";

pub(super) const INSERT_NEED: &str = "INSERT INTO needs (need_id, request_id, grid_id, station_id, resident_id, premises_id, officer_id, category, status, urgent, due_ms, body) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT DO NOTHING";
pub(super) const NEED_BY_REQUEST: &str = "SELECT body FROM needs WHERE request_id = $1";
pub(super) const GET_NEED: &str = "SELECT body FROM needs WHERE need_id = $1";
pub(super) const SETTLE_NEED: &str =
    "UPDATE needs SET status = $2, body = $3 WHERE need_id = $1 AND status = $4";
pub(super) const OPEN_NEEDS: &str = "SELECT body FROM needs WHERE status = 1 \
    AND ($1 = '' OR ',' || $1 || ',' LIKE '%,' || station_id || ',%') \
    AND ($2 = '' OR station_id = $2) AND ($3 = '' OR grid_id = $3) AND ($4 = '' OR officer_id = $4) \
    AND ($5 = '' OR resident_id = $5) AND ($6 = '' OR premises_id = $6) \
    AND ($7 = '' OR $7 LIKE '%,' || CAST(category AS TEXT) || ',%') AND due_ms < $8 \
    ORDER BY urgent DESC, due_ms, need_id LIMIT $9 OFFSET $10";
pub(super) const OPEN_NEED_COUNT: &str =
    "SELECT COUNT(*) FROM needs WHERE status = 1 AND resident_id = $1";

pub(super) const INSERT_INSPECTION: &str = "INSERT INTO inspections (inspection_id, request_id, premises_id, grid_id, station_id, premises_kind, status, deadline_ms, reinspected, body) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9) ON CONFLICT DO NOTHING";
pub(super) const INSPECTION_BY_REQUEST: &str = "SELECT body FROM inspections WHERE request_id = $1";
pub(super) const GET_INSPECTION: &str = "SELECT body FROM inspections WHERE inspection_id = $1";
pub(super) const UPDATE_INSPECTION: &str =
    "UPDATE inspections SET status = $2, deadline_ms = $3, body = $4 WHERE inspection_id = $1";
pub(super) const MARK_REINSPECTED: &str = "UPDATE inspections SET status = $2, deadline_ms = $3, body = $4, reinspected = 1 WHERE inspection_id = $1";
pub(super) const DUE_REINSPECTIONS: &str = "SELECT body FROM inspections WHERE status = 3 AND reinspected = 0 \
    AND ($1 = '' OR ',' || $1 || ',' LIKE '%,' || station_id || ',%') \
    AND ($2 = '' OR station_id = $2) AND ($3 = '' OR grid_id = $3) \
    AND ($4 = 0 OR premises_kind = $4) AND deadline_ms < $5 \
    ORDER BY deadline_ms, inspection_id LIMIT $6 OFFSET $7";

pub(super) const INSERT_OUTREACH: &str = "INSERT INTO outreach (outreach_id, request_id, grid_id, station_id, held_ms, body) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING";
pub(super) const OUTREACH_BY_REQUEST: &str = "SELECT body FROM outreach WHERE request_id = $1";
pub(super) const OUTREACH_IN_SCOPE: &str = "SELECT body FROM outreach WHERE \
    ($1 = '' OR ',' || $1 || ',' LIKE '%,' || station_id || ',%') \
    AND ($2 = '' OR station_id = $2) AND ($3 = '' OR $3 LIKE '%,' || grid_id || ',%') \
    AND held_ms >= $4 AND held_ms < $5 ORDER BY held_ms, outreach_id";

pub(super) const INSERT_BROADCAST: &str = "INSERT INTO broadcasts (broadcast_id, request_id, grid_id, created_ms, body) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING";
pub(super) const BROADCAST_BY_REQUEST: &str = "SELECT body FROM broadcasts WHERE request_id = $1";
