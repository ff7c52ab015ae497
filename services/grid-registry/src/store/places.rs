//! Rows of the places and people tables (stations, grids, officers, addresses, residents, houses,
//! premises, ID-number lookups): a record to its columns and back.

use pingan_platform::StorageError;
use pingan_platform::storage_rows::{Arg, Cols, Columns, t};
use pingan_proto::grid::v1 as pb;

use super::db::{ListTable, MillisCols, opt_time, time};
use super::encode::{
    enum_arg, enum_col, point, point_cols, ring_from_wkt, ring_to_wkt, sealed, sealed_cols,
};
use crate::domain::*;

pub(super) const RESIDENT_TAGS: ListTable = ListTable {
    table: "resident_tags",
    owner: "resident_id",
    value: "tag",
};
pub(super) const PREMISES_TEMPLATES: ListTable = ListTable {
    table: "premises_templates",
    owner: "premises_id",
    value: "template_id",
};

pub(super) fn station_row(s: &Station) -> Result<Columns, StorageError> {
    let mut row = vec![
        ("station_id", t(&s.station_id)),
        ("name", t(&s.name)),
        ("kind", enum_arg::<pb::StationKind>(s.kind)),
        ("county", t(&s.county)),
        ("region_code", t(&s.region_code)),
        ("address", t(&s.address)),
        ("duty_phone", t(&s.duty_phone)),
        ("created_at", time(s.created_at)?),
        ("updated_at", time(s.updated_at)?),
    ];
    point_cols(&mut row, "location_lat", "location_lon", s.location);
    Ok(row)
}

pub(super) fn station(r: &dyn Cols) -> Result<Station, StorageError> {
    Ok(Station {
        station_id: r.text("station_id")?,
        name: r.text("name")?,
        kind: enum_col::<pb::StationKind>(r, "kind")?,
        county: r.text("county")?,
        region_code: r.text("region_code")?,
        location: point(r, "location_lat", "location_lon")?,
        address: r.text("address")?,
        duty_phone: r.text("duty_phone")?,
        created_at: r.millis("created_at")?,
        updated_at: r.millis("updated_at")?,
    })
}

pub(super) fn grid_row(g: &Grid) -> Result<Columns, StorageError> {
    Ok(vec![
        ("grid_id", t(&g.grid_id)),
        ("station_id", t(&g.station_id)),
        ("name", t(&g.name)),
        ("kind", enum_arg::<pb::GridKind>(g.kind)),
        ("polygon_wkt", Arg::Text(Some(ring_to_wkt(&g.polygon)))),
        ("area_m2", Arg::Float(Some(g.area_m2))),
        ("centroid_lat", Arg::Float(Some(g.centroid.lat))),
        ("centroid_lon", Arg::Float(Some(g.centroid.lon))),
        ("created_at", time(g.created_at)?),
        ("updated_at", time(g.updated_at)?),
    ])
}

pub(super) fn grid(r: &dyn Cols) -> Result<Grid, StorageError> {
    Ok(Grid {
        grid_id: r.text("grid_id")?,
        station_id: r.text("station_id")?,
        name: r.text("name")?,
        polygon: ring_from_wkt(&r.text("polygon_wkt")?)?,
        kind: enum_col::<pb::GridKind>(r, "kind")?,
        area_m2: r.float("area_m2")?,
        centroid: LatLon::new(r.float("centroid_lat")?, r.float("centroid_lon")?),
        created_at: r.millis("created_at")?,
        updated_at: r.millis("updated_at")?,
    })
}

pub(super) fn officer_row(o: &GridOfficer) -> Result<Columns, StorageError> {
    let mut row = vec![
        ("grid_id", t(&o.grid_id)),
        ("officer_id", t(&o.officer_id)),
        ("role", enum_arg::<pb::OfficerRole>(o.role)),
        ("name", t(&o.name)),
        ("station_id", t(&o.station_id)),
        ("assigned_at", time(o.assigned_at)?),
    ];
    sealed_cols(&mut row, "phone_masked", "phone_sealed", &o.phone);
    Ok(row)
}

pub(super) fn officer(r: &dyn Cols) -> Result<GridOfficer, StorageError> {
    Ok(GridOfficer {
        grid_id: r.text("grid_id")?,
        officer_id: r.text("officer_id")?,
        role: enum_col::<pb::OfficerRole>(r, "role")?,
        name: r.text("name")?,
        station_id: r.text("station_id")?,
        phone: sealed(r, "phone_masked", "phone_sealed")?,
        assigned_at: r.millis("assigned_at")?,
    })
}

pub(super) fn address_row(a: &Address) -> Result<Columns, StorageError> {
    let c = &a.components;
    let mut row = vec![
        ("address_id", t(&a.address_id)),
        ("grid_id", t(&a.grid_id)),
        ("station_id", t(&a.station_id)),
        ("full_text", t(&a.full_text)),
        ("province", t(&c.province)),
        ("city", t(&c.city)),
        ("county", t(&c.county)),
        ("township", t(&c.township)),
        ("village", t(&c.village)),
        ("street", t(&c.street)),
        ("house_number", t(&c.house_number)),
        ("building", t(&c.building)),
        ("entrance", t(&c.entrance)),
        ("room", t(&c.room)),
        ("address_code", t(&a.address_code)),
        ("created_at", time(a.created_at)?),
        ("updated_at", time(a.updated_at)?),
    ];
    point_cols(&mut row, "location_lat", "location_lon", a.location);
    Ok(row)
}

pub(super) fn address(r: &dyn Cols) -> Result<Address, StorageError> {
    Ok(Address {
        address_id: r.text("address_id")?,
        grid_id: r.text("grid_id")?,
        station_id: r.text("station_id")?,
        full_text: r.text("full_text")?,
        components: AddressParts {
            province: r.text("province")?,
            city: r.text("city")?,
            county: r.text("county")?,
            township: r.text("township")?,
            village: r.text("village")?,
            street: r.text("street")?,
            house_number: r.text("house_number")?,
            building: r.text("building")?,
            entrance: r.text("entrance")?,
            room: r.text("room")?,
        },
        location: point(r, "location_lat", "location_lon")?,
        address_code: r.text("address_code")?,
        created_at: r.millis("created_at")?,
        updated_at: r.millis("updated_at")?,
    })
}

/// The resident's columns; its tags go to [`RESIDENT_TAGS`], its last visit is derived.
pub(super) fn resident_row(p: &Resident) -> Result<Columns, StorageError> {
    let mut row = vec![
        ("resident_id", t(&p.resident_id)),
        ("name", t(&p.name)),
        ("id_number_hash", t(&p.id_number_hash)),
        ("birth_date", t(&p.birth_date)),
        ("grid_id", t(&p.grid_id)),
        ("station_id", t(&p.station_id)),
        ("address_id", t(&p.address_id)),
        ("address", t(&p.address)),
        ("household_id", t(&p.household_id)),
        ("relation_to_head", t(&p.relation_to_head)),
        ("residency", enum_arg::<pb::ResidencyKind>(p.residency)),
        ("emergency_contact_name", t(&p.emergency_contact_name)),
        ("visit_interval_secs", Arg::Int(Some(p.visit_interval_secs))),
        ("notes", t(&p.notes)),
        ("created_at", time(p.created_at)?),
        ("updated_at", time(p.updated_at)?),
    ];
    sealed_cols(
        &mut row,
        "id_number_masked",
        "id_number_sealed",
        &p.id_number,
    );
    sealed_cols(&mut row, "phone_masked", "phone_sealed", &p.phone);
    sealed_cols(
        &mut row,
        "emergency_contact_phone_masked",
        "emergency_contact_phone_sealed",
        &p.emergency_contact_phone,
    );
    point_cols(&mut row, "location_lat", "location_lon", p.location);
    Ok(row)
}

/// A resident without its tags, with `last_visit_at` from the query.
pub(super) fn resident(r: &dyn Cols) -> Result<Resident, StorageError> {
    Ok(Resident {
        resident_id: r.text("resident_id")?,
        name: r.text("name")?,
        id_number: sealed(r, "id_number_masked", "id_number_sealed")?,
        id_number_hash: r.text("id_number_hash")?,
        birth_date: r.text("birth_date")?,
        phone: sealed(r, "phone_masked", "phone_sealed")?,
        grid_id: r.text("grid_id")?,
        station_id: r.text("station_id")?,
        address_id: r.text("address_id")?,
        address: r.text("address")?,
        household_id: r.text("household_id")?,
        relation_to_head: r.text("relation_to_head")?,
        residency: enum_col::<pb::ResidencyKind>(r, "residency")?,
        tags: Vec::new(),
        location: point(r, "location_lat", "location_lon")?,
        emergency_contact_name: r.text("emergency_contact_name")?,
        emergency_contact_phone: sealed(
            r,
            "emergency_contact_phone_masked",
            "emergency_contact_phone_sealed",
        )?,
        visit_interval_secs: r.int("visit_interval_secs")?,
        last_visit_at: r.opt_millis("last_visit_at")?,
        notes: r.text("notes")?,
        created_at: r.millis("created_at")?,
        updated_at: r.millis("updated_at")?,
    })
}

pub(super) fn house_row(h: &House) -> Result<Columns, StorageError> {
    let mut row = vec![
        ("house_id", t(&h.house_id)),
        ("address_id", t(&h.address_id)),
        ("grid_id", t(&h.grid_id)),
        ("station_id", t(&h.station_id)),
        ("house_use", enum_arg::<pb::HouseUse>(h.house_use)),
        ("owner_resident_id", t(&h.owner_resident_id)),
        ("owner_name", t(&h.owner_name)),
        (
            "occupant_count",
            Arg::Int(Some(i64::from(h.occupant_count))),
        ),
        ("floor_area_m2", Arg::Float(Some(h.floor_area_m2))),
        ("notes", t(&h.notes)),
        ("created_at", time(h.created_at)?),
        ("updated_at", time(h.updated_at)?),
    ];
    sealed_cols(
        &mut row,
        "owner_phone_masked",
        "owner_phone_sealed",
        &h.owner_phone,
    );
    point_cols(&mut row, "location_lat", "location_lon", h.location);
    Ok(row)
}

pub(super) fn house(r: &dyn Cols) -> Result<House, StorageError> {
    Ok(House {
        house_id: r.text("house_id")?,
        address_id: r.text("address_id")?,
        grid_id: r.text("grid_id")?,
        station_id: r.text("station_id")?,
        house_use: enum_col::<pb::HouseUse>(r, "house_use")?,
        owner_resident_id: r.text("owner_resident_id")?,
        owner_name: r.text("owner_name")?,
        owner_phone: sealed(r, "owner_phone_masked", "owner_phone_sealed")?,
        occupant_count: r.int32("occupant_count")?,
        floor_area_m2: r.float("floor_area_m2")?,
        location: point(r, "location_lat", "location_lon")?,
        notes: r.text("notes")?,
        created_at: r.millis("created_at")?,
        updated_at: r.millis("updated_at")?,
    })
}

/// The premises' columns; its templates go to [`PREMISES_TEMPLATES`].
pub(super) fn premises_row(p: &Premises) -> Result<Columns, StorageError> {
    let mut row = vec![
        ("premises_id", t(&p.premises_id)),
        ("kind", enum_arg::<pb::PremisesKind>(p.kind)),
        ("name", t(&p.name)),
        ("grid_id", t(&p.grid_id)),
        ("station_id", t(&p.station_id)),
        ("address_id", t(&p.address_id)),
        ("address", t(&p.address)),
        ("credit_code", t(&p.credit_code)),
        ("contact_name", t(&p.contact_name)),
        ("staff_count", Arg::Int(Some(i64::from(p.staff_count)))),
        ("last_inspected_at", opt_time(p.last_inspected_at)?),
        ("notes", t(&p.notes)),
        ("created_at", time(p.created_at)?),
        ("updated_at", time(p.updated_at)?),
    ];
    sealed_cols(
        &mut row,
        "contact_phone_masked",
        "contact_phone_sealed",
        &p.contact_phone,
    );
    point_cols(&mut row, "location_lat", "location_lon", p.location);
    Ok(row)
}

/// Premises without their templates.
pub(super) fn premises(r: &dyn Cols) -> Result<Premises, StorageError> {
    Ok(Premises {
        premises_id: r.text("premises_id")?,
        kind: enum_col::<pb::PremisesKind>(r, "kind")?,
        name: r.text("name")?,
        grid_id: r.text("grid_id")?,
        station_id: r.text("station_id")?,
        address_id: r.text("address_id")?,
        address: r.text("address")?,
        location: point(r, "location_lat", "location_lon")?,
        credit_code: r.text("credit_code")?,
        contact_name: r.text("contact_name")?,
        contact_phone: sealed(r, "contact_phone_masked", "contact_phone_sealed")?,
        staff_count: r.int32("staff_count")?,
        inspection_template_ids: Vec::new(),
        last_inspected_at: r.opt_millis("last_inspected_at")?,
        notes: r.text("notes")?,
        created_at: r.millis("created_at")?,
        updated_at: r.millis("updated_at")?,
    })
}

pub(super) fn lookup_row(l: &IdLookup) -> Result<Columns, StorageError> {
    Ok(vec![
        ("lookup_id", t(&l.lookup_id)),
        ("actor_subject", t(&l.actor.subject)),
        ("actor_role", t(&l.actor.role)),
        ("purpose", enum_arg::<pb::LookupPurpose>(l.purpose)),
        ("reason", t(&l.reason)),
        ("reference_id", t(&l.reference_id)),
        ("resident_id", t(&l.resident_id)),
        ("looked_up_at", time(l.at)?),
    ])
}
