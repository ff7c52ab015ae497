//! Prevention outreach (story 10) with its statistics, and grid broadcasts.

use pingan_platform::auth::Role;
use pingan_platform::{ApiError, FieldViolations};
use pingan_proto::grid::v1 as pb;
use tonic::Request;

use super::convert::{self, millis};
use super::validate::optional_point;
use super::{GridRegistryApi, REGISTRY_KEEPERS};
use crate::app::{BroadcastRequest, scope};
use crate::domain::Outreach;
use crate::store::OutreachFilter;

/// Roles that may broadcast to a grid.
const BROADCASTERS: [Role; 5] = [
    Role::Admin,
    Role::StationOfficer,
    Role::Dispatcher,
    Role::CommandCenter,
    Role::Service,
];

impl GridRegistryApi {
    pub(super) async fn record_outreach_rpc(
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
        let held_at = r.held_at.as_ref().map(millis);
        if held_at.is_none() {
            v.add("held_at", "is required");
        }
        let location = optional_point(&mut v, "location", r.location.as_ref());
        v.finish()?;
        caller.require_any(&REGISTRY_KEEPERS)?;
        let event = Outreach {
            request_id: r.request_id,
            grid_id: r.grid_id,
            topics: r.topics,
            format: r.format,
            held_at: held_at.unwrap_or_default(),
            venue: r.venue,
            location,
            audience_size: r.audience_size,
            organizer_ids: r.organizer_ids,
            partners: r.partners,
            materials_distributed: r.materials_distributed,
            notes: r.notes,
            evidence_refs: r.evidence_refs,
            ..Outreach::default()
        };
        let event = self.app.record_outreach(&caller, event).await?;
        Ok(pb::RecordOutreachResponse {
            outreach: Some(convert::outreach(&event)),
        })
    }

    pub(super) async fn outreach_stats_rpc(
        &self,
        request: Request<pb::OutreachStatsRequest>,
    ) -> Result<pb::OutreachStatsResponse, ApiError> {
        let caller = self.reader(&request)?;
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
        let interval =
            pb::StatsInterval::try_from(r.interval).unwrap_or(pb::StatsInterval::Unspecified);
        let stats = self
            .app
            .outreach_stats(&filter, &r.topics, interval)
            .await?;
        Ok(pb::OutreachStatsResponse {
            rows: stats.rows.iter().map(convert::stats_row).collect(),
            topic_totals: stats.topic_totals.iter().map(convert::stats_row).collect(),
            grid_totals: stats.grid_totals.iter().map(convert::stats_row).collect(),
            total_events: stats.total_events,
            total_audience: stats.total_audience,
        })
    }

    pub(super) async fn broadcast_rpc(
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
        let request = BroadcastRequest {
            request_id: r.request_id,
            grid_id: r.grid_id,
            audiences: r.audiences,
            channels: r.channels,
            title: r.title,
            message: r.message,
            dispatch_id: r.dispatch_id,
            incident_id: r.incident_id,
        };
        let broadcast = self.app.broadcast(&caller, request).await?;
        Ok(pb::BroadcastToGridResponse {
            broadcast: Some(convert::broadcast(&broadcast)),
        })
    }
}
