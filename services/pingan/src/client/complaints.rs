//! `pingan complaints list|show`: complaints against officers (complaints-audit).

use std::io::Write as _;

use anyhow::Context as _;
use clap::{Args, Subcommand, ValueEnum};
use pingan_proto::audit::v1::complaints_audit_service_client::ComplaintsAuditServiceClient;
use pingan_proto::audit::v1::{
    Complaint, ComplaintStatus, GetComplaintRequest, ListComplaintsRequest,
};

use crate::client::conn::Conn;
use crate::client::output::{self, ListFormat, OneFormat, Table};

/// `pingan complaints …`
#[derive(Debug, Subcommand)]
pub enum ComplaintsCommand {
    /// List complaints, newest received first.
    List(ListArgs),
    /// Show one complaint (by id or case number) with deadlines, evidence and finding.
    Show(ShowArgs),
}

/// Complaint statuses, as flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusArg {
    Received,
    PreliminaryCheck,
    UnderInvestigation,
    FindingProposed,
    Closed,
}

impl StatusArg {
    fn proto(self) -> ComplaintStatus {
        match self {
            Self::Received => ComplaintStatus::Received,
            Self::PreliminaryCheck => ComplaintStatus::PreliminaryCheck,
            Self::UnderInvestigation => ComplaintStatus::UnderInvestigation,
            Self::FindingProposed => ComplaintStatus::FindingProposed,
            Self::Closed => ComplaintStatus::Closed,
        }
    }
}

/// `pingan complaints list`
#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub conn: Conn,
    /// Only these statuses (repeat the flag).
    #[arg(long = "status", value_enum)]
    pub statuses: Vec<StatusArg>,
    /// Only this station.
    #[arg(long, default_value = "")]
    pub station: String,
    /// Only complaints about this incident.
    #[arg(long, default_value = "")]
    pub incident: String,
    /// Only complaints with an overdue deadline.
    #[arg(long)]
    pub overdue: bool,
    /// At most this many.
    #[arg(long, default_value_t = 50)]
    pub limit: i32,
    /// Why complainants' data is read (required for inspectors and the legal unit; audited).
    #[arg(long, default_value = "")]
    pub reason: String,
    #[command(flatten)]
    pub format: ListFormat,
}

/// `pingan complaints show`
#[derive(Debug, Args)]
pub struct ShowArgs {
    #[command(flatten)]
    pub conn: Conn,
    /// Complaint id or case number (e.g. TS-2025-000123).
    pub complaint: String,
    /// Why the complainant's data is read (required for inspectors and the legal unit; audited).
    #[arg(long, default_value = "")]
    pub reason: String,
    #[command(flatten)]
    pub format: OneFormat,
}

/// Runs `pingan complaints …`.
pub async fn run(command: ComplaintsCommand) -> anyhow::Result<()> {
    match command {
        ComplaintsCommand::List(args) => list(args).await,
        ComplaintsCommand::Show(args) => show(args).await,
    }
}

fn status_name(c: &Complaint) -> &'static str {
    output::short(c.status().as_str_name(), "COMPLAINT_STATUS_")
}

fn table(complaints: &[Complaint]) -> Table {
    let mut table = Table::new(&[
        "complaint_id",
        "case_number",
        "source",
        "status",
        "station",
        "incident_id",
        "received",
        "overdue",
        "allegation",
    ]);
    for c in complaints {
        table.push(vec![
            c.complaint_id.clone(),
            c.case_number.clone(),
            output::short(c.source().as_str_name(), "COMPLAINT_SOURCE_").to_owned(),
            status_name(c).to_owned(),
            c.station_id.clone(),
            c.incident_id.clone(),
            output::time(c.received_at.as_ref()),
            if c.overdue { "yes" } else { "" }.to_owned(),
            c.allegation.chars().take(40).collect(),
        ]);
    }
    table
}

async fn list(args: ListArgs) -> anyhow::Result<()> {
    let complaints = ComplaintsAuditServiceClient::new(args.conn.connect().await?)
        .list_complaints(ListComplaintsRequest {
            statuses: args.statuses.iter().map(|s| s.proto() as i32).collect(),
            station_id: args.station.clone(),
            incident_id: args.incident.clone(),
            overdue_only: args.overdue,
            page_size: args.limit,
            reason: args.reason.clone(),
            ..Default::default()
        })
        .await
        .context("ListComplaints")?
        .into_inner()
        .complaints;
    output::print_list(
        args.format,
        &table(&complaints),
        output::proto_json_array(&complaints)?,
    )
}

async fn show(args: ShowArgs) -> anyhow::Result<()> {
    // Case numbers look like TS-2025-000123; anything else is taken as an id.
    let by_case = args.complaint.starts_with("TS-");
    let complaint = ComplaintsAuditServiceClient::new(args.conn.connect().await?)
        .get_complaint(GetComplaintRequest {
            complaint_id: if by_case {
                String::new()
            } else {
                args.complaint.clone()
            },
            case_number: if by_case {
                args.complaint.clone()
            } else {
                String::new()
            },
            reason: args.reason.clone(),
        })
        .await
        .with_context(|| format!("GetComplaint {}", args.complaint))?
        .into_inner()
        .complaint
        .unwrap_or_default();
    if args.format.json {
        return output::print_json(&output::proto_json(&complaint)?, false);
    }
    let mut out = std::io::stdout().lock();
    out.write_all(table(std::slice::from_ref(&complaint)).to_text().as_bytes())?;
    writeln!(out, "allegation    {}", complaint.allegation)?;
    for d in &complaint.deadlines {
        writeln!(
            out,
            "deadline      {} {}",
            output::short(d.kind().as_str_name(), "DEADLINE_KIND_"),
            output::time(d.due_at.as_ref())
        )?;
    }
    for e in &complaint.evidence {
        writeln!(
            out,
            "evidence      {} {} {}",
            e.evidence_id,
            output::short(e.kind().as_str_name(), "EVIDENCE_KIND_"),
            e.title
        )?;
    }
    if let Some(f) = &complaint.finding {
        writeln!(
            out,
            "finding       {}{}",
            output::short(f.finding().as_str_name(), "FINDING_"),
            if f.approved {
                " (approved)"
            } else {
                " (proposed)"
            }
        )?;
    }
    Ok(())
}
