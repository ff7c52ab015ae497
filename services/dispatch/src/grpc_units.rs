//! Handlers for units, positions, the board and drones.

use std::collections::BTreeSet;

use pingan_platform::auth::{Jurisdiction, Role};
use pingan_platform::storage::Tx;
use pingan_platform::{ApiError, FieldViolations};
use pingan_proto::dispatch::v1::watch_board_response::Event;
use pingan_proto::dispatch::v1::*;
use tonic::{Request, Streaming};

use crate::board::{self, BoardStream};
use crate::domain::{self, from_timestamp, timestamp};
use crate::events::{self, Audit};
use crate::grpc::{DispatchApi, READ};
use crate::position_auth::{REPORTERS, ReportGate, Verdict};
use crate::positions::UnitMeta;
use crate::runtime::Effects;
use crate::store;
use crate::units::{self, FixCounts, NearestRequest, RawFix};

/// Who may register units and change their status by hand.
const MANAGE_UNITS: &[Role] = &[
    Role::Dispatcher,
    Role::CommandCenter,
    Role::StationOfficer,
    Role::Admin,
    Role::Service,
];
/// Fixes stored per round trip from a stream.
const STREAM_BATCH: usize = 256;

fn valid_kind(kind: i32) -> bool {
    UnitKind::try_from(kind).is_ok_and(|k| k != UnitKind::Unspecified)
}

impl DispatchApi {
    pub(crate) async fn register_unit_checked(
        &self,
        request: Request<RegisterUnitRequest>,
    ) -> Result<RegisterUnitResponse, ApiError> {
        let caller = self.context().auth.caller(&request)?;
        caller.require_any(MANAGE_UNITS)?;
        let req = request.into_inner();
        let mut violations = FieldViolations::default();
        violations.require_non_empty("unit_id", &req.unit_id);
        violations.require_max_chars("unit_id", &req.unit_id, 128);
        if req
            .unit_id
            .contains(|c: char| c.is_whitespace() || c == ',')
        {
            violations.add("unit_id", "must not contain spaces or commas");
        }
        if !valid_kind(req.kind) {
            violations.add("kind", "must be OFFICER, PATROL_CAR, DRONE or AUXILIARY");
        }
        violations.require_non_empty("callsign", &req.callsign);
        violations.require_max_chars("callsign", &req.callsign, 64);
        violations.require_non_empty("station_id", &req.station_id);
        let initial = match UnitStatus::try_from(req.initial_status).unwrap_or_default() {
            UnitStatus::Unspecified => UnitStatus::OffDuty,
            s if domain::is_manual_status(s) => s,
            _ => {
                violations.add("initial_status", "must be AVAILABLE, BUSY or OFF_DUTY");
                UnitStatus::OffDuty
            }
        };
        // Only the catalogue's capabilities, so a requirement can always be met by name.
        let capabilities =
            crate::grpc::catalogue_capabilities(&mut violations, "capabilities", &req.capabilities);
        violations.finish()?;
        caller.require_station(&req.station_id)?;
        let unit = store::NewUnit {
            unit_id: req.unit_id.clone(),
            kind: req.kind,
            callsign: req.callsign.trim().to_owned(),
            station_id: req.station_id.clone(),
            grid_ids: req.grid_ids.clone(),
            capabilities,
            officer_ids: req.officer_ids.clone(),
            initial_status: initial,
        };
        let runtime = &self.runtime;
        let actor = caller.actor();
        let mut effects = Effects::default();
        let response = self
            .context()
            .requests
            .run(
                "RegisterUnit",
                &req.request_id,
                &req,
                async |tx: &mut Tx| {
                    let now = runtime.now();
                    let created = store::register_unit(tx, &unit, now).await?;
                    let row = store::unit_in(tx, &unit.unit_id)
                        .await?
                        .ok_or_else(|| ApiError::internal("registered unit vanished"))?;
                    events::audit(
                        &runtime.context,
                        tx,
                        Audit {
                            actor: &actor,
                            action: "dispatch.RegisterUnit",
                            resource_type: "unit",
                            resource_id: &unit.unit_id,
                            station_id: &unit.station_id,
                            detail: if created { "created" } else { "updated" }.to_owned(),
                        },
                        now,
                    )
                    .await?;
                    effects.registered.push(UnitMeta {
                        unit_id: row.unit_id.clone(),
                        kind: row.kind,
                        station_id: row.station_id.clone(),
                        capabilities: store::parse_list(&row.capabilities),
                        status: row.status,
                    });
                    Ok(RegisterUnitResponse {
                        unit: Some(runtime.unit_proto(row, None)),
                        created,
                    })
                },
            )
            .await?;
        runtime.after_commit(effects).await;
        Ok(response)
    }

    pub(crate) async fn set_unit_status_checked(
        &self,
        request: Request<SetUnitStatusRequest>,
    ) -> Result<SetUnitStatusResponse, ApiError> {
        let caller = self.context().auth.caller(&request)?;
        caller.require_any(MANAGE_UNITS)?;
        let req = request.into_inner();
        let mut violations = FieldViolations::default();
        violations.require_non_empty("unit_id", &req.unit_id);
        let status = UnitStatus::try_from(req.status).unwrap_or_default();
        if status == UnitStatus::Unspecified {
            violations.add("status", "is required");
        }
        violations.require_max_chars("reason", &req.reason, 500);
        violations.finish()?;
        if !domain::is_manual_status(status) {
            return Err(ApiError::FailedPrecondition(format!(
                "{} follows assignments and cannot be set by hand",
                status.as_str_name()
            )));
        }
        let runtime = &self.runtime;
        let actor = caller.actor();
        let mut effects = Effects::default();
        let response = self
            .context()
            .requests
            .run(
                "SetUnitStatus",
                &req.request_id,
                &req,
                async |tx: &mut Tx| {
                    let now = runtime.now();
                    if !store::set_manual_status(tx, &req.unit_id, status, &req.reason, now).await?
                    {
                        return match store::unit_in(tx, &req.unit_id).await? {
                            None => Err(ApiError::NotFound(format!("unit {}", req.unit_id))),
                            Some(row) => Err(ApiError::FailedPrecondition(format!(
                                "unit {} is on dispatch {}; clear it from the dispatch first",
                                row.unit_id,
                                row.current_dispatch_id.unwrap_or_default()
                            ))),
                        };
                    }
                    let row = store::unit_in(tx, &req.unit_id)
                        .await?
                        .ok_or_else(|| ApiError::NotFound(format!("unit {}", req.unit_id)))?;
                    caller.require_station(&row.station_id)?;
                    events::audit(
                        &runtime.context,
                        tx,
                        Audit {
                            actor: &actor,
                            action: "dispatch.SetUnitStatus",
                            resource_type: "unit",
                            resource_id: &row.unit_id,
                            station_id: &row.station_id,
                            detail: status.as_str_name().to_owned(),
                        },
                        now,
                    )
                    .await?;
                    effects.units.push(row.unit_id.clone());
                    Ok(SetUnitStatusResponse {
                        unit: Some(runtime.unit_proto(row, None)),
                    })
                },
            )
            .await?;
        runtime.after_commit(effects).await;
        // Show the live position too.
        let unit = match &response.unit {
            Some(unit) => self
                .runtime
                .units(std::slice::from_ref(&unit.unit_id))
                .await?
                .pop(),
            None => None,
        };
        Ok(SetUnitStatusResponse {
            unit: unit.or(response.unit),
        })
    }

    pub(crate) async fn list_units_checked(
        &self,
        request: Request<ListUnitsRequest>,
    ) -> Result<ListUnitsResponse, ApiError> {
        let caller = self.context().auth.caller(&request)?;
        caller.require_any(READ)?;
        let req = request.into_inner();
        if !(0..=1000).contains(&req.page_size) {
            return Err(ApiError::invalid("page_size", "must be 0..1000"));
        }
        if !req.station_id.is_empty() {
            caller.require_station(&req.station_id)?;
        }
        let page_size = if req.page_size == 0 {
            100
        } else {
            req.page_size
        } as usize;
        let capabilities = domain::normalise_capabilities(&req.capabilities);
        let mut after = req.page_token.clone();
        let mut rows = Vec::new();
        loop {
            let batch = store::list_units(&self.context().db, &after, &req.station_id, 500).await?;
            let done = batch.len() < 500;
            for row in batch {
                after = row.unit_id.clone();
                let caps = store::parse_list(&row.capabilities);
                let wanted = (req.kinds.is_empty() || req.kinds.contains(&row.kind))
                    && (req.statuses.is_empty() || req.statuses.contains(&row.status))
                    && capabilities.iter().all(|c| caps.contains(c))
                    && (req.grid_id.is_empty()
                        || store::parse_list(&row.grid_ids).contains(&req.grid_id))
                    && caller.can_see_station(&row.station_id);
                if wanted {
                    rows.push(row);
                    if rows.len() == page_size {
                        break;
                    }
                }
            }
            if done || rows.len() == page_size {
                break;
            }
        }
        let ids: Vec<String> = rows.iter().map(|r| r.unit_id.clone()).collect();
        let positions = self
            .runtime
            .positions
            .positions(&ids)
            .await
            .unwrap_or_default();
        let next_page_token = if rows.len() == page_size {
            rows.last().map(|r| r.unit_id.clone()).unwrap_or_default()
        } else {
            String::new()
        };
        let units = rows
            .into_iter()
            .map(|row| {
                let position = positions.get(&row.unit_id).copied();
                self.runtime.unit_proto(row, position)
            })
            .collect();
        Ok(ListUnitsResponse {
            units,
            next_page_token,
        })
    }

    pub(crate) async fn report_positions_checked(
        &self,
        request: Request<Streaming<ReportPositionsRequest>>,
    ) -> Result<ReportPositionsResponse, ApiError> {
        let caller = self.context().auth.caller(&request)?;
        caller.require_any(REPORTERS)?;
        let mut gate = ReportGate::new(&self.context().db, &caller);
        let mut stream = request.into_inner();
        let mut counts = FixCounts::default();
        let mut batch: Vec<RawFix> = Vec::with_capacity(STREAM_BATCH);
        loop {
            let item = stream
                .message()
                .await
                .map_err(|status| ApiError::invalid("stream", status.message().to_owned()))?;
            let end = item.is_none();
            if let Some(fix) = item {
                // Every fix is authorised for its unit; a forbidden one ends the stream, after
                // the allowed fixes before it are stored.
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
            if batch.len() >= STREAM_BATCH || (end && !batch.is_empty()) {
                let outcomes = units::record_fixes(&self.runtime, &batch).await?;
                units::count(&outcomes, &mut counts);
                batch.clear();
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
        if ReportGate::new(&self.context().db, &caller)
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
            return match store::unit(&self.context().db, &req.unit_id).await? {
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
            stale_after: at.map(|at| timestamp(at + staleness)),
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
        let (units, searched_radius_m) = units::nearest(&self.runtime, &query, |station| {
            caller.can_see_station(station)
        })
        .await?;
        Ok(FindNearestUnitsResponse {
            units,
            searched_radius_m,
        })
    }

    pub(crate) async fn watch_board_checked(
        &self,
        request: Request<WatchBoardRequest>,
    ) -> Result<BoardStream, ApiError> {
        let caller = self.context().auth.caller(&request)?;
        caller.require_any(READ)?;
        let req = request.into_inner();
        for station in &req.station_ids {
            caller.require_station(station)?;
        }
        let stations: Option<BTreeSet<String>> = if !req.station_ids.is_empty() {
            Some(req.station_ids.iter().cloned().collect())
        } else {
            match &caller.jurisdiction {
                Jurisdiction::Bureau => None,
                Jurisdiction::Stations(own) => Some(own.clone()),
            }
        };
        let visible = {
            let stations = stations.clone();
            move |station: &str| stations.as_ref().is_none_or(|s| s.contains(station))
        };
        // Subscribe before reading the snapshot so nothing falls between them.
        let receiver = self.runtime.board.subscribe();
        let mut snapshot = Vec::new();
        if req.send_snapshot {
            let now = Some(timestamp(self.runtime.now()));
            let dispatches: Vec<Dispatch> = store::open_dispatches(&self.context().db, 2000)
                .await?
                .into_iter()
                .filter(|d| visible(&d.station_id))
                .collect();
            let mut unit_ids = Vec::new();
            let mut after = String::new();
            loop {
                let rows = store::list_units(&self.context().db, &after, "", 1000).await?;
                let done = rows.len() < 1000;
                for row in rows {
                    after = row.unit_id.clone();
                    if visible(&row.station_id) {
                        unit_ids.push(row.unit_id);
                    }
                }
                if done {
                    break;
                }
            }
            let units = self.runtime.units(&unit_ids).await?;
            let counts = BoardSnapshotComplete {
                dispatches: i32::try_from(dispatches.len()).unwrap_or(i32::MAX),
                units: i32::try_from(units.len()).unwrap_or(i32::MAX),
            };
            let events = dispatches
                .into_iter()
                .map(Event::Dispatch)
                .chain(units.into_iter().map(Event::Unit))
                .chain(std::iter::once(Event::SnapshotComplete(counts)));
            for (i, event) in events.enumerate() {
                snapshot.push(WatchBoardResponse {
                    sequence: i64::try_from(i + 1).unwrap_or(i64::MAX),
                    occurred_at: now,
                    event: Some(event),
                });
            }
        }
        let include_positions = req.include_positions;
        let clock = self.context().clock.clone();
        Ok(board::live_stream(
            receiver,
            snapshot,
            move |event| (include_positions || !event.position_only) && visible(&event.station_id),
            move || clock.now(),
        ))
    }

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
                store::begin_write(&runtime.context.db, tx).await?;
                let now = runtime.now();
                let unit = store::unit_in(tx, &req.unit_id)
                    .await?
                    .ok_or_else(|| ApiError::NotFound(format!("unit {}", req.unit_id)))?;
                caller.require_station(&unit.station_id)?;
                if unit.kind != UnitKind::Drone as i32 {
                    return Err(ApiError::FailedPrecondition(format!(
                        "unit {} is not a drone",
                        unit.unit_id
                    )));
                }
                if !req.dispatch_id.is_empty()
                    && store::lock_dispatch(&runtime.context.db, tx, &req.dispatch_id)
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
                    created_at: Some(timestamp(now)),
                };
                store::insert_flight(tx, &flight, &unit.station_id).await?;
                events::audit(
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
        let rows = store::flights(
            &self.context().db,
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
        let mut total = crate::flights::Sum::default();
        let mut per_unit: std::collections::BTreeMap<String, (String, crate::flights::Sum)> =
            std::collections::BTreeMap::new();
        for (flight, station) in &flights {
            total.add(flight);
            per_unit
                .entry(flight.unit_id.clone())
                .or_insert_with(|| ((*station).clone(), crate::flights::Sum::default()))
                .1
                .add(flight);
        }
        let mut units = Vec::with_capacity(per_unit.len());
        for (unit_id, (station_id, sum)) in per_unit {
            let callsign = store::unit(&self.context().db, &unit_id)
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
        let buckets = crate::flights::buckets(&only, interval)
            .into_iter()
            .map(|(start, end, sum)| DroneStatsBucket {
                start: Some(timestamp(start)),
                end: Some(timestamp(end)),
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
