//! Units and their live positions: position fixes are checked (coordinates, staleness, clock
//! skew) and stored in batches; the nearest-unit search is bounded by a capped radius.

use chrono::{DateTime, Utc};
use pingan_platform::ApiError;
use pingan_proto::dispatch::v1::{NearbyUnit, PositionOutcome, UnitKind};

use crate::app::Runtime;
use crate::domain::{self, geo};
use crate::positions::{Fix, Recorded, SearchQuery};
use pingan_platform::time::to_timestamp;

/// Fixes dated further than this in the future are refused (device clock wrong).
const MAX_FUTURE: chrono::Duration = chrono::Duration::seconds(60);
/// Redis GEO cannot index latitudes beyond this.
const MAX_GEO_LAT: f64 = 85.051_128;

/// One fix as received.
#[derive(Debug, Clone)]
pub struct RawFix {
    pub unit_id: String,
    pub lat: f64,
    pub lon: f64,
    pub at: Option<DateTime<Utc>>,
}

/// Counts of a batch of fixes.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct FixCounts {
    pub accepted: i64,
    pub out_of_order: i64,
    pub stale: i64,
    pub rejected: i64,
}

/// What happened to one fix (None: rejected).
pub type FixOutcome = Option<PositionOutcome>;

/// Checks and stores fixes; returns one outcome per fix, in order.
pub async fn record_fixes(
    runtime: &Runtime,
    fixes: &[RawFix],
) -> Result<Vec<FixOutcome>, ApiError> {
    runtime.warm().await?;
    let now = runtime.now();
    let fresh_after = runtime.fresh_after(now);
    let mut outcomes: Vec<FixOutcome> = Vec::with_capacity(fixes.len());
    let mut valid: Vec<Fix> = Vec::new();
    let mut slots: Vec<usize> = Vec::new();
    for fix in fixes {
        let ok_coordinates = fix.lat.is_finite()
            && fix.lon.is_finite()
            && fix.lat.abs() <= MAX_GEO_LAT
            && fix.lon.abs() <= 180.0;
        let outcome = match fix.at {
            _ if fix.unit_id.trim().is_empty() || !ok_coordinates => None,
            None => None,
            Some(at) if at > now + MAX_FUTURE => None,
            Some(at) if at < fresh_after => Some(PositionOutcome::Stale),
            Some(at) => {
                slots.push(outcomes.len());
                valid.push(Fix {
                    unit_id: fix.unit_id.clone(),
                    lat: fix.lat,
                    lon: fix.lon,
                    at,
                });
                Some(PositionOutcome::Accepted)
            }
        };
        outcomes.push(outcome);
    }
    let mut recorded = runtime.positions.record(&valid).await?;
    let lost: Vec<usize> = (0..recorded.len())
        .filter(|&i| recorded[i] == Recorded::UnknownUnit)
        .collect();
    if !lost.is_empty() {
        // Every fix here passed the position gate, so its unit is registered: the live store
        // lost it (a Redis restart keeps nothing). Re-read every unit, then try those once more.
        runtime.live_store_lost();
        runtime.warm().await?;
        let again: Vec<Fix> = lost.iter().map(|&i| valid[i].clone()).collect();
        for (i, result) in lost
            .into_iter()
            .zip(runtime.positions.record(&again).await?)
        {
            recorded[i] = result;
        }
    }
    let mut moved = Vec::new();
    for ((slot, result), fix) in slots.into_iter().zip(recorded).zip(&valid) {
        outcomes[slot] = match result {
            Recorded::Accepted => {
                moved.push(fix.unit_id.clone());
                Some(PositionOutcome::Accepted)
            }
            Recorded::OutOfOrder => Some(PositionOutcome::OutOfOrder),
            Recorded::UnknownUnit => None,
        };
    }
    runtime.publish_positions(&moved).await;
    Ok(outcomes)
}

/// Tallies outcomes.
pub fn count(outcomes: &[FixOutcome], counts: &mut FixCounts) {
    for outcome in outcomes {
        match outcome {
            Some(PositionOutcome::Accepted) => counts.accepted += 1,
            Some(PositionOutcome::OutOfOrder) => counts.out_of_order += 1,
            Some(PositionOutcome::Stale) => counts.stale += 1,
            _ => counts.rejected += 1,
        }
    }
}

/// A validated nearest-unit search.
#[derive(Debug, Clone)]
pub struct NearestRequest {
    pub lat: f64,
    pub lon: f64,
    pub radius_m: f64,
    pub kinds: Vec<i32>,
    pub capabilities: Vec<String>,
    pub only_available: bool,
    pub limit: usize,
    pub station_id: Option<String>,
}

/// Units near a point, nearest first, with ETAs; `(units, searched radius)`. `stations` is the
/// caller's jurisdiction (none: the whole bureau).
pub async fn nearest(
    runtime: &Runtime,
    request: &NearestRequest,
    stations: Option<Vec<String>>,
) -> Result<(Vec<NearbyUnit>, f64), ApiError> {
    runtime.warm().await?;
    let radius_m = request.radius_m.min(runtime.settings.max_radius_m);
    let now = runtime.now();
    let query = SearchQuery {
        lat: request.lat,
        lon: request.lon,
        radius_m,
        kinds: request.kinds.clone(),
        capabilities: request.capabilities.clone(),
        only_available: request.only_available,
        station_id: request.station_id.clone(),
        stations,
        fresh_after: runtime.fresh_after(now),
        exclude: Vec::new(),
        limit: request.limit,
    };
    let candidates = runtime.positions.search(&query).await?;
    let out = candidates
        .into_iter()
        .map(|candidate| {
            let kind = UnitKind::try_from(candidate.meta.kind).unwrap_or_default();
            NearbyUnit {
                unit_id: candidate.meta.unit_id,
                kind: candidate.meta.kind,
                distance_m: candidate.distance_m,
                eta: Some(domain::duration(geo::eta(
                    kind,
                    candidate.distance_m,
                    &runtime.settings.speeds,
                ))),
                callsign: candidate.meta.callsign,
                status: candidate.meta.status,
                last_seen: Some(to_timestamp(candidate.position.at)),
                location: Some(pingan_proto::common::v1::GeoPoint {
                    lat: candidate.position.lat,
                    lon: candidate.position.lon,
                }),
                station_id: candidate.meta.station_id,
                capabilities: candidate.meta.capabilities,
            }
        })
        .collect();
    Ok((out, radius_m))
}
