-- Durable background jobs: one row per unit of work, claimed under a lease, retried with backoff.
CREATE TABLE platform_jobs (
    id          BIGSERIAL PRIMARY KEY,
    service     TEXT NOT NULL,
    kind        TEXT NOT NULL,
    key         TEXT NOT NULL,
    payload     BYTEA NOT NULL,
    state       TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    run_at      TIMESTAMPTZ NOT NULL,
    leased_until TIMESTAMPTZ,
    lease_owner TEXT NOT NULL DEFAULT '',
    last_error  TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ,
    UNIQUE (service, kind, key)
);
CREATE INDEX platform_jobs_due ON platform_jobs (service, state, run_at);
