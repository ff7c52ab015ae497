//! Lost and found: registering a found item (with the owner lookup of an ID card) or a lost
//! report, each compared with the open records of the other side; the match list.

use pingan_platform::ApiError;
use pingan_platform::audit::Audit;
use pingan_platform::auth::Caller;
use pingan_platform::pii::{PiiKind, mask_id_number, mask_phone};
use pingan_platform::storage::Tx;
use pingan_proto::followup::v1::{
    FoundItem, FoundItemStatus, ItemKind, ListMatchesResponse, LostReport, LostReportStatus, Match,
    Owner, OwnerSource, RegisterFoundItemRequest, RegisterFoundItemResponse,
    RegisterLostReportRequest, RegisterLostReportResponse, RegistryLookup,
};

use super::Core;
use crate::domain::lostfound::{compare, new_contact_task, refresh, sort_matches};
use crate::domain::{new_id, ts};
use crate::store::{FoundPii, LostPii, MatchFilter, Page};

/// The custody station of a found item.
pub(crate) fn station_of(item: &FoundItem) -> String {
    item.custody
        .as_ref()
        .map(|c| c.station_id.clone())
        .unwrap_or_default()
}

/// The owner named by a lost report.
pub(crate) fn owner_from_report(report: &LostReport) -> Owner {
    Owner {
        source: OwnerSource::LostReport as i32,
        name: report.owner_name.clone(),
        phone_masked: report.owner_phone_masked.clone(),
        lost_report_id: report.lost_report_id.clone(),
        ..Owner::default()
    }
}

/// A found item's ID number, as stored: keyed hash and ciphertext.
type SealedId = (Option<String>, Option<Vec<u8>>);

impl Core {
    /// Keyed hash and ciphertext of an ID number (none when empty).
    fn seal_id(&self, id_number: &str) -> Result<SealedId, ApiError> {
        if id_number.is_empty() {
            return Ok((None, None));
        }
        let index = self.context.pii.blind_index(PiiKind::IdNumber, id_number);
        Ok((Some(index), Some(self.seal(id_number)?)))
    }

    /// Adds computed flags and, for roles allowed, the owner's clear phone.
    pub(crate) async fn present_item(
        &self,
        caller: &Caller,
        item: &mut FoundItem,
    ) -> Result<(), ApiError> {
        refresh(item, self.now());
        if !crate::domain::access::sees_phones(caller) || item.owner.is_none() {
            return Ok(());
        }
        let sealed = self.store.found_owner_phone(&item.found_item_id).await?;
        if let (Some(phone), Some(owner)) = (
            self.phone_for(caller, sealed.as_deref())?,
            item.owner.as_mut(),
        ) {
            owner.phone = phone;
        }
        Ok(())
    }

    /// RegisterFoundItem (validated): stores the item; an ID card's owner is looked up in
    /// grid-registry at once (pending and retried when it cannot be reached).
    pub async fn register_found_item(
        &self,
        caller: &Caller,
        req: &RegisterFoundItemRequest,
        found_at: chrono::DateTime<chrono::Utc>,
    ) -> Result<RegisterFoundItemResponse, ApiError> {
        let now = self.now();
        let custody = req.custody.clone().unwrap_or_default();
        let id_card = req.kind == ItemKind::IdCard as i32;
        let (id_index, id_enc) = self.seal_id(&req.id_number)?;
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
            custody: Some(custody),
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
        let actor = caller.actor();
        let mut response = self
            .context
            .requests
            .run("RegisterFoundItem", &req.request_id, req, async |tx| {
                let mut item = base.clone();
                let mut found_pii = FoundPii {
                    id_number_index: id_index.clone(),
                    id_number_enc: id_enc.clone(),
                    ..FoundPii::default()
                };
                if id_card {
                    // Raised at once: the officer starts while the registry answers.
                    item.contact_task = Some(new_contact_task(&officer, now));
                    let result = self.find_owner(&req.id_number, &item.found_item_id).await;
                    found_pii.owner_phone_enc = self.apply_lookup(&mut item, result, now);
                }
                // After the registry call: the write lock (taken by the first read of the
                // matching) is not held across it.
                let matches = self
                    .match_new_item(tx, &mut item, &mut found_pii, id_index.as_deref(), &officer)
                    .await?;
                self.store.insert_found_item(tx, &item, found_pii).await?;
                if item.registry_lookup == RegistryLookup::Pending as i32 {
                    self.enqueue_lookup(tx, &item.found_item_id).await?;
                }
                let lookup = RegistryLookup::try_from(item.registry_lookup)
                    .map(|l| l.as_str_name())
                    .unwrap_or("UNKNOWN");
                let audit = Audit::new(
                    actor.clone(),
                    "followup.RegisterFoundItem",
                    "found_item",
                    &item.found_item_id,
                )
                .station(station_of(&item))
                .detail(format!(
                    "kind {} id {} lookup {lookup} matches {}",
                    req.kind,
                    item.id_number_masked,
                    matches.len()
                ));
                self.audit(tx, audit).await?;
                Ok(RegisterFoundItemResponse {
                    found_item: Some(item),
                    matches,
                })
            })
            .await?;
        if let Some(item) = response.found_item.as_mut() {
            self.present_item(caller, item).await?;
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
        let now = self.now();
        let candidates = self
            .store
            .lost_candidates(tx, item.kind, id_index.unwrap_or_default())
            .await?;
        let mut matches = Vec::new();
        for (mut report, phone, index) in candidates {
            let id_match = id_index.is_some() && index.as_deref() == id_index;
            let Some(found) = compare(item, &report, id_match, now) else {
                continue;
            };
            self.store
                .upsert_match(tx, &found, &station_of(item), &report.station_id)
                .await?;
            if report.status == LostReportStatus::Open as i32 {
                report.status = LostReportStatus::Matched as i32;
                report.updated_at = Some(ts(now));
                self.store.update_lost_report(tx, &report).await?;
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

    /// RegisterLostReport (validated): stores the report; found items it matches are linked
    /// and, on a certain (ID-number) match, learn their owner from it.
    pub async fn register_lost_report(
        &self,
        caller: &Caller,
        req: &RegisterLostReportRequest,
    ) -> Result<RegisterLostReportResponse, ApiError> {
        let now = self.now();
        let (id_index, id_enc) = self.seal_id(&req.owner_id_number)?;
        let phone_enc = self.seal(&req.owner_phone)?;
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
        let actor = caller.actor();
        let mut response = self
            .context
            .requests
            .run("RegisterLostReport", &req.request_id, req, async |tx| {
                let mut report = base.clone();
                let matches = self
                    .match_new_report(tx, &mut report, id_index.as_deref(), &phone_enc, &actor)
                    .await?;
                let pii = LostPii {
                    id_number_index: id_index.clone(),
                    id_number_enc: id_enc.clone(),
                    owner_phone_enc: phone_enc.clone(),
                };
                self.store.insert_lost_report(tx, &report, pii).await?;
                let audit = Audit::new(
                    actor.clone(),
                    "followup.RegisterLostReport",
                    "lost_report",
                    &report.lost_report_id,
                )
                .station(&report.station_id)
                .detail(format!("kind {} matches {}", report.kind, matches.len()));
                self.audit(tx, audit).await?;
                Ok(RegisterLostReportResponse {
                    lost_report: Some(report),
                    matches,
                })
            })
            .await?;
        if crate::domain::access::sees_phones(caller)
            && let Some(report) = response.lost_report.as_mut()
        {
            report.owner_phone = req.owner_phone.clone();
        }
        Ok(response)
    }

    /// Compares a new lost report with the found items not yet returned; stores the matches and
    /// gives items matched by ID number their owner (and a contact task).
    async fn match_new_report(
        &self,
        tx: &mut Tx,
        report: &mut LostReport,
        id_index: Option<&str>,
        phone_enc: &[u8],
        actor: &pingan_proto::common::v1::Actor,
    ) -> Result<Vec<Match>, ApiError> {
        let now = self.now();
        let candidates = self
            .store
            .found_candidates(tx, report.kind, id_index.unwrap_or_default())
            .await?;
        let mut matches = Vec::new();
        for (mut item, _, index) in candidates {
            let id_match = id_index.is_some() && index.as_deref() == id_index;
            let Some(found) = compare(&item, report, id_match, now) else {
                continue;
            };
            self.store
                .upsert_match(tx, &found, &station_of(&item), &report.station_id)
                .await?;
            if id_match && item.owner.is_none() {
                item.owner = Some(owner_from_report(report));
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
                let item_pii = FoundPii {
                    owner_phone_enc: Some(phone_enc.to_vec()),
                    ..FoundPii::default()
                };
                self.store.update_found_item(tx, &item, item_pii).await?;
            }
            matches.push(found);
        }
        sort_matches(&mut matches);
        if !matches.is_empty() {
            report.status = LostReportStatus::Matched as i32;
        }
        Ok(matches)
    }

    /// ListMatches (validated and resolved): candidate matches, best first.
    pub async fn list_matches(
        &self,
        filter: &MatchFilter,
        page: Page,
    ) -> Result<ListMatchesResponse, ApiError> {
        let matches = self.store.list_matches(filter, page).await?;
        Ok(ListMatchesResponse {
            next_page_token: crate::api::next_token(matches.len(), page),
            matches,
        })
    }
}
