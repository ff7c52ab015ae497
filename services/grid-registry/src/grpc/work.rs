//! Inspections (story 8), outreach (story 10) and grid broadcasts.

use pingan_platform::auth::Role;
use pingan_platform::{ApiError, FieldViolations};
use pingan_proto::grid::v1 as pb;
use tonic::Request;

use super::convert::{self, millis};
use super::{
    GridRegistryApi, REGISTRY_KEEPERS, next_token, optional_point, page, require_enum, scope,
};
use crate::domain::inspection::{ItemInput, ResultError, complete};
use crate::domain::outreach::aggregate;
use crate::domain::*;
use crate::notify::Outgoing;
use crate::store::{Inserted, OutreachFilter, ReinspectionFilter};

/// Roles that run inspections.
const INSPECTORS: [Role; 4] = [
    Role::Admin,
    Role::StationOfficer,
    Role::VillageOfficer,
    Role::Inspector,
];
/// Roles that may broadcast to a grid.
const BROADCASTERS: [Role; 5] = [
    Role::Admin,
    Role::StationOfficer,
    Role::Dispatcher,
    Role::CommandCenter,
    Role::Service,
];

impl GridRegistryApi {
    pub(super) async fn start_inspection_impl(
        &self,
        request: Request<pb::StartInspectionRequest>,
    ) -> Result<pb::StartInspectionResponse, ApiError> {
        let caller = self.caller(&request)?;
        let r = request.into_inner();
        let mut v = FieldViolations::default();
        v.require_non_empty("premises_id", &r.premises_id);
        let template = self.templates.get(&r.template_id);
        if template.is_none() {
            v.add("template_id", "unknown template");
        }
        v.finish()?;
        let template =
            template.ok_or_else(|| ApiError::invalid("template_id", "unknown template"))?;
        caller.require_any(&INSPECTORS)?;
        let premises = self
            .store
            .premises(&r.premises_id)
            .await?
            .filter(|p| caller.can_see_station(&p.station_id))
            .ok_or_else(|| ApiError::invalid("premises_id", "unknown premises"))?;
        if !r.reinspection_of.is_empty() {
            let original = self
                .store
                .inspection(&r.reinspection_of)
                .await?
                .filter(|o| o.premises_id == premises.premises_id)
                .ok_or_else(|| {
                    ApiError::invalid("reinspection_of", "unknown inspection of these premises")
                })?;
            if original.status != pb::InspectionStatus::RectificationRequired as i32 {
                return Err(ApiError::FailedPrecondition(
                    "only a failed inspection can be re-inspected".into(),
                ));
            }
        }
        let now = self.now();
        let inspection = Inspection {
            inspection_id: uuid::Uuid::now_v7().to_string(),
            request_id: r.request_id,
            premises_id: premises.premises_id.clone(),
            premises_name: premises.name.clone(),
            premises_kind: premises.kind,
            grid_id: premises.grid_id.clone(),
            station_id: premises.station_id.clone(),
            template_id: template.template_id.clone(),
            template_version: template.version.clone(),
            items: template.checklist(),
            status: pb::InspectionStatus::InProgress as i32,
            reinspection_of: r.reinspection_of,
            inspector_officer_ids: if r.inspector_officer_ids.is_empty() {
                vec![caller.subject.clone()]
            } else {
                r.inspector_officer_ids
            },
            campaign: r.campaign,
            started_at: r.started_at.as_ref().map_or(now, millis),
            updated_at: now,
            ..Inspection::default()
        };
        let audit = Self::audit(
            &caller,
            "StartInspection",
            "inspection",
            &inspection.inspection_id,
        )
        .station(&inspection.station_id)
        .detail(format!(
            "premises {} template {}",
            inspection.premises_id, inspection.template_id
        ));
        let inspection = self
            .audited(async |tx| {
                let inserted = self.store.insert_inspection(tx, &inspection).await?;
                let audit = matches!(inserted, Inserted::New(_)).then_some(audit);
                Ok((inserted.into_inner(), audit))
            })
            .await?;
        tracing::info!(inspection_id = %inspection.inspection_id, premises_id = %inspection.premises_id, "inspection started");
        Ok(pb::StartInspectionResponse {
            inspection: Some(convert::inspection(&inspection)),
        })
    }

    pub(super) async fn record_inspection_result_impl(
        &self,
        request: Request<pb::RecordInspectionResultRequest>,
    ) -> Result<pb::RecordInspectionResultResponse, ApiError> {
        let caller = self.caller(&request)?;
        let r = request.into_inner();
        let mut v = FieldViolations::default();
        v.require_non_empty("inspection_id", &r.inspection_id);
        for (i, h) in r.hazards.iter().enumerate() {
            v.require_non_empty(&format!("hazards[{i}].description"), &h.description);
            require_enum::<pb::HazardSeverity>(
                &mut v,
                &format!("hazards[{i}].severity"),
                h.severity,
            );
        }
        v.finish()?;
        caller.require_any(&INSPECTORS)?;
        let mut inspection = self
            .store
            .inspection(&r.inspection_id)
            .await?
            .filter(|i| caller.can_see_station(&i.station_id))
            .ok_or_else(|| ApiError::NotFound(format!("inspection {}", r.inspection_id)))?;
        if inspection.status != pb::InspectionStatus::InProgress as i32 {
            if !r.request_id.is_empty() && inspection.result_request_id == r.request_id {
                return Ok(pb::RecordInspectionResultResponse {
                    inspection: Some(convert::inspection(&inspection)),
                });
            }
            return Err(ApiError::FailedPrecondition(
                "inspection is not in progress".into(),
            ));
        }
        let now = self.now();
        let inputs: Vec<ItemInput> = r
            .results
            .into_iter()
            .map(|i| ItemInput {
                item_code: i.item_code,
                result: i.result,
                note: i.note,
                evidence_refs: i.evidence_refs,
            })
            .collect();
        let hazards = r
            .hazards
            .into_iter()
            .map(|h| Hazard {
                hazard_id: uuid::Uuid::now_v7().to_string(),
                item_code: h.item_code,
                description: h.description,
                severity: h.severity,
                required_action: h.required_action,
            })
            .collect();
        let deadline = r.rectification_deadline.as_ref().map(millis);
        let completed_at = r.completed_at.as_ref().map_or(now, millis);
        complete(
            &mut inspection,
            &inputs,
            hazards,
            deadline,
            r.summary,
            completed_at,
        )
        .map_err(|e| {
            let field = match &e {
                ResultError::UnknownItem { index } | ResultError::DuplicateItem { index } => {
                    format!("results[{index}].item_code")
                }
                ResultError::BadResult { index } => format!("results[{index}].result"),
                ResultError::FailWithoutNote { index } => format!("results[{index}].note"),
                ResultError::Missing(_) => "results".to_owned(),
                ResultError::DeadlineRequired => "rectification_deadline".to_owned(),
            };
            ApiError::invalid(&field, e.to_string())
        })?;
        inspection.result_request_id = r.request_id;
        let mut original = None;
        if !inspection.reinspection_of.is_empty()
            && let Some(mut first) = self.store.inspection(&inspection.reinspection_of).await?
        {
            first.reinspection_id = inspection.inspection_id.clone();
            if inspection.status == pb::InspectionStatus::Passed as i32 {
                first.status = pb::InspectionStatus::Rectified as i32;
            }
            first.updated_at = now;
            original = Some(first);
        }
        let premises = self
            .store
            .premises(&inspection.premises_id)
            .await?
            .map(|mut premises| {
                premises.last_inspected_at = Some(completed_at);
                premises
            });
        let audit = Self::audit(
            &caller,
            "RecordInspectionResult",
            "inspection",
            &inspection.inspection_id,
        )
        .station(&inspection.station_id)
        .detail(format!(
            "premises {}: {}",
            inspection.premises_id,
            pb::InspectionStatus::try_from(inspection.status)
                .map(|status| status.as_str_name())
                .unwrap_or("UNKNOWN")
        ));
        self.audited(async |tx| {
            self.store
                .update_inspection(tx, &inspection, original.as_ref())
                .await?;
            if let Some(premises) = &premises {
                self.store.put_premises(tx, premises).await?;
            }
            Ok(((), Some(audit)))
        })
        .await?;
        tracing::info!(inspection_id = %inspection.inspection_id, status = inspection.status, "inspection results recorded");
        Ok(pb::RecordInspectionResultResponse {
            inspection: Some(convert::inspection(&inspection)),
        })
    }

    pub(super) async fn due_reinspections_impl(
        &self,
        request: Request<pb::ListDueReinspectionsRequest>,
    ) -> Result<pb::ListDueReinspectionsResponse, ApiError> {
        let caller = self.caller(&request)?;
        let r = request.into_inner();
        let mut v = FieldViolations::default();
        let page = page(&mut v, r.page_size, &r.page_token, 50, 500);
        v.finish()?;
        if !r.station_id.is_empty() {
            caller.require_station(&r.station_id)?;
        }
        let now = self.now();
        let due_before = match (r.due_before.as_ref().map(millis), r.only_overdue) {
            (Some(t), true) => Some(t.min(now)),
            (Some(t), false) => Some(t),
            (None, true) => Some(now),
            (None, false) => None,
        };
        let filter = ReinspectionFilter {
            scope: scope(&caller, &r.station_id, &r.grid_id, ""),
            premises_kind: r.premises_kind,
            due_before,
        };
        let found = self.store.due_reinspections(&filter, page).await?;
        Ok(pb::ListDueReinspectionsResponse {
            next_page_token: next_token(page, found.len()),
            inspections: found.iter().map(convert::inspection).collect(),
        })
    }

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
                let inserted = self.store.insert_outreach(tx, &event).await?;
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
        let events = self.store.outreach(&filter).await?;
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
            && let Some(done) = self.store.broadcast_by_request(&r.request_id).await?
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
                    for res in self.store.residents(&scope).await? {
                        recipients.push((*audience, res.resident_id, res.name, res.phone));
                    }
                }
                Ok(pb::BroadcastAudience::GridWorkers) => {
                    for o in self.store.officers(&grid.grid_id).await? {
                        recipients.push((*audience, o.officer_id, o.name, o.phone));
                    }
                }
                Ok(pb::BroadcastAudience::Merchants) => {
                    for p in self.store.premises_in_grid(&grid.grid_id).await? {
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
                let inserted = self.store.insert_broadcast(tx, &broadcast).await?;
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
