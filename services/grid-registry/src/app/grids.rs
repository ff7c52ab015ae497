//! Stations, grids, officer assignments, locating a grid and resolving an address.

use std::collections::HashMap;

use pingan_platform::ApiError;
use pingan_platform::auth::Caller;
use pingan_proto::grid::v1 as pb;

use super::Registry;
use crate::domain::address_match::{self, AddressMatch};
use crate::domain::*;
use crate::store::{Page, Scope};

/// A grid with what its message shows: its officers and its station's name.
#[derive(Debug, Clone)]
pub struct GridView {
    pub grid: Grid,
    pub officers: Vec<GridOfficer>,
    pub station_name: String,
}

/// The grid at a location, with its station and officers.
#[derive(Debug, Clone)]
pub struct Located {
    pub grid: Grid,
    pub station: Station,
    pub officers: Vec<GridOfficer>,
}

/// A standard address matched from text, with its grid and station.
#[derive(Debug, Clone)]
pub struct ResolvedAddress {
    pub found: AddressMatch,
    pub grid: Grid,
    pub station: Station,
}

/// An assignment to make or end.
#[derive(Debug, Clone)]
pub struct OfficerChange {
    pub grid_id: String,
    pub officer_id: String,
    pub role: i32,
    pub name: String,
    /// Empty: the grid's station.
    pub station_id: String,
    pub phone: SealedValue,
    pub remove: bool,
}

impl Registry {
    /// Creates or replaces a station (the caller's authority over it is checked by the edge).
    pub async fn upsert_station(
        &self,
        caller: &Caller,
        mut station: Station,
    ) -> Result<(Station, bool), ApiError> {
        let now = self.now();
        let existing = self.store().await?.station(&station.station_id).await?;
        station.created_at = existing.as_ref().map_or(now, |s| s.created_at);
        station.updated_at = now;
        let audit = Self::audit(caller, "UpsertStation", "station", &station.station_id)
            .station(&station.station_id);
        let created = self
            .audited(async |tx| {
                let created = self.store().await?.put_station(tx, &station).await?;
                Ok((created, Some(audit.detail(format!("created: {created}")))))
            })
            .await?;
        tracing::info!(station_id = %station.station_id, created, "station stored");
        Ok((station, created))
    }

    /// Creates or replaces a grid of a known station and updates the spatial index.
    pub async fn upsert_grid(
        &self,
        caller: &Caller,
        mut grid: Grid,
        shape: GridShape,
    ) -> Result<(GridView, bool), ApiError> {
        caller.require_station(&grid.station_id)?;
        let station = self
            .store()
            .await?
            .station(&grid.station_id)
            .await?
            .ok_or_else(|| ApiError::invalid("station_id", "unknown station"))?;
        let existing = self.store().await?.grid(&grid.grid_id).await?;
        if let Some(old) = &existing {
            // Moving a grid between stations needs both stations' authority.
            caller.require_station(&old.station_id)?;
        }
        let now = self.now();
        grid.polygon = shape.ring().to_vec();
        grid.area_m2 = shape.area_m2();
        grid.centroid = shape.centroid();
        grid.created_at = existing.as_ref().map_or(now, |g| g.created_at);
        grid.updated_at = now;
        let audit =
            Self::audit(caller, "UpsertGrid", "grid", &grid.grid_id).station(&grid.station_id);
        let created = self
            .audited(async |tx| {
                let created = self.store().await?.put_grid(tx, &grid).await?;
                Ok((created, Some(audit.detail(format!("created: {created}")))))
            })
            .await?;
        self.update_index(&grid.grid_id, shape).await?;
        tracing::info!(grid_id = %grid.grid_id, station_id = %grid.station_id, created, "grid stored");
        let officers = self.store().await?.officers(&grid.grid_id).await?;
        let view = GridView {
            grid,
            officers,
            station_name: station.name,
        };
        Ok((view, created))
    }

    /// Grids in scope of one kind (0: any), with their officers loaded in one query.
    pub async fn list_grids(
        &self,
        scope: &Scope,
        kind: i32,
        page: Page,
    ) -> Result<Vec<GridView>, ApiError> {
        let store = self.store().await?;
        let grids = store.list_grids(scope, kind, page).await?;
        let ids: Vec<String> = grids.iter().map(|g| g.grid_id.clone()).collect();
        let mut officers: HashMap<String, Vec<GridOfficer>> = HashMap::new();
        for officer in store.officers_of(&ids).await? {
            officers
                .entry(officer.grid_id.clone())
                .or_default()
                .push(officer);
        }
        let names: HashMap<String, String> = store
            .stations()
            .await?
            .into_iter()
            .map(|s| (s.station_id, s.name))
            .collect();
        Ok(grids
            .into_iter()
            .map(|grid| GridView {
                officers: officers.remove(&grid.grid_id).unwrap_or_default(),
                station_name: names.get(&grid.station_id).cloned().unwrap_or_default(),
                grid,
            })
            .collect())
    }

    /// The grid containing `point`; NOT_FOUND outside every grid.
    pub async fn locate_grid(&self, point: LatLon) -> Result<Located, ApiError> {
        let not_found = || ApiError::NotFound("grid at this location".into());
        let grid_id = self
            .with_index(|index| index.locate(point).map(str::to_owned))
            .await?
            .ok_or_else(not_found)?;
        let store = self.store().await?;
        let grid = store.grid(&grid_id).await?.ok_or_else(not_found)?;
        let station = store.station(&grid.station_id).await?.unwrap_or_default();
        let officers = store.officers(&grid.grid_id).await?;
        Ok(Located {
            grid,
            station,
            officers,
        })
    }

    /// The standard address `text` names (in one station when given); NOT_FOUND otherwise.
    pub async fn resolve_address(
        &self,
        text: &str,
        station_id: &str,
    ) -> Result<ResolvedAddress, ApiError> {
        let scope = Scope {
            station_id: station_id.to_owned(),
            ..Default::default()
        };
        let store = self.store().await?;
        let candidates = store.addresses(&scope).await?;
        let found = address_match::resolve(text, &candidates)
            .ok_or_else(|| ApiError::NotFound("standard address matching this text".into()))?;
        let grid = store
            .grid(&found.address.grid_id)
            .await?
            .unwrap_or_default();
        let station_id = if found.address.station_id.is_empty() {
            grid.station_id.clone()
        } else {
            found.address.station_id.clone()
        };
        let station = Station {
            station_id: station_id.clone(),
            ..store.station(&station_id).await?.unwrap_or_default()
        };
        tracing::debug!(address_id = %found.address.address_id, kind = ?found.kind, score = found.score, "address resolved");
        Ok(ResolvedAddress {
            found,
            grid,
            station,
        })
    }

    /// Assigns an officer to a grid, or ends the assignment; the grid afterwards.
    pub async fn assign_officer(
        &self,
        caller: &Caller,
        change: OfficerChange,
    ) -> Result<GridView, ApiError> {
        let grid = self.grid_for(caller, &change.grid_id).await?;
        let role_name = pb::OfficerRole::try_from(change.role)
            .map(|role| role.as_str_name())
            .unwrap_or("OFFICER_ROLE_UNSPECIFIED");
        let audit = Self::audit(caller, "AssignOfficer", "grid", &change.grid_id)
            .station(&grid.station_id)
            .detail(format!(
                "officer {} {} as {role_name}",
                change.officer_id,
                if change.remove { "removed" } else { "assigned" }
            ));
        if change.remove {
            let removed = self
                .audited(async |tx| {
                    let removed = self
                        .store()
                        .await?
                        .remove_officer(tx, &change.grid_id, &change.officer_id, change.role)
                        .await?;
                    Ok((removed, removed.then_some(audit)))
                })
                .await?;
            tracing::info!(grid_id = %change.grid_id, officer_id = %change.officer_id, removed, "officer unassigned");
        } else {
            let officer = GridOfficer {
                grid_id: change.grid_id.clone(),
                officer_id: change.officer_id.clone(),
                role: change.role,
                name: change.name,
                station_id: if change.station_id.is_empty() {
                    grid.station_id.clone()
                } else {
                    change.station_id
                },
                phone: change.phone,
                assigned_at: self.now(),
            };
            self.audited(async |tx| {
                self.store().await?.put_officer(tx, &officer).await?;
                Ok(((), Some(audit)))
            })
            .await?;
            tracing::info!(grid_id = %change.grid_id, officer_id = %change.officer_id, role = change.role, "officer assigned");
        }
        let store = self.store().await?;
        let officers = store.officers(&grid.grid_id).await?;
        let station = store.station(&grid.station_id).await?.unwrap_or_default();
        Ok(GridView {
            grid,
            officers,
            station_name: station.name,
        })
    }
}
