//! The classification a transfer was made on, in columns, on both backends: every field reads
//! back exactly through insert and every read (get, lock, by ticket, list, overdue), is replaced
//! and cleared; a database of the 0002 layout, its classifications encoded protobuf blobs (one
//! unreadable), is converted by the data step once (twice run or two replicas at a time), reads
//! show the blob until then, and the service's chores convert on start.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, TimeZone, Utc};
use pingan_platform::auth::{Authenticator, Role, TokenIssuer};
use pingan_platform::clients::Peers;
use pingan_platform::clock::{ManualClock, SharedClock};
use pingan_platform::events::{Outbox, Subscriptions};
use pingan_platform::idempotency::RequestLog;
use pingan_platform::pii::PiiKeys;
use pingan_platform::service::ShutdownSwitch;
use pingan_platform::storage::{Backend, Db, Migrations};
use pingan_platform::testing::TestDatabase;
use pingan_platform::{ServiceContext, with_db};
use pingan_proto::common::v1::Priority;
use pingan_proto::dispatch::v1::UnitKind;
use pingan_proto::triage::v1 as pb;
use pingan_proto::triage::v1::triage_service_server::TriageService;
use pingan_proto::triage::v1::{Kind, RuleEffect};
use pingan_triage::api::convert::{classification_message, classification_record};
use pingan_triage::app::chores::convert_legacy_classifications;
use pingan_triage::store::{
    ClassificationRecord, ListFilter, RuleMatch, SituationMatch, SqlStore, Store, TransferRow,
    UnitNeed,
};
use pingan_triage::{MIGRATIONS, TriageConfig};
use prost::Message;
use sqlx::migrate::Migrator;

fn at(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 9, 22, 2, 0, 0).unwrap() + Duration::minutes(minutes)
}

/// Every field set: two matched rules (matched and negated words), a situation, two unit
/// requirements with kinds and capabilities, a response target.
fn full() -> ClassificationRecord {
    ClassificationRecord {
        kind: Kind::Joint,
        category: "RESCUE".into(),
        priority: Priority::P1,
        response_target_ms: Some(300_000),
        matched_rules: vec![
            RuleMatch {
                rule_id: "rescue.water".into(),
                category: "RESCUE".into(),
                matched_words: vec!["落水".into(), "河里".into()],
                effect: RuleEffect::Category,
                kind: Kind::Joint,
                priority: Priority::P2,
                negated_words: vec!["没有危险".into()],
                explanation: "落水 -> RESCUE".into(),
            },
            RuleMatch {
                rule_id: "modifier.child".into(),
                category: String::new(),
                matched_words: vec!["孩子".into()],
                effect: RuleEffect::PriorityModifier,
                kind: Kind::Unspecified,
                priority: Priority::P1,
                negated_words: vec!["没有人受伤".into(), "没事".into()],
                explanation: "孩子 -> P1".into(),
            },
        ],
        department: "应急管理局".into(),
        category_name: "救援".into(),
        rules_version: "rules-2026.11".into(),
        needs_confirmation: true,
        situations: vec![SituationMatch {
            code: "WATER".into(),
            name: "落水救援".into(),
            matched_words: vec!["落水".into(), "河里".into()],
        }],
        unit_requirements: vec![
            UnitNeed {
                kinds: vec![UnitKind::Drone],
                capabilities: vec!["aerial_video".into(), "water_rescue_search".into()],
                count: 1,
            },
            UnitNeed {
                kinds: vec![UnitKind::PatrolCar, UnitKind::Officer],
                capabilities: vec!["first_aid".into()],
                count: 2,
            },
        ],
        catalogue_version: "catalogue-7".into(),
    }
}

fn row(id: &str, minute: i64, classification: Option<ClassificationRecord>) -> TransferRow {
    TransferRow {
        transfer_id: id.into(),
        direction: "TO_12345".into(),
        status: "PENDING".into(),
        hotline_ticket_id: Some(format!("T-{id}")),
        incident_id: format!("inc-{id}"),
        complaint_id: String::new(),
        origin_transfer_id: String::new(),
        route: "DIVERT".into(),
        classification,
        legacy_classification: None,
        category: "RESCUE".into(),
        department: "应急管理局".into(),
        description: "有人落水".into(),
        caller_phone_sealed: None,
        caller_phone_masked: String::new(),
        caller_name: String::new(),
        lat: None,
        lon: None,
        address: String::new(),
        reason: String::new(),
        first_received_on: "CHANNEL_110".into(),
        first_received_at: at(minute),
        deadline: Some(at(minute + 60)),
        outcome_note: String::new(),
        created_at: at(minute),
        updated_at: at(minute),
    }
}

async fn every_field_round_trips(backend: Backend) {
    let database = TestDatabase::create(backend, &MIGRATIONS)
        .await
        .expect("database");
    let db = database.db.clone();
    let store = SqlStore::new(db.clone());
    let classified = row("t-1", 0, Some(full()));
    let unset = row("t-2", 1, Some(ClassificationRecord::default()));
    let none = row("t-3", 2, None);
    let mut tx = db.begin_write().await.expect("tx");
    for r in [&classified, &unset, &none] {
        store.insert(&mut tx, r).await.expect("insert");
    }
    tx.commit().await.expect("commit");

    for want in [&classified, &unset, &none] {
        let id = &want.transfer_id;
        assert_eq!(store.get(id).await.expect("get").as_ref(), Some(want));
        let by_ticket = store.by_ticket("", &format!("T-{id}")).await;
        assert_eq!(by_ticket.expect("by ticket").as_ref(), Some(want));
    }
    let listed = store
        .list(&ListFilter::default(), 10, 0)
        .await
        .expect("list");
    assert_eq!(
        listed,
        vec![none.clone(), unset.clone(), classified.clone()]
    );
    let overdue = store.overdue(at(100), "", 10, 0).await.expect("overdue");
    assert_eq!(
        overdue,
        vec![classified.clone(), unset.clone(), none.clone()]
    );
    // The message shown is the one the transfer was made on.
    let message = classification_message(&full());
    assert_eq!(classification_record(&message), full());
    assert_eq!(
        classification_message(&classification_record(&pb::Classification::default())),
        pb::Classification::default()
    );

    // Replaced by a smaller one (no child rows left over), set on another, then cleared.
    let mut smaller = full();
    smaller.matched_rules.truncate(1);
    smaller.matched_rules[0].negated_words.clear();
    smaller.unit_requirements.clear();
    smaller.response_target_ms = None;
    let mut tx = db.begin_write().await.expect("tx");
    let locked = store.lock(&mut tx, "t-1").await.expect("lock");
    assert_eq!(locked, classified);
    store
        .set_classification(&mut tx, "t-1", Some(&smaller))
        .await
        .expect("replace");
    store
        .set_classification(&mut tx, "t-3", Some(&full()))
        .await
        .expect("set");
    store
        .set_classification(&mut tx, "t-2", None)
        .await
        .expect("clear");
    tx.commit().await.expect("commit");
    let read = |id: &'static str| {
        let store = store.clone();
        async move { store.get(id).await.expect("get").expect("found") }
    };
    assert_eq!(read("t-1").await.classification, Some(smaller));
    assert_eq!(read("t-3").await.classification, Some(full()));
    assert_eq!(read("t-2").await.classification, None);
    database.cleanup().await;
}

/// Triage's migrations up to and including `version`.
fn migrations_until(version: i64) -> Migrations {
    let cut = |m: &Migrator| -> &'static Migrator {
        let kept: Vec<_> = m
            .migrations
            .iter()
            .filter(|m| m.version <= version)
            .cloned()
            .collect();
        Box::leak(Box::new(Migrator {
            migrations: Cow::Owned(kept),
            ignore_missing: m.ignore_missing,
            locking: m.locking,
            no_tx: m.no_tx,
            table_name: m.table_name.clone(),
            create_schemas: m.create_schemas.clone(),
        }))
    };
    Migrations {
        postgres: cut(MIGRATIONS.postgres),
        sqlite: cut(MIGRATIONS.sqlite),
    }
}

/// A transfer as the 0002 layout stored it, its classification an encoded protobuf.
async fn insert_old_row(db: &Db, id: &str, blob: Vec<u8>) {
    const SQL: &str = "INSERT INTO triage_transfers (transfer_id, direction, status, \
        hotline_ticket_id, incident_id, route, classification, category, department, \
        description, first_received_on, first_received_at, created_at, updated_at) \
        VALUES ($1, 'TO_12345', 'PENDING', $1, 'inc-1', 'DIVERT', $2, 'RESCUE', '应急管理局', \
        '有人落水', 'CHANNEL_110', $3, $3, $3)";
    with_db!(db, pool => sqlx::query(SQL).bind(id).bind(blob).bind(at(0))
        .execute(pool).await.map(|_| ()))
    .expect("old row");
}

async fn blobs_left(db: &Db) -> i64 {
    with_db!(db, pool => sqlx::query_scalar(
        "SELECT COUNT(*) FROM triage_transfers WHERE length(classification) > 0")
        .fetch_one(pool).await)
    .expect("count")
}

/// A database of the 0002 layout: ten transfers with a blob, one unreadable, one empty (the
/// encoding of a classification with nothing set), migrated to columns.
async fn old_database(backend: Backend) -> (TestDatabase, Vec<u8>) {
    let database = TestDatabase::create(backend, &migrations_until(2))
        .await
        .expect("test database");
    let db = &database.db;
    let blob = classification_message(&full()).encode_to_vec();
    for n in 0..10 {
        insert_old_row(db, &format!("t-old-{n}"), blob.clone()).await;
    }
    insert_old_row(db, "t-bad", vec![0xff, 0xff, 0xff]).await;
    insert_old_row(db, "t-empty", Vec::new()).await;
    db.migrate(&MIGRATIONS).await.expect("upgrade to columns");
    (database, blob)
}

async fn old_blobs_are_converted_once(backend: Backend) {
    let (database, blob) = old_database(backend).await;
    let db = &database.db;
    let store = SqlStore::new(db.clone());
    // Not converted yet: the row carries its blob, which the view decodes.
    let before = store.get("t-old-3").await.expect("get").expect("found");
    assert_eq!(before.legacy_classification, Some(blob.clone()));
    assert_eq!(before.classification, None);
    let empty = store.get("t-empty").await.expect("get").expect("found");
    assert_eq!(empty.legacy_classification, None);
    assert_eq!(empty.classification, Some(ClassificationRecord::default()));
    assert_eq!(blobs_left(db).await, 11);

    // Two replicas starting at once: each row is converted exactly once.
    let other = SqlStore::new(db.clone());
    let (a, b) = tokio::join!(
        convert_legacy_classifications(db, &store),
        convert_legacy_classifications(db, &other)
    );
    assert_eq!(a.expect("convert") + b.expect("convert"), 11);
    let again = convert_legacy_classifications(db, &store).await;
    assert_eq!(again.expect("again"), 0, "idempotent");
    assert_eq!(blobs_left(db).await, 0, "no blob left");

    for n in 0..10 {
        let id = format!("t-old-{n}");
        let read = store.get(&id).await.expect("get").expect("found");
        assert_eq!(read.classification, Some(full()), "{id}");
        assert_eq!(read.legacy_classification, None, "{id}");
    }
    let listed = store
        .list(&ListFilter::default(), 20, 0)
        .await
        .expect("list");
    assert_eq!(listed.len(), 12);
    // The old reads showed an unreadable blob as no classification: so do the columns.
    let bad = store.get("t-bad").await.expect("get").expect("found");
    assert_eq!(
        (bad.classification, bad.legacy_classification),
        (None, None)
    );
    let empty = store.get("t-empty").await.expect("get").expect("found");
    assert_eq!(empty.classification, Some(ClassificationRecord::default()));
    database.cleanup().await;
}

/// Triage's service context over `db` (no peers, a fixed clock).
fn context(db: &Db) -> ServiceContext {
    let clock: SharedClock = Arc::new(ManualClock::new(at(60)));
    ServiceContext {
        db: db.clone(),
        redis: None,
        peers: Peers::new(&BTreeMap::new(), None).expect("peers"),
        auth: Authenticator::new(SECRET, "pingan-test").expect("auth"),
        pii: PiiKeys::random(),
        clock: clock.clone(),
        outbox: Outbox::new(
            "triage",
            db.clone(),
            Arc::new(Subscriptions::default()),
            clock.clone(),
        ),
        requests: RequestLog::new(db.clone(), clock),
    }
}

const SECRET: &[u8] = b"triage-classification-test-secret-0123";

/// The classification GetTransfer shows for `id`.
async fn shown(api: &pingan_triage::TriageApi, id: &str) -> Option<pb::Classification> {
    let issuer = TokenIssuer::new(SECRET, "pingan-test").expect("issuer");
    let token = issuer
        .issue(
            "dispatcher-1",
            &[Role::Dispatcher],
            &[],
            StdDuration::from_secs(3600),
        )
        .expect("token");
    let mut request = tonic::Request::new(pb::GetTransferRequest {
        transfer_id: id.into(),
        hotline_ticket_id: String::new(),
        reason: String::new(),
    });
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {token}").parse().expect("metadata"),
    );
    let response = api.get_transfer(request).await.expect("get transfer");
    response
        .into_inner()
        .transfer
        .expect("transfer")
        .classification
}

/// The service shows an old row as before, and its chores convert every old row on start.
async fn the_chores_convert_on_start(backend: Backend) {
    let (database, blob) = old_database(backend).await;
    let db = &database.db;
    let context = context(db);
    let config = TriageConfig {
        delivery_poll: StdDuration::from_millis(20),
        ..TriageConfig::default()
    };
    let parts = pingan_triage::build(&context, &config).expect("build");
    let message = pb::Classification::decode(blob.as_slice()).expect("blob");
    assert_eq!(shown(&parts.api, "t-old-0").await, Some(message.clone()));
    assert_eq!(shown(&parts.api, "t-bad").await, None);

    let (switch, shutdown) = ShutdownSwitch::new();
    let running = tokio::spawn(parts.chores.run(shutdown));
    let mut waited = 0;
    while blobs_left(db).await > 0 && waited < 100 {
        tokio::time::sleep(StdDuration::from_millis(50)).await;
        waited += 1;
    }
    switch.signal();
    running.await.expect("chores");
    assert_eq!(blobs_left(db).await, 0, "converted on start");
    assert_eq!(shown(&parts.api, "t-old-0").await, Some(message));
    assert_eq!(shown(&parts.api, "t-bad").await, None);
    let store = SqlStore::new(db.clone());
    let read = store.get("t-old-9").await.expect("get").expect("found");
    assert_eq!(read.classification, Some(full()));
    database.cleanup().await;
}

macro_rules! both_backends {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(#[tokio::test] async fn $name() { super::$name(super::Backend::Sqlite).await })+
        }
        mod postgres {
            $(#[tokio::test] async fn $name() { super::$name(super::Backend::Postgres).await })+
        }
    };
}

both_backends!(
    every_field_round_trips,
    old_blobs_are_converted_once,
    the_chores_convert_on_start,
);
