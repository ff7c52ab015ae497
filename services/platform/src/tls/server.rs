//! The server side: a rustls config rebuilt when its files change, the stream of accepted TLS
//! connections tonic serves, and the layer that names the calling service from its certificate.

use std::collections::BTreeSet;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use rustls::server::WebPkiClientVerifier;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tonic::transport::server::{TcpConnectInfo, TlsConnectInfo};

use super::files::{Reloading, load_certs, load_key, load_roots};
use super::{ClientAuth, TlsArgs, TlsError, provider};
use crate::auth::ServicePeer;

/// A handshake slower than this is dropped (a client that connects and says nothing).
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The server's TLS: certificate, key and client CA, reloaded when they change.
#[derive(Debug, Clone)]
pub struct ServerTls {
    config: Arc<Reloading<rustls::ServerConfig>>,
    services: Arc<BTreeSet<String>>,
}

fn server_config(args: &TlsArgs) -> Result<rustls::ServerConfig, TlsError> {
    let (Some(cert), Some(key)) = (&args.cert, &args.key) else {
        return Err(TlsError::Settings(
            "--tls-cert and --tls-key are required".into(),
        ));
    };
    let chain = load_certs(cert)?;
    let key = load_key(key)?;
    let builder = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?;
    let builder = match &args.client_ca {
        Some(ca) => {
            let roots = Arc::new(load_roots(ca)?);
            let verifier = WebPkiClientVerifier::builder_with_provider(roots, provider());
            let verifier = match args.client_auth {
                ClientAuth::Required => verifier,
                ClientAuth::Optional => verifier.allow_unauthenticated(),
            };
            let verifier = verifier
                .build()
                .map_err(|err| TlsError::Rustls(err.to_string()))?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let mut config = builder.with_single_cert(chain, key)?;
    // gRPC is HTTP/2: clients (grpcurl, Go, tonic) ask for it by ALPN.
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(config)
}

impl ServerTls {
    /// Loads the files named by `args` (an error when TLS is off or a file is unusable) and
    /// watches them for changes.
    pub fn load(args: &TlsArgs) -> Result<Self, TlsError> {
        args.validate()?;
        let paths = [&args.cert, &args.key, &args.client_ca]
            .into_iter()
            .flatten()
            .cloned()
            .collect();
        let owned = args.clone();
        let config = Reloading::new("server", paths, move || server_config(&owned))?;
        config.watch(args.reload_interval);
        Ok(Self {
            config,
            services: Arc::new(args.service_set()),
        })
    }

    /// The rustls config new connections get now.
    pub fn reloading(&self) -> &Arc<Reloading<rustls::ServerConfig>> {
        &self.config
    }

    /// The layer that names the calling service from its client certificate.
    pub fn identity_layer(&self) -> TlsIdentityLayer {
        TlsIdentityLayer {
            services: self.services.clone(),
        }
    }

    /// TLS connections accepted on `listener` (TCP_NODELAY on, handshakes in parallel, each
    /// with the certificate current when it began).
    pub fn incoming(&self, listener: TcpListener) -> TlsIncoming {
        let (sender, receiver) = mpsc::channel(64);
        let config = self.config.clone();
        let accept = tokio::spawn(async move {
            loop {
                let (stream, peer) = match listener.accept().await {
                    Ok(accepted) => accepted,
                    Err(err) => {
                        // Out of descriptors and the like: wait rather than spin.
                        tracing::warn!(error = %err, "accepting a connection failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                if sender.is_closed() {
                    break;
                }
                // Without it every response over a segment waits ~40 ms for Nagle.
                let _ = stream.set_nodelay(true);
                let acceptor = TlsAcceptor::from(config.current());
                let sender = sender.clone();
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => {
                            let _ = sender.send(tls).await;
                        }
                        Ok(Err(err)) => {
                            tracing::debug!(%peer, error = %err, "tls handshake failed");
                        }
                        Err(_) => tracing::debug!(%peer, "tls handshake timed out"),
                    }
                });
            }
        });
        TlsIncoming { receiver, accept }
    }
}

/// The accepted TLS connections, for `serve_with_incoming`; stops accepting when dropped.
#[derive(Debug)]
pub struct TlsIncoming {
    receiver: mpsc::Receiver<TlsStream<TcpStream>>,
    accept: tokio::task::JoinHandle<()>,
}

impl Drop for TlsIncoming {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

impl futures::Stream for TlsIncoming {
    type Item = Result<TlsStream<TcpStream>, std::io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.receiver.poll_recv(cx).map(|next| next.map(Ok))
    }
}

/// Puts the TCP connection info where the rest of the server looks for it, and the calling
/// service ([`ServicePeer`]) when its verified client certificate names one of `services`.
#[derive(Debug, Clone)]
pub struct TlsIdentityLayer {
    services: Arc<BTreeSet<String>>,
}

impl<S> tower::Layer<S> for TlsIdentityLayer {
    type Service = TlsIdentity<S>;

    fn layer(&self, inner: S) -> Self::Service {
        TlsIdentity {
            inner,
            services: self.services.clone(),
        }
    }
}

/// See [`TlsIdentityLayer`].
#[derive(Debug, Clone)]
pub struct TlsIdentity<S> {
    inner: S,
    services: Arc<BTreeSet<String>>,
}

impl<S, B> tower::Service<http::Request<B>> for TlsIdentity<S>
where
    S: tower::Service<http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        // A caller cannot set extensions: only this layer names a service peer.
        request.extensions_mut().remove::<ServicePeer>();
        if let Some(info) = request
            .extensions()
            .get::<TlsConnectInfo<TcpConnectInfo>>()
            .cloned()
        {
            request.extensions_mut().insert(info.get_ref().clone());
            let service = info
                .peer_certs()
                .and_then(|certs| certs.first().and_then(|leaf| super::service_name(leaf)))
                .filter(|name| self.services.contains(name));
            if let Some(service) = service {
                request.extensions_mut().insert(ServicePeer(service));
            }
        }
        self.inner.call(request)
    }
}
