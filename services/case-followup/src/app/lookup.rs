//! The owner of a found ID card, looked up in grid-registry (`FindResidentByIdNumber`). While
//! grid-registry cannot be reached the item keeps its lookup PENDING and a platform job (enqueued
//! with the item, see `lookup_job`) tries again with backoff; the item itself is stored before
//! any lookup, so it is never lost.

use chrono::{DateTime, Utc};
use pingan_platform::ApiError;
use pingan_platform::audit::Audit;
use pingan_proto::followup::v1::{FoundItem, FoundItemStatus, Owner, OwnerSource, RegistryLookup};
use pingan_proto::grid::v1::grid_registry_service_client::GridRegistryServiceClient;
use pingan_proto::grid::v1::{FindResidentByIdNumberRequest, LookupPurpose, OfficerRole};

use super::Core;
use crate::domain::ts;
use crate::events::service_actor;
use crate::store::FoundPii;

/// What grid-registry answered.
#[derive(Debug, Clone)]
pub enum LookupResult {
    /// The owner, and their phone encrypted when the registry gave it in clear.
    Found(Owner, Option<Vec<u8>>),
    /// Nobody in the registry has the number.
    NotFound,
    /// The registry could not be asked (down, timeout, refused); try again later.
    Unavailable(String),
}

impl Core {
    /// Asks grid-registry for the owner of `id_number` (never logged), for `found_item_id`.
    pub async fn find_owner(&self, id_number: &str, found_item_id: &str) -> LookupResult {
        let channel = match self.context.peers.channel("grid-registry") {
            Ok(channel) => channel,
            Err(err) => return LookupResult::Unavailable(err.to_string()),
        };
        let mut request = tonic::Request::new(FindResidentByIdNumberRequest {
            id_number: id_number.to_owned(),
            purpose: LookupPurpose::LostAndFound as i32,
            reason: "拾获身份证归还失主".to_owned(),
            reference_id: found_item_id.to_owned(),
        });
        request.set_timeout(self.config.lookup_timeout);
        let mut client = GridRegistryServiceClient::new(channel);
        let call = client.find_resident_by_id_number(request);
        let response = match tokio::time::timeout(self.config.lookup_timeout, call).await {
            Err(_) => return LookupResult::Unavailable("grid-registry timed out".into()),
            Ok(Err(status)) if status.code() == tonic::Code::NotFound => {
                return LookupResult::NotFound;
            }
            Ok(Err(status)) => {
                return LookupResult::Unavailable(format!(
                    "grid-registry: {:?} {}",
                    status.code(),
                    pingan_platform::pii::scrub(status.message())
                ));
            }
            Ok(Ok(response)) => response.into_inner(),
        };
        let Some(resident) = response.resident else {
            return LookupResult::NotFound;
        };
        let village_officer = response
            .responsible_officers
            .iter()
            .find(|o| o.role == OfficerRole::VillageOfficer as i32)
            .or_else(|| response.responsible_officers.first())
            .map(|o| o.officer_id.clone())
            .unwrap_or_default();
        let phone_enc = if resident.phone.is_empty() {
            None
        } else {
            match self.seal(&resident.phone) {
                Ok(sealed) => Some(sealed),
                Err(err) => return LookupResult::Unavailable(err.to_string()),
            }
        };
        let phone_masked = if resident.phone_masked.is_empty() {
            pingan_platform::pii::mask_phone(&resident.phone)
        } else {
            resident.phone_masked.clone()
        };
        LookupResult::Found(
            Owner {
                source: OwnerSource::Registry as i32,
                resident_id: resident.resident_id,
                name: resident.name,
                phone_masked,
                phone: String::new(),
                grid_id: resident.grid_id,
                village_officer_id: village_officer,
                lost_report_id: String::new(),
            },
            phone_enc,
        )
    }

    /// Applies a lookup result to an item; returns the owner's encrypted phone (when the
    /// registry identified the owner).
    pub fn apply_lookup(
        &self,
        item: &mut FoundItem,
        result: LookupResult,
        now: DateTime<Utc>,
    ) -> Option<Vec<u8>> {
        item.registry_lookup_attempts += 1;
        item.updated_at = Some(ts(now));
        match result {
            LookupResult::Found(owner, phone_enc) => {
                crate::metrics::registry_lookup("found");
                item.registry_lookup = RegistryLookup::Found as i32;
                // An owner identified otherwise (a lost report) keeps that identification.
                if item.owner.is_none() {
                    item.owner = Some(owner);
                    if item.status == FoundItemStatus::Registered as i32 {
                        item.status = FoundItemStatus::OwnerIdentified as i32;
                    }
                    return phone_enc;
                }
                None
            }
            LookupResult::NotFound => {
                crate::metrics::registry_lookup("not_found");
                item.registry_lookup = RegistryLookup::NotFound as i32;
                None
            }
            LookupResult::Unavailable(why) => {
                crate::metrics::registry_lookup("unavailable");
                tracing::warn!(found_item_id = %item.found_item_id, error = %why,
                    attempts = item.registry_lookup_attempts, "owner lookup pending");
                item.registry_lookup = RegistryLookup::Pending as i32;
                None
            }
        }
    }

    /// One run of the owner lookup job of `found_item_id`: asks the registry and records the
    /// answer; `Ok(false)` when the registry could not be asked (the job retries later).
    pub async fn lookup_owner(&self, found_item_id: &str) -> Result<bool, ApiError> {
        let Some(sealed) = self.store.found_id_number(found_item_id).await? else {
            return Ok(true);
        };
        let id_number = self.open(&sealed)?;
        let result = self.find_owner(&id_number, found_item_id).await;
        let mut tx = self.context.db.begin_write().await?;
        let Some((mut item, _, _)) = self
            .store
            .found_item_for_update(&mut tx, found_item_id)
            .await?
        else {
            tx.rollback().await?;
            return Ok(true);
        };
        if item.registry_lookup != RegistryLookup::Pending as i32 {
            tx.rollback().await?;
            return Ok(true);
        }
        let resolved = !matches!(result, LookupResult::Unavailable(_));
        let found = matches!(result, LookupResult::Found(..));
        let phone_enc = self.apply_lookup(&mut item, result, self.now());
        let pii = FoundPii {
            owner_phone_enc: phone_enc,
            ..FoundPii::default()
        };
        self.store.update_found_item(&mut tx, &item, pii).await?;
        if resolved {
            let audit = Audit::new(
                service_actor(),
                "followup.OwnerLookup",
                "found_item",
                &item.found_item_id,
            )
            .station(super::lostfound::station_of(&item))
            .detail(format!(
                "registry lookup of {} after {} attempts: {}",
                item.id_number_masked,
                item.registry_lookup_attempts,
                if found { "owner found" } else { "no resident" }
            ));
            self.audit(&mut tx, audit).await?;
        }
        self.context.outbox.commit(tx).await?;
        Ok(resolved)
    }
}
