//! Operator commands: the outbox's dead letters (list, re-drive, counts) and bearer tokens.

use std::time::Duration;

use clap::{Args, Subcommand};
use pingan_platform::auth::{RevocationFile, Role, TokenIssuer};
use pingan_proto::events::v1::event_admin_service_client::EventAdminServiceClient;
use pingan_proto::events::v1::{
    GetOutboxStatsRequest, ListDeadLettersRequest, RedriveDeadLettersRequest,
};
use tonic::metadata::MetadataValue;

use crate::ServiceKind;

/// Where to reach a Pingan endpoint and as whom.
#[derive(Debug, Args)]
pub struct ClientArgs {
    /// gRPC endpoint of the service (the dev shape serves all six on one).
    #[arg(
        long,
        env = "PINGAN_ENDPOINT",
        default_value = "http://127.0.0.1:50051"
    )]
    pub endpoint: String,
    /// Bearer token (admin role); the dev shape accepts calls without one.
    #[arg(long, env = "PINGAN_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// TLS for `https://` endpoints (`--ca`, `--cert`, `--key`).
    #[command(flatten)]
    pub tls: pingan_platform::tls::ClientTlsArgs,
}

/// `pingan events …`
#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// List the events a service could not deliver.
    DeadLetters {
        /// The sending service.
        #[arg(value_enum)]
        service: ServiceKind,
        /// Only those for this destination service.
        #[arg(long)]
        destination: Option<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Queue dead letters for delivery again.
    Redrive {
        /// The sending service.
        #[arg(value_enum)]
        service: ServiceKind,
        /// Event ids to re-drive (repeat the flag).
        #[arg(long = "event-id")]
        event_ids: Vec<String>,
        /// Re-drive every dead letter (of --destination, if given).
        #[arg(long, conflicts_with = "event_ids")]
        all: bool,
        /// Only those for this destination service.
        #[arg(long)]
        destination: Option<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Outbox counts: pending, oldest pending age, dead, delivered.
    Stats {
        /// The sending service.
        #[arg(value_enum)]
        service: ServiceKind,
        #[command(flatten)]
        client: ClientArgs,
    },
}

/// `pingan token …`: signs a bearer token with the bureau's secret (a random `jti` and `iat`
/// included), or `pingan token revoke` adds to the revocation file.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct TokenArgs {
    /// `revoke`: refuse a token or a subject's tokens from now on.
    #[command(subcommand)]
    pub command: Option<TokenCommand>,
    /// Subject (officer id, integration or operator name).
    #[arg(long, required_unless_present = "unit")]
    pub subject: Option<String>,
    /// Roles (repeat the flag), e.g. dispatcher, village_officer, admin.
    #[arg(long = "role", required_unless_present = "unit", value_parser = parse_role)]
    pub roles: Vec<Role>,
    /// Stations the subject acts for (repeat the flag); none = bureau-wide roles only.
    #[arg(long = "station")]
    pub stations: Vec<String>,
    /// A device token for this unit (role `device`, subject `unit:<id>`): it may report that
    /// unit's position and nothing else.
    #[arg(long, conflicts_with_all = ["subject", "roles", "stations"])]
    pub unit: Option<String>,
    /// Lifetime, e.g. 8h.
    #[arg(long, default_value = "8h", value_parser = pingan_platform::config::parse_duration)]
    pub ttl: Duration,
    /// The HS256 secret (as the services have it).
    #[arg(
        long = "auth-secret",
        env = "PINGAN_AUTH_SECRET",
        hide_env_values = true,
        required = true
    )]
    pub secret: Option<String>,
    /// Issuer.
    #[arg(
        long = "auth-issuer",
        env = "PINGAN_AUTH_ISSUER",
        default_value = "pingan"
    )]
    pub issuer: String,
    /// Audience (`aud`), for services started with `--auth-audience`.
    #[arg(long = "audience", env = "PINGAN_AUTH_AUDIENCE")]
    pub audience: Option<String>,
}

/// `pingan token revoke …`
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Add a token id or a subject to the revocation file the services read
    /// (`--auth-revoked-file`); written atomically (temporary file and rename).
    Revoke(RevokeArgs),
}

/// What `pingan token revoke` adds.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("what").required(true).args(["jti", "subject"]))]
pub struct RevokeArgs {
    /// The revocation file (created when missing).
    #[arg(long, env = "PINGAN_AUTH_REVOKED_FILE")]
    pub file: std::path::PathBuf,
    /// The token id (`jti`) of one token.
    #[arg(long)]
    pub jti: Option<String>,
    /// A subject: its tokens issued before now (or `--not-before`) are refused.
    #[arg(long)]
    pub subject: Option<String>,
    /// With `--subject`: seconds since the epoch instead of now.
    #[arg(long, requires = "subject")]
    pub not_before: Option<u64>,
}

/// Adds one entry to the revocation file; prints what it did.
pub fn revoke(args: &RevokeArgs) -> anyhow::Result<()> {
    let mut list = RevocationFile::read_or_empty(&args.file)?;
    match (&args.jti, &args.subject) {
        (Some(jti), _) => {
            let jti = jti.trim();
            anyhow::ensure!(!jti.is_empty(), "--jti must name a token id");
            if !list.revoke_jti(jti) {
                println!("token {jti} was already revoked");
                return Ok(());
            }
            list.write_atomic(&args.file)?;
            println!("revoked token {jti} in {}", args.file.display());
        }
        (None, Some(subject)) => {
            let subject = subject.trim();
            anyhow::ensure!(!subject.is_empty(), "--subject must name a subject");
            let not_before = match args.not_before {
                Some(at) => at,
                None => std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)?
                    .as_secs(),
            };
            list.revoke_subject(subject, not_before);
            list.write_atomic(&args.file)?;
            println!(
                "revoked the tokens of {subject} issued before {not_before} in {}",
                args.file.display()
            );
        }
        (None, None) => anyhow::bail!("give --jti or --subject"),
    }
    Ok(())
}

fn parse_role(text: &str) -> Result<Role, String> {
    serde_json::from_value(serde_json::Value::String(text.to_owned()))
        .map_err(|_| format!("unknown role {text:?}"))
}

/// Prints a token, or runs `token revoke`.
pub fn token(args: &TokenArgs) -> anyhow::Result<()> {
    if let Some(TokenCommand::Revoke(revoke_args)) = &args.command {
        return revoke(revoke_args);
    }
    let secret = args
        .secret
        .as_deref()
        .ok_or_else(|| anyhow::anyhow!("--auth-secret (PINGAN_AUTH_SECRET) is required"))?;
    let issuer = TokenIssuer::new(secret.as_bytes(), &args.issuer)?
        .with_audience(args.audience.as_deref().filter(|a| !a.trim().is_empty()));
    let stations: Vec<&str> = args.stations.iter().map(String::as_str).collect();
    let (subject, roles) = match (&args.unit, &args.subject) {
        (Some(unit), _) => (
            format!(
                "{}{}",
                pingan_platform::auth::DEVICE_SUBJECT_PREFIX,
                unit.trim()
            ),
            vec![Role::Device],
        ),
        (None, Some(subject)) => (subject.clone(), args.roles.clone()),
        (None, None) => anyhow::bail!("give --subject and --role, or --unit"),
    };
    anyhow::ensure!(
        args.unit.as_deref().is_none_or(|u| !u.trim().is_empty()),
        "--unit must name a unit"
    );
    println!("{}", issuer.issue(&subject, &roles, &stations, args.ttl)?);
    Ok(())
}

async fn admin_client(
    client: &ClientArgs,
) -> anyhow::Result<
    EventAdminServiceClient<
        tonic::service::interceptor::InterceptedService<
            tonic::transport::Channel,
            impl tonic::service::Interceptor,
        >,
    >,
> {
    let channel = client
        .tls
        .connect(&client.endpoint, Duration::from_secs(5))
        .await?;
    let bearer = match &client.token {
        Some(token) => Some(MetadataValue::try_from(format!("Bearer {token}"))?),
        None => None,
    };
    Ok(EventAdminServiceClient::with_interceptor(
        channel,
        move |mut request: tonic::Request<()>| {
            if let Some(bearer) = &bearer {
                request
                    .metadata_mut()
                    .insert("authorization", bearer.clone());
            }
            Ok(request)
        },
    ))
}

/// Runs an events command.
pub async fn events(command: EventsCommand) -> anyhow::Result<()> {
    match command {
        EventsCommand::DeadLetters {
            service,
            destination,
            client,
        } => {
            let mut admin = admin_client(&client).await?;
            let mut page_token = String::new();
            let mut total = 0;
            loop {
                let page = admin
                    .list_dead_letters(ListDeadLettersRequest {
                        service: service.short_name().to_owned(),
                        destination: destination.clone().unwrap_or_default(),
                        page_size: 200,
                        page_token: page_token.clone(),
                    })
                    .await?
                    .into_inner();
                for letter in &page.dead_letters {
                    let event = letter.event.clone().unwrap_or_default();
                    println!(
                        "{}\t{}\t{}\t→ {}\tattempts={}\t{}",
                        event.event_id,
                        event.event_type,
                        event.aggregate_id,
                        letter.destination,
                        letter.attempts,
                        letter.last_error
                    );
                }
                total += page.dead_letters.len();
                if page.next_page_token.is_empty() {
                    break;
                }
                page_token = page.next_page_token;
            }
            eprintln!(
                "{total} dead letter(s) in the outbox of {}",
                service.short_name()
            );
        }
        EventsCommand::Redrive {
            service,
            event_ids,
            all,
            destination,
            client,
        } => {
            anyhow::ensure!(
                all || !event_ids.is_empty(),
                "give --event-id (repeatable) or --all"
            );
            let mut admin = admin_client(&client).await?;
            let answer = admin
                .redrive_dead_letters(RedriveDeadLettersRequest {
                    request_id: uuid::Uuid::now_v7().to_string(),
                    service: service.short_name().to_owned(),
                    event_ids,
                    all,
                    destination: destination.unwrap_or_default(),
                })
                .await?
                .into_inner();
            println!("{} delivery(ies) queued again", answer.redriven);
        }
        EventsCommand::Stats { service, client } => {
            let mut admin = admin_client(&client).await?;
            let stats = admin
                .get_outbox_stats(GetOutboxStatsRequest {
                    service: service.short_name().to_owned(),
                })
                .await?
                .into_inner();
            println!(
                "pending={} oldest_pending_seconds={:.1} dead={} delivered={}",
                stats.pending, stats.oldest_pending_seconds, stats.dead, stats.delivered
            );
        }
    }
    Ok(())
}
