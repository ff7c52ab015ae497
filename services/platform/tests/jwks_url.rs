//! The identity provider's JWKS by URL: served by an in-test HTTPS server (tokio-rustls, a CA
//! made with `pingan certs dev`'s code), fetched at start, followed through a rotation (an
//! unknown `kid` fetches at once, rate-limited; the timed refresh drops a withdrawn key), kept
//! when the provider fails, refused over plain http to another host, over a foreign CA, and
//! beyond the size cap; the copy in the JWKS file serves a start while the provider is down.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use jsonwebtoken::Algorithm;
use pingan_platform::auth::{
    AuthSettings, Authenticator, Jwks, JwksError, JwksUrlOptions, Role, TokenIssuer, jwks_json,
};
use pingan_platform::config::AuthConfig;
use pingan_platform::error::ApiError;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tonic::metadata::MetadataMap;

const IDP: &str = "https://idp.bureau.example/realms/police";

/// What the in-test provider answers.
#[derive(Clone)]
enum Answer {
    Jwks(String),
    Status(u16),
}

/// An identity provider serving `/jwks` on its own thread and runtime (the code under test
/// blocks its caller while it fetches, as a handler would).
struct Provider {
    addr: SocketAddr,
    answer: Arc<Mutex<Answer>>,
    hits: Arc<AtomicUsize>,
}

impl Provider {
    fn start(tls: Option<rustls::ServerConfig>, answer: Answer) -> Self {
        let answer = Arc::new(Mutex::new(answer));
        let hits = Arc::new(AtomicUsize::new(0));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("addr");
        let (served, shared_hits) = (answer.clone(), hits.clone());
        let acceptor = tls.map(|config| tokio_rustls::TlsAcceptor::from(Arc::new(config)));
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                loop {
                    let Ok((tcp, _)) = listener.accept().await else {
                        continue;
                    };
                    let (served, hits, acceptor) =
                        (served.clone(), shared_hits.clone(), acceptor.clone());
                    tokio::spawn(async move {
                        let service = hyper::service::service_fn(move |_request| {
                            hits.fetch_add(1, Ordering::SeqCst);
                            let answer = served.lock().expect("answer").clone();
                            let response = match answer {
                                Answer::Jwks(body) => hyper::Response::builder()
                                    .header("content-type", "application/json")
                                    .body(Full::new(Bytes::from(body))),
                                Answer::Status(code) => hyper::Response::builder()
                                    .status(code)
                                    .body(Full::new(Bytes::from_static(b"down"))),
                            };
                            async move { response }
                        });
                        let http = hyper::server::conn::http1::Builder::new();
                        let _ = match acceptor {
                            Some(acceptor) => match acceptor.accept(tcp).await {
                                Ok(tls) => http.serve_connection(TokioIo::new(tls), service).await,
                                Err(_) => return,
                            },
                            None => http.serve_connection(TokioIo::new(tcp), service).await,
                        };
                    });
                }
            });
        });
        Self { addr, answer, hits }
    }

    fn serve(&self, answer: Answer) {
        *self.answer.lock().expect("answer") = answer;
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    fn url(&self, scheme: &str) -> String {
        format!(
            "{scheme}://localhost:{}/realms/police/jwks?v=1",
            self.addr.port()
        )
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(pingan_platform::testing::unique_name(name));
    std::fs::create_dir_all(&dir).expect("dir");
    dir
}

/// A CA and the provider's certificate (localhost, 127.0.0.1), as `pingan certs dev` makes them.
fn certificates(name: &str) -> (PathBuf, rustls::ServerConfig) {
    let dir = temp_dir(name);
    pingan_platform::tls::certs::generate(&dir, &["idp".to_owned()], &[]).expect("certs");
    let certs: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(pingan_platform::tls::certs::server_cert(&dir, "idp"))
            .expect("cert file")
            .collect::<Result<_, _>>()
            .expect("certs");
    let key = PrivateKeyDer::from_pem_file(pingan_platform::tls::certs::server_key(&dir, "idp"))
        .expect("key");
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .expect("server config");
    (pingan_platform::tls::certs::ca_cert(&dir), config)
}

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/jwt")
        .join(name);
    std::fs::read(&path).expect("fixture")
}

fn key(algorithm: Algorithm, file: &str, kid: &str) -> TokenIssuer {
    TokenIssuer::from_der(algorithm, &fixture(file), kid, IDP).expect("provider key")
}

fn published(keys: &[&TokenIssuer]) -> Answer {
    Answer::Jwks(jwks_json(keys))
}

fn options(provider: &Provider, ca: &Path) -> JwksUrlOptions {
    JwksUrlOptions::new(&provider.url("https"), Some(ca))
}

fn authenticator(jwks: Jwks) -> Authenticator {
    let settings = AuthSettings {
        jwks_issuer: IDP.into(),
        ..AuthSettings::new("pingan")
    };
    Authenticator::with_settings(None, Some(Arc::new(jwks)), settings).expect("auth")
}

fn accepted(auth: &Authenticator, issuer: &TokenIssuer) -> bool {
    let token = issuer
        .issue(
            "officer-7",
            &[Role::Dispatcher],
            &["st-1"],
            Duration::from_secs(300),
        )
        .expect("token");
    let mut metadata = MetadataMap::new();
    metadata.insert(
        "authorization",
        format!("Bearer {token}").parse().expect("metadata"),
    );
    match auth.authenticate(&metadata) {
        Ok(_) => true,
        Err(ApiError::Unauthenticated(_)) => false,
        Err(other) => panic!("unexpected {other:?}"),
    }
}

fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !check() {
        assert!(Instant::now() < deadline, "{what}: not within 15 s");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_served_key_verifies_and_a_rotation_is_followed() {
    let (ca, tls) = certificates("idp-rotate");
    let a = key(Algorithm::RS256, "rsa-a.der", "2026-11");
    let b = key(Algorithm::ES256, "ec-a.der", "2026-12");
    let provider = Provider::start(Some(tls), published(&[&a]));
    let jwks = Jwks::from_url(options(&provider, &ca), Duration::from_secs(1)).expect("jwks");
    assert_eq!(jwks.key_ids(), vec!["2026-11".to_owned()]);
    let auth = authenticator(jwks);
    assert!(accepted(&auth, &a));

    // The provider publishes B and signs with it: the unknown kid fetches at once.
    provider.serve(published(&[&a, &b]));
    assert!(accepted(&auth, &b), "kid B after an unknown-kid fetch");
    assert!(accepted(&auth, &a), "A is still published");

    // A is withdrawn: the timed refresh drops it, B goes on verifying.
    provider.serve(published(&[&b]));
    eventually("A dropped", || !accepted(&auth, &a));
    assert!(accepted(&auth, &b));
}

#[test]
fn unknown_kid_fetches_are_rate_limited() {
    let (ca, tls) = certificates("idp-ratelimit");
    let a = key(Algorithm::RS256, "rsa-a.der", "a");
    let b = key(Algorithm::RS256, "rsa-b.der", "b");
    let provider = Provider::start(Some(tls), published(&[&a]));
    let mut options = options(&provider, &ca);
    options.unknown_kid_interval = Duration::from_secs(2);
    let auth = authenticator(Jwks::from_url(options, Duration::from_secs(3600)).expect("jwks"));
    assert_eq!(provider.hits(), 1);
    assert!(!accepted(&auth, &b), "not published");
    assert_eq!(provider.hits(), 2, "one fetch for the unknown kid");
    provider.serve(published(&[&a, &b]));
    for _ in 0..20 {
        assert!(!accepted(&auth, &b), "within the interval: no fetch");
    }
    assert_eq!(
        provider.hits(),
        2,
        "forged kids cannot make every call fetch"
    );
    std::thread::sleep(Duration::from_millis(2100));
    assert!(accepted(&auth, &b));
    assert_eq!(provider.hits(), 3);
}

#[test]
fn a_failing_provider_keeps_the_cached_keys() {
    let (ca, tls) = certificates("idp-failing");
    let a = key(Algorithm::ES256, "ec-a.der", "a");
    let provider = Provider::start(Some(tls), published(&[&a]));
    let auth = authenticator(
        Jwks::from_url(options(&provider, &ca), Duration::from_secs(1)).expect("jwks"),
    );
    for answer in [
        Answer::Status(503),
        Answer::Jwks("{not json".into()),
        Answer::Jwks(r#"{"keys":[]}"#.into()),
    ] {
        provider.serve(answer);
        let before = provider.hits();
        eventually("a failed refresh", || provider.hits() >= before + 2);
        assert!(accepted(&auth, &a), "cached key kept");
    }
    let metrics = pingan_platform::metrics::render();
    let failed = metrics
        .lines()
        .find(|line| {
            line.starts_with("pingan_auth_jwks_refresh_total")
                && line.contains(r#"outcome="failed""#)
                && line.contains(r#"source="url""#)
        })
        .expect("failure metric");
    assert!(!failed.ends_with(" 0"), "{failed}");
}

#[test]
fn http_is_for_loopback_hosts_only_and_https_needs_a_ca() {
    for refused in [
        "http://idp.bureau.example/jwks",
        "http://10.0.0.5/jwks",
        "ftp://localhost/jwks",
        "https://user:secret@idp.bureau.example/jwks",
    ] {
        let err = JwksUrlOptions::new(refused, Some(Path::new("/nonexistent.pem")))
            .validate()
            .expect_err(refused);
        assert!(err.to_string().contains("--auth-jwks-url"), "{err}");
        assert!(
            !err.to_string().contains("secret"),
            "no credentials in errors"
        );
    }
    let err = JwksUrlOptions::new("https://idp.bureau.example/jwks", None)
        .validate()
        .expect_err("no CA");
    assert!(err.to_string().contains("--auth-jwks-ca"), "{err}");
    for loopback in [
        "http://127.0.0.1:8080/jwks",
        "http://localhost/jwks",
        "http://[::1]:1/j",
    ] {
        JwksUrlOptions::new(loopback, None)
            .validate()
            .expect(loopback);
    }
    // From the configuration: refused before any fetch.
    let config = AuthConfig {
        jwks_url: Some("http://idp.bureau.example/jwks".into()),
        ..AuthConfig::default()
    };
    assert!(config.validate().is_err());
    let err = config.authenticator(None).expect_err("plain http");
    assert!(err.to_string().contains("--auth-jwks-url"), "{err}");

    // Plain http to a loopback provider (a sidecar) works.
    let a = key(Algorithm::RS256, "rsa-a.der", "a");
    let provider = Provider::start(None, published(&[&a]));
    let jwks = Jwks::from_url(
        JwksUrlOptions::new(&provider.url("http"), None),
        Duration::from_secs(60),
    )
    .expect("loopback http");
    assert!(accepted(&authenticator(jwks), &a));
}

#[test]
fn a_foreign_ca_and_an_oversized_answer_are_refused() {
    let (_, tls) = certificates("idp-foreign");
    let (other_ca, _) = certificates("idp-other-ca");
    let a = key(Algorithm::RS256, "rsa-a.der", "a");
    let provider = Provider::start(Some(tls), published(&[&a]));
    let err = Jwks::from_url(options(&provider, &other_ca), Duration::from_secs(60))
        .expect_err("foreign CA");
    assert!(matches!(err, JwksError::Fetch { .. }), "{err}");
    assert!(err.to_string().contains("--auth-jwks-url"), "{err}");

    let (ca, tls) = certificates("idp-cap");
    let provider = Provider::start(Some(tls), published(&[&a]));
    let mut capped = options(&provider, &ca);
    capped.max_bytes = 4096;
    let padded = format!("{}{}", jwks_json(&[&a]), " ".repeat(8192));
    provider.serve(Answer::Jwks(padded));
    let err = Jwks::from_url(capped.clone(), Duration::from_secs(60)).expect_err("over the cap");
    assert!(err.to_string().contains("exceeds 4096 bytes"), "{err}");
    provider.serve(published(&[&a]));
    assert!(Jwks::from_url(capped, Duration::from_secs(60)).is_ok());
}

#[test]
fn the_kept_copy_serves_a_start_while_the_provider_is_down() {
    let (ca, tls) = certificates("idp-copy");
    let a = key(Algorithm::RS256, "rsa-a.der", "a");
    let provider = Provider::start(Some(tls), published(&[&a]));
    let copy = temp_dir("idp-copy-file").join("jwks.json");
    let mut with_copy = options(&provider, &ca);
    with_copy.cache_file = Some(copy.clone());
    drop(Jwks::from_url(with_copy.clone(), Duration::from_secs(60)).expect("first start"));
    assert!(
        std::fs::read_to_string(&copy)
            .expect("copy")
            .contains("\"a\"")
    );

    provider.serve(Answer::Status(500));
    let auth = authenticator(Jwks::from_url(with_copy, Duration::from_secs(60)).expect("copy"));
    assert!(accepted(&auth, &a));
    let err =
        Jwks::from_url(options(&provider, &ca), Duration::from_secs(60)).expect_err("no copy");
    assert!(err.to_string().contains("500"), "{err}");
    assert!(err.to_string().contains("--auth-jwks-url"), "{err}");
}
