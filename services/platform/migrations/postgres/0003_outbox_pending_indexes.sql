-- The relay's queries touch only undelivered rows; delivered rows stay for the retention period.
-- Partial indexes keep those queries as cheap as the backlog, not the table:
-- the due scan walks pending rows in outbox order and stops at its limit,
CREATE INDEX pingan_outbox_deliveries_pending
    ON pingan_outbox_deliveries (event_row_id) WHERE status = 'PENDING';
-- and the per-aggregate order check finds an earlier undelivered event without reading the
-- aggregate's delivered history.
CREATE INDEX pingan_outbox_deliveries_undelivered
    ON pingan_outbox_deliveries (destination, aggregate_id, event_row_id)
    WHERE status <> 'DELIVERED';
