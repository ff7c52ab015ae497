CREATE TABLE probe_records (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    active      BOOLEAN NOT NULL,
    payload     BLOB NOT NULL,
    hits        BIGINT NOT NULL DEFAULT 0,
    recorded_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX probe_records_name ON probe_records (name);
