//! RegisterFoundItem, RegisterLostReport, ListMatches, MarkOwnerContacted, MarkReturned.

use pingan_platform::auth::Caller;
use pingan_platform::pii::{PiiKind, mask_id_number, mask_phone};
use pingan_platform::storage::Tx;
use pingan_platform::{ApiError, FieldViolations};
use pingan_proto::followup::v1::{
    ContactMethod, ContactTaskStatus, FoundItem, FoundItemStatus, IdentityCheck, ItemKind,
    ListMatchesRequest, ListMatchesResponse, LostReport, LostReportStatus,
    MarkOwnerContactedRequest, MarkOwnerContactedResponse, MarkReturnedRequest,
    MarkReturnedResponse, Match, Owner, OwnerSource, RegisterFoundItemRequest,
    RegisterFoundItemResponse, RegisterLostReportRequest, RegisterLostReportResponse,
    RegistryLookup, ReturnRecord,
};
use tonic::Request;

use super::{
    CaseFollowupApi, FIELD_ROLES, READ_ROLES, check_phone, next_token, page, resolve_station,
    sees_phones,
};
use crate::domain::lostfound::{
    compare, new_contact_task, refresh, require_not_returned, since_registration, sort_matches,
};
use crate::domain::{
    MAX_SHORT_CHARS, MAX_TEXT_CHARS, check_enum, check_enum_or_unset, check_id_number, duration,
    from_ts, new_id, time_or, ts,
};
use crate::events::AuditEntry;
use crate::store::{FoundPii, MatchFilter};

fn station_of(item: &FoundItem) -> String {
    item.custody
        .as_ref()
        .map(|c| c.station_id.clone())
        .unwrap_or_default()
}

fn owner_from_report(report: &LostReport) -> Owner {
    Owner {
        source: OwnerSource::LostReport as i32,
        name: report.owner_name.clone(),
        phone_masked: report.owner_phone_masked.clone(),
        lost_report_id: report.lost_report_id.clone(),
        ..Owner::default()
    }
}

fn check_not_future(
    v: &mut FieldViolations,
    field: &str,
    at: chrono::DateTime<chrono::Utc>,
    now: chrono::DateTime<chrono::Utc>,
) {
    if at > now + chrono::Duration::minutes(5) {
        v.add(field, "must not be in the future");
    }
}

impl CaseFollowupApi {
    /// Adds computed flags and, for roles allowed, the owner's clear phone.
    async fn present_item(&self, caller: &Caller, item: &mut FoundItem) -> Result<(), ApiError> {
        refresh(item, self.core.now());
        if !sees_phones(caller) {
            return Ok(());
        }
        let mut tx = self.core.context.db.begin().await?;
        let stored = self
            .core
            .store
            .found_item_for_update(&mut tx, &item.found_item_id)
            .await?;
        tx.rollback().await?;
        if let (Some((_, Some(sealed), _)), Some(owner)) = (stored, item.owner.as_mut()) {
            owner.phone = self.core.open(&sealed)?;
        }
        Ok(())
    }

    pub(super) async fn register_found_item_checked(
        &self,
        request: Request<RegisterFoundItemRequest>,
    ) -> Result<RegisterFoundItemResponse, ApiError> {
        let caller = self.core.context.auth.caller(&request)?;
        let req = request.into_inner();
        let now = self.core.now();
        let mut v = FieldViolations::default();
        check_enum::<ItemKind>(&mut v, "kind", req.kind);
        v.require_max_chars("description", &req.description, MAX_TEXT_CHARS);
        let found_at = time_or(&mut v, "found_at", req.found_at.as_ref(), now);
        check_not_future(&mut v, "found_at", found_at, now);
        if let Some(at) = &req.found_location {
            v.require_coordinates("found_location", at.lat, at.lon);
        }
        v.require_max_chars("found_address", &req.found_address, MAX_TEXT_CHARS);
        v.require_max_chars("finder", &req.finder, MAX_SHORT_CHARS);
        let custody = req.custody.clone().unwrap_or_default();
        v.require_non_empty("custody.station_id", &custody.station_id);
        v.require_max_chars("name_on_item", &req.name_on_item, MAX_SHORT_CHARS);
        let id_card = req.kind == ItemKind::IdCard as i32;
        if id_card || !req.id_number.is_empty() {
            check_id_number(&mut v, "id_number", &req.id_number);
        }
        v.finish()?;
        caller.require_any(FIELD_ROLES)?;
        caller.require_station(&custody.station_id)?;

        let pii = &self.core.context.pii;
        let id_index =
            (!req.id_number.is_empty()).then(|| pii.blind_index(PiiKind::IdNumber, &req.id_number));
        let id_enc = if req.id_number.is_empty() {
            None
        } else {
            Some(self.core.seal(&req.id_number)?)
        };
        let officer = [
            &req.contact_officer_id,
            &custody.officer_id,
            &caller.subject,
        ]
        .into_iter()
        .find(|o| !o.is_empty())
        .cloned()
        .unwrap_or_default();
        let base = FoundItem {
            found_item_id: new_id("fi"),
            kind: req.kind,
            description: req.description.clone(),
            found_at: Some(ts(found_at)),
            found_location: req.found_location,
            found_address: req.found_address.clone(),
            finder: req.finder.clone(),
            custody: Some(custody.clone()),
            name_on_item: req.name_on_item.clone(),
            id_number_masked: mask_id_number(&req.id_number),
            incident_id: req.incident_id.clone(),
            status: FoundItemStatus::Registered as i32,
            registry_lookup: if id_card {
                RegistryLookup::Pending as i32
            } else {
                RegistryLookup::NotApplicable as i32
            },
            registered_by: Some(caller.actor()),
            created_at: Some(ts(now)),
            updated_at: Some(ts(now)),
            ..FoundItem::default()
        };
        let core = &self.core;
        let actor = caller.actor();
        let mut response = core
            .context
            .requests
            .run("RegisterFoundItem", &req.request_id, &req, async |tx| {
                let mut item = base.clone();
                let mut found_pii = FoundPii {
                    id_number_index: id_index.clone(),
                    id_number_enc: id_enc.clone(),
                    ..FoundPii::default()
                };
                let mut next_lookup = None;
                if id_card {
                    // Raised at once: the officer starts while the registry answers.
                    item.contact_task = Some(new_contact_task(&officer, now));
                    let result = core.find_owner(&req.id_number, &item.found_item_id).await;
                    let (phone, next) = core.apply_lookup(&mut item, result, now);
                    found_pii.owner_phone_enc = phone;
                    next_lookup = next;
                }
                // After the registry call: the SQLite write lock is not held across it.
                crate::store::write_lock(tx).await?;
                let matches = self
                    .match_new_item(tx, &mut item, &mut found_pii, id_index.as_deref(), &officer)
                    .await?;
                core.store
                    .insert_found_item(tx, &item, found_pii, next_lookup)
                    .await?;
                let lookup = RegistryLookup::try_from(item.registry_lookup)
                    .map(|l| l.as_str_name())
                    .unwrap_or("UNKNOWN");
                core.audit(
                    tx,
                    AuditEntry {
                        actor: actor.clone(),
                        action: "followup.RegisterFoundItem",
                        resource_type: "found_item",
                        resource_id: &item.found_item_id,
                        station_id: &station_of(&item),
                        detail: format!(
                            "kind {} id {} lookup {lookup} matches {}",
                            req.kind,
                            item.id_number_masked,
                            matches.len()
                        ),
                    },
                )
                .await?;
                Ok(RegisterFoundItemResponse {
                    found_item: Some(item),
                    matches,
                })
            })
            .await?;
        if let Some(item) = response.found_item.as_mut() {
            self.present_item(&caller, item).await?;
        }
        Ok(response)
    }

    /// Compares a new found item with the open lost reports; stores the matches, marks the
    /// reports MATCHED and, on a certain (ID-number) match, takes the owner from the report.
    async fn match_new_item(
        &self,
        tx: &mut Tx,
        item: &mut FoundItem,
        found_pii: &mut FoundPii,
        id_index: Option<&str>,
        officer: &str,
    ) -> Result<Vec<Match>, ApiError> {
        let now = self.core.now();
        let candidates = self
            .core
            .store
            .lost_candidates(tx, item.kind, id_index.unwrap_or_default())
            .await?;
        let mut matches = Vec::new();
        for (mut report, phone, index) in candidates {
            let id_match = id_index.is_some() && index.as_deref() == id_index;
            let Some(found) = compare(item, &report, id_match, now) else {
                continue;
            };
            self.core
                .store
                .upsert_match(tx, &found, &station_of(item), &report.station_id)
                .await?;
            if report.status == LostReportStatus::Open as i32 {
                report.status = LostReportStatus::Matched as i32;
                report.updated_at = Some(ts(now));
                self.core.store.update_lost_report(tx, &report).await?;
            }
            if id_match && item.owner.is_none() {
                item.owner = Some(owner_from_report(&report));
                item.status = FoundItemStatus::OwnerIdentified as i32;
                found_pii.owner_phone_enc = phone;
                if item.contact_task.is_none() {
                    item.contact_task = Some(new_contact_task(officer, now));
                }
            }
            matches.push(found);
        }
        sort_matches(&mut matches);
        Ok(matches)
    }

    pub(super) async fn register_lost_report_checked(
        &self,
        request: Request<RegisterLostReportRequest>,
    ) -> Result<RegisterLostReportResponse, ApiError> {
        let caller = self.core.context.auth.caller(&request)?;
        let req = request.into_inner();
        let now = self.core.now();
        let mut v = FieldViolations::default();
        check_enum::<ItemKind>(&mut v, "kind", req.kind);
        v.require_non_empty("description", &req.description);
        v.require_max_chars("description", &req.description, MAX_TEXT_CHARS);
        match &req.lost_during {
            None => v.add("lost_during", "must give at least one end"),
            Some(range) => {
                if range.start.is_none() && range.end.is_none() {
                    v.add("lost_during", "must give at least one end");
                }
                let start = range.start.as_ref().map(|s| {
                    from_ts(s).ok_or(()).unwrap_or_else(|()| {
                        v.add("lost_during.start", "is not a valid timestamp");
                        now
                    })
                });
                let end = range.end.as_ref().map(|e| {
                    from_ts(e).ok_or(()).unwrap_or_else(|()| {
                        v.add("lost_during.end", "is not a valid timestamp");
                        now
                    })
                });
                if let (Some(start), Some(end)) = (start, end)
                    && start > end
                {
                    v.add("lost_during.end", "must not be before the start");
                }
            }
        }
        if let Some(at) = &req.lost_location {
            v.require_coordinates("lost_location", at.lat, at.lon);
        }
        if !req.lost_radius_m.is_finite() || req.lost_radius_m < 0.0 {
            v.add("lost_radius_m", "must be zero or positive");
        }
        v.require_max_chars("lost_address", &req.lost_address, MAX_TEXT_CHARS);
        v.require_non_empty("owner_name", &req.owner_name);
        v.require_max_chars("owner_name", &req.owner_name, MAX_SHORT_CHARS);
        if req.owner_phone.is_empty() {
            v.add("owner_phone", "must not be empty");
        } else {
            check_phone(&mut v, "owner_phone", &req.owner_phone);
        }
        if !req.owner_id_number.is_empty() {
            check_id_number(&mut v, "owner_id_number", &req.owner_id_number);
        }
        v.require_non_empty("station_id", &req.station_id);
        v.finish()?;
        caller.require_any(FIELD_ROLES)?;
        caller.require_station(&req.station_id)?;

        let pii = &self.core.context.pii;
        let id_index = (!req.owner_id_number.is_empty())
            .then(|| pii.blind_index(PiiKind::IdNumber, &req.owner_id_number));
        let id_enc = if req.owner_id_number.is_empty() {
            None
        } else {
            Some(self.core.seal(&req.owner_id_number)?)
        };
        let phone_enc = self.core.seal(&req.owner_phone)?;
        let base = LostReport {
            lost_report_id: new_id("lr"),
            kind: req.kind,
            description: req.description.clone(),
            lost_during: req.lost_during,
            lost_location: req.lost_location,
            lost_radius_m: req.lost_radius_m,
            lost_address: req.lost_address.clone(),
            owner_name: req.owner_name.clone(),
            owner_phone_masked: mask_phone(&req.owner_phone),
            owner_id_number_masked: mask_id_number(&req.owner_id_number),
            station_id: req.station_id.clone(),
            incident_id: req.incident_id.clone(),
            status: LostReportStatus::Open as i32,
            recorded_by: Some(caller.actor()),
            created_at: Some(ts(now)),
            updated_at: Some(ts(now)),
            ..LostReport::default()
        };
        let core = &self.core;
        let actor = caller.actor();
        let mut response = core
            .context
            .requests
            .run("RegisterLostReport", &req.request_id, &req, async |tx| {
                crate::store::write_lock(tx).await?;
                let mut report = base.clone();
                let candidates = core
                    .store
                    .found_candidates(tx, report.kind, id_index.as_deref().unwrap_or_default())
                    .await?;
                let mut matches = Vec::new();
                for (mut item, _, index) in candidates {
                    let id_match = id_index.is_some() && index == id_index;
                    let Some(found) = compare(&item, &report, id_match, now) else {
                        continue;
                    };
                    core.store
                        .upsert_match(tx, &found, &station_of(&item), &report.station_id)
                        .await?;
                    if id_match && item.owner.is_none() {
                        item.owner = Some(owner_from_report(&report));
                        if item.status == FoundItemStatus::Registered as i32 {
                            item.status = FoundItemStatus::OwnerIdentified as i32;
                        }
                        if item.contact_task.is_none() {
                            let officer = item
                                .custody
                                .as_ref()
                                .map(|c| c.officer_id.clone())
                                .filter(|o| !o.is_empty())
                                .unwrap_or_else(|| actor.subject.clone());
                            item.contact_task = Some(new_contact_task(&officer, now));
                        }
                        item.updated_at = Some(ts(now));
                        let next =
                            (item.registry_lookup == RegistryLookup::Pending as i32).then_some(now);
                        let item_pii = FoundPii {
                            owner_phone_enc: Some(phone_enc.clone()),
                            ..FoundPii::default()
                        };
                        core.store
                            .update_found_item(tx, &item, item_pii, next)
                            .await?;
                    }
                    matches.push(found);
                }
                sort_matches(&mut matches);
                if !matches.is_empty() {
                    report.status = LostReportStatus::Matched as i32;
                }
                core.store
                    .insert_lost_report(
                        tx,
                        &report,
                        id_index.clone(),
                        id_enc.clone(),
                        phone_enc.clone(),
                    )
                    .await?;
                core.audit(
                    tx,
                    AuditEntry {
                        actor: actor.clone(),
                        action: "followup.RegisterLostReport",
                        resource_type: "lost_report",
                        resource_id: &report.lost_report_id,
                        station_id: &report.station_id,
                        detail: format!("kind {} matches {}", report.kind, matches.len()),
                    },
                )
                .await?;
                Ok(RegisterLostReportResponse {
                    lost_report: Some(report),
                    matches,
                })
            })
            .await?;
        if sees_phones(&caller)
            && let Some(report) = response.lost_report.as_mut()
        {
            report.owner_phone = req.owner_phone.clone();
        }
        Ok(response)
    }

    pub(super) async fn list_matches_checked(
        &self,
        request: Request<ListMatchesRequest>,
    ) -> Result<ListMatchesResponse, ApiError> {
        let caller = self.core.context.auth.caller(&request)?;
        let req = request.into_inner();
        let mut v = FieldViolations::default();
        let (size, offset) = page(&mut v, req.page_size, &req.page_token);
        if !req.min_score.is_finite() || !(0.0..=1.0).contains(&req.min_score) {
            v.add("min_score", "must be between 0 and 1");
        }
        v.finish()?;
        caller.require_any(READ_ROLES)?;
        let station_id = resolve_station(&caller, &req.station_id)?;
        let filter = MatchFilter {
            found_item_id: req.found_item_id.clone(),
            lost_report_id: req.lost_report_id.clone(),
            station_id,
            min_score: req.min_score,
        };
        let matches = self.core.store.list_matches(&filter, size, offset).await?;
        Ok(ListMatchesResponse {
            next_page_token: next_token(matches.len(), size, offset),
            matches,
        })
    }

    pub(super) async fn mark_owner_contacted_checked(
        &self,
        request: Request<MarkOwnerContactedRequest>,
    ) -> Result<MarkOwnerContactedResponse, ApiError> {
        let caller = self.core.context.auth.caller(&request)?;
        let req = request.into_inner();
        let now = self.core.now();
        let mut v = FieldViolations::default();
        v.require_non_empty("found_item_id", &req.found_item_id);
        check_enum_or_unset::<ContactMethod>(&mut v, "method", req.method);
        let contacted_at = time_or(&mut v, "contacted_at", req.contacted_at.as_ref(), now);
        check_not_future(&mut v, "contacted_at", contacted_at, now);
        v.require_max_chars("notes", &req.notes, MAX_TEXT_CHARS);
        v.finish()?;
        caller.require_any(FIELD_ROLES)?;

        let core = &self.core;
        let actor = caller.actor();
        let mut response = core
            .context
            .requests
            .run("MarkOwnerContacted", &req.request_id, &req, async |tx| {
                let (mut item, _, _) = core
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
                    let (report, phone, _) = core
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
                let next = (item.registry_lookup == RegistryLookup::Pending as i32).then_some(now);
                core.store
                    .update_found_item(tx, &item, item_pii, next)
                    .await?;
                crate::metrics::time_to_contact(time_to_contact.num_milliseconds() as f64 / 1000.0);
                core.audit(
                    tx,
                    AuditEntry {
                        actor: actor.clone(),
                        action: "followup.MarkOwnerContacted",
                        resource_type: "found_item",
                        resource_id: &item.found_item_id,
                        station_id: &station_of(&item),
                        detail: format!("time to contact {} s", time_to_contact.num_seconds()),
                    },
                )
                .await?;
                Ok(MarkOwnerContactedResponse {
                    found_item: Some(item),
                })
            })
            .await?;
        if let Some(item) = response.found_item.as_mut() {
            self.present_item(&caller, item).await?;
        }
        Ok(response)
    }

    pub(super) async fn mark_returned_checked(
        &self,
        request: Request<MarkReturnedRequest>,
    ) -> Result<MarkReturnedResponse, ApiError> {
        let caller = self.core.context.auth.caller(&request)?;
        let req = request.into_inner();
        let now = self.core.now();
        let mut v = FieldViolations::default();
        v.require_non_empty("found_item_id", &req.found_item_id);
        v.require_non_empty("recipient_name", &req.recipient_name);
        v.require_max_chars("recipient_name", &req.recipient_name, MAX_SHORT_CHARS);
        check_enum::<IdentityCheck>(&mut v, "identity_check", req.identity_check);
        if !req.recipient_id_number.is_empty() {
            check_id_number(&mut v, "recipient_id_number", &req.recipient_id_number);
        }
        let returned_at = time_or(&mut v, "returned_at", req.returned_at.as_ref(), now);
        check_not_future(&mut v, "returned_at", returned_at, now);
        v.require_max_chars("notes", &req.notes, MAX_TEXT_CHARS);
        v.finish()?;
        caller.require_any(FIELD_ROLES)?;
        let recipient_id_enc = if req.recipient_id_number.is_empty() {
            None
        } else {
            Some(self.core.seal(&req.recipient_id_number)?)
        };

        let core = &self.core;
        let actor = caller.actor();
        let mut response = core
            .context
            .requests
            .run("MarkReturned", &req.request_id, &req, async |tx| {
                let (mut item, _, _) = core
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
                    let (mut report, _, _) = core
                        .store
                        .lost_report_for_update(tx, &report_id)
                        .await?
                        .ok_or_else(|| ApiError::NotFound(format!("lost report {report_id}")))?;
                    report.status = LostReportStatus::Returned as i32;
                    report.returned_found_item_id = item.found_item_id.clone();
                    report.updated_at = Some(ts(now));
                    core.store.update_lost_report(tx, &report).await?;
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
                core.store
                    .update_found_item(tx, &item, item_pii, None)
                    .await?;
                core.audit(
                    tx,
                    AuditEntry {
                        actor: actor.clone(),
                        action: "followup.MarkReturned",
                        resource_type: "found_item",
                        resource_id: &item.found_item_id,
                        station_id: &station_of(&item),
                        detail: format!(
                            "returned to owner {} checked {}",
                            req.recipient_is_owner, req.identity_check
                        ),
                    },
                )
                .await?;
                Ok(MarkReturnedResponse {
                    found_item: Some(item),
                    lost_report: closed_report,
                })
            })
            .await?;
        if let Some(item) = response.found_item.as_mut() {
            self.present_item(&caller, item).await?;
        }
        Ok(response)
    }
}
