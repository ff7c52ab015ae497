//! The read side: ListPremises, GetInspection, ListInspections, ListInspectionTemplates,
//! ListNeeds, GetNeed and ListVisits. Each validates its filters (field violations), checks a
//! named station against the caller's jurisdiction and scopes the listing by it, as the other
//! listings of the registry do.

use pingan_platform::{ApiError, FieldViolations};
use pingan_proto::grid::v1 as pb;
use tonic::Request;

use super::GridRegistryApi;
use super::convert::{self, duration, ts, ts_opt};
use super::validate::{enum_list, optional_enum, paged, period, probe, strict_page};
use crate::app::{PremisesView, scope};
use crate::domain::inspection::Template;
use crate::domain::reads::{NeedEvent, need_states};
use crate::store::{InspectionFilter, NeedQuery, PremisesFilter, VisitFilter};

/// Default and largest page of the read side.
const PAGE_DEFAULT: i64 = 50;
const PAGE_MAX: i64 = 500;
const DAY_MS: i64 = 86_400_000;

impl GridRegistryApi {
    pub(super) async fn list_premises_rpc(
        &self,
        request: Request<pb::ListPremisesRequest>,
    ) -> Result<pb::ListPremisesResponse, ApiError> {
        let caller = self.reader(&request)?;
        let r = request.into_inner();
        let mut v = FieldViolations::default();
        let page = strict_page(&mut v, r.page_size, &r.page_token, PAGE_DEFAULT, PAGE_MAX);
        optional_enum::<pb::PremisesKind>(&mut v, "kind", r.kind);
        v.finish()?;
        if !r.station_id.is_empty() {
            caller.require_station(&r.station_id)?;
        }
        let filter = PremisesFilter {
            scope: scope(&caller, &r.station_id, &r.grid_id, ""),
            kind: r.kind,
        };
        let mut read = self.clear_read(&caller, "ListPremises", "premises", &r.reason)?;
        let found = self.app.list_premises(&filter, probe(page)).await?;
        let (found, next_page_token) = paged(page, found);
        let now = self.app.now();
        let premises: Vec<pb::PremisesStanding> = found
            .iter()
            .map(|view| self.standing(&caller, view, now))
            .collect();
        if let Some(read) = read.as_mut() {
            for standing in &premises {
                if let Some(p) = &standing.premises {
                    read.show(
                        &standing.station_id,
                        &p.premises_id,
                        &[("contact_phone", &p.contact_phone)],
                    );
                }
            }
        }
        self.audit_clear_read(&caller, read).await?;
        Ok(pb::ListPremisesResponse {
            premises,
            next_page_token,
        })
    }

    fn standing(
        &self,
        caller: &pingan_platform::auth::Caller,
        view: &PremisesView,
        now: i64,
    ) -> pb::PremisesStanding {
        let p = &view.premises;
        let last = view.last.as_ref();
        pb::PremisesStanding {
            premises: Some(self.presenter(caller, &p.station_id).premises(p)),
            station_id: p.station_id.clone(),
            last_inspection_id: last.map(|i| i.inspection_id.clone()).unwrap_or_default(),
            last_result: last.map_or(0, |i| i.status),
            last_inspected_at: ts_opt(last.and_then(|i| i.completed_at)),
            next_due_at: ts(view.standing.next_due_at),
            next_due_reason: view.standing.reason as i32,
            overdue: view.standing.next_due_at <= now,
        }
    }

    pub(super) async fn get_inspection_rpc(
        &self,
        request: Request<pb::GetInspectionRequest>,
    ) -> Result<pb::GetInspectionResponse, ApiError> {
        let caller = self.reader(&request)?;
        let r = request.into_inner();
        let mut v = FieldViolations::default();
        v.require_non_empty("inspection_id", &r.inspection_id);
        v.finish()?;
        let inspection = self.app.inspection(&caller, &r.inspection_id).await?;
        Ok(pb::GetInspectionResponse {
            inspection: Some(convert::inspection(&inspection)),
        })
    }

    pub(super) async fn list_inspections_rpc(
        &self,
        request: Request<pb::ListInspectionsRequest>,
    ) -> Result<pb::ListInspectionsResponse, ApiError> {
        let caller = self.reader(&request)?;
        let r = request.into_inner();
        let mut v = FieldViolations::default();
        let page = strict_page(&mut v, r.page_size, &r.page_token, PAGE_DEFAULT, PAGE_MAX);
        optional_enum::<pb::InspectionStatus>(&mut v, "status", r.status);
        optional_enum::<pb::PremisesKind>(&mut v, "premises_kind", r.premises_kind);
        let (from, until) = period(&mut v, "period", r.period.as_ref());
        v.finish()?;
        if !r.station_id.is_empty() {
            caller.require_station(&r.station_id)?;
        }
        let filter = InspectionFilter {
            scope: scope(&caller, &r.station_id, &r.grid_id, ""),
            premises_id: r.premises_id,
            premises_kind: r.premises_kind,
            status: r.status,
            from,
            until,
        };
        let found = self.app.list_inspections(&filter, probe(page)).await?;
        let (found, next_page_token) = paged(page, found);
        Ok(pb::ListInspectionsResponse {
            inspections: found.iter().map(convert::inspection).collect(),
            next_page_token,
        })
    }

    pub(super) async fn list_templates_rpc(
        &self,
        request: Request<pb::ListInspectionTemplatesRequest>,
    ) -> Result<pb::ListInspectionTemplatesResponse, ApiError> {
        self.caller(&request)?;
        let r = request.into_inner();
        let mut v = FieldViolations::default();
        let page = strict_page(&mut v, r.page_size, &r.page_token, PAGE_DEFAULT, PAGE_MAX);
        optional_enum::<pb::PremisesKind>(&mut v, "premises_kind", r.premises_kind);
        v.finish()?;
        let all: Vec<&Template> = self
            .app
            .templates()
            .all()
            .into_iter()
            .filter(|t| r.premises_kind == 0 || t.premises_kinds.contains(&r.premises_kind))
            .collect();
        let skip = usize::try_from(page.offset).unwrap_or(usize::MAX);
        let take = usize::try_from(probe(page).limit).unwrap_or(usize::MAX);
        let rows: Vec<&Template> = all.into_iter().skip(skip).take(take).collect();
        let (rows, next_page_token) = paged(page, rows);
        Ok(pb::ListInspectionTemplatesResponse {
            templates: rows.into_iter().map(template).collect(),
            next_page_token,
        })
    }

    pub(super) async fn list_needs_rpc(
        &self,
        request: Request<pb::ListNeedsRequest>,
    ) -> Result<pb::ListNeedsResponse, ApiError> {
        let caller = self.reader(&request)?;
        let r = request.into_inner();
        let mut v = FieldViolations::default();
        let page = strict_page(&mut v, r.page_size, &r.page_token, PAGE_DEFAULT, PAGE_MAX);
        enum_list::<pb::NeedCategory>(&mut v, "categories", &r.categories);
        enum_list::<pb::NeedStatus>(&mut v, "statuses", &r.statuses);
        optional_enum::<pb::NeedSettlement>(&mut v, "settlement", r.settlement);
        let (from, until) = period(&mut v, "period", r.period.as_ref());
        v.finish()?;
        if !r.station_id.is_empty() {
            caller.require_station(&r.station_id)?;
        }
        let settlement =
            pb::NeedSettlement::try_from(r.settlement).unwrap_or(pb::NeedSettlement::Unspecified);
        let Some(statuses) = need_states(&r.statuses, settlement) else {
            // The statuses asked for are all excluded by the settlement: nothing can match.
            return Ok(pb::ListNeedsResponse::default());
        };
        let query = NeedQuery {
            scope: scope(&caller, &r.station_id, &r.grid_id, &r.officer_id),
            resident_id: r.resident_id,
            premises_id: r.premises_id,
            categories: r.categories,
            statuses,
            from,
            until,
        };
        let found = self.app.list_needs(&query, probe(page)).await?;
        let (found, next_page_token) = paged(page, found);
        let now = self.app.now();
        Ok(pb::ListNeedsResponse {
            needs: found.iter().map(|n| convert::need(n, now)).collect(),
            next_page_token,
        })
    }

    pub(super) async fn get_need_rpc(
        &self,
        request: Request<pb::GetNeedRequest>,
    ) -> Result<pb::GetNeedResponse, ApiError> {
        let caller = self.reader(&request)?;
        let r = request.into_inner();
        let mut v = FieldViolations::default();
        v.require_non_empty("need_id", &r.need_id);
        v.finish()?;
        let view = self.app.need_view(&caller, &r.need_id).await?;
        Ok(pb::GetNeedResponse {
            need: Some(convert::need(&view.need, self.app.now())),
            visits: view.visits.iter().map(convert::visit).collect(),
            history: view.history.iter().map(need_event).collect(),
        })
    }

    pub(super) async fn list_visits_rpc(
        &self,
        request: Request<pb::ListVisitsRequest>,
    ) -> Result<pb::ListVisitsResponse, ApiError> {
        let caller = self.reader(&request)?;
        let r = request.into_inner();
        let mut v = FieldViolations::default();
        let page = strict_page(&mut v, r.page_size, &r.page_token, PAGE_DEFAULT, PAGE_MAX);
        optional_enum::<pb::VisitPurpose>(&mut v, "purpose", r.purpose);
        let (from, until) = period(&mut v, "period", r.period.as_ref());
        v.finish()?;
        if !r.station_id.is_empty() {
            caller.require_station(&r.station_id)?;
        }
        let filter = VisitFilter {
            scope: scope(&caller, &r.station_id, &r.grid_id, &r.officer_id),
            resident_id: r.resident_id,
            premises_id: r.premises_id,
            purpose: r.purpose,
            need_id: r.need_id,
            from,
            until,
        };
        let found = self.app.list_visits(&filter, probe(page)).await?;
        let (found, next_page_token) = paged(page, found);
        Ok(pb::ListVisitsResponse {
            visits: found.iter().map(convert::visit).collect(),
            next_page_token,
        })
    }
}

fn template(t: &Template) -> pb::InspectionTemplate {
    pb::InspectionTemplate {
        template_id: t.template_id.clone(),
        version: t.version.clone(),
        name: t.name.clone(),
        premises_kinds: t.premises_kinds.clone(),
        items: t
            .items
            .iter()
            .map(|i| pb::InspectionTemplateItem {
                item_code: i.item_code.clone(),
                description: i.description.clone(),
            })
            .collect(),
        interval: duration(t.interval_days().saturating_mul(DAY_MS)),
    }
}

fn need_event(e: &NeedEvent) -> pb::NeedEvent {
    pb::NeedEvent {
        kind: e.kind as i32,
        at: ts(e.at),
        actor: Some(convert::actor(&e.actor)),
        visit_id: e.visit_id.clone(),
        status: e.status,
        note: e.note.clone(),
    }
}
