//! The read side: premises with where they stand on inspections, inspections read back in their
//! final state, needs open and settled with their follow-up, and notebook visits. Every listing
//! takes a [`crate::store`] filter whose scope already holds the caller's jurisdiction.

use pingan_platform::ApiError;
use pingan_platform::auth::Caller;
use pingan_platform::clear_reads::ClearRead;

use super::Registry;
use crate::domain::reads::{self, NeedEvent, Standing};
use crate::domain::*;
use crate::store::{InspectionFilter, NeedQuery, Page, PremisesFilter, VisitFilter};

/// Premises with their latest completed inspection and when the next one is due.
#[derive(Debug, Clone)]
pub struct PremisesView {
    pub premises: Premises,
    pub last: Option<Inspection>,
    pub standing: Standing,
}

/// A need with the visits linked to it and its history.
#[derive(Debug, Clone)]
pub struct NeedView {
    pub need: Need,
    pub visits: Vec<Visit>,
    pub history: Vec<NeedEvent>,
}

impl Registry {
    /// Writes the audit records of a read that showed phone or ID numbers in clear (who, what,
    /// why), through the outbox like the registry's other audited actions.
    pub async fn record_clear_read(
        &self,
        caller: &Caller,
        read: &ClearRead,
    ) -> Result<(), ApiError> {
        pingan_platform::clear_reads::record(&self.context, crate::SHORT_NAME, caller, read).await
    }

    /// One page of premises in scope, each with its last inspection (one query for the page).
    pub async fn list_premises(
        &self,
        filter: &PremisesFilter,
        page: Page,
    ) -> Result<Vec<PremisesView>, ApiError> {
        let store = self.store().await?;
        let list = store.list_premises(filter, page).await?;
        let ids: Vec<String> = list.iter().map(|p| p.premises_id.clone()).collect();
        let mut last = store.last_inspections(&ids).await?;
        Ok(list
            .into_iter()
            .map(|premises| {
                let last = last.remove(&premises.premises_id);
                let standing = reads::standing(&premises, last.as_ref(), &self.templates);
                PremisesView {
                    premises,
                    last,
                    standing,
                }
            })
            .collect())
    }

    /// An inspection in the caller's jurisdiction; NOT_FOUND otherwise.
    pub async fn inspection(
        &self,
        caller: &Caller,
        inspection_id: &str,
    ) -> Result<Inspection, ApiError> {
        self.store()
            .await?
            .inspection(inspection_id)
            .await?
            .filter(|i| caller.can_see_station(&i.station_id))
            .ok_or_else(|| ApiError::NotFound(format!("inspection {inspection_id}")))
    }

    /// One page of inspections in scope, most recently started first.
    pub async fn list_inspections(
        &self,
        filter: &InspectionFilter,
        page: Page,
    ) -> Result<Vec<Inspection>, ApiError> {
        Ok(self.store().await?.list_inspections(filter, page).await?)
    }

    /// One page of needs in scope, open and settled, most recently recorded first.
    pub async fn list_needs(&self, query: &NeedQuery, page: Page) -> Result<Vec<Need>, ApiError> {
        Ok(self.store().await?.list_needs(query, page).await?)
    }

    /// A need in the caller's jurisdiction with its follow-up; NOT_FOUND otherwise.
    pub async fn need_view(&self, caller: &Caller, need_id: &str) -> Result<NeedView, ApiError> {
        let store = self.store().await?;
        let need = store
            .need(need_id)
            .await?
            .filter(|n| caller.can_see_station(&n.station_id))
            .ok_or_else(|| ApiError::NotFound(format!("need {need_id}")))?;
        let visits = store.need_visits(&need.need_id, &need.visit_id).await?;
        let history = reads::need_history(&need, &visits);
        Ok(NeedView {
            need,
            visits,
            history,
        })
    }

    /// One page of visits in scope, most recent first.
    pub async fn list_visits(
        &self,
        filter: &VisitFilter,
        page: Page,
    ) -> Result<Vec<Visit>, ApiError> {
        Ok(self.store().await?.list_visits(filter, page).await?)
    }
}
