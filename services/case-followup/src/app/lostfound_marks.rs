//! Lost and found, the item's later life: owner contacted, item returned.

use chrono::{DateTime, Utc};
use pingan_platform::ApiError;
use pingan_platform::audit::Audit;
use pingan_platform::auth::Caller;
use pingan_platform::pii::mask_id_number;
use pingan_proto::followup::v1::{
    ContactMethod, ContactTaskStatus, FoundItemStatus, LostReportStatus, MarkOwnerContactedRequest,
    MarkOwnerContactedResponse, MarkReturnedRequest, MarkReturnedResponse, RegistryLookup,
    ReturnRecord,
};

use super::Core;
use super::lostfound::{owner_from_report, station_of};
use crate::domain::lostfound::{new_contact_task, require_not_returned, since_registration};
use crate::domain::{duration, ts};
use crate::store::FoundPii;

impl Core {
    /// MarkOwnerContacted (validated): closes the contact task (the owner may come from a lost
    /// report named in the request).
    pub async fn mark_owner_contacted(
        &self,
        caller: &Caller,
        req: &MarkOwnerContactedRequest,
        contacted_at: DateTime<Utc>,
    ) -> Result<MarkOwnerContactedResponse, ApiError> {
        let now = self.now();
        let actor = caller.actor();
        let mut response = self
            .context
            .requests
            .run("MarkOwnerContacted", &req.request_id, req, async |tx| {
                let (mut item, _, _) = self
                    .store
                    .found_item_for_update(tx, &req.found_item_id)
                    .await?
                    .filter(|(i, _, _)| caller.can_see_station(&station_of(i)))
                    .ok_or_else(|| {
                        ApiError::NotFound(format!("found item {}", req.found_item_id))
                    })?;
                require_not_returned(&item)?;
                if item.status == FoundItemStatus::OwnerContacted as i32 {
                    return Err(ApiError::FailedPrecondition(format!(
                        "the owner of found item {} was already contacted",
                        item.found_item_id
                    )));
                }
                let mut item_pii = FoundPii::default();
                if !req.lost_report_id.is_empty() {
                    let (report, phone, _) = self
                        .store
                        .lost_report_for_update(tx, &req.lost_report_id)
                        .await?
                        .ok_or_else(|| {
                            ApiError::NotFound(format!("lost report {}", req.lost_report_id))
                        })?;
                    if item.owner.is_none() {
                        item.owner = Some(owner_from_report(&report));
                        item_pii.owner_phone_enc = phone;
                    }
                }
                if item.owner.is_none() {
                    return Err(ApiError::FailedPrecondition(format!(
                        "the owner of found item {} is not identified yet (give lost_report_id)",
                        item.found_item_id
                    )));
                }
                let time_to_contact = since_registration(&item, contacted_at);
                let task = item
                    .contact_task
                    .get_or_insert_with(|| new_contact_task(&actor.subject, now));
                task.status = ContactTaskStatus::Done as i32;
                task.contacted_at = Some(ts(contacted_at));
                task.time_to_contact = Some(duration(time_to_contact));
                task.method = if req.method == 0 {
                    ContactMethod::Phone as i32
                } else {
                    req.method
                };
                task.contacted_by = Some(actor.clone());
                task.notes = req.notes.clone();
                item.status = FoundItemStatus::OwnerContacted as i32;
                item.updated_at = Some(ts(now));
                self.store.update_found_item(tx, &item, item_pii).await?;
                crate::metrics::time_to_contact(time_to_contact.num_milliseconds() as f64 / 1000.0);
                let audit = Audit::new(
                    actor.clone(),
                    "followup.MarkOwnerContacted",
                    "found_item",
                    &item.found_item_id,
                )
                .station(station_of(&item))
                .detail(format!(
                    "time to contact {} s",
                    time_to_contact.num_seconds()
                ));
                self.audit(tx, audit).await?;
                Ok(MarkOwnerContactedResponse {
                    found_item: Some(item),
                })
            })
            .await?;
        if let Some(item) = response.found_item.as_mut() {
            self.present_item(caller, item).await?;
        }
        Ok(response)
    }

    /// MarkReturned (validated): records the return and closes the lost report it answers.
    pub async fn mark_returned(
        &self,
        caller: &Caller,
        req: &MarkReturnedRequest,
        returned_at: DateTime<Utc>,
    ) -> Result<MarkReturnedResponse, ApiError> {
        let now = self.now();
        let recipient_id_enc = if req.recipient_id_number.is_empty() {
            None
        } else {
            Some(self.seal(&req.recipient_id_number)?)
        };
        let actor = caller.actor();
        let mut response = self
            .context
            .requests
            .run("MarkReturned", &req.request_id, req, async |tx| {
                let (mut item, _, _) = self
                    .store
                    .found_item_for_update(tx, &req.found_item_id)
                    .await?
                    .filter(|(i, _, _)| caller.can_see_station(&station_of(i)))
                    .ok_or_else(|| {
                        ApiError::NotFound(format!("found item {}", req.found_item_id))
                    })?;
                require_not_returned(&item)?;
                let report_id = if req.lost_report_id.is_empty() {
                    item.owner
                        .as_ref()
                        .map(|o| o.lost_report_id.clone())
                        .unwrap_or_default()
                } else {
                    req.lost_report_id.clone()
                };
                let mut closed_report = None;
                if !report_id.is_empty() {
                    let (mut report, _, _) = self
                        .store
                        .lost_report_for_update(tx, &report_id)
                        .await?
                        .ok_or_else(|| ApiError::NotFound(format!("lost report {report_id}")))?;
                    report.status = LostReportStatus::Returned as i32;
                    report.returned_found_item_id = item.found_item_id.clone();
                    report.updated_at = Some(ts(now));
                    self.store.update_lost_report(tx, &report).await?;
                    closed_report = Some(report);
                }
                if let Some(task) = item.contact_task.as_mut()
                    && task.status == ContactTaskStatus::Open as i32
                {
                    task.status = ContactTaskStatus::Cancelled as i32;
                    task.notes = "owner collected the item before being contacted".into();
                }
                item.returned = Some(ReturnRecord {
                    recipient_name: req.recipient_name.clone(),
                    recipient_is_owner: req.recipient_is_owner,
                    recipient_id_number_masked: mask_id_number(&req.recipient_id_number),
                    identity_check: req.identity_check,
                    returned_at: Some(ts(returned_at)),
                    time_to_return: Some(duration(since_registration(&item, returned_at))),
                    returned_by: Some(actor.clone()),
                    notes: req.notes.clone(),
                });
                item.status = FoundItemStatus::Returned as i32;
                item.updated_at = Some(ts(now));
                // A returned item needs no owner lookup any more.
                if item.registry_lookup == RegistryLookup::Pending as i32 {
                    item.registry_lookup = RegistryLookup::NotApplicable as i32;
                }
                let item_pii = FoundPii {
                    recipient_id_enc: recipient_id_enc.clone(),
                    ..FoundPii::default()
                };
                self.store.update_found_item(tx, &item, item_pii).await?;
                let audit = Audit::new(
                    actor.clone(),
                    "followup.MarkReturned",
                    "found_item",
                    &item.found_item_id,
                )
                .station(station_of(&item))
                .detail(format!(
                    "returned to owner {} checked {}",
                    req.recipient_is_owner, req.identity_check
                ));
                self.audit(tx, audit).await?;
                Ok(MarkReturnedResponse {
                    found_item: Some(item),
                    lost_report: closed_report,
                })
            })
            .await?;
        if let Some(item) = response.found_item.as_mut() {
            self.present_item(caller, item).await?;
        }
        Ok(response)
    }
}
