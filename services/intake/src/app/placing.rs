//! Placing a held incident: a dispatcher gives an incident that could not be located (see
//! `locate::needs_location`) a point and/or an address; the hold is cleared and routing resumes
//! at once (locate the grid, then dispatch through the normal router).

use std::sync::Arc;

use pingan_platform::auth::{Caller, Jurisdiction, Role};
use pingan_platform::jobs::{Job, JobQueue};
use pingan_platform::storage::Tx;
use pingan_platform::{ApiError, FieldViolations, ServiceContext, audit, report};
use pingan_proto::intake::v1::{
    IncidentStatus, LocateIncidentRequest, LocateIncidentResponse, TimelineEntryKind,
};

use crate::app::router::Router;
use crate::app::timeline::Entry;
use crate::app::{Deps, locate, routing_job};
use crate::domain::IncidentRecord;
use crate::events::outbound;
use crate::store::Store;

/// Roles that may place a held incident (a station officer only within its jurisdiction).
pub const PLACERS: &[Role] = &[
    Role::Dispatcher,
    Role::CommandCenter,
    Role::StationOfficer,
    Role::Admin,
];

/// Longest note accepted with a placement (characters).
pub const MAX_NOTE_CHARS: usize = 500;

/// The use case behind `LocateIncident`.
#[derive(Debug, Clone)]
pub struct Placing {
    context: ServiceContext,
    store: Arc<dyn Store>,
    router: Router,
    jobs: JobQueue,
}

/// Checks a placement request; every bad field is named.
pub fn validate(req: &LocateIncidentRequest) -> Result<(), ApiError> {
    let mut v = FieldViolations::default();
    v.require_non_empty("request_id", &req.request_id);
    v.require_non_empty("incident_id", &req.incident_id);
    report::check_place(&mut v, req.location.as_ref(), &req.address);
    v.require_max_chars("note", &req.note, MAX_NOTE_CHARS);
    v.finish()
}

/// Whether `caller` may place `incident`: bureau-wide callers and dispatchers any incident, a
/// station officer only one of its own stations (a held incident without a station is the
/// command room's).
fn may_place(caller: &Caller, incident: &IncidentRecord) -> bool {
    if matches!(caller.jurisdiction, Jurisdiction::Bureau)
        || caller.has_any(&[Role::Dispatcher, Role::CommandCenter, Role::Admin])
    {
        return true;
    }
    !incident.station_id.is_empty() && caller.can_see_station(&incident.station_id)
}

impl Placing {
    /// The use case over the service's storage and peers.
    pub fn new(deps: &Deps) -> Self {
        Self {
            context: deps.context.clone(),
            store: deps.store.clone(),
            router: Router::new(deps),
            jobs: deps.jobs.clone(),
        }
    }

    /// Places the incident, resumes its routing and answers with its state now; a repeat of
    /// `request_id` answers for the same incident without placing it again.
    pub async fn place(
        &self,
        caller: &Caller,
        req: &LocateIncidentRequest,
    ) -> Result<LocateIncidentResponse, ApiError> {
        let visible = self
            .store
            .incident(&req.incident_id)
            .await?
            .filter(|incident| may_place(caller, incident));
        let Some(visible) = visible else {
            return Err(ApiError::NotFound(format!("incident {}", req.incident_id)));
        };
        let mut fresh = false;
        let mut claimed = None;
        let first = self
            .context
            .requests
            .run("LocateIncident", &req.request_id, req, async |tx| {
                fresh = true;
                let (response, job) = self
                    .clear_hold(tx, caller, req, &visible.incident_id)
                    .await?;
                claimed = job;
                Ok(response)
            })
            .await?;
        if fresh {
            // Saved with its routing job: a routing failure here is retried by the job.
            let attempt = routing_job::attempt(
                &self.router,
                &self.jobs,
                claimed.as_ref(),
                &first.incident_id,
                None,
                None,
            )
            .await;
            if let Err(err) = attempt {
                tracing::warn!(incident_id = %first.incident_id, error = %err,
                    "routing after placing failed; its job retries");
            }
        }
        let incident = self
            .store
            .incident(&first.incident_id)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("incident {}", first.incident_id)))?;
        Ok(response(&incident))
    }

    /// Writes the new place, a timeline entry naming who placed it, and a routing job held by
    /// this request (the hold is cleared).
    async fn clear_hold(
        &self,
        tx: &mut Tx,
        caller: &Caller,
        req: &LocateIncidentRequest,
        id: &str,
    ) -> Result<(LocateIncidentResponse, Option<Job>), ApiError> {
        let now = self.context.clock.now();
        let Some(mut incident) = self.store.lock_incident(tx, id).await? else {
            return Err(ApiError::NotFound(format!("incident {}", req.incident_id)));
        };
        if !locate::needs_location(&incident) {
            let status = IncidentStatus::try_from(incident.status)
                .map(|s| s.as_str_name().trim_start_matches("INCIDENT_STATUS_"))
                .unwrap_or("UNSPECIFIED");
            return Err(ApiError::FailedPrecondition(format!(
                "incident {} is not waiting for a location (status {status})",
                incident.incident_id
            )));
        }
        let address = req.address.trim();
        let mut placed = Vec::new();
        if let Some(point) = &req.location {
            placed.push(format!("point {:.6},{:.6}", point.lat, point.lon));
        }
        if !address.is_empty() {
            placed.push(format!("address {address}"));
        }
        let actor = caller.actor();
        let mut summary = format!(
            "placed by {} ({}): {}",
            actor.subject,
            actor.role,
            placed.join(", ")
        );
        let note = pingan_platform::pii::scrub(req.note.trim());
        if !note.is_empty() {
            summary = format!("{summary}; {note}");
        }
        Entry::new(
            &incident.incident_id,
            TimelineEntryKind::Note,
            now,
            &actor,
            crate::SHORT_NAME,
            summary.clone(),
        )
        .write(self.store.as_ref(), tx)
        .await?;
        incident.grid_located = false;
        incident.grid_id.clear();
        incident.station_id.clear();
        incident.pending_reason.clear();
        incident.routing_pending = true;
        incident.routing_attempts = 0;
        incident.updated_at = now;
        // This request routes it at once holding the job (one per placing request); the worker
        // only after a failure or a crash (lease expiry).
        let key = format!("{}/placed/{}", incident.incident_id, req.request_id);
        let job = self
            .jobs
            .enqueue_claimed_in(
                tx,
                routing_job::job(&incident.incident_id, &key),
                self.router.settings().route_lease,
            )
            .await?;
        self.store.save_incident(tx, &incident).await?;
        if let Some(point) = &req.location {
            self.store
                .set_location(tx, &incident.incident_id, point.lat, point.lon)
                .await?;
        }
        if !address.is_empty() {
            self.store
                .set_address(tx, &incident.incident_id, address)
                .await?;
        }
        let audit = outbound::incident_placed(actor, &incident.incident_id, summary);
        audit::record(&self.context, tx, crate::SHORT_NAME, &audit).await?;
        tracing::info!(incident_id = %incident.incident_id, "held incident placed");
        let response = LocateIncidentResponse {
            incident_id: incident.incident_id.clone(),
            ..LocateIncidentResponse::default()
        };
        Ok((response, job))
    }
}

/// The answer: the incident's state now.
fn response(incident: &IncidentRecord) -> LocateIncidentResponse {
    LocateIncidentResponse {
        incident_id: incident.incident_id.clone(),
        status: incident.status,
        grid_id: incident.grid_id.clone(),
        station_id: incident.station_id.clone(),
        dispatch_id: incident.dispatch_id.clone(),
        assigned_unit_ids: incident.units(),
        needs_location: locate::needs_location(incident),
        note: incident.pending_reason.clone(),
    }
}
