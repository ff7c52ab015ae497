//! Handlers for drone flights: the flight log and its totals.

use pingan_platform::storage::Tx;
use pingan_platform::{ApiError, FieldViolations};
use pingan_proto::dispatch::v1::*;
use tonic::Request;

use crate::api::units::MANAGE_UNITS;
use crate::api::{DispatchApi, READ};
use crate::app::outbound::{self, Audit};
use crate::app::records;
use crate::domain;
use pingan_platform::time::{from_timestamp, to_timestamp};

impl DispatchApi {
    pub(crate) async fn log_flight_checked(
        &self,
        request: Request<LogFlightRequest>,
    ) -> Result<LogFlightResponse, ApiError> {
        let caller = self.context().auth.caller(&request)?;
        caller.require_any(MANAGE_UNITS)?;
        let req = request.into_inner();
        let mut violations = FieldViolations::default();
        violations.require_non_empty("unit_id", &req.unit_id);
        let started = req.started_at.as_ref().and_then(from_timestamp);
        let ended = req.ended_at.as_ref().and_then(from_timestamp);
        if started.is_none() {
            violations.add("started_at", "is required");
        }
        match (started, ended) {
            (_, None) => violations.add("ended_at", "is required"),
            (Some(s), Some(e)) if e <= s => violations.add("ended_at", "must be after started_at"),
            _ => {}
        }
        if !req.distance_m.is_finite() || req.distance_m < 0.0 {
            violations.add("distance_m", "must be zero or more");
        }
        violations.require_max_chars("notes", &req.notes, 2000);
        violations.finish()?;
        let (started, ended) = (started.unwrap_or_default(), ended.unwrap_or_default());
        let runtime = &self.runtime;
        let actor = caller.actor();
        let response = self
            .context()
            .requests
            .run("LogFlight", &req.request_id, &req, async |tx: &mut Tx| {
                let now = runtime.now();
                let unit = runtime
                    .store
                    .unit_in(tx, &req.unit_id)
                    .await?
                    .ok_or_else(|| ApiError::NotFound(format!("unit {}", req.unit_id)))?;
                caller.require_station(&unit.station_id)?;
                if unit.kind != UnitKind::Drone {
                    return Err(ApiError::FailedPrecondition(format!(
                        "unit {} is not a drone",
                        unit.unit_id
                    )));
                }
                if !req.dispatch_id.is_empty()
                    && runtime
                        .store
                        .lock_dispatch(tx, &req.dispatch_id)
                        .await?
                        .is_none()
                {
                    return Err(ApiError::NotFound(format!("dispatch {}", req.dispatch_id)));
                }
                let duration = (ended - started).to_std().unwrap_or_default();
                let flight = Flight {
                    flight_id: uuid::Uuid::now_v7().to_string(),
                    unit_id: req.unit_id.clone(),
                    dispatch_id: req.dispatch_id.clone(),
                    started_at: req.started_at,
                    ended_at: req.ended_at,
                    duration: Some(domain::duration(duration)),
                    distance_m: req.distance_m,
                    pilot_officer_id: req.pilot_officer_id.clone(),
                    purpose: req.purpose.clone(),
                    video_recorded: req.video_recorded,
                    notes: req.notes.clone(),
                    logged_by: Some(actor.clone()),
                    created_at: Some(to_timestamp(now)),
                };
                records::insert_flight(&*runtime.store, tx, &flight, &unit.station_id).await?;
                outbound::audit(
                    &runtime.context,
                    tx,
                    Audit {
                        actor: &actor,
                        action: "dispatch.LogFlight",
                        resource_type: "flight",
                        resource_id: &flight.flight_id,
                        station_id: &unit.station_id,
                        detail: format!("drone {} {:.0} m", unit.unit_id, req.distance_m),
                    },
                    now,
                )
                .await?;
                Ok(LogFlightResponse {
                    flight: Some(flight),
                })
            })
            .await?;
        Ok(response)
    }

    pub(crate) async fn drone_stats_checked(
        &self,
        request: Request<DroneStatsRequest>,
    ) -> Result<DroneStatsResponse, ApiError> {
        let caller = self.context().auth.caller(&request)?;
        caller.require_any(READ)?;
        let req = request.into_inner();
        if !req.station_id.is_empty() {
            caller.require_station(&req.station_id)?;
        }
        let interval = StatsInterval::try_from(req.interval)
            .map_err(|_| ApiError::invalid("interval", "unknown interval"))?;
        let period = req.period.unwrap_or_default();
        let rows = records::flights(
            &*self.runtime.store,
            period.start.as_ref().and_then(from_timestamp),
            period.end.as_ref().and_then(from_timestamp),
            &req.station_id,
        )
        .await?;
        let flights: Vec<(&Flight, &String)> = rows
            .iter()
            .filter(|(f, station)| {
                caller.can_see_station(station)
                    && (req.unit_ids.is_empty() || req.unit_ids.contains(&f.unit_id))
            })
            .map(|(f, s)| (f, s))
            .collect();
        let mut total = crate::domain::flights::Sum::default();
        let mut per_unit: std::collections::BTreeMap<
            String,
            (String, crate::domain::flights::Sum),
        > = std::collections::BTreeMap::new();
        for (flight, station) in &flights {
            total.add(flight);
            per_unit
                .entry(flight.unit_id.clone())
                .or_insert_with(|| ((*station).clone(), crate::domain::flights::Sum::default()))
                .1
                .add(flight);
        }
        let mut units = Vec::with_capacity(per_unit.len());
        for (unit_id, (station_id, sum)) in per_unit {
            let callsign = self
                .runtime
                .store
                .unit(&unit_id)
                .await?
                .map(|u| u.callsign)
                .unwrap_or_default();
            units.push(DroneUnitStats {
                unit_id,
                callsign,
                station_id,
                totals: Some(sum.totals()),
            });
        }
        let only: Vec<&Flight> = flights.iter().map(|(f, _)| *f).collect();
        let buckets = crate::domain::flights::buckets(&only, interval)
            .into_iter()
            .map(|(start, end, sum)| DroneStatsBucket {
                start: Some(to_timestamp(start)),
                end: Some(to_timestamp(end)),
                totals: Some(sum.totals()),
            })
            .collect();
        Ok(DroneStatsResponse {
            totals: Some(total.totals()),
            units,
            buckets,
        })
    }
}
