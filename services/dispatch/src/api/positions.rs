//! Handlers for live positions: device reports (authorised per unit) and nearest-unit search.

use futures::FutureExt;
use pingan_platform::auth::Jurisdiction;
use pingan_platform::{ApiError, FieldViolations};
use pingan_proto::dispatch::v1::*;
use tonic::{Request, Streaming};

use crate::api::position_auth::{REPORTERS, ReportGate, Verdict};
use crate::api::units::valid_kind;
use crate::api::{DispatchApi, READ};
use crate::app::units::{self, FixCounts, NearestRequest, RawFix};
use crate::domain;
use pingan_platform::time::{from_timestamp, to_timestamp};

/// Most fixes stored per round trip from a stream.
const STREAM_BATCH: usize = 256;

/// Waits for the stream's next fix, then takes the fixes already received behind it (up to
/// [`STREAM_BATCH`]) without waiting: a device's slow stream is stored fix by fix as it comes,
/// a fast one in batches. True when the stream has ended.
async fn next_fixes(
    stream: &mut Streaming<ReportPositionsRequest>,
    pending: &mut Vec<ReportPositionsRequest>,
) -> Result<bool, ApiError> {
    let invalid = |status: tonic::Status| ApiError::invalid("stream", status.message().to_owned());
    match stream.message().await.map_err(invalid)? {
        None => return Ok(true),
        Some(fix) => pending.push(fix),
    }
    while pending.len() < STREAM_BATCH {
        // `message` only polls the stream, so dropping it when nothing is ready loses nothing.
        match stream.message().now_or_never() {
            None => return Ok(false),
            Some(Ok(Some(fix))) => pending.push(fix),
            Some(Ok(None)) => return Ok(true),
            Some(Err(status)) => return Err(invalid(status)),
        }
    }
    Ok(false)
}

impl DispatchApi {
    pub(crate) async fn report_positions_checked(
        &self,
        request: Request<Streaming<ReportPositionsRequest>>,
    ) -> Result<ReportPositionsResponse, ApiError> {
        let caller = self.context().auth.caller(&request)?;
        caller.require_any(REPORTERS)?;
        // The live store holds every unit before the gate reads stations from it.
        self.runtime.warm().await?;
        let mut gate = ReportGate::new(&*self.runtime.store, &*self.runtime.positions, &caller);
        let mut stream = request.into_inner();
        let mut counts = FixCounts::default();
        let mut pending: Vec<ReportPositionsRequest> = Vec::with_capacity(STREAM_BATCH);
        loop {
            let end = next_fixes(&mut stream, &mut pending).await?;
            if !pending.is_empty() {
                // Every unit's station read in one query, then every fix authorised for its
                // unit; a forbidden one ends the stream, after the allowed fixes before it are
                // stored.
                gate.learn(pending.iter().map(|fix| fix.unit_id.as_str()))
                    .await?;
                let mut batch: Vec<RawFix> = Vec::with_capacity(pending.len());
                for fix in pending.drain(..) {
                    match gate.check(&fix.unit_id).await {
                        Ok(Verdict::Allowed) => {}
                        Ok(Verdict::UnknownUnit) => {
                            counts.rejected += 1;
                            continue;
                        }
                        Err(denied) => {
                            if !batch.is_empty() {
                                units::record_fixes(&self.runtime, &batch).await?;
                            }
                            return Err(denied);
                        }
                    }
                    let location = fix.location.unwrap_or_default();
                    batch.push(RawFix {
                        unit_id: fix.unit_id,
                        lat: location.lat,
                        lon: location.lon,
                        at: fix.at.as_ref().and_then(from_timestamp),
                    });
                }
                if !batch.is_empty() {
                    let outcomes = units::record_fixes(&self.runtime, &batch).await?;
                    units::count(&outcomes, &mut counts);
                }
            }
            if end {
                break;
            }
        }
        Ok(ReportPositionsResponse {
            accepted: counts.accepted,
            out_of_order: counts.out_of_order,
            stale: counts.stale,
            rejected: counts.rejected,
        })
    }

    pub(crate) async fn update_position_checked(
        &self,
        request: Request<UpdatePositionRequest>,
    ) -> Result<UpdatePositionResponse, ApiError> {
        let caller = self.context().auth.caller(&request)?;
        caller.require_any(REPORTERS)?;
        let req = request.into_inner();
        let mut violations = FieldViolations::default();
        violations.require_non_empty("unit_id", &req.unit_id);
        match &req.location {
            Some(l) => violations.require_coordinates("location", l.lat, l.lon),
            None => violations.add("location", "is required"),
        }
        let at = req.at.as_ref().and_then(from_timestamp);
        if at.is_none() {
            violations.add("at", "is required");
        }
        violations.finish()?;
        if ReportGate::new(&*self.runtime.store, &*self.runtime.positions, &caller)
            .check(&req.unit_id)
            .await?
            == Verdict::UnknownUnit
        {
            return Err(ApiError::NotFound(format!("unit {}", req.unit_id)));
        }
        let location = req.location.unwrap_or_default();
        let fix = RawFix {
            unit_id: req.unit_id.clone(),
            lat: location.lat,
            lon: location.lon,
            at,
        };
        let outcome = units::record_fixes(&self.runtime, std::slice::from_ref(&fix))
            .await?
            .pop()
            .flatten();
        let Some(outcome) = outcome else {
            return match self.runtime.store.unit(&req.unit_id).await? {
                None => Err(ApiError::NotFound(format!("unit {}", req.unit_id))),
                Some(_) => Err(ApiError::invalid(
                    "at",
                    "is in the future or the position cannot be indexed",
                )),
            };
        };
        let staleness =
            chrono::Duration::from_std(self.runtime.settings.staleness).unwrap_or_default();
        Ok(UpdatePositionResponse {
            outcome: outcome as i32,
            stale_after: at.map(|at| to_timestamp(at + staleness)),
        })
    }

    pub(crate) async fn find_nearest_checked(
        &self,
        request: Request<FindNearestUnitsRequest>,
    ) -> Result<FindNearestUnitsResponse, ApiError> {
        let caller = self.context().auth.caller(&request)?;
        caller.require_any(READ)?;
        let req = request.into_inner();
        let mut violations = FieldViolations::default();
        match &req.location {
            Some(l) => violations.require_coordinates("location", l.lat, l.lon),
            None => violations.add("location", "is required"),
        }
        if !req.radius_m.is_finite() || req.radius_m <= 0.0 {
            violations.add("radius_m", "must be a positive number of metres");
        }
        if !(0..=100).contains(&req.limit) {
            violations.add("limit", "must be 0..100");
        }
        if req.kinds.iter().any(|k| !valid_kind(*k)) {
            violations.add("kinds", "unknown unit kind");
        }
        violations.finish()?;
        if !req.station_id.is_empty() {
            caller.require_station(&req.station_id)?;
        }
        let location = req.location.unwrap_or_default();
        let query = NearestRequest {
            lat: location.lat,
            lon: location.lon,
            radius_m: req.radius_m,
            kinds: req.kinds.clone(),
            capabilities: domain::normalise_capabilities(&req.capabilities),
            only_available: req.only_available,
            limit: if req.limit == 0 {
                10
            } else {
                req.limit as usize
            },
            station_id: (!req.station_id.is_empty()).then(|| req.station_id.clone()),
        };
        let stations = match &caller.jurisdiction {
            Jurisdiction::Bureau => None,
            Jurisdiction::Stations(stations) => Some(stations.iter().cloned().collect()),
        };
        let (units, searched_radius_m) = units::nearest(&self.runtime, &query, stations).await?;
        Ok(FindNearestUnitsResponse {
            units,
            searched_radius_m,
        })
    }
}
