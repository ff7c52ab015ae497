//! Storage: a typed sqlx pool chosen by URL (`postgres://…` or `sqlite://…`), each service's
//! migrations applied at start, and the macros that let a service write portable SQL once.
//!
//! SQL is written once as `const &str` with `$1…$N` placeholders (SQLite binds `$N` by number)
//! and run on either typed pool by [`with_db!`] / [`with_tx!`], which expand the same code for
//! both backends. We never use `AnyPool`: it cannot decode TIMESTAMPTZ, UUID or SQLite booleans.

use std::str::FromStr;
use std::sync::LazyLock;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, Postgres, Sqlite, SqlitePool, Transaction};

/// The two storage backends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// PostgreSQL: the cluster shape, one database per service.
    Postgres,
    /// SQLite files: the embedded `pingan dev` shape.
    Sqlite,
}

impl Backend {
    /// The backend a database URL names.
    pub fn from_url(url: &str) -> Result<Self, StorageError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres)
        } else if url.starts_with("sqlite:") {
            Ok(Self::Sqlite)
        } else {
            Err(StorageError::Other(
                format!(
                    "unsupported database url scheme (want postgres:// or sqlite:): {}",
                    redact_url(url)
                )
                .into(),
            ))
        }
    }
}

/// A service's migrations for both backends (`migrations/postgres`, `migrations/sqlite`).
#[derive(Debug, Clone, Copy)]
pub struct Migrations {
    /// Applied on Postgres.
    pub postgres: &'static Migrator,
    /// Applied on SQLite.
    pub sqlite: &'static Migrator,
}

/// The platform's own tables (outbox, inbox, request log), kept apart from each service's
/// migration history so service versions never collide with platform versions.
static PLATFORM_POSTGRES: LazyLock<Migrator> = LazyLock::new(|| {
    let mut migrator = sqlx::migrate!("./migrations/postgres");
    migrator.dangerous_set_table_name("_pingan_platform_migrations");
    migrator
});
static PLATFORM_SQLITE: LazyLock<Migrator> = LazyLock::new(|| {
    let mut migrator = sqlx::migrate!("./migrations/sqlite");
    migrator.dangerous_set_table_name("_pingan_platform_migrations");
    migrator
});

/// A connection pool to one service's database.
#[derive(Debug, Clone)]
pub enum Db {
    /// Postgres pool.
    Postgres(PgPool),
    /// SQLite pool, and the connection its write transactions take in turn.
    Sqlite(SqlitePool, crate::sqlite_write_queue::SqliteWriter),
}

/// A transaction on either backend.
#[derive(Debug)]
pub enum Tx {
    /// Postgres transaction.
    Postgres(Transaction<'static, Postgres>),
    /// SQLite transaction, with its turn in the file's write queue when it began as a writer.
    Sqlite(
        Transaction<'static, Sqlite>,
        Option<crate::sqlite_write_queue::WriteTurn>,
    ),
}

/// Runs one expression on the typed pool, whichever backend it is. Both arms must have one type,
/// so map backend-specific results: `with_db!(db, pool => sqlx::query(SQL).bind(id)
/// .execute(pool).await.map(|r| r.rows_affected()))`.
#[macro_export]
macro_rules! with_db {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::storage::Db::Postgres($pool) => $body,
            $crate::storage::Db::Sqlite($pool, _) => $body,
        }
    };
}

/// Runs one expression on the connection of an open transaction:
/// `with_tx!(tx, conn => sqlx::query(SQL).execute(&mut *conn).await)`.
#[macro_export]
macro_rules! with_tx {
    ($tx:expr, $conn:ident => $body:expr) => {
        match $tx {
            $crate::storage::Tx::Postgres(tx) => {
                let $conn = &mut **tx;
                $body
            }
            $crate::storage::Tx::Sqlite(tx, _) => {
                let $conn = &mut **tx;
                $body
            }
        }
    };
}

/// Pool settings.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    /// Most connections the pool opens.
    pub max_connections: u32,
    /// How long a caller waits for a connection before the database counts as unavailable.
    pub acquire_timeout: Duration,
    /// A connection older than this is closed and replaced when it returns to the pool (after a
    /// failover, old connections to the former primary are recycled at the latest then); `None`
    /// keeps connections forever.
    pub max_lifetime: Option<Duration>,
    /// An idle connection is closed after this long; `None` keeps idle connections.
    pub idle_timeout: Option<Duration>,
    /// Checks an idle connection (a round trip) before handing it out, so a connection broken by
    /// a database restart or failover is replaced instead of failing the caller's statement.
    /// Postgres only: a SQLite file has no server to lose.
    pub test_before_acquire: bool,
    /// Prepared statements kept per connection (sqlx's default is 100); each costs memory on
    /// the connection, so a process with many small pools keeps fewer.
    pub statement_cache_capacity: usize,
    /// Page cache per SQLite connection in KiB (`PRAGMA cache_size`; SQLite's default is 2,000).
    /// The operating system caches the file too, so a small cache costs reads, not durability.
    pub sqlite_cache_kib: u32,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(2),
            max_lifetime: Some(Duration::from_secs(30 * 60)),
            idle_timeout: Some(Duration::from_secs(10 * 60)),
            test_before_acquire: true,
            statement_cache_capacity: 100,
            sqlite_cache_kib: 2000,
        }
    }
}

impl PoolSettings {
    /// The embedded shape (`pingan dev`): six services' SQLite pools in one process, where each
    /// connection's statements and page cache add up (docs/benchmarks.md, session 39: 24
    /// statements and 256 KiB instead of 100 and 2,000 KiB, 142 → 115 MiB after 5,000 calls).
    pub fn embedded() -> Self {
        Self {
            max_connections: 4,
            statement_cache_capacity: 24,
            sqlite_cache_kib: 256,
            ..Self::default()
        }
    }
}

impl Db {
    /// Opens a pool for `url` (creating a SQLite file if missing) without applying migrations.
    pub async fn connect(url: &str, settings: &PoolSettings) -> Result<Self, StorageError> {
        let backend = Backend::from_url(url)?;
        crate::db_spans::note_backend(backend);
        match backend {
            Backend::Postgres => {
                let options = PgConnectOptions::from_str(url)
                    .map_err(StorageError::from)?
                    .statement_cache_capacity(settings.statement_cache_capacity);
                let pool = PgPoolOptions::new()
                    .max_connections(settings.max_connections)
                    .acquire_timeout(settings.acquire_timeout)
                    .max_lifetime(settings.max_lifetime)
                    .idle_timeout(settings.idle_timeout)
                    .test_before_acquire(settings.test_before_acquire)
                    .connect_with(options)
                    .await?;
                Ok(Self::Postgres(pool))
            }
            Backend::Sqlite => {
                // FULL sync: a committed call must survive a power cut.
                let options = SqliteConnectOptions::from_str(url)
                    .map_err(StorageError::from)?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Full)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(5))
                    .statement_cache_capacity(settings.statement_cache_capacity)
                    // Negative: a size in KiB rather than in pages.
                    .pragma("cache_size", format!("-{}", settings.sqlite_cache_kib));
                // No ping before a connection is handed out: sqlx's SQLite ping is a round trip
                // to the connection's worker thread that touches nothing (~0.5 ms of CPU per
                // ReportCall on `pingan dev`), and a file does not drop connections.
                let pool = SqlitePoolOptions::new()
                    .max_connections(settings.max_connections)
                    .acquire_timeout(settings.acquire_timeout)
                    .max_lifetime(settings.max_lifetime)
                    .idle_timeout(settings.idle_timeout)
                    .test_before_acquire(false)
                    .connect_with(options)
                    .await?;
                let writer = crate::sqlite_write_queue::SqliteWriter::for_pool(&pool, settings);
                Ok(Self::Sqlite(pool, writer))
            }
        }
    }

    /// Opens a pool and applies the service's migrations.
    pub async fn connect_and_migrate(
        url: &str,
        settings: &PoolSettings,
        migrations: &Migrations,
    ) -> Result<Self, StorageError> {
        let db = Self::connect(url, settings).await?;
        db.migrate(migrations).await?;
        Ok(db)
    }

    /// Applies the platform's tables, then the service's migrations, for this backend.
    pub async fn migrate(&self, migrations: &Migrations) -> Result<(), StorageError> {
        match self {
            Self::Postgres(pool) => {
                PLATFORM_POSTGRES.run(pool).await?;
                migrations.postgres.run(pool).await?;
            }
            Self::Sqlite(pool, writer) => {
                PLATFORM_SQLITE.run(pool).await?;
                migrations.sqlite.run(pool).await?;
                crate::sqlite_write_queue::refresh_schema(pool, writer).await?;
            }
        }
        Ok(())
    }

    /// Which backend this is.
    pub fn backend(&self) -> Backend {
        match self {
            Self::Postgres(_) => Backend::Postgres,
            Self::Sqlite(..) => Backend::Sqlite,
        }
    }

    /// Picks the statement for this backend where the SQL really differs.
    pub fn pick(&self, postgres: &'static str, sqlite: &'static str) -> &'static str {
        match self {
            Self::Postgres(_) => postgres,
            Self::Sqlite(..) => sqlite,
        }
    }

    /// Checks that the database answers, through the service's own pool (a full pool waits).
    pub async fn ping(&self) -> Result<(), StorageError> {
        const PING: &str = "SELECT 1";
        with_db!(self, pool => sqlx::query(PING).execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// A pool of at most one connection to the same database, opened on first use, for the
    /// health probe: a probe through the service's own pool would wait behind a burst of calls
    /// and report a busy database as a down one.
    pub fn probe_pool(&self, acquire_timeout: Duration) -> Self {
        match self {
            Self::Postgres(pool) => Self::Postgres(
                PgPoolOptions::new()
                    .max_connections(1)
                    .acquire_timeout(acquire_timeout)
                    .test_before_acquire(false)
                    .connect_lazy_with((*pool.connect_options()).clone()),
            ),
            Self::Sqlite(pool, _) => Self::Sqlite(
                SqlitePoolOptions::new()
                    .max_connections(1)
                    .acquire_timeout(acquire_timeout)
                    .test_before_acquire(false)
                    .connect_lazy_with((*pool.connect_options()).clone()),
                crate::sqlite_write_queue::SqliteWriter::none(),
            ),
        }
    }

    /// One `SELECT 1` on a connection of this (probe) pool; a connection that fails is closed,
    /// so the next probe opens a fresh one (that is how a probe sees the database return).
    pub async fn probe(&self) -> Result<(), StorageError> {
        const PING: &str = "SELECT 1";
        with_db!(self, pool => {
            let mut conn = pool.acquire().await?;
            let answered = sqlx::query(PING).execute(&mut *conn).await.map(|_| ());
            if answered.is_err() {
                conn.close_on_drop();
            }
            answered
        })?;
        Ok(())
    }

    /// True once the pool was closed ([`Db::close`]): nothing can be served from it any more.
    pub fn is_closed(&self) -> bool {
        with_db!(self, pool => pool.is_closed())
    }

    /// Runs a read-only, idempotent `read` and, when it fails because a connection broke (the
    /// database restarted or failed over under a pooled connection), once more on another
    /// connection. Never use it for writes: a write whose connection broke may have committed.
    pub async fn retry_read<T, F, Fut>(&self, mut read: F) -> Result<T, StorageError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, StorageError>>,
    {
        match read().await {
            Err(err) if err.is_broken_connection() => {
                tracing::debug!(error = %err, "read failed on a broken connection; retrying once");
                read().await
            }
            other => other,
        }
    }

    /// Starts a read transaction (one consistent snapshot). On SQLite it takes no write lock and
    /// skips the write queue: a transaction that writes must use [`Db::begin_write`].
    pub async fn begin(&self) -> Result<Tx, StorageError> {
        Ok(match self {
            Self::Postgres(pool) => Tx::Postgres(pool.begin().await?),
            Self::Sqlite(pool, _) => Tx::Sqlite(pool.begin().await?, None),
        })
    }

    /// Starts a transaction that will read and then write: on SQLite it waits for its turn in
    /// the file's write queue, then takes the write lock at BEGIN (`BEGIN IMMEDIATE`), because a
    /// read lock cannot be upgraded once another writer committed ("database is locked"); on
    /// Postgres it is a plain transaction (lock rows with `SELECT … FOR UPDATE` where the read
    /// decides the write).
    pub async fn begin_write(&self) -> Result<Tx, StorageError> {
        Ok(match self {
            Self::Postgres(pool) => Tx::Postgres(pool.begin().await?),
            Self::Sqlite(pool, writer) => {
                let turn = crate::sqlite_write_queue::write_turn(pool).await;
                let on = writer.pool().unwrap_or(pool);
                Tx::Sqlite(on.begin_with("BEGIN IMMEDIATE").await?, turn)
            }
        })
    }

    /// Write transactions of this process waiting for their turn on this SQLite file (always 0
    /// on Postgres, whose writers lock rows, not the database).
    pub fn writers_waiting(&self) -> usize {
        match self {
            Self::Postgres(_) => 0,
            Self::Sqlite(pool, _) => crate::sqlite_write_queue::writers_waiting(pool),
        }
    }

    /// Closes every connection.
    pub async fn close(&self) {
        if let Self::Sqlite(_, writer) = self {
            writer.close().await;
        }
        with_db!(self, pool => pool.close().await);
    }
}

impl Tx {
    /// Commits the transaction.
    pub async fn commit(self) -> Result<(), StorageError> {
        match self {
            Self::Postgres(tx) => tx.commit().await?,
            Self::Sqlite(tx, _turn) => tx.commit().await?,
        }
        Ok(())
    }

    /// Rolls the transaction back.
    pub async fn rollback(self) -> Result<(), StorageError> {
        match self {
            Self::Postgres(tx) => tx.rollback().await?,
            Self::Sqlite(tx, _turn) => tx.rollback().await?,
        }
        Ok(())
    }
}

/// Storage failures in domain terms, mapped from sqlx errors by SQLSTATE in one place.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// No row matched.
    #[error("not found")]
    NotFound,
    /// A unique constraint was violated (the record already exists).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The database cannot be reached or is busy; retrying may help.
    #[error("database unavailable: {0}")]
    Unavailable(#[source] sqlx::Error),
    /// Anything else.
    #[error("database error: {0}")]
    Other(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl From<sqlx::Error> for StorageError {
    fn from(err: sqlx::Error) -> Self {
        match &err {
            sqlx::Error::RowNotFound => Self::NotFound,
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => Self::Unavailable(err),
            sqlx::Error::Database(db_err) => {
                if db_err.is_unique_violation() {
                    let what = db_err
                        .constraint()
                        .unwrap_or("unique constraint")
                        .to_owned();
                    return Self::Conflict(what);
                }
                let code = db_err.code().map(|c| c.into_owned()).unwrap_or_default();
                if is_transient_code(&code) {
                    Self::Unavailable(err)
                } else {
                    Self::Other(Box::new(err))
                }
            }
            _ => Self::Other(Box::new(err)),
        }
    }
}

impl StorageError {
    /// True when the statement failed because its connection broke (I/O, TLS or protocol error,
    /// a connection exception, the server shutting down): another connection may succeed.
    pub fn is_broken_connection(&self) -> bool {
        match self {
            Self::Unavailable(err) => match err {
                sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::Protocol(_) => true,
                sqlx::Error::Database(db_err) => db_err
                    .code()
                    .is_some_and(|code| code.starts_with("08") || code.starts_with("57P0")),
                _ => false,
            },
            _ => false,
        }
    }
}

impl From<sqlx::migrate::MigrateError> for StorageError {
    fn from(err: sqlx::migrate::MigrateError) -> Self {
        match err {
            sqlx::migrate::MigrateError::Execute(inner) => inner.into(),
            other => Self::Other(Box::new(other)),
        }
    }
}

/// SQLSTATEs (Postgres) and result codes (SQLite) that mean "try again later".
fn is_transient_code(code: &str) -> bool {
    // Postgres: connection exceptions (08xxx), shutdown (57P0x), too many connections (53300),
    // database dropped or not yet created (3D000), serialization/deadlock (40001, 40P01), and a
    // write sent to a server that became a read-only standby during a failover (25006).
    code.starts_with("08")
        || code.starts_with("57P0")
        || matches!(code, "53300" | "3D000" | "40001" | "40P01" | "25006")
        // SQLite: SQLITE_BUSY (5), SQLITE_LOCKED (6), extended busy codes.
        || matches!(code, "5" | "6" | "261" | "517" | "262")
}

/// A database URL with any password removed, safe for logs.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        Ok(parsed) => parsed.to_string(),
        Err(_) => "<unparseable url>".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_follows_url_scheme() {
        assert_eq!(
            Backend::from_url("postgres://u@h/db").ok(),
            Some(Backend::Postgres)
        );
        assert_eq!(
            Backend::from_url("postgresql://u@h/db").ok(),
            Some(Backend::Postgres)
        );
        assert_eq!(
            Backend::from_url("sqlite://data/intake.db").ok(),
            Some(Backend::Sqlite)
        );
        assert!(Backend::from_url("mysql://u@h/db").is_err());
    }

    #[test]
    fn passwords_never_reach_logs() {
        let redacted = redact_url("postgres://pingan:s3cret@db:5432/intake");
        assert!(!redacted.contains("s3cret"));
        assert!(redacted.contains("db:5432/intake"));
    }

    #[test]
    fn broken_connections_are_unavailable_and_retryable_for_reads() {
        let io: StorageError =
            sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionReset)).into();
        assert!(matches!(io, StorageError::Unavailable(_)));
        assert!(io.is_broken_connection());
        let protocol: StorageError = sqlx::Error::Protocol("unexpected message".into()).into();
        assert!(matches!(protocol, StorageError::Unavailable(_)));
        assert!(protocol.is_broken_connection());
        let timed_out: StorageError = sqlx::Error::PoolTimedOut.into();
        assert!(matches!(timed_out, StorageError::Unavailable(_)));
        assert!(
            !timed_out.is_broken_connection(),
            "a full pool is not a broken connection"
        );
        assert!(!StorageError::NotFound.is_broken_connection());
    }

    #[tokio::test]
    async fn a_read_is_retried_once_after_a_broken_connection_and_never_more() {
        let db = Db::connect("sqlite::memory:", &PoolSettings::default())
            .await
            .expect("memory db");
        let counter = std::sync::atomic::AtomicUsize::new(0);
        let attempts = &counter;
        let broken = || StorageError::Unavailable(sqlx::Error::Protocol("reset".into()));
        let once = db
            .retry_read(move || async move {
                let n = attempts.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                if n == 0 { Err(broken()) } else { Ok(n) }
            })
            .await;
        assert_eq!(once.ok(), Some(1));
        attempts.store(0, std::sync::atomic::Ordering::SeqCst);
        let always = db
            .retry_read(move || async move {
                attempts.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                Err::<(), _>(broken())
            })
            .await;
        assert!(always.is_err());
        assert_eq!(attempts.load(std::sync::atomic::Ordering::SeqCst), 2);
    }

    #[test]
    fn transient_codes_are_retryable() {
        assert!(is_transient_code("08006"));
        assert!(is_transient_code("57P01"));
        assert!(is_transient_code("5"));
        assert!(
            is_transient_code("25006"),
            "read-only transaction during a failover"
        );
        assert!(!is_transient_code("23505"));
        assert!(!is_transient_code("42P01"));
    }
}
