//! The in-process live store of the embedded shape: an R*-tree over the latest fix of each unit,
//! as points on the unit sphere, so that nearest-first iteration (by chord length, which orders
//! like great-circle distance) stops at the `limit`-th match instead of sorting the whole radius.

use std::collections::HashMap;
use std::sync::RwLock;

use chrono::{DateTime, Utc};
use rstar::primitives::GeomWithData;
use rstar::RTree;

use super::{
    Candidate, Fix, LivePosition, PositionError, PositionStore, Recorded, SearchQuery, UnitMeta,
};
use crate::domain::geo;

type Point = GeomWithData<[f64; 3], String>;

/// Where a fix lies on the unit sphere (the same inputs give the same point, so it can be removed).
fn on_sphere(lat: f64, lon: f64) -> [f64; 3] {
    let (phi, lambda) = (lat.to_radians(), lon.to_radians());
    [phi.cos() * lambda.cos(), phi.cos() * lambda.sin(), phi.sin()]
}

/// Slack past the radius before the nearest-first walk stops (float noise between chord and
/// haversine order).
const WALK_SLACK_M: f64 = 1.0;

#[derive(Debug, Default)]
struct State {
    units: HashMap<String, (UnitMeta, Option<LivePosition>)>,
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
                    tree.remove(&Point::new(on_sphere(old.lat, old.lon), fix.unit_id.clone()));
                }
                *position = Some(LivePosition {
                    lat: fix.lat,
                    lon: fix.lon,
                    at: fix.at,
                });
                tree.insert(Point::new(on_sphere(fix.lat, fix.lon), fix.unit_id.clone()));
                Recorded::Accepted
            })
            .collect())
    }

    async fn search(&self, query: &SearchQuery) -> Result<Vec<Candidate>, PositionError> {
        let state = self.read();
        let centre = on_sphere(query.lat, query.lon);
        let mut found: Vec<Candidate> = Vec::new();
        for point in state.tree.nearest_neighbor_iter(&centre) {
            let Some((meta, Some(position))) = state.units.get(&point.data) else {
                continue;
            };
            let distance_m = geo::distance_m(query.lat, query.lon, position.lat, position.lon);
            if distance_m > query.radius_m + WALK_SLACK_M {
                break;
            }
            if distance_m > query.radius_m
                || position.at < query.fresh_after
                || !query.accepts(meta)
            {
                continue;
            }
            found.push(Candidate {
                meta: meta.clone(),
                position: *position,
                distance_m,
            });
            if found.len() >= query.limit {
                break;
            }
        }
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
                tree.remove(&Point::new(on_sphere(old.lat, old.lon), unit_id.clone()));
                *position = None;
                forgotten += 1;
            }
        }
        Ok(forgotten)
    }
}
