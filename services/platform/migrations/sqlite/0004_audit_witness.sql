-- The newest audit checkpoint this service witnessed (polled from complaints-audit, signature
-- verified): one row, replaced only by a higher sequence, so a rolled-back audit chain is seen
-- from outside its database.
CREATE TABLE pingan_audit_witness (
    id               INTEGER PRIMARY KEY CHECK (id = 1),
    sequence         BIGINT NOT NULL,
    head_hash        TEXT NOT NULL,
    signed_at_micros BIGINT NOT NULL,
    public_key       TEXT NOT NULL,
    signature        TEXT NOT NULL,
    stored_at_micros BIGINT NOT NULL
);
