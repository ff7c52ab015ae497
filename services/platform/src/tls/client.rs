//! The client side: calls to `https://` peers through a rustls config (CA and the service's own
//! certificate) rebuilt when its files change, so each new connection uses the current ones.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper_util::rt::TokioIo;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use super::files::{Reloading, load_certs, load_key, load_roots};
use super::{TlsArgs, TlsError, provider};

/// TLS for outbound calls: the CA peers are checked against, the identity presented to them.
#[derive(Debug, Clone)]
pub struct ClientTls {
    config: Arc<Reloading<rustls::ClientConfig>>,
}

fn client_config(
    ca: &std::path::Path,
    identity: Option<(&std::path::Path, &std::path::Path)>,
) -> Result<rustls::ClientConfig, TlsError> {
    let roots = load_roots(ca)?;
    let builder = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots);
    let mut config = match identity {
        Some((cert, key)) => builder.with_client_auth_cert(load_certs(cert)?, load_key(key)?)?,
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(config)
}

impl ClientTls {
    /// Trusts the CA bundle `ca` and presents `identity` (certificate, key) when given.
    pub fn new(
        ca: &std::path::Path,
        identity: Option<(&std::path::Path, &std::path::Path)>,
        reload_interval: Duration,
    ) -> Result<Self, TlsError> {
        let ca = ca.to_owned();
        let identity = identity.map(|(cert, key)| (cert.to_owned(), key.to_owned()));
        let mut paths = vec![ca.clone()];
        if let Some((cert, key)) = &identity {
            paths.extend([cert.clone(), key.clone()]);
        }
        let config = Reloading::new("client", paths, move || {
            client_config(
                &ca,
                identity
                    .as_ref()
                    .map(|(cert, key)| (cert.as_path(), key.as_path())),
            )
        })?;
        config.watch(reload_interval);
        Ok(Self { config })
    }

    /// The client TLS of a process: None unless a CA for peers is set (--tls-ca or
    /// --tls-client-ca); presents --tls-client-cert (else --tls-cert) when set.
    pub fn from_args(args: &TlsArgs) -> Result<Option<Self>, TlsError> {
        args.validate()?;
        let Some(ca) = args.peer_ca() else {
            return Ok(None);
        };
        let identity = args
            .client_identity()
            .map(|(cert, key)| (cert.as_path(), key.as_path()));
        Self::new(ca, identity, args.reload_interval).map(Some)
    }

    /// The rustls config new connections get now.
    pub fn reloading(&self) -> &Arc<Reloading<rustls::ClientConfig>> {
        &self.config
    }

    /// A lazily connected channel to the `https://` URL `url` through this TLS.
    pub fn endpoint(&self, url: &str) -> Result<(tonic::transport::Endpoint, Connector), TlsError> {
        let plain = url
            .strip_prefix("https://")
            .ok_or_else(|| TlsError::Settings(format!("{url} is not an https:// URL")))?;
        // The connector does TLS itself: tonic sees a plain URL.
        let endpoint = tonic::transport::Endpoint::from_shared(format!("http://{plain}"))
            .map_err(|err| TlsError::Settings(format!("invalid url {url}: {err}")))?;
        Ok((
            endpoint,
            Connector {
                tls: self.clone(),
                connect_timeout: Duration::from_secs(3),
            },
        ))
    }

    async fn connect(
        &self,
        host: &str,
        port: u16,
        timeout: Duration,
    ) -> Result<TlsStream<TcpStream>, BoxError> {
        let tcp = tokio::time::timeout(timeout, TcpStream::connect((host, port)))
            .await
            .map_err(|_| format!("connecting to {host}:{port} timed out"))??;
        tcp.set_nodelay(true)?;
        let name =
            ServerName::try_from(host.trim_start_matches('[').trim_end_matches(']'))?.to_owned();
        let connector = TlsConnector::from(self.config.current());
        let tls = tokio::time::timeout(timeout, connector.connect(name, tcp))
            .await
            .map_err(|_| format!("tls handshake with {host}:{port} timed out"))??;
        Ok(tls)
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Opens TCP then TLS to the URI's host for tonic (`connect_with_connector_lazy`).
#[derive(Debug, Clone)]
pub struct Connector {
    tls: ClientTls,
    connect_timeout: Duration,
}

impl tower::Service<http::Uri> for Connector {
    type Response = TokioIo<TlsStream<TcpStream>>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: http::Uri) -> Self::Future {
        let tls = self.tls.clone();
        let timeout = self.connect_timeout;
        Box::pin(async move {
            let host = uri.host().ok_or("url without a host")?.to_owned();
            let port = uri.port_u16().unwrap_or(443);
            Ok(TokioIo::new(tls.connect(&host, port, timeout).await?))
        })
    }
}

/// The certificate chain a TLS server at `host:port` presents now (a fresh connection),
/// checked against `tls`'s CA: for tests and operators watching a rotation.
pub async fn probe(
    tls: &ClientTls,
    host: &str,
    port: u16,
) -> Result<Vec<CertificateDer<'static>>, BoxError> {
    let stream = tls.connect(host, port, Duration::from_secs(5)).await?;
    let (_, session) = stream.get_ref();
    Ok(session
        .peer_certificates()
        .map(<[CertificateDer<'_>]>::to_vec)
        .unwrap_or_default()
        .into_iter()
        .map(CertificateDer::into_owned)
        .collect())
}
