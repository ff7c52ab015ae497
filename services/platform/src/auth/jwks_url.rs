//! The identity provider's JWKS fetched from its URL (`--auth-jwks-url`): one HTTP/1.1 GET
//! (hyper over tokio-rustls, trusting only `--auth-jwks-ca`) with a timeout and a size cap, on a
//! thread of its own with its own runtime, so the start-up fetch and an unknown-`kid` fetch can
//! be waited for from synchronous code on any runtime. Parsing and the key cache are
//! [`super::jwks`]'s, shared with the file source.

use std::path::{Path, PathBuf};
use std::sync::Weak;
use std::sync::mpsc::SyncSender;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Empty, Limited};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use tokio_rustls::TlsConnector;

use super::jwks::{JwksError, KeyCache, Keys, parse_keys};

/// Shortest interval between two timed fetches, whatever `--auth-jwks-refresh` says.
const MIN_URL_REFRESH: Duration = Duration::from_secs(1);

/// How the provider's JWKS is fetched.
#[derive(Debug, Clone)]
pub struct JwksUrlOptions {
    /// `https://…`, or `http://…` for a loopback host only.
    pub url: String,
    /// PEM CA bundle the provider's certificate must chain to (required for `https://`).
    pub ca: Option<PathBuf>,
    /// A copy of the last good JWKS: written after each fetch, read when the provider cannot be
    /// reached at start (`--auth-jwks-file` given beside the URL).
    pub cache_file: Option<PathBuf>,
    /// Longest a fetch may take, connection and TLS included.
    pub timeout: Duration,
    /// Largest JWKS accepted, in bytes.
    pub max_bytes: usize,
    /// Least time between two fetches caused by tokens naming an unknown `kid`.
    pub unknown_kid_interval: Duration,
}

impl JwksUrlOptions {
    /// `url` trusting `ca`, with a 5 s timeout, a 1 MiB cap and an unknown-`kid` fetch at most
    /// every 10 s.
    pub fn new(url: &str, ca: Option<&Path>) -> Self {
        Self {
            url: url.to_owned(),
            ca: ca.map(Path::to_owned),
            cache_file: None,
            timeout: Duration::from_secs(5),
            max_bytes: 1 << 20,
            unknown_kid_interval: Duration::from_secs(10),
        }
    }

    /// Checks the URL and the CA without fetching anything (configuration errors name the flag).
    pub fn validate(&self) -> Result<(), JwksError> {
        let target = self.target()?;
        self.tls_connector(&target).map(drop)
    }

    fn setting(&self, flag: &'static str, value: String, message: &str) -> JwksError {
        JwksError::Settings {
            flag,
            value,
            message: message.to_owned(),
        }
    }

    /// The URL as errors and logs show it: without credentials.
    pub(super) fn shown_url(&self) -> String {
        match url::Url::parse(self.url.trim()) {
            Ok(mut url) => {
                let _ = url.set_username("");
                let _ = url.set_password(None);
                url.to_string()
            }
            Err(_) if self.url.contains('@') => "(unparsable URL)".into(),
            Err(_) => self.url.clone(),
        }
    }

    pub(super) fn target(&self) -> Result<Target, JwksError> {
        let bad = |message: &str| self.setting("--auth-jwks-url", self.shown_url(), message);
        let url = url::Url::parse(self.url.trim()).map_err(|err| bad(&err.to_string()))?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(bad("credentials in the URL are not accepted"));
        }
        let host = url.host().ok_or_else(|| bad("the URL names no host"))?;
        let (connect_host, server_name, loopback) = match &host {
            url::Host::Domain(name) => (
                (*name).to_owned(),
                ServerName::try_from((*name).to_owned()).map_err(|err| bad(&err.to_string()))?,
                name.eq_ignore_ascii_case("localhost"),
            ),
            url::Host::Ipv4(ip) => (ip.to_string(), ServerName::from(*ip), ip.is_loopback()),
            url::Host::Ipv6(ip) => (ip.to_string(), ServerName::from(*ip), ip.is_loopback()),
        };
        let https = match url.scheme() {
            "https" => true,
            // A clear-text key fetch could be answered by anyone on the path.
            "http" if loopback => false,
            "http" => {
                return Err(bad(
                    "http:// is accepted for a loopback host only: use https://",
                ));
            }
            other => return Err(bad(&format!("scheme {other} is not http(s)"))),
        };
        let port = url
            .port_or_known_default()
            .ok_or_else(|| bad("the URL names no port"))?;
        Ok(Target {
            https,
            connect_host,
            port,
            server_name,
            authority: url[url::Position::BeforeHost..url::Position::AfterPort].to_owned(),
            path: url[url::Position::BeforePath..url::Position::AfterQuery].to_owned(),
        })
    }

    pub(super) fn tls_connector(&self, target: &Target) -> Result<Option<TlsConnector>, JwksError> {
        if !target.https {
            return Ok(None);
        }
        let ca = self.ca.as_deref().ok_or_else(|| {
            self.setting(
                "--auth-jwks-ca",
                "(not set)".into(),
                "required with an https:// --auth-jwks-url (the provider's CA, PEM)",
            )
        })?;
        let bad =
            |message: String| self.setting("--auth-jwks-ca", ca.display().to_string(), &message);
        let mut roots = rustls::RootCertStore::empty();
        for cert in crate::tls::read_certificates(ca).map_err(|err| bad(err.to_string()))? {
            roots
                .add(cert)
                .map_err(|err| bad(format!("not a CA certificate: {err}")))?;
        }
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|err| bad(err.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Some(TlsConnector::from(std::sync::Arc::new(config))))
    }
}

/// Where a checked URL points.
#[derive(Debug, Clone)]
pub(super) struct Target {
    https: bool,
    connect_host: String,
    port: u16,
    server_name: ServerName<'static>,
    authority: String,
    path: String,
}

/// One fetch: the connection, the request and the capped answer.
struct Client {
    target: Target,
    tls: Option<TlsConnector>,
    timeout: Duration,
    max_bytes: usize,
    cache_file: Option<PathBuf>,
}

impl Client {
    /// The keys at the URL (at least one), and a copy written to the cache file.
    async fn fetch_keys(&self) -> Result<Keys, String> {
        let body = tokio::time::timeout(self.timeout, self.fetch())
            .await
            .map_err(|_| format!("no answer within {} ms", self.timeout.as_millis()))??;
        let text = std::str::from_utf8(&body).map_err(|_| "the answer is not UTF-8".to_owned())?;
        let keys = parse_keys(text).map_err(|err| format!("not a JWK set: {err}"))?;
        if keys.is_empty() {
            return Err("no RS256 or ES256 key with a kid".into());
        }
        if let Some(path) = &self.cache_file {
            keep_copy(path, &body);
        }
        Ok(keys)
    }

    async fn fetch(&self) -> Result<Bytes, String> {
        let tcp = TcpStream::connect((self.target.connect_host.as_str(), self.target.port))
            .await
            .map_err(|err| format!("connecting: {err}"))?;
        // Small requests, answered at once: Nagle would only add delay.
        let _ = tcp.set_nodelay(true);
        match &self.tls {
            Some(connector) => {
                let stream = connector
                    .connect(self.target.server_name.clone(), tcp)
                    .await
                    .map_err(|err| format!("tls: {err}"))?;
                self.get(TokioIo::new(stream)).await
            }
            None => self.get(TokioIo::new(tcp)).await,
        }
    }

    async fn get<I>(&self, io: I) -> Result<Bytes, String>
    where
        I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    {
        let (mut sender, connection) = hyper::client::conn::http1::handshake(io)
            .await
            .map_err(|err| format!("http: {err}"))?;
        let timeout = self.timeout;
        // The connection task ends with the exchange, or at the timeout if the peer stalls.
        tokio::spawn(async move {
            let _ = tokio::time::timeout(timeout, connection).await;
        });
        let request = http::Request::get(self.target.path.as_str())
            .header(http::header::HOST, self.target.authority.as_str())
            .header(http::header::ACCEPT, "application/json")
            .header(http::header::USER_AGENT, "pingan")
            .body(Empty::<Bytes>::new())
            .map_err(|err| format!("request: {err}"))?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|err| format!("http: {err}"))?;
        if !response.status().is_success() {
            return Err(format!("answered {}", response.status()));
        }
        let too_large = || format!("the answer exceeds {} bytes", self.max_bytes);
        let announced = response
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<u64>().ok());
        if announced.is_some_and(|length| length > self.max_bytes as u64) {
            return Err(too_large());
        }
        let body = Limited::new(response.into_body(), self.max_bytes)
            .collect()
            .await
            .map_err(|err| {
                if err.is::<http_body_util::LengthLimitError>() {
                    too_large()
                } else {
                    format!("reading the answer: {err}")
                }
            })?;
        Ok(body.to_bytes())
    }
}

/// Writes the JWKS to `path` through a temporary file and a rename (a reader never sees half a
/// file); a failure is logged, never fatal: the copy only helps the next start.
fn keep_copy(path: &Path, body: &[u8]) {
    if std::fs::read(path).is_ok_and(|current| current == body) {
        return;
    }
    let temporary = path.with_extension("tmp");
    let written = std::fs::write(&temporary, body).and_then(|()| std::fs::rename(&temporary, path));
    if let Err(err) = written {
        tracing::warn!(path = %path.display(), error = %err, "cannot keep a copy of the JWKS");
    }
}

/// What the fetcher's thread is asked: fetch now, and say when done.
type Request = SyncSender<()>;

/// The fetching thread: a fetch every refresh interval and on request; it ends when the
/// [`super::Jwks`] holding it is dropped.
pub(super) struct Fetcher {
    url: String,
    requests: UnboundedSender<Request>,
    wait: Duration,
    unknown_kid_interval: Duration,
}

impl Fetcher {
    /// Starts the thread and waits for its first fetch, whose keys (or failure) are returned
    /// rather than installed in `cache`; later fetches go to `cache`.
    pub(super) fn start(
        options: &JwksUrlOptions,
        refresh: Duration,
        cache: Weak<KeyCache>,
    ) -> Result<(Self, Result<Keys, String>), JwksError> {
        let target = options.target()?;
        let tls = options.tls_connector(&target)?;
        let client = Client {
            target,
            tls,
            timeout: options.timeout,
            max_bytes: options.max_bytes,
            cache_file: options.cache_file.clone(),
        };
        let thread_error = |err: std::io::Error| JwksError::Fetch {
            url: options.shown_url(),
            message: format!("starting the fetcher: {err}"),
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(thread_error)?;
        let (requests, receiver) = tokio::sync::mpsc::unbounded_channel();
        let (first_sender, first) = std::sync::mpsc::sync_channel(1);
        let refresh = refresh.max(MIN_URL_REFRESH);
        std::thread::Builder::new()
            .name("pingan-jwks".into())
            .spawn(move || runtime.block_on(run(client, refresh, cache, receiver, first_sender)))
            .map_err(thread_error)?;
        let wait = options.timeout + Duration::from_secs(1);
        let first = blocking(|| first.recv_timeout(wait))
            .unwrap_or_else(|_| Err("the fetcher did not answer".into()));
        Ok((
            Self {
                url: options.shown_url(),
                requests,
                wait,
                unknown_kid_interval: options.unknown_kid_interval,
            },
            first,
        ))
    }

    /// The URL fetched.
    pub(super) fn url(&self) -> &str {
        &self.url
    }

    /// Least time between two fetches for unknown `kid`s.
    pub(super) fn unknown_kid_interval(&self) -> Duration {
        self.unknown_kid_interval
    }

    /// Fetches now and waits (at most the timeout) for the keys to be installed.
    pub(super) fn fetch_now(&self) {
        let (done, finished) = std::sync::mpsc::sync_channel(1);
        if self.requests.send(done).is_ok() {
            let _ = blocking(|| finished.recv_timeout(self.wait));
        }
    }
}

async fn run(
    client: Client,
    refresh: Duration,
    cache: Weak<KeyCache>,
    mut requests: UnboundedReceiver<Request>,
    first: SyncSender<Result<Keys, String>>,
) {
    let _ = first.send(client.fetch_keys().await);
    loop {
        let done = tokio::select! {
            request = requests.recv() => match request {
                Some(done) => Some(done),
                None => return,
            },
            () = tokio::time::sleep(refresh) => None,
        };
        let Some(cache) = cache.upgrade() else {
            return;
        };
        cache.apply(client.fetch_keys().await);
        if let Some(done) = done {
            let _ = done.send(());
        }
    }
}

/// Runs `wait` (a wait on the fetcher's thread), letting a multi-thread runtime move its other
/// tasks off this worker meanwhile.
fn blocking<T>(wait: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(wait)
        }
        _ => wait(),
    }
}
