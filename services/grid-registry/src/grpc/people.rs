//! 一标三实: addresses, residents, houses, premises, and the audited ID-number lookup.

use pingan_platform::auth::Role;
use pingan_platform::pii::PiiKind;
use pingan_platform::{ApiError, FieldViolations, StorageError};
use pingan_proto::audit::v1::AuditOutcome;
use pingan_proto::grid::v1 as pb;
use tonic::Request;

use super::convert;
use super::{GridRegistryApi, REGISTRY_KEEPERS, optional_point, require_enum};
use crate::domain::phone::valid_phone;
use crate::domain::*;
use pingan_platform::ids::IdNumber;

/// Roles that may look a resident up by ID number.
const LOOKUP_ROLES: [Role; 6] = [
    Role::Admin,
    Role::StationOfficer,
    Role::VillageOfficer,
    Role::Dispatcher,
    Role::CommandCenter,
    Role::Service,
];

fn check_phone(v: &mut FieldViolations, field: &str, phone: &str) {
    if !phone.trim().is_empty() && !valid_phone(phone) {
        v.add(field, "must be a phone number");
    }
}

impl GridRegistryApi {
    pub(super) async fn upsert_address_impl(
        &self,
        request: Request<pb::UpsertAddressRequest>,
    ) -> Result<pb::UpsertAddressResponse, ApiError> {
        let caller = self.caller(&request)?;
        let r = request.into_inner();
        let mut v = FieldViolations::default();
        v.require_non_empty("address_id", &r.address_id);
        v.require_non_empty("full_text", &r.full_text);
        let location = optional_point(&mut v, "location", r.location.as_ref());
        v.finish()?;
        caller.require_any(&REGISTRY_KEEPERS)?;
        let grid = self
            .resolve_grid(&caller, &r.grid_id, location, "grid_id")
            .await?;
        let now = self.now();
        let existing = self.store().await?.address(&r.address_id).await?;
        let c = r.components.unwrap_or_default();
        let address = Address {
            address_id: r.address_id,
            grid_id: grid.grid_id,
            station_id: grid.station_id,
            full_text: r.full_text,
            components: AddressParts {
                province: c.province,
                city: c.city,
                county: c.county,
                township: c.township,
                village: c.village,
                street: c.street,
                house_number: c.house_number,
                building: c.building,
                entrance: c.entrance,
                room: c.room,
            },
            location,
            address_code: r.address_code,
            created_at: existing.map_or(now, |a| a.created_at),
            updated_at: now,
        };
        let audit = Self::audit(&caller, "UpsertAddress", "address", &address.address_id)
            .station(&address.station_id);
        let created = self
            .audited(async |tx| {
                let created = self.store().await?.put_address(tx, &address).await?;
                Ok((created, Some(audit.detail(format!("created: {created}")))))
            })
            .await?;
        Ok(pb::UpsertAddressResponse {
            address: Some(convert::address(&address)),
            created,
        })
    }

    pub(super) async fn upsert_resident_impl(
        &self,
        request: Request<pb::UpsertResidentRequest>,
    ) -> Result<pb::UpsertResidentResponse, ApiError> {
        let caller = self.caller(&request)?;
        let r = request.into_inner();
        let mut v = FieldViolations::default();
        v.require_non_empty("resident_id", &r.resident_id);
        v.require_non_empty("name", &r.name);
        let id_number = match IdNumber::parse(&r.id_number) {
            Ok(id) => Some(id),
            Err(err) => {
                v.add("id_number", err.to_string());
                None
            }
        };
        check_phone(&mut v, "phone", &r.phone);
        check_phone(
            &mut v,
            "emergency_contact_phone",
            &r.emergency_contact_phone,
        );
        for (i, tag) in r.tags.iter().enumerate() {
            if *tag == 0 || pb::ResidentTag::try_from(*tag).is_err() {
                v.add(&format!("tags[{i}]"), "unknown tag");
            }
        }
        if r.residency != 0 && pb::ResidencyKind::try_from(r.residency).is_err() {
            v.add("residency", "unknown residency kind");
        }
        let interval_secs = r.visit_interval.as_ref().map_or(0, |d| d.seconds);
        if interval_secs < 0 {
            v.add("visit_interval", "must not be negative");
        }
        let location = optional_point(&mut v, "location", r.location.as_ref());
        v.finish()?;
        let id_number = id_number.ok_or_else(|| ApiError::invalid("id_number", "invalid"))?;
        caller.require_any(&REGISTRY_KEEPERS)?;
        let grid = self
            .resolve_grid(&caller, &r.grid_id, location, "grid_id")
            .await?;
        let existing = self.store().await?.resident(&r.resident_id).await?;
        if let Some(old) = &existing {
            caller.require_station(&old.station_id)?;
        }
        let (sealed_id, id_hash) = self.seal(PiiKind::IdNumber, id_number.as_str())?;
        let now = self.now();
        let mut tags = r.tags.clone();
        tags.sort_unstable();
        tags.dedup();
        let resident = Resident {
            resident_id: r.resident_id,
            name: r.name,
            id_number: sealed_id,
            id_number_hash: id_hash,
            birth_date: id_number.birth_date().format("%Y-%m-%d").to_string(),
            phone: self.seal(PiiKind::Phone, &r.phone)?.0,
            grid_id: grid.grid_id,
            station_id: grid.station_id,
            address_id: r.address_id,
            address: r.address,
            household_id: r.household_id,
            relation_to_head: r.relation_to_head,
            residency: r.residency,
            tags,
            location,
            emergency_contact_name: r.emergency_contact_name,
            emergency_contact_phone: self.seal(PiiKind::Phone, &r.emergency_contact_phone)?.0,
            visit_interval_secs: interval_secs,
            last_visit_at: existing.as_ref().and_then(|e| e.last_visit_at),
            notes: r.notes,
            created_at: existing.as_ref().map_or(now, |e| e.created_at),
            updated_at: now,
        };
        let audit = Self::audit(&caller, "UpsertResident", "resident", &resident.resident_id)
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
        Ok(pb::UpsertResidentResponse {
            resident: Some(
                self.presenter(&caller, &resident.station_id)
                    .resident(&resident, now),
            ),
            created,
        })
    }

    pub(super) async fn upsert_house_impl(
        &self,
        request: Request<pb::UpsertHouseRequest>,
    ) -> Result<pb::UpsertHouseResponse, ApiError> {
        let caller = self.caller(&request)?;
        let r = request.into_inner();
        let mut v = FieldViolations::default();
        v.require_non_empty("house_id", &r.house_id);
        check_phone(&mut v, "owner_phone", &r.owner_phone);
        if r.occupant_count < 0 {
            v.add("occupant_count", "must not be negative");
        }
        if !(r.floor_area_m2.is_finite() && r.floor_area_m2 >= 0.0) {
            v.add("floor_area_m2", "must not be negative");
        }
        let location = optional_point(&mut v, "location", r.location.as_ref());
        v.finish()?;
        caller.require_any(&REGISTRY_KEEPERS)?;
        let grid = self
            .resolve_grid(&caller, &r.grid_id, location, "grid_id")
            .await?;
        let now = self.now();
        let existing = self.store().await?.house(&r.house_id).await?;
        let house = House {
            house_id: r.house_id,
            address_id: r.address_id,
            grid_id: grid.grid_id,
            station_id: grid.station_id,
            house_use: r.house_use,
            owner_resident_id: r.owner_resident_id,
            owner_name: r.owner_name,
            owner_phone: self.seal(PiiKind::Phone, &r.owner_phone)?.0,
            occupant_count: r.occupant_count,
            floor_area_m2: r.floor_area_m2,
            location,
            notes: r.notes,
            created_at: existing.map_or(now, |h| h.created_at),
            updated_at: now,
        };
        let audit = Self::audit(&caller, "UpsertHouse", "house", &house.house_id)
            .station(&house.station_id);
        let created = self
            .audited(async |tx| {
                let created = self.store().await?.put_house(tx, &house).await?;
                Ok((created, Some(audit.detail(format!("created: {created}")))))
            })
            .await?;
        Ok(pb::UpsertHouseResponse {
            house: Some(self.presenter(&caller, &house.station_id).house(&house)),
            created,
        })
    }

    pub(super) async fn upsert_premises_impl(
        &self,
        request: Request<pb::UpsertPremisesRequest>,
    ) -> Result<pb::UpsertPremisesResponse, ApiError> {
        let caller = self.caller(&request)?;
        let r = request.into_inner();
        let mut v = FieldViolations::default();
        v.require_non_empty("premises_id", &r.premises_id);
        v.require_non_empty("name", &r.name);
        require_enum::<pb::PremisesKind>(&mut v, "kind", r.kind);
        check_phone(&mut v, "contact_phone", &r.contact_phone);
        if r.staff_count < 0 {
            v.add("staff_count", "must not be negative");
        }
        for (i, id) in r.inspection_template_ids.iter().enumerate() {
            if self.templates.get(id).is_none() {
                v.add(&format!("inspection_template_ids[{i}]"), "unknown template");
            }
        }
        let location = optional_point(&mut v, "location", r.location.as_ref());
        v.finish()?;
        caller.require_any(&REGISTRY_KEEPERS)?;
        let grid = self
            .resolve_grid(&caller, &r.grid_id, location, "grid_id")
            .await?;
        let now = self.now();
        let existing = self.store().await?.premises(&r.premises_id).await?;
        let templates = if r.inspection_template_ids.is_empty() {
            self.templates.defaults_for(r.kind)
        } else {
            r.inspection_template_ids
        };
        let premises = Premises {
            premises_id: r.premises_id,
            kind: r.kind,
            name: r.name,
            grid_id: grid.grid_id,
            station_id: grid.station_id,
            address_id: r.address_id,
            address: r.address,
            location,
            credit_code: r.credit_code,
            contact_name: r.contact_name,
            contact_phone: self.seal(PiiKind::Phone, &r.contact_phone)?.0,
            staff_count: r.staff_count,
            inspection_template_ids: templates,
            last_inspected_at: existing.as_ref().and_then(|p| p.last_inspected_at),
            notes: r.notes,
            created_at: existing.as_ref().map_or(now, |p| p.created_at),
            updated_at: now,
        };
        let audit = Self::audit(&caller, "UpsertPremises", "premises", &premises.premises_id)
            .station(&premises.station_id);
        let created = self
            .audited(async |tx| {
                let created = self.store().await?.put_premises(tx, &premises).await?;
                Ok((created, Some(audit.detail(format!("created: {created}")))))
            })
            .await?;
        Ok(pb::UpsertPremisesResponse {
            premises: Some(
                self.presenter(&caller, &premises.station_id)
                    .premises(&premises),
            ),
            created,
        })
    }

    pub(super) async fn find_resident_impl(
        &self,
        request: Request<pb::FindResidentByIdNumberRequest>,
    ) -> Result<pb::FindResidentByIdNumberResponse, ApiError> {
        let caller = self.caller(&request)?;
        let r = request.into_inner();
        let mut v = FieldViolations::default();
        let id_number = IdNumber::parse(&r.id_number)
            .map_err(|err| v.add("id_number", err.to_string()))
            .ok();
        require_enum::<pb::LookupPurpose>(&mut v, "purpose", r.purpose);
        v.require_non_empty("reason", &r.reason);
        v.finish()?;
        let id_number = id_number.ok_or_else(|| ApiError::invalid("id_number", "invalid"))?;
        caller.require_any(&LOOKUP_ROLES)?;
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
        let now = self.now();
        let lookup = IdLookup {
            lookup_id: uuid::Uuid::now_v7().to_string(),
            actor: Self::actor(&caller),
            purpose: r.purpose,
            reason: r.reason,
            reference_id: r.reference_id,
            resident_id: found
                .as_ref()
                .map(|f| f.resident_id.clone())
                .unwrap_or_default(),
            at: now,
        };
        // The lookup and its audit record (purpose and reference, never the number) commit together.
        let audit = Self::audit(
            &caller,
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
        let presenter = self.presenter(&caller, &resident.station_id);
        Ok(pb::FindResidentByIdNumberResponse {
            resident: Some(presenter.resident(&resident, now)),
            responsible_officers: officers.iter().map(|o| presenter.officer(o)).collect(),
            lookup_id: lookup.lookup_id,
        })
    }
}
