//! `pingan incidents …`: client commands on incidents. `list`, `show`, `timeline` and `watch`
//! read intake's records (client/incidents.rs); `export` writes an incident as an exchange
//! document (schemas/incident-exchange/v1.schema.json) to a file or stdout; `import` hands a
//! document from another bureau to this bureau's intake, which creates a linked incident.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use pingan_proto::intake::v1::incident_exchange_service_client::IncidentExchangeServiceClient;
use pingan_proto::intake::v1::{
    ExportIncidentRequest, ExportIncidentResponse, ImportIncidentRequest, ImportIncidentResponse,
};
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;

use crate::admin_cli::ClientArgs;
use crate::client::conn::normalize_endpoint;
use crate::client::incidents;

/// Largest document the client sends or accepts (the server refuses more than 1 MiB).
const MAX_MESSAGE_BYTES: usize = 2 << 20;

/// `pingan incidents …`
#[derive(Debug, Subcommand)]
pub enum IncidentsCommand {
    /// List incidents, newest first (table, --json array or --csv).
    List(incidents::ListArgs),
    /// Show one incident: status, classification, location, units, clocks and calls.
    Show(incidents::ShowArgs),
    /// Every event of an incident, from the first ring to the last follow-up.
    Timeline(incidents::TimelineArgs),
    /// Follow the incident list: a line (or JSON object) per new incident or change of status.
    Watch(incidents::WatchArgs),
    /// Export an incident (calls, location, classification, units, timeline, 12345 transfers,
    /// notes) as an exchange document; callers' numbers are masked unless the token may read them.
    Export(ExportArgs),
    /// Import an incident exported by another bureau: a local incident linked back to it is
    /// created (once: importing it again answers with the same incident).
    Import(ImportArgs),
}

/// `pingan incidents export`
#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    /// The incident to export.
    #[arg(long)]
    pub incident: String,
    /// Write the document to this file (stdout when absent).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Why callers' numbers are exported in clear (call takers; audited, required when the
    /// platform runs with `--clear-read-reason required`).
    #[arg(long, default_value = "")]
    pub reason: String,
}

/// `pingan incidents import`
#[derive(Debug, Args)]
pub struct ImportArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    /// The document (as `pingan incidents export` wrote it).
    #[arg(long)]
    pub file: PathBuf,
    /// Idempotency key (default: derived from the document's bureau and document id, so
    /// re-running the command is safe; another export of the same incident gives the same
    /// local incident too).
    #[arg(long)]
    pub request_id: Option<String>,
}

/// Runs one `pingan incidents` command, printing what it did.
pub async fn run(command: IncidentsCommand) -> anyhow::Result<()> {
    match command {
        IncidentsCommand::List(args) => incidents::list(args).await,
        IncidentsCommand::Show(args) => incidents::show(args).await,
        IncidentsCommand::Timeline(args) => incidents::timeline(args).await,
        IncidentsCommand::Watch(args) => incidents::watch(args).await,
        IncidentsCommand::Export(args) => {
            let channel = connect(&args.client).await?;
            let progress = spinner(format!("exporting incident {}", args.incident));
            let exported = export(
                channel,
                args.client.token.as_deref(),
                &args.incident,
                &args.reason,
            )
            .await;
            progress.finish_and_clear();
            let exported = exported?;
            match &args.out {
                Some(path) => {
                    std::fs::write(path, exported.document.as_bytes())
                        .with_context(|| format!("writing {}", path.display()))?;
                    eprintln!(
                        "incident {} exported to {} (schema {})",
                        exported.incident_id,
                        path.display(),
                        exported.schema_version
                    );
                }
                None => println!("{}", exported.document),
            }
            Ok(())
        }
        IncidentsCommand::Import(args) => {
            let document = std::fs::read_to_string(&args.file)
                .with_context(|| format!("reading {}", args.file.display()))?;
            let request_id = args
                .request_id
                .clone()
                .unwrap_or_else(|| default_request_id(&document));
            let channel = connect(&args.client).await?;
            let progress = spinner(format!("importing {}", args.file.display()));
            let imported =
                import(channel, args.client.token.as_deref(), document, &request_id).await;
            progress.finish_and_clear();
            let imported = imported?;
            let link = imported.link.unwrap_or_default();
            println!(
                "imported as incident {} (from {} incident {})",
                imported.incident_id, link.source_bureau_id, link.source_incident_id
            );
            Ok(())
        }
    }
}

/// A spinner on stderr while a long call runs (hidden when stderr is not a terminal).
fn spinner(message: String) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new_spinner().with_message(message);
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

async fn connect(client: &ClientArgs) -> anyhow::Result<Channel> {
    Ok(client
        .tls
        .connect(
            &normalize_endpoint(&client.endpoint),
            std::time::Duration::from_secs(5),
        )
        .await?)
}

fn with_token<T>(message: T, token: Option<&str>) -> anyhow::Result<tonic::Request<T>> {
    let mut request = tonic::Request::new(message);
    if let Some(token) = token {
        request.metadata_mut().insert(
            "authorization",
            MetadataValue::try_from(format!("Bearer {token}"))?,
        );
    }
    Ok(request)
}

fn client(channel: Channel) -> IncidentExchangeServiceClient<Channel> {
    IncidentExchangeServiceClient::new(channel)
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES)
}

/// ExportIncident of `incident_id`.
pub async fn export(
    channel: Channel,
    token: Option<&str>,
    incident_id: &str,
    reason: &str,
) -> anyhow::Result<ExportIncidentResponse> {
    let request = with_token(
        ExportIncidentRequest {
            incident_id: incident_id.to_owned(),
            reason: reason.to_owned(),
        },
        token,
    )?;
    Ok(client(channel)
        .export_incident(request)
        .await
        .with_context(|| format!("exporting incident {incident_id}"))?
        .into_inner())
}

/// ImportIncident of `document` under `request_id`.
pub async fn import(
    channel: Channel,
    token: Option<&str>,
    document: String,
    request_id: &str,
) -> anyhow::Result<ImportIncidentResponse> {
    let request = with_token(
        ImportIncidentRequest {
            request_id: request_id.to_owned(),
            document,
        },
        token,
    )?;
    Ok(client(channel)
        .import_incident(request)
        .await
        .context("importing the document")?
        .into_inner())
}

/// `import-<bureau>-<document>`: the same document always gets the same key; a document that
/// cannot be read gets a fresh one (the server names what is wrong with it).
fn default_request_id(document: &str) -> String {
    let value: serde_json::Value = serde_json::from_str(document).unwrap_or_default();
    let bureau = value
        .pointer("/issuing_bureau/bureau_id")
        .and_then(serde_json::Value::as_str);
    let document_id = value
        .pointer("/document_id")
        .and_then(serde_json::Value::as_str);
    match (bureau, document_id) {
        (Some(bureau), Some(document_id)) => format!("import-{bureau}-{document_id}")
            .chars()
            .take(128)
            .collect(),
        _ => format!("import-{}", uuid::Uuid::now_v7()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_request_id_follows_the_document() {
        let document = r#"{"issuing_bureau":{"bureau_id":"b-1"},"document_id":"doc-9"}"#;
        assert_eq!(default_request_id(document), "import-b-1-doc-9");
        assert!(default_request_id("not json").starts_with("import-"));
    }
}
