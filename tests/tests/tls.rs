//! TLS end to end, on both backends: a Pingan process serving TLS with certificates from
//! `pingan certs dev`'s code; mutual TLS naming the calling service without a bearer token; the
//! certificate replaced on disk and served to the next connection without a restart.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use pingan::{Process, Security, ServiceKind, StorageChoice};
use pingan_platform::auth::{Role, TokenIssuer};
use pingan_platform::clients::Peers;
use pingan_platform::storage::{Backend, PoolSettings};
use pingan_platform::testing::{REDIS_URL_VAR, TestDatabase, unique_name};
use pingan_platform::tls::{
    ClientAuth, ClientTls, TlsArgs, certs, describe, probe, read_certificates,
};
use pingan_proto::events::v1::event_sink_service_client::EventSinkServiceClient;
use pingan_proto::events::v1::{DeliverRequest, EventEnvelope};
use pingan_proto::grid::v1::grid_registry_service_client::GridRegistryServiceClient;
use pingan_proto::grid::v1::{ListGridsRequest, StationKind, UpsertStationRequest};
use pingan_tests::{Bearer, test_event_config, test_server_config};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tonic::Code;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

const SERVICE: ServiceKind = ServiceKind::GridRegistry;

/// A temporary directory with a CA and the certificates of grid-registry, intake and a
/// `visitor` that is no Pingan service.
fn cert_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(unique_name("pingan_tls"));
    let names = ["grid-registry", "intake", "visitor"].map(str::to_owned);
    certs::generate(&dir, &names, &[]).expect("certificates");
    dir
}

fn server_tls(dir: &Path, mutual: bool) -> TlsArgs {
    TlsArgs {
        cert: Some(certs::server_cert(dir, "grid-registry")),
        key: Some(certs::server_key(dir, "grid-registry")),
        client_ca: mutual.then(|| certs::ca_cert(dir)),
        client_auth: ClientAuth::Required,
        reload_interval: Duration::from_millis(100),
        ..TlsArgs::default()
    }
}

/// grid-registry in one process, serving TLS with `tls`.
struct Server {
    addr: SocketAddr,
    issuer: TokenIssuer,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), pingan_platform::server::ServeError>>,
    database: TestDatabase,
}

impl Server {
    async fn start(backend: Backend, tls: TlsArgs) -> anyhow::Result<Self> {
        let mut server = test_server_config();
        server.tls = tls;
        let security = Security::new(
            &pingan_platform::auth::random_secret(),
            "pingan-test",
            pingan_platform::pii::PiiKeys::random(),
        )?;
        let issuer = security.issuer.clone();
        let mut process = Process::new(
            server,
            security,
            test_event_config(),
            pingan_platform::clock::system(),
        );
        let database = TestDatabase::create(backend, SERVICE.migrations()).await?;
        let redis_url = match backend {
            Backend::Postgres => {
                Some(std::env::var(REDIS_URL_VAR).context("the Postgres run needs Redis")?)
            }
            Backend::Sqlite => None,
        };
        let storage = StorageChoice {
            database_url: database.url.clone(),
            redis_url,
            redis_prefix: format!("{}:", unique_name("pingan_tls")),
            redis_tls: None,
        };
        let pool = PoolSettings {
            max_connections: 5,
            ..PoolSettings::default()
        };
        process
            .mount(SERVICE, &storage, &BTreeMap::new(), &pool)
            .await?;
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(process.serve(listener, async move {
            let _ = stopped.await;
        }));
        Ok(Self {
            addr,
            issuer,
            stop: Some(stop),
            task,
            database,
        })
    }

    /// The URL by the name every `certs dev` server certificate carries.
    fn https_url(&self) -> String {
        format!("https://localhost:{}", self.addr.port())
    }

    fn bearer(&self, roles: &[Role]) -> Bearer {
        let token = self
            .issuer
            .issue("officer-1", roles, &[], Duration::from_secs(600))
            .expect("token");
        Bearer::new(&token).expect("bearer")
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("server stops in time")
            .expect("server task")
            .expect("server result");
        self.database.cleanup().await;
    }
}

fn client_tls(dir: &Path, identity: Option<&str>) -> ClientTls {
    let identity =
        identity.map(|name| (certs::client_cert(dir, name), certs::client_key(dir, name)));
    ClientTls::new(
        &certs::ca_cert(dir),
        identity.as_ref().map(|(c, k)| (c.as_path(), k.as_path())),
        Duration::from_secs(60),
    )
    .expect("client tls")
}

fn tls_channel(tls: &ClientTls, url: &str) -> Channel {
    let (endpoint, connector) = tls.endpoint(url).expect("endpoint");
    endpoint
        .connect_timeout(Duration::from_secs(3))
        .connect_with_connector_lazy(connector)
}

async fn health(channel: Channel) -> Result<ServingStatus, tonic::Status> {
    let answer = tokio::time::timeout(
        Duration::from_secs(10),
        HealthClient::new(channel).check(HealthCheckRequest {
            service: SERVICE.grpc_name().to_owned(),
        }),
    )
    .await
    .map_err(|_| tonic::Status::deadline_exceeded("health check timed out"))??;
    Ok(answer.into_inner().status())
}

fn deliver_request() -> DeliverRequest {
    DeliverRequest {
        event: Some(EventEnvelope {
            event_id: "evt-tls-1".into(),
            event_type: "pingan.test.v1.Nothing".into(),
            ..Default::default()
        }),
        destination: "nowhere".into(),
    }
}

async fn a_tls_server_serves_a_client_that_trusts_its_ca(backend: Backend) {
    let dir = cert_dir();
    // The plaintext health listener for kubelet probes: an address free a moment ago.
    let health_addr = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|probe| probe.local_addr())
        .expect("a free port");
    let args = TlsArgs {
        health_listen: Some(health_addr),
        ..server_tls(&dir, false)
    };
    let server = Server::start(backend, args).await.expect("server");
    let tls = client_tls(&dir, None);
    let channel = tls_channel(&tls, &server.https_url());
    assert_eq!(
        health(channel.clone()).await.expect("health over tls"),
        ServingStatus::Serving
    );

    let mut registry = GridRegistryServiceClient::new(InterceptedService::new(
        channel,
        server.bearer(&[Role::Admin]),
    ));
    let station = registry
        .upsert_station(UpsertStationRequest {
            request_id: "tls-station-1".into(),
            station_id: "st-tls".into(),
            name: "TLS station".into(),
            kind: StationKind::Urban as i32,
            ..Default::default()
        })
        .await
        .expect("a real call over tls")
        .into_inner();
    assert_eq!(station.station.expect("station").station_id, "st-tls");
    registry
        .list_grids(ListGridsRequest::default())
        .await
        .expect("a read over tls");

    // Health alone, in plaintext, on the probe listener; nothing else is served there.
    let probe_channel = tonic::transport::Endpoint::from_shared(format!("http://{health_addr}"))
        .expect("endpoint")
        .connect_lazy();
    assert_eq!(
        health(probe_channel.clone())
            .await
            .expect("plaintext health"),
        ServingStatus::Serving
    );
    let unserved = GridRegistryServiceClient::new(probe_channel)
        .list_grids(ListGridsRequest::default())
        .await
        .expect_err("only health on the probe listener");
    assert_eq!(unserved.code(), Code::Unimplemented, "{unserved:?}");

    // A plaintext client gets no answer from a TLS server.
    let plain = tonic::transport::Endpoint::from_shared(format!("http://{}", server.addr))
        .expect("endpoint")
        .connect_timeout(Duration::from_secs(3))
        .connect_lazy();
    let refused = health(plain).await.expect_err("plaintext to a tls server");
    assert_ne!(refused.code(), Code::Ok);

    // A client trusting another CA refuses the server's certificate.
    let stranger = cert_dir();
    let wrong_ca = client_tls(&stranger, None);
    health(tls_channel(&wrong_ca, &server.https_url()))
        .await
        .expect_err("a certificate from an unknown CA");

    server.stop().await;
    let _ = std::fs::remove_dir_all(dir);
    let _ = std::fs::remove_dir_all(stranger);
}

async fn mutual_tls_names_the_calling_service_without_a_token(backend: Backend) {
    let dir = cert_dir();
    let server = Server::start(backend, server_tls(&dir, true))
        .await
        .expect("server");

    // No client certificate: refused at the handshake.
    let anonymous = client_tls(&dir, None);
    health(tls_channel(&anonymous, &server.https_url()))
        .await
        .expect_err("a client without a certificate");

    // intake's certificate, through the peer channels services call each other with, and no
    // token: Deliver needs the service role and gets past it to the unknown destination.
    let intake = client_tls(&dir, Some("intake"));
    let urls = BTreeMap::from([("grid-registry".to_owned(), server.https_url())]);
    let peers = Peers::with_tls(&urls, None, Some(&intake)).expect("peers");
    let mut sink = EventSinkServiceClient::new(peers.channel("grid-registry").expect("channel"));
    let status = sink
        .deliver(deliver_request())
        .await
        .expect_err("no such destination");
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
    assert!(status.message().contains("nowhere"), "{status:?}");

    // A person's token still decides when one is sent: a dispatcher may not deliver events.
    let mut as_dispatcher = EventSinkServiceClient::new(InterceptedService::new(
        tls_channel(&intake, &server.https_url()),
        server.bearer(&[Role::Dispatcher]),
    ));
    let denied = as_dispatcher
        .deliver(deliver_request())
        .await
        .expect_err("a dispatcher's token");
    assert_eq!(denied.code(), Code::PermissionDenied, "{denied:?}");

    // A certificate of the CA naming no Pingan service authenticates the connection only.
    let visitor = client_tls(&dir, Some("visitor"));
    let mut sink = EventSinkServiceClient::new(tls_channel(&visitor, &server.https_url()));
    let status = sink
        .deliver(deliver_request())
        .await
        .expect_err("not a service");
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");

    server.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

async fn served_serial(tls: &ClientTls, port: u16) -> String {
    let chain = probe(tls, "localhost", port).await.expect("probe");
    describe(chain.first().expect("a certificate"))
        .expect("parses")
        .serial
}

async fn a_replaced_certificate_is_served_to_the_next_connection(backend: Backend) {
    let dir = cert_dir();
    let server = Server::start(backend, server_tls(&dir, false))
        .await
        .expect("server");
    let tls = client_tls(&dir, None);
    let port = server.addr.port();
    let before = served_serial(&tls, port).await;
    let on_disk = |dir: &Path| {
        let chain = read_certificates(&certs::server_cert(dir, "grid-registry")).expect("cert");
        describe(&chain[0]).expect("parses").serial
    };
    assert_eq!(before, on_disk(&dir));

    // Rotate: new certificates from the same CA, written over the old files.
    certs::generate(&dir, &["grid-registry".to_owned()], &[]).expect("rotate");
    let rotated = on_disk(&dir);
    assert_ne!(rotated, before);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let mut served = before.clone();
    while served != rotated && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
        served = served_serial(&tls, port).await;
    }
    assert_eq!(
        served, rotated,
        "the new certificate is served without a restart"
    );
    assert_eq!(
        health(tls_channel(&tls, &server.https_url()))
            .await
            .expect("health after rotation"),
        ServingStatus::Serving
    );
    server.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

pingan_tests::backend_tests!(
    a_tls_server_serves_a_client_that_trusts_its_ca,
    mutual_tls_names_the_calling_service_without_a_token,
    a_replaced_certificate_is_served_to_the_next_connection,
);
