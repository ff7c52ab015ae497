//! The write path of each SQLite file: write transactions of this process take turns in arrival
//! order (`Db::begin_write`) instead of sleeping in SQLite's busy handler, on the file's one
//! writer connection; after migrations every idle connection reads the new schema.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, PoisonError, Weak};
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::sqlite::SqlitePoolOptions;

use crate::storage::{PoolSettings, StorageError};

/// A write transaction's turn on a SQLite file, held until the transaction ends. Writers of one
/// file in this process queue for it in arrival order: without it they would meet SQLite's
/// write lock and sleep in its busy handler (1 to 100 ms a try) however soon the lock is freed.
#[derive(Debug)]
pub struct WriteTurn {
    _turn: tokio::sync::OwnedMutexGuard<()>,
    _queue: Arc<WriteQueue>,
}

/// The write queue of one SQLite file.
#[derive(Debug, Default)]
struct WriteQueue {
    turn: Arc<tokio::sync::Mutex<()>>,
    /// Writers waiting for their turn.
    waiting: AtomicUsize,
}

/// How long a writer waits for its turn before going on without it (SQLite's busy timeout then
/// applies, as it did before the queue: a task that nests two write transactions on one file
/// gets "database is locked", not a hang).
const WRITE_TURN_WAIT: Duration = Duration::from_secs(5);

/// The write queue of each SQLite file with transactions in flight (an entry lives while a
/// turn holds or waits for it).
static SQLITE_WRITE_QUEUES: LazyLock<std::sync::Mutex<HashMap<PathBuf, Weak<WriteQueue>>>> =
    LazyLock::new(Default::default);

/// The key of `pool`'s file in [`SQLITE_WRITE_QUEUES`], as its URL names it (pools naming one
/// file by two paths queue apart and meet the busy handler, as before); `None` in memory.
fn queue_key(pool: &SqlitePool) -> Option<PathBuf> {
    let options = pool.connect_options();
    let file = options.get_filename();
    if file.as_os_str().is_empty() || file == Path::new(":memory:") {
        return None;
    }
    Some(file.to_path_buf())
}

/// The write queue of `pool`'s file, made when no writer holds or waits for one.
fn write_queue(pool: &SqlitePool) -> Option<Arc<WriteQueue>> {
    let file = queue_key(pool)?;
    let mut queues = SQLITE_WRITE_QUEUES
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if let Some(queue) = queues.get(&file).and_then(Weak::upgrade) {
        return Some(queue);
    }
    if queues.len() >= 64 {
        queues.retain(|_, queue| queue.strong_count() > 0);
    }
    let queue = Arc::new(WriteQueue::default());
    queues.insert(file, Arc::downgrade(&queue));
    Some(queue)
}

/// Waits for a write turn on `pool`'s file; `None` for an in-memory database or when the wait
/// timed out.
pub(crate) async fn write_turn(pool: &SqlitePool) -> Option<WriteTurn> {
    let queue = write_queue(pool)?;
    queue.waiting.fetch_add(1, Ordering::SeqCst);
    let turn = tokio::time::timeout(WRITE_TURN_WAIT, queue.turn.clone().lock_owned()).await;
    queue.waiting.fetch_sub(1, Ordering::SeqCst);
    match turn {
        Ok(turn) => Some(WriteTurn {
            _turn: turn,
            _queue: queue,
        }),
        Err(_) => {
            tracing::warn!("no SQLite write turn within {WRITE_TURN_WAIT:?}: writing without it");
            None
        }
    }
}

/// Writers of this process waiting for their turn on `pool`'s file.
pub(crate) fn writers_waiting(pool: &SqlitePool) -> usize {
    queue_key(pool)
        .and_then(|file| {
            let queues = SQLITE_WRITE_QUEUES
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            queues.get(&file).and_then(Weak::upgrade)
        })
        .map_or(0, |queue| queue.waiting.load(Ordering::SeqCst))
}

/// The one connection every write transaction of a SQLite file (`Db::begin_write`) runs on, in
/// turn. SQLite drops a connection's whole page cache when another connection changed the file,
/// so writers spread over the pool re-read every page they touch (session 40: ~380 `pread` per
/// ReportCall on `pingan dev`); one writer keeps its cache across its own commits. Reads outside
/// a write transaction stay on the pool, so a writer that reads through the pool never waits on
/// itself. `None` for an in-memory database, where another connection is another database.
#[derive(Debug, Clone)]
pub struct SqliteWriter(Option<SqlitePool>);

impl SqliteWriter {
    pub(crate) fn for_pool(pool: &SqlitePool, settings: &PoolSettings) -> Self {
        if queue_key(pool).is_none() {
            return Self(None);
        }
        let options = pool.connect_options();
        Self(Some(
            SqlitePoolOptions::new()
                .max_connections(1)
                .acquire_timeout(settings.acquire_timeout)
                .test_before_acquire(false)
                .max_lifetime(None)
                .idle_timeout(None)
                .connect_lazy_with((*options).clone()),
        ))
    }

    /// No writer of its own (a probe pool, an in-memory database): writers use the pool.
    pub(crate) fn none() -> Self {
        Self(None)
    }

    /// The writer's pool of one connection, if the file has one.
    pub(crate) fn pool(&self) -> Option<&SqlitePool> {
        self.0.as_ref()
    }

    /// Closes the writer connection.
    pub(crate) async fn close(&self) {
        if let Some(writer) = &self.0 {
            writer.close().await;
        }
    }
}

/// Has every idle connection of the file read the schema the migrations left. A connection
/// opened before them keeps its old view until its next read, and a `SELECT *` prepared on it
/// then decodes the old columns (sqlx panics on the count): grid-registry's upgrade test, once
/// its data step moved to the writer connection.
pub(crate) async fn refresh_schema(
    pool: &SqlitePool,
    writer: &SqliteWriter,
) -> Result<(), StorageError> {
    const READ_SCHEMA: &str = "SELECT COUNT(*) FROM sqlite_schema";
    let mut held = Vec::new();
    let pools = std::iter::once(pool).chain(writer.0.as_ref());
    for pool in pools {
        while let Some(mut conn) = pool.try_acquire() {
            sqlx::query(READ_SCHEMA).execute(&mut *conn).await?;
            held.push(conn);
        }
    }
    Ok(())
}
