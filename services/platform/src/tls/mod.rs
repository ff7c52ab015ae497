//! TLS (rustls, ring) for every gRPC server and client: the server's certificate and key, mutual
//! TLS between Pingan services (the calling service named by its client certificate), files
//! reloaded on change without a restart, and the local CA `pingan certs dev` makes.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};

pub mod certs;
mod cli;
mod client;
mod files;
mod identity;
mod redis_args;
mod server;

pub use cli::{ClientChannelError, ClientTlsArgs};
pub use client::{ClientTls, probe};
pub use files::Reloading;
pub use files::load_certs as read_certificates;
pub use identity::{CertificateInfo, describe, service_name};
pub use redis_args::RedisTlsArgs;
pub use server::{ServerTls, TlsIdentityLayer, TlsIncoming};

/// The services a client certificate may name by default: Pingan's six.
pub const DEFAULT_SERVICE_NAMES: &str =
    "intake,triage,dispatch,grid-registry,case-followup,complaints-audit";

/// Errors of TLS settings and files.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TlsError {
    /// A certificate, key or CA file could not be read or holds nothing usable.
    #[error("tls file {path}: {message}")]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The settings do not go together.
    #[error("tls settings: {0}")]
    Settings(String),
    /// rustls refused the material.
    #[error("tls: {0}")]
    Rustls(String),
    /// A certificate could not be generated or written.
    #[error("certificates: {0}")]
    Generate(String),
}

impl From<rustls::Error> for TlsError {
    fn from(err: rustls::Error) -> Self {
        Self::Rustls(err.to_string())
    }
}

/// Whether a server with `--tls-client-ca` insists on a client certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum ClientAuth {
    /// Every client presents a certificate signed by the client CA (service-only listeners).
    #[default]
    Required,
    /// Clients may present one (services) or not (people's consoles, with a bearer token).
    Optional,
}

/// TLS settings of a process (flags, `PINGAN_TLS_*`, or the `[server]` table of the config file).
#[derive(Debug, Clone, Args)]
pub struct TlsArgs {
    /// Server certificate chain (PEM); TLS is on when this and --tls-key are set.
    #[arg(id = "tls_cert", long = "tls-cert", env = "PINGAN_TLS_CERT")]
    pub cert: Option<PathBuf>,
    /// Server private key (PEM, PKCS#8, PKCS#1 or SEC1).
    #[arg(id = "tls_key", long = "tls-key", env = "PINGAN_TLS_KEY")]
    pub key: Option<PathBuf>,
    /// CA bundle (PEM) that client certificates must chain to: mutual TLS.
    #[arg(
        id = "tls_client_ca",
        long = "tls-client-ca",
        env = "PINGAN_TLS_CLIENT_CA"
    )]
    pub client_ca: Option<PathBuf>,
    /// With --tls-client-ca: refuse clients without a certificate (`required`) or let them in
    /// to authenticate with a bearer token (`optional`).
    #[arg(
        id = "tls_client_auth",
        long = "tls-client-auth",
        env = "PINGAN_TLS_CLIENT_AUTH",
        value_enum,
        default_value = "required"
    )]
    pub client_auth: ClientAuth,
    /// CA bundle (PEM) the peers' server certificates are checked against on outbound calls
    /// to `https://` peers (default: --tls-client-ca).
    #[arg(id = "tls_ca", long = "tls-ca", env = "PINGAN_TLS_CA")]
    pub ca: Option<PathBuf>,
    /// Client certificate presented to peers (default: --tls-cert).
    #[arg(
        id = "tls_client_cert",
        long = "tls-client-cert",
        env = "PINGAN_TLS_CLIENT_CERT"
    )]
    pub client_cert: Option<PathBuf>,
    /// Client key presented to peers (default: --tls-key).
    #[arg(
        id = "tls_client_key",
        long = "tls-client-key",
        env = "PINGAN_TLS_CLIENT_KEY"
    )]
    pub client_key: Option<PathBuf>,
    /// Names a client certificate (CN, else its first DNS name) may carry to act as that
    /// service with the `service` role, without a bearer token.
    #[arg(
        id = "tls_service_names",
        long = "tls-service-names",
        env = "PINGAN_TLS_SERVICE_NAMES",
        value_delimiter = ',',
        default_value = DEFAULT_SERVICE_NAMES
    )]
    pub service_names: Vec<String>,
    /// A plaintext listener that serves only `grpc.health.v1.Health` (kubelet gRPC probes cannot
    /// speak TLS); none when unset.
    #[arg(
        id = "health_listen",
        long = "health-listen",
        env = "PINGAN_HEALTH_LISTEN"
    )]
    pub health_listen: Option<SocketAddr>,
    /// How often certificate, key and CA files are checked for changes (SIGHUP checks at once).
    #[arg(
        id = "tls_reload_interval",
        long = "tls-reload-interval", env = "PINGAN_TLS_RELOAD_INTERVAL", default_value = "5s", value_parser = crate::config::parse_duration)]
    pub reload_interval: Duration,
}

impl Default for TlsArgs {
    fn default() -> Self {
        Self {
            cert: None,
            key: None,
            client_ca: None,
            client_auth: ClientAuth::Required,
            ca: None,
            client_cert: None,
            client_key: None,
            service_names: DEFAULT_SERVICE_NAMES
                .split(',')
                .map(str::to_owned)
                .collect(),
            reload_interval: Duration::from_secs(5),
            health_listen: None,
        }
    }
}

impl TlsArgs {
    /// True when the server speaks TLS (--tls-cert and --tls-key set).
    pub fn server_enabled(&self) -> bool {
        self.cert.is_some() && self.key.is_some()
    }

    /// Checks the settings go together: cert and key both or neither, the same for the client
    /// pair, and a client CA only on a TLS server.
    pub fn validate(&self) -> Result<(), TlsError> {
        if self.cert.is_some() != self.key.is_some() {
            return Err(TlsError::Settings(
                "--tls-cert and --tls-key go together: give both or neither".into(),
            ));
        }
        if self.client_cert.is_some() != self.client_key.is_some() {
            return Err(TlsError::Settings(
                "--tls-client-cert and --tls-client-key go together: give both or neither".into(),
            ));
        }
        if self.client_ca.is_some() && !self.server_enabled() {
            return Err(TlsError::Settings(
                "--tls-client-ca needs --tls-cert and --tls-key: mutual TLS is TLS first".into(),
            ));
        }
        Ok(())
    }

    /// The service names client certificates may carry.
    pub fn service_set(&self) -> BTreeSet<String> {
        self.service_names
            .iter()
            .map(|name| name.trim().to_owned())
            .filter(|name| !name.is_empty())
            .collect()
    }

    /// The CA peers' certificates are checked against (--tls-ca, else --tls-client-ca).
    pub fn peer_ca(&self) -> Option<&PathBuf> {
        self.ca.as_ref().or(self.client_ca.as_ref())
    }

    /// The identity presented on outbound calls (the client pair, else the server's).
    pub fn client_identity(&self) -> Option<(&PathBuf, &PathBuf)> {
        match (&self.client_cert, &self.client_key) {
            (Some(cert), Some(key)) => Some((cert, key)),
            _ => self.cert.as_ref().zip(self.key.as_ref()),
        }
    }
}

/// `pingan dev` serves plaintext on loopback only: a non-loopback `listen` needs TLS.
pub fn check_dev_listen(listen: SocketAddr, tls: &TlsArgs) -> Result<(), TlsError> {
    if listen.ip().is_loopback() || tls.server_enabled() {
        return Ok(());
    }
    Err(TlsError::Settings(format!(
        "pingan dev serves plaintext on loopback only: --listen {listen} is not a loopback address; listen on 127.0.0.1 or give --tls-cert and --tls-key (pingan certs dev makes them)"
    )))
}

/// Warns loudly when a server answers in clear on an address other machines reach.
pub fn warn_if_plaintext(local: Option<SocketAddr>, tls: &TlsArgs) {
    if tls.server_enabled() {
        return;
    }
    if let Some(addr) = local.filter(|addr| !addr.ip().is_loopback()) {
        tracing::warn!(
            address = %addr,
            "PLAINTEXT gRPC on a non-loopback address: tokens, personal data and calls cross the network in clear; set --tls-cert and --tls-key (PINGAN_TLS_CERT, PINGAN_TLS_KEY)"
        );
    }
}

/// The one crypto provider of the tree (tonic, sqlx and redis use ring too).
fn provider() -> std::sync::Arc<rustls::crypto::CryptoProvider> {
    std::sync::Arc::new(rustls::crypto::ring::default_provider())
}

#[cfg(test)]
mod tests;
