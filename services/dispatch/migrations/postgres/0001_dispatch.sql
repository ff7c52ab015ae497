-- Units, dispatches with their assignments and timeline, and the drone flight log.
-- Enum columns hold the protobuf enum numbers of pingan.dispatch.v1 / pingan.common.v1.
-- Live positions are NOT stored here (personal data, no trail): they live in Redis / in process.

CREATE TABLE dispatch_units (
    unit_id               TEXT PRIMARY KEY,
    kind                  INTEGER NOT NULL,
    callsign              TEXT NOT NULL,
    station_id            TEXT NOT NULL,
    grid_ids              TEXT NOT NULL,      -- JSON array of strings
    capabilities          TEXT NOT NULL,      -- JSON array of strings
    officer_ids           TEXT NOT NULL,      -- JSON array of strings
    status                INTEGER NOT NULL,
    status_reason         TEXT NOT NULL DEFAULT '',
    status_changed_at     TIMESTAMPTZ NOT NULL,
    -- The active assignment holding the unit: set by the atomic reservation, cleared on release.
    current_dispatch_id   TEXT,
    current_assignment_id TEXT,
    created_at            TIMESTAMPTZ NOT NULL,
    updated_at            TIMESTAMPTZ NOT NULL
);
CREATE INDEX dispatch_units_station ON dispatch_units (station_id, unit_id);

-- One row per dispatch; `doc` is the encoded pingan.dispatch.v1.Dispatch (without assignments),
-- the other columns are what queries and timers filter on.
CREATE TABLE dispatch_dispatches (
    dispatch_id       TEXT PRIMARY KEY,
    incident_id       TEXT NOT NULL,
    station_id        TEXT NOT NULL,
    grid_id           TEXT NOT NULL,
    status            INTEGER NOT NULL,
    priority          INTEGER NOT NULL,
    is_open           BOOLEAN NOT NULL,
    sla_breached      BOOLEAN NOT NULL,
    response_due_at   TIMESTAMPTZ,
    first_en_route_at TIMESTAMPTZ,
    opened_at         TIMESTAMPTZ NOT NULL,
    closed_at         TIMESTAMPTZ,
    updated_at        TIMESTAMPTZ NOT NULL,
    doc               BYTEA NOT NULL
);
-- An incident has at most one open dispatch.
CREATE UNIQUE INDEX dispatch_one_open_per_incident ON dispatch_dispatches (incident_id) WHERE is_open;
CREATE INDEX dispatch_dispatches_opened ON dispatch_dispatches (opened_at DESC, dispatch_id DESC);
CREATE INDEX dispatch_dispatches_sla_due ON dispatch_dispatches (response_due_at)
    WHERE is_open AND NOT sla_breached AND first_en_route_at IS NULL;

-- One row per unit assignment; `doc` is the encoded pingan.dispatch.v1.Assignment.
CREATE TABLE dispatch_assignments (
    assignment_id TEXT PRIMARY KEY,
    dispatch_id   TEXT NOT NULL REFERENCES dispatch_dispatches (dispatch_id),
    unit_id       TEXT NOT NULL REFERENCES dispatch_units (unit_id),
    status        INTEGER NOT NULL,
    active        BOOLEAN NOT NULL,
    ack_due_at    TIMESTAMPTZ,
    assigned_at   TIMESTAMPTZ NOT NULL,
    doc           BYTEA NOT NULL
);
-- The backstop of the atomic reservation: a unit is never in two active assignments.
CREATE UNIQUE INDEX dispatch_one_active_assignment_per_unit ON dispatch_assignments (unit_id) WHERE active;
CREATE INDEX dispatch_assignments_dispatch ON dispatch_assignments (dispatch_id, assigned_at, assignment_id);
CREATE INDEX dispatch_assignments_unit ON dispatch_assignments (unit_id, dispatch_id);
CREATE INDEX dispatch_assignments_ack_due ON dispatch_assignments (ack_due_at) WHERE status = 1;

-- Append-only timeline; `doc` is the encoded pingan.dispatch.v1.TimelineEntry.
CREATE TABLE dispatch_timeline (
    entry_id    TEXT PRIMARY KEY,
    dispatch_id TEXT NOT NULL,
    incident_id TEXT NOT NULL,
    occurred_at TIMESTAMPTZ NOT NULL,
    doc         BYTEA NOT NULL
);
CREATE INDEX dispatch_timeline_dispatch ON dispatch_timeline (dispatch_id, occurred_at, entry_id);
CREATE INDEX dispatch_timeline_incident ON dispatch_timeline (incident_id, occurred_at, entry_id);

-- Drone flights; `doc` is the encoded pingan.dispatch.v1.Flight.
CREATE TABLE dispatch_flights (
    flight_id   TEXT PRIMARY KEY,
    unit_id     TEXT NOT NULL REFERENCES dispatch_units (unit_id),
    station_id  TEXT NOT NULL,
    dispatch_id TEXT NOT NULL,
    started_at  TIMESTAMPTZ NOT NULL,
    ended_at    TIMESTAMPTZ NOT NULL,
    distance_m  DOUBLE PRECISION NOT NULL,
    duration_ms BIGINT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    doc         BYTEA NOT NULL
);
CREATE INDEX dispatch_flights_started ON dispatch_flights (started_at);
CREATE INDEX dispatch_flights_unit ON dispatch_flights (unit_id, started_at);
