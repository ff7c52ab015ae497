//! Prevention outreach (story 10) with its statistics, and grid broadcasts.

use pingan_platform::auth::Role;
use pingan_platform::{ApiError, FieldViolations};
use pingan_proto::grid::v1 as pb;
use tonic::Request;

use super::convert::{self, millis};
use super::{GridRegistryApi, REGISTRY_KEEPERS, optional_point, scope};
use crate::domain::outreach::aggregate;
use crate::domain::*;
use crate::notify::Outgoing;
use crate::store::{Inserted, OutreachFilter};

/// Roles that may broadcast to a grid.
const BROADCASTERS: [Role; 5] = [
    Role::Admin,
    Role::StationOfficer,
    Role::Dispatcher,
    Role::CommandCenter,
    Role::Service,
];

impl GridRegistryApi {
    pub(super) async fn record_outreach_impl(
        &self,
        request: Request<pb::RecordOutreachRequest>,
    ) -> Result<pb::RecordOutreachResponse, ApiError> {
        let caller = self.caller(&request)?;
        let r = request.into_inner();
        let mut v = FieldViolations::default();
        v.require_non_empty("grid_id", &r.grid_id);
        if r.topics.is_empty() {
            v.add("topics", "at least one topic is required");
        }
        for (i, topic) in r.topics.iter().enumerate() {
            if *topic == 0 || pb::OutreachTopic::try_from(*topic).is_err() {
                v.add(&format!("topics[{i}]"), "unknown topic");
            }
        }
        if r.audience_size < 0 {
            v.add("audience_size", "must not be negative");
        }
        if r.held_at.is_none() {
            v.add("held_at", "is required");
        }
        let location = optional_point(&mut v, "location", r.location.as_ref());
        v.finish()?;
        caller.require_any(&REGISTRY_KEEPERS)?;
        let grid = self
            .grid_for(&caller, &r.grid_id)
            .await
            .map_err(|e| match e {
                ApiError::NotFound(_) => ApiError::invalid("grid_id", "unknown grid"),
                other => other,
            })?;
        let now = self.now();
        let mut topics = r.topics.clone();
        topics.sort_unstable();
        topics.dedup();
        let event = Outreach {
            outreach_id: uuid::Uuid::now_v7().to_string(),
            request_id: r.request_id,
            grid_id: grid.grid_id,
            station_id: grid.station_id,
            topics,
            format: r.format,
            held_at: r.held_at.as_ref().map_or(now, millis),
            venue: r.venue,
            location,
            audience_size: r.audience_size,
            organizer_ids: if r.organizer_ids.is_empty() {
                vec![caller.subject.clone()]
            } else {
                r.organizer_ids
            },
            partners: r.partners,
            materials_distributed: r.materials_distributed,
            notes: r.notes,
            evidence_refs: r.evidence_refs,
            recorded_by: Self::actor(&caller),
            created_at: now,
        };
        let audit = Self::audit(&caller, "RecordOutreach", "outreach", &event.outreach_id)
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
        Ok(pb::RecordOutreachResponse {
            outreach: Some(convert::outreach(&event)),
        })
    }

    pub(super) async fn outreach_stats_impl(
        &self,
        request: Request<pb::OutreachStatsRequest>,
    ) -> Result<pb::OutreachStatsResponse, ApiError> {
        let caller = self.caller(&request)?;
        let r = request.into_inner();
        if !r.station_id.is_empty() {
            caller.require_station(&r.station_id)?;
        }
        let period = r.period.unwrap_or_default();
        let filter = OutreachFilter {
            scope: scope(&caller, &r.station_id, "", ""),
            grid_ids: r.grid_ids,
            from: period.start.as_ref().map(millis),
            until: period.end.as_ref().map(millis),
        };
        let events = self.store().await?.outreach(&filter).await?;
        let interval =
            pb::StatsInterval::try_from(r.interval).unwrap_or(pb::StatsInterval::Unspecified);
        let stats = aggregate(&events, &r.topics, interval);
        Ok(pb::OutreachStatsResponse {
            rows: stats.rows.iter().map(convert::stats_row).collect(),
            topic_totals: stats.topic_totals.iter().map(convert::stats_row).collect(),
            grid_totals: stats.grid_totals.iter().map(convert::stats_row).collect(),
            total_events: stats.total_events,
            total_audience: stats.total_audience,
        })
    }

    pub(super) async fn broadcast_impl(
        &self,
        request: Request<pb::BroadcastToGridRequest>,
    ) -> Result<pb::BroadcastToGridResponse, ApiError> {
        let caller = self.caller(&request)?;
        let r = request.into_inner();
        let mut v = FieldViolations::default();
        v.require_non_empty("grid_id", &r.grid_id);
        v.require_non_empty("message", &r.message);
        v.require_max_chars("message", &r.message, 500);
        if r.audiences.is_empty() {
            v.add("audiences", "at least one audience is required");
        }
        for (i, a) in r.audiences.iter().enumerate() {
            if *a == 0 || pb::BroadcastAudience::try_from(*a).is_err() {
                v.add(&format!("audiences[{i}]"), "unknown audience");
            }
        }
        v.finish()?;
        caller.require_any(&BROADCASTERS)?;
        let grid = self.grid_for(&caller, &r.grid_id).await?;
        if !r.request_id.is_empty()
            && let Some(done) = self
                .store()
                .await?
                .broadcast_by_request(&r.request_id)
                .await?
        {
            return Ok(pb::BroadcastToGridResponse {
                broadcast: Some(convert::broadcast(&done)),
            });
        }
        let now = self.now();
        let broadcast_id = uuid::Uuid::now_v7().to_string();
        // (audience, recipient id, name, sealed contact)
        let mut recipients: Vec<(i32, String, String, SealedValue)> = Vec::new();
        for audience in &r.audiences {
            match pb::BroadcastAudience::try_from(*audience) {
                Ok(pb::BroadcastAudience::Residents) => {
                    let scope = scope(&caller, "", &grid.grid_id, "");
                    for res in self.store().await?.residents(&scope).await? {
                        recipients.push((*audience, res.resident_id, res.name, res.phone));
                    }
                }
                Ok(pb::BroadcastAudience::GridWorkers) => {
                    for o in self.store().await?.officers(&grid.grid_id).await? {
                        recipients.push((*audience, o.officer_id, o.name, o.phone));
                    }
                }
                Ok(pb::BroadcastAudience::Merchants) => {
                    for p in self.store().await?.premises_in_grid(&grid.grid_id).await? {
                        recipients.push((*audience, p.premises_id, p.name, p.contact_phone));
                    }
                }
                _ => {}
            }
        }
        let mut deliveries = Vec::with_capacity(recipients.len());
        for (audience, recipient_id, name, contact) in recipients {
            let channel = r.channels.first().copied().unwrap_or(
                if audience == pb::BroadcastAudience::GridWorkers as i32 {
                    pb::NotificationChannel::AppPush as i32
                } else {
                    pb::NotificationChannel::Sms as i32
                },
            );
            let (status, error) = if contact.is_empty() {
                (pb::DeliveryStatus::Skipped, String::new())
            } else {
                let clear = hex::decode(&contact.sealed)
                    .ok()
                    .and_then(|b| self.context.pii.decrypt(&b).ok())
                    .unwrap_or_default();
                let outgoing = Outgoing {
                    broadcast_id: &broadcast_id,
                    recipient_id: &recipient_id,
                    contact: &clear,
                    contact_masked: &contact.masked,
                    channel,
                    title: &r.title,
                    message: &r.message,
                };
                self.notifier.send(&outgoing).await
            };
            deliveries.push(Delivery {
                delivery_id: uuid::Uuid::now_v7().to_string(),
                audience,
                recipient_id,
                recipient_name: name,
                contact_masked: contact.masked,
                channel,
                status: status as i32,
                error,
                attempted_at: now,
            });
        }
        let broadcast = Broadcast {
            broadcast_id,
            request_id: r.request_id,
            grid_id: grid.grid_id,
            station_id: grid.station_id,
            audiences: r.audiences,
            channels: r.channels,
            title: r.title,
            message: r.message,
            dispatch_id: r.dispatch_id,
            incident_id: r.incident_id,
            deliveries,
            sent_by: Self::actor(&caller),
            created_at: now,
        };
        let audit = Self::audit(
            &caller,
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
        Ok(pb::BroadcastToGridResponse {
            broadcast: Some(convert::broadcast(&broadcast)),
        })
    }
}
