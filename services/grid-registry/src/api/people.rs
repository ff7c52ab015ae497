//! 一标三实: addresses, residents, houses, premises, and the audited ID-number lookup. Phone
//! and ID numbers are sealed here, so no clear number goes past the edge.

use pingan_platform::auth::Role;
use pingan_platform::pii::PiiKind;
use pingan_platform::{ApiError, FieldViolations};
use pingan_proto::grid::v1 as pb;
use tonic::Request;

use super::convert;
use super::validate::{check_phone, id_number, optional_point, require_enum};
use super::{GridRegistryApi, REGISTRY_KEEPERS};
use crate::domain::*;

/// Roles that may look a resident up by ID number.
const LOOKUP_ROLES: [Role; 6] = [
    Role::Admin,
    Role::StationOfficer,
    Role::VillageOfficer,
    Role::Dispatcher,
    Role::CommandCenter,
    Role::Service,
];

impl GridRegistryApi {
    /// A phone number as stored (masked and encrypted).
    pub(super) fn sealed_phone(&self, clear: &str) -> Result<SealedValue, ApiError> {
        Ok(self.app.seal(PiiKind::Phone, clear)?.0)
    }

    pub(super) async fn upsert_address_rpc(
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
        let c = r.components.unwrap_or_default();
        let address = Address {
            address_id: r.address_id,
            grid_id: r.grid_id,
            station_id: String::new(),
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
            created_at: 0,
            updated_at: 0,
        };
        let (address, created) = self.app.upsert_address(&caller, address).await?;
        Ok(pb::UpsertAddressResponse {
            address: Some(convert::address(&address)),
            created,
        })
    }

    pub(super) async fn upsert_resident_rpc(
        &self,
        request: Request<pb::UpsertResidentRequest>,
    ) -> Result<pb::UpsertResidentResponse, ApiError> {
        let caller = self.caller(&request)?;
        let r = request.into_inner();
        let mut v = FieldViolations::default();
        v.require_non_empty("resident_id", &r.resident_id);
        v.require_non_empty("name", &r.name);
        let id_number = id_number(&mut v, "id_number", &r.id_number);
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
        let (sealed_id, id_hash) = self.app.seal(PiiKind::IdNumber, id_number.as_str())?;
        let resident = Resident {
            resident_id: r.resident_id,
            name: r.name,
            id_number: sealed_id,
            id_number_hash: id_hash,
            birth_date: id_number.birth_date().format("%Y-%m-%d").to_string(),
            phone: self.sealed_phone(&r.phone)?,
            grid_id: r.grid_id,
            station_id: String::new(),
            address_id: r.address_id,
            address: r.address,
            household_id: r.household_id,
            relation_to_head: r.relation_to_head,
            residency: r.residency,
            tags: r.tags,
            location,
            emergency_contact_name: r.emergency_contact_name,
            emergency_contact_phone: self.sealed_phone(&r.emergency_contact_phone)?,
            visit_interval_secs: interval_secs,
            last_visit_at: None,
            notes: r.notes,
            created_at: 0,
            updated_at: 0,
        };
        let (resident, created) = self.app.upsert_resident(&caller, resident).await?;
        Ok(pb::UpsertResidentResponse {
            resident: Some(
                self.presenter(&caller, &resident.station_id)
                    .resident(&resident, resident.updated_at),
            ),
            created,
        })
    }

    pub(super) async fn upsert_house_rpc(
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
        let house = House {
            house_id: r.house_id,
            address_id: r.address_id,
            grid_id: r.grid_id,
            station_id: String::new(),
            house_use: r.house_use,
            owner_resident_id: r.owner_resident_id,
            owner_name: r.owner_name,
            owner_phone: self.sealed_phone(&r.owner_phone)?,
            occupant_count: r.occupant_count,
            floor_area_m2: r.floor_area_m2,
            location,
            notes: r.notes,
            created_at: 0,
            updated_at: 0,
        };
        let (house, created) = self.app.upsert_house(&caller, house).await?;
        Ok(pb::UpsertHouseResponse {
            house: Some(self.presenter(&caller, &house.station_id).house(&house)),
            created,
        })
    }

    pub(super) async fn upsert_premises_rpc(
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
            if self.app.templates().get(id).is_none() {
                v.add(&format!("inspection_template_ids[{i}]"), "unknown template");
            }
        }
        let location = optional_point(&mut v, "location", r.location.as_ref());
        v.finish()?;
        caller.require_any(&REGISTRY_KEEPERS)?;
        let premises = Premises {
            premises_id: r.premises_id,
            kind: r.kind,
            name: r.name,
            grid_id: r.grid_id,
            station_id: String::new(),
            address_id: r.address_id,
            address: r.address,
            location,
            credit_code: r.credit_code,
            contact_name: r.contact_name,
            contact_phone: self.sealed_phone(&r.contact_phone)?,
            staff_count: r.staff_count,
            inspection_template_ids: r.inspection_template_ids,
            last_inspected_at: None,
            notes: r.notes,
            created_at: 0,
            updated_at: 0,
        };
        let (premises, created) = self.app.upsert_premises(&caller, premises).await?;
        Ok(pb::UpsertPremisesResponse {
            premises: Some(
                self.presenter(&caller, &premises.station_id)
                    .premises(&premises),
            ),
            created,
        })
    }

    pub(super) async fn find_resident_rpc(
        &self,
        request: Request<pb::FindResidentByIdNumberRequest>,
    ) -> Result<pb::FindResidentByIdNumberResponse, ApiError> {
        let caller = self.caller(&request)?;
        let r = request.into_inner();
        let mut v = FieldViolations::default();
        let id_number = id_number(&mut v, "id_number", &r.id_number);
        require_enum::<pb::LookupPurpose>(&mut v, "purpose", r.purpose);
        v.require_non_empty("reason", &r.reason);
        v.finish()?;
        let id_number = id_number.ok_or_else(|| ApiError::invalid("id_number", "invalid"))?;
        caller.require_any(&LOOKUP_ROLES)?;
        let request = IdLookup {
            purpose: r.purpose,
            reason: r.reason,
            reference_id: r.reference_id,
            ..IdLookup::default()
        };
        let found = self.app.find_resident(&caller, &id_number, request).await?;
        let presenter = self.presenter(&caller, &found.resident.station_id);
        Ok(pb::FindResidentByIdNumberResponse {
            resident: Some(presenter.resident(&found.resident, self.app.now())),
            responsible_officers: found
                .officers
                .iter()
                .map(|o| presenter.officer(o))
                .collect(),
            lookup_id: found.lookup_id,
        })
    }
}
