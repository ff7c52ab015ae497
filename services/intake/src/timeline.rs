//! Building timeline entries, status-change events and the command-room clocks' histograms.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use pingan_platform::ApiError;
use pingan_platform::storage::Tx;
use pingan_proto::common::v1::Actor;
use pingan_proto::intake::v1::{IncidentStatus, IncidentStatusChanged, TimelineEntryKind};
use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts};

use crate::domain::IncidentRecord;
use crate::store::{EntryRecord, Store};

/// Seconds from the call to each step, per priority: the 5-minute target is judged on these.
static RESPONSE_SECONDS: LazyLock<Option<HistogramVec>> = LazyLock::new(|| {
    pingan_platform::metrics::register(HistogramVec::new(
        HistogramOpts::new(
            "pingan_intake_response_seconds",
            "Seconds from the call to classified, unit assigned, en route and on scene",
        )
        .buckets(vec![
            5.0, 15.0, 30.0, 60.0, 120.0, 180.0, 300.0, 600.0, 900.0, 1800.0, 3600.0,
        ]),
        &["step", "priority"],
    ))
});

/// Calls by channel and outcome.
pub static CALLS: LazyLock<Option<IntCounterVec>> = LazyLock::new(|| {
    pingan_platform::metrics::register(IntCounterVec::new(
        Opts::new(
            "pingan_intake_calls_total",
            "Calls received, by channel and outcome",
        ),
        &["channel", "outcome"],
    ))
});

/// Routing steps deferred because a dependency did not answer.
pub static DEFERRED: LazyLock<Option<IntCounterVec>> = LazyLock::new(|| {
    pingan_platform::metrics::register(IntCounterVec::new(
        Opts::new(
            "pingan_intake_routing_deferred_total",
            "Routing steps deferred because a dependency was unavailable, by dependency",
        ),
        &["dependency"],
    ))
});

/// Records a response clock (once per incident and step).
pub fn observe_clock(step: &str, incident: &IncidentRecord, at: DateTime<Utc>) {
    let seconds = (at - incident.received_at).num_milliseconds().max(0) as f64 / 1000.0;
    let priority = pingan_proto::common::v1::Priority::try_from(incident.priority)
        .map(|p| p.as_str_name().trim_start_matches("PRIORITY_").to_owned())
        .unwrap_or_default();
    if let Some(histogram) = RESPONSE_SECONDS.as_ref() {
        histogram
            .with_label_values(&[step, &priority])
            .observe(seconds);
    }
}

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
    pub async fn write(self, tx: &mut Tx) -> Result<(), ApiError> {
        Store::insert_entry(tx, &self.record).await?;
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
    let event = IncidentStatusChanged {
        incident_id: incident.incident_id.clone(),
        from_status: from as i32,
        to_status: to as i32,
        category: incident.category.clone(),
        priority: incident.priority,
        grid_id: incident.grid_id.clone(),
        station_id: incident.station_id.clone(),
        actor: Some(actor.clone()),
        at: Some(timestamp(at)),
        reason: reason.to_owned(),
    };
    context
        .outbox
        .enqueue(tx, &incident.incident_id, &event)
        .await?;
    Ok(from)
}

/// A protobuf timestamp.
pub fn timestamp(at: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: at.timestamp(),
        nanos: i32::try_from(at.timestamp_subsec_nanos()).unwrap_or(0),
    }
}

/// A protobuf timestamp as UTC, when valid.
pub fn from_timestamp(at: &prost_types::Timestamp) -> Option<DateTime<Utc>> {
    DateTime::<Utc>::from_timestamp(at.seconds, u32::try_from(at.nanos).ok()?)
}
