//! Service requests (非警务服务事项): open, tick items, submit, close, read, report. Each step runs
//! once per request id through the platform's request log (a repeat answers the first response,
//! the same id with other content is INVALID_ARGUMENT on `request_id`), with its audit record in
//! the same transaction; a step locks the request's row first, so concurrent steps on one request
//! apply one after the other.

use std::sync::LazyLock;
use std::sync::atomic::{AtomicBool, Ordering};

use pingan_platform::ApiError;
use pingan_platform::audit::Audit;
use pingan_platform::auth::Caller;
use pingan_platform::pii::PiiKind;
use pingan_platform::storage::Tx;
use pingan_proto::grid::v1 as pb;

use super::Registry;
use crate::api::service_convert::present;
use crate::domain::service_report::{ReportRow, report};
use crate::domain::service_request::{Catalogue, LifecycleError, RequestEvent, ServiceRequest};
use crate::domain::{Millis, SealedValue};
use crate::metrics;
use crate::store::{Page, ServiceRequestFilter};

/// The catalogue shipped with the service (a unit test checks it; unreadable, it is empty).
static CATALOGUE: LazyLock<Catalogue> = LazyLock::new(|| {
    Catalogue::builtin().unwrap_or_else(|err| {
        tracing::error!(error = %err, "service request catalogue unreadable");
        Catalogue::default()
    })
});

/// A request with its history.
#[derive(Debug, Clone)]
pub struct ServiceRequestView {
    pub request: ServiceRequest,
    pub history: Vec<RequestEvent>,
}

/// A refused step as the client sees it; `time_field` names the time the step was given.
fn refused(e: LifecycleError, time_field: &str) -> ApiError {
    match e {
        LifecycleError::UnknownItem => ApiError::invalid("item_key", e.to_string()),
        LifecycleError::BeforeRequest => ApiError::invalid(time_field, e.to_string()),
        _ => ApiError::FailedPrecondition(e.to_string()),
    }
}

fn not_found(id: &str) -> ApiError {
    ApiError::NotFound(format!("service request {id}"))
}

fn type_name(kind: i32) -> &'static str {
    pb::ServiceRequestType::try_from(kind)
        .map(|k| k.as_str_name())
        .unwrap_or("UNKNOWN")
}

/// Runs `$body` (a future using `$tx`) once per request id through the platform's request log.
/// A step refused because a concurrent repeat of the same request got there first is asked
/// again, and then answers that repeat's response.
macro_rules! once {
    ($self:ident, $method:expr, $request_id:expr, $req:expr, |$tx:ident| $body:expr) => {
        match $self
            .context
            .requests
            .run($method, $request_id, $req, async |$tx| $body)
            .await
        {
            Err(ApiError::FailedPrecondition(_)) => {
                $self
                    .context
                    .requests
                    .run($method, $request_id, $req, async |$tx| $body)
                    .await
            }
            other => other,
        }
    };
}

/// A step of the lifecycle on a locked request: the event to record, or None (no change).
type Step<'a> =
    &'a (dyn Fn(&mut ServiceRequest) -> Result<Option<RequestEvent>, ApiError> + Send + Sync);

impl Registry {
    /// The catalogue of service request types.
    pub fn service_catalogue(&self) -> &'static Catalogue {
        &CATALOGUE
    }

    /// A request in the caller's jurisdiction; NOT_FOUND otherwise.
    async fn visible_request(&self, caller: &Caller, id: &str) -> Result<ServiceRequest, ApiError> {
        self.store()
            .await?
            .service_request(id)
            .await?
            .filter(|r| caller.can_see_station(&r.station_id))
            .ok_or_else(|| not_found(id))
    }

    /// The applicant: a known resident of the caller's reach (name and phone from the registry
    /// unless given), or a name and phone; and the grid (given, or the resident's in the same
    /// station).
    async fn applicant(
        &self,
        caller: &Caller,
        req: &pb::OpenServiceRequestRequest,
    ) -> Result<(String, SealedValue, String), ApiError> {
        let store = self.store().await?;
        let mut grid_id = req.grid_id.clone();
        if !grid_id.is_empty() {
            let grid = self.known_grid(caller, &grid_id, "grid_id").await?;
            if grid.station_id != req.station_id {
                return Err(ApiError::invalid("grid_id", "not a grid of station_id"));
            }
        }
        let (phone, _) = self.seal(PiiKind::Phone, &req.applicant_phone)?;
        if req.resident_id.is_empty() {
            return Ok((req.applicant_name.trim().to_owned(), phone, grid_id));
        }
        let resident = store
            .resident(&req.resident_id)
            .await?
            .filter(|r| caller.can_see_station(&r.station_id))
            .ok_or_else(|| ApiError::invalid("resident_id", "unknown resident"))?;
        if grid_id.is_empty() && resident.station_id == req.station_id {
            grid_id = resident.grid_id.clone();
        }
        let name = if req.applicant_name.trim().is_empty() {
            resident.name
        } else {
            req.applicant_name.trim().to_owned()
        };
        let phone = if phone.is_empty() {
            resident.phone
        } else {
            phone
        };
        Ok((name, phone, grid_id))
    }

    /// Opens a request at a station in the caller's jurisdiction.
    pub async fn open_service_request(
        &self,
        caller: &Caller,
        req: &pb::OpenServiceRequestRequest,
        requested_at: Millis,
    ) -> Result<pb::OpenServiceRequestResponse, ApiError> {
        caller.require_station(&req.station_id)?;
        if self
            .store()
            .await?
            .station(&req.station_id)
            .await?
            .is_none()
        {
            return Err(ApiError::invalid("station_id", "unknown station"));
        }
        let spec = CATALOGUE
            .get(req.r#type)
            .ok_or_else(|| ApiError::invalid("type", "not in the catalogue"))?;
        let (applicant_name, applicant_phone, grid_id) = self.applicant(caller, req).await?;
        let now = self.now();
        let (items, due_at) = ServiceRequest::from_spec(spec, requested_at);
        let actor = Self::actor(caller);
        let record = ServiceRequest {
            service_request_id: uuid::Uuid::now_v7().to_string(),
            request_id: req.request_id.clone(),
            kind: spec.kind as i32,
            status: pb::ServiceRequestStatus::Open as i32,
            station_id: req.station_id.clone(),
            grid_id,
            resident_id: req.resident_id.clone(),
            applicant_name,
            applicant_phone,
            channel: req.channel,
            officer_id: if req.officer_id.is_empty() {
                caller.subject.clone()
            } else {
                req.officer_id.clone()
            },
            description: req.description.clone(),
            requested_at,
            due_at,
            items,
            opened_by: actor.clone(),
            created_at: now,
            updated_at: now,
            ..ServiceRequest::default()
        };
        let opened = RequestEvent {
            service_request_id: record.service_request_id.clone(),
            kind: pb::ServiceRequestEventKind::Opened as i32,
            at: requested_at,
            actor,
            status: record.status,
            note: record.description.clone(),
            ..RequestEvent::default()
        };
        let audit = Self::audit(
            caller,
            "OpenServiceRequest",
            "service_request",
            &record.service_request_id,
        )
        .station(&record.station_id)
        .detail(format!(
            "{} for {}",
            type_name(record.kind),
            record.resident_id
        ));
        let response = once!(self, "OpenServiceRequest", &req.request_id, req, |tx| self
            .open_in(tx, &record, &opened, &audit, now)
            .await)?;
        let id = response
            .service_request
            .as_ref()
            .map(|r| r.service_request_id.as_str());
        if id == Some(record.service_request_id.as_str()) {
            metrics::counted(record.kind, "open");
            tracing::info!(service_request_id = %record.service_request_id, station_id = %record.station_id, "service request opened");
        }
        Ok(response)
    }

    async fn open_in(
        &self,
        tx: &mut Tx,
        record: &ServiceRequest,
        opened: &RequestEvent,
        audit: &Audit,
        now: Millis,
    ) -> Result<pb::OpenServiceRequestResponse, ApiError> {
        self.store()
            .await?
            .insert_service_request(tx, record, opened)
            .await?;
        pingan_platform::audit::record(&self.context, tx, crate::SHORT_NAME, audit).await?;
        Ok(pb::OpenServiceRequestResponse {
            service_request: Some(present(record, now)),
        })
    }

    /// One step on an existing request in the caller's jurisdiction, once per request id: the
    /// request as answered, and whether this call changed it (not a repeat's answer).
    async fn step<Req: prost::Message>(
        &self,
        caller: &Caller,
        method: &str,
        request_id: &str,
        req: &Req,
        id: &str,
        step: Step<'_>,
    ) -> Result<(pb::ServiceRequest, bool), ApiError> {
        self.visible_request(caller, id).await?;
        let changed = AtomicBool::new(false);
        let response = once!(self, method, request_id, req, |tx| self
            .step_in(tx, caller, method, id, step, &changed)
            .await)?;
        let presented = response.service_request.unwrap_or_default();
        Ok((presented, changed.load(Ordering::SeqCst)))
    }

    /// The step in `tx`: lock the request, apply `step`, record its event and audit record.
    async fn step_in(
        &self,
        tx: &mut Tx,
        caller: &Caller,
        method: &str,
        id: &str,
        step: Step<'_>,
        changed: &AtomicBool,
    ) -> Result<pb::GetServiceRequestResponse, ApiError> {
        let store = self.store().await?;
        let mut r = store
            .lock_service_request(tx, id)
            .await?
            .ok_or_else(|| not_found(id))?;
        let now = self.now();
        if let Some(event) = step(&mut r)? {
            r.updated_at = now;
            if event.kind == pb::ServiceRequestEventKind::ItemCompleted as i32
                && let Some(item) = r.items.iter().find(|i| i.key == event.item_key)
            {
                store.complete_service_request_item(tx, id, item).await?;
            }
            store.record_service_request_step(tx, &r, &event).await?;
            let audit = Self::audit(caller, method, "service_request", id)
                .station(&r.station_id)
                .detail(format!("{} {}", type_name(r.kind), event.item_key));
            pingan_platform::audit::record(&self.context, tx, crate::SHORT_NAME, &audit).await?;
            changed.store(true, Ordering::SeqCst);
        }
        Ok(pb::GetServiceRequestResponse {
            service_request: Some(present(&r, now)),
            history: Vec::new(),
        })
    }

    /// Ticks one checklist item (an item already ticked keeps its first completion).
    pub async fn complete_checklist_item(
        &self,
        caller: &Caller,
        req: &pb::CompleteChecklistItemRequest,
    ) -> Result<pb::CompleteChecklistItemResponse, ApiError> {
        let actor = Self::actor(caller);
        let now = self.now();
        let tick = |r: &mut ServiceRequest| -> Result<Option<RequestEvent>, ApiError> {
            if !r
                .can_complete(&req.item_key)
                .map_err(|e| refused(e, "item_key"))?
            {
                return Ok(None);
            }
            for i in r.items.iter_mut().filter(|i| i.key == req.item_key) {
                i.completed_at = Some(now);
                i.completed_by = Some(actor.clone());
                i.note = req.note.clone();
            }
            Ok(Some(RequestEvent {
                service_request_id: r.service_request_id.clone(),
                kind: pb::ServiceRequestEventKind::ItemCompleted as i32,
                at: now,
                actor: actor.clone(),
                item_key: req.item_key.clone(),
                status: r.status,
                note: req.note.clone(),
                ..RequestEvent::default()
            }))
        };
        let (presented, changed) = self
            .step(
                caller,
                "CompleteChecklistItem",
                &req.request_id,
                req,
                &req.service_request_id,
                &tick,
            )
            .await?;
        if changed {
            tracing::info!(service_request_id = %req.service_request_id, item_key = %req.item_key, "checklist item completed");
        }
        Ok(pb::CompleteChecklistItemResponse {
            service_request: Some(presented),
        })
    }

    /// Submits a request whose mandatory items are done.
    pub async fn submit_service_request(
        &self,
        caller: &Caller,
        req: &pb::SubmitServiceRequestRequest,
        submitted_at: Millis,
    ) -> Result<pb::SubmitServiceRequestResponse, ApiError> {
        let actor = Self::actor(caller);
        let (presented, changed) = self
            .step(
                caller,
                "SubmitServiceRequest",
                &req.request_id,
                req,
                &req.service_request_id,
                &|r: &mut ServiceRequest| {
                    r.submit(submitted_at, &req.note)
                        .map_err(|e| refused(e, "submitted_at"))?;
                    Ok(Some(RequestEvent {
                        service_request_id: r.service_request_id.clone(),
                        kind: pb::ServiceRequestEventKind::Submitted as i32,
                        at: submitted_at,
                        actor: actor.clone(),
                        status: r.status,
                        note: req.note.clone(),
                        ..RequestEvent::default()
                    }))
                },
            )
            .await?;
        if changed {
            metrics::counted(presented.r#type, "submitted");
        }
        Ok(pb::SubmitServiceRequestResponse {
            service_request: Some(presented),
        })
    }

    /// Closes a request with an outcome.
    pub async fn close_service_request(
        &self,
        caller: &Caller,
        req: &pb::CloseServiceRequestRequest,
        closed_at: Millis,
    ) -> Result<pb::CloseServiceRequestResponse, ApiError> {
        let actor = Self::actor(caller);
        let (presented, changed) = self
            .step(
                caller,
                "CloseServiceRequest",
                &req.request_id,
                req,
                &req.service_request_id,
                &|r: &mut ServiceRequest| {
                    r.close(req.outcome, closed_at, &req.note)
                        .map_err(|e| refused(e, "closed_at"))?;
                    Ok(Some(RequestEvent {
                        service_request_id: r.service_request_id.clone(),
                        kind: pb::ServiceRequestEventKind::Closed as i32,
                        at: closed_at,
                        actor: actor.clone(),
                        status: r.status,
                        outcome: r.outcome,
                        note: req.note.clone(),
                        ..RequestEvent::default()
                    }))
                },
            )
            .await?;
        if changed {
            let status = match pb::ServiceRequestOutcome::try_from(req.outcome) {
                Ok(pb::ServiceRequestOutcome::Done) => "done",
                Ok(pb::ServiceRequestOutcome::Rejected) => "rejected",
                _ => "withdrawn",
            };
            metrics::counted(presented.r#type, status);
        }
        Ok(pb::CloseServiceRequestResponse {
            service_request: Some(presented),
        })
    }

    /// A request in the caller's jurisdiction with its history; NOT_FOUND otherwise.
    pub async fn service_request_view(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<ServiceRequestView, ApiError> {
        let request = self.visible_request(caller, id).await?;
        let history = self.store().await?.service_request_history(id).await?;
        Ok(ServiceRequestView { request, history })
    }

    /// One page of requests in scope, newest requested first.
    pub async fn list_service_requests(
        &self,
        filter: &ServiceRequestFilter,
        page: Page,
    ) -> Result<Vec<ServiceRequest>, ApiError> {
        Ok(self
            .store()
            .await?
            .list_service_requests(filter, page)
            .await?)
    }

    /// The report over the requests in scope made in the filter's period, as of `now`.
    pub async fn service_request_report(
        &self,
        filter: &ServiceRequestFilter,
        now: Millis,
    ) -> Result<(Vec<ReportRow>, ReportRow), ApiError> {
        let requests = self
            .store()
            .await?
            .service_requests_for_report(filter)
            .await?;
        Ok(report(&requests, now))
    }

    /// Sets the overdue gauge from the store (every type, zeros included).
    pub async fn refresh_overdue_gauge(&self) -> Result<(), ApiError> {
        let counts = self
            .store()
            .await?
            .overdue_service_request_counts(self.now())
            .await?;
        metrics::set_overdue(&counts);
        Ok(())
    }
}
