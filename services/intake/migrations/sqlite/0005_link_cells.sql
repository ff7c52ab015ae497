-- Link decisions lock the cells of the area they look at (domain::link_cells) instead of one
-- row for the whole bureau: calls far apart no longer wait for each other's decisions, and two
-- calls within the duplicate radius always share a cell. A row per cell ever taken (bounded by
-- the jurisdiction's area). intake_link_lock stays for replicas of the previous release during
-- a rolling upgrade (new replicas share-lock it on Postgres, so an old replica's decision still
-- excludes theirs).
CREATE TABLE intake_link_cells (
    cell      TEXT PRIMARY KEY,
    taken_at  TIMESTAMP NOT NULL
);
