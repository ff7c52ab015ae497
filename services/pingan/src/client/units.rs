//! `pingan units list|near|status|position`: dispatch's units, the nearest-unit search, a
//! unit's status set by hand and a position fix reported by hand.

use std::io::Write as _;

use anyhow::Context as _;
use clap::{Args, Subcommand, ValueEnum};
use pingan_proto::common::v1::GeoPoint;
use pingan_proto::dispatch::v1::dispatch_service_client::DispatchServiceClient;
use pingan_proto::dispatch::v1::{
    FindNearestUnitsRequest, ListUnitsRequest, SetUnitStatusRequest, Unit, UnitKind, UnitStatus,
    UpdatePositionRequest,
};

use crate::client::conn::{Conn, request_id};
use crate::client::output::{self, ListFormat, OneFormat, Table};

/// `pingan units …`
#[derive(Debug, Subcommand)]
pub enum UnitsCommand {
    /// List units with status and last position (table, --json array or --csv).
    List(ListArgs),
    /// The units nearest to a point, nearest first, with distance and ETA.
    Near(NearArgs),
    /// Set a unit's status by hand: available, busy or off-duty.
    Status(StatusArgs),
    /// Report a unit's position by hand (as its device would).
    Position(PositionArgs),
}

/// Unit kinds, as flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KindArg {
    Officer,
    PatrolCar,
    Drone,
    Auxiliary,
}

impl KindArg {
    fn proto(self) -> UnitKind {
        match self {
            Self::Officer => UnitKind::Officer,
            Self::PatrolCar => UnitKind::PatrolCar,
            Self::Drone => UnitKind::Drone,
            Self::Auxiliary => UnitKind::Auxiliary,
        }
    }
}

/// Unit statuses, as flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum UnitStatusArg {
    Available,
    Assigned,
    EnRoute,
    OnScene,
    Busy,
    OffDuty,
}

impl UnitStatusArg {
    /// The proto value.
    pub fn proto(self) -> UnitStatus {
        match self {
            Self::Available => UnitStatus::Available,
            Self::Assigned => UnitStatus::Assigned,
            Self::EnRoute => UnitStatus::EnRoute,
            Self::OnScene => UnitStatus::OnScene,
            Self::Busy => UnitStatus::Busy,
            Self::OffDuty => UnitStatus::OffDuty,
        }
    }
}

/// `pingan units list`
#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub conn: Conn,
    /// Only this station.
    #[arg(long, default_value = "")]
    pub station: String,
    /// Only these statuses (repeat the flag).
    #[arg(long = "status", value_enum)]
    pub statuses: Vec<UnitStatusArg>,
    /// Only these kinds (repeat the flag).
    #[arg(long = "kind", value_enum)]
    pub kinds: Vec<KindArg>,
    #[command(flatten)]
    pub format: ListFormat,
}

/// `pingan units near`
#[derive(Debug, Args)]
pub struct NearArgs {
    #[command(flatten)]
    pub conn: Conn,
    /// Latitude (WGS-84 degrees).
    #[arg(long, allow_negative_numbers = true)]
    pub lat: f64,
    /// Longitude (WGS-84 degrees).
    #[arg(long, allow_negative_numbers = true)]
    pub lon: f64,
    /// Search radius in metres.
    #[arg(long, default_value_t = 5000.0)]
    pub radius: f64,
    /// Only these kinds (repeat the flag).
    #[arg(long = "kind", value_enum)]
    pub kinds: Vec<KindArg>,
    /// Only units with all these capabilities (repeat the flag), e.g. water_rescue.
    #[arg(long = "capability")]
    pub capabilities: Vec<String>,
    /// Only AVAILABLE units.
    #[arg(long)]
    pub available: bool,
    /// At most this many units.
    #[arg(long, default_value_t = 10)]
    pub limit: i32,
    #[command(flatten)]
    pub format: ListFormat,
}

/// `pingan units status`
#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub conn: Conn,
    /// The unit.
    pub unit_id: String,
    /// The new status (available, busy or off-duty; the others follow assignments).
    #[arg(value_enum)]
    pub status: UnitStatusArg,
    /// Why, e.g. "meal break".
    #[arg(long, default_value = "")]
    pub reason: String,
    /// Idempotency key.
    #[arg(long)]
    pub request_id: Option<String>,
    #[command(flatten)]
    pub format: OneFormat,
}

/// `pingan units position`
#[derive(Debug, Args)]
pub struct PositionArgs {
    #[command(flatten)]
    pub conn: Conn,
    /// The unit.
    pub unit_id: String,
    /// Latitude (WGS-84 degrees).
    #[arg(long, allow_negative_numbers = true)]
    pub lat: f64,
    /// Longitude (WGS-84 degrees).
    #[arg(long, allow_negative_numbers = true)]
    pub lon: f64,
}

/// Runs `pingan units …`.
pub async fn run(command: UnitsCommand) -> anyhow::Result<()> {
    match command {
        UnitsCommand::List(args) => list(args).await,
        UnitsCommand::Near(args) => near(args).await,
        UnitsCommand::Status(args) => status(args).await,
        UnitsCommand::Position(args) => position(args).await,
    }
}

fn kind_name(kind: UnitKind) -> &'static str {
    output::short(kind.as_str_name(), "UNIT_KIND_")
}

/// A unit's status without its prefix.
pub fn status_name(status: UnitStatus) -> &'static str {
    output::short(status.as_str_name(), "UNIT_STATUS_")
}

async fn list(args: ListArgs) -> anyhow::Result<()> {
    let mut client = DispatchServiceClient::new(args.conn.connect().await?);
    let mut units: Vec<Unit> = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = client
            .list_units(ListUnitsRequest {
                page_size: 1000,
                page_token: page_token.clone(),
                station_id: args.station.clone(),
                kinds: args.kinds.iter().map(|k| k.proto() as i32).collect(),
                statuses: args.statuses.iter().map(|s| s.proto() as i32).collect(),
                ..Default::default()
            })
            .await
            .context("ListUnits")?
            .into_inner();
        units.extend(page.units);
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    let now = chrono::Utc::now();
    let mut table = Table::new(&[
        "unit_id", "callsign", "kind", "status", "station", "dispatch", "position", "seen",
    ]);
    for u in &units {
        table.push(vec![
            u.unit_id.clone(),
            u.callsign.clone(),
            kind_name(u.kind()).to_owned(),
            status_name(u.status()).to_owned(),
            u.station_id.clone(),
            u.current_dispatch_id.clone(),
            output::point(u.location.as_ref()),
            format!(
                "{}{}",
                output::since(u.last_seen.as_ref(), now),
                if u.position_stale { " (stale)" } else { "" }
            ),
        ]);
    }
    output::print_list(args.format, &table, output::proto_json_array(&units)?)
}

async fn near(args: NearArgs) -> anyhow::Result<()> {
    let found = DispatchServiceClient::new(args.conn.connect().await?)
        .find_nearest_units(FindNearestUnitsRequest {
            location: Some(GeoPoint {
                lat: args.lat,
                lon: args.lon,
            }),
            radius_m: args.radius,
            kinds: args.kinds.iter().map(|k| k.proto() as i32).collect(),
            capabilities: args.capabilities.clone(),
            only_available: args.available,
            limit: args.limit,
            station_id: String::new(),
        })
        .await
        .context("FindNearestUnits")?
        .into_inner()
        .units;
    let mut table = Table::new(&[
        "unit_id",
        "callsign",
        "kind",
        "status",
        "distance_m",
        "eta",
        "station",
    ]);
    for u in &found {
        table.push(vec![
            u.unit_id.clone(),
            u.callsign.clone(),
            kind_name(u.kind()).to_owned(),
            status_name(u.status()).to_owned(),
            format!("{:.0}", u.distance_m),
            output::duration(u.eta.as_ref()),
            u.station_id.clone(),
        ]);
    }
    output::print_list(args.format, &table, output::proto_json_array(&found)?)
}

async fn status(args: StatusArgs) -> anyhow::Result<()> {
    let unit = DispatchServiceClient::new(args.conn.connect().await?)
        .set_unit_status(SetUnitStatusRequest {
            request_id: request_id(&args.request_id),
            unit_id: args.unit_id.clone(),
            status: args.status.proto() as i32,
            reason: args.reason.clone(),
        })
        .await
        .with_context(|| format!("SetUnitStatus {}", args.unit_id))?
        .into_inner()
        .unit
        .unwrap_or_default();
    if args.format.json {
        return output::print_json(&output::proto_json(&unit)?, false);
    }
    writeln!(
        std::io::stdout(),
        "unit {} {}",
        unit.unit_id,
        status_name(unit.status())
    )?;
    Ok(())
}

async fn position(args: PositionArgs) -> anyhow::Result<()> {
    let answer = DispatchServiceClient::new(args.conn.connect().await?)
        .update_position(UpdatePositionRequest {
            unit_id: args.unit_id.clone(),
            location: Some(GeoPoint {
                lat: args.lat,
                lon: args.lon,
            }),
            at: Some(pingan_platform::time::to_timestamp(chrono::Utc::now())),
            ..Default::default()
        })
        .await
        .with_context(|| format!("UpdatePosition {}", args.unit_id))?
        .into_inner();
    writeln!(
        std::io::stdout(),
        "unit {} position {}",
        args.unit_id,
        output::short(answer.outcome().as_str_name(), "POSITION_OUTCOME_")
    )?;
    Ok(())
}
