//! Stations, grids, officer assignments, LocateGrid and ResolveAddress.

use pingan_platform::auth::Role;
use pingan_platform::clear_reads::ClearRead;
use pingan_platform::{ApiError, FieldViolations};
use pingan_proto::grid::v1 as pb;
use tonic::Request;

use super::convert::{self, latlon};
use super::validate::{check_phone, next_token, optional_point, page, require_enum};
use super::{GRID_ADMINS, GridRegistryApi};
use crate::app::{GridView, OfficerChange, scope};
use crate::domain::address_match::MatchKind;
use crate::domain::*;

impl GridRegistryApi {
    fn present_grid(&self, caller: &pingan_platform::auth::Caller, view: &GridView) -> pb::Grid {
        self.presenter(caller, &view.grid.station_id).grid(
            &view.grid,
            &view.officers,
            &view.station_name,
        )
    }

    /// Audits the officers' phones a write's answer shows in clear.
    async fn audit_grid_read(
        &self,
        caller: &pingan_platform::auth::Caller,
        mut read: Option<ClearRead>,
        grid: &pb::Grid,
    ) -> Result<(), ApiError> {
        if let Some(read) = read.as_mut() {
            show_officers(read, &grid.station_id, &grid.officers);
        }
        self.audit_clear_read(caller, read).await
    }

    pub(super) async fn upsert_station_rpc(
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
        let station = Station {
            station_id: r.station_id,
            name: r.name,
            kind: r.kind,
            county: r.county,
            region_code: r.region_code,
            location,
            address: r.address,
            duty_phone: r.duty_phone,
            created_at: 0,
            updated_at: 0,
        };
        let (station, created) = self.app.upsert_station(&caller, station).await?;
        Ok(pb::UpsertStationResponse {
            station: Some(convert::station(&station)),
            created,
        })
    }

    pub(super) async fn upsert_grid_rpc(
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
        let read = self.clear_read(&caller, "UpsertGrid", "officer", &r.reason)?;
        let grid = Grid {
            grid_id: r.grid_id,
            station_id: r.station_id,
            name: r.name,
            kind: r.kind,
            ..Grid::default()
        };
        let (view, created) = self.app.upsert_grid(&caller, grid, shape).await?;
        let grid = self.present_grid(&caller, &view);
        self.audit_grid_read(&caller, read, &grid).await?;
        Ok(pb::UpsertGridResponse {
            grid: Some(grid),
            created,
        })
    }

    pub(super) async fn list_grids_rpc(
        &self,
        request: Request<pb::ListGridsRequest>,
    ) -> Result<pb::ListGridsResponse, ApiError> {
        let caller = self.reader(&request)?;
        let r = request.into_inner();
        let mut v = FieldViolations::default();
        let page = page(&mut v, r.page_size, &r.page_token, 100, 1000);
        v.finish()?;
        if !r.station_id.is_empty() {
            caller.require_station(&r.station_id)?;
        }
        let mut read = self.clear_read(&caller, "ListGrids", "officer", &r.reason)?;
        let scope = scope(&caller, &r.station_id, "", &r.officer_id);
        let views = self.app.list_grids(&scope, r.kind, page).await?;
        let grids: Vec<pb::Grid> = views
            .iter()
            .map(|view| self.present_grid(&caller, view))
            .collect();
        if let Some(read) = read.as_mut() {
            for grid in &grids {
                show_officers(read, &grid.station_id, &grid.officers);
            }
        }
        self.audit_clear_read(&caller, read).await?;
        Ok(pb::ListGridsResponse {
            next_page_token: next_token(page, grids.len()),
            grids,
        })
    }

    pub(super) async fn locate_grid_rpc(
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
        let mut read = self.clear_read(&caller, "LocateGrid", "officer", &r.reason)?;
        let found = self.app.locate_grid(point).await?;
        let presenter = self.presenter(&caller, &found.grid.station_id);
        let officers: Vec<pb::GridOfficer> = found
            .officers
            .iter()
            .map(|o| presenter.officer(o))
            .collect();
        if let Some(read) = read.as_mut() {
            show_officers(read, &found.grid.station_id, &officers);
        }
        self.audit_clear_read(&caller, read).await?;
        Ok(pb::LocateGridResponse {
            officer_ids: found
                .officers
                .iter()
                .map(|o| o.officer_id.clone())
                .collect(),
            officers,
            grid_id: found.grid.grid_id,
            station_id: found.grid.station_id,
            grid_name: found.grid.name,
            station_name: found.station.name,
            station_kind: found.station.kind,
            grid_kind: found.grid.kind,
        })
    }

    pub(super) async fn resolve_address_rpc(
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
        let resolved = self.app.resolve_address(&r.address, &r.station_id).await?;
        let address = resolved.found.address;
        Ok(pb::ResolveAddressResponse {
            address_id: address.address_id,
            full_text: address.full_text,
            location: address.location.map(convert::point),
            grid_id: address.grid_id,
            station_id: resolved.station.station_id,
            match_kind: match resolved.found.kind {
                MatchKind::Exact => pb::AddressMatchKind::Exact,
                MatchKind::Normalised => pb::AddressMatchKind::Normalised,
                MatchKind::Fuzzy => pb::AddressMatchKind::Fuzzy,
            } as i32,
            score: resolved.found.score,
            grid_name: resolved.grid.name,
            station_name: resolved.station.name,
            station_kind: resolved.station.kind,
        })
    }

    pub(super) async fn assign_officer_rpc(
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
        check_phone(&mut v, "phone", &r.phone);
        v.finish()?;
        caller.require_any(&GRID_ADMINS)?;
        let read = self.clear_read(&caller, "AssignOfficer", "officer", &r.reason)?;
        let change = OfficerChange {
            grid_id: r.grid_id,
            officer_id: r.officer_id,
            role: r.role,
            name: r.name,
            station_id: r.station_id,
            phone: self.sealed_phone(&r.phone)?,
            remove: r.remove,
        };
        let view = self.app.assign_officer(&caller, change).await?;
        let grid = self.present_grid(&caller, &view);
        self.audit_grid_read(&caller, read, &grid).await?;
        Ok(pb::AssignOfficerResponse { grid: Some(grid) })
    }
}

/// Notes the officers of a grid of `station_id` shown with their phones in clear.
fn show_officers(read: &mut ClearRead, station_id: &str, officers: &[pb::GridOfficer]) {
    for officer in officers {
        read.show(
            station_id,
            &officer.officer_id,
            &[("phone", &officer.phone)],
        );
    }
}
