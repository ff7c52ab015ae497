//! ListDueRevisits, RecordRevisit.

use pingan_platform::auth::Caller;
use pingan_platform::{ApiError, FieldViolations};
use pingan_proto::followup::v1::{
    ListDueRevisitsRequest, ListDueRevisitsResponse, RecordRevisitRequest, RecordRevisitResponse,
    Revisit, RevisitStatus,
};
use tonic::Request;

use super::{
    CaseFollowupApi, FIELD_ROLES, READ_ROLES, next_token, page, resolve_station, sees_phones,
};
use crate::domain::from_ts;
use crate::domain::revisit::{is_overdue, record_attempt, validate_attempt};
use crate::events::AuditEntry;
use crate::store::DueFilter;

impl CaseFollowupApi {
    /// Adds the computed overdue flag and, for roles allowed, the clear phone.
    fn present_revisit(
        &self,
        caller: &Caller,
        revisit: &mut Revisit,
        phone_enc: Option<&[u8]>,
    ) -> Result<(), ApiError> {
        revisit.overdue = is_overdue(revisit, self.core.now());
        if sees_phones(caller)
            && let Some(sealed) = phone_enc
        {
            revisit.contact_phone = self.core.open(sealed)?;
        }
        Ok(())
    }

    pub(super) async fn list_due_revisits_checked(
        &self,
        request: Request<ListDueRevisitsRequest>,
    ) -> Result<ListDueRevisitsResponse, ApiError> {
        let caller = self.core.context.auth.caller(&request)?;
        let req = request.into_inner();
        let now = self.core.now();
        let mut v = FieldViolations::default();
        let (size, offset) = page(&mut v, req.page_size, &req.page_token);
        let due_before = req.due_before.as_ref().map(|at| {
            from_ts(at).unwrap_or_else(|| {
                v.add("due_before", "is not a valid timestamp");
                now
            })
        });
        v.finish()?;
        caller.require_any(READ_ROLES)?;
        let station_id = resolve_station(&caller, &req.station_id)?;
        let due_before = if req.overdue_only {
            Some(due_before.map_or(now, |d| d.min(now)))
        } else {
            due_before
        };
        let filter = DueFilter {
            station_id,
            grid_id: req.grid_id.clone(),
            officer_id: req.officer_id.clone(),
            due_before,
        };
        let page = self.core.store.list_due(&filter, now, size, offset).await?;
        let mut revisits = Vec::with_capacity(page.revisits.len());
        for (mut revisit, phone) in page.revisits {
            self.present_revisit(&caller, &mut revisit, phone.as_deref())?;
            revisits.push(revisit);
        }
        Ok(ListDueRevisitsResponse {
            next_page_token: next_token(revisits.len(), size, offset),
            revisits,
            overdue_count: i32::try_from(page.overdue).unwrap_or(i32::MAX),
            total_count: i32::try_from(page.total).unwrap_or(i32::MAX),
        })
    }

    pub(super) async fn record_revisit_checked(
        &self,
        request: Request<RecordRevisitRequest>,
    ) -> Result<RecordRevisitResponse, ApiError> {
        let caller = self.core.context.auth.caller(&request)?;
        let req = request.into_inner();
        let now = self.core.now();
        let performed_at = validate_attempt(&req, now)?;
        caller.require_any(FIELD_ROLES)?;

        let core = &self.core;
        let actor = caller.actor();
        let response = core
            .context
            .requests
            .run("RecordRevisit", &req.request_id, &req, async |tx| {
                let (mut revisit, phone) = core
                    .store
                    .revisit_for_update(tx, &req.revisit_id)
                    .await?
                    .filter(|(r, _)| caller.can_see_station(&r.station_id))
                    .ok_or_else(|| ApiError::NotFound(format!("revisit {}", req.revisit_id)))?;
                let outcome = record_attempt(
                    &mut revisit,
                    &req,
                    performed_at,
                    actor.clone(),
                    now,
                    core.policy.repeat_due_after,
                )?;
                core.store.update_revisit(tx, &revisit, None).await?;
                if let Some(next) = &outcome.next {
                    core.schedule_revisit(tx, next, phone.clone(), actor.clone())
                        .await?;
                }
                if outcome.concluded {
                    core.revisit_concluded(tx, &revisit, outcome.next.is_some())
                        .await?;
                    let status = RevisitStatus::try_from(revisit.status)
                        .map(|s| s.as_str_name())
                        .unwrap_or("UNKNOWN");
                    crate::metrics::revisit_concluded(status, !revisit.overdue);
                }
                core.audit(
                    tx,
                    AuditEntry {
                        actor: actor.clone(),
                        action: "followup.RecordRevisit",
                        resource_type: "revisit",
                        resource_id: &revisit.revisit_id,
                        station_id: &revisit.station_id,
                        detail: format!(
                            "incident {} contacted {} satisfaction {}",
                            revisit.incident_id, req.contacted, req.satisfaction
                        ),
                    },
                )
                .await?;
                Ok(RecordRevisitResponse {
                    revisit: Some(revisit),
                    next_revisit: outcome.next,
                })
            })
            .await?;
        // Phones are added after the stored response (which keeps them masked only).
        let mut response = response;
        if sees_phones(&caller) {
            let mut tx = core.context.db.begin().await?;
            let stored = core
                .store
                .revisit_for_update(&mut tx, &req.revisit_id)
                .await?;
            tx.rollback().await?;
            let phone = stored.and_then(|(_, phone)| phone);
            for revisit in response
                .revisit
                .iter_mut()
                .chain(response.next_revisit.iter_mut())
            {
                self.present_revisit(&caller, revisit, phone.as_deref())?;
            }
        } else {
            for revisit in response
                .revisit
                .iter_mut()
                .chain(response.next_revisit.iter_mut())
            {
                revisit.overdue = is_overdue(revisit, now);
            }
        }
        Ok(response)
    }
}
