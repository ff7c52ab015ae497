-- The due scan must walk pending rows in outbox order (pingan_outbox_deliveries_pending) and stop
-- at its limit. The (status, next_attempt_at) index let both planners read every pending row and
-- sort them instead: a round cost that grew with the backlog (up to 90 ms at 20,000 pending).
DROP INDEX pingan_outbox_deliveries_due;
-- Delivered rows are still counted from an index alone.
CREATE INDEX pingan_outbox_deliveries_delivered
    ON pingan_outbox_deliveries (event_row_id) WHERE status = 'DELIVERED';
