//! PII key rotation on both backends: values written before key ids and under an old key are
//! moved to the current key by the re-encrypt run (found by the `*_enc` / `*_sealed` naming, in
//! binary and hex-in-TEXT columns, and sealed job payloads), stay readable, keep their rows, and
//! two concurrent runs move each value exactly once.

use std::sync::Arc;

use pingan_platform::clock::SystemClock;
use pingan_platform::jobs::{JobQueue, NewJob};
use pingan_platform::pii::reencrypt::{
    Encoding, Scope, SealedColumn, reencrypt_all, sealed_columns,
};
use pingan_platform::pii::{KeyId, PiiKeys};
use pingan_platform::storage::{Backend, Migrations};
use pingan_platform::testing::TestDatabase;
use pingan_platform::{Db, with_db};

static POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("./tests/migrations/postgres");
static SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("./tests/migrations/sqlite");
static MIGRATIONS: Migrations = Migrations {
    postgres: &POSTGRES,
    sqlite: &SQLITE,
};

const INDEX: &[u8] = b"blind-index-key-0123456789abcdef-0123";
const MASTER: &[u8] = b"old-single-master-key-0123456789abcdef";
const K1: &[u8] = b"encryption-key-2026-11-0123456789abcdef";
const K2: &[u8] = b"encryption-key-2026-12-0123456789abcdef";

fn keys(named: &[(&str, &[u8])], master: bool) -> PiiKeys {
    let named: Vec<(KeyId, Vec<u8>)> = named
        .iter()
        .map(|(id, key)| ((*id).to_owned(), key.to_vec()))
        .collect();
    PiiKeys::from_parts(INDEX, &named, master.then_some(MASTER)).expect("keys")
}

async fn setup(backend: Backend) -> TestDatabase {
    let database = TestDatabase::create(backend, &MIGRATIONS)
        .await
        .expect("test database");
    let blob = match backend {
        Backend::Postgres => "BYTEA",
        Backend::Sqlite => "BLOB",
    };
    for sql in [
        format!(
            "CREATE TABLE people (id TEXT PRIMARY KEY, phone_enc {blob}, id_number_enc {blob}, \
             record {blob})"
        ),
        format!("CREATE TABLE transfers (id TEXT PRIMARY KEY, caller_phone_sealed {blob})"),
        // grid-registry's shape: hex ciphertexts in TEXT, '' for no value.
        "CREATE TABLE residents (id TEXT PRIMARY KEY, id_number_sealed TEXT NOT NULL)".to_owned(),
    ] {
        with_db!(&database.db, pool => sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).execute(pool).await.map(|_| ())).expect("create");
    }
    database
}

async fn insert(db: &Db, table: &str, id: &str, column: &str, value: Option<Vec<u8>>) {
    let sql = format!("INSERT INTO {table} (id, {column}) VALUES ($1, $2)");
    with_db!(db, pool => sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).bind(id).bind(value).execute(pool).await.map(|_| ()))
        .expect("insert");
}

async fn read(db: &Db, table: &str, id: &str, column: &str) -> Option<Vec<u8>> {
    let sql = format!("SELECT {column} FROM {table} WHERE id = $1");
    let row: (Option<Vec<u8>>,) =
        with_db!(db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(id).fetch_one(pool).await).expect("read");
    row.0
}

/// 40 people: a third written before key ids, a third under k1, a third already under k2; one
/// without a number; transfers under k1.
async fn fill(db: &Db) -> Vec<(String, String)> {
    let legacy = PiiKeys::from_master(MASTER).expect("keys");
    let k1 = keys(&[("k1", K1)], false);
    let k2 = keys(&[("k2", K2)], false);
    let mut expected = Vec::new();
    for i in 0..40 {
        let id = format!("p{i:02}");
        let phone = format!("1824785{i:04}");
        let sealed = match i % 3 {
            0 => legacy.encrypt(&phone),
            1 => k1.encrypt(&phone),
            _ => k2.encrypt(&phone),
        }
        .expect("encrypt");
        insert(db, "people", &id, "phone_enc", Some(sealed)).await;
        expected.push((id, phone));
    }
    insert(db, "people", "nobody", "phone_enc", None).await;
    for i in 0..5 {
        let sealed = k1.encrypt(&format!("1390000{i:04}")).expect("encrypt");
        insert(
            db,
            "transfers",
            &format!("t{i}"),
            "caller_phone_sealed",
            Some(sealed),
        )
        .await;
    }
    for i in 0..6 {
        let sealed = k1
            .encrypt(&format!("11010519491231{i:04}"))
            .expect("encrypt");
        insert_text(db, &format!("r{i}"), &hex::encode(sealed)).await;
    }
    insert_text(db, "r-none", "").await;
    expected
}

async fn insert_text(db: &Db, id: &str, value: &str) {
    with_db!(db, pool => sqlx::query("INSERT INTO residents (id, id_number_sealed) VALUES ($1, $2)")
        .bind(id).bind(value).execute(pool).await.map(|_| ()))
    .expect("insert");
}

async fn read_text(db: &Db, id: &str) -> String {
    let row: (String,) =
        with_db!(db, pool => sqlx::query_as("SELECT id_number_sealed FROM residents WHERE id = $1")
        .bind(id).fetch_one(pool).await)
        .expect("read");
    row.0
}

fn column(table: &str, column: &str, encoding: Encoding, scope: Scope) -> SealedColumn {
    SealedColumn {
        table: table.to_owned(),
        column: column.to_owned(),
        encoding,
        scope,
    }
}

async fn rotation_moves_every_value_to_the_current_key(backend: Backend) {
    let database = setup(backend).await;
    let db = &database.db;
    let expected = fill(db).await;
    let columns = sealed_columns(db).await.expect("columns");
    assert_eq!(
        columns,
        vec![
            column("people", "id_number_enc", Encoding::Bytes, Scope::Every),
            column("people", "phone_enc", Encoding::Bytes, Scope::Every),
            column("residents", "id_number_sealed", Encoding::Hex, Scope::Every),
            column(
                "transfers",
                "caller_phone_sealed",
                Encoding::Bytes,
                Scope::Every
            ),
            column("platform_jobs", "payload", Encoding::Bytes, Scope::Sealed),
        ]
    );
    // Durable jobs: one payload sealed as triage seals its deliveries, one plain.
    let jobs = JobQueue::new("triage", db.clone(), Arc::new(SystemClock));
    let k1 = keys(&[("k1", K1)], false);
    let sealed_payload = k1.encrypt("0a0b13900001234").expect("encrypt").to_vec();
    let plain_payload = b"\x0a\x03abc plain protobuf".to_vec();
    jobs.enqueue(NewJob::new("deliver", "sealed", sealed_payload))
        .await
        .expect("enqueue");
    jobs.enqueue(NewJob::new("deliver", "plain", plain_payload.clone()))
        .await
        .expect("enqueue");

    let rotated = keys(&[("k2", K2), ("k1", K1)], true);
    let reports = reencrypt_all(db, &rotated).await.expect("reencrypt");
    let phones = reports
        .iter()
        .find(|r| r.column == "phone_enc")
        .expect("phone report");
    assert_eq!(
        (
            phones.scanned,
            phones.moved,
            phones.current,
            phones.unreadable
        ),
        (40, 27, 13, 0)
    );
    let transfers = reports
        .iter()
        .find(|r| r.column == "caller_phone_sealed")
        .expect("transfer report");
    assert_eq!((transfers.scanned, transfers.moved), (5, 5));
    let residents = reports
        .iter()
        .find(|r| r.table == "residents")
        .expect("residents report");
    assert_eq!(
        (residents.scanned, residents.moved, residents.unreadable),
        (6, 6, 0),
        "the empty value is no value"
    );
    let payloads = reports
        .iter()
        .find(|r| r.table == "platform_jobs")
        .expect("jobs report");
    assert_eq!(
        (
            payloads.scanned,
            payloads.moved,
            payloads.current,
            payloads.unreadable
        ),
        (2, 1, 1, 0),
        "only the sealed payload moves; the plain one is not a ciphertext"
    );
    let sealed_job = jobs
        .get("deliver", "sealed")
        .await
        .expect("job")
        .expect("present");
    assert_eq!(PiiKeys::key_id_of(&sealed_job.payload), Some("k2"));
    let plain_job = jobs
        .get("deliver", "plain")
        .await
        .expect("job")
        .expect("present");
    assert_eq!(
        plain_job.payload, plain_payload,
        "a plain payload is never rewritten"
    );

    // Only k2 is needed now: every value opens with it alone, on its own row.
    let only_k2 = keys(&[("k2", K2)], false);
    for (id, phone) in &expected {
        let sealed = read(db, "people", id, "phone_enc").await.expect("value");
        assert_eq!(PiiKeys::key_id_of(&sealed), Some("k2"), "{id}");
        assert_eq!(&only_k2.decrypt(&sealed).expect("decrypt"), phone);
    }
    assert_eq!(read(db, "people", "nobody", "phone_enc").await, None);
    assert_eq!(
        only_k2
            .decrypt(&hex::decode(read_text(db, "r3").await).expect("hex"))
            .expect("decrypt"),
        "110105194912310003"
    );
    assert_eq!(read_text(db, "r-none").await, "");
    assert_eq!(
        only_k2.decrypt(&sealed_job.payload).expect("decrypt"),
        "0a0b13900001234"
    );

    // A second run finds nothing to do.
    let again = reencrypt_all(db, &rotated).await.expect("reencrypt");
    assert!(again.iter().all(|r| r.moved == 0), "{again:?}");
}

async fn concurrent_runs_move_each_value_once(backend: Backend) {
    let database = setup(backend).await;
    let db = &database.db;
    let expected = fill(db).await;
    let rotated = keys(&[("k2", K2), ("k1", K1)], true);
    let (a, b) = tokio::join!(reencrypt_all(db, &rotated), reencrypt_all(db, &rotated));
    let (a, b) = (a.expect("run a"), b.expect("run b"));
    let moved: u64 = a
        .iter()
        .chain(&b)
        .filter(|r| r.column == "phone_enc")
        .map(|r| r.moved)
        .sum();
    assert_eq!(moved, 27, "each old value moved exactly once: {a:?} {b:?}");
    let only_k2 = keys(&[("k2", K2)], false);
    for (id, phone) in &expected {
        let sealed = read(db, "people", id, "phone_enc").await.expect("value");
        assert_eq!(&only_k2.decrypt(&sealed).expect("decrypt"), phone);
    }
}

async fn values_no_key_opens_are_reported_and_left(backend: Backend) {
    let database = setup(backend).await;
    let db = &database.db;
    fill(db).await;
    // The old master is not configured: a third of the values cannot be opened.
    let without_master = keys(&[("k2", K2), ("k1", K1)], false);
    let reports = reencrypt_all(db, &without_master).await.expect("reencrypt");
    let phones = reports
        .iter()
        .find(|r| r.column == "phone_enc")
        .expect("phone report");
    assert_eq!((phones.moved, phones.unreadable), (13, 14));
}

#[tokio::test]
async fn sqlite_rotation_moves_every_value_to_the_current_key() {
    rotation_moves_every_value_to_the_current_key(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_rotation_moves_every_value_to_the_current_key() {
    rotation_moves_every_value_to_the_current_key(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_concurrent_runs_move_each_value_once() {
    concurrent_runs_move_each_value_once(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_concurrent_runs_move_each_value_once() {
    concurrent_runs_move_each_value_once(Backend::Postgres).await;
}

#[tokio::test]
async fn sqlite_values_no_key_opens_are_reported_and_left() {
    values_no_key_opens_are_reported_and_left(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_values_no_key_opens_are_reported_and_left() {
    values_no_key_opens_are_reported_and_left(Backend::Postgres).await;
}
