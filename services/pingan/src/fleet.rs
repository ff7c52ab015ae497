//! The fleet simulator (`pingan fleet simulate`): stands in for the units' devices on a cluster
//! or a laptop. It lists the registered units (ListUnits), gives each an anchor (a centroid of
//! one of its grids, else of its station's grids, else its last position), moves it on a small
//! circle around the anchor and reports every unit's position in one ReportPositions stream per
//! round, through the public API, at a configurable rate. Also the dev shape's standby placer.

use std::collections::BTreeMap;
use std::time::Duration;

use clap::Args;
use pingan_platform::tls::ClientTlsArgs;
use pingan_proto::common::v1::GeoPoint;
use pingan_proto::dispatch::v1 as dispatch;
use pingan_proto::dispatch::v1::dispatch_service_client::DispatchServiceClient;
use pingan_proto::grid::v1 as grid;
use pingan_proto::grid::v1::grid_registry_service_client::GridRegistryServiceClient;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::transport::Channel;

/// Radius of the circle a unit moves on around its anchor, in metres.
const ROAM_RADIUS_M: f64 = 250.0;
/// Angle a unit advances per round, in radians (a full circle in 24 rounds).
const ROAM_STEP: f64 = std::f64::consts::TAU / 24.0;
/// Metres per degree of latitude.
const METRES_PER_DEGREE: f64 = 111_195.0;

/// `pingan fleet simulate …`
#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// The dispatch endpoint (the dev shape serves all six on one).
    #[arg(
        long,
        env = "PINGAN_ENDPOINT",
        default_value = "http://127.0.0.1:50051"
    )]
    pub endpoint: String,
    /// The grid-registry endpoint, for the grids' centroids (default: --endpoint).
    #[arg(long, env = "PINGAN_REGISTRY_ENDPOINT")]
    pub registry_endpoint: Option<String>,
    /// Bearer token allowed to report the units' positions (admin, service, or an officer or
    /// dispatcher of --station); none for the anonymous dev user of `pingan dev`.
    #[arg(long, env = "PINGAN_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// TLS for `https://` endpoints (`--ca`, `--cert`, `--key`).
    #[command(flatten)]
    pub tls: ClientTlsArgs,
    /// Position reports per second across the fleet, e.g. `5` or `5/s` (a round reports every
    /// unit once, so each unit reports every units/rate seconds).
    #[arg(long, default_value = "5/s", value_parser = parse_rate)]
    pub rate: f64,
    /// Only the units of this station.
    #[arg(long)]
    pub station: Option<String>,
    /// Stop after this long, e.g. 10m (default: until Ctrl-C).
    #[arg(long, value_parser = pingan_platform::config::parse_duration)]
    pub duration: Option<Duration>,
    /// Report one round and exit.
    #[arg(long)]
    pub once: bool,
}

fn parse_rate(text: &str) -> Result<f64, String> {
    let number = text.trim().trim_end_matches("/s");
    match number.parse::<f64>() {
        Ok(rate) if rate.is_finite() && rate > 0.0 => Ok(rate),
        _ => Err(format!(
            "invalid rate {text:?}: expected reports per second, e.g. 5 or 5/s"
        )),
    }
}

/// Why a round failed.
#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    /// A call was refused or failed.
    #[error("{call}: {status}")]
    Call {
        /// Which call.
        call: &'static str,
        /// The answer.
        #[source]
        status: Box<tonic::Status>,
    },
    /// The token is not a valid header value.
    #[error("token is not a valid header value")]
    Token,
}

fn failed(call: &'static str) -> impl FnOnce(tonic::Status) -> FleetError {
    move |status| FleetError::Call {
        call,
        status: Box::new(status),
    }
}

impl FleetError {
    /// Whether trying again later can help: the service was away (restart, deploy, cut) rather
    /// than refusing this simulator (token, role, request).
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Call { status, .. } if matches!(
            status.code(),
            tonic::Code::Unavailable
                | tonic::Code::DeadlineExceeded
                | tonic::Code::ResourceExhausted
                | tonic::Code::Aborted
                | tonic::Code::Unknown
                | tonic::Code::Internal
                | tonic::Code::Cancelled
        ))
    }
}

/// What one round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RoundReport {
    /// Units listed.
    pub units: usize,
    /// Fixes sent.
    pub reported: usize,
    /// Units without an anchor (no grid of their station, no last position): not reported.
    pub unplaced: usize,
    /// Fixes dispatch stored.
    pub accepted: i64,
    /// Fixes dispatch ignored or rejected (out of order, stale, rejected).
    pub ignored: i64,
}

impl std::fmt::Display for RoundReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} units: {} positions reported, {} accepted, {} ignored, {} without a place",
            self.units, self.reported, self.accepted, self.ignored, self.unplaced
        )
    }
}

/// Moves and reports the registered units, round by round.
#[derive(Debug)]
pub struct FleetSimulator {
    dispatch: DispatchServiceClient<Channel>,
    registry: GridRegistryServiceClient<Channel>,
    bearer: Option<MetadataValue<Ascii>>,
    station: Option<String>,
    /// Grid centroids, loaded once: grid id → centroid, station → its grids' centroids.
    grids: Option<Grids>,
    round: u64,
}

#[derive(Debug, Default)]
struct Grids {
    by_id: BTreeMap<String, GeoPoint>,
    by_station: BTreeMap<String, Vec<GeoPoint>>,
}

impl FleetSimulator {
    /// A simulator reporting to dispatch on `dispatch`, reading grids on `registry`, as `token`.
    pub fn new(
        dispatch: Channel,
        registry: Channel,
        token: Option<&str>,
        station: Option<String>,
    ) -> Result<Self, FleetError> {
        let bearer = token
            .map(|t| format!("Bearer {t}").parse().map_err(|_| FleetError::Token))
            .transpose()?;
        Ok(Self {
            dispatch: DispatchServiceClient::new(dispatch),
            registry: GridRegistryServiceClient::new(registry),
            bearer,
            station,
            grids: None,
            round: 0,
        })
    }

    fn request<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        if let Some(bearer) = &self.bearer {
            request
                .metadata_mut()
                .insert("authorization", bearer.clone());
        }
        request
    }

    /// The registered units (of the station, when one is set).
    pub async fn units(&mut self) -> Result<Vec<dispatch::Unit>, FleetError> {
        let mut units = Vec::new();
        let mut page_token = String::new();
        loop {
            let request = self.request(dispatch::ListUnitsRequest {
                page_size: 1000,
                page_token: page_token.clone(),
                station_id: self.station.clone().unwrap_or_default(),
                ..Default::default()
            });
            let page = self
                .dispatch
                .list_units(request)
                .await
                .map_err(failed("ListUnits"))?
                .into_inner();
            units.extend(page.units);
            if page.next_page_token.is_empty() {
                return Ok(units);
            }
            page_token = page.next_page_token;
        }
    }

    async fn load_grids(&mut self) -> Result<Grids, FleetError> {
        let mut grids = Grids::default();
        let mut page_token = String::new();
        loop {
            let request = self.request(grid::ListGridsRequest {
                page_size: 1000,
                page_token: page_token.clone(),
                station_id: self.station.clone().unwrap_or_default(),
                // Grids come with their officers' phones for police roles: the read is audited.
                reason: "fleet simulator: grid polygons".to_owned(),
                ..Default::default()
            });
            let page = self
                .registry
                .list_grids(request)
                .await
                .map_err(failed("ListGrids"))?
                .into_inner();
            for g in page.grids {
                let Some(centroid) = g.centroid else { continue };
                grids
                    .by_station
                    .entry(g.station_id.clone())
                    .or_default()
                    .push(centroid);
                grids.by_id.insert(g.grid_id, centroid);
            }
            if page.next_page_token.is_empty() {
                return Ok(grids);
            }
            page_token = page.next_page_token;
        }
    }

    /// One round: every unit listed reports one position now. AVAILABLE units move on their
    /// circle; busy units report where they last were (so they stay fresh for the board).
    pub async fn round(&mut self) -> Result<RoundReport, FleetError> {
        let units = self.units().await?;
        // Grids are loaded once; none yet (registry still empty) means: look again next round.
        if self
            .grids
            .as_ref()
            .is_none_or(|grids| grids.by_id.is_empty())
        {
            self.grids = Some(self.load_grids().await?);
        }
        let no_grids = Grids::default();
        let grids = self.grids.as_ref().unwrap_or(&no_grids);
        let now = prost_types::Timestamp::from(std::time::SystemTime::now());
        let mut report = RoundReport {
            units: units.len(),
            ..RoundReport::default()
        };
        let mut per_station = BTreeMap::<&str, usize>::new();
        let mut fixes = Vec::with_capacity(units.len());
        for unit in &units {
            let index = per_station.entry(unit.station_id.as_str()).or_default();
            let place = place_of(unit, *index, self.round, grids);
            *index += 1;
            let Some(location) = place else {
                report.unplaced += 1;
                continue;
            };
            fixes.push(dispatch::ReportPositionsRequest {
                unit_id: unit.unit_id.clone(),
                location: Some(location),
                at: Some(now),
                ..Default::default()
            });
        }
        report.reported = fixes.len();
        if !fixes.is_empty() {
            let request = self.request(tokio_stream::iter(fixes));
            let answer = self
                .dispatch
                .report_positions(request)
                .await
                .map_err(failed("ReportPositions"))?
                .into_inner();
            report.accepted = answer.accepted;
            report.ignored = answer.out_of_order + answer.stale + answer.rejected;
        }
        self.round += 1;
        Ok(report)
    }
}

/// Where `unit` (the `index`-th of its station) is in `round`: on a circle around its anchor
/// when AVAILABLE; busy units stay at their last position. None when it has no anchor.
fn place_of(unit: &dispatch::Unit, index: usize, round: u64, grids: &Grids) -> Option<GeoPoint> {
    let available = unit.status() == dispatch::UnitStatus::Available;
    if !available && let Some(last) = unit.location {
        return Some(last);
    }
    let own_grid = unit.grid_ids.iter().find_map(|id| grids.by_id.get(id));
    let station_grid = grids
        .by_station
        .get(&unit.station_id)
        .filter(|centroids| !centroids.is_empty())
        .map(|centroids| &centroids[index % centroids.len()]);
    let anchor = own_grid.or(station_grid).copied().or(unit.location)?;
    // Units of one station start spread over the circle, so they do not overlap.
    #[allow(clippy::cast_precision_loss)]
    let angle = index as f64 * 0.7 + round as f64 * ROAM_STEP;
    Some(offset(anchor, ROAM_RADIUS_M, angle))
}

/// `point` moved `metres` in the direction `angle` (radians from north, clockwise).
fn offset(point: GeoPoint, metres: f64, angle: f64) -> GeoPoint {
    let dlat = metres * angle.cos() / METRES_PER_DEGREE;
    let dlon = metres * angle.sin() / (METRES_PER_DEGREE * point.lat.to_radians().cos());
    GeoPoint {
        lat: point.lat + dlat,
        lon: point.lon + dlon,
    }
}

async fn connect(tls: &ClientTlsArgs, endpoint: &str) -> anyhow::Result<Channel> {
    Ok(tls.connect(endpoint, Duration::from_secs(5)).await?)
}

/// Runs `pingan fleet simulate`.
pub async fn simulate_command(args: SimulateArgs) -> anyhow::Result<()> {
    let dispatch = connect(&args.tls, &args.endpoint).await?;
    let registry = match &args.registry_endpoint {
        Some(endpoint) => connect(&args.tls, endpoint).await?,
        None => dispatch.clone(),
    };
    let mut simulator =
        FleetSimulator::new(dispatch, registry, args.token.as_deref(), args.station)?;
    let deadline = args.duration.map(|d| tokio::time::Instant::now() + d);
    let mut backoff = Duration::from_millis(500);
    loop {
        let report = match simulator.round().await {
            Ok(report) => {
                backoff = Duration::from_millis(500);
                report
            }
            // Devices keep reporting through a restart of dispatch: wait and try again.
            Err(err) if err.is_transient() && !args.once => {
                eprintln!("round failed, retrying in {backoff:?}: {err}");
                tokio::select! {
                    () = tokio::time::sleep(backoff) => {}
                    () = pingan_platform::server::shutdown_signal() => return Ok(()),
                }
                backoff = (backoff * 2).min(Duration::from_secs(10));
                continue;
            }
            Err(err) => return Err(err.into()),
        };
        println!("{report}");
        if report.units == 0 {
            eprintln!("no registered units yet: run `pingan registry import` first");
        }
        if args.once {
            return Ok(());
        }
        // A round reports every unit once: at `rate` reports per second it lasts units/rate.
        #[allow(clippy::cast_precision_loss)]
        let pause = Duration::from_secs_f64((report.units.max(1) as f64 / args.rate).min(3600.0));
        let stop = async {
            match deadline {
                Some(deadline) => tokio::time::sleep_until(deadline).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            () = stop => return Ok(()),
            () = pingan_platform::server::shutdown_signal() => return Ok(()),
        }
    }
}

/// Where each unit of a jurisdiction stands by: its station's origin plus a small offset
/// (a ring of 100 m, then 150 m, … around the origin), so units of one station do not overlap.
pub fn standby_positions(
    json: &str,
) -> Result<Vec<(String, GeoPoint)>, crate::registry_import::ImportError> {
    let file: crate::registry_import::Jurisdiction = serde_json::from_str(json)?;
    let mut per_station = BTreeMap::<&str, u32>::new();
    let mut positions = Vec::with_capacity(file.units.len());
    for unit in &file.units {
        let Some([lat, lon]) = file.station_origin(&unit.station_id) else {
            continue;
        };
        let k = per_station.entry(unit.station_id.as_str()).or_default();
        let angle = f64::from(*k % 8) * std::f64::consts::FRAC_PI_4;
        let radius_m = 100.0 + 50.0 * f64::from(*k / 8);
        *k += 1;
        positions.push((
            unit.unit_id.clone(),
            offset(GeoPoint { lat, lon }, radius_m, angle),
        ));
    }
    Ok(positions)
}

/// True when two points are within about a metre of each other.
fn same_place(a: &GeoPoint, b: &GeoPoint) -> bool {
    (a.lat - b.lat).abs() < 1e-5 && (a.lon - b.lon).abs() < 1e-5
}

/// Stands in for the demo units' handsets (dev shape): reports every AVAILABLE demo unit that has
/// no position, or still stands at its standby point, at that point now. A unit that moved
/// elsewhere or is busy is left alone. Returns the units reported.
pub async fn place_demo_units(channel: Channel) -> Result<usize, FleetError> {
    let standby = standby_positions(pingan_grid_registry::DEMO_JURISDICTION).map_err(|err| {
        FleetError::Call {
            call: "demo jurisdiction",
            status: Box::new(tonic::Status::internal(err.to_string())),
        }
    })?;
    let mut simulator = FleetSimulator::new(channel.clone(), channel, None, None)?;
    let units = simulator.units().await?;
    let now = prost_types::Timestamp::from(std::time::SystemTime::now());
    let mut placed = 0;
    for (unit_id, point) in standby {
        let Some(unit) = units.iter().find(|u| u.unit_id == unit_id) else {
            continue;
        };
        let at_standby = unit
            .location
            .as_ref()
            .is_none_or(|location| same_place(location, &point));
        if unit.status() != dispatch::UnitStatus::Available || !at_standby {
            continue;
        }
        simulator
            .dispatch
            .update_position(dispatch::UpdatePositionRequest {
                unit_id: unit_id.clone(),
                location: Some(point),
                at: Some(now),
                ..Default::default()
            })
            .await
            .map_err(failed("UpdatePosition"))?;
        placed += 1;
    }
    Ok(placed)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEMO: &str = pingan_grid_registry::DEMO_JURISDICTION;

    #[test]
    fn rates_parse_with_or_without_the_unit() {
        assert_eq!(parse_rate("5"), Ok(5.0));
        assert_eq!(parse_rate("0.5/s"), Ok(0.5));
        assert!(parse_rate("0").is_err());
        assert!(parse_rate("fast").is_err());
    }

    #[test]
    fn available_units_circle_their_grid_and_busy_units_stay_put() {
        let centroid = GeoPoint {
            lat: 29.25,
            lon: 92.15,
        };
        let grids = Grids {
            by_id: BTreeMap::from([("g1".to_owned(), centroid)]),
            by_station: BTreeMap::from([("st".to_owned(), vec![centroid])]),
        };
        let mut unit = dispatch::Unit {
            unit_id: "u1".into(),
            station_id: "st".into(),
            status: dispatch::UnitStatus::Available as i32,
            ..Default::default()
        };
        let first = place_of(&unit, 0, 0, &grids).expect("placed");
        let second = place_of(&unit, 0, 1, &grids).expect("placed");
        assert!(!same_place(&first, &second), "it moves between rounds");
        for p in [first, second] {
            let metres = ((p.lat - centroid.lat).powi(2)
                + ((p.lon - centroid.lon) * centroid.lat.to_radians().cos()).powi(2))
            .sqrt()
                * METRES_PER_DEGREE;
            assert!((metres - ROAM_RADIUS_M).abs() < 1.0, "{metres}");
        }
        unit.status = dispatch::UnitStatus::OnScene as i32;
        unit.location = Some(GeoPoint { lat: 1.0, lon: 2.0 });
        assert_eq!(place_of(&unit, 0, 5, &grids), unit.location);
        unit.station_id = "elsewhere".into();
        unit.status = dispatch::UnitStatus::Available as i32;
        unit.location = None;
        assert_eq!(place_of(&unit, 0, 0, &grids), None);
    }

    #[test]
    fn standby_points_are_near_the_station_and_distinct() {
        let points = standby_positions(DEMO).expect("positions");
        assert_eq!(points.len(), 18);
        for (i, (_, a)) in points.iter().enumerate() {
            for (_, b) in &points[i + 1..] {
                assert!(!same_place(a, b));
            }
        }
        let file: crate::registry_import::Jurisdiction = serde_json::from_str(DEMO).expect("json");
        for (unit_id, p) in &points {
            let near = file
                .station_origins()
                .any(|[lat, lon]| (p.lat - lat).abs() < 0.003 && (p.lon - lon).abs() < 0.004);
            assert!(near, "{unit_id}");
        }
    }
}

#[cfg(test)]
mod retry_tests {
    use super::{FleetError, failed};

    #[test]
    fn a_service_away_is_retried_and_a_refusal_is_not() {
        for status in [
            tonic::Status::unavailable("restarting"),
            tonic::Status::deadline_exceeded("slow"),
            tonic::Status::unknown("stream reset"),
        ] {
            assert!(failed("ReportPositions")(status).is_transient());
        }
        for status in [
            tonic::Status::unauthenticated("bad token"),
            tonic::Status::permission_denied("role"),
            tonic::Status::invalid_argument("unit_id"),
        ] {
            assert!(!failed("ReportPositions")(status).is_transient());
        }
        assert!(!FleetError::Token.is_transient());
    }
}
