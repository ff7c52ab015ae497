-- The 110 <-> 12345 transfer ledger, its history, and the deliveries to 12345 and intake
-- (a domain outbox: every call to the other side waits here until it succeeds).

CREATE TABLE triage_transfers (
    transfer_id         TEXT PRIMARY KEY,
    direction           TEXT NOT NULL,
    status              TEXT NOT NULL,
    hotline_ticket_id   TEXT,
    incident_id         TEXT NOT NULL DEFAULT '',
    complaint_id        TEXT NOT NULL DEFAULT '',
    origin_transfer_id  TEXT NOT NULL DEFAULT '',
    route               TEXT NOT NULL DEFAULT '',
    classification      BYTEA NOT NULL,
    category            TEXT NOT NULL DEFAULT '',
    department          TEXT NOT NULL DEFAULT '',
    description         TEXT NOT NULL,
    caller_phone_sealed BYTEA,
    caller_phone_masked TEXT NOT NULL DEFAULT '',
    caller_name         TEXT NOT NULL DEFAULT '',
    lat                 DOUBLE PRECISION,
    lon                 DOUBLE PRECISION,
    address             TEXT NOT NULL DEFAULT '',
    reason              TEXT NOT NULL DEFAULT '',
    first_received_on   TEXT NOT NULL,
    first_received_at   TIMESTAMPTZ NOT NULL,
    deadline            TIMESTAMPTZ,
    outcome_note        TEXT NOT NULL DEFAULT '',
    created_at          TIMESTAMPTZ NOT NULL,
    updated_at          TIMESTAMPTZ NOT NULL
);
-- One inbound transfer per 12345 ticket (idempotent on the ticket id).
CREATE UNIQUE INDEX triage_transfers_ticket ON triage_transfers (direction, hotline_ticket_id);
CREATE INDEX triage_transfers_created ON triage_transfers (created_at, transfer_id);
CREATE INDEX triage_transfers_open_deadline ON triage_transfers (status, deadline);
CREATE INDEX triage_transfers_incident ON triage_transfers (incident_id);

CREATE TABLE triage_transfer_history (
    id            BIGSERIAL PRIMARY KEY,
    transfer_id   TEXT NOT NULL REFERENCES triage_transfers (transfer_id),
    from_status   TEXT NOT NULL DEFAULT '',
    to_status     TEXT NOT NULL,
    at            TIMESTAMPTZ NOT NULL,
    actor_subject TEXT NOT NULL DEFAULT '',
    actor_role    TEXT NOT NULL DEFAULT '',
    note          TEXT NOT NULL DEFAULT ''
);
CREATE INDEX triage_transfer_history_transfer ON triage_transfer_history (transfer_id, id);

CREATE TABLE triage_deliveries (
    delivery_id     TEXT PRIMARY KEY,
    transfer_id     TEXT NOT NULL REFERENCES triage_transfers (transfer_id),
    action          TEXT NOT NULL,
    payload         BYTEA NOT NULL,
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    leased_until    TIMESTAMPTZ,
    last_error      TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX triage_deliveries_due ON triage_deliveries (status, next_attempt_at);
CREATE INDEX triage_deliveries_transfer ON triage_deliveries (transfer_id, created_at);
