//! Storage conformance on both backends: migrations apply (twice, idempotently), portable SQL
//! written once round-trips text, booleans, bytes, integers and UTC timestamps, and sqlx errors
//! map to domain errors the same way on SQLite and Postgres.

use chrono::{DateTime, SubsecRound, Utc};
use pingan_platform::storage::{Backend, Migrations, StorageError};
use pingan_platform::testing::TestDatabase;
use pingan_platform::{with_db, with_tx};

static POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("./tests/migrations/postgres");
static SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("./tests/migrations/sqlite");
static MIGRATIONS: Migrations = Migrations {
    postgres: &POSTGRES,
    sqlite: &SQLITE,
};

const INSERT: &str = "INSERT INTO probe_records (id, name, active, payload, hits, recorded_at) \
                      VALUES ($1, $2, $3, $4, $5, $6)";
const SELECT: &str =
    "SELECT id, name, active, payload, hits, recorded_at FROM probe_records WHERE id = $1";
const BUMP: &str = "UPDATE probe_records SET hits = hits + $2 WHERE id = $1";
const COUNT: &str = "SELECT COUNT(*) FROM probe_records";

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
struct ProbeRecord {
    id: String,
    name: String,
    active: bool,
    payload: Vec<u8>,
    hits: i64,
    recorded_at: DateTime<Utc>,
}

async fn insert(db: &pingan_platform::Db, record: &ProbeRecord) -> Result<(), StorageError> {
    with_db!(db, pool => sqlx::query(INSERT)
        .bind(&record.id)
        .bind(&record.name)
        .bind(record.active)
        .bind(&record.payload)
        .bind(record.hits)
        .bind(record.recorded_at)
        .execute(pool)
        .await
        .map(|_| ()))?;
    Ok(())
}

async fn fetch(db: &pingan_platform::Db, id: &str) -> Result<ProbeRecord, StorageError> {
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, ProbeRecord>(SELECT).bind(id).fetch_one(pool).await)?,
    )
}

fn record(id: &str, name: &str) -> ProbeRecord {
    ProbeRecord {
        id: id.to_owned(),
        name: name.to_owned(),
        active: true,
        payload: vec![0, 159, 146, 150, 255],
        hits: 0,
        recorded_at: Utc::now().trunc_subsecs(6),
    }
}

async fn round_trip(backend: Backend) {
    let test_db = TestDatabase::create(backend, &MIGRATIONS)
        .await
        .expect("test database");
    let db = &test_db.db;
    assert_eq!(db.backend(), backend);

    // Migrations are idempotent: a restart applies nothing twice.
    db.migrate(&MIGRATIONS).await.expect("second migration run");

    let first = record("r-1", "绒乡派出所");
    insert(db, &first).await.expect("insert");
    assert_eq!(fetch(db, "r-1").await.expect("fetch"), first);

    // Same unique name again: a conflict, not an internal error.
    let duplicate = insert(db, &record("r-2", "绒乡派出所")).await;
    assert!(
        matches!(duplicate, Err(StorageError::Conflict(_))),
        "unique violation maps to Conflict, got {duplicate:?}"
    );

    // Missing rows map to NotFound.
    assert!(matches!(
        fetch(db, "absent").await,
        Err(StorageError::NotFound)
    ));

    // A rolled-back transaction leaves nothing behind; a committed one persists.
    let mut tx = db.begin().await.expect("begin");
    with_tx!(&mut tx, conn => sqlx::query(BUMP).bind("r-1").bind(5_i64).execute(&mut *conn).await.map(|r| r.rows_affected()))
        .expect("bump in tx");
    tx.rollback().await.expect("rollback");
    assert_eq!(fetch(db, "r-1").await.expect("fetch").hits, 0);

    let mut tx = db.begin().await.expect("begin");
    with_tx!(&mut tx, conn => sqlx::query(BUMP).bind("r-1").bind(3_i64).execute(&mut *conn).await.map(|r| r.rows_affected()))
        .expect("bump in tx");
    tx.commit().await.expect("commit");
    assert_eq!(fetch(db, "r-1").await.expect("fetch").hits, 3);

    let count: i64 =
        with_db!(db, pool => sqlx::query_scalar(COUNT).fetch_one(pool).await).expect("count");
    assert_eq!(count, 1);

    db.ping().await.expect("ping");
    test_db.cleanup().await;
}

pingan_platform::backend_tests!(round_trip);

/// Every SQLite connection keeps the call durable (WAL, FULL sync) whatever its cache size, and
/// takes the configured page cache.
#[tokio::test]
async fn sqlite_connections_take_the_configured_page_cache_and_stay_durable() {
    let file = std::env::temp_dir().join(format!("pingan-cache-{}.db", uuid::Uuid::now_v7()));
    let settings = pingan_platform::storage::PoolSettings {
        max_connections: 2,
        sqlite_cache_kib: 300,
        statement_cache_capacity: 8,
        ..Default::default()
    };
    let url = format!("sqlite://{}", file.display());
    let db = pingan_platform::Db::connect(&url, &settings)
        .await
        .expect("sqlite pool");
    let pragma = |name: &'static str| {
        let db = db.clone();
        async move {
            with_db!(&db, pool => sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(format!("SELECT CAST(({name}) AS TEXT)"))).fetch_one(pool).await)
                .expect(name)
        }
    };
    assert_eq!(
        pragma("SELECT cache_size FROM pragma_cache_size").await,
        "-300"
    );
    assert_eq!(
        pragma("SELECT journal_mode FROM pragma_journal_mode").await,
        "wal"
    );
    assert_eq!(
        pragma("SELECT synchronous FROM pragma_synchronous").await,
        "2",
        "FULL"
    );
    db.close().await;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
    }
}
