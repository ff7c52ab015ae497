//! `pingan call report`: one inbound call to intake, as the call taker would enter it. Missing
//! flags are asked for when stdin is a terminal; otherwise the command fails naming them (exit 2).

use std::io::{BufRead as _, IsTerminal as _, Write as _};

use anyhow::Context as _;
use clap::{Args, Subcommand, ValueEnum};
use pingan_proto::common::v1::{Channel, GeoPoint};
use pingan_proto::intake::v1::intake_service_client::IntakeServiceClient;
use pingan_proto::intake::v1::{ReportCallRequest, ReportCallResponse};

use crate::client::UsageError;
use crate::client::conn::{Conn, request_id};
use crate::client::output::{self, OneFormat};

/// `pingan call …`
#[derive(Debug, Subcommand)]
pub enum CallCommand {
    /// Report one call: intake saves it, locates, classifies and dispatches or diverts it.
    Report(ReportArgs),
}

/// The line a call came in on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ChannelArg {
    /// The 110 emergency line.
    #[value(name = "110")]
    Police110,
    /// Pushed from the 12345 hotline.
    #[value(name = "12345")]
    Hotline12345,
    /// A person at a station.
    WalkIn,
    /// App, web or WeChat.
    Online,
    /// Found by a patrol.
    Patrol,
}

impl ChannelArg {
    fn proto(self) -> Channel {
        match self {
            Self::Police110 => Channel::Channel110,
            Self::Hotline12345 => Channel::Channel12345,
            Self::WalkIn => Channel::WalkIn,
            Self::Online => Channel::Online,
            Self::Patrol => Channel::Patrol,
        }
    }
}

/// `pingan call report`
#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(flatten)]
    pub conn: Conn,
    /// Channel the call came in on.
    #[arg(long, value_enum, default_value = "110")]
    pub channel: ChannelArg,
    /// Caller's phone number.
    #[arg(long)]
    pub phone: Option<String>,
    /// Caller's name.
    #[arg(long, default_value = "")]
    pub name: String,
    /// Latitude of the event (WGS-84 degrees).
    #[arg(long, allow_negative_numbers = true)]
    pub lat: Option<f64>,
    /// Longitude of the event (WGS-84 degrees).
    #[arg(long, allow_negative_numbers = true)]
    pub lon: Option<f64>,
    /// Address text (instead of, or with, --lat/--lon).
    #[arg(long)]
    pub address: Option<String>,
    /// What the caller said.
    #[arg(long)]
    pub description: Option<String>,
    /// Category the call taker chose (catalogue code, e.g. RESCUE): a hint for triage.
    #[arg(long, default_value = "")]
    pub category: String,
    /// Id of the call on the source platform.
    #[arg(long, default_value = "")]
    pub source_call_id: String,
    /// Idempotency key: repeating the command with the same key returns the first answer.
    #[arg(long)]
    pub request_id: Option<String>,
    #[command(flatten)]
    pub format: OneFormat,
}

/// Runs `pingan call …`.
pub async fn run(command: CallCommand) -> anyhow::Result<()> {
    match command {
        CallCommand::Report(mut args) => {
            complete(&mut args, std::io::stdin().is_terminal())?;
            let answer = report(&args).await?;
            print(&answer, args.format)
        }
    }
}

/// Fills missing flags from the terminal, or names them.
pub fn complete(args: &mut ReportArgs, interactive: bool) -> anyhow::Result<()> {
    let mut missing = Vec::new();
    if args.phone.is_none() {
        missing.push("--phone");
    }
    if args.lat.is_some() != args.lon.is_some() || (args.lat.is_none() && args.address.is_none()) {
        if args.lat.is_none() {
            missing.push("--lat");
        }
        if args.lon.is_none() {
            missing.push("--lon");
        }
    }
    if args.description.is_none() {
        missing.push("--description");
    }
    if missing.is_empty() {
        return Ok(());
    }
    if !interactive {
        return Err(UsageError(format!(
            "missing {} (stdin is not a terminal to ask on; a location may be --address instead of --lat/--lon)",
            missing.join(", ")
        ))
        .into());
    }
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    let mut ask = |label: &str| -> anyhow::Result<String> {
        eprint!("{label}: ");
        std::io::stderr().flush()?;
        match lines.next() {
            Some(line) => Ok(line?.trim().to_owned()),
            None => Err(UsageError(format!("no answer for {label}")).into()),
        }
    };
    for flag in missing {
        match flag {
            "--phone" => args.phone = Some(ask("caller phone")?),
            "--lat" => args.lat = Some(parse_degrees(&ask("latitude")?, "--lat")?),
            "--lon" => args.lon = Some(parse_degrees(&ask("longitude")?, "--lon")?),
            _ => args.description = Some(ask("what the caller says")?),
        }
    }
    Ok(())
}

fn parse_degrees(text: &str, flag: &str) -> anyhow::Result<f64> {
    text.parse()
        .map_err(|_| UsageError(format!("{flag}: {text:?} is not a number")).into())
}

/// ReportCall with the arguments.
pub async fn report(args: &ReportArgs) -> anyhow::Result<ReportCallResponse> {
    let location = match (args.lat, args.lon) {
        (Some(lat), Some(lon)) => Some(GeoPoint { lat, lon }),
        _ => None,
    };
    let request = ReportCallRequest {
        request_id: request_id(&args.request_id),
        channel: args.channel.proto() as i32,
        source_call_id: args.source_call_id.clone(),
        caller_phone: args.phone.clone().unwrap_or_default(),
        caller_name: args.name.clone(),
        location,
        address: args.address.clone().unwrap_or_default(),
        description: args.description.clone().unwrap_or_default(),
        reported_category: args.category.clone(),
        ..Default::default()
    };
    Ok(IntakeServiceClient::new(args.conn.connect().await?)
        .report_call(request)
        .await
        .context("ReportCall")?
        .into_inner())
}

fn print(answer: &ReportCallResponse, format: OneFormat) -> anyhow::Result<()> {
    if format.json {
        return output::print_json(&output::proto_json(answer)?, false);
    }
    let classification = answer.classification.clone().unwrap_or_default();
    let mut lines = vec![
        ("incident", answer.incident_id.clone()),
        (
            "outcome",
            output::short(answer.outcome().as_str_name(), "OUTCOME_").to_owned(),
        ),
        (
            "status",
            output::short(answer.status().as_str_name(), "INCIDENT_STATUS_").to_owned(),
        ),
    ];
    if answer.classification.is_some() {
        lines.push((
            "category",
            format!(
                "{} {}",
                classification.category,
                output::short(classification.priority().as_str_name(), "PRIORITY_")
            ),
        ));
    }
    for (label, value) in [
        ("grid", &answer.grid_id),
        ("station", &answer.station_id),
        ("dispatch", &answer.dispatch_id),
        ("transfer", &answer.transfer_id),
        ("duplicate of", &answer.duplicate_of),
        ("note", &answer.note),
    ] {
        if !value.is_empty() {
            lines.push((label, value.clone()));
        }
    }
    if !answer.assigned_unit_ids.is_empty() {
        lines.push(("units", answer.assigned_unit_ids.join(" ")));
    }
    let mut out = std::io::stdout().lock();
    for (label, value) in lines {
        writeln!(out, "{label:<13}{value}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(subcommand)]
        call: CallCommand,
    }

    fn parse(args: &[&str]) -> ReportArgs {
        let mut argv = vec!["pingan", "report"];
        argv.extend_from_slice(args);
        match Cli::parse_from(argv).call {
            CallCommand::Report(args) => args,
        }
    }

    #[test]
    fn without_a_terminal_the_missing_flags_are_named() {
        let mut args = parse(&["--channel", "110", "--phone", "13800000000"]);
        let err = complete(&mut args, false).expect_err("missing flags");
        let text = err.to_string();
        assert!(text.contains("--lat") && text.contains("--lon"), "{text}");
        assert!(text.contains("--description"), "{text}");
        assert!(!text.contains("--phone"), "{text}");
        assert_eq!(crate::client::exit_code(&err), 2);
    }

    #[test]
    fn an_address_stands_in_for_coordinates() {
        let mut args = parse(&["--phone", "1", "--address", "河边", "--description", "x"]);
        complete(&mut args, false).expect("complete");
        assert_eq!(args.channel, ChannelArg::Police110);
        let mut args = parse(&["--phone", "1", "--lat", "-1.5", "--description", "x"]);
        let err = complete(&mut args, false).expect_err("lon missing");
        assert!(err.to_string().contains("--lon"));
    }
}
