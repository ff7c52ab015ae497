//! The reads: an incident (with its calls and the incidents linked into it), a page of
//! incidents, an incident's timeline. A caller only ever sees what its jurisdiction covers.

use std::sync::Arc;

use pingan_platform::auth::{Caller, Jurisdiction, Role};
use pingan_platform::clear_reads::ClearRead;
use pingan_platform::{ApiError, ServiceContext};

use crate::app::Deps;
use crate::domain::{CallRecord, EntryRecord, IncidentRecord};
use crate::store::{IncidentFilter, Store};

/// An incident as read: the record, its calls, the ids of the incidents linked into it.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentView {
    pub incident: IncidentRecord,
    pub calls: Vec<CallRecord>,
    pub linked: Vec<String>,
}

/// A page of incidents, and whether more follow.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub incidents: Vec<IncidentView>,
    pub more: bool,
}

/// The use cases behind `GetIncident`, `ListIncidents` and `GetIncidentTimeline`.
#[derive(Debug, Clone)]
pub struct Reading {
    context: ServiceContext,
    store: Arc<dyn Store>,
}

impl Reading {
    /// The reads over the service's storage.
    pub fn new(deps: &Deps) -> Self {
        Self {
            context: deps.context.clone(),
            store: deps.store.clone(),
        }
    }

    /// The incident `id` (a linked id gives the live incident). A read that shows the callers'
    /// numbers in clear is audited by the caller of this, with [`Reading::record_clear_read`].
    pub async fn incident(&self, caller: &Caller, id: &str) -> Result<IncidentView, ApiError> {
        let incident = self.visible_incident(caller, id).await?;
        let calls = self.store.calls_of(&incident.incident_id).await?;
        let linked = self.store.linked_ids(&incident.incident_id).await?;
        Ok(IncidentView {
            incident,
            calls,
            linked,
        })
    }

    /// Up to `page_size` incidents matching `filter`, newest first.
    pub async fn list(&self, filter: IncidentFilter, page_size: i64) -> Result<Page, ApiError> {
        let filter = IncidentFilter {
            limit: page_size + 1,
            ..filter
        };
        let mut rows = self.store.list(&filter).await?;
        let more = rows.len() as i64 > page_size;
        rows.truncate(usize::try_from(page_size).unwrap_or(50));
        let mut incidents = Vec::with_capacity(rows.len());
        for incident in rows {
            let calls = self.store.calls_of(&incident.incident_id).await?;
            let linked = self.store.linked_ids(&incident.incident_id).await?;
            incidents.push(IncidentView {
                incident,
                calls,
                linked,
            });
        }
        Ok(Page { incidents, more })
    }

    /// The timeline of the incident `id` (a linked id gives the live incident's): its id and
    /// entries, oldest first.
    pub async fn timeline(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<(String, Vec<EntryRecord>), ApiError> {
        let incident = self.visible_incident(caller, id).await?;
        let entries = self.store.timeline(&incident.incident_id).await?;
        Ok((incident.incident_id, entries))
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

    /// Writes the audit record of a read that showed callers' numbers in clear (who, what,
    /// why), through the outbox like intake's other audited actions.
    pub async fn record_clear_read(
        &self,
        caller: &Caller,
        read: &ClearRead,
    ) -> Result<(), ApiError> {
        pingan_platform::clear_reads::record(&self.context, crate::SHORT_NAME, caller, read).await
    }
}
