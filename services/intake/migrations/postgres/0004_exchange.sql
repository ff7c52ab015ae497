-- Incident exchange (issue 15): an incident handed over by another bureau's Pingan
-- (ImportIncident) keeps a link back to the source bureau and its incident. One local incident
-- per source incident: the unique key makes a second import (or a concurrent one) find the first.
-- The imported document is kept as received, for audit.

CREATE TABLE intake_exchange_links (
    incident_id         TEXT PRIMARY KEY REFERENCES intake_incidents (incident_id),
    source_bureau_id    TEXT NOT NULL,
    source_incident_id  TEXT NOT NULL,
    document_id         TEXT NOT NULL,
    schema_version      TEXT NOT NULL,
    source_status       TEXT NOT NULL,
    exported_at         TIMESTAMPTZ NOT NULL,
    imported_at         TIMESTAMPTZ NOT NULL,
    request_id          TEXT NOT NULL,
    document            TEXT NOT NULL
);
CREATE UNIQUE INDEX intake_exchange_links_source
    ON intake_exchange_links (source_bureau_id, source_incident_id);
