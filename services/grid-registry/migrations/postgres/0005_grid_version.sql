-- The version of the grid layout: bumped in the same transaction as every change of a grid or
-- a station, and polled by every replica (--grid-index-refresh), which reloads its spatial index
-- when another replica moved it. One row.
CREATE TABLE grid_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO grid_version (id, version) VALUES (1, 0);
