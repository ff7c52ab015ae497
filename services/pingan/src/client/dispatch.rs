//! `pingan dispatch assign|ack|en-route|arrive|clear|close|list|show`: a dispatcher's and a
//! unit's steps on a dispatch. Every step takes `--request-id` so a script can retry it safely.

use std::io::Write as _;

use anyhow::Context as _;
use clap::{Args, Subcommand, ValueEnum};
use pingan_proto::dispatch::v1::dispatch_service_client::DispatchServiceClient;
use pingan_proto::dispatch::v1::{
    AcknowledgeRequest, AssignRequest, ClearUnitRequest, CloseDispatchRequest, Dispatch,
    DispatchStatus, Disposition, GetDispatchRequest, ListDispatchesRequest, MarkEnRouteRequest,
    MarkOnSceneRequest,
};

use crate::client::conn::{Conn, request_id};
use crate::client::output::{self, ListFormat, OneFormat, Table};

/// `pingan dispatch …`
#[derive(Debug, Subcommand)]
pub enum DispatchCommand {
    /// Assign an AVAILABLE unit to a dispatch.
    Assign(UnitStep),
    /// The assigned unit acknowledges.
    Ack(UnitStep),
    /// The unit is on its way.
    EnRoute(UnitStep),
    /// The unit arrived on scene.
    Arrive(UnitStep),
    /// The unit leaves the dispatch (available again).
    Clear(UnitStep),
    /// Close a dispatch with its disposition (clearing the units still on it).
    Close(CloseArgs),
    /// List dispatches, newest first.
    List(ListArgs),
    /// Show one dispatch with its assignments.
    Show(ShowArgs),
}

/// A unit's step on a dispatch.
#[derive(Debug, Args)]
pub struct UnitStep {
    #[command(flatten)]
    pub conn: Conn,
    /// The dispatch.
    pub dispatch_id: String,
    /// The unit.
    pub unit_id: String,
    /// Note for the timeline.
    #[arg(long, default_value = "")]
    pub note: String,
    /// Idempotency key.
    #[arg(long)]
    pub request_id: Option<String>,
    #[command(flatten)]
    pub format: OneFormat,
}

/// How a dispatch ended, as flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DispositionArg {
    ResolvedOnScene,
    Mediated,
    ArrestMade,
    CaseOpened,
    Referred,
    AssistanceGiven,
    UnableToLocate,
    FalseReport,
    Cancelled,
}

impl DispositionArg {
    fn proto(self) -> Disposition {
        match self {
            Self::ResolvedOnScene => Disposition::ResolvedOnScene,
            Self::Mediated => Disposition::Mediated,
            Self::ArrestMade => Disposition::ArrestMade,
            Self::CaseOpened => Disposition::CaseOpened,
            Self::Referred => Disposition::Referred,
            Self::AssistanceGiven => Disposition::AssistanceGiven,
            Self::UnableToLocate => Disposition::UnableToLocate,
            Self::FalseReport => Disposition::FalseReport,
            Self::Cancelled => Disposition::Cancelled,
        }
    }
}

/// `pingan dispatch close`
#[derive(Debug, Args)]
pub struct CloseArgs {
    #[command(flatten)]
    pub conn: Conn,
    /// The dispatch.
    pub dispatch_id: String,
    /// How it ended.
    #[arg(long, value_enum)]
    pub disposition: DispositionArg,
    /// What happened and what was done.
    #[arg(long, default_value = "")]
    pub narrative: String,
    /// Refuse to close while units are still active on it (default: clear them with the close).
    #[arg(long)]
    pub keep_units: bool,
    /// Idempotency key.
    #[arg(long)]
    pub request_id: Option<String>,
    #[command(flatten)]
    pub format: OneFormat,
}

/// `pingan dispatch list`
#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub conn: Conn,
    /// Only this station.
    #[arg(long, default_value = "")]
    pub station: String,
    /// Only dispatches of this incident.
    #[arg(long, default_value = "")]
    pub incident: String,
    /// Only open dispatches.
    #[arg(long)]
    pub open: bool,
    /// At most this many (newest first).
    #[arg(long, default_value_t = 50)]
    pub limit: i32,
    #[command(flatten)]
    pub format: ListFormat,
}

/// `pingan dispatch show`
#[derive(Debug, Args)]
pub struct ShowArgs {
    #[command(flatten)]
    pub conn: Conn,
    /// The dispatch.
    pub dispatch_id: String,
    #[command(flatten)]
    pub format: OneFormat,
}

/// Runs `pingan dispatch …`.
pub async fn run(command: DispatchCommand) -> anyhow::Result<()> {
    match command {
        DispatchCommand::Close(args) => close(args).await,
        DispatchCommand::List(args) => list(args).await,
        DispatchCommand::Show(args) => show(args).await,
        DispatchCommand::Assign(step) => unit_step(Step::Assign, step).await,
        DispatchCommand::Ack(step) => unit_step(Step::Ack, step).await,
        DispatchCommand::EnRoute(step) => unit_step(Step::EnRoute, step).await,
        DispatchCommand::Arrive(step) => unit_step(Step::Arrive, step).await,
        DispatchCommand::Clear(step) => unit_step(Step::Clear, step).await,
    }
}

#[derive(Debug, Clone, Copy)]
enum Step {
    Assign,
    Ack,
    EnRoute,
    Arrive,
    Clear,
}

async fn unit_step(step: Step, args: UnitStep) -> anyhow::Result<()> {
    let mut client = DispatchServiceClient::new(args.conn.connect().await?);
    let (request_id, dispatch_id, unit_id, note) = (
        request_id(&args.request_id),
        args.dispatch_id.clone(),
        args.unit_id.clone(),
        args.note.clone(),
    );
    let context = || format!("{step:?} {} {}", args.dispatch_id, args.unit_id);
    let (assignment, dispatch) = match step {
        Step::Assign => {
            let r = client
                .assign(AssignRequest {
                    request_id,
                    dispatch_id,
                    unit_id,
                    note,
                })
                .await
                .with_context(context)?
                .into_inner();
            (r.assignment, r.dispatch)
        }
        Step::Ack => {
            let r = client
                .acknowledge(AcknowledgeRequest {
                    request_id,
                    dispatch_id,
                    unit_id,
                    note,
                })
                .await
                .with_context(context)?
                .into_inner();
            (r.assignment, r.dispatch)
        }
        Step::EnRoute => {
            let r = client
                .mark_en_route(MarkEnRouteRequest {
                    request_id,
                    dispatch_id,
                    unit_id,
                    note,
                    location: None,
                })
                .await
                .with_context(context)?
                .into_inner();
            (r.assignment, r.dispatch)
        }
        Step::Arrive => {
            let r = client
                .mark_on_scene(MarkOnSceneRequest {
                    request_id,
                    dispatch_id,
                    unit_id,
                    note,
                    location: None,
                })
                .await
                .with_context(context)?
                .into_inner();
            (r.assignment, r.dispatch)
        }
        Step::Clear => {
            let r = client
                .clear_unit(ClearUnitRequest {
                    request_id,
                    dispatch_id,
                    unit_id,
                    note,
                    next_status: 0,
                })
                .await
                .with_context(context)?
                .into_inner();
            (r.assignment, r.dispatch)
        }
    };
    let dispatch = dispatch.unwrap_or_default();
    if args.format.json {
        return output::print_json(&output::proto_json(&dispatch)?, false);
    }
    let assignment = assignment.unwrap_or_default();
    writeln!(
        std::io::stdout(),
        "dispatch {} {} unit {} {}",
        dispatch.dispatch_id,
        status_name(dispatch.status()),
        assignment.unit_id,
        output::short(assignment.status().as_str_name(), "ASSIGNMENT_STATUS_")
    )?;
    Ok(())
}

/// A dispatch's status without its prefix.
pub fn status_name(status: DispatchStatus) -> &'static str {
    output::short(status.as_str_name(), "DISPATCH_STATUS_")
}

async fn close(args: CloseArgs) -> anyhow::Result<()> {
    let dispatch = DispatchServiceClient::new(args.conn.connect().await?)
        .close_dispatch(CloseDispatchRequest {
            request_id: request_id(&args.request_id),
            dispatch_id: args.dispatch_id.clone(),
            disposition: args.disposition.proto() as i32,
            narrative: args.narrative.clone(),
            clear_active_units: !args.keep_units,
        })
        .await
        .with_context(|| format!("CloseDispatch {}", args.dispatch_id))?
        .into_inner()
        .dispatch
        .unwrap_or_default();
    if args.format.json {
        return output::print_json(&output::proto_json(&dispatch)?, false);
    }
    writeln!(
        std::io::stdout(),
        "dispatch {} {} {}",
        dispatch.dispatch_id,
        status_name(dispatch.status()),
        output::short(dispatch.disposition().as_str_name(), "DISPOSITION_")
    )?;
    Ok(())
}

/// Dispatches as a table.
pub fn table(dispatches: &[Dispatch]) -> Table {
    let now = chrono::Utc::now();
    let mut table = Table::new(&[
        "dispatch_id",
        "incident_id",
        "status",
        "priority",
        "category",
        "station",
        "since_open",
        "breached",
        "units",
    ]);
    for d in dispatches {
        let units: Vec<String> = d
            .assignments
            .iter()
            .filter(|a| a.ended_at.is_none())
            .map(|a| a.unit_id.clone())
            .collect();
        table.push(vec![
            d.dispatch_id.clone(),
            d.incident_id.clone(),
            status_name(d.status()).to_owned(),
            output::short(d.priority().as_str_name(), "PRIORITY_").to_owned(),
            d.category.clone(),
            d.station_id.clone(),
            output::since(d.opened_at.as_ref(), now),
            if d.sla_breached { "yes" } else { "" }.to_owned(),
            units.join(" "),
        ]);
    }
    table
}

async fn list(args: ListArgs) -> anyhow::Result<()> {
    let statuses = if args.open {
        vec![
            DispatchStatus::Pending as i32,
            DispatchStatus::Assigned as i32,
            DispatchStatus::EnRoute as i32,
            DispatchStatus::OnScene as i32,
        ]
    } else {
        Vec::new()
    };
    let dispatches = DispatchServiceClient::new(args.conn.connect().await?)
        .list_dispatches(ListDispatchesRequest {
            page_size: args.limit,
            station_id: args.station.clone(),
            incident_id: args.incident.clone(),
            statuses,
            ..Default::default()
        })
        .await
        .context("ListDispatches")?
        .into_inner()
        .dispatches;
    output::print_list(
        args.format,
        &table(&dispatches),
        output::proto_json_array(&dispatches)?,
    )
}

async fn show(args: ShowArgs) -> anyhow::Result<()> {
    let dispatch = DispatchServiceClient::new(args.conn.connect().await?)
        .get_dispatch(GetDispatchRequest {
            dispatch_id: args.dispatch_id.clone(),
        })
        .await
        .with_context(|| format!("GetDispatch {}", args.dispatch_id))?
        .into_inner()
        .dispatch
        .unwrap_or_default();
    if args.format.json {
        return output::print_json(&output::proto_json(&dispatch)?, false);
    }
    let mut out = std::io::stdout().lock();
    out.write_all(table(std::slice::from_ref(&dispatch)).to_text().as_bytes())?;
    writeln!(out, "assignments")?;
    for a in &dispatch.assignments {
        writeln!(
            out,
            "  {}  {}  {}  {}",
            a.unit_id,
            a.callsign,
            output::short(a.status().as_str_name(), "ASSIGNMENT_STATUS_"),
            output::time(a.assigned_at.as_ref())
        )?;
    }
    Ok(())
}
