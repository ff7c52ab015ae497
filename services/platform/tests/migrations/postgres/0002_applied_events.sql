CREATE TABLE applied_events (
    position     BIGSERIAL PRIMARY KEY,
    event_id     TEXT NOT NULL,
    aggregate_id TEXT NOT NULL,
    label        TEXT NOT NULL
);
