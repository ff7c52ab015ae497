//! The SQL, written once for both backends (`$N` placeholders; `db.pick` only for locking).

macro_rules! unit_select {
    ($tail:literal) => {
        concat!(
            "SELECT unit_id, kind, callsign, station_id, grid_ids, capabilities, officer_ids, status, status_reason, \
             status_changed_at, current_dispatch_id, current_assignment_id, created_at, updated_at FROM dispatch_units ",
            $tail
        )
    };
}

macro_rules! dispatch_select {
    ($tail:literal) => {
        concat!(
            "SELECT dispatch_id, incident_id, station_id, grid_id, status, priority, sla_breached, response_due_at, \
             first_en_route_at, opened_at, closed_at, updated_at, doc, category, lat, lon, address, summary, \
             required_capabilities, response_target_ns, lookout_message, lookout_grid_id, lookout_audiences, \
             lookout_broadcast_id, lookout_error, disposition, narrative, opened_by_subject, opened_by_role, \
             opened_by_name, closed_by_subject, closed_by_role, closed_by_name, first_on_scene_at, station_kind \
             FROM dispatch_dispatches ",
            $tail
        )
    };
}

macro_rules! assignment_select {
    ($tail:literal) => {
        concat!(
            "SELECT assignment_id, dispatch_id, unit_id, status, ack_due_at, assigned_at, doc, callsign, unit_kind, \
             source, escalated_from, distance_m, eta_ns, assigned_by_subject, assigned_by_role, assigned_by_name, \
             note, acknowledged_at, en_route_at, on_scene_at, ended_at, requirement_kinds, \
             requirement_capabilities, requirement_count FROM dispatch_assignments ",
            $tail
        )
    };
}

macro_rules! entry_select {
    ($tail:literal) => {
        concat!(
            "SELECT entry_id, dispatch_id, incident_id, occurred_at, doc, kind, unit_id, assignment_id, \
             actor_subject, actor_role, actor_name, lat, lon, note, description, dispatch_status FROM dispatch_timeline ",
            $tail
        )
    };
}

macro_rules! flight_select {
    ($tail:literal) => {
        concat!(
            "SELECT flight_id, unit_id, station_id, dispatch_id, started_at, ended_at, distance_m, duration_ms, \
             created_at, doc, pilot_officer_id, purpose, video_recorded, notes, logged_by_subject, logged_by_role, \
             logged_by_name FROM dispatch_flights ",
            $tail
        )
    };
}

pub const INSERT_UNIT: &str = "INSERT INTO dispatch_units (unit_id, kind, callsign, station_id, grid_ids, capabilities, officer_ids, status, status_reason, status_changed_at, created_at, updated_at) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, '', $9, $9, $9) ON CONFLICT (unit_id) DO NOTHING";
pub const UPDATE_REGISTRATION: &str = "UPDATE dispatch_units SET kind = $2, callsign = $3, station_id = $4, grid_ids = $5, capabilities = $6, officer_ids = $7, updated_at = $8 WHERE unit_id = $1";
pub const SELECT_UNIT: &str = unit_select!("WHERE unit_id = $1");
pub const LIST_UNITS: &str =
    unit_select!("WHERE unit_id > $1 AND ($2 = '' OR station_id = $2) ORDER BY unit_id LIMIT $3");
pub const ALL_UNITS: &str = unit_select!("ORDER BY unit_id");
/// Units per station and status, for the gauge (a count, not every row: 20,000 units are ~9 MiB).
pub const UNIT_COUNTS: &str =
    "SELECT station_id, status, COUNT(*) AS units FROM dispatch_units GROUP BY station_id, status";
/// Units by id: `IN_KEYS` is filled in by `storage_rows::fetch_by_keys`.
pub const UNITS_BY_IDS: &str = unit_select!("WHERE unit_id IN_KEYS");
pub const SET_MANUAL_STATUS: &str = "UPDATE dispatch_units SET status = $2, status_reason = $3, status_changed_at = $4, updated_at = $4 \
    WHERE unit_id = $1 AND current_assignment_id IS NULL";
pub const RESERVE_PG: &str = "UPDATE dispatch_units SET status = 2, status_reason = '', current_dispatch_id = $2, current_assignment_id = $3, status_changed_at = $4, updated_at = $4 \
    WHERE unit_id = (SELECT unit_id FROM dispatch_units WHERE unit_id = $1 AND status = 1 AND current_assignment_id IS NULL FOR UPDATE SKIP LOCKED)";
pub const RESERVE_SQLITE: &str = "UPDATE dispatch_units SET status = 2, status_reason = '', current_dispatch_id = $2, current_assignment_id = $3, status_changed_at = $4, updated_at = $4 \
    WHERE unit_id = $1 AND status = 1 AND current_assignment_id IS NULL";
pub const SET_HELD_STATUS: &str = "UPDATE dispatch_units SET status = $3, status_changed_at = $4, updated_at = $4 \
    WHERE unit_id = $1 AND current_assignment_id = $2";
pub const RELEASE: &str = "UPDATE dispatch_units SET status = $3, status_reason = $4, current_dispatch_id = NULL, current_assignment_id = NULL, status_changed_at = $5, updated_at = $5 \
    WHERE unit_id = $1 AND current_assignment_id = $2";

pub const INSERT_DISPATCH: &str = "INSERT INTO dispatch_dispatches (dispatch_id, incident_id, station_id, grid_id, status, priority, is_open, sla_breached, \
    response_due_at, first_en_route_at, opened_at, closed_at, updated_at, doc, category, lat, lon, address, summary, required_capabilities, \
    response_target_ns, lookout_message, lookout_grid_id, lookout_audiences, lookout_broadcast_id, lookout_error, disposition, narrative, \
    opened_by_subject, opened_by_role, opened_by_name, closed_by_subject, closed_by_role, closed_by_name, first_on_scene_at, station_kind) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, \
    $28, $29, $30, $31, $32, $33, $34, $35, $36)";
pub const UPDATE_DISPATCH: &str = "UPDATE dispatch_dispatches SET incident_id = $2, station_id = $3, grid_id = $4, status = $5, priority = $6, \
    is_open = $7, sla_breached = $8, response_due_at = $9, first_en_route_at = $10, opened_at = $11, closed_at = $12, updated_at = $13, \
    doc = $14, category = $15, lat = $16, lon = $17, address = $18, summary = $19, required_capabilities = $20, response_target_ns = $21, \
    lookout_message = $22, lookout_grid_id = $23, lookout_audiences = $24, lookout_broadcast_id = $25, lookout_error = $26, \
    disposition = $27, narrative = $28, opened_by_subject = $29, opened_by_role = $30, opened_by_name = $31, closed_by_subject = $32, \
    closed_by_role = $33, closed_by_name = $34, first_on_scene_at = $35, station_kind = $36 WHERE dispatch_id = $1";
pub const SELECT_DISPATCH: &str = dispatch_select!("WHERE dispatch_id = $1");
pub const LOCK_DISPATCH_PG: &str = dispatch_select!("WHERE dispatch_id = $1 FOR UPDATE");
pub const LIST_DISPATCHES: &str = dispatch_select!(
    "WHERE ($1 = '' OR station_id = $1) AND ($2 = '' OR grid_id = $2) AND ($3 = '' OR incident_id = $3) \
    AND ($4 = FALSE OR sla_breached) AND opened_at >= $5 AND opened_at < $6 \
    AND ($7 = '' OR dispatch_id IN (SELECT dispatch_id FROM dispatch_assignments WHERE unit_id = $7)) \
    AND (opened_at < $8 OR (opened_at = $8 AND dispatch_id < $9)) \
    ORDER BY opened_at DESC, dispatch_id DESC LIMIT $10"
);
pub const OPEN_DISPATCHES: &str =
    dispatch_select!("WHERE is_open ORDER BY opened_at, dispatch_id LIMIT $1");
pub const SLA_DUE: &str = "SELECT dispatch_id FROM dispatch_dispatches \
    WHERE is_open AND NOT sla_breached AND first_en_route_at IS NULL AND response_due_at <= $1 \
    ORDER BY response_due_at LIMIT $2";
pub const DELETE_REQUIREMENTS: &str = "DELETE FROM dispatch_requirements WHERE dispatch_id = $1";
/// Followed by one `($n, …)` group of six values per row.
pub const INSERT_REQUIREMENTS: &str = "INSERT INTO dispatch_requirements (dispatch_id, list_name, ordinal, kinds, capabilities, unit_count) \
    VALUES ";
pub const SELECT_REQUIREMENTS: &str = "SELECT list_name, kinds, capabilities, unit_count FROM dispatch_requirements \
    WHERE dispatch_id = $1 ORDER BY list_name, ordinal";

pub const INSERT_ASSIGNMENT: &str = "INSERT INTO dispatch_assignments (assignment_id, dispatch_id, unit_id, status, active, ack_due_at, assigned_at, doc, \
    callsign, unit_kind, source, escalated_from, distance_m, eta_ns, assigned_by_subject, assigned_by_role, assigned_by_name, note, \
    acknowledged_at, en_route_at, on_scene_at, ended_at, requirement_kinds, requirement_capabilities, requirement_count) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25)";
pub const UPDATE_ASSIGNMENT: &str = "UPDATE dispatch_assignments SET dispatch_id = $2, unit_id = $3, status = $4, active = $5, ack_due_at = $6, \
    assigned_at = $7, doc = $8, callsign = $9, unit_kind = $10, source = $11, escalated_from = $12, distance_m = $13, eta_ns = $14, \
    assigned_by_subject = $15, assigned_by_role = $16, assigned_by_name = $17, note = $18, acknowledged_at = $19, en_route_at = $20, \
    on_scene_at = $21, ended_at = $22, requirement_kinds = $23, requirement_capabilities = $24, requirement_count = $25 \
    WHERE assignment_id = $1 AND status = $26";
pub const SELECT_ASSIGNMENTS: &str =
    assignment_select!("WHERE dispatch_id = $1 ORDER BY assigned_at, assignment_id");
pub const SELECT_ASSIGNMENT: &str = assignment_select!("WHERE assignment_id = $1");
pub const ACK_DUE: &str = "SELECT dispatch_id FROM dispatch_assignments WHERE status = 1 AND ack_due_at <= $1 ORDER BY ack_due_at LIMIT $2";

pub const INSERT_ENTRY: &str = "INSERT INTO dispatch_timeline (entry_id, dispatch_id, incident_id, occurred_at, doc, kind, unit_id, assignment_id, \
    actor_subject, actor_role, actor_name, lat, lon, note, description, dispatch_status) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)";
pub const REWRITE_ENTRY: &str = "UPDATE dispatch_timeline SET dispatch_id = $2, incident_id = $3, occurred_at = $4, doc = $5, kind = $6, \
    unit_id = $7, assignment_id = $8, actor_subject = $9, actor_role = $10, actor_name = $11, lat = $12, lon = $13, note = $14, \
    description = $15, dispatch_status = $16 WHERE entry_id = $1";
pub const SELECT_ENTRY: &str = entry_select!("WHERE entry_id = $1");
pub const ENTRIES_OF_DISPATCH: &str =
    entry_select!("WHERE dispatch_id = $1 ORDER BY occurred_at, entry_id");
pub const ENTRIES_OF_INCIDENT: &str =
    entry_select!("WHERE incident_id = $1 ORDER BY occurred_at, entry_id");

pub const INSERT_FLIGHT: &str = "INSERT INTO dispatch_flights (flight_id, unit_id, station_id, dispatch_id, started_at, ended_at, distance_m, duration_ms, \
    created_at, doc, pilot_officer_id, purpose, video_recorded, notes, logged_by_subject, logged_by_role, logged_by_name) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)";
pub const REWRITE_FLIGHT: &str = "UPDATE dispatch_flights SET unit_id = $2, station_id = $3, dispatch_id = $4, started_at = $5, ended_at = $6, \
    distance_m = $7, duration_ms = $8, created_at = $9, doc = $10, pilot_officer_id = $11, purpose = $12, video_recorded = $13, notes = $14, \
    logged_by_subject = $15, logged_by_role = $16, logged_by_name = $17 WHERE flight_id = $1";
pub const SELECT_FLIGHT: &str = flight_select!("WHERE flight_id = $1");
pub const FLIGHTS: &str = flight_select!(
    "WHERE started_at >= $1 AND started_at < $2 AND ($3 = '' OR station_id = $3) ORDER BY started_at, flight_id"
);

pub const LEGACY_DISPATCHES: &str = "SELECT dispatch_id FROM dispatch_dispatches WHERE length(doc) > 0 ORDER BY dispatch_id LIMIT 100";
pub const LEGACY_ASSIGNMENTS: &str = "SELECT assignment_id FROM dispatch_assignments WHERE length(doc) > 0 ORDER BY assignment_id LIMIT 100";
pub const LEGACY_ENTRIES: &str =
    "SELECT entry_id FROM dispatch_timeline WHERE length(doc) > 0 ORDER BY entry_id LIMIT 100";
pub const LEGACY_FLIGHTS: &str =
    "SELECT flight_id FROM dispatch_flights WHERE length(doc) > 0 ORDER BY flight_id LIMIT 100";
