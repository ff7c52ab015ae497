CREATE TABLE applied_events (
    position     INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id     TEXT NOT NULL,
    aggregate_id TEXT NOT NULL,
    label        TEXT NOT NULL
);
