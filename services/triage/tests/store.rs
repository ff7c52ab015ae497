//! The ledger's store on both backends, the same assertions on each: transfers written, locked,
//! saved, found by ticket, listed, overdue; their history; the delivery jobs' index; the retired
//! delivery queue read and marked moved. Driven through `Arc<dyn Store>`, as the service holds it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use pingan_platform::StorageError;
use pingan_platform::storage::Backend;
use pingan_platform::testing::TestDatabase;
use pingan_proto::common::v1::Actor;
use pingan_triage::MIGRATIONS;
use pingan_triage::store::{ListFilter, NewHistory, SqlStore, Store, TransferRow};

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 9, 22, 2, 0, 0).unwrap()
}

fn row(id: &str, direction: &str, ticket: Option<&str>, at: DateTime<Utc>) -> TransferRow {
    TransferRow {
        transfer_id: id.into(),
        direction: direction.into(),
        status: "PENDING".into(),
        hotline_ticket_id: ticket.map(str::to_owned),
        incident_id: format!("inc-{id}"),
        complaint_id: String::new(),
        origin_transfer_id: String::new(),
        route: "DIVERT".into(),
        classification: None,
        legacy_classification: None,
        category: "UTILITIES".into(),
        department: "市公用事业".into(),
        description: "停电".into(),
        caller_phone_sealed: Some(vec![9, 9]),
        caller_phone_masked: "139****1111".into(),
        caller_name: "张先生".into(),
        lat: Some(31.2),
        lon: Some(121.5),
        address: "人民路 1 号".into(),
        reason: "非警务".into(),
        first_received_on: "CHANNEL_110".into(),
        first_received_at: at,
        deadline: Some(at + Duration::hours(24)),
        outcome_note: String::new(),
        created_at: at,
        updated_at: at,
    }
}

async fn conformance(backend: Backend) {
    let database = TestDatabase::create(backend, &MIGRATIONS)
        .await
        .expect("database");
    let db = database.db.clone();
    let store: Arc<dyn Store> = Arc::new(SqlStore::new(db.clone()));
    let t0 = start();
    let mut tx = db.begin_write().await.expect("tx");
    store
        .insert(&mut tx, &row("t-1", "TO_12345", None, t0))
        .await
        .expect("insert");
    store
        .insert(
            &mut tx,
            &row("t-2", "FROM_12345", Some("T-9"), t0 + Duration::minutes(1)),
        )
        .await
        .expect("insert");
    let actor = Actor {
        subject: "dispatcher-1".into(),
        role: "dispatcher".into(),
        display_name: String::new(),
    };
    store
        .add_history(
            &mut tx,
            NewHistory {
                transfer_id: "t-1",
                from: "",
                to: "PENDING",
                at: t0,
                actor: &actor,
                note: "转 12345",
            },
        )
        .await
        .expect("history");
    store
        .add_delivery_job(&mut tx, "triage.create_ticket", "t-1", "t-1", t0)
        .await
        .expect("job");
    store
        .add_delivery_job(
            &mut tx,
            "triage.reply_ticket",
            "t-1/r-1",
            "t-1",
            t0 + Duration::seconds(1),
        )
        .await
        .expect("job");
    // Idempotent: the same job again changes nothing.
    store
        .add_delivery_job(&mut tx, "triage.create_ticket", "t-1", "t-1", t0)
        .await
        .expect("job again");
    tx.commit().await.expect("commit");

    // Every column reads back as written.
    let got = store.get("t-1").await.expect("get").expect("found");
    let want = row("t-1", "TO_12345", None, t0);
    assert_eq!(got, want);
    assert!(store.get("t-404").await.expect("get").is_none());

    // Locked, changed, saved.
    let mut tx = db.begin_write().await.expect("tx");
    let mut locked = store.lock(&mut tx, "t-1").await.expect("lock");
    locked.status = "SENT".into();
    locked.hotline_ticket_id = Some("T-1".into());
    locked.outcome_note = "12345 工单 T-1".into();
    locked.updated_at = t0 + Duration::minutes(2);
    store.save(&mut tx, &locked).await.expect("save");
    assert!(matches!(
        store.lock(&mut tx, "t-404").await,
        Err(StorageError::NotFound)
    ));
    tx.commit().await.expect("commit");
    let saved = store.get("t-1").await.expect("get").expect("found");
    assert_eq!(saved.status, "SENT");
    assert_eq!(saved.hotline_ticket_id.as_deref(), Some("T-1"));
    assert_eq!(saved.updated_at, t0 + Duration::minutes(2));

    // By ticket, either way or one way.
    let inbound = store
        .by_ticket("FROM_12345", "T-9")
        .await
        .expect("by ticket");
    assert_eq!(inbound.expect("found").transfer_id, "t-2");
    assert!(
        store
            .by_ticket("TO_12345", "T-9")
            .await
            .expect("by ticket")
            .is_none()
    );
    assert_eq!(
        store
            .by_ticket("", "T-1")
            .await
            .expect("by ticket")
            .expect("found")
            .transfer_id,
        "t-1"
    );

    // Listed newest first, filtered by status.
    let all = store
        .list(&ListFilter::default(), 10, 0)
        .await
        .expect("list");
    let ids: Vec<_> = all.iter().map(|r| r.transfer_id.as_str()).collect();
    assert_eq!(ids, ["t-2", "t-1"]);
    let sent = ListFilter {
        statuses: ",SENT,".into(),
        ..ListFilter::default()
    };
    let sent = store.list(&sent, 10, 0).await.expect("list");
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].transfer_id, "t-1");

    // Overdue a day later; counted per direction.
    let later = t0 + Duration::hours(25);
    let overdue = store.overdue(later, "", 10, 0).await.expect("overdue");
    assert_eq!(overdue.len(), 2);
    let mut counts = store.count_overdue(later).await.expect("count");
    counts.sort();
    assert_eq!(
        counts,
        [("FROM_12345".to_owned(), 1), ("TO_12345".to_owned(), 1)]
    );
    assert!(
        store
            .overdue(t0, "", 10, 0)
            .await
            .expect("overdue")
            .is_empty()
    );

    // History and the delivery jobs' index, newest first.
    let history = store.history("t-1").await.expect("history");
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].to_status, "PENDING");
    assert_eq!(history[0].actor_subject, "dispatcher-1");
    let jobs = store.delivery_jobs("t-1").await.expect("jobs");
    assert_eq!(
        jobs,
        [
            ("triage.reply_ticket".to_owned(), "t-1/r-1".to_owned()),
            ("triage.create_ticket".to_owned(), "t-1".to_owned()),
        ]
    );

    // The retired queue: pending rows read, marked moved once; dead letters kept.
    let insert = "INSERT INTO triage_deliveries (delivery_id, transfer_id, action, payload, \
        status, attempts, next_attempt_at, last_error, created_at, updated_at) \
        VALUES ($1, 't-2', $2, $3, $4, 1, $5, 'down', $5, $5)";
    for (id, action, status, at) in [
        ("d-1", "REPORT_CALL", "PENDING", t0),
        ("d-2", "REPLY_TICKET", "DEAD", t0 + Duration::seconds(5)),
    ] {
        pingan_platform::with_db!(&db, pool => sqlx::query(insert)
            .bind(id).bind(action).bind(vec![7_u8]).bind(status).bind(at)
            .execute(pool).await.map(|r| r.rows_affected()))
        .expect("legacy row");
    }
    let pending = store.legacy_pending(10).await.expect("pending");
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].delivery_id, "d-1");
    assert_eq!(pending[0].payload, vec![7_u8]);
    let latest = store
        .legacy_latest("t-2")
        .await
        .expect("latest")
        .expect("found");
    assert_eq!(latest.delivery_id, "d-2");
    let mut tx = db.begin_write().await.expect("tx");
    store
        .legacy_moved(&mut tx, "d-1", later)
        .await
        .expect("moved");
    store
        .legacy_moved(&mut tx, "d-1", later)
        .await
        .expect("moved again");
    tx.commit().await.expect("commit");
    assert!(store.legacy_pending(10).await.expect("pending").is_empty());
    let dead = store.legacy_dead_letters("", 10).await.expect("dead");
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].delivery_id, "d-2");
    assert_eq!(dead[0].action, "REPLY_TICKET");
    assert!(
        store
            .legacy_dead_letters("t-1", 10)
            .await
            .expect("dead")
            .is_empty()
    );
    database.cleanup().await;
}

#[tokio::test]
async fn conformance_on_sqlite() {
    conformance(Backend::Sqlite).await;
}

#[tokio::test]
async fn conformance_on_postgres() {
    conformance(Backend::Postgres).await;
}
