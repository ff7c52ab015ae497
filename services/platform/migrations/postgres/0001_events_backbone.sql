-- Tables every service owns for the events backbone and idempotent requests.

-- Events written in the same transaction as the business change; the id orders them.
CREATE TABLE pingan_outbox_events (
    id           BIGSERIAL PRIMARY KEY,
    event_id     TEXT NOT NULL UNIQUE,
    event_type   TEXT NOT NULL,
    aggregate_id TEXT NOT NULL,
    payload      BYTEA NOT NULL,
    traceparent  TEXT NOT NULL DEFAULT '',
    tracestate   TEXT NOT NULL DEFAULT '',
    occurred_at  TIMESTAMPTZ NOT NULL
);

-- One delivery per (event, subscriber); only the oldest undelivered one of an aggregate is sent.
CREATE TABLE pingan_outbox_deliveries (
    event_row_id    BIGINT NOT NULL REFERENCES pingan_outbox_events (id) ON DELETE CASCADE,
    destination     TEXT NOT NULL,
    aggregate_id    TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    leased_until    TIMESTAMPTZ,
    last_error      TEXT NOT NULL DEFAULT '',
    updated_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (event_row_id, destination)
);
CREATE INDEX pingan_outbox_deliveries_due ON pingan_outbox_deliveries (status, next_attempt_at);
CREATE INDEX pingan_outbox_deliveries_order
    ON pingan_outbox_deliveries (destination, aggregate_id, event_row_id);

-- Events received, by id: a redelivered event is recognised and has no second effect.
CREATE TABLE pingan_inbox (
    event_id    TEXT PRIMARY KEY,
    event_type  TEXT NOT NULL,
    source      TEXT NOT NULL,
    received_at TIMESTAMPTZ NOT NULL
);

-- The first response to each request id, returned again for a repeat.
CREATE TABLE pingan_request_log (
    request_id   TEXT PRIMARY KEY,
    method       TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    response     BYTEA NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL
);
