-- The read side (ListPremises, ListInspections, ListNeeds, GetNeed, ListVisits): a visit may
-- name the need it follows up, and the listings' filters and orders get their indexes.
ALTER TABLE visits ADD COLUMN need_id TEXT NOT NULL DEFAULT '';
CREATE INDEX visits_need ON visits (need_id, visited_at);
CREATE INDEX visits_officer ON visits (officer_id, visited_at);
CREATE INDEX visits_visited ON visits (visited_at, visit_id);

CREATE INDEX needs_officer ON needs (assigned_officer_id, created_at);
CREATE INDEX needs_created ON needs (created_at, need_id);
CREATE INDEX needs_premises ON needs (premises_id, status);

CREATE INDEX inspections_last ON inspections (premises_id, completed_at, inspection_id);
CREATE INDEX inspections_started ON inspections (started_at, inspection_id);

CREATE INDEX premises_kind ON premises (kind, premises_id);
