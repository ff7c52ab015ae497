//! The jurisdiction file's records as the file spells them.

use serde::Deserialize;

/// A jurisdiction file.
#[derive(Debug, Deserialize)]
pub struct Jurisdiction {
    #[serde(default)]
    pub(super) stations: Vec<StationIn>,
    #[serde(default)]
    pub(super) addresses: Vec<AddressIn>,
    #[serde(default)]
    pub(super) grids: Vec<GridIn>,
    #[serde(default)]
    pub(super) officers: Vec<OfficerIn>,
    #[serde(default)]
    pub(crate) units: Vec<UnitIn>,
    #[serde(default)]
    pub(super) residents: Vec<ResidentIn>,
    #[serde(default)]
    pub(super) premises: Vec<PremisesIn>,
}

#[derive(Debug, Deserialize)]
pub(super) struct StationIn {
    pub(super) station_id: String,
    pub(super) name: String,
    #[serde(default)]
    pub(super) county: String,
    #[serde(default)]
    pub(super) region: String,
    pub(super) origin: Option<[f64; 2]>,
    #[serde(default)]
    pub(super) kind: String,
}

#[derive(Debug, Deserialize)]
pub(super) struct GridIn {
    pub(super) grid_id: String,
    pub(super) station_id: String,
    pub(super) name: String,
    #[serde(default)]
    pub(super) kind: String,
    pub(super) polygon: Vec<[f64; 2]>,
}

#[derive(Debug, Deserialize)]
pub(super) struct OfficerIn {
    pub(super) officer_id: String,
    pub(super) station_id: String,
    pub(super) name: String,
    #[serde(default)]
    pub(super) grid_ids: Vec<String>,
    pub(super) role: String,
    #[serde(default)]
    pub(super) phone: String,
}

/// A standard address (一标三实), resolvable by intake and triage.
#[derive(Debug, Deserialize)]
pub(super) struct AddressIn {
    pub(super) address_id: String,
    pub(super) text: String,
    #[serde(default)]
    pub(super) grid_id: String,
    pub(super) location: Option<[f64; 2]>,
    /// HOUSE or PREMISES: informative, the registry keeps addresses of both alike.
    #[serde(default)]
    #[allow(dead_code)]
    pub(super) kind: String,
}

impl Jurisdiction {
    /// The origin of a station, when the file gives one.
    pub(crate) fn station_origin(&self, station_id: &str) -> Option<[f64; 2]> {
        self.stations
            .iter()
            .find(|s| s.station_id == station_id)
            .and_then(|s| s.origin)
    }

    /// Every station origin of the file.
    #[cfg(test)]
    pub(crate) fn station_origins(&self) -> impl Iterator<Item = [f64; 2]> + '_ {
        self.stations.iter().filter_map(|s| s.origin)
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct UnitIn {
    pub(crate) unit_id: String,
    pub(super) kind: String,
    #[serde(default)]
    pub(super) callsign: String,
    pub(crate) station_id: String,
    #[serde(default)]
    pub(super) officer_id: Option<String>,
    #[serde(default)]
    pub(super) capabilities: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct ResidentIn {
    pub(super) resident_id: String,
    pub(super) name: String,
    pub(super) id_number: String,
    #[serde(default)]
    pub(super) phone: String,
    #[serde(default)]
    pub(super) grid_id: String,
    #[serde(default)]
    pub(super) address: String,
    #[serde(default)]
    pub(super) tags: Vec<String>,
    pub(super) location: Option<[f64; 2]>,
}

#[derive(Debug, Deserialize)]
pub(super) struct PremisesIn {
    pub(super) premises_id: String,
    pub(super) kind: String,
    pub(super) name: String,
    #[serde(default)]
    pub(super) grid_id: String,
    pub(super) location: Option<[f64; 2]>,
    #[serde(default)]
    pub(super) address: String,
}
