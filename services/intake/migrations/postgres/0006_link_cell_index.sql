-- The duplicate search by place: every located incident is filed under its home cell
-- (domain::home_cell, 0.01°), and a search reads the cells around a call within its time window
-- instead of the window's oldest 200 incidents anywhere (in a busy quarter of an hour the event
-- a caller reported again fell outside those). Rows of earlier releases are filed by the
-- start-up step (app::upgrade).
ALTER TABLE intake_incidents ADD COLUMN link_cell TEXT NOT NULL DEFAULT '';
CREATE INDEX intake_incidents_link_cell ON intake_incidents (link_cell, received_at);
