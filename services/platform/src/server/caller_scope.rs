//! Every call runs inside [`crate::idempotency::scope_request`], so the subject authentication
//! finds is bound to the request ids the call records.

use std::task::{Context, Poll};

use futures::future::BoxFuture;

/// Wraps an inner service so each call's future has its own caller slot.
#[derive(Debug, Clone)]
pub struct CallerScope<S>(pub S);

impl<S, Req> tower::Service<Req> for CallerScope<S>
where
    S: tower::Service<Req>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<S::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, request: Req) -> Self::Future {
        Box::pin(crate::idempotency::scope_request(self.0.call(request)))
    }
}
