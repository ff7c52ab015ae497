//! Redis: one auto-reconnecting connection manager per service, with a key prefix so that
//! several services (or tests) can share one Redis without touching each other's keys. A
//! `redis+sentinel://` URL follows the primary the sentinels name (see [`crate::redis_sentinel`]).

use std::sync::{Arc, RwLock};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

pub use redis::RedisError;

use crate::redis_sentinel::{self, SentinelUrl};

/// A Redis connection with the key prefix this service (or test) owns.
#[derive(Clone)]
pub struct RedisStore {
    // Replaced as a whole when the sentinels name another primary.
    node: Arc<RwLock<Node>>,
    prefix: String,
}

/// The node the store talks to: its client and the connection manager over it.
#[derive(Clone)]
struct Node {
    connection: ConnectionManager,
    client: redis::Client,
}

impl Node {
    async fn connect(client: redis::Client) -> redis::RedisResult<Self> {
        let client = without_nagle(&client)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(3)))
            .set_response_timeout(Some(Duration::from_secs(3)))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_secs(2));
        let connection = ConnectionManager::new_with_config(client.clone(), config).await?;
        Ok(Self { connection, client })
    }

    fn address(&self) -> String {
        self.client.get_connection_info().addr().to_string()
    }
}

/// `client` with TCP_NODELAY on its sockets: redis-rs leaves Nagle on, so a pipeline larger
/// than a segment would wait ~40 ms for the server's delayed ACK before its last bytes leave.
fn without_nagle(client: &redis::Client) -> redis::RedisResult<redis::Client> {
    let info = client
        .get_connection_info()
        .clone()
        .set_tcp_settings(redis::io::tcp::TcpSettings::default().set_nodelay(true));
    redis::Client::open(info)
}

/// What a `rediss://` connection trusts and presents (PEM bytes, read at start).
#[derive(Clone, Default)]
pub struct RedisTls {
    /// The CA that signed the Redis server's certificate (None: the system's roots).
    pub ca_pem: Option<Vec<u8>>,
    /// Client certificate and key for a server that requires them (`tls-auth-clients yes`).
    pub client: Option<(Vec<u8>, Vec<u8>)>,
}

impl std::fmt::Debug for RedisTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisTls")
            .field("ca", &self.ca_pem.is_some())
            .field("client_certificate", &self.client.is_some())
            .finish()
    }
}

impl RedisTls {
    pub(crate) fn certificates(&self) -> redis::TlsCertificates {
        redis::TlsCertificates {
            client_tls: self
                .client
                .as_ref()
                .map(|(cert, key)| redis::ClientTlsConfig {
                    client_cert: cert.clone(),
                    client_key: key.clone(),
                }),
            root_cert: self.ca_pem.clone(),
        }
    }
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .finish()
    }
}

impl RedisStore {
    /// Connects to `url` (`redis://`, `rediss://`, or `redis+sentinel://…/<master>`); every key
    /// this store builds starts with `prefix`.
    pub async fn connect(url: &str, prefix: &str) -> redis::RedisResult<Self> {
        Self::connect_with_tls(url, prefix, None).await
    }

    /// Like [`RedisStore::connect`]; a `rediss://` URL trusts `tls`'s CA (instead of the
    /// system's roots) and presents its client certificate when it has one.
    pub async fn connect_with_tls(
        url: &str,
        prefix: &str,
        tls: Option<&RedisTls>,
    ) -> redis::RedisResult<Self> {
        if let Some(tls) = tls {
            if !url.starts_with("rediss://") {
                return Err(redis::RedisError::from((
                    redis::ErrorKind::InvalidClientConfig,
                    "a Redis CA or client certificate is set: the Redis URL must be rediss://",
                )));
            }
            let client = redis::Client::build_with_tls(url, tls.certificates())?;
            let node = Node::connect(client).await?;
            return Ok(Self {
                node: Arc::new(RwLock::new(node)),
                prefix: prefix.to_owned(),
            });
        }
        if SentinelUrl::is_sentinel(url) {
            let mut sentinel = SentinelUrl::parse(url)?.client()?;
            let node = Node::connect(redis_sentinel::primary(&mut sentinel).await?).await?;
            let node = Arc::new(RwLock::new(node));
            tokio::spawn(redis_sentinel::follow(
                Arc::downgrade(&node),
                sentinel,
                Node::address,
                Node::connect,
            ));
            return Ok(Self {
                node,
                prefix: prefix.to_owned(),
            });
        }
        let node = Node::connect(redis::Client::open(url)?).await?;
        Ok(Self {
            node: Arc::new(RwLock::new(node)),
            prefix: prefix.to_owned(),
        })
    }

    fn node(&self) -> Node {
        match self.node.read() {
            Ok(node) => node.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The connection (cheap to clone; reconnects on its own; after a failover, to the primary).
    pub fn connection(&self) -> ConnectionManager {
        self.node().connection
    }

    /// The client of the current primary, for connections the manager cannot share (e.g. a
    /// pub/sub subscriber).
    pub fn client(&self) -> redis::Client {
        self.node().client
    }

    /// The address of the node the store talks to now (`host:port`).
    pub fn address(&self) -> String {
        self.node().address()
    }

    /// A key under this store's prefix, e.g. `key("units:geo")` → `pingan:dispatch:units:geo`.
    pub fn key(&self, name: &str) -> String {
        format!("{}{}", self.prefix, name)
    }

    /// The key prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Checks that Redis answers (used by health).
    pub async fn ping(&self) -> redis::RedisResult<()> {
        let mut connection = self.connection();
        let reply: String = redis::cmd("PING").query_async(&mut connection).await?;
        if reply == "PONG" {
            Ok(())
        } else {
            Err(redis::RedisError::from((
                redis::ErrorKind::Client,
                "unexpected ping reply",
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_client_is_rebuilt_with_nodelay_and_keeps_its_address() {
        for url in ["redis://127.0.0.1:6379/2", "rediss://redis.example:6380"] {
            let client = redis::Client::open(url).expect("url");
            assert!(!client.get_connection_info().tcp_settings().nodelay());
            let rebuilt = without_nagle(&client).expect("rebuilt");
            let info = rebuilt.get_connection_info();
            assert!(info.tcp_settings().nodelay(), "{url}");
            assert_eq!(info.addr(), client.get_connection_info().addr(), "{url}");
            assert_eq!(
                info.redis_settings().db(),
                client.get_connection_info().redis_settings().db()
            );
        }
    }
}
