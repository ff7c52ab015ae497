//! 一标三实: addresses, residents, houses, premises, and the audited ID-number lookup.

use pingan_platform::auth::Caller;
use pingan_platform::ids::IdNumber;
use pingan_platform::pii::PiiKind;
use pingan_platform::{ApiError, StorageError};
use pingan_proto::audit::v1::AuditOutcome;
use pingan_proto::grid::v1 as pb;

use super::Registry;
use crate::domain::*;

/// A resident found by ID number, the officers responsible for them and the lookup's id.
#[derive(Debug, Clone)]
pub struct Lookup {
    pub resident: Resident,
    pub officers: Vec<GridOfficer>,
    pub lookup_id: String,
}

impl Registry {
    /// Creates or replaces a standard address in its grid (named, or the one at its location).
    pub async fn upsert_address(
        &self,
        caller: &Caller,
        mut address: Address,
    ) -> Result<(Address, bool), ApiError> {
        let grid = self
            .resolve_grid(caller, &address.grid_id, address.location, "grid_id")
            .await?;
        let now = self.now();
        let existing = self.store().await?.address(&address.address_id).await?;
        address.grid_id = grid.grid_id;
        address.station_id = grid.station_id;
        address.created_at = existing.map_or(now, |a| a.created_at);
        address.updated_at = now;
        let audit = Self::audit(caller, "UpsertAddress", "address", &address.address_id)
            .station(&address.station_id);
        let created = self
            .audited(async |tx| {
                let created = self.store().await?.put_address(tx, &address).await?;
                Ok((created, Some(audit.detail(format!("created: {created}")))))
            })
            .await?;
        Ok((address, created))
    }

    /// Creates or replaces a resident (numbers already sealed); ALREADY_EXISTS when another
    /// resident has the ID number.
    pub async fn upsert_resident(
        &self,
        caller: &Caller,
        mut resident: Resident,
    ) -> Result<(Resident, bool), ApiError> {
        let grid = self
            .resolve_grid(caller, &resident.grid_id, resident.location, "grid_id")
            .await?;
        let existing = self.store().await?.resident(&resident.resident_id).await?;
        if let Some(old) = &existing {
            caller.require_station(&old.station_id)?;
        }
        let now = self.now();
        resident.tags.sort_unstable();
        resident.tags.dedup();
        resident.grid_id = grid.grid_id;
        resident.station_id = grid.station_id;
        resident.last_visit_at = existing.as_ref().and_then(|e| e.last_visit_at);
        resident.created_at = existing.as_ref().map_or(now, |e| e.created_at);
        resident.updated_at = now;
        let audit = Self::audit(caller, "UpsertResident", "resident", &resident.resident_id)
            .station(&resident.station_id);
        let created = self
            .audited(
                async |tx| match self.store().await?.put_resident(tx, &resident).await {
                    Ok(created) => Ok((created, Some(audit.detail(format!("created: {created}"))))),
                    Err(StorageError::Conflict(_)) => Err(ApiError::AlreadyExists(
                        "another resident has this id_number".into(),
                    )),
                    Err(other) => Err(other.into()),
                },
            )
            .await?;
        tracing::info!(resident_id = %resident.resident_id, grid_id = %resident.grid_id, created, "resident stored");
        Ok((resident, created))
    }

    /// Creates or replaces a house in its grid.
    pub async fn upsert_house(
        &self,
        caller: &Caller,
        mut house: House,
    ) -> Result<(House, bool), ApiError> {
        let grid = self
            .resolve_grid(caller, &house.grid_id, house.location, "grid_id")
            .await?;
        let now = self.now();
        let existing = self.store().await?.house(&house.house_id).await?;
        house.grid_id = grid.grid_id;
        house.station_id = grid.station_id;
        house.created_at = existing.map_or(now, |h| h.created_at);
        house.updated_at = now;
        let audit =
            Self::audit(caller, "UpsertHouse", "house", &house.house_id).station(&house.station_id);
        let created = self
            .audited(async |tx| {
                let created = self.store().await?.put_house(tx, &house).await?;
                Ok((created, Some(audit.detail(format!("created: {created}")))))
            })
            .await?;
        Ok((house, created))
    }

    /// Creates or replaces premises in their grid; no templates named: those of their kind.
    pub async fn upsert_premises(
        &self,
        caller: &Caller,
        mut premises: Premises,
    ) -> Result<(Premises, bool), ApiError> {
        let grid = self
            .resolve_grid(caller, &premises.grid_id, premises.location, "grid_id")
            .await?;
        let now = self.now();
        let existing = self.store().await?.premises(&premises.premises_id).await?;
        if premises.inspection_template_ids.is_empty() {
            premises.inspection_template_ids = self.templates.defaults_for(premises.kind);
        }
        premises.grid_id = grid.grid_id;
        premises.station_id = grid.station_id;
        premises.last_inspected_at = existing.as_ref().and_then(|p| p.last_inspected_at);
        premises.created_at = existing.as_ref().map_or(now, |p| p.created_at);
        premises.updated_at = now;
        let audit = Self::audit(caller, "UpsertPremises", "premises", &premises.premises_id)
            .station(&premises.station_id);
        let created = self
            .audited(async |tx| {
                let created = self.store().await?.put_premises(tx, &premises).await?;
                Ok((created, Some(audit.detail(format!("created: {created}")))))
            })
            .await?;
        Ok((premises, created))
    }

    /// Looks a resident up by ID number. The lookup and its audit record (purpose and
    /// reference, never the number) commit together, found or not; NOT_FOUND when not.
    pub async fn find_resident(
        &self,
        caller: &Caller,
        id_number: &IdNumber,
        request: IdLookup,
    ) -> Result<Lookup, ApiError> {
        let hash = self
            .context
            .pii
            .blind_index(PiiKind::IdNumber, id_number.as_str());
        let found = self
            .store()
            .await?
            .resident_by_id_hash(&hash)
            .await?
            .filter(|resident| caller.can_see_station(&resident.station_id));
        let lookup = IdLookup {
            lookup_id: uuid::Uuid::now_v7().to_string(),
            actor: Self::actor(caller),
            resident_id: found
                .as_ref()
                .map(|f| f.resident_id.clone())
                .unwrap_or_default(),
            at: self.now(),
            ..request
        };
        let audit = Self::audit(
            caller,
            "FindResidentByIdNumber",
            "resident",
            &lookup.resident_id,
        )
        .station(
            found
                .as_ref()
                .map(|f| f.station_id.clone())
                .unwrap_or_default(),
        )
        .outcome(if found.is_some() {
            AuditOutcome::Success
        } else {
            AuditOutcome::Failed
        })
        .detail(format!(
            "lookup {} purpose {} reference {:?} reason {:?}: {}",
            lookup.lookup_id,
            pb::LookupPurpose::try_from(lookup.purpose)
                .map(|p| p.as_str_name())
                .unwrap_or("UNKNOWN"),
            lookup.reference_id,
            lookup.reason,
            if found.is_some() {
                "found"
            } else {
                "no resident"
            }
        ));
        self.audited(async |tx| {
            self.store().await?.record_lookup(tx, &lookup).await?;
            Ok(((), Some(audit)))
        })
        .await?;
        tracing::info!(
            lookup_id = %lookup.lookup_id,
            subject = %lookup.actor.subject,
            purpose = lookup.purpose,
            reference_id = %lookup.reference_id,
            found = found.is_some(),
            "resident looked up by id number"
        );
        let resident =
            found.ok_or_else(|| ApiError::NotFound("resident with this id_number".into()))?;
        let officers = self.store().await?.officers(&resident.grid_id).await?;
        Ok(Lookup {
            resident,
            officers,
            lookup_id: lookup.lookup_id,
        })
    }
}
