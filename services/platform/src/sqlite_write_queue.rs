//! The write queue of each SQLite file: write transactions of this process take turns in
//! arrival order (`Db::begin_write`) instead of sleeping in SQLite's busy handler.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, PoisonError, Weak};
use std::time::Duration;

use sqlx::SqlitePool;

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
