//! `pingan certs dev`: a local CA and a server and a client certificate per service, for tests,
//! a laptop and the Helm chart (file names in `pingan_platform::tls::certs`).

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::ServiceKind;

/// Certificate commands.
#[derive(Debug, Subcommand)]
pub enum CertsCommand {
    /// Make (or reuse) a local CA in DIR and fresh certificates for every service: DIR/ca.pem,
    /// DIR/<service>.pem + -key.pem (server), DIR/<service>-client.pem + -client-key.pem.
    Dev(DevCertsArgs),
}

/// `pingan certs dev`.
#[derive(Debug, Args)]
pub struct DevCertsArgs {
    /// Where the files are written (created if missing; an existing CA there is reused).
    #[arg(long)]
    pub out: PathBuf,
    /// Only these services (all six when none is given).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub services: Vec<ServiceKind>,
    /// More names or addresses the server certificates are valid for (e.g. a load balancer's).
    #[arg(long = "host", value_delimiter = ',')]
    pub hosts: Vec<String>,
}

/// Runs a certificate command, printing the files written.
pub fn run(command: CertsCommand) -> anyhow::Result<()> {
    let CertsCommand::Dev(args) = command;
    let kinds: &[ServiceKind] = if args.services.is_empty() {
        &ServiceKind::ALL
    } else {
        &args.services
    };
    let names: Vec<String> = kinds.iter().map(|k| k.short_name().to_owned()).collect();
    let generated = pingan_platform::tls::certs::generate(&args.out, &names, &args.hosts)?;
    if generated.reused_ca {
        println!("reused the CA in {}", args.out.display());
    }
    for file in &generated.files {
        println!("{}", file.display());
    }
    Ok(())
}
