//! The in-process live store of the embedded shape: an R*-tree over the latest fix of each unit.

use std::collections::HashMap;
use std::sync::RwLock;

use chrono::{DateTime, Utc};
use rstar::primitives::GeomWithData;
use rstar::{AABB, RTree};

use super::{
    Candidate, Fix, LivePosition, PositionError, PositionStore, Recorded, SearchQuery, UnitMeta,
};
use crate::domain::geo;

type Point = GeomWithData<[f64; 2], String>;

#[derive(Debug, Default)]
struct State {
    units: HashMap<String, (UnitMeta, Option<LivePosition>)>,
    /// Points are `[lon, lat]`.
    tree: RTree<Point>,
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
            let entry = state
                .units
                .entry(meta.unit_id.clone())
                .or_insert_with(|| (meta.clone(), None));
            entry.0 = meta.clone();
        }
        Ok(())
    }

    async fn set_status(&self, unit_id: &str, status: i32) -> Result<(), PositionError> {
        if let Some((meta, _)) = self.write().units.get_mut(unit_id) {
            meta.status = status;
        }
        Ok(())
    }

    async fn record(&self, fixes: &[Fix]) -> Result<Vec<Recorded>, PositionError> {
        let mut state = self.write();
        let State { units, tree } = &mut *state;
        Ok(fixes
            .iter()
            .map(|fix| {
                let Some((_, position)) = units.get_mut(&fix.unit_id) else {
                    return Recorded::UnknownUnit;
                };
                if let Some(old) = position {
                    if old.at > fix.at {
                        return Recorded::OutOfOrder;
                    }
                    tree.remove(&Point::new([old.lon, old.lat], fix.unit_id.clone()));
                }
                *position = Some(LivePosition {
                    lat: fix.lat,
                    lon: fix.lon,
                    at: fix.at,
                });
                tree.insert(Point::new([fix.lon, fix.lat], fix.unit_id.clone()));
                Recorded::Accepted
            })
            .collect())
    }

    async fn search(&self, query: &SearchQuery) -> Result<Vec<Candidate>, PositionError> {
        let state = self.read();
        let (min_lon, min_lat, max_lon, max_lat) =
            geo::bounding_box(query.lat, query.lon, query.radius_m);
        let envelope = AABB::from_corners([min_lon, min_lat], [max_lon, max_lat]);
        let mut found: Vec<Candidate> = state
            .tree
            .locate_in_envelope(&envelope)
            .filter_map(|point| {
                let (meta, position) = state.units.get(&point.data)?;
                let position = (*position)?;
                if position.at < query.fresh_after || !query.accepts(meta) {
                    return None;
                }
                let distance_m = geo::distance_m(query.lat, query.lon, position.lat, position.lon);
                (distance_m <= query.radius_m).then(|| Candidate {
                    meta: meta.clone(),
                    position,
                    distance_m,
                })
            })
            .collect();
        found.sort_by(|a, b| {
            a.distance_m
                .total_cmp(&b.distance_m)
                .then_with(|| a.meta.unit_id.cmp(&b.meta.unit_id))
        });
        found.truncate(query.limit);
        Ok(found)
    }

    async fn positions(
        &self,
        unit_ids: &[String],
    ) -> Result<HashMap<String, LivePosition>, PositionError> {
        let state = self.read();
        Ok(unit_ids
            .iter()
            .filter_map(|id| {
                let (_, position) = state.units.get(id)?;
                Some((id.clone(), (*position)?))
            })
            .collect())
    }

    async fn forget_before(&self, cutoff: DateTime<Utc>) -> Result<u64, PositionError> {
        let mut state = self.write();
        let State { units, tree } = &mut *state;
        let mut forgotten = 0;
        for (unit_id, (_, position)) in units.iter_mut() {
            if let Some(old) = position
                && old.at < cutoff
            {
                tree.remove(&Point::new([old.lon, old.lat], unit_id.clone()));
                *position = None;
                forgotten += 1;
            }
        }
        Ok(forgotten)
    }
}
