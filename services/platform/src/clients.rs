//! Clients to other Pingan services: lazily connected channels that carry the trace context.

use std::collections::BTreeMap;
use std::time::Duration;

use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};

use crate::error::ApiError;
use crate::trace_context::TraceInterceptor;

/// A channel to a peer service that propagates the current trace on every call.
pub type TracedChannel = InterceptedService<Channel, TraceInterceptor>;

/// A lazily connected, traced channel to `url` (connects on first use, reconnects on failure).
pub fn traced_channel(url: &str) -> Result<TracedChannel, ApiError> {
    let endpoint = Endpoint::from_shared(url.to_owned())
        .map_err(|err| ApiError::Unavailable(format!("invalid peer url {url}: {err}")))?
        .connect_timeout(Duration::from_secs(3))
        .tcp_nodelay(true)
        .http2_keep_alive_interval(Duration::from_secs(30))
        .keep_alive_while_idle(true);
    Ok(InterceptedService::new(
        endpoint.connect_lazy(),
        TraceInterceptor,
    ))
}

/// The peer services this process may call, by name (`intake`, `triage`, ...).
#[derive(Debug, Clone, Default)]
pub struct Peers {
    channels: BTreeMap<String, TracedChannel>,
}

impl Peers {
    /// Channels for every `name → url`.
    pub fn new(urls: &BTreeMap<String, String>) -> Result<Self, ApiError> {
        let channels = urls
            .iter()
            .map(|(name, url)| Ok((name.clone(), traced_channel(url)?)))
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
