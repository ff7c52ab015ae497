-- Every field of a mediation, revisit, found item, lost report and match in its own typed column
-- (instants as TIMESTAMP, enums by their text names, durations in nanoseconds, an actor as
-- subject/role/name with a NULL subject for none, lists in child tables). New rows write an empty
-- `record`; rows written before this migration are converted on start
-- (store::SqlStore::convert_legacy_rows) and read from `record` until then.

ALTER TABLE followup_mediations ADD COLUMN grid_id TEXT NOT NULL DEFAULT '';
ALTER TABLE followup_mediations ADD COLUMN category TEXT NOT NULL DEFAULT '';
ALTER TABLE followup_mediations ADD COLUMN summary TEXT NOT NULL DEFAULT '';
ALTER TABLE followup_mediations ADD COLUMN mediator_officer_id TEXT NOT NULL DEFAULT '';
ALTER TABLE followup_mediations ADD COLUMN place TEXT NOT NULL DEFAULT '';
ALTER TABLE followup_mediations ADD COLUMN agreement_text TEXT NOT NULL DEFAULT '';
ALTER TABLE followup_mediations ADD COLUMN next_step TEXT NOT NULL DEFAULT 'MEDIATION_NEXT_STEP_UNSPECIFIED';
ALTER TABLE followup_mediations ADD COLUMN next_step_detail TEXT NOT NULL DEFAULT '';
ALTER TABLE followup_mediations ADD COLUMN outcome_notes TEXT NOT NULL DEFAULT '';
ALTER TABLE followup_mediations ADD COLUMN agreement_signed BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE followup_mediations ADD COLUMN concluded_at TIMESTAMP;
ALTER TABLE followup_mediations ADD COLUMN opened_by_subject TEXT;
ALTER TABLE followup_mediations ADD COLUMN opened_by_role TEXT NOT NULL DEFAULT '';
ALTER TABLE followup_mediations ADD COLUMN opened_by_name TEXT NOT NULL DEFAULT '';
ALTER TABLE followup_mediations ADD COLUMN concluded_by_subject TEXT;
ALTER TABLE followup_mediations ADD COLUMN concluded_by_role TEXT NOT NULL DEFAULT '';
ALTER TABLE followup_mediations ADD COLUMN concluded_by_name TEXT NOT NULL DEFAULT '';

-- The parties of a mediation in order (their phones only in followup_mediations.party_phones_enc).
CREATE TABLE followup_mediation_parties (
    mediation_id   TEXT NOT NULL REFERENCES followup_mediations (mediation_id),
    ordinal        BIGINT NOT NULL,
    name           TEXT NOT NULL,
    role           TEXT NOT NULL,
    phone_masked   TEXT NOT NULL,
    resident_id    TEXT NOT NULL,
    party_position TEXT NOT NULL,
    PRIMARY KEY (mediation_id, ordinal)
);

CREATE TABLE followup_mediation_committee (
    mediation_id TEXT NOT NULL REFERENCES followup_mediations (mediation_id),
    ordinal      BIGINT NOT NULL,
    person_id    TEXT NOT NULL,
    name         TEXT NOT NULL,
    committee    TEXT NOT NULL,
    PRIMARY KEY (mediation_id, ordinal)
);

ALTER TABLE followup_revisits ADD COLUMN mediation_id TEXT NOT NULL DEFAULT '';
ALTER TABLE followup_revisits ADD COLUMN category TEXT NOT NULL DEFAULT '';
ALTER TABLE followup_revisits ADD COLUMN reason TEXT NOT NULL DEFAULT 'REVISIT_REASON_UNSPECIFIED';
ALTER TABLE followup_revisits ADD COLUMN policy_rule_id TEXT NOT NULL DEFAULT '';
ALTER TABLE followup_revisits ADD COLUMN contact_name TEXT NOT NULL DEFAULT '';
ALTER TABLE followup_revisits ADD COLUMN contact_phone_masked TEXT NOT NULL DEFAULT '';
ALTER TABLE followup_revisits ADD COLUMN resident_id TEXT NOT NULL DEFAULT '';
ALTER TABLE followup_revisits ADD COLUMN sequence BIGINT NOT NULL DEFAULT 0;
ALTER TABLE followup_revisits ADD COLUMN previous_revisit_id TEXT NOT NULL DEFAULT '';

CREATE TABLE followup_revisit_tags (
    revisit_id TEXT NOT NULL REFERENCES followup_revisits (revisit_id),
    ordinal    BIGINT NOT NULL,
    tag        TEXT NOT NULL,
    PRIMARY KEY (revisit_id, ordinal)
);

CREATE TABLE followup_revisit_attempts (
    revisit_id             TEXT NOT NULL REFERENCES followup_revisits (revisit_id),
    ordinal                BIGINT NOT NULL,
    performed_at           TIMESTAMP,
    method                 TEXT NOT NULL,
    contacted              BOOLEAN NOT NULL,
    issue_resolved         BOOLEAN NOT NULL,
    satisfaction           BIGINT NOT NULL,
    notes                  TEXT NOT NULL,
    another_revisit_needed BOOLEAN NOT NULL,
    recorded_by_subject    TEXT,
    recorded_by_role       TEXT NOT NULL,
    recorded_by_name       TEXT NOT NULL,
    PRIMARY KEY (revisit_id, ordinal)
);

ALTER TABLE followup_found_items ADD COLUMN description TEXT NOT NULL DEFAULT '';
ALTER TABLE followup_found_items ADD COLUMN found_at TIMESTAMP;
ALTER TABLE followup_found_items ADD COLUMN found_lat REAL;
ALTER TABLE followup_found_items ADD COLUMN found_lon REAL;
ALTER TABLE followup_found_items ADD COLUMN found_address TEXT NOT NULL DEFAULT '';
ALTER TABLE followup_found_items ADD COLUMN grid_id TEXT NOT NULL DEFAULT '';
ALTER TABLE followup_found_items ADD COLUMN finder TEXT NOT NULL DEFAULT '';
-- Custody: station_id with these two; NULL officer: no custody recorded.
ALTER TABLE followup_found_items ADD COLUMN custody_officer_id TEXT;
ALTER TABLE followup_found_items ADD COLUMN custody_storage_place TEXT NOT NULL DEFAULT '';
ALTER TABLE followup_found_items ADD COLUMN name_on_item TEXT NOT NULL DEFAULT '';
ALTER TABLE followup_found_items ADD COLUMN id_number_masked TEXT NOT NULL DEFAULT '';
ALTER TABLE followup_found_items ADD COLUMN incident_id TEXT NOT NULL DEFAULT '';
ALTER TABLE followup_found_items ADD COLUMN registry_lookup_attempts BIGINT NOT NULL DEFAULT 0;
-- The owner (NULL source: none identified); the phone only in owner_phone_enc.
ALTER TABLE followup_found_items ADD COLUMN owner_source TEXT;
ALTER TABLE followup_found_items ADD COLUMN owner_resident_id TEXT NOT NULL DEFAULT '';
ALTER TABLE followup_found_items ADD COLUMN owner_name TEXT NOT NULL DEFAULT '';
ALTER TABLE followup_found_items ADD COLUMN owner_phone_masked TEXT NOT NULL DEFAULT '';
ALTER TABLE followup_found_items ADD COLUMN owner_grid_id TEXT NOT NULL DEFAULT '';
ALTER TABLE followup_found_items ADD COLUMN owner_village_officer_id TEXT NOT NULL DEFAULT '';
ALTER TABLE followup_found_items ADD COLUMN owner_lost_report_id TEXT NOT NULL DEFAULT '';
-- The contact task (NULL task_id: none raised).
ALTER TABLE followup_found_items ADD COLUMN task_id TEXT;
ALTER TABLE followup_found_items ADD COLUMN task_officer_id TEXT NOT NULL DEFAULT '';
ALTER TABLE followup_found_items ADD COLUMN task_status TEXT NOT NULL DEFAULT 'CONTACT_TASK_STATUS_UNSPECIFIED';
ALTER TABLE followup_found_items ADD COLUMN task_created_at TIMESTAMP;
ALTER TABLE followup_found_items ADD COLUMN task_due_at TIMESTAMP;
ALTER TABLE followup_found_items ADD COLUMN task_contacted_at TIMESTAMP;
ALTER TABLE followup_found_items ADD COLUMN task_time_to_contact_ns BIGINT;
ALTER TABLE followup_found_items ADD COLUMN task_method TEXT NOT NULL DEFAULT 'CONTACT_METHOD_UNSPECIFIED';
ALTER TABLE followup_found_items ADD COLUMN task_contacted_by_subject TEXT;
ALTER TABLE followup_found_items ADD COLUMN task_contacted_by_role TEXT NOT NULL DEFAULT '';
ALTER TABLE followup_found_items ADD COLUMN task_contacted_by_name TEXT NOT NULL DEFAULT '';
ALTER TABLE followup_found_items ADD COLUMN task_notes TEXT NOT NULL DEFAULT '';
-- The return (NULL recipient name: not returned); the recipient's ID only in recipient_id_enc.
ALTER TABLE followup_found_items ADD COLUMN return_recipient_name TEXT;
ALTER TABLE followup_found_items ADD COLUMN return_recipient_is_owner BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE followup_found_items ADD COLUMN return_recipient_id_masked TEXT NOT NULL DEFAULT '';
ALTER TABLE followup_found_items ADD COLUMN return_identity_check TEXT NOT NULL DEFAULT 'IDENTITY_CHECK_UNSPECIFIED';
ALTER TABLE followup_found_items ADD COLUMN returned_at TIMESTAMP;
ALTER TABLE followup_found_items ADD COLUMN return_time_to_return_ns BIGINT;
ALTER TABLE followup_found_items ADD COLUMN returned_by_subject TEXT;
ALTER TABLE followup_found_items ADD COLUMN returned_by_role TEXT NOT NULL DEFAULT '';
ALTER TABLE followup_found_items ADD COLUMN returned_by_name TEXT NOT NULL DEFAULT '';
ALTER TABLE followup_found_items ADD COLUMN return_notes TEXT NOT NULL DEFAULT '';
ALTER TABLE followup_found_items ADD COLUMN registered_by_subject TEXT;
ALTER TABLE followup_found_items ADD COLUMN registered_by_role TEXT NOT NULL DEFAULT '';
ALTER TABLE followup_found_items ADD COLUMN registered_by_name TEXT NOT NULL DEFAULT '';

-- Owner lookups are platform jobs now (enqueued with the item): the crate's own schedule goes.
DROP INDEX followup_found_items_lookup;
ALTER TABLE followup_found_items DROP COLUMN next_lookup_at;
CREATE INDEX followup_found_items_lookup ON followup_found_items (registry_lookup);

ALTER TABLE followup_lost_reports ADD COLUMN description TEXT NOT NULL DEFAULT '';
ALTER TABLE followup_lost_reports ADD COLUMN lost_from TIMESTAMP;
ALTER TABLE followup_lost_reports ADD COLUMN lost_until TIMESTAMP;
ALTER TABLE followup_lost_reports ADD COLUMN lost_lat REAL;
ALTER TABLE followup_lost_reports ADD COLUMN lost_lon REAL;
ALTER TABLE followup_lost_reports ADD COLUMN lost_radius_m REAL NOT NULL DEFAULT 0;
ALTER TABLE followup_lost_reports ADD COLUMN lost_address TEXT NOT NULL DEFAULT '';
ALTER TABLE followup_lost_reports ADD COLUMN owner_name TEXT NOT NULL DEFAULT '';
ALTER TABLE followup_lost_reports ADD COLUMN owner_phone_masked TEXT NOT NULL DEFAULT '';
ALTER TABLE followup_lost_reports ADD COLUMN owner_id_number_masked TEXT NOT NULL DEFAULT '';
ALTER TABLE followup_lost_reports ADD COLUMN incident_id TEXT NOT NULL DEFAULT '';
ALTER TABLE followup_lost_reports ADD COLUMN returned_found_item_id TEXT NOT NULL DEFAULT '';
ALTER TABLE followup_lost_reports ADD COLUMN recorded_by_subject TEXT;
ALTER TABLE followup_lost_reports ADD COLUMN recorded_by_role TEXT NOT NULL DEFAULT '';
ALTER TABLE followup_lost_reports ADD COLUMN recorded_by_name TEXT NOT NULL DEFAULT '';

ALTER TABLE followup_matches ADD COLUMN id_number_match BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE followup_matches ADD COLUMN kind_match BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE followup_matches ADD COLUMN time_match BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE followup_matches ADD COLUMN time_gap_ns BIGINT;
ALTER TABLE followup_matches ADD COLUMN distance_m REAL NOT NULL DEFAULT -1;

CREATE TABLE followup_match_keywords (
    found_item_id  TEXT NOT NULL,
    lost_report_id TEXT NOT NULL,
    ordinal        BIGINT NOT NULL,
    keyword        TEXT NOT NULL,
    PRIMARY KEY (found_item_id, lost_report_id, ordinal),
    FOREIGN KEY (found_item_id, lost_report_id) REFERENCES followup_matches (found_item_id, lost_report_id)
);
