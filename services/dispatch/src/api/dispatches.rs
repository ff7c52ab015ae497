//! Handlers of the dispatch lifecycle: open, assign, the units' own steps, close, and reads.

use pingan_platform::auth::Caller;
use pingan_platform::storage::Tx;
use pingan_platform::time::from_timestamp;
use pingan_platform::{ApiError, FieldViolations};
use pingan_proto::common::v1::Priority;
use pingan_proto::dispatch::v1::*;
use tonic::Request;

use super::{
    COMMAND, DispatchApi, READ, UNIT_STEP, catalogue_capabilities, require_dispatch_visible,
    require_ids,
};
use crate::app::Effects;
use crate::app::lifecycle::{self, OpenRequest};
use crate::app::records;
use crate::domain::{self, AssignmentAction};
use crate::store;

/// A unit's own step on its assignment, as a handler asks for it.
pub(super) struct Step {
    pub action: AssignmentAction,
    pub location: Option<pingan_proto::common::v1::GeoPoint>,
    pub next_status: UnitStatus,
}

impl DispatchApi {
    pub(super) async fn unit_step<Req: prost::Message>(
        &self,
        caller: &Caller,
        method: &str,
        request: &Req,
        (request_id, dispatch_id, unit_id, note): (&str, &str, &str, &str),
        step: Step,
    ) -> Result<(Assignment, Dispatch), ApiError> {
        let Step {
            action,
            location,
            next_status,
        } = step;
        caller.require_any(UNIT_STEP)?;
        require_ids(dispatch_id, Some(unit_id))?;
        if let Some(l) = &location {
            let mut violations = FieldViolations::default();
            violations.require_coordinates("location", l.lat, l.lon);
            violations.finish()?;
        }
        let runtime = &self.runtime;
        let actor = caller.actor();
        let mut effects = Effects::default();
        let response: AcknowledgeResponse = self
            .context()
            .requests
            .run(method, request_id, request, async |tx: &mut Tx| {
                let mut dispatch =
                    lifecycle::open_dispatch_for_update(runtime, tx, dispatch_id).await?;
                let unit_station = runtime
                    .store
                    .unit_in(tx, unit_id)
                    .await?
                    .map(|u| u.station_id);
                require_dispatch_visible(caller, &dispatch, unit_station.as_deref())?;
                let request = lifecycle::UnitStep {
                    unit_id,
                    action,
                    note,
                    location,
                    next_status,
                    actor: &actor,
                };
                let assignment =
                    lifecycle::step(runtime, tx, &mut effects, &mut dispatch, request).await?;
                Ok(AcknowledgeResponse {
                    assignment: Some(assignment),
                    dispatch: Some(dispatch),
                })
            })
            .await?;
        runtime.after_commit(effects).await;
        Ok((
            response.assignment.unwrap_or_default(),
            response.dispatch.unwrap_or_default(),
        ))
    }

    pub(super) async fn open_checked(
        &self,
        request: Request<OpenDispatchRequest>,
    ) -> Result<OpenDispatchResponse, ApiError> {
        let caller = self.context().auth.caller(&request)?;
        caller.require_any(COMMAND)?;
        let req = request.into_inner();
        let mut violations = FieldViolations::default();
        violations.require_non_empty("incident_id", &req.incident_id);
        violations.require_max_chars("incident_id", &req.incident_id, 128);
        let priority = Priority::try_from(req.priority).unwrap_or_default();
        if priority == Priority::Unspecified {
            violations.add("priority", "must be P1..P4");
        }
        match &req.location {
            Some(l) => violations.require_coordinates("location", l.lat, l.lon),
            None => violations.add("location", "is required"),
        }
        violations.require_max_chars("summary", &req.summary, 2000);
        violations.require_max_chars("address", &req.address, 500);
        let target = req.response_target.as_ref().map(domain::from_duration);
        if matches!(target, Some(None) | Some(Some(std::time::Duration::ZERO))) {
            violations.add("response_target", "must be positive");
        }
        // One vocabulary: the category and every capability must be the catalogue's.
        let category = match domain::category(&req.category) {
            Ok(category) => Some(category),
            Err(_) => {
                violations.add(
                    "category",
                    "must be a category code of the catalogue (triage ListCategories), e.g. RESCUE",
                );
                None
            }
        };
        let required_capabilities = catalogue_capabilities(
            &mut violations,
            "required_capabilities",
            &req.required_capabilities,
        );
        let mut unit_requirements = Vec::new();
        for (i, r) in req.unit_requirements.iter().enumerate() {
            if r.count < 0 || r.count > 20 {
                violations.add(&format!("unit_requirements[{i}].count"), "must be 0..20");
            }
            if r.kinds
                .iter()
                .any(|k| UnitKind::try_from(*k).is_err() || *k == UnitKind::Unspecified as i32)
            {
                violations.add(&format!("unit_requirements[{i}].kinds"), "unknown kind");
            }
            unit_requirements.push(UnitRequirement {
                capabilities: catalogue_capabilities(
                    &mut violations,
                    &format!("unit_requirements[{i}].capabilities"),
                    &r.capabilities,
                ),
                ..r.clone()
            });
        }
        let rang_at = req.call_received_at.as_ref().map(from_timestamp);
        if matches!(rang_at, Some(None)) {
            violations.add("call_received_at", "must be a valid timestamp");
        }
        if let Some(lookout) = &req.lookout {
            violations.require_non_empty("lookout.message", &lookout.message);
            violations.require_max_chars("lookout.message", &lookout.message, 1000);
            if lookout.grid_id.is_empty() && req.grid_id.is_empty() {
                violations.add(
                    "lookout.grid_id",
                    "is required when the dispatch has no grid",
                );
            }
        }
        violations.finish()?;
        if !req.station_id.is_empty() {
            caller.require_station(&req.station_id)?;
        }
        let open = OpenRequest {
            incident_id: req.incident_id.clone(),
            priority,
            location: req.location.unwrap_or_default(),
            category: category.map(|c| c.as_str().to_owned()).unwrap_or_default(),
            required_capabilities,
            response_target: target.flatten(),
            address: req.address.clone(),
            summary: req.summary.clone(),
            station_id: req.station_id.clone(),
            grid_id: req.grid_id.clone(),
            station_kind: pingan_proto::grid::v1::StationKind::try_from(req.station_kind)
                .unwrap_or_default(),
            unit_requirements,
            lookout: req.lookout.clone(),
            rang_at: rang_at.flatten(),
        };
        let runtime = &self.runtime;
        let actor = caller.actor();
        let mut effects = Effects::default();
        let response = self
            .context()
            .requests
            .run(
                "OpenDispatch",
                &req.request_id,
                &req,
                async |tx: &mut Tx| {
                    let dispatch =
                        lifecycle::open(runtime, tx, &mut effects, &open, &actor).await?;
                    Ok(OpenDispatchResponse {
                        dispatch: Some(dispatch),
                    })
                },
            )
            .await?;
        runtime.after_commit(effects).await;
        let dispatch = response.dispatch.unwrap_or_default();
        if dispatch.lookout.is_some() && dispatch.lookout_broadcast_id.is_empty() {
            let dispatch = crate::app::lookout::broadcast(runtime, &dispatch, &actor).await?;
            return Ok(OpenDispatchResponse {
                dispatch: Some(dispatch),
            });
        }
        Ok(OpenDispatchResponse {
            dispatch: Some(dispatch),
        })
    }

    pub(super) async fn assign_checked(
        &self,
        request: Request<AssignRequest>,
    ) -> Result<AssignResponse, ApiError> {
        let caller = self.context().auth.caller(&request)?;
        caller.require_any(COMMAND)?;
        let req = request.into_inner();
        require_ids(&req.dispatch_id, Some(&req.unit_id))?;
        let runtime = &self.runtime;
        let actor = caller.actor();
        let mut effects = Effects::default();
        let response = self
            .context()
            .requests
            .run("Assign", &req.request_id, &req, async |tx: &mut Tx| {
                let mut dispatch =
                    lifecycle::open_dispatch_for_update(runtime, tx, &req.dispatch_id).await?;
                require_dispatch_visible(&caller, &dispatch, None)?;
                let assignment = crate::app::assign::assign(
                    runtime,
                    tx,
                    &mut effects,
                    &mut dispatch,
                    &req.unit_id,
                    &req.note,
                    &actor,
                )
                .await?;
                Ok(AssignResponse {
                    assignment: Some(assignment),
                    dispatch: Some(dispatch),
                })
            })
            .await?;
        runtime.after_commit(effects).await;
        Ok(response)
    }

    pub(super) async fn close_checked(
        &self,
        request: Request<CloseDispatchRequest>,
    ) -> Result<CloseDispatchResponse, ApiError> {
        let caller = self.context().auth.caller(&request)?;
        caller.require_any(UNIT_STEP)?;
        let req = request.into_inner();
        let mut violations = FieldViolations::default();
        violations.require_non_empty("dispatch_id", &req.dispatch_id);
        let disposition = Disposition::try_from(req.disposition).unwrap_or_default();
        if disposition == Disposition::Unspecified {
            violations.add("disposition", "is required");
        }
        violations.require_max_chars("narrative", &req.narrative, 10_000);
        violations.finish()?;
        let runtime = &self.runtime;
        let actor = caller.actor();
        let mut effects = Effects::default();
        let response = self
            .context()
            .requests
            .run(
                "CloseDispatch",
                &req.request_id,
                &req,
                async |tx: &mut Tx| {
                    let mut dispatch =
                        lifecycle::open_dispatch_for_update(runtime, tx, &req.dispatch_id).await?;
                    require_dispatch_visible(&caller, &dispatch, None)?;
                    let request = lifecycle::CloseRequest {
                        disposition,
                        narrative: &req.narrative,
                        clear_active_units: req.clear_active_units,
                        actor: &actor,
                    };
                    lifecycle::close(runtime, tx, &mut effects, &mut dispatch, request).await?;
                    Ok(CloseDispatchResponse {
                        dispatch: Some(dispatch),
                    })
                },
            )
            .await?;
        runtime.after_commit(effects).await;
        Ok(response)
    }

    pub(super) async fn get_checked(
        &self,
        request: Request<GetDispatchRequest>,
    ) -> Result<GetDispatchResponse, ApiError> {
        let caller = self.context().auth.caller(&request)?;
        caller.require_any(READ)?;
        let req = request.into_inner();
        require_ids(&req.dispatch_id, None)?;
        let dispatch = records::dispatch(&*self.runtime.store, &req.dispatch_id)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("dispatch {}", req.dispatch_id)))?;
        require_dispatch_visible(&caller, &dispatch, None)?;
        Ok(GetDispatchResponse {
            dispatch: Some(dispatch),
        })
    }

    pub(super) async fn list_checked(
        &self,
        request: Request<ListDispatchesRequest>,
    ) -> Result<ListDispatchesResponse, ApiError> {
        let caller = self.context().auth.caller(&request)?;
        caller.require_any(READ)?;
        let req = request.into_inner();
        let mut violations = FieldViolations::default();
        if !(0..=500).contains(&req.page_size) {
            violations.add("page_size", "must be 0..500");
        }
        let cursor = if req.page_token.is_empty() {
            None
        } else {
            let parsed = req.page_token.split_once('|').and_then(|(at, id)| {
                Some((
                    chrono::DateTime::parse_from_rfc3339(at)
                        .ok()?
                        .with_timezone(&chrono::Utc),
                    id.to_owned(),
                ))
            });
            if parsed.is_none() {
                violations.add("page_token", "is not a token this service issued");
            }
            parsed
        };
        violations.finish()?;
        if !req.station_id.is_empty() {
            caller.require_station(&req.station_id)?;
        }
        let page_size = if req.page_size == 0 {
            50
        } else {
            req.page_size
        } as usize;
        let range = req.opened.unwrap_or_default();
        let filter = store::DispatchFilter {
            station_id: req.station_id.clone(),
            grid_id: req.grid_id.clone(),
            incident_id: req.incident_id.clone(),
            only_sla_breached: req.only_sla_breached,
            opened_from: range.start.as_ref().and_then(from_timestamp),
            opened_until: range.end.as_ref().and_then(from_timestamp),
            unit_id: req.unit_id.clone(),
        };
        let mut cursor = cursor;
        let mut out: Vec<Dispatch> = Vec::new();
        let mut exhausted = false;
        while out.len() < page_size && !exhausted {
            let batch =
                records::list_dispatches(&*self.runtime.store, &filter, cursor.clone(), 200)
                    .await?;
            exhausted = batch.len() < 200;
            for dispatch in batch {
                cursor = Some((
                    dispatch
                        .opened_at
                        .as_ref()
                        .and_then(from_timestamp)
                        .unwrap_or_default(),
                    dispatch.dispatch_id.clone(),
                ));
                let wanted = (req.statuses.is_empty() || req.statuses.contains(&dispatch.status))
                    && (req.priorities.is_empty() || req.priorities.contains(&dispatch.priority))
                    && caller.can_see_station(&dispatch.station_id);
                if wanted {
                    out.push(dispatch);
                    if out.len() == page_size {
                        break;
                    }
                }
            }
        }
        let next_page_token = match (out.len() == page_size, out.last()) {
            (true, Some(last)) => format!(
                "{}|{}",
                last.opened_at
                    .as_ref()
                    .and_then(from_timestamp)
                    .unwrap_or_default()
                    .to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
                last.dispatch_id
            ),
            _ => String::new(),
        };
        Ok(ListDispatchesResponse {
            dispatches: out,
            next_page_token,
        })
    }

    pub(super) async fn timeline_checked(
        &self,
        request: Request<GetDispatchTimelineRequest>,
    ) -> Result<GetDispatchTimelineResponse, ApiError> {
        let caller = self.context().auth.caller(&request)?;
        caller.require_any(READ)?;
        let req = request.into_inner();
        let store = &*self.runtime.store;
        if req.dispatch_id.is_empty() {
            if req.incident_id.is_empty() {
                return Err(ApiError::invalid(
                    "dispatch_id",
                    "dispatch_id or incident_id is required",
                ));
            }
            let filter = store::DispatchFilter {
                incident_id: req.incident_id.clone(),
                ..Default::default()
            };
            let dispatches = records::list_dispatches(store, &filter, None, 100).await?;
            if dispatches.is_empty() {
                return Err(ApiError::NotFound(format!("incident {}", req.incident_id)));
            }
            if !dispatches
                .iter()
                .any(|d| caller.can_see_station(&d.station_id))
            {
                return Err(ApiError::PermissionDenied(
                    "incident is outside the caller's jurisdiction".into(),
                ));
            }
        } else {
            let dispatch = records::dispatch(store, &req.dispatch_id)
                .await?
                .ok_or_else(|| ApiError::NotFound(format!("dispatch {}", req.dispatch_id)))?;
            require_dispatch_visible(&caller, &dispatch, None)?;
        }
        let entries = records::timeline(store, &req.dispatch_id, &req.incident_id).await?;
        Ok(GetDispatchTimelineResponse { entries })
    }
}
