-- Pending dispatch timelines are fetched again by platform jobs (platform_jobs: run_at, attempts,
-- backoff, dead letters): the crate's own schedule column goes. Items pending before this
-- migration get their job when the service starts (app::fetch_job::enqueue_pending).
DROP INDEX complaint_evidence_pending;
ALTER TABLE complaint_evidence DROP COLUMN next_fetch_at;
CREATE INDEX complaint_evidence_pending ON complaint_evidence (status);
