//! The in-process live store of the embedded shape: an R*-tree over the latest fix of each unit
//! and one over the AVAILABLE units' fixes, as points on the unit sphere, so that nearest-first iteration (by chord length, which orders
//! like great-circle distance) stops at the `limit`-th match instead of sorting the whole radius.

use std::collections::HashMap;
use std::sync::RwLock;

use chrono::{DateTime, Utc};
use rstar::RTree;
use rstar::primitives::GeomWithData;

use super::{
    Candidate, Fix, LivePosition, PositionError, PositionStore, Recorded, SearchQuery, UnitMeta,
};
use crate::domain::geo;

type Point = GeomWithData<[f64; 3], String>;

/// Where a fix lies on the unit sphere (the same inputs give the same point, so it can be removed).
fn on_sphere(lat: f64, lon: f64) -> [f64; 3] {
    let (phi, lambda) = (lat.to_radians(), lon.to_radians());
    [
        phi.cos() * lambda.cos(),
        phi.cos() * lambda.sin(),
        phi.sin(),
    ]
}

/// Slack past the radius before the nearest-first walk stops (float noise between chord and
/// haversine order).
const WALK_SLACK_M: f64 = 1.0;

#[derive(Debug, Default)]
struct State {
    units: HashMap<String, (UnitMeta, Option<LivePosition>)>,
    /// Every unit's latest position.
    tree: RTree<Point>,
    /// The AVAILABLE units' latest positions (searched when only available units are asked
    /// for, so busy units nearer the centre are never walked).
    available: RTree<Point>,
}

fn is_available(status: i32) -> bool {
    status == pingan_proto::dispatch::v1::UnitStatus::Available as i32
}

fn point(unit_id: &str, position: &LivePosition) -> Point {
    Point::new(on_sphere(position.lat, position.lon), unit_id.to_owned())
}

/// Keeps a placed unit in the available tree or out of it as its status goes from `was` to `now`.
fn follow_status(
    available: &mut RTree<Point>,
    unit_id: &str,
    position: Option<&LivePosition>,
    was: i32,
    now: i32,
) {
    let Some(position) = position else {
        return;
    };
    match (is_available(was), is_available(now)) {
        (true, false) => {
            available.remove(&point(unit_id, position));
        }
        (false, true) => available.insert(point(unit_id, position)),
        _ => {}
    }
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
        let State {
            units: known,
            available,
            ..
        } = &mut *state;
        for meta in units {
            match known.get_mut(&meta.unit_id) {
                Some((old, position)) => {
                    follow_status(
                        available,
                        &meta.unit_id,
                        position.as_ref(),
                        old.status,
                        meta.status,
                    );
                    *old = meta.clone();
                }
                None => {
                    known.insert(meta.unit_id.clone(), (meta.clone(), None));
                }
            }
        }
        Ok(())
    }

    async fn set_status(&self, unit_id: &str, status: i32) -> Result<(), PositionError> {
        let mut state = self.write();
        let State {
            units, available, ..
        } = &mut *state;
        if let Some((meta, position)) = units.get_mut(unit_id) {
            follow_status(available, unit_id, position.as_ref(), meta.status, status);
            meta.status = status;
        }
        Ok(())
    }

    async fn record(&self, fixes: &[Fix]) -> Result<Vec<Recorded>, PositionError> {
        let mut state = self.write();
        let State {
            units,
            tree,
            available,
        } = &mut *state;
        Ok(fixes
            .iter()
            .map(|fix| {
                let Some((meta, position)) = units.get_mut(&fix.unit_id) else {
                    return Recorded::UnknownUnit;
                };
                let free = is_available(meta.status);
                if let Some(old) = position {
                    if old.at > fix.at {
                        return Recorded::OutOfOrder;
                    }
                    let old_point = point(&fix.unit_id, old);
                    tree.remove(&old_point);
                    if free {
                        available.remove(&old_point);
                    }
                }
                let new = LivePosition {
                    lat: fix.lat,
                    lon: fix.lon,
                    at: fix.at,
                };
                *position = Some(new);
                tree.insert(point(&fix.unit_id, &new));
                if free {
                    available.insert(point(&fix.unit_id, &new));
                }
                Recorded::Accepted
            })
            .collect())
    }

    async fn search(&self, query: &SearchQuery) -> Result<Vec<Candidate>, PositionError> {
        let state = self.read();
        let centre = on_sphere(query.lat, query.lon);
        let mut found: Vec<Candidate> = Vec::new();
        let tree = if query.only_available {
            &state.available
        } else {
            &state.tree
        };
        for point in tree.nearest_neighbor_iter(&centre) {
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

    async fn stations(
        &self,
        unit_ids: &[String],
    ) -> Result<HashMap<String, String>, PositionError> {
        let state = self.read();
        Ok(unit_ids
            .iter()
            .filter_map(|id| {
                let (meta, _) = state.units.get(id)?;
                Some((id.clone(), meta.station_id.clone()))
            })
            .collect())
    }

    async fn forget_before(&self, cutoff: DateTime<Utc>) -> Result<u64, PositionError> {
        let mut state = self.write();
        let State {
            units,
            tree,
            available,
        } = &mut *state;
        let mut forgotten = 0;
        for (unit_id, (meta, position)) in units.iter_mut() {
            if let Some(old) = position
                && old.at < cutoff
            {
                let old_point = point(unit_id, old);
                tree.remove(&old_point);
                if is_available(meta.status) {
                    available.remove(&old_point);
                }
                *position = None;
                forgotten += 1;
            }
        }
        Ok(forgotten)
    }
}
