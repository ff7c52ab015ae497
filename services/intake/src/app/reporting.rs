//! ReportCall: the call (with its provisional incident and routing job) is saved before anything
//! else, routed at once holding its job, and answered with the first answer ever given for it.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use pingan_platform::auth::Caller;
use pingan_platform::jobs::{Job, JobQueue, JobState};
use pingan_platform::phone::{Phone, PhoneKind};
use pingan_platform::pii::{PiiKind, mask_phone};
use pingan_platform::storage::Tx;
use pingan_platform::time::from_timestamp;
use pingan_platform::{ApiError, ServiceContext, audit};
use pingan_proto::common::v1::Channel;
use pingan_proto::intake::v1::{
    IncidentStatus, Outcome, ReportCallRequest, ReportCallResponse, TimelineEntryKind,
};

use crate::app::router::Router;
use crate::app::timeline::Entry;
use crate::app::wire::{self, saved_response};
use crate::app::{Deps, metrics, routing_job};
use crate::domain::{CallRecord, IncidentRecord};
use crate::events::outbound;
use crate::store::Store;

/// The use case behind `ReportCall`.
#[derive(Debug, Clone)]
pub struct Reporting {
    context: ServiceContext,
    store: Arc<dyn Store>,
    router: Router,
    jobs: JobQueue,
}

/// A saved call: its id, the call and its incident when this request saved them, and the
/// routing job it holds.
struct Saved {
    call_id: String,
    fresh: Option<(CallRecord, IncidentRecord)>,
    claimed: Option<Job>,
}

impl Reporting {
    /// The use case over the service's storage and peers.
    pub fn new(deps: &Deps) -> Self {
        Self {
            context: deps.context.clone(),
            store: deps.store.clone(),
            router: Router::new(deps),
            jobs: deps.jobs.clone(),
        }
    }

    /// Saves the call, routes it when this request saved it, and answers (a validated request).
    pub async fn report(
        &self,
        caller: &Caller,
        req: &ReportCallRequest,
    ) -> Result<ReportCallResponse, ApiError> {
        let saved = self.save_call(caller, req).await?;
        let mut routed_answer = None;
        if let Some((call, incident)) = &saved.fresh {
            tracing::Span::current().record("incident_id", call.incident_id.as_str());
            // The call and its routing job are saved: a failure here is retried by the job. The
            // attempt records the first answer in its last transaction.
            let attempt = routing_job::attempt(
                &self.router,
                &self.jobs,
                saved.claimed.as_ref(),
                &incident.incident_id,
                Some(incident),
                Some(call),
            )
            .await;
            match attempt {
                Ok(attempt) => routed_answer = attempt.answer,
                Err(err) => {
                    tracing::warn!(error = %err, "routing after save failed; its job retries");
                }
            }
        }
        let response = match routed_answer {
            Some(response) => response,
            None => self.answer(&saved.call_id, saved.fresh.is_some()).await?,
        };
        if let Some(counter) = metrics::CALLS.as_ref() {
            counter
                .with_label_values(&[&channel_name(req.channel), &outcome_name(response.outcome)])
                .inc();
        }
        Ok(response)
    }

    /// Saves the call (and its provisional incident and routing job) before anything else.
    /// A repeat by request_id or by (channel, source_call_id) saves nothing and holds no job.
    async fn save_call(&self, caller: &Caller, req: &ReportCallRequest) -> Result<Saved, ApiError> {
        let mut fresh = None;
        let mut claimed = None;
        // The request log's write transaction holds SQLite's write lock from BEGIN (IMMEDIATE):
        // the source-call check below and the insert are one writer's.
        let result = self
            .context
            .requests
            .run("ReportCall", &req.request_id, req, async |tx| {
                if let Some(existing) = self.existing_source_call(tx, req).await? {
                    return Ok(saved_response(&existing));
                }
                let (call, incident, job) = self.insert_call(tx, caller, req).await?;
                let response = saved_response(&call);
                fresh = Some((call, incident));
                claimed = job;
                Ok(response)
            })
            .await;
        match result {
            // Fresh only if this request's insert is the one that committed (a request id that
            // lost a race answers the winner's call).
            Ok(response) => {
                let fresh = fresh.filter(|(call, _)| call.call_id == response.call_id);
                Ok(Saved {
                    call_id: response.call_id,
                    claimed: claimed.filter(|_| fresh.is_some()),
                    fresh,
                })
            }
            // The same source call raced in under another request id: it is the same call.
            Err(ApiError::AlreadyExists(_)) if !req.source_call_id.is_empty() => {
                let mut tx = self.context.db.begin().await?;
                let existing = self.existing_source_call(&mut tx, req).await?;
                tx.rollback().await?;
                existing
                    .map(|c| Saved {
                        call_id: c.call_id,
                        fresh: None,
                        claimed: None,
                    })
                    .ok_or_else(|| ApiError::Unavailable("concurrent call; retry".into()))
            }
            Err(err) => Err(err),
        }
    }

    async fn existing_source_call(
        &self,
        tx: &mut Tx,
        req: &ReportCallRequest,
    ) -> Result<Option<CallRecord>, ApiError> {
        if req.source_call_id.is_empty() {
            return Ok(None);
        }
        Ok(self
            .store
            .call_by_source(tx, req.channel, &req.source_call_id)
            .await?)
    }

    async fn insert_call(
        &self,
        tx: &mut Tx,
        caller: &Caller,
        req: &ReportCallRequest,
    ) -> Result<(CallRecord, IncidentRecord, Option<Job>), ApiError> {
        let now = self.context.clock.now();
        let received_at = req
            .received_at
            .as_ref()
            .and_then(from_timestamp)
            .unwrap_or(now);
        let incident_id = format!("inc-{}", uuid::Uuid::now_v7());
        let call_id = format!("call-{}", uuid::Uuid::now_v7());
        let (masked, sealed, index) = match Phone::parse(&req.caller_phone) {
            Err(_) => (String::new(), None, String::new()),
            Ok(phone) if phone.kind() == PhoneKind::Masked => {
                (phone.as_str().to_owned(), None, String::new())
            }
            Ok(phone) => (
                mask_phone(phone.as_str()),
                Some(
                    self.context
                        .pii
                        .encrypt(phone.as_str())
                        .map_err(ApiError::internal)?,
                ),
                self.context.pii.blind_index(PiiKind::Phone, phone.as_str()),
            ),
        };
        let incident = provisional_incident(&incident_id, req, received_at, now);
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
            has_location: incident.has_location,
            lat: incident.lat,
            lon: incident.lon,
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
        self.store.insert_incident(tx, &incident).await?;
        self.store.insert_call(tx, &call).await?;
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
        let detail = format!("call {call_id} on {channel} from {masked}");
        Entry::new(
            &incident_id,
            TimelineEntryKind::CallReceived,
            received_at,
            &actor,
            crate::SHORT_NAME,
            detail.clone(),
        )
        .status(IncidentStatus::Unspecified, IncidentStatus::New)
        .related(&call_id)
        .write(self.store.as_ref(), tx)
        .await?;
        let audit = outbound::call_reported(actor, &incident_id, detail);
        audit::record(&self.context, tx, crate::SHORT_NAME, &audit).await?;
        tracing::info!(incident_id = %incident_id, call_id = %call_id, caller = %masked, "call saved");
        Ok((call, incident, job))
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
        let current = wire::report_response(&incident, &call);
        let first = self
            .store
            .record_answer(call_id, &current.incident_id, current.outcome)
            .await?;
        Ok(wire::as_first_answer(current, first))
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
}

/// The incident a new call opens: NEW, waiting to be routed.
fn provisional_incident(
    incident_id: &str,
    req: &ReportCallRequest,
    received_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> IncidentRecord {
    let (has_location, lat, lon) = match &req.location {
        Some(p) => (true, p.lat, p.lon),
        None => (false, 0.0, 0.0),
    };
    IncidentRecord {
        incident_id: incident_id.to_owned(),
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
