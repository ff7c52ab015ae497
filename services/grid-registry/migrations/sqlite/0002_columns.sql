-- The 0001 tables keep their rows under legacy_* names until converted (see below).
DROP INDEX grids_station;
DROP INDEX grid_officers_officer;
DROP INDEX residents_id_number;
DROP INDEX residents_grid;
DROP INDEX premises_grid;
DROP INDEX visits_request;
DROP INDEX visits_resident;
DROP INDEX needs_request;
DROP INDEX needs_open;
DROP INDEX inspections_request;
DROP INDEX inspections_due;
DROP INDEX outreach_request;
DROP INDEX outreach_held;
DROP INDEX broadcasts_request;
ALTER TABLE stations RENAME TO legacy_stations;
ALTER TABLE grids RENAME TO legacy_grids;
ALTER TABLE grid_officers RENAME TO legacy_grid_officers;
ALTER TABLE addresses RENAME TO legacy_addresses;
ALTER TABLE residents RENAME TO legacy_residents;
ALTER TABLE houses RENAME TO legacy_houses;
ALTER TABLE premises RENAME TO legacy_premises;
ALTER TABLE id_lookups RENAME TO legacy_id_lookups;
ALTER TABLE visits RENAME TO legacy_visits;
ALTER TABLE needs RENAME TO legacy_needs;
ALTER TABLE inspections RENAME TO legacy_inspections;
ALTER TABLE outreach RENAME TO legacy_outreach;
ALTER TABLE broadcasts RENAME TO legacy_broadcasts;

-- Grid registry in columns: every field a typed column (times as timestamps, enums as their proto
-- names, points as lat/lon pairs, a grid's ring as one WKT text), lists in child tables.
-- The JSON-body tables of 0001 are kept as legacy_* until the service converts their rows on start
-- (store::legacy::upgrade, idempotent); a later migration may drop them.

CREATE TABLE stations (
    station_id   TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    kind         TEXT NOT NULL,
    county       TEXT NOT NULL,
    region_code  TEXT NOT NULL,
    location_lat DOUBLE PRECISION,
    location_lon DOUBLE PRECISION,
    address      TEXT NOT NULL,
    duty_phone   TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL
);

CREATE TABLE grids (
    grid_id      TEXT PRIMARY KEY,
    station_id   TEXT NOT NULL REFERENCES stations (station_id),
    name         TEXT NOT NULL,
    kind         TEXT NOT NULL,
    -- WKT, e.g. POLYGON ((lon lat, lon lat, ...)); POLYGON EMPTY when no ring.
    polygon_wkt  TEXT NOT NULL,
    area_m2      DOUBLE PRECISION NOT NULL,
    centroid_lat DOUBLE PRECISION NOT NULL,
    centroid_lon DOUBLE PRECISION NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL
);
CREATE INDEX grids_station ON grids (station_id, grid_id);
CREATE INDEX grids_kind ON grids (kind, grid_id);

CREATE TABLE grid_officers (
    grid_id      TEXT NOT NULL REFERENCES grids (grid_id),
    officer_id   TEXT NOT NULL,
    role         TEXT NOT NULL,
    name         TEXT NOT NULL,
    station_id   TEXT NOT NULL,
    phone_masked TEXT NOT NULL,
    phone_sealed TEXT NOT NULL,
    assigned_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (grid_id, officer_id, role)
);
CREATE INDEX grid_officers_officer ON grid_officers (officer_id);

CREATE TABLE addresses (
    address_id   TEXT PRIMARY KEY,
    grid_id      TEXT NOT NULL,
    station_id   TEXT NOT NULL,
    full_text    TEXT NOT NULL,
    province     TEXT NOT NULL,
    city         TEXT NOT NULL,
    county       TEXT NOT NULL,
    township     TEXT NOT NULL,
    village      TEXT NOT NULL,
    street       TEXT NOT NULL,
    house_number TEXT NOT NULL,
    building     TEXT NOT NULL,
    entrance     TEXT NOT NULL,
    room         TEXT NOT NULL,
    location_lat DOUBLE PRECISION,
    location_lon DOUBLE PRECISION,
    address_code TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL
);
CREATE INDEX addresses_scope ON addresses (station_id, grid_id);

CREATE TABLE residents (
    resident_id                    TEXT PRIMARY KEY,
    name                           TEXT NOT NULL,
    id_number_masked               TEXT NOT NULL,
    id_number_sealed               TEXT NOT NULL,
    id_number_hash                 TEXT NOT NULL,
    birth_date                     TEXT NOT NULL,
    phone_masked                   TEXT NOT NULL,
    phone_sealed                   TEXT NOT NULL,
    grid_id                        TEXT NOT NULL,
    station_id                     TEXT NOT NULL,
    address_id                     TEXT NOT NULL,
    address                        TEXT NOT NULL,
    household_id                   TEXT NOT NULL,
    relation_to_head               TEXT NOT NULL,
    residency                      TEXT NOT NULL,
    location_lat                   DOUBLE PRECISION,
    location_lon                   DOUBLE PRECISION,
    emergency_contact_name         TEXT NOT NULL,
    emergency_contact_phone_masked TEXT NOT NULL,
    emergency_contact_phone_sealed TEXT NOT NULL,
    visit_interval_secs            BIGINT NOT NULL,
    notes                          TEXT NOT NULL,
    created_at                     TIMESTAMP NOT NULL,
    updated_at                     TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX residents_id_number ON residents (id_number_hash);
CREATE INDEX residents_grid ON residents (grid_id);
CREATE INDEX residents_station ON residents (station_id, grid_id);

CREATE TABLE resident_tags (
    resident_id TEXT NOT NULL REFERENCES residents (resident_id),
    position    BIGINT NOT NULL,
    tag         TEXT NOT NULL,
    PRIMARY KEY (resident_id, position)
);
CREATE INDEX resident_tags_tag ON resident_tags (tag, resident_id);

CREATE TABLE houses (
    house_id           TEXT PRIMARY KEY,
    address_id         TEXT NOT NULL,
    grid_id            TEXT NOT NULL,
    station_id         TEXT NOT NULL,
    house_use          TEXT NOT NULL,
    owner_resident_id  TEXT NOT NULL,
    owner_name         TEXT NOT NULL,
    owner_phone_masked TEXT NOT NULL,
    owner_phone_sealed TEXT NOT NULL,
    occupant_count     BIGINT NOT NULL,
    floor_area_m2      DOUBLE PRECISION NOT NULL,
    location_lat       DOUBLE PRECISION,
    location_lon       DOUBLE PRECISION,
    notes              TEXT NOT NULL,
    created_at         TIMESTAMP NOT NULL,
    updated_at         TIMESTAMP NOT NULL
);
CREATE INDEX houses_scope ON houses (station_id, grid_id);

CREATE TABLE premises (
    premises_id          TEXT PRIMARY KEY,
    kind                 TEXT NOT NULL,
    name                 TEXT NOT NULL,
    grid_id              TEXT NOT NULL,
    station_id           TEXT NOT NULL,
    address_id           TEXT NOT NULL,
    address              TEXT NOT NULL,
    location_lat         DOUBLE PRECISION,
    location_lon         DOUBLE PRECISION,
    credit_code          TEXT NOT NULL,
    contact_name         TEXT NOT NULL,
    contact_phone_masked TEXT NOT NULL,
    contact_phone_sealed TEXT NOT NULL,
    staff_count          BIGINT NOT NULL,
    last_inspected_at    TIMESTAMP,
    notes                TEXT NOT NULL,
    created_at           TIMESTAMP NOT NULL,
    updated_at           TIMESTAMP NOT NULL
);
CREATE INDEX premises_grid ON premises (grid_id, premises_id);
CREATE INDEX premises_scope ON premises (station_id, kind, premises_id);

CREATE TABLE premises_templates (
    premises_id TEXT NOT NULL REFERENCES premises (premises_id),
    position    BIGINT NOT NULL,
    template_id TEXT NOT NULL,
    PRIMARY KEY (premises_id, position)
);

CREATE TABLE id_lookups (
    lookup_id     TEXT PRIMARY KEY,
    actor_subject TEXT NOT NULL,
    actor_role    TEXT NOT NULL,
    purpose       TEXT NOT NULL,
    reason        TEXT NOT NULL,
    reference_id  TEXT NOT NULL,
    resident_id   TEXT NOT NULL,
    looked_up_at  TIMESTAMP NOT NULL
);
CREATE INDEX id_lookups_resident ON id_lookups (resident_id, looked_up_at);

CREATE TABLE visits (
    visit_id            TEXT PRIMARY KEY,
    request_id          TEXT NOT NULL,
    resident_id         TEXT NOT NULL,
    premises_id         TEXT NOT NULL,
    grid_id             TEXT NOT NULL,
    station_id          TEXT NOT NULL,
    officer_id          TEXT NOT NULL,
    purpose             TEXT NOT NULL,
    visited_at          TIMESTAMP NOT NULL,
    contacted           BOOLEAN NOT NULL,
    concern_raised      BOOLEAN NOT NULL,
    notes               TEXT NOT NULL,
    location_lat        DOUBLE PRECISION,
    location_lon        DOUBLE PRECISION,
    recorded_by_subject TEXT NOT NULL,
    recorded_by_role    TEXT NOT NULL,
    created_at          TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX visits_request ON visits (request_id) WHERE request_id <> '';
CREATE INDEX visits_resident ON visits (resident_id, visited_at);
CREATE INDEX visits_scope ON visits (station_id, grid_id, visited_at);

CREATE TABLE needs (
    need_id             TEXT PRIMARY KEY,
    request_id          TEXT NOT NULL,
    resident_id         TEXT NOT NULL,
    premises_id         TEXT NOT NULL,
    grid_id             TEXT NOT NULL,
    station_id          TEXT NOT NULL,
    category            TEXT NOT NULL,
    description         TEXT NOT NULL,
    urgent              BOOLEAN NOT NULL,
    status              TEXT NOT NULL,
    assigned_officer_id TEXT NOT NULL,
    due_at              TIMESTAMP NOT NULL,
    visit_id            TEXT NOT NULL,
    resolution_note     TEXT NOT NULL,
    referred_to         TEXT NOT NULL,
    recorded_by_subject TEXT NOT NULL,
    recorded_by_role    TEXT NOT NULL,
    resolved_by_subject TEXT,
    resolved_by_role    TEXT,
    created_at          TIMESTAMP NOT NULL,
    resolved_at         TIMESTAMP,
    updated_at          TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX needs_request ON needs (request_id) WHERE request_id <> '';
CREATE INDEX needs_open ON needs (status, urgent, due_at);
CREATE INDEX needs_scope ON needs (station_id, grid_id, category, created_at);
CREATE INDEX needs_resident ON needs (resident_id, status);

CREATE TABLE inspections (
    inspection_id          TEXT PRIMARY KEY,
    request_id             TEXT NOT NULL,
    result_request_id      TEXT NOT NULL,
    premises_id            TEXT NOT NULL,
    premises_name          TEXT NOT NULL,
    premises_kind          TEXT NOT NULL,
    grid_id                TEXT NOT NULL,
    station_id             TEXT NOT NULL,
    template_id            TEXT NOT NULL,
    template_version       TEXT NOT NULL,
    status                 TEXT NOT NULL,
    rectification_deadline TIMESTAMP,
    reinspection_of        TEXT NOT NULL,
    reinspection_id        TEXT NOT NULL,
    campaign               TEXT NOT NULL,
    summary                TEXT NOT NULL,
    started_at             TIMESTAMP NOT NULL,
    completed_at           TIMESTAMP,
    updated_at             TIMESTAMP NOT NULL,
    -- Set when a passing re-inspection rectified this one.
    reinspected            BOOLEAN NOT NULL
);
CREATE UNIQUE INDEX inspections_request ON inspections (request_id) WHERE request_id <> '';
CREATE INDEX inspections_due ON inspections (status, reinspected, rectification_deadline);
CREATE INDEX inspections_scope ON inspections (station_id, grid_id, premises_kind, started_at);
CREATE INDEX inspections_premises ON inspections (premises_id, started_at);

CREATE TABLE inspection_items (
    inspection_id TEXT NOT NULL REFERENCES inspections (inspection_id),
    position      BIGINT NOT NULL,
    item_code     TEXT NOT NULL,
    description   TEXT NOT NULL,
    result        TEXT NOT NULL,
    note          TEXT NOT NULL,
    PRIMARY KEY (inspection_id, position)
);

CREATE TABLE inspection_item_evidence (
    inspection_id TEXT NOT NULL REFERENCES inspections (inspection_id),
    item_position BIGINT NOT NULL,
    position      BIGINT NOT NULL,
    evidence_ref  TEXT NOT NULL,
    PRIMARY KEY (inspection_id, item_position, position)
);

CREATE TABLE inspection_hazards (
    inspection_id   TEXT NOT NULL REFERENCES inspections (inspection_id),
    position        BIGINT NOT NULL,
    hazard_id       TEXT NOT NULL,
    item_code       TEXT NOT NULL,
    description     TEXT NOT NULL,
    severity        TEXT NOT NULL,
    required_action TEXT NOT NULL,
    PRIMARY KEY (inspection_id, position)
);

CREATE TABLE inspection_inspectors (
    inspection_id TEXT NOT NULL REFERENCES inspections (inspection_id),
    position      BIGINT NOT NULL,
    officer_id    TEXT NOT NULL,
    PRIMARY KEY (inspection_id, position)
);
CREATE INDEX inspection_inspectors_officer ON inspection_inspectors (officer_id);

CREATE TABLE outreach (
    outreach_id           TEXT PRIMARY KEY,
    request_id            TEXT NOT NULL,
    grid_id               TEXT NOT NULL,
    station_id            TEXT NOT NULL,
    format                TEXT NOT NULL,
    held_at               TIMESTAMP NOT NULL,
    venue                 TEXT NOT NULL,
    location_lat          DOUBLE PRECISION,
    location_lon          DOUBLE PRECISION,
    audience_size         BIGINT NOT NULL,
    materials_distributed BIGINT NOT NULL,
    notes                 TEXT NOT NULL,
    recorded_by_subject   TEXT NOT NULL,
    recorded_by_role      TEXT NOT NULL,
    created_at            TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX outreach_request ON outreach (request_id) WHERE request_id <> '';
CREATE INDEX outreach_held ON outreach (held_at);
CREATE INDEX outreach_scope ON outreach (station_id, grid_id, held_at);

CREATE TABLE outreach_topics (
    outreach_id TEXT NOT NULL REFERENCES outreach (outreach_id),
    position    BIGINT NOT NULL,
    topic       TEXT NOT NULL,
    PRIMARY KEY (outreach_id, position)
);
CREATE INDEX outreach_topics_topic ON outreach_topics (topic);

CREATE TABLE outreach_organizers (
    outreach_id TEXT NOT NULL REFERENCES outreach (outreach_id),
    position    BIGINT NOT NULL,
    officer_id  TEXT NOT NULL,
    PRIMARY KEY (outreach_id, position)
);

CREATE TABLE outreach_partners (
    outreach_id TEXT NOT NULL REFERENCES outreach (outreach_id),
    position    BIGINT NOT NULL,
    partner     TEXT NOT NULL,
    PRIMARY KEY (outreach_id, position)
);

CREATE TABLE outreach_evidence (
    outreach_id  TEXT NOT NULL REFERENCES outreach (outreach_id),
    position     BIGINT NOT NULL,
    evidence_ref TEXT NOT NULL,
    PRIMARY KEY (outreach_id, position)
);

CREATE TABLE broadcasts (
    broadcast_id    TEXT PRIMARY KEY,
    request_id      TEXT NOT NULL,
    grid_id         TEXT NOT NULL,
    station_id      TEXT NOT NULL,
    title           TEXT NOT NULL,
    message         TEXT NOT NULL,
    dispatch_id     TEXT NOT NULL,
    incident_id     TEXT NOT NULL,
    sent_by_subject TEXT NOT NULL,
    sent_by_role    TEXT NOT NULL,
    created_at      TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX broadcasts_request ON broadcasts (request_id) WHERE request_id <> '';
CREATE INDEX broadcasts_grid ON broadcasts (grid_id, created_at);

CREATE TABLE broadcast_audiences (
    broadcast_id TEXT NOT NULL REFERENCES broadcasts (broadcast_id),
    position     BIGINT NOT NULL,
    audience     TEXT NOT NULL,
    PRIMARY KEY (broadcast_id, position)
);

CREATE TABLE broadcast_channels (
    broadcast_id TEXT NOT NULL REFERENCES broadcasts (broadcast_id),
    position     BIGINT NOT NULL,
    channel      TEXT NOT NULL,
    PRIMARY KEY (broadcast_id, position)
);

CREATE TABLE broadcast_deliveries (
    broadcast_id   TEXT NOT NULL REFERENCES broadcasts (broadcast_id),
    position       BIGINT NOT NULL,
    delivery_id    TEXT NOT NULL,
    audience       TEXT NOT NULL,
    recipient_id   TEXT NOT NULL,
    recipient_name TEXT NOT NULL,
    contact_masked TEXT NOT NULL,
    channel        TEXT NOT NULL,
    status         TEXT NOT NULL,
    error          TEXT NOT NULL,
    attempted_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (broadcast_id, position)
);
