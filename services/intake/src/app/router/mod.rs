//! Routing an incident once its call is saved: locate the grid, classify, link a duplicate,
//! then dispatch, divert to 12345, hand a complaint to complaints-audit or close an invalid
//! call. The peers are asked first and their answers written together: one transaction for the
//! grid, the classification and the link decision (under the link cells of its area, committed
//! before anything is routed), one for the route taken and the end of routing; the attempt's
//! closing (its job's outcome, the call's first answer) goes in the last of them. A dependency that
//! does not answer in time leaves the incident NEW or CLASSIFIED and the attempt
//! [`Routed::Waiting`]: its routing job (`crate::app::routing_job`) runs the remaining steps
//! again with backoff. The steps' records are in `steps`, the requests to the peers in
//! `requests`, the link step in `link`.

use std::sync::Arc;

use pingan_platform::storage::Tx;
use pingan_platform::{ApiError, ServiceContext};
use pingan_proto::common::v1::Channel;
use pingan_proto::intake::v1::{IncidentStatus, TimelineEntryKind};
use pingan_proto::triage::v1::Classification;

use crate::app::locate::{self, Located};
use crate::app::peers::{self, HopError};
use crate::app::routing_job::{Attempt, Closing};
use crate::app::timeline::{Entry, intake_actor};
use crate::app::{Deps, metrics};
use crate::domain::{self, IncidentRecord, Route};
use crate::settings::IntakeSettings;
use crate::store::Store;

mod link;
mod requests;
mod steps;

use steps::Step;

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

/// The answers of the first peers (grid-registry, triage), written in one transaction.
struct Answers {
    located: Option<Located>,
    locate_failed: Option<HopError>,
    classified: Option<Classification>,
    classify_failed: Option<HopError>,
    /// Whether the link step may run (the incident is or becomes CLASSIFIED, not yet checked).
    link_step: bool,
    /// The link cells of the incident's location as the answers leave it (empty when the link
    /// step does not run or there is no location).
    link_cells: Vec<String>,
}

/// After the first transaction: the attempt ended there, or goes on to route `IncidentRecord`.
enum Recorded {
    Ended(Box<Attempt>),
    Routes(Box<IncidentRecord>),
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
    pub async fn advance(&self, incident_id: &str) -> Result<Routed, ApiError> {
        Ok(self.attempt(incident_id, &Closing::default()).await?.routed)
    }

    /// [`Router::advance`], writing `closing` in the attempt's last transaction when it ends in
    /// one (else [`Attempt::closed`] is false and the caller writes it).
    #[tracing::instrument(skip(self, closing), fields(incident_id = %incident_id))]
    pub async fn attempt(
        &self,
        incident_id: &str,
        closing: &Closing<'_>,
    ) -> Result<Attempt, ApiError> {
        let saved = closing.incident.cloned();
        let read = match saved {
            Some(incident) => Some(incident),
            None => self.store.incident_exact(incident_id).await?,
        };
        let Some(incident) = read else {
            return Ok(Attempt::open(Routed::Finished(incident_id.to_owned())));
        };
        let id = incident.incident_id.clone();
        if !incident.routing_pending {
            return Ok(Attempt::open(Routed::Finished(id)));
        }
        let answers = self.ask_first_peers(&incident, closing).await?;
        let locate_failed = answers.locate_failed.clone();
        // A re-route with nothing new to write goes straight to its route.
        let unchanged = answers.located.is_none()
            && answers.classified.is_none()
            && answers.classify_failed.is_none()
            && !answers.link_step
            && !locate::must_wait_for_location(&incident);
        let incident = if unchanged {
            Box::new(incident)
        } else {
            match self.record(&id, answers, closing).await? {
                Recorded::Ended(attempt) => return Ok(*attempt),
                Recorded::Routes(incident) => incident,
            }
        };
        let step = self.route(&incident, closing).await?;
        self.finish(&id, step, locate_failed, closing).await
    }

    /// Asks grid-registry and triage what the incident still needs from them (nothing written).
    async fn ask_first_peers(
        &self,
        incident: &IncidentRecord,
        closing: &Closing<'_>,
    ) -> Result<Answers, ApiError> {
        let mut answers = Answers {
            located: None,
            locate_failed: None,
            classified: None,
            classify_failed: None,
            link_step: false,
            link_cells: Vec::new(),
        };
        let mut asked = incident.clone();
        if !incident.grid_located {
            match locate::find(&self.context, self.settings.locate_deadline, incident).await {
                Ok(found) => {
                    found.preview(&mut asked);
                    answers.located = Some(found);
                }
                Err(err) => answers.locate_failed = Some(err),
            }
        }
        if incident.status() == IncidentStatus::New {
            let request = self.classify_request(&asked, closing.call).await?;
            match peers::classify(&self.context, self.settings.classify_deadline, request).await {
                Ok(classification) => answers.classified = Some(classification),
                Err(err) => answers.classify_failed = Some(err),
            }
        }
        let classified = match incident.status() {
            IncidentStatus::New => answers.classified.is_some(),
            status => status == IncidentStatus::Classified,
        };
        answers.link_step = classified && !incident.link_checked;
        if answers.link_step && asked.has_location {
            let radius = self.settings.duplicate_radius_m;
            answers.link_cells = domain::link_cells(asked.lat, asked.lon, radius);
        }
        Ok(answers)
    }

    /// The first transaction: the grid, the classification and the link decision (the link
    /// cells of its area taken first, so simultaneous calls about one event see each other's
    /// decisions). It ends the attempt when the incident is linked, held, or waits for triage.
    async fn record(
        &self,
        id: &str,
        answers: Answers,
        closing: &Closing<'_>,
    ) -> Result<Recorded, ApiError> {
        let now = self.context.clock.now();
        let mut tx = self.context.db.begin_write().await?;
        if answers.link_step {
            let cells = &answers.link_cells;
            self.store.take_link_cells(&mut tx, cells, now).await?;
        }
        let Some(mut me) = self.store.lock_exact(&mut tx, id).await? else {
            let _ = tx.rollback().await;
            return Err(ApiError::NotFound(format!("incident {id}")));
        };
        if !me.merged_into.is_empty() {
            tx.rollback().await?;
            return Ok(Recorded::Ended(Box::new(Attempt::open(Routed::Finished(
                me.merged_into,
            )))));
        }
        if let Some(found) = &answers.located
            && !me.grid_located
        {
            locate::apply(self.store.as_ref(), &mut tx, &mut me, found, now).await?;
        }
        let mut classified = false;
        if let Some(c) = &answers.classified
            && me.status() == IncidentStatus::New
        {
            self.apply_classified(&mut tx, &mut me, c, now).await?;
            classified = true;
        }
        let ended = if let Some(err) = &answers.classify_failed {
            Some(self.defer_in(&mut tx, &mut me, err, now).await?)
        } else {
            if answers.link_step && me.status() == IncidentStatus::Classified && !me.link_checked {
                self.cover_link_cells(&mut tx, &me, &answers.link_cells, now)
                    .await?;
                if let Some((into, distance)) = self.link_target(&mut tx, &me).await? {
                    me.updated_at = now;
                    self.store.save_incident(&mut tx, &me).await?;
                    let into = self.link_into(&mut tx, &me, into, distance, now).await?;
                    let routed = Routed::Finished(into.incident_id.clone());
                    let attempt = self.close(&mut tx, closing, &routed, &into).await?;
                    self.context.outbox.commit(tx).await?;
                    tracing::info!(incident_id = %me.incident_id, duplicate_of = %into.incident_id, "duplicate call linked");
                    if classified {
                        observe_classified(&me, now);
                    }
                    return Ok(Recorded::Ended(Box::new(attempt)));
                }
                // It stands on its own (may be routed, and linked into): saved with it below.
                me.link_checked = true;
            }
            // Nothing to send a unit to yet: wait for grid-registry, or hold for a dispatcher.
            if locate::must_wait_for_location(&me) {
                Some(match &answers.locate_failed {
                    Some(err) => self.defer_in(&mut tx, &mut me, err, now).await?,
                    None => {
                        let reason = locate::NEEDS_LOCATION;
                        let context = &self.context;
                        let store = self.store.as_ref();
                        locate::hold_in(context, store, &mut tx, &mut me, reason, now).await?;
                        Routed::Finished(me.incident_id.clone())
                    }
                })
            } else {
                None
            }
        };
        me.updated_at = now;
        self.store.save_incident(&mut tx, &me).await?;
        let recorded = match ended {
            Some(routed) => {
                Recorded::Ended(Box::new(self.close(&mut tx, closing, &routed, &me).await?))
            }
            None => Recorded::Routes(Box::new(me.clone())),
        };
        self.context.outbox.commit(tx).await?;
        if classified {
            observe_classified(&me, now);
        }
        Ok(recorded)
    }

    /// Asks the peer of the incident's route, if it has one to take now.
    async fn route(
        &self,
        incident: &IncidentRecord,
        closing: &Closing<'_>,
    ) -> Result<Step, ApiError> {
        if incident.status() != IncidentStatus::Classified || !incident.is_decided_primary() {
            return Ok(Step::Nothing);
        }
        let channel_12345 = incident.channel == Channel::Channel12345 as i32;
        let deadline = self.settings.route_deadline;
        Ok(
            match domain::route_for(incident.kind(), channel_12345, incident.police_override) {
                Route::Dispatch => {
                    let request = self.dispatch_request(incident);
                    match peers::open_dispatch(&self.context, deadline, request).await {
                        Ok(response) => Step::Dispatched(Some(Box::new(response))),
                        Err(HopError::AlreadyExists(_)) => Step::Dispatched(None),
                        Err(err) => Step::Failed(err),
                    }
                }
                Route::Divert => {
                    let request = self.divert_request(incident, closing.call).await?;
                    match peers::divert(&self.context, deadline, request).await {
                        Ok(response) => {
                            Step::Diverted(Box::new(response.transfer.unwrap_or_default()))
                        }
                        Err(err) => Step::Failed(err),
                    }
                }
                Route::Complaint => self.complaint_step(incident).await?,
                Route::CloseInvalid => Step::Invalid,
            },
        )
    }

    /// The last transaction: the route taken, and the end of routing (or the wait for a
    /// dependency), with the attempt's closing.
    async fn finish(
        &self,
        id: &str,
        step: Step,
        locate_failed: Option<HopError>,
        closing: &Closing<'_>,
    ) -> Result<Attempt, ApiError> {
        let now = self.context.clock.now();
        let mut tx = self.context.db.begin_write().await?;
        let Some(mut me) = self.store.lock_exact(&mut tx, id).await? else {
            let _ = tx.rollback().await;
            return Err(ApiError::NotFound(format!("incident {id}")));
        };
        if !me.merged_into.is_empty() {
            tx.rollback().await?;
            return Ok(Attempt::open(Routed::Finished(me.merged_into)));
        }
        let mut assigned_now = false;
        let routed = match step {
            Step::Failed(err) => self.defer_in(&mut tx, &mut me, &err, now).await?,
            step => {
                assigned_now = self.apply_step(&mut tx, &mut me, step, now).await?;
                match &locate_failed {
                    Some(err) => self.defer_in(&mut tx, &mut me, err, now).await?,
                    None => {
                        me.routing_pending = false;
                        me.pending_reason.clear();
                        Routed::Finished(me.incident_id.clone())
                    }
                }
            }
        };
        me.updated_at = now;
        self.store.save_incident(&mut tx, &me).await?;
        let attempt = self.close(&mut tx, closing, &routed, &me).await?;
        self.context.outbox.commit(tx).await?;
        if assigned_now && let Some(at) = me.unit_assigned_at {
            metrics::observe_clock("unit_assigned", &me, at);
        }
        Ok(attempt)
    }

    /// Writes the attempt's closing in `tx`, `live` being the incident its call belongs to.
    async fn close(
        &self,
        tx: &mut Tx,
        closing: &Closing<'_>,
        routed: &Routed,
        live: &IncidentRecord,
    ) -> Result<Attempt, ApiError> {
        closing
            .close_in(self.store.as_ref(), &self.settings, tx, routed, live)
            .await
    }

    /// Leaves `incident` (locked in `tx`) waiting for `err`'s dependency (its routing job
    /// retries it), or held for a dispatcher when the peer refused the request.
    async fn defer_in(
        &self,
        tx: &mut Tx,
        incident: &mut IncidentRecord,
        err: &HopError,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Routed, ApiError> {
        let reason = err.reason();
        if let HopError::Refused { .. } = err {
            // Not a poison job: the same request would be refused again; a dispatcher decides.
            let store = self.store.as_ref();
            locate::hold_in(&self.context, store, tx, incident, &reason, now).await?;
            return Ok(Routed::Finished(incident.incident_id.clone()));
        }
        if let (HopError::Unavailable { peer, detail }, Some(counter)) =
            (err, metrics::DEFERRED.as_ref())
        {
            counter.with_label_values(&[peer]).inc();
            tracing::warn!(incident_id = %incident.incident_id, peer, detail = %detail, "routing deferred");
        }
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
        Ok(Routed::Waiting(reason))
    }
}

/// The classification's clocks and counts, once committed.
fn observe_classified(incident: &IncidentRecord, at: chrono::DateTime<chrono::Utc>) {
    metrics::observe_clock("classified", incident, at);
    crate::app::analysis::count_classified(&incident.category);
}
