-- Deliveries are platform jobs now (platform_jobs): this index names the jobs each transfer
-- owes, so that the ledger view and the dead letters find them. triage_deliveries is kept
-- for its history; its pending rows are moved into jobs on start.

CREATE TABLE triage_delivery_jobs (
    job_kind    TEXT NOT NULL,
    job_key     TEXT NOT NULL,
    transfer_id TEXT NOT NULL REFERENCES triage_transfers (transfer_id),
    created_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (job_kind, job_key)
);
CREATE INDEX triage_delivery_jobs_transfer ON triage_delivery_jobs (transfer_id, created_at);
