//! Locating an incident: a point goes to LocateGrid; an address without a point is resolved
//! against grid-registry's standard addresses (一标三实) and takes that address's location and
//! grid. An incident that cannot be located is routed as far as it can be (classified) and then
//! held for a dispatcher: flagged as needing a location, never retried in a loop.

use std::time::Duration;

use chrono::{DateTime, Utc};
use pingan_platform::storage::Tx;
use pingan_platform::{ApiError, ServiceContext};
use pingan_proto::common::v1::Channel;
use pingan_proto::grid::v1::LocateGridResponse;
use pingan_proto::intake::v1::{IncidentStatus, TimelineEntryKind};

use crate::app::peers::{self, HopError};
use crate::app::timeline::{Entry, intake_actor};
use crate::domain::{self, IncidentRecord, Route};
use crate::events::outbound;
use crate::store::Store;

/// The pending reason of an incident held for a location (also what 12345 is told).
pub const NEEDS_LOCATION: &str =
    "needs location: no coordinates and the address is not a known standard address";

/// Where the locate step got to.
#[derive(Debug, Clone)]
pub enum Located {
    /// In a grid; `resolved` is the standard address's point when the incident had none.
    Grid {
        grid: LocateGridResponse,
        resolved: Option<(f64, f64, String)>,
    },
    /// A point outside every grid.
    Outside,
    /// No point, and the address is no known standard address.
    Unresolvable,
}

impl Located {
    /// `incident` as the next steps' requests see it once located (a resolved address's point).
    pub fn preview(&self, incident: &mut IncidentRecord) {
        if let Self::Grid {
            resolved: Some((lat, lon, _)),
            ..
        } = self
        {
            incident.has_location = true;
            incident.lat = *lat;
            incident.lon = *lon;
        }
    }
}

/// Whether an incident is held for a location: it has none and the locate step is over.
pub fn needs_location(incident: &IncidentRecord) -> bool {
    !incident.has_location
        && incident.grid_located
        && incident.status() == IncidentStatus::Classified
        && !incident.routing_pending
}

/// Whether a classified incident must not go on to dispatch yet: it has no location to send.
pub fn must_wait_for_location(incident: &IncidentRecord) -> bool {
    let channel_12345 = incident.channel == Channel::Channel12345 as i32;
    incident.status() == IncidentStatus::Classified
        && !incident.has_location
        && domain::route_for(incident.kind(), channel_12345, incident.police_override)
            == Route::Dispatch
}

/// Asks grid-registry where `incident` is; `Err` when it did not answer (the step is retried
/// later, the other steps go on meanwhile). Nothing is written: see [`apply`].
pub async fn find(
    context: &ServiceContext,
    deadline: Duration,
    incident: &IncidentRecord,
) -> Result<Located, HopError> {
    if incident.has_location {
        return match peers::locate(context, deadline, incident.lat, incident.lon).await {
            Ok(grid) => Ok(Located::Grid {
                grid,
                resolved: None,
            }),
            Err(HopError::NotFound(_)) => Ok(Located::Outside),
            Err(err) => Err(err),
        };
    }
    if incident.address.trim().is_empty() {
        return Ok(Located::Unresolvable);
    }
    match peers::resolve_address(context, deadline, &incident.address).await {
        Ok(found) => Ok(match found.location {
            Some(point) => Located::Grid {
                resolved: Some((point.lat, point.lon, found.address_id.clone())),
                grid: LocateGridResponse {
                    grid_id: found.grid_id,
                    station_id: found.station_id,
                    grid_name: found.grid_name,
                    station_name: found.station_name,
                    station_kind: found.station_kind,
                    ..LocateGridResponse::default()
                },
            },
            None => Located::Unresolvable,
        }),
        Err(HopError::NotFound(_)) => Ok(Located::Unresolvable),
        Err(err) => Err(err),
    }
}

/// Writes what the locate step found on `incident` (locked in `tx`; the caller saves it): its
/// grid, a resolved point, and the timeline entry.
pub async fn apply(
    store: &dyn Store,
    tx: &mut Tx,
    incident: &mut IncidentRecord,
    located: &Located,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    incident.grid_located = true;
    let (summary, related) = match located {
        Located::Grid { grid, resolved } => {
            incident.grid_id = grid.grid_id.clone();
            incident.station_id = grid.station_id.clone();
            incident.station_kind = grid.station_kind;
            let mut summary = format!(
                "grid {} {} (station {} {})",
                grid.grid_id, grid.grid_name, grid.station_id, grid.station_name
            );
            if let Some((lat, lon, address_id)) = resolved {
                incident.has_location = true;
                incident.lat = *lat;
                incident.lon = *lon;
                store
                    .set_location(tx, &incident.incident_id, *lat, *lon)
                    .await?;
                summary = format!("address resolved to standard address {address_id}: {summary}");
            }
            (summary, grid.grid_id.clone())
        }
        Located::Outside => ("outside every grid".to_owned(), String::new()),
        Located::Unresolvable => (NEEDS_LOCATION.to_owned(), String::new()),
    };
    Entry::new(
        &incident.incident_id,
        TimelineEntryKind::GridLocated,
        now,
        &intake_actor(),
        "grid-registry",
        summary,
    )
    .related(&related)
    .write(store, tx)
    .await
}

/// Holds a classified incident for a dispatcher (no location, or a peer refused the request):
/// routing stops (no retry loop) with a visible reason, written on the timeline once. Applied
/// to `incident` locked in `tx`; the caller saves it.
pub async fn hold_in(
    context: &ServiceContext,
    store: &dyn Store,
    tx: &mut Tx,
    incident: &mut IncidentRecord,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let id = incident.incident_id.clone();
    if incident.pending_reason != reason {
        Entry::new(
            &id,
            TimelineEntryKind::RoutingDeferred,
            now,
            &intake_actor(),
            crate::SHORT_NAME,
            reason,
        )
        .write(store, tx)
        .await?;
        incident.pending_reason = reason.to_owned();
        // A 12345 ticket: triage tells 12345 (once a ticket), whenever the hold happens.
        if reason == NEEDS_LOCATION
            && incident.channel == Channel::Channel12345 as i32
            && !incident.transfer_id.is_empty()
        {
            let event = outbound::needs_location(incident, NEEDS_LOCATION, now);
            context.outbox.enqueue(tx, &id, &event).await?;
        }
    }
    incident.routing_pending = false;
    tracing::info!(incident_id = %id, reason, "incident held for a dispatcher");
    Ok(())
}
