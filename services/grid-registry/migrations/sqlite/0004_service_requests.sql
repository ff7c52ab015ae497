-- Service requests (非警务服务事项): the request, its checklist and its history. Idempotency of
-- the RPCs is the platform's request log (pingan_request_log); request_id here only records
-- which request opened it.
CREATE TABLE service_requests (
    service_request_id     TEXT PRIMARY KEY,
    request_id             TEXT NOT NULL,
    type                   TEXT NOT NULL,
    status                 TEXT NOT NULL,
    outcome                TEXT NOT NULL,
    station_id             TEXT NOT NULL,
    grid_id                TEXT NOT NULL,
    resident_id            TEXT NOT NULL,
    applicant_name         TEXT NOT NULL,
    applicant_phone_masked TEXT NOT NULL,
    applicant_phone_sealed TEXT NOT NULL,
    channel                TEXT NOT NULL,
    officer_id             TEXT NOT NULL,
    description            TEXT NOT NULL,
    requested_at           TIMESTAMP NOT NULL,
    due_at                 TIMESTAMP NOT NULL,
    submitted_at           TIMESTAMP,
    submit_note            TEXT NOT NULL,
    closed_at              TIMESTAMP,
    close_note             TEXT NOT NULL,
    opened_by_subject      TEXT NOT NULL,
    opened_by_role         TEXT NOT NULL,
    created_at             TIMESTAMP NOT NULL,
    updated_at             TIMESTAMP NOT NULL
);
CREATE INDEX service_requests_requested ON service_requests (requested_at, service_request_id);
CREATE INDEX service_requests_station ON service_requests (station_id, requested_at);
CREATE INDEX service_requests_officer ON service_requests (officer_id, requested_at);
CREATE INDEX service_requests_open ON service_requests (status, due_at);

CREATE TABLE service_request_items (
    service_request_id   TEXT NOT NULL REFERENCES service_requests (service_request_id),
    position             BIGINT NOT NULL,
    item_key             TEXT NOT NULL,
    description          TEXT NOT NULL,
    requirement          TEXT NOT NULL,
    completed_at         TIMESTAMP,
    completed_by_subject TEXT,
    completed_by_role    TEXT,
    note                 TEXT NOT NULL,
    PRIMARY KEY (service_request_id, item_key)
);

CREATE TABLE service_request_events (
    service_request_id TEXT NOT NULL REFERENCES service_requests (service_request_id),
    seq                BIGINT NOT NULL,
    kind               TEXT NOT NULL,
    at                 TIMESTAMP NOT NULL,
    actor_subject      TEXT NOT NULL,
    actor_role         TEXT NOT NULL,
    item_key           TEXT NOT NULL,
    status             TEXT NOT NULL,
    outcome            TEXT NOT NULL,
    note               TEXT NOT NULL,
    PRIMARY KEY (service_request_id, seq)
);
