//! gRPC handlers of `pingan.intake.v1.IntakeService`: decode, validate, authorize, call the
//! domain, map errors.
//!
//! Over 600 lines because ReportCall's first-answer wait and job claim still live here; they move
//! to `app/` when intake is re-laid on the floor plan (issue 13).

use std::sync::Arc;

use pingan_platform::auth::{Caller, Jurisdiction, Role};
use pingan_platform::jobs::{Job, JobQueue, JobState};
use pingan_platform::pii::{PiiKind, mask_phone};
use pingan_platform::storage::Tx;
use pingan_platform::{ApiError, FieldViolations, ServiceContext};
use pingan_proto::audit::v1::{AuditOutcome, AuditRecord};
use pingan_proto::common::v1::Channel;
use pingan_proto::intake::v1::intake_service_server::IntakeService;
use pingan_proto::intake::v1::{
    GetIncidentRequest, GetIncidentResponse, GetIncidentTimelineRequest,
    GetIncidentTimelineResponse, IncidentStatus, ListIncidentsRequest, ListIncidentsResponse,
    LocateIncidentRequest, LocateIncidentResponse, Outcome, ReportCallRequest, ReportCallResponse,
    TimelineEntryKind,
};
use tonic::{Request, Response, Status};

use crate::domain::validate::{self, PhoneKind};
use crate::domain::{CallRecord, IncidentRecord};
use crate::placing::{self, Placing};
use crate::router::Router;
use crate::routing_job;
use crate::settings::IntakeSettings;
use crate::store::{IncidentFilter, Store};
use crate::timeline::{self, Entry, timestamp};
use crate::{convert, listing};

/// Roles that report calls.
const REPORTERS: &[Role] = &[
    Role::Dispatcher,
    Role::CommandCenter,
    Role::CallIntegrator,
    Role::HotlineIntegrator,
    Role::StationOfficer,
    Role::Service,
    Role::Admin,
];
/// Roles that read incidents.
const READERS: &[Role] = &[
    Role::Dispatcher,
    Role::CommandCenter,
    Role::StationOfficer,
    Role::VillageOfficer,
    Role::Inspector,
    Role::LegalUnit,
    Role::CallIntegrator,
    Role::HotlineIntegrator,
    Role::Service,
    Role::Admin,
];
/// Roles that see the caller's number in clear (the call takers).
const PHONE_READERS: &[Role] = &[Role::Dispatcher, Role::CallIntegrator];

/// Handlers of the intake service.
#[derive(Debug, Clone)]
pub struct IntakeApi {
    context: ServiceContext,
    store: Store,
    router: Router,
    placing: Placing,
    jobs: JobQueue,
    /// Lives as long as the service is mounted; the job worker stops when it is gone.
    alive: Arc<()>,
}

impl IntakeApi {
    /// Handlers over the service's storage and peers.
    pub fn new(context: ServiceContext, settings: IntakeSettings, jobs: JobQueue) -> Self {
        let settings = Arc::new(settings);
        Self {
            store: Store::new(context.db.clone()),
            router: Router::new(context.clone(), settings.clone()),
            placing: Placing::new(context.clone(), settings, jobs.clone()),
            jobs,
            context,
            alive: Arc::new(()),
        }
    }

    /// A handle that the background job worker watches.
    pub fn liveness(&self) -> std::sync::Weak<()> {
        Arc::downgrade(&self.alive)
    }

    /// Saves the call (and its provisional incident and routing job) before anything else.
    /// Returns the call id and, when it is new, the routing job this request holds (none for a
    /// repeat by request_id or by (channel, source_call_id)).
    async fn save_call(
        &self,
        caller: &Caller,
        req: &ReportCallRequest,
    ) -> Result<(String, bool, Option<Job>), ApiError> {
        let mut fresh = false;
        let mut claimed = None;
        let result = self
            .context
            .requests
            .run("ReportCall", &req.request_id, req, async |tx| {
                Store::write_lock(tx).await?;
                if let Some(existing) = existing_source_call(tx, req).await? {
                    return Ok(saved_response(&existing));
                }
                fresh = true;
                let (response, job) = self.insert_call(tx, caller, req).await?;
                claimed = job;
                Ok(response)
            })
            .await;
        match result {
            Ok(response) => Ok((response.call_id, fresh, claimed)),
            // The same source call raced in under another request id: it is the same call.
            Err(ApiError::AlreadyExists(_)) if !req.source_call_id.is_empty() => {
                let mut tx = self.context.db.begin().await?;
                let existing = existing_source_call(&mut tx, req).await?;
                tx.rollback().await?;
                existing
                    .map(|c| (c.call_id, false, None))
                    .ok_or_else(|| ApiError::Unavailable("concurrent call; retry".into()))
            }
            Err(err) => Err(err),
        }
    }

    async fn insert_call(
        &self,
        tx: &mut Tx,
        caller: &Caller,
        req: &ReportCallRequest,
    ) -> Result<(ReportCallResponse, Option<Job>), ApiError> {
        let now = self.context.clock.now();
        let received_at = req
            .received_at
            .as_ref()
            .and_then(timeline::from_timestamp)
            .unwrap_or(now);
        let incident_id = format!("inc-{}", uuid::Uuid::now_v7());
        let call_id = format!("call-{}", uuid::Uuid::now_v7());
        let phone = req.caller_phone.trim();
        let (masked, sealed, index) = match validate::phone_kind(phone) {
            None => (String::new(), None, String::new()),
            Some(PhoneKind::Masked) => (phone.to_owned(), None, String::new()),
            Some(_) => (
                mask_phone(phone),
                Some(
                    self.context
                        .pii
                        .encrypt(phone)
                        .map_err(ApiError::internal)?,
                ),
                self.context.pii.blind_index(PiiKind::Phone, phone),
            ),
        };
        let (has_location, lat, lon) = match &req.location {
            Some(p) => (true, p.lat, p.lon),
            None => (false, 0.0, 0.0),
        };
        let incident = IncidentRecord {
            incident_id: incident_id.clone(),
            status: IncidentStatus::New as i32,
            channel: req.channel,
            description: req.description.trim().to_owned(),
            has_location,
            lat,
            lon,
            address: req.address.trim().to_owned(),
            grid_id: String::new(),
            station_id: String::new(),
            grid_located: false,
            station_kind: 0,
            classification: None,
            kind: 0,
            category: String::new(),
            priority: 0,
            police_override: false,
            dispatch_id: String::new(),
            assigned_unit_ids: String::new(),
            transfer_id: if req.channel == Channel::Channel12345 as i32 {
                req.inbound_transfer_id.clone()
            } else {
                String::new()
            },
            // A 12345 request's source call id is its 12345 ticket: known from the first moment.
            hotline_ticket_id: if req.channel == Channel::Channel12345 as i32 {
                req.source_call_id.trim().to_owned()
            } else {
                String::new()
            },
            complaint_id: String::new(),
            pending_reason: String::new(),
            close_reason: String::new(),
            routing_pending: true,
            routing_attempts: 0,
            received_at,
            classified_at: None,
            unit_assigned_at: None,
            en_route_at: None,
            on_scene_at: None,
            closed_at: None,
            followed_up_at: None,
            response_target_ms: 0,
            response_target_breached: false,
            created_at: now,
            updated_at: now,
            merged_into: String::new(),
            merged_at: None,
            link_checked: false,
        };
        let call = CallRecord {
            call_id: call_id.clone(),
            incident_id: incident_id.clone(),
            request_id: req.request_id.clone(),
            channel: req.channel,
            source_call_id: req.source_call_id.clone(),
            caller_phone_masked: masked.clone(),
            caller_phone_sealed: sealed,
            caller_phone_index: index,
            caller_name: req.caller_name.trim().to_owned(),
            has_location,
            lat,
            lon,
            address: incident.address.clone(),
            description: incident.description.clone(),
            reported_category: req.reported_category.clone(),
            inbound_transfer_id: req.inbound_transfer_id.clone(),
            received_at,
            duplicate: false,
            distance_m: 0.0,
            created_at: now,
            first_incident_id: incident_id.clone(),
            answer_incident_id: None,
            answer_outcome: 0,
        };
        Store::insert_incident(tx, &incident).await?;
        Store::insert_call(tx, &call).await?;
        // The request routes it at once holding the job; the worker only after a failure or a
        // crash (lease expiry).
        let job = self
            .jobs
            .enqueue_claimed_in(
                tx,
                routing_job::job(&incident_id, &incident_id),
                self.router.settings().route_lease,
            )
            .await?;
        let actor = caller.actor();
        let channel = channel_name(req.channel);
        Entry::new(
            &incident_id,
            TimelineEntryKind::CallReceived,
            received_at,
            &actor,
            crate::SHORT_NAME,
            format!("call {call_id} on {channel} from {masked}"),
        )
        .status(IncidentStatus::Unspecified, IncidentStatus::New)
        .related(&call_id)
        .write(tx)
        .await?;
        let audit = AuditRecord {
            actor: Some(actor),
            action: "intake.ReportCall".into(),
            resource_type: "incident".into(),
            resource_id: incident_id.clone(),
            occurred_at: Some(timestamp(now)),
            trace_id: pingan_platform::trace_context::trace_id_of(&tracing::Span::current())
                .unwrap_or_default(),
            source_service: crate::SHORT_NAME.into(),
            outcome: AuditOutcome::Success as i32,
            station_id: String::new(),
            detail: format!("call {call_id} on {channel} from {masked}"),
            client: String::new(),
        };
        self.context
            .outbox
            .enqueue(tx, &incident_id, &audit)
            .await?;
        tracing::info!(incident_id = %incident_id, call_id = %call_id, caller = %masked, "call saved");
        Ok((saved_response(&call), job))
    }

    /// The answer for a saved call: the incident and outcome of the first answer given for it
    /// (recorded by whoever answers first), the rest from its live incident now.
    async fn answer(&self, call_id: &str, fresh: bool) -> Result<ReportCallResponse, ApiError> {
        if !fresh {
            self.await_first_answer(call_id).await?;
        }
        let call = self.call(call_id).await?;
        let incident = self
            .store
            .incident(&call.incident_id)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("incident {}", call.incident_id)))?;
        let current = convert::report_response(&incident, &call);
        let first = self
            .store
            .record_answer(call_id, &current.incident_id, current.outcome)
            .await?;
        Ok(convert::as_first_answer(current, first))
    }

    /// A repeat that races its first request waits (bounded) while that request still routes
    /// the call, so that the answer both record and return is the first request's own.
    async fn await_first_answer(&self, call_id: &str) -> Result<(), ApiError> {
        let settings = self.router.settings();
        let bound = settings.locate_deadline
            + settings.classify_deadline
            + settings.route_deadline
            + std::time::Duration::from_secs(1);
        let started = tokio::time::Instant::now();
        loop {
            let call = self.call(call_id).await?;
            if call.answer_incident_id.is_some() || started.elapsed() >= bound {
                return Ok(());
            }
            let now = self.context.clock.now();
            let pending = self
                .store
                .incident_exact(&call.first_incident_id)
                .await?
                .is_some_and(|i| i.routing_pending);
            // Someone holds its routing job: the first request (or a worker) routes it now.
            let routing = pending
                && self
                    .jobs
                    .get(routing_job::ROUTE, &call.first_incident_id)
                    .await?
                    .is_some_and(|job| {
                        job.state == JobState::Running && job.leased_until.is_some_and(|t| t > now)
                    });
            if !routing {
                return Ok(());
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    async fn call(&self, call_id: &str) -> Result<CallRecord, ApiError> {
        self.store
            .call(call_id)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("call {call_id}")))
    }

    /// The incident when the caller may see it; NOT_FOUND otherwise (no hint it exists).
    async fn visible_incident(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<IncidentRecord, ApiError> {
        let incident = self
            .store
            .incident(id)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("incident {id}")))?;
        let visible = if incident.station_id.is_empty() {
            matches!(caller.jurisdiction, Jurisdiction::Bureau)
                || caller.has_any(&[
                    Role::Dispatcher,
                    Role::CallIntegrator,
                    Role::HotlineIntegrator,
                ])
        } else {
            caller.can_see_station(&incident.station_id)
        };
        if visible {
            Ok(incident)
        } else {
            Err(ApiError::NotFound(format!("incident {id}")))
        }
    }

    async fn audit_phone_read(
        &self,
        caller: &Caller,
        incident: &IncidentRecord,
    ) -> Result<(), ApiError> {
        let mut tx = self.context.db.begin().await?;
        let audit = AuditRecord {
            actor: Some(caller.actor()),
            action: "intake.GetIncident".into(),
            resource_type: "incident".into(),
            resource_id: incident.incident_id.clone(),
            occurred_at: Some(timestamp(self.context.clock.now())),
            trace_id: pingan_platform::trace_context::trace_id_of(&tracing::Span::current())
                .unwrap_or_default(),
            source_service: crate::SHORT_NAME.into(),
            outcome: AuditOutcome::Success as i32,
            station_id: incident.station_id.clone(),
            detail: "caller phone shown in clear".into(),
            client: String::new(),
        };
        self.context
            .outbox
            .enqueue(&mut tx, &incident.incident_id, &audit)
            .await?;
        self.context.outbox.commit(tx).await?;
        Ok(())
    }
}

async fn existing_source_call(
    tx: &mut Tx,
    req: &ReportCallRequest,
) -> Result<Option<CallRecord>, ApiError> {
    if req.source_call_id.is_empty() {
        return Ok(None);
    }
    Ok(Store::call_by_source(tx, req.channel, &req.source_call_id).await?)
}

fn saved_response(call: &CallRecord) -> ReportCallResponse {
    ReportCallResponse {
        incident_id: call.incident_id.clone(),
        outcome: Outcome::PendingClassification as i32,
        call_id: call.call_id.clone(),
        status: IncidentStatus::New as i32,
        ..Default::default()
    }
}

fn channel_name(channel: i32) -> String {
    Channel::try_from(channel)
        .map(|c| c.as_str_name().trim_start_matches("CHANNEL_").to_owned())
        .unwrap_or_default()
}

fn outcome_name(outcome: i32) -> String {
    Outcome::try_from(outcome)
        .map(|o| {
            o.as_str_name()
                .trim_start_matches("OUTCOME_")
                .to_lowercase()
        })
        .unwrap_or_default()
}

#[tonic::async_trait]
impl IntakeService for IntakeApi {
    #[tracing::instrument(skip_all, fields(channel = request.get_ref().channel, incident_id))]
    async fn report_call(
        &self,
        request: Request<ReportCallRequest>,
    ) -> Result<Response<ReportCallResponse>, Status> {
        let caller = self.context.auth.caller(&request)?;
        caller.require_any(REPORTERS)?;
        let req = request.into_inner();
        validate::report_call(&req, self.context.clock.now())?;
        let (call_id, fresh, claimed) = self.save_call(&caller, &req).await?;
        if fresh {
            let call = self.store.call(&call_id).await.map_err(ApiError::from)?;
            if let Some(call) = call {
                tracing::Span::current().record("incident_id", call.incident_id.as_str());
                // The call and its routing job are saved: a failure here is retried by the job.
                let attempt = routing_job::attempt(
                    &self.router,
                    &self.jobs,
                    claimed.as_ref(),
                    &call.incident_id,
                )
                .await;
                if let Err(err) = attempt {
                    tracing::warn!(error = %err, "routing after save failed; its job retries");
                }
            }
        }
        let response = self.answer(&call_id, fresh).await?;
        if let Some(counter) = timeline::CALLS.as_ref() {
            counter
                .with_label_values(&[&channel_name(req.channel), &outcome_name(response.outcome)])
                .inc();
        }
        Ok(Response::new(response))
    }

    async fn get_incident(
        &self,
        request: Request<GetIncidentRequest>,
    ) -> Result<Response<GetIncidentResponse>, Status> {
        let caller = self.context.auth.caller(&request)?;
        caller.require_any(READERS)?;
        let req = request.into_inner();
        let mut v = FieldViolations::default();
        v.require_non_empty("incident_id", &req.incident_id);
        v.finish()?;
        let incident = self.visible_incident(&caller, &req.incident_id).await?;
        let calls = self
            .store
            .calls_of(&incident.incident_id)
            .await
            .map_err(ApiError::from)?;
        let reveal = caller.has_any(PHONE_READERS);
        if reveal && calls.iter().any(|c| c.caller_phone_sealed.is_some()) {
            self.audit_phone_read(&caller, &incident).await?;
        }
        let linked = self
            .store
            .linked_ids(&incident.incident_id)
            .await
            .map_err(ApiError::from)?;
        let keys = reveal.then_some(&self.context.pii);
        Ok(Response::new(GetIncidentResponse {
            incident: Some(convert::incident(&incident, &calls, linked, keys)),
        }))
    }

    async fn list_incidents(
        &self,
        request: Request<ListIncidentsRequest>,
    ) -> Result<Response<ListIncidentsResponse>, Status> {
        let caller = self.context.auth.caller(&request)?;
        caller.require_any(READERS)?;
        let req = request.into_inner();
        let mut v = FieldViolations::default();
        if !(0..=500).contains(&req.page_size) {
            v.add("page_size", "must be between 0 and 500");
        }
        let after = if req.page_token.is_empty() {
            None
        } else {
            let parsed = listing::parse_page_token(&req.page_token);
            if parsed.is_none() {
                v.add("page_token", "is not a token from a previous response");
            }
            parsed
        };
        let range = req.received.unwrap_or_default();
        let from = range.start.as_ref().map(timeline::from_timestamp);
        let to = range.end.as_ref().map(timeline::from_timestamp);
        if matches!(from, Some(None)) {
            v.add("received.start", "must be a valid timestamp");
        }
        if matches!(to, Some(None)) {
            v.add("received.end", "must be a valid timestamp");
        }
        v.finish()?;
        let jurisdiction = match &caller.jurisdiction {
            Jurisdiction::Bureau => String::new(),
            Jurisdiction::Stations(stations) if stations.is_empty() => {
                return Ok(Response::new(ListIncidentsResponse::default()));
            }
            Jurisdiction::Stations(stations) => {
                stations.iter().cloned().collect::<Vec<_>>().join(",")
            }
        };
        let page_size = if req.page_size == 0 {
            50
        } else {
            i64::from(req.page_size)
        };
        let filter = IncidentFilter {
            statuses: listing::join_numbers(&req.statuses),
            grid_id: req.grid_id.clone(),
            station_id: req.station_id.clone(),
            channel: req.channel,
            received_from: from.flatten(),
            received_to: to.flatten(),
            priorities: listing::join_numbers(&req.priorities),
            jurisdiction,
            after,
            limit: page_size + 1,
            needs_location: req.needs_location,
        };
        let mut rows = self.store.list(&filter).await.map_err(ApiError::from)?;
        let more = rows.len() as i64 > page_size;
        rows.truncate(usize::try_from(page_size).unwrap_or(50));
        let next_page_token = match (more, rows.last()) {
            (true, Some(last)) => listing::page_token(last),
            _ => String::new(),
        };
        let mut incidents = Vec::with_capacity(rows.len());
        for row in &rows {
            let calls = self
                .store
                .calls_of(&row.incident_id)
                .await
                .map_err(ApiError::from)?;
            let linked = self
                .store
                .linked_ids(&row.incident_id)
                .await
                .map_err(ApiError::from)?;
            incidents.push(convert::incident(row, &calls, linked, None));
        }
        Ok(Response::new(ListIncidentsResponse {
            incidents,
            next_page_token,
        }))
    }

    async fn get_incident_timeline(
        &self,
        request: Request<GetIncidentTimelineRequest>,
    ) -> Result<Response<GetIncidentTimelineResponse>, Status> {
        let caller = self.context.auth.caller(&request)?;
        caller.require_any(READERS)?;
        let req = request.into_inner();
        let mut v = FieldViolations::default();
        v.require_non_empty("incident_id", &req.incident_id);
        v.finish()?;
        let incident = self.visible_incident(&caller, &req.incident_id).await?;
        let entries = self
            .store
            .timeline(&incident.incident_id)
            .await
            .map_err(ApiError::from)?;
        Ok(Response::new(GetIncidentTimelineResponse {
            incident_id: incident.incident_id,
            entries: entries.iter().map(convert::entry).collect(),
        }))
    }

    #[tracing::instrument(skip_all, fields(incident_id = %request.get_ref().incident_id))]
    async fn locate_incident(
        &self,
        request: Request<LocateIncidentRequest>,
    ) -> Result<Response<LocateIncidentResponse>, Status> {
        let caller = self.context.auth.caller(&request)?;
        caller.require_any(placing::PLACERS)?;
        let req = request.into_inner();
        placing::validate(&req)?;
        Ok(Response::new(self.placing.place(&caller, &req).await?))
    }
}
