-- Intake: incidents (the case master record), the calls that reported them, duplicate-call
-- merges and the incident timeline. Enums are stored as their proto numbers.

CREATE TABLE intake_incidents (
    incident_id              TEXT PRIMARY KEY,
    status                   INTEGER NOT NULL,
    channel                  INTEGER NOT NULL,
    description              TEXT NOT NULL,
    has_location             BOOLEAN NOT NULL,
    lat                      DOUBLE PRECISION NOT NULL,
    lon                      DOUBLE PRECISION NOT NULL,
    address                  TEXT NOT NULL,
    grid_id                  TEXT NOT NULL DEFAULT '',
    station_id               TEXT NOT NULL DEFAULT '',
    grid_located             BOOLEAN NOT NULL DEFAULT FALSE,
    station_kind             INTEGER NOT NULL DEFAULT 0,
    classification           BYTEA,
    kind                     INTEGER NOT NULL DEFAULT 0,
    category                 TEXT NOT NULL DEFAULT '',
    priority                 INTEGER NOT NULL DEFAULT 0,
    police_override          BOOLEAN NOT NULL DEFAULT FALSE,
    dispatch_id              TEXT NOT NULL DEFAULT '',
    assigned_unit_ids        TEXT NOT NULL DEFAULT '',
    transfer_id              TEXT NOT NULL DEFAULT '',
    hotline_ticket_id        TEXT NOT NULL DEFAULT '',
    complaint_id             TEXT NOT NULL DEFAULT '',
    pending_reason           TEXT NOT NULL DEFAULT '',
    close_reason             TEXT NOT NULL DEFAULT '',
    routing_pending          BOOLEAN NOT NULL,
    routing_attempts         INTEGER NOT NULL DEFAULT 0,
    next_route_at            TIMESTAMPTZ,
    route_lease_until        TIMESTAMPTZ,
    received_at              TIMESTAMPTZ NOT NULL,
    classified_at            TIMESTAMPTZ,
    unit_assigned_at         TIMESTAMPTZ,
    en_route_at              TIMESTAMPTZ,
    on_scene_at              TIMESTAMPTZ,
    closed_at                TIMESTAMPTZ,
    followed_up_at           TIMESTAMPTZ,
    response_target_ms       BIGINT NOT NULL DEFAULT 0,
    response_target_breached BOOLEAN NOT NULL DEFAULT FALSE,
    created_at               TIMESTAMPTZ NOT NULL,
    updated_at               TIMESTAMPTZ NOT NULL
);
CREATE INDEX intake_incidents_received ON intake_incidents (received_at, incident_id);
CREATE INDEX intake_incidents_routing ON intake_incidents (routing_pending, next_route_at);
CREATE INDEX intake_incidents_transfer ON intake_incidents (transfer_id);

CREATE TABLE intake_calls (
    call_id              TEXT PRIMARY KEY,
    incident_id          TEXT NOT NULL,
    request_id           TEXT NOT NULL,
    channel              INTEGER NOT NULL,
    source_call_id       TEXT NOT NULL,
    caller_phone_masked  TEXT NOT NULL,
    caller_phone_sealed  BYTEA,
    caller_phone_index   TEXT NOT NULL,
    caller_name          TEXT NOT NULL,
    has_location         BOOLEAN NOT NULL,
    lat                  DOUBLE PRECISION NOT NULL,
    lon                  DOUBLE PRECISION NOT NULL,
    address              TEXT NOT NULL,
    description          TEXT NOT NULL,
    reported_category    TEXT NOT NULL,
    inbound_transfer_id  TEXT NOT NULL,
    received_at          TIMESTAMPTZ NOT NULL,
    duplicate            BOOLEAN NOT NULL DEFAULT FALSE,
    distance_m           DOUBLE PRECISION NOT NULL DEFAULT 0,
    created_at           TIMESTAMPTZ NOT NULL
);
CREATE INDEX intake_calls_incident ON intake_calls (incident_id, received_at);
CREATE UNIQUE INDEX intake_calls_source ON intake_calls (channel, source_call_id)
    WHERE source_call_id <> '';

-- A provisional incident whose only call turned out to be a duplicate: its id keeps resolving.
CREATE TABLE intake_incident_merges (
    incident_id  TEXT PRIMARY KEY,
    merged_into  TEXT NOT NULL,
    merged_at    TIMESTAMPTZ NOT NULL
);

CREATE TABLE intake_timeline (
    seq            BIGSERIAL PRIMARY KEY,
    entry_id       TEXT NOT NULL UNIQUE,
    incident_id    TEXT NOT NULL,
    at             TIMESTAMPTZ NOT NULL,
    kind           INTEGER NOT NULL,
    actor_subject  TEXT NOT NULL,
    actor_role     TEXT NOT NULL,
    actor_name     TEXT NOT NULL,
    source         TEXT NOT NULL,
    summary        TEXT NOT NULL,
    from_status    INTEGER NOT NULL,
    to_status      INTEGER NOT NULL,
    unit_id        TEXT NOT NULL,
    related_id     TEXT NOT NULL,
    event_id       TEXT NOT NULL
);
CREATE INDEX intake_timeline_incident ON intake_timeline (incident_id, at, seq);
