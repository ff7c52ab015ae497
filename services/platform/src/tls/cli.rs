//! The TLS flags of the client commands (`--ca`, `--cert`, `--key`) and the one way they open a
//! channel: `http://` plaintext, `https://` through rustls checked against `--ca`.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use tonic::transport::{Channel, Endpoint};

use super::{ClientTls, TlsError};

/// TLS of a client command talking to an `https://` endpoint.
#[derive(Debug, Clone, Default, Args)]
pub struct ClientTlsArgs {
    /// CA bundle (PEM) the server's certificate must chain to; needed for `https://` endpoints
    /// (`pingan certs dev` writes `ca.pem`).
    #[arg(long = "ca", env = "PINGAN_CA")]
    pub ca: Option<PathBuf>,
    /// Client certificate (PEM) for servers that require mutual TLS.
    #[arg(long = "cert", env = "PINGAN_CLIENT_CERT", requires = "key")]
    pub cert: Option<PathBuf>,
    /// Private key of --cert (PEM).
    #[arg(long = "key", env = "PINGAN_CLIENT_KEY", requires = "cert")]
    pub key: Option<PathBuf>,
}

/// Why a client channel could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ClientChannelError {
    /// The endpoint or the TLS flags are wrong (a usage error, not a network one).
    #[error("{0}")]
    Usage(String),
    /// The server could not be reached.
    #[error("connecting to {url}: {source}")]
    Connect {
        /// The endpoint.
        url: String,
        /// What the transport said.
        #[source]
        source: tonic::transport::Error,
    },
}

impl ClientTlsArgs {
    /// The rustls client for `url`: None for `http://`; for `https://` the --ca (required) and
    /// the --cert/--key identity when given.
    pub fn client_tls(&self, url: &str) -> Result<Option<ClientTls>, ClientChannelError> {
        if !url.starts_with("https://") {
            if self.ca.is_some() || self.cert.is_some() {
                return Err(ClientChannelError::Usage(format!(
                    "--ca/--cert are for https:// endpoints; {url} is plaintext"
                )));
            }
            return Ok(None);
        }
        let ca = self.ca.as_deref().ok_or_else(|| {
            ClientChannelError::Usage(format!(
                "{url} is https://: give the CA its certificate chains to with --ca (PINGAN_CA)"
            ))
        })?;
        let identity = self.cert.as_deref().zip(self.key.as_deref());
        // A command is short-lived: no need to watch the files.
        ClientTls::new(ca, identity, Duration::from_secs(3600))
            .map(Some)
            .map_err(|e: TlsError| ClientChannelError::Usage(e.to_string()))
    }

    /// An endpoint and, for `https://`, the connector that does TLS (see [`connect`](Self::connect)).
    fn endpoint(
        &self,
        url: &str,
    ) -> Result<(Endpoint, Option<super::client::Connector>), ClientChannelError> {
        match self.client_tls(url)? {
            Some(tls) => {
                let (endpoint, connector) = tls
                    .endpoint(url)
                    .map_err(|e| ClientChannelError::Usage(e.to_string()))?;
                Ok((endpoint, Some(connector)))
            }
            None => Endpoint::from_shared(url.to_owned())
                .map(|endpoint| (endpoint, None))
                .map_err(|e| ClientChannelError::Usage(format!("invalid endpoint {url}: {e}"))),
        }
    }

    /// A channel to `url`, connected now (fails fast when the server is away).
    pub async fn connect(
        &self,
        url: &str,
        connect_timeout: Duration,
    ) -> Result<Channel, ClientChannelError> {
        let (endpoint, connector) = self.endpoint(url)?;
        let endpoint = endpoint.connect_timeout(connect_timeout).tcp_nodelay(true);
        let connected = match connector {
            Some(connector) => endpoint.connect_with_connector(connector).await,
            None => endpoint.connect().await,
        };
        connected.map_err(|source| ClientChannelError::Connect {
            url: url.to_owned(),
            source,
        })
    }

    /// A channel to `url` that connects on first use and again after a failure.
    pub fn connect_lazy(
        &self,
        url: &str,
        connect_timeout: Duration,
    ) -> Result<Channel, ClientChannelError> {
        let (endpoint, connector) = self.endpoint(url)?;
        let endpoint = endpoint.connect_timeout(connect_timeout).tcp_nodelay(true);
        Ok(match connector {
            Some(connector) => endpoint.connect_with_connector_lazy(connector),
            None => endpoint.connect_lazy(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_without_a_ca_is_a_usage_error_naming_the_flag() {
        let args = ClientTlsArgs::default();
        let err = args.client_tls("https://127.0.0.1:1").err();
        assert!(matches!(&err, Some(ClientChannelError::Usage(m)) if m.contains("--ca")));
    }

    #[test]
    fn a_ca_for_a_plaintext_endpoint_is_refused() {
        let args = ClientTlsArgs {
            ca: Some("ca.pem".into()),
            ..ClientTlsArgs::default()
        };
        assert!(matches!(
            args.client_tls("http://127.0.0.1:1"),
            Err(ClientChannelError::Usage(_))
        ));
        assert!(matches!(
            ClientTlsArgs::default().client_tls("http://127.0.0.1:1"),
            Ok(None)
        ));
    }

    #[test]
    fn a_missing_ca_file_is_a_usage_error() {
        let args = ClientTlsArgs {
            ca: Some("/nonexistent/ca.pem".into()),
            ..ClientTlsArgs::default()
        };
        assert!(matches!(
            args.client_tls("https://127.0.0.1:1"),
            Err(ClientChannelError::Usage(m)) if m.contains("/nonexistent/ca.pem")
        ));
    }
}
