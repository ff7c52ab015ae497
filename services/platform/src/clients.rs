//! Clients to other Pingan services: lazily connected channels that carry the trace context and,
//! between services, the calling service's own bearer token; `https://` peers are called over
//! TLS with the service's certificate ([`crate::tls::ClientTls`]). Every outgoing call runs in
//! a `grpc.client` span (kind CLIENT, `rpc.system`, `rpc.service`, `rpc.method`,
//! `rpc.grpc.status_code`; error status for any code but OK) whose context is the one injected.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::Frame;
use tracing::Instrument;

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

/// A channel to a peer service that runs every call in a client span and propagates it (and
/// the credentials) to the peer.
pub type TracedChannel = ClientSpans<InterceptedService<Channel, OutboundInterceptor>>;

/// Wraps a gRPC channel so that each call runs in its own `grpc.client` span: the span is current
/// while the request is built (the interceptor injects its context), and ends when the response
/// body is dropped, with the call's `grpc-status` (from the trailers, or the headers of a
/// trailers-only answer; UNAVAILABLE when no answer came).
#[derive(Debug, Clone)]
pub struct ClientSpans<S> {
    inner: S,
}

impl<S> ClientSpans<S> {
    /// Client spans around `inner`.
    pub fn new(inner: S) -> Self {
        Self { inner }
    }
}

/// The span of one outgoing call to `path` (`/package.Service/Method`).
pub fn client_span(path: &str) -> tracing::Span {
    let path = path.trim_start_matches('/');
    let (service, method) = path.split_once('/').unwrap_or((path, ""));
    tracing::info_span!(
        "grpc.client",
        otel.name = %path,
        otel.kind = "client",
        rpc.system = "grpc",
        rpc.service = %service,
        rpc.method = %method,
        rpc.grpc.status_code = tracing::field::Empty,
        otel.status_code = tracing::field::Empty,
    )
}

/// Records the call's gRPC status on its client span (any code but OK is an error for a client).
fn record_status(span: &tracing::Span, code: i64) {
    span.record("rpc.grpc.status_code", code);
    if code != 0 {
        span.record("otel.status_code", "error");
    }
}

/// The `grpc-status` of a header or trailer map, when it carries one.
fn grpc_status(headers: &http::HeaderMap) -> Option<i64> {
    headers
        .get("grpc-status")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse().ok())
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, ReqBody, ResBody> tower::Service<http::Request<ReqBody>> for ClientSpans<S>
where
    S: tower::Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ResBody: http_body::Body<Data = Bytes> + Unpin + Send + 'static,
{
    type Response = http::Response<SpannedBody<ResBody>>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        let span = client_span(request.uri().path());
        // Current while the interceptor runs: the peer continues this span, not its parent.
        let future = span.in_scope(|| self.inner.call(request));
        let answer_span = span.clone();
        Box::pin(
            async move {
                match future.await {
                    Ok(response) => {
                        let status = grpc_status(response.headers());
                        if let Some(code) = status {
                            record_status(&answer_span, code);
                        }
                        Ok(response.map(|body| SpannedBody {
                            inner: body,
                            span: Some(answer_span),
                            recorded: status.is_some(),
                        }))
                    }
                    Err(err) => {
                        record_status(&answer_span, tonic::Code::Unavailable as i64);
                        Err(err)
                    }
                }
            }
            .instrument(span),
        )
    }
}

/// A response body that keeps its call's client span open until it is read to the end (or
/// dropped), recording the `grpc-status` of the trailers.
#[derive(Debug)]
pub struct SpannedBody<B> {
    inner: B,
    span: Option<tracing::Span>,
    recorded: bool,
}

impl<B> SpannedBody<B> {
    fn finish(&mut self, code: Option<i64>) {
        // Taken either way: the span ends here.
        if let Some(span) = self.span.take()
            && !self.recorded
        {
            // A stream that ends without trailers was cut off.
            record_status(&span, code.unwrap_or(tonic::Code::Unavailable as i64));
            self.recorded = true;
        }
    }
}

impl<B> Drop for SpannedBody<B> {
    fn drop(&mut self) {
        // Dropped before its trailers: the caller gave the call up.
        self.finish(Some(tonic::Code::Cancelled as i64));
    }
}

impl<B> http_body::Body for SpannedBody<B>
where
    B: http_body::Body<Data = Bytes> + Unpin,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(trailers) = frame.trailers_ref() {
                    let code = grpc_status(trailers);
                    self.finish(code);
                }
            }
            Poll::Ready(Some(Err(_))) => self.finish(Some(tonic::Code::Unavailable as i64)),
            Poll::Ready(None) => self.finish(None),
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

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
    Ok(ClientSpans::new(InterceptedService::new(
        channel,
        OutboundInterceptor { credentials },
    )))
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
