//! `rediss://` settings: the CA that signed the Redis server's certificate and, for a server
//! that requires one (`tls-auth-clients yes`), the client certificate this process presents.
//! Read once at start and checked there, so a wrong path stops the process naming its flag.

use std::path::{Path, PathBuf};

use clap::Args;

use super::TlsError;
use super::files::{load_certs, load_key};
use crate::redis_store::RedisTls;

/// How this process reaches a Redis over TLS (field names are the flags' ids: a server
/// command also has the gRPC TLS flags).
#[derive(Debug, Clone, Default, Args)]
pub struct RedisTlsArgs {
    /// CA certificate (PEM) that signed the Redis server's certificate; requires a
    /// `rediss://` Redis URL (without it, `rediss://` trusts the system's roots).
    #[arg(long = "redis-ca", env = "PINGAN_REDIS_CA")]
    pub redis_ca: Option<PathBuf>,
    /// Client certificate (PEM) presented to a Redis that requires one.
    #[arg(
        long = "redis-client-cert",
        env = "PINGAN_REDIS_CLIENT_CERT",
        requires = "redis_client_key"
    )]
    pub redis_client_cert: Option<PathBuf>,
    /// Its private key (PEM).
    #[arg(
        long = "redis-client-key",
        env = "PINGAN_REDIS_CLIENT_KEY",
        requires = "redis_client_cert"
    )]
    pub redis_client_key: Option<PathBuf>,
}

impl RedisTlsArgs {
    /// The files read and checked; None when no flag is set.
    pub fn load(&self) -> Result<Option<RedisTls>, TlsError> {
        if self.redis_ca.is_none()
            && self.redis_client_cert.is_none()
            && self.redis_client_key.is_none()
        {
            return Ok(None);
        }
        let ca_pem = match &self.redis_ca {
            Some(path) => {
                load_certs(path)?;
                Some(read(path, "--redis-ca")?)
            }
            None => None,
        };
        let client = match (&self.redis_client_cert, &self.redis_client_key) {
            (Some(cert), Some(key)) => {
                load_certs(cert)?;
                load_key(key)?;
                Some((
                    read(cert, "--redis-client-cert")?,
                    read(key, "--redis-client-key")?,
                ))
            }
            (None, None) => None,
            _ => {
                return Err(TlsError::Settings(
                    "--redis-client-cert and --redis-client-key go together".to_owned(),
                ));
            }
        };
        Ok(Some(RedisTls { ca_pem, client }))
    }
}

fn read(path: &Path, flag: &str) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|err| TlsError::File {
        path: path.to_owned(),
        message: format!("{flag}: {err}"),
    })
}
