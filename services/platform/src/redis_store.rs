//! Redis: one auto-reconnecting connection manager per service, with a key prefix so that
//! several services (or tests) can share one Redis without touching each other's keys.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

pub use redis::RedisError;

/// A Redis connection with the key prefix this service (or test) owns.
#[derive(Clone)]
pub struct RedisStore {
    connection: ConnectionManager,
    client: std::sync::Arc<redis::Client>,
    prefix: String,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .finish()
    }
}

impl RedisStore {
    /// Connects to `url`; every key this store builds starts with `prefix`.
    pub async fn connect(url: &str, prefix: &str) -> redis::RedisResult<Self> {
        let client = redis::Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(3)))
            .set_response_timeout(Some(Duration::from_secs(3)))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_secs(2));
        let connection = ConnectionManager::new_with_config(client.clone(), config).await?;
        Ok(Self {
            connection,
            client: std::sync::Arc::new(client),
            prefix: prefix.to_owned(),
        })
    }

    /// The connection (cheap to clone; reconnects on its own).
    pub fn connection(&self) -> ConnectionManager {
        self.connection.clone()
    }

    /// The client, for connections the manager cannot share (e.g. a pub/sub subscriber).
    pub fn client(&self) -> &redis::Client {
        &self.client
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
        let mut connection = self.connection.clone();
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
