-- Complaints against officers, their evidence, and the tamper-evident audit log.

CREATE TABLE complaints (
    complaint_id              TEXT PRIMARY KEY,
    case_number               TEXT NOT NULL UNIQUE,
    source                    TEXT NOT NULL,
    hotline_ticket_id         TEXT NOT NULL DEFAULT '',
    transfer_id               TEXT NOT NULL DEFAULT '',
    complainant_name          TEXT NOT NULL DEFAULT '',
    complainant_phone_sealed  BYTEA,
    complainant_phone_index   TEXT NOT NULL DEFAULT '',
    complainant_phone_masked  TEXT NOT NULL DEFAULT '',
    complainant_id_sealed     BYTEA,
    complainant_id_index      TEXT NOT NULL DEFAULT '',
    complainant_id_masked     TEXT NOT NULL DEFAULT '',
    complainant_address       TEXT NOT NULL DEFAULT '',
    confidential              BOOLEAN NOT NULL DEFAULT FALSE,
    incident_id               TEXT NOT NULL DEFAULT '',
    allegation                TEXT NOT NULL,
    allegation_tags           TEXT NOT NULL DEFAULT '',
    occurred_at               TIMESTAMPTZ,
    station_id                TEXT NOT NULL DEFAULT '',
    status                    TEXT NOT NULL,
    stage                     TEXT NOT NULL DEFAULT '',
    investigator_id           TEXT NOT NULL DEFAULT '',
    legal_reviewer_id         TEXT NOT NULL DEFAULT '',
    receipt_due_at            TIMESTAMPTZ NOT NULL,
    receipt_met_at            TIMESTAMPTZ,
    preliminary_due_at        TIMESTAMPTZ NOT NULL,
    preliminary_met_at        TIMESTAMPTZ,
    investigation_due_at      TIMESTAMPTZ NOT NULL,
    investigation_met_at      TIMESTAMPTZ,
    finding                   TEXT NOT NULL DEFAULT '',
    finding_record            BYTEA,
    hotline_reply_status      TEXT NOT NULL,
    hotline_replied_at        TIMESTAMPTZ,
    received_at               TIMESTAMPTZ NOT NULL,
    filed_by_subject          TEXT NOT NULL,
    filed_by_role             TEXT NOT NULL,
    closed_at                 TIMESTAMPTZ,
    created_at                TIMESTAMPTZ NOT NULL,
    updated_at                TIMESTAMPTZ NOT NULL
);
-- One complaint per 12345 ticket.
CREATE UNIQUE INDEX complaints_hotline_ticket ON complaints (hotline_ticket_id)
    WHERE hotline_ticket_id <> '';
CREATE INDEX complaints_received ON complaints (received_at, complaint_id);
CREATE INDEX complaints_transfer ON complaints (transfer_id);
CREATE INDEX complaints_incident ON complaints (incident_id);

CREATE TABLE complaint_accused (
    complaint_id TEXT NOT NULL REFERENCES complaints (complaint_id),
    position     INTEGER NOT NULL,
    officer_id   TEXT NOT NULL DEFAULT '',
    unit_id      TEXT NOT NULL DEFAULT '',
    station_id   TEXT NOT NULL DEFAULT '',
    description  TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (complaint_id, position)
);
CREATE INDEX complaint_accused_officer ON complaint_accused (officer_id);

-- Case numbers per year.
CREATE TABLE complaint_counters (
    year BIGINT PRIMARY KEY,
    last BIGINT NOT NULL
);

CREATE TABLE complaint_evidence (
    evidence_id            TEXT PRIMARY KEY,
    complaint_id           TEXT NOT NULL REFERENCES complaints (complaint_id),
    kind                   TEXT NOT NULL,
    status                 TEXT NOT NULL,
    title                  TEXT NOT NULL DEFAULT '',
    description            TEXT NOT NULL DEFAULT '',
    uri                    TEXT NOT NULL DEFAULT '',
    content                BYTEA,
    content_type           TEXT NOT NULL DEFAULT '',
    content_sha256         TEXT NOT NULL DEFAULT '',
    size_bytes             BIGINT NOT NULL DEFAULT 0,
    captured_at            TIMESTAMPTZ,
    covers_start           TIMESTAMPTZ,
    covers_end             TIMESTAMPTZ,
    device_id              TEXT NOT NULL DEFAULT '',
    statement_by           TEXT NOT NULL DEFAULT '',
    source_ref             TEXT NOT NULL DEFAULT '',
    attached_automatically BOOLEAN NOT NULL DEFAULT FALSE,
    added_by_subject       TEXT NOT NULL,
    added_by_role          TEXT NOT NULL,
    added_at               TIMESTAMPTZ NOT NULL,
    fetch_incident_id      TEXT NOT NULL DEFAULT '',
    fetch_dispatch_id      TEXT NOT NULL DEFAULT '',
    fetch_attempts         INTEGER NOT NULL DEFAULT 0,
    next_fetch_at          TIMESTAMPTZ,
    pending_reason         TEXT NOT NULL DEFAULT ''
);
CREATE INDEX complaint_evidence_complaint ON complaint_evidence (complaint_id, evidence_id);
CREATE INDEX complaint_evidence_pending ON complaint_evidence (status, next_fetch_at);

-- The head of the audit hash chain: one row, locked by every append so the chain never forks.
-- pruned_through / anchor_hash: the last row removed by retention and its hash.
CREATE TABLE audit_chain_head (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    last_sequence  BIGINT NOT NULL,
    last_hash      TEXT NOT NULL,
    pruned_through BIGINT NOT NULL,
    anchor_hash    TEXT NOT NULL
);
INSERT INTO audit_chain_head (id, last_sequence, last_hash, pruned_through, anchor_hash) VALUES
    (1, 0, '0000000000000000000000000000000000000000000000000000000000000000', 0,
     '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TABLE audit_entries (
    sequence           BIGINT PRIMARY KEY,
    entry_id           TEXT NOT NULL UNIQUE,
    actor_subject      TEXT NOT NULL,
    actor_role         TEXT NOT NULL,
    actor_display_name TEXT NOT NULL,
    action             TEXT NOT NULL,
    resource_type      TEXT NOT NULL,
    resource_id        TEXT NOT NULL,
    occurred_at        TIMESTAMPTZ NOT NULL,
    trace_id           TEXT NOT NULL,
    source_service     TEXT NOT NULL,
    outcome            TEXT NOT NULL,
    station_id         TEXT NOT NULL,
    detail             TEXT NOT NULL,
    client             TEXT NOT NULL,
    recorded_at        TIMESTAMPTZ NOT NULL,
    prev_hash          TEXT NOT NULL,
    hash               TEXT NOT NULL
);
CREATE INDEX audit_entries_actor ON audit_entries (actor_subject, sequence);
CREATE INDEX audit_entries_resource ON audit_entries (resource_type, resource_id, sequence);
CREATE INDEX audit_entries_occurred ON audit_entries (occurred_at, sequence);
CREATE INDEX audit_entries_trace ON audit_entries (trace_id);

-- Append-only: rows are never updated, and only rows already pruned (retention) may be deleted.
CREATE FUNCTION audit_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE'
       AND OLD.sequence <= (SELECT pruned_through FROM audit_chain_head WHERE id = 1) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit log is append-only';
END;
$$;
CREATE TRIGGER audit_entries_append_only BEFORE UPDATE OR DELETE ON audit_entries
    FOR EACH ROW EXECUTE FUNCTION audit_entries_append_only();
