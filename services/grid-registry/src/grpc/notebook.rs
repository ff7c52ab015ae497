//! The village officer's notebook (story 9): visits, needs, welfare visits due.

use pingan_platform::{ApiError, FieldViolations};
use pingan_proto::grid::v1 as pb;
use tonic::Request;

use super::convert::{self, millis};
use super::{GridRegistryApi, REGISTRY_KEEPERS, next_token, optional_point, page, scope};
use crate::domain::notebook::{self, NeedError};
use crate::domain::*;
use crate::store::{Inserted, NeedFilter};

/// The grid and station of the resident or premises a note is about.
struct Subject {
    grid_id: String,
    station_id: String,
}

impl GridRegistryApi {
    /// Exactly one of resident or premises, which must exist in the caller's jurisdiction.
    async fn subject(
        &self,
        caller: &pingan_platform::auth::Caller,
        resident_id: &str,
        premises_id: &str,
    ) -> Result<Subject, ApiError> {
        let subject = match (resident_id.is_empty(), premises_id.is_empty()) {
            (false, true) => self
                .store()
                .await?
                .resident(resident_id)
                .await?
                .map(|r| Subject {
                    grid_id: r.grid_id,
                    station_id: r.station_id,
                }),
            (true, false) => self
                .store()
                .await?
                .premises(premises_id)
                .await?
                .map(|p| Subject {
                    grid_id: p.grid_id,
                    station_id: p.station_id,
                }),
            _ => {
                return Err(ApiError::invalid(
                    "resident_id",
                    "exactly one of resident_id and premises_id is required",
                ));
            }
        };
        let field = if resident_id.is_empty() {
            "premises_id"
        } else {
            "resident_id"
        };
        let subject = subject.ok_or_else(|| ApiError::invalid(field, "unknown record"))?;
        caller.require_station(&subject.station_id)?;
        Ok(subject)
    }

    pub(super) async fn record_visit_impl(
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
        let now = self.now();
        let visited_at = r.visited_at.as_ref().map_or(now, millis);
        if visited_at > now + 3_600_000 {
            v.add("visited_at", "must not be in the future");
        }
        v.finish()?;
        caller.require_any(&REGISTRY_KEEPERS)?;
        let subject = self
            .subject(&caller, &r.resident_id, &r.premises_id)
            .await?;
        let visit = Visit {
            visit_id: uuid::Uuid::now_v7().to_string(),
            request_id: r.request_id,
            resident_id: r.resident_id,
            premises_id: r.premises_id,
            grid_id: subject.grid_id,
            station_id: subject.station_id,
            officer_id: if r.officer_id.is_empty() {
                caller.subject.clone()
            } else {
                r.officer_id
            },
            purpose: r.purpose,
            visited_at,
            contacted: r.contacted,
            concern_raised: r.concern_raised,
            notes: r.notes,
            location,
            recorded_by: Self::actor(&caller),
            created_at: now,
        };
        let audit = Self::audit(&caller, "RecordVisit", "visit", &visit.visit_id)
            .station(&visit.station_id)
            .detail(format!(
                "visit to {}{}",
                visit.resident_id, visit.premises_id
            ));
        let visit = self
            .audited(async |tx| {
                let inserted = self.store().await?.insert_visit(tx, &visit).await?;
                let audit = matches!(inserted, Inserted::New(_)).then_some(audit);
                Ok((inserted.into_inner(), audit))
            })
            .await?;
        tracing::info!(visit_id = %visit.visit_id, grid_id = %visit.grid_id, "visit recorded");
        Ok(pb::RecordVisitResponse {
            visit: Some(convert::visit(&visit)),
        })
    }

    pub(super) async fn record_need_impl(
        &self,
        request: Request<pb::RecordNeedRequest>,
    ) -> Result<pb::RecordNeedResponse, ApiError> {
        let caller = self.caller(&request)?;
        let r = request.into_inner();
        let mut v = FieldViolations::default();
        super::require_enum::<pb::NeedCategory>(&mut v, "category", r.category);
        v.require_non_empty("description", &r.description);
        v.require_max_chars("description", &r.description, 2000);
        v.finish()?;
        caller.require_any(&REGISTRY_KEEPERS)?;
        let subject = self
            .subject(&caller, &r.resident_id, &r.premises_id)
            .await?;
        let now = self.now();
        let assigned = if r.assigned_officer_id.is_empty() {
            // The grid's village officer follows it up; else whoever recorded it.
            self.store()
                .await?
                .officers(&subject.grid_id)
                .await?
                .into_iter()
                .find(|o| o.role == pb::OfficerRole::VillageOfficer as i32)
                .map_or_else(|| caller.subject.clone(), |o| o.officer_id)
        } else {
            r.assigned_officer_id
        };
        let need = Need {
            need_id: uuid::Uuid::now_v7().to_string(),
            request_id: r.request_id,
            resident_id: r.resident_id,
            premises_id: r.premises_id,
            grid_id: subject.grid_id,
            station_id: subject.station_id,
            category: r.category,
            description: r.description,
            urgent: r.urgent,
            status: pb::NeedStatus::Open as i32,
            assigned_officer_id: assigned,
            due_at: r
                .due_at
                .as_ref()
                .map_or_else(|| notebook::default_due(r.category, r.urgent, now), millis),
            visit_id: r.visit_id,
            recorded_by: Self::actor(&caller),
            created_at: now,
            updated_at: now,
            ..Need::default()
        };
        let audit = Self::audit(&caller, "RecordNeed", "need", &need.need_id)
            .station(&need.station_id)
            .detail(format!(
                "need of {}{} assigned to {}",
                need.resident_id, need.premises_id, need.assigned_officer_id
            ));
        let need = self
            .audited(async |tx| {
                let inserted = self.store().await?.insert_need(tx, &need).await?;
                let audit = matches!(inserted, Inserted::New(_)).then_some(audit);
                Ok((inserted.into_inner(), audit))
            })
            .await?;
        tracing::info!(need_id = %need.need_id, grid_id = %need.grid_id, "need recorded");
        Ok(pb::RecordNeedResponse {
            need: Some(convert::need(&need, now)),
        })
    }

    pub(super) async fn resolve_need_impl(
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
        let mut need = self
            .store()
            .await?
            .need(&r.need_id)
            .await?
            .filter(|n| caller.can_see_station(&n.station_id))
            .ok_or_else(|| ApiError::NotFound(format!("need {}", r.need_id)))?;
        let now = self.now();
        // A repeat of the request that settled it answers the settled need.
        if need.status == r.resolution && need.resolution_note == r.resolution_note {
            return Ok(pb::ResolveNeedResponse {
                need: Some(convert::need(&need, now)),
            });
        }
        notebook::settle(
            &mut need,
            r.resolution,
            &r.resolution_note,
            &r.referred_to,
            Self::actor(&caller),
            now,
        )
        .map_err(|e| match e {
            NeedError::NotOpen => ApiError::FailedPrecondition("need is not open".into()),
            NeedError::BadResolution => ApiError::invalid("resolution", e.to_string()),
            NeedError::ReferredToRequired => ApiError::invalid("referred_to", e.to_string()),
        })?;
        let audit = Self::audit(&caller, "ResolveNeed", "need", &need.need_id)
            .station(&need.station_id)
            .detail(format!(
                "settled as {}",
                pb::NeedStatus::try_from(need.status)
                    .map(|status| status.as_str_name())
                    .unwrap_or("UNKNOWN")
            ));
        self.audited(async |tx| {
            if self.store().await?.settle_need(tx, &need).await? {
                Ok(((), Some(audit)))
            } else {
                Err(ApiError::FailedPrecondition("need is not open".into()))
            }
        })
        .await?;
        tracing::info!(need_id = %need.need_id, status = need.status, "need settled");
        Ok(pb::ResolveNeedResponse {
            need: Some(convert::need(&need, now)),
        })
    }

    pub(super) async fn list_open_needs_impl(
        &self,
        request: Request<pb::ListOpenNeedsRequest>,
    ) -> Result<pb::ListOpenNeedsResponse, ApiError> {
        let caller = self.caller(&request)?;
        let r = request.into_inner();
        let mut v = FieldViolations::default();
        let page = page(&mut v, r.page_size, &r.page_token, 50, 500);
        v.finish()?;
        if !r.station_id.is_empty() {
            caller.require_station(&r.station_id)?;
        }
        let now = self.now();
        let filter = NeedFilter {
            scope: scope(&caller, &r.station_id, &r.grid_id, &r.officer_id),
            resident_id: r.resident_id,
            premises_id: r.premises_id,
            categories: r.categories,
            due_before: r.only_overdue.then_some(now),
        };
        let needs = self.store().await?.open_needs(&filter, page).await?;
        Ok(pb::ListOpenNeedsResponse {
            next_page_token: next_token(page, needs.len()),
            needs: needs.iter().map(|n| convert::need(n, now)).collect(),
        })
    }

    pub(super) async fn welfare_due_impl(
        &self,
        request: Request<pb::ListWelfareVisitsDueRequest>,
    ) -> Result<pb::ListWelfareVisitsDueResponse, ApiError> {
        let caller = self.caller(&request)?;
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
        let now = r.as_of.as_ref().map_or_else(|| self.now(), millis);
        let residents = self
            .store()
            .await?
            .residents(&scope(&caller, &r.station_id, &r.grid_id, &r.officer_id))
            .await?;
        let mut due: Vec<(Resident, Millis, i64)> = residents
            .into_iter()
            .filter(|res| notebook::has_any_tag(res, &r.tags))
            .filter_map(|res| notebook::welfare_due(&res, interval, now).map(|(d, o)| (res, d, o)))
            .collect();
        due.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.resident_id.cmp(&b.0.resident_id)));
        let start = usize::try_from(page.offset).unwrap_or(usize::MAX);
        let take = usize::try_from(page.limit).unwrap_or(0);
        let mut entries = Vec::new();
        for (resident, due_at, overdue_by) in due.iter().skip(start).take(take) {
            let officer_id = if r.officer_id.is_empty() {
                self.store()
                    .await?
                    .officers(&resident.grid_id)
                    .await?
                    .into_iter()
                    .find(|o| o.role == pb::OfficerRole::VillageOfficer as i32)
                    .map(|o| o.officer_id)
                    .unwrap_or_default()
            } else {
                r.officer_id.clone()
            };
            entries.push(pb::WelfareVisitDue {
                resident: Some(
                    self.presenter(&caller, &resident.station_id)
                        .resident(resident, now),
                ),
                officer_id,
                last_visit_at: convert::ts_opt(resident.last_visit_at),
                due_at: convert::ts(*due_at),
                overdue_by: convert::duration(*overdue_by),
                open_needs: i32::try_from(
                    self.store()
                        .await?
                        .open_need_count(&resident.resident_id)
                        .await?,
                )
                .unwrap_or(i32::MAX),
            });
        }
        Ok(pb::ListWelfareVisitsDueResponse {
            next_page_token: if start.saturating_add(take) < due.len() {
                (page.offset + page.limit).to_string()
            } else {
                String::new()
            },
            entries,
        })
    }
}
