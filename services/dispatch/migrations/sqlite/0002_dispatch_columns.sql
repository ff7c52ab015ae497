-- Every field of a dispatch, assignment, timeline entry and flight in its own typed column
-- (enums as their text names, durations in nanoseconds, lists of requirements in a child table),
-- so both backends can filter, constrain and migrate them. The old `doc` blobs stay readable:
-- new rows write an empty `doc`; rows written before this migration are converted by the service
-- on start (store::SqlStore::convert_legacy_rows) and read from `doc` until then.

ALTER TABLE dispatch_dispatches ADD COLUMN category TEXT NOT NULL DEFAULT '';
ALTER TABLE dispatch_dispatches ADD COLUMN lat REAL;
ALTER TABLE dispatch_dispatches ADD COLUMN lon REAL;
ALTER TABLE dispatch_dispatches ADD COLUMN address TEXT NOT NULL DEFAULT '';
ALTER TABLE dispatch_dispatches ADD COLUMN summary TEXT NOT NULL DEFAULT '';
ALTER TABLE dispatch_dispatches ADD COLUMN required_capabilities TEXT NOT NULL DEFAULT '[]';
ALTER TABLE dispatch_dispatches ADD COLUMN response_target_ns BIGINT;
ALTER TABLE dispatch_dispatches ADD COLUMN lookout_message TEXT;
ALTER TABLE dispatch_dispatches ADD COLUMN lookout_grid_id TEXT NOT NULL DEFAULT '';
ALTER TABLE dispatch_dispatches ADD COLUMN lookout_audiences TEXT NOT NULL DEFAULT '[]';
ALTER TABLE dispatch_dispatches ADD COLUMN lookout_broadcast_id TEXT NOT NULL DEFAULT '';
ALTER TABLE dispatch_dispatches ADD COLUMN lookout_error TEXT NOT NULL DEFAULT '';
ALTER TABLE dispatch_dispatches ADD COLUMN disposition TEXT NOT NULL DEFAULT 'DISPOSITION_UNSPECIFIED';
ALTER TABLE dispatch_dispatches ADD COLUMN narrative TEXT NOT NULL DEFAULT '';
ALTER TABLE dispatch_dispatches ADD COLUMN opened_by_subject TEXT;
ALTER TABLE dispatch_dispatches ADD COLUMN opened_by_role TEXT NOT NULL DEFAULT '';
ALTER TABLE dispatch_dispatches ADD COLUMN opened_by_name TEXT NOT NULL DEFAULT '';
ALTER TABLE dispatch_dispatches ADD COLUMN closed_by_subject TEXT;
ALTER TABLE dispatch_dispatches ADD COLUMN closed_by_role TEXT NOT NULL DEFAULT '';
ALTER TABLE dispatch_dispatches ADD COLUMN closed_by_name TEXT NOT NULL DEFAULT '';
ALTER TABLE dispatch_dispatches ADD COLUMN first_on_scene_at TIMESTAMP;
ALTER TABLE dispatch_dispatches ADD COLUMN station_kind TEXT NOT NULL DEFAULT 'STATION_KIND_UNSPECIFIED';

-- A dispatch's wanted (`list_name` = 'wanted') and still unfilled ('unfilled') unit requirements.
CREATE TABLE dispatch_requirements (
    dispatch_id  TEXT NOT NULL REFERENCES dispatch_dispatches (dispatch_id),
    list_name    TEXT NOT NULL,
    ordinal      INTEGER NOT NULL,
    kinds        TEXT NOT NULL,      -- JSON array of UnitKind names
    capabilities TEXT NOT NULL,      -- JSON array of capability codes
    unit_count   INTEGER NOT NULL,
    PRIMARY KEY (dispatch_id, list_name, ordinal)
);

ALTER TABLE dispatch_assignments ADD COLUMN callsign TEXT NOT NULL DEFAULT '';
ALTER TABLE dispatch_assignments ADD COLUMN unit_kind TEXT NOT NULL DEFAULT 'UNIT_KIND_UNSPECIFIED';
ALTER TABLE dispatch_assignments ADD COLUMN source TEXT NOT NULL DEFAULT 'ASSIGNMENT_SOURCE_UNSPECIFIED';
ALTER TABLE dispatch_assignments ADD COLUMN escalated_from TEXT NOT NULL DEFAULT '';
ALTER TABLE dispatch_assignments ADD COLUMN distance_m REAL NOT NULL DEFAULT 0;
ALTER TABLE dispatch_assignments ADD COLUMN eta_ns BIGINT;
ALTER TABLE dispatch_assignments ADD COLUMN assigned_by_subject TEXT;
ALTER TABLE dispatch_assignments ADD COLUMN assigned_by_role TEXT NOT NULL DEFAULT '';
ALTER TABLE dispatch_assignments ADD COLUMN assigned_by_name TEXT NOT NULL DEFAULT '';
ALTER TABLE dispatch_assignments ADD COLUMN note TEXT NOT NULL DEFAULT '';
ALTER TABLE dispatch_assignments ADD COLUMN acknowledged_at TIMESTAMP;
ALTER TABLE dispatch_assignments ADD COLUMN en_route_at TIMESTAMP;
ALTER TABLE dispatch_assignments ADD COLUMN on_scene_at TIMESTAMP;
ALTER TABLE dispatch_assignments ADD COLUMN ended_at TIMESTAMP;
-- The requirement an automatic assignment filled (NULL kinds: none).
ALTER TABLE dispatch_assignments ADD COLUMN requirement_kinds TEXT;
ALTER TABLE dispatch_assignments ADD COLUMN requirement_capabilities TEXT NOT NULL DEFAULT '[]';
ALTER TABLE dispatch_assignments ADD COLUMN requirement_count INTEGER NOT NULL DEFAULT 0;

ALTER TABLE dispatch_timeline ADD COLUMN kind TEXT NOT NULL DEFAULT 'TIMELINE_ENTRY_KIND_UNSPECIFIED';
ALTER TABLE dispatch_timeline ADD COLUMN unit_id TEXT NOT NULL DEFAULT '';
ALTER TABLE dispatch_timeline ADD COLUMN assignment_id TEXT NOT NULL DEFAULT '';
ALTER TABLE dispatch_timeline ADD COLUMN actor_subject TEXT;
ALTER TABLE dispatch_timeline ADD COLUMN actor_role TEXT NOT NULL DEFAULT '';
ALTER TABLE dispatch_timeline ADD COLUMN actor_name TEXT NOT NULL DEFAULT '';
ALTER TABLE dispatch_timeline ADD COLUMN lat REAL;
ALTER TABLE dispatch_timeline ADD COLUMN lon REAL;
ALTER TABLE dispatch_timeline ADD COLUMN note TEXT NOT NULL DEFAULT '';
ALTER TABLE dispatch_timeline ADD COLUMN description TEXT NOT NULL DEFAULT '';
ALTER TABLE dispatch_timeline ADD COLUMN dispatch_status TEXT NOT NULL DEFAULT 'DISPATCH_STATUS_UNSPECIFIED';

ALTER TABLE dispatch_flights ADD COLUMN pilot_officer_id TEXT NOT NULL DEFAULT '';
ALTER TABLE dispatch_flights ADD COLUMN purpose TEXT NOT NULL DEFAULT '';
ALTER TABLE dispatch_flights ADD COLUMN video_recorded BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE dispatch_flights ADD COLUMN notes TEXT NOT NULL DEFAULT '';
ALTER TABLE dispatch_flights ADD COLUMN logged_by_subject TEXT;
ALTER TABLE dispatch_flights ADD COLUMN logged_by_role TEXT NOT NULL DEFAULT '';
ALTER TABLE dispatch_flights ADD COLUMN logged_by_name TEXT NOT NULL DEFAULT '';
