//! Blind-index key rotation on both backends: after the index key changes, `reindex` recomputes
//! every `<base>_index` / `<base>_hash` beside an encrypted `<base>_enc` / `<base>_sealed` column
//! (bytes or hex text) from the decrypted number, so a lookup under the new key finds the row;
//! two concurrent runs agree, and a value no key opens keeps its index.

use pingan_platform::pii::reindex::{indexed_columns, reindex_all};
use pingan_platform::pii::{KeyId, PiiKeys, PiiKind};
use pingan_platform::storage::{Backend, Migrations};
use pingan_platform::testing::TestDatabase;
use pingan_platform::{Db, with_db};

static POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("./tests/migrations/postgres");
static SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("./tests/migrations/sqlite");
static MIGRATIONS: Migrations = Migrations {
    postgres: &POSTGRES,
    sqlite: &SQLITE,
};

const OLD_INDEX: &[u8] = b"blind-index-key-2026-11-0123456789abcdef";
const NEW_INDEX: &[u8] = b"blind-index-key-2026-12-0123456789abcdef";
const K1: &[u8] = b"encryption-key-2026-11-0123456789abcdef";

fn keys(index: &[u8]) -> PiiKeys {
    let named: Vec<(KeyId, Vec<u8>)> = vec![("k1".to_owned(), K1.to_vec())];
    PiiKeys::from_parts(index, &named, None).expect("keys")
}

async fn exec(db: &Db, sql: &str) {
    with_db!(db, pool => sqlx::query(sqlx::AssertSqlSafe(sql)).execute(pool).await.map(|_| ()))
        .expect(sql);
}

/// 30 callers (phone, bytes) and 30 residents (ID number, hex text), indexed under the old key;
/// one caller without a number and one resident whose value no key opens.
async fn setup(backend: Backend) -> (TestDatabase, Vec<(String, String)>, Vec<(String, String)>) {
    let database = TestDatabase::create(backend, &MIGRATIONS)
        .await
        .expect("test database");
    let db = &database.db;
    let blob = match backend {
        Backend::Postgres => "BYTEA",
        Backend::Sqlite => "BLOB",
    };
    exec(db, &format!("CREATE TABLE callers (id TEXT PRIMARY KEY, caller_phone_enc {blob}, caller_phone_index TEXT)")).await;
    exec(db, "CREATE TABLE residents (id TEXT PRIMARY KEY, id_number_sealed TEXT NOT NULL, id_number_hash TEXT NOT NULL, address_sealed TEXT NOT NULL DEFAULT '')").await;
    exec(
        db,
        "CREATE UNIQUE INDEX residents_id_number ON residents (id_number_hash)",
    )
    .await;
    let old = keys(OLD_INDEX);
    let (mut phones, mut ids) = (Vec::new(), Vec::new());
    for i in 0..30 {
        let (id, phone) = (format!("c{i:02}"), format!("1824785{i:04}"));
        let sealed = old.encrypt(&phone).expect("encrypt");
        let index = old.blind_index(PiiKind::Phone, &phone);
        with_db!(db, pool => sqlx::query("INSERT INTO callers VALUES ($1, $2, $3)")
            .bind(&id).bind(sealed).bind(index).execute(pool).await.map(|_| ()))
        .expect("insert caller");
        phones.push((id, phone));
        let (id, number) = (format!("r{i:02}"), format!("11010519491231{i:04}"));
        let sealed = hex::encode(old.encrypt(&number).expect("encrypt"));
        let index = old.blind_index(PiiKind::IdNumber, &number);
        with_db!(db, pool => sqlx::query("INSERT INTO residents (id, id_number_sealed, id_number_hash) VALUES ($1, $2, $3)")
            .bind(&id).bind(sealed).bind(index).execute(pool).await.map(|_| ()))
        .expect("insert resident");
        ids.push((id, number));
    }
    exec(db, "INSERT INTO callers VALUES ('nobody', NULL, NULL)").await;
    exec(db, "INSERT INTO residents (id, id_number_sealed, id_number_hash) VALUES ('garbled', 'f0503102', 'old-index')").await;
    (database, phones, ids)
}

async fn find(db: &Db, sql: &str, index: &str) -> Option<String> {
    let row: Option<(String,)> = with_db!(db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(index).fetch_optional(pool).await)
        .expect("lookup");
    row.map(|r| r.0)
}

async fn check_lookups(db: &Db, phones: &[(String, String)], ids: &[(String, String)]) {
    let new = keys(NEW_INDEX);
    for (id, phone) in phones {
        let index = new.blind_index(PiiKind::Phone, phone);
        let found = find(
            db,
            "SELECT id FROM callers WHERE caller_phone_index = $1",
            &index,
        )
        .await;
        assert_eq!(found.as_deref(), Some(id.as_str()), "{id}");
    }
    for (id, number) in ids {
        let index = new.blind_index(PiiKind::IdNumber, number);
        let found = find(
            db,
            "SELECT id FROM residents WHERE id_number_hash = $1",
            &index,
        )
        .await;
        assert_eq!(found.as_deref(), Some(id.as_str()), "{id}");
    }
}

async fn rotation_makes_every_number_findable_under_the_new_key(backend: Backend) {
    let (database, phones, ids) = setup(backend).await;
    let db = &database.db;
    let columns: Vec<(String, String, PiiKind)> = indexed_columns(db)
        .await
        .expect("columns")
        .into_iter()
        .map(|c| (c.sealed.table, c.index, c.kind))
        .collect();
    assert_eq!(
        columns,
        vec![
            (
                "callers".to_owned(),
                "caller_phone_index".to_owned(),
                PiiKind::Phone
            ),
            (
                "residents".to_owned(),
                "id_number_hash".to_owned(),
                PiiKind::IdNumber
            ),
        ],
        "address_sealed has no index and names no number"
    );
    // Before: the new key finds nobody.
    let new = keys(NEW_INDEX);
    let index = new.blind_index(PiiKind::Phone, &phones[0].1);
    assert_eq!(
        find(
            db,
            "SELECT id FROM callers WHERE caller_phone_index = $1",
            &index
        )
        .await,
        None
    );

    let reports = reindex_all(db, &new).await.expect("reindex");
    let by_table = |t: &str| reports.iter().find(|r| r.table == t).cloned().expect(t);
    let callers = by_table("callers");
    assert_eq!(
        (callers.scanned, callers.rewritten, callers.unreadable),
        (30, 30, 0)
    );
    let residents = by_table("residents");
    assert_eq!(
        (residents.scanned, residents.rewritten, residents.unreadable),
        (31, 30, 1)
    );
    check_lookups(db, &phones, &ids).await;
    assert_eq!(
        find(
            db,
            "SELECT id FROM residents WHERE id_number_hash = $1",
            "old-index"
        )
        .await
        .as_deref(),
        Some("garbled"),
        "a value no key opens keeps its index"
    );

    let again = reindex_all(db, &new).await.expect("reindex");
    assert!(again.iter().all(|r| r.rewritten == 0), "{again:?}");
}

async fn concurrent_runs_agree(backend: Backend) {
    let (database, phones, ids) = setup(backend).await;
    let db = &database.db;
    let new = keys(NEW_INDEX);
    let (a, b) = tokio::join!(reindex_all(db, &new), reindex_all(db, &new));
    let (a, b) = (a.expect("run a"), b.expect("run b"));
    let rewritten: u64 = a.iter().chain(&b).map(|r| r.rewritten).sum();
    assert_eq!(
        rewritten, 60,
        "each index rewritten exactly once: {a:?} {b:?}"
    );
    check_lookups(db, &phones, &ids).await;
}

#[tokio::test]
async fn sqlite_rotation_makes_every_number_findable_under_the_new_key() {
    rotation_makes_every_number_findable_under_the_new_key(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_rotation_makes_every_number_findable_under_the_new_key() {
    rotation_makes_every_number_findable_under_the_new_key(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_concurrent_runs_agree() {
    concurrent_runs_agree(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_concurrent_runs_agree() {
    concurrent_runs_agree(Backend::Postgres).await;
}
