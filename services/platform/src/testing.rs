//! Test support shared by every service's conformance suite and the end-to-end harness:
//! fresh databases per test on SQLite (temp files) or Postgres (`PINGAN_TEST_DATABASE_URL`),
//! and Redis key prefixes per test (`PINGAN_TEST_REDIS_URL`). A configured server that cannot
//! be reached is an error, never a skip.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::redis_store::RedisStore;
use crate::storage::{Backend, Db, Migrations, PoolSettings, StorageError};

/// Generates one `#[tokio::test]` per backend for each named `async fn(Backend)`:
/// `backend_tests!(round_trip);` → `round_trip::sqlite` and `round_trip::postgres`.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::storage::Backend::Sqlite).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name($crate::storage::Backend::Postgres).await
            }
        }
    )*};
}

/// Postgres server for tests (an admin URL; each test creates its own database on it).
pub const DATABASE_URL_VAR: &str = "PINGAN_TEST_DATABASE_URL";
/// Redis server for tests.
pub const REDIS_URL_VAR: &str = "PINGAN_TEST_REDIS_URL";

/// Errors setting a test backend up.
#[derive(Debug, thiserror::Error)]
pub enum TestSetupError {
    /// The variable naming the server is not set.
    #[error(
        "{0} is not set: run `make test`, or export it (e.g. postgres://postgres@127.0.0.1:5432/postgres)"
    )]
    MissingVar(&'static str),
    /// The database could not be created or reached.
    #[error("test database: {0}")]
    Storage(#[from] StorageError),
    /// Redis could not be reached.
    #[error("test redis: {0}")]
    Redis(#[from] redis::RedisError),
    /// Local files.
    #[error("test files: {0}")]
    Io(#[from] std::io::Error),
    /// Certificates for a TLS server.
    #[error("test certificates: {0}")]
    Tls(#[from] crate::tls::TlsError),
    /// A server the test starts did not come up.
    #[error("test server: {0}")]
    Server(String),
}

#[path = "testing_tls_redis.rs"]
mod tls_redis;
pub use tls_redis::{REDIS_CERT_NAME, TlsRedisServer, client_tls as redis_client_tls};

/// A unique, sortable name for one test's resources.
pub fn unique_name(prefix: &str) -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    format!("{prefix}_{secs}_{}", uuid::Uuid::now_v7().simple())
}

/// How long test set-up waits for a database connection (production pools fail after 2 s).
pub const SETUP_ACQUIRE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);

/// One test's own database, dropped by [`TestDatabase::cleanup`].
#[derive(Debug)]
pub struct TestDatabase {
    /// The pool, migrations applied.
    pub db: Db,
    /// The URL of this database (to start a service on it).
    pub url: String,
    admin_url: Option<String>,
    name: String,
    file: Option<PathBuf>,
}

impl TestDatabase {
    /// Creates a fresh, migrated database on `backend`.
    pub async fn create(backend: Backend, migrations: &Migrations) -> Result<Self, TestSetupError> {
        let name = unique_name("pingan_t");
        // Set-up, not a served call: a loaded CI machine may take seconds to open a connection
        // right after CREATE DATABASE, beyond the fail-fast 2 s of production pools.
        let settings = PoolSettings {
            max_connections: 5,
            acquire_timeout: SETUP_ACQUIRE_TIMEOUT,
            ..PoolSettings::default()
        };
        match backend {
            Backend::Sqlite => {
                let file = std::env::temp_dir().join(format!("{name}.db"));
                let url = format!("sqlite://{}", file.display());
                let db = Db::connect_and_migrate(&url, &settings, migrations).await?;
                Ok(Self {
                    db,
                    url,
                    admin_url: None,
                    name,
                    file: Some(file),
                })
            }
            Backend::Postgres => {
                let admin_url = std::env::var(DATABASE_URL_VAR)
                    .map_err(|_| TestSetupError::MissingVar(DATABASE_URL_VAR))?;
                let admin = Db::connect(&admin_url, &settings).await?;
                drop_stale_databases(&admin).await;
                let create = format!("CREATE DATABASE \"{name}\"");
                crate::with_db!(&admin, pool => sqlx::query(sqlx::AssertSqlSafe(create)).execute(pool).await.map(|r| r.rows_affected()))
                    .map_err(StorageError::from)?;
                admin.close().await;
                let url = replace_database(&admin_url, &name);
                let db = Db::connect_and_migrate(&url, &settings, migrations).await?;
                Ok(Self {
                    db,
                    url,
                    admin_url: Some(admin_url),
                    name,
                    file: None,
                })
            }
        }
    }

    /// Closes the pool and removes the database.
    pub async fn cleanup(self) {
        self.db.close().await;
        if let Some(file) = &self.file {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
            }
        }
        if let Some(admin_url) = &self.admin_url
            && let Ok(admin) = Db::connect(
                admin_url,
                &PoolSettings {
                    acquire_timeout: SETUP_ACQUIRE_TIMEOUT,
                    ..PoolSettings::default()
                },
            )
            .await
        {
            let drop = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
            let _ = crate::with_db!(&admin, pool => sqlx::query(sqlx::AssertSqlSafe(drop)).execute(pool).await.map(|r| r.rows_affected()));
            admin.close().await;
        }
    }
}

/// Removes test databases left behind by runs that died more than an hour ago.
async fn drop_stale_databases(admin: &Db) {
    const LIST: &str = "SELECT datname FROM pg_database WHERE datname LIKE 'pingan\\_t\\_%'";
    let Ok(names) =
        crate::with_db!(admin, pool => sqlx::query_scalar::<_, String>(LIST).fetch_all(pool).await)
    else {
        return;
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    for name in names {
        let created = name
            .split('_')
            .nth(2)
            .and_then(|secs| secs.parse::<u64>().ok());
        if created.is_some_and(|secs| now.saturating_sub(secs) > 3600) {
            let drop = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
            let _ = crate::with_db!(admin, pool => sqlx::query(sqlx::AssertSqlSafe(drop)).execute(pool).await.map(|r| r.rows_affected()));
        }
    }
}

/// `url` with its database name replaced.
pub fn replace_database(url: &str, database: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            parsed.set_path(&format!("/{database}"));
            parsed.to_string()
        }
        Err(_) => url.to_owned(),
    }
}

/// One test's Redis: the shared server with a key prefix of its own.
pub async fn test_redis() -> Result<RedisStore, TestSetupError> {
    let url =
        std::env::var(REDIS_URL_VAR).map_err(|_| TestSetupError::MissingVar(REDIS_URL_VAR))?;
    let store = RedisStore::connect(&url, &format!("{}:", unique_name("pingan_t"))).await?;
    store.ping().await?;
    Ok(store)
}

/// Deletes every key under the store's prefix.
pub async fn cleanup_redis(store: &RedisStore) {
    let mut connection = store.connection();
    let pattern = format!("{}*", store.prefix());
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(&pattern)
        .query_async(&mut connection)
        .await
        .unwrap_or_default();
    if !keys.is_empty() {
        let _: Result<i64, _> = redis::cmd("DEL")
            .arg(&keys)
            .query_async(&mut connection)
            .await;
    }
}

/// A TCP proxy in front of a server (Postgres, Redis, a peer service) that a test can cut and
/// restore, to show what happens while a dependency is unreachable.
#[derive(Debug)]
pub struct TcpProxy {
    local: std::net::SocketAddr,
    state: std::sync::Arc<ProxyState>,
    acceptor: tokio::task::JoinHandle<()>,
}

#[derive(Debug, Default)]
struct ProxyState {
    /// `host:port` it forwards to; none yet: connections are closed at once.
    target: std::sync::Mutex<Option<String>>,
    cut: std::sync::atomic::AtomicBool,
    connections: std::sync::Mutex<Vec<tokio::task::AbortHandle>>,
}

impl TcpProxy {
    /// Listens on an ephemeral loopback port and forwards to `target` (`host:port`).
    pub async fn start(target: &str) -> std::io::Result<Self> {
        let proxy = Self::unpointed().await?;
        proxy.point_at(target);
        Ok(proxy)
    }

    /// Listens before its target exists (a service started with the proxy as its peer); see
    /// [`TcpProxy::point_at`].
    pub async fn unpointed() -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let local = listener.local_addr()?;
        let state = std::sync::Arc::new(ProxyState::default());
        let acceptor = tokio::spawn(Self::accept_loop(listener, state.clone()));
        Ok(Self {
            local,
            state,
            acceptor,
        })
    }

    /// Forwards new connections to `target` (`host:port`, an `http://` prefix is dropped).
    pub fn point_at(&self, target: &str) {
        let target = target.trim_start_matches("http://").to_owned();
        if let Ok(mut slot) = self.state.target.lock() {
            *slot = Some(target);
        }
    }

    async fn accept_loop(listener: tokio::net::TcpListener, state: std::sync::Arc<ProxyState>) {
        use std::sync::atomic::Ordering;
        while let Ok((mut inbound, _)) = listener.accept().await {
            let target = state.target.lock().ok().and_then(|t| t.clone());
            // The cut is checked under the connections' lock, which `cut` takes after setting
            // it: a connection is either refused here or aborted there, never left through.
            let Ok(mut connections) = state.connections.lock() else {
                continue;
            };
            let Some(target) = target.filter(|_| !state.cut.load(Ordering::SeqCst)) else {
                drop(inbound); // refused in effect: closed at once
                continue;
            };
            let task = tokio::spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
            connections.retain(|c| !c.is_finished());
            connections.push(task.abort_handle());
        }
    }

    /// The proxy's own address.
    pub fn local_addr(&self) -> std::net::SocketAddr {
        self.local
    }

    /// The proxy as a gRPC endpoint URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.local)
    }

    /// The address it forwards to.
    pub fn target(&self) -> Option<String> {
        self.state.target.lock().ok().and_then(|t| t.clone())
    }

    /// Drops every open connection and closes new ones at once, until [`TcpProxy::restore`].
    pub fn cut(&self) {
        self.state
            .cut
            .store(true, std::sync::atomic::Ordering::SeqCst);
        if let Ok(mut connections) = self.state.connections.lock() {
            for connection in connections.drain(..) {
                connection.abort();
            }
        }
    }

    /// Forwards again.
    pub fn restore(&self) {
        self.state
            .cut
            .store(false, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.cut();
        self.acceptor.abort();
    }
}

/// `url` with its host and port replaced by `addr` (to route a client through a [`TcpProxy`]).
pub fn replace_host_port(url: &str, addr: std::net::SocketAddr) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            let _ = parsed.set_host(Some(&addr.ip().to_string()));
            let _ = parsed.set_port(Some(addr.port()));
            parsed.to_string()
        }
        Err(_) => url.to_owned(),
    }
}

/// `host:port` of a URL (default port when absent).
pub fn host_port(url: &str, default_port: u16) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    let host = parsed.host_str()?.to_owned();
    Some(format!("{host}:{}", parsed.port().unwrap_or(default_port)))
}
