//! Prevention outreach (story 10) with its statistics, and grid broadcasts.

use pingan_platform::ApiError;
use pingan_platform::auth::Caller;
use pingan_proto::grid::v1 as pb;

use super::{Registry, scope};
use crate::domain::outreach::{Stats, aggregate};
use crate::domain::*;
use crate::notify::Outgoing;
use crate::store::{Inserted, OutreachFilter};

/// A message to the people of a grid.
#[derive(Debug, Clone, Default)]
pub struct BroadcastRequest {
    pub request_id: String,
    pub grid_id: String,
    pub audiences: Vec<i32>,
    /// Empty: SMS, app push for grid workers.
    pub channels: Vec<i32>,
    pub title: String,
    pub message: String,
    pub dispatch_id: String,
    pub incident_id: String,
}

/// One person a broadcast goes to.
struct Recipient {
    audience: i32,
    id: String,
    name: String,
    contact: SealedValue,
}

impl Registry {
    /// Records an outreach event in a known grid; a repeated request id answers the first.
    pub async fn record_outreach(
        &self,
        caller: &Caller,
        mut event: Outreach,
    ) -> Result<Outreach, ApiError> {
        let grid = self.known_grid(caller, &event.grid_id, "grid_id").await?;
        let now = self.now();
        event.topics.sort_unstable();
        event.topics.dedup();
        event.outreach_id = uuid::Uuid::now_v7().to_string();
        event.grid_id = grid.grid_id;
        event.station_id = grid.station_id;
        if event.organizer_ids.is_empty() {
            event.organizer_ids = vec![caller.subject.clone()];
        }
        event.recorded_by = Self::actor(caller);
        event.created_at = now;
        let audit = Self::audit(caller, "RecordOutreach", "outreach", &event.outreach_id)
            .station(&event.station_id)
            .detail(format!("grid {}", event.grid_id));
        let event = self
            .audited(async |tx| {
                let inserted = self.store().await?.insert_outreach(tx, &event).await?;
                let audit = matches!(inserted, Inserted::New(_)).then_some(audit);
                Ok((inserted.into_inner(), audit))
            })
            .await?;
        tracing::info!(outreach_id = %event.outreach_id, grid_id = %event.grid_id, "outreach recorded");
        Ok(event)
    }

    /// Outreach statistics of the events in scope, for `topics` (empty: all) per `interval`.
    pub async fn outreach_stats(
        &self,
        filter: &OutreachFilter,
        topics: &[i32],
        interval: pb::StatsInterval,
    ) -> Result<Stats, ApiError> {
        let events = self.store().await?.outreach(filter).await?;
        Ok(aggregate(&events, topics, interval))
    }

    /// The people of a grid in `audiences`, with their sealed contact.
    async fn recipients(
        &self,
        caller: &Caller,
        grid_id: &str,
        audiences: &[i32],
    ) -> Result<Vec<Recipient>, ApiError> {
        let store = self.store().await?;
        let mut recipients = Vec::new();
        for &audience in audiences {
            match pb::BroadcastAudience::try_from(audience) {
                Ok(pb::BroadcastAudience::Residents) => {
                    let scope = scope(caller, "", grid_id, "");
                    for r in store.residents(&scope).await? {
                        recipients.push(Recipient {
                            audience,
                            id: r.resident_id,
                            name: r.name,
                            contact: r.phone,
                        });
                    }
                }
                Ok(pb::BroadcastAudience::GridWorkers) => {
                    for o in store.officers(grid_id).await? {
                        recipients.push(Recipient {
                            audience,
                            id: o.officer_id,
                            name: o.name,
                            contact: o.phone,
                        });
                    }
                }
                Ok(pb::BroadcastAudience::Merchants) => {
                    for p in store.premises_in_grid(grid_id).await? {
                        recipients.push(Recipient {
                            audience,
                            id: p.premises_id,
                            name: p.name,
                            contact: p.contact_phone,
                        });
                    }
                }
                _ => {}
            }
        }
        Ok(recipients)
    }

    /// Sends a message to the people of a grid and records each delivery; a repeated request
    /// id answers the first broadcast without sending again.
    pub async fn broadcast(
        &self,
        caller: &Caller,
        request: BroadcastRequest,
    ) -> Result<Broadcast, ApiError> {
        let grid = self.grid_for(caller, &request.grid_id).await?;
        if !request.request_id.is_empty()
            && let Some(done) = self
                .store()
                .await?
                .broadcast_by_request(&request.request_id)
                .await?
        {
            return Ok(done);
        }
        let now = self.now();
        let broadcast_id = uuid::Uuid::now_v7().to_string();
        let recipients = self
            .recipients(caller, &grid.grid_id, &request.audiences)
            .await?;
        let mut deliveries = Vec::with_capacity(recipients.len());
        for recipient in recipients {
            let channel = request.channels.first().copied().unwrap_or(
                if recipient.audience == pb::BroadcastAudience::GridWorkers as i32 {
                    pb::NotificationChannel::AppPush as i32
                } else {
                    pb::NotificationChannel::Sms as i32
                },
            );
            let (status, error) = if recipient.contact.is_empty() {
                (pb::DeliveryStatus::Skipped, String::new())
            } else {
                let clear = hex::decode(&recipient.contact.sealed)
                    .ok()
                    .and_then(|b| self.context.pii.decrypt(&b).ok())
                    .unwrap_or_default();
                let outgoing = Outgoing {
                    broadcast_id: &broadcast_id,
                    recipient_id: &recipient.id,
                    contact: &clear,
                    contact_masked: &recipient.contact.masked,
                    channel,
                    title: &request.title,
                    message: &request.message,
                };
                self.notifier.send(&outgoing).await
            };
            deliveries.push(Delivery {
                delivery_id: uuid::Uuid::now_v7().to_string(),
                audience: recipient.audience,
                recipient_id: recipient.id,
                recipient_name: recipient.name,
                contact_masked: recipient.contact.masked,
                channel,
                status: status as i32,
                error,
                attempted_at: now,
            });
        }
        let broadcast = Broadcast {
            broadcast_id,
            request_id: request.request_id,
            grid_id: grid.grid_id,
            station_id: grid.station_id,
            audiences: request.audiences,
            channels: request.channels,
            title: request.title,
            message: request.message,
            dispatch_id: request.dispatch_id,
            incident_id: request.incident_id,
            deliveries,
            sent_by: Self::actor(caller),
            created_at: now,
        };
        let audit = Self::audit(
            caller,
            "BroadcastToGrid",
            "broadcast",
            &broadcast.broadcast_id,
        )
        .station(&broadcast.station_id)
        .detail(format!(
            "grid {}, {} recipients",
            broadcast.grid_id,
            broadcast.deliveries.len()
        ));
        let broadcast = self
            .audited(async |tx| {
                let inserted = self.store().await?.insert_broadcast(tx, &broadcast).await?;
                let audit = matches!(inserted, Inserted::New(_)).then_some(audit);
                Ok((inserted.into_inner(), audit))
            })
            .await?;
        tracing::info!(broadcast_id = %broadcast.broadcast_id, grid_id = %broadcast.grid_id, recipients = broadcast.deliveries.len(), "grid broadcast sent");
        Ok(broadcast)
    }
}
