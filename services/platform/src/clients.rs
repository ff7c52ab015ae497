//! Clients to other Pingan services: lazily connected channels that carry the trace context and,
//! between services, the calling service's own bearer token; `https://` peers are called over
//! TLS with the service's certificate ([`crate::tls::ClientTls`]).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tonic::metadata::MetadataValue;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};

use crate::auth::{Role, TokenIssuer};
use crate::error::ApiError;
use crate::tls::ClientTls;
use crate::trace_context;

/// How a service proves who it is to the others: a short-lived token minted per call.
#[derive(Debug, Clone)]
pub struct ServiceCredentials {
    issuer: TokenIssuer,
    subject: String,
}

impl ServiceCredentials {
    /// Credentials of the service `subject` (e.g. `intake`), signed by `issuer`.
    pub fn new(issuer: TokenIssuer, subject: &str) -> Self {
        Self {
            issuer,
            subject: subject.to_owned(),
        }
    }

    fn bearer(&self) -> Result<MetadataValue<tonic::metadata::Ascii>, tonic::Status> {
        let token = self
            .issuer
            .issue(
                &self.subject,
                &[Role::Service],
                &[],
                Duration::from_secs(300),
            )
            .map_err(tonic::Status::from)?;
        MetadataValue::try_from(format!("Bearer {token}"))
            .map_err(|_| tonic::Status::internal("token is not valid metadata"))
    }
}

/// Adds the trace context and, when set, the service's bearer token to every outgoing call.
#[derive(Debug, Clone, Default)]
pub struct OutboundInterceptor {
    credentials: Option<Arc<ServiceCredentials>>,
}

impl tonic::service::Interceptor for OutboundInterceptor {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        trace_context::inject_current(request.metadata_mut());
        if let Some(credentials) = &self.credentials {
            request
                .metadata_mut()
                .insert("authorization", credentials.bearer()?);
        }
        Ok(request)
    }
}

/// A channel to a peer service that propagates the current trace (and credentials) on every call.
pub type TracedChannel = InterceptedService<Channel, OutboundInterceptor>;

/// A lazily connected, traced channel to `url` without credentials.
pub fn traced_channel(url: &str) -> Result<TracedChannel, ApiError> {
    channel_with(url, None, None)
}

/// A lazily connected, traced channel to `url`, over `tls` when the URL is `https://`.
pub fn traced_channel_tls(url: &str, tls: Option<&ClientTls>) -> Result<TracedChannel, ApiError> {
    channel_with(url, None, tls)
}

/// A lazily connected channel to `url` (connects on first use, reconnects on failure).
fn channel_with(
    url: &str,
    credentials: Option<Arc<ServiceCredentials>>,
    tls: Option<&ClientTls>,
) -> Result<TracedChannel, ApiError> {
    let tune = |endpoint: Endpoint| {
        endpoint
            .connect_timeout(Duration::from_secs(3))
            .tcp_nodelay(true)
            .http2_keep_alive_interval(Duration::from_secs(30))
            .keep_alive_while_idle(true)
    };
    let channel = if url.starts_with("https://") {
        let tls = tls.ok_or_else(|| {
            ApiError::Unavailable(format!(
                "peer url {url} is https but no CA is configured to check it (--tls-ca or --tls-client-ca)"
            ))
        })?;
        let (endpoint, connector) = tls
            .endpoint(url)
            .map_err(|err| ApiError::Unavailable(format!("invalid peer url {url}: {err}")))?;
        tune(endpoint).connect_with_connector_lazy(connector)
    } else {
        let endpoint = Endpoint::from_shared(url.to_owned())
            .map_err(|err| ApiError::Unavailable(format!("invalid peer url {url}: {err}")))?;
        tune(endpoint).connect_lazy()
    };
    Ok(InterceptedService::new(
        channel,
        OutboundInterceptor { credentials },
    ))
}

/// The peer services this process may call, by name (`intake`, `triage`, ...).
#[derive(Debug, Clone, Default)]
pub struct Peers {
    channels: BTreeMap<String, TracedChannel>,
}

impl Peers {
    /// Channels for every `name → url`, calling as the service `credentials` name.
    pub fn new(
        urls: &BTreeMap<String, String>,
        credentials: Option<ServiceCredentials>,
    ) -> Result<Self, ApiError> {
        Self::with_tls(urls, credentials, None)
    }

    /// Like [`Peers::new`], calling `https://` peers over `tls` (mutual TLS when it carries the
    /// service's certificate: the peer then knows the caller without its token).
    pub fn with_tls(
        urls: &BTreeMap<String, String>,
        credentials: Option<ServiceCredentials>,
        tls: Option<&ClientTls>,
    ) -> Result<Self, ApiError> {
        let credentials = credentials.map(Arc::new);
        let channels = urls
            .iter()
            .map(|(name, url)| Ok((name.clone(), channel_with(url, credentials.clone(), tls)?)))
            .collect::<Result<_, ApiError>>()?;
        Ok(Self { channels })
    }

    /// The channel to `name`; UNAVAILABLE when no endpoint is configured for it.
    pub fn channel(&self, name: &str) -> Result<TracedChannel, ApiError> {
        self.channels
            .get(name)
            .cloned()
            .ok_or_else(|| ApiError::Unavailable(format!("no endpoint configured for peer {name}")))
    }
}
