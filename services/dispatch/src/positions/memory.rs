//! The in-process live store of the embedded shape: each unit's latest fix filed in a grid of
//! latitude/longitude cells. A fix that moves a unit costs two vector edits (none when it stays
//! in its cell), and a search walks rings of cells outward from the centre, stopping once a lower
//! bound on the distance to every cell not yet walked says no unit there can be nearer.

use std::collections::HashMap;
use std::sync::RwLock;

use chrono::{DateTime, Utc};

use super::{
    Candidate, Fix, LivePosition, PositionError, PositionStore, Recorded, SearchQuery, UnitMeta,
};
use crate::domain::geo::{self, EARTH_RADIUS_M};

/// Cells per 180° of latitude: 0.01° (~1.1 km) a side.
const LAT_CELLS: i64 = 18_000;
/// Cells per 360° of longitude.
const LON_CELLS: i64 = 2 * LAT_CELLS;
/// Degrees a cell spans.
const CELL_DEG: f64 = 180.0 / LAT_CELLS as f64;

/// A grid cell: (latitude row from the south pole, longitude column from 180° W).
type Cell = (i64, i64);

fn cell_of(lat: f64, lon: f64) -> Cell {
    let row = ((lat + 90.0) / CELL_DEG).floor() as i64;
    let column = ((lon + 180.0) / CELL_DEG).floor() as i64;
    (row.clamp(0, LAT_CELLS - 1), column.rem_euclid(LON_CELLS))
}

/// A unit and where it is filed.
#[derive(Debug)]
struct Unit {
    meta: UnitMeta,
    position: Option<LivePosition>,
    /// The cell holding it and its slot there (while it has a position).
    filed: Option<(Cell, usize)>,
}

#[derive(Debug, Default)]
struct State {
    /// Unit id → index into `units` (units are never dropped, only their positions).
    index: HashMap<String, usize>,
    units: Vec<Unit>,
    /// Indexes of the units whose latest fix lies in each occupied cell.
    cells: HashMap<Cell, Vec<usize>>,
}

impl State {
    /// Files unit `at` under its new position (a move within its cell edits nothing else).
    fn place(&mut self, at: usize, position: LivePosition) {
        let cell = cell_of(position.lat, position.lon);
        let unit = &mut self.units[at];
        unit.position = Some(position);
        match unit.filed {
            Some((old, _)) if old == cell => return,
            Some(_) => self.unfile(at),
            None => {}
        }
        let members = self.cells.entry(cell).or_default();
        members.push(at);
        self.units[at].filed = Some((cell, members.len() - 1));
    }

    /// Takes unit `at` out of its cell.
    fn unfile(&mut self, at: usize) {
        let Some((cell, slot)) = self.units[at].filed.take() else {
            return;
        };
        let Some(members) = self.cells.get_mut(&cell) else {
            return;
        };
        members.swap_remove(slot);
        if let Some(&moved) = members.get(slot) {
            self.units[moved].filed = Some((cell, slot));
        }
        if members.is_empty() {
            self.cells.remove(&cell);
        }
    }

    /// Units of `cell` matching `query`, with their distances, into `found`.
    fn collect(&self, cell: &Cell, query: &SearchQuery, found: &mut Vec<(f64, usize)>) {
        let Some(members) = self.cells.get(cell) else {
            return;
        };
        for &at in members {
            let unit = &self.units[at];
            let Some(position) = unit.position else {
                continue;
            };
            if position.at < query.fresh_after || !query.accepts(&unit.meta) {
                continue;
            }
            let distance_m = geo::distance_m(query.lat, query.lon, position.lat, position.lon);
            if distance_m <= query.radius_m {
                found.push((distance_m, at));
            }
        }
    }
}

/// The cells exactly `ring` steps (Chebyshev, longitude wrapping) from `centre`.
fn ring_cells(centre: Cell, ring: i64) -> impl Iterator<Item = Cell> {
    let (row, column) = centre;
    let edge = -ring..=ring;
    let top_and_bottom = [-ring, ring]
        .into_iter()
        .take(if ring == 0 { 1 } else { 2 })
        .flat_map(move |dr| edge.clone().map(move |dc| (dr, dc)));
    let sides = [-ring, ring]
        .into_iter()
        .take(if ring == 0 { 0 } else { 2 })
        .flat_map(move |dc| (1 - ring..ring).map(move |dr| (dr, dc)));
    top_and_bottom
        .chain(sides)
        .map(move |(dr, dc)| (row + dr, (column + dc).rem_euclid(LON_CELLS)))
        .filter(|(r, _)| (0..LAT_CELLS).contains(r))
}

/// Steps from `centre` to `cell` (the ring it lies on).
fn ring_of(centre: Cell, cell: Cell) -> i64 {
    let rows = (cell.0 - centre.0).abs();
    let columns = (cell.1 - centre.1).rem_euclid(LON_CELLS);
    rows.max(columns.min(LON_CELLS - columns))
}

/// A lower bound, in metres, on the haversine distance from (lat, lon) to any point outside
/// the block of cells within `rings` steps of its cell. A point outside it lies beyond the
/// block's latitude band (farther than the latitude gap) or inside the band beyond its
/// longitude span, where hav(d) ≥ cos²(φmax)·hav(Δλ) bounds the distance.
fn outside_block_m(lat: f64, lon: f64, centre: Cell, rings: i64) -> f64 {
    let south_row = centre.0 - rings;
    let north_row = centre.0 + rings + 1;
    let south = -90.0 + south_row as f64 * CELL_DEG;
    let north = -90.0 + north_row as f64 * CELL_DEG;
    let lat_gap = |edge: f64, beyond: bool| {
        if beyond {
            f64::INFINITY
        } else {
            EARTH_RADIUS_M * (lat - edge).abs().to_radians()
        }
    };
    let by_latitude = lat_gap(south, south_row <= 0).min(lat_gap(north, north_row >= LAT_CELLS));
    let by_longitude = if 2 * rings + 1 >= LON_CELLS {
        f64::INFINITY
    } else {
        let x = (lon + 180.0) / CELL_DEG - centre.1 as f64;
        let gap_deg = (x + rings as f64).min(rings as f64 + 1.0 - x) * CELL_DEG;
        let widest = south.abs().max(north.abs()).min(90.0).to_radians();
        let h = widest.cos() * (gap_deg.min(180.0).to_radians() / 2.0).sin();
        2.0 * EARTH_RADIUS_M * h.clamp(0.0, 1.0).asin()
    };
    by_latitude.min(by_longitude)
}

/// The `limit`-th nearest distance found so far (`None` while fewer were found).
fn nth_nearest(found: &mut [(f64, usize)], limit: usize) -> Option<f64> {
    if limit == 0 || found.len() < limit {
        return None;
    }
    let (_, nth, _) = found.select_nth_unstable_by(limit - 1, |a, b| a.0.total_cmp(&b.0));
    Some(nth.0)
}

/// Live positions in this process (lost on restart, as they should be: they go stale anyway).
#[derive(Debug, Default)]
pub struct MemoryPositions {
    state: RwLock<State>,
}

impl MemoryPositions {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }
}

#[tonic::async_trait]
impl PositionStore for MemoryPositions {
    async fn upsert_units(&self, units: &[UnitMeta]) -> Result<(), PositionError> {
        let mut state = self.write();
        for meta in units {
            match state.index.get(&meta.unit_id) {
                Some(&at) => state.units[at].meta = meta.clone(),
                None => {
                    let at = state.units.len();
                    state.units.push(Unit {
                        meta: meta.clone(),
                        position: None,
                        filed: None,
                    });
                    state.index.insert(meta.unit_id.clone(), at);
                }
            }
        }
        Ok(())
    }

    async fn set_status(&self, unit_id: &str, status: i32) -> Result<(), PositionError> {
        let mut state = self.write();
        if let Some(&at) = state.index.get(unit_id) {
            state.units[at].meta.status = status;
        }
        Ok(())
    }

    async fn record(&self, fixes: &[Fix]) -> Result<Vec<Recorded>, PositionError> {
        let mut state = self.write();
        Ok(fixes
            .iter()
            .map(|fix| {
                let Some(&at) = state.index.get(&fix.unit_id) else {
                    return Recorded::UnknownUnit;
                };
                if state.units[at].position.is_some_and(|old| old.at > fix.at) {
                    return Recorded::OutOfOrder;
                }
                let position = LivePosition {
                    lat: fix.lat,
                    lon: fix.lon,
                    at: fix.at,
                };
                state.place(at, position);
                Recorded::Accepted
            })
            .collect())
    }

    async fn search(&self, query: &SearchQuery) -> Result<Vec<Candidate>, PositionError> {
        let state = self.read();
        let centre = cell_of(query.lat, query.lon);
        let mut found: Vec<(f64, usize)> = Vec::new();
        let mut ring = 0;
        loop {
            if ring > 0 {
                let beyond = outside_block_m(query.lat, query.lon, centre, ring - 1);
                if beyond > query.radius_m
                    || nth_nearest(&mut found, query.limit).is_some_and(|nth| nth <= beyond)
                {
                    break;
                }
            }
            // A ring with more cells than are occupied: the occupied cells not yet walked,
            // once, instead of every ring left (a sparse fleet or a wide radius).
            if 8 * ring > state.cells.len() as i64 {
                for cell in state.cells.keys() {
                    if ring_of(centre, *cell) >= ring {
                        state.collect(cell, query, &mut found);
                    }
                }
                break;
            }
            for cell in ring_cells(centre, ring) {
                state.collect(&cell, query, &mut found);
            }
            ring += 1;
        }
        found.sort_by(|a, b| {
            a.0.total_cmp(&b.0).then_with(|| {
                state.units[a.1]
                    .meta
                    .unit_id
                    .cmp(&state.units[b.1].meta.unit_id)
            })
        });
        found.truncate(query.limit);
        Ok(found
            .into_iter()
            .filter_map(|(distance_m, at)| {
                let unit = &state.units[at];
                Some(Candidate {
                    meta: unit.meta.clone(),
                    position: unit.position?,
                    distance_m,
                })
            })
            .collect())
    }

    async fn positions(
        &self,
        unit_ids: &[String],
    ) -> Result<HashMap<String, LivePosition>, PositionError> {
        let state = self.read();
        Ok(unit_ids
            .iter()
            .filter_map(|id| {
                let at = *state.index.get(id)?;
                Some((id.clone(), state.units[at].position?))
            })
            .collect())
    }

    async fn stations(
        &self,
        unit_ids: &[String],
    ) -> Result<HashMap<String, String>, PositionError> {
        let state = self.read();
        Ok(unit_ids
            .iter()
            .filter_map(|id| {
                let at = *state.index.get(id)?;
                Some((id.clone(), state.units[at].meta.station_id.clone()))
            })
            .collect())
    }

    async fn forget_before(&self, cutoff: DateTime<Utc>) -> Result<u64, PositionError> {
        let mut state = self.write();
        let mut forgotten = 0;
        for at in 0..state.units.len() {
            if state.units[at].position.is_some_and(|old| old.at < cutoff) {
                state.unfile(at);
                state.units[at].position = None;
                forgotten += 1;
            }
        }
        Ok(forgotten)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rings_hold_every_cell_once_and_wrap_at_the_antimeridian() {
        let centre = cell_of(30.0, 179.995);
        let mut seen = std::collections::HashSet::new();
        for ring in 0..4 {
            for cell in ring_cells(centre, ring) {
                assert_eq!(ring_of(centre, cell), ring, "{cell:?} on ring {ring}");
                assert!(seen.insert(cell), "{cell:?} twice");
            }
        }
        assert_eq!(seen.len(), 49);
        assert!(seen.contains(&(centre.0, 0)), "the ring crosses 180°");
    }

    #[test]
    fn the_bound_never_exceeds_a_distance_outside_the_block() {
        let mut seed = 17_u64;
        let mut next = move || {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (seed >> 11) as f64 / (1_u64 << 53) as f64
        };
        for _ in 0..20_000 {
            let (lat, lon) = (next() * 170.0 - 85.0, next() * 360.0 - 180.0);
            let (plat, plon) = (
                (lat + (next() - 0.5) * 2.0).clamp(-90.0, 90.0),
                lon + (next() - 0.5) * 2.0,
            );
            let plon = (plon + 180.0).rem_euclid(360.0) - 180.0;
            let centre = cell_of(lat, lon);
            let rings = ring_of(centre, cell_of(plat, plon));
            if rings == 0 {
                continue;
            }
            let bound = outside_block_m(lat, lon, centre, rings - 1);
            let distance = geo::distance_m(lat, lon, plat, plon);
            assert!(
                bound <= distance + 1e-6,
                "({lat}, {lon}) → ({plat}, {plon}): bound {bound} > {distance}"
            );
        }
    }
}
