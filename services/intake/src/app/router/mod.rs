//! Routing an incident once its call is saved: locate the grid, classify, link a duplicate,
//! then dispatch, divert to 12345, hand a complaint to complaints-audit or close an invalid
//! call. Every step commits on its own; a dependency that does not answer in time leaves the
//! incident NEW or CLASSIFIED and the attempt [`Routed::Waiting`]: its routing job
//! (`crate::app::routing_job`) runs the remaining steps again with backoff. The steps' records
//! are in `steps`, the requests to the peers in `requests`, the link step in `link`.

use std::sync::Arc;

use pingan_platform::storage::Tx;
use pingan_platform::{ApiError, ServiceContext};
use pingan_proto::common::v1::Channel;
use pingan_proto::intake::v1::{IncidentStatus, TimelineEntryKind};

use crate::app::peers::{self, HopError};
use crate::app::timeline::{Entry, intake_actor};
use crate::app::{Deps, locate, metrics};
use crate::domain::{self, IncidentRecord, Route};
use crate::settings::IntakeSettings;
use crate::store::Store;

mod link;
mod requests;
mod steps;

/// Where one routing attempt left the incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Routed {
    /// Nothing left to route; the id of the incident the call now belongs to (another one when
    /// linked as a duplicate).
    Finished(String),
    /// A dependency did not answer; the reason shown on the incident.
    Waiting(String),
}

/// Moves incidents through their routing steps.
#[derive(Debug, Clone)]
pub struct Router {
    context: ServiceContext,
    store: Arc<dyn Store>,
    settings: Arc<IntakeSettings>,
}

impl Router {
    /// A router over the service's storage and peers.
    pub fn new(deps: &Deps) -> Self {
        Self {
            context: deps.context.clone(),
            store: deps.store.clone(),
            settings: deps.settings.clone(),
        }
    }

    /// The settings in force.
    pub fn settings(&self) -> &IntakeSettings {
        &self.settings
    }

    /// Runs every step the incident still needs (the caller holds its routing job) and says
    /// whether routing is finished or waits for a dependency.
    #[tracing::instrument(skip(self), fields(incident_id = %incident_id))]
    pub async fn advance(&self, incident_id: &str) -> Result<Routed, ApiError> {
        let Some(incident) = self.store.incident_exact(incident_id).await? else {
            return Ok(Routed::Finished(incident_id.to_owned()));
        };
        let id = incident.incident_id.clone();
        if !incident.routing_pending {
            return Ok(Routed::Finished(id));
        }
        let mut locate_failed = None;
        if !incident.grid_located {
            let deadline = self.settings.locate_deadline;
            locate_failed =
                locate::locate(&self.context, self.store.as_ref(), deadline, &incident).await?;
        }

        let incident = self.load(&id).await?;
        if incident.status() == IncidentStatus::New {
            let request = self.classify_request(&incident).await?;
            match peers::classify(&self.context, self.settings.classify_deadline, request).await {
                Ok(classification) => self.save_classified(&id, classification).await?,
                Err(err) => return self.defer(&id, err).await,
            }
        }

        // Linked or decided primary before anything is routed: one routed incident per event.
        let incident = self.load(&id).await?;
        if incident.status() == IncidentStatus::Classified
            && !incident.link_checked
            && let Some(into) = self.link_duplicate(&incident).await?
        {
            return Ok(Routed::Finished(into));
        }

        let incident = self.load(&id).await?;
        if !incident.merged_into.is_empty() {
            return Ok(Routed::Finished(incident.merged_into));
        }
        // Nothing to send a unit to yet: wait for grid-registry, or hold for a dispatcher.
        if locate::must_wait_for_location(&incident) {
            return match locate_failed {
                Some(err) => self.defer(&id, err).await,
                None => locate::hold(
                    &self.context,
                    self.store.as_ref(),
                    &id,
                    locate::NEEDS_LOCATION,
                )
                .await
                .map(Routed::Finished),
            };
        }
        if incident.status() == IncidentStatus::Classified && incident.is_decided_primary() {
            let channel_12345 = incident.channel == Channel::Channel12345 as i32;
            match domain::route_for(incident.kind(), channel_12345, incident.police_override) {
                Route::Dispatch => {
                    let request = self.dispatch_request(&incident);
                    let deadline = self.settings.route_deadline;
                    match peers::open_dispatch(&self.context, deadline, request).await {
                        Ok(response) => self.save_dispatched(&id, Some(response)).await?,
                        Err(HopError::AlreadyExists(_)) => self.save_dispatched(&id, None).await?,
                        Err(err) => return self.defer(&id, err).await,
                    }
                }
                Route::Divert => {
                    let request = self.divert_request(&incident).await?;
                    let deadline = self.settings.route_deadline;
                    match peers::divert(&self.context, deadline, request).await {
                        Ok(response) => {
                            let transfer = response.transfer.unwrap_or_default();
                            self.save_diverted(&id, &transfer).await?;
                        }
                        Err(err) => return self.defer(&id, err).await,
                    }
                }
                Route::Complaint => self.save_complaint(&id).await?,
                Route::CloseInvalid => self.save_invalid(&id).await?,
            }
        }

        match locate_failed {
            Some(err) => self.defer(&id, err).await,
            None => {
                self.update(&id, async |_, incident| {
                    incident.routing_pending = false;
                    incident.pending_reason.clear();
                    Ok(())
                })
                .await?;
                Ok(Routed::Finished(id))
            }
        }
    }

    /// Exactly this incident (a linked one is not followed: routing steps act on their own).
    async fn load(&self, id: &str) -> Result<IncidentRecord, ApiError> {
        self.store
            .incident_exact(id)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("incident {id}")))
    }

    /// Read-modify-write of one incident in its own transaction; a linked incident is left as
    /// it is (its calls and routing moved to the incident it was linked into).
    async fn update(
        &self,
        id: &str,
        change: impl AsyncFnOnce(&mut Tx, &mut IncidentRecord) -> Result<(), ApiError>,
    ) -> Result<IncidentRecord, ApiError> {
        let mut tx = self.context.db.begin_write().await?;
        let Some(mut incident) = self.store.lock_exact(&mut tx, id).await? else {
            let _ = tx.rollback().await;
            return Err(ApiError::NotFound(format!("incident {id}")));
        };
        if !incident.merged_into.is_empty() {
            tx.rollback().await?;
            return Ok(incident);
        }
        if let Err(err) = change(&mut tx, &mut incident).await {
            let _ = tx.rollback().await;
            return Err(err);
        }
        incident.updated_at = self.context.clock.now();
        self.store.save_incident(&mut tx, &incident).await?;
        self.context.outbox.commit(tx).await?;
        Ok(incident)
    }

    /// Leaves the incident waiting for `err`'s dependency (its routing job retries it).
    async fn defer(&self, id: &str, err: HopError) -> Result<Routed, ApiError> {
        if let HopError::Refused { .. } = &err {
            // Not a poison job: the same request would be refused again; a dispatcher decides.
            return locate::hold(&self.context, self.store.as_ref(), id, &err.reason())
                .await
                .map(Routed::Finished);
        }
        let now = self.context.clock.now();
        if let (HopError::Unavailable { peer, detail }, Some(counter)) =
            (&err, metrics::DEFERRED.as_ref())
        {
            counter.with_label_values(&[peer]).inc();
            tracing::warn!(incident_id = %id, peer, detail = %detail, "routing deferred");
        }
        let reason = err.reason();
        self.update(id, async |tx, incident| {
            incident.routing_attempts = incident.routing_attempts.saturating_add(1);
            if incident.pending_reason != reason {
                Entry::new(
                    &incident.incident_id,
                    TimelineEntryKind::RoutingDeferred,
                    now,
                    &intake_actor(),
                    crate::SHORT_NAME,
                    reason.clone(),
                )
                .write(self.store.as_ref(), tx)
                .await?;
                incident.pending_reason = reason.clone();
            }
            Ok(())
        })
        .await?;
        Ok(Routed::Waiting(reason))
    }
}
