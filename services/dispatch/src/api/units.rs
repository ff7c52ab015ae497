//! Handlers for units and the board (positions in `grpc_positions`, drones in `grpc_drones`).

use std::collections::BTreeSet;

use pingan_platform::auth::{Jurisdiction, Role};
use pingan_platform::storage::Tx;
use pingan_platform::{ApiError, FieldViolations};
use pingan_proto::dispatch::v1::watch_board_response::Event;
use pingan_proto::dispatch::v1::*;
use tonic::Request;

use crate::api::{DispatchApi, READ};
use crate::app::Effects;
use crate::app::board::{self, BoardStream};
use crate::app::outbound::{self, Audit};
use crate::app::records;
use crate::domain;
use crate::domain::model::NewUnit;
use crate::positions::UnitMeta;
use pingan_platform::time::to_timestamp;

/// Who may register units and change their status by hand.
pub(crate) const MANAGE_UNITS: &[Role] = &[
    Role::Dispatcher,
    Role::CommandCenter,
    Role::StationOfficer,
    Role::Admin,
    Role::Service,
];

pub(crate) fn valid_kind(kind: i32) -> bool {
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
            crate::api::catalogue_capabilities(&mut violations, "capabilities", &req.capabilities);
        violations.finish()?;
        caller.require_station(&req.station_id)?;
        let unit = NewUnit {
            unit_id: req.unit_id.clone(),
            kind: UnitKind::try_from(req.kind).unwrap_or_default(),
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
                    let created = runtime.store.register_unit(tx, &unit, now).await?;
                    let row = runtime
                        .store
                        .unit_in(tx, &unit.unit_id)
                        .await?
                        .ok_or_else(|| ApiError::internal("registered unit vanished"))?;
                    outbound::audit(
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
                        kind: row.kind as i32,
                        station_id: row.station_id.clone(),
                        capabilities: row.capabilities.clone(),
                        status: row.status as i32,
                        callsign: row.callsign.clone(),
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
                    if !runtime
                        .store
                        .set_manual_status(tx, &req.unit_id, status, &req.reason, now)
                        .await?
                    {
                        return match runtime.store.unit_in(tx, &req.unit_id).await? {
                            None => Err(ApiError::NotFound(format!("unit {}", req.unit_id))),
                            Some(row) => Err(ApiError::FailedPrecondition(format!(
                                "unit {} is on dispatch {}; clear it from the dispatch first",
                                row.unit_id,
                                row.current_dispatch_id.unwrap_or_default()
                            ))),
                        };
                    }
                    let row = runtime
                        .store
                        .unit_in(tx, &req.unit_id)
                        .await?
                        .ok_or_else(|| ApiError::NotFound(format!("unit {}", req.unit_id)))?;
                    caller.require_station(&row.station_id)?;
                    outbound::audit(
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
            let batch = self
                .runtime
                .store
                .list_units(&after, &req.station_id, 500)
                .await?;
            let done = batch.len() < 500;
            for row in batch {
                after = row.unit_id.clone();
                let caps = &row.capabilities;
                let wanted = (req.kinds.is_empty() || req.kinds.contains(&(row.kind as i32)))
                    && (req.statuses.is_empty() || req.statuses.contains(&(row.status as i32)))
                    && capabilities.iter().all(|c| caps.contains(c))
                    && (req.grid_id.is_empty() || row.grid_ids.contains(&req.grid_id))
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
            let now = Some(to_timestamp(self.runtime.now()));
            let dispatches: Vec<Dispatch> = records::open_dispatches(&*self.runtime.store, 2000)
                .await?
                .into_iter()
                .filter(|d| visible(&d.station_id))
                .collect();
            let mut unit_ids = Vec::new();
            let mut after = String::new();
            loop {
                let rows = self.runtime.store.list_units(&after, "", 1000).await?;
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
}
