//! The village officer's notebook (story 9): visits, needs, welfare visits due.

use std::collections::HashMap;

use pingan_platform::ApiError;
use pingan_platform::auth::Caller;
use pingan_proto::grid::v1 as pb;

use super::Registry;
use crate::domain::notebook::{self, NeedError};
use crate::domain::*;
use crate::store::{Inserted, NeedFilter, Page, Scope};

/// The grid and station of the resident or premises a note is about.
#[derive(Debug, Clone)]
pub struct Subject {
    pub grid_id: String,
    pub station_id: String,
}

/// A resident whose welfare visit is due, with who should go and what is open.
#[derive(Debug, Clone)]
pub struct WelfareDue {
    pub resident: Resident,
    pub officer_id: String,
    pub due_at: Millis,
    pub overdue_by: i64,
    pub open_needs: i64,
}

/// The village officer of a grid among `officers`.
fn village_officer(officers: &[GridOfficer]) -> Option<&GridOfficer> {
    officers
        .iter()
        .find(|o| o.role == pb::OfficerRole::VillageOfficer as i32)
}

impl Registry {
    /// Exactly one of resident or premises, which must exist in the caller's jurisdiction.
    async fn subject(
        &self,
        caller: &Caller,
        resident_id: &str,
        premises_id: &str,
    ) -> Result<Subject, ApiError> {
        let store = self.store().await?;
        let subject = match (resident_id.is_empty(), premises_id.is_empty()) {
            (false, true) => store.resident(resident_id).await?.map(|r| Subject {
                grid_id: r.grid_id,
                station_id: r.station_id,
            }),
            (true, false) => store.premises(premises_id).await?.map(|p| Subject {
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

    /// The need a visit follows up: one of the same resident or premises, in the caller's
    /// jurisdiction (anything else is INVALID_ARGUMENT on `need_id`).
    async fn followed_need(&self, caller: &Caller, visit: &Visit) -> Result<Need, ApiError> {
        self.store()
            .await?
            .need(&visit.need_id)
            .await?
            .filter(|n| {
                caller.can_see_station(&n.station_id)
                    && n.resident_id == visit.resident_id
                    && n.premises_id == visit.premises_id
            })
            .ok_or_else(|| {
                ApiError::invalid("need_id", "unknown need of this resident or premises")
            })
    }

    /// Records a visit to a resident or premises (following up a need when it names one); a
    /// repeated request id answers the first.
    pub async fn record_visit(&self, caller: &Caller, mut visit: Visit) -> Result<Visit, ApiError> {
        let subject = self
            .subject(caller, &visit.resident_id, &visit.premises_id)
            .await?;
        if !visit.need_id.is_empty() {
            self.followed_need(caller, &visit).await?;
        }
        visit.visit_id = uuid::Uuid::now_v7().to_string();
        visit.grid_id = subject.grid_id;
        visit.station_id = subject.station_id;
        if visit.officer_id.is_empty() {
            visit.officer_id = caller.subject.clone();
        }
        visit.recorded_by = Self::actor(caller);
        visit.created_at = self.now();
        let audit = Self::audit(caller, "RecordVisit", "visit", &visit.visit_id)
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
        Ok(visit)
    }

    /// Records a need, assigned to the grid's village officer unless named, due by the
    /// category's default unless `due_at`; a repeated request id answers the first.
    pub async fn record_need(
        &self,
        caller: &Caller,
        mut need: Need,
        due_at: Option<Millis>,
    ) -> Result<Need, ApiError> {
        let subject = self
            .subject(caller, &need.resident_id, &need.premises_id)
            .await?;
        let now = self.now();
        if need.assigned_officer_id.is_empty() {
            // The grid's village officer follows it up; else whoever recorded it.
            let officers = self.store().await?.officers(&subject.grid_id).await?;
            need.assigned_officer_id = village_officer(&officers)
                .map_or_else(|| caller.subject.clone(), |o| o.officer_id.clone());
        }
        need.need_id = uuid::Uuid::now_v7().to_string();
        need.grid_id = subject.grid_id;
        need.station_id = subject.station_id;
        need.status = pb::NeedStatus::Open as i32;
        need.due_at =
            due_at.unwrap_or_else(|| notebook::default_due(need.category, need.urgent, now));
        need.recorded_by = Self::actor(caller);
        need.created_at = now;
        need.updated_at = now;
        let audit = Self::audit(caller, "RecordNeed", "need", &need.need_id)
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
        Ok(need)
    }

    /// Settles an open need; a repeat of the request that settled it answers the settled need.
    pub async fn resolve_need(
        &self,
        caller: &Caller,
        need_id: &str,
        resolution: i32,
        note: &str,
        referred_to: &str,
    ) -> Result<Need, ApiError> {
        let mut need = self
            .store()
            .await?
            .need(need_id)
            .await?
            .filter(|n| caller.can_see_station(&n.station_id))
            .ok_or_else(|| ApiError::NotFound(format!("need {need_id}")))?;
        if need.status == resolution && need.resolution_note == note {
            return Ok(need);
        }
        notebook::settle(
            &mut need,
            resolution,
            note,
            referred_to,
            Self::actor(caller),
            self.now(),
        )
        .map_err(|e| match e {
            NeedError::NotOpen => ApiError::FailedPrecondition("need is not open".into()),
            NeedError::BadResolution => ApiError::invalid("resolution", e.to_string()),
            NeedError::ReferredToRequired => ApiError::invalid("referred_to", e.to_string()),
        })?;
        let audit = Self::audit(caller, "ResolveNeed", "need", &need.need_id)
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
        Ok(need)
    }

    /// Open needs, urgent and earliest due first.
    pub async fn open_needs(&self, filter: &NeedFilter, page: Page) -> Result<Vec<Need>, ApiError> {
        Ok(self.store().await?.open_needs(filter, page).await?)
    }

    /// Residents in scope with any of `tags` whose welfare visit is due at `now`, most overdue
    /// first: one page of them and how many there are. `officer_id` empty: each grid's village
    /// officer. Officers and open needs are read in one query each for the page.
    pub async fn welfare_due(
        &self,
        scope: &Scope,
        tags: &[i32],
        interval: Option<i64>,
        now: Millis,
        page: Page,
    ) -> Result<(Vec<WelfareDue>, usize), ApiError> {
        let store = self.store().await?;
        let residents = store.residents(scope).await?;
        let mut due: Vec<(Resident, Millis, i64)> = residents
            .into_iter()
            .filter(|res| notebook::has_any_tag(res, tags))
            .filter_map(|res| notebook::welfare_due(&res, interval, now).map(|(d, o)| (res, d, o)))
            .collect();
        due.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.resident_id.cmp(&b.0.resident_id)));
        let total = due.len();
        let start = usize::try_from(page.offset).unwrap_or(usize::MAX);
        let take = usize::try_from(page.limit).unwrap_or(0);
        let page: Vec<(Resident, Millis, i64)> = due.into_iter().skip(start).take(take).collect();
        let mut grid_ids: Vec<String> = page.iter().map(|d| d.0.grid_id.clone()).collect();
        grid_ids.sort_unstable();
        grid_ids.dedup();
        let mut village: HashMap<String, String> = HashMap::new();
        if scope.officer_id.is_empty() {
            let mut by_grid: HashMap<String, Vec<GridOfficer>> = HashMap::new();
            for officer in store.officers_of(&grid_ids).await? {
                by_grid
                    .entry(officer.grid_id.clone())
                    .or_default()
                    .push(officer);
            }
            for (grid_id, officers) in by_grid {
                if let Some(o) = village_officer(&officers) {
                    village.insert(grid_id, o.officer_id.clone());
                }
            }
        }
        let ids: Vec<String> = page.iter().map(|d| d.0.resident_id.clone()).collect();
        let counts = store.open_need_counts(&ids).await?;
        let entries = page
            .into_iter()
            .map(|(resident, due_at, overdue_by)| WelfareDue {
                officer_id: if scope.officer_id.is_empty() {
                    village.get(&resident.grid_id).cloned().unwrap_or_default()
                } else {
                    scope.officer_id.clone()
                },
                open_needs: counts.get(&resident.resident_id).copied().unwrap_or(0),
                resident,
                due_at,
                overdue_by,
            })
            .collect();
        Ok((entries, total))
    }
}
