//! `pingan incidents list|show|timeline|watch`: the incident records intake keeps (the
//! `export`/`import` subcommands live in exchange_cli.rs, in the same subcommand enum).

use std::collections::BTreeMap;
use std::io::Write as _;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use pingan_proto::intake::v1::intake_service_client::IntakeServiceClient;
use pingan_proto::intake::v1::{
    GetIncidentRequest, GetIncidentTimelineRequest, Incident, IncidentStatus, ListIncidentsRequest,
};

use crate::client::conn::{Authed, Conn};
use crate::client::output::{self, ListFormat, OneFormat, Table};

/// Incident statuses, as flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusArg {
    New,
    Classified,
    Diverted,
    Dispatched,
    OnScene,
    Closed,
    FollowedUp,
}

impl StatusArg {
    fn proto(self) -> IncidentStatus {
        match self {
            Self::New => IncidentStatus::New,
            Self::Classified => IncidentStatus::Classified,
            Self::Diverted => IncidentStatus::Diverted,
            Self::Dispatched => IncidentStatus::Dispatched,
            Self::OnScene => IncidentStatus::OnScene,
            Self::Closed => IncidentStatus::Closed,
            Self::FollowedUp => IncidentStatus::FollowedUp,
        }
    }
}

/// Filters of `incidents list` and `incidents watch`.
#[derive(Debug, Clone, Args)]
pub struct Filters {
    /// Only these statuses (repeat the flag).
    #[arg(long = "status", value_enum)]
    pub statuses: Vec<StatusArg>,
    /// Only this station.
    #[arg(long, default_value = "")]
    pub station: String,
    /// Only this grid.
    #[arg(long, default_value = "")]
    pub grid: String,
    /// Only these priorities, 1..4 (repeat the flag).
    #[arg(long = "priority", value_parser = clap::value_parser!(i32).range(1..=4))]
    pub priorities: Vec<i32>,
    /// At most this many incidents, newest first.
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
}

/// `pingan incidents list`
#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub conn: Conn,
    #[command(flatten)]
    pub filters: Filters,
    #[command(flatten)]
    pub format: ListFormat,
}

/// `pingan incidents show` / `timeline`
#[derive(Debug, Args)]
pub struct ShowArgs {
    #[command(flatten)]
    pub conn: Conn,
    /// The incident.
    pub incident_id: String,
    /// Why the callers' numbers are read in clear (call takers; audited, required when the
    /// platform runs with `--clear-read-reason required`).
    #[arg(long, default_value = "")]
    pub reason: String,
    #[command(flatten)]
    pub format: OneFormat,
}

/// `pingan incidents timeline`
#[derive(Debug, Args)]
pub struct TimelineArgs {
    #[command(flatten)]
    pub conn: Conn,
    /// The incident.
    pub incident_id: String,
    #[command(flatten)]
    pub format: ListFormat,
}

/// `pingan incidents watch`
#[derive(Debug, Args)]
pub struct WatchArgs {
    #[command(flatten)]
    pub conn: Conn,
    #[command(flatten)]
    pub filters: Filters,
    /// Seconds between two looks.
    #[arg(long, default_value_t = 2)]
    pub interval: u64,
    /// One JSON object (the incident) per change instead of a line of text.
    #[arg(long)]
    pub json: bool,
}

/// Every page up to the limit.
pub async fn fetch(conn: &Conn, filters: &Filters) -> anyhow::Result<Vec<Incident>> {
    let mut client = IntakeServiceClient::new(conn.connect().await?);
    fetch_with(&mut client, filters).await
}

async fn fetch_with(
    client: &mut IntakeServiceClient<Authed>,
    filters: &Filters,
) -> anyhow::Result<Vec<Incident>> {
    let mut incidents = Vec::new();
    let mut page_token = String::new();
    while incidents.len() < filters.limit {
        let page = client
            .list_incidents(ListIncidentsRequest {
                statuses: filters.statuses.iter().map(|s| s.proto() as i32).collect(),
                grid_id: filters.grid.clone(),
                station_id: filters.station.clone(),
                priorities: filters.priorities.clone(),
                page_size: i32::try_from((filters.limit - incidents.len()).min(500)).unwrap_or(500),
                page_token: page_token.clone(),
                ..Default::default()
            })
            .await
            .context("ListIncidents")?
            .into_inner();
        incidents.extend(page.incidents);
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    incidents.truncate(filters.limit);
    Ok(incidents)
}

fn priority(incident: &Incident) -> String {
    incident
        .classification
        .as_ref()
        .map(|c| output::short(c.priority().as_str_name(), "PRIORITY_").to_owned())
        .filter(|p| p != "UNSPECIFIED")
        .unwrap_or_default()
}

fn status(incident: &Incident) -> &'static str {
    output::short(incident.status().as_str_name(), "INCIDENT_STATUS_")
}

/// The list as a table.
pub fn table(incidents: &[Incident]) -> Table {
    let now = chrono::Utc::now();
    let mut table = Table::new(&[
        "incident_id",
        "status",
        "priority",
        "category",
        "station",
        "grid",
        "since_ring",
        "breached",
        "description",
    ]);
    for i in incidents {
        let clocks = i.clocks.unwrap_or_default();
        table.push(vec![
            i.incident_id.clone(),
            status(i).to_owned(),
            priority(i),
            i.classification
                .as_ref()
                .map(|c| c.category.clone())
                .unwrap_or_default(),
            i.station_id.clone(),
            i.grid_id.clone(),
            output::since(clocks.received_at.as_ref(), now),
            if clocks.response_target_breached {
                "yes"
            } else {
                ""
            }
            .to_owned(),
            i.description.chars().take(40).collect(),
        ]);
    }
    table
}

/// `pingan incidents list`
pub async fn list(args: ListArgs) -> anyhow::Result<()> {
    let incidents = fetch(&args.conn, &args.filters).await?;
    output::print_list(
        args.format,
        &table(&incidents),
        output::proto_json_array(&incidents)?,
    )
}

/// `pingan incidents show`
pub async fn show(args: ShowArgs) -> anyhow::Result<()> {
    let incident = IntakeServiceClient::new(args.conn.connect().await?)
        .get_incident(GetIncidentRequest {
            incident_id: args.incident_id.clone(),
            reason: args.reason.clone(),
        })
        .await
        .with_context(|| format!("GetIncident {}", args.incident_id))?
        .into_inner()
        .incident
        .unwrap_or_default();
    if args.format.json {
        return output::print_json(&output::proto_json(&incident)?, false);
    }
    let clocks = incident.clocks.unwrap_or_default();
    let classification = incident.classification.clone().unwrap_or_default();
    let mut out = std::io::stdout().lock();
    let rows = [
        ("incident", incident.incident_id.clone()),
        ("status", status(&incident).to_owned()),
        (
            "category",
            format!("{} {}", classification.category, priority(&incident)),
        ),
        ("description", incident.description.clone()),
        ("location", output::point(incident.location.as_ref())),
        ("address", incident.address.clone()),
        (
            "station/grid",
            format!("{} / {}", incident.station_id, incident.grid_id),
        ),
        ("dispatch", incident.dispatch_id.clone()),
        ("units", incident.assigned_unit_ids.join(" ")),
        ("transfer", incident.transfer_id.clone()),
        ("received", output::time(clocks.received_at.as_ref())),
        ("to en route", output::duration(clocks.to_en_route.as_ref())),
        ("to on scene", output::duration(clocks.to_on_scene.as_ref())),
        (
            "target",
            format!(
                "{}{}",
                output::duration(clocks.response_target.as_ref()),
                if clocks.response_target_breached {
                    " BREACHED"
                } else {
                    ""
                }
            ),
        ),
        ("pending", incident.pending_reason.clone()),
        ("closed", incident.close_reason.clone()),
    ];
    for (label, value) in rows {
        if !value.trim().is_empty() && value.trim() != "/" {
            writeln!(out, "{label:<14}{value}")?;
        }
    }
    writeln!(out, "calls")?;
    for call in &incident.calls {
        writeln!(
            out,
            "  {}  {}  {}{}  {}",
            call.call_id,
            output::time(call.received_at.as_ref()),
            // The clear number only reaches roles that may read it.
            if call.caller_phone.is_empty() {
                &call.caller_phone_masked
            } else {
                &call.caller_phone
            },
            if call.duplicate { " (duplicate)" } else { "" },
            call.description
        )?;
    }
    Ok(())
}

/// `pingan incidents timeline`
pub async fn timeline(args: TimelineArgs) -> anyhow::Result<()> {
    let entries = IntakeServiceClient::new(args.conn.connect().await?)
        .get_incident_timeline(GetIncidentTimelineRequest {
            incident_id: args.incident_id.clone(),
        })
        .await
        .with_context(|| format!("GetIncidentTimeline {}", args.incident_id))?
        .into_inner()
        .entries;
    let mut table = Table::new(&["at", "kind", "source", "unit", "summary"]);
    for e in &entries {
        table.push(vec![
            output::time(e.at.as_ref()),
            output::short(e.kind().as_str_name(), "TIMELINE_ENTRY_KIND_").to_owned(),
            e.source.clone(),
            e.unit_id.clone(),
            e.summary.clone(),
        ]);
    }
    output::print_list(args.format, &table, output::proto_json_array(&entries)?)
}

/// `pingan incidents watch`: polls the list and prints each new incident and each change of
/// status, one line (or JSON object) each, until interrupted.
pub async fn watch(args: WatchArgs) -> anyhow::Result<()> {
    let mut client = IntakeServiceClient::new(args.conn.connect().await?);
    let mut seen: BTreeMap<String, (i32, bool)> = BTreeMap::new();
    let mut first = true;
    loop {
        let incidents = fetch_with(&mut client, &args.filters).await?;
        let mut out = std::io::stdout().lock();
        for incident in incidents.iter().rev() {
            let state = (
                incident.status,
                incident
                    .clocks
                    .as_ref()
                    .is_some_and(|c| c.response_target_breached),
            );
            let before = seen.insert(incident.incident_id.clone(), state);
            if before == Some(state) {
                continue;
            }
            if args.json {
                writeln!(out, "{}", output::proto_json(incident)?)?;
            } else {
                let change = match (first, before) {
                    (true, _) => "open",
                    (false, None) => "new",
                    (false, Some(_)) => "changed",
                };
                let row = table(std::slice::from_ref(incident));
                let cells = row.rows.first().cloned().unwrap_or_default();
                writeln!(out, "{change} {}", cells.join(" "))?;
            }
        }
        out.flush()?;
        first = false;
        tokio::time::sleep(Duration::from_secs(args.interval.max(1))).await;
    }
}
