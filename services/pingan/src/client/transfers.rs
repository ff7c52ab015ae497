//! `pingan transfers overdue`: 12345 transfers past their time limit and not yet handled.

use anyhow::Context as _;
use clap::{Args, Subcommand, ValueEnum};
use pingan_proto::triage::v1::triage_service_client::TriageServiceClient;
use pingan_proto::triage::v1::{ListOverdueTransfersRequest, Transfer, TransferDirection};

use crate::client::conn::Conn;
use crate::client::output::{self, ListFormat, Table};

/// `pingan transfers …`
#[derive(Debug, Subcommand)]
pub enum TransfersCommand {
    /// Transfers past their 12345 time limit, most overdue first.
    Overdue(OverdueArgs),
}

/// Transfer directions, as flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DirectionArg {
    /// 110 → 12345 (diversions).
    To12345,
    /// 12345 → 110.
    From12345,
}

/// `pingan transfers overdue`
#[derive(Debug, Args)]
pub struct OverdueArgs {
    #[command(flatten)]
    pub conn: Conn,
    /// Only this direction.
    #[arg(long, value_enum)]
    pub direction: Option<DirectionArg>,
    /// Overdue as of this time (RFC 3339); now when absent.
    #[arg(long)]
    pub as_of: Option<String>,
    /// At most this many.
    #[arg(long, default_value_t = 100)]
    pub limit: i32,
    /// Why callers' phones are read in clear (dispatchers, the 12345 integration): audited;
    /// required when the service runs with `--clear-read-reason required`.
    #[arg(long, default_value = "")]
    pub reason: String,
    #[command(flatten)]
    pub format: ListFormat,
}

/// Runs `pingan transfers …`.
pub async fn run(command: TransfersCommand) -> anyhow::Result<()> {
    match command {
        TransfersCommand::Overdue(args) => overdue(args).await,
    }
}

async fn overdue(args: OverdueArgs) -> anyhow::Result<()> {
    let as_of = match &args.as_of {
        Some(text) => Some(pingan_platform::time::to_timestamp(
            chrono::DateTime::parse_from_rfc3339(text)
                .map_err(|err| crate::client::UsageError(format!("--as-of {text}: {err}")))?
                .with_timezone(&chrono::Utc),
        )),
        None => None,
    };
    let direction = match args.direction {
        Some(DirectionArg::To12345) => TransferDirection::To12345,
        Some(DirectionArg::From12345) => TransferDirection::From12345,
        None => TransferDirection::Unspecified,
    };
    let transfers = TriageServiceClient::new(args.conn.connect().await?)
        .list_overdue_transfers(ListOverdueTransfersRequest {
            direction: direction as i32,
            as_of,
            page_size: args.limit,
            page_token: String::new(),
            reason: args.reason.clone(),
        })
        .await
        .context("ListOverdueTransfers")?
        .into_inner()
        .transfers;
    output::print_list(
        args.format,
        &table(&transfers),
        output::proto_json_array(&transfers)?,
    )
}

fn table(transfers: &[Transfer]) -> Table {
    let mut table = Table::new(&[
        "transfer_id",
        "direction",
        "status",
        "ticket",
        "incident_id",
        "department",
        "deadline",
        "description",
    ]);
    for t in transfers {
        table.push(vec![
            t.transfer_id.clone(),
            output::short(t.direction().as_str_name(), "TRANSFER_DIRECTION_").to_owned(),
            output::short(t.status().as_str_name(), "TRANSFER_STATUS_").to_owned(),
            t.hotline_ticket_id.clone(),
            t.incident_id.clone(),
            t.department.clone(),
            output::time(t.deadline.as_ref()),
            t.description.chars().take(40).collect(),
        ]);
    }
    table
}
