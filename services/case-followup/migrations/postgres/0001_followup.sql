-- Case follow-up: mediations, revisits, lost-and-found. Each record is kept as its protobuf
-- encoding (personal data removed) beside the columns that queries filter and order on.
-- Phone and ID numbers live only encrypted (*_enc) and as keyed hashes (*_index).

CREATE TABLE followup_mediations (
    mediation_id     TEXT PRIMARY KEY,
    incident_id      TEXT NOT NULL,
    station_id       TEXT NOT NULL,
    status           TEXT NOT NULL,
    started_at       TIMESTAMPTZ NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    party_phones_enc BYTEA,
    record           BYTEA NOT NULL
);
CREATE INDEX followup_mediations_incident ON followup_mediations (incident_id);
CREATE INDEX followup_mediations_station ON followup_mediations (station_id, created_at);

CREATE TABLE followup_revisits (
    revisit_id          TEXT PRIMARY KEY,
    -- What scheduled it: "dispatch:<id>" or "revisit:<previous id>"; scheduled once per key.
    schedule_key        TEXT NOT NULL UNIQUE,
    incident_id         TEXT NOT NULL,
    station_id          TEXT NOT NULL,
    grid_id             TEXT NOT NULL,
    assigned_officer_id TEXT NOT NULL,
    status              TEXT NOT NULL,
    due_at              TIMESTAMPTZ NOT NULL,
    completed_at        TIMESTAMPTZ,
    created_at          TIMESTAMPTZ NOT NULL,
    updated_at          TIMESTAMPTZ NOT NULL,
    contact_phone_enc   BYTEA,
    record              BYTEA NOT NULL
);
CREATE INDEX followup_revisits_due ON followup_revisits (status, due_at);
CREATE INDEX followup_revisits_station ON followup_revisits (station_id, due_at);
CREATE INDEX followup_revisits_incident ON followup_revisits (incident_id);

CREATE TABLE followup_found_items (
    found_item_id     TEXT PRIMARY KEY,
    kind              TEXT NOT NULL,
    station_id        TEXT NOT NULL,
    status            TEXT NOT NULL,
    registry_lookup   TEXT NOT NULL,
    next_lookup_at    TIMESTAMPTZ,
    id_number_index   TEXT,
    id_number_enc     BYTEA,
    owner_phone_enc   BYTEA,
    recipient_id_enc  BYTEA,
    created_at        TIMESTAMPTZ NOT NULL,
    updated_at        TIMESTAMPTZ NOT NULL,
    record            BYTEA NOT NULL
);
CREATE INDEX followup_found_items_lookup ON followup_found_items (registry_lookup, next_lookup_at);
CREATE INDEX followup_found_items_station ON followup_found_items (station_id, created_at);
CREATE INDEX followup_found_items_kind ON followup_found_items (kind, status);
CREATE INDEX followup_found_items_id_index ON followup_found_items (id_number_index);

CREATE TABLE followup_lost_reports (
    lost_report_id   TEXT PRIMARY KEY,
    kind             TEXT NOT NULL,
    station_id       TEXT NOT NULL,
    status           TEXT NOT NULL,
    id_number_index  TEXT,
    id_number_enc    BYTEA,
    owner_phone_enc  BYTEA NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    record           BYTEA NOT NULL
);
CREATE INDEX followup_lost_reports_kind ON followup_lost_reports (kind, status);
CREATE INDEX followup_lost_reports_id_index ON followup_lost_reports (id_number_index);
CREATE INDEX followup_lost_reports_station ON followup_lost_reports (station_id, created_at);

CREATE TABLE followup_matches (
    found_item_id     TEXT NOT NULL,
    lost_report_id    TEXT NOT NULL,
    found_station_id  TEXT NOT NULL,
    lost_station_id   TEXT NOT NULL,
    score             DOUBLE PRECISION NOT NULL,
    created_at        TIMESTAMPTZ NOT NULL,
    record            BYTEA NOT NULL,
    PRIMARY KEY (found_item_id, lost_report_id)
);
CREATE INDEX followup_matches_lost ON followup_matches (lost_report_id);
