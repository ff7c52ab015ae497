//! `pingan audit verify`: checks the audit log's hash chain; exit 6 when a link is broken.

use std::io::Write as _;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use pingan_proto::audit::v1::complaints_audit_service_client::ComplaintsAuditServiceClient;
use pingan_proto::audit::v1::{ChainStatus, VerifyAuditChainRequest, VerifyAuditChainResponse};

use crate::client::AuditChainBroken;
use crate::client::conn::Conn;
use crate::client::output::{self, OneFormat};

/// `pingan audit …`
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Verify the audit chain (every row links to the one before); exit 6 when broken.
    Verify(VerifyArgs),
}

/// `pingan audit verify`
#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub conn: Conn,
    /// First sequence to check (0: the oldest retained row).
    #[arg(long, default_value_t = 0)]
    pub from: i64,
    /// Last sequence to check (0: the newest row).
    #[arg(long, default_value_t = 0)]
    pub to: i64,
    #[command(flatten)]
    pub format: OneFormat,
}

/// Runs `pingan audit …`.
pub async fn run(command: AuditCommand) -> anyhow::Result<()> {
    match command {
        AuditCommand::Verify(args) => verify(args).await,
    }
}

async fn verify(args: VerifyArgs) -> anyhow::Result<()> {
    let answer = ComplaintsAuditServiceClient::new(args.conn.connect().await?)
        .verify_audit_chain(VerifyAuditChainRequest {
            from_sequence: args.from,
            to_sequence: args.to,
            ..Default::default()
        })
        .await
        .context("VerifyAuditChain")?
        .into_inner();
    if args.format.json {
        output::print_json(&output::proto_json(&answer)?, false)?;
    } else {
        print_text(&answer)?;
    }
    if answer.status() == ChainStatus::Ok {
        Ok(())
    } else {
        Err(AuditChainBroken(answer.first_broken_sequence).into())
    }
}

fn print_text(answer: &VerifyAuditChainResponse) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    let status = output::short(answer.status().as_str_name(), "CHAIN_STATUS_");
    writeln!(
        out,
        "audit chain {status}: {} rows checked (sequences {}..{}), head {}",
        answer.rows_checked,
        answer.oldest_retained_sequence,
        answer.head_sequence,
        answer.head_hash
    )?;
    if answer.status() != ChainStatus::Ok {
        writeln!(
            out,
            "first broken sequence {} (entry {}): expected hash {}, found {}",
            answer.first_broken_sequence,
            answer.first_broken_entry_id,
            answer.expected_hash,
            answer.found_hash
        )?;
    }
    Ok(())
}
