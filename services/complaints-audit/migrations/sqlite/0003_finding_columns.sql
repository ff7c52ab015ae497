-- The finding of a complaint in columns, its lists in child tables (it was complaints.finding_record,
-- an encoded ComplaintFinding). Rows of the old encoding are converted when the service starts
-- (store::legacy::upgrade_legacy, idempotent: it empties finding_record as it converts); the old
-- column stays, always NULL after that, until a later migration drops it.
CREATE TABLE complaint_findings (
    complaint_id        TEXT PRIMARY KEY REFERENCES complaints (complaint_id),
    finding             TEXT NOT NULL,
    reasoning           TEXT NOT NULL DEFAULT '',
    legal_opinion       TEXT NOT NULL DEFAULT '',
    reply_text          TEXT NOT NULL DEFAULT '',
    proposed_by_subject TEXT NOT NULL DEFAULT '',
    proposed_by_role    TEXT NOT NULL DEFAULT '',
    proposed_by_name    TEXT NOT NULL DEFAULT '',
    proposed_at         TIMESTAMP,
    approved            BOOLEAN NOT NULL DEFAULT FALSE,
    reviewed_by_subject TEXT NOT NULL DEFAULT '',
    reviewed_by_role    TEXT NOT NULL DEFAULT '',
    reviewed_by_name    TEXT NOT NULL DEFAULT '',
    reviewed_at         TIMESTAMP,
    review_notes        TEXT NOT NULL DEFAULT ''
);

CREATE TABLE complaint_finding_actions (
    complaint_id TEXT NOT NULL REFERENCES complaint_findings (complaint_id),
    position     INTEGER NOT NULL,
    kind         TEXT NOT NULL,
    officer_id   TEXT NOT NULL DEFAULT '',
    detail       TEXT NOT NULL DEFAULT '',
    legal_basis  TEXT NOT NULL DEFAULT '',
    referred_to  TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (complaint_id, position)
);

CREATE TABLE complaint_finding_evidence (
    complaint_id TEXT NOT NULL REFERENCES complaint_findings (complaint_id),
    position     INTEGER NOT NULL,
    evidence_id  TEXT NOT NULL,
    PRIMARY KEY (complaint_id, position)
);
