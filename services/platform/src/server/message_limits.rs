//! Explicit limits on what one call may carry, for every service of a host at once: the size
//! of one request message, the size of one response message, and the number of messages in
//! one request stream. The gRPC length prefix of each message is read as bytes arrive, so an
//! oversized message is refused before it is buffered: RESOURCE_EXHAUSTED, never a crash.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use clap::Args;
use http_body::Frame;
use tonic::Status;
use tonic::body::Body;

/// Message limits of the gRPC server.
#[derive(Debug, Clone, Copy, Args)]
pub struct MessageLimits {
    /// Largest request message accepted (bytes).
    #[arg(
        long = "max-request-message-bytes",
        env = "PINGAN_MAX_REQUEST_MESSAGE_BYTES",
        default_value_t = 4 * 1024 * 1024
    )]
    pub max_request_message: usize,
    /// Largest response message sent (bytes); a larger one ends the call RESOURCE_EXHAUSTED.
    #[arg(
        long = "max-response-message-bytes",
        env = "PINGAN_MAX_RESPONSE_MESSAGE_BYTES",
        default_value_t = 16 * 1024 * 1024
    )]
    pub max_response_message: usize,
    /// Most messages one request stream may send (position reports, uploads).
    #[arg(
        long = "max-stream-messages",
        env = "PINGAN_MAX_STREAM_MESSAGES",
        default_value_t = 100_000
    )]
    pub max_stream_messages: u64,
}

impl Default for MessageLimits {
    fn default() -> Self {
        Self {
            max_request_message: 4 * 1024 * 1024,
            max_response_message: 16 * 1024 * 1024,
            max_stream_messages: 100_000,
        }
    }
}

/// Applies [`MessageLimits`] to every call.
#[derive(Debug, Clone, Copy)]
pub struct MessageLimitsLayer(pub MessageLimits);

impl<S> tower::Layer<S> for MessageLimitsLayer {
    type Service = MessageLimitsService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        MessageLimitsService {
            inner,
            limits: self.0,
        }
    }
}

/// See [`MessageLimitsLayer`].
#[derive(Debug, Clone)]
pub struct MessageLimitsService<S> {
    inner: S,
    limits: MessageLimits,
}

impl<S, ResBody> tower::Service<http::Request<Body>> for MessageLimitsService<S>
where
    S: tower::Service<http::Request<Body>, Response = http::Response<ResBody>>,
    S::Future: Send + 'static,
    ResBody: http_body::Body<Data = Bytes> + Send + Unpin + 'static,
    ResBody::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = futures::future::BoxFuture<'static, Result<Self::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let limits = self.limits;
        let request = request.map(|body| {
            Body::new(Limited::new(
                body,
                limits.max_request_message,
                limits.max_stream_messages,
                Side::Request,
            ))
        });
        let future = self.inner.call(request);
        Box::pin(async move {
            let response = future.await?;
            Ok(response.map(|body| {
                Body::new(Limited::new(
                    body,
                    limits.max_response_message,
                    u64::MAX,
                    Side::Response,
                ))
            }))
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Request,
    Response,
}

/// Where the scanner is in the gRPC framing: collecting a 5-byte prefix, or skipping a body.
#[derive(Debug)]
struct Framing {
    prefix: [u8; 5],
    prefix_len: usize,
    remaining: usize,
    messages: u64,
}

/// A body whose gRPC messages are checked against the limits as they pass.
struct Limited<B> {
    inner: B,
    max_message: usize,
    max_messages: u64,
    side: Side,
    framing: Framing,
    done: bool,
}

impl<B> Limited<B> {
    fn new(inner: B, max_message: usize, max_messages: u64, side: Side) -> Self {
        Self {
            inner,
            max_message,
            max_messages,
            side,
            framing: Framing {
                prefix: [0; 5],
                prefix_len: 0,
                remaining: 0,
                messages: 0,
            },
            done: false,
        }
    }

    /// Scans a chunk; the limit a message breaks, if any.
    fn scan(&mut self, mut chunk: &[u8]) -> Result<(), Status> {
        let f = &mut self.framing;
        while !chunk.is_empty() {
            if f.remaining > 0 {
                let skip = f.remaining.min(chunk.len());
                f.remaining -= skip;
                chunk.advance(skip);
                continue;
            }
            let take = (5 - f.prefix_len).min(chunk.len());
            f.prefix[f.prefix_len..f.prefix_len + take].copy_from_slice(&chunk[..take]);
            f.prefix_len += take;
            chunk.advance(take);
            if f.prefix_len < 5 {
                break;
            }
            f.prefix_len = 0;
            let len = u32::from_be_bytes([f.prefix[1], f.prefix[2], f.prefix[3], f.prefix[4]]);
            let len = usize::try_from(len).unwrap_or(usize::MAX);
            f.messages += 1;
            let what = match self.side {
                Side::Request => "request",
                Side::Response => "response",
            };
            if len > self.max_message {
                return Err(Status::resource_exhausted(format!(
                    "{what} message of {len} bytes exceeds the limit of {} bytes",
                    self.max_message
                )));
            }
            if f.messages > self.max_messages {
                return Err(Status::resource_exhausted(format!(
                    "{what} stream exceeds the limit of {} messages",
                    self.max_messages
                )));
            }
            f.remaining = len;
        }
        Ok(())
    }
}

impl<B> http_body::Body for Limited<B>
where
    B: http_body::Body<Data = Bytes> + Unpin,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        if self.done {
            return Poll::Ready(None);
        }
        let frame = match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(None) => return Poll::Ready(None),
            Poll::Ready(Some(Err(err))) => {
                return Poll::Ready(Some(Err(Status::from_error(err.into()))));
            }
            Poll::Ready(Some(Ok(frame))) => frame,
        };
        let Some(data) = frame.data_ref() else {
            return Poll::Ready(Some(Ok(frame)));
        };
        match self.scan(data) {
            Ok(()) => Poll::Ready(Some(Ok(frame))),
            Err(status) => {
                self.done = true;
                tracing::warn!(code = ?status.code(), message = status.message(), "message limit");
                match self.side {
                    // The handler's decoder gets the status and answers with it.
                    Side::Request => Poll::Ready(Some(Err(status))),
                    // Headers are out: end the response with the status in its trailers.
                    Side::Response => {
                        let mut trailers = http::HeaderMap::new();
                        match status.add_header(&mut trailers) {
                            Ok(()) => Poll::Ready(Some(Ok(Frame::trailers(trailers)))),
                            Err(status) => Poll::Ready(Some(Err(status))),
                        }
                    }
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.done || self.inner.is_end_stream()
    }
}
