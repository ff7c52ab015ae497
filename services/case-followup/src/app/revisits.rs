//! Revisits: the due list and recording an attempt (which may conclude the revisit and schedule
//! the next one).

use chrono::{DateTime, Utc};
use pingan_platform::ApiError;
use pingan_platform::audit::Audit;
use pingan_platform::auth::Caller;
use pingan_platform::clear_reads::ClearRead;
use pingan_proto::followup::v1::{
    ListDueRevisitsResponse, RecordRevisitRequest, RecordRevisitResponse, Revisit, RevisitStatus,
};

use super::Core;
use crate::domain::revisit::{is_overdue, record_attempt};
use crate::store::{DueFilter, Page};

impl Core {
    /// Writes the audit records of an answer that showed phone numbers in clear (who, what,
    /// why), through the outbox like the service's other audited actions.
    pub async fn record_clear_read(
        &self,
        caller: &Caller,
        read: &ClearRead,
    ) -> Result<(), ApiError> {
        pingan_platform::clear_reads::record(&self.context, crate::SHORT_NAME, caller, read).await
    }

    /// Adds the computed overdue flag and, for roles allowed, the clear phone.
    fn present_revisit(
        &self,
        caller: &Caller,
        revisit: &mut Revisit,
        phone_enc: Option<&[u8]>,
    ) -> Result<(), ApiError> {
        revisit.overdue = is_overdue(revisit, self.now());
        if let Some(phone) = self.phone_for(caller, phone_enc)? {
            revisit.contact_phone = phone;
        }
        Ok(())
    }

    /// ListDueRevisits (validated and resolved): one page, earliest due first, with counts.
    pub async fn list_due_revisits(
        &self,
        caller: &Caller,
        filter: &DueFilter,
        page: Page,
    ) -> Result<ListDueRevisitsResponse, ApiError> {
        let now = self.now();
        let found = self.store.list_due(filter, now, page).await?;
        let mut revisits = Vec::with_capacity(found.revisits.len());
        for (mut revisit, phone) in found.revisits {
            self.present_revisit(caller, &mut revisit, phone.as_deref())?;
            revisits.push(revisit);
        }
        Ok(ListDueRevisitsResponse {
            next_page_token: crate::api::next_token(revisits.len(), page),
            revisits,
            overdue_count: i32::try_from(found.overdue).unwrap_or(i32::MAX),
            total_count: i32::try_from(found.total).unwrap_or(i32::MAX),
        })
    }

    /// RecordRevisit (validated): records the attempt; a concluded revisit is announced and,
    /// when asked, the next one scheduled.
    pub async fn record_revisit(
        &self,
        caller: &Caller,
        req: &RecordRevisitRequest,
        performed_at: DateTime<Utc>,
    ) -> Result<RecordRevisitResponse, ApiError> {
        let now = self.now();
        let actor = caller.actor();
        let mut response = self
            .context
            .requests
            .run("RecordRevisit", &req.request_id, req, async |tx| {
                let (mut revisit, phone) = self
                    .store
                    .revisit_for_update(tx, &req.revisit_id)
                    .await?
                    .filter(|(r, _)| caller.can_see_station(&r.station_id))
                    .ok_or_else(|| ApiError::NotFound(format!("revisit {}", req.revisit_id)))?;
                let outcome = record_attempt(
                    &mut revisit,
                    req,
                    performed_at,
                    actor.clone(),
                    now,
                    self.policy.repeat_due_after,
                )?;
                self.store.update_revisit(tx, &revisit, None).await?;
                if let Some(next) = &outcome.next {
                    self.schedule_revisit(tx, next, phone.clone(), actor.clone())
                        .await?;
                }
                if outcome.concluded {
                    self.revisit_concluded(tx, &revisit, outcome.next.is_some())
                        .await?;
                    let status = RevisitStatus::try_from(revisit.status)
                        .map(|s| s.as_str_name())
                        .unwrap_or("UNKNOWN");
                    crate::metrics::revisit_concluded(status, !revisit.overdue);
                }
                let audit = Audit::new(
                    actor.clone(),
                    "followup.RecordRevisit",
                    "revisit",
                    &revisit.revisit_id,
                )
                .station(&revisit.station_id)
                .detail(format!(
                    "incident {} contacted {} satisfaction {}",
                    revisit.incident_id, req.contacted, req.satisfaction
                ));
                self.audit(tx, audit).await?;
                Ok(RecordRevisitResponse {
                    revisit: Some(revisit),
                    next_revisit: outcome.next,
                })
            })
            .await?;
        // Phones are added after the stored response (which keeps them masked only).
        let phone = if crate::domain::access::sees_phones(caller) {
            self.store.revisit_phone(&req.revisit_id).await?
        } else {
            None
        };
        for revisit in response
            .revisit
            .iter_mut()
            .chain(response.next_revisit.iter_mut())
        {
            self.present_revisit(caller, revisit, phone.as_deref())?;
        }
        Ok(response)
    }
}
