-- The classification a transfer was made on, in typed columns instead of the encoded protobuf in
-- `classification` (rows are columns): scalars on triage_transfers (`class_kind` NULL: none
-- readable; enums by their text name), lists in child tables keyed by transfer and position, and
-- every nested list of strings (matched and negated words, unit kinds, capabilities) in
-- triage_classification_values. Old blobs are converted by the service on start (the chores
-- worker), which empties `classification`; until then reads decode the blob. Nothing writes it
-- any more (new rows hold an empty one); a later migration drops it.

ALTER TABLE triage_transfers ADD COLUMN class_kind TEXT;
ALTER TABLE triage_transfers ADD COLUMN class_category TEXT NOT NULL DEFAULT '';
ALTER TABLE triage_transfers ADD COLUMN class_priority TEXT NOT NULL DEFAULT 'PRIORITY_UNSPECIFIED';
-- The response target in milliseconds; NULL when triage set none (P4).
ALTER TABLE triage_transfers ADD COLUMN class_response_target_ms BIGINT;
ALTER TABLE triage_transfers ADD COLUMN class_department TEXT NOT NULL DEFAULT '';
ALTER TABLE triage_transfers ADD COLUMN class_category_name TEXT NOT NULL DEFAULT '';
ALTER TABLE triage_transfers ADD COLUMN class_rules_version TEXT NOT NULL DEFAULT '';
ALTER TABLE triage_transfers ADD COLUMN class_needs_confirmation BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE triage_transfers ADD COLUMN class_catalogue_version TEXT NOT NULL DEFAULT '';
-- An empty blob encodes a classification with every field unset: nothing to convert.
UPDATE triage_transfers SET class_kind = 'KIND_UNSPECIFIED' WHERE length(classification) = 0;
CREATE INDEX triage_transfers_legacy_class ON triage_transfers (transfer_id)
    WHERE length(classification) > 0;

-- The rules that matched, in the order triage applied them.
CREATE TABLE triage_classification_rules (
    transfer_id  TEXT NOT NULL REFERENCES triage_transfers (transfer_id),
    position     BIGINT NOT NULL,
    rule_id      TEXT NOT NULL,
    category     TEXT NOT NULL,
    effect       TEXT NOT NULL,
    kind         TEXT NOT NULL,
    priority     TEXT NOT NULL,
    explanation  TEXT NOT NULL,
    PRIMARY KEY (transfer_id, position)
);

-- The response situations triage recognised.
CREATE TABLE triage_classification_situations (
    transfer_id  TEXT NOT NULL REFERENCES triage_transfers (transfer_id),
    position     BIGINT NOT NULL,
    code         TEXT NOT NULL,
    name         TEXT NOT NULL,
    PRIMARY KEY (transfer_id, position)
);

-- The units the response needs.
CREATE TABLE triage_classification_requirements (
    transfer_id  TEXT NOT NULL REFERENCES triage_transfers (transfer_id),
    position     BIGINT NOT NULL,
    unit_count   BIGINT NOT NULL,
    PRIMARY KEY (transfer_id, position)
);

-- One string of a nested list: `list_name` is rule_matched_words, rule_negated_words,
-- situation_matched_words, requirement_kinds (UnitKind names) or requirement_capabilities;
-- `owner_position` is the position of its rule, situation or requirement.
CREATE TABLE triage_classification_values (
    transfer_id     TEXT NOT NULL REFERENCES triage_transfers (transfer_id),
    list_name       TEXT NOT NULL,
    owner_position  BIGINT NOT NULL,
    position        BIGINT NOT NULL,
    value           TEXT NOT NULL,
    PRIMARY KEY (transfer_id, list_name, owner_position, position)
);
