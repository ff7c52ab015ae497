-- Grid registry schema. Records are JSON bodies (TEXT) with the columns that queries filter and
-- sort on; times are UTC epoch milliseconds; phone and ID numbers only masked, hashed, encrypted.

CREATE TABLE stations (
    station_id TEXT PRIMARY KEY,
    body       TEXT NOT NULL,
    updated_ms BIGINT NOT NULL
);

CREATE TABLE grids (
    grid_id    TEXT PRIMARY KEY,
    station_id TEXT NOT NULL REFERENCES stations (station_id),
    kind       BIGINT NOT NULL,
    body       TEXT NOT NULL,
    updated_ms BIGINT NOT NULL
);
CREATE INDEX grids_station ON grids (station_id, grid_id);

CREATE TABLE grid_officers (
    grid_id    TEXT NOT NULL REFERENCES grids (grid_id),
    officer_id TEXT NOT NULL,
    role       BIGINT NOT NULL,
    body       TEXT NOT NULL,
    PRIMARY KEY (grid_id, officer_id, role)
);
CREATE INDEX grid_officers_officer ON grid_officers (officer_id);

CREATE TABLE addresses (
    address_id TEXT PRIMARY KEY,
    grid_id    TEXT NOT NULL,
    station_id TEXT NOT NULL,
    body       TEXT NOT NULL
);

CREATE TABLE residents (
    resident_id    TEXT PRIMARY KEY,
    grid_id        TEXT NOT NULL,
    station_id     TEXT NOT NULL,
    id_number_hash TEXT NOT NULL,
    body           TEXT NOT NULL
);
CREATE UNIQUE INDEX residents_id_number ON residents (id_number_hash);
CREATE INDEX residents_grid ON residents (grid_id);

CREATE TABLE houses (
    house_id   TEXT PRIMARY KEY,
    grid_id    TEXT NOT NULL,
    station_id TEXT NOT NULL,
    body       TEXT NOT NULL
);

CREATE TABLE premises (
    premises_id TEXT PRIMARY KEY,
    grid_id     TEXT NOT NULL,
    station_id  TEXT NOT NULL,
    kind        BIGINT NOT NULL,
    body        TEXT NOT NULL
);
CREATE INDEX premises_grid ON premises (grid_id);

CREATE TABLE id_lookups (
    lookup_id   TEXT PRIMARY KEY,
    resident_id TEXT NOT NULL,
    at_ms       BIGINT NOT NULL,
    body        TEXT NOT NULL
);

CREATE TABLE visits (
    visit_id    TEXT PRIMARY KEY,
    request_id  TEXT NOT NULL,
    resident_id TEXT NOT NULL,
    premises_id TEXT NOT NULL,
    grid_id     TEXT NOT NULL,
    visited_ms  BIGINT NOT NULL,
    contacted   BIGINT NOT NULL,
    body        TEXT NOT NULL
);
CREATE UNIQUE INDEX visits_request ON visits (request_id) WHERE request_id <> '';
CREATE INDEX visits_resident ON visits (resident_id, visited_ms);

CREATE TABLE needs (
    need_id     TEXT PRIMARY KEY,
    request_id  TEXT NOT NULL,
    grid_id     TEXT NOT NULL,
    station_id  TEXT NOT NULL,
    resident_id TEXT NOT NULL,
    premises_id TEXT NOT NULL,
    officer_id  TEXT NOT NULL,
    category    BIGINT NOT NULL,
    status      BIGINT NOT NULL,
    urgent      BIGINT NOT NULL,
    due_ms      BIGINT NOT NULL,
    body        TEXT NOT NULL
);
CREATE UNIQUE INDEX needs_request ON needs (request_id) WHERE request_id <> '';
CREATE INDEX needs_open ON needs (status, urgent, due_ms);

CREATE TABLE inspections (
    inspection_id TEXT PRIMARY KEY,
    request_id    TEXT NOT NULL,
    premises_id   TEXT NOT NULL,
    grid_id       TEXT NOT NULL,
    station_id    TEXT NOT NULL,
    premises_kind BIGINT NOT NULL,
    status        BIGINT NOT NULL,
    deadline_ms   BIGINT,
    reinspected   BIGINT NOT NULL,
    body          TEXT NOT NULL
);
CREATE UNIQUE INDEX inspections_request ON inspections (request_id) WHERE request_id <> '';
CREATE INDEX inspections_due ON inspections (status, reinspected, deadline_ms);

CREATE TABLE outreach (
    outreach_id TEXT PRIMARY KEY,
    request_id  TEXT NOT NULL,
    grid_id     TEXT NOT NULL,
    station_id  TEXT NOT NULL,
    held_ms     BIGINT NOT NULL,
    body        TEXT NOT NULL
);
CREATE UNIQUE INDEX outreach_request ON outreach (request_id) WHERE request_id <> '';
CREATE INDEX outreach_held ON outreach (held_ms);

CREATE TABLE broadcasts (
    broadcast_id TEXT PRIMARY KEY,
    request_id   TEXT NOT NULL,
    grid_id      TEXT NOT NULL,
    created_ms   BIGINT NOT NULL,
    body         TEXT NOT NULL
);
CREATE UNIQUE INDEX broadcasts_request ON broadcasts (request_id) WHERE request_id <> '';
