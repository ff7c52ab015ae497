-- When the incident's first call rang, per dispatch (OpenDispatchRequest.call_received_at): the
-- start of the response times the command room's analysis reports (docs/analysis.md). A
-- dispatch without a row started its clock at its opening.
CREATE TABLE dispatch_rings (
    dispatch_id  TEXT PRIMARY KEY REFERENCES dispatch_dispatches (dispatch_id),
    rang_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX dispatch_rings_rang ON dispatch_rings (rang_at);
