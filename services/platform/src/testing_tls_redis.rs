//! A private Redis over TLS for tests and the six-process harness: the machine's `redis-server`
//! on a free port with TLS only (`--port 0`), a certificate `pingan certs dev`'s code issued
//! (`redis` in the run's certificate directory), client certificates required, nothing kept on
//! disk; killed when dropped.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::TestSetupError;
use crate::redis_store::RedisTls;
use crate::tls::certs;

/// The name the server's certificate is issued for (with localhost and 127.0.0.1).
pub const REDIS_CERT_NAME: &str = "redis";

/// A running TLS-only `redis-server`.
#[derive(Debug)]
pub struct TlsRedisServer {
    child: Child,
    port: u16,
}

impl TlsRedisServer {
    /// Starts it with the CA in `dir` (made if missing) and a fresh `redis` certificate there;
    /// waits until it answers a TLS PING with the CA's client certificate of `client`.
    pub async fn start(dir: &Path, client: &str) -> Result<Self, TestSetupError> {
        certs::generate(dir, &[REDIS_CERT_NAME.to_owned(), client.to_owned()], &[])?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())?
            .port();
        let path = |p: std::path::PathBuf| p.display().to_string();
        let child = Command::new("redis-server")
            .args([
                "--port",
                "0",
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .args(["--tls-port", &port.to_string()])
            .args([
                "--tls-cert-file",
                &path(certs::server_cert(dir, REDIS_CERT_NAME)),
            ])
            .args([
                "--tls-key-file",
                &path(certs::server_key(dir, REDIS_CERT_NAME)),
            ])
            .args(["--tls-ca-cert-file", &path(certs::ca_cert(dir))])
            .args(["--tls-auth-clients", "yes"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|err| {
                TestSetupError::Server(format!("starting redis-server with TLS: {err}"))
            })?;
        let server = Self { child, port };
        let tls = client_tls(dir, client)?;
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let attempt = async {
                let client = redis::Client::build_with_tls(server.url(), tls.certificates())?;
                let mut connection = client.get_multiplexed_async_connection().await?;
                redis::cmd("PING")
                    .query_async::<String>(&mut connection)
                    .await
            };
            match tokio::time::timeout(Duration::from_secs(2), attempt).await {
                Ok(Ok(_)) => return Ok(server),
                Ok(Err(err)) if Instant::now() > deadline => {
                    return Err(TestSetupError::Server(format!(
                        "the TLS Redis on port {port} never answered: {err}"
                    )));
                }
                _ if Instant::now() > deadline => {
                    return Err(TestSetupError::Server(format!(
                        "the TLS Redis on port {port} never answered"
                    )));
                }
                _ => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    /// `rediss://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("rediss://127.0.0.1:{}", self.port)
    }

    /// Its port.
    pub fn port(&self) -> u16 {
        self.port
    }
}

impl Drop for TlsRedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The CA of `dir` and the client certificate of `client` there, as a service loads them.
pub fn client_tls(dir: &Path, client: &str) -> Result<RedisTls, TestSetupError> {
    let read = |p: std::path::PathBuf| std::fs::read(p);
    Ok(RedisTls {
        ca_pem: Some(read(certs::ca_cert(dir))?),
        client: Some((
            read(certs::client_cert(dir, client))?,
            read(certs::client_key(dir, client))?,
        )),
    })
}
