//! Stations, grids, officer assignments, LocateGrid and ResolveAddress.

use pingan_platform::auth::Role;
use pingan_platform::pii::{PiiKind, mask_phone};
use pingan_platform::{ApiError, FieldViolations};
use pingan_proto::grid::v1 as pb;
use tonic::Request;

use super::convert::{self, latlon};
use super::{GRID_ADMINS, GridRegistryApi, next_token, optional_point, page, require_enum, scope};
use crate::domain::address_match;
use crate::domain::phone::valid_phone;
use crate::domain::*;

impl GridRegistryApi {
    pub(super) async fn upsert_station_impl(
        &self,
        request: Request<pb::UpsertStationRequest>,
    ) -> Result<pb::UpsertStationResponse, ApiError> {
        let caller = self.caller(&request)?;
        let r = request.into_inner();
        let mut v = FieldViolations::default();
        v.require_non_empty("station_id", &r.station_id);
        v.require_max_chars("station_id", &r.station_id, 64);
        v.require_non_empty("name", &r.name);
        require_enum::<pb::StationKind>(&mut v, "kind", r.kind);
        let location = optional_point(&mut v, "location", r.location.as_ref());
        v.finish()?;
        caller.require_any(&[Role::Admin, Role::CommandCenter])?;
        caller.require_station(&r.station_id)?;
        let now = self.now();
        let existing = self.store().await?.station(&r.station_id).await?;
        let station = Station {
            station_id: r.station_id,
            name: r.name,
            kind: r.kind,
            county: r.county,
            region_code: r.region_code,
            location,
            address: r.address,
            duty_phone: r.duty_phone,
            created_at: existing.as_ref().map_or(now, |s| s.created_at),
            updated_at: now,
        };
        let audit = Self::audit(&caller, "UpsertStation", "station", &station.station_id)
            .station(&station.station_id);
        let created = self
            .audited(async |tx| {
                let created = self.store().await?.put_station(tx, &station).await?;
                Ok((created, Some(audit.detail(format!("created: {created}")))))
            })
            .await?;
        tracing::info!(station_id = %station.station_id, created, "station stored");
        Ok(pb::UpsertStationResponse {
            station: Some(convert::station(&station)),
            created,
        })
    }

    pub(super) async fn upsert_grid_impl(
        &self,
        request: Request<pb::UpsertGridRequest>,
    ) -> Result<pb::UpsertGridResponse, ApiError> {
        let caller = self.caller(&request)?;
        let r = request.into_inner();
        let mut v = FieldViolations::default();
        v.require_non_empty("grid_id", &r.grid_id);
        v.require_max_chars("grid_id", &r.grid_id, 64);
        v.require_non_empty("station_id", &r.station_id);
        v.require_non_empty("name", &r.name);
        if r.kind != 0 && pb::GridKind::try_from(r.kind).is_err() {
            v.add("kind", "unknown grid kind");
        }
        let points: Vec<LatLon> = r.polygon.iter().map(latlon).collect();
        let shape = match GridShape::new(&points) {
            Ok(shape) => Some(shape),
            Err(PolygonError::OutOfRange { index, axis }) => {
                let range = if axis == "lat" {
                    "-90 and 90"
                } else {
                    "-180 and 180"
                };
                v.add(
                    &format!("polygon[{index}].{axis}"),
                    format!("must be between {range}"),
                );
                None
            }
            Err(other) => {
                v.add("polygon", other.to_string());
                None
            }
        };
        v.finish()?;
        let shape = shape.ok_or_else(|| ApiError::invalid("polygon", "invalid"))?;
        caller.require_any(&GRID_ADMINS)?;
        caller.require_station(&r.station_id)?;
        let station = self
            .store()
            .await?
            .station(&r.station_id)
            .await?
            .ok_or_else(|| ApiError::invalid("station_id", "unknown station"))?;
        let existing = self.store().await?.grid(&r.grid_id).await?;
        if let Some(old) = &existing {
            // Moving a grid between stations needs both stations' authority.
            caller.require_station(&old.station_id)?;
        }
        let now = self.now();
        let grid = Grid {
            grid_id: r.grid_id,
            station_id: r.station_id,
            name: r.name,
            polygon: shape.ring().to_vec(),
            kind: r.kind,
            area_m2: shape.area_m2(),
            centroid: shape.centroid(),
            created_at: existing.as_ref().map_or(now, |g| g.created_at),
            updated_at: now,
        };
        let audit =
            Self::audit(&caller, "UpsertGrid", "grid", &grid.grid_id).station(&grid.station_id);
        let created = self
            .audited(async |tx| {
                let created = self.store().await?.put_grid(tx, &grid).await?;
                Ok((created, Some(audit.detail(format!("created: {created}")))))
            })
            .await?;
        self.update_index(&grid.grid_id, shape).await?;
        tracing::info!(grid_id = %grid.grid_id, station_id = %grid.station_id, created, "grid stored");
        let officers = self.store().await?.officers(&grid.grid_id).await?;
        let presenter = self.presenter(&caller, &grid.station_id);
        Ok(pb::UpsertGridResponse {
            grid: Some(presenter.grid(&grid, &officers, &station.name)),
            created,
        })
    }

    pub(super) async fn list_grids_impl(
        &self,
        request: Request<pb::ListGridsRequest>,
    ) -> Result<pb::ListGridsResponse, ApiError> {
        let caller = self.caller(&request)?;
        let r = request.into_inner();
        let mut v = FieldViolations::default();
        let page = page(&mut v, r.page_size, &r.page_token, 100, 1000);
        v.finish()?;
        if !r.station_id.is_empty() {
            caller.require_station(&r.station_id)?;
        }
        let scope = scope(&caller, &r.station_id, "", &r.officer_id);
        let grids = self.store().await?.list_grids(&scope, r.kind, page).await?;
        let stations = self.store().await?.stations().await?;
        let mut out = Vec::with_capacity(grids.len());
        for grid in &grids {
            let officers = self.store().await?.officers(&grid.grid_id).await?;
            let station_name = stations
                .iter()
                .find(|s| s.station_id == grid.station_id)
                .map(|s| s.name.as_str())
                .unwrap_or_default();
            out.push(
                self.presenter(&caller, &grid.station_id)
                    .grid(grid, &officers, station_name),
            );
        }
        Ok(pb::ListGridsResponse {
            next_page_token: next_token(page, out.len()),
            grids: out,
        })
    }

    pub(super) async fn locate_grid_impl(
        &self,
        request: Request<pb::LocateGridRequest>,
    ) -> Result<pb::LocateGridResponse, ApiError> {
        let caller = self.caller(&request)?;
        let r = request.into_inner();
        let mut v = FieldViolations::default();
        let point = match r.location.as_ref() {
            Some(p) => optional_point(&mut v, "location", Some(p)),
            None => {
                v.add("location", "is required");
                None
            }
        };
        v.finish()?;
        let point = point.ok_or_else(|| ApiError::invalid("location", "is required"))?;
        let grid_id = self
            .with_index(|index| index.locate(point).map(str::to_owned))
            .await?
            .ok_or_else(|| ApiError::NotFound("grid at this location".into()))?;
        let grid = self
            .store()
            .await?
            .grid(&grid_id)
            .await?
            .ok_or_else(|| ApiError::NotFound("grid at this location".into()))?;
        let station = self
            .store()
            .await?
            .station(&grid.station_id)
            .await?
            .unwrap_or_default();
        let officers = self.store().await?.officers(&grid.grid_id).await?;
        let presenter = self.presenter(&caller, &grid.station_id);
        Ok(pb::LocateGridResponse {
            grid_id: grid.grid_id.clone(),
            station_id: grid.station_id.clone(),
            officer_ids: officers.iter().map(|o| o.officer_id.clone()).collect(),
            grid_name: grid.name.clone(),
            station_name: station.name,
            station_kind: station.kind,
            officers: officers.iter().map(|o| presenter.officer(o)).collect(),
            grid_kind: grid.kind,
        })
    }

    pub(super) async fn resolve_address_impl(
        &self,
        request: Request<pb::ResolveAddressRequest>,
    ) -> Result<pb::ResolveAddressResponse, ApiError> {
        // Like LocateGrid: any authenticated caller (intake, dispatchers) may resolve a place.
        let _caller = self.caller(&request)?;
        let r = request.into_inner();
        let mut v = FieldViolations::default();
        v.require_non_empty("address", &r.address);
        v.require_max_chars("address", &r.address, 500);
        v.require_max_chars("station_id", &r.station_id, 64);
        v.finish()?;
        let scope = crate::store::Scope {
            station_id: r.station_id.clone(),
            ..Default::default()
        };
        let candidates = self.store().await?.addresses(&scope).await?;
        let found = address_match::resolve(&r.address, &candidates)
            .ok_or_else(|| ApiError::NotFound("standard address matching this text".into()))?;
        let address = found.address;
        let grid = self
            .store()
            .await?
            .grid(&address.grid_id)
            .await?
            .unwrap_or_default();
        let station_id = if address.station_id.is_empty() {
            grid.station_id.clone()
        } else {
            address.station_id.clone()
        };
        let station = self
            .store()
            .await?
            .station(&station_id)
            .await?
            .unwrap_or_default();
        tracing::debug!(address_id = %address.address_id, kind = ?found.kind, score = found.score, "address resolved");
        Ok(pb::ResolveAddressResponse {
            address_id: address.address_id.clone(),
            full_text: address.full_text.clone(),
            location: address.location.map(convert::point),
            grid_id: address.grid_id.clone(),
            station_id,
            match_kind: match found.kind {
                address_match::MatchKind::Exact => pb::AddressMatchKind::Exact,
                address_match::MatchKind::Normalised => pb::AddressMatchKind::Normalised,
                address_match::MatchKind::Fuzzy => pb::AddressMatchKind::Fuzzy,
            } as i32,
            score: found.score,
            grid_name: grid.name,
            station_name: station.name,
            station_kind: station.kind,
        })
    }

    pub(super) async fn assign_officer_impl(
        &self,
        request: Request<pb::AssignOfficerRequest>,
    ) -> Result<pb::AssignOfficerResponse, ApiError> {
        let caller = self.caller(&request)?;
        let r = request.into_inner();
        let mut v = FieldViolations::default();
        v.require_non_empty("grid_id", &r.grid_id);
        v.require_non_empty("officer_id", &r.officer_id);
        require_enum::<pb::OfficerRole>(&mut v, "role", r.role);
        if !r.remove {
            v.require_non_empty("name", &r.name);
        }
        if !r.phone.is_empty() && !valid_phone(&r.phone) {
            v.add("phone", "must be a phone number");
        }
        v.finish()?;
        caller.require_any(&GRID_ADMINS)?;
        let grid = self.grid_for(&caller, &r.grid_id).await?;
        let role_name = pb::OfficerRole::try_from(r.role)
            .map(|role| role.as_str_name())
            .unwrap_or("OFFICER_ROLE_UNSPECIFIED");
        let audit = Self::audit(&caller, "AssignOfficer", "grid", &r.grid_id)
            .station(&grid.station_id)
            .detail(format!(
                "officer {} {} as {role_name}",
                r.officer_id,
                if r.remove { "removed" } else { "assigned" }
            ));
        if r.remove {
            let removed = self
                .audited(async |tx| {
                    let removed = self
                        .store()
                        .await?
                        .remove_officer(tx, &r.grid_id, &r.officer_id, r.role)
                        .await?;
                    Ok((removed, removed.then_some(audit)))
                })
                .await?;
            tracing::info!(grid_id = %r.grid_id, officer_id = %r.officer_id, removed, "officer unassigned");
        } else {
            let officer = GridOfficer {
                grid_id: r.grid_id.clone(),
                officer_id: r.officer_id.clone(),
                role: r.role,
                name: r.name,
                station_id: if r.station_id.is_empty() {
                    grid.station_id.clone()
                } else {
                    r.station_id
                },
                phone: self.seal(PiiKind::Phone, &r.phone)?.0,
                assigned_at: self.now(),
            };
            self.audited(async |tx| {
                self.store().await?.put_officer(tx, &officer).await?;
                Ok(((), Some(audit)))
            })
            .await?;
            tracing::info!(grid_id = %r.grid_id, officer_id = %r.officer_id, role = r.role, "officer assigned");
        }
        let officers = self.store().await?.officers(&grid.grid_id).await?;
        let station = self
            .store()
            .await?
            .station(&grid.station_id)
            .await?
            .unwrap_or_default();
        Ok(pb::AssignOfficerResponse {
            grid: Some(self.presenter(&caller, &grid.station_id).grid(
                &grid,
                &officers,
                &station.name,
            )),
        })
    }

    /// Masks, encrypts and hashes a phone or ID number (empty in, empty out).
    pub(super) fn seal(
        &self,
        kind: PiiKind,
        clear: &str,
    ) -> Result<(SealedValue, String), ApiError> {
        let clear = clear.trim();
        if clear.is_empty() {
            return Ok((SealedValue::default(), String::new()));
        }
        let sealed = self
            .context
            .pii
            .encrypt(clear)
            .map_err(ApiError::internal)?;
        let masked = match kind {
            PiiKind::Phone => mask_phone(clear),
            PiiKind::IdNumber => pingan_platform::pii::mask_id_number(clear),
        };
        Ok((
            SealedValue {
                masked,
                sealed: hex::encode(sealed),
            },
            self.context.pii.blind_index(kind, clear),
        ))
    }
}
