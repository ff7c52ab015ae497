//! Every RPC of the six services (read from the descriptor set, so a new RPC is covered the day
//! it is added) × every kind of bad credential: no token, expired, signed with the wrong key,
//! for another audience, and signed by an identity-provider key the JWKS has since withdrawn.
//! Each must answer UNAUTHENTICATED — zero successes, zero other codes — on SQLite and on
//! Postgres + Redis. The identity provider's current key is accepted (the control).

use std::sync::Arc;
use std::time::Duration;

use pingan::Security;
use pingan_platform::auth::{
    Algorithm, AuthSettings, Authenticator, Claims, Jwks, Role, TokenIssuer, jwks_json,
};
use pingan_platform::pii::PiiKeys;
use pingan_tests::{ClusterOptions, Service, TestBackend, TestCluster, Topology, backend_tests};
use prost::Message as _;
use prost::bytes::{Buf, BufMut};
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::{Code, Status};

backend_tests!(every_rpc_refuses_every_bad_credential);

const ISSUER: &str = "pingan-test";
const IDP: &str = "https://idp.bureau.example/realms/police";
const AUDIENCE: &str = "pingan";
const SECRET: &[u8] = b"matrix-token-secret-0123456789abcdef";

fn fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../services/platform/tests/fixtures/jwt")
        .join(name);
    std::fs::read(path).expect("fixture")
}

fn provider(file: &str, kid: &str) -> TokenIssuer {
    TokenIssuer::from_der(Algorithm::RS256, &fixture(file), kid, IDP)
        .expect("provider key")
        .with_audience(Some(AUDIENCE))
}

fn write_jwks(path: &std::path::Path, issuers: &[&TokenIssuer]) {
    std::fs::write(path, jwks_json(issuers)).expect("write jwks");
}

/// Every method of every Pingan service: (path, client streams, server streams).
fn rpcs() -> Vec<(String, bool, bool)> {
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
                    format!("/{package}.{}/{}", service.name(), method.name()),
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
struct Raw;

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

/// The code one call with `token` (or none) answers; OK for a stream that opened.
async fn call(
    channel: tonic::transport::Channel,
    path: &str,
    client_streams: bool,
    server_streams: bool,
    token: Option<&str>,
) -> Code {
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
    let with_token = |request| with(token, request);
    let with_stream = |request| with(token, request);
    let result = match (client_streams, server_streams) {
        (false, false) => grpc
            .unary(with_token(tonic::Request::new(Vec::new())), path, Raw)
            .await
            .map(|_| ()),
        (false, true) => grpc
            .server_streaming(with_token(tonic::Request::new(Vec::new())), path, Raw)
            .await
            .map(|_| ()),
        (true, false) => grpc
            .client_streaming(
                with_stream(tonic::Request::new(tokio_stream::iter([Vec::new()]))),
                path,
                Raw,
            )
            .await
            .map(|_| ()),
        (true, true) => grpc
            .streaming(
                with_stream(tonic::Request::new(tokio_stream::iter([Vec::new()]))),
                path,
                Raw,
            )
            .await
            .map(|_| ()),
    };
    match result {
        Ok(()) => Code::Ok,
        Err(status) => status.code(),
    }
}

async fn every_rpc_refuses_every_bad_credential(backend: TestBackend) {
    let dir = std::env::temp_dir().join(format!("pingan-matrix-{}", uuid_like()));
    std::fs::create_dir_all(&dir).expect("dir");
    let jwks_path = dir.join("jwks.json");
    let withdrawn = provider("rsa-a.der", "2026-11");
    let current = provider("rsa-b.der", "2026-12");
    write_jwks(&jwks_path, &[&withdrawn, &current]);
    let jwks = Arc::new(Jwks::load(&jwks_path, Duration::ZERO).expect("jwks"));
    let settings = AuthSettings {
        jwks_issuer: IDP.into(),
        audience: Some(AUDIENCE.into()),
        ..AuthSettings::new(ISSUER)
    };
    let security = Security {
        authenticator: Authenticator::with_settings(Some(SECRET), Some(jwks), settings)
            .expect("authenticator"),
        issuer: TokenIssuer::new(SECRET, ISSUER)
            .expect("issuer")
            .with_audience(Some(AUDIENCE)),
        pii: PiiKeys::random(),
    };
    let cluster = TestCluster::start_with_security(
        backend,
        &Service::ALL,
        Topology::SharedPort,
        pingan_platform::clock::system(),
        ClusterOptions::default(),
        pingan_tests::test_server_config(),
        security,
    )
    .await
    .expect("cluster");

    let admin = [Role::Admin, Role::CommandCenter, Role::Dispatcher];
    let own = TokenIssuer::new(SECRET, ISSUER)
        .expect("issuer")
        .with_audience(Some(AUDIENCE));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let expired = own
        .sign(&Claims {
            sub: "officer-1".into(),
            roles: admin.to_vec(),
            stations: vec![],
            iss: ISSUER.into(),
            aud: vec![AUDIENCE.into()],
            exp: now - 3600,
            iat: now - 7200,
        })
        .expect("token");
    let ttl = Duration::from_secs(600);
    let wrong_key = TokenIssuer::new(b"not-the-bureau-secret-0123456789abcd", ISSUER)
        .expect("issuer")
        .with_audience(Some(AUDIENCE))
        .issue("officer-1", &admin, &[], ttl)
        .expect("token");
    let wrong_audience = TokenIssuer::new(SECRET, ISSUER)
        .expect("issuer")
        .with_audience(Some("another-system"))
        .issue("officer-1", &admin, &[], ttl)
        .expect("token");
    let rotated_out = withdrawn
        .issue("officer-1", &admin, &[], ttl)
        .expect("token");
    let provider_ok = current.issue("officer-1", &admin, &[], ttl).expect("token");

    // The provider rotates: the 2026-11 key is withdrawn from the JWKS.
    write_jwks(&jwks_path, &[&current]);

    let channel = cluster.channel(Service::Intake).expect("channel");
    let cases: [(&str, Option<&str>); 5] = [
        ("no token", None),
        ("expired", Some(&expired)),
        ("wrong key", Some(&wrong_key)),
        ("wrong audience", Some(&wrong_audience)),
        ("JWKS-rotated key", Some(&rotated_out)),
    ];
    let rpcs = rpcs();
    assert!(rpcs.len() >= 44, "only {} RPCs found", rpcs.len());
    let mut wrong = Vec::new();
    let mut successes = 0;
    for (path, client_streams, server_streams) in &rpcs {
        for (case, token) in &cases {
            let code = call(
                channel.clone(),
                path,
                *client_streams,
                *server_streams,
                *token,
            )
            .await;
            if code == Code::Ok {
                successes += 1;
            }
            if code != Code::Unauthenticated {
                wrong.push(format!("{path} with {case}: {code:?}"));
            }
        }
    }
    assert_eq!(successes, 0, "unauthorized successes: {wrong:#?}");
    assert!(
        wrong.is_empty(),
        "{} calls not UNAUTHENTICATED: {wrong:#?}",
        wrong.len()
    );

    // Control: the provider's current key gets past authentication on every RPC.
    let mut refused = Vec::new();
    for (path, client_streams, server_streams) in &rpcs {
        let code = call(
            channel.clone(),
            path,
            *client_streams,
            *server_streams,
            Some(&provider_ok),
        )
        .await;
        if code == Code::Unauthenticated {
            refused.push(path.clone());
        }
    }
    assert!(
        refused.is_empty(),
        "current provider key refused on {refused:#?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn uuid_like() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{}-{nanos}", std::process::id())
}
