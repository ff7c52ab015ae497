//! `pingan registry import FILE`: loads a jurisdiction (the format of shared/data/jurisdiction.json)
//! through the public APIs: stations, grids, officers, residents, premises and standard addresses
//! to grid-registry, units to dispatch. Re-running it is harmless: every record is keyed by its id.

use pingan_proto::common::v1::GeoPoint;
use pingan_proto::dispatch::v1 as dispatch;
use pingan_proto::dispatch::v1::dispatch_service_client::DispatchServiceClient;
use pingan_proto::grid::v1 as pb;
use pingan_proto::grid::v1::grid_registry_service_client::GridRegistryServiceClient;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::transport::Channel;

mod input;

pub use input::Jurisdiction;
pub(crate) use input::UnitIn;

/// The reason sent where the registry's answers show officers' phones in clear (audited).
const IMPORT_REASON: &str = "registry import";

/// What an import did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ImportReport {
    pub stations: usize,
    pub grids: usize,
    pub officer_assignments: usize,
    pub residents: usize,
    pub premises: usize,
    /// Standard addresses.
    pub addresses: usize,
    /// Units registered with dispatch.
    pub units: usize,
    /// Units not sent because no dispatch endpoint was given.
    pub skipped_units: usize,
}

impl std::fmt::Display for ImportReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "imported {} stations, {} grids, {} officer assignments, {} residents, {} premises, {} addresses, {} units",
            self.stations,
            self.grids,
            self.officer_assignments,
            self.residents,
            self.premises,
            self.addresses,
            self.units
        )?;
        if self.skipped_units > 0 {
            write!(
                f,
                "; skipped {} units: units belong to dispatch, and no dispatch endpoint was given",
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

fn bearer(token: Option<&str>) -> Result<Option<MetadataValue<Ascii>>, ImportError> {
    token
        .map(|t| {
            format!("Bearer {t}")
                .parse()
                .map_err(|_| ImportError::Token)
        })
        .transpose()
}

fn rejected(record: String) -> impl FnOnce(tonic::Status) -> ImportError {
    move |status| ImportError::Rejected {
        record,
        status: Box::new(status),
    }
}

/// Sends a jurisdiction through the public APIs, as `token`'s subject (none: anonymous dev user):
/// everything but units to grid-registry on `registry`, units to dispatch on `dispatch` (None:
/// units are skipped and counted as such).
pub async fn import(
    registry: Channel,
    dispatch: Option<Channel>,
    token: Option<&str>,
    json: &str,
) -> Result<ImportReport, ImportError> {
    let hidden = indicatif::ProgressBar::hidden();
    import_with_progress(registry, dispatch, token, json, &hidden).await
}

/// [`import`], advancing `progress` by one per record sent (its length set to the file's count).
pub async fn import_with_progress(
    registry: Channel,
    dispatch: Option<Channel>,
    token: Option<&str>,
    json: &str,
    progress: &indicatif::ProgressBar,
) -> Result<ImportReport, ImportError> {
    let file: Jurisdiction = serde_json::from_str(json)?;
    let bearer = bearer(token)?;
    let units = unit_requests_of(&file)?;
    let assignments: usize = file.officers.iter().map(|o| o.grid_ids.len()).sum();
    let records = file.stations.len()
        + file.grids.len()
        + assignments
        + file.residents.len()
        + file.premises.len()
        + file.addresses.len()
        + dispatch.as_ref().map_or(0, |_| units.len());
    progress.set_length(records as u64);
    let mut client = GridRegistryServiceClient::new(registry);
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
        progress.inc(1);
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
                    reason: IMPORT_REASON.into(),
                },
            ))
            .await
            .map_err(rejected(g.grid_id.clone()))?;
        report.grids += 1;
        progress.inc(1);
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
                        reason: IMPORT_REASON.into(),
                    },
                ))
                .await
                .map_err(rejected(o.officer_id.clone()))?;
            report.officer_assignments += 1;
            progress.inc(1);
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
        progress.inc(1);
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
        progress.inc(1);
    }
    for a in &file.addresses {
        client
            .upsert_address(with_token(
                &bearer,
                pb::UpsertAddressRequest {
                    request_id: format!("import:{}", a.address_id),
                    address_id: a.address_id.clone(),
                    grid_id: a.grid_id.clone(),
                    full_text: a.text.clone(),
                    location: a.location.map(point),
                    ..Default::default()
                },
            ))
            .await
            .map_err(rejected(a.address_id.clone()))?;
        report.addresses += 1;
        progress.inc(1);
    }
    match dispatch {
        Some(channel) => report.units = register_units(channel, &bearer, units, progress).await?,
        None => report.skipped_units = units.len(),
    }
    Ok(report)
}

/// The kind of a unit as the jurisdiction file spells it: `UNIT_OFFICER`, `OFFICER` or
/// `UNIT_KIND_OFFICER` (any case).
fn unit_kind(unit: &UnitIn) -> Result<dispatch::UnitKind, ImportError> {
    let upper = unit.kind.to_ascii_uppercase();
    let bare = upper
        .strip_prefix("UNIT_KIND_")
        .or_else(|| upper.strip_prefix("UNIT_"))
        .unwrap_or(&upper);
    dispatch::UnitKind::from_str_name(&format!("UNIT_KIND_{bare}"))
        .filter(|kind| *kind != dispatch::UnitKind::Unspecified)
        .ok_or_else(|| ImportError::Vocabulary {
            record: unit.unit_id.clone(),
            what: "unit kind",
            value: unit.kind.clone(),
        })
}

fn unit_requests_of(
    file: &Jurisdiction,
) -> Result<Vec<dispatch::RegisterUnitRequest>, ImportError> {
    file.units
        .iter()
        .map(|unit| {
            Ok(dispatch::RegisterUnitRequest {
                request_id: format!("import-{}", unit.unit_id),
                unit_id: unit.unit_id.clone(),
                kind: unit_kind(unit)? as i32,
                callsign: unit.callsign.clone(),
                station_id: unit.station_id.clone(),
                capabilities: unit.capabilities.clone(),
                grid_ids: Vec::new(),
                officer_ids: unit.officer_id.iter().cloned().collect(),
                initial_status: dispatch::UnitStatus::Available as i32,
            })
        })
        .collect()
}

/// The RegisterUnit requests for a jurisdiction's units: new units start AVAILABLE, the
/// request id is `import-<unit_id>`.
pub fn unit_requests(json: &str) -> Result<Vec<dispatch::RegisterUnitRequest>, ImportError> {
    unit_requests_of(&serde_json::from_str(json)?)
}

async fn register_units(
    channel: Channel,
    bearer: &Option<MetadataValue<Ascii>>,
    units: Vec<dispatch::RegisterUnitRequest>,
    progress: &indicatif::ProgressBar,
) -> Result<usize, ImportError> {
    let mut client = DispatchServiceClient::new(channel);
    let count = units.len();
    for unit in units {
        let unit_id = unit.unit_id.clone();
        client
            .register_unit(with_token(bearer, unit))
            .await
            .map_err(rejected(unit_id))?;
        progress.inc(1);
    }
    Ok(count)
}

/// Loads the demo jurisdiction (dev shape, token-less): everything when the registry has no grid
/// yet, only the units when the registry has grids but dispatch has no unit; None when both had
/// records.
pub async fn load_demo_if_empty(channel: Channel) -> Result<Option<ImportReport>, ImportError> {
    let existing = GridRegistryServiceClient::new(channel.clone())
        .list_grids(pb::ListGridsRequest {
            page_size: 1,
            reason: IMPORT_REASON.into(),
            ..Default::default()
        })
        .await
        .map_err(rejected("list grids".into()))?
        .into_inner();
    if existing.grids.is_empty() {
        return import(
            channel.clone(),
            Some(channel),
            None,
            pingan_grid_registry::DEMO_JURISDICTION,
        )
        .await
        .map(Some);
    }
    let units = DispatchServiceClient::new(channel.clone())
        .list_units(dispatch::ListUnitsRequest {
            page_size: 1,
            ..Default::default()
        })
        .await
        .map_err(rejected("list units".into()))?
        .into_inner();
    if !units.units.is_empty() {
        return Ok(None);
    }
    let requests = unit_requests(pingan_grid_registry::DEMO_JURISDICTION)?;
    let units = register_units(channel, &None, requests, &indicatif::ProgressBar::hidden()).await?;
    Ok(Some(ImportReport {
        units,
        ..ImportReport::default()
    }))
}

#[cfg(test)]
mod tests;
