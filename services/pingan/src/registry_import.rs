//! `pingan registry import FILE`: loads a jurisdiction (the format of shared/data/jurisdiction.json)
//! through the public grid-registry API. Re-running it is harmless: every record is keyed by its id.
//! Units belong to dispatch and are skipped with a message until that service takes them.

use pingan_proto::common::v1::GeoPoint;
use pingan_proto::grid::v1 as pb;
use pingan_proto::grid::v1::grid_registry_service_client::GridRegistryServiceClient;
use serde::Deserialize;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::transport::Channel;

/// A jurisdiction file.
#[derive(Debug, Deserialize)]
pub struct Jurisdiction {
    #[serde(default)]
    stations: Vec<StationIn>,
    #[serde(default)]
    grids: Vec<GridIn>,
    #[serde(default)]
    officers: Vec<OfficerIn>,
    #[serde(default)]
    units: Vec<serde_json::Value>,
    #[serde(default)]
    residents: Vec<ResidentIn>,
    #[serde(default)]
    premises: Vec<PremisesIn>,
}

#[derive(Debug, Deserialize)]
struct StationIn {
    station_id: String,
    name: String,
    #[serde(default)]
    county: String,
    #[serde(default)]
    region: String,
    origin: Option<[f64; 2]>,
    #[serde(default)]
    kind: String,
}

#[derive(Debug, Deserialize)]
struct GridIn {
    grid_id: String,
    station_id: String,
    name: String,
    #[serde(default)]
    kind: String,
    polygon: Vec<[f64; 2]>,
}

#[derive(Debug, Deserialize)]
struct OfficerIn {
    officer_id: String,
    station_id: String,
    name: String,
    #[serde(default)]
    grid_ids: Vec<String>,
    role: String,
    #[serde(default)]
    phone: String,
}

#[derive(Debug, Deserialize)]
struct ResidentIn {
    resident_id: String,
    name: String,
    id_number: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    grid_id: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    tags: Vec<String>,
    location: Option<[f64; 2]>,
}

#[derive(Debug, Deserialize)]
struct PremisesIn {
    premises_id: String,
    kind: String,
    name: String,
    #[serde(default)]
    grid_id: String,
    location: Option<[f64; 2]>,
    #[serde(default)]
    address: String,
}

/// What an import did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ImportReport {
    pub stations: usize,
    pub grids: usize,
    pub officer_assignments: usize,
    pub residents: usize,
    pub premises: usize,
    pub skipped_units: usize,
}

impl std::fmt::Display for ImportReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "imported {} stations, {} grids, {} officer assignments, {} residents, {} premises",
            self.stations, self.grids, self.officer_assignments, self.residents, self.premises
        )?;
        if self.skipped_units > 0 {
            write!(
                f,
                "; skipped {} units: units belong to dispatch (issue 6), which does not take them yet",
                self.skipped_units
            )?;
        }
        Ok(())
    }
}

/// Why an import stopped.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file is not a jurisdiction.
    #[error("jurisdiction file: {0}")]
    Parse(#[from] serde_json::Error),
    /// A value the API does not know.
    #[error("{record}: unknown {what} {value:?}")]
    Vocabulary {
        record: String,
        what: &'static str,
        value: String,
    },
    /// The service refused a record.
    #[error("{record}: {status}")]
    Rejected {
        record: String,
        #[source]
        status: Box<tonic::Status>,
    },
    /// The token is not a valid header value.
    #[error("token is not a valid header value")]
    Token,
}

fn point(p: [f64; 2]) -> GeoPoint {
    GeoPoint {
        lat: p[0],
        lon: p[1],
    }
}

fn enum_value(
    prefix: &str,
    name: &str,
    record: &str,
    what: &'static str,
    lookup: impl Fn(&str) -> Option<i32>,
) -> Result<i32, ImportError> {
    let full = format!("{prefix}{}", name.to_ascii_uppercase());
    lookup(&full).ok_or_else(|| ImportError::Vocabulary {
        record: record.to_owned(),
        what,
        value: name.to_owned(),
    })
}

fn with_token<T>(bearer: &Option<MetadataValue<Ascii>>, message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    if let Some(value) = bearer {
        request
            .metadata_mut()
            .insert("authorization", value.clone());
    }
    request
}

/// Sends a jurisdiction through the public API, as `token`'s subject (none: anonymous dev user).
pub async fn import(
    channel: Channel,
    token: Option<&str>,
    json: &str,
) -> Result<ImportReport, ImportError> {
    let file: Jurisdiction = serde_json::from_str(json)?;
    let bearer: Option<MetadataValue<Ascii>> = token
        .map(|t| {
            format!("Bearer {t}")
                .parse()
                .map_err(|_| ImportError::Token)
        })
        .transpose()?;
    let mut client = GridRegistryServiceClient::new(channel);
    let rejected = |record: String| {
        move |status| ImportError::Rejected {
            record,
            status: Box::new(status),
        }
    };
    let mut report = ImportReport::default();
    for s in &file.stations {
        let kind = enum_value(
            "STATION_KIND_",
            &s.kind,
            &s.station_id,
            "station kind",
            |n| pb::StationKind::from_str_name(n).map(|k| k as i32),
        )?;
        client
            .upsert_station(with_token(
                &bearer,
                pb::UpsertStationRequest {
                    request_id: format!("import:{}", s.station_id),
                    station_id: s.station_id.clone(),
                    name: s.name.clone(),
                    kind,
                    county: s.county.clone(),
                    region_code: s.region.clone(),
                    location: s.origin.map(point),
                    ..Default::default()
                },
            ))
            .await
            .map_err(rejected(s.station_id.clone()))?;
        report.stations += 1;
    }
    for g in &file.grids {
        let kind = enum_value("GRID_KIND_", &g.kind, &g.grid_id, "grid kind", |n| {
            pb::GridKind::from_str_name(n).map(|k| k as i32)
        })?;
        client
            .upsert_grid(with_token(
                &bearer,
                pb::UpsertGridRequest {
                    request_id: format!("import:{}", g.grid_id),
                    grid_id: g.grid_id.clone(),
                    station_id: g.station_id.clone(),
                    name: g.name.clone(),
                    polygon: g.polygon.iter().copied().map(point).collect(),
                    kind,
                },
            ))
            .await
            .map_err(rejected(g.grid_id.clone()))?;
        report.grids += 1;
    }
    for o in &file.officers {
        let role = enum_value(
            "OFFICER_ROLE_",
            &o.role,
            &o.officer_id,
            "officer role",
            |n| pb::OfficerRole::from_str_name(n).map(|k| k as i32),
        )?;
        for grid_id in &o.grid_ids {
            client
                .assign_officer(with_token(
                    &bearer,
                    pb::AssignOfficerRequest {
                        request_id: format!("import:{}:{grid_id}", o.officer_id),
                        grid_id: grid_id.clone(),
                        officer_id: o.officer_id.clone(),
                        role,
                        name: o.name.clone(),
                        station_id: o.station_id.clone(),
                        phone: o.phone.clone(),
                        remove: false,
                    },
                ))
                .await
                .map_err(rejected(o.officer_id.clone()))?;
            report.officer_assignments += 1;
        }
    }
    for r in &file.residents {
        let mut tags = Vec::with_capacity(r.tags.len());
        for tag in &r.tags {
            tags.push(enum_value(
                "RESIDENT_TAG_",
                tag,
                &r.resident_id,
                "resident tag",
                |n| pb::ResidentTag::from_str_name(n).map(|k| k as i32),
            )?);
        }
        client
            .upsert_resident(with_token(
                &bearer,
                pb::UpsertResidentRequest {
                    request_id: format!("import:{}", r.resident_id),
                    resident_id: r.resident_id.clone(),
                    name: r.name.clone(),
                    id_number: r.id_number.clone(),
                    phone: r.phone.clone(),
                    grid_id: r.grid_id.clone(),
                    address: r.address.clone(),
                    tags,
                    location: r.location.map(point),
                    residency: pb::ResidencyKind::Registered as i32,
                    ..Default::default()
                },
            ))
            .await
            .map_err(rejected(r.resident_id.clone()))?;
        report.residents += 1;
    }
    for p in &file.premises {
        let kind = enum_value(
            "PREMISES_KIND_",
            &p.kind,
            &p.premises_id,
            "premises kind",
            |n| pb::PremisesKind::from_str_name(n).map(|k| k as i32),
        )?;
        client
            .upsert_premises(with_token(
                &bearer,
                pb::UpsertPremisesRequest {
                    request_id: format!("import:{}", p.premises_id),
                    premises_id: p.premises_id.clone(),
                    kind,
                    name: p.name.clone(),
                    grid_id: p.grid_id.clone(),
                    location: p.location.map(point),
                    address: p.address.clone(),
                    ..Default::default()
                },
            ))
            .await
            .map_err(rejected(p.premises_id.clone()))?;
        report.premises += 1;
    }
    report.skipped_units = file.units.len();
    Ok(report)
}

/// Loads the demo jurisdiction when the registry has no grid yet; None when it had some.
pub async fn load_demo_if_empty(channel: Channel) -> Result<Option<ImportReport>, ImportError> {
    let existing = GridRegistryServiceClient::new(channel.clone())
        .list_grids(pb::ListGridsRequest {
            page_size: 1,
            ..Default::default()
        })
        .await
        .map_err(|status| ImportError::Rejected {
            record: "list grids".into(),
            status: Box::new(status),
        })?
        .into_inner();
    if !existing.grids.is_empty() {
        return Ok(None);
    }
    import(channel, None, pingan_grid_registry::DEMO_JURISDICTION)
        .await
        .map(Some)
}
