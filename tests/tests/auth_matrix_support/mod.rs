//! Shared by the authorization matrix: the declared policy, station A's fixtures, one valid
//! request per RPC, and a raw gRPC caller that sends any path with any token.

pub mod doc;
pub mod fixtures;
pub mod policy;
mod policy_roles;
pub mod requests;
mod requests_grid;
pub mod stations;

use prost::Message as _;
use prost::bytes::{Buf, BufMut};
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::{Code, Status};

/// Every method of every Pingan service: (package.Service, method, client streams, server
/// streams).
pub fn rpcs() -> Vec<(String, String, bool, bool)> {
    let set = prost_types::FileDescriptorSet::decode(pingan_proto::FILE_DESCRIPTOR_SET)
        .expect("descriptor set");
    let mut rpcs = Vec::new();
    for file in set.file {
        let package = file.package().to_owned();
        // pingan.hotline is the 12345 platform's own API (Pingan calls it; it serves none of it).
        if !package.starts_with("pingan.") || package.starts_with("pingan.hotline.") {
            continue;
        }
        for service in &file.service {
            for method in &service.method {
                rpcs.push((
                    format!("{package}.{}", service.name()),
                    method.name().to_owned(),
                    method.client_streaming(),
                    method.server_streaming(),
                ));
            }
        }
    }
    rpcs
}

/// Passes message bytes through unchanged (an empty message is valid for every request type).
#[derive(Debug, Clone, Copy, Default)]
pub struct Raw;

impl Codec for Raw {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = Raw;
    type Decoder = Raw;
    fn encoder(&mut self) -> Raw {
        Raw
    }
    fn decoder(&mut self) -> Raw {
        Raw
    }
}

impl Encoder for Raw {
    type Item = Vec<u8>;
    type Error = Status;
    fn encode(&mut self, item: Vec<u8>, buf: &mut EncodeBuf<'_>) -> Result<(), Status> {
        buf.put_slice(&item);
        Ok(())
    }
}

impl Decoder for Raw {
    type Item = Vec<u8>;
    type Error = Status;
    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, Status> {
        let bytes = buf.copy_to_bytes(buf.remaining());
        Ok(Some(bytes.to_vec()))
    }
}

/// What one call answered: its code, the message of an error, and the body of a unary answer.
#[derive(Debug, Clone)]
pub struct Answer {
    pub code: Code,
    pub message: String,
    pub body: Vec<u8>,
}

/// Calls `path` with `message` and `token` (or none); OK for a stream that opened. The fail-fast
/// layer's UNAVAILABLE (a service that went NOT_SERVING for a moment on a loaded machine answers
/// before authenticating, with RetryInfo) is retried for up to 15 s, as a client would: it is
/// neither a success nor the refusal the matrix checks.
pub async fn call(
    channel: tonic::transport::Channel,
    path: &str,
    streams: (bool, bool),
    message: Vec<u8>,
    token: Option<&str>,
) -> Answer {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let answer = call_once(channel.clone(), path, streams, message.clone(), token).await;
        let not_serving =
            answer.code == Code::Unavailable && answer.message.contains("service not serving");
        if !not_serving || std::time::Instant::now() > deadline {
            return answer;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

async fn call_once(
    channel: tonic::transport::Channel,
    path: &str,
    (client_streams, server_streams): (bool, bool),
    message: Vec<u8>,
    token: Option<&str>,
) -> Answer {
    let mut grpc = tonic::client::Grpc::new(channel);
    if let Err(err) = grpc.ready().await {
        panic!("channel not ready: {err}");
    }
    let path: tonic::codegen::http::uri::PathAndQuery = path.parse().expect("path");
    fn with<T>(token: Option<&str>, mut request: tonic::Request<T>) -> tonic::Request<T> {
        if let Some(token) = token {
            request.metadata_mut().insert(
                "authorization",
                format!("Bearer {token}").parse().expect("metadata"),
            );
        }
        request
    }
    let result = match (client_streams, server_streams) {
        (false, false) => grpc
            .unary(with(token, tonic::Request::new(message)), path, Raw)
            .await
            .map(|response| response.into_inner()),
        (false, true) => grpc
            .server_streaming(with(token, tonic::Request::new(message)), path, Raw)
            .await
            .map(|_| Vec::new()),
        (true, false) => grpc
            .client_streaming(
                with(token, tonic::Request::new(tokio_stream::iter([message]))),
                path,
                Raw,
            )
            .await
            .map(|response| response.into_inner()),
        (true, true) => grpc
            .streaming(
                with(token, tonic::Request::new(tokio_stream::iter([message]))),
                path,
                Raw,
            )
            .await
            .map(|_| Vec::new()),
    };
    match result {
        Ok(body) => Answer {
            code: Code::Ok,
            message: String::new(),
            body,
        },
        Err(status) => Answer {
            code: status.code(),
            message: status.message().to_owned(),
            body: Vec::new(),
        },
    }
}
