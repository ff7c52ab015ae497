//! The village officer's notebook (story 9): visits, needs, welfare visits due.

use pingan_platform::{ApiError, FieldViolations};
use pingan_proto::grid::v1 as pb;
use tonic::Request;

use super::convert::{self, millis};
use super::validate::{next_token, optional_point, page, require_enum};
use super::{GridRegistryApi, REGISTRY_KEEPERS};
use crate::app::scope;
use crate::domain::*;
use crate::store::NeedFilter;

impl GridRegistryApi {
    pub(super) async fn record_visit_rpc(
        &self,
        request: Request<pb::RecordVisitRequest>,
    ) -> Result<pb::RecordVisitResponse, ApiError> {
        let caller = self.caller(&request)?;
        let r = request.into_inner();
        let mut v = FieldViolations::default();
        if r.purpose != 0 && pb::VisitPurpose::try_from(r.purpose).is_err() {
            v.add("purpose", "unknown purpose");
        }
        let location = optional_point(&mut v, "location", r.location.as_ref());
        let now = self.app.now();
        let visited_at = r.visited_at.as_ref().map_or(now, millis);
        if visited_at > now + 3_600_000 {
            v.add("visited_at", "must not be in the future");
        }
        v.finish()?;
        caller.require_any(&REGISTRY_KEEPERS)?;
        let visit = Visit {
            request_id: r.request_id,
            resident_id: r.resident_id,
            premises_id: r.premises_id,
            officer_id: r.officer_id,
            purpose: r.purpose,
            visited_at,
            contacted: r.contacted,
            concern_raised: r.concern_raised,
            notes: r.notes,
            location,
            need_id: r.need_id,
            ..Visit::default()
        };
        let visit = self.app.record_visit(&caller, visit).await?;
        Ok(pb::RecordVisitResponse {
            visit: Some(convert::visit(&visit)),
        })
    }

    pub(super) async fn record_need_rpc(
        &self,
        request: Request<pb::RecordNeedRequest>,
    ) -> Result<pb::RecordNeedResponse, ApiError> {
        let caller = self.caller(&request)?;
        let r = request.into_inner();
        let mut v = FieldViolations::default();
        require_enum::<pb::NeedCategory>(&mut v, "category", r.category);
        v.require_non_empty("description", &r.description);
        v.require_max_chars("description", &r.description, 2000);
        v.finish()?;
        caller.require_any(&REGISTRY_KEEPERS)?;
        let need = Need {
            request_id: r.request_id,
            resident_id: r.resident_id,
            premises_id: r.premises_id,
            category: r.category,
            description: r.description,
            urgent: r.urgent,
            assigned_officer_id: r.assigned_officer_id,
            visit_id: r.visit_id,
            ..Need::default()
        };
        let due_at = r.due_at.as_ref().map(millis);
        let need = self.app.record_need(&caller, need, due_at).await?;
        Ok(pb::RecordNeedResponse {
            need: Some(convert::need(&need, self.app.now())),
        })
    }

    pub(super) async fn resolve_need_rpc(
        &self,
        request: Request<pb::ResolveNeedRequest>,
    ) -> Result<pb::ResolveNeedResponse, ApiError> {
        let caller = self.caller(&request)?;
        let r = request.into_inner();
        let mut v = FieldViolations::default();
        v.require_non_empty("need_id", &r.need_id);
        v.require_non_empty("resolution_note", &r.resolution_note);
        v.finish()?;
        caller.require_any(&REGISTRY_KEEPERS)?;
        let need = self
            .app
            .resolve_need(
                &caller,
                &r.need_id,
                r.resolution,
                &r.resolution_note,
                &r.referred_to,
            )
            .await?;
        Ok(pb::ResolveNeedResponse {
            need: Some(convert::need(&need, self.app.now())),
        })
    }

    pub(super) async fn list_open_needs_rpc(
        &self,
        request: Request<pb::ListOpenNeedsRequest>,
    ) -> Result<pb::ListOpenNeedsResponse, ApiError> {
        let caller = self.reader(&request)?;
        let r = request.into_inner();
        let mut v = FieldViolations::default();
        let page = page(&mut v, r.page_size, &r.page_token, 50, 500);
        v.finish()?;
        if !r.station_id.is_empty() {
            caller.require_station(&r.station_id)?;
        }
        let now = self.app.now();
        let filter = NeedFilter {
            scope: scope(&caller, &r.station_id, &r.grid_id, &r.officer_id),
            resident_id: r.resident_id,
            premises_id: r.premises_id,
            categories: r.categories,
            due_before: r.only_overdue.then_some(now),
        };
        let needs = self.app.open_needs(&filter, page).await?;
        Ok(pb::ListOpenNeedsResponse {
            next_page_token: next_token(page, needs.len()),
            needs: needs.iter().map(|n| convert::need(n, now)).collect(),
        })
    }

    pub(super) async fn welfare_due_rpc(
        &self,
        request: Request<pb::ListWelfareVisitsDueRequest>,
    ) -> Result<pb::ListWelfareVisitsDueResponse, ApiError> {
        let caller = self.reader(&request)?;
        let r = request.into_inner();
        let mut v = FieldViolations::default();
        let page = page(&mut v, r.page_size, &r.page_token, 50, 500);
        let interval = r.not_visited_within.as_ref().map(|d| d.seconds * 1000);
        if interval.is_some_and(|ms| ms <= 0) {
            v.add("not_visited_within", "must be positive");
        }
        v.finish()?;
        if !r.station_id.is_empty() {
            caller.require_station(&r.station_id)?;
        }
        let mut read = self.clear_read(&caller, "ListWelfareVisitsDue", "resident", &r.reason)?;
        let now = r.as_of.as_ref().map_or_else(|| self.app.now(), millis);
        let scope = scope(&caller, &r.station_id, &r.grid_id, &r.officer_id);
        let (due, total) = self
            .app
            .welfare_due(&scope, &r.tags, interval, now, page)
            .await?;
        let start = usize::try_from(page.offset).unwrap_or(usize::MAX);
        let take = usize::try_from(page.limit).unwrap_or(0);
        let entries: Vec<pb::WelfareVisitDue> = due
            .iter()
            .map(|d| pb::WelfareVisitDue {
                resident: Some(
                    self.presenter(&caller, &d.resident.station_id)
                        .resident(&d.resident, now),
                ),
                officer_id: d.officer_id.clone(),
                last_visit_at: convert::ts_opt(d.resident.last_visit_at),
                due_at: convert::ts(d.due_at),
                overdue_by: convert::duration(d.overdue_by),
                open_needs: i32::try_from(d.open_needs).unwrap_or(i32::MAX),
            })
            .collect();
        if let Some(read) = read.as_mut() {
            for (entry, d) in entries.iter().zip(&due) {
                if let Some(shown) = &entry.resident {
                    read.show(
                        &d.resident.station_id,
                        &shown.resident_id,
                        &[
                            ("id_number", &shown.id_number),
                            ("phone", &shown.phone),
                            ("emergency_contact_phone", &shown.emergency_contact_phone),
                        ],
                    );
                }
            }
        }
        self.audit_clear_read(&caller, read).await?;
        Ok(pb::ListWelfareVisitsDueResponse {
            next_page_token: if start.saturating_add(take) < total {
                (page.offset + page.limit).to_string()
            } else {
                String::new()
            },
            entries,
        })
    }
}
