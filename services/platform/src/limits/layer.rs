//! The tower layer that applies the [`Guard`] to every call of a server.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use tonic::body::Body;
use tonic::metadata::MetadataMap;
use tonic::transport::server::TcpConnectInfo;

use super::Guard;
use crate::auth::ServiceCalls;

/// Paths never limited: probes must keep answering whoever calls them.
const UNGUARDED: [&str; 3] = [
    "/grpc.health.v1.Health/",
    "/grpc.reflection.v1.ServerReflection/",
    "/grpc.reflection.v1alpha.ServerReflection/",
];

/// Applies a [`Guard`] to every call, and narrows callers with the `service` role to the calls
/// the mounted services declare ([`ServiceCalls`]).
#[derive(Debug, Clone)]
pub struct GuardLayer {
    guard: Arc<Guard>,
    service_calls: Arc<ServiceCalls>,
}

impl GuardLayer {
    /// A layer sharing `guard` between connections; `service_calls` are what services may call.
    pub fn new(guard: Arc<Guard>, service_calls: Arc<ServiceCalls>) -> Self {
        Self {
            guard,
            service_calls,
        }
    }
}

impl<S> tower::Layer<S> for GuardLayer {
    type Service = GuardService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        GuardService {
            inner,
            guard: self.guard.clone(),
            service_calls: self.service_calls.clone(),
        }
    }
}

/// See [`GuardLayer`].
#[derive(Debug, Clone)]
pub struct GuardService<S> {
    inner: S,
    guard: Arc<Guard>,
    service_calls: Arc<ServiceCalls>,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, B> tower::Service<http::Request<B>> for GuardService<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<Body>>,
    S::Future: Send + 'static,
    S::Error: 'static,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let path = request.uri().path();
        if UNGUARDED.iter().any(|prefix| path.starts_with(prefix)) {
            return Box::pin(self.inner.call(request));
        }
        let now = Instant::now();
        let source = request
            .extensions()
            .get::<TcpConnectInfo>()
            .and_then(TcpConnectInfo::remote_addr)
            .map(|addr| addr.ip());
        let metadata = MetadataMap::from_headers(request.headers().clone());
        let peer = request.extensions().get::<crate::auth::ServicePeer>();
        let checked = match self.guard.caller_with_peer(&metadata, peer) {
            Some(caller) => self
                .guard
                .check_service_call(&self.service_calls, &caller, path, now)
                .and_then(|()| self.guard.admit(&caller, now)),
            None => source.map_or(Ok(()), |source| self.guard.check_source(source, now)),
        };
        if let Err(refusal) = checked {
            let response = refusal.to_status().into_http();
            return Box::pin(async move { Ok(response) });
        }
        let guard = self.guard.clone();
        let future = self.inner.call(request);
        Box::pin(async move {
            let result = future.await;
            if let (Ok(response), Some(source)) = (&result, source) {
                let status = response.headers().get("grpc-status");
                // Unauthenticated (16) answers are trailers-only: the code is in the headers.
                if status.is_some_and(|code| code.as_bytes() == b"16") {
                    guard.failed(source, Instant::now());
                }
            }
            result
        })
    }
}
