-- Triage's classification of an incident in typed columns instead of the encoded protobuf in
-- `classification` (issue 13, rows are columns): scalars on intake_incidents (`class_kind` NULL:
-- not classified; enums by their text name), lists in child tables keyed by incident and
-- position, and every nested list of strings (matched and negated words, unit kinds,
-- capabilities) in intake_classification_values. Old blobs are converted by the service on
-- start (app::upgrade), which clears `classification`; nothing writes it any more.

ALTER TABLE intake_incidents ADD COLUMN class_kind TEXT;
ALTER TABLE intake_incidents ADD COLUMN class_category TEXT NOT NULL DEFAULT '';
ALTER TABLE intake_incidents ADD COLUMN class_priority TEXT NOT NULL DEFAULT 'PRIORITY_UNSPECIFIED';
-- The response target in milliseconds; NULL when triage set none (P4).
ALTER TABLE intake_incidents ADD COLUMN class_response_target_ms BIGINT;
ALTER TABLE intake_incidents ADD COLUMN class_department TEXT NOT NULL DEFAULT '';
ALTER TABLE intake_incidents ADD COLUMN class_category_name TEXT NOT NULL DEFAULT '';
ALTER TABLE intake_incidents ADD COLUMN class_rules_version TEXT NOT NULL DEFAULT '';
ALTER TABLE intake_incidents ADD COLUMN class_needs_confirmation BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE intake_incidents ADD COLUMN class_catalogue_version TEXT NOT NULL DEFAULT '';
CREATE INDEX intake_incidents_legacy_class ON intake_incidents (incident_id)
    WHERE classification IS NOT NULL;

-- The rules that matched, in the order triage applied them.
CREATE TABLE intake_classification_rules (
    incident_id  TEXT NOT NULL REFERENCES intake_incidents (incident_id),
    position     INTEGER NOT NULL,
    rule_id      TEXT NOT NULL,
    category     TEXT NOT NULL,
    effect       TEXT NOT NULL,
    kind         TEXT NOT NULL,
    priority     TEXT NOT NULL,
    explanation  TEXT NOT NULL,
    PRIMARY KEY (incident_id, position)
);

-- The response situations triage recognised.
CREATE TABLE intake_classification_situations (
    incident_id  TEXT NOT NULL REFERENCES intake_incidents (incident_id),
    position     INTEGER NOT NULL,
    code         TEXT NOT NULL,
    name         TEXT NOT NULL,
    PRIMARY KEY (incident_id, position)
);

-- The units the response needs.
CREATE TABLE intake_classification_requirements (
    incident_id  TEXT NOT NULL REFERENCES intake_incidents (incident_id),
    position     INTEGER NOT NULL,
    unit_count   INTEGER NOT NULL,
    PRIMARY KEY (incident_id, position)
);

-- One string of a nested list: `list_name` is rule_matched_words, rule_negated_words,
-- situation_matched_words, requirement_kinds (UnitKind names) or requirement_capabilities;
-- `owner_position` is the position of its rule, situation or requirement.
CREATE TABLE intake_classification_values (
    incident_id     TEXT NOT NULL REFERENCES intake_incidents (incident_id),
    list_name       TEXT NOT NULL,
    owner_position  INTEGER NOT NULL,
    position        INTEGER NOT NULL,
    value           TEXT NOT NULL,
    PRIMARY KEY (incident_id, list_name, owner_position, position)
);
