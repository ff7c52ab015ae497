//! Fail fast while a dependency is down: a service whose health is NOT_SERVING because its
//! database or Redis does not answer ([`DependencyState`]) answers every call at once with
//! UNAVAILABLE, a message naming the dependency and a `RetryInfo` detail (retry after about one
//! health interval), instead of letting each call wait for a pool connection that will not come.
//! Health and reflection are not services with dependencies, so they always pass.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tonic::body::Body;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::health::DependencyState;

/// Answers the calls of a service whose dependency is down (see the module docs).
#[derive(Debug, Clone)]
pub struct FailFastLayer {
    state: DependencyState,
    retry_after: Duration,
}

impl FailFastLayer {
    /// Rejects calls to the services `state` marks as waiting for a dependency, telling clients
    /// to retry after `retry_after` (the health interval: when health can next turn SERVING).
    pub fn new(state: DependencyState, retry_after: Duration) -> Self {
        Self { state, retry_after }
    }
}

impl<S> tower::Layer<S> for FailFastLayer {
    type Service = FailFast<S>;

    fn layer(&self, inner: S) -> Self::Service {
        FailFast {
            inner,
            state: self.state.clone(),
            retry_after: self.retry_after,
        }
    }
}

/// See [`FailFastLayer`].
#[derive(Debug, Clone)]
pub struct FailFast<S> {
    inner: S,
    state: DependencyState,
    retry_after: Duration,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, B> tower::Service<http::Request<B>> for FailFast<S>
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
        let down = grpc_service(request.uri().path()).and_then(|name| self.state.down(name));
        if let Some(dependency) = down {
            let response = unavailable(dependency, self.retry_after).into_http();
            return Box::pin(async move { Ok(response) });
        }
        Box::pin(self.inner.call(request))
    }
}

/// The gRPC service of a call path `/package.Service/Method`.
fn grpc_service(path: &str) -> Option<&str> {
    let mut parts = path.strip_prefix('/')?.splitn(2, '/');
    let service = parts.next()?;
    parts.next()?;
    Some(service)
}

/// UNAVAILABLE naming the dependency, with a retry delay.
pub fn unavailable(dependency: &str, retry_after: Duration) -> Status {
    tracing::debug!(dependency, "call refused at once: dependency unavailable");
    Status::with_error_details(
        Code::Unavailable,
        format!("{dependency} unavailable: service not serving until it answers again"),
        ErrorDetails::with_retry_info(Some(retry_after)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::convert::Infallible;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tower::{Layer as _, ServiceExt as _};

    /// A service that counts the calls reaching it and answers OK.
    #[derive(Clone, Default)]
    struct Counting(Arc<AtomicUsize>);

    impl tower::Service<http::Request<Body>> for Counting {
        type Response = http::Response<Body>;
        type Error = Infallible;
        type Future = BoxFuture<Result<Self::Response, Infallible>>;

        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, _: http::Request<Body>) -> Self::Future {
            self.0.fetch_add(1, Ordering::SeqCst);
            Box::pin(async { Ok(Status::ok("").into_http()) })
        }
    }

    fn request(path: &str) -> http::Request<Body> {
        http::Request::builder()
            .uri(format!("http://localhost{path}"))
            .body(Body::empty())
            .expect("request")
    }

    const INTAKE: &str = "pingan.intake.v1.IntakeService";

    #[tokio::test]
    async fn a_service_waiting_for_its_database_answers_unavailable_at_once_with_retry_info() {
        let state = DependencyState::default();
        let reached = Counting::default();
        let service =
            FailFastLayer::new(state.clone(), Duration::from_secs(5)).layer(reached.clone());

        let passed = service
            .clone()
            .oneshot(request(&format!("/{INTAKE}/ReportCall")))
            .await
            .expect("answer");
        assert_eq!(
            reached.0.load(Ordering::SeqCst),
            1,
            "serving: the call goes on"
        );
        assert_eq!(
            Status::from_header_map(passed.headers()).map(|s| s.code()),
            Some(Code::Ok)
        );

        state.set(INTAKE, Some("database"));
        let started = std::time::Instant::now();
        let refused = service
            .clone()
            .oneshot(request(&format!("/{INTAKE}/ReportCall")))
            .await
            .expect("answer");
        assert!(started.elapsed() < Duration::from_millis(100));
        assert_eq!(
            reached.0.load(Ordering::SeqCst),
            1,
            "refused before the service"
        );
        let status = Status::from_header_map(refused.headers()).expect("grpc status in headers");
        assert_eq!(status.code(), Code::Unavailable);
        assert!(
            status.message().contains("database"),
            "{}",
            status.message()
        );
        let retry = status.get_details_retry_info().expect("retry info");
        assert_eq!(retry.retry_delay, Some(Duration::from_secs(5)));

        state.set(INTAKE, None);
        service
            .oneshot(request(&format!("/{INTAKE}/ReportCall")))
            .await
            .expect("answer");
        assert_eq!(
            reached.0.load(Ordering::SeqCst),
            2,
            "serving again: calls pass"
        );
    }

    #[tokio::test]
    async fn health_reflection_and_other_services_always_pass() {
        let state = DependencyState::default();
        state.set(INTAKE, Some("redis"));
        let reached = Counting::default();
        let service = FailFastLayer::new(state, Duration::from_secs(1)).layer(reached.clone());
        for path in [
            "/grpc.health.v1.Health/Check",
            "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
            "/pingan.dispatch.v1.DispatchService/Dispatch",
            "/",
            "/no-method",
        ] {
            service
                .clone()
                .oneshot(request(path))
                .await
                .expect("answer");
        }
        assert_eq!(reached.0.load(Ordering::SeqCst), 5);
    }

    #[test]
    fn the_service_is_the_first_path_segment() {
        assert_eq!(grpc_service("/a.B/C"), Some("a.B"));
        assert_eq!(grpc_service("/a.B"), None);
        assert_eq!(grpc_service("a.B/C"), None);
    }
}
