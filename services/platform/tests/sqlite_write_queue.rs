//! Writers of one SQLite file take turns in the order they arrived, queued in the process
//! instead of sleeping in SQLite's busy handler (which wakes waiters 1 to 100 ms apart, the
//! latest arrivals most often first). SQLite only: Postgres writers lock rows, not the file.

use std::time::Duration;

use chrono::Utc;
use pingan_platform::storage::{Backend, Migrations};
use pingan_platform::testing::TestDatabase;
use pingan_platform::{with_db, with_tx};

static POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("./tests/migrations/postgres");
static SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("./tests/migrations/sqlite");
static MIGRATIONS: Migrations = Migrations {
    postgres: &POSTGRES,
    sqlite: &SQLITE,
};

const INSERT: &str = "INSERT INTO probe_records (id, name, active, payload, hits, recorded_at) \
                      VALUES ($1, $1, TRUE, $2, 0, $3)";
const IN_ORDER: &str = "SELECT id FROM probe_records ORDER BY rowid";

/// Writers queued behind the one holding the file.
const WRITERS: usize = 8;
/// Long enough for a writer that is not blocked to reach its turn on a loaded machine.
const PATIENCE: Duration = Duration::from_secs(30);

/// Waits for every task, each within [`PATIENCE`].
async fn all_finish(tasks: Vec<tokio::task::JoinHandle<()>>, what: &str) {
    for task in tasks {
        tokio::time::timeout(PATIENCE, task)
            .await
            .expect(what)
            .expect("task");
    }
}

/// Inserts one probe record named `id` in `tx`.
async fn insert_in(tx: &mut pingan_platform::storage::Tx, id: &str, payload: Vec<u8>) {
    with_tx!(tx, conn => sqlx::query(INSERT).bind(id).bind(payload).bind(Utc::now())
        .execute(&mut *conn).await.map(|r| r.rows_affected()))
    .expect("insert");
}

/// Waits until `count` writers wait for their turn on `db`'s file.
async fn until_waiting(db: &pingan_platform::Db, count: usize) {
    tokio::time::timeout(PATIENCE, async {
        while db.writers_waiting() < count {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await
    .expect("the writer queues");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writers_of_one_file_take_turns_in_arrival_order() {
    let database = TestDatabase::create(Backend::Sqlite, &MIGRATIONS)
        .await
        .expect("test database");
    let db = database.db.clone();
    let mut first = db.begin_write().await.expect("begin");
    insert_in(&mut first, "w00", vec![0u8]).await;
    assert_eq!(db.writers_waiting(), 0);

    let mut writers = Vec::new();
    for n in 1..=WRITERS {
        let writer_db = db.clone();
        writers.push(tokio::spawn(async move {
            let mut tx = writer_db.begin_write().await.expect("begin");
            let id = format!("w{n:02}");
            insert_in(&mut tx, &id, vec![0u8]).await;
            tx.commit().await.expect("commit");
        }));
        // The next writer arrives once this one waits.
        until_waiting(&db, n).await;
    }
    // Held a while: without the queue, waiters would be deep in the busy handler's sleeps.
    tokio::time::sleep(Duration::from_millis(300)).await;
    first.commit().await.expect("commit");
    all_finish(writers, "every writer gets its turn").await;
    assert_eq!(db.writers_waiting(), 0);

    let order: Vec<String> =
        with_db!(&db, pool => sqlx::query_scalar(IN_ORDER).fetch_all(pool).await).expect("read");
    let expected: Vec<String> = (0..=WRITERS).map(|n| format!("w{n:02}")).collect();
    assert_eq!(order, expected, "writers committed in arrival order");
    database.cleanup().await;
}

/// `PRAGMA data_version` of the connection `tx` runs on: it moves only when *another*
/// connection committed a change to the file.
async fn data_version(tx: &mut pingan_platform::storage::Tx) -> i64 {
    with_tx!(tx, conn => sqlx::query_scalar::<_, i64>("PRAGMA data_version")
        .fetch_one(&mut *conn).await)
    .expect("data_version")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn write_transactions_of_one_file_run_on_one_connection() {
    let database = TestDatabase::create(Backend::Sqlite, &MIGRATIONS)
        .await
        .expect("test database");
    let db = database.db.clone();
    let mut first = db.begin_write().await.expect("begin");
    let version = data_version(&mut first).await;
    first.commit().await.expect("commit");
    for n in 0..6 {
        let mut tx = db.begin_write().await.expect("begin");
        // No other connection wrote since: this connection's page cache is still good.
        assert_eq!(
            data_version(&mut tx).await,
            version,
            "writer {n} on another connection"
        );
        let id = format!("one{n}");
        insert_in(&mut tx, &id, vec![0u8]).await;
        tx.commit().await.expect("commit");
    }
    // What the writer committed, the pool's readers see at once.
    let rows: i64 = with_db!(&db, pool => sqlx::query_scalar("SELECT COUNT(*) FROM probe_records")
        .fetch_one(pool).await)
    .expect("read");
    assert_eq!(rows, 6);
    database.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_writers_that_read_through_the_pool_never_wait_on_themselves() {
    const RACERS: usize = 24;
    let database = TestDatabase::create(Backend::Sqlite, &MIGRATIONS)
        .await
        .expect("test database");
    let db = database.db.clone();
    let mut racers = Vec::new();
    for n in 0..RACERS {
        let db = db.clone();
        racers.push(tokio::spawn(async move {
            let mut tx = db.begin_write().await.expect("begin");
            // A read through the pool while this writer holds the file's one writer connection.
            let before: i64 = with_db!(&db, pool => sqlx::query_scalar(
                "SELECT COUNT(*) FROM probe_records").fetch_one(pool).await)
            .expect("pool read inside a write transaction");
            let id = format!("r{n:02}");
            insert_in(&mut tx, &id, before.to_le_bytes().to_vec()).await;
            tx.commit().await.expect("commit");
        }));
    }
    all_finish(racers, "no writer waits on itself").await;
    // Each writer saw every earlier commit: the counts it read are 0..RACERS, once each.
    let seen: Vec<Vec<u8>> = with_db!(&db, pool => sqlx::query_scalar(
        "SELECT payload FROM probe_records ORDER BY rowid").fetch_all(pool).await)
    .expect("read");
    let counts: Vec<i64> = seen
        .iter()
        .map(|p| i64::from_le_bytes(p.as_slice().try_into().expect("eight bytes")))
        .collect();
    assert_eq!(counts, (0..RACERS as i64).collect::<Vec<_>>());
    database.cleanup().await;
}
