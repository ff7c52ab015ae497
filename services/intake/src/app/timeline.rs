//! Writing timeline entries and moving an incident's status (with its status-change event).

use chrono::{DateTime, Utc};
use pingan_platform::ApiError;
use pingan_platform::storage::Tx;
use pingan_proto::common::v1::Actor;
use pingan_proto::intake::v1::{IncidentStatus, TimelineEntryKind};

use crate::domain::{EntryRecord, IncidentRecord};
use crate::events::outbound;
use crate::store::Store;

/// The service itself as an actor.
pub fn intake_actor() -> Actor {
    Actor {
        subject: crate::SHORT_NAME.to_owned(),
        role: "service".to_owned(),
        display_name: String::new(),
    }
}

/// A new timeline entry.
#[derive(Debug, Clone)]
pub struct Entry {
    record: EntryRecord,
}

impl Entry {
    /// An entry of `kind` on `incident_id` at `at`, reported by `source`.
    pub fn new(
        incident_id: &str,
        kind: TimelineEntryKind,
        at: DateTime<Utc>,
        actor: &Actor,
        source: &str,
        summary: impl Into<String>,
    ) -> Self {
        Self {
            record: EntryRecord {
                entry_id: uuid::Uuid::now_v7().to_string(),
                incident_id: incident_id.to_owned(),
                at,
                kind: kind as i32,
                actor_subject: actor.subject.clone(),
                actor_role: actor.role.clone(),
                actor_name: actor.display_name.clone(),
                source: source.to_owned(),
                summary: pingan_platform::pii::scrub(&summary.into()),
                from_status: 0,
                to_status: 0,
                unit_id: String::new(),
                related_id: String::new(),
                event_id: String::new(),
            },
        }
    }

    /// Marks a status change.
    pub fn status(mut self, from: IncidentStatus, to: IncidentStatus) -> Self {
        if from != to {
            self.record.from_status = from as i32;
            self.record.to_status = to as i32;
        }
        self
    }

    /// The unit concerned.
    pub fn unit(mut self, unit_id: &str) -> Self {
        self.record.unit_id = unit_id.to_owned();
        self
    }

    /// The related record.
    pub fn related(mut self, related_id: &str) -> Self {
        self.record.related_id = related_id.to_owned();
        self
    }

    /// The event it came from.
    pub fn event(mut self, event_id: &str) -> Self {
        self.record.event_id = event_id.to_owned();
        self
    }

    /// Appends it in `tx`.
    pub async fn write(self, store: &dyn Store, tx: &mut Tx) -> Result<(), ApiError> {
        store.insert_entry(tx, &self.record).await?;
        Ok(())
    }
}

/// Moves `incident` to `to` (when it differs) and tells subscribers, in `tx`.
pub async fn change_status(
    context: &pingan_platform::ServiceContext,
    tx: &mut Tx,
    incident: &mut IncidentRecord,
    to: IncidentStatus,
    actor: &Actor,
    at: DateTime<Utc>,
    reason: &str,
) -> Result<IncidentStatus, ApiError> {
    let from = incident.status();
    if from == to {
        return Ok(from);
    }
    incident.status = to as i32;
    if matches!(to, IncidentStatus::Closed) && incident.closed_at.is_none() {
        incident.closed_at = Some(at);
    }
    if matches!(to, IncidentStatus::FollowedUp) && incident.followed_up_at.is_none() {
        incident.followed_up_at = Some(at);
    }
    let event = outbound::status_changed(incident, from, to, actor, at, reason);
    context
        .outbox
        .enqueue(tx, &incident.incident_id, &event)
        .await?;
    Ok(from)
}
