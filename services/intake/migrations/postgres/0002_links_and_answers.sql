-- Duplicate links that never lose a call, and first answers that a repeat returns.
-- A linked incident is kept and points to its primary (merged_into); an incident becomes a
-- decided primary (link_checked) once its link step ran, and a decided primary is never linked.
ALTER TABLE intake_incidents ADD COLUMN merged_into TEXT NOT NULL DEFAULT '';
ALTER TABLE intake_incidents ADD COLUMN merged_at TIMESTAMPTZ;
ALTER TABLE intake_incidents ADD COLUMN link_checked BOOLEAN NOT NULL DEFAULT FALSE;
-- Incidents past CLASSIFIED (or no longer routed) already went through the link step.
UPDATE intake_incidents SET link_checked = TRUE WHERE status NOT IN (1, 2) OR routing_pending = FALSE;
CREATE INDEX intake_incidents_merged ON intake_incidents (merged_into);

-- The incident a call was saved under, and the first answer ReportCall gave for it.
ALTER TABLE intake_calls ADD COLUMN first_incident_id TEXT NOT NULL DEFAULT '';
ALTER TABLE intake_calls ADD COLUMN answer_incident_id TEXT;
ALTER TABLE intake_calls ADD COLUMN answer_outcome INTEGER NOT NULL DEFAULT 0;
UPDATE intake_calls SET first_incident_id = incident_id;

-- One row that every link decision locks first: decisions are taken one at a time.
CREATE TABLE intake_link_lock (
    lock_id   INTEGER PRIMARY KEY,
    taken_at  TIMESTAMPTZ
);
INSERT INTO intake_link_lock (lock_id, taken_at) VALUES (1, NULL);
